//! Process system calls: fork/vfork/clone, execve, exit, wait4/waitid, ids and credentials,
//! process groups and sessions, resource limits and usage, arch_prctl, prctl.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use abi::errno::Errno;
use abi::layout::{Rlimit, Rusage, SigFields, Siginfo, Timeval, Tms};
use abi::sysno as nr;
use abi::wait as w;

use super::{Args, Result};
use crate::proc::fork::{self, CloneArgs};
use crate::proc::task::Task;
use crate::proc::wait::{self as pwait, Selector};
use crate::proc::{self, exec};

pub fn fork(t: &mut Task) -> Result {
    Ok(u64::from(fork::fork(t)?))
}

pub fn vfork(t: &mut Task) -> Result {
    Ok(u64::from(fork::vfork(t)?))
}

/// clone(flags, stack, parent_tid, child_tid, tls) — the x86-64 argument order.
pub fn clone(t: &mut Task, a: Args) -> Result {
    let args = CloneArgs {
        flags: a.0[0],
        stack: a.0[1],
        parent_tid: a.0[2],
        child_tid: a.0[3],
        tls: a.0[4],
    };
    Ok(u64::from(fork::clone(t, args)?))
}

/// clone3(uargs, size): clone with its arguments in a `struct clone_args` (all u64: flags,
/// pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
/// cgroup). Checked in Linux's order, then handed to the same `fork::clone` as clone(2), so
/// every flag behaves as it does there. Not supported: CLONE_PIDFD, CLONE_INTO_CGROUP and
/// CLONE_CLEAR_SIGHAND (EINVAL), CLONE_NEWTIME (EINVAL), set_tid (EPERM, as for a caller
/// without CAP_SYS_ADMIN in its pid namespace).
pub fn clone3(t: &mut Task, a: Args) -> Result {
    const SIZE_VER0: u64 = 64;
    /// The struct as Tine knows it (VER2, with `cgroup`).
    const SIZE_KNOWN: usize = 88;
    const PAGE: u64 = 4096;
    const CSIGNAL: u64 = 0xff;
    const CLONE_NEWTIME: u64 = 0x80;
    const CLONE_SIGHAND: u64 = 0x800;
    const CLONE_PIDFD: u64 = 0x1000;
    const CLONE_PARENT: u64 = 0x8000;
    const CLONE_DETACHED: u64 = 0x40_0000;
    const CLONE_CLEAR_SIGHAND: u64 = 1 << 32;
    const CLONE_INTO_CGROUP: u64 = 1 << 33;
    const MAX_PID_NS_LEVEL: u64 = 32;
    let (uargs, size) = (a.0[0], a.0[1]);
    if size > PAGE {
        return Err(Errno::E2BIG);
    }
    if size < SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    let mut raw = [0u8; SIZE_KNOWN];
    let known = (size as usize).min(SIZE_KNOWN);
    t.read_user(uargs, &mut raw[..known])?;
    // A newer caller's larger struct is fine as long as Tine would ignore nothing in it.
    let mut at = SIZE_KNOWN as u64;
    while at < size {
        let mut chunk = [0u8; 256];
        let n = (size - at).min(chunk.len() as u64) as usize;
        t.read_user(uargs.checked_add(at).ok_or(Errno::EFAULT)?, &mut chunk[..n])?;
        if chunk[..n].iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
        at += n as u64;
    }
    let field = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&raw[i * 8..i * 8 + 8]);
        u64::from_le_bytes(b)
    };
    let (flags, _pidfd, child_tid, parent_tid, exit_signal) =
        (field(0), field(1), field(2), field(3), field(4));
    let (stack, stack_size, tls, set_tid, set_tid_size) =
        (field(5), field(6), field(7), field(8), field(9));
    let cgroup = field(10);
    // The checks Linux makes before looking at the flags' meaning.
    if set_tid_size > MAX_PID_NS_LEVEL
        || (set_tid == 0 && set_tid_size != 0)
        || (set_tid != 0 && set_tid_size == 0)
    {
        return Err(Errno::EINVAL);
    }
    if exit_signal & !CSIGNAL != 0 || exit_signal > 64 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_INTO_CGROUP != 0 && (cgroup > i32::MAX as u64 || size < SIZE_KNOWN as u64) {
        return Err(Errno::EINVAL);
    }
    // Only the 32 legacy flags and the two new ones; the exit signal has its own field, so the
    // low byte (but CLONE_NEWTIME) and CLONE_DETACHED are refused.
    if flags & !(0xffff_ffff | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP) != 0
        || flags & (CLONE_DETACHED | (CSIGNAL & !CLONE_NEWTIME)) != 0
        || flags & (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND) == CLONE_SIGHAND | CLONE_CLEAR_SIGHAND
        || (flags & (fork::CLONE_THREAD | CLONE_PARENT) != 0 && exit_signal != 0)
    {
        return Err(Errno::EINVAL);
    }
    // A stack is a range: both or neither; the child starts at its top.
    let stack_top = match (stack, stack_size) {
        (0, 0) => 0,
        (0, _) | (_, 0) => return Err(Errno::EINVAL),
        (s, n) => match s.checked_add(n) {
            Some(top) if top <= hal::mem::USER_END => top,
            _ => return Err(Errno::EINVAL),
        },
    };
    // What Tine does not have yet.
    if flags & (CLONE_PIDFD | CLONE_INTO_CGROUP | CLONE_CLEAR_SIGHAND | CLONE_NEWTIME) != 0 {
        log::info!("clone3: flags {flags:#x} not supported yet");
        return Err(Errno::EINVAL);
    }
    if set_tid != 0 {
        return Err(Errno::EPERM);
    }
    let args = CloneArgs {
        flags: flags | exit_signal,
        stack: stack_top,
        parent_tid,
        child_tid,
        tls,
    };
    Ok(u64::from(fork::clone(t, args)?))
}

