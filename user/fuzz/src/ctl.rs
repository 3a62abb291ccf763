//! The control block the parent shares with every worker (a `MAP_SHARED` anonymous mapping made
//! before the first fork): call counters, the live workers' pids (so siblings can signal each
//! other), the last call each worker made (named when a worker will not die), and a registry of
//! every process the workers fork, so the parent can kill what a dead worker left behind.
//! Workers never let a fuzzed memory call touch it (see `pools::Pools::protected`).

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering::Relaxed};

pub const SLOTS: usize = 16;
pub const REGISTRY: usize = 2048;

#[repr(C)]
pub struct Ctl {
    /// Calls made by the workers that ran in each slot.
    pub calls: [AtomicU64; SLOTS],
    /// The pid of the worker in each slot (0: none).
    pub pids: [AtomicI32; SLOTS],
    /// The call a slot's worker made last (number and six arguments).
    pub last: [[AtomicU64; 7]; SLOTS],
    pub forks: AtomicU64,
    pub threads: AtomicU64,
    pub clones: AtomicU64,
    pub handled: AtomicU64,
    /// Processes forked by workers (and their children): pid and the owning worker's index
    /// plus one (0: a free entry).
    pub reg_pid: [AtomicI32; REGISTRY],
    pub reg_owner: [AtomicU64; REGISTRY],
}

impl Ctl {
    /// Map a zeroed control block shared with every future child.
    pub fn map() -> Option<&'static Ctl> {
        let len = std::mem::size_of::<Ctl>().next_multiple_of(4096);
        // SAFETY: a fresh anonymous mapping; all-zero bytes are a valid `Ctl` (atomics).
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        // SAFETY: the mapping lives as long as the process and is only accessed atomically.
        Some(unsafe { &*(p as *const Ctl) })
    }

    pub fn range(&self) -> (u64, u64) {
        let start = self as *const Ctl as u64;
        (
            start,
            start + std::mem::size_of::<Ctl>().next_multiple_of(4096) as u64,
        )
    }

    pub fn total_calls(&self) -> u64 {
        self.calls.iter().map(|c| c.load(Relaxed)).sum()
    }

    /// Note a forked process (a free entry, or none if the registry is full: such a process
    /// still ends by itself, its call budget being bounded).
    pub fn register(&self, pid: i32, owner: u64) {
        for i in 0..REGISTRY {
            if self.reg_pid[i]
                .compare_exchange(0, pid, Relaxed, Relaxed)
                .is_ok()
            {
                self.reg_owner[i].store(owner + 1, Relaxed);
                return;
            }
        }
    }

    /// SIGKILL every registered process of worker `owner` (all with `None`) and forget them.
    pub fn kill_owned(&self, owner: Option<u64>) -> usize {
        let mut n = 0;
        for i in 0..REGISTRY {
            let pid = self.reg_pid[i].load(Relaxed);
            // SAFETY: getpid has no arguments.
            if pid <= 1 || pid == unsafe { libc::getpid() } {
                continue;
            }
            let o = self.reg_owner[i].load(Relaxed);
            if owner.is_none_or(|w| o == w + 1) {
                // SAFETY: kill has no memory arguments; the pid is one of ours (> 1).
                unsafe { libc::kill(pid, libc::SIGKILL) };
                self.reg_owner[i].store(0, Relaxed);
                self.reg_pid[i].store(0, Relaxed);
                n += 1;
            }
        }
        n
    }

    pub fn set_last(&self, slot: usize, nr: u64, a: &[u64; 6]) {
        let l = &self.last[slot % SLOTS];
        l[0].store(nr, Relaxed);
        for (i, v) in a.iter().enumerate() {
            l[i + 1].store(*v, Relaxed);
        }
    }

    pub fn last(&self, slot: usize) -> [u64; 7] {
        let l = &self.last[slot % SLOTS];
        std::array::from_fn(|i| l[i].load(Relaxed))
    }
}
