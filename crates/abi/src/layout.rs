//! Byte encoders (and decoders, where the kernel also reads them) for the structs the kernel
//! exchanges with user space, with the exact x86-64 Linux sizes and field offsets, plus the
//! resource-limit numbers and the limits Linux gives `init`.
//!
//! The structs are plain Rust structs (no `#[repr(C)]`); `to_bytes` lays them out explicitly,
//! little-endian, padding zeroed, so the result can be copied to user memory as is.

/// Writes `src` at `off`; offsets are constants checked by the tests, so this never truncates.
fn put(buf: &mut [u8], off: usize, src: &[u8]) {
    if let Some(dst) = buf.get_mut(off..off.saturating_add(src.len())) {
        dst.copy_from_slice(src);
    }
}

fn get8(buf: &[u8], off: usize) -> [u8; 8] {
    buf.get(off..off.saturating_add(8))
        .and_then(|s| s.try_into().ok())
        .unwrap_or([0; 8])
}

fn get4(buf: &[u8], off: usize) -> [u8; 4] {
    buf.get(off..off.saturating_add(4))
        .and_then(|s| s.try_into().ok())
        .unwrap_or([0; 4])
}

fn get_i64(buf: &[u8], off: usize) -> i64 {
    i64::from_le_bytes(get8(buf, off))
}

fn get_u64(buf: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(get8(buf, off))
}

fn get_u32(buf: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(get4(buf, off))
}

fn get_i32(buf: &[u8], off: usize) -> i32 {
    i32::from_le_bytes(get4(buf, off))
}

/// `struct timespec` (16 bytes): `tv_sec` @0, `tv_nsec` @8.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timespec {
    /// Seconds.
    pub sec: i64,
    /// Nanoseconds.
    pub nsec: i64,
}

impl Timespec {
    /// Size in user memory.
    pub const SIZE: usize = 16;
    /// `UTIME_NOW` for `utimensat`'s `tv_nsec`.
    pub const UTIME_NOW: i64 = (1 << 30) - 1;
    /// `UTIME_OMIT` for `utimensat`'s `tv_nsec`.
    pub const UTIME_OMIT: i64 = (1 << 30) - 2;

    /// The user-memory bytes.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut b = [0; 16];
        put(&mut b, 0, &self.sec.to_le_bytes());
        put(&mut b, 8, &self.nsec.to_le_bytes());
        b
    }

    /// Reads one from user-memory bytes.
    pub fn from_bytes(b: &[u8; 16]) -> Timespec {
        Timespec {
            sec: get_i64(b, 0),
            nsec: get_i64(b, 8),
        }
    }

    /// Whether `nsec` is in 0..1_000_000_000 and `sec` is not negative (what most syscalls
    /// require; otherwise they fail with `EINVAL`).
    pub fn is_valid(&self) -> bool {
        self.sec >= 0 && (0..1_000_000_000).contains(&self.nsec)
    }

    /// Nanoseconds in total, saturating; `None` if invalid.
    pub fn as_nanos(&self) -> Option<u64> {
        if !self.is_valid() {
            return None;
        }
        Some(
            (self.sec as u64)
                .saturating_mul(1_000_000_000)
                .saturating_add(self.nsec as u64),
        )
    }

    /// From a nanosecond count.
    pub fn from_nanos(ns: u64) -> Timespec {
        Timespec {
            sec: (ns / 1_000_000_000) as i64,
            nsec: (ns % 1_000_000_000) as i64,
        }
    }
}

/// `struct timeval` (16 bytes): `tv_sec` @0, `tv_usec` @8.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timeval {
    /// Seconds.
    pub sec: i64,
    /// Microseconds.
    pub usec: i64,
}

impl Timeval {
    /// Size in user memory.
    pub const SIZE: usize = 16;

