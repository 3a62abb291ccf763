//! Turning a validated [`Executable`] into a placement and page mapping plan.
//!
//! [`Executable::load_bias`] picks the bias for a position-independent image
//! and [`Executable::map_steps`] lists the page ranges the kernel maps, with
//! where their contents come from and which bytes must be zeroed.

use alloc::vec::Vec;

use crate::read::{page_down, page_up};
use crate::{Executable, Kind, PAGE_SIZE, Prot, USER_TOP};

/// One page-aligned range of user memory to set up.
///
/// Steps are listed segment by segment in file order and should be applied
/// in that order. Like Linux, adjacent segments may share one boundary page,
/// so consecutive steps can cover the same page; a later step replaces the
/// earlier contents of that page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapStep {
    /// First byte (page aligned, biased).
    pub start: u64,
    /// One past the last byte (page aligned, biased, `> start`).
    pub end: u64,
    /// `Some(off)`: fill `[start, end)` from the file starting at the
    /// page-aligned offset `off`; bytes past the end of the file read as
    /// zero. `None`: anonymous zero-filled memory.
    pub file_offset: Option<u64>,
    pub prot: Prot,
    /// For the last file-backed page of a segment with bss: after filling,
    /// the bytes `[zero_from, end)` must be zeroed (bss start to page end).
    pub zero_from: Option<u64>,
}

impl Executable {
    /// Largest power-of-two `PT_LOAD` alignment, at least [`PAGE_SIZE`].
    /// Alignments that are not powers of two are ignored, as on Linux.
    pub fn max_align(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| s.align)
            .filter(|a| a.is_power_of_two())
            .fold(PAGE_SIZE, u64::max)
    }

    /// Load bias for placing the image.
    ///
    /// `0` for [`Kind::Exec`]. For [`Kind::Dyn`], `preferred_base` aligned
    /// down to [`Executable::max_align`] minus `min_vaddr` (wrapping: the
    /// bias is added to unbiased addresses modulo 2^64). Returns `None` if
    /// the image would not fit below [`USER_TOP`] or would start at
    /// address 0.
    pub fn load_bias(&self, preferred_base: u64) -> Option<u64> {
        match self.kind {
            Kind::Exec => Some(0),
            Kind::Dyn => {
                let mask = self.max_align().saturating_sub(1);
                let base = preferred_base & !mask;
                if base == 0 {
                    return None;
                }
                let span = self.max_vaddr.checked_sub(self.min_vaddr)?;
                let end = base.checked_add(span)?;
                if end > USER_TOP {
                    return None;
                }
                Some(base.wrapping_sub(self.min_vaddr))
            }
        }
    }

    /// Mapping plan for the image at `bias`, or `None` if `bias` is not page
    /// aligned or would put any part of the image outside `[0, USER_TOP)`.
    ///
    /// For each segment: a file-backed step
    /// `[page_down(vaddr), page_up(vaddr + filesz))` reading from
    /// `page_down(offset)` (if `filesz > 0`), then an anonymous step up to
    /// `page_up(vaddr + memsz)` if that is further. When `memsz > filesz`
    /// and the file part ends inside a page, the file step's `zero_from`
    /// marks where the bss begins in that page.
    pub fn try_map_steps(&self, bias: u64) -> Option<Vec<MapStep>> {
        if !bias.is_multiple_of(PAGE_SIZE) {
            return None;
        }
        let base = self.min_vaddr.wrapping_add(bias);
        let span = self.max_vaddr.checked_sub(self.min_vaddr)?;
        if base.checked_add(span)? > USER_TOP {
            return None;
        }
        // Every address in the image maps to base + (addr - min_vaddr),
        // which the check above keeps below USER_TOP.
        let reloc = |addr: u64| base.checked_add(addr.checked_sub(self.min_vaddr)?);

        let mut steps = Vec::new();
        for seg in &self.segments {
            let start = reloc(seg.vaddr)?;
            let file_end = start.checked_add(seg.filesz)?;
            let mem_end = start.checked_add(seg.memsz)?;
            let page_start = page_down(start);
            let anon_start = if seg.filesz > 0 {
                let end = page_up(file_end)?;
                let zero_from = (seg.memsz > seg.filesz && file_end < end).then_some(file_end);
                steps.push(MapStep {
                    start: page_start,
                    end,
                    file_offset: Some(page_down(seg.offset)),
                    prot: seg.prot,
                    zero_from,
                });
                end
            } else {
                page_start
            };
            let anon_end = page_up(mem_end)?;
            if anon_start < anon_end {
                steps.push(MapStep {
                    start: anon_start,
                    end: anon_end,
                    file_offset: None,
                    prot: seg.prot,
                    zero_from: None,
                });
            }
        }
        Some(steps)
    }

    /// [`Executable::try_map_steps`], with an invalid `bias` giving an empty
    /// plan. Use a bias from [`Executable::load_bias`].
    pub fn map_steps(&self, bias: u64) -> Vec<MapStep> {
        self.try_map_steps(bias).unwrap_or_default()
    }

    /// The `PT_INTERP` path (without its NUL) from the same file bytes that
    /// were parsed.
    pub fn interp_path<'a>(&self, data: &'a [u8]) -> Option<&'a [u8]> {
        let (off, len) = self.interp?;
        let start = usize::try_from(off).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        data.get(start..end)
    }
}
