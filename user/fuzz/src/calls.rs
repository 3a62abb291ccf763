//! The system calls the fuzzer makes and how their arguments are drawn.
//!
//! `TABLE` lists Linux x86-64 calls by number with an argument kind per position; `step` picks
//! one, draws each argument from its pool (with a small chance of an argument from any pool),
//! makes the call with a raw `syscall` instruction and keeps the pools up to date (descriptors
//! opened and closed, children started and reaped). The calls whose arguments need more care
//! than a pool — opens, dups, memory calls, signals to other processes, clone and friends,
//! execve, exit — have their own functions below the table.
//!
//! Left out, because they would end the test rather than exercise the kernel: reboot, kexec,
//! module loading, ptrace, settimeofday and clock_settime (the parent's deadlines), and
//! process_vm_writev; signals go only to the worker, its children and its sibling workers.

use std::sync::atomic::Ordering::Relaxed;

use crate::pools::{ABS, DEVS, Fd, HIGH_FD, PAGE, Pools, REL, STRUCT_PAGES};
use crate::raw::{clone_exit, syscall6};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum A {
    /// Any descriptor (mostly open ones).
    Fd,
    /// A descriptor calls may write through or change: scratch ones or impossible numbers.
    MFd,
    /// A directory descriptor for *at calls that change the tree (AT_FDCWD or a scratch one).
    DirFd,
    /// A directory descriptor for *at calls that only look.
    AnyDirFd,
    Buf,
    Len,
    Int,
    Flags,
    /// A scratch name (calls that change the tree).
    Path,
    /// Any path (calls that only look).
    RPath,
    /// A symbolic link's target.
    Target,
    Mode,
    Pid,
    Time,
    TimeoutMs,
    Iov,
    IovCnt,
    SigSet,
    SigSz,
    Clock,
    Small,
    Uid,
    Off,
    PollFds,
    FdSet,
    Rlim,
    Epev,
    AtFlags,
    Key,
    ShmId,
    TimerId,
    Itimer,
    Sigevent,
    StackT,
    Futex,
    FutexOp,
    Pair,
    FsType,
    /// NULL or a buffer.
    OptBuf,
}

use A::*;

