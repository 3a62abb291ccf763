//! tinebench: Tine's benchmark program. `cargo xtask bench` boots it as `/init` (pid 1) on Tine
//! and on a Linux reference kernel with the same QEMU command line, and compares the figures.
//!
//! It prints one JSON object per line on standard output:
//!
//! ```text
//! {"name": "fork_return_64MiB", "unit": "ns", "value": 123456, "rounds": 5}
//! ```
//!
//! where `value` is the median over `rounds` rounds. A figure that could not be measured has
//! `"value": null` and an `"error"` (a size whose `mmap` failed is reported as skipped). The
//! first line is `tinebench: start rounds=N`, the last `tinebench: done`; then, as pid 1, it
//! powers the machine off.
//!
//! The number of rounds comes from the environment variable `BENCH_ROUNDS` (both kernels pass an
//! unknown `KEY=value` on the kernel command line to init's environment), default 5.
//!
//! Only what Tine supports today is used: fork/vfork/clone/execve/wait4/exit, threads (clone
//! with CLONE_THREAD, futex), mmap/munmap (private and shared anonymous), pipes, open/close/
//! stat/mkdir on the root file system (a tmpfs on Tine, Linux's writable rootfs), sched_yield,
//! clock_gettime, nanosleep, getppid, sysinfo, reboot. Time is CLOCK_MONOTONIC. Each figure runs in its own child process, so a figure that kills its
//! process (a missing system call, memory exhaustion) costs that figure only.
//!
//! The fork figures call the `fork` system call directly rather than musl's `fork()`, which adds
//! signal-mask and lock work of its own; the measured children only touch memory, sleep and exit.

use std::ffi::CString;
use std::ptr;

use libc::{c_char, c_int, pid_t};

const PAGE: usize = 4096;
const MIB: usize = 1 << 20;
/// Calls per round of the null-system-call figure.
const NULL_CALLS: u32 = 100_000;
/// Map/touch/unmap cycles per round of the 1 MiB figure.
const MMAP_CYCLES: u32 = 16;
/// Resident sizes of the fork sweeps, in MiB.
const SWEEP: [usize; 5] = [0, 16, 64, 256, 1024];
/// Size of the region of the page-fault figures.
const FAULT_MIB: usize = 64;
/// A child waiting on a gate gives up after this long (the parent should open it long before).
const GATE_LIMIT_NS: u64 = 60_000_000_000;
/// One-byte round trips per round of the pipe ping-pong figure.
const PIPE_TRIPS: u32 = 1000;
/// Bytes per round of the pipe bandwidth figure, and the size of each write and read.
const PIPE_BYTES: usize = 16 * MIB;
const PIPE_CHUNK: usize = 64 << 10;
/// sched_yield calls per round of the two-process yield figure.
const YIELDS: u32 = 1000;
/// Calls per round of the open+close and stat figures.
const FILE_CALLS: u32 = 1000;
/// Threads created and joined per round.
const THREADS: u32 = 50;
/// clone(CLONE_VM|CLONE_VFORK)+wait cycles per round.
const CLONES: u32 = 50;
/// posix_spawn+wait cycles per round.
const SPAWNS: u32 = 20;
/// The file of the open and stat figures, in a directory of its own in the root file system
/// (the initramfs has no /tmp; the root is writable on both kernels).
const BENCH_DIR: &str = "/bench-tmp";
const BENCH_FILE: &str = "/bench-tmp/file";

// ---------------------------------------------------------------------------------------------
// Output, time, errors.

fn write_out(s: &str) {
    let mut b = s.as_bytes();
    while !b.is_empty() {
        // SAFETY: pointer and length describe a live slice.
        let n = unsafe { libc::write(1, b.as_ptr().cast(), b.len()) };
        if n <= 0 {
            if n < 0 && errno() == libc::EINTR {
                continue;
            }
            return;
        }
        b = &b[n as usize..];
    }
}

fn errno() -> c_int {
    // SAFETY: musl's errno location is always valid for the calling thread.
    unsafe { *libc::__errno_location() }
}