    /// The user-memory bytes.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut b = [0; 16];
        put(&mut b, 0, &self.sec.to_le_bytes());
        put(&mut b, 8, &self.usec.to_le_bytes());
        b
    }

    /// Reads one from user-memory bytes.
    pub fn from_bytes(b: &[u8; 16]) -> Timeval {
        Timeval {
            sec: get_i64(b, 0),
            usec: get_i64(b, 8),
        }
    }

    /// Whether `usec` is in 0..1_000_000 and `sec` is not negative.
    pub fn is_valid(&self) -> bool {
        self.sec >= 0 && (0..1_000_000).contains(&self.usec)
    }

    /// From a nanosecond count (truncating to microseconds).
    pub fn from_nanos(ns: u64) -> Timeval {
        Timeval {
            sec: (ns / 1_000_000_000) as i64,
            usec: ((ns % 1_000_000_000) / 1000) as i64,
        }
    }
}

/// Length of each `struct utsname` field, NUL included.
pub const UTSNAME_FIELD_LEN: usize = 65;

/// `struct utsname` (`new_utsname`, 390 bytes): six NUL-padded 65-byte fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Utsname {
    /// "Linux".
    pub sysname: [u8; 65],
    /// Host name.
    pub nodename: [u8; 65],
    /// Kernel release ("6.1.0").
    pub release: [u8; 65],
    /// Kernel version ("#1 SMP ...").
    pub version: [u8; 65],
    /// "x86_64".
    pub machine: [u8; 65],
    /// NIS domain name ("(none)").
    pub domainname: [u8; 65],
}

impl Default for Utsname {
    fn default() -> Self {
        Utsname {
            sysname: [0; 65],
            nodename: [0; 65],
            release: [0; 65],
            version: [0; 65],
            machine: [0; 65],
            domainname: [0; 65],
        }
    }
}

impl Utsname {
    /// Size in user memory.
    pub const SIZE: usize = 6 * UTSNAME_FIELD_LEN;

    /// A field holding `s`, cut at 64 bytes (and at any NUL) so that it stays NUL-terminated.
    pub fn field(s: &[u8]) -> [u8; 65] {
        let mut f = [0; 65];
        for (d, &c) in f.iter_mut().zip(s.iter().take(UTSNAME_FIELD_LEN - 1)) {
            if c == 0 {
                break;
            }
            *d = c;
        }
        f
    }

    /// All six fields from strings (see [`Utsname::field`]).
    pub fn new(
        sysname: &[u8],
        nodename: &[u8],
        release: &[u8],
        version: &[u8],
        machine: &[u8],
        domainname: &[u8],
    ) -> Utsname {
        Utsname {
            sysname: Self::field(sysname),
            nodename: Self::field(nodename),
            release: Self::field(release),
            version: Self::field(version),
            machine: Self::field(machine),
            domainname: Self::field(domainname),
        }
    }

    /// The user-memory bytes.
    pub fn to_bytes(&self) -> [u8; 390] {
        let mut b = [0; 390];
        let fields = [
            &self.sysname,
            &self.nodename,
            &self.release,
            &self.version,
            &self.machine,
            &self.domainname,
        ];
        for (i, f) in fields.into_iter().enumerate() {
            put(&mut b, i * UTSNAME_FIELD_LEN, f);
        }
        b
    }
}

/// "No limit".
pub const RLIM_INFINITY: u64 = u64::MAX;

