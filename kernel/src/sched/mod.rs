//! The scheduler: kernel threads, per-CPU run queues with round-robin time slices, sleeping
//! and waking. A thread is `Running` on one CPU, `Runnable` in exactly one run queue, `Sleeping`
//! (owned by whatever will wake it: a wait queue, a timer) or `Dead`.
//!
//! Preemption: the timer tick marks the CPU `need_resched` when the running thread's slice is
//! used up; threads returning to user mode (and the idle loop) then yield. Kernel code is not
//! preempted in the middle (like Linux without CONFIG_PREEMPT).
//!
//! Lock order: a wait queue's lock, then a thread's state lock, then a run-queue lock. No lock is
//! held across `switch`.

pub mod mutex;
#[cfg(feature = "ktest")]
mod tests;
pub mod thread;
pub mod wait;

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use hal::sync::{Once, SpinLock};
pub use thread::{State, Thread};
pub use wait::WaitQueue;

pub const MAX_CPUS: usize = 64;
/// Ticks a thread may run before it is asked to yield (4 ms ticks → 20 ms).
const SLICE_TICKS: u32 = 5;

struct Cpu {
    queue: SpinLock<VecDeque<Arc<Thread>>>,
    current: SpinLock<Option<Arc<Thread>>>,
    idle: Arc<Thread>,
    /// A thread that exited and switched away; dropped by whoever runs next on this CPU.
    zombie: SpinLock<Option<Arc<Thread>>>,
    need_resched: AtomicBool,
    slice_left: AtomicU32,
}

static CPUS: [Once<Cpu>; MAX_CPUS] = [const { Once::new() }; MAX_CPUS];

fn this_cpu() -> &'static Cpu {
    match CPUS.get(hal::cpu::index() as usize).and_then(|c| c.get()) {
        Some(c) => c,
        None => panic!("scheduler not initialised on CPU {}", hal::cpu::index()),
    }
}

/// Make the code running now (the boot thread) this CPU's idle thread and start scheduling.
pub fn init_this_cpu() {
    let idle = Thread::for_boot("idle");
    idle.set_state(State::Running);
    let i = hal::cpu::index() as usize;
    if let Some(slot) = CPUS.get(i) {
        slot.call_once(|| Cpu {
            queue: SpinLock::new(VecDeque::new()),
            current: SpinLock::new(Some(idle.clone())),
            idle,
            zombie: SpinLock::new(None),
            need_resched: AtomicBool::new(false),
            slice_left: AtomicU32::new(SLICE_TICKS),
        });
    }
}

/// CPUs whose scheduler runs (each started CPU has one).
pub fn online_cpus() -> usize {
    CPUS.iter().filter(|c| c.get().is_some()).count()
}

/// The thread running on this CPU.
pub fn current() -> Arc<Thread> {
    match this_cpu().current.lock().as_ref() {
        Some(t) => t.clone(),
        None => panic!("no current thread"),
    }
}

/// Make a runnable thread eligible to run (on this CPU's queue).
pub(crate) fn enqueue(t: Arc<Thread>) {
    this_cpu().queue.lock().push_back(t);
}

/// Called from the timer interrupt: charge the tick to the running thread and count down its
/// time slice.
pub fn tick(from_user: bool) {
    let Some(cpu) = CPUS.get(hal::cpu::index() as usize).and_then(|c| c.get()) else {
        return;
    };
    if let Some(t) = cpu.current.try_lock().and_then(|c| c.clone()) {
        t.charge_tick(from_user);
        let owner = t.owner.load(Ordering::Relaxed);
        if owner != 0
            && let Some(p) = crate::proc::lookup_nowait(owner)
        {
            crate::proc::timer::cpu_tick(&p, from_user);
        }
        let counter = if Arc::ptr_eq(&t, &cpu.idle) {
            &IDLE_NS
        } else {
            &BUSY_NS
        };
        counter.fetch_add(1_000_000_000 / crate::platform::TICK_HZ, Ordering::Relaxed);
    }
    let left = cpu.slice_left.load(Ordering::Relaxed);
    if left <= 1 {
        cpu.need_resched.store(true, Ordering::Relaxed);
    } else {
        cpu.slice_left.store(left - 1, Ordering::Relaxed);
    }
}

/// Run-queue invariants: a queued thread is runnable (or running: woken before it switched
/// away), never dead or asleep, and on no queue twice; each CPU's current thread is running.
pub fn check_queues() -> Result<(), alloc::string::String> {
    use alloc::format;
    let mut seen = alloc::collections::BTreeSet::new();
    for (i, cpu) in CPUS.iter().enumerate() {
        let Some(cpu) = cpu.get() else { continue };
        let queued: alloc::vec::Vec<Arc<Thread>> = cpu.queue.lock().iter().cloned().collect();
        for t in queued {
            if !seen.insert(Arc::as_ptr(&t) as usize) {
                return Err(format!("thread {} queued twice", t.tid));
            }
            match t.state() {
                State::Runnable | State::Running => {}
                s => return Err(format!("thread {} queued on CPU {i} in state {s:?}", t.tid)),
            }
        }
        let current = cpu.current.lock().clone();
        if let Some(t) = current
            && t.state() != State::Running
        {
            return Err(format!(
                "CPU {i} runs thread {} in state {:?}",
                t.tid,
                t.state()
            ));
        }
    }
    Ok(())
}

