//! Signals: generation, the pending set, delivery on the way back to user mode (default
//! actions, or a handler run on a Linux-compatible `rt_sigframe`), and `rt_sigreturn`.
//!
//! Each thread has its own blocked mask and its own pending set (signals sent to it alone with
//! tkill/tgkill); the process has a shared pending set (kill), the handler table (threads share
//! it, as with `CLONE_SIGHAND`) and the alternate stack. One `siginfo` is kept per pending
//! signal (real-time signals do not queue more than one instance). Delivery happens in the thread's run loop after every system call,
//! fault or interrupt, so a signal sent to a running process is taken at the next return to
//! user mode; blocked system calls are woken and return `EINTR` or restart.
//!
//! The frame, as Linux builds it on x86-64 (offsets from the frame address, which is 8 mod 16
//! so the handler starts as if called):
//! ```text
//!   0  pretcode (sa_restorer)   8  ucontext: flags, link, uc_stack (24), mcontext (256),
//!                                  sigmask (8)            312  siginfo (128)
//!   then, 64-byte aligned above it, the FXSAVE/XSAVE image the mcontext's fpstate names.
//! ```

use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use abi::errno::Errno;
use hal::sync::SpinLock;

use super::Process;
use super::task::Task;
use crate::sched::Thread;

pub const SIGHUP: u32 = 1;
pub const SIGINT: u32 = 2;
pub const SIGQUIT: u32 = 3;
pub const SIGILL: u32 = 4;
pub const SIGTRAP: u32 = 5;
pub const SIGBUS: u32 = 7;
pub const SIGFPE: u32 = 8;
pub const SIGKILL: u32 = 9;
pub const SIGSEGV: u32 = 11;
pub const SIGPIPE: u32 = 13;
pub const SIGALRM: u32 = 14;
pub const SIGCHLD: u32 = 17;
pub const SIGCONT: u32 = 18;
pub const SIGSTOP: u32 = 19;
pub const SIGTSTP: u32 = 20;
pub const SIGTTIN: u32 = 21;
pub const SIGTTOU: u32 = 22;
pub const SIGURG: u32 = 23;
pub const SIGWINCH: u32 = 28;

pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_TKILL: i32 = -6;
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;
/// sa_flags of SIGCHLD: no SIGCHLD when children stop or continue.
const SA_NOCLDSTOP: u64 = 1;

/// Job-control state of a process.
#[derive(Default, Debug)]
pub struct Job {
    pub stopped: bool,
    /// A wait status (stopped or continued) not yet reported to the parent.
    pub report: Option<i32>,
}

/// Tell the parent a child stopped or continued: SIGCHLD (unless it asked not to with
/// SA_NOCLDSTOP) and a wake-up for waitpid.
fn notify_parent(p: &Process, code: i32, status: i32) {
    let Some(parent) = p.parent.lock().upgrade() else {
        return;
    };
    if action(&parent, SIGCHLD).flags & SA_NOCLDSTOP == 0 {
        let mut info = SigInfo::user(SIGCHLD, code, p.pid, p.creds.lock().uid);
        info.status = status;
        send(&parent, info);
    }
    parent.child_events.wake_all();
}

/// Stop the process (a stop signal's default action) and sleep until it is continued or
/// killed. Every thread of a stopped process parks here.
pub fn stop(task: &mut Task, sig: u32) {
    let p = task.proc.clone();
    let first = {
        let mut j = p.job.lock();
        let first = !j.stopped;
        j.stopped = true;
        p.fast.stopped.store(true, Ordering::Release);
        if first {
            j.report = Some(abi::wait::stopped(sig as i32));
        }
        first
    };
    if first {
        notify_parent(&p, CLD_STOPPED, sig as i32);
        p.wake_threads();
    }
    park(&p);
}

/// Sleep while the process is stopped.
pub fn park(p: &Process) {
    p.stop_wait.wait_until(|| {
        let go = !p.job.lock().stopped || p.signals.pending() & bit(SIGKILL) != 0 || p.is_zombie();
        go.then_some(())
    });
}

/// SIGCONT (or SIGKILL) for a stopped process: it runs again; SIGCONT is reported.
fn resume(p: &Process, sig: u32) {
    let was = {
        let mut j = p.job.lock();
        let was = j.stopped;
        j.stopped = false;
        p.fast.stopped.store(false, Ordering::Release);
        if was && sig == SIGCONT {
            j.report = Some(abi::wait::continued());
        }
        was
    };
    if was {
        p.stop_wait.wake_all();
        if sig == SIGCONT {
            notify_parent(p, CLD_CONTINUED, SIGCONT as i32);
        }
    }
}

