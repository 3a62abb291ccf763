//! Real binaries built by the host C compiler: static, static-PIE, and a
//! dynamically linked one (for PT_INTERP), plus its interpreter.

use elf::{Executable, Kind, PAGE_SIZE, USER_TOP, parse};
use std::path::{Path, PathBuf};
use std::process::Command;

const SOURCE: &str = r#"
#include <stdio.h>
__thread int tls_counter = 7;
static char big_bss[1 << 16];
int main(int argc, char **argv) {
    big_bss[argc] = 1;
    printf("hello %d %d\n", tls_counter, big_bss[1]);
    return 0;
}
"#;

/// A scratch directory unique to this process and test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tine-elf-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Compiles `SOURCE` with the extra flags; panics (fails the test) if `cc`
/// is missing or fails.
fn compile(name: &str, flags: &[&str]) -> Vec<u8> {
    let dir = scratch(name);
    let src = dir.join("x.c");
    let out = dir.join("x");
    std::fs::write(&src, SOURCE).expect("write source");
    let result = Command::new("cc")
        .args(flags)
        .arg("-O1")
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .output()
        .expect("run cc");
    assert!(
        result.status.success(),
        "cc {flags:?} failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let data = std::fs::read(&out).expect("read binary");
    let _ = std::fs::remove_dir_all(&dir);
    data
}

/// Checks the invariants every loadable real binary should satisfy.
fn check_common(e: &Executable) {
    let code = e
        .segments
        .iter()
        .find(|s| s.prot.exec && s.vaddr <= e.entry && e.entry < s.vaddr + s.memsz);
    assert!(code.is_some(), "entry {:#x} not in a code segment", e.entry);
    let phdr = e.phdr_vaddr.expect("phdr_vaddr");
    assert!(e.min_vaddr <= phdr && phdr < e.max_vaddr);
    assert_eq!(e.phentsize, 56);
    assert!(!e.stack_exec);
    assert!(
        e.segments
            .windows(2)
            .all(|w| w[0].vaddr + w[0].memsz <= w[1].vaddr)
    );
    let bias = e.load_bias(0x5555_5555_4000).expect("bias");
    let steps = e.map_steps(bias);
    assert!(!steps.is_empty());
    for s in &steps {
        assert_eq!(s.start % PAGE_SIZE, 0);
        assert_eq!(s.end % PAGE_SIZE, 0);
        assert!(s.start < s.end && s.end <= USER_TOP);
        if let Some(off) = s.file_offset {
            assert_eq!(off % PAGE_SIZE, 0);
        }
    }
}

#[test]
fn static_exec() {
    let data = compile("static", &["-static"]);
    let e = parse(&data).expect("static binary parses");
    assert_eq!(e.kind, Kind::Exec);
    assert_eq!(e.interp, None);
    assert!(e.tls.is_some(), "glibc static binaries carry PT_TLS");
    assert_eq!(e.load_bias(0x5555_5555_4000), Some(0));
    check_common(&e);
    // The 64 KiB bss shows up as memsz > filesz with a zero-fill step.
    assert!(e.segments.iter().any(|s| s.memsz >= s.filesz + (1 << 16)));
    assert!(e.map_steps(0).iter().any(|s| s.file_offset.is_none()));
}

#[test]
fn static_pie() {
    let data = compile("static-pie", &["-static-pie", "-fPIE"]);
    let e = parse(&data).expect("static-pie binary parses");
    assert_eq!(e.kind, Kind::Dyn);
    assert_eq!(e.interp, None);
    assert_eq!(e.min_vaddr, 0);
    check_common(&e);
    let bias = e.load_bias(0x5555_5555_4000).unwrap();
    assert_eq!(e.map_steps(bias)[0].start, bias);
}

#[test]
fn dynamic_with_interp() {
    let data = compile("dynamic", &[]);
    let e = parse(&data).expect("dynamic binary parses");
    let path = e.interp_path(&data).expect("PT_INTERP");
    assert!(path.starts_with(b"/"), "{}", String::from_utf8_lossy(path));
    assert!(!path.contains(&0));
    check_common(&e);

    // The interpreter itself is an ET_DYN we can parse too.
    let path = Path::new(std::str::from_utf8(path).unwrap());
    let ld = std::fs::read(path).expect("read the interpreter");
    let ld = parse(&ld).expect("interpreter parses");
    assert_eq!(ld.kind, Kind::Dyn);
    assert_eq!(ld.interp, None);
    check_common(&ld);
}

/// A loader that maps the file parses only its first page: the plan is the same as from the
/// whole image, for static and static-PIE binaries alike.
#[test]
fn parse_head_matches_parse() {
    for (name, flags) in [
        ("head-static", &["-static"][..]),
        ("head-pie", &["-static-pie"][..]),
    ] {
        let data = compile(name, flags);
        let whole = parse(&data).expect("parse");
        let head = &data[..data.len().min(4096)];
        let from_head = elf::parse_head(head, data.len() as u64).expect("parse_head");
        assert_eq!(whole, from_head, "{name}");
        // A head longer than the file is a caller error.
        assert!(elf::parse_head(&data, data.len() as u64 - 1).is_err());
    }
}