/// set_robust_list(head, len): remember the calling thread's robust futex list.
pub fn set_robust_list(_t: &mut Task, a: Args) -> Result {
    if a.0[1] != crate::proc::futex::ROBUST_HEAD_LEN {
        return Err(Errno::EINVAL);
    }
    crate::sched::current()
        .robust_list
        .store(a.0[0], Ordering::Release);
    Ok(0)
}

/// get_robust_list(tid, head_ptr, len_ptr): the robust list head of a thread (0: the caller).
/// Another process's thread needs the caller to be privileged, or its real uid and gid to
/// match the target's real, effective and saved ids (ptrace's "real credentials" rule without
/// the dumpable check).
pub fn get_robust_list(t: &mut Task, a: Args) -> Result {
    let (tid, head_ptr, len_ptr) = (a.i32(0), a.0[1], a.0[2]);
    let head = if tid == 0 {
        crate::sched::current().robust_list.load(Ordering::Acquire)
    } else {
        let tid = u32::try_from(tid).map_err(|_| Errno::ESRCH)?;
        let p = proc::lookup(tid).ok_or(Errno::ESRCH)?;
        let thread = p.thread(tid).ok_or(Errno::ESRCH)?;
        if !Arc::ptr_eq(&p, &t.proc) {
            let me = t.proc.creds.lock().clone();
            let them = p.creds.lock().clone();
            if !me.may_inspect(&them, false) {
                return Err(Errno::EPERM);
            }
        }
        thread.robust_list.load(Ordering::Acquire)
    };
    t.write_u64(len_ptr, crate::proc::futex::ROBUST_HEAD_LEN)?;
    t.write_u64(head_ptr, head)?;
    Ok(0)
}

/// Read a NULL-terminated array of string pointers (argv or envp) with Linux's limits.
fn string_array(t: &Task, ptr: u64) -> core::result::Result<Vec<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    if ptr == 0 {
        return Ok(out);
    }
    let mut total = 0usize;
    for i in 0.. {
        let p = t.read_u64(ptr + i * 8)?;
        if p == 0 {
            break;
        }
        let s = t
            .read_cstr(p, abi::stack::MAX_ARG_STRLEN - 1)
            .map_err(|e| {
                if e == Errno::ENAMETOOLONG {
                    Errno::E2BIG
                } else {
                    e
                }
            })?;
        total += s.len() + 1 + 8;
        if total > abi::stack::ARG_MAX {
            return Err(Errno::E2BIG);
        }
        out.push(s);
    }
    Ok(out)
}

