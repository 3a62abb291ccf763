//! The kernel heap: a `talc` allocator behind a spin lock, grown on demand with blocks of frames
//! from the buddy allocator (reached through the direct map). Blocks of `LARGE` bytes or more do
//! not need physically contiguous memory: they get single frames mapped side by side in the
//! `VMAP_REGION` (like Linux's vmalloc), each followed by an unmapped guard page, and give their
//! frames back when freed. Running out returns null, so fallible paths (`try_reserve`,
//! `hal::mem::heap::try_box`) see an error instead of a panic.
//!
//! Lock order: large-block list → talc → frames.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{NonNull, null_mut};
use core::sync::atomic::{AtomicU64, Ordering};

use talc::{OomHandler, Span, Talc};

use super::{PAGE_SIZE, frames, phys_to_virt};
use crate::sync::SpinLock;

/// Smallest growth step: 2^6 frames = 256 KiB.
const MIN_GROW_ORDER: usize = 6;

static CLAIMED: AtomicU64 = AtomicU64::new(0);
static IN_USE: AtomicU64 = AtomicU64::new(0);
static GROWTHS: AtomicU64 = AtomicU64::new(0);

struct GrowFromFrames;

impl OomHandler for GrowFromFrames {
    fn handle_oom(talc: &mut Talc<Self>, layout: Layout) -> Result<(), ()> {
        // Room for the request plus talc's per-chunk bookkeeping and alignment slack.
        let need = layout
            .size()
            .saturating_add(layout.align())
            .saturating_add(256) as u64;
        let pages = need.div_ceil(PAGE_SIZE);
        let order = (pages.next_power_of_two().trailing_zeros() as usize).max(MIN_GROW_ORDER);
        let pa = frames::alloc(order).ok_or(())?;
        let bytes = PAGE_SIZE << order;
        let span = Span::from_base_size(phys_to_virt(pa) as *mut u8, bytes as usize);
        // SAFETY: the frames were just allocated for the heap alone and stay mapped in the
        // direct map for the kernel's lifetime.
        unsafe { talc.claim(span)? };
        CLAIMED.fetch_add(bytes, Ordering::Relaxed);
        GROWTHS.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

pub struct KernelHeap(SpinLock<Talc<GrowFromFrames>>);

/// Allocations of at least this size go to the mapped region.
const LARGE: usize = 256 * 1024;

/// Free virtual ranges of the large-block region: (start, pages), first fit; plus a bump pointer.
struct VmapSpace {
    next: u64,
    free: alloc::vec::Vec<(u64, u64)>,
}

static VMAP: SpinLock<VmapSpace> = SpinLock::new(VmapSpace {
    next: super::VMAP_REGION,
    free: alloc::vec::Vec::new(),
});
static LARGE_BYTES: AtomicU64 = AtomicU64::new(0);

fn vmap_alloc(layout: Layout) -> *mut u8 {
    if layout.align() > PAGE_SIZE as usize {
        return null_mut();
    }
    let pages = (layout.size() as u64).div_ceil(PAGE_SIZE);
    let span = pages + 1; // plus a guard page
    let mut space = VMAP.lock();
    let start = match space.free.iter().position(|&(_, n)| n >= span) {
        Some(i) => {
            let (s, n) = space.free[i];
            if n == span {
                space.free.swap_remove(i);
            } else {
                space.free[i] = (s + span * PAGE_SIZE, n - span);
            }
            s
        }
        None => {
            let s = space.next;
            if s + span * PAGE_SIZE > super::VMAP_REGION + super::VMAP_SIZE {
                return null_mut();
            }
            space.next += span * PAGE_SIZE;
            s
        }
    };
    drop(space);
    for i in 0..pages {
        let va = start + i * PAGE_SIZE;
        let mapped = frames::alloc(0).and_then(|pa| {
            // SAFETY: this virtual range was just reserved for this block alone.
            let r = unsafe {
                super::paging::KERNEL.lock().map_raw(
                    va,
                    pa,
                    super::paging::PageSize::Size4K,
                    super::paging::PageFlags::KERNEL_RW,
                )
            };
            if r.is_err() {
                frames::free(pa, 0);
            }
            r.ok()
        });
        if mapped.is_none() {
            vmap_release(start, i, span);
            return null_mut();
        }
    }
    LARGE_BYTES.fetch_add(pages * PAGE_SIZE, Ordering::Relaxed);
    start as *mut u8
}

/// Unmap the first `mapped` pages of a block and return its virtual span to the free list.
fn vmap_release(start: u64, mapped: u64, span: u64) {
    for i in 0..mapped {
        let va = start + i * PAGE_SIZE;
        // SAFETY: the block is being freed; nothing references it any more.
        if let Ok((pa, _)) = unsafe { super::paging::KERNEL.lock().unmap_raw(va) } {
            frames::free(pa, 0);
        }
    }
    VMAP.lock().free.push((start, span));
}

fn is_vmap(ptr: *mut u8) -> bool {
    (super::VMAP_REGION..super::VMAP_REGION + super::VMAP_SIZE).contains(&(ptr as u64))
}

// SAFETY: talc hands out non-overlapping blocks that satisfy the layout; the spin lock serialises
// every call; `dealloc` gets back exactly what `alloc` returned (GlobalAlloc's contract).
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= LARGE {
            let p = vmap_alloc(layout);
            if !p.is_null() {
                IN_USE.fetch_add(layout.size() as u64, Ordering::Relaxed);
            }
            return p;
        }
        // SAFETY: layout comes from the caller per GlobalAlloc's contract.
        match unsafe { self.0.lock().malloc(layout) } {
            Ok(p) => {
                IN_USE.fetch_add(layout.size() as u64, Ordering::Relaxed);
                p.as_ptr()
            }
            Err(()) => null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_vmap(ptr) {
            let pages = (layout.size() as u64).div_ceil(PAGE_SIZE);
            IN_USE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
            LARGE_BYTES.fetch_sub(pages * PAGE_SIZE, Ordering::Relaxed);
            vmap_release(ptr as u64, pages, pages + 1);
            return;
        }
        if let Some(p) = NonNull::new(ptr) {
            IN_USE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
            // SAFETY: `ptr` was returned by `alloc` with this layout (caller's contract).
            unsafe { self.0.lock().free(p, layout) };
        }
    }
}

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(SpinLock::new(Talc::new(GrowFromFrames)));

#[derive(Clone, Copy, Debug)]
pub struct HeapStats {
    /// Bytes taken from the frame allocator so far.
    pub claimed: u64,
    /// Bytes handed out and not yet freed.
    pub in_use: u64,
    /// How many times the heap grew.
    pub growths: u64,
    /// Bytes in large blocks (mapped frames) right now.
    pub large: u64,
}

pub fn stats() -> HeapStats {
    HeapStats {
        claimed: CLAIMED.load(Ordering::Relaxed),
        in_use: IN_USE.load(Ordering::Relaxed),
        growths: GROWTHS.load(Ordering::Relaxed),
        large: LARGE_BYTES.load(Ordering::Relaxed),
    }
}

/// `Box::new` that reports exhaustion instead of panicking (stable Rust has no `Box::try_new`).
pub fn try_box<T>(value: T) -> Result<alloc::boxed::Box<T>, AllocError> {
    let layout = Layout::new::<T>();
    if layout.size() == 0 {
        return Ok(alloc::boxed::Box::new(value));
    }
    // SAFETY: layout has non-zero size.
    let p = unsafe { alloc::alloc::alloc(layout) } as *mut T;
    if p.is_null() {
        return Err(AllocError);
    }
    // SAFETY: `p` is a fresh allocation of T's layout; writing initialises it, and Box takes
    // ownership with the same global allocator and layout.
    unsafe {
        p.write(value);
        Ok(alloc::boxed::Box::from_raw(p))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocError;