static IDLE_NS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
static BUSY_NS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Time the CPUs spent idle, counted in ticks (for /proc/uptime and /proc/stat).
pub fn idle_ns() -> u64 {
    IDLE_NS.load(Ordering::Relaxed)
}

/// Time the CPUs ran threads, counted in ticks.
pub fn busy_ns() -> u64 {
    BUSY_NS.load(Ordering::Relaxed)
}

/// Whether the current thread should abandon a blocking wait because a signal arrived.
pub fn signal_wakeup() -> bool {
    current()
        .sig_wakeup
        .load(core::sync::atomic::Ordering::Acquire)
}

pub fn need_resched() -> bool {
    this_cpu().need_resched.load(Ordering::Relaxed)
}

/// Give up the CPU if another thread is waiting for it.
pub fn yield_now() {
    schedule();
}

/// Pick the next thread and switch to it. The current thread is requeued if it is still
/// `Running`; if it went to sleep (or died) it stays wherever its new state put it.
pub fn schedule() {
    let irq = hal::arch::interrupts_enabled();
    hal::arch::disable_interrupts();
    let cpu = this_cpu();
    cpu.need_resched.store(false, Ordering::Relaxed);
    cpu.slice_left.store(SLICE_TICKS, Ordering::Relaxed);
    let prev = current();
    let prev_state = prev.state();
    let next = {
        let mut q = cpu.queue.lock();
        if prev_state == State::Running && !Arc::ptr_eq(&prev, &cpu.idle) {
            prev.set_state(State::Runnable);
            q.push_back(prev.clone());
        }
        match q.pop_front() {
            Some(t) => t,
            None => cpu.idle.clone(),
        }
    };
    if Arc::ptr_eq(&prev, &next) {
        next.set_state(State::Running);
    } else {
        next.set_state(State::Running);
        *cpu.current.lock() = Some(next.clone());
        resumable(&next);
        hal::context::switch(prev.context(), next.context());
        // Back on `prev`, possibly much later.
        finish_switch();
    }
    if irq {
        hal::arch::enable_interrupts();
    }
}

/// Stop with the thread's name before resuming a context that would run on garbage (an
/// exited thread still queued, or a sleeping thread whose stack was overwritten): the
/// alternative is a jump to whatever the stack holds, which names nobody.
fn resumable(t: &Thread) {
    if let Err(why) = t.context().check_resumable() {
        panic!(
            "scheduler: cannot resume thread {} ({}, owner pid {}, state {:?}): {why}",
            t.tid,
            t.name,
            t.owner.load(Ordering::Relaxed),
            t.state()
        );
    }
}

/// After a switch, on the thread that now runs: release the thread that exited before it and
/// restore this thread's view of memory.
pub(crate) fn finish_switch() {
    let cpu = this_cpu();
    let dead = cpu.zombie.lock().take();
    drop(dead);
    let me = cpu.current.lock().clone();
    if let Some(t) = me {
        t.resumed();
    }
}

/// End the current thread. Its stack is freed by the next thread to run on this CPU.
///
/// No `Arc` may stay on the dying stack (it would never be dropped): the thread's own reference
/// moves from `current` to the zombie slot, and we leave for the idle thread, whose context is
/// reachable through a static, which then schedules normally.
pub fn exit_current() -> ! {
    hal::arch::disable_interrupts();
    let cpu = this_cpu();
    {
        let Some(me) = cpu.current.lock().take() else {
            panic!("exit with no current thread")
        };
        me.set_state(State::Dead);
        me.wake_joiners();
        *cpu.zombie.lock() = Some(me);
    }
    cpu.idle.set_state(State::Running);
    *cpu.current.lock() = Some(cpu.idle.clone());
    resumable(&cpu.idle);
    hal::context::exit_to(cpu.idle.context())
}

/// The idle loop of a CPU: run whatever is runnable, halt otherwise.
pub fn idle_loop() -> ! {
    loop {
        finish_switch();
        hal::arch::disable_interrupts();
        if this_cpu().queue.lock().is_empty() {
            // sti;hlt: an interrupt that makes something runnable ends the halt.
            hal::arch::enable_and_halt();
        } else {
            schedule();
        }
    }
}

static NEXT_TID: AtomicU32 = AtomicU32::new(1);

pub(crate) fn alloc_tid() -> u32 {
    NEXT_TID.fetch_add(1, Ordering::Relaxed)
}
