// Single-member gzip (RFC 1952) decoder: parses the member header itself,
// inflates the raw DEFLATE body with miniz_oxide into a size-capped buffer,
// then checks the CRC-32 and ISIZE trailer. Reports how much input the member
// used so the caller can continue after it.

use alloc::boxed::Box;
use alloc::vec::Vec;

use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};

use crate::crc32::{Crc32, crc32};

/// Why a gzip member could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GzipError {
    /// The input ended inside the header, the compressed data or the trailer.
    Truncated,
    /// The member does not start with `1f 8b`.
    BadMagic,
    /// Compression method other than 8 (deflate).
    BadMethod,
    /// One of the reserved flag bits is set.
    BadFlags,
    /// The optional header CRC (FHCRC) does not match.
    BadHeaderCrc,
    /// The DEFLATE stream is malformed.
    BadDeflate,
    /// The CRC-32 in the trailer does not match the decompressed data.
    BadCrc,
    /// ISIZE in the trailer does not match the decompressed length mod 2^32.
    BadSize,
    /// The decompressed data would exceed the caller's maximum.
    TooLarge,
    /// The output buffer could not be allocated.
    OutOfMemory,
}

const MAGIC: [u8; 2] = [0x1f, 0x8b];
const METHOD_DEFLATE: u8 = 8;

const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;
const FRESERVED: u8 = 0xE0;

/// Fixed part of the header: ID1 ID2 CM FLG MTIME(4) XFL OS.
const FIXED_HEADER: usize = 10;
/// CRC32 + ISIZE.
const TRAILER: usize = 8;
/// First output buffer size; it doubles from there up to the cap.
const INITIAL_OUT: usize = 32 * 1024;

fn le16(data: &[u8], at: usize) -> Result<u16, GzipError> {
    let end = at.checked_add(2).ok_or(GzipError::Truncated)?;
    match data.get(at..end) {
        Some(&[a, b]) => Ok(u16::from_le_bytes([a, b])),
        _ => Err(GzipError::Truncated),
    }
}

fn le32(data: &[u8], at: usize) -> Result<u32, GzipError> {
    let end = at.checked_add(4).ok_or(GzipError::Truncated)?;
    match data.get(at..end) {
        Some(&[a, b, c, d]) => Ok(u32::from_le_bytes([a, b, c, d])),
        _ => Err(GzipError::Truncated),
    }
}

/// Index just past the NUL that terminates the string starting at `at`.
fn skip_cstr(data: &[u8], at: usize) -> Result<usize, GzipError> {
    let rest = data.get(at..).ok_or(GzipError::Truncated)?;
    let nul = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or(GzipError::Truncated)?;
    at.checked_add(nul)
        .and_then(|v| v.checked_add(1))
        .ok_or(GzipError::Truncated)
}

/// Parse the member header; returns the offset of the DEFLATE data.
fn parse_header(data: &[u8]) -> Result<usize, GzipError> {
    // Report a wrong magic even when the input is too short for a header.
    let magic_len = data.len().min(MAGIC.len());
    if data.get(..magic_len) != MAGIC.get(..magic_len) {
        return Err(GzipError::BadMagic);
    }
    let fixed = data.get(..FIXED_HEADER).ok_or(GzipError::Truncated)?;
    let (method, flags) = match fixed {
        &[_, _, m, f, ..] => (m, f),
        _ => return Err(GzipError::Truncated),
    };
    if method != METHOD_DEFLATE {
        return Err(GzipError::BadMethod);
    }
    if flags & FRESERVED != 0 {
        return Err(GzipError::BadFlags);
    }
    let mut pos = FIXED_HEADER;
    if flags & FEXTRA != 0 {
        let xlen = usize::from(le16(data, pos)?);
        pos = pos
            .checked_add(2)
            .and_then(|p| p.checked_add(xlen))
            .ok_or(GzipError::Truncated)?;
        if pos > data.len() {
            return Err(GzipError::Truncated);
        }
    }
    if flags & FNAME != 0 {
        pos = skip_cstr(data, pos)?;
    }
    if flags & FCOMMENT != 0 {
        pos = skip_cstr(data, pos)?;
    }
    if flags & FHCRC != 0 {
        let stored = le16(data, pos)?;
        let covered = data.get(..pos).ok_or(GzipError::Truncated)?;
        if (crc32(covered) & 0xFFFF) as u16 != stored {
            return Err(GzipError::BadHeaderCrc);
        }
        pos = pos.checked_add(2).ok_or(GzipError::Truncated)?;
    }
    Ok(pos)
}

