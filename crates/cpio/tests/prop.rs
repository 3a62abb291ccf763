// Property tests: random bytes, and valid images (plain and gzip) after
// random mutations and truncations, are fed to `read`, `split_initramfs` and
// `gunzip`; they must return (Ok or Err) without panicking, and valid images
// must round-trip.

mod common;

use common::*;
use cpio::{Piece, gunzip, read, split_initramfs};
use proptest::prelude::*;

fn exercise(image: &[u8]) {
    // The first error ends the iteration, so `flatten` sees every entry.
    for e in read(image).flatten() {
        assert!(!e.name.is_empty());
        assert!(!e.name.split('/').any(|c| c == ".."));
        assert!(!e.name.starts_with('/'));
    }
    if let Ok(pieces) = split_initramfs(image, 1 << 20) {
        let total: usize = pieces
            .iter()
            .filter(|p| matches!(p, Piece::Decompressed(_)))
            .map(|p| p.bytes().len())
            .sum();
        assert!(total <= 1 << 20);
        for p in &pieces {
            read(p.bytes()).for_each(drop);
        }
    }
    let _ = gunzip(image, 1 << 20);
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Xor(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    Truncate(usize),
    /// Overwrite an 8-digit header field somewhere with this value.
    Hex(usize, u32),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), 1..=255u8).prop_map(|(i, b)| Mutation::Xor(i, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<usize>(), 1..64usize).prop_map(|(i, n)| Mutation::Remove(i, n)),
        any::<usize>().prop_map(Mutation::Truncate),
        (
            any::<usize>(),
            prop_oneof![Just(0u32), Just(u32::MAX), Just(0x7fff_ffff), any::<u32>()]
        )
            .prop_map(|(i, v)| Mutation::Hex(i, v)),
    ]
}

fn apply(buf: &mut Vec<u8>, m: &Mutation) {
    if buf.is_empty() {
        return;
    }
    let len = buf.len();
    match m {
        Mutation::Set(i, b) => buf[i % len] = *b,
        Mutation::Xor(i, b) => buf[i % len] ^= *b,
        Mutation::Insert(i, v) => {
            let at = i % (len + 1);
            buf.splice(at..at, v.iter().copied());
        }
        Mutation::Remove(i, n) => {
            let at = i % len;
            let end = (at + n).min(len);
            buf.drain(at..end);
        }
        Mutation::Truncate(i) => buf.truncate(i % len),
        Mutation::Hex(i, v) => {
            let at = i % len;
            let text = format!("{v:08x}");
            for (k, b) in text.bytes().enumerate() {
                if let Some(slot) = buf.get_mut(at + k) {
                    *slot = b;
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Spec {
    name: String,
    kind: u8,
    perm: u32,
    data: Vec<u8>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        "[a-z]{1,6}(/[a-z0-9_-][a-z0-9._-]{0,7}){0,2}",
        0..7u8,
        0..0o7777u32,
        prop::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(name, kind, perm, data)| Spec {
            name,
            kind,
            perm,
            data,
        })
}

fn build(specs: &[Spec]) -> Vec<u8> {
    let mut a = Archive::new();
    for s in specs {
        let kind = [
            S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK,
        ][s.kind as usize];
        let data: &[u8] = if kind == S_IFREG || kind == S_IFLNK {
            &s.data
        } else {
            b""
        };
        a.with(&s.name, kind | s.perm, data, |f| {
            f.rdev_major = s.data.len() as u32;
            f.rdev_minor = s.perm;
        });
    }
    a.finish()
}

/// An image of up to three pieces, each plain or gzip, with padding.
fn image(parts: &[(Vec<Spec>, bool)], pad: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for (specs, compress) in parts {
        let a = build(specs);
        if *compress {
            out.extend(gzip(&a));
        } else {
            out.extend(a);
        }
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend(vec![0u8; pad * 4]);
    }
    out
}

fn parts() -> impl Strategy<Value = Vec<(Vec<Spec>, bool)>> {
    prop::collection::vec((prop::collection::vec(spec(), 0..6), any::<bool>()), 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&bytes);
    }

    #[test]
    fn random_bytes_after_magic_never_panic(
        prefix in prop_oneof![Just(&b"070701"[..]), Just(&b"070702"[..]), Just(&b"\x1f\x8b\x08"[..])],
        bytes in prop::collection::vec(any::<u8>(), 0..1024),
    ) {
        let mut v = prefix.to_vec();
        v.extend(bytes);
        exercise(&v);
    }

    #[test]
    fn valid_images_round_trip(parts in parts(), pad in 0..4usize) {
        let img = image(&parts, pad);
        let pieces = split_initramfs(&img, 1 << 20).unwrap();
        prop_assert_eq!(pieces.len(), parts.len());
        for (p, (specs, compress)) in pieces.iter().zip(&parts) {
            prop_assert_eq!(matches!(p, Piece::Decompressed(_)), *compress);
            let es = entries(p.bytes());
            prop_assert_eq!(es.len(), specs.len());
            for (e, s) in es.iter().zip(specs) {
                prop_assert_eq!(e.name, s.name.as_str());
                prop_assert_eq!(e.mode & 0o7777, s.perm);
                prop_assert_eq!(e.rdev_minor, s.perm);
            }
        }
    }

    #[test]
    fn mutated_images_never_panic(
        parts in parts(),
        pad in 0..3usize,
        muts in prop::collection::vec(mutation(), 1..6),
    ) {
        let mut img = image(&parts, pad);
        for m in &muts {
            apply(&mut img, m);
        }
        exercise(&img);
    }
}
