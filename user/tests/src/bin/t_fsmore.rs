//! t_fsmore: more of the file system and its descriptors — a directory of 1000 files listed by
//! getdents64 with a small buffer (through renames and unlinks, and after rewinding with lseek),
//! close-on-exec across execve (O_CLOEXEC, FD_CLOEXEC, pipe2, dup3, dup) and a file offset that
//! survives it, permission denials for an unprivileged uid (EACCES and EPERM for open, creation,
//! unlink, chdir, path search, execve, chmod, chown, utimensat, the sticky bit, truncate, mount
//! and chroot), a 100 MiB pipe transfer with a checksum, mount/umount2 of a tmpfs (st_dev,
//! statfs/fstatfs f_type, EXDEV across the boundary, EBUSY, EINVAL, ENODEV, ENOENT), chroot,
//! fsync/fdatasync/syncfs/sync, fallocate, and umask (**root**).
//!
//! Run with no arguments. The close-on-exec check forks a child that execve's this same program
//! (found through AT_EXECFN, made absolute before the program changes directory) in "image mode":
//! argv[1] is the marker `--fsmore-image`, the descriptor numbers follow, and the new image checks
//! which of them are still open and exits with 0 or the number of its first failed check. Any
//! other command line makes the program exit 99 at once, so that an execve which wrongly succeeds
//! can never start a second copy of the whole test.
//!
//! Everything happens in a private directory, /tmp/t_fsmore.<pid>, which the program makes (after
//! removing any leftover of an earlier run with the same pid), works in as its current directory
//! and removes at the end. Identity changes and chroot happen in forked children (see
//! `usertests::Steps`), each unprivileged check in a child of its own. If /proc/self is missing,
//! proc is mounted on /proc first (as `t_proc` does) for the statfs check. System calls are raw
//! (`sc!`), so that the kernel sees exactly the call each check is about.

use std::collections::BTreeSet;
use std::ffi::{CStr, CString};

use libc::{c_char, c_int, c_long, c_uint};
use usertests::{
    Report, Steps, diag, errname, reap, require_root, sc, show, show_status, spawn, spawn_steps,
};

const MARKER: &str = "--fsmore-image";
/// The image mode that reports the ids it runs with (set-user-id checks).
const SETUID_MARKER: &str = "--setuid-image";
/// What the image-mode run exits with when its command line is not one the test made.
const UNEXPECTED: c_int = 99;
/// What the exec child exits with when execve itself fails.
const EXEC_FAILED: c_int = 200;

const TMPFS_MAGIC: u64 = 0x0102_1994;
const PROC_SUPER_MAGIC: u64 = 0x9fa0;

fn cs(s: &str) -> CString {
    CString::new(s).expect("path without NUL")
}

fn open(p: &str, flags: c_int, mode: c_uint) -> Result<c_int, c_int> {
    let c = cs(p);
    sc!(libc::SYS_open, c.as_ptr(), flags, mode).map(|v| v as c_int)
}

fn close(fd: c_int) -> Result<c_long, c_int> {
    sc!(libc::SYS_close, fd)
}

fn write(fd: c_int, b: &[u8]) -> Result<usize, c_int> {
    sc!(libc::SYS_write, fd, b.as_ptr(), b.len()).map(|v| v as usize)
}

/// Writes all of `b`, continuing after short writes.
fn write_all(fd: c_int, mut b: &[u8]) -> Result<(), c_int> {
    while !b.is_empty() {
        let n = write(fd, b)?;
        if n == 0 {
            return Err(libc::EIO);
        }
        b = &b[n..];
    }
    Ok(())
}

fn read(fd: c_int, n: usize) -> Result<Vec<u8>, c_int> {
    let mut v = vec![0u8; n];
    let got = sc!(libc::SYS_read, fd, v.as_mut_ptr(), n)? as usize;
    v.truncate(got);
    Ok(v)
}

/// Reads until end of file or `max` bytes.
fn read_upto(fd: c_int, max: usize) -> Result<Vec<u8>, c_int> {
    let mut all = Vec::new();
    while all.len() < max {
        let v = read(fd, (max - all.len()).min(65536))?;
        if v.is_empty() {
            break;
        }
        all.extend_from_slice(&v);
    }
    Ok(all)
}

fn lseek(fd: c_int, off: i64, whence: c_int) -> Result<i64, c_int> {
    sc!(libc::SYS_lseek, fd, off, whence)
}

fn fcntl(fd: c_int, cmd: c_int, arg: c_long) -> Result<c_long, c_int> {
    sc!(libc::SYS_fcntl, fd, cmd, arg)
}

fn pipe2(flags: c_int) -> Result<(c_int, c_int), c_int> {
    let mut p = [0 as c_int; 2];
    sc!(libc::SYS_pipe2, p.as_mut_ptr(), flags).map(|_| (p[0], p[1]))
}

fn zst() -> libc::stat {
    // SAFETY: struct stat is plain data; all zeros is a valid value.
    unsafe { std::mem::zeroed() }
}

fn stat(p: &str) -> Result<libc::stat, c_int> {
    let c = cs(p);
    let mut st = zst();
    sc!(libc::SYS_stat, c.as_ptr(), &mut st as *mut libc::stat).map(|_| st)
}

fn lstat(p: &str) -> Result<libc::stat, c_int> {
    let c = cs(p);
    let mut st = zst();
    sc!(libc::SYS_lstat, c.as_ptr(), &mut st as *mut libc::stat).map(|_| st)
}

fn fstat(fd: c_int) -> Result<libc::stat, c_int> {
    let mut st = zst();
    sc!(libc::SYS_fstat, fd, &mut st as *mut libc::stat).map(|_| st)
}

fn zstfs() -> libc::statfs {
    // SAFETY: struct statfs is plain data; all zeros is a valid value.
    unsafe { std::mem::zeroed() }
}

/// f_type of statfs(p) (a signed field in glibc, unsigned in musl).
#[allow(clippy::unnecessary_cast)]
fn statfs_type(p: &str) -> Result<u64, c_int> {
    let c = cs(p);
    let mut st = zstfs();
    sc!(libc::SYS_statfs, c.as_ptr(), &mut st as *mut libc::statfs).map(|_| st.f_type as u64)
}