pub fn execve(t: &mut Task, a: Args) -> Result {
    let path = t.read_cstr(a.0[0], 4095)?;
    let argv = string_array(t, a.0[1])?;
    let envp = string_array(t, a.0[2])?;
    exec::execve(t, path, argv, envp)?;
    t.proc.unshare_files();
    let closed = t.proc.fds().lock().close_on_exec();
    drop(closed);
    Ok(0)
}

/// exit: end the calling thread; the process ends with this status if it was the last one.
pub fn exit(t: &mut Task, a: Args) -> Result {
    t.exit_code = a.i32(0);
    t.exiting = true;
    Ok(0)
}

/// exit_group: end every thread of the process.
pub fn exit_group(t: &mut Task, a: Args) -> Result {
    crate::proc::task::kill_current(t, w::exited(a.i32(0)));
    Ok(0)
}

/// futex(uaddr, op, val, timeout/val2, uaddr2, val3).
pub fn futex(t: &mut Task, a: Args) -> Result {
    use crate::proc::futex as fx;
    const PRIVATE: u32 = 128;
    const CLOCK_REALTIME: u32 = 256;
    let (addr, op, val, timeout, addr2, val3) =
        (a.0[0], a.u32(1), a.u32(2), a.0[3], a.0[4], a.u32(5));
    let cmd = op & !(PRIVATE | CLOCK_REALTIME);
    let deadline = |absolute: bool| -> core::result::Result<Option<u64>, Errno> {
        if timeout == 0 {
            return Ok(None);
        }
        let mut b = [0u8; 16];
        t.read_user(timeout, &mut b)?;
        let ts = abi::layout::Timespec::from_bytes(&b);
        let ns = ts.as_nanos().ok_or(Errno::EINVAL)?;
        let now = crate::time::monotonic_ns();
        Ok(Some(if absolute {
            if op & CLOCK_REALTIME != 0 {
                now.saturating_add(ns.saturating_sub(crate::time::realtime_ns().max(0) as u64))
            } else {
                ns
            }
        } else {
            now.saturating_add(ns)
        }))
    };
    let private = op & PRIVATE != 0;
    let aligned = || {
        if addr.is_multiple_of(4) {
            Ok(())
        } else {
            Err(Errno::EINVAL)
        }
    };
    match cmd {
        fx::FUTEX_WAIT => fx::wait(t, addr, val, deadline(false)?, fx::BITSET_ANY, private),
        fx::FUTEX_WAIT_BITSET => fx::wait(t, addr, val, deadline(true)?, val3, private),
        fx::FUTEX_WAKE => {
            aligned()?;
            Ok(fx::wake(fx::key(t, addr, private), val, fx::BITSET_ANY))
        }
        fx::FUTEX_WAKE_BITSET => {
            aligned()?;
            if val3 == 0 {
                return Err(Errno::EINVAL);
            }
            Ok(fx::wake(fx::key(t, addr, private), val, val3))
        }
        fx::FUTEX_REQUEUE => {
            aligned()?;
            fx::requeue(t, addr, val, timeout as u32, addr2, None, private)
        }
        fx::FUTEX_CMP_REQUEUE => {
            aligned()?;
            fx::requeue(t, addr, val, timeout as u32, addr2, Some(val3), private)
        }
        fx::FUTEX_WAKE_OP => {
            aligned()?;
            fx::wake_op(t, addr, val, timeout as u32, addr2, val3, private)
        }
        _ => Err(Errno::ENOSYS),
    }
}

fn timeval(ns: u64) -> Timeval {
    Timeval {
        sec: (ns / 1_000_000_000) as i64,
        usec: ((ns % 1_000_000_000) / 1000) as i64,
    }
}