fn errno_text(what: &str) -> String {
    format!("{what} failed (errno {})", errno())
}

/// CLOCK_MONOTONIC in nanoseconds.
fn now() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

fn sleep_ns(ns: u64) {
    let ts = libc::timespec {
        tv_sec: (ns / 1_000_000_000) as _,
        tv_nsec: (ns % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: ts is a live timespec; the remainder pointer may be null.
    unsafe { libc::nanosleep(&ts, ptr::null_mut()) };
}

fn exit_now(code: c_int) -> ! {
    // SAFETY: _exit ends the process without running anything else.
    unsafe { libc::_exit(code) }
}

fn json_string(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.1}")
    }
}

fn emit(name: &str, unit: &str, value: f64, rounds: usize) {
    write_out(&format!(
        "{{\"name\": {}, \"unit\": {}, \"value\": {}, \"rounds\": {}}}\n",
        json_string(name),
        json_string(unit),
        number(value),
        rounds
    ));
}

fn emit_error(name: &str, unit: &str, rounds: usize, error: &str) {
    write_out(&format!(
        "{{\"name\": {}, \"unit\": {}, \"value\": null, \"rounds\": {}, \"error\": {}}}\n",
        json_string(name),
        json_string(unit),
        rounds,
        json_string(error)
    ));
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

// ---------------------------------------------------------------------------------------------
// Memory and processes.

/// An anonymous private mapping, unmapped on drop.
struct Region {
    ptr: *mut u8,
    len: usize,
}

impl Region {
    fn map(len: usize) -> Result<Region, String> {
        if len == 0 {
            return Ok(Region {
                ptr: ptr::null_mut(),
                len: 0,
            });
        }
        // SAFETY: a fresh anonymous mapping; the result is checked.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(errno_text(&format!("mmap of {} MiB", len / MIB)));
        }
        Ok(Region { ptr: p.cast(), len })
    }

    /// Writes one byte in every page (makes it resident, or copies it after a fork).
    fn touch(&self, v: u8) {
        let mut off = 0;
        while off < self.len {
            // SAFETY: off is inside the mapping.
            unsafe { self.ptr.add(off).write_volatile(v) };
            off += PAGE;
        }
    }

    fn pages(&self) -> usize {
        self.len / PAGE
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: the mapping is ours and nothing refers to it any more.
            unsafe { libc::munmap(self.ptr.cast(), self.len) };
        }
    }
}

/// A word in a shared anonymous page: a child forked while the gate is closed sleeps until the
/// parent opens it, so the child stays alive (and keeps sharing the parent's pages) for exactly
/// as long as the parent measures.
struct Gate {
    word: *mut u32,
}

impl Gate {
    fn new() -> Result<Gate, String> {
        // SAFETY: a fresh shared anonymous mapping; the result is checked.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(errno_text("mmap of the shared gate page"));
        }
        Ok(Gate { word: p.cast() })
    }

    fn set(&self, v: u32) {
        // SAFETY: the word lies in our shared page.
        unsafe { self.word.write_volatile(v) }
    }

    fn is_open(&self) -> bool {
        // SAFETY: as in set.
        unsafe { self.word.read_volatile() != 0 }
    }

    /// A second word in the same page: a counter the child advances and the parent reads.
    fn bump(&self) {
        // SAFETY: word + 1 lies in our shared page; only the child writes it.
        unsafe {
            let c = self.word.add(1);
            c.write_volatile(c.read_volatile().wrapping_add(1));
        }
    }

    fn count(&self) -> u32 {
        // SAFETY: as in bump.
        unsafe { self.word.add(1).read_volatile() }
    }

    /// In the child: sleep until the gate opens (or the limit passes), then exit.
    fn wait_and_exit(&self) -> ! {
        let start = now();
        while !self.is_open() && now() - start < GATE_LIMIT_NS {
            sleep_ns(2_000_000);
        }
        exit_now(0)
    }
}

/// The fork system call itself (see the module comment).
fn raw_fork() -> Result<pid_t, String> {
    // SAFETY: fork has no memory-safety preconditions; children only call async-signal-safe code.
    let r = unsafe { libc::syscall(libc::SYS_fork) };
    if r < 0 {
        Err(errno_text("fork"))
    } else {
        Ok(r as pid_t)
    }
}