/// f_type of fstatfs(fd).
#[allow(clippy::unnecessary_cast)]
fn fstatfs_type(fd: c_int) -> Result<u64, c_int> {
    let mut st = zstfs();
    sc!(libc::SYS_fstatfs, fd, &mut st as *mut libc::statfs).map(|_| st.f_type as u64)
}

fn umask(m: u32) -> c_long {
    sc!(libc::SYS_umask, m).unwrap_or(-1)
}

fn mkdir(p: &str, mode: c_uint) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_mkdir, c.as_ptr(), mode)
}

fn rmdir(p: &str) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_rmdir, c.as_ptr())
}

fn unlink(p: &str) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_unlink, c.as_ptr())
}

fn rename(a: &str, b: &str) -> Result<c_long, c_int> {
    let (a, b) = (cs(a), cs(b));
    sc!(libc::SYS_rename, a.as_ptr(), b.as_ptr())
}

fn link(a: &str, b: &str) -> Result<c_long, c_int> {
    let (a, b) = (cs(a), cs(b));
    sc!(libc::SYS_link, a.as_ptr(), b.as_ptr())
}

fn chmod(p: &str, mode: c_uint) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_chmod, c.as_ptr(), mode)
}

fn chdir(p: &str) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_chdir, c.as_ptr())
}

fn chroot(p: &str) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_chroot, c.as_ptr())
}

fn truncate(p: &str, len: i64) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_truncate, c.as_ptr(), len)
}

/// mount(source, target, fstype, 0, NULL).
fn mount(src: &str, target: &str, fstype: &str) -> Result<c_long, c_int> {
    let (s, t, f) = (cs(src), cs(target), cs(fstype));
    sc!(libc::SYS_mount, s.as_ptr(), t.as_ptr(), f.as_ptr(), 0, 0)
}

fn umount2(p: &str, flags: c_int) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_umount2, c.as_ptr(), flags)
}

