//! Argument pools: where the fuzzer's arguments come from. Every kind mixes ordinary values
//! with adversarial ones — NULL, kernel and non-canonical addresses, pointers that run off the
//! end of a mapping, closed and huge descriptors, zero and huge lengths.
//!
//! What a worker may touch is bounded so that only the worker (and never the test) can go
//! down: paths given to calls that change the file system are names relative to the worker's
//! scratch directory (no `..`, symbolic links only to such names), descriptors those calls
//! take were opened from such names, and memory calls never reach the control block or the
//! worker's own argument structures (`protected`).

use crate::ctl::Ctl;
use crate::rng::Rng;

pub const PAGE: u64 = 4096;
/// The scratch mapping fuzzed calls read, write, unmap and protect.
pub const SCRATCH_PAGES: u64 = 16;
/// Prepared argument structures (timespecs, iovecs, sigactions, ...) and the alternate signal
/// stack: memory calls are kept away from it.
pub const STRUCT_PAGES: u64 = 8;

/// Addresses no user pointer may reach: the kernel image, the direct map, kernel stacks, the
/// non-canonical hole, the last bytes below it, the top of the address space.
pub const BAD_PTRS: &[u64] = &[
    1,
    0xfff,
    0x1000,
    0xffff_ffff_8000_0000,
    0xffff_ffff_8020_0000,
    0xffff_8000_0000_0000,
    0xffff_8000_0010_0000,
    0xffff_c000_0000_0000,
    0x0000_8000_0000_0000,
    0x0000_7fff_ffff_fff8,
    0x0000_7fff_ffff_f000,
    0x8000_0000_0000_0000,
    0xdead_beef_dead_beef,
    u64::MAX,
    u64::MAX - 4095,
    0xffff_ffff_ffff_f000,
];

pub const LENS: &[u64] = &[
    0,
    1,
    2,
    7,
    8,
    16,
    64,
    100,
    4095,
    4096,
    4097,
    8192,
    65536,
    1 << 20,
    1 << 24,
    1 << 31,
    (1 << 32) - 1,
    1 << 32,
    i64::MAX as u64,
    u64::MAX,
    u64::MAX - 1,
];

pub const INTS: &[u64] = &[
    0,
    1,
    2,
    3,
    4,
    -1i64 as u64,
    -2i64 as u64,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    i64::MIN as u64,
    i64::MAX as u64,
    0x1000,
    -100i64 as u64,
];

/// Names in the scratch directory (the only paths calls that change the tree get).
pub const REL: &[&[u8]] = &[
    b"f0\0",
    b"f1\0",
    b"f2\0",
    b"d0\0",
    b"d1\0",
    b"d0/f0\0",
    b"d0/d1\0",
    b"d0/d1/f0\0",
    b"l0\0",
    b"l1\0",
    b"p0\0",
    b"s0\0",
    b"\0",
    b".\0",
    b"nonexist/f0\0",
    b"d0/\0",
    b"f0/\0",
    b"l0/\0",
    b"l0/f0\0",
];

/// Paths outside the scratch directory, for calls that only look (stat, readlink, access,
/// read-only opens).
pub const ABS: &[&[u8]] = &[
    b"/\0",
    b"/proc/self/maps\0",
    b"/proc/self/status\0",
    b"/proc/self/stat\0",
    b"/proc/self/statm\0",
    b"/proc/self/fd\0",
    b"/proc/self/fd/0\0",
    b"/proc/self/fd/3\0",
    b"/proc/self/cwd\0",
    b"/proc/self/cmdline\0",
    b"/proc/self/environ\0",
    b"/proc/self/mounts\0",
    b"/proc/self/comm\0",
    b"/proc/meminfo\0",
    b"/proc/tine/vm\0",
    b"/proc/mounts\0",
    b"/proc/1/status\0",
    b"/proc/1/maps\0",
    b"/proc/stat\0",
    b"/proc/uptime\0",
    b"/proc/loadavg\0",
    b"/proc/cpuinfo\0",
    b"/proc/thread-self\0",
    b"/proc/self/fd/999\0",
    b"/proc\0",
    b"/dev\0",
    b"/nonexistent\0",
    b"/tmp\0",
    b"/dev/null\0",
];

