//! t_time: clocks, sleeps and CPU-time accounting.
//!
//! Checks are made both through musl (which on Linux answers clock_gettime/gettimeofday/time
//! from the vDSO without entering the kernel) and through raw system calls (which always enter
//! the kernel), so a kernel without a vDSO is tested as fully as one with it.

use libc::{c_int, c_long, clockid_t};
use usertests::{Report, busy_ms, errname, errno, reap, sc, spawn, ts, ts_ns, tv_ns, waitpid};

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;
/// 2020-01-01T00:00:00Z.
const Y2020: u64 = 1_577_836_800;

fn libc_gettime(clk: clockid_t) -> Result<u64, c_int> {
    let mut t = libc::timespec {
        tv_sec: -1,
        tv_nsec: -1,
    };
    // SAFETY: valid out-pointer.
    if unsafe { libc::clock_gettime(clk, &mut t) } == 0 {
        Ok(ts_ns(&t))
    } else {
        Err(errno())
    }
}

fn raw_gettime(clk: clockid_t) -> Result<u64, c_int> {
    let mut t = libc::timespec {
        tv_sec: -1,
        tv_nsec: -1,
    };
    sc!(libc::SYS_clock_gettime, clk, &mut t as *mut libc::timespec).map(|_| ts_ns(&t))
}

fn raw_getres(clk: clockid_t) -> Result<u64, c_int> {
    let mut t = libc::timespec {
        tv_sec: -1,
        tv_nsec: -1,
    };
    sc!(libc::SYS_clock_getres, clk, &mut t as *mut libc::timespec).map(|_| ts_ns(&t))
}

fn raw_mono() -> u64 {
    raw_gettime(libc::CLOCK_MONOTONIC).unwrap_or(0)
}

fn rusage(who: c_int) -> Result<libc::rusage, c_int> {
    // SAFETY: rusage is plain data.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    sc!(libc::SYS_getrusage, who, &mut ru as *mut libc::rusage).map(|_| ru)
}

fn cpu_ns(ru: &libc::rusage) -> u64 {
    tv_ns(&ru.ru_utime) + tv_ns(&ru.ru_stime)
}

fn times() -> Result<(c_long, libc::tms), c_int> {
    let mut t = libc::tms {
        tms_utime: -1,
        tms_stime: -1,
        tms_cutime: -1,
        tms_cstime: -1,
    };
    sc!(libc::SYS_times, &mut t as *mut libc::tms).map(|v| (v, t))
}

/// Sleeps with `f` and returns the CLOCK_MONOTONIC nanoseconds it took (raw clock).
fn timed(f: impl FnOnce() -> Result<c_long, c_int>) -> (Result<c_long, c_int>, u64) {
    let t0 = raw_mono();
    let r = f();
    (r, raw_mono() - t0)
}

