//! User address spaces: a page table per process over the memory-object model of `crates/vmobj`
//! (areas → anonymous objects → copy-on-write shadow chains, collapsed as processes exit).
//! One model instance (`OBJECTS`) holds every space, because after `fork` parent and child share
//! objects. A page fault asks the model which frame a page resolves to and whether it may be
//! mapped writable; the model copies on write when another space can still see the page.
//!
//! fork: the model gives parent and child a shadow each over the parent's objects and names the
//! parent's private writable areas that hold pages; those ranges are write-protected in the
//! parent's table, and the child starts with an empty table that fills on demand.
//!
//! Why fork's cost does not grow with resident memory — the choice, against the alternatives
//! the issue names:
//! * Copying page tables (Linux) costs one entry per resident page, 262,144 for 1 GiB.
//! * Sharing page-table subtrees between parent and child (On-Demand-Fork) makes fork cost
//!   one entry per 2 MiB, but needs reference-counted, copy-on-write page tables.
//! * Tine does not give the child the parent's tables at all: the model already knows every
//!   page, so the child's table fills on demand from the shadow chain (a child that execs or
//!   exits, the common case, touches a handful of pages). What remains is write-protecting the
//!   parent, and x86 grants a write only if every level of the walk allows it: clearing W on
//!   one page-directory entry protects 512 pages. So fork clears W on one entry per 2 MiB (per
//!   1 GiB where a range covers a whole directory), and the first write fault under such an
//!   entry pushes the protection down to its 512 leaves (`PageTable::unprotect_path`) — the
//!   per-page work Linux does at fork, done lazily and only where the parent writes again.
//! * Large pages would cut the entries further but make copy-on-write copy 2 MiB at a time.
//!
//! So fork costs O(areas + resident / 2 MiB) entry writes and no page contents.
//!
//! Frame ownership: every frame belongs to exactly one object in the model; page tables only
//! point at frames, and every live entry that could outlive its frame is cleared first (unmap,
//! protect and fork return the pages to touch). A whole space goes only when its table is no
//! longer active on any CPU, and the table is freed right after its objects.
//!
//! Lock order: a process's `vm` lock, then `OBJECTS`, then the frame allocator.

use abi::errno::Errno;
use hal::mem::frames::Frame;
use hal::mem::paging::{MapError, PageFlags, PageTable};
use hal::mem::{PAGE_SIZE, USER_END};
use hal::sync::SpinLock;
use vmobj::{Fault, SpaceId, Vm};

pub use vmobj::Prot;

pub const PAGE: u64 = PAGE_SIZE;
/// Linux's stack_guard_gap: a growing area stops this far above an accessible area below.
const STACK_GUARD_GAP: u64 = 256 * PAGE;

/// Lowest address a mapping may use (Linux's default vm.mmap_min_addr is 64 KiB).
pub const MMAP_MIN_ADDR: u64 = 0x1_0000;

/// Every address space's areas and memory objects.
static OBJECTS: SpinLock<Option<Vm<Frame>>> = SpinLock::new(None);

fn with_vm<R>(f: impl FnOnce(&mut Vm<Frame>) -> R) -> R {
    let mut g = OBJECTS.lock();
    f(g.get_or_insert_with(Vm::new))
}

/// Frames for the model: zeroed pages and copies.
struct Frames;

/// Frames user memory may not take: the kernel's heap and page tables live on them, so when
/// user memory runs out the kernel can still allocate while it picks a victim and cleans up.
const KERNEL_RESERVE_FRAMES: u64 = 2048;

/// Room fork leaves for the processes that already exist: below `KERNEL_RESERVE_FRAMES` plus
/// this, a new process or thread is refused (ENOMEM) rather than created only to fault on
/// its first page. Without it a fork bomb filled memory with kernel stacks until every
/// process was stuck in the out-of-memory killer.
const FORK_HEADROOM_FRAMES: u64 = 512;

/// Whether memory is too short to create a process or thread (fork and clone say ENOMEM).
pub fn too_short_to_fork() -> bool {
    hal::mem::frames::stats().free <= KERNEL_RESERVE_FRAMES + FORK_HEADROOM_FRAMES
}

