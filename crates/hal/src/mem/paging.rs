//! Four-level x86-64 page tables: map, unmap, protect and translate, in 4 KiB or 2 MiB pages.
//!
//! A `PageTable` names a PML4 by physical address; tables are reached through the direct map.
//! Changing the kernel half can break memory safety (unmapping memory that Rust references
//! point at), so those operations are `unsafe` and crate-private; the user half is safe to edit
//! because no kernel reference ever points there. The kernel's own table is `KERNEL`, guarded by
//! a spin lock; its upper half is shared by every address space.

use core::fmt;

use super::{PAGE_SIZE, USER_END, frames, phys_to_virt};
use crate::arch;
use crate::sync::SpinLock;

const P: u64 = 1;
const W: u64 = 1 << 1;
const U: u64 = 1 << 2;
const PWT: u64 = 1 << 3;
const PCD: u64 = 1 << 4;
const PS: u64 = 1 << 7;
const G: u64 = 1 << 8;
const NX: u64 = 1 << 63;
const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

/// Access rights of a leaf mapping.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct PageFlags {
    pub write: bool,
    pub exec: bool,
    pub user: bool,
    pub global: bool,
    pub uncached: bool,
}

impl PageFlags {
    pub const KERNEL_RW: PageFlags = PageFlags {
        write: true,
        exec: false,
        user: false,
        global: true,
        uncached: false,
    };
    pub const KERNEL_RO: PageFlags = PageFlags {
        write: false,
        exec: false,
        user: false,
        global: true,
        uncached: false,
    };
    pub const KERNEL_RX: PageFlags = PageFlags {
        write: false,
        exec: true,
        user: false,
        global: true,
        uncached: false,
    };
    pub const MMIO: PageFlags = PageFlags {
        write: true,
        exec: false,
        user: false,
        global: true,
        uncached: true,
    };

    fn bits(self, nx_supported: bool) -> u64 {
        let mut b = P;
        if self.write {
            b |= W;
        }
        if self.user {
            b |= U;
        }
        if self.global {
            b |= G;
        }
        if self.uncached {
            b |= PCD | PWT;
        }
        if !self.exec && nx_supported {
            b |= NX;
        }
        b
    }

    fn from_bits(b: u64) -> PageFlags {
        PageFlags {
            write: b & W != 0,
            exec: b & NX == 0,
            user: b & U != 0,
            global: b & G != 0,
            uncached: b & PCD != 0,
        }
    }
}

impl fmt::Debug for PageFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}{}{}",
            if self.write { "w" } else { "-" },
            if self.exec { "x" } else { "-" },
            if self.user { "u" } else { "k" },
            if self.global { "g" } else { "-" },
            if self.uncached { "c" } else { "-" }
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageSize {
    Size4K,
    Size2M,
}

