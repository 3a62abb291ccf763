// Reader tests on hand-built newc archives: every file type, field decoding,
// name cleaning, hard-link placeholders, multiple archives with padding, and
// each malformed-header error.

mod common;

use common::*;
use cpio::{CpioError, FileType, read};

fn sample() -> Vec<u8> {
    let mut a = Archive::new();
    a.dir(".", 0o755)
        .dir("./etc", 0o755)
        .file("./etc/hostname", 0o644, b"tine\n")
        .file("/etc/empty", 0o600, b"")
        .symlink("etc/link", "hostname")
        .device("dev/console", S_IFCHR, 0o600, 5, 1)
        .device("dev/vda", S_IFBLK, 0o660, 254, 0)
        .with("run/fifo", S_IFIFO | 0o644, b"", |_| {})
        .with("run/sock", S_IFSOCK | 0o755, b"", |_| {})
        .with("init", S_IFREG | 0o4755, b"#!/bin/sh\n", |f| {
            f.uid = 1000;
            f.gid = 100;
            f.mtime = 0xdead_beef;
            f.ino = 0xffff_ffff;
        });
    a.finish()
}

#[test]
fn every_file_type() {
    let buf = sample();
    let e = entries(&buf);
    let names: Vec<_> = e.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            "etc",
            "etc/hostname",
            "etc/empty",
            "etc/link",
            "dev/console",
            "dev/vda",
            "run/fifo",
            "run/sock",
            "init"
        ]
    );
    let types: Vec<_> = e.iter().map(|e| e.file_type).collect();
    assert_eq!(
        types,
        [
            FileType::Directory,
            FileType::Regular,
            FileType::Regular,
            FileType::Symlink,
            FileType::CharDevice,
            FileType::BlockDevice,
            FileType::Fifo,
            FileType::Socket,
            FileType::Regular
        ]
    );
    assert_eq!(e[0].mode, 0o040755);
    assert_eq!(e[0].nlink, 2);
    assert_eq!(e[1].data, b"tine\n");
    assert_eq!(e[1].permissions(), 0o644);
    assert_eq!(e[2].data, b"");
    assert_eq!(e[2].mode, 0o100600);
    assert_eq!(e[3].data, b"hostname");
    assert_eq!((e[4].rdev_major, e[4].rdev_minor), (5, 1));
    assert_eq!(e[4].mode, 0o020600);
    assert_eq!((e[5].rdev_major, e[5].rdev_minor), (254, 0));
    let init = &e[8];
    assert_eq!(init.mode, 0o104755);
    assert_eq!(init.permissions(), 0o4755);
    assert_eq!(
        (init.uid, init.gid, init.mtime, init.ino),
        (1000, 100, 0xdead_beef, 0xffff_ffff)
    );
    assert_eq!(init.data, b"#!/bin/sh\n");
    assert!(e.iter().all(|e| !e.is_hardlink_placeholder()));
}

#[test]
fn empty_inputs() {
    assert_eq!(read(b"").count(), 0);
    assert_eq!(read(&[0u8; 1000]).count(), 0);
    // A lone trailer is an empty archive.
    let t = Archive::new().finish();
    assert_eq!(read(&t).count(), 0);
}

#[test]
fn crc_magic_and_uppercase_hex() {
    let mut a = Archive::new();
    let f = a.fields(b"x", S_IFREG | 0o644, b"abc");
    a.raw(
        b"070702",
        Fields {
            check: 0x1234_5678,
            ..f
        },
        b"x",
        b"abc",
    );
    let mut buf = a.finish();
    // Upper-case the hex of the first header's mtime field (6 + 5*8 .. +8).
    for b in &mut buf[46..54] {
        b.make_ascii_uppercase();
    }
    let e = entries(&buf);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].data, b"abc");
    assert_eq!(e[0].mtime, 1_700_000_000);
}

#[test]
fn name_and_data_padding_lengths() {
    // Names and contents of every length mod 4 exercise both padding rules.
    let mut a = Archive::new();
    let mut want = Vec::new();
    for n in 1..=9usize {
        for d in 0..=9usize {
            let name = format!("{}{}", "n".repeat(n), d);
            let data = noise(d, (n * 10 + d) as u32);
            a.file(&name, 0o644, &data);
            want.push((name, data));
        }
    }
    let buf = a.finish();
    let got = entries(&buf);
    assert_eq!(got.len(), want.len());
    for (g, (name, data)) in got.iter().zip(&want) {
        assert_eq!(g.name, name);
        assert_eq!(g.data, &data[..]);
    }
}

