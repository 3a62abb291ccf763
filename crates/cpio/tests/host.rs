// Tests against archives written by the host tools: a temporary tree is
// packed with GNU `find . | cpio -o -H newc` (and `-H crc`), optionally
// compressed with `gzip -c`, and every entry is compared with the files'
// own metadata. The `cpio` binary is required (Debian package `cpio`).

mod common;

use common::*;
use cpio::{Entry, FileType, Piece, read, split_initramfs};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

fn require(tool: &str, package: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "the host `{tool}` tool is required: apt-get install {package}"
    );
}

fn run(dir: &Path, script: &str) -> Vec<u8> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn pack(dir: &Path, format: &str) -> Vec<u8> {
    require("cpio", "cpio");
    run(
        dir,
        &format!("find . | LC_ALL=C sort | cpio -o -H {format} --quiet"),
    )
}

/// A tree with every type an unprivileged user can create.
fn make_tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    for (dir, mode) in [
        ("bin", 0o755),
        ("etc", 0o750),
        ("empty", 0o700),
        ("tmp", 0o1777),
        ("sizes", 0o755),
        ("hl", 0o755),
    ] {
        fs::create_dir(d.join(dir)).unwrap();
        fs::set_permissions(d.join(dir), fs::Permissions::from_mode(mode)).unwrap();
    }
    fs::write(d.join("etc/hostname"), b"tine\n").unwrap();
    fs::write(d.join("bin/init"), noise(200_000, 5)).unwrap();
    fs::set_permissions(d.join("bin/init"), fs::Permissions::from_mode(0o4755)).unwrap();
    for n in 0..=9 {
        fs::write(d.join(format!("sizes/f{n}")), noise(n, n as u32)).unwrap();
    }
    fs::write(d.join("hl/a"), b"linked contents").unwrap();
    fs::hard_link(d.join("hl/a"), d.join("hl/b")).unwrap();
    fs::hard_link(d.join("hl/a"), d.join("hl/c")).unwrap();
    symlink("init", d.join("bin/sh")).unwrap();
    symlink("/etc/hostname", d.join("abs-link")).unwrap();
    symlink("x".repeat(300), d.join("long-link")).unwrap();
    fs::write(d.join("name with spaces and ünïcode"), b"u").unwrap();
    require("mkfifo", "coreutils");
    run(d, "mkfifo -m 0640 tmp/fifo");
    t
}

fn check_against_fs(root: &Path, e: &Entry<'_>) {
    let path = root.join(e.name);
    let md = fs::symlink_metadata(&path).unwrap_or_else(|_| panic!("{} exists", e.name));
    assert_eq!(e.mode, md.mode(), "{}", e.name);
    assert_eq!(e.uid, md.uid(), "{}", e.name);
    assert_eq!(e.gid, md.gid(), "{}", e.name);
    assert_eq!(e.nlink as u64, md.nlink(), "{}", e.name);
    assert_eq!(e.mtime as i64, md.mtime(), "{}", e.name);
    let ft = md.file_type();
    let want = if ft.is_dir() {
        FileType::Directory
    } else if ft.is_symlink() {
        FileType::Symlink
    } else if ft.is_file() {
        FileType::Regular
    } else {
        FileType::Fifo
    };
    assert_eq!(e.file_type, want, "{}", e.name);
    match e.file_type {
        FileType::Regular if !e.is_hardlink_placeholder() => {
            assert_eq!(e.data, fs::read(&path).unwrap(), "{}", e.name)
        }
        FileType::Symlink => {
            assert_eq!(
                e.data,
                fs::read_link(&path).unwrap().as_os_str().as_encoded_bytes(),
                "{}",
                e.name
            )
        }
        _ => assert!(e.data.is_empty(), "{}", e.name),
    }
}

fn all_paths(root: &Path) -> Vec<String> {
    let listing = run(root, "find . | LC_ALL=C sort");
    String::from_utf8(listing)
        .unwrap()
        .lines()
        .filter(|l| *l != ".")
        .map(|l| l.trim_start_matches("./").to_string())
        .collect()
}

fn check_archive(root: &Path, archive: &[u8]) {
    let es = entries(archive);
    // GNU cpio defers hard-linked files, so compare the sorted name lists.
    let mut names: Vec<_> = es.iter().map(|e| e.name.to_string()).collect();
    names.sort();
    assert_eq!(names, all_paths(root));
    for e in &es {
        check_against_fs(root, e);
    }
    // Hard links: one ino, three names, exactly one carries the data.
    let group: Vec<_> = es.iter().filter(|e| e.name.starts_with("hl/")).collect();
    assert_eq!(group.len(), 3);
    assert!(group.iter().all(|e| e.ino == group[0].ino && e.nlink == 3));
    assert_eq!(
        group.iter().filter(|e| e.is_hardlink_placeholder()).count(),
        2
    );
    let with_data: Vec<_> = group.iter().filter(|e| !e.data.is_empty()).collect();
    assert_eq!(with_data.len(), 1);
    assert_eq!(with_data[0].data, b"linked contents");
    // newc convention: the data comes with the last name of the group.
    assert!(!group[2].is_hardlink_placeholder());
}

