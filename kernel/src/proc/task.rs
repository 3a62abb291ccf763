//! A user thread's kernel side: the loop that runs user code and handles why it stopped
//! (system call, fault, interrupt), and user-memory access for system calls, which resolves
//! demand-paging faults the way a user access would.

use alloc::sync::Arc;
use alloc::vec::Vec;

use abi::errno::Errno;
use hal::user::{Exit, UserContext};

pub mod rseq;

use super::Process;
use super::signal::{SIGBUS, SIGFPE, SIGILL, SIGKILL, SIGSEGV, SIGTRAP};
use crate::{sched, syscall};

/// What a system call handler sees: the calling process and its thread's registers.
pub struct Task {
    pub proc: Arc<Process>,
    pub ctx: UserContext,
    pub tid: u32,
    /// Set when this thread ends (exit, exit_group, a fatal fault): leave the loop.
    pub exiting: bool,
    /// Exit status if this thread ended with exit(2): the process's, if it was the last thread.
    pub exit_code: i32,
    /// set_tid_address / CLONE_CHILD_CLEARTID: zeroed and futex-woken when the thread ends.
    pub clear_child_tid: u64,
    /// The number of a system call that was interrupted by a signal (it returned
    /// ERESTARTSYS): delivery restarts it or turns it into EINTR.
    pub restart: Option<(u64, Errno)>,
    /// rt_sigsuspend's caller mask, restored after the handler that ends the wait.
    pub saved_mask: Option<u64>,
    /// Faults retried in a row while waiting for an out-of-memory victim to die.
    pub oom_retries: u32,
}

impl Task {
    pub fn new(proc: Arc<Process>, ctx: UserContext, tid: u32) -> Task {
        Task {
            proc,
            ctx,
            tid,
            exiting: false,
            exit_code: 0,
            clear_child_tid: 0,
            restart: None,
            saved_mask: None,
            oom_retries: 0,
        }
    }
}

/// The kernel thread of a user thread: run, handle, repeat until the process exits.
pub fn run(mut task: Task) {
    // The kernel thread running this user thread (it never changes).
    let me = sched::current();
    loop {
        if task.proc.is_zombie() {
            // Another thread ended the process (exit_group or a fatal signal).
            break;
        }
        if task
            .proc
            .fast
            .stopped
            .load(core::sync::atomic::Ordering::Acquire)
        {
            super::signal::park(&task.proc);
            continue;
        }
        // Usually the space is live already (nothing else ran since the last call).
        let root = task
            .proc
            .fast
            .vm_root
            .load(core::sync::atomic::Ordering::Acquire);
        if (root == 0 || !hal::mem::paging::is_active_root(root))
            && let Some(vm) = task.proc.vm().lock().as_ref()
        {
            vm.activate();
        }
        // After a switch: the CPU number and an interrupted critical section (rseq).
        if me.rseq_switched.load(core::sync::atomic::Ordering::Relaxed)
            && !rseq::resume(&mut task, &me)
        {
            break;
        }
        let exit = task.ctx.run();
        match exit {
            Exit::Syscall => {
                hal::arch::enable_interrupts();
                syscall::dispatch(&mut task);
            }
            Exit::Interrupt(v) => {
                hal::trap::dispatch_irq(v);
                hal::arch::enable_interrupts();
            }
            Exit::Exception {
                vector,
                error_code,
                cr2,
            } => {
                hal::arch::enable_interrupts();
                handle_exception(&mut task, vector, error_code, cr2);
            }
        }
        if task.exiting || task.proc.is_zombie() {
            break;
        }
        if sched::need_resched() {
            sched::yield_now();
        }
        // Signals: a few atomic loads on the common path, delivery only when there is work.
        me.sig_wakeup
            .store(false, core::sync::atomic::Ordering::Release);
        use core::sync::atomic::Ordering::{Acquire, Relaxed};
        let ready =
            (task.proc.signals.pending() | me.sigpending.load(Acquire)) & !me.sigmask.load(Relaxed);
        if ready != 0 || task.restart.is_some() || task.saved_mask.is_some() {
            super::signal::deliver(&mut task);
            if task.exiting || task.proc.is_zombie() {
                break;
            }
        }
    }
    thread_exit(&mut task);
}