/// The raw getcwd(2) result as a string (the kernel's text, without the NUL).
fn getcwd() -> Result<String, c_int> {
    let mut buf = vec![0u8; 4096];
    let n = sc!(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len())? as usize;
    let end = buf[..n].iter().position(|&b| b == 0).unwrap_or(n);
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

/// The whole contents of a file, read through a fresh descriptor.
fn contents(p: &str) -> Result<Vec<u8>, c_int> {
    let fd = open(p, libc::O_RDONLY, 0)?;
    let all = read_upto(fd, 1 << 20);
    close(fd)?;
    all
}

/// Creates (or truncates) `p` with `data`, then sets its mode exactly (independent of umask).
fn put(p: &str, data: &[u8], mode: c_uint) -> Result<(), c_int> {
    let fd = open(p, libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC, mode)?;
    let w = write_all(fd, data);
    close(fd)?;
    w?;
    chmod(p, mode)?;
    Ok(())
}

/// One getdents64 record: (name, d_type).
type Dent = (String, u8);

/// Parses the records in the first `n` bytes of a getdents64 buffer.
fn parse_dents(buf: &[u8], n: usize, out: &mut Vec<Dent>) -> Result<(), c_int> {
    let mut off = 0usize;
    while off + 19 <= n {
        let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
        if reclen < 20 || off + reclen > n {
            return Err(libc::EIO);
        }
        let dtype = buf[off + 18];
        let name = &buf[off + 19..off + reclen];
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        out.push((String::from_utf8_lossy(&name[..end]).into_owned(), dtype));
        off += reclen;
    }
    Ok(())
}

/// One getdents64 call with a buffer of `size` bytes: the records it returned.
fn dents_once(fd: c_int, size: usize) -> Result<Vec<Dent>, c_int> {
    let mut buf = vec![0u8; size];
    let n = sc!(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len())? as usize;
    let mut out = Vec::new();
    parse_dents(&buf, n, &mut out)?;
    Ok(out)
}

/// All the records getdents64 returns for `fd` from its current position, with a buffer of
/// `size` bytes per call, and the number of calls that returned records.
fn dents(fd: c_int, size: usize) -> Result<(Vec<Dent>, usize), c_int> {
    let mut out = Vec::new();
    let mut calls = 0usize;
    let mut buf = vec![0u8; size];
    loop {
        let n = sc!(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len())? as usize;
        if n == 0 {
            return Ok((out, calls));
        }
        calls += 1;
        parse_dents(&buf, n, &mut out)?;
    }
}

/// The sorted names (with duplicates kept) in directory `p`, read with a `size`-byte buffer.
fn list(p: &str, size: usize) -> Result<(Vec<Dent>, usize), c_int> {
    let fd = open(p, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    let got = dents(fd, size);
    let _ = close(fd);
    let (mut v, calls) = got?;
    v.sort();
    Ok((v, calls))
}

fn names_of(v: &[Dent]) -> Vec<String> {
    v.iter().map(|(n, _)| n.clone()).collect()
}

/// Removes a path and, for a directory, everything below it; quiet.
fn rm_rf(p: &str) {
    let Ok(st) = lstat(p) else { return };
    if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        if let Ok(fd) = open(p, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0) {
            let names = dents(fd, 8192).map(|(v, _)| v).unwrap_or_default();
            let _ = close(fd);
            for (n, _) in names {
                if n != "." && n != ".." {
                    rm_rf(&format!("{p}/{n}"));
                }
            }
        }
        let _ = rmdir(p);
    } else {
        let _ = unlink(p);
    }
}

/// Where this program is, made absolute (AT_EXECFN against the starting directory).
fn self_path() -> Option<String> {
    // SAFETY: getauxval has no preconditions; AT_EXECFN points at a NUL-terminated string.
    let p = unsafe { libc::getauxval(libc::AT_EXECFN) };
    if p == 0 {
        return None;
    }
    // SAFETY: as above.
    let s = unsafe { CStr::from_ptr(p as *const c_char) }
        .to_string_lossy()
        .into_owned();
    if s.starts_with('/') {
        Some(s)
    } else {
        let cwd = getcwd().ok()?;
        Some(format!("{}/{}", cwd.trim_end_matches('/'), s))
    }
}

/// execve(path, argv, {}) ; returns only on failure, with the errno.
fn execve(path: &str, argv: &[String]) -> c_int {
    let p = cs(path);
    let argv_c: Vec<CString> = argv.iter().map(|a| cs(a)).collect();
    let mut argv_p: Vec<*const c_char> = argv_c.iter().map(|c| c.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let envp: [*const c_char; 1] = [std::ptr::null()];
    match sc!(libc::SYS_execve, p.as_ptr(), argv_p.as_ptr(), envp.as_ptr()) {
        Ok(_) => 0,
        Err(e) => e,
    }
}

// ---------------------------------------------------------------------------------------------
// 1. A directory of 1000 files.

const NFILES: usize = 1000;
const SMALL_BUF: usize = 1024;

fn with_dots(mut v: Vec<String>) -> Vec<String> {
    v.push(".".to_string());
    v.push("..".to_string());
    v.sort();
    v
}

fn big_directory(r: &mut Report) {
    if let Err(e) = mkdir("many", 0o755) {
        r.fail("dir1000_setup", format!("mkdir many: {}", errname(e)));
        return;
    }
    let mut bad = None;
    for n in 0..NFILES {
        let p = format!("many/f{n:04}");
        match open(&p, libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY, 0o644) {
            Ok(fd) => {
                let _ = close(fd);
            }
            Err(e) => {
                bad.get_or_insert(format!("open({p}, O_CREAT|O_EXCL): {}", errname(e)));
            }
        }
    }
    r.check("dir1000_create", bad.is_none(), || {
        bad.clone().unwrap_or_default()
    });

    let all: Vec<String> = with_dots((0..NFILES).map(|n| format!("f{n:04}")).collect());
    let got = list("many", SMALL_BUF);
    match &got {
        Ok((v, calls)) => {
            let names = names_of(v);
            r.check("dir1000_list_small_buffer", names == all, || {
                let set: BTreeSet<&String> = names.iter().collect();
                format!(
                    "{} records ({} distinct) in {calls} calls, want {}",
                    names.len(),
                    set.len(),
                    all.len()
                )
            });
            r.check("dir1000_list_many_calls", *calls >= 10, || {
                format!("{calls} getdents64 calls with a {SMALL_BUF}-byte buffer")
            });
            let wrong: Vec<&Dent> = v
                .iter()
                .filter(|(n, t)| {
                    let want = if n == "." || n == ".." {
                        libc::DT_DIR
                    } else {
                        libc::DT_REG
                    };
                    *t != want
                })
                .collect();
            r.check("dir1000_d_type", wrong.is_empty(), || {
                format!("wrong d_type: {:?}", &wrong[..wrong.len().min(5)])
            });
        }
        Err(e) => {
            r.fail("dir1000_list_small_buffer", errname(*e));
        }
    }

    // lseek(fd, 0, SEEK_SET) restarts the listing.
    let fd = open("many", libc::O_RDONLY | libc::O_DIRECTORY, 0);
    let first = fd.and_then(|fd| dents_once(fd, SMALL_BUF));
    let seek = fd.and_then(|fd| lseek(fd, 0, libc::SEEK_SET));
    let again = fd.and_then(|fd| dents(fd, SMALL_BUF)).map(|(v, _)| v);
    let again_sorted = again.as_ref().map(|v| {
        let mut s = names_of(v);
        s.sort();
        s
    });
    r.check(
        "dir1000_rewind_full_listing",
        matches!(&first, Ok(f) if !f.is_empty() && f.len() < all.len())
            && seek == Ok(0)
            && again_sorted.as_ref() == Ok(&all),
        || {
            format!(
                "first call {} records, lseek {}, then {} records",
                first.as_ref().map_or(0, |f| f.len()),
                show(&seek),
                again.as_ref().map_or(0, |v| v.len())
            )
        },
    );
    r.check(
        "dir1000_rewind_same_order",
        matches!((&first, &again), (Ok(f), Ok(a)) if a.len() >= f.len() && a[..f.len()] == f[..]),
        || "the records after rewinding do not start with the first call's records".to_string(),
    );
    if let Ok(fd) = fd {
        let _ = close(fd);
    }

    // Rename the even ones to gNNNN, unlink every number divisible by 3.
    let mut bad = None;
    for n in (0..NFILES).step_by(2) {
        let (a, b) = (format!("many/f{n:04}"), format!("many/g{n:04}"));
        if let Err(e) = rename(&a, &b) {
            bad.get_or_insert(format!("rename({a}, {b}): {}", errname(e)));
        }
    }
    r.check("dir1000_rename_even", bad.is_none(), || {
        bad.clone().unwrap_or_default()
    });
    let name = |n: usize| {
        if n.is_multiple_of(2) {
            format!("g{n:04}")
        } else {
            format!("f{n:04}")
        }
    };
    let mut bad = None;
    for n in (0..NFILES).step_by(3) {
        let p = format!("many/{}", name(n));
        if let Err(e) = unlink(&p) {
            bad.get_or_insert(format!("unlink({p}): {}", errname(e)));
        }
    }
    r.check("dir1000_unlink_thirds", bad.is_none(), || {
        bad.clone().unwrap_or_default()
    });
    let want: Vec<String> = with_dots((0..NFILES).filter(|n| n % 3 != 0).map(name).collect());
    let got = list("many", SMALL_BUF).map(|(v, _)| names_of(&v));
    r.check(
        "dir1000_list_after_changes",
        got.as_ref() == Ok(&want),
        || match &got {
            Ok(g) => {
                let gs: BTreeSet<&String> = g.iter().collect();
                let ws: BTreeSet<&String> = want.iter().collect();
                let extra: Vec<_> = gs.difference(&ws).take(5).collect();
                let missing: Vec<_> = ws.difference(&gs).take(5).collect();
                format!(
                    "{} records, want {}; extra {extra:?}, missing {missing:?}",
                    g.len(),
                    want.len()
                )
            }
            Err(e) => errname(*e),
        },
    );
    r.eq(
        "dir1000_renamed_away_enoent",
        stat("many/f0002").map(|_| ()),
        Err(libc::ENOENT),
    );

    // Remove the rest: only . and .. remain, and rmdir works.
    let mut bad = None;
    for n in (0..NFILES).filter(|n| n % 3 != 0) {
        let p = format!("many/{}", name(n));
        if let Err(e) = unlink(&p) {
            bad.get_or_insert(format!("unlink({p}): {}", errname(e)));
        }
    }
    r.check("dir1000_unlink_rest", bad.is_none(), || {
        bad.clone().unwrap_or_default()
    });
    let got = list("many", SMALL_BUF).map(|(v, _)| names_of(&v));
    r.eq(
        "dir1000_empty_lists_dots",
        got,
        Ok(vec![".".to_string(), "..".to_string()]),
    );
    r.okv("dir1000_rmdir", rmdir("many"));
    r.err("dir1000_gone", stat("many"), libc::ENOENT);
}

// ---------------------------------------------------------------------------------------------
// 2. Close-on-exec.

/// The descriptors handed to the image, in argument order after the marker.
const CE_NAMES: [&str; 7] = [
    "plain",
    "o_cloexec",
    "fd_cloexec",
    "pipe_r",
    "pipe_w",
    "dup3",
    "dup",
];
/// Which of them must still be open in the image.
const CE_OPEN: [bool; 7] = [true, false, false, false, false, false, true];
/// The data file, and where the plain descriptor's offset is when execve happens.
const CE_DATA: &[u8] = b"0123456789abcdef";
const CE_OFFSET: usize = 5;
const CE_READ: usize = 4;
const DUP3_TARGET: c_int = 60;

/// The new image's side: returns the exit status.
fn image_mode(args: &[String]) -> c_int {
    if args.len() != 2 + CE_NAMES.len() {
        return UNEXPECTED;
    }
    let fds: Vec<c_int> = args[2..]
        .iter()
        .map_while(|a| a.parse::<c_int>().ok())
        .collect();
    if fds.len() != CE_NAMES.len() {
        return UNEXPECTED;
    }
    let mut s = Steps::new("t_fsmore image");
    match image_checks(&mut s, &fds) {
        Ok(()) => 0,
        Err(n) => n,
    }
}

fn image_checks(s: &mut Steps, fds: &[c_int]) -> Result<(), i32> {
    for ((&fd, name), open) in fds.iter().zip(CE_NAMES).zip(CE_OPEN) {
        let got = fcntl(fd, libc::F_GETFD, 0);
        if open {
            s.eq(
                got,
                Ok(0),
                &format!("F_GETFD of the {name} descriptor {fd}"),
            )?;
        } else {
            s.err(
                got,
                libc::EBADF,
                &format!("F_GETFD of the {name} descriptor {fd}"),
            )?;
        }
    }
    let plain = fds[0];
    s.eq(
        lseek(plain, 0, libc::SEEK_CUR),
        Ok(CE_OFFSET as i64),
        "the plain descriptor's offset after execve",
    )?;
    let got = read(plain, CE_READ);
    s.eq(
        got.as_deref().ok(),
        Some(&CE_DATA[CE_OFFSET..CE_OFFSET + CE_READ]),
        "reading the plain descriptor",
    )?;
    Ok(())
}

fn cloexec(r: &mut Report, me: &Option<String>) {
    if put("ce_data", CE_DATA, 0o644).is_err() {
        r.fail("cloexec_setup", "cannot create ce_data");
        return;
    }
    let plain = open("ce_data", libc::O_RDONLY, 0);
    let o_cloexec = open("ce_data", libc::O_RDONLY | libc::O_CLOEXEC, 0);
    let fd_cloexec = open("ce_data", libc::O_RDONLY, 0);
    let set = fd_cloexec.and_then(|fd| fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC as c_long));
    let pipe = pipe2(libc::O_CLOEXEC);
    let d3 = plain
        .and_then(|fd| sc!(libc::SYS_dup3, fd, DUP3_TARGET, libc::O_CLOEXEC).map(|v| v as c_int));
    let dupd = o_cloexec.and_then(|fd| sc!(libc::SYS_dup, fd).map(|v| v as c_int));
    let seek = plain.and_then(|fd| lseek(fd, CE_OFFSET as i64, libc::SEEK_SET));
    let (Ok(plain), Ok(o_cloexec), Ok(fd_cloexec), Ok(_), Ok(pipe), Ok(d3), Ok(dupd), Ok(_)) =
        (plain, o_cloexec, fd_cloexec, set, pipe, d3, dupd, seek)
    else {
        r.fail(
            "cloexec_setup",
            format!(
                "open {}, O_CLOEXEC {}, F_SETFD {}, pipe2 {}, dup3 {}, dup {}, lseek {}",
                show(&plain),
                show(&o_cloexec),
                show(&set),
                show(&pipe),
                show(&d3),
                show(&dupd),
                show(&seek)
            ),
        );
        return;
    };
    let fds = [plain, o_cloexec, fd_cloexec, pipe.0, pipe.1, d3, dupd];
    r.eq("dup3_target", d3, DUP3_TARGET);
    let flags: Vec<Result<c_long, c_int>> =
        fds.iter().map(|&fd| fcntl(fd, libc::F_GETFD, 0)).collect();
    let want: Vec<Result<c_long, c_int>> = CE_OPEN
        .iter()
        .map(|&open| Ok(if open { 0 } else { libc::FD_CLOEXEC as c_long }))
        .collect();
    r.eq("cloexec_flags_before_exec", flags, want);

    match me {
        None => r.fail(
            "cloexec_exec",
            "AT_EXECFN is missing: cannot find this program",
        ),
        Some(me) => {
            let me = me.clone();
            let mut argv = vec!["t_fsmore-image".to_string(), MARKER.to_string()];
            argv.extend(fds.iter().map(|fd| fd.to_string()));
            let pid = spawn(|| {
                let e = execve(&me, &argv);
                diag(&format!(
                    "t_fsmore: execve of itself failed: {}",
                    errname(e)
                ));
                EXEC_FAILED
            });
            match reap(pid) {
                Ok(0) => r.pass("cloexec_exec"),
                Ok(st) if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == EXEC_FAILED => {
                    r.fail("cloexec_exec", "execve returned (see stderr)")
                }
                Ok(st) if libc::WIFEXITED(st) => r.fail(
                    "cloexec_exec",
                    format!(
                        "the new image failed check {} (see stderr)",
                        libc::WEXITSTATUS(st)
                    ),
                ),
                Ok(st) => r.fail("cloexec_exec", show_status(st)),
                Err(e) => r.fail("cloexec_exec", errname(e)),
            }
        }
    }
    // The image read through the same open file description: the offset moved here too.
    r.eq(
        "offset_shared_with_exec_image",
        lseek(plain, 0, libc::SEEK_CUR),
        Ok((CE_OFFSET + CE_READ) as i64),
    );
    for fd in fds {
        let _ = close(fd);
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Permission denials for uid/gid 65534.

const NOBODY: c_long = 65534;

/// Runs `f` in a child that has become uid and gid 65534 without supplementary groups; one check.
fn as_nobody(r: &mut Report, check: &str, f: impl FnOnce(&mut Steps) -> Result<(), i32>) {
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_fsmore nobody child");
        s.ok(sc!(libc::SYS_setgroups, 0, 0), "setgroups(0, NULL)")?;
        s.ok(sc!(libc::SYS_setgid, NOBODY), "setgid(65534)")?;
        s.ok(sc!(libc::SYS_setuid, NOBODY), "setuid(65534)")?;
        f(&mut s)
    });
    r.child_ok(check, pid);
}

fn permissions(r: &mut Report) {
    let setup = (|| -> Result<(), c_int> {
        chmod(".", 0o755)?;
        put("p_secret", b"secret\n", 0o600)?;
        put("p_pub", b"public\n", 0o644)?;
        put("p_exec", b"not a program\n", 0o644)?;
        mkdir("p_priv", 0o700)?;
        chmod("p_priv", 0o700)?;
        put("p_priv/f", b"hidden\n", 0o644)?;
        mkdir("p_sticky", 0o777)?;
        chmod("p_sticky", 0o1777)?;
        put("p_sticky/rootf", b"root's\n", 0o666)?;
        mkdir("p_mnt", 0o755)?;
        Ok(())
    })();
    if let Err(e) = setup {
        r.fail("perm_setup", errname(e));
        return;
    }

    as_nobody(r, "perm_open_read_0600_eacces", |s| {
        s.err(
            open("p_secret", libc::O_RDONLY, 0),
            libc::EACCES,
            "open(p_secret 0600, O_RDONLY)",
        )
    });
    as_nobody(r, "perm_open_write_0644_eacces", |s| {
        s.err(
            open("p_pub", libc::O_WRONLY, 0),
            libc::EACCES,
            "open(p_pub 0644, O_WRONLY)",
        )?;
        let fd = s.ok(
            open("p_pub", libc::O_RDONLY, 0),
            "open(p_pub 0644, O_RDONLY)",
        )?;
        let _ = close(fd);
        Ok(())
    });
    as_nobody(r, "perm_create_in_0755_dir_eacces", |s| {
        s.err(
            open("p_new", libc::O_CREAT | libc::O_WRONLY, 0o644),
            libc::EACCES,
            "open(p_new, O_CREAT) in a root 0755 directory",
        )
    });
    as_nobody(r, "perm_mkdir_in_0755_dir_eacces", |s| {
        s.err(
            mkdir("p_newdir", 0o755),
            libc::EACCES,
            "mkdir(p_newdir) in a root 0755 directory",
        )
    });
    as_nobody(r, "perm_unlink_in_0755_dir_eacces", |s| {
        s.err(
            unlink("p_pub"),
            libc::EACCES,
            "unlink(p_pub) in a root 0755 directory",
        )
    });
    as_nobody(r, "perm_chdir_0700_eacces", |s| {
        s.err(chdir("p_priv"), libc::EACCES, "chdir(p_priv 0700)")
    });
    as_nobody(r, "perm_stat_under_0700_eacces", |s| {
        s.err(
            stat("p_priv/f"),
            libc::EACCES,
            "stat(p_priv/f) under a 0700 directory",
        )
    });
    as_nobody(r, "perm_execve_0644_eacces", |s| {
        let e = execve("p_exec", &["p_exec".to_string()]);
        s.eq(errname(e), errname(libc::EACCES), "execve(p_exec 0644)")
    });
    as_nobody(r, "perm_chmod_eperm", |s| {
        s.err(
            chmod("p_pub", 0o666),
            libc::EPERM,
            "chmod(p_pub, 0666) of a root file",
        )
    });
    as_nobody(r, "perm_chown_eperm", |s| {
        let c = cs("p_pub");
        s.err(
            sc!(libc::SYS_chown, c.as_ptr(), NOBODY, NOBODY),
            libc::EPERM,
            "chown(p_pub, 65534, 65534) of a root file",
        )
    });
    as_nobody(r, "perm_utimensat_times_eperm", |s| {
        let c = cs("p_pub");
        let t = [usertests::ts(1_000_000_000), usertests::ts(2_000_000_000)];
        s.err(
            sc!(
                libc::SYS_utimensat,
                libc::AT_FDCWD,
                c.as_ptr(),
                t.as_ptr(),
                0
            ),
            libc::EPERM,
            "utimensat(p_pub, explicit times) of a root file",
        )
    });
    as_nobody(r, "perm_sticky_unlink_other_eperm", |s| {
        s.err(
            unlink("p_sticky/rootf"),
            libc::EPERM,
            "unlink of root's file in a 1777 directory",
        )
    });
    as_nobody(r, "perm_sticky_unlink_own", |s| {
        let fd = s.ok(
            open(
                "p_sticky/mine",
                libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY,
                0o644,
            ),
            "create p_sticky/mine",
        )?;
        let _ = close(fd);
        let st = s.ok(lstat("p_sticky/mine"), "lstat(p_sticky/mine)")?;
        s.eq(st.st_uid as c_long, NOBODY, "owner of p_sticky/mine")?;
        s.ok(
            unlink("p_sticky/mine"),
            "unlink of its own file in a 1777 directory",
        )?;
        s.err(lstat("p_sticky/mine"), libc::ENOENT, "lstat after unlink")
    });
    as_nobody(r, "perm_truncate_0644_eacces", |s| {
        s.err(
            truncate("p_pub", 0),
            libc::EACCES,
            "truncate(p_pub 0644, 0)",
        )
    });
    as_nobody(r, "perm_mount_eperm", |s| {
        s.err(
            mount("none", "p_mnt", "tmpfs"),
            libc::EPERM,
            "mount(tmpfs on p_mnt)",
        )
    });
    as_nobody(r, "perm_chroot_eperm", |s| {
        s.err(chroot("."), libc::EPERM, "chroot(.)")
    });

    // Nothing the children tried changed anything.
    let pubst = stat("p_pub");
    let rootf = contents("p_sticky/rootf");
    r.check(
        "perm_files_intact",
        contents("p_pub").as_deref() == Ok(&b"public\n"[..])
            && pubst.is_ok_and(|st| {
                st.st_mode == libc::S_IFREG | 0o644 && st.st_uid == 0 && st.st_size == 7
            })
            && rootf.as_deref() == Ok(&b"root's\n"[..])
            && stat("p_new").is_err()
            && stat("p_newdir").is_err(),
        || {
            format!(
                "p_pub {:?}, p_sticky/rootf {rootf:?}",
                pubst.map(|st| (st.st_mode, st.st_uid, st.st_size))
            )
        },
    );
}

// ---------------------------------------------------------------------------------------------
// 4. A 100 MiB pipe transfer.

const FNV0: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv(h: u64, data: &[u8]) -> u64 {
    data.iter()
        .fold(h, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

fn big_pipe(r: &mut Report) {
    const TOTAL: usize = 100 << 20;
    const CHUNK: usize = 64 << 10;
    let (Ok(down), Ok(up)) = (pipe2(0), pipe2(0)) else {
        r.fail("pipe_100mib_setup", "pipe2 failed");
        return;
    };
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_fsmore pipe child");
        let _ = close(down.1);
        let _ = close(up.0);
        let mut h = FNV0;
        let mut n = 0u64;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let got = s.ok(
                sc!(libc::SYS_read, down.0, buf.as_mut_ptr(), buf.len()),
                "read the stream",
            )? as usize;
            if got == 0 {
                break;
            }
            h = fnv(h, &buf[..got]);
            n += got as u64;
        }
        let mut msg = h.to_ne_bytes().to_vec();
        msg.extend_from_slice(&n.to_ne_bytes());
        s.ok(write_all(up.1, &msg), "send the checksum back")?;
        Ok(())
    });
    let _ = close(down.0);
    let _ = close(up.1);
    // A xorshift stream, generated a chunk at a time and hashed as it is sent.
    let mut buf = vec![0u8; CHUNK];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut want = FNV0;
    let mut sent = 0usize;
    let mut werr = None;
    while sent < TOTAL {
        for w in buf.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w.copy_from_slice(&x.to_ne_bytes());
        }
        want = fnv(want, &buf);
        if let Err(e) = write_all(down.1, &buf) {
            werr = Some(e);
            break;
        }
        sent += CHUNK;
    }
    let _ = close(down.1);
    r.check("pipe_100mib_write", werr.is_none(), || {
        format!("write failed at {sent} with {}", errname(werr.unwrap_or(0)))
    });
    let back = read_upto(up.0, 16);
    let _ = close(up.0);
    r.child_ok("pipe_100mib_child", pid);
    let got = back.as_ref().ok().filter(|b| b.len() == 16).map(|b| {
        (
            u64::from_ne_bytes(b[..8].try_into().unwrap_or_default()),
            u64::from_ne_bytes(b[8..].try_into().unwrap_or_default()),
        )
    });
    r.check(
        "pipe_100mib_count_and_checksum",
        got == Some((want, TOTAL as u64)),
        || format!("child says {got:x?}, want {:x?}", (want, TOTAL as u64)),
    );
}

