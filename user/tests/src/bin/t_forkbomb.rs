//! t_forkbomb: an unbounded fork bomb — no RLIMIT_NPROC — until memory runs out, then the
//! system must still answer, every bomb process must die and be reaped, fork must work again
//! and the kernel must give back what the bomb took. Tine only: it refuses to run where
//! `/proc/tine/vm` does not exist, because on a real machine it would take the machine down
//! (the bounded fork bomb with RLIMIT_NPROC, which runs on Linux too, is in t_classic).
//! `cargo xtask test` boots a 128 MiB guest for it (`shell::forkbomb_*`).
//!
//! # Design
//!
//! The driver (this process) becomes a child subreaper, so every bomb process ends up its
//! child however the tree breaks up. It forks a leader in a new process group, which first
//! touches 2 MiB: every bomb process sees those pages, so each looks bigger to the
//! out-of-memory killer than the driver, which must survive. Then every bomb process forks
//! in a loop, children too, until fork fails; it records the error in a shared page and
//! sleeps. The driver waits until forks stop (nothing new for 1 s after the first failure,
//! 120 s at most), checks the error was EAGAIN or ENOMEM, kills the group, reaps everything,
//! forks once more, and compares the kernel's counters (`/proc/tine/vm`) with those before.

use std::sync::atomic::{AtomicU64, Ordering};

use usertests::{Report, errname, fork, reap, sc, sleep_ms, spawn, waitpid};

/// What the bomb processes report, in a shared page.
#[repr(C)]
struct Tally {
    forks: AtomicU64,
    eagain: AtomicU64,
    enomem: AtomicU64,
    other: AtomicU64,
    last_other: AtomicU64,
}

fn counters() -> Vec<(String, u64)> {
    let text = std::fs::read_to_string("/proc/tine/vm").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

fn get(c: &[(String, u64)], k: &str) -> u64 {
    c.iter().find(|(n, _)| n == k).map_or(0, |(_, v)| *v)
}

/// Mappings of this process (lines of /proc/self/maps).
fn areas() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .map(|m| m.lines().count())
        .unwrap_or(0)
}

