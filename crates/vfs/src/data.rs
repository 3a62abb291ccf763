//! Where a regular file's bytes live. The tree keeps sizes and metadata; a [`FileData`] keeps
//! the pages. On the host (and by default) that is [`MemData`], pages on the heap; the kernel
//! plugs in pages of a VM file object, so that `mmap(MAP_SHARED)` of the file maps the very
//! pages `read` and `write` use.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::PAGE_SIZE;

pub trait FileData: Send {
    /// Copy bytes at `off` into `out`; pages never written read as zeros. The caller keeps
    /// `off + out.len()` within the file's size.
    fn read(&self, off: u64, out: &mut [u8]);
    /// Store `src` at `off`, allocating at most `budget` new pages; returns the bytes stored
    /// (fewer when the budget or memory ran out).
    fn write(&mut self, off: u64, src: &[u8], budget: usize) -> usize;
    /// Forget everything from `len` on: whole pages past it are freed (or zeroed, when they
    /// cannot be freed yet), the tail of a partial last page is zeroed.
    fn truncate(&mut self, len: u64);
    /// Pages held.
    fn pages(&self) -> usize;
    /// The kernel's VM object holding the pages, if the storage has one.
    fn object(&self) -> Option<u64> {
        None
    }
}

/// Pages on the heap, by page index; sparse.
#[derive(Default)]
pub struct MemData {
    pages: BTreeMap<u64, Box<[u8]>>,
}

impl MemData {
    pub fn boxed() -> Option<Box<dyn FileData>> {
        Some(Box::new(MemData::default()))
    }
}

/// Split `[off, off + len)` into per-page pieces: (page index, offset in page, length).
pub fn pieces(off: u64, len: usize) -> impl Iterator<Item = (u64, usize, usize)> {
    let mut done = 0usize;
    core::iter::from_fn(move || {
        if done >= len {
            return None;
        }
        let pos = off + done as u64;
        let (pg, in_pg) = (pos / PAGE_SIZE as u64, (pos % PAGE_SIZE as u64) as usize);
        let k = (PAGE_SIZE - in_pg).min(len - done);
        done += k;
        Some((pg, in_pg, k))
    })
}

impl FileData for MemData {
    fn read(&self, off: u64, out: &mut [u8]) {
        let mut at = 0;
        for (pg, in_pg, k) in pieces(off, out.len()) {
            match self.pages.get(&pg) {
                Some(p) => out[at..at + k].copy_from_slice(&p[in_pg..in_pg + k]),
                None => out[at..at + k].fill(0),
            }
            at += k;
        }
    }

    fn write(&mut self, off: u64, src: &[u8], budget: usize) -> usize {
        let mut added = 0;
        let mut at = 0;
        for (pg, in_pg, k) in pieces(off, src.len()) {
            if let alloc::collections::btree_map::Entry::Vacant(slot) = self.pages.entry(pg) {
                let mut v = Vec::new();
                if added >= budget || v.try_reserve_exact(PAGE_SIZE).is_err() {
                    break;
                }
                v.resize(PAGE_SIZE, 0);
                slot.insert(v.into_boxed_slice());
                added += 1;
            }
            if let Some(p) = self.pages.get_mut(&pg) {
                p[in_pg..in_pg + k].copy_from_slice(&src[at..at + k]);
            }
            at += k;
        }
        at
    }

    fn truncate(&mut self, len: u64) {
        let keep = len.div_ceil(PAGE_SIZE as u64);
        self.pages.retain(|&pg, _| pg < keep);
        let tail = (len % PAGE_SIZE as u64) as usize;
        if tail != 0
            && let Some(p) = self.pages.get_mut(&(len / PAGE_SIZE as u64))
        {
            p[tail..].fill(0);
        }
    }

    fn pages(&self) -> usize {
        self.pages.len()
    }
}