/// Linux x86-64 system calls with the kinds of their arguments.
pub const TABLE: &[(u64, &str, &[A])] = &[
    (0, "read", &[Fd, Buf, Len]),
    (1, "write", &[MFd, Buf, Len]),
    (4, "stat", &[RPath, Buf]),
    (5, "fstat", &[Fd, Buf]),
    (6, "lstat", &[RPath, Buf]),
    (7, "poll", &[PollFds, Small, TimeoutMs]),
    (8, "lseek", &[Fd, Off, Small]),
    (14, "rt_sigprocmask", &[Small, SigSet, OptBuf, SigSz]),
    (16, "ioctl", &[Fd, Int, Buf]),
    (17, "pread64", &[Fd, Buf, Len, Off]),
    (18, "pwrite64", &[MFd, Buf, Len, Off]),
    (19, "readv", &[Fd, Iov, IovCnt]),
    (20, "writev", &[MFd, Iov, IovCnt]),
    (21, "access", &[RPath, Small]),
    (22, "pipe", &[Pair]),
    (23, "select", &[Small, FdSet, FdSet, FdSet, Time]),
    (24, "sched_yield", &[]),
    (26, "msync", &[Int, Len, Small]),
    (27, "mincore", &[Int, Len, Buf]),
    (29, "shmget", &[Key, Len, Flags]),
    (31, "shmctl", &[ShmId, Small, Buf]),
    (34, "pause", &[]),
    (35, "nanosleep", &[Time, OptBuf]),
    (36, "getitimer", &[Small, Buf]),
    (37, "alarm", &[Small]),
    (38, "setitimer", &[Small, Itimer, OptBuf]),
    (39, "getpid", &[]),
    (40, "sendfile", &[MFd, Fd, OptBuf, Len]),
    (41, "socket", &[Small, Small, Small]),
    (44, "sendto", &[MFd, Buf, Len, Flags, OptBuf, Small]),
    (45, "recvfrom", &[Fd, Buf, Len, Flags, OptBuf, OptBuf]),
    (46, "sendmsg", &[MFd, Buf, Flags]),
    (47, "recvmsg", &[Fd, Buf, Flags]),
    (48, "shutdown", &[Fd, Small]),
    (53, "socketpair", &[Small, Small, Small, Pair]),
    (61, "wait4", &[Pid, OptBuf, Flags, OptBuf]),
    (63, "uname", &[Buf]),
    (67, "shmdt", &[Int]),
    (73, "flock", &[Fd, Small]),
    (74, "fsync", &[Fd]),
    (75, "fdatasync", &[Fd]),
    (76, "truncate", &[Path, Off]),
    (77, "ftruncate", &[MFd, Off]),
    (78, "getdents", &[Fd, Buf, Len]),
    (79, "getcwd", &[Buf, Len]),
    (80, "chdir", &[Path]),
    (81, "fchdir", &[MFd]),
    (82, "rename", &[Path, Path]),
    (83, "mkdir", &[Path, Mode]),
    (84, "rmdir", &[Path]),
    (85, "creat", &[Path, Mode]),
    (86, "link", &[Path, Path]),
    (87, "unlink", &[Path]),
    (88, "symlink", &[Target, Path]),
    (89, "readlink", &[RPath, Buf, Len]),
    (90, "chmod", &[Path, Mode]),
    (91, "fchmod", &[MFd, Mode]),
    (92, "chown", &[Path, Uid, Uid]),
    (93, "fchown", &[MFd, Uid, Uid]),
    (94, "lchown", &[Path, Uid, Uid]),
    (95, "umask", &[Mode]),
    (96, "gettimeofday", &[OptBuf, OptBuf]),
    (97, "getrlimit", &[Small, Buf]),
    (98, "getrusage", &[Int, Buf]),
    (99, "sysinfo", &[Buf]),
    (100, "times", &[OptBuf]),
    (102, "getuid", &[]),
    (104, "getgid", &[]),
    (105, "setuid", &[Uid]),
    (106, "setgid", &[Uid]),
    (107, "geteuid", &[]),
    (108, "getegid", &[]),
    (109, "setpgid", &[Pid, Pid]),
    (110, "getppid", &[]),
    (111, "getpgrp", &[]),
    (112, "setsid", &[]),
    (113, "setreuid", &[Uid, Uid]),
    (114, "setregid", &[Uid, Uid]),
    (115, "getgroups", &[Int, Buf]),
    (116, "setgroups", &[Int, Buf]),
    (117, "setresuid", &[Uid, Uid, Uid]),
    (118, "getresuid", &[Buf, Buf, Buf]),
    (119, "setresgid", &[Uid, Uid, Uid]),
    (120, "getresgid", &[Buf, Buf, Buf]),
    (121, "getpgid", &[Pid]),
    (122, "setfsuid", &[Uid]),
    (123, "setfsgid", &[Uid]),
    (124, "getsid", &[Pid]),
    (125, "capget", &[Buf, OptBuf]),
    (127, "rt_sigpending", &[Buf, SigSz]),
    (128, "rt_sigtimedwait", &[SigSet, OptBuf, Time, SigSz]),
    (130, "rt_sigsuspend", &[SigSet, SigSz]),
    (131, "sigaltstack", &[StackT, OptBuf]),
    (132, "utime", &[Path, OptBuf]),
    (133, "mknod", &[Path, Mode, Int]),
    (135, "personality", &[Int]),
    (137, "statfs", &[RPath, Buf]),
    (138, "fstatfs", &[Fd, Buf]),
    (140, "getpriority", &[Small, Pid]),
    (141, "setpriority", &[Small, Pid, Int]),
    (143, "sched_getparam", &[Pid, Buf]),
    (145, "sched_getscheduler", &[Pid]),
    (157, "prctl", &[Int, Int, Buf, Int, Int]),
    (158, "arch_prctl", &[Int, Buf]),
    (160, "setrlimit", &[Small, Rlim]),
    (161, "chroot", &[Path]),
    (162, "sync", &[]),
    (165, "mount", &[RPath, Path, FsType, Flags, OptBuf]),
    (166, "umount2", &[Path, Small]),
    (170, "sethostname", &[Buf, Len]),
    (171, "setdomainname", &[Buf, Len]),
    (186, "gettid", &[]),
    (187, "readahead", &[Fd, Off, Len]),
    (191, "getxattr", &[RPath, Buf, Buf, Len]),
    (201, "time", &[OptBuf]),
    (202, "futex", &[Futex, FutexOp, Int, Time, Futex, Int]),
    (203, "sched_setaffinity", &[Pid, Len, Buf]),
    (204, "sched_getaffinity", &[Pid, Len, Buf]),
    (213, "epoll_create", &[Int]),
    (217, "getdents64", &[Fd, Buf, Len]),
    (218, "set_tid_address", &[OptBuf]),
    (219, "restart_syscall", &[]),
    (221, "fadvise64", &[Fd, Off, Len, Small]),
    (222, "timer_create", &[Clock, Sigevent, Buf]),
    (223, "timer_settime", &[TimerId, Small, Itimer, OptBuf]),
    (224, "timer_gettime", &[TimerId, Buf]),
    (225, "timer_getoverrun", &[TimerId]),
    (226, "timer_delete", &[TimerId]),
    (228, "clock_gettime", &[Clock, Buf]),
    (229, "clock_getres", &[Clock, OptBuf]),
    (230, "clock_nanosleep", &[Clock, Small, Time, OptBuf]),
    (232, "epoll_wait", &[Fd, Buf, Small, TimeoutMs]),
    (233, "epoll_ctl", &[Fd, Small, Fd, Epev]),
    (235, "utimes", &[Path, OptBuf]),
    (247, "waitid", &[Small, Pid, OptBuf, Flags, OptBuf]),
    (252, "ioprio_get", &[Small, Pid]),
    (253, "inotify_init", &[]),
    (258, "mkdirat", &[DirFd, Path, Mode]),
    (259, "mknodat", &[DirFd, Path, Mode, Int]),
    (260, "fchownat", &[DirFd, Path, Uid, Uid, AtFlags]),
    (261, "futimesat", &[DirFd, Path, OptBuf]),
    (262, "newfstatat", &[AnyDirFd, RPath, Buf, AtFlags]),
    (263, "unlinkat", &[DirFd, Path, AtFlags]),
    (264, "renameat", &[DirFd, Path, DirFd, Path]),
    (265, "linkat", &[DirFd, Path, DirFd, Path, AtFlags]),
    (266, "symlinkat", &[Target, DirFd, Path]),
    (267, "readlinkat", &[AnyDirFd, RPath, Buf, Len]),
    (268, "fchmodat", &[DirFd, Path, Mode]),
    (269, "faccessat", &[AnyDirFd, RPath, Small]),
    (270, "pselect6", &[Small, FdSet, FdSet, FdSet, Time, OptBuf]),
    (271, "ppoll", &[PollFds, Small, Time, SigSet, SigSz]),
    (273, "set_robust_list", &[OptBuf, Len]),
    (274, "get_robust_list", &[Pid, OptBuf, OptBuf]),
    (275, "splice", &[Fd, OptBuf, MFd, OptBuf, Len, Flags]),
    (276, "tee", &[Fd, MFd, Len, Flags]),
    (277, "sync_file_range", &[Fd, Off, Off, Flags]),
    (280, "utimensat", &[DirFd, Path, OptBuf, AtFlags]),
    (
        281,
        "epoll_pwait",
        &[Fd, Buf, Small, TimeoutMs, SigSet, SigSz],
    ),
    (282, "signalfd", &[Fd, SigSet, SigSz]),
    (283, "timerfd_create", &[Clock, Flags]),
    (284, "eventfd", &[Int]),
    (285, "fallocate", &[MFd, Small, Off, Len]),
    (288, "accept4", &[Fd, OptBuf, OptBuf, Flags]),
    (290, "eventfd2", &[Int, Flags]),
    (291, "epoll_create1", &[Flags]),
    (293, "pipe2", &[Pair, Flags]),
    (294, "inotify_init1", &[Flags]),
    (295, "preadv", &[Fd, Iov, IovCnt, Off, Off]),
    (296, "pwritev", &[MFd, Iov, IovCnt, Off, Off]),
    (302, "prlimit64", &[Pid, Small, Rlim, OptBuf]),
    (306, "syncfs", &[Fd]),
    (309, "getcpu", &[OptBuf, OptBuf, OptBuf]),
    (316, "renameat2", &[DirFd, Path, DirFd, Path, Small]),
    (318, "getrandom", &[Buf, Len, Small]),
    (319, "memfd_create", &[RPath, Flags]),
    (324, "membarrier", &[Int, Int, Int]),
    (
        326,
        "copy_file_range",
        &[Fd, OptBuf, MFd, OptBuf, Len, Flags],
    ),
    (327, "preadv2", &[Fd, Iov, IovCnt, Off, Off, Flags]),
    (328, "pwritev2", &[MFd, Iov, IovCnt, Off, Off, Flags]),
    (332, "statx", &[AnyDirFd, RPath, AtFlags, Flags, Buf]),
    (334, "rseq", &[OptBuf, Len, Flags, Int]),
    (436, "close_range", &[Fd, Fd, Flags]),
    (439, "faccessat2", &[AnyDirFd, RPath, Small, AtFlags]),
    (441, "epoll_pwait2", &[Fd, Buf, Small, Time, SigSet, SigSz]),
];

/// Calls with their own argument code (and how often they come, out of 1000 picks).
const SPECIAL: &[(&str, u64)] = &[
    ("open", 60),
    ("close", 40),
    ("dup", 25),
    ("fcntl", 25),
    ("mmap", 40),
    ("munmap", 15),
    ("mprotect", 15),
    ("mremap", 12),
    ("madvise", 10),
    ("brk", 6),
    ("shmat", 8),
    ("rt_sigaction", 15),
    ("kill", 30),
    ("clone", 12),
    ("clone3", 8),
    ("fork_raw", 6),
    ("vfork_raw", 4),
    ("execve", 6),
    ("unknown", 6),
    ("rt_sigreturn", 1),
    ("exit", 1),
];

