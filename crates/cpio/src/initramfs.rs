// Splitting a Linux-style initramfs image into uncompressed cpio buffers:
// the image is a sequence of newc archives and gzip members, in any order,
// separated and followed by NUL padding. Plain archives are borrowed, gzip
// members are decompressed under a shared size budget.

use alloc::vec::Vec;

use crate::CpioError;
use crate::gzip::gunzip;
use crate::newc::{archive_end, skip_nuls};

/// One uncompressed piece of an initramfs image, ready for [`crate::read`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// A newc archive stored uncompressed in the image (through its trailer).
    Plain(&'a [u8]),
    /// The contents of one gzip member (may itself hold several archives).
    Decompressed(Vec<u8>),
}

impl Piece<'_> {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Piece::Plain(b) => b,
            Piece::Decompressed(v) => v,
        }
    }
}

/// First byte of a gzip member (`1f 8b`).
const GZIP_FIRST: &[u8] = &[0x1f];
/// First byte of a newc header (`070701`).
const CPIO_FIRST: &[u8] = b"0";

/// Split `image` into uncompressed archive buffers, in order.
///
/// At each position NUL bytes are skipped; then either a newc archive
/// (borrowed up to and including its `TRAILER!!!` entry) or a gzip member
/// (decompressed) must follow, recognised by its first byte (`0` or `0x1f`).
/// Anything else is [`CpioError::BadMagic`] (other compression formats are
/// not supported); a damaged gzip magic is `Gzip(GzipError::BadMagic)`. The
/// image may end with any amount of NUL padding. Pieces need not start at
/// 4-byte aligned offsets: each newc entry's padding is measured from its own
/// header.
///
/// `max_total` bounds the sum of all decompressed bytes (borrowed pieces cost
/// nothing); exceeding it yields [`CpioError::TooLarge`]. Plain archives are
/// only checked for framing here; entry-level errors surface from
/// [`crate::read`].
pub fn split_initramfs(image: &[u8], max_total: usize) -> Result<Vec<Piece<'_>>, CpioError> {
    let mut pieces = Vec::new();
    let mut budget = max_total;
    let mut pos = 0usize;
    loop {
        pos = skip_nuls(image, pos);
        let rest = match image.get(pos..) {
            Some(r) if !r.is_empty() => r,
            _ => return Ok(pieces),
        };
        // Dispatch on the first byte so that a short or damaged magic is
        // reported by the matching decoder (as truncation or bad magic).
        let used = if rest.starts_with(CPIO_FIRST) {
            let end = archive_end(rest, 0)?;
            let archive = rest.get(..end).ok_or(CpioError::Truncated)?;
            pieces.push(Piece::Plain(archive));
            end
        } else if rest.starts_with(GZIP_FIRST) {
            let (out, used) = gunzip(rest, budget).map_err(CpioError::from)?;
            budget = budget.saturating_sub(out.len());
            pieces.push(Piece::Decompressed(out));
            used
        } else {
            return Err(CpioError::BadMagic);
        };
        if used == 0 {
            // Both decoders consume at least a header; guard against loops.
            return Err(CpioError::Truncated);
        }
        pos = pos.checked_add(used).ok_or(CpioError::Truncated)?;
    }
}
