//! A worker: one forked process that makes a seeded sequence of random system calls. It
//! leads its own session, talks to /dev/null, works in its own scratch directory, catches the
//! usual signals (with random flags, on an alternate stack) and has SIGALRM arrive every few
//! milliseconds, so blocking calls are interrupted mid-way. Now and then it forks a child that
//! fuzzes too (two levels deep at most) or starts a thread that does; whatever kills or stops
//! it ends only this worker — the parent kills it at its deadline anyway.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::calls::{self, ALTSTACK_LEN, O_ALTSTACK};
use crate::ctl::Ctl;
use crate::pools::{Fd, PAGE, Pools, SCRATCH_PAGES, STRUCT_PAGES};
use crate::raw::sys;
use crate::rng::Rng;

pub struct Params {
    pub slot: usize,
    pub index: u64,
    pub seed: u64,
    pub calls: u64,
    pub dir: String,
}

/// The control block, for the signal handler.
static CTL: AtomicU64 = AtomicU64::new(0);

extern "C" fn handler(_sig: libc::c_int) {
    let p = CTL.load(Relaxed);
    if p != 0 {
        // SAFETY: set once to the control block, which stays mapped.
        unsafe { (*(p as *const Ctl)).handled.fetch_add(1, Relaxed) };
    }
}

/// The worker's memory, reserved in one piece so that nothing else sits next to it:
/// a guard page, the scratch pages, three guard pages (pointers drawn for buffers reach up to
/// two pages past the scratch end), the structs pages, a guard page. Guards are PROT_NONE
/// mappings, not holes, so no later mapping lands there by itself. Returns (scratch, structs).
fn map_memory() -> (u64, u64) {
    let total = 1 + SCRATCH_PAGES + 3 + STRUCT_PAGES + 1;
    // SAFETY: a fresh private anonymous reservation.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            (total * PAGE) as usize,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        // SAFETY: _exit has no preconditions.
        unsafe { libc::_exit(3) };
    }
    let base = p as u64;
    let scratch = base + PAGE;
    let structs = scratch + (SCRATCH_PAGES + 3) * PAGE;
    for (at, pages) in [(scratch, SCRATCH_PAGES), (structs, STRUCT_PAGES)] {
        // SAFETY: parts of the reservation just made.
        let r = unsafe {
            libc::mprotect(
                at as *mut libc::c_void,
                (pages * PAGE) as usize,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if r != 0 {
            // SAFETY: _exit has no preconditions.
            unsafe { libc::_exit(3) };
        }
    }
    (scratch, structs)
}

/// SIGALRM every 1–15 ms of real time.
fn start_alarm(rng: &Rng) {
    let us = 1000 + rng.below(14_000) as i64;
    let t = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: us,
        },
        it_value: libc::timeval {
            tv_sec: 0,
            tv_usec: us,
        },
    };
    // SAFETY: `t` is a valid itimerval.
    unsafe { libc::setitimer(libc::ITIMER_REAL, &t, std::ptr::null_mut()) };
}