/// Waits for `pid` and requires a zero exit status.
fn reap(pid: pid_t) -> Result<(), String> {
    let mut status = 0;
    loop {
        // SAFETY: status is a live int.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        return Err(errno_text("waitpid"));
    }
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else {
        Err(format!("child ended with wait status {status:#x}"))
    }
}

/// argv and envp for executing /bin/true, built before any fork.
struct Exec {
    path: CString,
    _args: Vec<CString>,
    argv: Vec<*const c_char>,
    envp: Vec<*const c_char>,
}

impl Exec {
    fn new(path: &str) -> Exec {
        let path = CString::new(path).unwrap_or_default();
        let args = vec![path.clone()];
        let mut argv: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
        argv.push(ptr::null());
        Exec {
            path,
            _args: args,
            argv,
            envp: vec![ptr::null()],
        }
    }

    /// In a child: execve, or exit 127.
    fn exec(&self) -> ! {
        // SAFETY: argv and envp are null-terminated arrays of live C strings.
        unsafe { libc::execve(self.path.as_ptr(), self.argv.as_ptr(), self.envp.as_ptr()) };
        exit_now(127)
    }

    /// vfork and exec; returns the child's pid. The child's side is in assembly: it shares the
    /// parent's stack until execve, so it must not touch it (no Rust code runs in the child).
    fn vfork_exec(&self) -> Result<pid_t, String> {
        let path = self.path.as_ptr();
        let argv = self.argv.as_ptr();
        let envp = self.envp.as_ptr();
        let ret: i64;
        // SAFETY: the vfork child only makes system calls on registers (execve, else
        // exit_group(127)) and never returns into Rust; path, argv and envp are live
        // null-terminated C arrays. The parent gets the pid or -errno in rax; the syscall
        // instruction clobbers rcx and r11.
        unsafe {
            core::arch::asm!(
                "syscall",
                "test rax, rax",
                "jnz 2f",
                "mov eax, {execve}",
                "syscall",
                "mov edi, 127",
                "mov eax, {exit_group}",
                "syscall",
                "2:",
                execve = const libc::SYS_execve,
                exit_group = const libc::SYS_exit_group,
                inlateout("rax") libc::SYS_vfork => ret,
                in("rdi") path,
                in("rsi") argv,
                in("rdx") envp,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        if ret < 0 {
            Err(format!("vfork failed (errno {})", -ret))
        } else {
            Ok(ret as pid_t)
        }
    }
}

/// A file descriptor, closed on drop.
struct Fd(c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours.
        unsafe { libc::close(self.0) };
    }
}

/// A pipe: (read end, write end).
fn pipe() -> Result<(Fd, Fd), String> {
    let mut fds = [-1; 2];
    // SAFETY: fds is a live array of two ints.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(errno_text("pipe"));
    }
    Ok((Fd(fds[0]), Fd(fds[1])))
}

/// A write or read that failed or found the other end gone.
fn io_error(what: &str, n: isize) -> String {
    if n == 0 {
        format!("{what}: end of file (the other process ended early)")
    } else {
        errno_text(what)
    }
}

/// Writes all of `b`; used by parents (children use the raw calls and exit on failure).
fn write_all(fd: &Fd, mut b: &[u8]) -> Result<(), String> {
    while !b.is_empty() {
        // SAFETY: pointer and length describe a live slice.
        let n = unsafe { libc::write(fd.0, b.as_ptr().cast(), b.len()) };
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            return Err(io_error("write to a pipe", n));
        }
        b = &b[n as usize..];
    }
    Ok(())
}

/// Reads one byte.
fn read_byte(fd: &Fd) -> Result<u8, String> {
    let mut b = 0u8;
    loop {
        // SAFETY: b is a live byte.
        let n = unsafe { libc::read(fd.0, (&raw mut b).cast(), 1) };
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        if n != 1 {
            return Err(io_error("read from a pipe", n));
        }
        return Ok(b);
    }
}