/// The end of a thread: mark the robust futexes it still holds as owner-died, clear and wake
/// its `clear_child_tid` word (pthread_join waits on it), fold its CPU time into the process,
/// and end the process if it was the last thread. A thread of a process that already ended
/// (exit_group, a fatal signal) has no memory left: the ending thread walked its list.
fn thread_exit(task: &mut Task) {
    if !task.proc.is_zombie() {
        let head = sched::current()
            .robust_list
            .swap(0, core::sync::atomic::Ordering::AcqRel);
        super::futex::exit_robust_list(task, head, task.tid);
    }
    if task.clear_child_tid != 0 && !task.proc.is_zombie() {
        let _ = task.write_user(task.clear_child_tid, &0u32.to_le_bytes());
        // A shared wake, as on Linux: the word may be in memory another process waits on.
        let key = super::futex::key(task, task.clear_child_tid, false);
        super::futex::wake(key, 1, super::futex::BITSET_ANY);
    }
    let me = sched::current();
    let tick = crate::time::TICK_NS;
    let times = &task.proc.times;
    times.user_ns.fetch_add(
        me.user_ticks.swap(0, core::sync::atomic::Ordering::Relaxed) * tick,
        core::sync::atomic::Ordering::Relaxed,
    );
    times.sys_ns.fetch_add(
        me.sys_ticks.swap(0, core::sync::atomic::Ordering::Relaxed) * tick,
        core::sync::atomic::Ordering::Relaxed,
    );
    if task.tid != task.proc.pid {
        super::forget_tid(task.tid);
    }
    if task
        .proc
        .live_threads
        .fetch_sub(1, core::sync::atomic::Ordering::AcqRel)
        == 1
    {
        task.proc.exit(abi::wait::exited(task.exit_code));
        // After exit_group the process became a zombie while this and other threads were
        // still ending; now the last is gone, the parent may reap it.
        task.proc.report_exit();
    }
}

fn handle_exception(task: &mut Task, vector: u8, error_code: u64, cr2: u64) {
    use super::signal::SigInfo;
    let rip = task.ctx.rip;
    let info = match vector {
        14 => {
            let write = error_code & 2 != 0;
            let exec = error_code & 0x10 != 0;
            let outcome = task
                .proc
                .vm()
                .lock()
                .as_mut()
                .map(|vm| vm.fault(cr2, write, exec));
            match outcome {
                Some(crate::vm::FaultResult::Mapped) => {
                    task.oom_retries = 0;
                    return;
                }
                Some(crate::vm::FaultResult::OutOfMemory) => {
                    out_of_memory(task, cr2);
                    return;
                }
                // SEGV_ACCERR: the area forbids the access; SEGV_MAPERR: no area there.
                Some(crate::vm::FaultResult::Denied) => SigInfo::fault(SIGSEGV, 2, cr2),
                _ => SigInfo::fault(SIGSEGV, 1, cr2),
            }
        }
        // FPE_INTDIV for a divide error; x87 and SIMD errors without a finer code.
        0 => SigInfo::fault(SIGFPE, 1, rip),
        16 | 19 => SigInfo::fault(SIGFPE, 0, rip),
        // TRAP_BRKPT (int3 leaves rip after the instruction, as on Linux), TRAP_TRACE.
        3 => SigInfo::fault(SIGTRAP, 0x80, 0),
        1 => SigInfo::fault(SIGTRAP, 2, rip),
        // ILL_ILLOPN: ud2 and other invalid opcodes.
        6 => SigInfo::fault(SIGILL, 2, rip),
        17 => SigInfo::fault(SIGBUS, 1, cr2),
        // General protection and the rest: SI_KERNEL with no address, as Linux reports them.
        _ => SigInfo::fault(SIGSEGV, 0x80, 0),
    };
    log::debug!(
        "pid {} ({}): {} at rip {rip:#x} (addr {cr2:#x}): signal {}",
        task.proc.pid,
        task.proc.comm.lock().as_str(),
        hal::trap::report::exception_name(vector),
        info.signo
    );
    super::signal::force(task, info);
}

