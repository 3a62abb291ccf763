//! Fuzzing the initramfs reader (see the `fuzz` crate): `split_initramfs`, `read` and `gunzip`
//! over the corpus in `fuzz/corpus/initramfs/` (archives written by GNU cpio and gzip, and
//! `builder-*` files from the `Archive` builder of `tests/common`, rewritten by the ignored
//! test `write_builder_corpus`), then over mutations of it. Beyond "never panics":
//! - every entry `read` yields has a clean name (not empty, no leading `/` or `./`, no `..`
//!   component), a file type matching its mode, and data inside the buffer;
//! - the reader's position only moves forward, and after the end or an error it stays done;
//! - a plain archive piece of a split image passed the framing checks, so reading it can only
//!   fail on a name or a mode;
//! - decompressed pieces never exceed the budget, and a smaller budget gives `TooLarge`;
//! - `gunzip` reports exactly how many bytes the member used;
//! - any bytes wrapped in a gzip member come back as one decompressed piece, unchanged.

mod common;

use common::*;
use cpio::{CpioError, FileType, Piece, gunzip, read, split_initramfs};

const LIMIT: usize = 1 << 20;

/// `inner` lies inside `outer` (a borrowed sub-slice).
fn within(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    i >= o && i + inner.len() <= o + outer.len()
}

/// Read every entry of `buf` and check each; `framed`: the framing was already checked.
fn entries(buf: &[u8], framed: bool, cov: &mut fuzz::Cov) -> usize {
    let mut r = read(buf);
    let mut at = r.position();
    let mut n = 0;
    while let Some(item) = r.next() {
        assert!(r.position() >= at && r.position() <= buf.len());
        at = r.position();
        match item {
            Ok(e) => {
                n += 1;
                assert!(!e.name.is_empty());
                assert!(
                    !e.name.starts_with('/') && !e.name.starts_with("./"),
                    "{e:?}"
                );
                assert!(!e.name.split('/').any(|c| c == ".."), "{e:?}");
                assert_ne!(e.name, ".");
                assert_eq!(FileType::from_mode(e.mode), Some(e.file_type));
                assert_eq!(e.permissions(), e.mode & 0o7777);
                assert!(within(buf, e.data), "entry data outside the buffer");
                assert!(
                    within(buf, e.name.as_bytes()),
                    "entry name outside the buffer"
                );
                cov.hit_debug(&(
                    e.file_type,
                    fuzz::bucket(e.data.len()),
                    e.is_hardlink_placeholder(),
                ));
            }
            Err(err) => {
                assert!(
                    !framed || matches!(err, CpioError::BadName | CpioError::BadMode),
                    "a framed archive failed with {err:?}"
                );
                cov.hit_debug(&("entry error", err));
            }
        }
    }
    assert!(r.next().is_none(), "the reader yielded after its end");
    cov.hit(("entries", fuzz::bucket(n)));
    n
}

fn check(data: &[u8], cov: &mut fuzz::Cov) {
    entries(data, false, cov);
    match split_initramfs(data, LIMIT) {
        Ok(pieces) => {
            let mut decompressed = 0;
            for p in &pieces {
                match p {
                    Piece::Plain(b) => {
                        assert!(within(data, b), "a plain piece is not part of the image");
                        assert!(b.starts_with(b"07070"));
                        entries(b, true, cov);
                    }
                    Piece::Decompressed(v) => {
                        decompressed += v.len();
                        entries(v, false, cov);
                    }
                }
            }
            assert!(decompressed <= LIMIT);
            if decompressed > 0 {
                let less = decompressed - 1;
                assert_eq!(split_initramfs(data, less), Err(CpioError::TooLarge));
            }
            cov.hit(("pieces", pieces.len().min(4), decompressed > 0));
        }
        Err(e) => cov.hit_debug(&("split", e)),
    }
    if data.first() == Some(&0x1f) {
        match gunzip(data, LIMIT) {
            Ok((out, used)) => {
                assert!(used <= data.len() && out.len() <= LIMIT);
                assert_eq!(gunzip(&data[..used], LIMIT), Ok((out, used)));
                cov.hit("gunzip ok");
            }
            Err(e) => cov.hit_debug(&("gunzip", e)),
        }
    }
    // Whatever the bytes are, a gzip member holding them gives them back.
    if data.len() <= 1 << 14 && fuzz::hash64(data).is_multiple_of(4) {
        let g = gzip_member(
            data,
            &GzOpts {
                level: 1,
                ..GzOpts::default()
            },
        );
        let pieces = split_initramfs(&g, LIMIT).expect("a gzip member of any bytes splits");
        assert_eq!(pieces, vec![Piece::Decompressed(data.to_vec())]);
    }
}