fn rusage_bytes(user_ns: u64, sys_ns: u64, max_rss_pages: u64) -> [u8; 144] {
    let r = Rusage {
        utime: timeval(user_ns),
        stime: timeval(sys_ns),
        maxrss: (max_rss_pages * 4) as i64,
        ..Rusage::default()
    };
    r.to_bytes()
}

pub fn wait4(t: &mut Task, a: Args) -> Result {
    let (pid, status_ptr, options, ru) = (a.i32(0), a.0[1], a.i32(2), a.0[3]);
    if options
        & !(w::WNOHANG | w::WUNTRACED | w::WCONTINUED | w::__WALL | w::__WCLONE | w::__WNOTHREAD)
        != 0
    {
        return Err(Errno::EINVAL);
    }
    let sel = Selector::from_wait4(pid, &t.proc);
    // wait4 always reports exits; WUNTRACED and WCONTINUED add stops and continues.
    match pwait::wait(&t.proc, sel, (options & !w::WNOWAIT) | w::WEXITED)? {
        None => Ok(0),
        Some(r) => {
            if status_ptr != 0 {
                t.write_i32(status_ptr, r.status)?;
            }
            if ru != 0 {
                t.write_user(ru, &rusage_bytes(r.user_ns, r.sys_ns, r.max_rss_pages))?;
            }
            Ok(u64::from(r.pid))
        }
    }
}

pub fn waitid(t: &mut Task, a: Args) -> Result {
    let (idtype, id, info, options, ru) = (a.i32(0), a.u32(1), a.0[2], a.i32(3), a.0[4]);
    if options
        & !(w::WNOHANG
            | w::WNOWAIT
            | w::WEXITED
            | w::WSTOPPED
            | w::WCONTINUED
            | w::__WALL
            | w::__WCLONE
            | w::__WNOTHREAD)
        != 0
    {
        return Err(Errno::EINVAL);
    }
    if options & (w::WEXITED | w::WSTOPPED | w::WCONTINUED) == 0 {
        return Err(Errno::EINVAL);
    }
    let sel = match idtype {
        w::P_ALL => Selector::Any,
        w::P_PID if id > 0 => Selector::Pid(id),
        w::P_PGID => Selector::Pgid(if id == 0 {
            t.proc.pgid.load(Ordering::Relaxed)
        } else {
            id
        }),
        _ => return Err(Errno::EINVAL),
    };
    let found = pwait::wait(&t.proc, sel, options)?;
    if info != 0 {
        let si = match &found {
            None => Siginfo::default(),
            Some(r) => {
                let (code, status) = if r.status == w::continued() {
                    (w::CLD_CONTINUED, 18)
                } else if r.status & 0xff == 0x7f {
                    (w::CLD_STOPPED, (r.status >> 8) & 0xff)
                } else if w::if_exited(r.status) {
                    (w::CLD_EXITED, w::exit_status(r.status))
                } else {
                    (
                        if w::core_dumped(r.status) {
                            w::CLD_DUMPED
                        } else {
                            w::CLD_KILLED
                        },
                        w::term_sig(r.status),
                    )
                };
                Siginfo {
                    signo: 17,
                    errno: 0,
                    code,
                    fields: SigFields::Child {
                        pid: r.pid as i32,
                        uid: r.uid,
                        status,
                        utime: (r.user_ns / 10_000_000) as i64,
                        stime: (r.sys_ns / 10_000_000) as i64,
                    },
                }
            }
        };
        t.write_user(info, &si.to_bytes())?;
    }
    if ru != 0 {
        let bytes = found.as_ref().map_or([0u8; 144], |r| {
            rusage_bytes(r.user_ns, r.sys_ns, r.max_rss_pages)
        });
        t.write_user(ru, &bytes)?;
    }
    Ok(0)
}

pub fn get_id(t: &mut Task, n: u64) -> Result {
    let c = t.proc.creds.lock();
    Ok(u64::from(match n {
        nr::GETUID => c.uid,
        nr::GETEUID => c.euid,
        nr::GETGID => c.gid,
        _ => c.egid,
    }))
}

