//! System calls: the table indexed by Linux x86-64 numbers, argument decoding, the optional
//! strace-style trace (`trace=syscalls` on the command line), and `-ENOSYS` with one log line
//! for numbers Tine does not implement. Handlers are thin: decode, call the subsystem, encode.

mod event;
mod fs;
pub mod info;
mod mem;
mod path;
mod poll;
mod process;
mod shm;
mod signal;
mod time;

pub use shm::segments as shm_segments;
pub use shm::sweep as shm_sweep;

use core::sync::atomic::{AtomicBool, Ordering};

use abi::errno::Errno;
use abi::sysno as nr;

use crate::proc::task::Task;

pub type Result = core::result::Result<u64, Errno>;

/// The six argument registers of the x86-64 system-call convention.
#[derive(Clone, Copy, Debug)]
pub struct Args(pub [u64; 6]);

impl Args {
    pub fn i32(&self, i: usize) -> i32 {
        self.0[i] as i32
    }
    pub fn u32(&self, i: usize) -> u32 {
        self.0[i] as u32
    }
}

static TRACE: AtomicBool = AtomicBool::new(false);
/// Trace only this pid (0: all).
static TRACE_PID: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// `trace=syscalls` traces every process; `trace.pid=N` limits it to one.
pub fn set_trace(on: bool, pid: u32) {
    TRACE.store(on, Ordering::Relaxed);
    TRACE_PID.store(pid, Ordering::Relaxed);
}

fn tracing(task: &Task) -> bool {
    match TRACE_PID.load(Ordering::Relaxed) {
        0 => TRACE.load(Ordering::Relaxed),
        pid => pid == task.proc.pid,
    }
}

/// Handle the system call in `task.ctx` and store the result in rax.
pub fn dispatch(task: &mut Task) {
    let n = task.ctx.rax;
    let c = &task.ctx;
    let args = Args([c.rdi, c.rsi, c.rdx, c.r10, c.r8, c.r9]);
    // Strings are read before the call: execve replaces the memory they live in.
    let traced = tracing(task).then(|| (task.proc.pid, describe(task, n, &args)));
    let result = call(task, n, args);
    if let Some((pid, call_text)) = traced {
        let res = match &result {
            Ok(v) if *v > 0xffff => alloc::format!("{v:#x}"),
            Ok(v) => alloc::format!("{v}"),
            Err(e) => alloc::format!("-1 {} ({})", e.name(), e.0),
        };
        hal::kprintln!("[pid {pid:>4}] {call_text} = {res}");
    }
    match result {
        // execve succeeded: the registers already belong to the new program (rax = 0).
        Ok(_) if n == nr::EXECVE => {}
        Ok(v) => task.ctx.rax = v,
        Err(e) => failed(task, n, e),
    }
}

/// The error path of `dispatch`: SIGPIPE, restarts, and the negative errno in rax.
fn failed(task: &mut Task, n: u64, e: Errno) {
    // A write to a pipe without readers raises SIGPIPE (before EPIPE reaches user space).
    if e == Errno::EPIPE
        && matches!(
            n,
            nr::WRITE
                | nr::WRITEV
                | nr::PWRITE64
                | nr::PWRITEV
                | nr::SENDFILE
                | nr::SENDTO
                | nr::SENDMSG
        )
    {
        let info = crate::proc::signal::SigInfo::user(
            crate::proc::signal::SIGPIPE,
            0,
            task.proc.pid,
            task.proc.creds.lock().uid,
        );
        crate::proc::signal::send(&task.proc.clone(), info);
    }
    // Interrupted by a signal: delivery decides between restarting and EINTR.
    if matches!(
        e,
        Errno::ERESTARTSYS | Errno::ERESTARTNOHAND | Errno::ERESTARTNOINTR
    ) {
        task.restart = Some((n, e));
        task.ctx.rax = Errno::EINTR.as_ret() as u64;
        return;
    }
    task.ctx.rax = e.as_ret() as u64;
}

