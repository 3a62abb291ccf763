//! t_isolation: what keeps a user program out of the kernel, out of data it may not execute, and
//! out of another user's processes.
//!
//! * kernel memory — in forked children, a read, a write and a jump at two canonical kernel
//!   addresses (0xffff_8000_0000_0000, the start of the upper half, and 0xffff_ffff_8000_0000,
//!   where kernel images live; the vsyscall page at 0xffff_ffff_ff60_0000 is left alone because
//!   Linux emulates it) end in SIGSEGV with SEGV_MAPERR and si_addr the address, as Linux reports
//!   a user access to the kernel half; at the non-canonical 0x8000_0000_0000_0000 they are a
//!   general-protection fault, SIGSEGV with SI_KERNEL and si_addr 0. A SIGSEGV handler installed
//!   with SA_SIGINFO reports signal, si_code and si_addr through a pipe and `_exit`s; the check
//!   compares all three and prints what was seen when they differ.
//! * system calls given those addresses — read into them (a pipe, /dev/zero), write from them (a
//!   pipe, /dev/null, which Linux refuses before looking at the device), also of zero bytes,
//!   stat and open of a path there, stat and clock_gettime results there: EFAULT, and the pipe's
//!   data is still there afterwards (Linux checks the range before taking anything). mmap with MAP_FIXED or
//!   MAP_FIXED_NOREPLACE there is ENOMEM, a hint there is ignored (the mapping lands in the user
//!   half), munmap is EINVAL, mprotect ENOMEM, and brk leaves the break where it was.
//! * NX — `mov eax, 42; ret` (b8 2a 00 00 00 c3) copied into a read-write anonymous mapping, onto
//!   the stack, into the heap (the brk area and a malloc'd buffer) and found in initialised data
//!   kills with SIGSEGV, SEGV_ACCERR, si_addr the code's address; after mprotect(PROT_READ |
//!   PROT_EXEC) the same bytes run and return 42, a write to them then faults with SEGV_ACCERR,
//!   and after mprotect back to read-write they fault again when called; a PROT_READ|PROT_WRITE|
//!   PROT_EXEC mapping runs them; a write to the program's own text is SEGV_ACCERR.
//! * another user's processes (root only) — child A stays root and sleeps; children that drop to
//!   uid/gid 65534 (no supplementary groups) get EPERM from kill(A, SIGTERM) and kill(A, 0) while
//!   kill(self, 0) works; opening /proc/A/environ, /proc/A/maps and /proc/A/fd and reading the
//!   links /proc/A/exe, cwd and root is EACCES (Linux's PTRACE_MODE_READ rule), while
//!   /proc/A/status, stat and cmdline stay readable with A's contents; prlimit64 on A (even only
//!   reading) and setpriority of A are EPERM, getpriority of A works. A is alive afterwards and
//!   dies of the root parent's SIGKILL. Without root this part is one `not ok
//!   t_isolation.needs_root`.
//!
//!   ptrace(PTRACE_ATTACH) and PTRACE_SEIZE on A are EPERM, and PTRACE_PEEKDATA on A, which
//!   nobody traces, is ESRCH.
//!
//! Not covered: /proc/<pid>/mem and /proc/kcore (Tine has none of them).
//!
//! Mounts proc on /proc first if /proc/self is missing (root). Children that die of a fault set
//! RLIMIT_CORE to 0 first.

use core::arch::global_asm;
use core::sync::atomic::{AtomicI32, AtomicU8, AtomicU64, Ordering::SeqCst};

use libc::{c_int, c_long, c_void, pid_t};
use usertests::{
    Report, diag, errname, map_anon, mount_proc, read_full, reap, sc, show, show_status, sleep_ms,
    spawn,
};

const PAGE: usize = 4096;
const SEGV_MAPERR: i32 = 1;
const SEGV_ACCERR: i32 = 2;
const SI_KERNEL: i32 = 0x80;
const NOBODY: u32 = 65534;
/// What the fault handler exits with after reporting.
const HANDLED: c_int = 100;

