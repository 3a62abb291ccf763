//! Processes: identity (pid, parent, children, process group, session), credentials, limits,
//! the address space, and the life cycle — fork, execve, exit, wait. A process has one thread
//! for now (threads come with `clone`); that thread's kernel loop is in `task.rs`.
//!
//! Lifetime: the process table holds weak references; a parent's `children` list holds the
//! strong ones, so a zombie lives (with its pid and status) until its parent reaps it. Orphans
//! move to pid 1.
//!
//! Lock order: parent's `children` → child's `state`; the table lock is taken alone.

pub mod creds;
pub mod exec;
pub mod fork;
pub mod futex;
pub mod init;
pub mod signal;
pub mod task;
#[cfg(feature = "ktest")]
mod tests;
pub mod timer;
pub mod wait;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use abi::errno::Errno;
use abi::layout::Rlimit;
use hal::sync::SpinLock;

use crate::fs::NodeRef;
use crate::fs::file::FdTable;
use crate::sched::WaitQueue;
use crate::vm::AddressSpace;
pub use creds::Creds;

pub type Pid = u32;

/// Linux's default pid_max.
pub const PID_MAX: u32 = 32768;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcState {
    Running,
    /// Exited with this wait status; waiting to be reaped.
    Zombie(i32),
}

/// CPU time in nanoseconds, charged per tick.
#[derive(Default)]
pub struct Times {
    pub user_ns: AtomicU64,
    pub sys_ns: AtomicU64,
    /// Reaped children's totals (RUSAGE_CHILDREN, times()'s cutime/cstime).
    pub child_user_ns: AtomicU64,
    pub child_sys_ns: AtomicU64,
    pub max_rss_pages: AtomicU64,
    pub child_max_rss_pages: AtomicU64,
}

/// Signal dispositions: one raw `struct sigaction` per signal.
pub type Handlers = SpinLock<[[u8; 32]; 64]>;

/// What Linux keeps in `fs_struct`: the working and root directories and the umask.
pub struct FsContext {
    pub cwd: SpinLock<NodeRef>,
    /// The root directory (`chroot`).
    pub root: SpinLock<NodeRef>,
    pub umask: AtomicU32,
}

impl FsContext {
    /// An unshared copy (fork without CLONE_FS).
    pub fn copy(&self) -> FsContext {
        FsContext {
            cwd: SpinLock::new(self.cwd.lock().clone()),
            root: SpinLock::new(self.root.lock().clone()),
            umask: AtomicU32::new(self.umask.load(Ordering::Relaxed)),
        }
    }
}

/// An address space as processes hold it (see [`Process::vm`]).
pub type VmCell = Arc<SpinLock<Option<AddressSpace>>>;