/// CPU time in seconds.
pub const RLIMIT_CPU: u32 = 0;
/// Largest file size.
pub const RLIMIT_FSIZE: u32 = 1;
/// Data segment size.
pub const RLIMIT_DATA: u32 = 2;
/// Stack size.
pub const RLIMIT_STACK: u32 = 3;
/// Core file size.
pub const RLIMIT_CORE: u32 = 4;
/// Resident set size.
pub const RLIMIT_RSS: u32 = 5;
/// Number of processes (threads) per real uid.
pub const RLIMIT_NPROC: u32 = 6;
/// Number of open files (one more than the highest fd).
pub const RLIMIT_NOFILE: u32 = 7;
/// Locked memory.
pub const RLIMIT_MEMLOCK: u32 = 8;
/// Address space size.
pub const RLIMIT_AS: u32 = 9;
/// File locks.
pub const RLIMIT_LOCKS: u32 = 10;
/// Pending signals.
pub const RLIMIT_SIGPENDING: u32 = 11;
/// Bytes in POSIX message queues.
pub const RLIMIT_MSGQUEUE: u32 = 12;
/// Nice ceiling (20 - limit).
pub const RLIMIT_NICE: u32 = 13;
/// Real-time priority ceiling.
pub const RLIMIT_RTPRIO: u32 = 14;
/// Real-time CPU time without blocking, in microseconds.
pub const RLIMIT_RTTIME: u32 = 15;
/// Number of resources.
pub const RLIM_NLIMITS: usize = 16;

/// `struct rlimit` / `struct rlimit64` (16 bytes): `rlim_cur` @0, `rlim_max` @8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rlimit {
    /// Soft limit.
    pub cur: u64,
    /// Hard limit.
    pub max: u64,
}

impl Rlimit {
    /// Size in user memory.
    pub const SIZE: usize = 16;
    /// No limit at all.
    pub const INFINITY: Rlimit = Rlimit {
        cur: RLIM_INFINITY,
        max: RLIM_INFINITY,
    };

    /// The user-memory bytes.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut b = [0; 16];
        put(&mut b, 0, &self.cur.to_le_bytes());
        put(&mut b, 8, &self.max.to_le_bytes());
        b
    }

    /// Reads one from user-memory bytes.
    pub fn from_bytes(b: &[u8; 16]) -> Rlimit {
        Rlimit {
            cur: get_u64(b, 0),
            max: get_u64(b, 8),
        }
    }
}

/// x86-64 `THREAD_SIZE` (kernel stack, without KASAN): 16 KiB.
pub const THREAD_SIZE: u64 = 16 * 1024;
/// Page size.
pub const PAGE_SIZE: u64 = 4096;
/// `FUTEX_TID_MASK`, Linux's `MAX_THREADS`.
pub const MAX_THREADS: u64 = 0x3fff_ffff;
/// Linux's `MIN_THREADS`.
pub const MIN_THREADS: u64 = 20;
/// Default `RLIMIT_STACK` soft limit (`_STK_LIM`): 8 MiB.
pub const STK_LIM: u64 = 8 * 1024 * 1024;
/// Default `RLIMIT_MEMLOCK` (`MLOCK_LIMIT`, Linux ≥ 5.16): 8 MiB.
pub const MLOCK_LIMIT: u64 = 8 * 1024 * 1024;
/// Default `RLIMIT_MSGQUEUE` (`MQ_BYTES_MAX`).
pub const MQ_BYTES_MAX: u64 = 819_200;
/// Default `RLIMIT_NOFILE` soft limit (`INR_OPEN_CUR`).
pub const INR_OPEN_CUR: u64 = 1024;
/// Default `RLIMIT_NOFILE` hard limit (`INR_OPEN_MAX`).
pub const INR_OPEN_MAX: u64 = 4096;

/// Linux's `max_threads` for a machine with `total_pages` 4 KiB pages of RAM
/// (`kernel/fork.c:set_max_threads`): thread structures may use at most 1/8 of memory.
pub fn max_threads(total_pages: u64) -> u64 {
    // fls64(nr_pages) + fls64(PAGE_SIZE) > 64 means nr_pages * PAGE_SIZE could overflow.
    let fls = |x: u64| 64 - x.leading_zeros();
    let threads = if fls(total_pages) + fls(PAGE_SIZE) > 64 {
        MAX_THREADS
    } else {
        total_pages.saturating_mul(PAGE_SIZE) / (THREAD_SIZE * 8)
    };
    threads.clamp(MIN_THREADS, MAX_THREADS)
}