pub fn getres(t: &mut Task, n: u64, a: Args) -> Result {
    let c = t.proc.creds.lock().clone();
    let ids = if n == nr::GETRESUID {
        [c.uid, c.euid, c.suid]
    } else {
        [c.gid, c.egid, c.sgid]
    };
    for (i, id) in ids.iter().enumerate() {
        t.write_user(a.0[i], &id.to_le_bytes())?;
    }
    Ok(0)
}

pub fn set_ids(t: &mut Task, n: u64, a: Args) -> Result {
    let mut c = t.proc.creds.lock();
    let (x, y, z) = (a.u32(0), a.u32(1), a.u32(2));
    match n {
        nr::SETUID => c.setuid(x)?,
        nr::SETGID => c.setgid(x)?,
        nr::SETREUID => c.setreuid(x, y)?,
        nr::SETREGID => c.setregid(x, y)?,
        nr::SETRESUID => c.setresuid(x, y, z)?,
        nr::SETRESGID => c.setresgid(x, y, z)?,
        nr::SETFSUID => return Ok(u64::from(c.setfsuid(x))),
        nr::SETFSGID => return Ok(u64::from(c.setfsgid(x))),
        _ => return Err(Errno::ENOSYS),
    }
    Ok(0)
}

const NGROUPS_MAX: u64 = 65536;

pub fn getgroups(t: &mut Task, a: Args) -> Result {
    let groups = t.proc.creds.lock().groups.clone();
    let size = a.i32(0);
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    if size == 0 {
        return Ok(groups.len() as u64);
    }
    if (size as usize) < groups.len() {
        return Err(Errno::EINVAL);
    }
    let bytes: Vec<u8> = groups.iter().flat_map(|g| g.to_le_bytes()).collect();
    t.write_user(a.0[1], &bytes)?;
    Ok(groups.len() as u64)
}

pub fn setgroups(t: &mut Task, a: Args) -> Result {
    let n = a.0[0];
    if n > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    if !t.proc.creds.lock().privileged() {
        return Err(Errno::EPERM);
    }
    let mut bytes = alloc::vec![0u8; n as usize * 4];
    t.read_user(a.0[1], &mut bytes)?;
    let mut groups: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    groups.sort_unstable();
    t.proc.creds.lock().groups = groups;
    Ok(0)
}

pub fn setpgid(t: &mut Task, a: Args) -> Result {
    let (pid, pgid) = (a.i32(0), a.i32(1));
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let target = if pid == 0 || pid as u32 == t.proc.pid {
        t.proc.clone()
    } else {
        let child = t
            .proc
            .children
            .lock()
            .iter()
            .find(|c| c.pid == pid as u32)
            .cloned();
        child.ok_or(Errno::ESRCH)?
    };
    let sid = t.proc.sid.load(Ordering::Relaxed);
    if target.sid.load(Ordering::Relaxed) != sid {
        return Err(Errno::EPERM);
    }
    if target.sid.load(Ordering::Relaxed) == target.pid {
        return Err(Errno::EPERM); // a session leader cannot change its group
    }
    let pgid = if pgid == 0 { target.pid } else { pgid as u32 };
    if pgid != target.pid
        && !proc::all()
            .iter()
            .any(|p| p.pgid.load(Ordering::Relaxed) == pgid && p.sid.load(Ordering::Relaxed) == sid)
    {
        return Err(Errno::EPERM);
    }
    target.pgid.store(pgid, Ordering::Relaxed);
    Ok(0)
}

fn target(t: &Task, pid: i32) -> core::result::Result<alloc::sync::Arc<proc::Process>, Errno> {
    if pid == 0 {
        return Ok(t.proc.clone());
    }
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    proc::lookup(pid as u32).ok_or(Errno::ESRCH)
}

pub fn getpgid(t: &mut Task, a: Args) -> Result {
    Ok(u64::from(target(t, a.i32(0))?.pgid.load(Ordering::Relaxed)))
}