/// Canonical addresses in the kernel half, with the names their checks use.
const KERNEL_ADDRS: [(&str, u64); 2] = [
    ("kernel_base", 0xffff_8000_0000_0000),
    ("kernel_image", 0xffff_ffff_8000_0000),
];
const NON_CANONICAL: u64 = 0x8000_0000_0000_0000;
/// The first address above the lowest user half (47 bits).
const USER_END: u64 = 0x0000_8000_0000_0000;

/// `mov eax, 42; ret`.
const CODE: [u8; 6] = [0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3];
/// The same bytes in initialised (writable, not executable) data.
static DATA_CODE: [AtomicU8; 6] = [
    AtomicU8::new(0xb8),
    AtomicU8::new(0x2a),
    AtomicU8::new(0x00),
    AtomicU8::new(0x00),
    AtomicU8::new(0x00),
    AtomicU8::new(0xc3),
];

// Small functions whose faulting instruction is their first: a byte load, a byte store, and a
// jump to `rdi` (a tail call: code there that returns goes straight back to the caller).
global_asm!(
    ".pushsection .text.t_isolation_asm,\"ax\",@progbits",
    ".p2align 4",
    ".globl t_isolation_load",
    ".hidden t_isolation_load",
    "t_isolation_load:",
    "movzx eax, byte ptr [rdi]",
    "ret",
    ".p2align 4",
    ".globl t_isolation_store",
    ".hidden t_isolation_store",
    "t_isolation_store:",
    "mov byte ptr [rdi], 1",
    "ret",
    ".p2align 4",
    ".globl t_isolation_jump",
    ".hidden t_isolation_jump",
    "t_isolation_jump:",
    "jmp rdi",
    ".popsection",
);

unsafe extern "C" {
    fn t_isolation_load(addr: u64) -> u32;
    fn t_isolation_store(addr: u64);
    fn t_isolation_jump(addr: u64) -> u32;
}

fn load(addr: u64) -> u32 {
    // SAFETY: a byte load; a bad address faults in the (child) process, which is the point.
    unsafe { t_isolation_load(addr) }
}

fn store(addr: u64) {
    // SAFETY: a byte store; as for `load`.
    unsafe { t_isolation_store(addr) }
}

fn jump(addr: u64) -> u32 {
    // SAFETY: runs the code at `addr` (the six bytes of CODE, which only set eax and return), or
    // faults in the child when that memory may not be executed.
    unsafe { t_isolation_jump(addr) }
}

fn pipe2(flags: c_int) -> Result<(c_int, c_int), c_int> {
    let mut fds = [0 as c_int; 2];
    sc!(libc::SYS_pipe2, fds.as_mut_ptr(), flags).map(|_| (fds[0], fds[1]))
}

fn close(fd: c_int) {
    let _ = sc!(libc::SYS_close, fd);
}

fn write(fd: c_int, b: &[u8]) -> Result<c_long, c_int> {
    sc!(libc::SYS_write, fd, b.as_ptr(), b.len())
}

fn open(path: &std::ffi::CStr, flags: c_int) -> Result<c_int, c_int> {
    sc!(
        libc::SYS_openat,
        libc::AT_FDCWD,
        path.as_ptr(),
        flags | libc::O_CLOEXEC
    )
    .map(|fd| fd as c_int)
}