pub struct Process {
    pub pid: Pid,
    pub parent: SpinLock<Weak<Process>>,
    pub children: SpinLock<Vec<Arc<Process>>>,
    pub state: SpinLock<ProcState>,
    pub pgid: AtomicU32,
    pub sid: AtomicU32,
    pub creds: SpinLock<Creds>,
    pub rlimits: SpinLock<[Rlimit; 16]>,
    /// The address space, shared with `clone(CLONE_VM)` siblings: use [`Process::vm`].
    vm_cell: SpinLock<VmCell>,
    /// Working and root directories and umask: copied by fork, shared by CLONE_FS.
    fs_cell: SpinLock<Arc<FsContext>>,
    /// Absolute path of the executable (`/proc/<pid>/exe`).
    pub exe: SpinLock<Vec<u8>>,
    /// argv as execve received it, NUL-separated (`/proc/<pid>/cmdline`).
    pub cmdline: SpinLock<Vec<u8>>,
    /// The environment execve received, NUL-separated (`/proc/<pid>/environ`).
    pub environ: SpinLock<Vec<u8>>,
    /// Monotonic time of creation.
    pub start_ns: u64,
    /// The descriptor table: its own object, copied by fork and shared by CLONE_FILES.
    files: SpinLock<Arc<SpinLock<FdTable>>>,
    /// Signal dispositions (raw `struct sigaction` bytes, as rt_sigaction set them): copied
    /// by fork, shared by CLONE_SIGHAND. Use [`Process::handlers`].
    handlers_cell: SpinLock<Arc<Handlers>>,
    /// The signal the parent gets when this process ends (clone's low byte; SIGCHLD for fork).
    pub exit_signal: AtomicU32,
    /// Pending signals and the alternate stack.
    pub signals: signal::Signals,
    /// Job control: stopped or not, and a stop/continue the parent has not waited for yet.
    pub job: SpinLock<signal::Job>,
    /// Threads of a stopped process sleep here until SIGCONT (or SIGKILL).
    pub stop_wait: WaitQueue,
    /// ITIMER_VIRTUAL and ITIMER_PROF.
    pub cpu_timers: SpinLock<timer::CpuTimers>,
    /// The kernel threads running this process's user threads (signals wake them).
    pub threads: SpinLock<Vec<(Pid, Weak<crate::sched::Thread>)>>,
    /// Nice value, -20..=19.
    pub nice: core::sync::atomic::AtomicI32,
    /// Short name (`comm`): the last path component of the executable, 15 bytes at most.
    pub comm: SpinLock<String>,
    /// Woken when a child changes state (exits) — wait4/waitid sleep here.
    pub child_events: WaitQueue,
    /// vfork: set when the child has exec'd or exited; the parent sleeps on `vfork_wait`.
    pub vfork_released: core::sync::atomic::AtomicBool,
    pub vfork_wait: WaitQueue,
    /// The process that vforked this one and sleeps until it execs or exits (not always the
    /// parent: CLONE_PARENT gives the child to the caller's parent).
    pub vfork_waiter: SpinLock<Weak<Process>>,
    pub times: Times,
    /// Threads of this process that have not ended yet.
    pub live_threads: AtomicU32,
    /// prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants are reparented here instead of
    /// to init. Not inherited by children; execve keeps it.
    pub child_subreaper: AtomicBool,
    /// The parent was told of the exit (after the last thread ended): only then can it reap.
    pub exit_reported: AtomicBool,
    /// Lock-free mirrors of locked state, read on every system call (the user thread's loop
    /// and `getppid`) where a lock round trip would cost more than the call itself. Each is
    /// written under the lock of the state it mirrors; the locked state stays the truth.
    pub fast: FastState,
}

/// See [`Process::fast`].
#[derive(Default)]
pub struct FastState {
    /// `state` is `Zombie`.
    pub zombie: AtomicBool,
    /// `job.stopped`.
    pub stopped: AtomicBool,
    /// The parent's pid (0 for none).
    pub ppid: AtomicU32,
    /// The physical root of `vm`'s page table (0 without one).
    pub vm_root: AtomicU64,
}

static TABLE: SpinLock<BTreeMap<Pid, Weak<Process>>> = SpinLock::new(BTreeMap::new());
static LAST_PID: AtomicU32 = AtomicU32::new(0);

/// A free pid, counting up from the last one and wrapping at PID_MAX as Linux does.
fn alloc_pid(table: &BTreeMap<Pid, Weak<Process>>) -> Option<Pid> {
    for _ in 0..PID_MAX {
        let mut p = LAST_PID.load(Ordering::Relaxed) + 1;
        if p >= PID_MAX {
            p = 2; // pid 1 is init's for good; Linux restarts above RESERVED_PIDS
        }
        LAST_PID.store(p, Ordering::Relaxed);
        if !table.contains_key(&p) {
            return Some(p);
        }
    }
    None
}

/// A thread id for a new thread of `proc` (tids share the pid space, as on Linux).
pub fn alloc_tid(proc: &Arc<Process>) -> Result<Pid, Errno> {
    let mut table = TABLE.lock();
    let tid = alloc_pid(&table).ok_or(Errno::EAGAIN)?;
    table.insert(tid, Arc::downgrade(proc));
    Ok(tid)
}

/// Release the id of a thread that ended (never the process's own pid).
pub fn forget_tid(tid: Pid) {
    TABLE.lock().remove(&tid);
}

/// `lookup` for interrupt context: gives up instead of spinning if the table is busy.
pub fn lookup_nowait(pid: Pid) -> Option<Arc<Process>> {
    TABLE.try_lock()?.get(&pid).and_then(Weak::upgrade)
}

pub fn lookup(pid: Pid) -> Option<Arc<Process>> {
    TABLE.lock().get(&pid).and_then(Weak::upgrade)
}

/// The pids of every live or zombie process, ascending (thread ids left out).
pub fn pids() -> Vec<Pid> {
    TABLE
        .lock()
        .iter()
        .filter(|(pid, w)| w.upgrade().is_some_and(|p| p.pid == **pid))
        .map(|(pid, _)| *pid)
        .collect()
}