/// Signals that cannot be caught, blocked or ignored.
pub const UNBLOCKABLE: u64 = bit(SIGKILL) | bit(SIGSTOP);

pub const fn bit(sig: u32) -> u64 {
    1 << (sig - 1)
}

/// What a default action does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DefaultAction {
    Terminate,
    Ignore,
    Stop,
    Continue,
}

pub fn default_action(sig: u32) -> DefaultAction {
    match sig {
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGCONT => DefaultAction::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        _ => DefaultAction::Terminate,
    }
}

/// `siginfo_t`, the fields Tine fills.
#[derive(Clone, Copy, Debug, Default)]
pub struct SigInfo {
    pub signo: u32,
    pub code: i32,
    pub errno: i32,
    pub pid: u32,
    pub uid: u32,
    /// SIGCHLD: exit status or signal.
    pub status: i32,
    /// Faults: the address.
    pub addr: u64,
    /// True for fault signals: si_addr at offset 16 instead of pid/uid.
    pub fault: bool,
    /// sigqueue's value (si_value), for rt_sigqueueinfo.
    pub value: u64,
}

impl SigInfo {
    pub fn user(signo: u32, code: i32, pid: u32, uid: u32) -> SigInfo {
        SigInfo {
            signo,
            code,
            pid,
            uid,
            ..SigInfo::default()
        }
    }

    pub fn fault(signo: u32, code: i32, addr: u64) -> SigInfo {
        SigInfo {
            signo,
            code,
            addr,
            fault: true,
            ..SigInfo::default()
        }
    }

    pub fn to_bytes(self) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&self.signo.to_le_bytes());
        b[4..8].copy_from_slice(&self.errno.to_le_bytes());
        b[8..12].copy_from_slice(&self.code.to_le_bytes());
        if self.fault {
            b[16..24].copy_from_slice(&self.addr.to_le_bytes());
        } else {
            b[16..20].copy_from_slice(&self.pid.to_le_bytes());
            b[20..24].copy_from_slice(&self.uid.to_le_bytes());
            if self.signo == SIGCHLD {
                b[24..28].copy_from_slice(&self.status.to_le_bytes());
            } else {
                b[24..32].copy_from_slice(&self.value.to_le_bytes());
            }
        }
        b
    }
}

/// A handler table entry (`struct sigaction` as the kernel sees it on x86-64).
#[derive(Clone, Copy, Debug, Default)]
pub struct Action {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

impl Action {
    pub fn from_bytes(b: &[u8; 32]) -> Action {
        let q = |o: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[o..o + 8]);
            u64::from_le_bytes(x)
        };
        Action {
            handler: q(0),
            flags: q(8),
            restorer: q(16),
            mask: q(24),
        }
    }
}

/// Per-process signal state besides the handler table (which lives in `Process`).
pub struct Signals {
    pending: AtomicU64,
    /// (signal, target thread id or 0 for the process, info).
    info: SpinLock<Vec<(u32, u32, SigInfo)>>,
    /// sigaltstack: (sp, flags, size); flags SS_DISABLE (2) when none.
    pub altstack: SpinLock<(u64, u32, u64)>,
}

impl Default for Signals {
    fn default() -> Self {
        Signals {
            pending: AtomicU64::new(0),
            info: SpinLock::new(Vec::new()),
            altstack: SpinLock::new((0, 2, 0)),
        }
    }
}

impl Signals {
    pub fn pending(&self) -> u64 {
        self.pending.load(Ordering::Acquire)
    }

    /// Take `sig` for thread `tid` (running as `me`): its own pending instance first, else
    /// the process's.
    pub fn take(&self, sig: u32, tid: u32, me: &Thread) -> SigInfo {
        let mine = me.sigpending.load(Ordering::Acquire) & bit(sig) != 0;
        let target = if mine { tid } else { 0 };
        let mut info = self.info.lock();
        // The oldest instance (real-time signals queue; they come out in order).
        let taken = match info.iter().position(|(s, t, _)| *s == sig && *t == target) {
            Some(i) => info.remove(i).2,
            None => SigInfo::user(sig, SI_KERNEL, 0, 0),
        };
        if !info.iter().any(|(s, t, _)| *s == sig && *t == target) {
            if mine {
                me.sigpending.fetch_and(!bit(sig), Ordering::AcqRel);
            } else {
                self.pending.fetch_and(!bit(sig), Ordering::AcqRel);
            }
        }
        taken
    }