/// How many arguments a call takes and which of them are C strings (paths), for the trace.
fn signature(n: u64) -> (usize, &'static [usize]) {
    match n {
        nr::GETPID
        | nr::GETPPID
        | nr::GETTID
        | nr::GETUID
        | nr::GETEUID
        | nr::GETGID
        | nr::GETEGID
        | nr::FORK
        | nr::VFORK
        | nr::SCHED_YIELD
        | nr::SETSID
        | nr::GETPGRP => (0, &[]),
        nr::EXIT
        | nr::EXIT_GROUP
        | nr::CLOSE
        | nr::BRK
        | nr::UMASK
        | nr::DUP
        | nr::UNAME
        | nr::TIME
        | nr::SET_TID_ADDRESS => (1, &[]),
        nr::CHDIR | nr::RMDIR | nr::UNLINK | nr::CHROOT => (1, &[0]),
        nr::OPEN | nr::STAT | nr::LSTAT | nr::ACCESS | nr::MKDIR | nr::CHMOD | nr::CREAT => {
            (3, &[0])
        }
        nr::EXECVE | nr::READLINK | nr::CHOWN | nr::LCHOWN | nr::TRUNCATE => (3, &[0]),
        nr::RENAME | nr::LINK | nr::SYMLINK => (2, &[0, 1]),
        nr::OPENAT
        | nr::NEWFSTATAT
        | nr::FACCESSAT
        | nr::FACCESSAT2
        | nr::READLINKAT
        | nr::MKDIRAT
        | nr::UNLINKAT
        | nr::FCHMODAT
        | nr::UTIMENSAT
        | nr::STATX
        | nr::MKNODAT
        | nr::FCHOWNAT => (4, &[1]),
        nr::RENAMEAT | nr::RENAMEAT2 | nr::LINKAT => (5, &[1, 3]),
        nr::SYMLINKAT => (3, &[0, 2]),
        nr::MOUNT => (5, &[0, 1, 2]),
        nr::UMOUNT2 | nr::STATFS => (2, &[0]),
        nr::READ
        | nr::WRITE
        | nr::LSEEK
        | nr::MPROTECT
        | nr::IOCTL
        | nr::FCNTL
        | nr::POLL
        | nr::READV
        | nr::WRITEV => (3, &[]),
        nr::MUNMAP
        | nr::NANOSLEEP
        | nr::CLOCK_GETTIME
        | nr::CLOCK_GETRES
        | nr::GETTIMEOFDAY
        | nr::ARCH_PRCTL
        | nr::GETRLIMIT
        | nr::SETRLIMIT
        | nr::GETRUSAGE
        | nr::KILL
        | nr::DUP2
        | nr::SETPGID => (2, &[]),
        nr::WAIT4 | nr::RT_SIGACTION | nr::RT_SIGPROCMASK | nr::PRLIMIT64 | nr::CLOCK_NANOSLEEP => {
            (4, &[])
        }
        nr::MMAP => (6, &[]),
        _ => (6, &[]),
    }
}

fn describe(task: &Task, n: u64, a: &Args) -> alloc::string::String {
    use core::fmt::Write;
    let (count, strings) = signature(n);
    let mut s = alloc::string::String::from(nr::name(n).unwrap_or("unknown"));
    if nr::name(n).is_none() {
        let _ = write!(s, "_{n}");
    }
    s.push('(');
    for i in 0..count {
        if i > 0 {
            s.push_str(", ");
        }
        if strings.contains(&i) {
            match task.read_cstr(a.0[i], 256) {
                Ok(b) => {
                    let _ = write!(s, "{:?}", alloc::string::String::from_utf8_lossy(&b));
                }
                Err(_) => {
                    let _ = write!(s, "{:#x}", a.0[i]);
                }
            }
        } else if a.0[i] > 0xffff {
            let _ = write!(s, "{:#x}", a.0[i]);
        } else {
            let _ = write!(s, "{}", a.0[i] as i64);
        }
    }
    s.push(')');
    s
}