/// The process the out-of-memory killer chose last, and when.
static OOM_VICTIM: hal::sync::SpinLock<Option<(alloc::sync::Weak<Process>, u64)>> =
    hal::sync::SpinLock::new(None);

/// No frame for a page fault: kill the process with the most resident memory (not init), and
/// let this one retry once the victim's memory is back; if this process is the biggest, or the
/// memory does not come back, it is the one killed. The kernel itself never goes down for it.
///
/// One victim at a time: while the last one chosen is still dying (for up to a second),
/// other faulting processes wait for its memory instead of each scanning every process again
/// (with a thousand processes faulting at once, those scans were all the machine did).
fn out_of_memory(task: &mut Task, cr2: u64) {
    task.oom_retries += 1;
    let now = crate::time::monotonic_ns();
    let dying = {
        let last = OOM_VICTIM.lock();
        last.as_ref()
            .filter(|(_, since)| now.saturating_sub(*since) < 1_000_000_000)
            .and_then(|(v, _)| v.upgrade())
            .filter(|v| !v.is_zombie())
    };
    if let Some(v) = dying
        && v.pid != task.proc.pid
        && task.oom_retries <= 100
    {
        crate::time::sleep_until(now + 10_000_000);
        return;
    }
    let victim = super::all()
        .into_iter()
        .filter(|p| p.pid != 1 && !p.is_zombie())
        .max_by_key(|p| p.vm().lock().as_ref().map_or(0, |v| v.resident_pages()));
    if let Some(v) = &victim {
        *OOM_VICTIM.lock() = Some((Arc::downgrade(v), now));
    }
    match victim {
        Some(v) if v.pid != task.proc.pid && task.oom_retries <= 100 => {
            if task.oom_retries == 1 {
                log::warn!(
                    "out of memory at a fault of pid {} ({}) on {cr2:#x}: killing pid {} ({}), the largest",
                    task.proc.pid,
                    task.proc.comm.lock().as_str(),
                    v.pid,
                    v.comm.lock().as_str()
                );
            }
            super::signal::send(
                &v,
                super::signal::SigInfo::user(SIGKILL, super::signal::SI_KERNEL, 0, 0),
            );
            // Give the victim time to run its exit and free its memory; the fault is retried.
            crate::time::sleep_until(crate::time::monotonic_ns() + 10_000_000);
        }
        _ => {
            log::warn!(
                "out of memory: killing pid {} ({}) at a fault on {cr2:#x}",
                task.proc.pid,
                task.proc.comm.lock().as_str()
            );
            kill_current(task, abi::wait::signaled(SIGKILL as i32, false));
        }
    }
}

/// End the calling process with a wait status.
pub fn kill_current(task: &mut Task, status: i32) {
    // Every thread's robust futexes, while the address space is still there.
    if !task.proc.is_zombie() {
        super::futex::exit_robust_lists_of_process(task);
    }
    task.proc.exit(status);
    task.exiting = true;
}

/// Run `f` on user memory, resolving faults through the address space (demand paging) and
/// retrying, as a user-mode access would. EFAULT if the address is not mapped or not allowed.
fn with_faults<R>(
    task: &Task,
    mut f: impl FnMut() -> Result<R, hal::user::Fault>,
) -> Result<R, Errno> {
    for _ in 0..4096 {
        match f() {
            Ok(r) => return Ok(r),
            Err(fault) if !fault.bad_range => {
                let ok = task
                    .proc
                    .vm()
                    .lock()
                    .as_mut()
                    .is_some_and(|vm| vm.handle_fault(fault.addr, fault.write, false));
                if !ok {
                    return Err(Errno::EFAULT);
                }
            }
            Err(_) => return Err(Errno::EFAULT),
        }
    }
    Err(Errno::EFAULT)
}