fn user_frame() -> Option<Frame> {
    if hal::mem::frames::stats().free <= KERNEL_RESERVE_FRAMES {
        return None;
    }
    Frame::alloc_zeroed()
}

impl vmobj::Pages for Frames {
    type P = Frame;
    fn device(&mut self, pa: u64) -> Option<Frame> {
        Frame::device(pa)
    }
    fn zeroed(&mut self) -> Option<Frame> {
        user_frame()
    }
    fn copy(&mut self, from: &Frame) -> Option<Frame> {
        let f = user_frame()?;
        f.copy_from(from);
        Some(f)
    }
}

fn errno(f: Fault) -> Errno {
    match f {
        Fault::MapErr => Errno::ENOMEM,
        Fault::AccErr => Errno::EACCES,
        Fault::NoMemory => Errno::ENOMEM,
    }
}

fn map_err(e: MapError) -> Errno {
    match e {
        MapError::NoMemory => Errno::ENOMEM,
        _ => Errno::EINVAL,
    }
}

fn flags(prot: Prot, writable: bool) -> PageFlags {
    PageFlags {
        write: writable,
        exec: prot.exec,
        ..PageFlags::default()
    }
}

/// Rights from mmap/mprotect PROT_* bits.
pub fn prot_from_bits(bits: u64) -> Prot {
    Prot {
        read: bits & 1 != 0,
        write: bits & 2 != 0,
        exec: bits & 4 != 0,
    }
}

pub fn page_down(a: u64) -> u64 {
    a & !(PAGE - 1)
}

pub fn page_up(a: u64) -> Option<u64> {
    a.checked_add(PAGE - 1).map(|x| x & !(PAGE - 1))
}

/// The outcome of a user page fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultResult {
    Mapped,
    /// No area there: SIGSEGV with SEGV_MAPERR.
    NoArea,
    /// The area forbids the access: SIGSEGV with SEGV_ACCERR.
    Denied,
    /// No frame for the page: the process is killed (SIGKILL), never the kernel.
    OutOfMemory,
}

pub struct AddressSpace {
    pt: PageTable,
    space: SpaceId,
    pub brk_start: u64,
    pub brk: u64,
    pub mmap_base: u64,
    pub stack_top: u64,
    /// What /proc/<pid>/maps names ranges by: the file a range was loaded or mapped from.
    names: alloc::vec::Vec<MapName>,
    /// SysV shared-memory attachments: (start, end, segment id), for shmdt.
    pub shm: alloc::vec::Vec<(u64, u64, i32)>,
}

/// A range mapped from a file: its path, the file offset at `start`, and the file's identity.
#[derive(Clone)]
pub struct MapName {
    pub start: u64,
    pub end: u64,
    pub path: alloc::vec::Vec<u8>,
    pub offset: u64,
    pub dev: u64,
    pub ino: u64,
}

impl AddressSpace {
    pub fn new() -> Result<AddressSpace, Errno> {
        let pt = PageTable::new_user().map_err(map_err)?;
        let space = with_vm(|vm| vm.new_space());
        Ok(AddressSpace {
            pt,
            space,
            brk_start: 0,
            brk: 0,
            mmap_base: 0,
            stack_top: 0,
            names: alloc::vec::Vec::new(),
            shm: alloc::vec::Vec::new(),
        })
    }

    /// Record that [start, end) came from a file (for /proc/<pid>/maps).
    pub fn name_range(&mut self, name: MapName) {
        self.forget_names(name.start, name.end);
        self.names.push(name);
    }

    /// Drop names of [start, end), splitting names that straddle its edges.
    fn forget_names(&mut self, start: u64, end: u64) {
        let mut kept = alloc::vec::Vec::new();
        for n in self.names.drain(..) {
            if n.end <= start || n.start >= end {
                kept.push(n);
                continue;
            }
            if n.start < start {
                kept.push(MapName {
                    end: start,
                    ..n.clone()
                });
            }
            if n.end > end {
                kept.push(MapName {
                    start: end,
                    offset: n.offset + (end - n.start),
                    ..n
                });
            }
        }
        self.names = kept;
    }

