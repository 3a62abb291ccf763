//! wait4 and waitid: find a child that matches (pid > 0: that child; -1: any; 0: same process
//! group as the caller; < -1: process group -pid), reap it if it is a zombie, otherwise sleep
//! until one changes state — or return at once with WNOHANG, or ECHILD if nothing matches.

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use abi::errno::Errno;
use abi::wait::{WCONTINUED, WEXITED, WNOHANG, WNOWAIT, WUNTRACED};

use super::{ProcState, Process};

#[derive(Clone, Copy, Debug)]
pub enum Selector {
    Pid(u32),
    Any,
    Pgid(u32),
}

impl Selector {
    /// wait4's pid argument.
    pub fn from_wait4(pid: i32, caller: &Process) -> Selector {
        match pid {
            p if p > 0 => Selector::Pid(p as u32),
            -1 => Selector::Any,
            0 => Selector::Pgid(caller.pgid.load(Ordering::Relaxed)),
            p => Selector::Pgid(p.unsigned_abs()),
        }
    }

    fn matches(&self, c: &Process) -> bool {
        match *self {
            Selector::Pid(p) => c.pid == p,
            Selector::Any => true,
            Selector::Pgid(g) => c.pgid.load(Ordering::Relaxed) == g,
        }
    }
}

/// A reaped (or, with WNOWAIT, observed) child.
pub struct Reaped {
    pub pid: u32,
    pub uid: u32,
    pub status: i32,
    pub user_ns: u64,
    pub sys_ns: u64,
    pub max_rss_pages: u64,
}

enum Scan {
    Found(Reaped),
    NoneYet,
    NoChild,
}

fn scan(parent: &Arc<Process>, sel: Selector, options: i32) -> Scan {
    let mut children = parent.children.lock();
    let mut any = false;
    let mut found = None;
    for (i, c) in children.iter().enumerate() {
        if !sel.matches(c) {
            continue;
        }
        any = true;
        if let ProcState::Zombie(status) = *c.state.lock() {
            // A group whose other threads are still ending is not waitable yet (Linux's
            // delay_group_leader): its exit is reported when the last thread is gone.
            if options & WEXITED != 0 && c.exit_reported.load(Ordering::Acquire) {
                found = Some((i, status));
                break;
            }
            continue;
        }
        // A stop or continue not yet reported, if the caller asked for those.
        let mut job = c.job.lock();
        let wanted = match job.report {
            Some(st) if st == abi::wait::continued() => options & WCONTINUED != 0,
            Some(_) => options & WUNTRACED != 0,
            None => false,
        };
        if wanted && let Some(st) = job.report {
            if options & WNOWAIT == 0 {
                job.report = None;
            }
            let r = Reaped {
                pid: c.pid,
                uid: c.creds.lock().uid,
                status: st,
                user_ns: 0,
                sys_ns: 0,
                max_rss_pages: 0,
            };
            return Scan::Found(r);
        }
    }
    let Some((i, status)) = found else {
        return if any { Scan::NoneYet } else { Scan::NoChild };
    };
    let c = children[i].clone();
    let t = &c.times;
    let r = Reaped {
        pid: c.pid,
        uid: c.creds.lock().uid,
        status,
        user_ns: t.user_ns.load(Ordering::Relaxed) + t.child_user_ns.load(Ordering::Relaxed),
        sys_ns: t.sys_ns.load(Ordering::Relaxed) + t.child_sys_ns.load(Ordering::Relaxed),
        max_rss_pages: t
            .max_rss_pages
            .load(Ordering::Relaxed)
            .max(t.child_max_rss_pages.load(Ordering::Relaxed)),
    };
    if options & WNOWAIT == 0 {
        children.remove(i);
        drop(children);
        c.forget();
        let pt = &parent.times;
        pt.child_user_ns.fetch_add(r.user_ns, Ordering::Relaxed);
        pt.child_sys_ns.fetch_add(r.sys_ns, Ordering::Relaxed);
        pt.child_max_rss_pages
            .fetch_max(r.max_rss_pages, Ordering::Relaxed);
    }
    Scan::Found(r)
}

/// Wait for a child per `sel`; Ok(None) means WNOHANG and nothing ready.
pub fn wait(parent: &Arc<Process>, sel: Selector, options: i32) -> Result<Option<Reaped>, Errno> {
    parent
        .child_events
        .wait_until(|| match scan(parent, sel, options) {
            Scan::Found(r) => Some(Ok(Some(r))),
            Scan::NoChild => Some(Err(Errno::ECHILD)),
            Scan::NoneYet if options & WNOHANG != 0 => Some(Ok(None)),
            Scan::NoneYet if crate::sched::signal_wakeup() => Some(Err(Errno::ERESTARTSYS)),
            Scan::NoneYet => None,
        })
}