/// Devices a worker may open for writing too.
pub const DEVS: &[&[u8]] = &[
    b"/dev/null\0",
    b"/dev/zero\0",
    b"/dev/full\0",
    b"/dev/urandom\0",
    b"/dev/random\0",
    b"/dev/ptmx\0",
    b"/dev/pts/0\0",
    b"/dev/pts/1\0",
];

/// Symbolic-link targets: scratch names, or nothing that exists.
pub const LINK_TARGETS: &[&[u8]] = &[
    b"f0\0",
    b"d0\0",
    b"l0\0",
    b"l1\0",
    b"d0/f0\0",
    b"nonexist\0",
    b"/nonexistent\0",
    b"\0",
];

/// Descriptors for files outside the scratch directory (read-only opens, devices) are moved
/// to `HIGH_FD` and above at once; below it every descriptor names something a worker may
/// change (a scratch file or directory, a pipe, socket, eventfd, epoll or memfd). The rule
/// goes by number, so it holds across a worker's threads, which share one descriptor table.
pub const HIGH_FD: i32 = 512;

#[derive(Clone, Copy)]
pub struct Fd {
    pub fd: i32,
    /// Below `HIGH_FD`: calls that write or change attributes may use it.
    pub mutable: bool,
}

impl Fd {
    pub fn new(fd: i32) -> Fd {
        Fd {
            fd,
            mutable: fd < HIGH_FD,
        }
    }
}

/// One worker thread's view: generator, memory, descriptors, children.
#[derive(Clone)]
pub struct Pools {
    pub rng: Rng,
    pub ctl: &'static Ctl,
    pub slot: usize,
    pub index: u64,
    /// 0: the worker itself; 1, 2: processes it forked.
    pub depth: u32,
    /// The worker process's first thread (records its calls in the control block).
    pub main: bool,
    pub scratch: u64,
    pub structs: u64,
    pub fds: Vec<Fd>,
    pub closed: Vec<i32>,
    pub children: Vec<i32>,
    pub shm_ids: Vec<i32>,
    pub shm_at: Vec<u64>,
    pub timer_ids: Vec<i32>,
    pub long_name: Vec<u8>,
    pub long_path: Vec<u8>,
    pub restorer: u64,
    pub handler: u64,
    pub text: u64,
    pub forks: u32,
    pub threads: u32,
}

impl Pools {
    pub fn scratch_len(&self) -> u64 {
        SCRATCH_PAGES * PAGE
    }

    /// Ranges fuzzed memory calls must leave alone.
    pub fn protected(&self) -> [(u64, u64); 2] {
        [
            self.ctl.range(),
            (self.structs, self.structs + STRUCT_PAGES * PAGE),
        ]
    }

    /// Whether `[addr, addr + len)` (len rounded to pages, at least one) meets a protected
    /// range.
    pub fn hits_protected(&self, addr: u64, len: u64) -> bool {
        let start = addr & !(PAGE - 1);
        let end = addr.saturating_add(len.max(1)).saturating_add(PAGE - 1) & !(PAGE - 1);
        let end = if end <= start { u64::MAX } else { end };
        self.protected().iter().any(|&(s, e)| start < e && s < end)
    }

    pub fn int(&self) -> u64 {
        match self.rng.below(8) {
            0..=2 => self.rng.below(65),
            3 => self.rng.next() & 0xffff_ffff,
            4 => self.rng.next(),
            5 => 1u64 << self.rng.below(64),
            _ => self.rng.pick(INTS),
        }
    }

    pub fn len(&self) -> u64 {
        match self.rng.below(10) {
            0..=5 => self.rng.pick(LENS),
            6 | 7 => self.rng.below(8193),
            8 => self.rng.below(1 << 17),
            _ => self.rng.next(),
        }
    }

    pub fn flags(&self) -> u64 {
        match self.rng.below(6) {
            0 => 0,
            1 => u64::MAX,
            2 => 1 << self.rng.below(32),
            3 => self.rng.next() & 0xffff_ffff,
            _ => self.rng.next() & self.rng.next() & 0xffff_ffff,
        }
    }

