//! fork, vfork and clone (with only an exit signal and the tid-pointer flags so far): a new
//! process with a copy of the caller's address space and registers; the child returns 0 from
//! the call, as in Weenix's do_fork. vfork additionally suspends the parent until the child
//! calls execve or exits.

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use abi::errno::Errno;

use super::task::{Task, spawn_user_thread};
use super::{Pid, Process};

pub const CLONE_VM: u64 = 0x100;
pub const CLONE_VFORK: u64 = 0x4000;
pub const CLONE_THREAD: u64 = 0x10000;
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

/// clone with CLONE_VM|CLONE_THREAD: a new thread in the caller's process (same memory, files,
/// pid), starting on `stack` with the caller's registers and rax = 0.
fn clone_thread(task: &mut Task, args: CloneArgs) -> Result<Pid, Errno> {
    const CLONE_FS: u64 = 0x200;
    const CLONE_FILES: u64 = 0x400;
    const CLONE_SIGHAND: u64 = 0x800;
    const CLONE_SYSVSEM: u64 = 0x40000;
    const CLONE_DETACHED: u64 = 0x400000;
    let supported = CLONE_VM
        | CLONE_FS
        | CLONE_FILES
        | CLONE_SIGHAND
        | CLONE_THREAD
        | CLONE_SYSVSEM
        | CLONE_SETTLS
        | CLONE_PARENT_SETTID
        | CLONE_CHILD_SETTID
        | CLONE_CHILD_CLEARTID
        | CLONE_DETACHED;
    // Linux: a thread shares signal handlers, which needs shared memory; no exit signal.
    if args.flags & !supported != 0 || args.flags & CLONE_SIGHAND == 0 || args.flags & CLONE_VM == 0
    {
        return Err(Errno::EINVAL);
    }
    check_tls(&args)?;
    if crate::vm::too_short_to_fork() {
        return Err(Errno::ENOMEM);
    }
    let tid = super::alloc_tid(&task.proc)?;
    let mut ctx = task.ctx.try_clone().ok_or(Errno::ENOMEM)?;
    ctx.rax = 0;
    if args.stack != 0 {
        ctx.rsp = args.stack;
    }
    if args.flags & CLONE_SETTLS != 0 {
        ctx.fs_base = args.tls;
    }
    if args.flags & CLONE_PARENT_SETTID != 0 {
        let _ = task.write_i32(args.parent_tid, tid as i32);
    }
    if args.flags & CLONE_CHILD_SETTID != 0 {
        let _ = task.write_i32(args.child_tid, tid as i32);
    }
    let clear = if args.flags & CLONE_CHILD_CLEARTID != 0 {
        args.child_tid
    } else {
        0
    };
    task.proc.live_threads.fetch_add(1, Ordering::AcqRel);
    if let Err(e) = spawn_user_thread(task.proc.clone(), ctx, tid, clear, true) {
        task.proc.live_threads.fetch_sub(1, Ordering::AcqRel);
        super::forget_tid(tid);
        return Err(e);
    }
    Ok(tid)
}

/// Linux's TASK_SIZE_MAX: a TLS base at or above it is refused (EPERM), as arch_prctl
/// refuses it, since loading it into FS_BASE would fault in the kernel.
const TASK_SIZE_MAX: u64 = 0x0000_7fff_ffff_f000;

fn check_tls(args: &CloneArgs) -> Result<(), Errno> {
    if args.flags & CLONE_SETTLS != 0 && args.tls >= TASK_SIZE_MAX {
        Err(Errno::EPERM)
    } else {
        Ok(())
    }
}