/// Grow `out` (zero-filled) to `new_len` without aborting on allocation failure.
fn grow(out: &mut Vec<u8>, new_len: usize) -> Result<(), GzipError> {
    let extra = new_len.saturating_sub(out.len());
    out.try_reserve_exact(extra)
        .map_err(|_| GzipError::OutOfMemory)?;
    out.resize(new_len, 0);
    Ok(())
}

/// Inflate raw DEFLATE data from the start of `input`, producing at most
/// `max` bytes. Returns the output and the number of input bytes used.
fn inflate(input: &[u8], max: usize) -> Result<(Vec<u8>, usize), GzipError> {
    // One byte of headroom past `max` distinguishes "exactly max" from "more".
    let cap = max.saturating_add(1);
    let mut out = Vec::new();
    grow(&mut out, cap.min(INITIAL_OUT))?;
    let mut state = Box::<DecompressorOxide>::default();
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let mut in_pos = 0usize;
    let mut out_pos = 0usize;
    loop {
        let rest = input.get(in_pos..).unwrap_or(&[]);
        let (status, used_in, made_out) = decompress(&mut state, rest, &mut out, out_pos, flags);
        in_pos = in_pos.saturating_add(used_in).min(input.len());
        out_pos = out_pos.saturating_add(made_out).min(out.len());
        match status {
            TINFLStatus::Done => {
                if out_pos > max {
                    return Err(GzipError::TooLarge);
                }
                out.truncate(out_pos);
                out.shrink_to_fit();
                return Ok((out, in_pos));
            }
            TINFLStatus::HasMoreOutput => {
                if out.len() >= cap {
                    return Err(GzipError::TooLarge);
                }
                let new_len = out.len().saturating_mul(2).clamp(1, cap);
                grow(&mut out, new_len)?;
            }
            TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => {
                return Err(GzipError::Truncated);
            }
            _ => return Err(GzipError::BadDeflate),
        }
    }
}

/// Decode the single gzip member at the start of `data`.
///
/// Returns the decompressed bytes and how many bytes of `data` the member
/// occupied (header, compressed data and trailer); anything after that is
/// left alone. Fails with [`GzipError::TooLarge`] rather than allocating more
/// than `max` bytes of output.
pub fn gunzip(data: &[u8], max: usize) -> Result<(Vec<u8>, usize), GzipError> {
    let body_start = parse_header(data)?;
    let body = data.get(body_start..).ok_or(GzipError::Truncated)?;
    let (out, used) = inflate(body, max)?;
    let trailer_at = body_start.checked_add(used).ok_or(GzipError::Truncated)?;
    let stored_crc = le32(data, trailer_at)?;
    let stored_size = le32(data, trailer_at.checked_add(4).ok_or(GzipError::Truncated)?)?;
    let mut crc = Crc32::new();
    crc.update(&out);
    if crc.finish() != stored_crc {
        return Err(GzipError::BadCrc);
    }
    // ISIZE is the length modulo 2^32: truncation is intended.
    if out.len() as u32 != stored_size {
        return Err(GzipError::BadSize);
    }
    let consumed = trailer_at
        .checked_add(TRAILER)
        .ok_or(GzipError::Truncated)?;
    Ok((out, consumed))
}