    /// A pointer for a buffer the kernel reads or writes.
    pub fn buf(&self) -> u64 {
        let s = self.scratch;
        let n = self.scratch_len();
        match self.rng.below(24) {
            0..=6 => s + self.rng.below(SCRATCH_PAGES) * PAGE,
            7..=9 => s + self.rng.below(n),
            10 | 11 => s + n - 1 - self.rng.below(64),
            12 => s + n + self.rng.below(2) * PAGE,
            13 | 14 => self.structs + self.rng.below(4 * PAGE),
            15 => 0,
            16..=18 => self.rng.pick(BAD_PTRS),
            19 => self.text,
            20 => self.rng.next() & 0x7fff_ffff_f000,
            21 => self.rng.next(),
            _ => s,
        }
    }

    /// A pointer that is NULL or bad (no valid memory).
    pub fn bad(&self) -> u64 {
        match self.rng.below(4) {
            0 => 0,
            1 => self.scratch + self.scratch_len() - 1, // runs into the unmapped page after
            _ => self.rng.pick(BAD_PTRS),
        }
    }

    pub fn live_fd(&self) -> Option<Fd> {
        if self.fds.is_empty() {
            None
        } else {
            let i = self.rng.below(self.fds.len() as u64) as usize;
            Some(self.fds[i])
        }
    }

    fn bad_fd(&self) -> u64 {
        match self.rng.below(8) {
            0 => -1i64 as u64,
            1 => self
                .rng
                .pick(&[1000u64, 1023, 1024, 1 << 20, 0x7fff_ffff, 4096]),
            2 => -100i64 as u64,
            3 => self.rng.next(),
            4 => self.rng.below(3),
            5 => self.rng.below(70),
            _ => match self.closed.is_empty() {
                true => 63,
                false => {
                    let i = self.rng.below(self.closed.len() as u64) as usize;
                    self.closed[i] as u64
                }
            },
        }
    }

    /// Any descriptor: mostly open ones.
    pub fn fd(&self) -> u64 {
        if self.rng.chance(7, 10)
            && let Some(f) = self.live_fd()
        {
            return f.fd as u64;
        }
        self.bad_fd()
    }

    /// A descriptor for calls that write or change attributes: a scratch one (below
    /// `HIGH_FD`) or one that cannot be open.
    pub fn mfd(&self) -> u64 {
        if self.rng.chance(3, 4) {
            let m: Vec<Fd> = self.fds.iter().copied().filter(|f| f.mutable).collect();
            if !m.is_empty() {
                return m[self.rng.below(m.len() as u64) as usize].fd as u64;
            }
        }
        self.rng.pick(&[
            -1i64 as u64,
            -2i64 as u64,
            1 << 20,
            0x7fff_ffff,
            0x8000_0000,
            u64::MAX,
        ])
    }

    /// A directory descriptor for *at calls that change the tree.
    pub fn dirfd(&self) -> u64 {
        if self.rng.chance(1, 2) {
            -100i64 as u64 // AT_FDCWD
        } else {
            self.mfd()
        }
    }

    /// A directory descriptor for *at calls that only look.
    pub fn any_dirfd(&self) -> u64 {
        if self.rng.chance(1, 3) {
            -100i64 as u64
        } else {
            self.fd()
        }
    }