// ---------------------------------------------------------------------------------------------
// 5. mount and umount2.

/// Mounts proc on /proc unless /proc/self exists; whether /proc/self exists afterwards.
fn ensure_proc() -> bool {
    if lstat("/proc/self").is_err() {
        let _ = mkdir("/proc", 0o555);
        if let Err(e) = mount("proc", "/proc", "proc") {
            diag(&format!("t_fsmore: mount(proc, /proc): {}", errname(e)));
        }
    }
    lstat("/proc/self").is_ok()
}

fn mounts(r: &mut Report, dir: &str) {
    if mkdir("mnt", 0o755).and(mkdir("notmnt", 0o755)).is_err() {
        r.fail("mount_setup", "mkdir mnt, notmnt");
        return;
    }
    let _ = put("outside", b"outside\n", 0o644);
    let m = mount("none", "mnt", "tmpfs");
    if r.okv("mount_tmpfs", m).is_some() {
        let (mst, dst) = (stat("mnt"), stat("."));
        r.check(
            "mount_st_dev_differs",
            matches!((&mst, &dst), (Ok(a), Ok(b)) if a.st_dev != b.st_dev),
            || {
                format!(
                    "stat mnt {}, stat . {}",
                    show(&mst.map(|s| s.st_dev)),
                    show(&dst.map(|s| s.st_dev))
                )
            },
        );
        r.eq("statfs_tmpfs_magic", statfs_type("mnt"), Ok(TMPFS_MAGIC));
        let fd = open("mnt/inside", libc::O_CREAT | libc::O_RDWR, 0o644);
        let w = fd.and_then(|fd| write_all(fd, b"inside\n"));
        r.check("mount_create_inside", w.is_ok(), || {
            format!("open {}, write {}", show(&fd), show(&w))
        });
        r.eq(
            "fstatfs_tmpfs_magic",
            fd.and_then(fstatfs_type),
            Ok(TMPFS_MAGIC),
        );
        r.err(
            "rename_across_mount_exdev",
            rename("mnt/inside", "moved"),
            libc::EXDEV,
        );
        r.err(
            "rename_into_mount_exdev",
            rename("outside", "mnt/outside"),
            libc::EXDEV,
        );
        r.err(
            "link_across_mount_exdev",
            link("mnt/inside", "linked"),
            libc::EXDEV,
        );
        if let Ok(fd) = fd {
            let _ = close(fd);
        }
        // A process whose cwd is inside keeps the mount busy.
        let mnt_abs = format!("{dir}/mnt");
        let cd = chdir("mnt");
        let busy = umount2(&mnt_abs, 0);
        let back = chdir(dir);
        r.check(
            "umount_cwd_inside_ebusy",
            cd.is_ok() && busy == Err(libc::EBUSY) && back.is_ok(),
            || {
                format!(
                    "chdir mnt {}, umount2 {}, chdir back {}",
                    show(&cd),
                    show(&busy),
                    show(&back)
                )
            },
        );
        if busy.is_ok() {
            let _ = mount("none", "mnt", "tmpfs");
        }
        r.okv("umount2", umount2("mnt", 0));
        r.err("umount_hides_file", stat("mnt/inside"), libc::ENOENT);
        let (mst, dst) = (stat("mnt"), stat("."));
        r.check(
            "umount_st_dev_same",
            matches!((&mst, &dst), (Ok(a), Ok(b)) if a.st_dev == b.st_dev),
            || {
                format!(
                    "stat mnt {}, stat . {}",
                    show(&mst.map(|s| s.st_dev)),
                    show(&dst.map(|s| s.st_dev))
                )
            },
        );
    }
    r.err(
        "umount_not_mount_point_einval",
        umount2("notmnt", 0),
        libc::EINVAL,
    );
    let m = mount("none", "mnt", "tine_nosuchfs");
    if m.is_ok() {
        let _ = umount2("mnt", 0);
    }
    r.err("mount_unknown_type_enodev", m, libc::ENODEV);
    r.err(
        "mount_missing_target_enoent",
        mount("none", "missing", "tmpfs"),
        libc::ENOENT,
    );

    if ensure_proc() {
        r.eq(
            "statfs_proc_magic",
            statfs_type("/proc"),
            Ok(PROC_SUPER_MAGIC),
        );
    } else {
        r.fail(
            "statfs_proc_magic",
            "/proc/self is missing even after mounting proc",
        );
    }
    let fd = open(".", libc::O_RDONLY | libc::O_DIRECTORY, 0);
    let (a, b) = (fd.and_then(fstatfs_type), statfs_type("."));
    r.check("fstatfs_matches_statfs", a.is_ok() && a == b, || {
        format!("fstatfs {}, statfs {}", show(&a), show(&b))
    });
    if let Ok(fd) = fd {
        let _ = close(fd);
    }
}