pub fn getsid(t: &mut Task, a: Args) -> Result {
    Ok(u64::from(target(t, a.i32(0))?.sid.load(Ordering::Relaxed)))
}

pub fn setsid(t: &mut Task) -> Result {
    let pid = t.proc.pid;
    if proc::all()
        .iter()
        .any(|p| p.pgid.load(Ordering::Relaxed) == pid)
        && t.proc.pgid.load(Ordering::Relaxed) == pid
    {
        return Err(Errno::EPERM); // already a process-group leader
    }
    t.proc.sid.store(pid, Ordering::Relaxed);
    t.proc.pgid.store(pid, Ordering::Relaxed);
    Ok(u64::from(pid))
}

fn check_resource(r: u32) -> core::result::Result<usize, Errno> {
    if r as usize >= abi::layout::RLIM_NLIMITS {
        Err(Errno::EINVAL)
    } else {
        Ok(r as usize)
    }
}

pub fn getrlimit(t: &mut Task, a: Args) -> Result {
    let r = check_resource(a.u32(0))?;
    let l = t.proc.rlimits.lock()[r];
    t.write_user(a.0[1], &l.to_bytes())?;
    Ok(0)
}

fn set_limit(
    t: &Task,
    p: &proc::Process,
    r: usize,
    new: Rlimit,
) -> core::result::Result<(), Errno> {
    if new.cur > new.max {
        return Err(Errno::EINVAL);
    }
    let mut limits = p.rlimits.lock();
    if new.max > limits[r].max && !t.proc.creds.lock().privileged() {
        return Err(Errno::EPERM);
    }
    if r == abi::layout::RLIMIT_NOFILE as usize && new.max > 1 << 20 {
        return Err(Errno::EPERM); // fs.nr_open
    }
    limits[r] = new;
    Ok(())
}

fn read_rlimit(t: &Task, addr: u64) -> core::result::Result<Rlimit, Errno> {
    let mut b = [0u8; 16];
    t.read_user(addr, &mut b)?;
    Ok(Rlimit::from_bytes(&b))
}

pub fn setrlimit(t: &mut Task, a: Args) -> Result {
    let r = check_resource(a.u32(0))?;
    let new = read_rlimit(t, a.0[1])?;
    set_limit(t, &t.proc.clone(), r, new)?;
    Ok(0)
}

pub fn prlimit64(t: &mut Task, a: Args) -> Result {
    let (pid, r, new_ptr, old_ptr) = (a.i32(0), a.u32(1), a.0[2], a.0[3]);
    let r = check_resource(r)?;
    let p = target(t, pid)?;
    if !alloc::sync::Arc::ptr_eq(&p, &t.proc) {
        let (me, them) = (t.proc.creds.lock().clone(), p.creds.lock().clone());
        if !me.privileged() && (me.uid != them.uid || me.uid != them.euid || me.uid != them.suid) {
            return Err(Errno::EPERM);
        }
    }
    let new = if new_ptr != 0 {
        Some(read_rlimit(t, new_ptr)?)
    } else {
        None
    };
    let old = p.rlimits.lock()[r];
    if let Some(n) = new {
        set_limit(t, &p, r, n)?;
    }
    if old_ptr != 0 {
        t.write_user(old_ptr, &old.to_bytes())?;
    }
    Ok(0)
}

/// User and system time of the calling process: its running thread plus what exited threads
/// already charged to the process.
fn own_times(t: &Task) -> (u64, u64) {
    let th = crate::sched::current();
    let tick = crate::time::TICK_NS;
    let tm = &t.proc.times;
    (
        th.user_ticks.load(Ordering::Relaxed) * tick + tm.user_ns.load(Ordering::Relaxed),
        th.sys_ticks.load(Ordering::Relaxed) * tick + tm.sys_ns.load(Ordering::Relaxed),
    )
}

