//! Timers that send signals: ITIMER_REAL (alarm, setitimer), ITIMER_VIRTUAL and ITIMER_PROF
//! (process CPU time, user only or user and system), and POSIX timers (timer_create on
//! CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME). Wall-clock timers sit in one list the
//! timer tick scans; CPU-time timers count down with the ticks charged to the process.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use hal::sync::SpinLock;

use super::Process;
use super::signal::{self, SigInfo};

/// What a wall-clock timer does when it fires.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// ITIMER_REAL: SIGALRM.
    Real,
    /// A POSIX timer: its id, signal (0: SIGEV_NONE), value, and thread (SIGEV_THREAD_ID).
    Posix {
        id: i32,
        signo: u32,
        value: u64,
        tid: u32,
        realtime: bool,
    },
}

struct Timer {
    pid: u32,
    proc: Weak<Process>,
    kind: Kind,
    /// Monotonic deadline, or None while disarmed (POSIX timers exist disarmed).
    deadline: Option<u64>,
    interval: u64,
    overrun: u32,
}

static TIMERS: SpinLock<Vec<Timer>> = SpinLock::new(Vec::new());

/// Give memory back once the list has shrunk well below its capacity: a process that made
/// its 1024 POSIX timers and ended would otherwise leave the list's high-water mark (80 KiB
/// per thousand timers) allocated for good.
fn trim(list: &mut Vec<Timer>) {
    if list.capacity() > 16 && list.len() < list.capacity() / 4 {
        list.shrink_to(list.len() * 2);
    }
}

/// The process is exiting: its timers go with it (a zombie's alarm must not fire).
pub fn exit(p: &Arc<Process>) {
    let mut list = TIMERS.lock();
    list.retain(|t| t.pid != p.pid && t.proc.strong_count() > 0);
    trim(&mut list);
}

fn mine(t: &Timer, p: &Arc<Process>) -> bool {
    t.pid == p.pid && t.proc.upgrade().is_some_and(|x| Arc::ptr_eq(&x, p))
}

/// The ITIMER_REAL of `p`: (ns left, interval).
pub fn get(p: &Arc<Process>) -> Option<(u64, u64)> {
    let now = crate::time::monotonic_ns();
    TIMERS
        .lock()
        .iter()
        .find(|t| t.kind == Kind::Real && mine(t, p))
        .and_then(|t| t.deadline.map(|d| (d.saturating_sub(now), t.interval)))
}

/// Arm (or with `None`, disarm) the ITIMER_REAL of `p`; returns the ns the old one had left.
pub fn set_alarm(p: &Arc<Process>, deadline: Option<u64>, interval: u64) -> Option<u64> {
    let now = crate::time::monotonic_ns();
    let mut list = TIMERS.lock();
    let mut old = None;
    list.retain(|t| {
        let it = t.kind == Kind::Real && t.pid == p.pid;
        if it {
            old = t.deadline.map(|d| d.saturating_sub(now));
        }
        !it && t.proc.strong_count() > 0
    });
    // Out of memory: the timer stays disarmed (the kernel keeps going).
    if let Some(d) = deadline
        && list.try_reserve(1).is_ok()
    {
        list.push(Timer {
            pid: p.pid,
            proc: Arc::downgrade(p),
            kind: Kind::Real,
            deadline: Some(d),
            interval,
            overrun: 0,
        });
    }
    old
}

/// POSIX timers one process may have (Linux counts them against RLIMIT_SIGPENDING); past it
/// timer_create fails with EAGAIN instead of growing the kernel's list without bound.
pub const MAX_POSIX_TIMERS: usize = 1024;

/// timer_create: a disarmed POSIX timer; returns its id (None: the process has too many, or
/// memory ran out).
pub fn create(
    p: &Arc<Process>,
    signo: u32,
    value: Option<u64>,
    tid: u32,
    realtime: bool,
) -> Option<i32> {
    let mut list = TIMERS.lock();
    list.retain(|t| t.proc.strong_count() > 0);
    let mut used: Vec<i32> = Vec::new();
    for t in list.iter().filter(|t| mine(t, p)) {
        if let Kind::Posix { id, .. } = t.kind {
            used.try_reserve(1).ok()?;
            used.push(id);
        }
    }
    if used.len() >= MAX_POSIX_TIMERS {
        return None;
    }
    used.sort_unstable();
    // The lowest free id, as Linux hands them out.
    let id = used
        .iter()
        .enumerate()
        .find(|&(i, &id)| id != i as i32)
        .map_or(used.len() as i32, |(i, _)| i as i32);
    list.try_reserve(1).ok()?;
    list.push(Timer {
        pid: p.pid,
        proc: Arc::downgrade(p),
        kind: Kind::Posix {
            id,
            signo,
            value: value.unwrap_or(id as u64),
            tid,
            realtime,
        },
        deadline: None,
        interval: 0,
        overrun: 0,
    });
    Some(id)
}

fn with_posix<R>(p: &Arc<Process>, id: i32, f: impl FnOnce(&mut Timer) -> R) -> Option<R> {
    let mut list = TIMERS.lock();
    list.iter_mut()
        .find(|t| mine(t, p) && matches!(t.kind, Kind::Posix { id: i, .. } if i == id))
        .map(f)
}