    /// The lines of /proc/<pid>/maps, in Linux's format.
    pub fn maps(&self) -> alloc::string::String {
        use core::fmt::Write;
        let mut s = alloc::string::String::new();
        for (start, end, prot, shared) in self.areas_in(0, u64::MAX) {
            let named = self
                .names
                .iter()
                .find(|n| n.start <= start && start < n.end);
            let (offset, dev, ino) =
                named.map_or((0, 0, 0), |n| (n.offset + (start - n.start), n.dev, n.ino));
            let mut line = alloc::format!(
                "{start:08x}-{end:08x} {}{}{}{} {offset:08x} {:02x}:{:02x} {ino} ",
                if prot.read { 'r' } else { '-' },
                if prot.write { 'w' } else { '-' },
                if prot.exec { 'x' } else { '-' },
                if shared { 's' } else { 'p' },
                vfs::mode::major(dev),
                vfs::mode::minor(dev),
            );
            let label: Option<alloc::borrow::Cow<'_, str>> = if let Some(n) = named {
                Some(alloc::string::String::from_utf8_lossy(&n.path))
            } else if start < self.brk.max(self.brk_start + 1)
                && end > self.brk_start
                && self.brk_start != 0
            {
                Some("[heap]".into())
            } else if start < self.stack_top && end >= self.stack_top {
                Some("[stack]".into())
            } else {
                None
            };
            if let Some(l) = label {
                // Names start in column 74, as Linux pads them.
                while line.len() < 73 {
                    line.push(' ');
                }
                line.push_str(&l);
            }
            let _ = writeln!(s, "{line}");
        }
        s
    }

    pub fn activate(&self) {
        self.pt.activate();
    }

    /// Where a futex word at `addr` lives when it is in shared memory (`MAP_SHARED` anonymous,
    /// file or SysV mappings): the memory object and the byte offset in it, the same for every
    /// process mapping it at any address. `None` for private memory or no mapping.
    pub fn shared_key(&self, addr: u64) -> Option<(u64, u64)> {
        with_vm(|vm| {
            let a = vm.area_at(self.space, addr)?;
            a.shared.then(|| {
                (
                    u64::from(a.object.index()),
                    a.page_index(addr) * PAGE + addr % PAGE,
                )
            })
        })
    }

    /// Physical address of the page table's root (what CR3 holds while this space runs).
    pub fn root(&self) -> u64 {
        self.pt.root()
    }

    /// Every present entry of this space's page table agrees with the model: it maps the
    /// frame the model resolves its address to, and it is writable only where the model lets
    /// this space write that frame in place. An entry that names any other frame is how a
    /// freed frame stays reachable from user space (the way a use-after-free of a frame
    /// becomes a corrupted kernel stack or page table), so this is checked during fuzz runs.
    pub fn check_table(&self) -> Result<(), alloc::string::String> {
        use alloc::format;
        with_vm(|vm| {
            let mut bad = None;
            self.pt.user_leaves(&mut |va, pa, writable, size| {
                if bad.is_some() {
                    return;
                }
                if size != hal::mem::paging::PageSize::Size4K {
                    bad = Some(format!("{va:#x}: a large user page"));
                    return;
                }
                let seen = vm.read(self.space, va).map(Frame::pa);
                if seen != Some(pa) {
                    bad = Some(format!(
                        "{va:#x} maps frame {pa:#x} but the model has {seen:#x?}"
                    ));
                    return;
                }
                if writable && vm.page_mut(self.space, va).map(|f| f.pa()) != Some(pa) {
                    bad = Some(format!(
                        "{va:#x} is writable but frame {pa:#x} is not this space's to write"
                    ));
                }
            });
            bad.map_or(Ok(()), Err)
        })
    }

    /// Pages present in memory and reachable from this space (VmRSS).
    pub fn resident_pages(&self) -> usize {
        with_vm(|vm| vm.resident(self.space))
    }

    /// The area containing `addr`: (start, end, rights).
    pub fn area_at(&self, addr: u64) -> Option<(u64, u64, Prot)> {
        with_vm(|vm| {
            vm.area_at(self.space, addr)
                .map(|a| (a.start, a.end, a.prot))
        })
    }

    /// Whether anything is mapped in [start, end).
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        with_vm(|vm| vm.areas(self.space).any(|a| a.start < end && a.end > start))
    }

    /// Add a private anonymous area [start, end). EEXIST if it overlaps.
    pub fn add_region(&mut self, start: u64, end: u64, prot: Prot) -> Result<(), Errno> {
        self.add_anon(start, end, prot, false)
    }

    /// A new mapping's range: page aligned, non-empty, inside user space above
    /// `MMAP_MIN_ADDR` (EINVAL), and free (EEXIST).
    fn check_new_range(&self, start: u64, end: u64) -> Result<(), Errno> {
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
        Ok(())
    }

    /// Map pages of a file's VM object (`FileData::object`) at [start, end), starting at
    /// file page `offset`: shared mappings use the file's pages, private ones copy on write.
    pub fn add_file(
        &mut self,
        start: u64,
        end: u64,
        prot: Prot,
        shared: bool,
        object: u64,
        offset: u64,
    ) -> Result<(), Errno> {
        self.check_new_range(start, end)?;
        let obj = vmobj::ObjId::from_index(u32::try_from(object).map_err(|_| Errno::EINVAL)?);
        with_vm(|vm| vm.map_file(self.space, start, end, prot, shared, obj, offset)).map_err(errno)
    }

    /// Mark the private area starting at `start` as growing down (MAP_GROWSDOWN).
    pub fn set_grows_down(&mut self, start: u64) -> Result<(), Errno> {
        with_vm(|vm| vm.set_grows_down(self.space, start)).map_err(|_| Errno::EINVAL)
    }

    /// Map physical memory at `pa` (device or firmware pages, `/dev/mem`) at [start, end):
    /// shared mappings reach the pages themselves, private ones copy on write.
    pub fn add_phys(
        &mut self,
        start: u64,
        end: u64,
        prot: Prot,
        shared: bool,
        pa: u64,
    ) -> Result<(), Errno> {
        self.check_new_range(start, end)?;
        with_vm(|vm| vm.map_phys(self.space, start, end, prot, shared, pa)).map_err(errno)
    }

    /// Add an anonymous area; `shared` areas keep one object across fork (MAP_SHARED).
    pub fn add_anon(
        &mut self,
        start: u64,
        end: u64,
        prot: Prot,
        shared: bool,
    ) -> Result<(), Errno> {
        self.check_new_range(start, end)?;
        with_vm(|vm| vm.map_anon(self.space, start, end, prot, shared)).map_err(errno)
    }

    /// Remove every mapping in [start, end), splitting areas at the edges.
    pub fn unmap(&mut self, start: u64, end: u64) -> Result<(), Errno> {
        if !start.is_multiple_of(PAGE) || start >= end || end > USER_END {
            return Err(Errno::EINVAL);
        }
        let cleared = with_vm(|vm| vm.unmap(self.space, start, end)).map_err(|_| Errno::EINVAL)?;
        self.forget_names(start, end);
        for va in cleared {
            let _ = self.pt.unmap_user(va);
        }
        Ok(())
    }

    /// Move the mappings of [from, from + len) to `to` (mremap): areas keep their objects, so
    /// nothing is copied; names follow.
    pub fn move_range(&mut self, from: u64, to: u64, len: u64) -> Result<(), Errno> {
        if to < MMAP_MIN_ADDR || to.checked_add(len).is_none_or(|e| e > USER_END) {
            return Err(Errno::EINVAL);
        }
        let cleared =
            with_vm(|vm| vm.move_range(self.space, from, to, len)).map_err(|_| Errno::EFAULT)?;
        for va in cleared {
            let _ = self.pt.unmap_user(va);
        }
        let moved: alloc::vec::Vec<MapName> = self
            .names
            .iter()
            .filter(|n| n.start < from + len && n.end > from)
            .cloned()
            .collect();
        self.forget_names(from, from + len);
        for n in moved {
            let (s, e) = (n.start.max(from), n.end.min(from + len));
            self.names.push(MapName {
                start: s - from + to,
                end: e - from + to,
                offset: n.offset + (s - n.start),
                ..n
            });
        }
        Ok(())
    }

    /// Change the rights of [start, end); ENOMEM if part of it is not mapped.
    pub fn protect(&mut self, start: u64, end: u64, prot: Prot) -> Result<(), Errno> {
        if !start.is_multiple_of(PAGE) || start > end || end > USER_END {
            return Err(Errno::EINVAL);
        }
        if start == end {
            return Ok(());
        }
        let changed = with_vm(|vm| vm.protect(self.space, start, end, prot)).map_err(errno)?;
        // Cleared rather than re-protected: the next access faults and gets the right mapping.
        for va in changed {
            let _ = self.pt.unmap_user(va);
        }
        Ok(())
    }

    /// The areas overlapping [start, end): (start, end, rights, shared), clipped to the range.
    pub fn areas_in(&self, start: u64, end: u64) -> alloc::vec::Vec<(u64, u64, Prot, bool)> {
        with_vm(|vm| {
            vm.areas(self.space)
                .filter(|a| a.start < end && a.end > start)
                .map(|a| (a.start.max(start), a.end.min(end), a.prot, a.shared))
                .collect()
        })
    }

    /// Bytes covered by areas (VmSize).
    pub fn mapped_bytes(&self) -> u64 {
        with_vm(|vm| vm.areas(self.space).map(|a| a.end - a.start).sum())
    }

    /// Whether every page of [start, end) is inside some area.
    pub fn fully_mapped(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        for (s, e, _, _) in self.areas_in(start, end) {
            if s > at {
                return false;
            }
            at = e;
        }
        at >= end
    }

    /// madvise(MADV_DONTNEED): private anonymous pages are discarded (the next touch reads
    /// zeroes, as on Linux); shared ones only leave this page table.
    pub fn discard(&mut self, start: u64, end: u64) -> Result<(), Errno> {
        for (s, e, prot, shared) in self.areas_in(start, end) {
            if shared {
                for va in (s..e).step_by(PAGE as usize) {
                    let _ = self.pt.unmap_user(va);
                }
            } else {
                // Private pages go; what is below shows again: zeros for anonymous memory,
                // the file's bytes for a private file mapping.
                let file = with_vm(|vm| vm.file_at(self.space, s));
                self.unmap(s, e)?;
                match file {
                    Some((obj, idx)) => {
                        with_vm(|vm| vm.map_file(self.space, s, e, prot, false, obj, idx))
                            .map_err(errno)?;
                    }
                    None => self.add_anon(s, e, prot, false)?,
                }
            }
        }
        Ok(())
    }

    /// Whether the page at `addr` is present in memory (mincore).
    pub fn resident_at(&self, addr: u64) -> bool {
        with_vm(|vm| vm.read(self.space, page_down(addr)).is_some())
    }

    /// Resolve a user page fault at `addr`.
    pub fn handle_fault(&mut self, addr: u64, write: bool, exec: bool) -> bool {
        self.fault(addr, write, exec) == FaultResult::Mapped
    }

    /// Resolve a user page fault at `addr`, saying why it could not be resolved.
    pub fn fault(&mut self, addr: u64, write: bool, exec: bool) -> FaultResult {
        // Mapping may need page-table frames even when the page itself exists (a read of a
        // page a parent holds): user page tables are user memory too, and must not drain
        // the kernel's reserve (a fork bomb's lazily filled child tables took it to ten
        // free frames).
        if hal::mem::frames::stats().free <= KERNEL_RESERVE_FRAMES {
            return FaultResult::OutOfMemory;
        }
        let va = page_down(addr);
        let pt = &mut self.pt;
        with_vm(|vm| {
            // Below a MAP_GROWSDOWN area the area grows to take the fault (Linux's stack
            // expansion, with its 256-page guard gap above an accessible area below); only
            // then is the area looked up a second time.
            let area = |vm: &Vm<Frame>| vm.area_at(self.space, addr).map(|a| a.prot);
            let mut prot = area(vm);
            if prot.is_none() && vm.grow_down(self.space, va, STACK_GUARD_GAP).is_ok() {
                prot = area(vm);
            }
            let Some(prot) = prot else {
                return FaultResult::NoArea;
            };
            if exec && !prot.exec {
                return FaultResult::Denied;
            }
            let r = match vm.fault(&mut Frames, self.space, va, write) {
                Ok(r) => r,
                Err(Fault::NoMemory) => return FaultResult::OutOfMemory,
                Err(Fault::AccErr) => return FaultResult::Denied,
                Err(Fault::MapErr) => return FaultResult::NoArea,
            };
            // Replace whatever was mapped (a read-only view of a page that was just copied).
            let _ = pt.unmap_user(va);
            if write {
                // fork may have protected a whole table at once: let the leaf decide.
                pt.unprotect_path(va);
            }
            match pt.map_user(va, r.page, flags(prot, r.writable)) {
                Ok(()) => FaultResult::Mapped,
                Err(_) => FaultResult::OutOfMemory,
            }
        })
    }

    /// Write `data` at `va` in this (not necessarily active) space, as a write by the process
    /// would (allocating and copying pages as needed); the area must be writable.
    pub fn write_bytes(&mut self, va: u64, data: &[u8]) -> Result<(), Errno> {
        let mut done = 0usize;
        while done < data.len() {
            let at = va + done as u64;
            let page = page_down(at);
            let off = (at - page) as usize;
            let n = (PAGE as usize - off).min(data.len() - done);
            with_vm(|vm| {
                vm.fault(&mut Frames, self.space, page, true)
                    .map_err(|_| Errno::EFAULT)?;
                let frame = vm.page_mut(self.space, page).ok_or(Errno::EFAULT)?;
                frame.write(off, &data[done..done + n]);
                Ok::<(), Errno>(())
            })?;
            // An older read-only mapping of this address may point at another page now.
            let _ = self.pt.unmap_user(page);
            done += n;
        }
        Ok(())
    }

    /// The child's address space for `fork`: copy-on-write over shared objects.
    pub fn fork(&mut self) -> Result<AddressSpace, Errno> {
        let pt = PageTable::new_user().map_err(map_err)?;
        let parent = self.space;
        let parent_pt = &mut self.pt;
        let space = with_vm(|vm| {
            // The model names the parent's ranges to write-protect (private writable areas
            // holding pages); the table protects each at the highest level covering it.
            let (space, protect) = vm.fork(parent)?;
            for (start, end) in protect {
                let _ = parent_pt.write_protect_user_range(start, end);
            }
            Ok(space)
        })
        .map_err(errno)?;
        Ok(AddressSpace {
            pt,
            space,
            brk_start: self.brk_start,
            brk: self.brk,
            mmap_base: self.mmap_base,
            stack_top: self.stack_top,
            names: self.names.clone(),
            shm: self.shm.clone(),
        })
    }

    /// Find a free range of `len` bytes for mmap, searching down from `mmap_base`.
    pub fn find_free(&self, len: u64) -> Option<u64> {
        let areas: alloc::vec::Vec<(u64, u64)> =
            with_vm(|vm| vm.areas(self.space).map(|a| (a.start, a.end)).collect());
        let mut top = self.mmap_base;
        loop {
            let start = top.checked_sub(len)?;
            if start < MMAP_MIN_ADDR {
                return None;
            }
            match areas.iter().rev().find(|&&(s, e)| s < top && e > start) {
                Some(&(s, _)) => top = s,
                None => return Some(start),
            }
        }
    }

    /// Read bytes as this space sees them (for /proc and tests; syscalls use user copies).
    #[cfg_attr(not(feature = "ktest"), allow(dead_code))]
    pub fn read_bytes(&self, va: u64, out: &mut [u8]) -> bool {
        let mut done = 0;
        while done < out.len() {
            let at = va + done as u64;
            let off = (at % PAGE) as usize;
            let n = (PAGE as usize - off).min(out.len() - done);
            let ok = with_vm(|vm| match vm.read(self.space, page_down(at)) {
                Some(frame) => {
                    frame.read(off, &mut out[done..done + n]);
                    true
                }
                // Mapped but never touched: zeroes.
                None if vm.area_at(self.space, at).is_some() => {
                    out[done..done + n].fill(0);
                    true
                }
                None => false,
            });
            if !ok {
                return false;
            }
            done += n;
        }
        true
    }
}

