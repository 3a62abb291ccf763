//! t_exit: process exit and the wait family — exit statuses as Linux encodes them, `_exit`,
//! `exit`, raw `exit` and `exit_group`, `waitpid`/`wait4`/`waitid` with pid > 0, -1, 0 and
//! < -1, WNOHANG, WNOWAIT, rusage, and the ECHILD/EINVAL errors. No signals are involved.

use libc::{c_int, pid_t};
use usertests::{
    Report, Steps, errname, errno, reap, sc, show, show_status, sleep_ms, spawn, spawn_steps,
    waitpid,
};

/// A way out of a child: (check name, what the child does, the exit code it must show).
type Way = (&'static str, fn() -> c_int, c_int);

/// A status word for `exit(code)` as Linux builds it: `(code & 0xff) << 8`.
fn exited(code: c_int) -> c_int {
    (code & 0xff) << 8
}

/// `waitid` with a siginfo pre-filled with garbage, so that a kernel which leaves fields unwritten
/// is caught.
fn waitid(
    idtype: libc::idtype_t,
    id: libc::id_t,
    options: c_int,
) -> Result<libc::siginfo_t, c_int> {
    // SAFETY: siginfo_t is plain data; any bit pattern is valid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: fills the struct's bytes.
    unsafe {
        std::ptr::write_bytes(
            &mut info as *mut libc::siginfo_t as *mut u8,
            0x5a,
            size_of::<libc::siginfo_t>(),
        )
    };
    loop {
        // SAFETY: valid out-pointer.
        let r = unsafe { libc::waitid(idtype, id, &mut info, options) };
        if r == -1 && errno() == libc::EINTR {
            continue;
        }
        return if r == -1 { Err(errno()) } else { Ok(info) };
    }
}

/// (si_signo, si_code, si_pid, si_status, si_uid) of a waitid result.
fn info_fields(i: &libc::siginfo_t) -> (c_int, c_int, pid_t, c_int, libc::uid_t) {
    // SAFETY: the union members read are those Linux writes for SIGCHLD (and for the
    // WNOHANG-nothing-ready case, where it writes zeros in the same places).
    unsafe { (i.si_signo, i.si_code, i.si_pid(), i.si_status(), i.si_uid()) }
}

fn wait4(pid: pid_t, options: c_int) -> Result<(pid_t, c_int, libc::rusage), c_int> {
    let mut status: c_int = 0x5a5a;
    // SAFETY: rusage is plain data.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: fills the struct's bytes.
    unsafe {
        std::ptr::write_bytes(
            &mut ru as *mut libc::rusage as *mut u8,
            0xff,
            size_of::<libc::rusage>(),
        )
    };
    // SAFETY: valid out-pointers.
    let r = unsafe { libc::wait4(pid, &mut status, options, &mut ru) };
    if r == -1 {
        Err(errno())
    } else {
        Ok((r, status, ru))
    }
}

fn main() {
    let mut r = Report::new("t_exit");
    // SAFETY: these cannot fail.
    let (me, uid, my_pgrp) = unsafe { (libc::getpid(), libc::getuid(), libc::getpgrp()) };

    // ---- exit statuses through _exit: (code & 0xff) << 8, WIFEXITED, WEXITSTATUS ----
    for code in [0, 1, 42, 255, 256] {
        let pid = spawn(move || code);
        let name = format!("status_{code}");
        match reap(pid) {
            Ok(st) => {
                let good = st == exited(code)
                    && libc::WIFEXITED(st)
                    && libc::WEXITSTATUS(st) == code & 0xff;
                r.check(&name, good, || {
                    format!("{}, want exited {}", show_status(st), code & 0xff)
                });
            }
            Err(e) => r.fail(&name, format!("waitpid: {}", errname(e))),
        }
    }

    // ---- the ways out: exit_group, exit (single thread), libc exit, std exit ----
    let ways: [Way; 5] = [
        (
            "exit_group_raw",
            || sc!(libc::SYS_exit_group, 7).map_or(100, |_| 101),
            7,
        ),
        (
            "exit_group_truncates",
            || sc!(libc::SYS_exit_group, 0x1ff).map_or(100, |_| 101),
            0xff,
        ),
        (
            "exit_raw_last_thread",
            || sc!(libc::SYS_exit, 5).map_or(100, |_| 101),
            5,
        ),
        // SAFETY: plain process exit in the child.
        ("libc_exit", || unsafe { libc::exit(3) }, 3),
        ("std_process_exit", || std::process::exit(4), 4),
    ];
    for (name, f, want) in ways {
        let pid = spawn(f);
        match reap(pid) {
            Ok(st) => r.check(name, st == exited(want), || {
                format!("{}, want exited {want}", show_status(st))
            }),
            Err(e) => r.fail(name, format!("waitpid: {}", errname(e))),
        }
    }

    // ---- WNOHANG on a running child; wait4's rusage ----
    // 150 ms leaves room for a slow emulator between the fork and the WNOHANG calls.
    let pid = spawn(|| {
        sleep_ms(150);
        9
    });
    match wait4(pid, libc::WNOHANG) {
        Ok((got, _, _)) => r.eq("wait4_wnohang_running", got, 0),
        Err(e) => r.fail("wait4_wnohang_running", errname(e)),
    };
    match waitid(
        libc::P_PID,
        pid as libc::id_t,
        libc::WEXITED | libc::WNOHANG,
    ) {
        Ok(i) => {
            let (signo, _, si_pid, _, _) = info_fields(&i);
            r.check("waitid_wnohang_running", signo == 0 && si_pid == 0, || {
                format!("si_signo {signo}, si_pid {si_pid}; want both 0")
            })
        }
        Err(e) => r.check("waitid_wnohang_running", false, || errname(e)),
    };
    match wait4(pid, 0) {
        Ok((got, st, ru)) => {
            r.check("wait4_blocking", got == pid && st == exited(9), || {
                format!("pid ok {}, {}", got == pid, show_status(st))
            });
            let times_ok = (0..1_000_000).contains(&ru.ru_utime.tv_usec)
                && (0..1_000_000).contains(&ru.ru_stime.tv_usec)
                && ru.ru_utime.tv_sec >= 0
                && ru.ru_stime.tv_sec >= 0;
            // Linux writes zero in the fields it does not maintain.
            let unused = [
                ru.ru_ixrss,
                ru.ru_idrss,
                ru.ru_isrss,
                ru.ru_nswap,
                ru.ru_msgsnd,
                ru.ru_msgrcv,
                ru.ru_nsignals,
            ];
            r.check(
                "wait4_rusage",
                times_ok && unused.iter().all(|&v| v == 0),
                || {
                    format!(
                        "utime {}.{:06} stime {}.{:06} unmaintained fields {unused:?}",
                        ru.ru_utime.tv_sec,
                        ru.ru_utime.tv_usec,
                        ru.ru_stime.tv_sec,
                        ru.ru_stime.tv_usec
                    )
                },
            );
        }
        Err(e) => {
            r.fail("wait4_blocking", errname(e));
            r.fail("wait4_rusage", "wait4 failed");
        }
    }
    // A null status pointer is allowed.
    let pid = spawn(|| 0);
    // SAFETY: null status pointer is explicitly allowed by waitpid.
    let got = unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    r.check("waitpid_null_status", got == pid, || {
        format!("waitpid returned {got} ({})", errname(errno()))
    });

    // ---- pid == -1: any child ----
    let a = spawn(|| 21);
    let b = spawn(|| 22);
    let mut got = [waitpid(-1, 0), waitpid(-1, 0)];
    got.sort_by_key(|x| x.map(|p| p.0).unwrap_or(0));
    let mut want = [Ok((a, exited(21))), Ok((b, exited(22)))];
    want.sort_by_key(|x| x.map(|p| p.0).unwrap_or(0));
    r.check("waitpid_any", got == want, || {
        format!("got {got:?}, want {want:?}")
    });

    // ---- ECHILD and EINVAL ----
    r.err("echild_no_children", waitpid(-1, 0), libc::ECHILD);
    r.err(
        "echild_no_children_wnohang",
        waitpid(-1, libc::WNOHANG),
        libc::ECHILD,
    );
    r.err("echild_already_reaped", waitpid(a, 0), libc::ECHILD);
    // SAFETY: cannot fail.
    let ppid = unsafe { libc::getppid() };
    r.err(
        "echild_parent",
        waitpid(if ppid > 0 { ppid } else { 1 }, 0),
        libc::ECHILD,
    );
    r.err("echild_self", waitpid(me, 0), libc::ECHILD);
    r.err("echild_nonexistent", waitpid(0x3fff_fff0, 0), libc::ECHILD);
    r.err(
        "echild_waitid",
        waitid(libc::P_ALL, 0, libc::WEXITED),
        libc::ECHILD,
    );
    r.err("einval_wait4_options", waitpid(-1, 0x10), libc::EINVAL);
    r.err(
        "einval_waitid_no_event",
        waitid(libc::P_ALL, 0, libc::WNOHANG),
        libc::EINVAL,
    );
    r.err(
        "einval_waitid_idtype",
        sc!(libc::SYS_waitid, 77, 0, 0, libc::WEXITED, 0),
        libc::EINVAL,
    );

    // ---- waitid ----
    let pid = spawn(|| 9);
    match waitid(libc::P_PID, pid as libc::id_t, libc::WEXITED) {
        Ok(i) => {
            let f = info_fields(&i);
            r.eq(
                "waitid_siginfo",
                f,
                (libc::SIGCHLD, libc::CLD_EXITED, pid, 9, uid),
            );
        }
        Err(e) => r.fail("waitid_siginfo", errname(e)),
    }
    r.err("waitid_reaps", waitpid(pid, 0), libc::ECHILD);

    let pid = spawn(|| 10);
    let first = waitid(
        libc::P_PID,
        pid as libc::id_t,
        libc::WEXITED | libc::WNOWAIT,
    )
    .map(|i| info_fields(&i));
    let again = waitid(
        libc::P_PID,
        pid as libc::id_t,
        libc::WEXITED | libc::WNOWAIT | libc::WNOHANG,
    )
    .map(|i| info_fields(&i));
    let want = Ok((libc::SIGCHLD, libc::CLD_EXITED, pid, 10, uid));
    let reaped = waitpid(pid, libc::WNOHANG);
    r.check(
        "waitid_wnowait_keeps_zombie",
        first == want && again == want && reaped == Ok((pid, exited(10))),
        || {
            format!(
                "first {first:?}, again {again:?}, want {want:?}, then waitpid {}",
                show(&reaped)
            )
        },
    );

    let pid = spawn(|| 11);
    let got = waitid(libc::P_ALL, 0, libc::WEXITED).map(|i| info_fields(&i));
    r.eq(
        "waitid_p_all",
        got,
        Ok((libc::SIGCHLD, libc::CLD_EXITED, pid, 11, uid)),
    );

    // ---- process groups: pid == 0 and pid < -1 ----
    // SAFETY: cannot fail.
    let pg0 = unsafe { libc::getpgid(0) };
    r.eq("getpgid_self", pg0, my_pgrp);

    // A: its own process group (both sides call setpgid, as shells do, so there is no race).
    let a = spawn(|| {
        // SAFETY: plain call.
        if unsafe { libc::setpgid(0, 0) } != 0 {
            1
        } else {
            31
        }
    });
    // SAFETY: plain calls. The parent's setpgid may find A already a zombie; either way the
    // group is A after both calls (checked next).
    unsafe { libc::setpgid(a, a) };
    // Wait until A has exited, without reaping it.
    let a_dead = waitid(libc::P_PID, a as libc::id_t, libc::WEXITED | libc::WNOWAIT).is_ok();
    // SAFETY: plain call.
    let a_pgid = unsafe { libc::getpgid(a) };
    r.check("setpgid_child", a_dead && a_pgid == a, || {
        format!("A exited: {a_dead}, getpgid(A) == A: {}", a_pgid == a)
    });
    // B: stays in our group and exits later.
    let b = spawn(|| {
        sleep_ms(150);
        32
    });
    let early = waitpid(0, libc::WNOHANG);
    r.check(
        "waitpid0_wnohang_ignores_other_group",
        early == Ok((0, 0)),
        || {
            format!(
                "got {} (A is {}), want Ok((0, _))",
                show(&early),
                if early.map(|p| p.0) == Ok(a) {
                    "returned"
                } else {
                    "not returned"
                }
            )
        },
    );
    let got = waitpid(0, 0);
    r.check("waitpid0_own_group", got == Ok((b, exited(32))), || {
        format!(
            "got {} (is A: {}, is B: {})",
            show(&got),
            got.map(|p| p.0) == Ok(a),
            got.map(|p| p.0) == Ok(b)
        )
    });
    r.eq("waitpid_neg_pgid", waitpid(-a, 0), Ok((a, exited(31))));
    r.err("waitpid_neg_pgid_empty", waitpid(-a, 0), libc::ECHILD);

    let c = spawn(|| 33);
    r.eq(
        "waitpid_neg_own_pgrp",
        waitpid(-my_pgrp, 0),
        Ok((c, exited(33))),
    );

    let d = spawn(|| {
        // SAFETY: plain call.
        if unsafe { libc::setpgid(0, 0) } != 0 {
            1
        } else {
            34
        }
    });
    // SAFETY: plain call.
    unsafe { libc::setpgid(d, d) };
    let got = waitid(libc::P_PGID, d as libc::id_t, libc::WEXITED).map(|i| info_fields(&i));
    r.eq(
        "waitid_p_pgid",
        got,
        Ok((libc::SIGCHLD, libc::CLD_EXITED, d, 34, uid)),
    );

    // setpgid/setsid rules, checked in a child (which is not a group leader).
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_exit setpgid child");
        s.err(
            sc!(libc::SYS_setpgid, 0, -1),
            libc::EINVAL,
            "setpgid(0, -1)",
        )?;
        s.err(
            sc!(libc::SYS_setpgid, 0, 0x3fff_fff0),
            libc::EPERM,
            "setpgid(0, no such group)",
        )?;
        s.err(
            sc!(libc::SYS_setpgid, 0x3fff_fff0, 0),
            libc::ESRCH,
            "setpgid(no such pid, 0)",
        )?;
        // SAFETY: plain calls.
        let me = unsafe { libc::getpid() };
        s.eq(sc!(libc::SYS_setsid), Ok(me as i64), "setsid()")?;
        s.eq(
            sc!(libc::SYS_getsid, 0),
            Ok(me as i64),
            "getsid(0) after setsid",
        )?;
        s.eq(
            sc!(libc::SYS_getpgid, 0),
            Ok(me as i64),
            "getpgid(0) after setsid",
        )?;
        s.err(
            sc!(libc::SYS_setsid),
            libc::EPERM,
            "setsid() as group leader",
        )?;
        s.err(
            sc!(libc::SYS_setpgid, 0, my_pgrp),
            libc::EPERM,
            "setpgid into another session",
        )?;
        Ok(())
    });
    r.child_ok("setpgid_setsid_rules", pid);
    r.err("echild_at_end", waitpid(-1, libc::WNOHANG), libc::ECHILD);

    r.finish();
}