/// timer_settime: `value` ns from now, or with `abs` the time on the timer's clock (0
/// disarms). Returns the old (ns left, interval), or None for a bad id.
pub fn settime(
    p: &Arc<Process>,
    id: i32,
    value: u64,
    abs: bool,
    interval: u64,
) -> Option<(u64, u64)> {
    let now = crate::time::monotonic_ns();
    with_posix(p, id, |t| {
        let realtime = matches!(t.kind, Kind::Posix { realtime: true, .. });
        let deadline = if value == 0 {
            None
        } else if !abs {
            Some(now.saturating_add(value))
        } else if realtime {
            let real_now = crate::time::realtime_ns().max(0) as u64;
            Some(now.saturating_add(value.saturating_sub(real_now)))
        } else {
            Some(value)
        };
        let interval = if value > 0 { interval } else { 0 };
        let old = (t.deadline.map_or(0, |d| d.saturating_sub(now)), t.interval);
        t.deadline = deadline;
        t.interval = interval;
        t.overrun = 0;
        old
    })
}

/// timer_gettime: (ns left, interval).
pub fn gettime(p: &Arc<Process>, id: i32) -> Option<(u64, u64)> {
    let now = crate::time::monotonic_ns();
    with_posix(p, id, |t| {
        (t.deadline.map_or(0, |d| d.saturating_sub(now)), t.interval)
    })
}

pub fn getoverrun(p: &Arc<Process>, id: i32) -> Option<u32> {
    with_posix(p, id, |t| t.overrun)
}

pub fn delete(p: &Arc<Process>, id: i32) -> bool {
    let mut list = TIMERS.lock();
    let before = list.len();
    list.retain(|t| !(mine(t, p) && matches!(t.kind, Kind::Posix { id: i, .. } if i == id)));
    trim(&mut list);
    list.len() != before
}

/// execve deletes the POSIX timers (ITIMER_REAL survives, as on Linux).
pub fn exec(p: &Arc<Process>) {
    let mut list = TIMERS.lock();
    list.retain(|t| !(t.pid == p.pid && matches!(t.kind, Kind::Posix { .. })));
    trim(&mut list);
}

/// From the timer tick: fire what is due.
pub fn tick() {
    let now = crate::time::monotonic_ns();
    let mut due: Vec<(Arc<Process>, Kind, u32)> = Vec::new();
    {
        let Some(mut list) = TIMERS.try_lock() else {
            return;
        };
        if list.is_empty() {
            return;
        }
        list.retain_mut(|t| {
            let Some(d) = t.deadline else {
                return t.proc.strong_count() > 0;
            };
            if d > now {
                return true;
            }
            match t.proc.upgrade() {
                Some(p) => due.push((p, t.kind, t.overrun)),
                None => return false,
            }
            match (now - d).checked_div(t.interval) {
                // Periods missed while the tick was late count as overruns.
                Some(missed) => {
                    t.overrun = missed.min(u64::from(i32::MAX as u32)) as u32;
                    // Intervals are as large as user space likes: saturate, never overflow.
                    t.deadline = Some(d.saturating_add((missed + 1).saturating_mul(t.interval)));
                    true
                }
                None => {
                    t.deadline = None;
                    matches!(t.kind, Kind::Posix { .. })
                }
            }
        });
    }
    for (p, kind, overrun) in due {
        match kind {
            Kind::Real => signal::send(&p, SigInfo::user(signal::SIGALRM, signal::SI_KERNEL, 0, 0)),
            Kind::Posix {
                id,
                signo,
                value,
                tid,
                ..
            } if signo != 0 => {
                let mut info = SigInfo::user(signo, SI_TIMER, 0, 0);
                // si_timerid and si_overrun sit where kill's si_pid and si_uid do.
                info.pid = id as u32;
                info.uid = overrun;
                info.value = value;
                if tid != 0 {
                    signal::send_thread(&p, tid, info);
                } else {
                    signal::send(&p, info);
                }
            }
            Kind::Posix { .. } => {}
        }
    }
}

const SI_TIMER: i32 = -2;

/// ITIMER_VIRTUAL and ITIMER_PROF of one process: (ns left, interval), counted down by ticks.
#[derive(Default, Clone, Copy)]
pub struct CpuTimers {
    pub virt: (u64, u64),
    pub prof: (u64, u64),
}

/// A tick charged to the process `p` (user or kernel time): count its CPU timers down.
pub fn cpu_tick(p: &Process, from_user: bool) {
    let tick = crate::time::TICK_NS;
    let mut fire = [false; 2];
    {
        let Some(mut c) = p.cpu_timers.try_lock() else {
            return;
        };
        let mut step = |t: &mut (u64, u64), i: usize| {
            if t.0 == 0 {
                return;
            }
            if t.0 <= tick {
                fire[i] = true;
                t.0 = t.1;
            } else {
                t.0 -= tick;
            }
        };
        if from_user {
            step(&mut c.virt, 0);
        }
        step(&mut c.prof, 1);
    }
    if fire[0] {
        signal::send(p, SigInfo::user(SIGVTALRM, signal::SI_KERNEL, 0, 0));
    }
    if fire[1] {
        signal::send(p, SigInfo::user(SIGPROF, signal::SI_KERNEL, 0, 0));
    }
}

const SIGVTALRM: u32 = 26;
const SIGPROF: u32 = 27;
