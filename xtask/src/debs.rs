//! Debian's static userland, for running real programs on Tine: `busybox` from the
//! `busybox-static` package and `bash` from `bash-static`.
//!
//! Each package is fetched with `apt-get download` into `target/debs/` (unless a
//! `<package>_*.deb` is already there) and unpacked with `dpkg-deb -x` into
//! `target/debs/<package>/`; once the binary is there, nothing is fetched again. If the download
//! fails because the package lists are missing or stale, `apt-get update` is run once when we are
//! root; otherwise the error names the command to run. Every binary handed out is checked to be
//! a static x86-64 ELF executable (no `PT_INTERP`).
//!
//! The small apt helpers bench.rs also uses live here.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The static busybox binary of Debian's `busybox-static`.
#[allow(dead_code)] // not called by a command yet
pub fn busybox() -> Result<PathBuf, String> {
    static_binary("busybox-static", "bin/busybox")
}

/// The static bash binary of Debian's `bash-static`.
#[allow(dead_code)] // not called by a command yet
pub fn bash() -> Result<PathBuf, String> {
    static_binary("bash-static", "bin/bash-static")
}

/// `target/debs/<package>/<member>`, fetched and unpacked if it is not there yet, after checking
/// that it is a static x86-64 executable.
fn static_binary(package: &str, member: &str) -> Result<PathBuf, String> {
    let dir = crate::root().join("target/debs");
    let bin = dir.join(package).join(member);
    if !bin.is_file() {
        fetch(&dir, package, member)?;
    }
    let elf = std::fs::read(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    check_static_elf(&elf).map_err(|e| format!("{} (from {package}): {e}", bin.display()))?;
    Ok(bin)
}

/// Downloads `package` into `dir` if no `.deb` of it is there, and unpacks it into
/// `dir/<package>/`, which must then hold `member`.
fn fetch(dir: &Path, package: &str, member: &str) -> Result<(), String> {
    for tool in ["apt-get", "dpkg-deb"] {
        if !tool_exists(tool) {
            return Err(format!("{tool} is not installed (needs a Debian host)"));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let deb = match find_deb(dir, package)? {
        Some(deb) => deb,
        None => {
            eprintln!("xtask: fetching {package} with apt-get download");
            let download = || {
                run_quiet(
                    Command::new("apt-get")
                        .current_dir(dir)
                        .args(["download", package]),
                )
            };
            if let Err(first) = download() {
                if !lists_missing(&first) {
                    return Err(first);
                }
                let mut updated = false;
                apt_update(&mut updated).map_err(|e| format!("{first}; {e}"))?;
                download()?;
            }
            find_deb(dir, package)?.ok_or(format!(
                "apt-get download left no {package}_*.deb in {}",
                dir.display()
            ))?
        }
    };

    // Unpack next to the final place and rename, so an interrupted run leaves no half tree that
    // the next run would take for a finished one.
    let tree = dir.join(package);
    let tmp = dir.join(format!("{package}.tmp{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    run_quiet(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tmp))?;
    if !tmp.join(member).is_file() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(format!("{} has no {member}", deb.display()));
    }
    let _ = std::fs::remove_dir_all(&tree);
    if let Err(e) = std::fs::rename(&tmp, &tree) {
        let _ = std::fs::remove_dir_all(&tmp);
        // Another run may have unpacked the same package at the same time.
        if !tree.join(member).is_file() {
            return Err(format!("{}: {e}", tree.display()));
        }
    }
    Ok(())
}

/// The `<package>_*.deb` in `dir`, if there is one (the last by name if there are several).
fn find_deb(dir: &Path, package: &str) -> Result<Option<PathBuf>, String> {
    let prefix = format!("{package}_");
    let mut debs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".deb"))
        })
        .collect();
    debs.sort();
    Ok(debs.pop())
}

/// Whether an apt-get error means the package lists are missing or out of date (which
/// `apt-get update` cures), rather than, say, no network.
fn lists_missing(err: &str) -> bool {
    err.contains("Unable to locate package")
        || err.contains("has no installation candidate")
        // Stale lists name a version the mirror no longer has.
        || err.contains("404")
}

// ---------------------------------------------------------------------------------------------
// Shared apt helpers (bench.rs uses them too).

