//! Per-CPU state, reached through the GS base: this CPU's number, its local APIC id, its
//! descriptor tables. The first field points at the structure itself so `current()` is one load.

use alloc::boxed::Box;

use crate::arch;
use crate::trap::gdt::CpuTables;

#[repr(C)]
pub struct PerCpu {
    self_ptr: u64,
    pub index: u32,
    pub apic_id: u32,
    pub tables: &'static mut CpuTables,
}

/// Set up and load this CPU's tables and per-CPU block.
pub fn init_this_cpu(index: u32, apic_id: u32) -> Option<&'static PerCpu> {
    let tables = CpuTables::new()?;
    let p = Box::leak(Box::new(PerCpu {
        self_ptr: 0,
        index,
        apic_id,
        tables,
    }));
    p.self_ptr = p as *const PerCpu as u64;
    p.tables.load();
    crate::trap::idt::load();
    arch::wrmsr(arch::MSR_GS_BASE, p.self_ptr);
    arch::wrmsr(arch::MSR_KERNEL_GS_BASE, 0);
    Some(p)
}

/// This CPU's block, if `init_this_cpu` ran.
pub fn current() -> Option<&'static PerCpu> {
    let p = arch::rdmsr(arch::MSR_GS_BASE);
    if p == 0 {
        return None;
    }
    // SAFETY: GS base is only ever set to a leaked, never-freed `PerCpu` by `init_this_cpu`.
    Some(unsafe { &*(p as *const PerCpu) })
}
