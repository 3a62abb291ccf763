//! Kernel time services: CLOCK_REALTIME (the CMOS clock at boot plus the TSC-based monotonic
//! clock), sleeping until a deadline (sleepers wait on a queue the timer tick wakes), and CPU
//! time accounting per tick.

use core::sync::atomic::{AtomicI64, Ordering};

use crate::sched::WaitQueue;

/// Unix time in ns at the moment the monotonic clock was 0.
static REALTIME_OFFSET_NS: AtomicI64 = AtomicI64::new(0);
/// Woken at every tick; sleepers re-check their deadline.
static SLEEPERS: WaitQueue = WaitQueue::new();
pub const TICK_NS: u64 = 1_000_000_000 / crate::platform::TICK_HZ;

pub fn init(century_reg: u8) {
    let (y, mo, d, h, mi, s) = hal::rtc::read(century_reg);
    match bootinfo::unix_time(y, mo, d, h, mi, s) {
        Some(secs) => {
            let offset = secs * 1_000_000_000 - hal::time::uptime_ns() as i64;
            REALTIME_OFFSET_NS.store(offset, Ordering::Relaxed);
            log::info!("time: CMOS clock says {y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC");
        }
        None => log::warn!(
            "time: CMOS clock unreadable ({y}-{mo}-{d} {h}:{mi}:{s}); realtime starts at 1970"
        ),
    }
}

/// Nanoseconds since boot (CLOCK_MONOTONIC and CLOCK_BOOTTIME: Tine never suspends).
pub fn monotonic_ns() -> u64 {
    hal::time::uptime_ns()
}

pub fn realtime_ns() -> i64 {
    REALTIME_OFFSET_NS.load(Ordering::Relaxed) + monotonic_ns() as i64
}

/// Sleep until the monotonic clock reaches `deadline` (ns).
pub fn sleep_until(deadline: u64) {
    SLEEPERS.wait_until(|| (monotonic_ns() >= deadline).then_some(()));
}

#[allow(dead_code)]
pub fn sleep_ns(ns: u64) {
    sleep_until(monotonic_ns().saturating_add(ns));
}

/// Sleep until `deadline` unless a signal comes first; returns the ns left then (0: slept).
pub fn sleep_interruptible(deadline: u64) -> u64 {
    SLEEPERS.wait_until(|| {
        let now = monotonic_ns();
        if now >= deadline {
            Some(0)
        } else if crate::sched::signal_wakeup() {
            Some(deadline - now)
        } else {
            None
        }
    })
}

/// The timer tick: wake sleepers, run the scheduler's slice accounting, charge CPU time.
pub fn tick(from_user: bool) {
    if !SLEEPERS.is_empty() {
        SLEEPERS.wake_all();
    }
    crate::proc::futex::tick();
    crate::proc::timer::tick();
    if !crate::fs::pipe::POLL.is_empty() {
        crate::fs::pipe::POLL.wake_all();
    }
    crate::sched::tick(from_user);
}