fn cstr(b: &'static [u8]) -> u64 {
    b.as_ptr() as u64
}

// Offsets of prepared structures inside the structs mapping.
const O_TIME: u64 = 0x000;
const O_ITIMER: u64 = 0x040;
const O_SIGSET: u64 = 0x100;
const O_RLIM: u64 = 0x180;
const O_PAIR: u64 = 0x1a0;
const O_EPEV: u64 = 0x1c0;
const O_IOV: u64 = 0x200;
const O_POLL: u64 = 0x280;
const O_FDSET: u64 = 0x300;
const O_SIGACT: u64 = 0x480;
const O_SIGEV: u64 = 0x500;
const O_STACK: u64 = 0x540;
const O_SIGINFO: u64 = 0x560;
const O_TIMERID: u64 = 0x5e0;
const O_CLONE: u64 = 0x600;
const O_FLOCK: u64 = 0x680;
pub const O_FUTEX: u64 = 0x700;
const O_ROBUST: u64 = 0x800;
const O_ARGV: u64 = 0x900;
/// The alternate signal stack: the upper half of the structs mapping.
pub const O_ALTSTACK: u64 = 4 * PAGE;
pub const ALTSTACK_LEN: u64 = (STRUCT_PAGES - 4) * PAGE;

impl Pools {
    fn time(&self, slot: u64) -> u64 {
        let off = O_TIME + slot * 16;
        let (s, ns): (u64, u64) = match self.rng.below(20) {
            0..=2 => return 0,
            3 | 4 => return self.bad(),
            5..=10 => (0, 1_000_000 * (1 + self.rng.below(5))),
            11..=13 => (0, 0),
            14 => (i64::MAX as u64, 999_999_999),
            15 => (0, 1_000_000_000 + self.rng.below(1 << 30)),
            16 => (-1i64 as u64, 0),
            17 => (0, -1i64 as u64),
            18 => (self.rng.next(), self.rng.next()),
            _ => (0, self.rng.below(1000)),
        };
        self.put(off, &[s, ns])
    }

    fn sigset(&self) -> u64 {
        let v = match self.rng.below(8) {
            0 => return 0,
            1 => return self.bad(),
            2 => u64::MAX,
            3 => 1 << (libc::SIGALRM - 1),
            4 => 1 << (libc::SIGUSR1 - 1),
            5 => 0,
            _ => self.rng.next(),
        };
        self.put(O_SIGSET, &[v, self.rng.next()])
    }

    fn iov(&self) -> u64 {
        if self.rng.chance(1, 8) {
            return self.bad();
        }
        let mut w = [0u64; 16];
        for i in 0..8 {
            w[2 * i] = self.buf();
            w[2 * i + 1] = if self.rng.chance(3, 4) {
                self.rng.below(5000)
            } else {
                self.len()
            };
        }
        self.put(O_IOV, &w)
    }

    fn pollfds(&self) -> u64 {
        if self.rng.chance(1, 8) {
            return self.bad();
        }
        let mut w = [0u64; 8];
        for x in w.iter_mut() {
            let fd = self.fd() & 0xffff_ffff;
            let events = self
                .rng
                .pick(&[1u64, 4, 5, 0x2000, 0xffff, self.rng.next() & 0xffff]);
            *x = fd | (events << 32);
        }
        self.put(O_POLL, &w)
    }

    fn fdset(&self, which: u64) -> u64 {
        match self.rng.below(6) {
            0 => 0,
            1 => self.bad(),
            _ => {
                let mut w = [0u64; 16];
                for _ in 0..4 {
                    let fd = self.fd() & 1023;
                    w[(fd / 64) as usize] |= 1 << (fd % 64);
                }
                if self.rng.chance(1, 10) {
                    w = [u64::MAX; 16];
                }
                self.put(O_FDSET + which * 128, &w)
            }
        }
    }

    fn itimer(&self) -> u64 {
        if self.rng.chance(1, 8) {
            return self.bad();
        }
        let part = |r: &crate::rng::Rng| -> (u64, u64) {
            match r.below(8) {
                0 => (0, 0),
                1 => (0, 1 + r.below(20_000)),
                2 => (0, 1_000_000 + r.below(1 << 30)),
                3 => (-1i64 as u64, 0),
                4 => (i64::MAX as u64, 0),
                5 => (r.below(2), r.below(999_999)),
                _ => (0, 1000 + r.below(10_000)),
            }
        };
        let (a, b) = part(&self.rng);
        let (c, d) = part(&self.rng);
        self.put(O_ITIMER, &[a, b, c, d])
    }

    fn sigevent(&self) -> u64 {
        match self.rng.below(8) {
            0 => 0,
            1 => self.bad(),
            _ => {
                // SAFETY: getpid and gettid have no arguments.
                let (me, tid) = unsafe { (libc::getpid() as u64, libc::gettid() as u64) };
                let notify = self
                    .rng
                    .pick(&[0u64, 0, 1, 2, 4, 4, self.rng.next() & 0xff]);
                let target = self
                    .rng
                    .pick(&[tid, tid, me, 0, 1, 0x3fff_fff0, self.rng.next()]);
                let signo = self.sig();
                // sigev_value, sigev_signo | sigev_notify << 32, sigev_notify_thread_id.
                self.put(
                    O_SIGEV,
                    &[
                        self.rng.next(),
                        (signo & 0xffff_ffff) | (notify << 32),
                        target,
                        0,
                    ],
                )
            }
        }
    }

    fn stack_t(&self) -> u64 {
        match self.rng.below(8) {
            0 => 0,
            1 => self.bad(),
            _ => {
                let flags = self
                    .rng
                    .pick(&[0u64, 0, 1, 2, 1 << 31, self.rng.next() & 0xffff_ffff]);
                let size =
                    self.rng
                        .pick(&[ALTSTACK_LEN, ALTSTACK_LEN, 0, 2048, 8192, 1 << 30, u64::MAX]);
                // A huge stack only at an address the kernel must refuse to write (a frame
                // could otherwise land anywhere, the control block included).
                let sp = if size > ALTSTACK_LEN {
                    self.rng.pick(crate::pools::BAD_PTRS)
                } else if self.rng.chance(1, 2) {
                    self.structs + O_ALTSTACK
                } else {
                    self.scratch + self.rng.below(4) * PAGE
                };
                self.put(O_STACK, &[sp, flags, size])
            }
        }
    }

    fn futex_addr(&self) -> u64 {
        match self.rng.below(10) {
            0..=5 => self.structs + O_FUTEX + 4 * self.rng.below(8),
            6 => self.structs + O_FUTEX + 1,
            7 => self.buf(),
            _ => self.bad(),
        }
    }

    fn rlim(&self) -> u64 {
        if self.rng.chance(1, 6) {
            return self.bad();
        }
        let v =
            |r: &crate::rng::Rng| r.pick(&[0u64, 1, 64, 1024, 4096, 1 << 20, u64::MAX, r.next()]);
        let (a, b) = (v(&self.rng), v(&self.rng));
        self.put(O_RLIM, &[a, b])
    }

