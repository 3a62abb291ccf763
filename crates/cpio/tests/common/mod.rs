// Shared test helpers: a hand-written newc archive builder (so tests can
// produce entries the host tools cannot, such as device nodes as non-root or
// deliberately broken headers) and a gzip member builder with every optional
// header field.
#![allow(dead_code)]

use cpio::crc32;

pub const S_IFREG: u32 = 0o100_000;
pub const S_IFDIR: u32 = 0o040_000;
pub const S_IFLNK: u32 = 0o120_000;
pub const S_IFCHR: u32 = 0o020_000;
pub const S_IFBLK: u32 = 0o060_000;
pub const S_IFIFO: u32 = 0o010_000;
pub const S_IFSOCK: u32 = 0o140_000;

/// The 13 header fields of a newc entry, in on-disk order.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub ino: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: u32,
    pub filesize: u32,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub rdev_major: u32,
    pub rdev_minor: u32,
    pub namesize: u32,
    pub check: u32,
}

impl Fields {
    pub fn to_array(self) -> [u32; 13] {
        [
            self.ino,
            self.mode,
            self.uid,
            self.gid,
            self.nlink,
            self.mtime,
            self.filesize,
            self.dev_major,
            self.dev_minor,
            self.rdev_major,
            self.rdev_minor,
            self.namesize,
            self.check,
        ]
    }
}

/// 110-byte header text for `fields` with the given magic.
pub fn header(magic: &[u8; 6], fields: Fields) -> Vec<u8> {
    let mut h = magic.to_vec();
    for v in fields.to_array() {
        h.extend_from_slice(format!("{v:08x}").as_bytes());
    }
    assert_eq!(h.len(), 110);
    h
}

fn pad4(buf: &mut Vec<u8>) {
    while !buf.len().is_multiple_of(4) {
        buf.push(0);
    }
}

/// Builds newc archives. Offsets are relative to the start of `buf`, which is
/// assumed to be where the archive sits (aligned) in the final image.
pub struct Archive {
    pub buf: Vec<u8>,
    next_ino: u32,
}

impl Default for Archive {
    fn default() -> Self {
        Self::new()
    }
}

impl Archive {
    pub fn new() -> Self {
        Archive {
            buf: Vec::new(),
            next_ino: 100,
        }
    }

    /// Default fields for `name`/`mode`/`data` (fresh inode, nlink 1, or 2
    /// for directories).
    pub fn fields(&mut self, name: &[u8], mode: u32, data: &[u8]) -> Fields {
        self.next_ino += 1;
        Fields {
            ino: self.next_ino,
            mode,
            uid: 0,
            gid: 0,
            nlink: if mode & 0o170_000 == S_IFDIR { 2 } else { 1 },
            mtime: 1_700_000_000,
            filesize: data.len() as u32,
            dev_major: 0,
            dev_minor: 0,
            rdev_major: 0,
            rdev_minor: 0,
            namesize: name.len() as u32 + 1,
            check: 0,
        }
    }

    /// Append an entry with explicit fields; `name` gets a NUL appended.
    pub fn raw(&mut self, magic: &[u8; 6], f: Fields, name: &[u8], data: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(&header(magic, f));
        self.buf.extend_from_slice(name);
        self.buf.push(0);
        pad4(&mut self.buf);
        self.buf.extend_from_slice(data);
        pad4(&mut self.buf);
        self
    }

    pub fn with(
        &mut self,
        name: &str,
        mode: u32,
        data: &[u8],
        tweak: impl FnOnce(&mut Fields),
    ) -> &mut Self {
        let mut f = self.fields(name.as_bytes(), mode, data);
        tweak(&mut f);
        self.raw(b"070701", f, name.as_bytes(), data)
    }

    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) -> &mut Self {
        self.with(name, S_IFREG | perm, data, |_| {})
    }

    pub fn dir(&mut self, name: &str, perm: u32) -> &mut Self {
        self.with(name, S_IFDIR | perm, b"", |_| {})
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.with(name, S_IFLNK | 0o777, target.as_bytes(), |_| {})
    }

    pub fn device(
        &mut self,
        name: &str,
        kind: u32,
        perm: u32,
        major: u32,
        minor: u32,
    ) -> &mut Self {
        self.with(name, kind | perm, b"", |f| {
            f.rdev_major = major;
            f.rdev_minor = minor;
        })
    }

    pub fn trailer(&mut self) -> &mut Self {
        let f = Fields {
            ino: 0,
            mode: 0,
            uid: 0,
            gid: 0,
            nlink: 1,
            mtime: 0,
            filesize: 0,
            dev_major: 0,
            dev_minor: 0,
            rdev_major: 0,
            rdev_minor: 0,
            namesize: 11,
            check: 0,
        };
        self.raw(b"070701", f, b"TRAILER!!!", b"")
    }

    /// Append the trailer and return the bytes.
    pub fn finish(&mut self) -> Vec<u8> {
        self.trailer();
        std::mem::take(&mut self.buf)
    }
}

/// Optional gzip header fields.
#[derive(Debug, Clone, Default)]
pub struct GzOpts {
    pub extra: Option<Vec<u8>>,
    pub name: Option<Vec<u8>>,
    pub comment: Option<Vec<u8>>,
    pub hcrc: bool,
    pub level: u8,
}

/// One gzip member holding `data`, built with miniz_oxide's compressor.
pub fn gzip_member(data: &[u8], opts: &GzOpts) -> Vec<u8> {
    let mut flags = 0u8;
    if opts.hcrc {
        flags |= 2;
    }
    if opts.extra.is_some() {
        flags |= 4;
    }
    if opts.name.is_some() {
        flags |= 8;
    }
    if opts.comment.is_some() {
        flags |= 16;
    }
    let mut out = vec![0x1f, 0x8b, 8, flags, 0x78, 0x56, 0x34, 0x12, 0, 3];
    if let Some(x) = &opts.extra {
        out.extend_from_slice(&(x.len() as u16).to_le_bytes());
        out.extend_from_slice(x);
    }
    if let Some(n) = &opts.name {
        out.extend_from_slice(n);
        out.push(0);
    }
    if let Some(c) = &opts.comment {
        out.extend_from_slice(c);
        out.push(0);
    }
    if opts.hcrc {
        let c = crc32(&out) as u16;
        out.extend_from_slice(&c.to_le_bytes());
    }
    out.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(data, opts.level));
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    gzip_member(
        data,
        &GzOpts {
            level: 6,
            ..GzOpts::default()
        },
    )
}

/// Read everything, panicking on the first error (for well-formed inputs).
pub fn entries(buf: &[u8]) -> Vec<cpio::Entry<'_>> {
    cpio::read(buf)
        .collect::<Result<Vec<_>, _>>()
        .expect("archive should parse")
}

/// Run `read` to completion and return the first error, if any.
pub fn first_error(buf: &[u8]) -> Option<cpio::CpioError> {
    cpio::read(buf).find_map(Result::err)
}

/// Deterministic pseudo-random bytes.
pub fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}
