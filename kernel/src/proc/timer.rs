//! ITIMER_REAL (alarm, setitimer): one timer per process, kept in a list the timer tick scans;
//! a timer that expires sends SIGALRM and re-arms itself with its interval.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use hal::sync::SpinLock;

use super::Process;
use super::signal::{self, SigInfo};

struct Timer {
    pid: u32,
    proc: Weak<Process>,
    deadline: u64,
    interval: u64,
}

static TIMERS: SpinLock<Vec<Timer>> = SpinLock::new(Vec::new());

/// The running timer of `p`: (ns left, interval).
pub fn get(p: &Arc<Process>) -> Option<(u64, u64)> {
    let now = crate::time::monotonic_ns();
    TIMERS
        .lock()
        .iter()
        .find(|t| t.pid == p.pid && t.proc.upgrade().is_some_and(|x| Arc::ptr_eq(&x, p)))
        .map(|t| (t.deadline.saturating_sub(now), t.interval))
}

/// Arm (or with `None`, disarm) the timer of `p`; returns the ns the old one had left.
pub fn set_alarm(p: &Arc<Process>, deadline: Option<u64>, interval: u64) -> Option<u64> {
    let now = crate::time::monotonic_ns();
    let mut list = TIMERS.lock();
    let mut old = None;
    list.retain(|t| {
        let mine = t.pid == p.pid;
        if mine {
            old = Some(t.deadline.saturating_sub(now));
        }
        !mine && t.proc.strong_count() > 0
    });
    if let Some(d) = deadline {
        list.push(Timer {
            pid: p.pid,
            proc: Arc::downgrade(p),
            deadline: d,
            interval,
        });
    }
    old
}

/// From the timer tick: fire what is due.
pub fn tick() {
    let now = crate::time::monotonic_ns();
    let mut due = Vec::new();
    {
        let Some(mut list) = TIMERS.try_lock() else {
            return;
        };
        if list.is_empty() {
            return;
        }
        list.retain_mut(|t| {
            if t.deadline > now {
                return true;
            }
            if let Some(p) = t.proc.upgrade() {
                due.push(p);
            }
            if t.interval > 0 {
                t.deadline = now + t.interval;
                true
            } else {
                false
            }
        });
    }
    for p in due {
        signal::send(&p, SigInfo::user(signal::SIGALRM, signal::SI_KERNEL, 0, 0));
    }
}
