//! Clocks and sleeping: clock_gettime/getres, gettimeofday, time, nanosleep, clock_nanosleep.

use core::sync::atomic::Ordering;

use abi::errno::Errno;
use abi::layout::{Timespec, Timeval};

use super::{Args, Result};
use crate::proc::task::Task;
use crate::time;

const CLOCK_REALTIME: u32 = 0;
const CLOCK_MONOTONIC: u32 = 1;
const CLOCK_PROCESS_CPUTIME_ID: u32 = 2;
const CLOCK_THREAD_CPUTIME_ID: u32 = 3;
const CLOCK_MONOTONIC_RAW: u32 = 4;
const CLOCK_REALTIME_COARSE: u32 = 5;
const CLOCK_MONOTONIC_COARSE: u32 = 6;
const CLOCK_BOOTTIME: u32 = 7;
const TIMER_ABSTIME: u32 = 1;

fn ts(ns: i64) -> Timespec {
    Timespec {
        sec: ns.div_euclid(1_000_000_000),
        nsec: ns.rem_euclid(1_000_000_000),
    }
}

/// CPU time of the calling process (its one thread) in ns.
fn cpu_ns() -> u64 {
    let t = crate::sched::current();
    (t.user_ticks.load(Ordering::Relaxed) + t.sys_ticks.load(Ordering::Relaxed)) * time::TICK_NS
}

fn clock_ns(clock: u32) -> core::result::Result<i64, Errno> {
    Ok(match clock {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE => time::realtime_ns(),
        CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME => {
            time::monotonic_ns() as i64
        }
        CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => cpu_ns() as i64,
        _ => return Err(Errno::EINVAL),
    })
}

pub fn clock_gettime(t: &mut Task, a: Args) -> Result {
    let now = clock_ns(a.u32(0))?;
    t.write_user(a.0[1], &ts(now).to_bytes())?;
    Ok(0)
}

pub fn clock_getres(t: &mut Task, a: Args) -> Result {
    let res = match a.u32(0) {
        CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => time::TICK_NS as i64,
        c => {
            clock_ns(c)?;
            1
        }
    };
    if a.0[1] != 0 {
        t.write_user(a.0[1], &ts(res).to_bytes())?;
    }
    Ok(0)
}

pub fn gettimeofday(t: &mut Task, a: Args) -> Result {
    if a.0[0] != 0 {
        let now = time::realtime_ns();
        let tv = Timeval {
            sec: now.div_euclid(1_000_000_000),
            usec: now.rem_euclid(1_000_000_000) / 1000,
        };
        t.write_user(a.0[0], &tv.to_bytes())?;
    }
    if a.0[1] != 0 {
        t.write_user(a.0[1], &[0u8; 8])?; // struct timezone: UTC
    }
    Ok(0)
}

pub fn time(t: &mut Task, a: Args) -> Result {
    let secs = time::realtime_ns().div_euclid(1_000_000_000);
    if a.0[0] != 0 {
        t.write_u64(a.0[0], secs as u64)?;
    }
    Ok(secs as u64)
}

fn read_timespec(t: &Task, addr: u64) -> core::result::Result<Timespec, Errno> {
    let mut b = [0u8; 16];
    t.read_user(addr, &mut b)?;
    let v = Timespec::from_bytes(&b);
    if !v.is_valid() {
        return Err(Errno::EINVAL);
    }
    Ok(v)
}

/// A sleep a signal cut short: the time left goes to `rem` (if given) and the call fails
/// with EINTR after a handler, or restarts when no handler runs (Linux's restart block; the
/// restarted call sleeps the whole request again, which only matters to a stopped process).
fn interrupted_sleep(t: &Task, rem: u64, left: u64) -> Result {
    if rem != 0 {
        t.write_user(rem, &Timespec::from_nanos(left).to_bytes())?;
    }
    Err(Errno::ERESTARTNOHAND)
}

pub fn nanosleep(t: &mut Task, a: Args) -> Result {
    let req = read_timespec(t, a.0[0])?;
    let deadline = time::monotonic_ns().saturating_add(req.as_nanos().unwrap_or(u64::MAX));
    match time::sleep_interruptible(deadline) {
        0 => Ok(0),
        left => interrupted_sleep(t, a.0[1], left),
    }
}

pub fn clock_nanosleep(t: &mut Task, a: Args) -> Result {
    let clock = a.u32(0);
    match clock {
        CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_BOOTTIME => {}
        CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => return Err(Errno::EOPNOTSUPP),
        _ => return Err(Errno::EINVAL),
    }
    let req = read_timespec(t, a.0[2])?.as_nanos().unwrap_or(u64::MAX);
    let abs = a.u32(1) & TIMER_ABSTIME != 0;
    let wait = if abs {
        let now = clock_ns(clock)?;
        (req as i64).saturating_sub(now).max(0) as u64
    } else {
        req
    };
    match time::sleep_interruptible(time::monotonic_ns().saturating_add(wait)) {
        0 => Ok(0),
        // An absolute sleep leaves no remainder to report.
        left => interrupted_sleep(t, if abs { 0 } else { a.0[3] }, left),
    }
}