    /// Drop a pending `sig`, process-wide and for every thread.
    fn discard(&self, p: &Process, sig: u32) {
        self.pending.fetch_and(!bit(sig), Ordering::AcqRel);
        for (_, t) in p.threads.lock().iter() {
            if let Some(t) = t.upgrade() {
                t.sigpending.fetch_and(!bit(sig), Ordering::AcqRel);
            }
        }
        self.info.lock().retain(|(s, _, _)| *s != sig);
    }
}

/// The current thread's blocked mask.
pub fn mask() -> u64 {
    crate::sched::current().sigmask.load(Ordering::Relaxed)
}

/// Set the current thread's blocked mask (SIGKILL and SIGSTOP are never blocked).
pub fn set_mask(m: u64) {
    crate::sched::current()
        .sigmask
        .store(m & !UNBLOCKABLE, Ordering::Relaxed);
}

/// A signal set to be ignored goes away if pending (POSIX).
pub fn discard_pending(p: &Process, sig: u32) {
    p.signals.discard(p, sig);
}

pub fn action(p: &Process, sig: u32) -> Action {
    Action::from_bytes(&p.handlers().lock()[sig as usize - 1])
}

/// Whether `sig` would be thrown away at once (ignored, and blocked by no thread).
fn ignored(p: &Process, sig: u32) -> bool {
    let blocked = p.threads.lock().iter().any(|(_, t)| {
        t.upgrade()
            .is_some_and(|t| t.sigmask.load(Ordering::Relaxed) & bit(sig) != 0)
    });
    if blocked {
        return false;
    }
    let a = action(p, sig);
    a.handler == SIG_IGN || (a.handler == SIG_DFL && default_action(sig) == DefaultAction::Ignore)
}

/// Generate `info.signo` for process `p`: make it pending and wake the process's sleepers so a
/// blocked system call can notice. Signal 0 only checks existence (done by the caller).
pub fn send(p: &Process, info: SigInfo) {
    let sig = info.signo;
    if sig == 0 || sig > 64 || p.is_zombie() {
        return;
    }
    if sig == SIGKILL || sig == SIGCONT {
        for s in [SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU] {
            p.signals.discard(p, s);
        }
        // Continuing happens when SIGCONT is sent, whatever its disposition.
        resume(p, sig);
    }
    if default_action(sig) == DefaultAction::Stop {
        p.signals.discard(p, SIGCONT);
    }
    if sig != SIGKILL && ignored(p, sig) {
        return;
    }
    // Init is protected as on Linux (SIGNAL_UNKILLABLE): a signal sent to pid 1 whose action is
    // the default one is dropped, SIGKILL included; only faults (`force`) still kill it. Found
    // by the system-call fuzzer: a worker's kill(1, 33) ended the whole run.
    if p.pid == 1 && action(p, sig).handler == SIG_DFL {
        return;
    }
    {
        let mut list = p.signals.info.lock();
        // A standard signal is pending once; real-time signals queue (up to a limit).
        if p.signals.pending() & bit(sig) == 0 || (sig >= SIGRTMIN && list.len() < RT_QUEUE_MAX) {
            list.push((sig, 0, info));
        }
        p.signals.pending.fetch_or(bit(sig), Ordering::AcqRel);
    }
    p.wake_threads();
}

/// POSIX: when a process group becomes orphaned (no member has a parent in another group of
/// the same session) and has a stopped member, every member gets SIGHUP and then SIGCONT, so
/// stopped jobs nobody can continue any more do not linger.
pub fn orphan_check(pgid: u32, sid: u32) {
    let mut seen = alloc::collections::BTreeSet::new();
    let members: Vec<alloc::sync::Arc<Process>> = super::all()
        .into_iter()
        .filter(|p| seen.insert(p.pid) && !p.is_zombie() && p.pgid.load(Ordering::Relaxed) == pgid)
        .collect();
    if members.is_empty() || !members.iter().any(|m| m.job.lock().stopped) {
        return;
    }
    let anchored = members.iter().any(|m| {
        m.parent.lock().upgrade().is_some_and(|par| {
            par.pgid.load(Ordering::Relaxed) != pgid && par.sid.load(Ordering::Relaxed) == sid
        })
    });
    if anchored {
        return;
    }
    for m in &members {
        send(m, SigInfo::user(SIGHUP, SI_KERNEL, 0, 0));
        send(m, SigInfo::user(SIGCONT, SI_KERNEL, 0, 0));
    }
}

