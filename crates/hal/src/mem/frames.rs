//! The physical frame allocator: one buddy allocator (crate `buddy`) over all usable RAM, behind
//! a spin lock. Its per-frame metadata array lives in RAM carved out at boot.
//!
//! Lock order: the heap lock may be held while taking this one, never the reverse.

use buddy::{Buddy, FrameInfo, MAX_ORDER};

use super::{PAGE_SIZE, phys_to_virt};
use crate::sync::SpinLock;

static FRAMES: SpinLock<Option<Buddy<'static>>> = SpinLock::new(None);

pub use buddy::MAX_ORDER as MAX_FRAME_ORDER;

/// Bytes of metadata needed to manage frames [base_pfn, end_pfn).
pub fn metadata_bytes(base_pfn: u64, end_pfn: u64) -> u64 {
    (end_pfn - base_pfn) * core::mem::size_of::<FrameInfo>() as u64
}

/// Set up the allocator: the metadata array is placed at physical `meta_pa` (reserved by the
/// caller, reachable through the direct map, at least `metadata_bytes` long) and covers
/// frames [base_pfn, end_pfn). Usable frames are added afterwards with `add_free`.
///
/// # Safety
/// The metadata range must be RAM that nothing else uses, now or later.
pub unsafe fn init(meta_pa: u64, base_pfn: u64, end_pfn: u64) {
    let count = (end_pfn - base_pfn) as usize;
    let ptr = phys_to_virt(meta_pa) as *mut FrameInfo;
    for i in 0..count {
        // SAFETY: the caller reserved `count` entries at `meta_pa`; the direct map covers it.
        unsafe { ptr.add(i).write(FrameInfo::new()) };
    }
    // SAFETY: every entry was just initialised, the memory is exclusively ours for the kernel's
    // lifetime (caller's contract), and FrameInfo has no alignment above 8 (meta_pa is paged).
    let meta: &'static mut [FrameInfo] = unsafe { core::slice::from_raw_parts_mut(ptr, count) };
    *FRAMES.lock() = Some(Buddy::new(meta, base_pfn));
}

/// Hand physical range [start, end) (page-aligned) to the allocator.
pub fn add_free(start: u64, end: u64) -> u64 {
    FRAMES
        .lock()
        .as_mut()
        .map_or(0, |b| b.add_free_range(start / PAGE_SIZE, end / PAGE_SIZE))
}

/// Allocate 2^order contiguous frames; returns the physical address.
pub fn alloc(order: usize) -> Option<u64> {
    if order > MAX_ORDER {
        return None;
    }
    FRAMES
        .lock()
        .as_mut()?
        .alloc(order)
        .map(|pfn| pfn * PAGE_SIZE)
}

/// Allocate 2^order frames filled with zeroes.
pub fn alloc_zeroed(order: usize) -> Option<u64> {
    let pa = alloc(order)?;
    let len = (PAGE_SIZE << order) as usize;
    // SAFETY: the frames were just allocated to us and the direct map covers all RAM.
    unsafe { core::ptr::write_bytes(phys_to_virt(pa) as *mut u8, 0, len) };
    Some(pa)
}

/// Return frames obtained from `alloc(order)`. Freeing something not allocated is a kernel bug.
pub fn free(pa: u64, order: usize) {
    let res = match FRAMES.lock().as_mut() {
        Some(b) => b.free(pa / PAGE_SIZE, order),
        None => Ok(()),
    };
    if let Err(e) = res {
        panic!("frame free of {pa:#x} order {order}: {e:?}");
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct FrameStats {
    pub total: u64,
    pub free: u64,
}

/// Frames managed and frames free right now.
pub fn stats() -> FrameStats {
    FRAMES
        .lock()
        .as_ref()
        .map_or(FrameStats::default(), |b| FrameStats {
            total: b.total_frames(),
            free: b.free_frames(),
        })
}

/// Free blocks of exactly this order (for fragmentation tests).
pub fn free_blocks(order: usize) -> usize {
    FRAMES.lock().as_ref().map_or(0, |b| b.free_blocks(order))
}

pub fn is_allocated(pa: u64) -> bool {
    FRAMES
        .lock()
        .as_ref()
        .is_some_and(|b| b.is_allocated(pa / PAGE_SIZE))
}

/// Walk the whole allocator state and check its invariants.
pub fn check() -> Result<(), &'static str> {
    FRAMES.lock().as_ref().map_or(Ok(()), |b| b.check())
}

/// One owned 4 KiB frame, freed when dropped. Reads and writes go through the direct map; this
/// is how code outside the HAL fills and copies memory it owns (e.g. a process's pages).
pub struct Frame {
    pa: u64,
    /// Taken from the allocator (and given back on drop); false for a device frame.
    owned: bool,
}

/// Physical memory that `Frame::device` may name: the first MiB (BIOS data, option ROMs, the
/// BIOS itself), which Linux's STRICT_DEVMEM also leaves to root through /dev/mem. The frame
/// allocator never hands it out.
pub const DEVICE_LIMIT: u64 = 0x10_0000;

impl Frame {
    pub fn alloc_zeroed() -> Option<Frame> {
        alloc_zeroed(0).map(|pa| Frame { pa, owned: true })
    }

    /// A handle on the physical page at `pa` that the allocator does not manage (device or
    /// firmware memory below `DEVICE_LIMIT`); dropping it frees nothing. None for anything
    /// else, so a handle can never alias memory the kernel owns.
    pub fn device(pa: u64) -> Option<Frame> {
        (pa.is_multiple_of(PAGE_SIZE) && pa < DEVICE_LIMIT && !is_allocated(pa))
            .then_some(Frame { pa, owned: false })
    }

    pub fn pa(&self) -> u64 {
        self.pa
    }

    fn ptr(&self) -> *mut u8 {
        phys_to_virt(self.pa) as *mut u8
    }

    /// Copy `data` to `offset` (clipped to the frame).
    pub fn write(&self, offset: usize, data: &[u8]) {
        let n = data.len().min((PAGE_SIZE as usize).saturating_sub(offset));
        // SAFETY: the frame is owned by `self` and mapped in the direct map; the range is clipped
        // to the frame. Concurrent user-mode access to the same page only races on plain bytes.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr().add(offset), n) };
    }

    /// Copy from `offset` into `buf` (clipped to the frame).
    pub fn read(&self, offset: usize, buf: &mut [u8]) {
        let n = buf.len().min((PAGE_SIZE as usize).saturating_sub(offset));
        // SAFETY: as for `write`.
        unsafe { core::ptr::copy_nonoverlapping(self.ptr().add(offset), buf.as_mut_ptr(), n) };
    }

    /// Make this frame a copy of `other`.
    pub fn copy_from(&self, other: &Frame) {
        // SAFETY: both are direct-mapped; `self` is a fresh owned frame (a copy target is never
        // a device frame) and `other` is a distinct frame, owned or device memory.
        unsafe { core::ptr::copy_nonoverlapping(other.ptr(), self.ptr(), PAGE_SIZE as usize) };
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        if self.owned {
            free(self.pa, 0);
        }
    }
}