/// A write to a pipe whose reader died fails with EPIPE rather than killing the figure.
fn ignore_sigpipe() {
    // SAFETY: installs the SIG_IGN disposition.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// In a child: one raw write, or exit 1.
fn child_write(fd: &Fd, b: &[u8]) {
    // SAFETY: pointer and length describe a live slice.
    if unsafe { libc::write(fd.0, b.as_ptr().cast(), b.len()) } != b.len() as isize {
        exit_now(1);
    }
}

fn c_path(path: &str) -> Result<CString, String> {
    CString::new(path).map_err(|_| format!("bad path {path}"))
}

/// Creates BENCH_DIR (if needed) and BENCH_FILE with a few bytes in it.
fn bench_file() -> Result<CString, String> {
    let dir = c_path(BENCH_DIR)?;
    // SAFETY: dir is a C string.
    if unsafe { libc::mkdir(dir.as_ptr(), 0o755) } != 0 && errno() != libc::EEXIST {
        return Err(errno_text(&format!("mkdir {BENCH_DIR}")));
    }
    let path = c_path(BENCH_FILE)?;
    // SAFETY: path is a C string.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
            0o644,
        )
    };
    if fd < 0 {
        return Err(errno_text(&format!("creating {BENCH_FILE}")));
    }
    let fd = Fd(fd);
    write_all(&fd, b"tinebench\n").map_err(|e| format!("{BENCH_FILE}: {e}"))?;
    Ok(path)
}

