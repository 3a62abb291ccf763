//! Validation of the ELF header and program headers into an [`Executable`].
//!
//! Checks follow Linux's `load_elf_binary` where it has an opinion, and are
//! stricter where a malformed image would otherwise confuse the loader
//! (overlapping or unordered `PT_LOAD`s, entry outside code).

use alloc::vec::Vec;

use crate::read::{page_down, page_up, u8_at, u16_at, u32_at, u64_at};
use crate::{
    ElfError, Executable, Kind, MAX_DYN_SPAN, MAX_INTERP_LEN, MAX_PHNUM, PAGE_SIZE, Prot, Segment,
    USER_TOP,
};

/// Size of the ELF64 file header.
const EHDR_SIZE: usize = 64;
/// Size of one ELF64 program header.
const PHDR_SIZE: u16 = 56;

const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const EV_CURRENT: u8 = 1;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const EM_X86_64: u16 = 62;

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_PHDR: u32 = 6;
const PT_TLS: u32 = 7;
const PT_GNU_STACK: u32 = 0x6474_e551;

const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;

/// The fields of the ELF header we use.
struct Header {
    kind: Kind,
    entry: u64,
    phoff: u64,
    phentsize: u16,
    phnum: u16,
}

/// One raw program header.
struct Phdr {
    p_type: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
    align: u64,
}

impl Phdr {
    fn prot(&self) -> Prot {
        Prot {
            read: self.flags & PF_R != 0,
            write: self.flags & PF_W != 0,
            exec: self.flags & PF_X != 0,
        }
    }

    fn segment(&self) -> Segment {
        Segment {
            vaddr: self.vaddr,
            memsz: self.memsz,
            offset: self.offset,
            filesz: self.filesz,
            prot: self.prot(),
            align: self.align,
        }
    }

    /// Checks `filesz <= memsz`, that `vaddr + memsz` rounded up to a page
    /// does not overflow, and (if it has file contents) that the file range
    /// lies inside the file. Returns the end address `vaddr + memsz`.
    fn check_ranges(&self, file_len: u64) -> Result<u64, ElfError> {
        if self.filesz > self.memsz {
            return Err(ElfError::BadSegment);
        }
        let end = self
            .vaddr
            .checked_add(self.memsz)
            .ok_or(ElfError::BadSegment)?;
        page_up(end).ok_or(ElfError::BadSegment)?;
        if self.filesz > 0 {
            let file_end = self
                .offset
                .checked_add(self.filesz)
                .ok_or(ElfError::BadSegment)?;
            if file_end > file_len {
                return Err(ElfError::BadSegment);
            }
        }
        Ok(end)
    }
}

/// Parses and validates an executable image.
pub fn parse(data: &[u8]) -> Result<Executable, ElfError> {
    let file_len = u64::try_from(data.len()).map_err(|_| ElfError::TooBig)?;
    parse_head(data, file_len)
}