#[test]
fn host_newc_archive() {
    let t = make_tree();
    let archive = pack(t.path(), "newc");
    assert_eq!(&archive[..6], b"070701");
    assert_eq!(archive.len() % 512, 0, "GNU cpio pads to 512-byte blocks");
    check_archive(t.path(), &archive);
    let pieces = split_initramfs(&archive, 0).unwrap();
    assert_eq!(pieces.len(), 1);
    assert!(matches!(pieces[0], Piece::Plain(_)));
    check_archive(t.path(), pieces[0].bytes());
}

#[test]
fn host_crc_archive() {
    let t = make_tree();
    let archive = pack(t.path(), "crc");
    assert_eq!(&archive[..6], b"070702");
    check_archive(t.path(), &archive);
}

#[test]
fn host_gzip_archive() {
    let t = make_tree();
    require("gzip", "gzip");
    let gz = run(
        t.path(),
        "find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -c -9",
    );
    let pieces = split_initramfs(&gz, 16 << 20).unwrap();
    assert_eq!(pieces.len(), 1);
    assert!(matches!(pieces[0], Piece::Decompressed(_)));
    check_archive(t.path(), pieces[0].bytes());
    // The budget is enforced.
    let plain_len = pack(t.path(), "newc").len();
    assert_eq!(
        split_initramfs(&gz, plain_len - 1).err(),
        Some(cpio::CpioError::TooLarge)
    );
    assert!(split_initramfs(&gz, plain_len).is_ok());
}

/// Plain (host) + gzip (hand-built devices) + plain (hand-built), padded to
/// 4 bytes between pieces and followed by trailing zeros.
#[test]
fn concatenated_plain_gzip_plain() {
    let t = make_tree();
    let host = pack(t.path(), "newc");

    let mut devs = Archive::new();
    devs.dir("dev", 0o755)
        .device("dev/console", S_IFCHR, 0o600, 5, 1)
        .device("dev/null", S_IFCHR, 0o666, 1, 3)
        .device("dev/vda1", S_IFBLK, 0o660, 254, 1);
    let devs = devs.finish();
    let scratch = tempfile::tempdir().unwrap();
    fs::write(scratch.path().join("devs.cpio"), &devs).unwrap();
    let gz = run(scratch.path(), "gzip -c devs.cpio");

    let mut extra = Archive::new();
    extra
        .file("etc/hostname", 0o644, b"overridden\n")
        .symlink("sbin/init", "/bin/init");
    let extra = extra.finish();

    let mut image = host.clone();
    image.extend(&gz);
    while !image.len().is_multiple_of(4) {
        image.push(0);
    }
    image.extend([0u8; 8]);
    image.extend(&extra);
    image.extend([0u8; 4096]);

    let pieces = split_initramfs(&image, 1 << 20).unwrap();
    assert_eq!(pieces.len(), 3);
    // The plain piece ends with the trailer; GNU cpio's block padding after
    // it is skipped as zeros.
    let Piece::Plain(first) = &pieces[0] else {
        panic!("plain piece expected")
    };
    assert!(host.starts_with(first));
    assert!(host[first.len()..].iter().all(|&b| b == 0));
    assert_eq!(first.len() % 4, 0);
    assert!(matches!(&pieces[1], Piece::Decompressed(v) if *v == devs));
    assert!(matches!(&pieces[2], Piece::Plain(b) if *b == &extra[..]));

    check_archive(t.path(), pieces[0].bytes());
    let d = entries(pieces[1].bytes());
    let got: Vec<_> = d
        .iter()
        .map(|e| {
            (
                e.name,
                e.file_type,
                e.rdev_major,
                e.rdev_minor,
                e.permissions(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("dev", FileType::Directory, 0, 0, 0o755),
            ("dev/console", FileType::CharDevice, 5, 1, 0o600),
            ("dev/null", FileType::CharDevice, 1, 3, 0o666),
            ("dev/vda1", FileType::BlockDevice, 254, 1, 0o660),
        ]
    );
    let x = entries(pieces[2].bytes());
    assert_eq!(x[0].name, "etc/hostname");
    assert_eq!(x[0].data, b"overridden\n");
    assert_eq!(x[1].data, b"/bin/init");

    // A consumer applying pieces in order sees the later file win.
    let mut fsmap: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for p in &pieces {
        for e in read(p.bytes()) {
            let e = e.unwrap();
            fsmap.insert(e.name.to_string(), e.data.to_vec());
        }
    }
    assert_eq!(fsmap["etc/hostname"], b"overridden\n");
    assert!(fsmap.contains_key("dev/console"));
    assert!(fsmap.contains_key("bin/init"));
}
