//! t_thread: threads as Linux runs them — std::thread (clone with CLONE_VM|CLONE_THREAD, TLS,
//! CLONE_CHILD_CLEARTID + futex wake for join), shared memory and a contended mutex (futex
//! wait/wake), distinct thread ids in one process, a thread ending without ending the process,
//! and exit_group from a thread ending all of them; robust futex lists: set_robust_list and
//! get_robust_list (EINVAL, ESRCH, EFAULT, EPERM for another uid, another thread's head), and
//! robust pthread mutexes whose owner died — a thread that returned holding one, a waiter
//! blocked on it when the owner exits, and a process-shared one in a MAP_SHARED page whose
//! owner process ended with _exit or SIGKILL (there only the kernel's walk of the robust list
//! marks the word): EOWNERDEAD, pthread_mutex_consistent, and the mutex usable again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use usertests::{Report, reap, sc};

fn gettid() -> i64 {
    // SAFETY: no arguments.
    unsafe { libc::syscall(libc::SYS_gettid) }
}

fn main() {
    let mut r = Report::new("t_thread");
    // SAFETY: no arguments.
    let pid = unsafe { libc::getpid() } as i64;
    r.eq("main_thread_tid_is_pid", gettid(), pid);

    // Four threads increment a shared counter under a mutex and report their ids.
    let counter = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let c = counter.clone();
            std::thread::spawn(move || {
                for _ in 0..2000 {
                    *c.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                }
                // SAFETY: no arguments.
                (gettid(), unsafe { libc::getpid() } as i64)
            })
        })
        .collect();
    let ids: Vec<(i64, i64)> = handles.into_iter().filter_map(|h| h.join().ok()).collect();
    r.eq("all_threads_joined", ids.len(), 4);
    r.eq(
        "mutex_counter",
        *counter.lock().unwrap_or_else(|e| e.into_inner()),
        8000,
    );
    r.check(
        "threads_share_the_pid",
        ids.iter().all(|&(_, p)| p == pid),
        || format!("{ids:?}"),
    );
    let mut tids: Vec<i64> = ids.iter().map(|&(t, _)| t).collect();
    tids.push(pid);
    tids.sort_unstable();
    tids.dedup();
    r.eq("thread_ids_distinct", tids.len(), 5);

    // Memory written by a thread is seen by the others (one address space).
    let shared = Arc::new(AtomicU64::new(0));
    let s2 = shared.clone();
    let t = std::thread::spawn(move || s2.store(0xfeed, Ordering::SeqCst));
    let _ = t.join();
    r.eq(
        "threads_share_memory",
        shared.load(Ordering::SeqCst),
        0xfeed,
    );

    // A thread that ends does not end the process; exit_group from a thread ends them all.
    let child = usertests::spawn(|| {
        let t = std::thread::spawn(|| 5);
        if t.join().ok() != Some(5) {
            return 1;
        }
        std::thread::spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            // SAFETY: ends the whole process from this thread.
            unsafe { libc::syscall(libc::SYS_exit_group, 7) };
        });
        loop {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    });
    r.eq(
        "exit_group_from_a_thread",
        reap(child).map(|st| libc::WIFEXITED(st).then(|| libc::WEXITSTATUS(st))),
        Ok(Some(7)),
    );
    signals(&mut r);
    robust_syscalls(&mut r);
    robust_mutexes(&mut r);
    shared_by_flag(&mut r);
    affinity(&mut r);
    r.finish()
}

/// Which thread ran the SIGUSR1 handler last (its tid), and how often it ran.
static HANDLED_BY: AtomicU64 = AtomicU64::new(0);
static HANDLED: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_usr1(_: libc::c_int) {
    HANDLED_BY.store(gettid() as u64, Ordering::SeqCst);
    HANDLED.fetch_add(1, Ordering::SeqCst);
}

fn thread_mask() -> u64 {
    let mut m = 0u64;
    // SAFETY: reads this thread's mask into a u64 (sigsetsize 8).
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            0,
            0usize,
            &mut m as *mut u64,
            8usize,
        )
    };
    m
}

