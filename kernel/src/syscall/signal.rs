//! Signal system calls: handlers (rt_sigaction), the mask, sending (kill, tkill, tgkill,
//! rt_sigqueueinfo), waiting (pause, rt_sigsuspend), rt_sigpending, rt_sigreturn,
//! sigaltstack and alarm. Delivery itself is `proc::signal`.

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use abi::errno::Errno;

use super::{Args, Result};
use crate::proc::signal::{self, SigInfo, UNBLOCKABLE};
use crate::proc::task::Task;
use crate::proc::{self, Process};

const SIGKILL: u64 = 9;
const SIGSTOP: u64 = 19;

/// Sleepers in pause/sigsuspend: a signal wakes its process's threads directly.
static SIGWAIT: crate::sched::WaitQueue = crate::sched::WaitQueue::new();

pub fn rt_sigaction(t: &mut Task, a: Args) -> Result {
    let (sig, act, old, size) = (a.0[0], a.0[1], a.0[2], a.0[3]);
    if size != 8 || sig == 0 || sig > 64 {
        return Err(Errno::EINVAL);
    }
    if act != 0 && (sig == SIGKILL || sig == SIGSTOP) {
        return Err(Errno::EINVAL);
    }
    let mut new = [0u8; 32];
    if act != 0 {
        t.read_user(act, &mut new)?;
    }
    let prev = t.proc.handlers().lock()[sig as usize - 1];
    if old != 0 {
        t.write_user(old, &prev)?;
    }
    if act != 0 {
        // The mask in a handler never blocks SIGKILL or SIGSTOP.
        let mut m = [0u8; 8];
        m.copy_from_slice(&new[24..32]);
        let mask = u64::from_le_bytes(m) & !UNBLOCKABLE;
        new[24..32].copy_from_slice(&mask.to_le_bytes());
        t.proc.handlers().lock()[sig as usize - 1] = new;
        // Setting a signal to be ignored discards it if pending (POSIX).
        let a = signal::action(&t.proc, sig as u32);
        if a.handler == signal::SIG_IGN
            || (a.handler == signal::SIG_DFL
                && signal::default_action(sig as u32) == signal::DefaultAction::Ignore)
        {
            signal::discard_pending(&t.proc, sig as u32);
        }
    }
    Ok(0)
}

pub fn rt_sigprocmask(t: &mut Task, a: Args) -> Result {
    let (how, set, old, size) = (a.0[0], a.0[1], a.0[2], a.0[3]);
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let cur = signal::mask();
    let new = if set != 0 {
        let s = t.read_u64(set)?;
        Some(
            match how {
                0 => cur | s,
                1 => cur & !s,
                2 => s,
                _ => return Err(Errno::EINVAL),
            } & !UNBLOCKABLE,
        )
    } else {
        None
    };
    if old != 0 {
        t.write_u64(old, cur)?;
    }
    if let Some(n) = new {
        signal::set_mask(n);
    }
    Ok(0)
}

pub fn rt_sigpending(t: &mut Task, a: Args) -> Result {
    if a.0[1] != 8 {
        return Err(Errno::EINVAL);
    }
    let mine = crate::sched::current().sigpending.load(Ordering::Acquire);
    let p = (t.proc.signals.pending() | mine) & signal::mask();
    t.write_u64(a.0[0], p)?;
    Ok(0)
}

pub fn rt_sigreturn(t: &mut Task) -> Result {
    signal::sigreturn(t)
}

/// Wait until a signal the process does not block is pending.
fn wait_for_signal(p: &Arc<Process>) {
    SIGWAIT.wait_until(|| (signal::interrupted(p) || p.is_zombie()).then_some(()));
}

pub fn pause(t: &mut Task) -> Result {
    wait_for_signal(&t.proc);
    Err(Errno::ERESTARTNOHAND)
}

/// rt_sigsuspend: wait with a temporary mask; the handler's frame saves the old one, so it
/// comes back when the handler returns.
pub fn rt_sigsuspend(t: &mut Task, a: Args) -> Result {
    if a.0[1] != 8 {
        return Err(Errno::EINVAL);
    }
    let mask = t.read_u64(a.0[0])? & !UNBLOCKABLE;
    let old = signal::mask();
    signal::set_mask(mask);
    t.saved_mask = Some(old);
    wait_for_signal(&t.proc);
    Err(Errno::ERESTARTNOHAND)
}