    pub fn draw(&self, kind: A, pos: u64) -> u64 {
        match kind {
            Fd => self.fd(),
            MFd => self.mfd(),
            DirFd => self.dirfd(),
            AnyDirFd => self.any_dirfd(),
            Buf => self.buf(),
            OptBuf => {
                if self.rng.chance(1, 3) {
                    0
                } else {
                    self.buf()
                }
            }
            Len => self.len(),
            Int => self.int(),
            Flags => self.flags(),
            Path => self.path(),
            RPath => self.rpath(),
            Target => self.link_target(),
            Mode => self.mode(),
            Pid => self.pid(),
            Time => self.time(pos % 4),
            TimeoutMs => self
                .rng
                .pick(&[0u64, 0, 1, 5, 10, -1i64 as u64, 0x7fff_ffff]),
            Iov => self.iov(),
            IovCnt => self
                .rng
                .pick(&[0u64, 1, 2, 3, 8, 8, 1024, 1025, -1i64 as u64]),
            SigSet => self.sigset(),
            SigSz => self.rng.pick(&[8u64, 8, 8, 8, 0, 4, 16, 128, u64::MAX]),
            Clock => self.rng.pick(&[
                0u64,
                1,
                1,
                2,
                3,
                4,
                5,
                6,
                7,
                8,
                11,
                -1i64 as u64,
                -6i64 as u64,
                100,
                self.rng.next(),
            ]),
            Small => match self.rng.below(10) {
                0 => self.int(),
                _ => self.rng.below(5),
            },
            Uid => self
                .rng
                .pick(&[0u64, 0, 1, 1000, 65534, -1i64 as u64, 0xffff_ffff_0000_0000]),
            Off => self.rng.pick(&[
                0u64,
                0,
                1,
                4096,
                8191,
                1 << 20,
                1 << 40,
                -1i64 as u64,
                i64::MAX as u64,
                i64::MIN as u64,
                self.rng.next(),
            ]),
            PollFds => self.pollfds(),
            FdSet => self.fdset(pos % 3),
            Rlim => self.rlim(),
            Epev => {
                if self.rng.chance(1, 6) {
                    self.bad()
                } else {
                    let ev =
                        self.rng
                            .pick(&[1u64, 4, 5, 1 << 31, 1 << 30, 0x8000_0005, self.flags()]);
                    self.put(O_EPEV, &[ev | (self.rng.next() << 32), self.rng.next()])
                }
            }
            AtFlags => self.rng.pick(&[
                0u64,
                0,
                0x100,
                0x200,
                0x400,
                0x800,
                0x1000,
                0x6000,
                self.flags(),
            ]),
            Key => self.rng.pick(&[
                0u64,
                0x7f00,
                0x7f01,
                0x7f02,
                0x7f03,
                -1i64 as u64,
                self.rng.next(),
            ]),
            ShmId => {
                if !self.shm_ids.is_empty() && self.rng.chance(2, 3) {
                    let i = self.rng.below(self.shm_ids.len() as u64) as usize;
                    self.shm_ids[i] as u64
                } else {
                    self.rng
                        .pick(&[0u64, 1, 4096, -1i64 as u64, self.rng.next() & 0xffff_ffff])
                }
            }
            TimerId => {
                if !self.timer_ids.is_empty() && self.rng.chance(2, 3) {
                    let i = self.rng.below(self.timer_ids.len() as u64) as usize;
                    self.timer_ids[i] as u64
                } else {
                    self.rng
                        .pick(&[0u64, 1, 2, 31, -1i64 as u64, self.rng.next()])
                }
            }
            Itimer => self.itimer(),
            Sigevent => self.sigevent(),
            StackT => self.stack_t(),
            Futex => self.futex_addr(),
            FutexOp => {
                let op = match self.rng.below(10) {
                    0..=2 => 0,
                    3..=5 => 1,
                    6 => 9,
                    7 => 10,
                    8 => self.rng.below(14),
                    _ => self.rng.next() & 0xff,
                };
                op | self.rng.pick(&[0u64, 128, 128, 256])
            }
            Pair => {
                if self.rng.chance(1, 8) {
                    self.bad()
                } else {
                    self.put(O_PAIR, &[u64::MAX])
                }
            }
            FsType => match self.rng.below(8) {
                0 => cstr(b"tmpfs\0"),
                1 => cstr(b"proc\0"),
                2 => cstr(b"devtmpfs\0"),
                3 => cstr(b"sysfs\0"),
                4 => cstr(b"bogus\0"),
                5 => 0,
                6 => self.bad(),
                _ => self.scratch,
            },
        }
    }

    /// Note descriptors a call returned.
    fn track(&mut self, fd: i64) {
        if (0..1 << 20).contains(&fd) {
            let fd = fd as i32;
            self.fds.retain(|f| f.fd != fd);
            self.closed.retain(|&c| c != fd);
            self.fds.push(Fd::new(fd));
            if self.fds.len() > 40 {
                let f = self.fds.remove(self.rng.below(40) as usize);
                // SAFETY: close has no memory arguments.
                unsafe { libc::close(f.fd) };
                self.forget(f.fd);
            }
        }
    }

    fn forget(&mut self, fd: i32) {
        self.fds.retain(|f| f.fd != fd);
        if !self.closed.contains(&fd) {
            self.closed.push(fd);
            if self.closed.len() > 16 {
                self.closed.remove(0);
            }
        }
    }

    fn read_pair(&mut self, ptr: u64) {
        if ptr == self.structs + O_PAIR {
            // SAFETY: the pair lies in the structs mapping.
            let v = unsafe { ((self.structs + O_PAIR) as *const u64).read_volatile() };
            if v != u64::MAX {
                self.track(i64::from(v as u32 as i32));
                self.track(i64::from((v >> 32) as u32 as i32));
            }
        }
    }
}

/// Make the call, recording it in the control block first (the worker's main thread only).
fn call(p: &mut Pools, nr: u64, a: [u64; 6]) -> i64 {
    if p.main {
        p.ctl.set_last(p.slot, nr, &a);
    }
    p.ctl.calls[p.slot].fetch_add(1, Relaxed);
    // SAFETY: the arguments were drawn so that the worker's memory that matters (control
    // block, prepared structures) is out of reach of memory calls, and paths and descriptors
    // that change the file system stay inside the scratch directory.
    unsafe { syscall6(nr, a) }
}

