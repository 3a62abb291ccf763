//! t_limits: resource limits (getrlimit, setrlimit, prlimit64) and uname.
//!
//! Must run as root (the host CI and Tine's init both do). Only semantics are checked, never the host's default values. Changes are made in forked
//! children (or undone) so the checks do not depend on each other.
//!
//! Raising a hard limit needs CAP_SYS_RESOURCE, which root has on a plain Linux host and in Tine,
//! but which some container hosts withhold even from root. The program asks `capget(2)` and
//! expects success with the capability and EPERM without it; if capget is not implemented
//! (ENOSYS) it assumes root's full capabilities. Either way the printed line is the same.

use libc::{c_int, c_long, pid_t, rlimit64};
use usertests::{
    Report, Steps, has_effective_cap, mono_ns, reap, require_root, sc, sleep_ms, spawn, spawn_steps,
};

const INF: u64 = libc::RLIM64_INFINITY;
const CAP_SYS_RESOURCE: u32 = 24;
/// RLIMIT_CPU (0) through RLIMIT_RTTIME (15).
const RESOURCES: c_int = 16;

type Lim = (u64, u64);

fn lim(l: &rlimit64) -> Lim {
    (l.rlim_cur, l.rlim_max)
}

fn rl(l: Lim) -> rlimit64 {
    rlimit64 {
        rlim_cur: l.0,
        rlim_max: l.1,
    }
}

/// prlimit64(pid, res, new, old) — returns the old value.
fn prlimit(pid: pid_t, res: c_int, new: Option<Lim>) -> Result<Lim, c_int> {
    let newv = new.map(rl);
    let newp = newv
        .as_ref()
        .map_or(std::ptr::null(), |v| v as *const rlimit64);
    let mut old = rl((0x5a5a, 0x5a5a));
    sc!(
        libc::SYS_prlimit64,
        pid,
        res,
        newp,
        &mut old as *mut rlimit64
    )
    .map(|_| lim(&old))
}

/// The old getrlimit(2) system call (x86-64 has it, with the same 64-bit layout).
fn getrlimit_raw(res: c_int) -> Result<Lim, c_int> {
    let mut old = rl((0x5a5a, 0x5a5a));
    sc!(libc::SYS_getrlimit, res, &mut old as *mut rlimit64).map(|_| lim(&old))
}

fn setrlimit_raw(res: c_int, l: Lim) -> Result<c_long, c_int> {
    let v = rl(l);
    sc!(libc::SYS_setrlimit, res, &v as *const rlimit64)
}

/// getrlimit through musl (which uses prlimit64).
fn getrlimit_libc(res: c_int) -> Result<Lim, c_int> {
    let mut l = libc::rlimit {
        rlim_cur: 0x5a5a,
        rlim_max: 0x5a5a,
    };
    // SAFETY: valid out-pointer.
    if unsafe { libc::getrlimit(res as _, &mut l) } == 0 {
        Ok((l.rlim_cur, l.rlim_max))
    } else {
        Err(usertests::errno())
    }
}