// ---------------------------------------------------------------------------------------------
// 6. chroot.

fn chroots(r: &mut Report, dir: &str) {
    let setup = mkdir("croot", 0o755)
        .and(mkdir("croot/sub", 0o755))
        .and_then(|_| put("croot/sub/file", b"inside\n", 0o644).map(|_| 0));
    if setup.is_err() {
        r.fail("chroot_setup", format!("mkdir/put: {}", show(&setup)));
        return;
    }
    let dir = dir.to_string();
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_fsmore chroot child");
        s.err(chroot("missing"), libc::ENOENT, "chroot(missing)")?;
        s.err(chroot("croot/sub/file"), libc::ENOTDIR, "chroot(a file)")?;
        s.ok(chroot("croot"), "chroot(croot)")?;
        s.ok(chdir("/"), "chdir(/)")?;
        s.eq(getcwd(), Ok("/".to_string()), "getcwd after chdir(/)")?;
        s.eq(
            contents("/sub/file"),
            Ok(b"inside\n".to_vec()),
            "contents of /sub/file",
        )?;
        s.eq(
            contents("/../../sub/file"),
            Ok(b"inside\n".to_vec()),
            "contents of /../../sub/file",
        )?;
        s.ok(chdir("sub"), "chdir(sub)")?;
        s.eq(getcwd(), Ok("/sub".to_string()), "getcwd in /sub")?;
        s.ok(chdir("../../.."), "chdir(../../..)")?;
        s.eq(
            getcwd(),
            Ok("/".to_string()),
            "getcwd after chdir(../../..)",
        )?;
        s.err(
            stat(&dir),
            libc::ENOENT,
            "stat of the old working directory's path",
        )?;
        s.err(stat("/croot"), libc::ENOENT, "stat(/croot)")?;
        Ok(())
    });
    r.child_ok("chroot_child", pid);
    // The parent's root is untouched.
    r.eq(
        "chroot_parent_unaffected",
        contents("croot/sub/file"),
        Ok(b"inside\n".to_vec()),
    );
}