/// Signal masks and pending sets are per thread: tgkill to a thread that blocks the signal
/// leaves it pending there (and only there) until that thread unblocks it; tgkill to another
/// thread runs the handler in that thread.
fn signals(r: &mut Report) {
    use std::sync::atomic::AtomicBool;
    let usr1 = 1u64 << (libc::SIGUSR1 - 1);
    // SAFETY: installs a handler that only touches atomics.
    unsafe { libc::signal(libc::SIGUSR1, on_usr1 as *const () as libc::sighandler_t) };
    let tid = Arc::new(AtomicU64::new(0));
    let go = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(AtomicU64::new(0));
    let (t2, g2, s2) = (tid.clone(), go.clone(), seen.clone());
    let worker = std::thread::spawn(move || {
        // SAFETY: blocks SIGUSR1 in this thread only.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_BLOCK,
                &usr1 as *const u64,
                0usize,
                8usize,
            )
        };
        t2.store(gettid() as u64, Ordering::SeqCst);
        while !g2.load(Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let mut pending = 0u64;
        // SAFETY: reads the pending set (this thread's and the process's).
        unsafe { libc::syscall(libc::SYS_rt_sigpending, &mut pending as *mut u64, 8usize) };
        s2.store(pending, Ordering::SeqCst);
        let before = HANDLED.load(Ordering::SeqCst);
        // SAFETY: unblocks SIGUSR1: the pending one is delivered here, now.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_UNBLOCK,
                &usr1 as *const u64,
                0usize,
                8usize,
            )
        };
        (
            HANDLED.load(Ordering::SeqCst) - before,
            HANDLED_BY.load(Ordering::SeqCst),
        )
    });
    while tid.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let wtid = tid.load(Ordering::SeqCst) as i64;
    // SAFETY: no arguments.
    let pid = unsafe { libc::getpid() } as i64;
    r.eq("sigmask_is_per_thread", thread_mask() & usr1, 0);
    let before = HANDLED.load(Ordering::SeqCst);
    // SAFETY: signals the worker thread of this process.
    unsafe { libc::syscall(libc::SYS_tgkill, pid, wtid, libc::SIGUSR1) };
    std::thread::sleep(std::time::Duration::from_millis(20));
    r.eq(
        "tgkill_to_a_blocking_thread_waits",
        HANDLED.load(Ordering::SeqCst) - before,
        0,
    );
    // SAFETY: signals this (main) thread.
    unsafe { libc::syscall(libc::SYS_tgkill, pid, gettid(), libc::SIGUSR1) };
    r.eq(
        "tgkill_runs_in_the_target_thread",
        HANDLED_BY.load(Ordering::SeqCst) as i64,
        gettid(),
    );
    go.store(true, Ordering::SeqCst);
    let (ran, by) = worker.join().unwrap_or((0, 0));
    r.eq(
        "pending_in_the_blocking_thread",
        seen.load(Ordering::SeqCst) & usr1,
        usr1,
    );
    r.eq(
        "unblocking_delivers_in_that_thread",
        (ran, by as i64),
        (1, wtid),
    );
}

fn get_robust(tid: i64) -> (Result<libc::c_long, libc::c_int>, u64, u64) {
    let (mut head, mut len) = (0u64, 0u64);
    let r = sc!(
        libc::SYS_get_robust_list,
        tid,
        &mut head as *mut u64,
        &mut len as *mut u64
    );
    (r, head, len)
}