/// Every entry of the process table with what it names (None: the process is gone, which
/// should never be seen), for the invariant checks.
pub fn table_entries() -> Vec<(Pid, Option<Arc<Process>>)> {
    TABLE
        .lock()
        .iter()
        .map(|(id, w)| (*id, w.upgrade()))
        .collect()
}

/// Entries of the process table: processes (zombies too) and the extra threads' ids.
pub fn table_len() -> usize {
    TABLE.lock().len()
}

/// A user thread got the CPU back: load its process's page table. A process that has
/// exited has none; then the kernel's table, not whichever table the previous thread left
/// loaded: a thread still finishing a system call (woken after another thread's exit_group)
/// would otherwise copy its results into another process's memory.
pub(crate) fn activate_space(p: &Weak<Process>) {
    let Some(p) = p.upgrade() else {
        return hal::mem::paging::kernel_table_activate();
    };
    let cell = p.vm();
    let vm = cell.lock();
    match vm.as_ref() {
        Some(space) => space.activate(),
        None => hal::mem::paging::kernel_table_activate(),
    }
}

/// The pid handed out last.
pub fn last_pid() -> Pid {
    LAST_PID.load(Ordering::Relaxed)
}

/// Every live or zombie process (for /proc and diagnostics).
pub fn all() -> Vec<Arc<Process>> {
    TABLE.lock().values().filter_map(Weak::upgrade).collect()
}

impl Process {
    /// A new process with a fresh pid; `template` gives credentials, limits and so on (pid 1
    /// gets the defaults).
    pub fn new(
        parent: Option<&Arc<Process>>,
        vm: Option<AddressSpace>,
    ) -> Result<Arc<Process>, Errno> {
        // Taken before the table's lock: the VFS lock is never taken while TABLE is held.
        let fs = match parent {
            Some(p) => p.fs().copy(),
            None => FsContext {
                cwd: SpinLock::new(crate::fs::root()),
                root: SpinLock::new(crate::fs::root()),
                umask: AtomicU32::new(0o022),
            },
        };
        let mut table = TABLE.lock();
        let pid = alloc_pid(&table).ok_or(Errno::EAGAIN)?;
        let fds = parent.map_or_else(FdTable::with_console, |p| p.fds().lock().clone());
        let sigactions = parent.map_or([[0u8; 32]; 64], |p| *p.handlers().lock());
        let (creds, rlimits, comm, pgid, sid) = match parent {
            Some(p) => (
                p.creds.lock().clone(),
                *p.rlimits.lock(),
                p.comm.lock().clone(),
                p.pgid.load(Ordering::Relaxed),
                p.sid.load(Ordering::Relaxed),
            ),
            None => (
                Creds::root(),
                default_rlimits(),
                String::from("init"),
                pid,
                pid,
            ),
        };
        let p = Arc::new(Process {
            pid,
            parent: SpinLock::new(parent.map(Arc::downgrade).unwrap_or_default()),
            children: SpinLock::new(Vec::new()),
            state: SpinLock::new(ProcState::Running),
            pgid: AtomicU32::new(pgid),
            sid: AtomicU32::new(sid),
            creds: SpinLock::new(creds),
            rlimits: SpinLock::new(rlimits),
            vm_cell: SpinLock::new(Arc::new(SpinLock::new(vm))),
            fs_cell: SpinLock::new(Arc::new(fs)),
            exe: SpinLock::new(parent.map(|p| p.exe.lock().clone()).unwrap_or_default()),
            cmdline: SpinLock::new(parent.map(|p| p.cmdline.lock().clone()).unwrap_or_default()),
            environ: SpinLock::new(parent.map(|p| p.environ.lock().clone()).unwrap_or_default()),
            start_ns: crate::time::monotonic_ns(),
            files: SpinLock::new(Arc::new(SpinLock::new(fds))),
            handlers_cell: SpinLock::new(Arc::new(SpinLock::new(sigactions))),
            signals: signal::Signals::default(),
            job: SpinLock::new(signal::Job::default()),
            stop_wait: WaitQueue::new(),
            cpu_timers: SpinLock::new(timer::CpuTimers::default()),
            exit_signal: AtomicU32::new(signal::SIGCHLD),
            threads: SpinLock::new(Vec::new()),
            nice: core::sync::atomic::AtomicI32::new(
                parent.map_or(0, |p| p.nice.load(Ordering::Relaxed)),
            ),
            comm: SpinLock::new(comm),
            child_events: WaitQueue::new(),
            vfork_released: core::sync::atomic::AtomicBool::new(false),
            vfork_wait: WaitQueue::new(),
            vfork_waiter: SpinLock::new(Weak::new()),
            times: Times::default(),
            live_threads: AtomicU32::new(1),
            child_subreaper: AtomicBool::new(false),
            exit_reported: AtomicBool::new(false),
            fast: FastState::default(),
        });
        p.fast
            .ppid
            .store(parent.map_or(0, |q| q.pid), Ordering::Relaxed);
        p.fast.vm_root.store(
            p.vm().lock().as_ref().map_or(0, |v| v.root()),
            Ordering::Release,
        );
        table.insert(pid, Arc::downgrade(&p));
        drop(table);
        if let Some(parent) = parent {
            parent.children.lock().push(p.clone());
        }
        Ok(p)
    }