/// The resource limits Linux gives `init` (`INIT_RLIMITS` plus `fork_init`'s `RLIMIT_NPROC` and
/// `RLIMIT_SIGPENDING` of `max_threads / 2`), indexed by `RLIMIT_*`.
pub fn init_rlimits(total_pages: u64) -> [Rlimit; RLIM_NLIMITS] {
    let half = max_threads(total_pages) / 2;
    let inf = Rlimit::INFINITY;
    let both = |v| Rlimit { cur: v, max: v };
    let mut r = [inf; RLIM_NLIMITS];
    r[RLIMIT_STACK as usize] = Rlimit {
        cur: STK_LIM,
        max: RLIM_INFINITY,
    };
    r[RLIMIT_CORE as usize] = Rlimit {
        cur: 0,
        max: RLIM_INFINITY,
    };
    r[RLIMIT_NPROC as usize] = both(half);
    r[RLIMIT_NOFILE as usize] = Rlimit {
        cur: INR_OPEN_CUR,
        max: INR_OPEN_MAX,
    };
    r[RLIMIT_MEMLOCK as usize] = both(MLOCK_LIMIT);
    r[RLIMIT_SIGPENDING as usize] = both(half);
    r[RLIMIT_MSGQUEUE as usize] = both(MQ_BYTES_MAX);
    r[RLIMIT_NICE as usize] = both(0);
    r[RLIMIT_RTPRIO as usize] = both(0);
    r
}

/// `struct rusage` (144 bytes): two timevals, then 14 longs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rusage {
    /// User CPU time.
    pub utime: Timeval,
    /// System CPU time.
    pub stime: Timeval,
    /// Maximum resident set size, KiB.
    pub maxrss: i64,
    /// Unused by Linux.
    pub ixrss: i64,
    /// Unused by Linux.
    pub idrss: i64,
    /// Unused by Linux.
    pub isrss: i64,
    /// Minor page faults.
    pub minflt: i64,
    /// Major page faults.
    pub majflt: i64,
    /// Unused by Linux.
    pub nswap: i64,
    /// Block input operations.
    pub inblock: i64,
    /// Block output operations.
    pub oublock: i64,
    /// Unused by Linux.
    pub msgsnd: i64,
    /// Unused by Linux.
    pub msgrcv: i64,
    /// Unused by Linux.
    pub nsignals: i64,
    /// Voluntary context switches.
    pub nvcsw: i64,
    /// Involuntary context switches.
    pub nivcsw: i64,
}

/// `getrusage` who: the calling process.
pub const RUSAGE_SELF: i32 = 0;
/// `getrusage` who: waited-for children.
pub const RUSAGE_CHILDREN: i32 = -1;
/// `getrusage` who: the calling thread.
pub const RUSAGE_THREAD: i32 = 1;

impl Rusage {
    /// Size in user memory.
    pub const SIZE: usize = 144;

    fn longs(&self) -> [i64; 14] {
        [
            self.maxrss,
            self.ixrss,
            self.idrss,
            self.isrss,
            self.minflt,
            self.majflt,
            self.nswap,
            self.inblock,
            self.oublock,
            self.msgsnd,
            self.msgrcv,
            self.nsignals,
            self.nvcsw,
            self.nivcsw,
        ]
    }

    /// The user-memory bytes.
    pub fn to_bytes(&self) -> [u8; 144] {
        let mut b = [0; 144];
        put(&mut b, 0, &self.utime.to_bytes());
        put(&mut b, 16, &self.stime.to_bytes());
        for (i, v) in self.longs().into_iter().enumerate() {
            put(&mut b, 32 + 8 * i, &v.to_le_bytes());
        }
        b
    }