/// set_robust_list/get_robust_list on this thread, another thread and another process.
fn robust_syscalls(r: &mut Report) {
    let (got, orig, len) = get_robust(0);
    r.eq("get_robust_list_self", (got, len), (Ok(0), 24));
    // An empty list: next points back at the head.
    let mut head = Box::new([0u64; 3]);
    head[0] = head.as_ptr() as u64;
    let hp = head.as_ptr() as u64;
    r.err(
        "set_robust_list_len_23_einval",
        sc!(libc::SYS_set_robust_list, hp, 23),
        libc::EINVAL,
    );
    r.err(
        "set_robust_list_len_25_einval",
        sc!(libc::SYS_set_robust_list, hp, 25),
        libc::EINVAL,
    );
    r.eq(
        "set_robust_list",
        sc!(libc::SYS_set_robust_list, hp, 24),
        Ok(0),
    );
    r.eq(
        "get_robust_list_returns_the_head",
        get_robust(0),
        (Ok(0), hp, 24),
    );
    r.eq(
        "get_robust_list_by_own_tid",
        get_robust(gettid()),
        (Ok(0), hp, 24),
    );
    let mut len = 0u64;
    r.err(
        "get_robust_list_bad_pointer_efault",
        sc!(libc::SYS_get_robust_list, 0, 8usize, &mut len as *mut u64),
        libc::EFAULT,
    );
    r.err(
        "get_robust_list_no_such_tid_esrch",
        get_robust(i64::from(i32::MAX)).0,
        libc::ESRCH,
    );
    r.err(
        "get_robust_list_negative_tid_esrch",
        get_robust(-1).0,
        libc::ESRCH,
    );
    // Back to what libc registered (it keeps its robust mutexes there).
    let _ = sc!(libc::SYS_set_robust_list, orig, 24);
    drop(head);

    // Another thread's head, by its tid, while it is alive.
    use std::sync::atomic::AtomicBool;
    let tid = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let (t2, d2) = (tid.clone(), done.clone());
    let worker = std::thread::spawn(move || {
        let (_, mine, _) = get_robust(0);
        let mut h = Box::new([0u64; 3]);
        h[0] = h.as_ptr() as u64;
        let _ = sc!(libc::SYS_set_robust_list, h.as_ptr(), 24);
        t2.store(gettid() as u64, Ordering::SeqCst);
        while !d2.load(Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let _ = sc!(libc::SYS_set_robust_list, mine, 24);
        h.as_ptr() as u64
    });
    while tid.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let seen = get_robust(tid.load(Ordering::SeqCst) as i64);
    done.store(true, Ordering::SeqCst);
    let theirs = worker.join().unwrap_or(0);
    r.eq(
        "get_robust_list_of_another_thread",
        seen,
        (Ok(0), theirs, 24),
    );

    // Another uid may not look at our threads' lists; its own are fine.
    // SAFETY: no arguments.
    let parent = unsafe { libc::getpid() } as i64;
    let child = usertests::spawn_steps(|| {
        let mut s = usertests::Steps::new("t_thread robust uid child");
        s.ok(
            sc!(libc::SYS_setresuid, 65534, 65534, 65534),
            "setresuid(65534)",
        )?;
        s.err(get_robust(parent).0, libc::EPERM, "get_robust_list(parent)")?;
        // SAFETY: no arguments.
        let me = unsafe { libc::getpid() } as i64;
        s.ok(get_robust(me).0, "get_robust_list(self by pid)")?;
        Ok(())
    });
    r.child_ok("get_robust_list_other_uid_eperm", child);
}

/// A robust mutex (process-shared in a MAP_SHARED page if `shared`), or null.
fn robust_mutex(shared: bool) -> *mut libc::pthread_mutex_t {
    let flags = if shared {
        libc::MAP_SHARED
    } else {
        libc::MAP_PRIVATE
    };
    let m = usertests::map_anon(4096, libc::PROT_READ | libc::PROT_WRITE, flags)
        .cast::<libc::pthread_mutex_t>();
    if m.is_null() {
        return m;
    }
    // SAFETY: the attribute object lives on this stack and is initialised before use; the
    // mutex is in a fresh page that is never unmapped.
    unsafe {
        let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
        let mut rc = libc::pthread_mutexattr_init(&mut attr);
        if rc == 0 {
            rc = libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST);
        }
        if rc == 0 && shared {
            rc = libc::pthread_mutexattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED);
        }
        if rc == 0 {
            rc = libc::pthread_mutex_init(m, &attr);
        }
        libc::pthread_mutexattr_destroy(&mut attr);
        if rc != 0 {
            usertests::diag(&format!("robust mutex set-up failed: {rc}"));
            return std::ptr::null_mut();
        }
    }
    m
}

