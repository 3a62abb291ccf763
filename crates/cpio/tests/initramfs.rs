// split_initramfs tests on hand-built images: piece order and kinds, NUL
// padding and trailing zeros, back-to-back gzip members, the shared
// decompression budget, and each way an image can be malformed.

mod common;

use common::*;
use cpio::{CpioError, GzipError, Piece, split_initramfs};

fn arch(name: &str, data: &[u8]) -> Vec<u8> {
    Archive::new().file(name, 0o644, data).finish()
}

fn names(pieces: &[Piece<'_>]) -> Vec<String> {
    pieces
        .iter()
        .flat_map(|p| {
            entries(p.bytes())
                .into_iter()
                .map(|e| e.name.to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn empty_and_zero_images() {
    assert!(split_initramfs(b"", 0).unwrap().is_empty());
    assert!(split_initramfs(&[0u8; 4096], 0).unwrap().is_empty());
}

#[test]
fn plain_gzip_plain_with_padding() {
    let a = arch("a", b"A");
    let b = arch("b", b"BB");
    let c = arch("c", b"CCC");
    let gz = gzip(&b);
    let mut image = vec![0u8; 4];
    image.extend(&a);
    image.extend(&gz);
    image.extend(vec![0u8; (4 - gz.len() % 4) % 4]);
    image.extend(&c);
    image.extend([0u8; 1000]);
    let pieces = split_initramfs(&image, 1000).unwrap();
    assert_eq!(pieces.len(), 3);
    assert_eq!(pieces[0], Piece::Plain(&a));
    assert_eq!(pieces[1], Piece::Decompressed(b.clone()));
    assert_eq!(pieces[2], Piece::Plain(&c));
    assert_eq!(names(&pieces), ["a", "b", "c"]);
}

#[test]
fn gzip_members_back_to_back_and_unpadded_plain() {
    let mut image = gzip(&arch("one", b"1"));
    image.extend(gzip(&arch("two", b"2")));
    // A plain archive straight after a member, at whatever offset it lands.
    image.extend(arch("three", b"3"));
    let pieces = split_initramfs(&image, 10_000).unwrap();
    assert_eq!(pieces.len(), 3);
    assert!(matches!(pieces[0], Piece::Decompressed(_)));
    assert!(matches!(pieces[1], Piece::Decompressed(_)));
    assert!(matches!(pieces[2], Piece::Plain(_)));
    assert_eq!(names(&pieces), ["one", "two", "three"]);
}

#[test]
fn plain_archives_are_split_at_trailers() {
    let mut image = arch("x", b"");
    image.extend(arch("y", b"yy"));
    let pieces = split_initramfs(&image, 0).unwrap();
    assert_eq!(pieces.len(), 2);
    assert_eq!(names(&pieces), ["x", "y"]);
}

#[test]
fn gzip_piece_holding_several_archives() {
    let mut inner = arch("p", b"p");
    inner.extend([0u8; 12]);
    inner.extend(arch("q", b"q"));
    let image = gzip(&inner);
    let pieces = split_initramfs(&image, 1 << 20).unwrap();
    assert_eq!(pieces.len(), 1);
    assert_eq!(names(&pieces), ["p", "q"]);
}

#[test]
fn budget_is_shared_between_members() {
    let a = arch("a", &[1u8; 3000]);
    let b = arch("b", &[2u8; 5000]);
    let mut image = gzip(&a);
    image.extend(gzip(&b));
    let total = a.len() + b.len();
    assert_eq!(split_initramfs(&image, total).unwrap().len(), 2);
    assert_eq!(
        split_initramfs(&image, total - 1).err(),
        Some(CpioError::TooLarge)
    );
    assert_eq!(
        split_initramfs(&image, a.len()).err(),
        Some(CpioError::TooLarge)
    );
    // Plain pieces cost nothing.
    assert_eq!(split_initramfs(&a, 0).unwrap().len(), 1);
}

#[test]
fn trailing_garbage_and_other_formats() {
    let mut image = arch("a", b"");
    image.extend(b"\0\0\0\0oops");
    assert_eq!(split_initramfs(&image, 0).err(), Some(CpioError::BadMagic));
    // bzip2, xz, lzma, zstd, lz4 magics are not supported.
    for magic in [
        &b"BZh9"[..],
        b"\xfd7zXZ\0",
        b"\x5d\0\0",
        b"\x28\xb5\x2f\xfd",
        b"\x02\x21\x4c\x18",
    ] {
        assert_eq!(
            split_initramfs(magic, 1 << 20).err(),
            Some(CpioError::BadMagic)
        );
    }
}

#[test]
fn truncated_plain_archive() {
    let a = arch("file", b"contents");
    for cut in 1..a.len() - 3 {
        assert_eq!(
            split_initramfs(&a[..cut], 0).err(),
            Some(CpioError::Truncated),
            "cut {cut}"
        );
    }
    // Without a trailer the archive has no end.
    let mut no_trailer = Archive::new();
    no_trailer.file("f", 0o644, b"x");
    assert_eq!(
        split_initramfs(&no_trailer.buf, 0).err(),
        Some(CpioError::Truncated)
    );
}

#[test]
fn plain_framing_errors_propagate() {
    let mut a = arch("f", b"data");
    a[10] = b'z';
    assert_eq!(split_initramfs(&a, 0).err(), Some(CpioError::BadHex));
    let mut a = arch("f", b"data");
    let n = a.len();
    a[n - 124 + 5] = b'X'; // the trailer's magic becomes 07070X
    assert_eq!(split_initramfs(&a, 0).err(), Some(CpioError::BadMagic));
}

#[test]
fn gzip_errors_propagate() {
    let good = gzip(&arch("a", b"aaaa"));
    for cut in 1..good.len() {
        let err = split_initramfs(&good[..cut], 1 << 20).err();
        assert_eq!(
            err,
            Some(CpioError::Gzip(GzipError::Truncated)),
            "cut {cut}"
        );
    }
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 6] ^= 0xff;
    assert_eq!(
        split_initramfs(&bad, 1 << 20).err(),
        Some(CpioError::Gzip(GzipError::BadCrc))
    );
    let mut bad = good.clone();
    bad[n - 2] ^= 0xff;
    assert_eq!(
        split_initramfs(&bad, 1 << 20).err(),
        Some(CpioError::Gzip(GzipError::BadSize))
    );
}

#[test]
fn entry_errors_surface_from_read() {
    // split only checks framing; a bad name is reported by `read`.
    let mut a = Archive::new();
    a.file("../etc/passwd", 0o644, b"root::0:0::/:/bin/sh\n");
    let image = a.finish();
    let pieces = split_initramfs(&image, 0).unwrap();
    assert_eq!(first_error(pieces[0].bytes()), Some(CpioError::BadName));
}