fn install_handlers(rng: &Rng) {
    let mut sigs = vec![
        libc::SIGALRM,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGWINCH,
        libc::SIGCONT,
        libc::SIGPIPE,
        libc::SIGCHLD,
        libc::SIGHUP,
        libc::SIGTTIN,
        libc::SIGTTOU,
        libc::SIGTSTP,
        libc::SIGIO,
    ];
    sigs.extend(34..=64);
    for sig in sigs {
        let mut flags = 0;
        for f in [
            libc::SA_RESTART,
            libc::SA_NODEFER,
            libc::SA_ONSTACK,
            libc::SA_SIGINFO,
        ] {
            if rng.chance(1, 2) {
                flags |= f;
            }
        }
        // SAFETY: an all-zero sigaction is valid; the handler is async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as *const () as usize;
            sa.sa_flags = flags;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// The worker's set-up, then its calls; never returns.
pub fn run(ctl: &'static Ctl, prm: Params) -> ! {
    CTL.store(ctl as *const Ctl as u64, Relaxed);
    let rng = Rng::new(prm.seed);
    // SAFETY: plain system calls on this process's own state.
    unsafe {
        libc::setsid();
        let empty: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        for fd in 0..3 {
            libc::close(fd);
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null == 0 {
            libc::dup2(0, 1);
            libc::dup2(0, 2);
        }
        for fd in 3..1024 {
            libc::close(fd);
        }
    }
    let dir = format!("{}/w{}\0", prm.dir, prm.index);
    // SAFETY: `dir` is NUL-terminated.
    unsafe {
        libc::mkdir(dir.as_ptr().cast(), 0o755);
        if libc::chdir(dir.as_ptr().cast()) != 0 {
            libc::_exit(2);
        }
    }
    // A few things for the scratch names to find.
    let _ = std::fs::write("f0", b"scratch file zero\n");
    let _ = std::fs::write("f1", vec![0x5a; 5000]);
    let _ = std::fs::create_dir_all("d0/d1");
    // SAFETY: NUL-terminated names.
    unsafe {
        libc::mkfifo(c"p0".as_ptr(), 0o644);
        libc::symlink(c"f0".as_ptr(), c"l0".as_ptr());
        libc::symlink(c"l1".as_ptr(), c"l1".as_ptr());
    }

    let (scratch, structs) = map_memory();
    // Random bytes, no NUL: as a path it runs past PATH_MAX or off the mapping.
    for i in 0..(SCRATCH_PAGES * PAGE / 8) {
        let w = rng.next() | 0x0101_0101_0101_0101;
        // SAFETY: inside the scratch mapping.
        unsafe { ((scratch + i * 8) as *mut u64).write(w) };
    }
    // SAFETY: the last scratch page becomes read-only (writes to it must give EFAULT).
    unsafe {
        libc::mprotect(
            (scratch + (SCRATCH_PAGES - 1) * PAGE) as *mut libc::c_void,
            PAGE as usize,
            libc::PROT_READ,
        )
    };
    install_handlers(&rng);
    let ss = libc::stack_t {
        ss_sp: (structs + O_ALTSTACK) as *mut libc::c_void,
        ss_flags: 0,
        ss_size: ALTSTACK_LEN as usize,
    };
    // SAFETY: the alternate stack lies in the structs mapping, which memory calls never touch.
    unsafe { libc::sigaltstack(&ss, std::ptr::null_mut()) };
    // The C library's signal-return trampoline, for sigactions the fuzzer installs itself.
    let mut old = [0u64; 4];
    sys(13, &[libc::SIGALRM as u64, 0, old.as_mut_ptr() as u64, 8]);
    start_alarm(&rng);

    let mut long_name = vec![b'n'; 300];
    long_name.push(0);
    let mut long_path = b"d0/".repeat(1500);
    long_path.push(0);
    let mut p = Pools {
        rng,
        ctl,
        slot: prm.slot,
        index: prm.index,
        depth: 0,
        main: true,
        scratch,
        structs,
        fds: vec![Fd::new(0), Fd::new(1), Fd::new(2)],
        closed: Vec::new(),
        children: Vec::new(),
        shm_ids: Vec::new(),
        shm_at: Vec::new(),
        timer_ids: Vec::new(),
        long_name,
        long_path,
        restorer: old[2],
        handler: handler as *const () as u64,
        text: run as *const () as u64,
        forks: 0,
        threads: 0,
    };
    calls::prepare(&p);
    for _ in 0..prm.calls {
        step(&mut p, true);
    }
    // SAFETY: _exit ends the process (and its threads).
    unsafe { libc::_exit(0) }
}

/// One step: mostly a call; sometimes a fork, a thread, or reaping children.
fn step(p: &mut Pools, may_spawn: bool) {
    match p.rng.below(1000) {
        0..=6 if may_spawn => fork_child(p),
        7..=10 if may_spawn => spawn_thread(p),
        11..=35 => reap(p),
        _ => calls::one_call(p),
    }
}

fn fork_child(p: &mut Pools) {
    if p.depth >= 2 || p.forks >= 12 || p.children.len() >= 12 {
        return calls::one_call(p);
    }
    p.forks += 1;
    p.ctl.forks.fetch_add(1, Relaxed);
    // SAFETY: the child only runs this worker's code (no locks of other threads are needed:
    // the descriptor lock is reset, the C library's fork resets its own).
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: getpid has no arguments.
        p.ctl.register(unsafe { libc::getpid() }, p.index);
        calls::reset_fd_lock();
        p.depth += 1;
        p.main = false;
        p.children.clear();
        p.forks = 0;
        p.threads = 0;
        p.rng = p.rng.split();
        start_alarm(&p.rng);
        let n = 20 + p.rng.below(80);
        for _ in 0..n {
            step(p, true);
        }
        // SAFETY: _exit ends the child.
        unsafe { libc::_exit(0) };
    }
    if pid > 0 {
        p.ctl.register(pid, p.index);
        p.children.push(pid);
    }
}

fn spawn_thread(p: &mut Pools) {
    if p.threads >= 3 {
        return calls::one_call(p);
    }
    p.threads += 1;
    p.ctl.threads.fetch_add(1, Relaxed);
    let mut q = p.clone();
    q.rng = p.rng.split();
    q.main = false;
    let n = 20 + q.rng.below(80);
    let _ = std::thread::Builder::new()
        .stack_size(64 << 10)
        .spawn(move || {
            for _ in 0..n {
                step(&mut q, false);
            }
        });
}

fn reap(p: &mut Pools) {
    for _ in 0..8 {
        let mut st = 0;
        // SAFETY: `st` is a live int.
        let r = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG | libc::__WALL) };
        if r <= 0 {
            break;
        }
        p.children.retain(|&c| c != r);
    }
}