#[test]
fn hard_links_exposed_as_stored() {
    let mut a = Archive::new();
    for (name, data) in [("a", &b""[..]), ("b", b""), ("c", b"shared")] {
        a.with(name, S_IFREG | 0o644, data, |f| {
            f.ino = 42;
            f.nlink = 3;
        });
    }
    let buf = a.finish();
    let e = entries(&buf);
    assert_eq!(e.len(), 3);
    assert!(e.iter().all(|e| e.ino == 42 && e.nlink == 3));
    assert!(e[0].is_hardlink_placeholder());
    assert!(e[1].is_hardlink_placeholder());
    assert!(!e[2].is_hardlink_placeholder());
    assert_eq!(e[2].data, b"shared");
    // An empty file with nlink 1 or an empty directory is not a placeholder.
    let mut a = Archive::new();
    a.file("e", 0o644, b"").dir("d", 0o755);
    let buf = a.finish();
    assert!(entries(&buf).iter().all(|e| !e.is_hardlink_placeholder()));
}

#[test]
fn several_archives_with_padding() {
    let mut buf = vec![0u8; 8];
    buf.extend(Archive::new().file("one", 0o644, b"1").finish());
    buf.extend([0u8; 512]);
    buf.extend(Archive::new().file("two", 0o644, b"22").finish());
    buf.extend(Archive::new().file("three", 0o644, b"333").finish());
    buf.extend([0u8; 3]);
    let e = entries(&buf);
    let got: Vec<_> = e.iter().map(|e| (e.name, e.data)).collect();
    assert_eq!(got, [("one", &b"1"[..]), ("two", b"22"), ("three", b"333")]);
}

#[test]
fn missing_padding_at_very_end_is_tolerated() {
    let buf = Archive::new().file("f", 0o644, b"x").finish();
    // The trailer entry is 110 + 11 bytes, padded to 124; cut the padding.
    let cut = &buf[..buf.len() - 3];
    assert_eq!(entries(cut).len(), 1);
}

#[test]
fn missing_trailer_is_truncation() {
    let mut a = Archive::new();
    a.file("f", 0o644, b"data");
    let buf = a.buf.clone();
    let r: Vec<_> = read(&buf).collect();
    assert_eq!(r.len(), 2);
    assert!(r[0].is_ok());
    assert_eq!(r[1], Err(CpioError::Truncated));
}

#[test]
fn truncated_at_every_offset() {
    let buf = sample();
    let full = entries(&buf);
    // Offset just past the trailer's name: anything shorter must fail.
    let trailer_start = buf.len() - 124;
    let must_fail_below = trailer_start + 110 + 11;
    for cut in 0..buf.len() {
        let part = &buf[..cut];
        let res: Vec<_> = read(part).collect();
        if cut == 0 {
            assert!(res.is_empty());
        } else if cut < must_fail_below {
            let (last, ok) = res.split_last().expect("something is yielded");
            assert_eq!(*last, Err(CpioError::Truncated), "cut at {cut}");
            assert!(ok.iter().all(Result::is_ok), "cut at {cut}");
            let ok: Vec<_> = ok.iter().map(|r| r.clone().unwrap()).collect();
            assert_eq!(&full[..ok.len()], &ok[..], "cut at {cut}");
        } else {
            let ok: Vec<_> = res.into_iter().collect::<Result<_, _>>().unwrap();
            assert_eq!(ok, full, "cut at {cut}");
        }
    }
}

#[test]
fn iteration_stops_after_error() {
    let mut buf = b"garbage!".to_vec();
    buf.extend(sample());
    let mut r = read(&buf);
    assert_eq!(r.next(), Some(Err(CpioError::BadMagic)));
    assert_eq!(r.next(), None);
    assert_eq!(r.next(), None);
}

