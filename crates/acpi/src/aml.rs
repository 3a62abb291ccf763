//! A minimal, bounded AML byte scan for the DSDT's `_S5_` object: finds
//! `NameOp "_S5_" PackageOp ...` and decodes the first two package elements
//! (SLP_TYPa, SLP_TYPb). This is not an AML interpreter.

use crate::PhysMem;
use crate::sdt::{SDT_HEADER_LEN, read_array, read_into, validate_table};

const NAME_OP: u8 = 0x08;
const ROOT_CHAR: u8 = b'\\';
const PACKAGE_OP: u8 = 0x12;
const BYTE_PREFIX: u8 = 0x0A;
const WORD_PREFIX: u8 = 0x0B;
const DWORD_PREFIX: u8 = 0x0C;
const QWORD_PREFIX: u8 = 0x0E;

/// Size of the scan window; consecutive windows overlap by 3 bytes so a name
/// straddling a boundary is still seen.
const CHUNK: usize = 512;
/// Bytes after the name that the package decoder may look at.
const TAIL: usize = 64;

/// Scan the DSDT at `dsdt` for `_S5_` and return (SLP_TYPa, SLP_TYPb).
pub(crate) fn find_s5(mem: &impl PhysMem, dsdt: u64) -> Option<(u8, u8)> {
    if dsdt == 0 {
        return None;
    }
    let len = u64::from(validate_table(mem, dsdt, Some(b"DSDT")).ok()?.length);
    let mut buf = [0u8; CHUNK];
    let mut pos = u64::from(SDT_HEADER_LEN);
    while pos + 4 <= len {
        let n = usize::try_from((len - pos).min(CHUNK as u64)).ok()?;
        let win = buf.get_mut(..n)?;
        read_into(mem, dsdt, pos, win).ok()?;
        for (i, w) in win.windows(4).enumerate() {
            if w == b"_S5_"
                && let Some(r) = try_s5_at(mem, dsdt, len, pos + i as u64)
            {
                return Some(r);
            }
        }
        if pos + n as u64 >= len {
            break;
        }
        pos += (n - 3) as u64;
    }
    None
}

/// Check whether the `_S5_` at table offset `at` is a named package and decode it.
fn try_s5_at(mem: &impl PhysMem, dsdt: u64, len: u64, at: u64) -> Option<(u8, u8)> {
    let body = u64::from(SDT_HEADER_LEN);
    let prev = |back: u64| -> Option<u8> {
        let off = at.checked_sub(back).filter(|&o| o >= body)?;
        read_array::<1>(mem, dsdt, off).ok().map(|[b]| b)
    };
    let named = match prev(1)? {
        NAME_OP => true,
        ROOT_CHAR => prev(2) == Some(NAME_OP),
        _ => false,
    };
    if !named {
        return None;
    }
    let start = at + 4;
    let avail = usize::try_from(len.checked_sub(start)?.min(TAIL as u64)).ok()?;
    let mut tail = [0u8; TAIL];
    let t = tail.get_mut(..avail)?;
    read_into(mem, dsdt, start, t).ok()?;
    parse_package(t)
}

/// Byte cursor that never reads past its slice.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> Option<u8> {
        let v = self.b.get(self.pos).copied()?;
        self.pos += 1;
        Some(v)
    }

    fn le(&mut self, n: usize) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..n {
            v |= u64::from(self.byte()?) << (8 * i);
        }
        Some(v)
    }

    /// An integer package element: Byte/Word/DWord/QWord prefix, or a raw
    /// byte (which covers ZeroOp 0x00 and OneOp 0x01).
    fn element(&mut self) -> Option<u64> {
        match self.byte()? {
            BYTE_PREFIX => self.le(1),
            WORD_PREFIX => self.le(2),
            DWORD_PREFIX => self.le(4),
            QWORD_PREFIX => self.le(8),
            raw => Some(u64::from(raw)),
        }
    }
}

/// Decode `PackageOp PkgLength NumElements elements...` from `b`.
fn parse_package(b: &[u8]) -> Option<(u8, u8)> {
    let mut c = Cursor { b, pos: 0 };
    if c.byte()? != PACKAGE_OP {
        return None;
    }
    let pkg_start = c.pos;
    let lead = c.byte()?;
    let follow = lead >> 6;
    let pkg_len = if follow == 0 {
        usize::from(lead & 0x3f)
    } else {
        let mut v = usize::from(lead & 0x0f);
        for i in 0..usize::from(follow) {
            v |= usize::from(c.byte()?) << (4 + 8 * i);
        }
        v
    };
    let pkg_end = pkg_start.checked_add(pkg_len)?;
    let count = c.byte()?;
    let (a, b) = match count {
        0 => return None,
        // One integer: SLP_TYPa in bits 0-7, SLP_TYPb in bits 8-15.
        1 => {
            let v = c.element()?;
            (v & 0xff, (v >> 8) & 0xff)
        }
        _ => (c.element()?, c.element()?),
    };
    if c.pos > pkg_end {
        return None;
    }
    // SLP_TYP is a 3-bit field; truncation to a byte matches common practice.
    Some((a as u8, b as u8))
}