fn main() {
    let mut r = Report::new("t_time");

    // ---- monotonic never goes back ----
    for (name, get) in [
        (
            "monotonic_nondecreasing_libc",
            libc_gettime as fn(clockid_t) -> Result<u64, c_int>,
        ),
        ("monotonic_nondecreasing_raw", raw_gettime),
    ] {
        let mut prev = 0u64;
        let mut bad = None;
        for i in 0..1000 {
            match get(libc::CLOCK_MONOTONIC) {
                Ok(t) if t >= prev => prev = t,
                other => {
                    bad = Some((i, prev, other));
                    break;
                }
            }
        }
        r.check(name, bad.is_none(), || format!("call {:?}", bad));
    }

    // ---- the real-time clock is set, and the three ways to read it agree ----
    let rt = raw_gettime(libc::CLOCK_REALTIME);
    r.check(
        "realtime_after_2020",
        matches!(rt, Ok(t) if t / SEC >= Y2020),
        || format!("CLOCK_REALTIME {rt:?} ns"),
    );
    let rt_libc = libc_gettime(libc::CLOCK_REALTIME);
    r.check(
        "realtime_libc_matches_raw",
        matches!((rt, rt_libc), (Ok(a), Ok(b)) if b >= a && b - a < SEC),
        || format!("raw {rt:?}, libc {rt_libc:?}"),
    );
    let mut tv = libc::timeval {
        tv_sec: -1,
        tv_usec: -1,
    };
    let gtod = sc!(libc::SYS_gettimeofday, &mut tv as *mut libc::timeval, 0).map(|_| tv_ns(&tv));
    let rt2 = raw_gettime(libc::CLOCK_REALTIME);
    r.check(
        "gettimeofday_raw",
        matches!((gtod, rt2), (Ok(a), Ok(b)) if b.abs_diff(a) < SEC && tv.tv_usec < 1_000_000),
        || format!("gettimeofday {gtod:?} ns, CLOCK_REALTIME {rt2:?} ns"),
    );
    let mut tv2 = libc::timeval {
        tv_sec: -1,
        tv_usec: -1,
    };
    // SAFETY: valid out-pointer, null timezone.
    let gl = unsafe { libc::gettimeofday(&mut tv2, std::ptr::null_mut()) };
    let rt3 = raw_gettime(libc::CLOCK_REALTIME);
    r.check(
        "gettimeofday_libc",
        gl == 0 && matches!(rt3, Ok(b) if b.abs_diff(tv_ns(&tv2)) < SEC),
        || {
            format!(
                "gettimeofday rc {gl}, {} ns, CLOCK_REALTIME {rt3:?}",
                tv_ns(&tv2)
            )
        },
    );
    let t_raw = sc!(libc::SYS_time, 0);
    let rt4 = raw_gettime(libc::CLOCK_REALTIME);
    r.check(
        "time_raw",
        matches!((t_raw, rt4), (Ok(a), Ok(b)) if (b / SEC).abs_diff(a as u64) <= 1),
        || format!("time() {t_raw:?}, CLOCK_REALTIME {rt4:?} ns"),
    );

    // ---- the other clocks exist ----
    let mut missing = Vec::new();
    for (name, clk) in [
        ("CLOCK_REALTIME", libc::CLOCK_REALTIME),
        ("CLOCK_MONOTONIC", libc::CLOCK_MONOTONIC),
        ("CLOCK_PROCESS_CPUTIME_ID", libc::CLOCK_PROCESS_CPUTIME_ID),
        ("CLOCK_THREAD_CPUTIME_ID", libc::CLOCK_THREAD_CPUTIME_ID),
        ("CLOCK_MONOTONIC_RAW", libc::CLOCK_MONOTONIC_RAW),
        ("CLOCK_REALTIME_COARSE", libc::CLOCK_REALTIME_COARSE),
        ("CLOCK_MONOTONIC_COARSE", libc::CLOCK_MONOTONIC_COARSE),
        ("CLOCK_BOOTTIME", libc::CLOCK_BOOTTIME),
    ] {
        if let Err(e) = raw_gettime(clk) {
            missing.push(format!("{name}: {}", errname(e)));
        }
    }
    r.check("clocks_supported", missing.is_empty(), || {
        missing.join(", ")
    });
    let mono = raw_mono();
    let boot = raw_gettime(libc::CLOCK_BOOTTIME);
    r.check(
        "boottime_not_before_monotonic",
        matches!(boot, Ok(b) if b >= mono),
        || format!("monotonic {mono}, boottime {boot:?}"),
    );

    // ---- resolution ----
    let res = raw_getres(libc::CLOCK_MONOTONIC);
    r.check(
        "getres_monotonic",
        matches!(res, Ok(v) if v > 0 && v <= MS),
        || format!("{res:?} ns"),
    );
    let res = raw_getres(libc::CLOCK_REALTIME);
    r.check(
        "getres_realtime",
        matches!(res, Ok(v) if v > 0 && v <= MS),
        || format!("{res:?} ns"),
    );
    // SAFETY: a null res pointer is allowed.
    r.eq(
        "getres_null",
        sc!(libc::SYS_clock_getres, libc::CLOCK_MONOTONIC, 0),
        Ok(0),
    );

    // ---- errors ----
    r.err("gettime_einval", raw_gettime(100), libc::EINVAL);
    r.err("gettime_einval_libc", libc_gettime(100), libc::EINVAL);
    r.err("getres_einval", raw_getres(100), libc::EINVAL);
    r.err(
        "gettime_efault",
        sc!(libc::SYS_clock_gettime, libc::CLOCK_MONOTONIC, 8),
        libc::EFAULT,
    );
    r.err(
        "gettime_efault_realtime",
        sc!(libc::SYS_clock_gettime, libc::CLOCK_REALTIME, 8),
        libc::EFAULT,
    );
    r.err(
        "gettimeofday_efault",
        sc!(libc::SYS_gettimeofday, 8, 0),
        libc::EFAULT,
    );
    let bad = ts(0);
    let bad = libc::timespec {
        tv_nsec: 1_000_000_000,
        ..bad
    };
    r.err(
        "nanosleep_einval_nsec",
        sc!(libc::SYS_nanosleep, &bad as *const libc::timespec, 0),
        libc::EINVAL,
    );
    let neg = libc::timespec {
        tv_sec: -1,
        tv_nsec: 0,
    };
    r.err(
        "nanosleep_einval_negative",
        sc!(libc::SYS_nanosleep, &neg as *const libc::timespec, 0),
        libc::EINVAL,
    );
    let neg_ns = libc::timespec {
        tv_sec: 0,
        tv_nsec: -1,
    };
    r.err(
        "nanosleep_einval_negative_nsec",
        sc!(libc::SYS_nanosleep, &neg_ns as *const libc::timespec, 0),
        libc::EINVAL,
    );
    r.err(
        "nanosleep_efault",
        sc!(libc::SYS_nanosleep, 8, 0),
        libc::EFAULT,
    );
    let short = ts(MS);
    r.err(
        "clock_nanosleep_einval_clock",
        sc!(
            libc::SYS_clock_nanosleep,
            100,
            0,
            &short as *const libc::timespec,
            0
        ),
        libc::EINVAL,
    );
    // Linux has no sleeping on the thread CPU clock: EOPNOTSUPP (musl's wrapper turns it into
    // EINVAL before calling the kernel; the kernel's answer is the one checked).
    r.err(
        "clock_nanosleep_thread_cputime_unsupported",
        sc!(
            libc::SYS_clock_nanosleep,
            libc::CLOCK_THREAD_CPUTIME_ID,
            0,
            &short as *const libc::timespec,
            0
        ),
        libc::EOPNOTSUPP,
    );
    r.err(
        "clock_nanosleep_einval_nsec",
        sc!(
            libc::SYS_clock_nanosleep,
            libc::CLOCK_MONOTONIC,
            0,
            &bad as *const libc::timespec,
            0
        ),
        libc::EINVAL,
    );
    // SAFETY: valid pointers; musl's clock_nanosleep returns the error number itself.
    let e = unsafe { libc::clock_nanosleep(100, 0, &short, std::ptr::null_mut()) };
    r.eq("clock_nanosleep_libc_returns_error", e, libc::EINVAL);

    // ---- sleeping: at least as long as asked, not absurdly longer ----
    let d20 = ts(20 * MS);
    let in_range = |(res, took): (Result<c_long, c_int>, u64)| {
        (
            res == Ok(0) && (20 * MS..2 * SEC).contains(&took),
            res,
            took,
        )
    };
    let (good, res, took) = in_range(timed(|| {
        // SAFETY: valid pointers.
        usertests::sys(unsafe { libc::nanosleep(&d20, std::ptr::null_mut()) } as c_long)
    }));
    r.check("nanosleep_20ms", good, || {
        format!("{res:?} after {took} ns")
    });
    let (good, res, took) = in_range(timed(|| {
        sc!(libc::SYS_nanosleep, &d20 as *const libc::timespec, 0)
    }));
    r.check("nanosleep_raw_20ms", good, || {
        format!("{res:?} after {took} ns")
    });
    let mut rem = libc::timespec {
        tv_sec: 77,
        tv_nsec: 77,
    };
    let (good, res, took) = in_range(timed(|| {
        sc!(
            libc::SYS_clock_nanosleep,
            libc::CLOCK_MONOTONIC,
            0,
            &d20 as *const libc::timespec,
            &mut rem as *mut libc::timespec
        )
    }));
    r.check("clock_nanosleep_relative", good, || {
        format!("{res:?} after {took} ns")
    });
    let (good, res, took) = in_range(timed(|| {
        sc!(
            libc::SYS_clock_nanosleep,
            libc::CLOCK_REALTIME,
            0,
            &d20 as *const libc::timespec,
            0
        )
    }));
    r.check("clock_nanosleep_realtime_relative", good, || {
        format!("{res:?} after {took} ns")
    });
    // Absolute: sleep until now + 20 ms on the same clock, and it is at least that time after.
    let target = raw_mono() + 20 * MS;
    let abs = ts(target);
    let rc = sc!(
        libc::SYS_clock_nanosleep,
        libc::CLOCK_MONOTONIC,
        libc::TIMER_ABSTIME,
        &abs as *const libc::timespec,
        0
    );
    let after = raw_mono();
    r.check(
        "clock_nanosleep_abstime",
        rc == Ok(0) && after >= target && after - target < 2 * SEC,
        || {
            format!(
                "{rc:?}, woke {} ns after the target",
                after as i64 - target as i64
            )
        },
    );
    // An absolute time in the past returns at once.
    let past = ts(raw_mono().saturating_sub(SEC));
    let (res, took) = timed(|| {
        sc!(
            libc::SYS_clock_nanosleep,
            libc::CLOCK_MONOTONIC,
            libc::TIMER_ABSTIME,
            &past as *const libc::timespec,
            0
        )
    });
    r.check(
        "clock_nanosleep_abstime_past",
        res == Ok(0) && took < SEC / 2,
        || format!("{res:?} after {took} ns"),
    );
    let rt_target = raw_gettime(libc::CLOCK_REALTIME).unwrap_or(0) + 20 * MS;
    let rt_abs = ts(rt_target);
    let rc = sc!(
        libc::SYS_clock_nanosleep,
        libc::CLOCK_REALTIME,
        libc::TIMER_ABSTIME,
        &rt_abs as *const libc::timespec,
        0
    );
    let rt_after = raw_gettime(libc::CLOCK_REALTIME).unwrap_or(0);
    r.check(
        "clock_nanosleep_abstime_realtime",
        rc == Ok(0) && rt_after >= rt_target,
        || {
            format!(
                "{rc:?}, woke {} ns after the target",
                rt_after as i64 - rt_target as i64
            )
        },
    );
    // SAFETY: valid pointers.
    let zero = ts(0);
    r.eq(
        "nanosleep_zero",
        sc!(libc::SYS_nanosleep, &zero as *const libc::timespec, 0),
        Ok(0),
    );

    // ---- CPU time of this process ----
    let ru0 = rusage(libc::RUSAGE_SELF);
    let tm0 = times();
    let cpu0 = raw_gettime(libc::CLOCK_PROCESS_CPUTIME_ID);
    let spun = busy_ms(100);
    let ru1 = rusage(libc::RUSAGE_SELF);
    let tm1 = times();
    let cpu1 = raw_gettime(libc::CLOCK_PROCESS_CPUTIME_ID);
    // Accept as little as 10 ms of the 100 ms spun: a loaded host may take the CPU away, and a
    // kernel that does not account CPU time at all still fails.
    match (ru0, ru1) {
        (Ok(a), Ok(b)) => {
            let d = cpu_ns(&b).saturating_sub(cpu_ns(&a));
            r.check(
                "getrusage_self_user_time",
                tv_ns(&b.ru_utime) > 0 && d >= 10 * MS,
                || {
                    format!(
                        "utime {} ns after spinning {spun} ns; user+system grew by {d} ns",
                        tv_ns(&b.ru_utime)
                    )
                },
            );
            r.check(
                "getrusage_fields",
                b.ru_maxrss > 0 && b.ru_utime.tv_usec < 1_000_000 && b.ru_stime.tv_usec < 1_000_000,
                || {
                    format!(
                        "maxrss {}, utime.usec {}, stime.usec {}",
                        b.ru_maxrss, b.ru_utime.tv_usec, b.ru_stime.tv_usec
                    )
                },
            );
        }
        other => {
            r.fail("getrusage_self_user_time", format!("{other:?}"));
            r.fail("getrusage_fields", "getrusage failed");
        }
    }
    match (tm0, tm1) {
        (Ok((e0, a)), Ok((e1, b))) => {
            let d = (b.tms_utime + b.tms_stime) - (a.tms_utime + a.tms_stime);
            r.check("times_user_time", b.tms_utime > 0 && d >= 1, || {
                format!(
                    "tms_utime {} ticks, user+system grew by {d} ticks over {spun} ns",
                    b.tms_utime
                )
            });
            r.check("times_elapsed", (9..200).contains(&(e1 - e0)), || {
                format!("times() advanced {} ticks over {spun} ns", e1 - e0)
            });
        }
        other => {
            r.fail("times_user_time", format!("{other:?}"));
            r.fail("times_elapsed", "times failed");
        }
    }
    r.check(
        "process_cputime_grows",
        matches!((cpu0, cpu1), (Ok(a), Ok(b)) if b >= a + 10 * MS),
        || format!("CLOCK_PROCESS_CPUTIME_ID {cpu0:?} -> {cpu1:?} over {spun} ns"),
    );

    // ---- children's CPU time: added when (and only when) the child is reaped ----
    let c0 = rusage(libc::RUSAGE_CHILDREN);
    let tc0 = times();
    let pid = spawn(|| {
        busy_ms(100);
        0
    });
    // Wait for the exit without reaping.
    // SAFETY: siginfo_t is plain data.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid out-pointer.
    let w = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        )
    };
    let c_zombie = rusage(libc::RUSAGE_CHILDREN);
    let reaped = reap(pid);
    let c1 = rusage(libc::RUSAGE_CHILDREN);
    let tc1 = times();
    match (c0, c_zombie, c1) {
        (Ok(a), Ok(z), Ok(b)) => {
            r.check(
                "rusage_children_not_before_reap",
                w == 0 && cpu_ns(&z) == cpu_ns(&a),
                || {
                    format!(
                        "waitid rc {w}; children's time {} -> {} ns before the reap",
                        cpu_ns(&a),
                        cpu_ns(&z)
                    )
                },
            );
            let d = cpu_ns(&b).saturating_sub(cpu_ns(&a));
            r.check(
                "rusage_children_after_reap",
                reaped == Ok(0) && d >= 10 * MS,
                || format!("reap {reaped:?}; children's user+system grew by {d} ns"),
            );
        }
        other => {
            r.fail("rusage_children_not_before_reap", format!("{other:?}"));
            r.fail("rusage_children_after_reap", "getrusage failed");
        }
    }
    match (tc0, tc1) {
        (Ok((_, a)), Ok((_, b))) => {
            let d = (b.tms_cutime + b.tms_cstime) - (a.tms_cutime + a.tms_cstime);
            r.check("times_children", d >= 1, || {
                format!("tms_cutime+tms_cstime grew by {d} ticks")
            });
        }
        other => r.fail("times_children", format!("{other:?}")),
    }
    r.err("getrusage_einval", rusage(5), libc::EINVAL);
    r.err(
        "getrusage_efault",
        sc!(libc::SYS_getrusage, libc::RUSAGE_SELF, 8),
        libc::EFAULT,
    );
    r.err("echild_at_end", waitpid(-1, libc::WNOHANG), libc::ECHILD);

    r.finish();
}