#[test]
fn bad_magic() {
    for magic in [b"070707", b"070700", b"171701", b"07070x"] {
        let mut a = Archive::new();
        let f = a.fields(b"x", S_IFREG | 0o644, b"");
        a.raw(magic, f, b"x", b"");
        let buf = a.finish();
        assert_eq!(first_error(&buf), Some(CpioError::BadMagic), "{magic:?}");
    }
    // Short input that is already not a cpio magic.
    assert_eq!(first_error(b"1"), Some(CpioError::BadMagic));
    assert_eq!(first_error(b"0707"), Some(CpioError::Truncated));
    // Garbage after a complete archive.
    let mut buf = Archive::new().file("a", 0o644, b"").finish();
    buf.extend(b"\0\0\0\0junk");
    let r: Vec<_> = read(&buf).collect();
    assert!(r[0].is_ok());
    assert_eq!(r[1], Err(CpioError::BadMagic));
}

#[test]
fn bad_hex_in_every_field() {
    let good = Archive::new().file("abc", 0o644, b"hello").finish();
    for field in 0..13 {
        for bad in [b'g', b' ', b'-', b'x', 0] {
            let mut buf = good.clone();
            buf[6 + field * 8 + 3] = bad;
            assert_eq!(
                first_error(&buf),
                Some(CpioError::BadHex),
                "field {field} byte {bad}"
            );
        }
    }
}

#[test]
fn bad_names() {
    let cases: &[(&[u8], u32)] = &[
        (b"../etc", 7),
        (b"..", 3),
        (b"./../etc/passwd", 16),
        (b"a/../../b", 10),
        (b"a/..", 5),
        (b"/..", 4),
        (b"\xff\xfe", 3),
        (b"", 1),
        (b"a\0b", 4),
    ];
    for &(name, namesize) in cases {
        let mut a = Archive::new();
        let mut f = a.fields(name, S_IFREG | 0o644, b"");
        f.namesize = namesize;
        a.raw(b"070701", f, name, b"");
        let buf = a.finish();
        assert_eq!(first_error(&buf), Some(CpioError::BadName), "{name:?}");
    }
}

#[test]
fn namesize_zero() {
    let mut a = Archive::new();
    let mut f = a.fields(b"x", S_IFREG | 0o644, b"");
    f.namesize = 0;
    let mut buf = header(b"070701", f);
    buf.extend(a.finish());
    assert_eq!(first_error(&buf), Some(CpioError::BadName));
}

#[test]
fn name_without_nul() {
    let mut a = Archive::new();
    let mut f = a.fields(b"abcd", S_IFREG | 0o644, b"");
    f.namesize = 4; // covers "abcd" but not its NUL
    let mut buf = header(b"070701", f);
    buf.extend(b"abcd\0\0\0\0");
    buf.extend(a.finish());
    assert_eq!(first_error(&buf), Some(CpioError::BadName));
}

#[test]
fn namesize_past_end() {
    let mut a = Archive::new();
    let mut f = a.fields(b"x", S_IFREG | 0o644, b"");
    f.namesize = 0xffff_ffff;
    a.raw(b"070701", f, b"x", b"");
    let buf = a.finish();
    assert_eq!(first_error(&buf), Some(CpioError::Truncated));
}

#[test]
fn filesize_past_end() {
    for size in [6u32, 100, 4096, 0x7fff_ffff, 0xffff_ffff] {
        let mut a = Archive::new();
        let mut f = a.fields(b"x", S_IFREG | 0o644, b"abcde");
        f.filesize = size;
        a.raw(b"070701", f, b"x", b"abcde");
        a.trailer();
        // Keep only this archive: the declared size runs past the buffer.
        let buf = a.buf.clone();
        if (size as usize) + 112 > buf.len() {
            assert_eq!(first_error(&buf), Some(CpioError::Truncated), "size {size}");
        }
    }
}

#[test]
fn bad_mode() {
    for mode in [0o000644, 0o170644, 0o030644, 0o070000] {
        let mut a = Archive::new();
        a.with("x", mode, b"", |_| {});
        let buf = a.finish();
        assert_eq!(first_error(&buf), Some(CpioError::BadMode), "{mode:o}");
    }
}

#[test]
fn root_entries_skipped() {
    let mut a = Archive::new();
    a.dir(".", 0o755)
        .dir("./", 0o755)
        .dir("/", 0o755)
        .file("./a", 0o644, b"a");
    let buf = a.finish();
    let e = entries(&buf);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].name, "a");
}

#[test]
fn position_advances() {
    let buf = sample();
    let mut r = read(&buf);
    assert_eq!(r.position(), 0);
    r.next();
    assert!(r.position() > 0 && r.position().is_multiple_of(4));
}