pub fn getrusage(t: &mut Task, a: Args) -> Result {
    let (user, sys, rss) = match a.i32(0) {
        0 | 1 => {
            let (u, s) = own_times(t);
            let rss = t
                .proc
                .vm()
                .lock()
                .as_ref()
                .map_or(0, |v| v.resident_pages()) as u64;
            (
                u,
                s,
                rss.max(t.proc.times.max_rss_pages.load(Ordering::Relaxed)),
            )
        }
        -1 => {
            let tm = &t.proc.times;
            (
                tm.child_user_ns.load(Ordering::Relaxed),
                tm.child_sys_ns.load(Ordering::Relaxed),
                tm.child_max_rss_pages.load(Ordering::Relaxed),
            )
        }
        _ => return Err(Errno::EINVAL),
    };
    t.write_user(a.0[1], &rusage_bytes(user, sys, rss))?;
    Ok(0)
}

/// times(): clock ticks at 100 Hz (USER_HZ), and the return value counts from boot.
pub fn times(t: &mut Task, a: Args) -> Result {
    let to_clk = |ns: u64| (ns / 10_000_000) as i64;
    if a.0[0] != 0 {
        let (u, s) = own_times(t);
        let tm = &t.proc.times;
        let v = Tms {
            utime: to_clk(u),
            stime: to_clk(s),
            cutime: to_clk(tm.child_user_ns.load(Ordering::Relaxed)),
            cstime: to_clk(tm.child_sys_ns.load(Ordering::Relaxed)),
        };
        t.write_user(a.0[0], &v.to_bytes())?;
    }
    Ok(crate::time::monotonic_ns() / 10_000_000)
}