    /// Reads one from user-memory bytes.
    pub fn from_bytes(b: &[u8; 144]) -> Rusage {
        let l = |i: usize| get_i64(b, 32 + 8 * i);
        Rusage {
            utime: Timeval {
                sec: get_i64(b, 0),
                usec: get_i64(b, 8),
            },
            stime: Timeval {
                sec: get_i64(b, 16),
                usec: get_i64(b, 24),
            },
            maxrss: l(0),
            ixrss: l(1),
            idrss: l(2),
            isrss: l(3),
            minflt: l(4),
            majflt: l(5),
            nswap: l(6),
            inblock: l(7),
            oublock: l(8),
            msgsnd: l(9),
            msgrcv: l(10),
            nsignals: l(11),
            nvcsw: l(12),
            nivcsw: l(13),
        }
    }
}

/// `struct tms` (32 bytes), in clock ticks (`USER_HZ` = 100).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tms {
    /// User time.
    pub utime: i64,
    /// System time.
    pub stime: i64,
    /// User time of waited-for children.
    pub cutime: i64,
    /// System time of waited-for children.
    pub cstime: i64,
}

impl Tms {
    /// Size in user memory.
    pub const SIZE: usize = 32;

    /// The user-memory bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut b = [0; 32];
        for (i, v) in [self.utime, self.stime, self.cutime, self.cstime]
            .into_iter()
            .enumerate()
        {
            put(&mut b, 8 * i, &v.to_le_bytes());
        }
        b
    }

    /// Reads one from user-memory bytes.
    pub fn from_bytes(b: &[u8; 32]) -> Tms {
        Tms {
            utime: get_i64(b, 0),
            stime: get_i64(b, 8),
            cutime: get_i64(b, 16),
            cstime: get_i64(b, 24),
        }
    }
}

/// x86-64 `struct stat` (144 bytes), as `stat`/`fstat`/`lstat`/`newfstatat` return it.
///
/// Offsets: `st_dev` 0, `st_ino` 8, `st_nlink` 16, `st_mode` 24, `st_uid` 28, `st_gid` 32,
/// padding 36, `st_rdev` 40, `st_size` 48, `st_blksize` 56, `st_blocks` 64, `st_atime` 72/80,
/// `st_mtime` 88/96, `st_ctime` 104/112, 3 reserved longs 120..144.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stat {
    /// Device of the file system.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Hard link count (64-bit on x86-64, and it comes before `st_mode`).
    pub nlink: u64,
    /// File type and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device this file represents (for device files).
    pub rdev: u64,
    /// Size in bytes.
    pub size: i64,
    /// Preferred I/O block size.
    pub blksize: i64,
    /// Allocated 512-byte blocks.
    pub blocks: i64,
    /// Last access.
    pub atime: Timespec,
    /// Last modification.
    pub mtime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
}

impl Stat {
    /// Size in user memory.
    pub const SIZE: usize = 144;

    /// The user-memory bytes.
    pub fn to_bytes(&self) -> [u8; 144] {
        let mut b = [0; 144];
        put(&mut b, 0, &self.dev.to_le_bytes());
        put(&mut b, 8, &self.ino.to_le_bytes());
        put(&mut b, 16, &self.nlink.to_le_bytes());
        put(&mut b, 24, &self.mode.to_le_bytes());
        put(&mut b, 28, &self.uid.to_le_bytes());
        put(&mut b, 32, &self.gid.to_le_bytes());
        put(&mut b, 40, &self.rdev.to_le_bytes());
        put(&mut b, 48, &self.size.to_le_bytes());
        put(&mut b, 56, &self.blksize.to_le_bytes());
        put(&mut b, 64, &self.blocks.to_le_bytes());
        put(&mut b, 72, &self.atime.to_bytes());
        put(&mut b, 88, &self.mtime.to_bytes());
        put(&mut b, 104, &self.ctime.to_bytes());
        b
    }