/// Whether `name` is a command on the PATH.
pub(crate) fn tool_exists(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `cmd` and returns its standard output; on failure, the error holds the command line and
/// its standard error.
pub(crate) fn run_quiet(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(format!(
            "{:?} {:?} failed: {}",
            cmd.get_program(),
            cmd.get_args().collect::<Vec<_>>(),
            err.trim()
        ))
    }
}

/// Whether this process runs with effective user id 0: the `Uid:` line of /proc/self/status
/// (real, effective, saved, fs), or `id -u` where there is no /proc.
fn is_root() -> bool {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(uids) = status.lines().find_map(|l| l.strip_prefix("Uid:"))
    {
        return uids.split_whitespace().nth(1) == Some("0");
    }
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `apt-get update`, at most once per `done` flag, and only as root.
pub(crate) fn apt_update(done: &mut bool) -> Result<(), String> {
    if *done {
        return Err("apt-get update did not help".into());
    }
    *done = true;
    if !is_root() {
        return Err(
            "the package lists are missing or out of date; run `sudo apt-get update`".into(),
        );
    }
    eprintln!("xtask: apt-get update");
    run_quiet(Command::new("apt-get").args(["update", "-qq"])).map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// The static-executable check.

const PT_INTERP: u32 = 3;
const EM_X86_64: u16 = 62;

/// `Ok` if `elf` is a little-endian ELF64 x86-64 executable (`ET_EXEC`, or `ET_DYN` for a
/// static PIE) without a `PT_INTERP` program header, that is, one the kernel can start without a
/// dynamic loader; otherwise what is wrong with it.
fn check_static_elf(elf: &[u8]) -> Result<(), String> {
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        elf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    };
    if !elf.starts_with(b"\x7fELF") {
        return Err("not an ELF file".into());
    }
    if elf.len() < 64 || elf[4] != 2 || elf[5] != 1 {
        return Err("not a little-endian ELF64 file".into());
    }
    match u16_at(0x10) {
        Some(2 | 3) => {}
        t => return Err(format!("not an executable (e_type {t:?})")),
    }
    if u16_at(0x12) != Some(EM_X86_64) {
        return Err(format!("not x86-64 (e_machine {:?})", u16_at(0x12)));
    }
    let phoff = u64_at(0x20).and_then(|v| usize::try_from(v).ok());
    let (Some(phoff), Some(phentsize), Some(phnum)) = (phoff, u16_at(0x36), u16_at(0x38)) else {
        return Err("truncated ELF header".into());
    };
    let (phentsize, phnum) = (usize::from(phentsize), usize::from(phnum));
    if phnum == 0 || phentsize < 56 {
        return Err(format!(
            "no usable program headers ({phnum} of {phentsize} bytes)"
        ));
    }
    for i in 0..phnum {
        let ph = i
            .checked_mul(phentsize)
            .and_then(|o| o.checked_add(phoff))
            .filter(|&o| o.checked_add(56).is_some_and(|end| end <= elf.len()))
            .ok_or(format!("program header {i} lies outside the file"))?;
        if u32_at(ph) == Some(PT_INTERP) {
            let interp = (|| {
                let off = usize::try_from(u64_at(ph + 8)?).ok()?;
                let len = usize::try_from(u64_at(ph + 32)?).ok()?;
                let bytes = elf.get(off..off.checked_add(len)?)?;
                Some(
                    String::from_utf8_lossy(bytes)
                        .trim_end_matches('\0')
                        .to_string(),
                )
            })()
            .unwrap_or_else(|| "?".into());
            return Err(format!("dynamically linked (PT_INTERP {interp})"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PT_LOAD: u32 = 1;

    /// A minimal ELF64 file: the 64-byte header, then one 56-byte program header per entry of
    /// `phdrs`, then `tail`.
    fn elf(
        class: u8,
        e_type: u16,
        machine: u16,
        phdrs: &[(u32, u64, u64)],
        tail: &[u8],
    ) -> Vec<u8> {
        let mut f = vec![0u8; 64];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = class;
        f[5] = 1; // little-endian
        f[6] = 1; // EV_CURRENT
        f[0x10..0x12].copy_from_slice(&e_type.to_le_bytes());
        f[0x12..0x14].copy_from_slice(&machine.to_le_bytes());
        f[0x14..0x18].copy_from_slice(&1u32.to_le_bytes());
        f[0x18..0x20].copy_from_slice(&0x401000u64.to_le_bytes());
        f[0x20..0x28].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        f[0x34..0x36].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        f[0x36..0x38].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        f[0x38..0x3a].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
        for &(p_type, offset, filesz) in phdrs {
            let mut ph = [0u8; 56];
            ph[..4].copy_from_slice(&p_type.to_le_bytes());
            ph[8..16].copy_from_slice(&offset.to_le_bytes());
            ph[32..40].copy_from_slice(&filesz.to_le_bytes());
            f.extend_from_slice(&ph);
        }
        f.extend_from_slice(tail);
        f
    }

    #[test]
    fn static_executables_pass() {
        assert_eq!(
            check_static_elf(&elf(2, 2, EM_X86_64, &[(PT_LOAD, 0, 0x1000)], &[])),
            Ok(())
        );
        // A static PIE is ET_DYN without PT_INTERP.
        let pie = elf(2, 3, EM_X86_64, &[(6, 64, 112), (PT_LOAD, 0, 0x1000)], &[]);
        assert_eq!(check_static_elf(&pie), Ok(()));
    }

    #[test]
    fn interpreter_is_rejected_and_named() {
        let interp = b"/lib64/ld-linux-x86-64.so.2\0";
        let off = 64 + 2 * 56;
        let f = elf(
            2,
            3,
            EM_X86_64,
            &[(PT_LOAD, 0, 0x1000), (PT_INTERP, off, interp.len() as u64)],
            interp,
        );
        let err = check_static_elf(&f).unwrap_err();
        assert!(err.contains("dynamically linked"), "{err}");
        assert!(err.contains("/lib64/ld-linux-x86-64.so.2"), "{err}");
        // An interpreter path outside the file still counts as dynamic.
        let f = elf(2, 2, EM_X86_64, &[(PT_INTERP, 1 << 40, 28)], &[]);
        assert!(check_static_elf(&f).unwrap_err().contains("PT_INTERP ?"));
    }

    #[test]
    fn wrong_headers_are_rejected() {
        let ok = [(PT_LOAD, 0, 0x1000)];
        assert!(check_static_elf(b"#!/bin/sh\n").is_err());
        assert!(check_static_elf(b"\x7fELF\x02\x01").is_err()); // truncated
        assert!(check_static_elf(&elf(1, 2, EM_X86_64, &ok, &[])).is_err()); // ELF32
        assert!(check_static_elf(&elf(2, 1, EM_X86_64, &ok, &[])).is_err()); // ET_REL
        assert!(check_static_elf(&elf(2, 2, 183, &ok, &[])).is_err()); // aarch64
        assert!(check_static_elf(&elf(2, 2, EM_X86_64, &[], &[])).is_err()); // no phdrs
        let mut be = elf(2, 2, EM_X86_64, &ok, &[]);
        be[5] = 2;
        assert!(check_static_elf(&be).is_err());
        // Program headers running past the end, or at an offset that overflows.
        let mut f = elf(2, 2, EM_X86_64, &ok, &[]);
        f[0x38] = 2;
        assert!(
            check_static_elf(&f)
                .unwrap_err()
                .contains("outside the file")
        );
        f[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(check_static_elf(&f).is_err());
    }

    #[test]
    fn apt_errors_that_an_update_cures() {
        assert!(lists_missing("E: Unable to locate package busybox-static"));
        assert!(lists_missing(
            "E: Package 'bash-static' has no installation candidate"
        ));
        assert!(lists_missing(
            "E: Failed to fetch http://deb.debian.org/debian/pool/main/b/bash/x.deb  404  Not Found"
        ));
        assert!(!lists_missing(
            "E: Failed to fetch http://deb.debian.org/...  Temporary failure resolving 'deb.debian.org'"
        ));
    }

    /// Fetches both packages for real (network, and root or fresh package lists):
    /// `cargo test -p xtask -- --ignored fetch_static_userland`.
    #[test]
    #[ignore]
    fn fetch_static_userland() {
        for (name, path) in [("busybox", busybox()), ("bash", bash())] {
            let path = path.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(path.is_file(), "{}", path.display());
            let elf = std::fs::read(&path).unwrap();
            assert_eq!(check_static_elf(&elf), Ok(()), "{}", path.display());
            eprintln!("{name}: {} ({} bytes)", path.display(), elf.len());
        }
    }
}