pub fn clone(task: &mut Task, args: CloneArgs) -> Result<Pid, Errno> {
    if args.flags & CLONE_THREAD != 0 {
        return clone_thread(task, args);
    }
    const CLONE_FS: u64 = 0x200;
    const CLONE_FILES: u64 = 0x400;
    const CLONE_SIGHAND: u64 = 0x800;
    const CLONE_PARENT: u64 = 0x8000;
    const CLONE_SYSVSEM: u64 = 0x40000;
    const CLONE_DETACHED: u64 = 0x400000;
    let supported = 0xff
        | CLONE_FS
        | CLONE_FILES
        | CLONE_SIGHAND
        | CLONE_VFORK
        | CLONE_VM
        | CLONE_PARENT
        | CLONE_PARENT_SETTID
        | CLONE_CHILD_SETTID
        | CLONE_CHILD_CLEARTID
        | CLONE_SETTLS
        // No System V semaphores yet, so no undo lists to share; Linux ignores DETACHED.
        | CLONE_SYSVSEM
        | CLONE_DETACHED;
    if args.flags & !supported != 0 {
        log::info!("clone: flags {:#x} not supported", args.flags & !supported);
        return Err(Errno::EINVAL);
    }
    // Linux's rules: shared handlers need shared memory; init has no parent to give away.
    if args.flags & CLONE_SIGHAND != 0 && args.flags & CLONE_VM == 0 {
        return Err(Errno::EINVAL);
    }
    let new_parent = if args.flags & CLONE_PARENT != 0 {
        if task.proc.pid == 1 {
            return Err(Errno::EINVAL);
        }
        Some(task.proc.parent.lock().upgrade().ok_or(Errno::EINVAL)?)
    } else {
        None
    };
    check_nproc(task)?;
    check_tls(&args)?;
    if crate::vm::too_short_to_fork() {
        return Err(Errno::ENOMEM);
    }
    let child = if args.flags & CLONE_VM != 0 {
        // The same address space, not a copy: the child runs in the parent's memory (vfork's
        // child until it execs; a CLONE_VM process for as long as it lives).
        let child = Process::new(Some(&task.proc), None)?;
        drop(child.set_vm(task.proc.vm()));
        child
    } else {
        // Copy-on-write.
        let child_vm = {
            let vm_cell = task.proc.vm();
            let mut vm = vm_cell.lock();
            vm.as_mut().ok_or(Errno::EFAULT)?.fork()?
        };
        Process::new(Some(&task.proc), Some(child_vm))?
    };
    // CLONE_PARENT: the caller's parent gets the child, and the exit signal the caller
    // itself would send it (the low byte is ignored), as on Linux.
    let exit_signal = match &new_parent {
        Some(gp) => {
            child.reparent(&task.proc, gp);
            task.proc.exit_signal.load(Ordering::Relaxed)
        }
        None => (args.flags & 0xff) as u32,
    };
    child.exit_signal.store(exit_signal, Ordering::Relaxed);
    if args.flags & CLONE_VFORK != 0 {
        *child.vfork_waiter.lock() = Arc::downgrade(&task.proc);
    }
    if args.flags & CLONE_FILES != 0 {
        child.share_files(&task.proc);
    }
    if args.flags & CLONE_FS != 0 {
        child.share_fs(&task.proc);
    }
    if args.flags & CLONE_SIGHAND != 0 {
        child.share_handlers(&task.proc);
    }
    let pid = child.pid;
    // Memory can run out from here on (the user context's FPU area, the kernel stack): then
    // the child, which never ran, must leave the pid table and its parent's children again,
    // or it would stay there forever, unkillable and never reaped (an unbounded fork bomb
    // left hundreds of those; see t_forkbomb).
    if let Err(e) = start_child(task, &args, &child) {
        child.abandon();
        return Err(e);
    }
    if args.flags & CLONE_VFORK != 0 {
        task.proc
            .vfork_wait
            .wait_until(|| child.vfork_released.load(Ordering::SeqCst).then_some(()));
    }
    Ok(pid)
}

/// The rest of fork once the child process exists: its registers and its thread.
fn start_child(task: &mut Task, args: &CloneArgs, child: &Arc<Process>) -> Result<(), Errno> {
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
        && let Some(vm) = child.vm().lock().as_mut()
    {
        let _ = vm.write_bytes(args.child_tid, &(pid as i32).to_le_bytes());
    }
    let clear = if args.flags & CLONE_CHILD_CLEARTID != 0 {
        args.child_tid
    } else {
        0
    };
    spawn_user_thread(child.clone(), ctx, pid, clear, true)?;
    Ok(())
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