#[test]
fn fuzz_initramfs() {
    fuzz::target("initramfs", env!("CARGO_MANIFEST_DIR"))
        .max_len(1 << 16)
        .iterations(60_000)
        .dict([
            &b"070701"[..],
            b"070702",
            b"070707",
            b"TRAILER!!!\0",
            b"\x1f\x8b\x08\x00",
            b"\x1f\x8b\x08\x1e",
            b"00000000",
            b"ffffffff",
            b"FFFFFFFF",
            b"7fffffff",
            b"0000000b",
            b"000081a4",
            b"000041ed",
            b"0000a1ff",
            b"000021b6",
            b"000061b0",
            b"000011a4",
            b"0000c1ed",
            b"./",
            b"../",
            b"/",
            b"\0\0\0\0",
        ])
        .run(check);
}

/// Edge cases built with the `Archive` builder, kept as corpus files (`builder-*`) so that the
/// initramfs unpacker's fuzz target in `vfs` replays them too. Run with `--ignored` to rewrite
/// them after changing this list.
fn builder_corpus() -> Vec<(&'static str, Vec<u8>)> {
    let mut all = Archive::new();
    all.dir("etc", 0o755)
        .file("etc/passwd", 0o644, b"root:x:0:0::/root:/bin/sh\n")
        .symlink("etc/mtab", "/proc/mounts")
        .device("dev/null", S_IFCHR, 0o666, 1, 3)
        .device("dev/sda", S_IFBLK, 0o660, 8, 0)
        .with("run/fifo", S_IFIFO | 0o600, b"", |_| {})
        .with("run/sock", S_IFSOCK | 0o755, b"", |_| {})
        .with("bin/placeholder", S_IFREG | 0o755, b"", |f| {
            f.ino = 7;
            f.nlink = 2;
        })
        .with("bin/sh", S_IFREG | 0o4755, b"\x7fELF...", |f| {
            f.ino = 7;
            f.nlink = 2;
        });
    let all = all.finish();
    let mut names = Archive::new();
    names
        .dir(".", 0o755)
        .file("./dot-slash", 0o644, b"1")
        .file("//double/slash", 0o644, b"2")
        .file("a/./b", 0o644, b"3")
        .file("trailing/", 0o644, b"4")
        .file(&"n".repeat(255), 0o644, b"5")
        .file(&"long/".repeat(300), 0o644, b"6");
    let names = names.finish();
    let mut crc = Archive::new();
    let f = crc.fields(b"crc-file", S_IFREG | 0o644, b"data");
    crc.raw(b"070702", f, b"crc-file", b"data");
    let crc = crc.finish();
    let mut huge = Archive::new();
    huge.with("big", S_IFREG | 0o644, b"tiny", |f| f.filesize = u32::MAX);
    let huge = huge.finish();
    let mut dotdot = Archive::new();
    dotdot.file("../../etc/evil", 0o644, b"x");
    let dotdot = dotdot.finish();
    let mut replace = Archive::new();
    replace
        .file("x", 0o644, b"file first")
        .dir("x", 0o700)
        .dir("d", 0o755)
        .file("d/f", 0o600, b"in d")
        .dir("d", 0o711)
        .symlink("l", "d")
        .file("l/through-link", 0o644, b"via l")
        .symlink("loop", "loop/x")
        .file("loop/y", 0o644, b"never");
    let replace = replace.finish();
    let mut nopad = Archive::new();
    nopad.file("odd", 0o644, b"abc");
    let mut nopad = nopad.finish();
    while nopad.last() == Some(&0) {
        nopad.pop();
    }
    let two = [
        all.clone(),
        vec![0; 4],
        gzip(&names),
        vec![0; 7],
        gzip(&crc),
    ]
    .concat();
    let gz_opts = gzip_member(
        &all,
        &GzOpts {
            extra: Some(b"xx\x02\x00hi".to_vec()),
            name: Some(b"initrd.cpio".to_vec()),
            comment: Some(b"made by tine".to_vec()),
            hcrc: true,
            level: 9,
        },
    );
    vec![
        ("builder-all-types.cpio", all),
        ("builder-names.cpio", names),
        ("builder-crc-magic.cpio", crc),
        ("builder-filesize-max.cpio", huge),
        ("builder-dotdot.cpio", dotdot),
        ("builder-replace-and-links.cpio", replace),
        ("builder-no-trailing-padding.cpio", nopad),
        ("builder-plain-and-gzip.img", two),
        ("builder-gzip-all-header-fields.cpio.gz", gz_opts),
        ("builder-trailer-only.cpio", Archive::new().finish()),
    ]
}

#[test]
#[ignore = "rewrites the builder-* corpus files"]
fn write_builder_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/initramfs");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, data) in builder_corpus() {
        std::fs::write(dir.join(name), data).unwrap();
    }
}

/// The committed builder files are what the builder makes.
#[test]
fn builder_corpus_is_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/initramfs");
    for (name, data) in builder_corpus() {
        let kept = std::fs::read(dir.join(name)).unwrap_or_default();
        assert!(
            kept == data,
            "{name} differs from the builder: cargo test -p cpio --test fuzz -- --ignored"
        );
    }
}