/// The bomb: fork until it fails, children included; record why; sleep until killed.
fn bomb(tally: &Tally) -> ! {
    loop {
        let pid = fork();
        if pid > 0 {
            tally.forks.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if pid == 0 {
            continue;
        }
        match -pid {
            libc::EAGAIN => tally.eagain.fetch_add(1, Ordering::Relaxed),
            libc::ENOMEM => tally.enomem.fetch_add(1, Ordering::Relaxed),
            e => {
                tally.last_other.store(e as u64, Ordering::Relaxed);
                tally.other.fetch_add(1, Ordering::Relaxed)
            }
        };
        loop {
            // SAFETY: sleeps until a signal; SIGKILL ends the process.
            unsafe { libc::pause() };
        }
    }
}

fn main() {
    let mut r = Report::new("t_forkbomb");
    // Warm-up: what a first fork allocates once in this process is not the bomb's doing.
    let warm = spawn(|| 0);
    let _ = reap(warm);
    let before = counters();
    let areas_before = areas();
    if before.is_empty() {
        r.fail(
            "tine_only",
            "no /proc/tine/vm: an unbounded fork bomb runs only inside Tine",
        );
        r.finish();
    }
    let sub = sc!(libc::SYS_prctl, libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    r.check("subreaper", sub.is_ok(), || format!("prctl: {sub:?}"));
    let page = usertests::map_anon(4096, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED);
    if page.is_null() {
        r.fail("shared_page", "mmap failed");
        r.finish();
    }
    // SAFETY: a fresh, zeroed, page-aligned shared page; Tally is atomics only.
    let tally: &'static Tally = unsafe { &*(page as *const Tally) };

    let leader = spawn(move || {
        if sc!(libc::SYS_setpgid, 0, 0).is_err() {
            return 10;
        }
        let ballast = vec![1u8; 2 << 20];
        std::hint::black_box(&ballast);
        bomb(tally)
    });
    r.check("leader_forked", leader > 0, || {
        format!("fork: {}", errname(-leader))
    });
    if leader <= 0 {
        r.finish();
    }

    // Wait for the bomb to stall: failures seen and no new fork for 1 s.
    let t0 = usertests::mono_ns();
    let (mut last, mut still_since) = (0, usertests::mono_ns());
    loop {
        sleep_ms(100);
        let forks = tally.forks.load(Ordering::Relaxed);
        let failed = tally.eagain.load(Ordering::Relaxed)
            + tally.enomem.load(Ordering::Relaxed)
            + tally.other.load(Ordering::Relaxed);
        let now = usertests::mono_ns();
        if forks != last {
            (last, still_since) = (forks, now);
        }
        if (failed > 0 && now - still_since > 1_000_000_000) || now - t0 > 120_000_000_000 {
            break;
        }
    }
    let during = counters();
    let forks = tally.forks.load(Ordering::Relaxed);
    let (eagain, enomem, other) = (
        tally.eagain.load(Ordering::Relaxed),
        tally.enomem.load(Ordering::Relaxed),
        tally.other.load(Ordering::Relaxed),
    );
    usertests::diag(&format!(
        "{forks} forks; failures: {eagain} EAGAIN, {enomem} ENOMEM, {other} other; {} processes, {} free frames",
        get(&during, "processes"),
        get(&during, "free_frames")
    ));
    r.check(
        "fork_fails_with_eagain_or_enomem",
        eagain + enomem > 0 && other == 0,
        || {
            format!(
                "{eagain} EAGAIN, {enomem} ENOMEM, {other} other (last {})",
                errname(tally.last_other.load(Ordering::Relaxed) as i32)
            )
        },
    );
    r.check("many_processes_made", forks >= 200, || {
        format!("only {forks} forks succeeded")
    });
    // Still answering: a system call and a /proc read worked (the counters above).
    r.check("system_answers_during_the_bomb", !during.is_empty(), || {
        "/proc/tine/vm unreadable".into()
    });

    // End it: the whole group, then reap everything (orphans come to us).
    let killed = sc!(libc::SYS_kill, -leader, libc::SIGKILL);
    r.check("group_killed", killed.is_ok(), || {
        format!("kill: {killed:?}")
    });
    let t1 = usertests::mono_ns();
    let mut reaped = 0u64;
    let mut not_killed = 0u64;
    let left = loop {
        match waitpid(-1, 0) {
            Ok((_, st)) => {
                reaped += 1;
                if !(libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == libc::SIGKILL) {
                    not_killed += 1;
                }
            }
            Err(e) => break e,
        }
        if usertests::mono_ns() - t1 > 120_000_000_000 {
            break libc::ETIMEDOUT;
        }
    };
    r.check("everything_reaped", left == libc::ECHILD, || {
        format!("waitpid(-1) ended with {} after {reaped}", errname(left))
    });
    r.check(
        "all_died_of_sigkill",
        reaped > forks / 2 && not_killed == 0,
        || format!("{reaped} reaped for {forks} forks, {not_killed} not killed by SIGKILL"),
    );
    let again = spawn(|| 7);
    let st = reap(again);
    r.check(
        "fork_works_again",
        matches!(st, Ok(s) if libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == 7),
        || format!("fork gave {again}, then {}", usertests::show(&st)),
    );

    // The kernel gave everything back. Threads finish dying after their parent saw them
    // exit, so give the counters a moment to settle.
    let mut after = counters();
    for _ in 0..50 {
        if get(&after, "processes") == get(&before, "processes")
            && get(&after, "kstacks") == get(&before, "kstacks")
        {
            break;
        }
        sleep_ms(100);
        after = counters();
    }
    for key in ["processes", "pid_table", "spaces", "kstacks"] {
        let (b, a) = (get(&before, key), get(&after, key));
        r.check(&format!("{key}_back"), a == b, || {
            format!("{key} {b} before, {a} after")
        });
    }
    // Objects: one per mapping of this process, whose allocator may hold a few more (or
    // fewer) areas than when the counters were read; 1500 processes' worth of objects left
    // behind would be far past that slack.
    let areas_now = areas();
    let (b, a) = (get(&before, "objects"), get(&after, "objects"));
    let own = areas_now.saturating_sub(areas_before) as u64;
    r.check("objects_back", a <= b + own + 8, || {
        format!("objects {b} before, {a} after; own areas {areas_before} before, {areas_now} after")
    });
    // Frames: the kernel heap and the kernel half's page tables keep what they grew by.
    let heap =
        (get(&after, "heap_claimed").saturating_sub(get(&before, "heap_claimed"))).div_ceil(4096);
    let tables = get(&after, "kernel_tables").saturating_sub(get(&before, "kernel_tables"));
    let short = get(&before, "free_frames").saturating_sub(get(&after, "free_frames"));
    // The shared page, this process's pages touched since, and slack for them.
    let own = 64;
    r.check("frames_back", short <= heap + tables + own, || {
        format!("{short} frames short; the heap grew by {heap}, kernel page tables by {tables}")
    });
    // The kernel's own bookkeeping after all that (reference counts, shadow chains, the
    // process tree, run queues, page tables).
    let inv = std::fs::read_to_string("/proc/tine/check").unwrap_or_default();
    let broken: Vec<&str> = inv.lines().filter(|l| !l.starts_with("ok ")).collect();
    r.check(
        "kernel_invariants",
        !inv.is_empty() && broken.is_empty(),
        || format!("/proc/tine/check: {}", broken.join("; ")),
    );
    r.finish();
}