// ---------------------------------------------------------------------------------------------
// 7. fsync, fdatasync, syncfs, sync, fallocate.

fn syncs(r: &mut Report) {
    let fd = open("s_file", libc::O_CREAT | libc::O_RDWR, 0o644);
    let _ = fd.and_then(|fd| write_all(fd, b"sync me\n"));
    r.okv("fsync", fd.and_then(|fd| sc!(libc::SYS_fsync, fd)));
    r.okv("fdatasync", fd.and_then(|fd| sc!(libc::SYS_fdatasync, fd)));
    r.okv("syncfs", fd.and_then(|fd| sc!(libc::SYS_syncfs, fd)));
    r.okv("sync", sc!(libc::SYS_sync));
    r.err("fsync_bad_fd_ebadf", sc!(libc::SYS_fsync, 900), libc::EBADF);
    if let Ok(fd) = fd {
        let _ = close(fd);
    }

    let fd = open(
        "fa_file",
        libc::O_CREAT | libc::O_EXCL | libc::O_RDWR,
        0o644,
    );
    r.okv(
        "fallocate",
        fd.and_then(|fd| sc!(libc::SYS_fallocate, fd, 0, 0, 10000)),
    );
    r.eq(
        "fallocate_size",
        fd.and_then(fstat).map(|s| s.st_size),
        Ok(10000),
    );
    let data = fd.and_then(|fd| {
        lseek(fd, 0, libc::SEEK_SET)?;
        read_upto(fd, 20000)
    });
    r.check(
        "fallocate_reads_zeros",
        matches!(&data, Ok(v) if v.len() == 10000 && v.iter().all(|&b| b == 0)),
        || {
            format!(
                "read {} bytes, zero: {:?}",
                data.as_ref().map_or(0, |v| v.len()),
                data.as_ref().map(|v| v.iter().all(|&b| b == 0))
            )
        },
    );
    r.err(
        "fallocate_len_zero_einval",
        fd.and_then(|fd| sc!(libc::SYS_fallocate, fd, 0, 0, 0)),
        libc::EINVAL,
    );
    if let Ok(fd) = fd {
        let _ = close(fd);
    }
    let ro = open("fa_file", libc::O_RDONLY, 0);
    r.err(
        "fallocate_read_only_ebadf",
        ro.and_then(|fd| sc!(libc::SYS_fallocate, fd, 0, 0, 100)),
        libc::EBADF,
    );
    if let Ok(fd) = ro {
        let _ = close(fd);
    }
    let p = pipe2(0);
    r.err(
        "fallocate_pipe_espipe",
        p.and_then(|(_, w)| sc!(libc::SYS_fallocate, w, 0, 0, 100)),
        libc::ESPIPE,
    );
    if let Ok((a, b)) = p {
        let _ = close(a);
        let _ = close(b);
    }
}

