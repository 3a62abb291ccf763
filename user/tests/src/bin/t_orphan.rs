//! t_orphan: a process whose parent exits is re-parented — to the nearest child subreaper
//! ancestor if there is one, else to init (pid 1) — and its new parent reaps it.
//!
//! # Design
//!
//! Three processes: the top process T, its child M (the middle) and M's child G (the
//! grandchild). M puts itself in a new process group (so G is in group M), forks G and exits at
//! once. G polls `getppid()` (nanosleep 1 ms, at most 2 s) until it is no longer M, then compares
//! it with the expected new parent and exits with 0 (right), 1 (wrong parent) or 2 (timeout).
//!
//! The hard part is how T learns G's result without pipes, files, shared memory or signals
//! (none of which this early test may use):
//!
//! * Path A — T can be G's new parent. T calls `prctl(PR_SET_CHILD_SUBREAPER, 1)` first; if it
//!   succeeds (always on the host, as root or not), the orphan G is re-parented to T, so G
//!   expects `getppid() == T`, and T simply reaps G with `waitpid(-1)` and reads its exit
//!   status. The same holds without prctl when T is itself pid 1. Fully reliable.
//!
//! * Path B — prctl fails (Tine may answer EINVAL or ENOSYS) and T is not pid 1. G goes to
//!   init and G expects `getppid() == 1`. G is not T's child, so G prints its own
//!   `ok`/`not ok t_orphan.reparented` line. T learns the outcome through G's lifetime: on success
//!   G exits at once, on failure it prints its line and then lingers for 5 s. T polls
//!   `getpriority(PRIO_PGRP, M)` (a plain query that needs no signals) until it fails with ESRCH,
//!   i.e. until group M is empty — G has exited *and* been reaped by init (a zombie still counts
//!   as a member). If that happens within 3 s, G passed and init reaped it; if not, G failed (it
//!   printed why) or init never reaped it, and T reports `grandchild_gone` as failed. T counts
//!   `reparented` in its summary as passed or failed accordingly, without printing it again.
//!
//! Both paths print the same lines in the same order — `reparented` (printed by T before its
//! other lines in path A, by G while T is still waiting in path B), then `middle_exit`,
//! `grandchild_gone` and `no_children_left` — so the host (path A) and Tine (either path) agree.
//!
//! For testing path B on the host, `t_orphan --no-subreaper` skips the prctl; run it where pid
//! 1 reaps orphans, e.g. `unshare -fp sh -c './t_orphan --no-subreaper'`.

use libc::c_int;
use usertests::{Report, errname, out, reap, sc, show_status, sleep_ms, spawn, waitpid};

const OK: c_int = 0;
const WRONG_PARENT: c_int = 1;
const TIMEOUT: c_int = 2;

