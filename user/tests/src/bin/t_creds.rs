//! t_creds: user and group identities — get*id, set*id with Linux's permission rules, the
//! saved set-user-ID, supplementary groups, umask and fsuid. Must run as root (the host CI and
//! Tine's init both do); every identity change happens in a forked child, which reports through
//! its exit status (see `usertests::Steps`).
//!
//! The set*id calls are raw system calls: musl's wrappers run them through a "synccall" that
//! blocks signals first, which is beside the point here.

use libc::{c_int, c_long, gid_t, uid_t};
use usertests::{Report, Steps, errno, reap, require_root, sc, show_status, spawn, spawn_steps};

const KEEP: c_long = -1;

fn getresuid() -> Result<(uid_t, uid_t, uid_t), c_int> {
    let (mut a, mut b, mut c) = (0x5a5a, 0x5a5a, 0x5a5a);
    sc!(
        libc::SYS_getresuid,
        &mut a as *mut uid_t,
        &mut b as *mut uid_t,
        &mut c as *mut uid_t
    )
    .map(|_| (a, b, c))
}

fn getresgid() -> Result<(gid_t, gid_t, gid_t), c_int> {
    let (mut a, mut b, mut c) = (0x5a5a, 0x5a5a, 0x5a5a);
    sc!(
        libc::SYS_getresgid,
        &mut a as *mut gid_t,
        &mut b as *mut gid_t,
        &mut c as *mut gid_t
    )
    .map(|_| (a, b, c))
}

fn setresuid(r: c_long, e: c_long, s: c_long) -> Result<c_long, c_int> {
    sc!(libc::SYS_setresuid, r, e, s)
}

fn setresgid(r: c_long, e: c_long, s: c_long) -> Result<c_long, c_int> {
    sc!(libc::SYS_setresgid, r, e, s)
}

fn getgroups() -> Result<Vec<gid_t>, c_int> {
    let n = sc!(libc::SYS_getgroups, 0, 0)? as usize;
    let mut v = vec![0xffff_fffe as gid_t; n];
    let got = sc!(libc::SYS_getgroups, n, v.as_mut_ptr())? as usize;
    v.truncate(got);
    Ok(v)
}

fn setgroups(g: &[gid_t]) -> Result<c_long, c_int> {
    sc!(libc::SYS_setgroups, g.len(), g.as_ptr())
}