/// clone(CLONE_VM|CLONE_VFORK|SIGCHLD) with the child on `stack_top`; the child calls exit(0)
/// at once (in assembly: it must not touch the parent's stack or run Rust code). Returns the
/// child's pid once the parent resumes (when the child has exited).
fn clone_vm_exit(stack_top: *mut u8) -> Result<pid_t, String> {
    const FLAGS: i64 = (libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD) as i64;
    let ret: i64;
    // SAFETY: the child only makes the exit system call on registers and never returns into
    // Rust; it gets a stack of its own. The parent gets the pid or -errno in rax; the syscall
    // instruction clobbers rcx and r11.
    unsafe {
        core::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor edi, edi",
            "mov eax, {exit}",
            "syscall",
            "ud2",
            "2:",
            exit = const libc::SYS_exit,
            inlateout("rax") libc::SYS_clone => ret,
            in("rdi") FLAGS,
            in("rsi") stack_top,
            in("rdx") 0u64,
            in("r10") 0u64,
            in("r8") 0u64,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    if ret < 0 {
        Err(format!(
            "clone(CLONE_VM|CLONE_VFORK) failed (errno {})",
            -ret
        ))
    } else {
        Ok(ret as pid_t)
    }
}

// ---------------------------------------------------------------------------------------------
// The figures. Each returns one value per round.

type Rounds = Result<Vec<f64>, String>;

fn null_syscall(rounds: usize) -> Rounds {
    let mut v = Vec::new();
    for _ in 0..rounds {
        let t = now();
        for _ in 0..NULL_CALLS {
            // SAFETY: getppid has no arguments and no failure.
            unsafe { libc::syscall(libc::SYS_getppid) };
        }
        v.push((now() - t) as f64 / f64::from(NULL_CALLS));
    }
    Ok(v)
}

fn resident(mib: usize) -> Result<Region, String> {
    let r = Region::map(mib * MIB)?;
    r.touch(1);
    Ok(r)
}

/// fork, the child exits at once, the parent waits: the whole cycle.
fn fork_exit_wait(rounds: usize, mib: usize) -> Rounds {
    let _mem = resident(mib)?;
    let mut v = Vec::new();
    for _ in 0..rounds {
        let t = now();
        let pid = raw_fork()?;
        if pid == 0 {
            exit_now(0);
        }
        reap(pid)?;
        v.push((now() - t) as f64);
    }
    Ok(v)
}

/// The time until fork returns in the parent; the child sleeps on the gate meanwhile. With
/// `rewrite`, the time until the parent has also written every page of its resident memory.
fn fork_sweep(rounds: usize, mib: usize, rewrite: bool) -> Rounds {
    let mem = resident(mib)?;
    let gate = Gate::new()?;
    let mut v = Vec::new();
    for round in 0..rounds {
        gate.set(0);
        let t = now();
        let pid = raw_fork()?;
        if pid == 0 {
            gate.wait_and_exit();
        }
        if rewrite {
            mem.touch(round as u8 + 2);
        }
        v.push((now() - t) as f64);
        gate.set(1);
        reap(pid)?;
    }
    Ok(v)
}

/// Writing every page of a fresh mapping: ns per page.
fn first_touch(rounds: usize) -> Rounds {
    let mut v = Vec::new();
    for _ in 0..rounds {
        let mem = Region::map(FAULT_MIB * MIB)?;
        let t = now();
        mem.touch(1);
        v.push((now() - t) as f64 / mem.pages() as f64);
    }
    Ok(v)
}

/// After fork (the child sleeping), the parent writes every page of 64 MiB: ns per page.
fn cow_fault(rounds: usize) -> Rounds {
    let mem = resident(FAULT_MIB)?;
    let gate = Gate::new()?;
    let mut v = Vec::new();
    for round in 0..rounds {
        gate.set(0);
        let pid = raw_fork()?;
        if pid == 0 {
            gate.wait_and_exit();
        }
        let t = now();
        mem.touch(round as u8 + 2);
        v.push((now() - t) as f64 / mem.pages() as f64);
        gate.set(1);
        reap(pid)?;
    }
    Ok(v)
}

/// mmap 1 MiB, write every page, munmap: ns per cycle.
fn mmap_cycle(rounds: usize) -> Rounds {
    let mut v = Vec::new();
    for _ in 0..rounds {
        let t = now();
        for _ in 0..MMAP_CYCLES {
            let mem = Region::map(MIB)?;
            mem.touch(1);
            drop(mem);
        }
        v.push((now() - t) as f64 / f64::from(MMAP_CYCLES));
    }
    Ok(v)
}

fn spawn_true(rounds: usize, vfork: bool) -> Rounds {
    let exec = Exec::new("/bin/true");
    let mut v = Vec::new();
    for _ in 0..rounds {
        let t = now();
        let pid = if vfork {
            exec.vfork_exec()?
        } else {
            let pid = raw_fork()?;
            if pid == 0 {
                exec.exec();
            }
            pid
        };
        reap(pid)?;
        v.push((now() - t) as f64);
    }
    Ok(v)
}

/// posix_spawn of /bin/true and wait: ns per cycle (musl's posix_spawn is clone(CLONE_VM|
/// CLONE_VFORK) on a stack of its own, a close-on-exec pipe for the exec error, and execve).
fn posix_spawn_true(rounds: usize) -> Rounds {
    let exec = Exec::new("/bin/true");
    let mut v = Vec::new();
    for _ in 0..rounds {
        let t = now();
        for _ in 0..SPAWNS {
            let mut pid: pid_t = 0;
            // SAFETY: path, argv and envp are live null-terminated C arrays; no file actions
            // or attributes.
            let r = unsafe {
                libc::posix_spawn(
                    &mut pid,
                    exec.path.as_ptr(),
                    ptr::null(),
                    ptr::null(),
                    exec.argv.as_ptr().cast(),
                    exec.envp.as_ptr().cast(),
                )
            };
            if r != 0 {
                return Err(format!("posix_spawn of /bin/true failed (error {r})"));
            }
            reap(pid)?;
        }
        v.push((now() - t) as f64 / f64::from(SPAWNS));
    }
    Ok(v)
}

/// clone(CLONE_VM|CLONE_VFORK|SIGCHLD), the child exits at once, wait: ns per cycle. (Tine
/// accepts CLONE_VM only with CLONE_VFORK or CLONE_THREAD.)
fn clone_vm_wait(rounds: usize) -> Rounds {
    let stack = Region::map(MIB)?;
    // SAFETY: one past the end of the mapping, 16-byte aligned: the initial stack pointer.
    let top = unsafe { stack.ptr.add(stack.len) };
    let mut v = Vec::new();
    for _ in 0..rounds {
        let t = now();
        for _ in 0..CLONES {
            let pid = clone_vm_exit(top)?;
            reap(pid)?;
        }
        v.push((now() - t) as f64 / f64::from(CLONES));
    }
    Ok(v)
}

/// std::thread::Builder::spawn of an empty closure and join: ns per thread (musl's
/// pthread_create: a mmapped stack and clone(CLONE_VM|CLONE_THREAD|...); join waits on the
/// CLONE_CHILD_CLEARTID futex).
fn thread_spawn_join(rounds: usize) -> Rounds {
    let mut v = Vec::new();
    for _ in 0..rounds {
        let t = now();
        for _ in 0..THREADS {
            let h = std::thread::Builder::new()
                .spawn(|| ())
                .map_err(|e| format!("thread spawn failed: {e}"))?;
            h.join().map_err(|_| "the thread panicked".to_string())?;
        }
        v.push((now() - t) as f64 / f64::from(THREADS));
    }
    Ok(v)
}

/// Runs `parent` with the pipes' other ends closed, then closes `keep` (the child sees end of
/// file and exits) and reaps the child: the parent's error first, else the child's.
fn with_child<T>(
    pid: pid_t,
    keep: Fd,
    parent: impl FnOnce(&Fd) -> Result<T, String>,
) -> Result<T, String> {
    let r = parent(&keep);
    drop(keep);
    let reaped = reap(pid);
    let v = r?;
    reaped?;
    Ok(v)
}

/// One byte back and forth between two processes over two pipes: ns per round trip (two
/// context switches, two writes, two reads).
fn pipe_round_trip(rounds: usize) -> Rounds {
    ignore_sigpipe();
    let (to_r, to_w) = pipe()?;
    let (back_r, back_w) = pipe()?;
    let pid = raw_fork()?;
    if pid == 0 {
        drop(to_w);
        drop(back_r);
        let mut b = 0u8;
        loop {
            // SAFETY: b is a live byte.
            let n = unsafe { libc::read(to_r.0, (&raw mut b).cast(), 1) };
            match n {
                1 => child_write(&back_w, &[b]),
                0 => exit_now(0),
                _ if errno() == libc::EINTR => {}
                _ => exit_now(1),
            }
        }
    }
    drop(to_r);
    drop(back_w);
    with_child(pid, to_w, |to_w| {
        let mut v = Vec::new();
        for _ in 0..rounds {
            let t = now();
            for k in 0..PIPE_TRIPS {
                write_all(to_w, &[k as u8])?;
                if read_byte(&back_r)? != k as u8 {
                    return Err("the byte came back changed".into());
                }
            }
            v.push((now() - t) as f64 / f64::from(PIPE_TRIPS));
        }
        Ok(v)
    })
}

/// The parent writes PIPE_BYTES in PIPE_CHUNK writes, the child reads them in PIPE_CHUNK reads
/// and answers with a byte on a second pipe: MiB/s from the first write to the answer.
fn pipe_bandwidth(rounds: usize) -> Rounds {
    ignore_sigpipe();
    let (data_r, data_w) = pipe()?;
    let (ack_r, ack_w) = pipe()?;
    // Resident before the fork; the parent only reads it afterwards, the child copies its
    // pages (by writing them) before it says it is ready.
    let mut buf = vec![0x5au8; PIPE_CHUNK];
    let pid = raw_fork()?;
    if pid == 0 {
        drop(data_w);
        drop(ack_r);
        for b in buf.iter_mut().step_by(PAGE) {
            // SAFETY: b is a live byte of buf.
            unsafe { ptr::write_volatile(b, 0) };
        }
        child_write(&ack_w, b"r");
        for _ in 0..rounds {
            let mut left = PIPE_BYTES;
            while left > 0 {
                // SAFETY: buf is live and at least PIPE_CHUNK bytes long.
                let n =
                    unsafe { libc::read(data_r.0, buf.as_mut_ptr().cast(), left.min(PIPE_CHUNK)) };
                if n > 0 {
                    left -= n as usize;
                } else if !(n < 0 && errno() == libc::EINTR) {
                    exit_now(1);
                }
            }
            child_write(&ack_w, b"a");
        }
        exit_now(0);
    }
    drop(data_r);
    drop(ack_w);
    with_child(pid, data_w, |data_w| {
        read_byte(&ack_r)?;
        let mut v = Vec::new();
        for _ in 0..rounds {
            let t = now();
            for _ in 0..PIPE_BYTES / PIPE_CHUNK {
                write_all(data_w, &buf)?;
            }
            read_byte(&ack_r)?;
            let secs = (now() - t) as f64 / 1e9;
            v.push((PIPE_BYTES / MIB) as f64 / secs);
        }
        Ok(v)
    })
}

/// Two processes calling sched_yield in a loop: ns per yield of the measuring process (on one
/// CPU, a switch to the other process and back). An error if the other process did not run
/// for at least half of the yields (the call would not be switching).
fn yield_two_processes(rounds: usize) -> Rounds {
    let gate = Gate::new()?;
    gate.set(0);
    let pid = raw_fork()?;
    if pid == 0 {
        let start = now();
        let mut k = 0u32;
        while !gate.is_open() {
            gate.bump();
            // SAFETY: sched_yield has no arguments.
            unsafe { libc::sched_yield() };
            k = k.wrapping_add(1);
            if k.is_multiple_of(1024) && now() - start > GATE_LIMIT_NS {
                break;
            }
        }
        exit_now(0);
    }
    let measure = || {
        // Until the other process is running.
        let start = now();
        while gate.count() == 0 {
            if now() - start > 1_000_000_000 {
                return Err("the other process never ran".to_string());
            }
            // SAFETY: as above.
            unsafe { libc::sched_yield() };
        }
        let mut v = Vec::new();
        for _ in 0..rounds {
            let c = gate.count();
            let t = now();
            for _ in 0..YIELDS {
                // SAFETY: as above.
                unsafe { libc::sched_yield() };
            }
            let dt = now() - t;
            let ran = gate.count().wrapping_sub(c);
            if ran < YIELDS / 2 {
                return Err(format!(
                    "the other process yielded only {ran} times during {YIELDS} yields"
                ));
            }
            v.push(dt as f64 / f64::from(YIELDS));
        }
        Ok(v)
    };
    let r = measure();
    gate.set(1);
    let reaped = reap(pid);
    let v = r?;
    reaped?;
    Ok(v)
}

/// open(O_RDONLY) and close of an existing file: ns per pair.
fn open_close(rounds: usize) -> Rounds {
    let path = bench_file()?;
    let mut v = Vec::new();
    for _ in 0..rounds {
        let t = now();
        for _ in 0..FILE_CALLS {
            // SAFETY: path is a C string.
            let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
            if fd < 0 {
                return Err(errno_text(&format!("open {BENCH_FILE}")));
            }
            // SAFETY: fd is ours.
            unsafe { libc::close(fd) };
        }
        v.push((now() - t) as f64 / f64::from(FILE_CALLS));
    }
    Ok(v)
}

/// stat of an existing file: ns per call.
fn stat_file(rounds: usize) -> Rounds {
    let path = bench_file()?;
    // SAFETY: a plain struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let mut v = Vec::new();
    for _ in 0..rounds {
        let t = now();
        for _ in 0..FILE_CALLS {
            // SAFETY: path is a C string, st a live struct stat.
            if unsafe { libc::stat(path.as_ptr(), &mut st) } != 0 {
                return Err(errno_text(&format!("stat {BENCH_FILE}")));
            }
        }
        v.push((now() - t) as f64 / f64::from(FILE_CALLS));
    }
    if st.st_size != 10 {
        return Err(format!(
            "stat says {BENCH_FILE} has {} bytes, not 10",
            st.st_size
        ));
    }
    Ok(v)
}

// ---------------------------------------------------------------------------------------------

/// Runs one figure in a child process and prints its line (or the reason it has none).
fn figure(name: &str, unit: &str, rounds: usize, f: impl FnOnce(usize) -> Rounds) {
    // SAFETY: single-threaded process; the child runs ordinary code and exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        emit_error(
            name,
            unit,
            rounds,
            &errno_text("fork of the figure's process"),
        );
        return;
    }
    if pid == 0 {
        match f(rounds) {
            Ok(v) => emit(name, unit, median(v), rounds),
            Err(e) if e.starts_with("mmap of") => {
                emit_error(name, unit, rounds, &format!("skipped: {e}"))
            }
            Err(e) => emit_error(name, unit, rounds, &e),
        }
        exit_now(0);
    }
    let mut status = 0;
    // SAFETY: status is a live int.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    if r != pid {
        emit_error(
            name,
            unit,
            rounds,
            &errno_text("waitpid for the figure's process"),
        );
    } else if libc::WIFSIGNALED(status) {
        emit_error(
            name,
            unit,
            rounds,
            &format!("process killed by signal {}", libc::WTERMSIG(status)),
        );
    } else if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        emit_error(
            name,
            unit,
            rounds,
            &format!("process ended with wait status {status:#x}"),
        );
    }
}