/// pthread_mutex_timedlock with a 5 s limit: a robust mutex whose dead owner was never marked
/// gives ETIMEDOUT instead of hanging the program.
fn lock_5s(m: *mut libc::pthread_mutex_t) -> libc::c_int {
    let mut t = usertests::ts(0);
    // SAFETY: valid out-pointer; `m` is an initialised mutex that is never unmapped.
    unsafe {
        libc::clock_gettime(libc::CLOCK_REALTIME, &mut t);
        t.tv_sec += 5;
        libc::pthread_mutex_timedlock(m, &t)
    }
}

/// After its owner died: lock gives EOWNERDEAD, pthread_mutex_consistent makes it usable.
fn recover(r: &mut Report, what: &str, m: *mut libc::pthread_mutex_t, first: libc::c_int) {
    r.eq(&format!("{what}_lock_eownerdead"), first, libc::EOWNERDEAD);
    if first != libc::EOWNERDEAD {
        // Not ours (a plain lock would wait for a dead owner forever).
        r.fail(
            &format!("{what}_consistent_unlock_lock"),
            "the lock was not taken",
        );
        return;
    }
    // SAFETY: `m` is an initialised robust mutex this thread now holds (EOWNERDEAD) or not.
    let steps = unsafe {
        [
            libc::pthread_mutex_consistent(m),
            libc::pthread_mutex_unlock(m),
            libc::pthread_mutex_lock(m),
            libc::pthread_mutex_unlock(m),
        ]
    };
    r.eq(&format!("{what}_consistent_unlock_lock"), steps, [0; 4]);
}

fn robust_mutexes(r: &mut Report) {
    // A thread that returns holding the mutex.
    let m = robust_mutex(false);
    r.check("robust_mutex_init", !m.is_null(), || "see stderr".into());
    if m.is_null() {
        return;
    }
    let addr = m as usize;
    // SAFETY: the mutex outlives the thread (it is never unmapped).
    let t = std::thread::spawn(move || unsafe {
        libc::pthread_mutex_lock(addr as *mut libc::pthread_mutex_t)
    });
    r.eq("robust_thread_locked", t.join().unwrap_or(-1), 0);
    let first = lock_5s(m);
    recover(r, "robust_thread_returned", m, first);

    // A waiter blocked in pthread_mutex_lock when the owner thread exits (a fresh mutex: the
    // first one may still be held if its owner's death went unnoticed).
    let m = robust_mutex(false);
    if m.is_null() {
        r.fail("robust_waiter_owner_locked", "mutex set-up failed");
        return;
    }
    let addr = m as usize;
    use std::sync::atomic::AtomicBool;
    let locked = Arc::new(AtomicBool::new(false));
    let l2 = locked.clone();
    // SAFETY: as above.
    let t = std::thread::spawn(move || unsafe {
        let rc = libc::pthread_mutex_lock(addr as *mut libc::pthread_mutex_t);
        l2.store(true, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(100));
        rc
    });
    while !locked.load(Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    // Blocks until the owner thread has exited.
    let first = lock_5s(m);
    r.eq("robust_waiter_owner_locked", t.join().unwrap_or(-1), 0);
    recover(r, "robust_waiter", m, first);

    // Process-shared: the owner is another process that ends holding the mutex.
    for kill in [false, true] {
        let what = if kill {
            "robust_shared_owner_killed"
        } else {
            "robust_shared_owner_exited"
        };
        let m = robust_mutex(true);
        if m.is_null() {
            r.fail(what, "mutex set-up failed");
            continue;
        }
        let child = usertests::spawn(|| {
            // SAFETY: an initialised process-shared mutex in a shared page.
            let rc = unsafe { libc::pthread_mutex_lock(m) };
            if rc != 0 {
                return 1;
            }
            if kill {
                // SAFETY: ends this process with SIGKILL, holding the mutex.
                unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
                std::thread::sleep(std::time::Duration::from_secs(5));
                return 2;
            }
            0
        });
        let status = reap(child);
        let ended = match status {
            Ok(st) if kill => libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == libc::SIGKILL,
            Ok(st) => libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0,
            Err(_) => false,
        };
        r.check(&format!("{what}_child_status"), ended, || {
            format!("{status:?}")
        });
        let first = lock_5s(m);
        recover(r, what, m, first);
    }
}

// ---------------------------------------------------------------------------------------------
// State shared by clone flag between processes: CLONE_FS, CLONE_SIGHAND, CLONE_PARENT, and a
// thread group that is reaped only after its last thread.

/// clone(2) with no new stack: the child continues like fork's. Returns the pid, 0 in the
/// child, or Err(errno).
fn clone_fork(flags: libc::c_long) -> Result<libc::pid_t, libc::c_int> {
    sc!(libc::SYS_clone, flags, 0, 0, 0, 0).map(|p| p as libc::pid_t)
}

extern "C" fn on_usr2(_: libc::c_int) {}

/// A CLONE_VM child: installs `on_usr2` for SIGUSR2 with a raw rt_sigaction (no libc state
/// is touched in a process that shares our memory) and returns.
extern "C" fn set_usr2_handler(_: *mut libc::c_void) -> libc::c_int {
    let mut act = [0u64; 4];
    act[0] = on_usr2 as *const () as usize as u64;
    // SAFETY: act is a kernel sigaction (handler, flags, restorer, mask) in our own memory.
    let r = unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            libc::SIGUSR2,
            act.as_ptr(),
            0usize,
            8usize,
        )
    };
    if r == 0 { 0 } else { 1 }
}