impl Drop for AddressSpace {
    fn drop(&mut self) {
        // The table goes right after this (it is a field): make sure no CPU runs on it while
        // the model frees the frames its entries still name. Exit and exec switch away first;
        // this is the safety net.
        if self.pt.is_active() {
            hal::mem::paging::kernel_table_activate();
        }
        with_vm(|vm| vm.destroy(self.space));
        if !self.shm.is_empty() {
            // A removed SysV segment whose last attachment this was can go now.
            crate::syscall::shm_sweep();
        }
    }
}

/// Pages owned by all memory objects (for leak checks and /proc/meminfo).
#[cfg_attr(not(feature = "ktest"), allow(dead_code))]
pub fn total_object_pages() -> usize {
    with_vm(|vm| vm.total_pages())
}

/// The model's own invariant check (reference counts, shadow links, free lists, areas).
pub fn check() -> Result<(), alloc::string::String> {
    with_vm(|vm| vm.check()).map_err(alloc::string::String::from)
}

/// The longest shadow chain right now.
pub fn max_chain_len() -> usize {
    with_vm(|vm| vm.max_chain_len())
}

/// tmpfs file data kept in a VM file object: `read`/`write` use the same frames a
/// `MAP_SHARED` mapping of the file maps (see vmobj's `file.rs`). Lock order: the VFS lock,
/// then the VM objects' lock (fault handling takes only the latter).
pub struct VmFile {
    obj: vmobj::ObjId,
}