fn main() {
    let start = now();
    let rounds = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5);
    write_out(&format!("tinebench: start rounds={rounds}\n"));
    emit("init_start_monotonic", "ns", start as f64, 1);
    // SAFETY: sysinfo fills a plain struct.
    let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: si is a live struct sysinfo.
    if unsafe { libc::sysinfo(&mut si) } == 0 {
        let unit = u64::from(si.mem_unit.max(1));
        emit(
            "free_memory_at_init",
            "bytes",
            (si.freeram as u64 * unit) as f64,
            1,
        );
    } else {
        emit_error("free_memory_at_init", "bytes", 1, &errno_text("sysinfo"));
    }

    figure("null_syscall_getppid", "ns", rounds, null_syscall);
    for mib in [0, 64, 1024] {
        figure(&format!("fork_exit_wait_{mib}MiB"), "ns", rounds, |r| {
            fork_exit_wait(r, mib)
        });
    }
    for mib in SWEEP {
        figure(&format!("fork_return_{mib}MiB"), "ns", rounds, |r| {
            fork_sweep(r, mib, false)
        });
    }
    for mib in SWEEP {
        figure(&format!("fork_rewrite_{mib}MiB"), "ns", rounds, |r| {
            fork_sweep(r, mib, true)
        });
    }
    figure("fault_first_touch_per_page", "ns", rounds, first_touch);
    figure("fault_cow_per_page", "ns", rounds, cow_fault);
    figure("mmap_touch_munmap_1MiB", "ns", rounds, mmap_cycle);
    figure("vfork_execve_wait_true", "ns", rounds, |r| {
        spawn_true(r, true)
    });
    figure("fork_execve_wait_true", "ns", rounds, |r| {
        spawn_true(r, false)
    });
    figure("posix_spawn_wait_true", "ns", rounds, posix_spawn_true);
    figure("clone_vm_vfork_exit_wait", "ns", rounds, clone_vm_wait);
    figure("thread_spawn_join", "ns", rounds, thread_spawn_join);
    figure("pipe_round_trip_1byte", "ns", rounds, pipe_round_trip);
    figure(
        "pipe_bandwidth_16MiB_64KiB_writes",
        "MiB/s",
        rounds,
        pipe_bandwidth,
    );
    figure(
        "sched_yield_two_processes",
        "ns",
        rounds,
        yield_two_processes,
    );
    figure("open_close", "ns", rounds, open_close);
    figure("stat", "ns", rounds, stat_file);

    // Reap anything left behind.
    let mut status = 0;
    // SAFETY: status is a live int.
    while unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } > 0 {}
    write_out("tinebench: done\n");
    // Only init powers the machine off (never the host when run there by hand).
    // SAFETY: getpid has no preconditions.
    if unsafe { libc::getpid() } == 1 {
        // SAFETY: reboot only takes the command; we are pid 1.
        unsafe { libc::reboot(libc::RB_POWER_OFF) };
    }
}