/// A CLONE_VM|CLONE_VFORK child: ends at once.
extern "C" fn vfork_child(_: *mut libc::c_void) -> libc::c_int {
    0
}

fn stack() -> *mut libc::c_void {
    let len = 64 * 1024;
    let p = usertests::map_anon(len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE);
    // The top of the new stack; null if mmap failed (clone then fails with EINVAL).
    if p.is_null() {
        p.cast()
    } else {
        // SAFETY: within the mapping just made.
        unsafe { p.add(len).cast() }
    }
}

fn shared_by_flag(r: &mut Report) {
    let sigchld = libc::SIGCHLD as libc::c_long;
    // CLONE_FS: the child's chdir and umask are the parent's too.
    let before = std::env::current_dir().unwrap_or_default();
    // SAFETY: umask has no failure mode.
    let old_mask = unsafe { libc::umask(0o022) };
    match clone_fork(libc::CLONE_FS as libc::c_long | sigchld) {
        Ok(0) => {
            // SAFETY: the child only changes its (shared) directory and umask, then ends.
            unsafe {
                libc::chdir(c"/".as_ptr());
                libc::umask(0o027);
                libc::_exit(0);
            }
        }
        Ok(pid) => {
            let st = reap(pid);
            let cwd = std::env::current_dir().unwrap_or_default();
            // SAFETY: umask has no failure mode.
            let mask = unsafe { libc::umask(old_mask) };
            r.check(
                "clone_fs_shares_cwd_and_umask",
                st == Ok(0) && cwd == std::path::Path::new("/") && mask == 0o027,
                || format!("child {st:?}, cwd {cwd:?}, umask {mask:o}"),
            );
        }
        Err(e) => r.fail("clone_fs_shares_cwd_and_umask", usertests::errname(e)),
    }
    let _ = std::env::set_current_dir(&before);
    // Without it, a copy: fork's chdir stays in the child.
    let child = usertests::spawn(|| {
        // SAFETY: changes only the child's directory.
        unsafe { libc::chdir(c"/".as_ptr()) }
    });
    let _ = reap(child);
    r.eq(
        "fork_copies_cwd",
        std::env::current_dir().unwrap_or_default(),
        before.clone(),
    );

    // CLONE_SIGHAND needs CLONE_VM; with it, the child's sigaction is the parent's.
    r.err(
        "clone_sighand_without_vm_einval",
        clone_fork(libc::CLONE_SIGHAND as libc::c_long | sigchld),
        libc::EINVAL,
    );
    let flags = libc::CLONE_VM | libc::CLONE_SIGHAND | libc::SIGCHLD;
    // SAFETY: the child runs set_usr2_handler on its own fresh stack and touches nothing else.
    let pid = unsafe { libc::clone(set_usr2_handler, stack(), flags, std::ptr::null_mut()) };
    let st = if pid > 0 {
        reap(pid)
    } else {
        Err(usertests::errno())
    };
    let mut old = [0u64; 4];
    let dfl = [0u64; 4];
    // SAFETY: both are kernel sigaction buffers; SIGUSR2 goes back to its default.
    let q = unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            libc::SIGUSR2,
            dfl.as_ptr(),
            old.as_mut_ptr(),
            8usize,
        )
    };
    r.check(
        "clone_sighand_shares_handlers",
        st == Ok(0) && q == 0 && old[0] == on_usr2 as *const () as usize as u64,
        || format!("child {st:?}, SIGUSR2 handler {:#x}", old[0]),
    );

    // CLONE_PARENT: a grandchild made with it is our child (its getppid says so), and we
    // reap it.
    // SAFETY: no arguments.
    let me = unsafe { libc::getpid() };
    let mut fds = [0; 2];
    // SAFETY: fds is a live array of two ints.
    unsafe { libc::pipe(fds.as_mut_ptr()) };
    let middle = usertests::spawn(
        move || match clone_fork(libc::CLONE_PARENT as libc::c_long) {
            Ok(0) => {
                // SAFETY: no arguments.
                let ok = unsafe { libc::getppid() } == me;
                i32::from(!ok)
            }
            Ok(g) => {
                usertests::write_all(fds[1], &g.to_ne_bytes());
                0
            }
            Err(_) => 2,
        },
    );
    // SAFETY: closes our copy of the write end.
    unsafe { libc::close(fds[1]) };
    let mut b = [0u8; 4];
    let n = usertests::read_full(fds[0], &mut b);
    // SAFETY: closes the read end.
    unsafe { libc::close(fds[0]) };
    let grandchild = i32::from_ne_bytes(b);
    let mst = reap(middle);
    let gst = if n == 4 {
        reap(grandchild)
    } else {
        Err(libc::ENOENT)
    };
    r.check(
        "clone_parent_gives_the_child_to_our_parent",
        mst == Ok(0) && gst == Ok(0),
        || format!("middle {mst:?}, grandchild {grandchild} {gst:?}"),
    );

    // vfork with CLONE_PARENT: the caller still wakes when the child ends (the child's parent
    // is not the one waiting).
    let caller = usertests::spawn(|| {
        let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PARENT;
        // SAFETY: the child returns at once on its own stack.
        let pid = unsafe { libc::clone(vfork_child, stack(), flags, std::ptr::null_mut()) };
        if pid > 0 { 0 } else { 3 }
    });
    let t0 = usertests::mono_ns();
    let mut cst = Err(libc::ETIMEDOUT);
    while usertests::mono_ns() - t0 < 5_000_000_000 {
        match usertests::waitpid(caller, libc::WNOHANG) {
            Ok((0, _)) => usertests::sleep_ms(10),
            Ok((_, s)) => {
                cst = Ok(s);
                break;
            }
            Err(e) => {
                cst = Err(e);
                break;
            }
        }
    }
    if cst.is_err() {
        // SAFETY: ends the stuck caller.
        unsafe { libc::kill(caller, libc::SIGKILL) };
        let _ = reap(caller);
    }
    // Its vfork child was ours (exit signal 0: only __WALL sees it).
    let leftover = usertests::waitpid(-1, libc::__WALL);
    r.check(
        "vfork_with_clone_parent_wakes_the_caller",
        cst == Ok(0) && leftover.is_ok(),
        || format!("caller {cst:?}, its child {leftover:?}"),
    );

    // exit_group while another thread sleeps: once the parent has reaped the process, no
    // thread of it is left (kill on its tid: ESRCH).
    let mut fds = [0; 2];
    // SAFETY: fds is a live array of two ints.
    unsafe { libc::pipe(fds.as_mut_ptr()) };
    let child = usertests::spawn(move || {
        static SLEEPER: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
        std::thread::spawn(|| {
            SLEEPER.store(gettid(), Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_secs(30));
        });
        // Wait until the thread runs, tell the parent its tid, then end everything from the
        // main thread.
        while SLEEPER.load(Ordering::SeqCst) == 0 {
            usertests::sleep_ms(1);
        }
        usertests::write_all(fds[1], &SLEEPER.load(Ordering::SeqCst).to_ne_bytes());
        // SAFETY: ends the whole process.
        unsafe { libc::syscall(libc::SYS_exit_group, 3) };
        4
    });
    // SAFETY: closes our copy of the write end.
    unsafe { libc::close(fds[1]) };
    let mut b = [0u8; 8];
    let n = usertests::read_full(fds[0], &mut b);
    // SAFETY: closes the read end.
    unsafe { libc::close(fds[0]) };
    let tid = i64::from_ne_bytes(b);
    let st = reap(child);
    let after = sc!(libc::SYS_kill, tid, 0);
    r.check(
        "reaped_group_has_no_threads_left",
        n == 8
            && matches!(st, Ok(s) if libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == 3)
            && after == Err(libc::ESRCH),
        || format!("status {st:?}, kill(thread {tid}, 0) after the reap: {after:?}"),
    );
}

