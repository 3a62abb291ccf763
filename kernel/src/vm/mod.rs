//! User address spaces (first version): a page table plus a sorted set of regions; anonymous
//! memory is allocated on first touch (demand-zero), and `fork` copies every present page
//! eagerly. The virtual-memory issue replaces the copy with memory objects and copy-on-write
//! shadow chains; the interface here (map, unmap, protect, fault, fork, brk) stays.
//!
//! Frame ownership: every frame mapped in `pt` is in `pages` and owned by this address space;
//! dropping the address space frees them.

use alloc::collections::BTreeMap;

use abi::errno::Errno;
use hal::mem::frames::Frame;
use hal::mem::paging::{MapError, PageFlags, PageTable};
use hal::mem::{PAGE_SIZE, USER_END};

pub const PAGE: u64 = PAGE_SIZE;
/// Lowest address a mapping may use (Linux's default vm.mmap_min_addr is 64 KiB).
pub const MMAP_MIN_ADDR: u64 = 0x1_0000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prot {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Prot {
    pub const RW: Prot = Prot {
        read: true,
        write: true,
        exec: false,
    };
    pub const NONE: Prot = Prot {
        read: false,
        write: false,
        exec: false,
    };

    /// From mmap/mprotect PROT_* bits.
    pub fn from_bits(bits: u64) -> Prot {
        Prot {
            read: bits & 1 != 0,
            write: bits & 2 != 0,
            exec: bits & 4 != 0,
        }
    }

    fn flags(self) -> PageFlags {
        PageFlags {
            write: self.write,
            exec: self.exec,
            ..PageFlags::default()
        }
    }

    fn accessible(self) -> bool {
        self.read || self.write || self.exec
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Anonymous private memory (also ELF segments after loading, the stack and the heap).
    Anon,
    Stack,
    Heap,
}

/// `kind` and `name` are what /proc/<pid>/maps will show (virtual-memory issue).
#[derive(Clone, Debug)]
#[allow(dead_code)]
pub struct Region {
    pub end: u64,
    pub prot: Prot,
    pub kind: Kind,
    /// For /proc/<pid>/maps: the file the region was loaded from, if any.
    pub name: Option<alloc::string::String>,
}

pub struct AddressSpace {
    pt: PageTable,
    /// start → region; non-overlapping, page aligned.
    regions: BTreeMap<u64, Region>,
    /// page address → frame.
    pages: BTreeMap<u64, Frame>,
    pub brk_start: u64,
    pub brk: u64,
    pub mmap_base: u64,
    pub stack_top: u64,
}

fn map_err(e: MapError) -> Errno {
    match e {
        MapError::NoMemory => Errno::ENOMEM,
        _ => Errno::EINVAL,
    }
}

pub fn page_down(a: u64) -> u64 {
    a & !(PAGE - 1)
}

pub fn page_up(a: u64) -> Option<u64> {
    a.checked_add(PAGE - 1).map(|x| x & !(PAGE - 1))
}

impl AddressSpace {
    pub fn new() -> Result<AddressSpace, Errno> {
        Ok(AddressSpace {
            pt: PageTable::new_user().map_err(map_err)?,
            regions: BTreeMap::new(),
            pages: BTreeMap::new(),
            brk_start: 0,
            brk: 0,
            mmap_base: 0,
            stack_top: 0,
        })
    }

    pub fn activate(&self) {
        self.pt.activate();
    }

    pub fn regions(&self) -> impl Iterator<Item = (&u64, &Region)> {
        self.regions.iter()
    }

    /// Bytes of memory actually present (for rusage/proc).
    pub fn resident_pages(&self) -> usize {
        self.pages.len()
    }

    /// The region containing `addr`.
    pub fn region_at(&self, addr: u64) -> Option<(u64, &Region)> {
        let (&start, r) = self.regions.range(..=addr).next_back()?;
        (addr < r.end).then_some((start, r))
    }

    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.regions
            .range(..end)
            .next_back()
            .is_some_and(|(_, r)| r.end > start)
    }

    /// Add a region [start, end) with no pages yet. Fails with EEXIST if it overlaps.
    pub fn add_region(
        &mut self,
        start: u64,
        end: u64,
        prot: Prot,
        kind: Kind,
        name: Option<alloc::string::String>,
    ) -> Result<(), Errno> {
        if !start.is_multiple_of(PAGE)
            || !end.is_multiple_of(PAGE)
            || start >= end
            || end > USER_END
            || start < MMAP_MIN_ADDR
        {
            return Err(Errno::EINVAL);
        }
        if self.overlaps(start, end) {
            return Err(Errno::EEXIST);
        }
        self.regions.insert(
            start,
            Region {
                end,
                prot,
                kind,
                name,
            },
        );
        Ok(())
    }

    /// Remove every mapping in [start, end), splitting regions at the edges.
    pub fn unmap(&mut self, start: u64, end: u64) -> Result<(), Errno> {
        if !start.is_multiple_of(PAGE) || start >= end || end > USER_END {
            return Err(Errno::EINVAL);
        }
        self.split_at(start);
        self.split_at(end);
        let inside: alloc::vec::Vec<u64> =
            self.regions.range(start..end).map(|(&s, _)| s).collect();
        for s in inside {
            self.regions.remove(&s);
        }
        let pages: alloc::vec::Vec<u64> = self.pages.range(start..end).map(|(&va, _)| va).collect();
        for va in pages {
            self.drop_page(va);
        }
        Ok(())
    }

    /// Make `addr` a region boundary if it falls inside one.
    fn split_at(&mut self, addr: u64) {
        let Some((start, r)) = self.region_at(addr) else {
            return;
        };
        if start == addr {
            return;
        }
        let tail = r.clone();
        if let Some(head) = self.regions.get_mut(&start) {
            head.end = addr;
        }
        self.regions.insert(addr, tail);
    }

    fn drop_page(&mut self, va: u64) {
        if self.pages.remove(&va).is_some() {
            let _ = self.pt.unmap_user(va);
        }
    }

    /// Change the rights of [start, end); every page in it must be mapped by some region.
    pub fn protect(&mut self, start: u64, end: u64, prot: Prot) -> Result<(), Errno> {
        if !start.is_multiple_of(PAGE) || start > end || end > USER_END {
            return Err(Errno::EINVAL);
        }
        let mut at = start;
        while at < end {
            let Some((_, r)) = self.region_at(at) else {
                return Err(Errno::ENOMEM);
            };
            at = r.end;
        }
        self.split_at(start);
        self.split_at(end);
        let starts: alloc::vec::Vec<u64> =
            self.regions.range(start..end).map(|(&s, _)| s).collect();
        for s in starts {
            if let Some(r) = self.regions.get_mut(&s) {
                r.prot = prot;
            }
        }
        let pages: alloc::vec::Vec<u64> = self.pages.range(start..end).map(|(&va, _)| va).collect();
        for va in pages {
            if prot.accessible() {
                // A page hidden by PROT_NONE is mapped again at the next fault.
                let _ = self.pt.protect_user(va, prot.flags());
            } else {
                // Keep the frame (its contents survive a later PROT_READ) but unmap it.
                let _ = self.pt.unmap_user(va);
            }
        }
        Ok(())
    }

    /// Map a fresh zeroed page at `va` (inside a region) and return its frame.
    fn populate(&mut self, va: u64, prot: Prot) -> Result<&Frame, Errno> {
        if !self.pages.contains_key(&va) {
            let frame = Frame::alloc_zeroed().ok_or(Errno::ENOMEM)?;
            if prot.accessible() {
                self.pt
                    .map_user(va, &frame, prot.flags())
                    .map_err(map_err)?;
            }
            self.pages.insert(va, frame);
        }
        self.pages.get(&va).ok_or(Errno::ENOMEM)
    }

    /// Resolve a user page fault at `addr`. `write`/`exec` say what was attempted.
    /// Returns false if the access is not allowed (the caller delivers SIGSEGV).
    pub fn handle_fault(&mut self, addr: u64, write: bool, exec: bool) -> bool {
        let Some((_, r)) = self.region_at(addr) else {
            return false;
        };
        let prot = r.prot;
        if (write && !prot.write) || (exec && !prot.exec) || !prot.accessible() {
            return false;
        }
        let va = page_down(addr);
        if let Some(frame) = self.pages.get(&va) {
            // Present in our books but not in the table (after PROT_NONE → readable again).
            return self.pt.map_user(va, frame, prot.flags()).is_ok()
                || self.pt.protect_user(va, prot.flags()).is_ok();
        }
        self.populate(va, prot).is_ok()
    }

    /// Write `data` at `va` in this (not necessarily active) address space, allocating pages.
    pub fn write_bytes(&mut self, va: u64, data: &[u8]) -> Result<(), Errno> {
        let mut done = 0usize;
        while done < data.len() {
            let at = va + done as u64;
            let page = page_down(at);
            let (_, r) = self.region_at(at).ok_or(Errno::EFAULT)?;
            let prot = r.prot;
            let frame = self.populate(page, prot)?;
            let off = (at - page) as usize;
            let n = (PAGE as usize - off).min(data.len() - done);
            frame.write(off, &data[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// A copy of this address space for `fork`: same regions, every present page copied.
    pub fn fork(&self) -> Result<AddressSpace, Errno> {
        let mut child = AddressSpace::new()?;
        child.regions = self.regions.clone();
        child.brk_start = self.brk_start;
        child.brk = self.brk;
        child.mmap_base = self.mmap_base;
        child.stack_top = self.stack_top;
        for (&va, frame) in &self.pages {
            let prot = self.region_at(va).map_or(Prot::NONE, |(_, r)| r.prot);
            child.populate(va, prot)?.copy_from(frame);
        }
        Ok(child)
    }

    /// Find a free range of `len` bytes for mmap, searching down from `mmap_base`.
    pub fn find_free(&self, len: u64) -> Option<u64> {
        let mut top = self.mmap_base;
        loop {
            let start = top.checked_sub(len)?;
            if start < MMAP_MIN_ADDR {
                return None;
            }
            match self.regions.range(..top).next_back() {
                Some((&s, r)) if r.end > start => top = s,
                _ => return Some(start),
            }
        }
    }

    /// Read bytes from this address space (used for /proc and core dumps; normal syscalls
    /// use user copies on the active space).
    #[cfg_attr(not(feature = "ktest"), allow(dead_code))] // /proc/<pid>/mem and core dumps later
    pub fn read_bytes(&self, va: u64, out: &mut [u8]) -> bool {
        let mut done = 0;
        while done < out.len() {
            let at = va + done as u64;
            let Some(frame) = self.pages.get(&page_down(at)) else {
                return false;
            };
            let off = (at % PAGE) as usize;
            let n = (PAGE as usize - off).min(out.len() - done);
            frame.read(off, &mut out[done..done + n]);
            done += n;
        }
        true
    }
}

impl Drop for AddressSpace {
    fn drop(&mut self) {
        // Unmap before the frames are freed (dropping `pages`), then the tables go with `pt`.
        for &va in self.pages.keys() {
            let _ = self.pt.unmap_user(va);
        }
    }
}
