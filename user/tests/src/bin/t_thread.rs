//! t_thread: threads as Linux runs them — std::thread (clone with CLONE_VM|CLONE_THREAD, TLS,
//! CLONE_CHILD_CLEARTID + futex wake for join), shared memory and a contended mutex (futex
//! wait/wake), distinct thread ids in one process, a thread ending without ending the process,
//! and exit_group from a thread ending all of them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use usertests::{Report, reap};

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