/// Parses an executable from its first bytes, `head` (which must hold the ELF header, the
/// program header table and any `PT_INTERP` string), validating segments against the whole
/// file's length `file_len`. A loader that maps the file instead of reading it uses this.
pub fn parse_head(data: &[u8], file_len: u64) -> Result<Executable, ElfError> {
    if (data.len() as u64) > file_len {
        return Err(ElfError::BadPhdrs);
    }
    let hdr = header(data)?;

    // Program header table: fixed entry size, bounded count, inside the file.
    if hdr.phentsize != PHDR_SIZE || hdr.phnum == 0 || hdr.phnum > MAX_PHNUM {
        return Err(ElfError::BadPhdrs);
    }
    let table_len = u64::from(hdr.phnum)
        .checked_mul(u64::from(PHDR_SIZE))
        .ok_or(ElfError::BadPhdrs)?;
    let table_end = hdr.phoff.checked_add(table_len).ok_or(ElfError::BadPhdrs)?;
    if table_end > file_len {
        return Err(ElfError::BadPhdrs);
    }
    let table_start = usize::try_from(hdr.phoff).map_err(|_| ElfError::BadPhdrs)?;

    let mut segments: Vec<Segment> = Vec::new();
    let mut pt_phdr: Option<u64> = None;
    let mut interp: Option<(u64, u64)> = None;
    let mut tls: Option<Segment> = None;
    let mut stack_exec = false;

    let mut at = table_start;
    for _ in 0..hdr.phnum {
        let ph = phdr(data, at)?;
        at = at
            .checked_add(usize::from(PHDR_SIZE))
            .ok_or(ElfError::BadPhdrs)?;
        match ph.p_type {
            PT_LOAD => {
                if let Some(seg) = load_segment(&ph, file_len, hdr.kind)? {
                    check_order(&segments, &seg)?;
                    segments.push(seg);
                }
            }
            PT_INTERP => {
                if interp.is_some() {
                    return Err(ElfError::BadInterp);
                }
                interp = Some(interp_range(data, &ph)?);
            }
            PT_PHDR => {
                if pt_phdr.is_some() {
                    return Err(ElfError::BadPhdrs);
                }
                pt_phdr = Some(ph.vaddr);
            }
            PT_TLS => {
                if tls.is_some() {
                    return Err(ElfError::BadSegment);
                }
                ph.check_ranges(file_len)?;
                if ph.align != 0 && !ph.align.is_power_of_two() {
                    return Err(ElfError::BadSegment);
                }
                tls = Some(ph.segment());
            }
            // Like Linux, the last PT_GNU_STACK wins.
            PT_GNU_STACK => stack_exec = ph.flags & PF_X != 0,
            _ => {}
        }
    }

    let (first, last) = match (segments.first(), segments.last()) {
        (Some(f), Some(l)) => (f, l),
        _ => return Err(ElfError::NoLoadSegments),
    };
    // Segments are sorted and disjoint, so the last one ends highest.
    let min_vaddr = page_down(first.vaddr);
    let max_vaddr = page_up(end(last)?).ok_or(ElfError::BadSegment)?;
    match hdr.kind {
        Kind::Exec if max_vaddr > USER_TOP => return Err(ElfError::TooBig),
        Kind::Dyn
            if max_vaddr
                .checked_sub(min_vaddr)
                .is_none_or(|s| s > MAX_DYN_SPAN) =>
        {
            return Err(ElfError::TooBig);
        }
        _ => {}
    }

    let entry_ok = segments.iter().any(|s| {
        s.prot.exec
            && s.vaddr <= hdr.entry
            && hdr.entry.checked_sub(s.vaddr).is_some_and(|d| d < s.memsz)
    });
    if !entry_ok {
        return Err(ElfError::BadEntry);
    }

    let phdr_vaddr = pt_phdr.or_else(|| loaded_phdr_vaddr(&segments, hdr.phoff, table_len));

    Ok(Executable {
        kind: hdr.kind,
        entry: hdr.entry,
        phoff: hdr.phoff,
        phentsize: hdr.phentsize,
        phnum: hdr.phnum,
        phdr_vaddr,
        interp,
        tls,
        stack_exec,
        min_vaddr,
        max_vaddr,
        segments,
    })
}

/// Validates the identification bytes and reads the header fields.
fn header(data: &[u8]) -> Result<Header, ElfError> {
    if data.len() < EHDR_SIZE {
        return Err(ElfError::TooShort);
    }
    if data.get(0..4) != Some(b"\x7fELF".as_slice()) {
        return Err(ElfError::BadMagic);
    }
    let short = ElfError::TooShort;
    if u8_at(data, 4).ok_or(short)? != ELFCLASS64 {
        return Err(ElfError::NotElf64);
    }
    if u8_at(data, 5).ok_or(short)? != ELFDATA2LSB {
        return Err(ElfError::NotLittleEndian);
    }
    if u8_at(data, 6).ok_or(short)? != EV_CURRENT {
        return Err(ElfError::BadVersion);
    }
    let kind = match u16_at(data, 0x10).ok_or(short)? {
        ET_EXEC => Kind::Exec,
        ET_DYN => Kind::Dyn,
        _ => return Err(ElfError::NotExecutable),
    };
    if u16_at(data, 0x12).ok_or(short)? != EM_X86_64 {
        return Err(ElfError::WrongMachine);
    }
    Ok(Header {
        kind,
        entry: u64_at(data, 0x18).ok_or(short)?,
        phoff: u64_at(data, 0x20).ok_or(short)?,
        phentsize: u16_at(data, 0x36).ok_or(short)?,
        phnum: u16_at(data, 0x38).ok_or(short)?,
    })
}