// ---------------------------------------------------------------------------------------------
// 8. umask.

fn umasks(r: &mut Report) {
    let old = umask(0o027);
    r.eq("umask_returns_previous", old, 0o022);
    let fd = open(
        "um_file",
        libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY,
        0o666,
    );
    r.eq(
        "umask_file_mode",
        fd.and_then(fstat).map(|s| s.st_mode),
        Ok(libc::S_IFREG | 0o640),
    );
    if let Ok(fd) = fd {
        let _ = close(fd);
    }
    let d = mkdir("um_dir", 0o777);
    r.eq(
        "umask_dir_mode",
        d.and_then(|_| stat("um_dir")).map(|s| s.st_mode),
        Ok(libc::S_IFDIR | 0o750),
    );
    r.eq("umask_returns_027", umask(0o022), 0o027);
}

/// execve honours the set-user-id bit: a root-owned 04755 copy of this program started by
/// uid 65534 runs with euid 0; a 0755 copy keeps euid 65534.
fn setuid_exec(r: &mut Report, me: &Option<String>) {
    let Some(me) = me else {
        r.fail("setuid_exec", "cannot find this program");
        return;
    };
    let data = match std::fs::read(me) {
        Ok(d) => d,
        Err(e) => {
            r.fail("setuid_exec", format!("read {me}: {e}"));
            return;
        }
    };
    for (check, name, mode, want) in [
        ("setuid_exec_gets_euid_0", "suid", 0o4755, 0),
        ("plain_exec_keeps_euid", "nosuid", 0o755, 1),
    ] {
        let made = std::fs::write(name, &data).and_then(|_| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(name, std::fs::Permissions::from_mode(mode))
        });
        if let Err(e) = made {
            r.fail(check, format!("copy: {e}"));
            continue;
        }
        let path = format!(
            "{}/{name}",
            std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default()
        );
        let pid = spawn(move || {
            // SAFETY: plain id changes in the child before exec.
            unsafe {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(65534) != 0
                    || libc::setuid(65534) != 0
                {
                    return 3;
                }
            }
            execve(&path, &["suid".to_string(), SETUID_MARKER.to_string()]);
            4
        });
        let st = usertests::reap(pid).map(|s| (s >> 8) & 0xff);
        r.check(check, st == Ok(want), || format!("image status {st:?}"));
    }
}

