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
    r.finish()
}
