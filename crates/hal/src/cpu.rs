//! Per-CPU state, reached through the GS base: this CPU's number, its local APIC id, its
//! descriptor tables, and the slots the user-mode entry code uses. The first fields have fixed
//! offsets (`OFF_*`) because assembly reads them through `gs:`.

use core::sync::atomic::{AtomicU64, Ordering};

use alloc::boxed::Box;

use crate::arch;
use crate::trap::gdt::CpuTables;

/// Offsets of the fields the entry assembly uses (checked at compile time below).
pub const OFF_USER_RSP: usize = 8;
pub const OFF_KERNEL_RSP: usize = 16;
pub const OFF_USER_CTX: usize = 24;
pub const OFF_TSS_RSP0: usize = 32;

#[repr(C)]
pub struct PerCpu {
    self_ptr: u64,
    /// Scratch: the user stack pointer during `syscall` entry.
    user_rsp: u64,
    /// Kernel stack pointer saved by `UserContext::run` while user code runs.
    kernel_rsp: u64,
    /// The `UserContext` being run (where entry code saves user registers).
    user_ctx: u64,
    /// Address of this CPU's TSS.rsp0, the stack a trap from user mode starts on.
    tss_rsp0: u64,
    /// Id of the user context whose FPU state is in this CPU's registers (0: none).
    pub(crate) fpu_live: AtomicU64,
    /// Where the live FPU state must be saved (the owning context's area).
    pub(crate) fpu_live_area: AtomicU64,
    /// The kernel context running on this CPU (0 until the first switch).
    current_context: AtomicU64,
    pub index: u32,
    pub apic_id: u32,
    pub tables: &'static mut CpuTables,
}

const _: () = {
    assert!(core::mem::offset_of!(PerCpu, user_rsp) == OFF_USER_RSP);
    assert!(core::mem::offset_of!(PerCpu, kernel_rsp) == OFF_KERNEL_RSP);
    assert!(core::mem::offset_of!(PerCpu, user_ctx) == OFF_USER_CTX);
    assert!(core::mem::offset_of!(PerCpu, tss_rsp0) == OFF_TSS_RSP0);
};

/// Set up and load this CPU's tables and per-CPU block.
pub fn init_this_cpu(index: u32, apic_id: u32) -> Option<&'static PerCpu> {
    let tables = CpuTables::new()?;
    let p = Box::leak(Box::new(PerCpu {
        self_ptr: 0,
        user_rsp: 0,
        kernel_rsp: 0,
        user_ctx: 0,
        tss_rsp0: 0,
        fpu_live: AtomicU64::new(0),
        fpu_live_area: AtomicU64::new(0),
        current_context: AtomicU64::new(0),
        index,
        apic_id,
        tables,
    }));
    p.self_ptr = p as *const PerCpu as u64;
    p.tss_rsp0 = core::ptr::addr_of!(p.tables.tss.rsp) as u64;
    p.tables.load();
    crate::trap::idt::load();
    arch::wrmsr(arch::MSR_GS_BASE, p.self_ptr);
    arch::wrmsr(arch::MSR_KERNEL_GS_BASE, 0);
    crate::user::init_this_cpu();
    Some(p)
}

/// This CPU's block, if `init_this_cpu` ran.
pub fn current() -> Option<&'static PerCpu> {
    let p = arch::rdmsr(arch::MSR_GS_BASE);
    if p == 0 {
        return None;
    }
    // SAFETY: GS base is only ever set to a leaked, never-freed `PerCpu` by `init_this_cpu`
    // (user GS values live in KERNEL_GS_BASE while the kernel runs).
    Some(unsafe { &*(p as *const PerCpu) })
}

/// This CPU's index (0 for the boot CPU).
pub fn index() -> u32 {
    current().map_or(0, |c| c.index)
}

impl PerCpu {
    pub(crate) fn fpu_live(&self) -> u64 {
        self.fpu_live.load(Ordering::Relaxed)
    }
    pub(crate) fn set_fpu_live(&self, id: u64, area: u64) {
        self.fpu_live_area.store(area, Ordering::Relaxed);
        self.fpu_live.store(id, Ordering::Relaxed);
    }
    pub(crate) fn current_context(&self) -> usize {
        self.current_context.load(Ordering::Relaxed) as usize
    }
    pub(crate) fn set_current_context(&self, ctx: usize) {
        self.current_context.store(ctx as u64, Ordering::Relaxed);
    }
}