fn main() {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if args.len() > 1 {
        if args[1] == MARKER {
            // SAFETY: ends the image with its verdict.
            unsafe { libc::_exit(image_mode(&args)) };
        }
        if args[1] == SETUID_MARKER && args.len() == 2 {
            // SAFETY: reading ids cannot fail; _exit ends the image with its report: 0 when
            // it runs with euid 0 for real uid 65534, 1 when with euid 65534, 2 otherwise.
            let (uid, euid) = unsafe { (libc::getuid(), libc::geteuid()) };
            let code = match (uid, euid) {
                (65534, 0) => 0,
                (65534, 65534) => 1,
                _ => 2,
            };
            unsafe { libc::_exit(code) };
        }
        // SAFETY: as above.
        unsafe { libc::_exit(UNEXPECTED) };
    }

    let mut r = require_root(Report::new("t_fsmore"));
    umask(0o022);
    let me = self_path();
    // SAFETY: cannot fail.
    let pid = unsafe { libc::getpid() };
    let dir = format!("/tmp/t_fsmore.{pid}");
    let _ = umount2(&format!("{dir}/mnt"), 0);
    rm_rf(&dir);
    let made = mkdir(&dir, 0o755).and_then(|_| chdir(&dir));
    if let Err(e) = made {
        r.fail("setup", format!("mkdir/chdir {dir}: {}", errname(e)));
        r.finish();
    }

    big_directory(&mut r);
    cloexec(&mut r, &me);
    permissions(&mut r);
    big_pipe(&mut r);
    mounts(&mut r, &dir);
    chroots(&mut r, &dir);
    syncs(&mut r);
    umasks(&mut r);
    setuid_exec(&mut r, &me);

    let _ = chdir("/");
    let _ = umount2(&format!("{dir}/mnt"), 0);
    rm_rf(&dir);
    r.err("cleanup", lstat(&dir), libc::ENOENT);
    r.finish()
}