/// One generic call from the table.
fn table_call(p: &mut Pools) {
    let (nr, _name, kinds) = TABLE[p.rng.below(TABLE.len() as u64) as usize];
    let mut a = [0u64; 6];
    for (i, x) in a.iter_mut().enumerate() {
        let kind = kinds.get(i).copied();
        *x = match kind {
            // The kinds that keep changes inside the scratch directory are never swapped.
            Some(k @ (MFd | DirFd | Path | Target)) => p.draw(k, i as u64),
            Some(_) if p.rng.chance(1, 20) => p.any(),
            Some(k) => p.draw(k, i as u64),
            None => p.any(),
        };
    }
    // Calls whose argument needs fixing beyond its pool.
    match nr {
        // prlimit-like calls take their pid from `pid` already; mknod: no console nodes.
        133 | 259 => {
            let mi = if nr == 133 { 1 } else { 2 };
            a[mi] = p
                .rng
                .pick(&[0o100644u64, 0o10644, 0o140644, 0, 0o20644, 0o60644, 0o644]);
            a[mi + 1] = p
                .rng
                .pick(&[0u64, 0x103, 0x105, 0x107, 0x109, 0xff0_0ff, p.rng.next()]);
            // Character and block nodes only for null/zero/full/urandom or an unknown device.
            if a[mi] & 0o170000 == 0o020000 || a[mi] & 0o170000 == 0o060000 {
                let dev = a[mi + 1];
                if ![0x103u64, 0x105, 0x107, 0x109].contains(&dev) {
                    a[mi + 1] = 0xff0_0ff;
                }
            }
        }
        // ioctl: a command from the list (TIOCCONS and the like never).
        16 => {
            a[1] = p.rng.pick(&[
                0x5401u64,
                0x5402,
                0x5403,
                0x5404,
                0x5413,
                0x5414,
                0x540f,
                0x5410,
                0x540e,
                0x5422,
                0x541b,
                0x5421,
                0x5451,
                0x5450,
                0x8004_5430,
                0x4004_5431,
                0x5412,
                0x540b,
                0x540a,
                0x5411,
                0x5409,
                0x5425,
                0x5429,
                0x4004_5436,
                0x8004_5432,
                0x5441,
                0x4008_54d4,
                0,
            ]);
            if p.rng.chance(1, 4) {
                a[2] = p.int();
            }
        }
        // prctl: known options mostly.
        157 => {
            a[0] = p.rng.pick(&[
                1u64, 2, 3, 4, 15, 15, 16, 16, 29, 36, 37, 38, 39, 40, 0, 1000,
            ]);
            if a[0] == 1 {
                a[1] = p.sig();
            }
        }
        // arch_prctl: FS only to a value that keeps the thread alive or one it must refuse.
        158 => {
            a[0] = p.rng.pick(&[
                0x1001u64, 0x1002, 0x1003, 0x1004, 0x1011, 0x1012, 0x2001, 0x3001, 0,
            ]);
            if a[0] == 0x1002 {
                a[1] = if p.rng.chance(1, 2) {
                    let mut fs = 0u64;
                    // SAFETY: ARCH_GET_FS writes one word to `fs`.
                    unsafe { syscall6(158, [0x1003, &mut fs as *mut u64 as u64, 0, 0, 0, 0]) };
                    fs
                } else {
                    p.rng.pick(&[
                        0x8000_0000_0000u64,
                        0xffff_ffff_8000_0000,
                        u64::MAX,
                        1 << 63,
                    ])
                };
            }
        }
        // rt_sigprocmask: SIG_BLOCK/UNBLOCK/SETMASK or garbage.
        14 => a[0] = p.rng.pick(&[0u64, 1, 2, 3, -1i64 as u64]),
        // Interval timers: ITIMER_REAL mostly, short.
        38 => a[0] = p.rng.pick(&[0u64, 0, 1, 2, 3, -1i64 as u64]),
        // sethostname: short names mostly.
        170 | 171 => a[1] = p.rng.pick(&[0u64, 1, 8, 64, 65, 4096, u64::MAX]),
        // Futex waits: half of them with the word's current value, so they sleep.
        202 if matches!(a[1] & 0x7f, 0 | 9) && p.rng.chance(1, 2) => {
            let w = a[0];
            if (p.structs..p.structs + 4 * PAGE).contains(&w) && w % 4 == 0 {
                // SAFETY: the word lies in the structs mapping.
                a[2] = u64::from(unsafe { (w as *const u32).read_volatile() });
            }
        }
        // A robust list that loops on itself, half of the time.
        273 if p.rng.chance(1, 2) => {
            a[0] = p.structs + O_ROBUST;
            a[1] = 24;
        }
        // Limits and priorities of this process or its children only (never the parent's).
        302 | 141 => {
            // SAFETY: getpid has no arguments.
            let me = unsafe { libc::getpid() } as u64;
            let child = p.child().unwrap_or(me);
            let pid = p.rng.pick(&[0u64, me, me, child, 0x3fff_fff0]);
            if nr == 302 {
                a[0] = pid;
            } else {
                // PRIO_PROCESS, PRIO_PGRP (own group), PRIO_USER (a user nobody is).
                a[0] = p.rng.below(3);
                a[1] = [pid, 0, 4242][a[0] as usize];
            }
        }
        // shmdt: an address shmat returned, mostly.
        67 if !p.shm_at.is_empty() && p.rng.chance(2, 3) => {
            a[0] = p.shm_at[p.rng.below(p.shm_at.len() as u64) as usize];
        }
        _ => {}
    }
    // Calls that change the tree through a directory descriptor, and fchdir, hold the
    // descriptor lock (see `with_fd_lock`).
    let dir_call = kinds.contains(&DirFd) || nr == 81;
    let r = if dir_call {
        with_fd_lock(|| call(p, nr, a))
    } else {
        call(p, nr, a)
    };
    match nr {
        22 | 293 | 53 if r == 0 => {
            let ptr = if nr == 53 { a[3] } else { a[0] };
            p.read_pair(ptr);
        }
        85 | 213 | 284 | 290 | 291 | 319 | 41 | 283 | 253 | 294 | 282 | 288 if r >= 0 => {
            if r >= i64::from(HIGH_FD) {
                // SAFETY: close has no memory arguments.
                unsafe { libc::close(r as i32) };
            } else {
                p.track(r);
            }
        }
        61 | 247 if r > 0 => p.children.retain(|&c| i64::from(c) != r),
        29 if r >= 0 => {
            p.shm_ids.push(r as i32);
            if p.shm_ids.len() > 8 {
                p.shm_ids.remove(0);
            }
        }
        222 if r == 0 && a[2] == p.structs + O_TIMERID => {
            // SAFETY: the id lies in the structs mapping.
            let id = unsafe { ((p.structs + O_TIMERID) as *const i32).read_volatile() };
            p.timer_ids.push(id);
            if p.timer_ids.len() > 8 {
                p.timer_ids.remove(0);
            }
        }
        436 if r == 0 && a[2] & 4 == 0 => {
            let (lo, hi) = (a[0] as u32, a[1] as u32);
            let gone: Vec<i32> = p
                .fds
                .iter()
                .map(|f| f.fd)
                .filter(|&f| (lo..=hi).contains(&(f as u32)))
                .collect();
            for f in gone {
                p.forget(f);
            }
        }
        _ => {}
    }
}

impl Pools {
    /// An argument from any pool.
    pub fn any(&self) -> u64 {
        match self.rng.below(6) {
            0 => self.int(),
            1 => self.len(),
            2 => self.buf(),
            3 => self.fd(),
            4 => self.flags(),
            _ => self.rng.next(),
        }
    }
}