    /// A path pointer, or a bad pointer (NULL, kernel, unterminated).
    fn path_from(&self, set: &[&'static [u8]]) -> u64 {
        match self.rng.below(20) {
            0 => self.bad(),
            1 => self.scratch, // random bytes, maybe unterminated within PATH_MAX
            2 => self.long_name.as_ptr() as u64,
            3 => self.long_path.as_ptr() as u64,
            _ => self.rng.pick(set).as_ptr() as u64,
        }
    }

    /// A scratch name (for calls that change the tree).
    pub fn path(&self) -> u64 {
        self.path_from(REL)
    }

    /// Any path (for calls that only look).
    pub fn rpath(&self) -> u64 {
        if self.rng.chance(1, 2) {
            self.path_from(ABS)
        } else {
            self.path_from(REL)
        }
    }

    pub fn link_target(&self) -> u64 {
        match self.rng.below(10) {
            0 => self.bad(),
            1 => self.long_name.as_ptr() as u64,
            _ => self.rng.pick(LINK_TARGETS).as_ptr() as u64,
        }
    }

    pub fn mode(&self) -> u64 {
        self.rng.pick(&[
            0,
            0o644,
            0o755,
            0o777,
            0o7777,
            0o4755,
            0o1777,
            0xffff_ffff,
            self.rng.next() & 0xffff,
        ])
    }

    pub fn sig(&self) -> u64 {
        match self.rng.below(12) {
            0 => 0,
            1 => self.rng.pick(&[65u64, 128, -1i64 as u64, 0x1_0000_000a]),
            2..=4 => self.rng.pick(&[
                libc::SIGALRM as u64,
                libc::SIGUSR1 as u64,
                libc::SIGUSR2 as u64,
                libc::SIGCHLD as u64,
                libc::SIGWINCH as u64,
                libc::SIGCONT as u64,
                libc::SIGPIPE as u64,
            ]),
            5 => 34 + self.rng.below(31),
            _ => 1 + self.rng.below(64),
        }
    }

    /// A pid for calls that are not signals: this process, a child, 0, -1 or none.
    pub fn pid(&self) -> u64 {
        // SAFETY: getpid has no arguments.
        let me = unsafe { libc::getpid() } as u64;
        match self.rng.below(10) {
            0..=3 => me,
            4 | 5 => self.child().unwrap_or(me),
            6 => 0,
            7 => -1i64 as u64,
            8 => 0x3fff_fff0,
            // Above any pid_max: nobody.
            _ => (self.rng.next() & 0x0fff_ffff) | 0x2000_0000,
        }
    }

    pub fn child(&self) -> Option<u64> {
        if self.children.is_empty() {
            None
        } else {
            let i = self.rng.below(self.children.len() as u64) as usize;
            Some(self.children[i] as u64)
        }
    }

    /// A signal target: this process, its own children, a sibling worker, or nobody — never
    /// the parent, pid 1, 0 or -1 (those would take the test down, not the kernel).
    pub fn kill_target(&self) -> u64 {
        // SAFETY: getpid has no arguments.
        let me = unsafe { libc::getpid() };
        let t = match self.rng.below(10) {
            0..=3 => me,
            4 | 5 => self.child().map_or(me, |c| c as i32),
            6 | 7 => {
                let s = self.ctl.pids[self.rng.below(crate::ctl::SLOTS as u64) as usize]
                    .load(std::sync::atomic::Ordering::Relaxed);
                if s > 1 { s } else { me }
            }
            8 => -me, // its own process group, if it still leads one
            _ => 0x3fff_fff0,
        };
        // SAFETY: getppid has no arguments.
        let parent = unsafe { libc::getppid() };
        if t == 0 || t == 1 || t == -1 || t == -parent || t == parent {
            me as u64
        } else {
            t as u64 & 0xffff_ffff
        }
    }

    /// An address for memory calls (mmap hints, munmap, mprotect, ...).
    pub fn addr(&self) -> u64 {
        let s = self.scratch;
        match self.rng.below(16) {
            0..=6 => s + self.rng.below(SCRATCH_PAGES + 2) * PAGE,
            7 => s + 1 + self.rng.below(PAGE - 1),
            8 => 0,
            9 => self
                .rng
                .pick(&[0x1000u64, 0x10000, 0x40_0000, 0x7fff_ffff_f000]),
            10 | 11 => self.rng.pick(BAD_PTRS),
            12 => self.rng.next() & 0x7fff_ffff_f000,
            13 => self.structs,
            _ => s,
        }
    }

    pub fn mlen(&self) -> u64 {
        match self.rng.below(10) {
            0..=4 => self.rng.below(SCRATCH_PAGES + 2) * PAGE,
            5 => self.rng.pick(&[0u64, 1, 4095, 4097, PAGE * 3 + 1]),
            6 => self.rng.pick(&[1u64 << 20, 1 << 30, 1 << 40, 1 << 47]),
            7 => self
                .rng
                .pick(&[u64::MAX, u64::MAX - 4095, i64::MAX as u64, 1 << 63]),
            _ => self.rng.below(1 << 22),
        }
    }

    /// Write a value into the argument structures at `off` and return its address.
    pub fn put(&self, off: u64, words: &[u64]) -> u64 {
        let p = (self.structs + off) as *mut u64;
        for (i, w) in words.iter().enumerate() {
            // SAFETY: `off` plus the words lie inside the structs mapping, which memory calls
            // never unmap or protect.
            unsafe { p.add(i).write_volatile(*w) };
        }
        p as u64
    }
}
