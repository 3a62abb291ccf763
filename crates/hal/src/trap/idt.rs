//! The interrupt descriptor table, shared by all CPUs: every vector enters through its stub;
//! double fault, NMI and machine check switch to IST stacks.

use core::arch::asm;
use core::sync::atomic::{AtomicBool, Ordering};

use super::entry::stub_address;
use super::gdt::{IST_DOUBLE_FAULT, IST_MACHINE_CHECK, IST_NMI, KERNEL_CS};
use crate::sync::SpinLock;

#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attr: u8,
    offset_mid: u16,
    offset_high: u32,
    _zero: u32,
}

impl Gate {
    const EMPTY: Gate = Gate {
        offset_low: 0,
        selector: 0,
        ist: 0,
        type_attr: 0,
        offset_mid: 0,
        offset_high: 0,
        _zero: 0,
    };

    fn new(handler: u64, ist: u8, user_callable: bool) -> Gate {
        Gate {
            offset_low: handler as u16,
            selector: KERNEL_CS,
            ist,
            type_attr: if user_callable { 0xEE } else { 0x8E }, // present interrupt gate, DPL 3 / 0
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            _zero: 0,
        }
    }
}

static IDT: SpinLock<[Gate; 256]> = SpinLock::new([Gate::EMPTY; 256]);
static LOADED: AtomicBool = AtomicBool::new(false);

/// Fill the table (once, on the boot CPU).
pub fn init() {
    let mut idt = IDT.lock();
    for v in 0..=255u8 {
        let ist = match v {
            8 => IST_DOUBLE_FAULT,
            2 => IST_NMI,
            18 => IST_MACHINE_CHECK,
            _ => 0,
        };
        // Breakpoint and overflow may be raised by user code with int3/into.
        idt[v as usize] = Gate::new(stub_address(v), ist, v == 3 || v == 4);
    }
}

/// Load the table on the current CPU.
pub fn load() {
    #[repr(C, packed)]
    struct Pointer {
        limit: u16,
        base: u64,
    }
    let base = {
        let idt = IDT.lock();
        idt.as_ptr() as u64
    };
    let ptr = Pointer {
        limit: (256 * 16 - 1) as u16,
        base,
    };
    // SAFETY: the IDT is a static whose gates all point at valid entry stubs (filled by `init`).
    unsafe { asm!("lidt [{}]", in(reg) &ptr, options(readonly, nostack, preserves_flags)) };
    LOADED.store(true, Ordering::Release);
}

pub fn is_loaded() -> bool {
    LOADED.load(Ordering::Acquire)
}

/// Forget the IDT so that the next exception triple-faults: the last-resort reset path.
pub fn load_empty() {
    let ptr = [0u8; 10];
    // SAFETY: deliberately installs an empty IDT; used only immediately before forcing a reset.
    unsafe { asm!("lidt [{}]", in(reg) ptr.as_ptr(), options(readonly, nostack, preserves_flags)) };
}
