// gunzip tests: header flag handling, consumed-length reporting, trailer
// verification (CRC32 and ISIZE), truncation, size limits, and agreement
// with the host `gzip` tool.

mod common;

use common::*;
use cpio::{GzipError, gunzip};
use std::io::Write;
use std::process::{Command, Stdio};

fn host_gzip(data: &[u8], args: &[&str]) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the host `gzip` tool is required (Debian package gzip)");
    let mut stdin = child.stdin.take().unwrap();
    let input = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
fn round_trip_all_header_flags() {
    let data = noise(5000, 1);
    for mask in 0..16u8 {
        let opts = GzOpts {
            hcrc: mask & 1 != 0,
            extra: (mask & 2 != 0).then(|| b"AB\x02\x00hi".to_vec()),
            name: (mask & 4 != 0).then(|| b"initramfs.cpio".to_vec()),
            comment: (mask & 8 != 0).then(|| b"a comment".to_vec()),
            level: 6,
        };
        let gz = gzip_member(&data, &opts);
        let (out, used) = gunzip(&gz, usize::MAX).unwrap();
        assert_eq!(out, data, "mask {mask}");
        assert_eq!(used, gz.len(), "mask {mask}");
    }
}

#[test]
fn all_levels_and_sizes() {
    for len in [0usize, 1, 2, 100, 65_535, 65_536, 300_000] {
        for level in [0u8, 1, 9] {
            // Compressible and incompressible halves.
            let mut data = vec![b'a'; len / 2];
            data.extend(noise(len - len / 2, len as u32));
            let gz = gzip_member(
                &data,
                &GzOpts {
                    level,
                    ..GzOpts::default()
                },
            );
            let (out, used) = gunzip(&gz, data.len()).unwrap();
            assert_eq!(out, data);
            assert_eq!(used, gz.len());
        }
    }
}

#[test]
fn consumed_excludes_following_bytes() {
    let a = gzip(b"first");
    let b = gzip(b"second");
    let mut both = a.clone();
    both.extend([0, 0, 0]);
    both.extend(&b);
    let (out, used) = gunzip(&both, 100).unwrap();
    assert_eq!(out, b"first");
    assert_eq!(used, a.len());
    let (out2, used2) = gunzip(&both[used + 3..], 100).unwrap();
    assert_eq!(out2, b"second");
    assert_eq!(used2, b.len());
}

#[test]
fn bad_crc() {
    let mut gz = gzip(b"hello world");
    let n = gz.len();
    gz[n - 8] ^= 1;
    assert_eq!(gunzip(&gz, 100), Err(GzipError::BadCrc));
}

#[test]
fn corrupted_body_detected() {
    let data = noise(2000, 9);
    let gz = gzip(&data);
    // Flip one bit in each body byte in turn: never a panic, never accepted
    // with wrong contents.
    for i in 10..gz.len() - 8 {
        let mut bad = gz.clone();
        bad[i] ^= 0x10;
        if let Ok((out, _)) = gunzip(&bad, 10_000) {
            assert_eq!(out, data, "byte {i}");
        }
    }
}

#[test]
fn bad_isize() {
    let mut gz = gzip(b"hello world");
    let n = gz.len();
    gz[n - 4] = gz[n - 4].wrapping_add(1);
    assert_eq!(gunzip(&gz, 100), Err(GzipError::BadSize));
    gz[n - 4] = gz[n - 4].wrapping_sub(1);
    gz[n - 1] = 0x80;
    assert_eq!(gunzip(&gz, 100), Err(GzipError::BadSize));
}

#[test]
fn truncated_at_every_offset() {
    let opts = GzOpts {
        hcrc: true,
        extra: Some(b"xyz".to_vec()),
        name: Some(b"n".to_vec()),
        comment: Some(b"c".to_vec()),
        level: 6,
    };
    let gz = gzip_member(&noise(3000, 3), &opts);
    for cut in 0..gz.len() {
        assert_eq!(
            gunzip(&gz[..cut], usize::MAX),
            Err(GzipError::Truncated),
            "cut {cut}"
        );
    }
    assert!(gunzip(&gz, usize::MAX).is_ok());
}

