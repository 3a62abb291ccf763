//! Interrupt controllers: the local APIC of each CPU (timer, EOI), the I/O APIC that routes
//! device lines (the serial port) to vectors, and the legacy 8259 PICs, which are remapped away
//! from the exception vectors and masked.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::{self, inb, outb};
use crate::mem::paging::map_mmio;
use crate::trap::VEC_SPURIOUS;

static LAPIC: AtomicU64 = AtomicU64::new(0);

const REG_ID: u32 = 0x20;
const REG_VERSION: u32 = 0x30;
const REG_EOI: u32 = 0xB0;
const REG_SVR: u32 = 0xF0;
const REG_ISR: u32 = 0x100;
const REG_LVT_TIMER: u32 = 0x320;
const REG_LVT_LINT0: u32 = 0x350;
const REG_LVT_LINT1: u32 = 0x360;
const REG_TIMER_INIT: u32 = 0x380;
const REG_TIMER_CURRENT: u32 = 0x390;
const REG_TIMER_DIVIDE: u32 = 0x3E0;
const LVT_MASKED: u32 = 1 << 16;
const TIMER_PERIODIC: u32 = 1 << 17;

fn read(reg: u32) -> u32 {
    let base = LAPIC.load(Ordering::Relaxed);
    if base == 0 {
        return 0;
    }
    // SAFETY: `base` maps the local APIC's 4 KiB register page uncached (set in `init`).
    unsafe { core::ptr::read_volatile((base + u64::from(reg)) as *const u32) }
}

fn write(reg: u32, value: u32) {
    let base = LAPIC.load(Ordering::Relaxed);
    if base == 0 {
        return;
    }
    // SAFETY: as for `read`.
    unsafe { core::ptr::write_volatile((base + u64::from(reg)) as *mut u32, value) }
}

/// Remap the 8259 PICs to vectors 0x20..0x30 and mask every line.
fn disable_pic() {
    outb(0x20, 0x11);
    outb(0xA0, 0x11);
    outb(0x21, 0x20);
    outb(0xA1, 0x28);
    outb(0x21, 4);
    outb(0xA1, 2);
    outb(0x21, 1);
    outb(0xA1, 1);
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
}

/// Map and enable this CPU's local APIC. `phys` comes from ACPI's MADT (or the MSR).
pub fn init(phys: u64) -> Result<(), &'static str> {
    disable_pic();
    let msr = arch::rdmsr(arch::MSR_APIC_BASE);
    arch::wrmsr(arch::MSR_APIC_BASE, msr | (1 << 11)); // globally enabled, xAPIC mode
    let base = if phys != 0 { phys } else { msr & 0xffff_f000 };
    let va = map_mmio(base, 4096).map_err(|_| "cannot map the local APIC")?;
    LAPIC.store(va, Ordering::Relaxed);
    write(REG_SVR, 0x100 | u32::from(VEC_SPURIOUS));
    write(REG_LVT_LINT0, LVT_MASKED);
    write(REG_LVT_LINT1, 0x400); // NMI delivery
    write(REG_LVT_TIMER, LVT_MASKED);
    Ok(())
}

pub fn id() -> u32 {
    read(REG_ID) >> 24
}

pub fn version() -> u32 {
    read(REG_VERSION) & 0xff
}

pub fn eoi() {
    write(REG_EOI, 0);
}

/// Whether `vector` is in service at the local APIC (to tell real from spurious PIC IRQs).
pub fn in_service(vector: u8) -> bool {
    let reg = REG_ISR + u32::from(vector / 32) * 0x10;
    read(reg) & (1 << (vector % 32)) != 0
}

/// Divide-by-16 configuration.
const DIVIDE_16: u32 = 0b0011;

/// Start the timer counting down from the maximum, masked, for calibration.
pub fn timer_start_calibration() {
    write(REG_TIMER_DIVIDE, DIVIDE_16);
    write(REG_LVT_TIMER, LVT_MASKED);
    write(REG_TIMER_INIT, u32::MAX);
}

/// Ticks elapsed since `timer_start_calibration`.
pub fn timer_elapsed() -> u32 {
    u32::MAX - read(REG_TIMER_CURRENT)
}

/// Fire `vector` every `count` timer ticks (divide-by-16 ticks).
pub fn timer_periodic(vector: u8, count: u32) {
    write(REG_TIMER_DIVIDE, DIVIDE_16);
    write(REG_LVT_TIMER, TIMER_PERIODIC | u32::from(vector));
    write(REG_TIMER_INIT, count.max(1));
}

/// The I/O APIC that routes device interrupts.
pub struct IoApic {
    base: u64,
    gsi_base: u32,
}

static IOAPIC: crate::sync::SpinLock<Option<IoApic>> = crate::sync::SpinLock::new(None);

impl IoApic {
    fn write(&self, reg: u32, value: u32) {
        // SAFETY: `base` maps the I/O APIC's index/data window uncached.
        unsafe {
            core::ptr::write_volatile(self.base as *mut u32, reg);
            core::ptr::write_volatile((self.base + 0x10) as *mut u32, value);
        }
    }
    fn read(&self, reg: u32) -> u32 {
        // SAFETY: as for `write`.
        unsafe {
            core::ptr::write_volatile(self.base as *mut u32, reg);
            core::ptr::read_volatile((self.base + 0x10) as *const u32)
        }
    }
    fn max_redirect(&self) -> u32 {
        (self.read(1) >> 16) & 0xff
    }
}

/// Map the I/O APIC at `phys` serving GSIs from `gsi_base`, and mask all its lines.
pub fn ioapic_init(phys: u64, gsi_base: u32) -> Result<u32, &'static str> {
    let base = map_mmio(phys, 0x20).map_err(|_| "cannot map the I/O APIC")?;
    let io = IoApic { base, gsi_base };
    let lines = io.max_redirect() + 1;
    for i in 0..lines {
        io.write(0x10 + 2 * i, LVT_MASKED);
        io.write(0x11 + 2 * i, 0);
    }
    *IOAPIC.lock() = Some(io);
    Ok(lines)
}

/// Route global system interrupt `gsi` to `vector` on the CPU with local APIC id `dest`.
pub fn ioapic_route(
    gsi: u32,
    vector: u8,
    dest: u32,
    active_low: bool,
    level: bool,
) -> Result<(), &'static str> {
    let guard = IOAPIC.lock();
    let io = guard.as_ref().ok_or("no I/O APIC")?;
    let pin = gsi
        .checked_sub(io.gsi_base)
        .filter(|p| *p <= io.max_redirect())
        .ok_or("GSI not on this I/O APIC")?;
    let low = u32::from(vector) | (u32::from(active_low) << 13) | (u32::from(level) << 15);
    io.write(0x11 + 2 * pin, dest << 24);
    io.write(0x10 + 2 * pin, low);
    Ok(())
}

/// Read back the PIT channel-2 gate output; used only by calibration.
pub(crate) fn pit_channel2_done() -> bool {
    inb(0x61) & 0x20 != 0
}