/// open/openat: scratch names with any flags; other paths read-only (devices read-write),
/// moved to `HIGH_FD` and above.
fn open(p: &mut Pools) {
    let at = p.rng.chance(1, 2);
    let kind = p.rng.below(10);
    let (path, flags, dirfd) = if kind < 6 {
        let mut flags = p.rng.pick(&[0u64, 1, 2, 3]);
        for bit in [
            0o100u64, 0o200, 0o1000, 0o2000, 0o4000, 0o200000, 0o400000, 0o2000000, 0o10000000,
            0o20200000, 0o4010000,
        ] {
            if p.rng.chance(1, 5) {
                flags |= bit;
            }
        }
        if p.rng.chance(1, 20) {
            flags = p.flags();
        }
        (p.path(), flags, p.dirfd())
    } else {
        let dev = kind >= 8;
        let path = if dev {
            p.rng.pick(DEVS)
        } else {
            p.rng.pick(ABS)
        };
        let mut flags = if dev { p.rng.pick(&[0u64, 1, 2, 2]) } else { 0 };
        for bit in [0o4000u64, 0o200000, 0o400000, 0o2000000, 0o10000000, 0o400] {
            if p.rng.chance(1, 5) {
                flags |= bit;
            }
        }
        (cstr(path), flags, p.any_dirfd())
    };
    let mode = p.mode();
    let (nr, a) = if at {
        (257, [dirfd, path, flags, mode, 0, 0])
    } else {
        (2, [path, flags, mode, 0, 0, 0])
    };
    let r = with_fd_lock(|| {
        let r = call(p, nr, a);
        if kind >= 6 && r >= 0 && r < i64::from(HIGH_FD) {
            // SAFETY: fcntl and close have no memory arguments here.
            let high = unsafe { libc::fcntl(r as i32, libc::F_DUPFD, HIGH_FD) };
            unsafe { libc::close(r as i32) };
            i64::from(high)
        } else {
            r
        }
    });
    if r >= 0 {
        p.track(r);
    }
}

/// A per-process lock held while a descriptor for an outside file is below `HIGH_FD` (open,
/// then move) and while a scratch descriptor changes the working directory, so that a sibling
/// thread never takes the one for the other. A spin lock, so that a forked child (which
/// copies it, maybe held) can reset it.
static FD_LOCK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn reset_fd_lock() {
    FD_LOCK.store(false, Relaxed);
}

fn with_fd_lock<R>(f: impl FnOnce() -> R) -> R {
    let mut spins = 0u32;
    while FD_LOCK
        .compare_exchange(false, true, std::sync::atomic::Ordering::Acquire, Relaxed)
        .is_err()
    {
        spins += 1;
        // SAFETY: sched_yield has no arguments.
        unsafe { libc::sched_yield() };
        if spins > 100_000 {
            break; // the holder is gone (killed mid-call): go on
        }
    }
    let r = f();
    FD_LOCK.store(false, std::sync::atomic::Ordering::Release);
    r
}

fn close(p: &mut Pools) {
    let fd = p.fd();
    let r = call(p, 3, [fd, 0, 0, 0, 0, 0]);
    if r == 0 || r == -(libc::EBADF as i64) {
        p.forget(fd as i32);
    }
}

/// dup, dup2, dup3, fcntl(F_DUPFD*): the copy stays on the same side of `HIGH_FD`.
fn dup(p: &mut Pools) {
    let src = p.fd();
    let high = (src as i32) >= HIGH_FD || (src as i64) < 0;
    let target = if high {
        HIGH_FD as u64 + p.rng.below(512)
    } else {
        p.rng.pick(&[0u64, 1, 2, 3, 5, 10, 20, 63, 64, 100])
    };
    let (nr, a) = match p.rng.below(3) {
        0 if !high => (32, [src, 0, 0, 0, 0, 0]),
        0 | 1 => (33, [src, target, 0, 0, 0, 0]),
        _ => (
            292,
            [
                src,
                target,
                p.rng.pick(&[0u64, 0o2000000, 1, p.flags()]),
                0,
                0,
                0,
            ],
        ),
    };
    let r = with_fd_lock(|| call(p, nr, a));
    if r >= 0 {
        p.track(r);
    }
}

fn fcntl(p: &mut Pools) {
    let fd = p.fd();
    let high = (fd as i32) >= HIGH_FD || (fd as i64) < 0;
    let cmd = p.rng.pick(&[
        0u64, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 16, 36, 37, 38, 1024, 1025, 1026, 1030, 1031,
        1032, 1033, 1034, 99,
    ]);
    // SAFETY: getpid has no arguments.
    let me = unsafe { libc::getpid() } as u64;
    let arg = match cmd {
        0 | 1030 => {
            let a = p
                .rng
                .pick(&[0u64, 3, 10, 100, 511, 1023, 1024, 1 << 20, -1i64 as u64]);
            if high {
                a.max(HIGH_FD as u64)
            } else {
                a % HIGH_FD as u64
            }
        }
        5..=7 | 36..=38 => {
            if p.rng.chance(1, 4) {
                p.bad()
            } else {
                // struct flock: type, whence, start, len, pid.
                let t = p.rng.pick(&[0u64, 1, 2, 7]) | (p.rng.below(3) << 16);
                p.put(
                    O_FLOCK,
                    &[
                        t,
                        p.rng.pick(&[0u64, 1, 100, -1i64 as u64]),
                        p.rng.pick(&[0u64, 10, u64::MAX]),
                        0,
                    ],
                )
            }
        }
        8 => me,
        15 | 16 => p.put(O_FLOCK, &[0, me]),
        _ => p.int(),
    };
    let r = with_fd_lock(|| call(p, 72, [fd, cmd, arg, 0, 0, 0]));
    if (cmd == 0 || cmd == 1030) && r >= 0 {
        p.track(r);
    }
}