fn main() {
    let mut r = require_root(Report::new("t_limits"));
    // SAFETY: cannot fail.
    let me = unsafe { libc::getpid() };

    // ---- every resource reads back consistently through every interface ----
    let mut bad = Vec::new();
    for res in 0..RESOURCES {
        let a = getrlimit_raw(res);
        let b = prlimit(0, res, None);
        let c = prlimit(me, res, None);
        let d = getrlimit_libc(res);
        let good =
            a.is_ok() && a == b && a == c && a == d && a.is_ok_and(|(s, h)| h == INF || s <= h);
        if !good {
            bad.push(format!("resource {res}: getrlimit {a:?} prlimit64(0) {b:?} prlimit64(self) {c:?} libc {d:?}"));
        }
    }
    r.check("all_resources_consistent", bad.is_empty(), || {
        bad.join("; ")
    });

    let nofile = getrlimit_raw(libc::RLIMIT_NOFILE as c_int).unwrap_or((0, 0));
    r.check(
        "nofile_sane",
        nofile.0 >= 16 && nofile.0 <= nofile.1 && nofile.1 != INF,
        || format!("RLIMIT_NOFILE {nofile:?}"),
    );
    let (ns, nh) = nofile;
    // A soft value below the current one that the checks can set and recognise.
    let low = if ns > 100 { 100 } else { ns - 1 };

    // ---- setting soft limits ----
    let pid = spawn_steps(move || {
        let mut s = Steps::new("t_limits soft child");
        let res = libc::RLIMIT_NOFILE as c_int;
        s.ok(setrlimit_raw(res, (low, nh)), "lower the soft NOFILE limit")?;
        s.eq(getrlimit_raw(res), Ok((low, nh)), "read back by getrlimit")?;
        s.eq(
            prlimit(0, res, None),
            Ok((low, nh)),
            "read back by prlimit64",
        )?;
        s.ok(
            setrlimit_raw(res, (nh, nh)),
            "raise soft up to the hard limit",
        )?;
        s.eq(getrlimit_raw(res), Ok((nh, nh)), "read back")?;
        s.err(
            setrlimit_raw(res, (nh + 1, nh)),
            libc::EINVAL,
            "soft above hard",
        )?;
        s.err(
            prlimit(0, res, Some((nh + 1, nh))),
            libc::EINVAL,
            "prlimit64 soft above hard",
        )?;
        s.eq(
            getrlimit_raw(res),
            Ok((nh, nh)),
            "unchanged by the failed calls",
        )?;
        // prlimit64 sets and returns the old value in one call.
        s.eq(
            prlimit(0, res, Some((low, nh))),
            Ok((nh, nh)),
            "prlimit64 returns the old value",
        )?;
        s.eq(
            getrlimit_raw(res),
            Ok((low, nh)),
            "prlimit64's new value is in force",
        )?;
        Ok(())
    });
    r.child_ok("set_soft", pid);

    // ---- hard limits: lowering is free, raising needs CAP_SYS_RESOURCE ----
    let can_raise = has_effective_cap(CAP_SYS_RESOURCE).unwrap_or(true);
    let pid = spawn_steps(move || {
        let mut s = Steps::new("t_limits hard child");
        let res = libc::RLIMIT_CORE as c_int;
        s.ok(
            setrlimit_raw(res, (0, 4096)),
            "lower the CORE hard limit to 4096",
        )?;
        s.eq(getrlimit_raw(res), Ok((0, 4096)), "read back")?;
        s.err(
            setrlimit_raw(res, (8192, 4096)),
            libc::EINVAL,
            "soft above hard",
        )?;
        let raised = setrlimit_raw(res, (0, 8192));
        if can_raise {
            s.ok(raised, "raise the hard limit as root")?;
            s.eq(
                getrlimit_raw(res),
                Ok((0, 8192)),
                "raised hard limit read back",
            )?;
        } else {
            s.err(
                raised,
                libc::EPERM,
                "raise the hard limit without CAP_SYS_RESOURCE",
            )?;
            s.eq(getrlimit_raw(res), Ok((0, 4096)), "hard limit unchanged")?;
        }
        Ok(())
    });
    r.child_ok("hard_limit_root", pid);

    let pid = spawn_steps(move || {
        let mut s = Steps::new("t_limits unprivileged child");
        let res = libc::RLIMIT_NOFILE as c_int;
        s.ok(setrlimit_raw(res, (40, 50)), "lower NOFILE to (40, 50)")?;
        s.ok(sc!(libc::SYS_setresuid, 1000, 1000, 1000), "drop root")?;
        s.err(
            setrlimit_raw(res, (40, 60)),
            libc::EPERM,
            "raise the hard limit unprivileged",
        )?;
        s.ok(
            setrlimit_raw(res, (50, 50)),
            "raise soft up to hard unprivileged",
        )?;
        s.ok(setrlimit_raw(res, (30, 45)), "lower both unprivileged")?;
        s.eq(getrlimit_raw(res), Ok((30, 45)), "read back")?;
        s.err(
            setrlimit_raw(res, (30, 46)),
            libc::EPERM,
            "raise the lowered hard limit",
        )?;
        Ok(())
    });
    r.child_ok("hard_limit_unprivileged", pid);

    // ---- inheritance across fork ----
    let before = getrlimit_raw(libc::RLIMIT_NOFILE as c_int);
    let set = setrlimit_raw(libc::RLIMIT_NOFILE as c_int, (low, nh));
    let pid = spawn(move || {
        if getrlimit_raw(libc::RLIMIT_NOFILE as c_int) == Ok((low, nh)) {
            0
        } else {
            1
        }
    });
    let st = reap(pid);
    let restored = setrlimit_raw(libc::RLIMIT_NOFILE as c_int, (ns, nh));
    r.check(
        "inherited_across_fork",
        set.is_ok() && st == Ok(0) && restored.is_ok(),
        || format!("before {before:?}, set {set:?}, child {st:?}, restore {restored:?}"),
    );
    r.eq(
        "restored",
        getrlimit_raw(libc::RLIMIT_NOFILE as c_int),
        Ok((ns, nh)),
    );

    // ---- prlimit64 on a child ----
    let target = if low > 55 { 55 } else { low - 1 };
    let pid = spawn(move || {
        // Wait (at most 2 s) until the parent has changed our limit.
        let start = mono_ns();
        while mono_ns() - start < 2_000_000_000 {
            if getrlimit_raw(libc::RLIMIT_NOFILE as c_int) == Ok((target, nh)) {
                return 0;
            }
            sleep_ms(1);
        }
        1
    });
    let old = prlimit(pid, libc::RLIMIT_NOFILE as c_int, Some((target, nh)));
    let now = prlimit(pid, libc::RLIMIT_NOFILE as c_int, None);
    let st = reap(pid);
    r.eq("prlimit_child_old", old, Ok((ns, nh)));
    r.eq("prlimit_child_read", now, Ok((target, nh)));
    r.eq("prlimit_child_sees_it", st, Ok(0));
    r.eq(
        "prlimit_parent_unchanged",
        getrlimit_raw(libc::RLIMIT_NOFILE as c_int),
        Ok((ns, nh)),
    );

    // ---- errors ----
    r.err("einval_getrlimit", getrlimit_raw(100), libc::EINVAL);
    r.err("einval_getrlimit_libc", getrlimit_libc(100), libc::EINVAL);
    r.err("einval_setrlimit", setrlimit_raw(100, (1, 1)), libc::EINVAL);
    r.err("einval_prlimit", prlimit(0, 100, None), libc::EINVAL);
    r.err(
        "esrch_prlimit",
        prlimit(0x3fff_fff0, libc::RLIMIT_NOFILE as c_int, None),
        libc::ESRCH,
    );
    r.err(
        "efault_getrlimit",
        sc!(libc::SYS_getrlimit, libc::RLIMIT_NOFILE, 8),
        libc::EFAULT,
    );
    r.err(
        "efault_prlimit",
        sc!(libc::SYS_prlimit64, 0, libc::RLIMIT_NOFILE, 0, 8),
        libc::EFAULT,
    );

    // ---- uname ----
    // SAFETY: utsname is plain data.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: filled by the kernel.
    unsafe {
        std::ptr::write_bytes(
            &mut u as *mut libc::utsname as *mut u8,
            b'#',
            size_of::<libc::utsname>(),
        )
    };
    let rc = sc!(libc::SYS_uname, &mut u as *mut libc::utsname);
    let field = |f: &[libc::c_char]| -> Option<String> {
        let bytes: Vec<u8> = f.iter().map(|&c| c as u8).collect();
        let end = bytes.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&bytes[..end]).into_owned())
    };
    r.eq("uname_ok", rc, Ok(0));
    r.eq("uname_sysname", field(&u.sysname).as_deref(), Some("Linux"));
    r.eq(
        "uname_machine",
        field(&u.machine).as_deref(),
        Some("x86_64"),
    );
    let release = field(&u.release);
    r.check(
        "uname_release",
        release.as_deref().is_some_and(|s| !s.is_empty()),
        || format!("release {release:?}"),
    );
    let version = field(&u.version);
    r.check(
        "uname_version",
        version.as_deref().is_some_and(|s| !s.is_empty()),
        || format!("version {version:?}"),
    );
    let strings_ok = [&u.nodename[..], &u.domainname[..]]
        .iter()
        .all(|f| field(f).is_some());
    r.check("uname_terminated", strings_ok, || {
        "nodename or domainname not NUL-terminated".to_string()
    });
    r.err("uname_efault", sc!(libc::SYS_uname, 8), libc::EFAULT);

    r.finish();
}
