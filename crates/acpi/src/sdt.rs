//! Low-level helpers: bounded physical reads, little-endian field decoding,
//! checksums and validation of the common 36-byte System Description Table header.

use crate::{AcpiError, PhysMem};

/// Size of the common SDT header.
pub const SDT_HEADER_LEN: u32 = 36;

/// Tables claiming to be longer than this are refused.
pub const MAX_TABLE_LEN: u32 = 1 << 20;

/// The common header at the start of every System Description Table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SdtHeader {
    pub signature: [u8; 4],
    pub length: u32,
    pub revision: u8,
    pub checksum: u8,
    pub oem_id: [u8; 6],
    pub oem_table_id: [u8; 8],
    pub oem_revision: u32,
    pub creator_id: u32,
    pub creator_revision: u32,
}

impl SdtHeader {
    /// Decode a header from its 36 raw bytes (no validation).
    pub fn from_bytes(b: &[u8; SDT_HEADER_LEN as usize]) -> SdtHeader {
        SdtHeader {
            signature: arr(b, 0).unwrap_or_default(),
            length: le_u32(b, 4).unwrap_or(0),
            revision: byte(b, 8).unwrap_or(0),
            checksum: byte(b, 9).unwrap_or(0),
            oem_id: arr(b, 10).unwrap_or_default(),
            oem_table_id: arr(b, 16).unwrap_or_default(),
            oem_revision: le_u32(b, 24).unwrap_or(0),
            creator_id: le_u32(b, 28).unwrap_or(0),
            creator_revision: le_u32(b, 32).unwrap_or(0),
        }
    }

    /// Read and decode the header at `paddr` (no checksum check).
    pub fn read(mem: &impl PhysMem, paddr: u64) -> Result<SdtHeader, AcpiError> {
        let raw: [u8; SDT_HEADER_LEN as usize] = read_array(mem, paddr, 0)?;
        Ok(SdtHeader::from_bytes(&raw))
    }
}

/// Read `N` bytes at `paddr + off`.
pub(crate) fn read_array<const N: usize>(
    mem: &impl PhysMem,
    paddr: u64,
    off: u64,
) -> Result<[u8; N], AcpiError> {
    let addr = paddr.checked_add(off).ok_or(AcpiError::Unreadable)?;
    let mut buf = [0u8; N];
    if mem.read(addr, &mut buf) {
        Ok(buf)
    } else {
        Err(AcpiError::Unreadable)
    }
}

/// Fill `buf` from `paddr + off`.
pub(crate) fn read_into(
    mem: &impl PhysMem,
    paddr: u64,
    off: u64,
    buf: &mut [u8],
) -> Result<(), AcpiError> {
    let addr = paddr.checked_add(off).ok_or(AcpiError::Unreadable)?;
    if mem.read(addr, buf) {
        Ok(())
    } else {
        Err(AcpiError::Unreadable)
    }
}

/// Byte at `off`, if in bounds.
pub(crate) fn byte(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

/// `N` bytes starting at `off`, if in bounds.
pub(crate) fn arr<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    b.get(off..off.checked_add(N)?)?.try_into().ok()
}

pub(crate) fn le_u16(b: &[u8], off: usize) -> Option<u16> {
    arr(b, off).map(u16::from_le_bytes)
}

pub(crate) fn le_u32(b: &[u8], off: usize) -> Option<u32> {
    arr(b, off).map(u32::from_le_bytes)
}

pub(crate) fn le_u64(b: &[u8], off: usize) -> Option<u64> {
    arr(b, off).map(u64::from_le_bytes)
}

/// Wrapping byte sum of a slice.
pub(crate) fn sum(b: &[u8]) -> u8 {
    b.iter().fold(0u8, |acc, &x| acc.wrapping_add(x))
}

/// Wrapping byte sum of `len` bytes of physical memory at `paddr`, read in chunks.
pub(crate) fn sum_phys(mem: &impl PhysMem, paddr: u64, len: u32) -> Result<u8, AcpiError> {
    let mut buf = [0u8; 256];
    let mut total = 0u8;
    let mut done: u32 = 0;
    while done < len {
        let n = (len - done).min(buf.len() as u32) as usize;
        let chunk = buf.get_mut(..n).ok_or(AcpiError::Unreadable)?;
        read_into(mem, paddr, u64::from(done), chunk)?;
        total = total.wrapping_add(sum(chunk));
        done += n as u32;
    }
    Ok(total)
}

/// Validate the table at `paddr`: signature (if given; mismatch is
/// `NotFound`), length within `[36, MAX_TABLE_LEN]`, readable, checksum zero.
pub(crate) fn validate_table(
    mem: &impl PhysMem,
    paddr: u64,
    sig: Option<&[u8; 4]>,
) -> Result<SdtHeader, AcpiError> {
    let hdr = SdtHeader::read(mem, paddr)?;
    if let Some(sig) = sig
        && hdr.signature != *sig
    {
        return Err(AcpiError::NotFound);
    }
    if hdr.length < SDT_HEADER_LEN {
        return Err(AcpiError::Truncated);
    }
    if hdr.length > MAX_TABLE_LEN {
        return Err(AcpiError::TooLarge);
    }
    if sum_phys(mem, paddr, hdr.length)? != 0 {
        return Err(AcpiError::BadChecksum);
    }
    Ok(hdr)
}