fn main() {
    let mut r = Report::new("t_orphan");
    let no_subreaper = std::env::args().nth(1).as_deref() == Some("--no-subreaper");
    // SAFETY: cannot fail.
    let top = unsafe { libc::getpid() };
    let subreaper =
        !no_subreaper && sc!(libc::SYS_prctl, libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0).is_ok();
    // Path A when T will receive the orphan, path B otherwise.
    let path_a = subreaper || top == 1;
    let expected_parent = if path_a { top } else { 1 };

    let middle = spawn(move || {
        // SAFETY: plain calls.
        let m = unsafe { libc::getpid() };
        if unsafe { libc::setpgid(0, 0) } != 0 {
            return 10;
        }
        let g = spawn(move || {
            // The grandchild. M's pid is known from before the fork: do not trust the first
            // getppid(), M may already be gone.
            let start = usertests::mono_ns();
            let mut ppid;
            loop {
                // SAFETY: cannot fail.
                ppid = unsafe { libc::getppid() };
                if ppid != m || usertests::mono_ns() - start > 2_000_000_000 {
                    break;
                }
                sleep_ms(1);
            }
            let code = if ppid == m {
                TIMEOUT
            } else if ppid == expected_parent {
                OK
            } else {
                WRONG_PARENT
            };
            if !path_a {
                // Path B: report for ourselves (see the design notes above).
                if code == OK {
                    out("ok t_orphan.reparented\n");
                } else {
                    let why = if code == TIMEOUT {
                        "parent did not change within 2 s".to_string()
                    } else {
                        format!("new parent is {ppid}, want {expected_parent}")
                    };
                    out(&format!("not ok t_orphan.reparented: {why}\n"));
                    sleep_ms(5000);
                }
            }
            code
        });
        if g < 0 { 11 } else { 0 }
    });

    // M's own exit.
    let middle_status = reap(middle);

    if path_a {
        // G is (or will be) our child; nothing else is.
        let got = waitpid(-1, 0);
        match got {
            Ok((pid, st)) if pid != middle && st == 0 => r.pass("reparented"),
            Ok((pid, st)) if pid != middle && libc::WIFEXITED(st) => r.fail(
                "reparented",
                match libc::WEXITSTATUS(st) {
                    WRONG_PARENT => {
                        format!("grandchild saw a new parent other than {expected_parent}")
                    }
                    TIMEOUT => "grandchild's parent did not change within 2 s".to_string(),
                    c => format!("grandchild exited {c}"),
                },
            ),
            Ok((_, st)) => r.fail("reparented", format!("grandchild {}", show_status(st))),
            Err(e) => r.fail(
                "reparented",
                format!("waitpid(-1) for the grandchild: {}", errname(e)),
            ),
        }
        r.check("middle_exit", middle_status == Ok(0), || {
            format!("middle child: {middle_status:?}")
        });
        r.check(
            "grandchild_gone",
            matches!(got, Ok((pid, _)) if pid != middle),
            || format!("waitpid(-1): {got:?}"),
        );
    } else {
        let start = usertests::mono_ns();
        let mut gone = false;
        let mut last_err = 0;
        while usertests::mono_ns() - start < 3_000_000_000 {
            // The raw syscall returns 20 - nice (never negative), so -1 is always an error.
            let rr = sc!(libc::SYS_getpriority, libc::PRIO_PGRP, middle);
            match rr {
                Err(libc::ESRCH) => {
                    gone = true;
                    break;
                }
                Err(e) => {
                    last_err = e;
                    break;
                }
                Ok(_) => sleep_ms(5),
            }
        }
        if !gone && last_err != 0 {
            // Cannot observe G: wait as long as it may take, then report the gap.
            sleep_ms(2500);
        }
        // G's own line is already out; count it here without printing it again.
        r.count(gone);
        r.check("middle_exit", middle_status == Ok(0), || {
            format!("middle child: {middle_status:?}")
        });
        r.check("grandchild_gone", gone, || {
            if last_err != 0 {
                format!(
                    "getpriority(PRIO_PGRP) failed with {}, cannot observe the grandchild",
                    errname(last_err)
                )
            } else {
                "grandchild failed, or was not reaped by init within 3 s".to_string()
            }
        });
    }
    r.err("no_children_left", waitpid(-1, libc::WNOHANG), libc::ECHILD);
    if subreaper {
        subreaper_details(&mut r);
    }
    r.finish();
}

/// With the subreaper flag set: it reads back, a child does not inherit it, and a grandchild
/// that died before its parent (a zombie when orphaned) comes to us, ready to be reaped.
fn subreaper_details(r: &mut Report) {
    let mut flag: c_int = -1;
    let got = sc!(
        libc::SYS_prctl,
        libc::PR_GET_CHILD_SUBREAPER,
        &mut flag as *mut c_int,
        0,
        0,
        0
    );
    r.check("subreaper_reads_back", got.is_ok() && flag == 1, || {
        format!("PR_GET_CHILD_SUBREAPER: {got:?}, flag {flag}")
    });
    let child = spawn(|| {
        let mut f: c_int = -1;
        let ok = sc!(
            libc::SYS_prctl,
            libc::PR_GET_CHILD_SUBREAPER,
            &mut f as *mut c_int,
            0,
            0,
            0
        );
        if ok.is_ok() && f == 0 { 0 } else { 1 }
    });
    let st = reap(child);
    r.check("subreaper_not_inherited", st == Ok(0), || {
        format!("child's PR_GET_CHILD_SUBREAPER: {}", usertests::show(&st))
    });
    // M forks G, which exits 9 at once; M waits until G is a zombie (WNOWAIT leaves it
    // unreaped), then exits. The zombie G is ours now.
    let middle = spawn(|| {
        let g = spawn(|| 9);
        if g < 0 {
            return 11;
        }
        // SAFETY: siginfo_t is plain data, for which all zeros is a valid value.
        let mut info: libc::siginfo_t = unsafe { core::mem::zeroed() };
        // SAFETY: info is a live siginfo_t.
        let w = unsafe {
            libc::waitid(
                libc::P_PID,
                g as u32,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if w == 0 { 0 } else { 12 }
    });
    let mst = reap(middle);
    let got = waitpid(-1, 0);
    r.check(
        "zombie_grandchild_comes_to_subreaper",
        mst == Ok(0)
            && matches!(got, Ok((_, st)) if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 9),
        || {
            format!(
                "middle {}, then waitpid(-1): {got:?}",
                usertests::show(&mst)
            )
        },
    );
    r.err(
        "no_children_left_after_zombie",
        waitpid(-1, libc::WNOHANG),
        libc::ECHILD,
    );
}
