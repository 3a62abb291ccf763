// newc ("070701") / crc ("070702") cpio archive reader. Walks one
// uncompressed buffer that may hold several archives back to back, separated
// by NUL padding, and yields borrowed entries. Every offset is bounds- and
// overflow-checked; malformed input ends iteration with an error.

use core::iter::FusedIterator;

use crate::CpioError;

/// Length of a newc header: 6-byte magic plus 13 fields of 8 hex digits.
pub(crate) const HEADER_LEN: usize = 110;
const MAGIC_LEN: usize = 6;
const MAGIC_NEWC: &[u8; MAGIC_LEN] = b"070701";
const MAGIC_CRC: &[u8; MAGIC_LEN] = b"070702";
/// Common prefix of both accepted magics.
const MAGIC_PREFIX: &[u8] = b"07070";
const TRAILER_NAME: &[u8] = b"TRAILER!!!";

const S_IFMT: u32 = 0o170_000;

/// Kind of filesystem object an entry describes (the `S_IFMT` bits of `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Regular,
    Directory,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
}

impl FileType {
    /// Decode the `S_IFMT` bits of an `st_mode`.
    pub fn from_mode(mode: u32) -> Option<FileType> {
        match mode & S_IFMT {
            0o100_000 => Some(FileType::Regular),
            0o040_000 => Some(FileType::Directory),
            0o120_000 => Some(FileType::Symlink),
            0o020_000 => Some(FileType::CharDevice),
            0o060_000 => Some(FileType::BlockDevice),
            0o010_000 => Some(FileType::Fifo),
            0o140_000 => Some(FileType::Socket),
            _ => None,
        }
    }
}

/// One archive member.
///
/// Hard links: newc stores every name of a multiply-linked file as its own
/// entry with the same `ino` (and `dev_major`/`dev_minor`) and `nlink > 1`;
/// conventionally only the *last* of them carries the contents, the earlier
/// ones have empty `data`. Entries are yielded exactly as stored; a consumer
/// that wants real links should group by `(dev_major, dev_minor, ino)` and
/// use [`Entry::is_hardlink_placeholder`] to spot the empty ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Path with any leading `./` and `/` removed; never empty, never has a
    /// `..` component. Other components are passed through untouched.
    pub name: &'a str,
    pub ino: u32,
    /// Full `st_mode`: file type bits plus permission bits.
    pub mode: u32,
    pub file_type: FileType,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: u32,
    /// Device holding the original file (only meaningful for hard links).
    pub dev_major: u32,
    pub dev_minor: u32,
    /// Device number for character and block device entries.
    pub rdev_major: u32,
    pub rdev_minor: u32,
    /// File contents, or the target of a symlink.
    pub data: &'a [u8],
}

impl Entry<'_> {
    /// Permission bits (`mode & 0o7777`).
    pub fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }

    /// A regular file with `nlink > 1` and no data: an earlier name of a
    /// hard-linked file whose contents come with a later entry of the same
    /// `ino`.
    pub fn is_hardlink_placeholder(&self) -> bool {
        self.file_type == FileType::Regular && self.nlink > 1 && self.data.is_empty()
    }
}

/// A header as stored, before name and mode are interpreted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawEntry<'a> {
    pub ino: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: u32,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub rdev_major: u32,
    pub rdev_minor: u32,
    /// Name without its terminating NUL.
    pub name: &'a [u8],
    pub data: &'a [u8],
}

impl RawEntry<'_> {
    pub fn is_trailer(&self) -> bool {
        self.name == TRAILER_NAME
    }
}

fn hex_digit(b: u8) -> Option<u32> {
    match b {
        b'0'..=b'9' => Some(u32::from(b.wrapping_sub(b'0'))),
        b'a'..=b'f' => Some(u32::from(b.wrapping_sub(b'a')).wrapping_add(10)),
        b'A'..=b'F' => Some(u32::from(b.wrapping_sub(b'A')).wrapping_add(10)),
        _ => None,
    }
}

/// Parse exactly 8 hex digits. Eight nibbles fill a u32, so no overflow.
fn hex8(field: &[u8]) -> Result<u32, CpioError> {
    if field.len() != 8 {
        return Err(CpioError::Truncated);
    }
    field.iter().try_fold(0u32, |acc, &b| {
        hex_digit(b)
            .map(|d| (acc << 4) | d)
            .ok_or(CpioError::BadHex)
    })
}

/// Round `x` up to a multiple of 4.
fn align4(x: usize) -> Option<usize> {
    x.checked_add(3).map(|v| v & !3)
}

fn to_usize(v: u32) -> Result<usize, CpioError> {
    usize::try_from(v).map_err(|_| CpioError::TooLarge)
}