    /// Reads one from user-memory bytes.
    pub fn from_bytes(b: &[u8; 144]) -> Stat {
        let ts = |off| Timespec {
            sec: get_i64(b, off),
            nsec: get_i64(b, off + 8),
        };
        Stat {
            dev: get_u64(b, 0),
            ino: get_u64(b, 8),
            nlink: get_u64(b, 16),
            mode: get_u32(b, 24),
            uid: get_u32(b, 28),
            gid: get_u32(b, 32),
            rdev: get_u64(b, 40),
            size: get_i64(b, 48),
            blksize: get_i64(b, 56),
            blocks: get_i64(b, 64),
            atime: ts(72),
            mtime: ts(88),
            ctime: ts(104),
        }
    }
}

/// `si_code`: sent by `kill`/`raise`.
pub const SI_USER: i32 = 0;
/// `si_code`: sent by the kernel.
pub const SI_KERNEL: i32 = 0x80;
/// `si_code`: sent by `sigqueue`.
pub const SI_QUEUE: i32 = -1;
/// `si_code`: POSIX timer expiry.
pub const SI_TIMER: i32 = -2;
/// `si_code`: sent by `tkill`/`tgkill`.
pub const SI_TKILL: i32 = -6;
/// `SIGSEGV` `si_code`: address not mapped.
pub const SEGV_MAPERR: i32 = 1;
/// `SIGSEGV` `si_code`: access not permitted by the mapping.
pub const SEGV_ACCERR: i32 = 2;
/// `SIGBUS` `si_code`: misaligned address.
pub const BUS_ADRALN: i32 = 1;
/// `SIGBUS` `si_code`: address beyond the end of the object (file).
pub const BUS_ADRERR: i32 = 2;
/// `SIGILL` `si_code`: illegal opcode.
pub const ILL_ILLOPN: i32 = 2;
/// `SIGFPE` `si_code`: integer divide by zero.
pub const FPE_INTDIV: i32 = 1;
/// `SIGTRAP` `si_code`: breakpoint.
pub const TRAP_BRKPT: i32 = 1;
/// `SIGSYS` `si_code`: seccomp.
pub const SYS_SECCOMP: i32 = 1;

/// The part of a `siginfo_t` after `si_code` (the union at offset 16), by signal kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SigFields {
    /// All zero.
    #[default]
    None,
    /// `kill`, `tkill`: `si_pid` @16, `si_uid` @20.
    Kill {
        /// Sender pid.
        pid: i32,
        /// Sender real uid.
        uid: u32,
    },
    /// POSIX timers: `si_tid` @16, `si_overrun` @20, `si_value` @24.
    Timer {
        /// Timer id.
        tid: i32,
        /// Overrun count.
        overrun: i32,
        /// `sigval` (int or pointer).
        value: u64,
    },
    /// `sigqueue`: `si_pid` @16, `si_uid` @20, `si_value` @24.
    Rt {
        /// Sender pid.
        pid: i32,
        /// Sender real uid.
        uid: u32,
        /// `sigval` (int or pointer).
        value: u64,
    },
    /// `SIGCHLD` and `waitid`: `si_pid` @16, `si_uid` @20, `si_status` @24, `si_utime` @32,
    /// `si_stime` @40.
    Child {
        /// Child pid.
        pid: i32,
        /// Child real uid.
        uid: u32,
        /// Exit code or signal number.
        status: i32,
        /// User time in clock ticks.
        utime: i64,
        /// System time in clock ticks.
        stime: i64,
    },
    /// `SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`, `SIGTRAP`: `si_addr` @16, `si_addr_lsb` @24.
    Fault {
        /// Faulting address.
        addr: u64,
        /// Least significant bit of the reported address (`BUS_MCEERR_*`), usually 0.
        addr_lsb: i16,
    },
    /// `SIGPOLL`/`SIGIO`: `si_band` @16, `si_fd` @24.
    Poll {
        /// Band event (`POLL_*` bits).
        band: i64,
        /// File descriptor.
        fd: i32,
    },
    /// `SIGSYS` from seccomp: `si_call_addr` @16, `si_syscall` @24, `si_arch` @28.
    Sys {
        /// Address of the system call instruction.
        call_addr: u64,
        /// System call number.
        syscall: i32,
        /// `AUDIT_ARCH_*`.
        arch: u32,
    },
}