/// rt_sigtimedwait: take a pending signal of `set` (normally blocked by the caller) without
/// running its handler; sleep for one until the timeout. EAGAIN at the timeout, EINTR if
/// another signal's handler is to run first.
pub fn rt_sigtimedwait(t: &mut Task, a: Args) -> Result {
    let (set_ptr, info_ptr, ts_ptr, size) = (a.0[0], a.0[1], a.0[2], a.0[3]);
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let set = t.read_u64(set_ptr)? & !UNBLOCKABLE;
    let deadline = if ts_ptr == 0 {
        None
    } else {
        let (sec, nsec) = (t.read_u64(ts_ptr)? as i64, t.read_u64(ts_ptr + 8)? as i64);
        if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
            return Err(Errno::EINVAL);
        }
        let ns = (sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(nsec as u64);
        Some(crate::time::monotonic_ns().saturating_add(ns))
    };
    let p = t.proc.clone();
    let me = crate::sched::current();
    let ready = |me: &crate::sched::Thread| {
        (p.signals.pending() | me.sigpending.load(Ordering::Acquire)) & set
    };
    enum Outcome {
        Got(u32),
        TimedOut,
        Interrupted,
    }
    let outcome = crate::fs::pipe::POLL.wait_until(|| {
        let r = ready(&me);
        if r != 0 {
            Some(Outcome::Got(r.trailing_zeros() + 1))
        } else if deadline.is_some_and(|d| crate::time::monotonic_ns() >= d) {
            Some(Outcome::TimedOut)
        } else if signal::interrupted(&p) || p.is_zombie() {
            Some(Outcome::Interrupted)
        } else {
            None
        }
    });
    match outcome {
        Outcome::Got(sig) => {
            let info = p.signals.take(sig, t.tid, &me);
            if info_ptr != 0 {
                t.write_user(info_ptr, &info.to_bytes())?;
            }
            Ok(u64::from(sig))
        }
        Outcome::TimedOut => Err(Errno::EAGAIN),
        Outcome::Interrupted => Err(Errno::EINTR),
    }
}

/// May the caller signal `target`? Root, or a real or effective uid equal to the target's
/// real or saved uid (SIGCONT within a session is always allowed).
fn may_signal(t: &Task, target: &Process, sig: u32) -> bool {
    if core::ptr::eq(&*t.proc, target) {
        return true;
    }
    let me = t.proc.creds.lock().clone();
    if me.privileged() {
        return true;
    }
    if sig == signal::SIGCONT
        && t.proc.sid.load(Ordering::Relaxed) == target.sid.load(Ordering::Relaxed)
    {
        return true;
    }
    let them = target.creds.lock();
    [me.uid, me.euid]
        .iter()
        .any(|u| *u == them.uid || *u == them.suid)
}

fn user_info(t: &Task, sig: u32, code: i32) -> SigInfo {
    SigInfo::user(sig, code, t.proc.pid, t.proc.creds.lock().uid)
}

pub fn kill(t: &mut Task, a: Args) -> Result {
    let (pid, sig) = (a.i32(0), a.0[1]);
    if sig > 64 {
        return Err(Errno::EINVAL);
    }
    let sig = sig as u32;
    let targets: alloc::vec::Vec<Arc<Process>> = match pid {
        1..=i32::MAX => match proc::lookup(pid as u32) {
            Some(pr) => alloc::vec![pr],
            None => return Err(Errno::ESRCH),
        },
        i32::MIN..=0 => {
            let pgid = match pid {
                0 => Some(t.proc.pgid.load(Ordering::Relaxed)),
                -1 => None,
                p => Some(p.unsigned_abs()),
            };
            let all = proc::all();
            let mut seen = alloc::collections::BTreeSet::new();
            all.into_iter()
                .filter(|p| seen.insert(p.pid))
                .filter(|p| match pgid {
                    Some(g) => p.pgid.load(Ordering::Relaxed) == g,
                    // kill(-1): everyone the caller may signal but init and itself.
                    None => p.pid != 1 && p.pid != t.proc.pid,
                })
                .collect()
        }
    };
    if targets.is_empty() {
        return Err(Errno::ESRCH);
    }
    let mut sent = false;
    let mut denied = false;
    for p in &targets {
        if !may_signal(t, p, sig) {
            denied = true;
            continue;
        }
        sent = true;
        if sig != 0 {
            signal::send(p, user_info(t, sig, signal::SI_USER));
        }
    }
    if !sent && denied {
        return Err(Errno::EPERM);
    }
    Ok(0)
}

