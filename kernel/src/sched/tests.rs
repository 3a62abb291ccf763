//! In-kernel tests of the scheduler: threads run and are joined, yields interleave, wait queues
//! lose no wake-up over a thousand sleep/wake pairs, and exited threads give their stacks back.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use hal::ktest;

use super::{Thread, WaitQueue};

ktest!(
    fn threads_run_and_join() {
        let counter = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let c = counter.clone();
                Thread::spawn("t", move || {
                    c.fetch_add(i + 1, Ordering::SeqCst);
                })
                .expect("spawn")
            })
            .collect();
        for t in &threads {
            t.join();
        }
        assert_eq!(counter.load(Ordering::SeqCst), (1..=8).sum::<u32>());
    }
);

ktest!(
    fn yield_interleaves_threads() {
        let log = Arc::new(hal::sync::SpinLock::new(Vec::new()));
        let mk = |id: u8, log: Arc<hal::sync::SpinLock<Vec<u8>>>| {
            move || {
                for _ in 0..3 {
                    log.lock().push(id);
                    super::yield_now();
                }
            }
        };
        let a = Thread::spawn("a", mk(1, log.clone())).expect("spawn");
        let b = Thread::spawn("b", mk(2, log.clone())).expect("spawn");
        a.join();
        b.join();
        let l = log.lock().clone();
        assert_eq!(l.len(), 6);
        // Round-robin: neither thread runs all its turns before the other starts.
        let first_b = l.iter().position(|&x| x == 2).expect("b ran");
        let last_a = l.iter().rposition(|&x| x == 1).expect("a ran");
        assert!(first_b < last_a, "no interleaving: {l:?}");
    }
);

/// A ping-pong of `ROUNDS` handoffs between two threads through two wait queues: each side
/// sleeps until the shared counter says it is its turn, then advances it and wakes the other.
/// A lost wake-up leaves both asleep and the test times out.
const ROUNDS: u64 = 1000;

ktest!(
    fn wait_queues_lose_no_wakeups() {
        struct Shared {
            turn: AtomicU64,
            ping: WaitQueue,
            pong: WaitQueue,
        }
        let s = Arc::new(Shared {
            turn: AtomicU64::new(0),
            ping: WaitQueue::new(),
            pong: WaitQueue::new(),
        });
        let side = |s: Arc<Shared>, parity: u64| {
            move || {
                for _ in 0..ROUNDS {
                    let (mine, other) = if parity == 0 {
                        (&s.ping, &s.pong)
                    } else {
                        (&s.pong, &s.ping)
                    };
                    mine.wait_until(|| (s.turn.load(Ordering::SeqCst) % 2 == parity).then_some(()));
                    s.turn.fetch_add(1, Ordering::SeqCst);
                    other.wake_all();
                }
            }
        };
        let a = Thread::spawn("ping", side(s.clone(), 0)).expect("spawn");
        let b = Thread::spawn("pong", side(s.clone(), 1)).expect("spawn");
        a.join();
        b.join();
        assert_eq!(s.turn.load(Ordering::SeqCst), 2 * ROUNDS);
        assert!(s.ping.is_empty() && s.pong.is_empty());
    }
);

ktest!(
    fn wakeups_from_interrupts_are_not_lost() {
        // The timer interrupt advances ticks; a thread sleeps on a condition only a later tick
        // satisfies, rechecking after each yield of the idle loop.
        let start = hal::time::ticks();
        let q = Arc::new(WaitQueue::new());
        let q2 = q.clone();
        let waker = Thread::spawn("waker", move || {
            while hal::time::ticks() < start + 3 {
                super::yield_now();
            }
            q2.wake_all();
        })
        .expect("spawn");
        q.wait_until(|| (hal::time::ticks() >= start + 3).then_some(()));
        waker.join();
        assert!(hal::time::ticks() >= start + 3);
    }
);

ktest!(
    fn exited_threads_free_their_stacks() {
        // Warm up (first spawns grow the heap and the stack-slot list).
        for _ in 0..4 {
            Thread::spawn("w", || {}).expect("spawn").join();
        }
        super::yield_now();
        let before = hal::mem::frames::stats().free;
        for _ in 0..50 {
            let t = Thread::spawn("short", || {}).expect("spawn");
            t.join();
            drop(t);
        }
        super::yield_now();
        let after = hal::mem::frames::stats().free;
        assert!(after + 16 >= before, "leaked frames: {before} -> {after}");
    }
);

ktest!(
    fn sleeping_mutex_excludes_and_can_sleep_while_held() {
        use core::sync::atomic::AtomicBool;
        struct Shared {
            m: super::mutex::Mutex<u64>,
            inside: AtomicBool,
        }
        let s = Arc::new(Shared {
            m: super::mutex::Mutex::new(0),
            inside: AtomicBool::new(false),
        });
        let worker = |s: Arc<Shared>| {
            move || {
                for _ in 0..100 {
                    let mut g = s.m.lock();
                    assert!(
                        !s.inside.swap(true, Ordering::SeqCst),
                        "two threads inside the mutex"
                    );
                    let v = *g;
                    // Give the CPU away while holding the lock: the other thread must sleep.
                    super::yield_now();
                    *g = v + 1;
                    s.inside.store(false, Ordering::SeqCst);
                }
            }
        };
        let a = Thread::spawn("m1", worker(s.clone())).expect("spawn");
        let b = Thread::spawn("m2", worker(s.clone())).expect("spawn");
        a.join();
        b.join();
        assert_eq!(*s.m.lock(), 200);
        assert!(s.m.try_lock().is_some());
    }
);

ktest!(
    fn a_thread_that_exited_cannot_be_resumed() {
        let fresh = Thread::create("fresh", || {}).expect("create");
        assert_eq!(fresh.context().check_resumable(), Ok(()));
        let t = Thread::spawn("short", || {}).expect("spawn");
        t.join();
        // Its CPU may still be leaving it (on SMP): wait until it is not running.
        while t.context().is_running() {
            super::yield_now();
        }
        assert_eq!(t.context().check_resumable(), Err("it has exited"));
    }
);