fn call(t: &mut Task, n: u64, a: Args) -> Result {
    match n {
        nr::READ => fs::read(t, a),
        nr::WRITE => fs::write(t, a),
        nr::OPEN => path::open(t, path::AT_FDCWD, a.0[0], a.u32(1), a.u32(2)),
        nr::CLOSE => fs::close(t, a),
        nr::STAT => path::stat_at(t, path::AT_FDCWD, a.0[0], a.0[1], 0),
        nr::FSTAT => path::fstat(t, a),
        nr::LSTAT => path::stat_at(t, path::AT_FDCWD, a.0[0], a.0[1], path::AT_SYMLINK_NOFOLLOW),
        nr::POLL => poll::poll(t, a),
        nr::PPOLL => poll::ppoll(t, a),
        nr::SELECT => poll::select(t, a),
        nr::PSELECT6 => poll::pselect6(t, a),
        nr::PWRITE64 => fs::pwrite(t, a),
        nr::PREADV => fs::preadv(t, a),
        nr::PWRITEV => fs::pwritev(t, a),
        nr::PIPE => fs::pipe2(t, a.0[0], 0),
        nr::PIPE2 => fs::pipe2(t, a.0[0], a.u32(1)),
        nr::SENDFILE => fs::sendfile(t, a),
        nr::CREAT => path::creat(t, a),
        nr::MKDIR => path::mkdirat(t, path::AT_FDCWD, a.0[0], a.u32(1)),
        nr::MKDIRAT => path::mkdirat(t, a.i32(0), a.0[1], a.u32(2)),
        nr::MKNOD => path::mknodat(t, path::AT_FDCWD, a.0[0], a.u32(1), a.0[2]),
        nr::MKNODAT => path::mknodat(t, a.i32(0), a.0[1], a.u32(2), a.0[3]),
        nr::RMDIR => path::unlinkat(t, path::AT_FDCWD, a.0[0], path::AT_REMOVEDIR),
        nr::UNLINK => path::unlinkat(t, path::AT_FDCWD, a.0[0], 0),
        nr::UNLINKAT => path::unlinkat(t, a.i32(0), a.0[1], a.u32(2)),
        nr::RENAME => path::renameat2(t, path::AT_FDCWD, a.0[0], path::AT_FDCWD, a.0[1], 0),
        nr::RENAMEAT => path::renameat2(t, a.i32(0), a.0[1], a.i32(2), a.0[3], 0),
        nr::RENAMEAT2 => path::renameat2(t, a.i32(0), a.0[1], a.i32(2), a.0[3], a.u32(4)),
        nr::LINK => path::linkat(t, path::AT_FDCWD, a.0[0], path::AT_FDCWD, a.0[1], 0),
        nr::LINKAT => path::linkat(t, a.i32(0), a.0[1], a.i32(2), a.0[3], a.u32(4)),
        nr::SYMLINK => path::symlinkat(t, a.0[0], path::AT_FDCWD, a.0[1]),
        nr::SYMLINKAT => path::symlinkat(t, a.0[0], a.i32(1), a.0[2]),
        nr::CHMOD => path::fchmodat(t, path::AT_FDCWD, a.0[0], a.u32(1), 0),
        nr::FCHMOD => path::fchmod(t, a),
        nr::FCHMODAT => path::fchmodat(t, a.i32(0), a.0[1], a.u32(2), 0),
        nr::CHOWN => path::fchownat(t, path::AT_FDCWD, a.0[0], a.u32(1), a.u32(2), 0),
        nr::LCHOWN => path::fchownat(
            t,
            path::AT_FDCWD,
            a.0[0],
            a.u32(1),
            a.u32(2),
            path::AT_SYMLINK_NOFOLLOW,
        ),
        nr::FCHOWN => path::fchown(t, a),
        nr::FCHOWNAT => path::fchownat(t, a.i32(0), a.0[1], a.u32(2), a.u32(3), a.u32(4)),
        nr::TRUNCATE => path::truncate(t, a),
        nr::FTRUNCATE => path::ftruncate(t, a),
        nr::FALLOCATE => path::fallocate(t, a),
        nr::UTIMENSAT => path::utimensat(t, a),
        nr::STATX => path::statx(t, a),
        nr::FCHDIR => path::fchdir(t, a),
        nr::CHROOT => path::chroot(t, a),
        nr::MOUNT => path::mount(t, a),
        nr::UMOUNT2 => path::umount2(t, a),
        nr::STATFS => path::statfs(t, a),
        nr::FSTATFS => path::fstatfs(t, a),
        nr::FSYNC | nr::FDATASYNC | nr::SYNCFS => path::fsync(t, a),
        nr::SYNC => Ok(0),
        nr::EVENTFD => event::eventfd(t, a.u32(0), 0),
        nr::EVENTFD2 => event::eventfd(t, a.u32(0), a.u32(1)),
        nr::EPOLL_CREATE => {
            if a.i32(0) <= 0 {
                Err(Errno::EINVAL)
            } else {
                event::epoll_create(t, 0)
            }
        }
        nr::EPOLL_CREATE1 => event::epoll_create(t, a.u32(0)),
        nr::EPOLL_CTL => event::epoll_ctl(t, a),
        nr::EPOLL_WAIT => event::epoll_wait(t, a),
        nr::EPOLL_PWAIT => event::epoll_pwait(t, a),
        nr::EPOLL_PWAIT2 => event::epoll_pwait2(t, a),
        nr::MEMFD_CREATE => event::memfd_create(t, a),
        nr::SOCKETPAIR => event::socketpair(t, a),
        nr::SHUTDOWN => event::shutdown(t, a),
        nr::COPY_FILE_RANGE => event::copy_file_range(t, a),
        nr::SHMGET => shm::shmget(t, a),
        nr::SHMAT => shm::shmat(t, a),
        nr::SHMDT => shm::shmdt(t, a),
        nr::SHMCTL => shm::shmctl(t, a),
        nr::LSEEK => fs::lseek(t, a),
        nr::MMAP => mem::mmap(t, a),
        nr::MPROTECT => mem::mprotect(t, a),
        nr::MUNMAP => mem::munmap(t, a),
        nr::BRK => mem::brk(t, a),
        nr::RT_SIGACTION => signal::rt_sigaction(t, a),
        nr::RT_SIGRETURN => signal::rt_sigreturn(t),
        nr::RT_SIGPENDING => signal::rt_sigpending(t, a),
        nr::RT_SIGSUSPEND => signal::rt_sigsuspend(t, a),
        nr::RT_SIGQUEUEINFO => signal::rt_sigqueueinfo(t, a),
        nr::RT_SIGTIMEDWAIT => signal::rt_sigtimedwait(t, a),
        nr::PAUSE => signal::pause(t),
        nr::KILL => signal::kill(t, a),
        nr::TKILL => signal::tkill(t, a),
        nr::TGKILL => signal::tgkill(t, a),
        nr::ALARM => signal::alarm(t, a),
        nr::SETITIMER => signal::setitimer(t, a),
        nr::GETITIMER => signal::getitimer(t, a),
        nr::TIMER_CREATE => signal::timer_create(t, a),
        nr::TIMER_SETTIME => signal::timer_settime(t, a),
        nr::TIMER_GETTIME => signal::timer_gettime(t, a),
        nr::TIMER_GETOVERRUN => signal::timer_getoverrun(t, a),
        nr::TIMER_DELETE => signal::timer_delete(t, a),
        nr::RT_SIGPROCMASK => signal::rt_sigprocmask(t, a),
        nr::IOCTL => fs::ioctl(t, a),
        nr::PREAD64 => fs::pread(t, a),
        nr::READV => fs::readv(t, a),
        nr::WRITEV => fs::writev(t, a),
        nr::ACCESS => path::faccessat(t, path::AT_FDCWD, a.0[0], a.u32(1), 0),
        nr::SCHED_YIELD => {
            crate::sched::yield_now();
            Ok(0)
        }
        nr::MADVISE => mem::madvise(t, a),
        nr::MREMAP => mem::mremap(t, a),
        nr::MINCORE => mem::mincore(t, a),
        nr::MSYNC => mem::msync(t, a),
        nr::DUP => fs::dup(t, a),
        nr::DUP2 => fs::dup2(t, a.i32(0), a.i32(1), 0, false),
        nr::NANOSLEEP => time::nanosleep(t, a),
        nr::GETPID => Ok(u64::from(t.proc.pid)),
        nr::CLONE => process::clone(t, a),
        nr::CLONE3 => process::clone3(t, a),
        nr::FORK => process::fork(t),
        nr::VFORK => process::vfork(t),
        nr::EXECVE => process::execve(t, a),
        nr::EXIT => process::exit(t, a),
        nr::WAIT4 => process::wait4(t, a),
        nr::UNAME => info::uname(t, a),
        nr::SETHOSTNAME => info::set_uts_name(t, a, false),
        nr::SETDOMAINNAME => info::set_uts_name(t, a, true),
        nr::FCNTL => fs::fcntl(t, a),
        nr::GETCWD => path::getcwd(t, a),
        nr::CHDIR => path::chdir(t, a),
        nr::READLINK => path::readlinkat(t, path::AT_FDCWD, a.0[0], a.0[1], a.0[2]),
        nr::UMASK => Ok(u64::from(
            t.proc.fs().umask.swap(a.u32(0) & 0o777, Ordering::Relaxed),
        )),
        nr::GETTIMEOFDAY => time::gettimeofday(t, a),
        nr::GETRLIMIT => process::getrlimit(t, a),
        nr::GETRUSAGE => process::getrusage(t, a),
        nr::SYSINFO => info::sysinfo(t, a),
        nr::TIMES => process::times(t, a),
        nr::GETUID | nr::GETGID | nr::GETEUID | nr::GETEGID => process::get_id(t, n),
        nr::SETUID => process::set_ids(t, n, a),
        nr::SETGID
        | nr::SETREUID
        | nr::SETREGID
        | nr::SETRESUID
        | nr::SETRESGID
        | nr::SETFSUID
        | nr::SETFSGID => process::set_ids(t, n, a),
        nr::GETRESUID | nr::GETRESGID => process::getres(t, n, a),
        nr::GETGROUPS => process::getgroups(t, a),
        nr::SETGROUPS => process::setgroups(t, a),
        nr::SETPGID => process::setpgid(t, a),
        nr::GETPPID => Ok(u64::from(t.proc.ppid())),
        nr::GETPGRP => Ok(u64::from(t.proc.pgid.load(Ordering::Relaxed))),
        nr::SETSID => process::setsid(t),
        nr::GETPGID => process::getpgid(t, a),
        nr::GETSID => process::getsid(t, a),
        nr::SIGALTSTACK => signal::sigaltstack(t, a),
        nr::ARCH_PRCTL => process::arch_prctl(t, a),
        nr::PRCTL => process::prctl(t, a),
        nr::PTRACE => process::ptrace(t, a),
        nr::SETRLIMIT => process::setrlimit(t, a),
        nr::REBOOT => info::reboot(t, a),
        nr::GETTID => Ok(u64::from(t.tid)),
        nr::TIME => time::time(t, a),
        nr::SCHED_GETAFFINITY => info::sched_getaffinity(t, a),
        nr::SCHED_SETAFFINITY => info::sched_setaffinity(t, a),
        nr::SET_TID_ADDRESS => {
            t.clear_child_tid = a.0[0];
            Ok(u64::from(t.tid))
        }
        nr::FUTEX => process::futex(t, a),
        nr::CLOCK_GETTIME => time::clock_gettime(t, a),
        nr::CLOCK_GETRES => time::clock_getres(t, a),
        nr::CLOCK_NANOSLEEP => time::clock_nanosleep(t, a),
        nr::EXIT_GROUP => process::exit_group(t, a),
        nr::WAITID => process::waitid(t, a),
        nr::OPENAT => path::open(t, a.i32(0), a.0[1], a.u32(2), a.u32(3)),
        nr::NEWFSTATAT => path::stat_at(t, a.i32(0), a.0[1], a.0[2], a.u32(3)),
        nr::READLINKAT => path::readlinkat(t, a.i32(0), a.0[1], a.0[2], a.0[3]),
        nr::FACCESSAT => path::faccessat(t, a.i32(0), a.0[1], a.u32(2), 0),
        nr::FACCESSAT2 => path::faccessat(t, a.i32(0), a.0[1], a.u32(2), a.u32(3)),
        nr::SET_ROBUST_LIST => process::set_robust_list(t, a),
        nr::GET_ROBUST_LIST => process::get_robust_list(t, a),
        nr::RSEQ => crate::proc::task::rseq::syscall(t, a.0[0], a.u32(1), a.i32(2), a.u32(3)),
        nr::DUP3 => fs::dup2(t, a.i32(0), a.i32(1), a.u32(2), true),
        nr::PRLIMIT64 => process::prlimit64(t, a),
        nr::GETCPU => info::getcpu(t, a),
        nr::GETRANDOM => info::getrandom(t, a),
        nr::GETDENTS64 => fs::getdents64(t, a),
        nr::GETPRIORITY => process::getpriority(t, a),
        nr::SETPRIORITY => process::setpriority(t, a),
        _ => {
            unknown(n);
            Err(Errno::ENOSYS)
        }
    }
}

/// Log an unimplemented system call once per number. Numbers past the table (any u64 a
/// program puts in rax) share one line, so that no sequence of calls can grow what the
/// kernel keeps or floods the console.
fn unknown(n: u64) {
    use core::sync::atomic::AtomicU64;
    const WORDS: usize = 16;
    static SEEN: [AtomicU64; WORDS + 1] = [const { AtomicU64::new(0) }; WORDS + 1];
    let (word, bit) = match usize::try_from(n / 64) {
        Ok(w) if w < WORDS => (w, 1u64 << (n % 64)),
        _ => (WORDS, 1),
    };
    if SEEN[word].fetch_or(bit, Ordering::Relaxed) & bit != 0 {
        return;
    }
    if word == WORDS {
        log::warn!("unimplemented system call {n:#x} (out of range): ENOSYS (not logged again)");
    } else {
        log::warn!(
            "unimplemented system call {n} ({}): ENOSYS",
            nr::name(n).unwrap_or("unknown")
        );
    }
}