/// The first real-time signal (the kernel's numbering; C libraries reserve a few).
pub const SIGRTMIN: u32 = 32;
/// Queued signal instances per process (RLIMIT_SIGPENDING's role, as a fixed bound).
const RT_QUEUE_MAX: usize = 1024;

/// tkill/tgkill: `sig` for thread `tid` of `p` alone. `false` if there is no such thread.
pub fn send_thread(p: &Process, tid: u32, info: SigInfo) -> bool {
    let sig = info.signo;
    let Some(t) = p.thread(tid) else {
        return false;
    };
    if sig == 0 || sig > 64 || p.is_zombie() {
        return true;
    }
    if sig == SIGKILL || sig == SIGCONT || default_action(sig) == DefaultAction::Stop {
        // Stop, continue and kill act on the whole process.
        send(p, info);
        return true;
    }
    if sig != SIGKILL && ignored(p, sig) {
        return true;
    }
    {
        let mut list = p.signals.info.lock();
        if t.sigpending.load(Ordering::Acquire) & bit(sig) == 0
            || (sig >= SIGRTMIN && list.len() < RT_QUEUE_MAX)
        {
            list.push((sig, tid, info));
        }
        t.sigpending.fetch_or(bit(sig), Ordering::AcqRel);
    }
    t.interrupt();
    true
}

/// A signal the thread caused (a fault): if it is blocked or ignored, it still kills, as on
/// Linux — the default action is restored and the signal unblocked first.
pub fn force(task: &Task, info: SigInfo) {
    let p = &task.proc;
    let sig = info.signo;
    let a = action(p, sig);
    let me = crate::sched::current();
    let blocked = me.sigmask.load(Ordering::Relaxed) & bit(sig) != 0;
    if blocked || a.handler == SIG_IGN {
        p.handlers().lock()[sig as usize - 1] = [0; 32];
        me.sigmask.fetch_and(!bit(sig), Ordering::Relaxed);
    }
    {
        // A fault is this thread's own signal.
        let mut list = p.signals.info.lock();
        list.retain(|(s, t, _)| !(*s == sig && *t == task.tid));
        list.push((sig, task.tid, info));
        me.sigpending.fetch_or(bit(sig), Ordering::AcqRel);
    }
}

/// Whether a signal is pending that the process does not block (a sleeping system call
/// should give up).
pub fn interrupted(p: &Process) -> bool {
    let me = crate::sched::current();
    (p.signals.pending() | me.sigpending.load(Ordering::Acquire))
        & !me.sigmask.load(Ordering::Relaxed)
        != 0
}