fn main() {
    let mut r = require_root(Report::new("t_creds"));

    // ---- the identities of root ----
    // SAFETY: these cannot fail.
    let ids = unsafe {
        (
            libc::getuid(),
            libc::geteuid(),
            libc::getgid(),
            libc::getegid(),
        )
    };
    r.eq("ids_root", ids, (0, 0, 0, 0));
    r.eq("getresuid_root", getresuid(), Ok((0, 0, 0)));
    r.eq("getresgid_root", getresgid(), Ok((0, 0, 0)));
    r.err(
        "getresuid_efault",
        sc!(libc::SYS_getresuid, 8, 8, 8),
        libc::EFAULT,
    );
    r.err(
        "getresgid_efault",
        sc!(libc::SYS_getresgid, 8, 8, 8),
        libc::EFAULT,
    );

    // ---- root sets arbitrary ids; afterwards only real/effective/saved ids are allowed ----
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_creds setresuid child");
        s.ok(
            setresgid(1000, 1001, 1002),
            "root setresgid(1000, 1001, 1002)",
        )?;
        s.eq(getresgid(), Ok((1000, 1001, 1002)), "getresgid")?;
        // SAFETY: cannot fail.
        s.eq(
            unsafe { (libc::getgid(), libc::getegid()) },
            (1000, 1001),
            "getgid/getegid",
        )?;
        s.ok(
            setresuid(2000, 2001, 2002),
            "root setresuid(2000, 2001, 2002)",
        )?;
        s.eq(getresuid(), Ok((2000, 2001, 2002)), "getresuid")?;
        // SAFETY: cannot fail.
        s.eq(
            unsafe { (libc::getuid(), libc::geteuid()) },
            (2000, 2001),
            "getuid/geteuid",
        )?;
        // Now unprivileged: effective may become the real or the saved id, nothing else.
        s.ok(setresuid(KEEP, 2000, KEEP), "seteuid to real")?;
        s.ok(setresuid(KEEP, 2002, KEEP), "seteuid to saved")?;
        s.eq(
            getresuid(),
            Ok((2000, 2002, 2002)),
            "getresuid after seteuid",
        )?;
        s.err(
            setresuid(KEEP, 3000, KEEP),
            libc::EPERM,
            "seteuid to a foreign id",
        )?;
        s.err(
            setresuid(3000, KEEP, KEEP),
            libc::EPERM,
            "set real to a foreign id",
        )?;
        s.err(
            setresuid(KEEP, KEEP, 3000),
            libc::EPERM,
            "set saved to a foreign id",
        )?;
        // 2001 was the effective id once, but is none of the current three any more.
        s.err(
            setresuid(2002, 2000, 2001),
            libc::EPERM,
            "setresuid with a former id",
        )?;
        s.eq(
            getresuid(),
            Ok((2000, 2002, 2002)),
            "ids unchanged by failed calls",
        )?;
        s.ok(setresuid(2002, 2000, 2000), "permute current ids")?;
        s.eq(
            getresuid(),
            Ok((2002, 2000, 2000)),
            "getresuid after permuting",
        )?;
        s.ok(setresuid(KEEP, KEEP, KEEP), "setresuid(-1, -1, -1)")?;
        s.err(
            sc!(libc::SYS_setuid, 0),
            libc::EPERM,
            "setuid(0) unprivileged",
        )?;
        // Groups follow the same rule, and are now unprivileged too (no CAP_SETGID).
        s.ok(setresgid(KEEP, 1002, KEEP), "setegid to saved")?;
        s.err(
            setresgid(KEEP, 5000, KEEP),
            libc::EPERM,
            "setegid to a foreign id",
        )?;
        s.err(
            setresgid(1001, 1000, 1002),
            libc::EPERM,
            "setresgid with a former id",
        )?;
        s.eq(
            getresgid(),
            Ok((1000, 1002, 1002)),
            "getresgid after the group changes",
        )?;
        s.err(setgroups(&[5]), libc::EPERM, "setgroups unprivileged")?;
        Ok(())
    });
    r.child_ok("setresuid_rules", pid);

    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_creds setuid child");
        s.ok(sc!(libc::SYS_setgid, 4321), "root setgid(4321)")?;
        s.eq(
            getresgid(),
            Ok((4321, 4321, 4321)),
            "setgid as root sets all three",
        )?;
        s.ok(sc!(libc::SYS_setuid, 1234), "root setuid(1234)")?;
        s.eq(
            getresuid(),
            Ok((1234, 1234, 1234)),
            "setuid as root sets all three",
        )?;
        s.err(
            sc!(libc::SYS_setuid, 0),
            libc::EPERM,
            "setuid(0) after dropping root",
        )?;
        s.ok(sc!(libc::SYS_setuid, 1234), "setuid to the own id")?;
        s.err(
            sc!(libc::SYS_setgid, 0),
            libc::EPERM,
            "setgid(0) after dropping root",
        )?;
        Ok(())
    });
    r.child_ok("setuid_root_sets_all", pid);

    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_creds seteuid child");
        s.ok(setresuid(KEEP, 1234, KEEP), "root seteuid(1234)")?;
        s.eq(getresuid(), Ok((0, 1234, 0)), "getresuid")?;
        s.err(
            setresuid(KEEP, 555, KEEP),
            libc::EPERM,
            "seteuid(555) while euid is not 0",
        )?;
        s.ok(
            setresuid(KEEP, 0, KEEP),
            "seteuid back to 0 (the real and saved id)",
        )?;
        s.eq(getresuid(), Ok((0, 0, 0)), "getresuid after seteuid(0)")?;
        s.ok(setresuid(1111, 1234, 0), "setresuid(1111, 1234, 0)")?;
        s.ok(setresuid(KEEP, 0, KEEP), "seteuid back to the saved 0")?;
        s.eq(
            getresuid(),
            Ok((1111, 0, 0)),
            "getresuid after seteuid to saved",
        )?;
        // Effective uid 0 again: privileged again.
        s.ok(setresuid(7, 7, 7), "setresuid(7, 7, 7) with euid 0 again")?;
        s.eq(getresuid(), Ok((7, 7, 7)), "getresuid")?;
        Ok(())
    });
    r.child_ok("seteuid_and_back", pid);

    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_creds setreuid child");
        s.ok(sc!(libc::SYS_setreuid, 100, 200), "root setreuid(100, 200)")?;
        // The saved id becomes the new effective id when the real id is set.
        s.eq(
            getresuid(),
            Ok((100, 200, 200)),
            "getresuid after setreuid(100, 200)",
        )?;
        s.ok(sc!(libc::SYS_setreuid, 200, 100), "swap real and effective")?;
        s.eq(getresuid(), Ok((200, 100, 100)), "getresuid after the swap")?;
        // Effective set to the old real id, real unchanged: the saved id stays.
        s.ok(sc!(libc::SYS_setreuid, KEEP, 200), "setreuid(-1, 200)")?;
        s.eq(
            getresuid(),
            Ok((200, 200, 100)),
            "getresuid after setreuid(-1, 200)",
        )?;
        s.err(
            sc!(libc::SYS_setreuid, 300, KEEP),
            libc::EPERM,
            "setreuid(300, -1)",
        )?;
        s.err(
            sc!(libc::SYS_setreuid, KEEP, 300),
            libc::EPERM,
            "setreuid(-1, 300)",
        )?;
        Ok(())
    });
    r.child_ok("setreuid_saved_rule", pid);

    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_creds setgroups child");
        s.ok(setgroups(&[7, 5, 6]), "setgroups([7, 5, 6])")?;
        s.eq(
            sc!(libc::SYS_getgroups, 0, 0),
            Ok(3),
            "getgroups(0, NULL) counts",
        )?;
        // Linux keeps the list sorted.
        s.eq(
            getgroups(),
            Ok(vec![5, 6, 7]),
            "getgroups returns the sorted list",
        )?;
        let mut small = [0 as gid_t; 2];
        s.err(
            sc!(libc::SYS_getgroups, 2, small.as_mut_ptr()),
            libc::EINVAL,
            "getgroups with a short buffer",
        )?;
        s.err(
            sc!(libc::SYS_getgroups, 3, 8),
            libc::EFAULT,
            "getgroups to a bad pointer",
        )?;
        s.err(
            sc!(libc::SYS_setgroups, 1, 8),
            libc::EFAULT,
            "setgroups from a bad pointer",
        )?;
        s.err(
            sc!(libc::SYS_setgroups, 65537, small.as_ptr()),
            libc::EINVAL,
            "setgroups above NGROUPS_MAX",
        )?;
        s.eq(
            getgroups(),
            Ok(vec![5, 6, 7]),
            "failed calls leave the list",
        )?;
        let pid = spawn(|| {
            if getgroups() == Ok(vec![5, 6, 7]) {
                0
            } else {
                1
            }
        });
        s.eq(reap(pid), Ok(0), "the list is inherited across fork")?;
        s.ok(sc!(libc::SYS_setuid, 1000), "drop root")?;
        s.err(setgroups(&[1]), libc::EPERM, "setgroups unprivileged")?;
        s.eq(getgroups(), Ok(vec![5, 6, 7]), "setuid keeps the list")?;
        Ok(())
    });
    r.child_ok("setgroups_getgroups", pid);
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_creds setgroups-empty child");
        s.ok(setgroups(&[]), "setgroups([])")?;
        s.eq(getgroups(), Ok(vec![]), "getgroups after setgroups([])")?;
        Ok(())
    });
    r.child_ok("setgroups_empty", pid);

    // ---- umask ----
    // SAFETY: umask cannot fail.
    let original = unsafe { libc::umask(0o027) };
    let second = unsafe { libc::umask(0o077) };
    r.eq("umask_returns_old", second, 0o027);
    let pid = spawn(|| {
        // SAFETY: as above.
        if unsafe { libc::umask(0) } == 0o077 {
            0
        } else {
            1
        }
    });
    match reap(pid) {
        Ok(st) => r.check("umask_inherited", st == 0, || {
            format!("child {}", show_status(st))
        }),
        Err(e) => r.fail("umask_inherited", usertests::errname(e)),
    };
    unsafe { libc::umask(0o7777) };
    let masked = unsafe { libc::umask(original) };
    r.eq("umask_masks_0777", masked, 0o777);

    // ---- setfsuid / setfsgid: return the previous value; -1 queries ----
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_creds setfsuid child");
        s.eq(
            sc!(libc::SYS_setfsuid, 500),
            Ok(0),
            "setfsuid(500) returns the old fsuid 0",
        )?;
        s.eq(
            sc!(libc::SYS_setfsuid, KEEP),
            Ok(500),
            "setfsuid(-1) returns the fsuid",
        )?;
        s.eq(
            sc!(libc::SYS_setfsuid, 0),
            Ok(500),
            "setfsuid(0) returns 500",
        )?;
        s.eq(
            sc!(libc::SYS_setfsgid, 600),
            Ok(0),
            "setfsgid(600) returns the old fsgid 0",
        )?;
        s.eq(
            sc!(libc::SYS_setfsgid, KEEP),
            Ok(600),
            "setfsgid(-1) returns the fsgid",
        )?;
        // Changing the effective uid moves the fsuid along.
        s.ok(setresuid(KEEP, 700, KEEP), "seteuid(700)")?;
        s.eq(sc!(libc::SYS_setfsuid, KEEP), Ok(700), "fsuid follows euid")?;
        // Unprivileged: a foreign fsuid is refused (the old value is returned, nothing changes).
        s.eq(
            sc!(libc::SYS_setfsuid, 999),
            Ok(700),
            "setfsuid(999) unprivileged",
        )?;
        s.eq(sc!(libc::SYS_setfsuid, KEEP), Ok(700), "fsuid unchanged")?;
        Ok(())
    });
    r.child_ok("setfsuid", pid);

    // ---- the child's real uid appears in waitid's si_uid ----
    let pid = spawn(|| if setresuid(77, 78, 79).is_ok() { 0 } else { 1 });
    // SAFETY: siginfo_t is plain data.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid out-pointer.
    let rc = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED) };
    let fields = if rc == 0 {
        // SAFETY: Linux fills these for a CLD_EXITED report.
        Ok(unsafe { (info.si_pid() == pid, info.si_status(), info.si_uid()) })
    } else {
        Err(errno())
    };
    r.eq("waitid_si_uid_is_real_uid", fields, Ok((true, 0, 77)));

    r.finish();
}
