//! Threads of control: a kernel context (stack + saved registers), a state, and a start
//! function. User threads are kernel threads whose start function runs a user context in a loop.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;

use hal::context::KernelContext;
use hal::sync::SpinLock;

use super::{WaitQueue, alloc_tid, enqueue, finish_switch};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Runnable,
    Running,
    Sleeping,
    Dead,
}

pub struct Thread {
    pub tid: u32,
    /// For diagnostics (the scheduler's panics; the kernel debugger and /proc task views).
    pub name: String,
    ctx: KernelContext,
    state: SpinLock<State>,
    /// Woken when the thread dies.
    exited: WaitQueue,
    /// Run whenever the thread gets the CPU back (user threads re-activate their address space:
    /// another thread may have switched CR3 while this one slept).
    resume: hal::sync::Once<Box<dyn Fn() + Send + Sync>>,
    /// CPU time charged per timer tick, in user and kernel mode.
    pub user_ticks: core::sync::atomic::AtomicU64,
    pub sys_ticks: core::sync::atomic::AtomicU64,
    /// A signal arrived for this thread's process: a blocking system call should stop
    /// waiting (and return ERESTARTSYS) so the signal can be looked at.
    pub sig_wakeup: core::sync::atomic::AtomicBool,
    /// The user thread's blocked signals and the signals sent to it alone (tkill/tgkill).
    pub sigmask: core::sync::atomic::AtomicU64,
    pub sigpending: core::sync::atomic::AtomicU64,
    /// The process this thread runs user code for (0: a kernel thread), for CPU-time timers.
    pub owner: core::sync::atomic::AtomicU32,
    /// The user thread's robust futex list head (set_robust_list; 0: none). Kept here, not in
    /// the thread's `Task`, so get_robust_list and exit_group can reach other threads' heads.
    pub robust_list: core::sync::atomic::AtomicU64,
    /// CPUs this thread may run on (sched_setaffinity), bit i for CPU i; inherited by the
    /// threads and processes it creates.
    pub affinity: core::sync::atomic::AtomicU64,
    /// The user thread's restartable-sequence area (rseq(2); None: not registered). Only the
    /// thread itself changes it (and its creator, before a forked child first runs).
    pub rseq: SpinLock<Option<RseqArea>>,
    /// Set each time the thread resumes after a context switch, consumed on its way back to
    /// user mode: a thread with an rseq area then refreshes its CPU number there and aborts an
    /// interrupted critical section.
    pub rseq_switched: core::sync::atomic::AtomicBool,
}

/// A registered rseq area: where `struct rseq` is, the length given, and the signature that
/// must precede every abort handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RseqArea {
    pub addr: u64,
    pub len: u32,
    pub sig: u32,
}

type Start = Box<dyn FnOnce() + Send>;

/// Start functions of threads that have not run yet, by tid.
static STARTS: SpinLock<BTreeMap<u32, Start>> = SpinLock::new(BTreeMap::new());

extern "C" fn thread_entry(tid: usize) -> ! {
    finish_switch();
    hal::arch::enable_interrupts();
    let start = STARTS.lock().remove(&(tid as u32));
    if let Some(f) = start {
        f();
    }
    super::exit_current()
}

impl Thread {
    pub(super) fn for_boot(name: &str) -> Arc<Thread> {
        Arc::new(Thread {
            tid: 0,
            name: name.into(),
            ctx: KernelContext::for_current(),
            state: SpinLock::new(State::Running),
            exited: WaitQueue::new(),
            resume: hal::sync::Once::new(),
            user_ticks: Default::default(),
            sig_wakeup: Default::default(),
            sigmask: Default::default(),
            sigpending: Default::default(),
            owner: Default::default(),
            robust_list: Default::default(),
            affinity: core::sync::atomic::AtomicU64::new(u64::MAX),
            rseq: SpinLock::new(None),
            rseq_switched: Default::default(),
            sys_ticks: Default::default(),
        })
    }