    /// Move a new child from `from`'s children to `to`'s (clone's CLONE_PARENT).
    pub fn reparent(self: &Arc<Process>, from: &Arc<Process>, to: &Arc<Process>) {
        from.children.lock().retain(|c| !Arc::ptr_eq(c, self));
        *self.parent.lock() = Arc::downgrade(to);
        self.fast.ppid.store(to.pid, Ordering::Release);
        to.children.lock().push(self.clone());
    }

    /// Undo `new` for a child that never ran (fork failed after creating it): out of its
    /// parent's children and the pid table, its memory and descriptors released.
    pub fn abandon(self: &Arc<Process>) {
        if let Some(parent) = self.parent.lock().upgrade() {
            parent.children.lock().retain(|c| !Arc::ptr_eq(c, self));
        }
        {
            let mut table = TABLE.lock();
            if table
                .get(&self.pid)
                .is_some_and(|w| core::ptr::eq(w.as_ptr(), Arc::as_ptr(self)))
            {
                table.remove(&self.pid);
            }
        }
        *self.state.lock() = ProcState::Zombie(0);
        self.fast.zombie.store(true, Ordering::Release);
        drop(self.set_vm(Arc::new(SpinLock::new(None))));
        let fds = core::mem::replace(
            &mut *self.files.lock(),
            Arc::new(SpinLock::new(FdTable::default())),
        );
        drop(fds);
    }

    /// Wake every thread of the process so blocked system calls notice a signal.
    pub fn wake_threads(&self) {
        let threads: Vec<Arc<crate::sched::Thread>> = self
            .threads
            .lock()
            .iter()
            .filter_map(|(_, t)| t.upgrade())
            .collect();
        for t in threads {
            t.interrupt();
        }
    }

    /// The kernel thread running user thread `tid` of this process.
    pub fn thread(&self, tid: Pid) -> Option<Arc<crate::sched::Thread>> {
        self.threads
            .lock()
            .iter()
            .find(|(t, _)| *t == tid)
            .and_then(|(_, w)| w.upgrade())
    }

    /// The blocked mask of the process's first live thread (for /proc status).
    pub fn leader_mask(&self) -> u64 {
        self.threads
            .lock()
            .iter()
            .find_map(|(_, w)| w.upgrade())
            .map_or(0, |t| t.sigmask.load(Ordering::Relaxed))
    }

    /// The descriptor table (shared with other processes after `clone(CLONE_FILES)`).
    pub fn fds(&self) -> Arc<SpinLock<FdTable>> {
        self.files.lock().clone()
    }

    /// `CLONE_FILES`: use `other`'s descriptor table instead of a copy.
    /// This process's address space. Lock it to use it; the cell is shared by processes
    /// created with `clone(CLONE_VM)` (vfork's child until it execs), so a process's memory
    /// lives as long as any of them.
    pub fn vm(&self) -> VmCell {
        self.vm_cell.lock().clone()
    }

    /// Point this process at another address space (its own after execve, or a parent's for
    /// CLONE_VM) and return the previous one, which the caller drops.
    pub fn set_vm(&self, cell: VmCell) -> VmCell {
        let mut mine = self.vm_cell.lock();
        let root = cell.lock().as_ref().map_or(0, |v| v.root());
        self.fast.vm_root.store(root, Ordering::Release);
        core::mem::replace(&mut *mine, cell)
    }

    /// Working and root directories and umask (shared with CLONE_FS siblings).
    pub fn fs(&self) -> Arc<FsContext> {
        self.fs_cell.lock().clone()
    }