impl VmFile {
    /// A new, empty file object (a SysV shared-memory segment's pages).
    pub fn new() -> Option<VmFile> {
        let obj = with_vm(|vm| vm.new_file(0)).ok()?;
        Some(VmFile { obj })
    }

    /// Mappings of the object (SysV `shm_nattch`).
    pub fn users(&self) -> u32 {
        with_vm(|vm| vm.file_users(self.obj))
    }

    /// Storage for a new regular file (the VFS's `new_data` hook).
    pub fn boxed() -> Option<alloc::boxed::Box<dyn vfs::FileData>> {
        let obj = with_vm(|vm| vm.new_file(0)).ok()?;
        Some(alloc::boxed::Box::new(VmFile { obj }))
    }
}

impl vfs::FileData for VmFile {
    fn read(&self, off: u64, out: &mut [u8]) {
        with_vm(|vm| {
            let mut at = 0;
            for (pg, in_pg, k) in vfs::data::pieces(off, out.len()) {
                match vm.file_page(self.obj, pg) {
                    Some(f) => f.read(in_pg, &mut out[at..at + k]),
                    None => out[at..at + k].fill(0),
                }
                at += k;
            }
        })
    }

    fn write(&mut self, off: u64, src: &[u8], budget: usize) -> usize {
        with_vm(|vm| {
            let before = vm.file_pages(self.obj);
            let mut at = 0;
            for (pg, in_pg, k) in vfs::data::pieces(off, src.len()) {
                let new = vm.file_page(self.obj, pg).is_none();
                if new && vm.file_pages(self.obj) - before >= budget {
                    break;
                }
                match vm.file_page_mut(&mut Frames, self.obj, pg) {
                    Ok(f) => f.write(in_pg, &src[at..at + k]),
                    Err(_) => break,
                }
                at += k;
            }
            at
        })
    }