/// sched_getaffinity/sched_setaffinity on the calling thread, another process and a bad pid.
fn affinity(r: &mut Report) {
    let get = |pid: libc::pid_t, len: usize| -> (Result<libc::c_long, libc::c_int>, u64) {
        let mut m = [0u64; 16];
        let n = sc!(libc::SYS_sched_getaffinity, pid, len, m.as_mut_ptr());
        (n, m[0])
    };
    let set = |pid: libc::pid_t, mask: u64| {
        let m = [mask, 0];
        sc!(libc::SYS_sched_setaffinity, pid, 16usize, m.as_ptr())
    };
    // SAFETY: no arguments.
    let cpu = unsafe { libc::sched_getcpu() };
    let (n, all) = get(0, 128);
    r.check(
        "getaffinity_has_the_current_cpu",
        matches!(n, Ok(b) if b > 0 && b % 8 == 0) && cpu >= 0 && all & (1 << cpu) != 0,
        || format!("getaffinity {n:?}, mask {all:#x}, cpu {cpu}"),
    );
    r.err("getaffinity_short_length", get(0, 4).0, libc::EINVAL);
    r.err(
        "getaffinity_no_such_pid",
        get(0x3fff_fff0, 128).0,
        libc::ESRCH,
    );
    r.err("setaffinity_empty_mask", set(0, 0), libc::EINVAL);
    let one = 1u64 << cpu.max(0);
    let s = set(0, one);
    let (_, now) = get(0, 128);
    r.check("setaffinity_then_get", s.is_ok() && now == one, || {
        format!("set {s:?}, then {now:#x}, want {one:#x}")
    });
    // A child inherits the mask; another user may not change ours.
    let child = usertests::spawn(move || {
        let mut m = [0u64; 16];
        let n = sc!(libc::SYS_sched_getaffinity, 0, 128usize, m.as_mut_ptr());
        if n.is_err() || m[0] != one {
            return 1;
        }
        if sc!(libc::SYS_setgid, 65534).is_err() || sc!(libc::SYS_setuid, 65534).is_err() {
            return 2;
        }
        let all = [u64::MAX, 0];
        match sc!(libc::SYS_sched_setaffinity, 1, 16usize, all.as_ptr()) {
            Err(libc::EPERM) => 0,
            _ => 3,
        }
    });
    r.eq("affinity_inherited_and_guarded", reap(child), Ok(0));
    let restored = set(0, all);
    r.check("setaffinity_restores", restored.is_ok(), || {
        format!("{restored:?}")
    });
}