/// Parse the entry whose header starts at `pos`. Returns the entry and the
/// offset just past its (4-byte aligned) data. Padding is measured from the
/// header start; padding cut off by the end of `buf` is tolerated.
pub(crate) fn parse_raw(buf: &[u8], pos: usize) -> Result<(RawEntry<'_>, usize), CpioError> {
    let rest = buf.get(pos..).ok_or(CpioError::Truncated)?;
    let prefix_len = rest.len().min(MAGIC_PREFIX.len());
    if rest.get(..prefix_len) != MAGIC_PREFIX.get(..prefix_len) {
        return Err(CpioError::BadMagic);
    }
    let header = rest.get(..HEADER_LEN).ok_or(CpioError::Truncated)?;
    let (magic, fields) = header
        .split_at_checked(MAGIC_LEN)
        .ok_or(CpioError::Truncated)?;
    if magic != MAGIC_NEWC && magic != MAGIC_CRC {
        return Err(CpioError::BadMagic);
    }
    let mut f = [0u32; 13];
    for (slot, chunk) in f.iter_mut().zip(fields.chunks(8)) {
        *slot = hex8(chunk)?;
    }
    let [
        ino,
        mode,
        uid,
        gid,
        nlink,
        mtime,
        filesize,
        dev_major,
        dev_minor,
        rdev_major,
        rdev_minor,
        namesize,
        _check,
    ] = f;

    let namesize = to_usize(namesize)?;
    if namesize == 0 {
        return Err(CpioError::BadName);
    }
    let name_end = HEADER_LEN
        .checked_add(namesize)
        .ok_or(CpioError::TooLarge)?;
    let name_nul = rest.get(HEADER_LEN..name_end).ok_or(CpioError::Truncated)?;
    let (name, nul) = name_nul
        .split_last()
        .map(|(last, name)| (name, *last))
        .ok_or(CpioError::BadName)?;
    if nul != 0 || name.contains(&0) {
        return Err(CpioError::BadName);
    }

    let filesize = to_usize(filesize)?;
    let data_start = align4(name_end).ok_or(CpioError::TooLarge)?.min(rest.len());
    let data_end = data_start
        .checked_add(filesize)
        .ok_or(CpioError::TooLarge)?;
    let data = rest.get(data_start..data_end).ok_or(CpioError::Truncated)?;
    let next = align4(data_end).ok_or(CpioError::TooLarge)?.min(rest.len());
    let next = pos.checked_add(next).ok_or(CpioError::TooLarge)?;

    let raw = RawEntry {
        ino,
        mode,
        uid,
        gid,
        nlink,
        mtime,
        dev_major,
        dev_minor,
        rdev_major,
        rdev_minor,
        name,
        data,
    };
    Ok((raw, next))
}

/// Strip leading `./` and `/`; `None` means the entry names the root itself.
fn clean_name(raw: &[u8]) -> Result<Option<&str>, CpioError> {
    if raw.is_empty() {
        return Err(CpioError::BadName);
    }
    let s = core::str::from_utf8(raw).map_err(|_| CpioError::BadName)?;
    let mut s = s;
    loop {
        if let Some(t) = s.strip_prefix("./") {
            s = t;
        } else if let Some(t) = s.strip_prefix('/') {
            s = t;
        } else {
            break;
        }
    }
    if s.is_empty() || s == "." {
        return Ok(None);
    }
    if s.split('/').any(|c| c == "..") {
        return Err(CpioError::BadName);
    }
    Ok(Some(s))
}

/// Turn a raw entry into a public one; `Ok(None)` for the root (`.`) entry.
fn cook(raw: RawEntry<'_>) -> Result<Option<Entry<'_>>, CpioError> {
    let Some(name) = clean_name(raw.name)? else {
        return Ok(None);
    };
    let file_type = FileType::from_mode(raw.mode).ok_or(CpioError::BadMode)?;
    Ok(Some(Entry {
        name,
        ino: raw.ino,
        mode: raw.mode,
        file_type,
        uid: raw.uid,
        gid: raw.gid,
        nlink: raw.nlink,
        mtime: raw.mtime,
        dev_major: raw.dev_major,
        dev_minor: raw.dev_minor,
        rdev_major: raw.rdev_major,
        rdev_minor: raw.rdev_minor,
        data: raw.data,
    }))
}

/// Index of the first non-NUL byte at or after `pos` (or `buf.len()`).
pub(crate) fn skip_nuls(buf: &[u8], pos: usize) -> usize {
    let rest = buf.get(pos..).unwrap_or(&[]);
    let zeros = rest.iter().take_while(|&&b| b == 0).count();
    pos.saturating_add(zeros).min(buf.len())
}

/// Walk one archive starting at `pos` up to and including its trailer and
/// return the offset just past it. Only the framing is checked here.
pub(crate) fn archive_end(buf: &[u8], pos: usize) -> Result<usize, CpioError> {
    let mut pos = pos;
    loop {
        pos = skip_nuls(buf, pos);
        if pos >= buf.len() {
            return Err(CpioError::Truncated);
        }
        let (raw, next) = parse_raw(buf, pos)?;
        if next <= pos {
            // Cannot happen (a header is 110 bytes), but never loop forever.
            return Err(CpioError::Truncated);
        }
        pos = next;
        if raw.is_trailer() {
            return Ok(pos);
        }
    }
}

/// Iterator over the entries of an uncompressed buffer. See [`read`].
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Inside an archive whose trailer has not been seen yet.
    in_archive: bool,
    done: bool,
}