fn thread_kill(t: &mut Task, tgid: Option<i32>, tid: i32, sig: u64) -> Result {
    if sig > 64 || tid <= 0 || tgid.is_some_and(|g| g <= 0) {
        return Err(Errno::EINVAL);
    }
    let p = proc::lookup(tid as u32).ok_or(Errno::ESRCH)?;
    if tgid.is_some_and(|g| p.pid != g as u32) || p.is_zombie() {
        return Err(Errno::ESRCH);
    }
    if !may_signal(t, &p, sig as u32) {
        return Err(Errno::EPERM);
    }
    if !signal::send_thread(&p, tid as u32, user_info(t, sig as u32, signal::SI_TKILL)) {
        return Err(Errno::ESRCH);
    }
    Ok(0)
}

pub fn tkill(t: &mut Task, a: Args) -> Result {
    thread_kill(t, None, a.i32(0), a.0[1])
}

pub fn tgkill(t: &mut Task, a: Args) -> Result {
    thread_kill(t, Some(a.i32(0)), a.i32(1), a.0[2])
}

pub fn rt_sigqueueinfo(t: &mut Task, a: Args) -> Result {
    let (pid, sig, uinfo) = (a.i32(0), a.0[1], a.0[2]);
    if sig == 0 || sig > 64 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 32];
    t.read_user(uinfo, &mut b)?;
    let code = i32::from_le_bytes([b[8], b[9], b[10], b[11]]);
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[24..32]);
    let value = u64::from_le_bytes(v);
    // Only the kernel may claim SI_USER or a positive (kernel) code for another process.
    let p = proc::lookup(pid as u32).ok_or(Errno::ESRCH)?;
    if (code >= 0 || code == signal::SI_TKILL) && p.pid != t.proc.pid {
        return Err(Errno::EPERM);
    }
    if !may_signal(t, &p, sig as u32) {
        return Err(Errno::EPERM);
    }
    let mut info = user_info(t, sig as u32, code);
    info.value = value;
    signal::send(&p, info);
    Ok(0)
}

pub fn sigaltstack(t: &mut Task, a: Args) -> Result {
    const SS_ONSTACK: u32 = 1;
    const SS_DISABLE: u32 = 2;
    const SS_AUTODISARM: u32 = 1 << 31;
    const MINSIGSTKSZ: u64 = 2048;
    let (new, old) = (a.0[0], a.0[1]);
    let (sp, flags, size) = *t.proc.signals.altstack.lock();
    let on = crate::proc::signal::on_altstack(t.ctx.rsp, (sp, flags, size));
    if old != 0 {
        let mut b = [0u8; 24];
        b[0..8].copy_from_slice(&sp.to_le_bytes());
        let f = if on { SS_ONSTACK } else { flags & SS_DISABLE };
        b[8..12].copy_from_slice(&f.to_le_bytes());
        b[16..24].copy_from_slice(&size.to_le_bytes());
        t.write_user(old, &b)?;
    }
    if new != 0 {
        let mut ss = [0u8; 24];
        t.read_user(new, &mut ss)?;
        let q = |o: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&ss[o..o + 8]);
            u64::from_le_bytes(x)
        };
        let nflags = u32::from_le_bytes([ss[8], ss[9], ss[10], ss[11]]);
        if nflags & !(SS_DISABLE | SS_AUTODISARM | SS_ONSTACK) != 0 {
            return Err(Errno::EINVAL);
        }
        if on {
            return Err(Errno::EPERM);
        }
        let disable = nflags & SS_DISABLE != 0;
        if !disable && q(16) < MINSIGSTKSZ {
            return Err(Errno::ENOMEM);
        }
        *t.proc.signals.altstack.lock() = if disable {
            (0, SS_DISABLE, 0)
        } else {
            (q(0), 0, q(16))
        };
    }
    Ok(0)
}

/// alarm(seconds): SIGALRM after that many seconds; returns the seconds left of the old one.
pub fn alarm(t: &mut Task, a: Args) -> Result {
    let secs = a.0[0] & 0xffff_ffff;
    let left = crate::proc::timer::set_alarm(
        &t.proc,
        (secs > 0).then(|| crate::time::monotonic_ns() + secs * 1_000_000_000),
        0,
    );
    Ok(left.map_or(0, |ns| ns.div_ceil(1_000_000_000).max(1)))
}