impl Task {
    pub fn read_user(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        with_faults(self, || hal::user::copy_from_user(buf, addr))
    }

    pub fn write_user(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        with_faults(self, || hal::user::copy_to_user(addr, data))
    }

    pub fn read_u64(&self, addr: u64) -> Result<u64, Errno> {
        let mut b = [0u8; 8];
        self.read_user(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    pub fn write_u64(&self, addr: u64, v: u64) -> Result<(), Errno> {
        self.write_user(addr, &v.to_le_bytes())
    }

    pub fn write_i32(&self, addr: u64, v: i32) -> Result<(), Errno> {
        self.write_user(addr, &v.to_le_bytes())
    }

    /// A NUL-terminated string of at most `max` bytes; ENAMETOOLONG/E2BIG is the caller's call.
    pub fn read_cstr(&self, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        let mut at = addr;
        loop {
            let mut chunk = [0u8; 256];
            let n = chunk.len().min((4096 - (at % 4096)) as usize);
            self.read_user(at, &mut chunk[..n])?;
            if let Some(pos) = chunk[..n].iter().position(|&b| b == 0) {
                if out.len() + pos > max {
                    return Err(Errno::ENAMETOOLONG);
                }
                out.extend_from_slice(&chunk[..pos]);
                return Ok(out);
            }
            if out.len() + n > max {
                return Err(Errno::ENAMETOOLONG);
            }
            out.extend_from_slice(&chunk[..n]);
            at = at.checked_add(n as u64).ok_or(Errno::EFAULT)?;
        }
    }
}

/// Start the first thread of `proc` with registers `ctx`.
pub fn spawn_user_thread(
    proc: Arc<Process>,
    ctx: UserContext,
    tid: u32,
    clear_child_tid: u64,
    start: bool,
) -> Result<Arc<sched::Thread>, Errno> {
    let name = proc.comm.lock().clone();
    let weak = Arc::downgrade(&proc);
    let registry = proc.clone();
    let registry_pid = proc.pid;
    let thread = sched::Thread::create(&name, move || {
        let mut task = Task::new(proc, ctx, tid);
        task.clear_child_tid = clear_child_tid;
        run(task);
    })
    .ok_or(Errno::ENOMEM)?;
    {
        let mut list = registry.threads.lock();
        list.retain(|(_, t)| t.strong_count() > 0);
        list.push((tid, Arc::downgrade(&thread)));
    }
    thread
        .owner
        .store(registry_pid, core::sync::atomic::Ordering::Relaxed);
    // A forked child keeps its creator's rseq area (its memory is a copy); a thread or a
    // CLONE_VM child (same memory as the creator) starts without one.
    let creator = sched::current();
    let area = *creator.rseq.lock();
    let creator_pid = creator.owner.load(core::sync::atomic::Ordering::Relaxed);
    if area.is_some()
        && super::lookup(creator_pid).is_some_and(|p| !Arc::ptr_eq(&p.vm(), &registry.vm()))
    {
        *thread.rseq.lock() = area;
    }
    // A new thread (clone) or process (fork) starts with its creator's CPU affinity and
    // signal mask.
    thread.affinity.store(
        sched::current()
            .affinity
            .load(core::sync::atomic::Ordering::Relaxed),
        core::sync::atomic::Ordering::Relaxed,
    );
    thread.sigmask.store(
        sched::current()
            .sigmask
            .load(core::sync::atomic::Ordering::Relaxed),
        core::sync::atomic::Ordering::Relaxed,
    );
    drop(registry);
    thread.set_resume_hook(move || {
        super::activate_space(&weak);
    });
    if start {
        thread.start();
    }
    Ok(thread)
}