/// The memory calls: the arguments may name anything but the protected ranges.
fn memory(p: &mut Pools, which: &str) {
    let mut addr = p.addr();
    let len = p.mlen();
    if p.hits_protected(addr, len) {
        addr = p.scratch + p.rng.below(16) * PAGE;
        if p.hits_protected(addr, len) {
            return;
        }
    }
    match which {
        "mmap" => {
            let mut flags = p.rng.pick(&[0x02u64, 0x02, 0x01, 0x03, 0]);
            for bit in [
                0x20u64, 0x20, 0x10, 0x100000, 0x4000, 0x100, 0x20000, 0x40000, 0x8000, 0x10000,
            ] {
                if p.rng.chance(1, 4) {
                    flags |= bit;
                }
            }
            if p.rng.chance(1, 30) {
                flags = p.flags();
            }
            // MAP_FIXED without NOREPLACE replaces what is there: keep it off protected ranges
            // (checked above); MAP_POPULATE only on small lengths (it must not eat the guest).
            if flags & 0x8000 != 0 && len > 1 << 22 {
                flags &= !0x8000;
            }
            let prot = p
                .rng
                .pick(&[0u64, 1, 3, 3, 5, 7, 4, 0x0100_0000 | 3, p.rng.next() & 0xff]);
            let fd = if flags & 0x20 != 0 && p.rng.chance(3, 4) {
                -1i64 as u64
            } else {
                p.fd()
            };
            let off = p.rng.pick(&[0u64, 0, 4096, 1, 1 << 40, -4096i64 as u64]);
            let hint = if flags & 0x10 == 0 && p.rng.chance(1, 2) {
                0
            } else {
                addr
            };
            if flags & 0x10 != 0 && p.hits_protected(hint, len) {
                return;
            }
            call(p, 9, [hint, len, prot, flags, fd, off]);
        }
        "munmap" => {
            call(p, 11, [addr, len, 0, 0, 0, 0]);
        }
        "mprotect" => {
            let prot = p.rng.pick(&[
                0u64,
                1,
                3,
                5,
                7,
                4,
                0x0100_0000 | 1,
                0x0200_0000,
                p.rng.next(),
            ]);
            call(p, 10, [addr, len, prot, 0, 0, 0]);
        }
        "mremap" => {
            let new_len = p.mlen();
            let flags = p.rng.pick(&[0u64, 1, 1, 3, 5, 7, p.rng.next() & 0xff]);
            let mut new_addr = p.addr();
            if flags & 2 != 0 && p.hits_protected(new_addr, new_len) {
                new_addr = p.scratch;
                if p.hits_protected(new_addr, new_len) {
                    return;
                }
            }
            call(p, 25, [addr, len, new_len, flags, new_addr, 0]);
        }
        "madvise" => {
            let advice = p.rng.pick(&[
                0u64,
                1,
                2,
                3,
                4,
                4,
                8,
                9,
                10,
                11,
                12,
                14,
                15,
                16,
                18,
                19,
                20,
                21,
                22,
                23,
                25,
                100,
                101,
                p.rng.next() & 0xff,
            ]);
            call(p, 28, [addr, len, advice, 0, 0, 0]);
        }
        "brk" => {
            // SAFETY: brk(0) only reports the break.
            let cur = unsafe { syscall6(12, [0; 6]) } as u64;
            let v = match p.rng.below(8) {
                0 => 0,
                1..=4 => cur + p.rng.below(64) * PAGE + p.rng.below(2),
                5 => cur.saturating_sub(p.rng.below(4) * PAGE),
                6 => p.rng.pick(crate::pools::BAD_PTRS),
                _ => p.rng.next(),
            };
            call(p, 12, [v, 0, 0, 0, 0, 0]);
        }
        "shmat" => {
            let id = p.draw(ShmId, 0);
            let mut flags = p.rng.pick(&[
                0u64,
                0o10000,
                0o20000,
                0o40000,
                0o100000,
                p.rng.next() & 0o170000,
            ]);
            let mut at = if p.rng.chance(1, 2) { 0 } else { addr };
            if flags & 0o40000 != 0 && at != 0 && p.rng.chance(3, 4) {
                flags &= !0o40000;
            }
            if flags & 0o40000 != 0 && !(at == 0 || at >= 0x0000_8000_0000_0000 || at % PAGE != 0) {
                at = p.rng.pick(crate::pools::BAD_PTRS);
            }
            let r = call(p, 30, [id, at, flags, 0, 0, 0]);
            if r > 0 {
                p.shm_at.push(r as u64);
                if p.shm_at.len() > 8 {
                    p.shm_at.remove(0);
                }
            }
        }
        _ => {}
    }
}

/// A handler for sigaction: the worker's own, the defaults, or a bad address.
fn sigaction(p: &mut Pools) {
    let mut sig = p.sig();
    if p.rng.chance(1, 5) {
        sig = libc::SIGALRM as u64;
    }
    let handler = match p.rng.below(10) {
        0..=4 => p.handler,
        5 => 0,
        6 => 1,
        7 => p.rng.pick(crate::pools::BAD_PTRS),
        8 => p.scratch,
        _ => p.rng.next(),
    };
    let handler = if sig == libc::SIGALRM as u64 && p.rng.chance(9, 10) {
        p.handler
    } else {
        handler
    };
    let mut flags = 0x0400_0000u64; // SA_RESTORER
    for bit in [
        4u64,
        0x0800_0000,
        0x1000_0000,
        0x4000_0000,
        0x8000_0000,
        1,
        2,
    ] {
        if p.rng.chance(1, 4) {
            flags |= bit;
        }
    }
    if p.rng.chance(1, 20) {
        flags = p.flags();
    }
    let restorer = if p.rng.chance(9, 10) {
        p.restorer
    } else {
        p.rng.pick(crate::pools::BAD_PTRS)
    };
    let act = match p.rng.below(10) {
        0 => 0,
        1 => p.bad(),
        _ => p.put(
            O_SIGACT,
            &[handler, flags, restorer, p.rng.next() & p.rng.next()],
        ),
    };
    let old = p.draw(OptBuf, 0);
    let size = p.draw(SigSz, 0);
    call(p, 13, [sig, act, old, size, 0, 0]);
}

/// kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo: only at this worker, its
/// children and its siblings.
fn kill(p: &mut Pools) {
    let target = p.kill_target();
    let mut sig = p.sig();
    // SIGKILL and SIGSTOP end or freeze a worker: keep them rare.
    if (sig == 9 || sig == 19) && p.rng.chance(4, 5) {
        sig = libc::SIGUSR1 as u64;
    }
    // SAFETY: gettid has no arguments.
    let tid = unsafe { libc::gettid() } as u64;
    let tid = if p.rng.chance(3, 4) { tid } else { target };
    let info = {
        let code = p.rng.pick(&[
            -1i64 as u64,
            0,
            -6i64 as u64,
            1,
            0x80,
            p.rng.next() & 0xffff_ffff,
        ]);
        let w0 = (sig & 0xffff_ffff) | (p.rng.below(2) << 32);
        p.put(O_SIGINFO, &[w0, code, p.rng.next(), p.rng.next()])
    };
    let info = if p.rng.chance(1, 6) { p.bad() } else { info };
    // Targets for tkill must be a thread of this worker (or a child): never a sibling's
    // thread id that could be reused by ... the parent is excluded by kill_target already.
    match p.rng.below(6) {
        0 | 1 => call(p, 62, [target, sig, 0, 0, 0, 0]),
        2 => call(p, 200, [tid, sig, 0, 0, 0, 0]),
        3 => call(p, 234, [target, tid, sig, 0, 0, 0]),
        4 => call(p, 129, [target, sig, info, 0, 0, 0]),
        _ => call(p, 297, [target, tid, sig, info, 0, 0]),
    };
}

const CLONE_VM: u64 = 0x100;
const CLONE_PARENT: u64 = 0x8000;
const CLONE_VFORK: u64 = 0x4000;

