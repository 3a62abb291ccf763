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
//! Only what Tine supports today is used: fork/vfork/execve/wait4/exit, mmap/munmap (private
//! and shared anonymous), clock_gettime, nanosleep, getppid, sysinfo, reboot. Time is
//! CLOCK_MONOTONIC. Each figure runs in its own child process, so a figure that kills its
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
const SWEEP: [usize; 4] = [0, 16, 64, 256];
/// Size of the region of the page-fault figures.
const FAULT_MIB: usize = 64;
/// A child waiting on a gate gives up after this long (the parent should open it long before).
const GATE_LIMIT_NS: u64 = 60_000_000_000;

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
    for mib in [0, 64] {
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
