//! Compact kernel symbol table.
//!
//! The host build tool (xtask) collects the kernel's function symbols after linking, encodes them
//! with [`encode`] and writes the bytes into the zero-filled `.ksyms` section of the kernel ELF.
//! At run time the kernel wraps that memory in a [`SymbolTable`] and maps return addresses to
//! `name+offset` for backtraces.
//!
//! The decoder never allocates and never panics: every read is bounds-checked, and anything that is
//! not a well-formed table — including the all-zero section of a kernel that was never patched —
//! makes [`SymbolTable::parse`] return `None`.
//!
//! # Format
//!
//! All integers are little-endian. Nothing is aligned; the decoder reads byte by byte.
//!
//! ```text
//! header (HEADER_LEN = 24 bytes)
//!    0  magic      [u8; 8]  b"TINESYM1"
//!    8  count      u32      number of entries
//!   12  strings    u32      offset of the string area from the table start (= 24 + 18 * count)
//!   16  total      u32      bytes used by the table (= strings + length of the string area)
//!   20  reserved   u32      zero
//! entries (ENTRY_LEN = 18 bytes each), start addresses strictly increasing
//!    0  addr       u64      start address
//!    8  size       u32      size in bytes; 0 = unknown (saturated at u32::MAX)
//!   12  name_off   u32      offset of the name within the string area
//!   16  name_len   u16      length of the name in bytes (UTF-8)
//! string area
//!       UTF-8 bytes; identical names are stored once and shared by several entries
//! ```
//!
//! Bytes after `total` (the rest of the reserved section) are ignored.

#![no_std]
#![forbid(unsafe_code)]

#[cfg(any(feature = "alloc", test))]
extern crate alloc;

/// Identifies (and versions) an encoded table.
pub const MAGIC: [u8; 8] = *b"TINESYM1";
/// Size of the table header in bytes.
pub const HEADER_LEN: usize = 24;
/// Size of one entry in bytes.
pub const ENTRY_LEN: usize = 18;
/// Longest name the format can store; longer names are truncated (at a character boundary).
pub const MAX_NAME_LEN: usize = u16::MAX as usize;

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let raw = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes(raw.try_into().ok()?))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let raw = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(raw.try_into().ok()?))
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let raw = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(raw.try_into().ok()?))
}

/// One decoded entry of a [`SymbolTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symbol<'a> {
    /// Start address.
    pub addr: u64,
    /// Size in bytes, 0 if unknown.
    pub size: u64,
    /// Demangled name.
    pub name: &'a str,
}

/// A validated, read-only view of an encoded symbol table.
#[derive(Clone, Copy, Debug)]
pub struct SymbolTable<'a> {
    /// The entry array (exactly `count * ENTRY_LEN` bytes).
    entries: &'a [u8],
    /// The string area.
    strings: &'a [u8],
    count: usize,
}

impl<'a> SymbolTable<'a> {
    /// Validates `bytes` as an encoded table.
    ///
    /// Returns `None` if the bytes do not start with [`MAGIC`] or are malformed in any way: header
    /// fields inconsistent or out of bounds, start addresses not strictly increasing, a name outside
    /// the string area or not UTF-8. Trailing bytes after the table are ignored. Never panics.
    pub fn parse(bytes: &'a [u8]) -> Option<SymbolTable<'a>> {
        if bytes.get(..MAGIC.len())? != MAGIC {
            return None;
        }
        let count = usize::try_from(read_u32(bytes, 8)?).ok()?;
        let strings_off = usize::try_from(read_u32(bytes, 12)?).ok()?;
        let total = usize::try_from(read_u32(bytes, 16)?).ok()?;
        if read_u32(bytes, 20)? != 0 {
            return None;
        }
        let entries_end = count.checked_mul(ENTRY_LEN)?.checked_add(HEADER_LEN)?;
        if strings_off != entries_end || total < strings_off {
            return None;
        }
        let table = SymbolTable {
            entries: bytes.get(HEADER_LEN..entries_end)?,
            strings: bytes.get(strings_off..total)?,
            count,
        };
        let mut prev: Option<u64> = None;
        for index in 0..count {
            let addr = table.addr(index)?;
            if prev.is_some_and(|p| p >= addr) {
                return None;
            }
            prev = Some(addr);
            table.name(index)?;
        }
        Some(table)
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the table holds no symbols.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn entry_base(index: usize) -> Option<usize> {
        index.checked_mul(ENTRY_LEN)
    }

    fn addr(&self, index: usize) -> Option<u64> {
        read_u64(self.entries, Self::entry_base(index)?)
    }

    fn size(&self, index: usize) -> Option<u64> {
        read_u32(self.entries, Self::entry_base(index)?.checked_add(8)?).map(u64::from)
    }

    fn name(&self, index: usize) -> Option<&'a str> {
        let base = Self::entry_base(index)?;
        let off = usize::try_from(read_u32(self.entries, base.checked_add(12)?)?).ok()?;
        let len = usize::from(read_u16(self.entries, base.checked_add(16)?)?);
        let raw = self.strings.get(off..off.checked_add(len)?)?;
        core::str::from_utf8(raw).ok()
    }

    /// The symbol at `index` (in address order), if `index < len()`.
    pub fn get(&self, index: usize) -> Option<Symbol<'a>> {
        if index >= self.count {
            return None;
        }
        Some(Symbol {
            addr: self.addr(index)?,
            size: self.size(index)?,
            name: self.name(index)?,
        })
    }