/// `siginfo_t` (128 bytes): `si_signo` @0, `si_errno` @4, `si_code` @8, padding @12, then the
/// union at 16 (see [`SigFields`]), zero-filled to 128 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Siginfo {
    /// Signal number.
    pub signo: i32,
    /// Error number (normally 0).
    pub errno: i32,
    /// `SI_*`, `CLD_*`, `SEGV_*`, ...
    pub code: i32,
    /// Signal-specific fields.
    pub fields: SigFields,
}

impl Siginfo {
    /// Size in user memory.
    pub const SIZE: usize = 128;

    /// The `waitid` result for child `pid` (owned by `uid`) that reached `state`; times in clock
    /// ticks.
    pub fn child(
        pid: i32,
        uid: u32,
        state: crate::wait::WaitStatus,
        utime: i64,
        stime: i64,
    ) -> Siginfo {
        let (code, status) = state.siginfo_code_status();
        Siginfo {
            signo: 17,
            errno: 0,
            code,
            fields: SigFields::Child {
                pid,
                uid,
                status,
                utime,
                stime,
            },
        }
    }

    /// The user-memory bytes.
    pub fn to_bytes(&self) -> [u8; 128] {
        let mut b = [0; 128];
        put(&mut b, 0, &self.signo.to_le_bytes());
        put(&mut b, 4, &self.errno.to_le_bytes());
        put(&mut b, 8, &self.code.to_le_bytes());
        match self.fields {
            SigFields::None => {}
            SigFields::Kill { pid, uid } => {
                put(&mut b, 16, &pid.to_le_bytes());
                put(&mut b, 20, &uid.to_le_bytes());
            }
            SigFields::Timer {
                tid,
                overrun,
                value,
            } => {
                put(&mut b, 16, &tid.to_le_bytes());
                put(&mut b, 20, &overrun.to_le_bytes());
                put(&mut b, 24, &value.to_le_bytes());
            }
            SigFields::Rt { pid, uid, value } => {
                put(&mut b, 16, &pid.to_le_bytes());
                put(&mut b, 20, &uid.to_le_bytes());
                put(&mut b, 24, &value.to_le_bytes());
            }
            SigFields::Child {
                pid,
                uid,
                status,
                utime,
                stime,
            } => {
                put(&mut b, 16, &pid.to_le_bytes());
                put(&mut b, 20, &uid.to_le_bytes());
                put(&mut b, 24, &status.to_le_bytes());
                put(&mut b, 32, &utime.to_le_bytes());
                put(&mut b, 40, &stime.to_le_bytes());
            }
            SigFields::Fault { addr, addr_lsb } => {
                put(&mut b, 16, &addr.to_le_bytes());
                put(&mut b, 24, &addr_lsb.to_le_bytes());
            }
            SigFields::Poll { band, fd } => {
                put(&mut b, 16, &band.to_le_bytes());
                put(&mut b, 24, &fd.to_le_bytes());
            }
            SigFields::Sys {
                call_addr,
                syscall,
                arch,
            } => {
                put(&mut b, 16, &call_addr.to_le_bytes());
                put(&mut b, 24, &syscall.to_le_bytes());
                put(&mut b, 28, &arch.to_le_bytes());
            }
        }
        b
    }

    /// Reads the header and the `SIGCHLD` fields (what `waitid` returns) from user-memory bytes.
    pub fn child_from_bytes(b: &[u8; 128]) -> Siginfo {
        Siginfo {
            signo: get_i32(b, 0),
            errno: get_i32(b, 4),
            code: get_i32(b, 8),
            fields: SigFields::Child {
                pid: get_i32(b, 16),
                uid: get_u32(b, 20),
                status: get_i32(b, 24),
                utime: get_i64(b, 32),
                stime: get_i64(b, 40),
            },
        }
    }
}

#[cfg(test)]
mod tests;