    /// `CLONE_FS`: use `other`'s directories and umask instead of a copy.
    pub fn share_fs(&self, other: &Process) {
        let shared = other.fs();
        drop(core::mem::replace(&mut *self.fs_cell.lock(), shared));
    }

    /// The signal dispositions (shared with CLONE_SIGHAND siblings).
    pub fn handlers(&self) -> Arc<Handlers> {
        self.handlers_cell.lock().clone()
    }

    /// `CLONE_SIGHAND` without `CLONE_THREAD`: use `other`'s dispositions instead of a copy.
    pub fn share_handlers(&self, other: &Process) {
        let shared = other.handlers();
        drop(core::mem::replace(&mut *self.handlers_cell.lock(), shared));
    }

    /// execve: dispositions shared through CLONE_SIGHAND become this process's own copy (the
    /// reset of handled signals must not reach the other processes).
    pub fn unshare_handlers(&self) {
        let mut h = self.handlers_cell.lock();
        if Arc::strong_count(&h) > 1 {
            let copy = *h.lock();
            *h = Arc::new(SpinLock::new(copy));
        }
    }

    pub fn share_files(&self, other: &Process) {
        let shared = other.fds();
        let old = core::mem::replace(&mut *self.files.lock(), shared);
        drop(old);
    }

    /// execve: a table shared through CLONE_FILES becomes this process's own copy.
    pub fn unshare_files(&self) {
        let mut f = self.files.lock();
        if Arc::strong_count(&f) > 1 {
            let copy = f.lock().clone();
            let old = core::mem::replace(&mut *f, Arc::new(SpinLock::new(copy)));
            drop(f);
            drop(old);
        }
    }

    pub fn ppid(&self) -> Pid {
        self.fast.ppid.load(Ordering::Acquire)
    }

    pub fn is_zombie(&self) -> bool {
        self.fast.zombie.load(Ordering::Acquire)
    }

    /// Release vfork's parent (after exec or exit of the child).
    pub fn release_vfork_parent(&self) {
        if !self.vfork_released.swap(true, Ordering::SeqCst)
            && let Some(waiter) = self.vfork_waiter.lock().upgrade()
        {
            waiter.vfork_wait.wake_all();
        }
    }