    fn truncate(&mut self, len: u64) {
        let keep = len.div_ceil(PAGE);
        with_vm(|vm| {
            if vm.file_truncate(self.obj, keep) == 0 && vm.file_mapped(self.obj) {
                // Mapped pages cannot be freed yet; they must at least not bring old bytes
                // back if the file grows again.
                for f in vm.file_pages_from(self.obj, keep) {
                    f.write(0, &[0u8; PAGE as usize]);
                }
            }
            let tail = (len % PAGE) as usize;
            if tail != 0
                && let Some(f) = vm.file_page(self.obj, len / PAGE)
            {
                f.write(tail, &[0u8; PAGE as usize][tail..]);
            }
        })
    }

    fn pages(&self) -> usize {
        with_vm(|vm| vm.file_pages(self.obj))
    }

    fn object(&self) -> Option<u64> {
        Some(u64::from(self.obj.index()))
    }
}

impl Drop for VmFile {
    fn drop(&mut self) {
        with_vm(|vm| vm.release_file(self.obj));
    }
}

/// Live memory objects (for leak checks: /proc/tine/vm).
pub fn live_objects() -> usize {
    with_vm(|vm| vm.live_objects())
}

/// Live address spaces (for leak checks: /proc/tine/vm).
pub fn live_spaces() -> usize {
    with_vm(|vm| vm.live_spaces())
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use hal::ktest;

    const RW: Prot = Prot {
        read: true,
        write: true,
        exec: false,
    };

    ktest!(
        fn physical_memory_maps_in_place_shared_and_copies_private() {
            // The BIOS area: firmware memory the frame allocator never hands out.
            let pa = 0xf_0000;
            let mut s = AddressSpace::new().expect("space");
            s.add_phys(0x40_0000, 0x40_1000, RW, true, pa)
                .expect("shared");
            s.add_phys(0x50_0000, 0x50_1000, RW, false, pa)
                .expect("private");
            assert!(s.handle_fault(0x40_0000, false, false));
            let (got, _, _) = s.pt.translate(0x40_0000).expect("mapped");
            assert_eq!(got, pa, "a shared mapping reaches the physical page itself");
            assert!(s.handle_fault(0x50_0000, false, false));
            let mut first = [0u8; 16];
            assert!(s.read_bytes(0x50_0000, &mut first));
            let mut direct = [0u8; 16];
            Frame::device(pa)
                .expect("device frame")
                .read(0, &mut direct);
            assert_eq!(first, direct, "a private mapping reads the physical page");
            s.write_bytes(0x50_0000, &[!first[0]]).expect("write");
            Frame::device(pa)
                .expect("device frame")
                .read(0, &mut direct);
            assert_eq!(
                direct[0], first[0],
                "a private write copies; the device is untouched"
            );
            let mut now = [0u8; 1];
            assert!(s.read_bytes(0x50_0000, &mut now));
            assert_eq!(now[0], !first[0]);
            s.check_table().expect("page tables agree with the model");
            // RAM the allocator manages, and memory above 1 MiB, are never device frames.
            let ram = Frame::alloc_zeroed().expect("frame");
            assert!(Frame::device(ram.pa()).is_none());
            assert!(Frame::device(0x10_0000).is_none());
        }
    );

    ktest!(
        fn page_table_check_finds_entries_the_model_does_not_back() {
            let mut s = AddressSpace::new().expect("space");
            s.add_region(0x40_0000, 0x40_2000, RW).expect("region");
            assert!(s.handle_fault(0x40_0000, true, false));
            s.check_table().expect("consistent after a write fault");
            // A frame the model does not hold, mapped behind its back: what a page freed
            // while a table entry still named it looks like.
            let stray = Frame::alloc_zeroed().expect("frame");
            s.pt.map_user(0x40_1000, &stray, flags(RW, true))
                .expect("map");
            let err = s.check_table().expect_err("a stray entry");
            assert!(err.contains("0x401000"), "{err}");
            let _ = s.pt.unmap_user(0x40_1000);
            s.check_table().expect("consistent again");
            // After fork the child sees the parent's page read-only; a writable entry for it
            // would let the child write into memory the parent still uses.
            let mut child = s.fork().expect("fork");
            assert!(child.handle_fault(0x40_0000, false, false));
            child.check_table().expect("a read-only view is right");
            child
                .pt
                .protect_user(0x40_0000, flags(RW, true))
                .expect("protect");
            let err = child.check_table().expect_err("a writable shared page");
            assert!(err.contains("writable"), "{err}");
            s.check_table().expect("the parent is untouched");
        }
    );
}
