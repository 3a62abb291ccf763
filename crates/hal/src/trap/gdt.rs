//! Per-CPU GDT and TSS. The TSS carries the interrupt stack table: double faults, NMIs and
//! machine checks run on their own guarded stacks, so a kernel stack overflow can still be
//! reported. Selector layout matches what `syscall`/`sysret` need (STAR):
//! 0x08 kernel code, 0x10 kernel data, 0x18 user code (32-bit, unused), 0x20 user data,
//! 0x28 user code (64-bit), 0x30 TSS (two slots).

use core::arch::asm;
use core::mem::size_of;

use alloc::boxed::Box;

use crate::mem::stack::KernelStack;

pub const KERNEL_CS: u16 = 0x08;
pub const KERNEL_DS: u16 = 0x10;
pub const USER_DS: u16 = 0x20 | 3;
pub const USER_CS: u16 = 0x28 | 3;
pub const TSS_SEL: u16 = 0x30;

pub const IST_DOUBLE_FAULT: u8 = 1;
pub const IST_NMI: u8 = 2;
pub const IST_MACHINE_CHECK: u8 = 3;

#[repr(C, packed(4))]
#[derive(Default)]
pub struct Tss {
    _reserved0: u32,
    pub rsp: [u64; 3],
    _reserved1: u64,
    pub ist: [u64; 7],
    _reserved2: u64,
    _reserved3: u16,
    pub iomap_base: u16,
}

/// One CPU's descriptor tables and the stacks its TSS points to.
pub struct CpuTables {
    gdt: [u64; 8],
    pub tss: Tss,
    _ist_stacks: [KernelStack; 3],
}

fn tss_descriptor(base: u64, limit: u64) -> (u64, u64) {
    let low = (limit & 0xffff)
        | ((base & 0xff_ffff) << 16)
        | (0x89 << 40) // present, 64-bit available TSS
        | (((limit >> 16) & 0xf) << 48)
        | (((base >> 24) & 0xff) << 56);
    (low, base >> 32)
}

impl CpuTables {
    /// Build the tables (heap-allocated, never freed: they live as long as the CPU).
    pub fn new() -> Option<&'static mut CpuTables> {
        let stacks = [
            KernelStack::new()?,
            KernelStack::new()?,
            KernelStack::new()?,
        ];
        let mut t = Box::new(CpuTables {
            gdt: [0; 8],
            tss: Tss::default(),
            _ist_stacks: stacks,
        });
        t.tss.ist[IST_DOUBLE_FAULT as usize - 1] = t._ist_stacks[0].top();
        t.tss.ist[IST_NMI as usize - 1] = t._ist_stacks[1].top();
        t.tss.ist[IST_MACHINE_CHECK as usize - 1] = t._ist_stacks[2].top();
        t.tss.iomap_base = size_of::<Tss>() as u16; // no I/O permission bitmap
        let tss_addr = core::ptr::addr_of!(t.tss) as u64;
        let (lo, hi) = tss_descriptor(tss_addr, size_of::<Tss>() as u64 - 1);
        t.gdt = [
            0,
            0x00af_9a00_0000_ffff, // kernel code, 64-bit
            0x00cf_9200_0000_ffff, // kernel data
            0x00cf_fa00_0000_ffff, // user code, 32-bit
            0x00cf_f200_0000_ffff, // user data
            0x00af_fa00_0000_ffff, // user code, 64-bit
            lo,
            hi,
        ];
        Some(Box::leak(t))
    }

    /// Load this GDT and TSS on the current CPU and reload the segment registers.
    pub fn load(&'static self) {
        #[repr(C, packed)]
        struct Pointer {
            limit: u16,
            base: u64,
        }
        let ptr = Pointer {
            limit: (size_of::<[u64; 8]>() - 1) as u16,
            base: self.gdt.as_ptr() as u64,
        };
        // SAFETY: the GDT is 'static and its code/data descriptors match the selectors the
        // running code uses; the far return reloads CS with the same kernel code selector.
        unsafe {
            asm!(
                "lgdt [{ptr}]",
                "mov ax, {ds}",
                "mov ds, ax",
                "mov es, ax",
                "mov ss, ax",
                "push {cs}",
                "lea rax, [rip + 2f]",
                "push rax",
                "retfq",
                "2:",
                "mov ax, {tss}",
                "ltr ax",
                ptr = in(reg) &ptr,
                ds = const KERNEL_DS,
                cs = const KERNEL_CS as u64,
                tss = const TSS_SEL,
                out("rax") _,
            );
        }
    }

    /// Set the stack the CPU switches to on a trap from user mode.
    pub fn set_kernel_stack(&mut self, top: u64) {
        self.tss.rsp[0] = top;
    }
}