    /// Turn the process into a zombie with wait status `status`: drop its memory, hand its
    /// children to init, tell the parent. The calling thread then ends.
    pub fn exit(self: &Arc<Process>, status: i32) {
        {
            let mut st = self.state.lock();
            if *st != ProcState::Running {
                return;
            }
            *st = ProcState::Zombie(status);
            self.fast.zombie.store(true, Ordering::Release);
        }
        // The other threads may sleep in a system call (pause, a pipe, a futex...): wake them
        // so they see the process is gone and end. Without this a thread asleep in pause()
        // when another one called exit_group stayed asleep forever, with its kernel stack.
        self.wake_threads();
        self.release_vfork_parent();
        // The exiting thread is the caller: move its CPU time into the process's totals, which
        // the parent collects when it reaps us.
        let me = crate::sched::current();
        let tick = crate::time::TICK_NS;
        self.times.user_ns.fetch_add(
            me.user_ticks.swap(0, Ordering::Relaxed) * tick,
            Ordering::Relaxed,
        );
        self.times.sys_ns.fetch_add(
            me.sys_ticks.swap(0, Ordering::Relaxed) * tick,
            Ordering::Relaxed,
        );
        let rss = self.vm().lock().as_ref().map_or(0, |v| v.resident_pages()) as u64;
        self.times.max_rss_pages.fetch_max(rss, Ordering::Relaxed);
        // Leave the address space before freeing it.
        hal::mem::paging::kernel_table_activate();
        // The space itself goes with its last user (a CLONE_VM sibling may still run in it).
        let vm = self.set_vm(Arc::new(SpinLock::new(None)));
        drop(vm);
        // Close every descriptor, as exit does on Linux.
        // Drop this process's hold on its descriptor table (the files close with the last).
        let fds = core::mem::replace(
            &mut *self.files.lock(),
            Arc::new(SpinLock::new(FdTable::default())),
        );
        drop(fds);
        timer::exit(self);
        if self.pid == 1 {
            init_exited(status);
        }
        let orphans: Vec<Arc<Process>> = core::mem::take(&mut *self.children.lock());
        // Groups this exit may orphan: our own, and each child's.
        let mut groups: Vec<(u32, u32)> = alloc::vec![(
            self.pgid.load(Ordering::Relaxed),
            self.sid.load(Ordering::Relaxed)
        )];
        for c in &orphans {
            let g = (
                c.pgid.load(Ordering::Relaxed),
                c.sid.load(Ordering::Relaxed),
            );
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
        if !orphans.is_empty() {
            match self.reaper() {
                Some(reaper) => {
                    for c in &orphans {
                        let mut parent = c.parent.lock();
                        *parent = Arc::downgrade(&reaper);
                        c.fast.ppid.store(reaper.pid, Ordering::Release);
                    }
                    // Zombies whose exit was reported; the others report to their new
                    // parent when their last thread ends.
                    let zombies: Vec<Arc<Process>> = orphans
                        .iter()
                        .filter(|c| c.exit_reported.load(Ordering::Acquire))
                        .cloned()
                        .collect();
                    reaper.children.lock().extend(orphans);
                    if !zombies.is_empty() {
                        // As Linux does for a zombie it reparents: the new parent hears of
                        // the death (init ignores SIGCHLD; a subreaper may wait for it).
                        for z in &zombies {
                            z.notify_parent_of_exit(&reaper);
                        }
                        reaper.child_events.wake_all();
                    }
                }
                None => drop(orphans),
            }
        }
        for (pgid, sid) in groups {
            signal::orphan_check(pgid, sid);
        }
        // The calling thread has not ended yet; if it is the only one left, the parent may
        // hear now, else the last thread to end tells it (`report_exit` from thread_exit).
        if self.live_threads.load(Ordering::Acquire) <= 1 {
            self.report_exit();
        }
    }

    /// Tell the parent this zombie can be waited for (once): its exit signal and a wake-up,
    /// or, without a parent, leave the table.
    pub fn report_exit(&self) {
        if !self.is_zombie() || self.exit_reported.swap(true, Ordering::AcqRel) {
            return;
        }
        let parent = self.parent.lock().upgrade();
        match parent {
            Some(parent) => {
                self.notify_parent_of_exit(&parent);
                parent.child_events.wake_all();
            }
            None => {
                TABLE.lock().remove(&self.pid);
            }
        }
    }

    /// Send `parent` the exit signal of this zombie (SIGCHLD unless clone chose another,
    /// none for 0) with what happened, as Linux does.
    fn notify_parent_of_exit(&self, parent: &Arc<Process>) {
        let ProcState::Zombie(status) = *self.state.lock() else {
            return;
        };
        let sig = self.exit_signal.load(Ordering::Relaxed);
        if sig == 0 {
            return;
        }
        let (code, st) = if abi::wait::if_signaled(status) {
            (signal::CLD_KILLED, abi::wait::term_sig(status))
        } else {
            (signal::CLD_EXITED, abi::wait::exit_status(status))
        };
        let mut info = signal::SigInfo::user(sig, code, self.pid, self.creds.lock().uid);
        info.status = st;
        signal::send(parent, info);
    }

    /// Who takes this process's children when it exits: the nearest living ancestor that
    /// set PR_SET_CHILD_SUBREAPER, else init. The walk is bounded by PID_MAX steps.
    fn reaper(&self) -> Option<Arc<Process>> {
        let mut up = self.parent.lock().upgrade();
        for _ in 0..PID_MAX {
            let Some(a) = up else { break };
            if a.pid == 1 {
                return Some(a);
            }
            if a.child_subreaper.load(Ordering::Acquire) && !a.is_zombie() {
                return Some(a);
            }
            up = a.parent.lock().upgrade();
        }
        lookup(1)
    }

    /// Remove a reaped zombie from the table (its parent already took it out of `children`).
    fn forget(&self) {
        TABLE.lock().remove(&self.pid);
    }
}

/// What Linux does when init dies is panic; Tine reports it and powers off with a failure
/// status so a test run sees it.
fn init_exited(status: i32) {
    use abi::wait;
    if wait::if_exited(status) {
        log::warn!("init exited with status {}", wait::exit_status(status));
    } else if wait::if_signaled(status) {
        log::warn!("init was killed by signal {}", wait::term_sig(status));
    }
    hal::kprintln!("Tine: init (pid 1) ended; powering off");
    hal::power::qemu_exit(0x7f);
    hal::power::power_off();
}

/// Resource limits for init, as Linux sets them.
pub fn default_rlimits() -> [Rlimit; 16] {
    let total = hal::mem::frames::stats().total;
    abi::layout::init_rlimits(total)
}
