//! Kernel stacks in their own virtual region. Each occupies a 64 KiB slot: the lower half is
//! left unmapped as a guard (an overflow faults instead of corrupting a neighbour; the double
//! fault handler runs on its own IST stack and reports it), the upper half is backed by frames.

use alloc::vec::Vec;

use super::paging::{KERNEL, PageFlags, PageSize};
use super::{PAGE_SIZE, STACK_REGION, frames};
use crate::sync::SpinLock;

pub const STACK_PAGES: usize = 8;
const SLOT_BYTES: u64 = 16 * PAGE_SIZE;
const MAX_SLOTS: u64 = (512u64 << 30) / SLOT_BYTES;

struct Slots {
    next: u64,
    free: Vec<u64>,
}

static SLOTS: SpinLock<Slots> = SpinLock::new(Slots {
    next: 0,
    free: Vec::new(),
});

/// A guarded kernel stack; unmapped and freed on drop.
pub struct KernelStack {
    slot: u64,
    frames: [u64; STACK_PAGES],
}

impl KernelStack {
    pub fn new() -> Option<KernelStack> {
        let slot = {
            let mut s = SLOTS.lock();
            match s.free.pop() {
                Some(slot) => slot,
                None if s.next < MAX_SLOTS => {
                    s.next += 1;
                    s.next - 1
                }
                None => return None,
            }
        };
        let mut stack = KernelStack {
            slot,
            frames: [0; STACK_PAGES],
        };
        for i in 0..STACK_PAGES {
            let pa = frames::alloc_zeroed(0)?; // on failure, Drop releases what was mapped
            let va = stack.bottom() + i as u64 * PAGE_SIZE;
            // SAFETY: this slot of the stack region belongs to this stack alone.
            let mapped = unsafe {
                KERNEL
                    .lock()
                    .map_raw(va, pa, PageSize::Size4K, PageFlags::KERNEL_RW)
            };
            if mapped.is_err() {
                frames::free(pa, 0);
                return None;
            }
            stack.frames[i] = pa;
        }
        Some(stack)
    }

    fn base(&self) -> u64 {
        STACK_REGION + self.slot * SLOT_BYTES
    }
    /// Lowest mapped address.
    pub fn bottom(&self) -> u64 {
        self.base() + SLOT_BYTES - STACK_PAGES as u64 * PAGE_SIZE
    }
    /// Initial stack pointer (16-byte aligned, one past the highest byte).
    pub fn top(&self) -> u64 {
        self.base() + SLOT_BYTES
    }
    /// The unmapped guard range below the stack.
    pub fn guard(&self) -> (u64, u64) {
        (self.base(), self.bottom())
    }
}

/// Kernel stacks alive right now and the number of slots ever used (their page tables stay),
/// for leak checks (/proc/tine/vm).
pub fn counts() -> (u64, u64) {
    let s = SLOTS.lock();
    (s.next - s.free.len() as u64, s.next)
}

/// True if `addr` lies in the guard area of some kernel stack (used to explain faults).
pub fn is_guard_address(addr: u64) -> bool {
    unsafe extern "C" {
        static hal_boot_stack_guard: u8;
    }
    let boot_guard = core::ptr::addr_of!(hal_boot_stack_guard) as u64;
    if (boot_guard..boot_guard + PAGE_SIZE).contains(&addr) {
        return true;
    }
    if !(STACK_REGION..STACK_REGION + MAX_SLOTS * SLOT_BYTES).contains(&addr) {
        return false;
    }
    (addr - STACK_REGION) % SLOT_BYTES < SLOT_BYTES - STACK_PAGES as u64 * PAGE_SIZE
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        for (i, &pa) in self.frames.iter().enumerate() {
            if pa == 0 {
                continue;
            }
            let va = self.bottom() + i as u64 * PAGE_SIZE;
            // SAFETY: the stack is being dropped, so nothing runs on it or points into it.
            let _ = unsafe { KERNEL.lock().unmap_raw(va) };
            frames::free(pa, 0);
        }
        SLOTS.lock().free.push(self.slot);
    }
}