    /// All symbols in address order.
    pub fn iter(&self) -> impl Iterator<Item = Symbol<'a>> + '_ {
        (0..self.count).filter_map(|index| self.get(index))
    }

    /// The symbol containing `addr`, as `(name, addr - start)`.
    ///
    /// The candidate is the symbol with the greatest start address `<= addr` (binary search). A
    /// symbol with a nonzero size covers `[start, start + size)`. A symbol with size 0 covers
    /// everything up to the next symbol's start; if it is the last symbol, it covers only its own
    /// start address (there is no way to tell where it ends). Overlapping symbols are not merged:
    /// only the candidate is considered.
    pub fn lookup(&self, addr: u64) -> Option<(&'a str, u64)> {
        // Invariant: entries below `lo` start at or before `addr`, entries at or above `hi` after.
        let (mut lo, mut hi) = (0usize, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.addr(mid)? <= addr {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let index = lo.checked_sub(1)?;
        let start = self.addr(index)?;
        let offset = addr.checked_sub(start)?;
        let size = self.size(index)?;
        let covered = if size != 0 {
            offset < size
        } else {
            // The next symbol (if any) starts after `addr` by construction of `index`.
            index + 1 < self.count || offset == 0
        };
        if covered {
            Some((self.name(index)?, offset))
        } else {
            None
        }
    }

    /// The start address of the first symbol (in address order) named exactly `name`.
    /// A linear scan; meant for tests and diagnostics.
    pub fn address_of(&self, name: &str) -> Option<u64> {
        self.iter().find(|sym| sym.name == name).map(|sym| sym.addr)
    }
}

/// Cuts `name` to at most [`MAX_NAME_LEN`] bytes without splitting a character.
#[cfg(any(feature = "alloc", test))]
fn clamp_name(name: &str) -> &str {
    if name.len() <= MAX_NAME_LEN {
        return name;
    }
    let mut end = MAX_NAME_LEN;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// Encodes `symbols`, given as `(start address, size, demangled name)`, into the table format.
///
/// Symbols are sorted by start address. Entries with identical start addresses are merged into
/// one that keeps the largest size and the name of the first such entry in input order. Sizes
/// above `u32::MAX` are saturated, names longer than [`MAX_NAME_LEN`] bytes truncated, and each
/// distinct name is stored once.
///
/// # Panics
///
/// If the encoded table would exceed 4 GiB (the format uses 32-bit offsets).
#[cfg(any(feature = "alloc", test))]
pub fn encode(symbols: &[(u64, u64, &str)]) -> alloc::vec::Vec<u8> {
    use alloc::collections::BTreeMap;
    use alloc::vec::Vec;

    // Stable sort: among equal addresses, input order is kept, so the first one wins the name.
    let mut sorted: Vec<(u64, u64, &str)> = symbols.to_vec();
    sorted.sort_by_key(|&(addr, _, _)| addr);
    let mut merged: Vec<(u64, u64, &str)> = Vec::with_capacity(sorted.len());
    for (addr, size, name) in sorted {
        match merged.last_mut() {
            Some(last) if last.0 == addr => last.1 = last.1.max(size),
            _ => merged.push((addr, size, name)),
        }
    }

    let too_big = "ksym: encoded symbol table exceeds 4 GiB";
    let mut strings: Vec<u8> = Vec::new();
    let mut interned: BTreeMap<&str, u32> = BTreeMap::new();
    let mut entries: Vec<u8> = Vec::with_capacity(merged.len() * ENTRY_LEN);
    for &(addr, size, name) in &merged {
        let name = clamp_name(name);
        let name_off = *interned.entry(name).or_insert_with(|| {
            let off = u32::try_from(strings.len()).expect(too_big);
            strings.extend_from_slice(name.as_bytes());
            off
        });
        let name_len = u16::try_from(name.len()).expect("clamp_name bounds the length");
        let size = u32::try_from(size).unwrap_or(u32::MAX);
        entries.extend_from_slice(&addr.to_le_bytes());
        entries.extend_from_slice(&size.to_le_bytes());
        entries.extend_from_slice(&name_off.to_le_bytes());
        entries.extend_from_slice(&name_len.to_le_bytes());
    }

    let count = u32::try_from(merged.len()).expect(too_big);
    let strings_off = HEADER_LEN + entries.len();
    let total = strings_off.checked_add(strings.len()).expect(too_big);
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&u32::try_from(strings_off).expect(too_big).to_le_bytes());
    out.extend_from_slice(&u32::try_from(total).expect(too_big).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&entries);
    out.extend_from_slice(&strings);
    debug_assert_eq!(out.len(), total);
    out
}

#[cfg(test)]
mod tests;