#[test]
fn size_limit() {
    let data = vec![7u8; 100_000];
    let gz = gzip(&data);
    assert_eq!(gunzip(&gz, 100_000).unwrap().0, data);
    assert_eq!(gunzip(&gz, 99_999), Err(GzipError::TooLarge));
    assert_eq!(gunzip(&gz, 0), Err(GzipError::TooLarge));
    assert_eq!(gunzip(&gzip(b""), 0).unwrap(), (vec![], gzip(b"").len()));
    // A small "bomb": 64 MiB of zeros, limit 1 MiB, fails fast.
    let bomb = gzip(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 100_000);
    assert_eq!(gunzip(&bomb, 1 << 20), Err(GzipError::TooLarge));
}

#[test]
fn header_errors() {
    let gz = gzip(b"abc");
    let mut bad = gz.clone();
    bad[0] = 0x1e;
    assert_eq!(gunzip(&bad, 10), Err(GzipError::BadMagic));
    let mut bad = gz.clone();
    bad[1] = 0x9e;
    assert_eq!(gunzip(&bad, 10), Err(GzipError::BadMagic));
    assert_eq!(gunzip(b"\x1e", 10), Err(GzipError::BadMagic));
    assert_eq!(gunzip(b"", 10), Err(GzipError::Truncated));
    assert_eq!(gunzip(b"\x1f", 10), Err(GzipError::Truncated));
    let mut bad = gz.clone();
    bad[2] = 7;
    assert_eq!(gunzip(&bad, 10), Err(GzipError::BadMethod));
    for bit in [0x20u8, 0x40, 0x80] {
        let mut bad = gz.clone();
        bad[3] |= bit;
        assert_eq!(gunzip(&bad, 10), Err(GzipError::BadFlags));
    }
    // FTEXT is merely a hint.
    let mut ok = gz.clone();
    ok[3] |= 1;
    assert_eq!(gunzip(&ok, 10).unwrap().0, b"abc");
}

#[test]
fn bad_header_crc() {
    let opts = GzOpts {
        hcrc: true,
        name: Some(b"f".to_vec()),
        level: 6,
        ..GzOpts::default()
    };
    let mut gz = gzip_member(b"abc", &opts);
    assert!(gunzip(&gz, 10).is_ok());
    gz[10] = b'g'; // change the name covered by the header CRC
    assert_eq!(gunzip(&gz, 10), Err(GzipError::BadHeaderCrc));
}

#[test]
fn bad_deflate() {
    let mut gz = gzip(b"abc");
    // Block type 3 is reserved.
    gz[10] = 0b111;
    assert_eq!(gunzip(&gz, 10), Err(GzipError::BadDeflate));
}

#[test]
fn agrees_with_host_gzip() {
    for (len, seed) in [(0usize, 0u32), (1, 1), (12_345, 2), (1 << 20, 3)] {
        let mut data = noise(len, seed);
        data.extend(std::iter::repeat_n(b'z', len));
        for args in [&["-c"][..], &["-c", "-1"], &["-c", "-9"], &["-c", "-n"]] {
            let gz = host_gzip(&data, args);
            let (out, used) = gunzip(&gz, data.len()).unwrap();
            assert_eq!(out, data, "{args:?}");
            assert_eq!(used, gz.len());
        }
    }
}

#[test]
fn host_gzip_with_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payload.bin");
    let data = noise(10_000, 77);
    std::fs::write(&path, &data).unwrap();
    let out = Command::new("gzip")
        .arg("-c")
        .arg("-N")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_ne!(out.stdout[3] & 8, 0, "FNAME should be set");
    assert_eq!(
        gunzip(&out.stdout, usize::MAX).unwrap(),
        (data, out.stdout.len())
    );
}