/// Deliver what is pending and not blocked: run default actions, or set up one handler frame.
/// Called on every return to user mode; `restart` is the system call to restart if the call
/// that just ended was interrupted (its number), to be re-issued or failed with EINTR.
pub fn deliver(task: &mut Task) {
    loop {
        let p = task.proc.clone();
        let me = crate::sched::current();
        let ready = (p.signals.pending() | me.sigpending.load(Ordering::Acquire))
            & !me.sigmask.load(Ordering::Relaxed);
        if ready == 0 {
            finish_restart(task, None);
            return;
        }
        // SIGKILL first, then the lowest-numbered.
        let sig = if ready & bit(SIGKILL) != 0 {
            SIGKILL
        } else {
            ready.trailing_zeros() + 1
        };
        let info = p.signals.take(sig, task.tid, &me);
        let act = action(&p, sig);
        let handler = if sig == SIGKILL || sig == SIGSTOP {
            SIG_DFL
        } else {
            act.handler
        };
        match handler {
            SIG_IGN => continue,
            SIG_DFL => match default_action(sig) {
                DefaultAction::Ignore | DefaultAction::Continue => continue,
                DefaultAction::Stop => {
                    stop(task, sig);
                    continue;
                }
                DefaultAction::Terminate => {
                    super::task::kill_current(task, abi::wait::signaled(sig as i32, false));
                    return;
                }
            },
            _ => {
                finish_restart(task, Some(act));
                // An interrupted rseq critical section resumes at its abort handler: the
                // frame must save that address.
                if !super::task::rseq::signal(task) {
                    return;
                }
                if setup_frame(task, sig, &info, &act).is_err() {
                    log::info!(
                        "pid {}: cannot build the frame for signal {sig}: killed by SIGSEGV",
                        p.pid
                    );
                    super::task::kill_current(task, abi::wait::signaled(SIGSEGV as i32, false));
                    return;
                }
                if act.flags & SA_RESETHAND != 0 {
                    p.handlers().lock()[sig as usize - 1] = [0; 32];
                }
                let mut add = act.mask;
                if act.flags & SA_NODEFER == 0 {
                    add |= bit(sig);
                }
                me.sigmask.fetch_or(add & !UNBLOCKABLE, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// An interrupted system call (it returned ERESTARTSYS, and `task.restart` holds its number):
/// restart it — with no handler to run, or with a handler that has SA_RESTART — by stepping
/// back over the `syscall` instruction; otherwise fail it with EINTR.
fn finish_restart(task: &mut Task, handler: Option<Action>) {
    if handler.is_none()
        && let Some(m) = task.saved_mask.take()
    {
        // rt_sigsuspend ended without a handler to run: its temporary mask goes.
        set_mask(m);
    }
    let Some((nr, kind)) = task.restart.take() else {
        return;
    };
    let restart = match kind {
        // ERESTARTNOHAND: restart only when no handler runs.
        Errno::ERESTARTNOHAND => handler.is_none(),
        _ => handler.is_none_or(|a| a.flags & SA_RESTART != 0),
    };
    if restart {
        task.ctx.rax = nr;
        task.ctx.rip -= 2;
    } else {
        task.ctx.rax = Errno::EINTR.as_ret() as u64;
    }
}

const FRAME: u64 = 440;
const UC: u64 = 8;
const MCONTEXT: u64 = UC + 40;
const INFO: u64 = 312;

/// Whether `rsp` is on the alternate stack `(sp, flags, size)` (Linux's `on_sig_stack`).
/// The stack is whatever sigaltstack was given: `sp + size` may overflow, so never add.
pub fn on_altstack(rsp: u64, (sp, flags, size): (u64, u32, u64)) -> bool {
    flags & 2 == 0 && rsp > sp && rsp - sp <= size
}

fn setup_frame(task: &mut Task, sig: u32, info: &SigInfo, act: &Action) -> Result<(), Errno> {
    let p = task.proc.clone();
    let (ss_sp, ss_flags, ss_size) = *p.signals.altstack.lock();
    let on_alt = on_altstack(task.ctx.rsp, (ss_sp, ss_flags, ss_size));
    let mut sp = if act.flags & SA_ONSTACK != 0 && ss_flags & 2 == 0 && !on_alt {
        // Wraps as on Linux; a frame that does not fit anywhere fails with EFAULT below.
        ss_sp.wrapping_add(ss_size)
    } else {
        // Skip the red zone below the interrupted code's stack pointer.
        task.ctx.rsp.wrapping_sub(128)
    };
    let fpu: Vec<u8> = task.ctx.fpu_bytes().to_vec();
    let (xsave, xcr0_size) = hal::user::fpu_description();
    let xsave = xsave == "xsave";
    let fp_len = fpu.len() as u64 + if xsave { 4 } else { 0 };
    sp = sp.checked_sub(fp_len).ok_or(Errno::EFAULT)? & !63;
    let fp_addr = sp;
    let frame = ((sp.checked_sub(FRAME).ok_or(Errno::EFAULT)?) & !15)
        .checked_sub(8)
        .ok_or(Errno::EFAULT)?;

    let mut fp = fpu;
    if xsave {
        // fpx_sw_bytes in the FXSAVE area's software-reserved bytes, and the trailing magic,
        // as Linux writes them so user space can tell an extended frame.
        let put32 =
            |b: &mut Vec<u8>, o: usize, v: u32| b[o..o + 4].copy_from_slice(&v.to_le_bytes());
        put32(&mut fp, 464, 0x4650_5853);
        put32(&mut fp, 468, (xcr0_size + 4) as u32);
        fp[472..480].copy_from_slice(&0b111u64.to_le_bytes());
        put32(&mut fp, 480, xcr0_size as u32);
        fp.extend_from_slice(&0x4650_5845u32.to_le_bytes());
    }
    task.write_user(fp_addr, &fp)?;

    // After rt_sigsuspend the mask to come back to is the one before the call.
    let old_mask = task.saved_mask.take().unwrap_or_else(mask);
    let c = &task.ctx;
    let mut b = vec![0u8; FRAME as usize];
    let put = |b: &mut Vec<u8>, o: u64, v: u64| {
        b[o as usize..o as usize + 8].copy_from_slice(&v.to_le_bytes())
    };
    put(&mut b, 0, act.restorer);
    // uc_flags: UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS, as Linux sets them.
    put(&mut b, UC, if xsave { 1 | 2 | 4 } else { 2 | 4 });
    put(&mut b, UC + 16, ss_sp);
    b[(UC + 24) as usize..(UC + 28) as usize]
        .copy_from_slice(&(if on_alt { 1u32 } else { ss_flags }).to_le_bytes());
    put(&mut b, UC + 32, ss_size);
    let regs = [
        c.r8, c.r9, c.r10, c.r11, c.r12, c.r13, c.r14, c.r15, c.rdi, c.rsi, c.rbp, c.rbx, c.rdx,
        c.rax, c.rcx, c.rsp, c.rip, c.rflags,
    ];
    for (i, r) in regs.iter().enumerate() {
        put(&mut b, MCONTEXT + i as u64 * 8, *r);
    }
    // cs, gs, fs, ss as 16-bit fields.
    b[(MCONTEXT + 144) as usize..(MCONTEXT + 146) as usize].copy_from_slice(&0x33u16.to_le_bytes());
    b[(MCONTEXT + 150) as usize..(MCONTEXT + 152) as usize].copy_from_slice(&0x2bu16.to_le_bytes());
    put(&mut b, MCONTEXT + 152, c.error_code);
    put(&mut b, MCONTEXT + 160, c.vector);
    put(&mut b, MCONTEXT + 168, old_mask);
    put(
        &mut b,
        MCONTEXT + 176,
        if info.fault { info.addr } else { 0 },
    );
    put(&mut b, MCONTEXT + 184, fp_addr);
    put(&mut b, UC + 296, old_mask);
    b[INFO as usize..INFO as usize + 128].copy_from_slice(&info.to_bytes());
    task.write_user(frame, &b)?;

    let c = &mut task.ctx;
    c.rip = act.handler;
    c.rsp = frame;
    c.rdi = u64::from(sig);
    c.rsi = frame + INFO;
    c.rdx = frame + UC;
    c.rax = 0;
    // Handlers start with the direction and trap flags clear.
    c.rflags &= !(0x400 | 0x100);
    Ok(())
}

/// rt_sigreturn: restore the registers, mask and FPU state saved in the frame at the stack
/// pointer (the handler's `ret` popped `pretcode`). Returns the restored rax.
pub fn sigreturn(task: &mut Task) -> Result<u64, Errno> {
    let frame = task.ctx.rsp.wrapping_sub(8);
    let mut b = vec![0u8; FRAME as usize];
    if task.read_user(frame, &mut b).is_err() {
        return bad_frame(task);
    }
    let get = |o: u64| {
        let mut x = [0u8; 8];
        x.copy_from_slice(&b[o as usize..o as usize + 8]);
        u64::from_le_bytes(x)
    };
    let fp_addr = get(MCONTEXT + 184);
    if fp_addr != 0 {
        let size = task.ctx.fpu_bytes().len();
        let mut fp = vec![0u8; size];
        if task.read_user(fp_addr, &mut fp).is_err() || !task.ctx.set_fpu_bytes(&fp) {
            return bad_frame(task);
        }
    }
    let c = &mut task.ctx;
    let r = |i: u64| get(MCONTEXT + i * 8);
    c.r8 = r(0);
    c.r9 = r(1);
    c.r10 = r(2);
    c.r11 = r(3);
    c.r12 = r(4);
    c.r13 = r(5);
    c.r14 = r(6);
    c.r15 = r(7);
    c.rdi = r(8);
    c.rsi = r(9);
    c.rbp = r(10);
    c.rbx = r(11);
    c.rdx = r(12);
    c.rax = r(13);
    c.rcx = r(14);
    c.rsp = r(15);
    c.rip = r(16);
    // Only the flags user code may change (the entry code masks the rest again).
    c.rflags = r(17);
    let mask = get(UC + 296) & !UNBLOCKABLE;
    set_mask(mask);
    Ok(task.ctx.rax)
}

fn bad_frame(task: &mut Task) -> Result<u64, Errno> {
    super::task::kill_current(task, abi::wait::signaled(SIGSEGV as i32, false));
    Ok(0)
}