/// Read a struct timeval pair (itimerval: interval, value) as ns; EINVAL when malformed.
fn read_itimerval(t: &Task, at: u64) -> core::result::Result<(u64, u64), Errno> {
    let mut nb = [0u8; 32];
    t.read_user(at, &mut nb)?;
    let q = |o: usize| {
        let mut x = [0u8; 8];
        x.copy_from_slice(&nb[o..o + 8]);
        i64::from_le_bytes(x)
    };
    let (isec, iusec, vsec, vusec) = (q(0), q(8), q(16), q(24));
    if isec < 0 || vsec < 0 || !(0..1_000_000).contains(&iusec) || !(0..1_000_000).contains(&vusec)
    {
        return Err(Errno::EINVAL);
    }
    let ns = |s: i64, us: i64| {
        (s as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(us as u64 * 1000)
    };
    Ok((ns(isec, iusec), ns(vsec, vusec)))
}

/// setitimer: ITIMER_REAL (SIGALRM, wall clock), ITIMER_VIRTUAL (SIGVTALRM, user CPU time),
/// ITIMER_PROF (SIGPROF, user and system CPU time).
pub fn setitimer(t: &mut Task, a: Args) -> Result {
    let (which, new, old) = (a.0[0], a.0[1], a.0[2]);
    if which > 2 {
        return Err(Errno::EINVAL);
    }
    let set = if new != 0 {
        Some(read_itimerval(t, new)?)
    } else {
        None
    };
    let prev = match which {
        0 => crate::proc::timer::get(&t.proc),
        1 => cpu_timer(t, 1),
        _ => cpu_timer(t, 2),
    };
    if let Some((interval, value)) = set {
        match which {
            0 => {
                let deadline =
                    (value > 0).then(|| crate::time::monotonic_ns().saturating_add(value));
                crate::proc::timer::set_alarm(&t.proc, deadline, interval);
            }
            _ => {
                let mut c = t.proc.cpu_timers.lock();
                let slot = if which == 1 { &mut c.virt } else { &mut c.prof };
                *slot = (value, if value > 0 { interval } else { 0 });
            }
        }
    }
    if old != 0 {
        write_itimer(t, old, prev)?;
    }
    Ok(0)
}

fn cpu_timer(t: &Task, which: u64) -> Option<(u64, u64)> {
    let c = t.proc.cpu_timers.lock();
    let v = if which == 1 { c.virt } else { c.prof };
    (v.0 > 0).then_some(v)
}

fn write_itimer(t: &Task, at: u64, v: Option<(u64, u64)>) -> core::result::Result<(), Errno> {
    let (left, interval) = v.unwrap_or((0, 0));
    let mut b = [0u8; 32];
    let put = |b: &mut [u8; 32], o: usize, ns: u64| {
        b[o..o + 8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
        b[o + 8..o + 16].copy_from_slice(&(ns % 1_000_000_000 / 1000).to_le_bytes());
    };
    put(&mut b, 0, interval);
    // A running timer never reads as zero: Linux rounds the value up to a microsecond.
    put(&mut b, 16, if v.is_some() { left.max(1000) } else { 0 });
    t.write_user(at, &b)
}

pub fn getitimer(t: &mut Task, a: Args) -> Result {
    let v = match a.0[0] {
        0 => crate::proc::timer::get(&t.proc),
        1 | 2 => cpu_timer(t, a.0[0]),
        _ => return Err(Errno::EINVAL),
    };
    write_itimer(t, a.0[1], v)?;
    Ok(0)
}

const CLOCK_REALTIME: u64 = 0;
const CLOCK_MONOTONIC: u64 = 1;
const CLOCK_BOOTTIME: u64 = 7;

/// timer_create on CLOCK_REALTIME, CLOCK_MONOTONIC or CLOCK_BOOTTIME; the notification is a
/// signal (SIGEV_SIGNAL, or SIGEV_THREAD_ID for one thread) or nothing (SIGEV_NONE). Without a
/// sigevent: SIGALRM with the timer id as its value.
pub fn timer_create(t: &mut Task, a: Args) -> Result {
    const SIGEV_SIGNAL: u32 = 0;
    const SIGEV_NONE: u32 = 1;
    const SIGEV_THREAD_ID: u32 = 4;
    let (clock, sevp, idp) = (a.0[0], a.0[1], a.0[2]);
    if !matches!(clock, CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_BOOTTIME) {
        return Err(Errno::EINVAL);
    }
    let (signo, value, tid) = if sevp == 0 {
        (signal::SIGALRM, None, 0)
    } else {
        let mut b = [0u8; 20];
        t.read_user(sevp, &mut b)?;
        let mut v = [0u8; 8];
        v.copy_from_slice(&b[0..8]);
        let signo = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
        let notify = u32::from_le_bytes([b[12], b[13], b[14], b[15]]);
        let tid = u32::from_le_bytes([b[16], b[17], b[18], b[19]]);
        match notify {
            SIGEV_NONE => (0, Some(u64::from_le_bytes(v)), 0),
            SIGEV_SIGNAL | SIGEV_THREAD_ID => {
                if signo == 0 || signo > 64 {
                    return Err(Errno::EINVAL);
                }
                if notify == SIGEV_THREAD_ID && t.proc.thread(tid).is_none() {
                    return Err(Errno::EINVAL);
                }
                let tid = if notify == SIGEV_THREAD_ID { tid } else { 0 };
                (signo, Some(u64::from_le_bytes(v)), tid)
            }
            _ => return Err(Errno::EINVAL),
        }
    };
    let realtime = clock == CLOCK_REALTIME;
    let id =
        crate::proc::timer::create(&t.proc, signo, value, tid, realtime).ok_or(Errno::EAGAIN)?;
    if let Err(e) = t.write_i32(idp, id) {
        crate::proc::timer::delete(&t.proc, id);
        return Err(e);
    }
    Ok(0)
}

fn write_itimerspec(t: &Task, at: u64, v: (u64, u64)) -> core::result::Result<(), Errno> {
    let (left, interval) = v;
    let mut b = [0u8; 32];
    let put = |b: &mut [u8; 32], o: usize, ns: u64| {
        b[o..o + 8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
        b[o + 8..o + 16].copy_from_slice(&(ns % 1_000_000_000).to_le_bytes());
    };
    put(&mut b, 0, interval);
    put(&mut b, 16, left);
    t.write_user(at, &b)
}

pub fn timer_settime(t: &mut Task, a: Args) -> Result {
    const TIMER_ABSTIME: u32 = 1;
    let (id, flags, new, old) = (a.i32(0), a.u32(1), a.0[2], a.0[3]);
    let mut b = [0u8; 32];
    t.read_user(new, &mut b)?;
    let q = |o: usize| {
        let mut x = [0u8; 8];
        x.copy_from_slice(&b[o..o + 8]);
        i64::from_le_bytes(x)
    };
    let (isec, insec, vsec, vnsec) = (q(0), q(8), q(16), q(24));
    if isec < 0
        || vsec < 0
        || !(0..1_000_000_000).contains(&insec)
        || !(0..1_000_000_000).contains(&vnsec)
    {
        return Err(Errno::EINVAL);
    }
    let ns = |s: i64, n: i64| {
        (s as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(n as u64)
    };
    let (interval, value) = (ns(isec, insec), ns(vsec, vnsec));
    let abs = flags & TIMER_ABSTIME != 0;
    let prev =
        crate::proc::timer::settime(&t.proc, id, value, abs, interval).ok_or(Errno::EINVAL)?;
    if old != 0 {
        write_itimerspec(t, old, prev)?;
    }
    Ok(0)
}

pub fn timer_gettime(t: &mut Task, a: Args) -> Result {
    let v = crate::proc::timer::gettime(&t.proc, a.i32(0)).ok_or(Errno::EINVAL)?;
    write_itimerspec(t, a.0[1], v)?;
    Ok(0)
}

pub fn timer_getoverrun(t: &mut Task, a: Args) -> Result {
    crate::proc::timer::getoverrun(&t.proc, a.i32(0))
        .map(u64::from)
        .ok_or(Errno::EINVAL)
}

pub fn timer_delete(t: &mut Task, a: Args) -> Result {
    if crate::proc::timer::delete(&t.proc, a.i32(0)) {
        Ok(0)
    } else {
        Err(Errno::EINVAL)
    }
}
