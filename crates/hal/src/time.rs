//! Time: the TSC calibrated against the PIT, the local APIC timer calibrated in the same window,
//! a periodic tick, and time since boot in nanoseconds.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::{self, inb, outb};
use crate::{apic, trap};

static TSC_HZ: AtomicU64 = AtomicU64::new(0);
static BOOT_TSC: AtomicU64 = AtomicU64::new(0);
static TICKS: AtomicU64 = AtomicU64::new(0);
static TICK_HZ: AtomicU64 = AtomicU64::new(0);
static APIC_TICKS_PER_SEC: AtomicU64 = AtomicU64::new(0);

const PIT_HZ: u64 = 1_193_182;

pub(crate) fn set_boot_tsc(tsc: u64) {
    BOOT_TSC.store(tsc, Ordering::Relaxed);
}

/// Measure the TSC and the local APIC timer against PIT channel 2 over `ms` milliseconds.
/// Returns (TSC Hz, APIC timer ticks per second at divide-by-16).
pub fn calibrate(ms: u64) -> (u64, u64) {
    let count = PIT_HZ * ms / 1000;
    arch::without_interrupts(|| {
        // Gate high, speaker off; channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count).
        outb(0x61, (inb(0x61) & !0x02) | 0x01);
        outb(0x43, 0xB0);
        outb(0x42, count as u8);
        outb(0x42, (count >> 8) as u8);
        // Restart the count by toggling the gate.
        let g = inb(0x61) & !0x01;
        outb(0x61, g);
        outb(0x61, g | 0x01);
        apic::timer_start_calibration();
        let t0 = arch::rdtsc();
        while !apic::pit_channel2_done() {
            arch::pause();
        }
        let t1 = arch::rdtsc();
        let apic_ticks = u64::from(apic::timer_elapsed());
        let tsc_hz = (t1 - t0) * 1000 / ms;
        let apic_hz = apic_ticks * 1000 / ms;
        TSC_HZ.store(tsc_hz, Ordering::Relaxed);
        APIC_TICKS_PER_SEC.store(apic_hz, Ordering::Relaxed);
        (tsc_hz, apic_hz)
    })
}

/// Start the periodic tick at `hz` on this CPU, calling `on_tick` from the interrupt.
pub fn start_tick(hz: u64) {
    TICK_HZ.store(hz, Ordering::Relaxed);
    trap::register_irq(trap::VEC_TIMER, tick);
    let per_tick = APIC_TICKS_PER_SEC.load(Ordering::Relaxed) / hz.max(1);
    apic::timer_periodic(trap::VEC_TIMER, per_tick.min(u64::from(u32::MAX)) as u32);
}

static TICK_HOOK: crate::sync::Once<fn(bool)> = crate::sync::Once::new();

/// Run `hook(from_user)` on every tick (sleepers, time slices, CPU-time accounting).
pub fn set_tick_hook(hook: fn(bool)) {
    TICK_HOOK.call_once(|| hook);
}

fn tick(frame: &mut trap::TrapFrame) {
    TICKS.fetch_add(1, Ordering::Relaxed);
    if let Some(h) = TICK_HOOK.get() {
        h(frame.from_user());
    }
}

pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

pub fn tick_hz() -> u64 {
    TICK_HZ.load(Ordering::Relaxed)
}

pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// TSC value at the first instruction of the kernel.
pub fn boot_tsc() -> u64 {
    BOOT_TSC.load(Ordering::Relaxed)
}

/// Nanoseconds since the kernel's first instruction (0 before calibration).
pub fn uptime_ns() -> u64 {
    let hz = tsc_hz();
    if hz == 0 {
        return 0;
    }
    let delta = arch::rdtsc().saturating_sub(boot_tsc());
    (u128::from(delta) * 1_000_000_000 / u128::from(hz)) as u64
}

/// Busy-wait for `us` microseconds (TSC based).
pub fn delay_us(us: u64) {
    let hz = tsc_hz().max(1_000_000);
    let end = arch::rdtsc() + hz / 1_000_000 * us;
    while arch::rdtsc() < end {
        arch::pause();
    }
}