impl PageSize {
    pub const fn bytes(self) -> u64 {
        match self {
            PageSize::Size4K => PAGE_SIZE,
            PageSize::Size2M => 2 << 20,
        }
    }
    const fn level(self) -> usize {
        match self {
            PageSize::Size4K => 1,
            PageSize::Size2M => 2,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// Something is already mapped there (or a huge page covers it).
    AlreadyMapped,
    /// Nothing is mapped there.
    NotMapped,
    /// Address not aligned to the page size, or not canonical.
    BadAddress,
    /// The operation is only allowed on user addresses.
    NotUser,
    /// No frame for an intermediate table.
    NoMemory,
}

static NX_ENABLED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

pub(crate) fn set_nx_enabled(on: bool) {
    NX_ENABLED.store(on, core::sync::atomic::Ordering::Relaxed);
}
fn nx() -> bool {
    NX_ENABLED.load(core::sync::atomic::Ordering::Relaxed)
}

fn index(va: u64, level: usize) -> usize {
    ((va >> (12 + 9 * (level - 1))) & 0x1ff) as usize
}

fn is_canonical(va: u64) -> bool {
    let top = va >> 47;
    top == 0 || top == 0x1ffff
}

fn entry(table_pa: u64, idx: usize) -> u64 {
    // SAFETY: `table_pa` is a page-table frame reachable through the direct map and idx < 512.
    unsafe { core::ptr::read_volatile((phys_to_virt(table_pa) as *const u64).add(idx)) }
}

fn set_entry(table_pa: u64, idx: usize, value: u64) {
    // SAFETY: as for `entry`; page-table frames are owned by the `PageTable` whose lock the
    // caller holds (or that no other CPU can reach yet).
    unsafe { core::ptr::write_volatile((phys_to_virt(table_pa) as *mut u64).add(idx), value) }
}

/// A PML4, named by its physical address.
pub struct PageTable {
    root: u64,
}

impl PageTable {
    /// A new address space: empty user half, kernel half shared with the kernel table.
    pub fn new_user() -> Result<PageTable, MapError> {
        let root = frames::alloc_zeroed(0).ok_or(MapError::NoMemory)?;
        let kroot = KERNEL.lock().root;
        for i in 256..512 {
            set_entry(root, i, entry(kroot, i));
        }
        Ok(PageTable { root })
    }

    /// The kernel's table (only `boot` creates it).
    pub(crate) fn new_kernel() -> Result<PageTable, MapError> {
        let root = frames::alloc_zeroed(0).ok_or(MapError::NoMemory)?;
        for i in 256..512 {
            let pdpt = frames::alloc_zeroed(0).ok_or(MapError::NoMemory)?;
            set_entry(root, i, pdpt | P | W);
        }
        Ok(PageTable { root })
    }

    pub fn root(&self) -> u64 {
        self.root
    }

    pub fn is_active(&self) -> bool {
        arch::read_cr3() & ADDR_MASK == self.root
    }

    /// Make this the address space of the current CPU.
    pub fn activate(&self) {
        if !self.is_active() {
            // SAFETY: every PageTable's upper half is the kernel's (copied by `new_user`, or it is
            // the kernel table itself), so the running code, stack and data stay mapped.
            unsafe { arch::write_cr3(self.root) };
        }
    }

    /// Find (creating tables if asked) the entry for `va` at `level`; returns (table, index).
    fn walk(&self, va: u64, level: usize, create: bool) -> Result<(u64, usize), MapError> {
        let mut table = self.root;
        for l in (level + 1..=4).rev() {
            let idx = index(va, l);
            let e = entry(table, idx);
            if e & P == 0 {
                if !create {
                    return Err(MapError::NotMapped);
                }
                let new = frames::alloc_zeroed(0).ok_or(MapError::NoMemory)?;
                let user = if va < USER_END { U } else { 0 };
                if user == 0 {
                    KERNEL_TABLES.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
                }
                set_entry(table, idx, new | P | W | user);
                table = new;
            } else if e & PS != 0 {
                return Err(if create {
                    MapError::AlreadyMapped
                } else {
                    MapError::NotMapped
                });
            } else {
                table = e & ADDR_MASK;
            }
        }
        Ok((table, index(va, level)))
    }

    fn check_addr(va: u64, pa: u64, size: PageSize) -> Result<(), MapError> {
        if !va.is_multiple_of(size.bytes()) || !pa.is_multiple_of(size.bytes()) || !is_canonical(va)
        {
            return Err(MapError::BadAddress);
        }
        Ok(())
    }

    /// # Safety
    /// For kernel addresses: the new mapping must not alias memory that Rust code owns.
    pub(crate) unsafe fn map_raw(
        &mut self,
        va: u64,
        pa: u64,
        size: PageSize,
        flags: PageFlags,
    ) -> Result<(), MapError> {
        Self::check_addr(va, pa, size)?;
        let (table, idx) = self.walk(va, size.level(), true)?;
        if entry(table, idx) & P != 0 {
            return Err(MapError::AlreadyMapped);
        }
        let huge = if size == PageSize::Size2M { PS } else { 0 };
        set_entry(table, idx, pa | flags.bits(nx()) | huge);
        Ok(())
    }

    /// # Safety
    /// For kernel addresses: nothing may still reference the memory being unmapped.
    pub(crate) unsafe fn unmap_raw(&mut self, va: u64) -> Result<(u64, PageSize), MapError> {
        let (table, idx, size) = self.leaf(va)?;
        let e = entry(table, idx);
        set_entry(table, idx, 0);
        self.flush(va);
        Ok((e & ADDR_MASK & !(size.bytes() - 1), size))
    }

    /// # Safety
    /// For kernel addresses: no Rust reference may rely on the rights being removed.
    pub(crate) unsafe fn protect_raw(&mut self, va: u64, flags: PageFlags) -> Result<(), MapError> {
        let (table, idx, size) = self.leaf(va)?;
        let e = entry(table, idx);
        let huge = if size == PageSize::Size2M { PS } else { 0 };
        set_entry(table, idx, (e & ADDR_MASK) | flags.bits(nx()) | huge);
        self.flush(va);
        Ok(())
    }

    /// The leaf entry mapping `va`: (table, index, page size).
    fn leaf(&self, va: u64) -> Result<(u64, usize, PageSize), MapError> {
        if !is_canonical(va) {
            return Err(MapError::BadAddress);
        }
        let mut table = self.root;
        for l in (1..=4).rev() {
            let idx = index(va, l);
            let e = entry(table, idx);
            if e & P == 0 {
                return Err(MapError::NotMapped);
            }
            if l == 1 {
                return Ok((table, idx, PageSize::Size4K));
            }
            if e & PS != 0 {
                return match l {
                    2 => Ok((table, idx, PageSize::Size2M)),
                    _ => Err(MapError::BadAddress), // 1 GiB pages are never created by Tine
                };
            }
            table = e & ADDR_MASK;
        }
        Err(MapError::NotMapped)
    }

    /// Physical address, rights and page size behind `va`. The write right is the effective
    /// one: a table entry above the leaf without W (fork's deferred protection) removes it.
    pub fn translate(&self, va: u64) -> Option<(u64, PageFlags, PageSize)> {
        let (table, idx, size) = self.leaf(va).ok()?;
        let e = entry(table, idx);
        let base = e & ADDR_MASK & !(size.bytes() - 1);
        let mut flags = PageFlags::from_bits(e);
        flags.write &= self.path_writable(va);
        Some((base + (va & (size.bytes() - 1)), flags, size))
    }

    /// Whether every table entry above `va`'s leaf allows writing.
    fn path_writable(&self, va: u64) -> bool {
        let mut table = self.root;
        for l in (2..=4).rev() {
            let e = entry(table, index(va, l));
            if e & P == 0 || e & PS != 0 {
                break;
            }
            if e & W == 0 {
                return false;
            }
            table = e & ADDR_MASK;
        }
        true
    }

    fn flush(&self, va: u64) {
        // Kernel mappings are global and shared; user ones matter only if this table is live.
        // (Other CPUs get a shootdown once they are started.)
        if va >= USER_END || self.is_active() {
            arch::invlpg(va);
        }
    }

    /// Map an owned frame as a 4 KiB user page. Safe: the user half never holds memory the kernel
    /// references directly, and the frame is not kernel memory. The caller must unmap it before
    /// the frame is freed (an address space keeps both together).
    pub fn map_user(
        &mut self,
        va: u64,
        frame: &super::frames::Frame,
        mut flags: PageFlags,
    ) -> Result<(), MapError> {
        user_range(va, PAGE_SIZE)?;
        flags.user = true;
        flags.global = false;
        // SAFETY: `va` is a user address (checked above) and `frame` is an allocated frame.
        unsafe { self.map_raw(va, frame.pa(), PageSize::Size4K, flags) }
    }

    /// Unmap a user page and return the frame that was there.
    pub fn unmap_user(&mut self, va: u64) -> Result<(u64, PageSize), MapError> {
        user_range(va, 1)?;
        // SAFETY: `va` is a user address.
        unsafe { self.unmap_raw(va) }
    }

    /// Change a user page's rights.
    pub fn protect_user(&mut self, va: u64, mut flags: PageFlags) -> Result<(), MapError> {
        user_range(va, 1)?;
        flags.user = true;
        flags.global = false;
        // SAFETY: `va` is a user address.
        unsafe { self.protect_raw(va, flags) }
    }

    /// Make every user page in [start, end) read-only (fork's write protection), then flush
    /// this table's TLB entries once. Returns how many entries changed.
    ///
    /// The cost does not grow with the pages mapped: x86 grants a write only if every level
    /// of the walk allows it, so a table entry whose whole span (2 MiB for a page table,
    /// 1 GiB for a page directory) lies inside the range is protected by clearing its own W
    /// bit — one entry instead of 512 leaves. Only the partly covered tables at the ends
    /// of the range are walked to their leaves. The protection is pushed down to the leaves
    /// lazily, by [`PageTable::unprotect_path`] at the first write fault under that entry.
    pub fn write_protect_user_range(&mut self, start: u64, end: u64) -> Result<u64, MapError> {
        if !start.is_multiple_of(PAGE_SIZE) || !end.is_multiple_of(PAGE_SIZE) || start > end {
            return Err(MapError::BadAddress);
        }
        user_range(start, end - start)?;
        let changed = write_protect_walk(self.root, 4, 0, start, end);
        if changed > 0 && self.is_active() {
            // Reloading CR3 drops every non-global entry: cheaper than one invlpg per page.
            // SAFETY: reloads the table that is already live.
            unsafe { arch::write_cr3(self.root) };
        }
        Ok(changed)
    }

    /// Every present leaf of the user half, in address order: (virtual address, frame,
    /// effective write right, page size). For invariant checks: the kernel compares each
    /// entry with what its memory model says the address should map.
    pub fn user_leaves(&self, f: &mut dyn FnMut(u64, u64, bool, PageSize)) {
        leaves(self.root, 4, 0, true, f);
    }

    /// Before a write fault at user address `va` is resolved: push the protection of any
    /// table entry on `va`'s path that lacks W (set by [`Self::write_protect_user_range`])
    /// down one level at a time — W is cleared on every present entry of the table below and
    /// set on the entry itself — so that afterwards only leaves decide `va`'s write right.
    /// No page gains a right (every leaf below loses W), so no TLB entry becomes stale; the
    /// fault handler then maps `va` as the memory model says. Returns the entries changed.
    pub fn unprotect_path(&mut self, va: u64) -> u64 {
        if user_range(va, 1).is_err() {
            return 0;
        }
        let mut changed = 0;
        let mut table = self.root;
        for l in (2..=4).rev() {
            let idx = index(va, l);
            let e = entry(table, idx);
            if e & P == 0 || e & PS != 0 {
                break;
            }
            let child = e & ADDR_MASK;
            if e & W == 0 {
                for j in 0..512 {
                    let c = entry(child, j);
                    if c & P != 0 && c & W != 0 {
                        set_entry(child, j, c & !W);
                        changed += 1;
                    }
                }
                set_entry(table, idx, e | W);
                changed += 1;
            }
            table = child;
        }
        if changed > 0 {
            // Drop cached upper-level entries for `va` (INVLPG also clears the CPU's
            // paging-structure caches).
            self.flush(va);
        }
        changed
    }
}

/// The leaves below a level-`level` table covering addresses from `base` (the top level: its
/// user half only); `writable` is whether every entry above allows writing. Depth is at most 4.
fn leaves(
    table: u64,
    level: usize,
    base: u64,
    writable: bool,
    f: &mut dyn FnMut(u64, u64, bool, PageSize),
) {
    let span = 1u64 << (12 + 9 * (level - 1));
    let n = if level == 4 { 256 } else { 512 };
    for i in 0..n {
        let e = entry(table, i);
        if e & P == 0 {
            continue;
        }
        let va = base + i as u64 * span;
        let w = writable && e & W != 0;
        if level == 1 {
            f(va, e & ADDR_MASK, w, PageSize::Size4K);
        } else if e & PS != 0 {
            f(va, e & ADDR_MASK & !(span - 1), w, PageSize::Size2M);
        } else {
            leaves(e & ADDR_MASK, level - 1, va, w, f);
        }
    }
}

/// Walk the entries of a level-`level` table that covers addresses from `base`, clearing W on
/// present entries inside [start, end): on a table entry whose whole span is inside, else on
/// the leaves below. Tables are at most 4 deep: recursion depth is bounded.
fn write_protect_walk(table: u64, level: usize, base: u64, start: u64, end: u64) -> u64 {
    let span = 1u64 << (12 + 9 * (level - 1));
    let mut changed = 0;
    // Only the entries that overlap [start, end).
    let first = start.saturating_sub(base) / span;
    let last = (end.saturating_sub(base).div_ceil(span)).min(512);
    for i in first..last {
        let lo = base + i * span;
        let e = entry(table, i as usize);
        if e & P == 0 {
            continue;
        }
        let inside = lo >= start && lo + span <= end;
        if level == 1 || inside {
            if e & W != 0 {
                set_entry(table, i as usize, e & !W);
                changed += 1;
            }
        } else if e & PS == 0 {
            changed += write_protect_walk(e & ADDR_MASK, level - 1, lo, start, end);
        }
    }
    changed
}

impl Drop for PageTable {
    /// Free the page-table frames of the user half. The frames the leaves point to belong to
    /// whoever mapped them (the virtual-memory layer) and are not touched.
    fn drop(&mut self) {
        if self.root == 0 || KERNEL.try_lock().is_some_and(|k| k.root == self.root) {
            return;
        }
        if self.is_active() {
            let kroot = KERNEL.lock().root;
            // SAFETY: the kernel table maps everything the kernel needs.
            unsafe { arch::write_cr3(kroot) };
        }
        free_tables(self.root, 4, 0..256);
        frames::free(self.root, 0);
    }
}

/// Free the tables below entries `range` of a level-`level` table (not the table itself).
fn free_tables(table: u64, level: usize, range: core::ops::Range<usize>) {
    for i in range {
        let e = entry(table, i);
        if e & P == 0 || e & PS != 0 || level == 1 {
            continue;
        }
        let child = e & ADDR_MASK;
        if level > 2 {
            free_tables(child, level - 1, 0..512);
        }
        frames::free(child, 0);
        set_entry(table, i, 0);
    }
}

fn user_range(va: u64, len: u64) -> Result<(), MapError> {
    match va.checked_add(len) {
        Some(end) if end <= USER_END => Ok(()),
        _ => Err(MapError::NotUser),
    }
}

/// Page-table frames made for the kernel half since boot (kernel stacks, the heap's mapped
/// region). They are never freed, so leak checks count them as the kernel's own growth.
static KERNEL_TABLES: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// See [`KERNEL_TABLES`].
pub fn kernel_tables() -> u64 {
    KERNEL_TABLES.load(core::sync::atomic::Ordering::Relaxed)
}

/// The kernel's page table. Every address space shares its upper half.
pub(crate) static KERNEL: SpinLock<PageTable> = SpinLock::new(PageTable { root: 0 });

/// Whether the table rooted at `root` is this CPU's address space.
pub fn is_active_root(root: u64) -> bool {
    arch::read_cr3() & ADDR_MASK == root
}

/// Switch this CPU to the kernel's own table (before an address space is freed).
pub fn kernel_table_activate() {
    KERNEL.lock().activate();
}

/// Virtual-to-physical translation in the kernel table (for diagnostics and tests).
pub fn kernel_translate(va: u64) -> Option<(u64, PageFlags, PageSize)> {
    KERNEL.lock().translate(va)
}

/// Map device registers uncached into the MMIO window; returns the virtual address.
/// Calls are idempotent per physical page.
pub fn map_mmio(pa: u64, len: u64) -> Result<u64, MapError> {
    let start = super::align_down(pa, PAGE_SIZE);
    let end = super::align_up(pa + len, PAGE_SIZE);
    let mut kt = KERNEL.lock();
    for page in (start..end).step_by(PAGE_SIZE as usize) {
        let va = super::MMIO_REGION + page;
        // SAFETY: the MMIO window holds no Rust objects; a page maps the same device page each time.
        match unsafe { kt.map_raw(va, page, PageSize::Size4K, PageFlags::MMIO) } {
            Ok(()) | Err(MapError::AlreadyMapped) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(super::MMIO_REGION + pa)
}