/// Reads the program header at byte offset `at`.
fn phdr(data: &[u8], at: usize) -> Result<Phdr, ElfError> {
    let field = |off: usize| at.checked_add(off).ok_or(ElfError::BadPhdrs);
    let bad = ElfError::BadPhdrs;
    Ok(Phdr {
        p_type: u32_at(data, field(0)?).ok_or(bad)?,
        flags: u32_at(data, field(4)?).ok_or(bad)?,
        offset: u64_at(data, field(8)?).ok_or(bad)?,
        vaddr: u64_at(data, field(16)?).ok_or(bad)?,
        filesz: u64_at(data, field(32)?).ok_or(bad)?,
        memsz: u64_at(data, field(40)?).ok_or(bad)?,
        align: u64_at(data, field(48)?).ok_or(bad)?,
    })
}

/// Validates a `PT_LOAD`; `Ok(None)` for an empty (`memsz == 0`) one.
fn load_segment(ph: &Phdr, file_len: u64, kind: Kind) -> Result<Option<Segment>, ElfError> {
    let end = ph.check_ranges(file_len)?;
    if ph.memsz == 0 {
        return Ok(None);
    }
    // The offset only matters when file contents are mapped; a pure-bss
    // segment's p_offset is ignored (as Linux does).
    if ph.filesz > 0 && ph.vaddr % PAGE_SIZE != ph.offset % PAGE_SIZE {
        return Err(ElfError::BadSegment);
    }
    if kind == Kind::Exec && end > USER_TOP {
        return Err(ElfError::TooBig);
    }
    Ok(Some(ph.segment()))
}

/// Requires `next` to start at or after the end of the previous segment
/// (sharing a page is fine; sharing bytes is not). `prev` is sorted and
/// disjoint, so only its last element matters unless `next` is out of
/// order, in which case the error says whether it also intersects one.
fn check_order(prev: &[Segment], next: &Segment) -> Result<(), ElfError> {
    let Some(last) = prev.last() else {
        return Ok(());
    };
    if next.vaddr >= end(last)? {
        return Ok(());
    }
    let next_end = end(next)?;
    for seg in prev {
        if next.vaddr < end(seg)? && seg.vaddr < next_end {
            return Err(ElfError::Overlap);
        }
    }
    // Disjoint but out of order.
    Err(ElfError::BadSegment)
}

/// `vaddr + memsz` of a segment.
fn end(seg: &Segment) -> Result<u64, ElfError> {
    seg.vaddr.checked_add(seg.memsz).ok_or(ElfError::BadSegment)
}

/// Validates `PT_INTERP` and returns the path's file offset and length.
///
/// Like Linux, the segment (including its NUL) is 2..=4096 bytes and ends in
/// NUL; the path is the C string at its start and must not be empty.
fn interp_range(data: &[u8], ph: &Phdr) -> Result<(u64, u64), ElfError> {
    let bad = ElfError::BadInterp;
    if ph.filesz < 2 || ph.filesz > MAX_INTERP_LEN {
        return Err(bad);
    }
    let start = usize::try_from(ph.offset).map_err(|_| bad)?;
    let len = usize::try_from(ph.filesz).map_err(|_| bad)?;
    let end = start.checked_add(len).ok_or(bad)?;
    let bytes = data.get(start..end).ok_or(bad)?;
    if bytes.last() != Some(&0) {
        return Err(bad);
    }
    let path_len = bytes.iter().position(|&b| b == 0).ok_or(bad)?;
    if path_len == 0 {
        return Err(bad);
    }
    let path_len = u64::try_from(path_len).map_err(|_| bad)?;
    Ok((ph.offset, path_len))
}

/// Address of the program header table when a `PT_LOAD`'s file range holds
/// all of it.
fn loaded_phdr_vaddr(segments: &[Segment], phoff: u64, table_len: u64) -> Option<u64> {
    let table_end = phoff.checked_add(table_len)?;
    segments.iter().find_map(|s| {
        let seg_end = s.offset.checked_add(s.filesz)?;
        if s.offset <= phoff && table_end <= seg_end {
            s.vaddr.checked_add(phoff.checked_sub(s.offset)?)
        } else {
            None
        }
    })
}