/// clone/clone3/fork/vfork whose child exits at once.
fn clone_family(p: &mut Pools, which: &str) {
    let mut flags = match p.rng.below(4) {
        // A thread as pthread_create makes it, and a vfork.
        0 => 0x3d_0f00,
        1 => CLONE_VM | CLONE_VFORK,
        _ => 0,
    };
    for bit in [
        0x100u64, 0x200, 0x400, 0x800, 0x2000, 0x4000, 0x8000, 0x10000, 0x40000, 0x80000, 0x100000,
        0x200000, 0x400000, 0x1000000, 0x2000000, 0x20000000, 0x1000,
    ] {
        if p.rng.chance(1, 6) {
            flags |= bit;
        }
    }
    if p.rng.chance(1, 20) {
        flags |= p.flags() & !0xff;
    }
    let mut exit_sig = p.rng.pick(&[17u64, 17, 17, 0, p.sig() & 0xff]);
    if flags & CLONE_PARENT != 0 && exit_sig != 0 {
        // The parent's parent is the test: it gets SIGCHLD or nothing.
        exit_sig = 17;
    }
    let stack = p.rng.pick(&[
        0u64,
        p.structs + 4 * PAGE - 64,
        p.scratch + PAGE,
        1,
        0x8000_0000_0000,
    ]);
    let ptid = p.draw(OptBuf, 0);
    let ctid = p.draw(OptBuf, 0);
    let tls = p.rng.pick(&[
        0u64,
        p.scratch,
        0x8000_0000_0000,
        0xffff_ffff_8000_0000,
        u64::MAX,
    ]);
    let (nr, a) = match which {
        "clone" => (56, [flags | exit_sig, stack, ptid, ctid, tls, 0]),
        "clone3" => {
            // struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, stack,
            // stack_size, tls, set_tid, set_tid_size, cgroup.
            let args = [
                flags,
                p.draw(OptBuf, 0),
                ctid,
                ptid,
                exit_sig,
                stack & !0xfff,
                p.rng.pick(&[0u64, 4096, 8192, u64::MAX]),
                tls,
                p.draw(OptBuf, 0) & p.rng.pick(&[0, u64::MAX]),
                p.rng.pick(&[0u64, 0, 1, 32, u64::MAX]),
                p.rng.pick(&[0u64, 0, 3, u64::MAX]),
                0,
                p.rng.pick(&[0u64, 0, 0, 1]),
            ];
            let ptr = if p.rng.chance(1, 8) {
                p.bad()
            } else {
                p.put(O_CLONE, &args)
            };
            let size = p
                .rng
                .pick(&[64u64, 80, 88, 88, 96, 104, 0, 8, 4096, 4097, u64::MAX]);
            (435, [ptr, size, 0, 0, 0, 0])
        }
        "fork_raw" => (57, [0; 6]),
        _ => (58, [0; 6]),
    };
    let shares_memory = nr == 58 || flags & (CLONE_VM | CLONE_VFORK) != 0;
    let mut old = 0u64;
    if shares_memory {
        let all = u64::MAX;
        // SAFETY: both sets are words of this frame.
        unsafe {
            syscall6(
                14,
                [
                    2,
                    &all as *const u64 as u64,
                    &mut old as *mut u64 as u64,
                    8,
                    0,
                    0,
                ],
            )
        };
    }
    if p.main {
        p.ctl.set_last(p.slot, nr, &a);
    }
    p.ctl.calls[p.slot].fetch_add(1, Relaxed);
    p.ctl.clones.fetch_add(1, Relaxed);
    // SAFETY: the child runs two instructions and exits; signals are blocked if it shares
    // this memory.
    let r = unsafe { clone_exit(nr, a) };
    if shares_memory {
        // SAFETY: `old` is a word of this frame.
        unsafe { syscall6(14, [2, &old as *const u64 as u64, 0, 8, 0, 0]) };
    }
    if r > 0 && flags & 0x10000 == 0 {
        p.children.push(r as i32);
        if p.children.len() > 16 {
            p.children.remove(0);
        }
    }
}

/// execve/execveat of nothing that can run.
fn execve(p: &mut Pools) {
    let path = match p.rng.below(10) {
        0 => 0,
        1 => p.bad(),
        2 => p.scratch,
        3 => cstr(b"/\0"),
        4 => cstr(b"/dev/null\0"),
        5 => cstr(b"/proc/self/fd/999\0"),
        6 => cstr(b"f0\0"),
        7 => cstr(b"d0\0"),
        8 => p.long_path.as_ptr() as u64,
        _ => cstr(b"/nonexistent/prog\0"),
    };
    let vec = |p: &mut Pools| -> u64 {
        match p.rng.below(6) {
            0 => 0,
            1 => p.bad(),
            _ => {
                let mut w = [0u64; 64];
                let n = p.rng.below(64) as usize;
                for x in w.iter_mut().take(n) {
                    *x = match p.rng.below(4) {
                        0 => p.bad(),
                        1 => p.long_name.as_ptr() as u64,
                        _ => cstr(b"arg\0"),
                    };
                }
                if p.rng.chance(1, 8) {
                    w = [cstr(b"x\0"); 64]; // no terminating NULL within the array
                }
                p.put(O_ARGV, &w)
            }
        }
    };
    let argv = vec(p);
    let envp = vec(p);
    if p.rng.chance(1, 3) {
        let fd = p.mfd();
        let flags = p.rng.pick(&[0u64, 0x1000, 0x100, p.flags()]);
        call(p, 322, [fd, path, argv, envp, flags, 0]);
    } else {
        call(p, 59, [path, argv, envp, 0, 0, 0]);
    }
}

/// A number no kernel implements (or past the table): -ENOSYS, nothing kept.
fn unknown(p: &mut Pools) {
    let nr = match p.rng.below(6) {
        0 => 335 + p.rng.below(89),
        1 => 512 + p.rng.below(36),
        2 => p.rng.pick(&[
            1000u64,
            4096,
            0x4000_0027,
            (1 << 32) | 39,
            u64::MAX,
            1 << 63,
        ]),
        3 => 460 + p.rng.below(100),
        _ => 0x10000 + p.rng.below(1 << 30),
    };
    let a = std::array::from_fn(|_| p.any());
    call(p, nr, a);
}

/// The calls that end a thread or process; rare, so workers live long enough to matter.
fn exit(p: &mut Pools) {
    let code = p.int();
    let nr = if p.rng.chance(1, 2) { 60 } else { 231 };
    call(p, nr, [code, 0, 0, 0, 0, 0]);
}

/// rt_sigreturn with whatever the stack holds: the kernel must validate the frame.
fn sigreturn(p: &mut Pools) {
    call(p, 15, [0; 6]);
}

/// Pick and make one call.
pub fn one_call(p: &mut Pools) {
    let total: u64 = SPECIAL.iter().map(|s| s.1).sum();
    let r = p.rng.below(1000);
    if r >= total {
        return table_call(p);
    }
    let mut acc = 0;
    for &(name, w) in SPECIAL {
        acc += w;
        if r < acc {
            match name {
                "open" => open(p),
                "close" => close(p),
                "dup" => dup(p),
                "fcntl" => fcntl(p),
                "mmap" | "munmap" | "mprotect" | "mremap" | "madvise" | "brk" | "shmat" => {
                    memory(p, name)
                }
                "rt_sigaction" => sigaction(p),
                "kill" => kill(p),
                "clone" | "clone3" | "fork_raw" | "vfork_raw" => clone_family(p, name),
                "execve" => execve(p),
                "unknown" => unknown(p),
                "rt_sigreturn" => sigreturn(p),
                "exit" => exit(p),
                _ => {}
            }
            return;
        }
    }
}

/// Prepared structures that need a fixed shape from the start: futex words, a robust list
/// that loops on itself.
pub fn prepare(p: &Pools) {
    p.put(O_FUTEX, &[0, 1, 0x8000_0000_0000_0001, u64::MAX]);
    let head = p.structs + O_ROBUST;
    // struct robust_list_head: list.next, futex_offset, list_op_pending. The entry points
    // back at itself: a walk that does not count its steps never ends.
    p.put(O_ROBUST, &[head + 24, 0x10, head + 24, head + 24]);
    let _ = REL;
}
