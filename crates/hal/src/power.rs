//! Power off and reset: ACPI soft-off through the PM1 control blocks, ACPI/chipset/keyboard
//! controller resets, a triple fault as the last resort, and QEMU's isa-debug-exit device for
//! leaving the emulator with a chosen status (used on panic so a test run sees the failure).

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::arch::{self, outb, outw};

/// I/O port of QEMU's `-device isa-debug-exit,iobase=0xf4,iosize=0x04`.
pub const DEBUG_EXIT_PORT: u16 = 0xf4;

static PM1A_CNT: AtomicU32 = AtomicU32::new(0);
static PM1B_CNT: AtomicU32 = AtomicU32::new(0);
static SLP_TYP: AtomicU32 = AtomicU32::new(0);
/// Reset register: port in the low 16 bits, value in bits 16..24, bit 32 set if present.
static RESET: AtomicU64 = AtomicU64::new(0);

/// Record what ACPI's FADT and DSDT told us.
pub fn configure_acpi(
    pm1a_cnt: u32,
    pm1b_cnt: u32,
    slp_typ_a: u8,
    slp_typ_b: u8,
    reset_port: Option<(u16, u8)>,
) {
    PM1A_CNT.store(pm1a_cnt, Ordering::Relaxed);
    PM1B_CNT.store(pm1b_cnt, Ordering::Relaxed);
    SLP_TYP.store(
        u32::from(slp_typ_a) | (u32::from(slp_typ_b) << 8),
        Ordering::Relaxed,
    );
    if let Some((port, value)) = reset_port {
        RESET.store(
            (1 << 32) | (u64::from(value) << 16) | u64::from(port),
            Ordering::Relaxed,
        );
    }
}

/// Leave QEMU with status `(code << 1) | 1` if the debug-exit device exists; returns otherwise.
pub fn qemu_exit(code: u8) {
    outl_debug_exit(u32::from(code));
}

fn outl_debug_exit(v: u32) {
    crate::arch::outl(DEBUG_EXIT_PORT, v);
}

/// Turn the machine off. Falls back to halting if no method works.
pub fn power_off() -> ! {
    arch::disable_interrupts();
    let a = PM1A_CNT.load(Ordering::Relaxed);
    let b = PM1B_CNT.load(Ordering::Relaxed);
    let typ = SLP_TYP.load(Ordering::Relaxed);
    const SLP_EN: u16 = 1 << 13;
    if a != 0 {
        outw(a as u16, (((typ & 7) as u16) << 10) | SLP_EN);
        if b != 0 {
            outw(b as u16, ((((typ >> 8) & 7) as u16) << 10) | SLP_EN);
        }
    }
    crate::time::delay_us(100_000);
    crate::kprintln!("power off failed: halting");
    arch::halt_forever()
}

/// Reset the machine.
pub fn reboot() -> ! {
    arch::disable_interrupts();
    let r = RESET.load(Ordering::Relaxed);
    if r & (1 << 32) != 0 {
        outb(r as u16, (r >> 16) as u8);
        crate::time::delay_us(10_000);
    }
    outb(0xCF9, 0x06); // PCI reset control: hard reset
    crate::time::delay_us(10_000);
    outb(0x64, 0xFE); // keyboard controller pulses the reset line
    crate::time::delay_us(10_000);
    crate::trap::idt::load_empty();
    // A breakpoint with no IDT triple-faults, which resets the CPU.
    x86_int3();
    arch::halt_forever()
}

fn x86_int3() {
    // SAFETY: raises #BP deliberately; with the empty IDT installed this resets the machine.
    unsafe { core::arch::asm!("int3", options(nomem, nostack)) }
}
