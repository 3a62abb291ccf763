//! fork, vfork and clone (with only an exit signal and the tid-pointer flags so far): a new
//! process with a copy of the caller's address space and registers; the child returns 0 from
//! the call, as in Weenix's do_fork. vfork additionally suspends the parent until the child
//! calls execve or exits.

use core::sync::atomic::Ordering;

use abi::errno::Errno;

use super::task::{Task, spawn_user_thread};
use super::{Pid, Process};

pub const CLONE_VM: u64 = 0x100;
pub const CLONE_VFORK: u64 = 0x4000;
pub const CLONE_SETTLS: u64 = 0x80000;
pub const CLONE_PARENT_SETTID: u64 = 0x100000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x200000;
pub const CLONE_CHILD_SETTID: u64 = 0x1000000;
const SIGCHLD: u64 = 17;

pub struct CloneArgs {
    pub flags: u64,
    pub stack: u64,
    pub parent_tid: u64,
    pub child_tid: u64,
    pub tls: u64,
}

pub fn fork(task: &mut Task) -> Result<Pid, Errno> {
    clone(
        task,
        CloneArgs {
            flags: SIGCHLD,
            stack: 0,
            parent_tid: 0,
            child_tid: 0,
            tls: 0,
        },
    )
}

pub fn vfork(task: &mut Task) -> Result<Pid, Errno> {
    clone(
        task,
        CloneArgs {
            flags: SIGCHLD | CLONE_VFORK | CLONE_VM,
            stack: 0,
            parent_tid: 0,
            child_tid: 0,
            tls: 0,
        },
    )
}

pub fn clone(task: &mut Task, args: CloneArgs) -> Result<Pid, Errno> {
    let supported = 0xff
        | CLONE_VFORK
        | CLONE_VM
        | CLONE_PARENT_SETTID
        | CLONE_CHILD_SETTID
        | CLONE_CHILD_CLEARTID
        | CLONE_SETTLS;
    if args.flags & !supported != 0 {
        log::info!(
            "clone: flags {:#x} need threads (not supported yet)",
            args.flags & !supported
        );
        return Err(Errno::EINVAL);
    }
    // CLONE_VM without CLONE_VFORK would share memory between processes: threads issue.
    if args.flags & CLONE_VM != 0 && args.flags & CLONE_VFORK == 0 {
        return Err(Errno::EINVAL);
    }
    check_nproc(task)?;
    // Copy-on-write; vfork children get their own copy-on-write view too, and the parent waits.
    let child_vm = {
        let mut vm = task.proc.vm.lock();
        vm.as_mut().ok_or(Errno::EFAULT)?.fork()?
    };
    let child = Process::new(Some(&task.proc), Some(child_vm))?;
    let mut ctx = task.ctx.try_clone().ok_or(Errno::ENOMEM)?;
    ctx.rax = 0;
    if args.stack != 0 {
        ctx.rsp = args.stack;
    }
    if args.flags & CLONE_SETTLS != 0 {
        ctx.fs_base = args.tls;
    }
    let pid = child.pid;
    // As on Linux, a bad tid pointer does not fail the clone: the store is simply lost.
    if args.flags & CLONE_PARENT_SETTID != 0 {
        let _ = task.write_i32(args.parent_tid, pid as i32);
    }
    if args.flags & CLONE_CHILD_SETTID != 0
        && let Some(vm) = child.vm.lock().as_mut()
    {
        let _ = vm.write_bytes(args.child_tid, &(pid as i32).to_le_bytes());
    }
    if args.flags & CLONE_CHILD_CLEARTID != 0 {
        child
            .clear_child_tid
            .store(args.child_tid, Ordering::Relaxed);
    }
    spawn_user_thread(child.clone(), ctx, true)?;
    if args.flags & CLONE_VFORK != 0 {
        task.proc
            .vfork_wait
            .wait_until(|| child.vfork_released.load(Ordering::SeqCst).then_some(()));
    }
    Ok(pid)
}

/// RLIMIT_NPROC: an unprivileged user may not own more processes than the limit.
fn check_nproc(task: &Task) -> Result<(), Errno> {
    let creds = task.proc.creds.lock().clone();
    if creds.privileged() {
        return Ok(());
    }
    let limit = task.proc.rlimits.lock()[abi::layout::RLIMIT_NPROC as usize].cur;
    let count = super::all()
        .iter()
        .filter(|p| p.creds.lock().uid == creds.uid)
        .count() as u64;
    if count >= limit {
        return Err(Errno::EAGAIN);
    }
    Ok(())
}