    /// Create a thread that runs `f` and make it runnable. None if memory ran out.
    pub fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Option<Arc<Thread>> {
        let t = Self::create(name, f)?;
        t.start();
        Some(t)
    }

    /// Create a thread without starting it (fork sets up the child before it may run).
    pub fn create(name: &str, f: impl FnOnce() + Send + 'static) -> Option<Arc<Thread>> {
        let tid = alloc_tid();
        let ctx = KernelContext::new(thread_entry, tid as usize)?;
        STARTS.lock().insert(tid, Box::new(f));
        Some(Arc::new(Thread {
            tid,
            name: name.into(),
            ctx,
            state: SpinLock::new(State::Sleeping),
            exited: WaitQueue::new(),
            resume: hal::sync::Once::new(),
            user_ticks: Default::default(),
            sig_wakeup: Default::default(),
            sigmask: Default::default(),
            sigpending: Default::default(),
            owner: Default::default(),
            robust_list: Default::default(),
            affinity: core::sync::atomic::AtomicU64::new(u64::MAX),
            rseq: SpinLock::new(None),
            rseq_switched: Default::default(),
            sys_ticks: Default::default(),
        }))
    }

    /// Make a created thread runnable.
    pub fn start(self: &Arc<Thread>) {
        self.wake();
    }

    pub fn state(&self) -> State {
        *self.state.lock()
    }

    pub(super) fn set_state(&self, s: State) {
        *self.state.lock() = s;
    }

    pub(super) fn context(&self) -> &KernelContext {
        &self.ctx
    }

    /// Sleeping → Runnable, queued. Returns false if it was not sleeping (nothing to do).
    /// A signal is waiting: flag it and wake the thread if it sleeps.
    pub fn interrupt(self: &Arc<Thread>) {
        self.sig_wakeup
            .store(true, core::sync::atomic::Ordering::Release);
        self.wake();
    }

    pub fn wake(self: &Arc<Thread>) -> bool {
        let mut st = self.state.lock();
        if *st != State::Sleeping {
            return false;
        }
        *st = State::Runnable;
        drop(st);
        enqueue(self.clone());
        true
    }

    /// Mark the running thread as going to sleep; it leaves the CPU at the next `schedule`.
    pub(super) fn prepare_sleep(&self) {
        let mut st = self.state.lock();
        if *st == State::Running {
            *st = State::Sleeping;
        }
    }

    /// The running thread changed its mind about sleeping. If a waker already queued it, yield
    /// once so that queue entry is consumed.
    pub(super) fn cancel_sleep(&self) {
        let mut st = self.state.lock();
        match *st {
            State::Sleeping => *st = State::Running,
            State::Runnable => {
                drop(st);
                super::schedule();
            }
            _ => {}
        }
    }

    /// Set the hook run each time this thread resumes after a context switch.
    pub fn set_resume_hook(&self, f: impl Fn() + Send + Sync + 'static) {
        self.resume.call_once(|| Box::new(f));
    }

    pub(super) fn resumed(&self) {
        self.rseq_switched
            .store(true, core::sync::atomic::Ordering::Relaxed);
        if let Some(f) = self.resume.get() {
            f();
        }
    }

    pub(super) fn charge_tick(&self, from_user: bool) {
        let c = if from_user {
            &self.user_ticks
        } else {
            &self.sys_ticks
        };
        c.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    }

    pub(super) fn wake_joiners(&self) {
        self.exited.wake_all();
    }

    /// Wait until this thread has exited.
    #[cfg_attr(not(feature = "ktest"), allow(dead_code))]
    pub fn join(&self) {
        self.exited
            .wait_until(|| (self.state() == State::Dead).then_some(()));
    }
}

impl Drop for Thread {
    fn drop(&mut self) {
        STARTS.lock().remove(&self.tid);
    }
}