pub fn arch_prctl(t: &mut Task, a: Args) -> Result {
    const ARCH_SET_GS: u64 = 0x1001;
    const ARCH_SET_FS: u64 = 0x1002;
    const ARCH_GET_FS: u64 = 0x1003;
    const ARCH_GET_GS: u64 = 0x1004;
    let canonical = |v: u64| v < 0x0000_8000_0000_0000;
    match a.0[0] {
        ARCH_SET_FS if canonical(a.0[1]) => t.ctx.fs_base = a.0[1],
        ARCH_SET_GS if canonical(a.0[1]) => t.ctx.gs_base = a.0[1],
        ARCH_SET_FS | ARCH_SET_GS => return Err(Errno::EPERM),
        ARCH_GET_FS => t.write_u64(a.0[1], t.ctx.fs_base)?,
        ARCH_GET_GS => t.write_u64(a.0[1], t.ctx.gs_base)?,
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

/// ptrace: Tine cannot trace processes yet, but it answers who may be traced as Linux does,
/// so isolation holds and is visible: attaching (PTRACE_ATTACH, PTRACE_SEIZE) to a process
/// that does not exist is ESRCH, to one of the caller's own threads or to another user's
/// process (unless privileged: the real-credentials rule `Creds::may_inspect` also guards
/// /proc) is EPERM, and a permitted attach is ENOSYS. Every other request names a tracee,
/// and since nothing is ever traced, that is ESRCH; PTRACE_TRACEME is ENOSYS.
pub fn ptrace(t: &mut Task, a: Args) -> Result {
    const PTRACE_TRACEME: u64 = 0;
    const PTRACE_ATTACH: u64 = 16;
    const PTRACE_SEIZE: u64 = 0x4206;
    match a.0[0] {
        PTRACE_TRACEME => Err(Errno::ENOSYS),
        PTRACE_ATTACH | PTRACE_SEIZE => {
            let target = u32::try_from(a.0[1])
                .ok()
                .and_then(proc::lookup)
                .filter(|p| !p.is_zombie())
                .ok_or(Errno::ESRCH)?;
            if Arc::ptr_eq(&target, &t.proc) {
                return Err(Errno::EPERM);
            }
            let mine = t.proc.creds.lock().clone();
            let theirs = target.creds.lock().clone();
            if !mine.may_inspect(&theirs, false) {
                return Err(Errno::EPERM);
            }
            Err(Errno::ENOSYS)
        }
        _ => Err(Errno::ESRCH),
    }
}

pub fn prctl(t: &mut Task, a: Args) -> Result {
    const PR_SET_NAME: u64 = 15;
    const PR_GET_NAME: u64 = 16;
    const PR_SET_CHILD_SUBREAPER: u64 = 36;
    const PR_GET_CHILD_SUBREAPER: u64 = 37;
    match a.0[0] {
        PR_SET_NAME => {
            let mut b = [0u8; 16];
            // The name may sit at the end of a page: read up to the NUL byte by byte if needed.
            let s = t
                .read_cstr(a.0[1], 4096)
                .or_else(|_| t.read_user(a.0[1], &mut b).map(|_| b.to_vec()))?;
            // comm is kept as text: bytes that are not UTF-8 become U+FFFD (three bytes
            // each), so cut back to a character boundary (a plain truncate(15) panicked on
            // such a name; found by the system-call fuzzer).
            let mut name =
                alloc::string::String::from_utf8_lossy(&s[..s.len().min(15)]).into_owned();
            let mut end = name.len().min(15);
            while !name.is_char_boundary(end) {
                end -= 1;
            }
            name.truncate(end);
            *t.proc.comm.lock() = name;
            Ok(0)
        }
        PR_SET_CHILD_SUBREAPER => {
            t.proc.child_subreaper.store(a.0[1] != 0, Ordering::Release);
            Ok(0)
        }
        PR_GET_CHILD_SUBREAPER => {
            let on = t.proc.child_subreaper.load(Ordering::Acquire);
            t.write_user(a.0[1], &u32::from(on).to_ne_bytes())?;
            Ok(0)
        }
        PR_GET_NAME => {
            let mut b = [0u8; 16];
            let comm = t.proc.comm.lock().clone();
            let n = comm.len().min(15);
            b[..n].copy_from_slice(&comm.as_bytes()[..n]);
            t.write_user(a.0[1], &b)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// The processes `which`/`who` name for getpriority/setpriority (PRIO_PROCESS, PGRP, USER).
fn priority_targets(
    t: &Task,
    which: i32,
    who: u32,
) -> core::result::Result<Vec<alloc::sync::Arc<proc::Process>>, Errno> {
    let all = proc::all();
    let live = all.into_iter().filter(|p| !p.is_zombie());
    let v: Vec<_> = match which {
        0 => {
            let pid = if who == 0 { t.proc.pid } else { who };
            live.filter(|p| p.pid == pid).collect()
        }
        1 => {
            let pg = if who == 0 {
                t.proc.pgid.load(Ordering::Relaxed)
            } else {
                who
            };
            live.filter(|p| p.pgid.load(Ordering::Relaxed) == pg)
                .collect()
        }
        2 => {
            let uid = if who == 0 {
                t.proc.creds.lock().uid
            } else {
                who
            };
            live.filter(|p| p.creds.lock().uid == uid).collect()
        }
        _ => return Err(Errno::EINVAL),
    };
    if v.is_empty() {
        Err(Errno::ESRCH)
    } else {
        Ok(v)
    }
}

/// getpriority returns 20 - nice (1..=40) so that no success looks like an error.
pub fn getpriority(t: &mut Task, a: Args) -> Result {
    let best = priority_targets(t, a.i32(0), a.u32(1))?
        .iter()
        .map(|p| p.nice.load(Ordering::Relaxed))
        .min()
        .unwrap_or(0);
    Ok((20 - best) as u64)
}

pub fn setpriority(t: &mut Task, a: Args) -> Result {
    let nice = a.i32(2).clamp(-20, 19);
    let me = t.proc.creds.lock().clone();
    for p in priority_targets(t, a.i32(0), a.u32(1))? {
        let them = p.creds.lock().clone();
        if !me.may_reschedule(&them) {
            return Err(Errno::EPERM);
        }
        if nice < p.nice.load(Ordering::Relaxed) && !me.privileged() {
            return Err(Errno::EACCES);
        }
        p.nice.store(nice, Ordering::Relaxed);
    }
    Ok(0)
}