/// Iterate over the entries of `data`: one or more newc archives back to
/// back, with any number of NUL bytes before, between and after them (and
/// between entries, as Linux tolerates).
///
/// `TRAILER!!!` entries and the root entry (`.`) are not yielded. Each
/// archive must end with a trailer: running out of data mid-archive yields
/// `Err(CpioError::Truncated)`. The first error ends the iteration.
pub fn read(data: &[u8]) -> Reader<'_> {
    Reader {
        buf: data,
        pos: 0,
        in_archive: false,
        done: false,
    }
}

impl<'a> Reader<'a> {
    /// Offset in the buffer of the next header to be parsed.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn fail(&mut self, e: CpioError) -> Option<Result<Entry<'a>, CpioError>> {
        self.done = true;
        Some(Err(e))
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Entry<'a>, CpioError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            self.pos = skip_nuls(self.buf, self.pos);
            if self.pos >= self.buf.len() {
                if self.in_archive {
                    return self.fail(CpioError::Truncated);
                }
                self.done = true;
                return None;
            }
            let (raw, next) = match parse_raw(self.buf, self.pos) {
                Ok(v) => v,
                Err(e) => return self.fail(e),
            };
            if next <= self.pos {
                return self.fail(CpioError::Truncated);
            }
            self.pos = next;
            if raw.is_trailer() {
                self.in_archive = false;
                continue;
            }
            self.in_archive = true;
            match cook(raw) {
                Ok(Some(entry)) => return Some(Ok(entry)),
                Ok(None) => continue,
                Err(e) => return self.fail(e),
            }
        }
    }
}

impl FusedIterator for Reader<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex() {
        assert_eq!(hex8(b"0000001f"), Ok(31));
        assert_eq!(hex8(b"FFFFFFFF"), Ok(u32::MAX));
        assert_eq!(hex8(b"0000001g"), Err(CpioError::BadHex));
        assert_eq!(hex8(b" 0000001"), Err(CpioError::BadHex));
    }

    #[test]
    fn names() {
        assert_eq!(clean_name(b"./a/b"), Ok(Some("a/b")));
        assert_eq!(clean_name(b"/./a"), Ok(Some("a")));
        assert_eq!(clean_name(b"//a"), Ok(Some("a")));
        assert_eq!(clean_name(b"."), Ok(None));
        assert_eq!(clean_name(b"./"), Ok(None));
        assert_eq!(clean_name(b"/"), Ok(None));
        assert_eq!(clean_name(b""), Err(CpioError::BadName));
        assert_eq!(clean_name(b".."), Err(CpioError::BadName));
        assert_eq!(clean_name(b"../etc"), Err(CpioError::BadName));
        assert_eq!(clean_name(b"a/../../etc"), Err(CpioError::BadName));
        assert_eq!(clean_name(b"a/.."), Err(CpioError::BadName));
        assert_eq!(clean_name(b"a/..b"), Ok(Some("a/..b")));
        assert_eq!(clean_name(b"\xff"), Err(CpioError::BadName));
    }

    #[test]
    fn file_types() {
        assert_eq!(FileType::from_mode(0o100644), Some(FileType::Regular));
        assert_eq!(FileType::from_mode(0o040755), Some(FileType::Directory));
        assert_eq!(FileType::from_mode(0o120777), Some(FileType::Symlink));
        assert_eq!(FileType::from_mode(0o020600), Some(FileType::CharDevice));
        assert_eq!(FileType::from_mode(0o060600), Some(FileType::BlockDevice));
        assert_eq!(FileType::from_mode(0o010644), Some(FileType::Fifo));
        assert_eq!(FileType::from_mode(0o140755), Some(FileType::Socket));
        assert_eq!(FileType::from_mode(0o000644), None);
        assert_eq!(FileType::from_mode(0o170644), None);
    }
}