/// The whole contents of a file, or the errno of the open or of a read.
fn read_file(path: &str) -> Result<Vec<u8>, c_int> {
    let c = std::ffi::CString::new(path).map_err(|_| libc::EINVAL)?;
    let fd = open(&c, libc::O_RDONLY)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match sc!(libc::SYS_read, fd, buf.as_mut_ptr(), buf.len()) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n as usize]),
            Err(libc::EINTR) => continue,
            Err(e) => {
                close(fd);
                return Err(e);
            }
        }
    }
    close(fd);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Faults in a child: a SIGSEGV/SIGBUS/SIGILL handler with SA_SIGINFO writes (signal, si_code,
// si_addr, EXPECT) on FAULT_FD and exits HANDLED.

static FAULT_FD: AtomicI32 = AtomicI32::new(-1);
/// An address only the child knows (on its stack, in its heap), reported with the fault.
static EXPECT: AtomicU64 = AtomicU64::new(u64::MAX);

extern "C" fn h_fault(sig: c_int, info: *mut libc::siginfo_t, _uc: *mut c_void) {
    let mut rep = [sig as u64, u64::MAX, u64::MAX, EXPECT.load(SeqCst)];
    if !info.is_null() {
        // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler; si_addr is the
        // union member the fault signals fill in.
        unsafe {
            rep[1] = (*info).si_code as i64 as u64;
            rep[2] = (*info).si_addr() as u64;
        }
    }
    // SAFETY: write(2) and _exit(2) are async-signal-safe; `rep` is a live array.
    unsafe {
        libc::write(FAULT_FD.load(SeqCst), rep.as_ptr().cast(), 32);
        libc::_exit(HANDLED);
    }
}

/// What became of a child that was meant to fault (or to run to its end).
struct Outcome {
    /// The wait status, or waitpid's errno.
    status: Result<c_int, c_int>,
    /// (signal, si_code, si_addr, EXPECT) as the handler saw them.
    report: Option<[u64; 4]>,
}

impl Outcome {
    fn describe(&self) -> String {
        let rep = match &self.report {
            Some(v) => format!(
                "handler saw signal {} si_code {:#x} si_addr {:#x}",
                v[0] as i64, v[1] as i64, v[2]
            ),
            None => "no handler report".into(),
        };
        format!(
            "child {}, {rep}",
            self.status.map_or_else(errname, show_status)
        )
    }
}

/// Runs `f` in a child with the fault handler installed; the child exits with `f`'s result if
/// it returns.
fn fault_child(f: impl FnOnce() -> i32) -> Outcome {
    let (rd, wr) = match pipe2(libc::O_CLOEXEC) {
        Ok(p) => p,
        Err(e) => {
            return Outcome {
                status: Err(e),
                report: None,
            };
        }
    };
    let pid = spawn(move || {
        close(rd);
        FAULT_FD.store(wr, SeqCst);
        let lim = [0u64; 2];
        let _ = sc!(libc::SYS_setrlimit, libc::RLIMIT_CORE, lim.as_ptr());
        for sig in [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL] {
            // SAFETY: a zeroed sigaction is valid; the handler only makes async-signal-safe
            // calls.
            let ok = unsafe {
                let mut sa: libc::sigaction = core::mem::zeroed();
                sa.sa_sigaction = h_fault as *const () as usize;
                sa.sa_flags = libc::SA_SIGINFO;
                libc::sigemptyset(&mut sa.sa_mask);
                libc::sigaction(sig, &sa, core::ptr::null_mut()) == 0
            };
            if !ok {
                return 90;
            }
        }
        f()
    });
    close(wr);
    if pid < 0 {
        close(rd);
        return Outcome {
            status: Err(-pid),
            report: None,
        };
    }
    let mut b = [0u8; 32];
    let got = read_full(rd, &mut b);
    close(rd);
    let status = reap(pid);
    let report = (got == 32).then(|| {
        let mut v = [0u64; 4];
        for (i, x) in v.iter_mut().enumerate() {
            *x = u64::from_ne_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        }
        v
    });
    Outcome { status, report }
}

/// Passes if the child's handler saw SIGSEGV with `code` at `addr` (None: at the address the
/// child put in EXPECT) and exited.
fn want_segv(r: &mut Report, check: &str, o: Outcome, code: i32, addr: Option<u64>) {
    let good = match (o.status, o.report) {
        (Ok(st), Some(rep)) => {
            let addr = addr.unwrap_or(rep[3]);
            st == HANDLED << 8
                && rep[0] == libc::SIGSEGV as u64
                && rep[1] == code as u64
                && rep[2] == addr
                && addr != u64::MAX
        }
        _ => false,
    };
    r.check(check, good, || {
        let addr = addr.or(o.report.map(|v| v[3])).unwrap_or(u64::MAX);
        format!(
            "{}; want signal {} si_code {code:#x} si_addr {addr:#x}",
            o.describe(),
            libc::SIGSEGV
        )
    });
}

/// Passes if the child returned `code` from its function without faulting.
fn want_exit(r: &mut Report, check: &str, o: Outcome, code: i32) {
    let good = o.status == Ok(code << 8) && o.report.is_none();
    r.check(check, good, || {
        format!("{}; want exit {code}", o.describe())
    });
}

// ---------------------------------------------------------------------------------------------
// 1. Kernel memory

fn kernel_memory(r: &mut Report) {
    for (name, a) in KERNEL_ADDRS {
        let o = fault_child(move || load(a) as i32);
        want_segv(
            r,
            &format!("{name}_read_sigsegv_maperr"),
            o,
            SEGV_MAPERR,
            Some(a),
        );
        let o = fault_child(move || {
            store(a);
            0
        });
        want_segv(
            r,
            &format!("{name}_write_sigsegv_maperr"),
            o,
            SEGV_MAPERR,
            Some(a),
        );
        let o = fault_child(move || jump(a) as i32);
        want_segv(
            r,
            &format!("{name}_exec_sigsegv_maperr"),
            o,
            SEGV_MAPERR,
            Some(a),
        );
    }
    let a = NON_CANONICAL;
    let o = fault_child(move || load(a) as i32);
    want_segv(
        r,
        "noncanonical_read_sigsegv_si_kernel",
        o,
        SI_KERNEL,
        Some(0),
    );
    let o = fault_child(move || {
        store(a);
        0
    });
    want_segv(
        r,
        "noncanonical_write_sigsegv_si_kernel",
        o,
        SI_KERNEL,
        Some(0),
    );
    let o = fault_child(move || jump(a) as i32);
    want_segv(
        r,
        "noncanonical_exec_sigsegv_si_kernel",
        o,
        SI_KERNEL,
        Some(0),
    );
}

fn kernel_pointers(r: &mut Report) {
    let addrs = KERNEL_ADDRS
        .iter()
        .copied()
        .chain([("noncanonical", NON_CANONICAL)]);
    let (prd, pwr) = match pipe2(libc::O_NONBLOCK | libc::O_CLOEXEC) {
        Ok(p) => p,
        Err(e) => {
            r.fail("pipe", errname(e));
            return;
        }
    };
    r.eq("pipe_filled", write(pwr, b"abcd"), Ok(4));
    let zero = open(c"/dev/zero", libc::O_RDONLY);
    let null = open(c"/dev/null", libc::O_WRONLY);
    let (Ok(zero), Ok(null)) = (zero, null) else {
        r.fail("open_devices", format!("{} {}", show(&zero), show(&null)));
        return;
    };
    let mut st = core::mem::MaybeUninit::<libc::stat>::uninit();
    let mut tp = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    for (name, a) in addrs {
        r.err(
            &format!("read_pipe_into_{name}_efault"),
            sc!(libc::SYS_read, prd, a, 4),
            libc::EFAULT,
        );
        r.err(
            &format!("read_pipe_0_bytes_into_{name}_efault"),
            sc!(libc::SYS_read, prd, a, 0),
            libc::EFAULT,
        );
        r.err(
            &format!("write_pipe_0_bytes_from_{name}_efault"),
            sc!(libc::SYS_write, pwr, a, 0),
            libc::EFAULT,
        );
        r.err(
            &format!("read_dev_zero_into_{name}_efault"),
            sc!(libc::SYS_read, zero, a, 16),
            libc::EFAULT,
        );
        r.err(
            &format!("write_pipe_from_{name}_efault"),
            sc!(libc::SYS_write, pwr, a, 4),
            libc::EFAULT,
        );
        r.err(
            &format!("write_dev_null_from_{name}_efault"),
            sc!(libc::SYS_write, null, a, 16),
            libc::EFAULT,
        );
        r.err(
            &format!("stat_path_at_{name}_efault"),
            sc!(libc::SYS_stat, a, st.as_mut_ptr()),
            libc::EFAULT,
        );
        r.err(
            &format!("stat_result_at_{name}_efault"),
            sc!(libc::SYS_stat, c"/".as_ptr(), a),
            libc::EFAULT,
        );
        r.err(
            &format!("open_path_at_{name}_efault"),
            sc!(libc::SYS_openat, libc::AT_FDCWD, a, libc::O_RDONLY),
            libc::EFAULT,
        );
        r.err(
            &format!("clock_gettime_result_at_{name}_efault"),
            sc!(libc::SYS_clock_gettime, libc::CLOCK_MONOTONIC, a),
            libc::EFAULT,
        );
    }
    // The failed reads took nothing out of the pipe, and the failed writes put nothing in.
    let mut buf = [0u8; 8];
    let got = sc!(libc::SYS_read, prd, buf.as_mut_ptr(), buf.len());
    r.check(
        "pipe_data_kept_after_efault",
        got == Ok(4) && &buf[..4] == b"abcd",
        || format!("read {} {:?}, want Ok(4) \"abcd\"", show(&got), &buf[..4]),
    );
    r.eq(
        "clock_gettime_still_works",
        sc!(
            libc::SYS_clock_gettime,
            libc::CLOCK_MONOTONIC,
            &mut tp as *mut libc::timespec
        ),
        Ok(0),
    );
    for fd in [prd, pwr, zero, null] {
        close(fd);
    }

    // The address-space calls keep to the user half.
    let rw = libc::PROT_READ | libc::PROT_WRITE;
    let anon = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
    for (name, a) in KERNEL_ADDRS {
        let m = sc!(libc::SYS_mmap, a, PAGE, rw, anon | libc::MAP_FIXED, -1, 0);
        r.err(&format!("mmap_fixed_at_{name}_enomem"), m, libc::ENOMEM);
        let m = sc!(
            libc::SYS_mmap,
            a,
            PAGE,
            rw,
            anon | libc::MAP_FIXED_NOREPLACE,
            -1,
            0
        );
        r.err(
            &format!("mmap_fixed_noreplace_at_{name}_enomem"),
            m,
            libc::ENOMEM,
        );
        let m = sc!(libc::SYS_mmap, a, PAGE, rw, anon, -1, 0);
        r.check(
            &format!("mmap_hint_{name}_lands_in_user_half"),
            matches!(m, Ok(p) if (p as u64) < USER_END),
            || format!("got {}", show(&m.map(|p| format!("{p:#x}")))),
        );
        if let Ok(p) = m
            && (p as u64) < USER_END
        {
            let _ = sc!(libc::SYS_munmap, p, PAGE);
        }
        r.err(
            &format!("munmap_{name}_einval"),
            sc!(libc::SYS_munmap, a, PAGE),
            libc::EINVAL,
        );
        r.err(
            &format!("mprotect_{name}_enomem"),
            sc!(libc::SYS_mprotect, a, PAGE, rw),
            libc::ENOMEM,
        );
        let before = sc!(libc::SYS_brk, 0);
        let after = sc!(libc::SYS_brk, a);
        r.check(
            &format!("brk_to_{name}_refused"),
            before.is_ok() && after == before,
            || format!("brk(0) {}, brk(kernel) {}", show(&before), show(&after)),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. NX

/// Copies CODE to `p`.
fn put_code(p: *mut u8) {
    // SAFETY: callers pass at least CODE.len() writable bytes.
    unsafe { core::ptr::copy_nonoverlapping(CODE.as_ptr(), p, CODE.len()) };
}

fn mprotect(p: *mut u8, prot: c_int) -> Result<c_long, c_int> {
    sc!(libc::SYS_mprotect, p, PAGE, prot)
}

fn no_execute(r: &mut Report) {
    let rw = libc::PROT_READ | libc::PROT_WRITE;
    let rx = libc::PROT_READ | libc::PROT_EXEC;
    let page = map_anon(PAGE, rw, libc::MAP_PRIVATE);
    if page.is_null() {
        r.fail("nx_map", "mmap failed");
        return;
    }
    put_code(page);
    let a = page as u64;

    let o = fault_child(move || jump(a) as i32);
    want_segv(r, "nx_anon_rw_exec_sigsegv_accerr", o, SEGV_ACCERR, Some(a));

    let o = fault_child(|| {
        let mut code = [0u8; 64];
        put_code(code.as_mut_ptr());
        let p = core::hint::black_box(code.as_mut_ptr()) as u64;
        EXPECT.store(p, SeqCst);
        jump(p) as i32
    });
    want_segv(r, "nx_stack_exec_sigsegv_accerr", o, SEGV_ACCERR, None);

    let o = fault_child(|| {
        // The brk area ([heap]): one more page, code at its start.
        let Ok(cur) = sc!(libc::SYS_brk, 0) else {
            return 91;
        };
        let end = (cur as u64 + 2 * PAGE as u64) & !(PAGE as u64 - 1);
        if sc!(libc::SYS_brk, end) != Ok(end as c_long) {
            return 92;
        }
        let p = cur as u64;
        put_code(p as *mut u8);
        EXPECT.store(p, SeqCst);
        jump(p) as i32
    });
    want_segv(r, "nx_brk_heap_exec_sigsegv_accerr", o, SEGV_ACCERR, None);

    let o = fault_child(|| {
        let mut v = vec![0u8; 64];
        put_code(v.as_mut_ptr());
        let p = core::hint::black_box(v.as_mut_ptr()) as u64;
        EXPECT.store(p, SeqCst);
        jump(p) as i32
    });
    want_segv(
        r,
        "nx_malloc_heap_exec_sigsegv_accerr",
        o,
        SEGV_ACCERR,
        None,
    );

    let d = DATA_CODE.as_ptr() as u64;
    let o = fault_child(move || jump(d) as i32);
    want_segv(r, "nx_data_exec_sigsegv_accerr", o, SEGV_ACCERR, Some(d));

    // Made executable, the same bytes run.
    r.eq("mprotect_rx", mprotect(page, rx), Ok(0));
    let o = fault_child(move || jump(a) as i32);
    want_exit(r, "mprotect_rx_code_runs", o, 42);
    let o = fault_child(move || {
        store(a);
        0
    });
    want_segv(r, "rx_write_sigsegv_accerr", o, SEGV_ACCERR, Some(a));
    // The parent runs it too, then takes execute away again: the next call faults.
    r.eq("mprotect_rx_code_runs_in_parent", jump(a), 42);
    r.eq("mprotect_rw_again", mprotect(page, rw), Ok(0));
    let o = fault_child(move || jump(a) as i32);
    want_segv(
        r,
        "nx_after_mprotect_rw_sigsegv_accerr",
        o,
        SEGV_ACCERR,
        Some(a),
    );
    let o = fault_child(move || {
        // Executable again in the child only, run, then not executable again.
        if mprotect(a as *mut u8, rx).is_err() || jump(a) != 42 {
            return 93;
        }
        if mprotect(a as *mut u8, rw).is_err() {
            return 94;
        }
        jump(a) as i32
    });
    want_segv(
        r,
        "nx_after_run_and_mprotect_rw_accerr",
        o,
        SEGV_ACCERR,
        Some(a),
    );
    // SAFETY: unmaps the page mapped above.
    unsafe { libc::munmap(page.cast(), PAGE) };

    let rwx = map_anon(PAGE, rw | libc::PROT_EXEC, libc::MAP_PRIVATE);
    if rwx.is_null() {
        r.fail("rwx_map", "mmap failed");
    } else {
        put_code(rwx);
        let a = rwx as u64;
        let o = fault_child(move || jump(a) as i32);
        want_exit(r, "rwx_mapping_code_runs", o, 42);
        // SAFETY: unmaps the page mapped above.
        unsafe { libc::munmap(rwx.cast(), PAGE) };
    }

    let text = t_isolation_load as *const () as u64;
    let o = fault_child(move || {
        store(text);
        0
    });
    want_segv(
        r,
        "own_text_write_sigsegv_accerr",
        o,
        SEGV_ACCERR,
        Some(text),
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Another user's processes

/// Runs `f` in a child that first drops to uid and gid 65534 with no supplementary groups;
/// returns what `f` returned, or why the child could not report.
fn as_nobody(f: impl FnOnce() -> Result<c_long, c_int>) -> Result<Result<c_long, c_int>, String> {
    let (rd, wr) = pipe2(libc::O_CLOEXEC).map_err(|e| format!("pipe: {}", errname(e)))?;
    let pid = spawn(move || {
        close(rd);
        let drop = sc!(libc::SYS_setgroups, 0, 0)
            .and_then(|_| sc!(libc::SYS_setresgid, NOBODY, NOBODY, NOBODY))
            .and_then(|_| sc!(libc::SYS_setresuid, NOBODY, NOBODY, NOBODY));
        let v: i64 = match drop {
            Err(e) => {
                diag(&format!("t_isolation: dropping to 65534: {}", errname(e)));
                return 2;
            }
            Ok(_) => match f() {
                Ok(v) => v,
                Err(e) => -(e as i64),
            },
        };
        if write(wr, &v.to_ne_bytes()) != Ok(8) {
            return 3;
        }
        0
    });
    close(wr);
    if pid < 0 {
        close(rd);
        return Err(format!("fork: {}", errname(-pid)));
    }
    let mut b = [0u8; 8];
    let got = read_full(rd, &mut b);
    close(rd);
    let st = reap(pid);
    if got != 8 || st != Ok(0) {
        return Err(format!(
            "uid 65534 child {} with {got} bytes reported",
            st.map_or_else(errname, show_status)
        ));
    }
    let v = i64::from_ne_bytes(b);
    Ok(if v < 0 { Err(-v as c_int) } else { Ok(v) })
}

/// Passes if `f`, run as uid 65534, gives `want`.
fn nobody_gives(
    r: &mut Report,
    check: &str,
    want: Result<c_long, c_int>,
    f: impl FnOnce() -> Result<c_long, c_int>,
) {
    match as_nobody(f) {
        Ok(got) => r.check(check, got == want, || {
            format!("got {}, want {}", show(&got), show(&want))
        }),
        Err(why) => r.fail(check, why),
    }
}

fn readlink(path: &str) -> Result<c_long, c_int> {
    let c = std::ffi::CString::new(path).map_err(|_| libc::EINVAL)?;
    let mut buf = [0u8; 256];
    sc!(
        libc::SYS_readlinkat,
        libc::AT_FDCWD,
        c.as_ptr(),
        buf.as_mut_ptr(),
        buf.len()
    )
    .map(|_| 0)
}

fn other_users(r: &mut Report) {
    mount_proc("t_isolation");
    // SAFETY: getpid cannot fail.
    let parent = unsafe { libc::getpid() };
    let cmdline = read_file("/proc/self/cmdline");
    // Child A: root, asleep until the parent kills it (or leaves).
    let a: pid_t = spawn(move || {
        for _ in 0..600 {
            sleep_ms(100);
            // SAFETY: getppid cannot fail.
            if unsafe { libc::getppid() } != parent {
                return 0;
            }
        }
        0
    });
    if a < 0 {
        r.fail("other_user_fork", errname(-a));
        return;
    }
    let proc_a = format!("/proc/{a}");

    nobody_gives(r, "other_user_kill_sigterm_eperm", Err(libc::EPERM), || {
        sc!(libc::SYS_kill, a, libc::SIGTERM)
    });
    nobody_gives(r, "other_user_kill_0_eperm", Err(libc::EPERM), || {
        sc!(libc::SYS_kill, a, 0)
    });
    nobody_gives(
        r,
        "other_user_ptrace_attach_eperm",
        Err(libc::EPERM),
        || sc!(libc::SYS_ptrace, libc::PTRACE_ATTACH, a, 0, 0),
    );
    nobody_gives(r, "other_user_ptrace_seize_eperm", Err(libc::EPERM), || {
        sc!(libc::SYS_ptrace, 0x4206, a, 0, 0)
    });
    // Requests other than attaching need a tracee the caller traces: A is not one.
    nobody_gives(r, "untraced_ptrace_peek_esrch", Err(libc::ESRCH), || {
        sc!(libc::SYS_ptrace, libc::PTRACE_PEEKDATA, a, 0, 0)
    });
    nobody_gives(r, "own_kill_0_works", Ok(0), || {
        // SAFETY: getpid cannot fail.
        sc!(libc::SYS_kill, unsafe { libc::getpid() }, 0)
    });
    for (file, dir) in [("environ", false), ("maps", false), ("fd", true)] {
        let path = format!("{proc_a}/{file}");
        nobody_gives(
            r,
            &format!("other_user_proc_{file}_eacces"),
            Err(libc::EACCES),
            || {
                let c = std::ffi::CString::new(path).map_err(|_| libc::EINVAL)?;
                let flags = if dir { libc::O_DIRECTORY } else { 0 };
                let fd = open(&c, libc::O_RDONLY | flags)?;
                close(fd);
                Ok(0)
            },
        );
    }
    for link in ["exe", "cwd", "root"] {
        let path = format!("{proc_a}/{link}");
        nobody_gives(
            r,
            &format!("other_user_proc_{link}_link_eacces"),
            Err(libc::EACCES),
            || readlink(&path),
        );
    }
    // Still readable by anyone: status (with A's ids), stat (A's pid first) and cmdline (A's,
    // which is the parent's: A is a fork that did not exec).
    let path = format!("{proc_a}/status");
    nobody_gives(r, "other_user_proc_status_readable", Ok(1), || {
        let s = read_file(&path)?;
        let s = String::from_utf8_lossy(&s);
        Ok((s.contains("\nUid:\t0\t0\t0\t0\n") && s.contains(&format!("\nPid:\t{a}\n"))) as c_long)
    });
    let path = format!("{proc_a}/stat");
    nobody_gives(r, "other_user_proc_stat_readable", Ok(1), || {
        let s = read_file(&path)?;
        Ok(s.starts_with(format!("{a} (").as_bytes()) as c_long)
    });
    let path = format!("{proc_a}/cmdline");
    let want = cmdline.clone();
    nobody_gives(r, "other_user_proc_cmdline_readable", Ok(1), move || {
        let s = read_file(&path)?;
        Ok((Ok(&s) == want.as_ref() && !s.is_empty()) as c_long)
    });
    if cmdline.is_err() {
        diag(&format!(
            "t_isolation: /proc/self/cmdline: {}",
            show(&cmdline.map(|_| ()))
        ));
    }
    nobody_gives(r, "other_user_prlimit_read_eperm", Err(libc::EPERM), || {
        let mut old = [0u64; 2];
        sc!(
            libc::SYS_prlimit64,
            a,
            libc::RLIMIT_NOFILE,
            0,
            old.as_mut_ptr()
        )
    });
    nobody_gives(r, "other_user_setpriority_eperm", Err(libc::EPERM), || {
        sc!(libc::SYS_setpriority, libc::PRIO_PROCESS, a, 5)
    });
    // The raw call returns 20 - nice; A inherited the parent's nice value (the run may be
    // niced).
    let own = sc!(libc::SYS_getpriority, libc::PRIO_PROCESS, 0);
    nobody_gives(r, "other_user_getpriority_works", own, || {
        sc!(libc::SYS_getpriority, libc::PRIO_PROCESS, a)
    });

    // A survived all of it, and root may end it.
    let alive = sc!(libc::SYS_kill, a, 0);
    let running = usertests::waitpid(a, libc::WNOHANG);
    r.check(
        "other_user_target_still_alive",
        alive == Ok(0) && running == Ok((0, 0)),
        || {
            format!(
                "kill(A, 0) {}, waitpid WNOHANG {}",
                show(&alive),
                show(&running)
            )
        },
    );
    let _ = sc!(libc::SYS_kill, a, libc::SIGKILL);
    let st = reap(a);
    r.check(
        "root_kills_target",
        matches!(st, Ok(s) if libc::WIFSIGNALED(s) && libc::WTERMSIG(s) == libc::SIGKILL),
        || format!("A {}", st.map_or_else(errname, show_status)),
    );
}

fn main() {
    let mut r = Report::new("t_isolation");
    kernel_memory(&mut r);
    kernel_pointers(&mut r);
    no_execute(&mut r);
    // SAFETY: getuid cannot fail.
    if unsafe { libc::getuid() } == 0 {
        other_users(&mut r);
    } else {
        r.fail(
            "needs_root",
            "the checks of another user's processes need root; they were not run",
        );
    }
    r.finish();
}
