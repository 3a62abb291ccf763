//! t_signal: signals as a single-threaded Linux process sees them — delivery of a signal sent to
//! oneself before `kill` returns, siginfo and ucontext contents, registers (general and xmm)
//! restored by `rt_sigreturn`, blocking and pending signals, the mask while a handler runs
//! (own signal, SA_NODEFER, sa_mask), SA_RESETHAND, EINTR against SA_RESTART, SIGCHLD's siginfo,
//! default actions, process-group and permission rules of `kill`, synchronous faults (SIGSEGV,
//! SIGILL, SIGFPE) with their si_code/si_addr, `sigaltstack`, `alarm`/`setitimer`, `sigsuspend`
//! and SIGPIPE. Must run as root (one check signals root from uid 65534).
//!
//! Everything goes through raw system calls: handlers are installed with `rt_sigaction` and the
//! kernel's own `struct sigaction` layout (handler, flags, restorer, mask) with SA_RESTORER and a
//! restorer of this program's own (`mov eax, 15; syscall`), masks are 64-bit words handed to
//! `rt_sigprocmask`, `rt_sigpending` and `rt_sigsuspend` with a sigsetsize of 8, and siginfo and
//! ucontext are read with the kernel's x86-64 layouts (not libc's, which differ between musl and
//! glibc). Handlers only touch atomics and make raw system calls, and save and restore errno.
//!
//! Waits that depend on a signal arriving are bounded: flags are polled with a deadline,
//! `sigsuspend` is guarded by a watchdog child that sends SIGUSR2 after a second, and children
//! that would hang are killed after a deadline. Children that die of a fault set RLIMIT_CORE to 0
//! first. Rust's runtime sets SIGPIPE to SIG_IGN and installs SIGSEGV/SIGBUS handlers and an
//! alternate stack at start-up, so the checks set every disposition they depend on explicitly and
//! restore the original alternate stack.
//!
//! Stop/continue, job control, threads and queueing of real-time signals are not covered.

use core::arch::{asm, global_asm};
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering::SeqCst};
use libc::{c_int, c_long, pid_t};
use usertests::{
    Report, Steps, errname, errno, mono_ns, read_full, reap, require_root, sc, set_errno, show,
    show_status, sleep_ms, spawn, spawn_steps, ts, ts_ns, waitpid,
};

const MS: u64 = 1_000_000;

// The kernel's x86-64 ABI values, as u64 where they go into the 64-bit sa_flags (SA_RESETHAND
// is the top bit of the low word and must not sign-extend).
const SA_SIGINFO: u64 = 0x4;
const SA_RESTORER: u64 = 0x0400_0000;
const SA_ONSTACK: u64 = 0x0800_0000;
const SA_RESTART: u64 = 0x1000_0000;
const SA_NODEFER: u64 = 0x4000_0000;
const SA_RESETHAND: u64 = 0x8000_0000;
const SIG_DFL: usize = 0;
const SIG_IGN: usize = 1;
const SI_USER: i32 = 0;
const CLD_EXITED: i32 = 1;
const CLD_KILLED: i32 = 2;
const SEGV_MAPERR: i32 = 1;
const SEGV_ACCERR: i32 = 2;
const ILL_ILLOPN: i32 = 2;
const FPE_INTDIV: i32 = 1;
const SS_ONSTACK: i32 = 1;
const SS_DISABLE: i32 = 2;

const SIGUSR1: c_int = libc::SIGUSR1;
const SIGUSR2: c_int = libc::SIGUSR2;

/// The kernel's `struct sigaction` on x86-64.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct KSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// The kernel's siginfo (128 bytes): the three ints, padding, then the union.
#[repr(C)]
struct SigInfo {
    signo: i32,
    errno: i32,
    code: i32,
    _pad: i32,
    f: [u32; 28],
}

impl SigInfo {
    /// si_pid for kill and SIGCHLD.
    fn pid(&self) -> i32 {
        self.f[0] as i32
    }
    /// si_uid for kill and SIGCHLD.
    fn uid(&self) -> u32 {
        self.f[1]
    }
    /// si_status for SIGCHLD.
    fn status(&self) -> i32 {
        self.f[2] as i32
    }
    /// si_addr for the fault signals.
    fn addr(&self) -> u64 {
        self.f[0] as u64 | (self.f[1] as u64) << 32
    }
}

/// The kernel's `struct ucontext` on x86-64 (uc_mcontext is `struct sigcontext`).
#[repr(C)]
struct UContext {
    flags: u64,
    link: usize,
    ss_sp: usize,
    ss_flags: i32,
    _pad: i32,
    ss_size: usize,
    gregs: [u64; 23],
    fpstate: usize,
    _reserved: [u64; 8],
    sigmask: u64,
}

// Indices into `gregs` (struct sigcontext order).
const REG_R8: usize = 0;
const REG_R9: usize = 1;
const REG_R10: usize = 2;
const REG_R12: usize = 4;
const REG_R13: usize = 5;
const REG_R14: usize = 6;
const REG_R15: usize = 7;
const REG_RBX: usize = 11;
const REG_RDX: usize = 12;
const REG_RAX: usize = 13;
const REG_RIP: usize = 16;

type Handler = extern "C" fn(c_int, *const SigInfo, *const UContext);

// The signal restorer, and small functions whose fault addresses are known to the parent (the
// faulting instruction is the function's first, or a labelled one).
global_asm!(
    ".pushsection .text.t_signal_asm,\"ax\",@progbits",
    ".p2align 4",
    ".globl t_signal_restorer",
    ".hidden t_signal_restorer",
    "t_signal_restorer:",
    "mov eax, 15",
    "syscall",
    "ud2",
    ".p2align 4",
    ".globl t_signal_load",
    ".hidden t_signal_load",
    "t_signal_load:",
    "movzx eax, byte ptr [rdi]",
    "ret",
    ".p2align 4",
    ".globl t_signal_store",
    ".hidden t_signal_store",
    "t_signal_store:",
    "mov byte ptr [rdi], 1",
    "ret",
    ".p2align 4",
    ".globl t_signal_ud2",
    ".hidden t_signal_ud2",
    "t_signal_ud2:",
    "ud2",
    "ret",
    ".p2align 4",
    ".globl t_signal_div0",
    ".hidden t_signal_div0",
    ".globl t_signal_div0_insn",
    ".hidden t_signal_div0_insn",
    "t_signal_div0:",
    "xor ecx, ecx",
    "mov eax, 1",
    "xor edx, edx",
    "t_signal_div0_insn:",
    "div ecx",
    "ret",
    ".popsection",
);

unsafe extern "C" {
    fn t_signal_restorer();
    fn t_signal_load(addr: usize) -> u32;
    fn t_signal_store(addr: usize);
    fn t_signal_ud2();
    fn t_signal_div0() -> u32;
    /// A label inside `t_signal_div0` (the `div`), declared as a function to take its address.
    fn t_signal_div0_insn();
}

// ---- what the recording handler saw ----

static COUNT: AtomicU32 = AtomicU32::new(0);
static SIG_ARG: AtomicI32 = AtomicI32::new(0);
static SI_SIGNO: AtomicI32 = AtomicI32::new(0);
static SI_ERRNO: AtomicI32 = AtomicI32::new(0);
static SI_CODE: AtomicI32 = AtomicI32::new(0);
static SI_PID: AtomicI32 = AtomicI32::new(0);
static SI_UID: AtomicU32 = AtomicU32::new(0);
static SI_STATUS: AtomicI32 = AtomicI32::new(0);
static UC_SEEN: AtomicU32 = AtomicU32::new(0);
static UC_RIP: AtomicU64 = AtomicU64::new(0);
static UC_MASK: AtomicU64 = AtomicU64::new(0);
static HANDLER_MASK: AtomicU64 = AtomicU64::new(0);
static WHEN: AtomicU64 = AtomicU64::new(0);

/// A snapshot of the recording handler's statics.
#[derive(Debug, Clone, Copy)]
struct Seen {
    count: u32,
    sig: i32,
    signo: i32,
    errno: i32,
    code: i32,
    pid: i32,
    uid: u32,
    status: i32,
    uc: bool,
    rip: u64,
    ucmask: u64,
    hmask: u64,
    when: u64,
}

fn reset() {
    for a in [
        &SIG_ARG, &SI_SIGNO, &SI_ERRNO, &SI_CODE, &SI_PID, &SI_STATUS,
    ] {
        a.store(-1, SeqCst);
    }
    COUNT.store(0, SeqCst);
    SI_UID.store(u32::MAX, SeqCst);
    UC_SEEN.store(0, SeqCst);
    for a in [&UC_RIP, &UC_MASK, &HANDLER_MASK, &WHEN] {
        a.store(0, SeqCst);
    }
}

fn seen() -> Seen {
    Seen {
        count: COUNT.load(SeqCst),
        sig: SIG_ARG.load(SeqCst),
        signo: SI_SIGNO.load(SeqCst),
        errno: SI_ERRNO.load(SeqCst),
        code: SI_CODE.load(SeqCst),
        pid: SI_PID.load(SeqCst),
        uid: SI_UID.load(SeqCst),
        status: SI_STATUS.load(SeqCst),
        uc: UC_SEEN.load(SeqCst) != 0,
        rip: UC_RIP.load(SeqCst),
        ucmask: UC_MASK.load(SeqCst),
        hmask: HANDLER_MASK.load(SeqCst),
        when: WHEN.load(SeqCst),
    }
}

/// The blocked mask, by a raw `rt_sigprocmask` query (usable inside handlers).
fn raw_mask() -> u64 {
    let mut old: u64 = 0;
    // SAFETY: a query: null new set, valid out-pointer.
    let r = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_BLOCK,
            std::ptr::null::<u64>(),
            &mut old as *mut u64,
            8,
        )
    };
    if r == 0 { old } else { u64::MAX }
}

/// The recording handler (installed with SA_SIGINFO): counts and records the siginfo, the
/// ucontext's RIP and uc_sigmask, the mask in force while it runs, and when it ran.
extern "C" fn h_rec(sig: c_int, info: *const SigInfo, uc: *const UContext) {
    let e = errno();
    SIG_ARG.store(sig, SeqCst);
    if !info.is_null() {
        // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler.
        let i = unsafe { &*info };
        SI_SIGNO.store(i.signo, SeqCst);
        SI_ERRNO.store(i.errno, SeqCst);
        SI_CODE.store(i.code, SeqCst);
        SI_PID.store(i.pid(), SeqCst);
        SI_UID.store(i.uid(), SeqCst);
        SI_STATUS.store(i.status(), SeqCst);
    }
    if !uc.is_null() {
        // SAFETY: the kernel passes a valid ucontext.
        let u = unsafe { &*uc };
        UC_SEEN.store(1, SeqCst);
        UC_RIP.store(u.gregs[REG_RIP], SeqCst);
        UC_MASK.store(u.sigmask, SeqCst);
    }
    HANDLER_MASK.store(raw_mask(), SeqCst);
    WHEN.store(mono_ns(), SeqCst);
    COUNT.fetch_add(1, SeqCst);
    set_errno(e);
}

static WATCHDOG: AtomicU32 = AtomicU32::new(0);

extern "C" fn h_watchdog(_sig: c_int, _info: *const SigInfo, _uc: *const UContext) {
    WATCHDOG.fetch_add(1, SeqCst);
}

// ---- small wrappers ----

fn bit(sig: c_int) -> u64 {
    1u64 << (sig - 1)
}

fn sigaction(sig: c_int, handler: usize, flags: u64, mask: u64) -> Result<KSigaction, c_int> {
    let act = KSigaction {
        handler,
        flags: flags | SA_RESTORER,
        restorer: t_signal_restorer as *const () as usize,
        mask,
    };
    let mut old = KSigaction::default();
    sc!(
        libc::SYS_rt_sigaction,
        sig,
        &act as *const KSigaction,
        &mut old as *mut KSigaction,
        8
    )
    .map(|_| old)
}

/// Installs `h` with SA_SIGINFO and `flags`.
fn handle(sig: c_int, h: Handler, flags: u64, mask: u64) -> Result<KSigaction, c_int> {
    sigaction(sig, h as usize, flags | SA_SIGINFO, mask)
}

fn disposition(sig: c_int) -> Result<KSigaction, c_int> {
    let mut old = KSigaction::default();
    sc!(
        libc::SYS_rt_sigaction,
        sig,
        0,
        &mut old as *mut KSigaction,
        8
    )
    .map(|_| old)
}

/// rt_sigprocmask(how, &set, &old); returns the old mask.
fn procmask(how: c_int, set: u64) -> Result<u64, c_int> {
    let mut old: u64 = 0x5a5a;
    sc!(
        libc::SYS_rt_sigprocmask,
        how,
        &set as *const u64,
        &mut old as *mut u64,
        8
    )
    .map(|_| old)
}

fn cur_mask() -> Result<u64, c_int> {
    let mut old: u64 = 0x5a5a;
    sc!(
        libc::SYS_rt_sigprocmask,
        libc::SIG_BLOCK,
        0,
        &mut old as *mut u64,
        8
    )
    .map(|_| old)
}

fn pending() -> Result<u64, c_int> {
    let mut p: u64 = 0x5a5a;
    sc!(libc::SYS_rt_sigpending, &mut p as *mut u64, 8).map(|_| p)
}

fn kill(pid: pid_t, sig: c_int) -> Result<c_long, c_int> {
    sc!(libc::SYS_kill, pid, sig)
}

fn getpid() -> pid_t {
    // SAFETY: cannot fail.
    unsafe { libc::getpid() }
}

fn pipe() -> Result<(c_int, c_int), c_int> {
    let mut p = [-1 as c_int; 2];
    sc!(libc::SYS_pipe2, p.as_mut_ptr(), 0).map(|_| (p[0], p[1]))
}

fn close(fd: c_int) {
    let _ = sc!(libc::SYS_close, fd);
}

fn write(fd: c_int, b: &[u8]) -> Result<c_long, c_int> {
    sc!(libc::SYS_write, fd, b.as_ptr(), b.len())
}

/// pause() until killed.
fn pause_forever() -> ! {
    loop {
        let _ = sc!(libc::SYS_pause);
    }
}

/// No core files from children that die of a fault.
fn no_core() {
    let lim = [0u64; 2];
    let _ = sc!(libc::SYS_setrlimit, libc::RLIMIT_CORE, lim.as_ptr());
}

/// Waits up to `ms` for COUNT to reach `n` (nanosleep ends early when a signal arrives).
fn wait_count(n: u32, ms: u64) -> bool {
    let deadline = mono_ns() + ms * MS;
    while COUNT.load(SeqCst) < n {
        if mono_ns() > deadline {
            return false;
        }
        let t = ts(MS);
        let _ = sc!(libc::SYS_nanosleep, &t as *const libc::timespec, 0);
    }
    true
}

/// Waits up to `ms` for the child `pid`; on time-out kills it with SIGKILL, reaps it and returns
/// None.
fn reap_within(pid: pid_t, ms: u64) -> Option<Result<c_int, c_int>> {
    if pid < 0 {
        return Some(Err(-pid));
    }
    let deadline = mono_ns() + ms * MS;
    loop {
        match waitpid(pid, libc::WNOHANG) {
            Ok((0, _)) => {}
            Ok((_, st)) => return Some(Ok(st)),
            Err(e) => return Some(Err(e)),
        }
        if mono_ns() > deadline {
            let _ = kill(pid, libc::SIGKILL);
            let _ = reap(pid);
            return None;
        }
        sleep_ms(1);
    }
}

/// rt_sigsuspend(mask) guarded by a watchdog child that sends SIGUSR2 (caught) after `ms`, so
/// that a signal that never comes cannot hang the program. Returns sigsuspend's result and
/// whether the watchdog fired.
fn sigsuspend_guarded(mask: u64, ms: u64) -> (Result<c_long, c_int>, bool) {
    let old = handle(SIGUSR2, h_watchdog, 0, 0);
    WATCHDOG.store(0, SeqCst);
    let me = getpid();
    let w = spawn(move || {
        sleep_ms(ms);
        let _ = kill(me, SIGUSR2);
        0
    });
    let m = mask & !bit(SIGUSR2);
    let r = sc!(libc::SYS_rt_sigsuspend, &m as *const u64, 8);
    if w > 0 {
        let _ = kill(w, libc::SIGKILL);
        let _ = reap(w);
    }
    let fired = WATCHDOG.load(SeqCst) != 0;
    if let Ok(o) = old {
        let _ = sigaction(SIGUSR2, o.handler, o.flags, o.mask);
    }
    (r, fired)
}

// ---- 1. a signal sent to oneself ----

fn self_kill(r: &mut Report) {
    if let Err(e) = handle(SIGUSR1, h_rec, 0, 0) {
        r.fail("rt_sigaction_install", errname(e));
        return;
    }
    r.pass("rt_sigaction_install");
    let me = getpid();
    // SAFETY: cannot fail.
    let uid = unsafe { libc::getuid() };
    let pre = cur_mask();
    reset();
    let k = kill(me, SIGUSR1);
    let n = COUNT.load(SeqCst);
    r.eq("kill_self_returns_0", k, Ok(0));
    r.eq("kill_self_handled_before_return", n, 1);
    let s = seen();
    r.eq("handler_signal_argument", s.sig, SIGUSR1);
    r.check(
        "kill_self_siginfo",
        (s.signo, s.errno, s.code, s.pid, s.uid) == (SIGUSR1, 0, SI_USER, me, uid),
        || {
            format!(
                "si_signo {} si_errno {} si_code {} si_pid {} si_uid {}; want {SIGUSR1} 0 \
                 {SI_USER} {me} {uid}",
                s.signo, s.errno, s.code, s.pid, s.uid
            )
        },
    );
    r.check("kill_self_ucontext_rip", s.uc && s.rip != 0, || {
        format!("ucontext non-null {}, RIP {:#x}", s.uc, s.rip)
    });
    r.check(
        "uc_sigmask_is_interrupted_mask",
        Ok(s.ucmask) == pre,
        || format!("uc_sigmask {:#x}, mask before {}", s.ucmask, show(&pre)),
    );
    r.eq("mask_restored_after_handler", cur_mask(), pre);
    let d = disposition(SIGUSR1);
    r.check(
        "sigaction_query",
        d.is_ok_and(|d| d.handler == h_rec as *const () as usize && d.flags & SA_SIGINFO != 0),
        || format!("query {d:?}"),
    );
}

// ---- 2. registers survive a signal ----

/// Registers loaded before, and read back after, the `syscall` that raises the signal.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Debug)]
struct Regs {
    /// rbx, rdx, r8, r9, r10, r12, r13, r14, r15
    gpr: [u64; 9],
    /// xmm0..xmm15, two quadwords each
    xmm: [u64; 32],
    /// rax after the syscall (kill's result)
    rax: u64,
    /// the address just after the `syscall` instruction
    label: u64,
    /// rdi and rsi after the syscall (kill's arguments)
    rdi: u64,
    rsi: u64,
}

const GPR_NAMES: [&str; 9] = ["rbx", "rdx", "r8", "r9", "r10", "r12", "r13", "r14", "r15"];
const GPR_REG: [usize; 9] = [
    REG_RBX, REG_RDX, REG_R8, REG_R9, REG_R10, REG_R12, REG_R13, REG_R14, REG_R15,
];

static SEEN_GPR: [AtomicU64; 9] = [const { AtomicU64::new(0) }; 9];
static SEEN_XMM: [AtomicU64; 32] = [const { AtomicU64::new(0) }; 32];
static SEEN_RIP: AtomicU64 = AtomicU64::new(0);
static SEEN_RAX: AtomicU64 = AtomicU64::new(0);
static SEEN_FPSTATE: AtomicU32 = AtomicU32::new(0);

/// Records the interrupted registers from the ucontext (general registers, and xmm0..15 from the
/// fxsave image that uc_mcontext.fpstate points to), then overwrites every xmm register and the
/// caller-saved general registers, so that only the kernel's restore can bring them back.
extern "C" fn h_clobber(_sig: c_int, _info: *const SigInfo, uc: *const UContext) {
    let e = errno();
    if !uc.is_null() {
        // SAFETY: the kernel passes a valid ucontext.
        let u = unsafe { &*uc };
        for (i, &g) in GPR_REG.iter().enumerate() {
            SEEN_GPR[i].store(u.gregs[g], SeqCst);
        }
        SEEN_RIP.store(u.gregs[REG_RIP], SeqCst);
        SEEN_RAX.store(u.gregs[REG_RAX], SeqCst);
        if u.fpstate != 0 {
            SEEN_FPSTATE.store(1, SeqCst);
            let xmm = (u.fpstate + 160) as *const u64;
            for (i, a) in SEEN_XMM.iter().enumerate() {
                // SAFETY: fpstate points to the frame's fxsave image (512 bytes, xmm at 160).
                a.store(unsafe { xmm.add(i).read_unaligned() }, SeqCst);
            }
        }
    }
    COUNT.fetch_add(1, SeqCst);
    // SAFETY: only overwrites registers declared as clobbered.
    unsafe {
        asm!(
            "pcmpeqd xmm0, xmm0",
            "pcmpeqd xmm1, xmm1",
            "pcmpeqd xmm2, xmm2",
            "pcmpeqd xmm3, xmm3",
            "pcmpeqd xmm4, xmm4",
            "pcmpeqd xmm5, xmm5",
            "pcmpeqd xmm6, xmm6",
            "pcmpeqd xmm7, xmm7",
            "pcmpeqd xmm8, xmm8",
            "pcmpeqd xmm9, xmm9",
            "pcmpeqd xmm10, xmm10",
            "pcmpeqd xmm11, xmm11",
            "pcmpeqd xmm12, xmm12",
            "pcmpeqd xmm13, xmm13",
            "pcmpeqd xmm14, xmm14",
            "pcmpeqd xmm15, xmm15",
            "mov rax, -1",
            "mov rcx, -1",
            "mov rdx, -1",
            "mov rsi, -1",
            "mov rdi, -1",
            "mov r8, -1",
            "mov r9, -1",
            "mov r10, -1",
            "mov r11, -1",
            out("rax") _, out("rcx") _, out("rdx") _, out("rsi") _, out("rdi") _,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _,
            out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
            out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _,
            out("xmm8") _, out("xmm9") _, out("xmm10") _, out("xmm11") _,
            out("xmm12") _, out("xmm13") _, out("xmm14") _, out("xmm15") _,
            options(nostack, nomem),
        );
    }
    set_errno(e);
}

fn registers(r: &mut Report) {
    if let Err(e) = handle(SIGUSR1, h_clobber, 0, 0) {
        r.fail("registers_setup", errname(e));
        return;
    }
    let me = getpid();
    let mut inp = Regs {
        gpr: [0; 9],
        xmm: [0; 32],
        rax: 0,
        label: 0,
        rdi: 0,
        rsi: 0,
    };
    for (i, g) in inp.gpr.iter_mut().enumerate() {
        *g = 0x5eed_0000_0000_0000 | ((i as u64 + 1) * 0x0101_0101);
    }
    for (i, x) in inp.xmm.iter_mut().enumerate() {
        *x = 0xa0a0_0000_0000_0000 | ((i as u64 + 1) * 0x0001_0203_0405);
    }
    let mut outp = Regs {
        gpr: [0; 9],
        xmm: [0; 32],
        rax: 0x5a5a,
        label: 0,
        rdi: 0,
        rsi: 0,
    };
    COUNT.store(0, SeqCst);
    SEEN_FPSTATE.store(0, SeqCst);
    // SAFETY: loads the registers from `inp`, raises SIGUSR1 with a raw kill(getpid(), SIGUSR1)
    // and stores the registers into `outp`. rbx (reserved by the compiler) is saved and restored
    // on the stack; every other register written is declared; rsp is restored.
    unsafe {
        asm!(
            "push rbx",
            "push r11",
            "movdqu xmm0, [rcx + 72]",
            "movdqu xmm1, [rcx + 88]",
            "movdqu xmm2, [rcx + 104]",
            "movdqu xmm3, [rcx + 120]",
            "movdqu xmm4, [rcx + 136]",
            "movdqu xmm5, [rcx + 152]",
            "movdqu xmm6, [rcx + 168]",
            "movdqu xmm7, [rcx + 184]",
            "movdqu xmm8, [rcx + 200]",
            "movdqu xmm9, [rcx + 216]",
            "movdqu xmm10, [rcx + 232]",
            "movdqu xmm11, [rcx + 248]",
            "movdqu xmm12, [rcx + 264]",
            "movdqu xmm13, [rcx + 280]",
            "movdqu xmm14, [rcx + 296]",
            "movdqu xmm15, [rcx + 312]",
            "mov rbx, [rcx]",
            "mov rdx, [rcx + 8]",
            "mov r8, [rcx + 16]",
            "mov r9, [rcx + 24]",
            "mov r10, [rcx + 32]",
            "mov r12, [rcx + 40]",
            "mov r13, [rcx + 48]",
            "mov r14, [rcx + 56]",
            "mov r15, [rcx + 64]",
            "syscall",
            "2:",
            "mov rcx, [rsp]",
            "mov [rcx], rbx",
            "mov [rcx + 8], rdx",
            "mov [rcx + 16], r8",
            "mov [rcx + 24], r9",
            "mov [rcx + 32], r10",
            "mov [rcx + 40], r12",
            "mov [rcx + 48], r13",
            "mov [rcx + 56], r14",
            "mov [rcx + 64], r15",
            "movdqu [rcx + 72], xmm0",
            "movdqu [rcx + 88], xmm1",
            "movdqu [rcx + 104], xmm2",
            "movdqu [rcx + 120], xmm3",
            "movdqu [rcx + 136], xmm4",
            "movdqu [rcx + 152], xmm5",
            "movdqu [rcx + 168], xmm6",
            "movdqu [rcx + 184], xmm7",
            "movdqu [rcx + 200], xmm8",
            "movdqu [rcx + 216], xmm9",
            "movdqu [rcx + 232], xmm10",
            "movdqu [rcx + 248], xmm11",
            "movdqu [rcx + 264], xmm12",
            "movdqu [rcx + 280], xmm13",
            "movdqu [rcx + 296], xmm14",
            "movdqu [rcx + 312], xmm15",
            "mov [rcx + 328], rax",
            "lea rdx, [rip + 2b]",
            "mov [rcx + 336], rdx",
            "mov [rcx + 344], rdi",
            "mov [rcx + 352], rsi",
            "add rsp, 8",
            "pop rbx",
            inout("rax") libc::SYS_kill => _,
            inout("rdi") me as u64 => _,
            inout("rsi") SIGUSR1 as u64 => _,
            inout("rcx") &inp as *const Regs => _,
            inout("r11") &mut outp as *mut Regs => _,
            out("rdx") _, out("r8") _, out("r9") _, out("r10") _,
            out("r12") _, out("r13") _, out("r14") _, out("r15") _,
            out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
            out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _,
            out("xmm8") _, out("xmm9") _, out("xmm10") _, out("xmm11") _,
            out("xmm12") _, out("xmm13") _, out("xmm14") _, out("xmm15") _,
        );
    }
    let n = COUNT.load(SeqCst);
    r.check("registers_handler_ran", n == 1 && outp.rax == 0, || {
        format!("handler ran {n} times, kill returned {:#x}", outp.rax)
    });
    let bad: Vec<String> = (0..9)
        .filter(|&i| outp.gpr[i] != inp.gpr[i])
        .map(|i| {
            format!(
                "{} {:#x} (want {:#x})",
                GPR_NAMES[i], outp.gpr[i], inp.gpr[i]
            )
        })
        .collect();
    r.check("general_registers_preserved", bad.is_empty(), || {
        bad.join(", ")
    });
    let args_ok = outp.rdi == me as u64 && outp.rsi == SIGUSR1 as u64;
    r.check("syscall_argument_registers_preserved", args_ok, || {
        format!("rdi {:#x} rsi {:#x}", outp.rdi, outp.rsi)
    });
    let bad: Vec<String> = (0..16)
        .filter(|&k| outp.xmm[2 * k..2 * k + 2] != inp.xmm[2 * k..2 * k + 2])
        .map(|k| format!("xmm{k} {:#x}:{:#x}", outp.xmm[2 * k + 1], outp.xmm[2 * k]))
        .collect();
    r.check("xmm_registers_preserved", bad.is_empty(), || {
        format!("after the handler clobbered them: {}", bad.join(", "))
    });
    let seen_gpr: Vec<u64> = SEEN_GPR.iter().map(|a| a.load(SeqCst)).collect();
    let (rip, rax) = (SEEN_RIP.load(SeqCst), SEEN_RAX.load(SeqCst));
    r.check(
        "ucontext_general_registers",
        seen_gpr == inp.gpr && rip == outp.label && rax == 0,
        || {
            format!(
                "gregs {seen_gpr:x?} (want {:x?}), RIP {rip:#x} (want {:#x}, after the syscall), \
                 RAX {rax:#x} (want 0)",
                inp.gpr, outp.label
            )
        },
    );
    let seen_xmm: Vec<u64> = SEEN_XMM.iter().map(|a| a.load(SeqCst)).collect();
    let fp = SEEN_FPSTATE.load(SeqCst) != 0;
    r.check("ucontext_fpstate_xmm", fp && seen_xmm == inp.xmm, || {
        format!("fpstate present {fp}, xmm {seen_xmm:x?}")
    });
}

// ---- 3. masks ----

fn masks(r: &mut Report) {
    let me = getpid();
    if let Err(e) = handle(SIGUSR1, h_rec, 0, 0) {
        r.fail("masks_setup", errname(e));
        return;
    }
    let pre = match cur_mask() {
        Ok(m) => m,
        Err(e) => {
            r.fail(
                "masks_setup",
                format!("rt_sigprocmask query: {}", errname(e)),
            );
            return;
        }
    };
    r.check(
        "initial_mask_has_no_usr",
        pre & (bit(SIGUSR1) | bit(SIGUSR2)) == 0,
        || format!("mask {pre:#x}"),
    );

    // Blocked: stays pending; unblocking delivers it exactly once.
    reset();
    let b = procmask(libc::SIG_BLOCK, bit(SIGUSR1));
    r.eq("sigprocmask_block_returns_old", b, Ok(pre));
    let _ = kill(me, SIGUSR1);
    r.eq("blocked_signal_not_delivered", COUNT.load(SeqCst), 0);
    r.eq("sigpending_shows_blocked", pending(), Ok(bit(SIGUSR1)));
    r.eq("mask_has_blocked_bit", cur_mask(), Ok(pre | bit(SIGUSR1)));
    let u = procmask(libc::SIG_UNBLOCK, bit(SIGUSR1));
    let n = COUNT.load(SeqCst);
    r.check("unblock_delivers_once", u.is_ok() && n == 1, || {
        format!("unblock {}, handler ran {n} times", show(&u))
    });
    r.eq("sigpending_empty_after_delivery", pending(), Ok(0));
    let _ = kill(me, SIGUSR1);
    r.eq("second_delivery_after_unblock", COUNT.load(SeqCst), 2);

    // SIG_IGN discards a pending signal.
    reset();
    let _ = procmask(libc::SIG_BLOCK, bit(SIGUSR1));
    let _ = kill(me, SIGUSR1);
    let p1 = pending();
    let ign = sigaction(SIGUSR1, SIG_IGN, 0, 0);
    let p2 = pending();
    let _ = handle(SIGUSR1, h_rec, 0, 0);
    let _ = procmask(libc::SIG_SETMASK, pre);
    let n = COUNT.load(SeqCst);
    r.check(
        "sig_ign_discards_pending",
        p1 == Ok(bit(SIGUSR1)) && ign.is_ok() && p2 == Ok(0) && n == 0,
        || {
            format!(
                "pending before {}, after SIG_IGN {}, handler ran {n} times later",
                show(&p1),
                show(&p2)
            )
        },
    );

    // SIGKILL and SIGSTOP cannot be blocked.
    let kill_stop = bit(libc::SIGKILL) | bit(libc::SIGSTOP);
    let a = procmask(libc::SIG_BLOCK, kill_stop);
    let after = procmask(libc::SIG_SETMASK, pre);
    r.check(
        "cannot_block_kill_stop",
        a.is_ok() && after == Ok(pre),
        || format!("block {}, mask then {}", show(&a), show(&after)),
    );
    let a = procmask(libc::SIG_SETMASK, u64::MAX);
    let after = procmask(libc::SIG_SETMASK, pre);
    r.check(
        "block_all_leaves_kill_stop",
        a.is_ok() && after == Ok(!kill_stop),
        || format!("set all {}, mask then {:x?}", show(&a), after),
    );

    // The handler's own signal is blocked while it runs, unless SA_NODEFER; sa_mask is added.
    for (name, flags, mask, want) in [
        ("handler_blocks_own_signal", 0, 0, pre | bit(SIGUSR1)),
        ("sa_nodefer_does_not_block", SA_NODEFER, 0, pre),
        (
            "sa_mask_blocked_in_handler",
            0,
            bit(SIGUSR2) | bit(libc::SIGHUP),
            pre | bit(SIGUSR1) | bit(SIGUSR2) | bit(libc::SIGHUP),
        ),
    ] {
        let _ = handle(SIGUSR1, h_rec, flags, mask);
        reset();
        let _ = kill(me, SIGUSR1);
        let s = seen();
        let after = cur_mask();
        r.check(
            name,
            s.count == 1 && s.hmask == want && after == Ok(pre),
            || {
                format!(
                    "ran {} times, mask in handler {:#x} (want {want:#x}), after {}",
                    s.count,
                    s.hmask,
                    show(&after)
                )
            },
        );
    }

    // SA_RESETHAND: SIG_DFL after the first delivery.
    let _ = handle(SIGUSR1, h_rec, SA_RESETHAND, 0);
    reset();
    let _ = kill(me, SIGUSR1);
    let n = COUNT.load(SeqCst);
    let d = disposition(SIGUSR1);
    r.check(
        "sa_resethand_resets_to_default",
        n == 1 && d.is_ok_and(|d| d.handler == SIG_DFL),
        || format!("handler ran {n} times, disposition then {d:?}"),
    );
    let _ = handle(SIGUSR1, h_rec, 0, 0);
    let pid = spawn(|| {
        if handle(SIGUSR1, h_rec, SA_RESETHAND, 0).is_err() {
            return 1;
        }
        reset();
        let me = getpid();
        let _ = kill(me, SIGUSR1);
        if COUNT.load(SeqCst) != 1 {
            return 2;
        }
        let _ = kill(me, SIGUSR1);
        3
    });
    let st = reap(pid);
    r.check(
        "sa_resethand_second_signal_kills",
        st == Ok(SIGUSR1),
        || format!("child {}", st.map_or_else(errname, show_status)),
    );

    // Errors.
    let act = KSigaction {
        handler: h_rec as *const () as usize,
        flags: SA_SIGINFO | SA_RESTORER,
        restorer: t_signal_restorer as *const () as usize,
        mask: 0,
    };
    let set = |sig: c_int, size: usize| {
        sc!(
            libc::SYS_rt_sigaction,
            sig,
            &act as *const KSigaction,
            0,
            size
        )
    };
    r.err(
        "sigaction_sigkill_einval",
        set(libc::SIGKILL, 8),
        libc::EINVAL,
    );
    r.err(
        "sigaction_sigstop_einval",
        set(libc::SIGSTOP, 8),
        libc::EINVAL,
    );
    r.err("sigaction_signal_0_einval", set(0, 8), libc::EINVAL);
    r.err("sigaction_signal_65_einval", set(65, 8), libc::EINVAL);
    r.err("sigaction_sigsetsize_einval", set(SIGUSR2, 4), libc::EINVAL);
    r.check(
        "sigaction_query_sigkill",
        disposition(libc::SIGKILL).is_ok_and(|d| d.handler == SIG_DFL),
        || format!("{:?}", disposition(libc::SIGKILL)),
    );
    let m = 0u64;
    r.err(
        "sigprocmask_bad_how_einval",
        sc!(libc::SYS_rt_sigprocmask, 3, &m as *const u64, 0, 8),
        libc::EINVAL,
    );
    r.err(
        "sigprocmask_sigsetsize_einval",
        sc!(
            libc::SYS_rt_sigprocmask,
            libc::SIG_BLOCK,
            &m as *const u64,
            0,
            4
        ),
        libc::EINVAL,
    );
    r.eq("mask_unchanged_after_masks", cur_mask(), Ok(pre));
}

// ---- 4. EINTR and SA_RESTART ----

fn eintr(r: &mut Report) {
    let me = getpid();
    for (name, flags) in [
        ("read_eintr_without_sa_restart", 0),
        ("read_restarted_with_sa_restart", SA_RESTART),
    ] {
        let restart = flags != 0;
        let (Ok(_), Ok((rd, wr))) = (handle(SIGUSR1, h_rec, flags, 0), pipe()) else {
            r.fail(name, "setup failed");
            continue;
        };
        reset();
        let pid = spawn(move || {
            close(rd);
            sleep_ms(50);
            if kill(me, SIGUSR1).is_err() {
                return 1;
            }
            // Keep the write end open meanwhile in both cases: a pipe read that finds no
            // writers returns end of file even with a signal pending.
            sleep_ms(50);
            if restart && write(wr, b"x") != Ok(1) {
                return 2;
            }
            0
        });
        close(wr);
        let mut b = [0u8; 1];
        let t0 = mono_ns();
        let got = sc!(libc::SYS_read, rd, b.as_mut_ptr(), 1);
        let t1 = mono_ns();
        let s = seen();
        close(rd);
        let child = reap(pid);
        let want = if restart { Ok(1) } else { Err(libc::EINTR) };
        let during = s.when > t0 && s.when < t1;
        r.check(
            name,
            got == want && s.count == 1 && during && child == Ok(0),
            || {
                format!(
                    "read {} (want {}), handler ran {} times, during the read {during}, child {}",
                    show(&got),
                    show(&want),
                    s.count,
                    child.map_or_else(errname, show_status)
                )
            },
        );
    }

    // nanosleep is interrupted (and reports the time left) even with SA_RESTART.
    for (name, flags) in [
        ("nanosleep_eintr_remaining", 0),
        ("nanosleep_eintr_despite_sa_restart", SA_RESTART),
    ] {
        if handle(SIGUSR1, h_rec, flags, 0).is_err() {
            r.fail(name, "sigaction failed");
            continue;
        }
        reset();
        let pid = spawn(move || {
            sleep_ms(50);
            kill(me, SIGUSR1).map_or(1, |_| 0)
        });
        let req = ts(1_000_000_000);
        let mut rem = ts(0);
        let t0 = mono_ns();
        let got = sc!(
            libc::SYS_nanosleep,
            &req as *const libc::timespec,
            &mut rem as *mut libc::timespec
        );
        let dt = mono_ns() - t0;
        let n = COUNT.load(SeqCst);
        let left = if rem.tv_sec >= 0 && rem.tv_nsec >= 0 {
            ts_ns(&rem)
        } else {
            0
        };
        let child = reap(pid);
        r.check(
            name,
            got == Err(libc::EINTR)
                && n == 1
                && left > 0
                && left < 1_000_000_000
                && dt < 1_000_000_000
                && child == Ok(0),
            || {
                format!(
                    "nanosleep {} after {} ms, remaining {}.{:09}, handler ran {n} times",
                    show(&got),
                    dt / MS,
                    rem.tv_sec,
                    rem.tv_nsec
                )
            },
        );
    }
    let _ = handle(SIGUSR1, h_rec, 0, 0);
}

// ---- 5. SIGCHLD ----

fn sigchld(r: &mut Report) {
    // SAFETY: cannot fail.
    let uid = unsafe { libc::getuid() };
    if let Err(e) = handle(libc::SIGCHLD, h_rec, SA_RESTART, 0) {
        r.fail("sigchld_setup", errname(e));
        return;
    }
    reset();
    let pid = spawn(|| 7);
    let arrived = wait_count(1, 1000);
    let s = seen();
    let st = reap(pid);
    r.check(
        "sigchld_exited",
        arrived
            && (s.signo, s.code, s.pid, s.status, s.uid)
                == (libc::SIGCHLD, CLD_EXITED, pid, 7, uid)
            && st == Ok(7 << 8),
        || {
            format!(
                "arrived {arrived}; si_signo {} si_code {} si_pid {} (child {pid}) si_status {} \
                 si_uid {}; child {}",
                s.signo,
                s.code,
                s.pid,
                s.status,
                s.uid,
                st.map_or_else(errname, show_status)
            )
        },
    );

    reset();
    let pid = spawn(|| pause_forever());
    let k = kill(pid, libc::SIGKILL);
    let arrived = wait_count(1, 1000);
    let s = seen();
    let st = reap_within(pid, 1000);
    r.check(
        "sigchld_killed",
        k.is_ok()
            && arrived
            && (s.signo, s.code, s.pid, s.status)
                == (libc::SIGCHLD, CLD_KILLED, pid, libc::SIGKILL)
            && st == Some(Ok(libc::SIGKILL)),
        || {
            format!(
                "kill {}, arrived {arrived}; si_signo {} si_code {} si_pid {} (child {pid}) \
                 si_status {}; child {st:?}",
                show(&k),
                s.signo,
                s.code,
                s.pid,
                s.status,
            )
        },
    );
    let _ = sigaction(libc::SIGCHLD, SIG_DFL, 0, 0);
}

// ---- 6. default actions ----

/// A child that sets `sig`'s disposition, unblocks everything and sends itself `sig`, then exits
/// 0; returns its wait status.
fn raise_in_child(sig: c_int, disp: usize) -> Result<c_int, c_int> {
    let pid = spawn(move || {
        if sigaction(sig, disp, 0, 0).is_err() {
            return 1;
        }
        if procmask(libc::SIG_SETMASK, 0).is_err() {
            return 2;
        }
        if kill(getpid(), sig).is_err() {
            return 3;
        }
        0
    });
    if pid < 0 {
        return Err(-pid);
    }
    reap(pid)
}

fn defaults(r: &mut Report) {
    for (name, sig, disp, want) in [
        (
            "default_sigterm_kills",
            libc::SIGTERM,
            SIG_DFL,
            libc::SIGTERM,
        ),
        ("default_sigusr2_kills", SIGUSR2, SIG_DFL, SIGUSR2),
        ("default_sighup_kills", libc::SIGHUP, SIG_DFL, libc::SIGHUP),
        ("ignored_sigterm_survives", libc::SIGTERM, SIG_IGN, 0),
        ("default_sigchld_ignored", libc::SIGCHLD, SIG_DFL, 0),
        ("default_sigurg_ignored", libc::SIGURG, SIG_DFL, 0),
        ("default_sigwinch_ignored", libc::SIGWINCH, SIG_DFL, 0),
    ] {
        // A raw status equal to the signal number: killed by it, no core dump.
        let st = raise_in_child(sig, disp);
        r.check(name, st == Ok(want), || {
            format!(
                "child {}, want {}",
                st.map_or_else(errname, show_status),
                show_status(want)
            )
        });
    }
}

// ---- 7. process groups and kill's errors ----

static TERM_SEEN: AtomicU32 = AtomicU32::new(0);

extern "C" fn h_term(_sig: c_int, _info: *const SigInfo, _uc: *const UContext) {
    TERM_SEEN.fetch_add(1, SeqCst);
}

fn groups(r: &mut Report) {
    let me = getpid();

    // A group leader C with a grandchild G in its group; kill(-C, SIGTERM) reaches both. C
    // catches SIGTERM, reaps G and exits 0 only if G died of SIGTERM and C's handler ran.
    match pipe() {
        Ok((rd, wr)) => {
            let c = spawn(move || {
                close(rd);
                if sc!(libc::SYS_setpgid, 0, 0).is_err() {
                    return 1;
                }
                let g = spawn(|| pause_forever());
                if g < 0 {
                    return 2;
                }
                TERM_SEEN.store(0, SeqCst);
                if handle(libc::SIGTERM, h_term, 0, 0).is_err() {
                    return 3;
                }
                let _ = write(wr, &g.to_ne_bytes());
                close(wr);
                let gst = reap(g);
                let deadline = mono_ns() + 1000 * MS;
                while TERM_SEEN.load(SeqCst) == 0 && mono_ns() < deadline {
                    sleep_ms(1);
                }
                if gst != Ok(libc::SIGTERM) {
                    return 10;
                }
                if TERM_SEEN.load(SeqCst) != 1 {
                    return 11;
                }
                0
            });
            close(wr);
            if c > 0 {
                let _ = sc!(libc::SYS_setpgid, c, c);
            }
            let mut b = [0u8; 4];
            let got = read_full(rd, &mut b);
            close(rd);
            let g = pid_t::from_ne_bytes(b);
            let gpg = if got == 4 {
                sc!(libc::SYS_getpgid, g)
            } else {
                Err(libc::EIO)
            };
            r.check(
                "grandchild_in_child_group",
                c > 0 && gpg == Ok(c as c_long),
                || format!("getpgid(grandchild) {} (group {c})", show(&gpg)),
            );
            let k = kill(-c, libc::SIGTERM);
            r.eq("kill_group_returns_0", k, Ok(0));
            let st = reap_within(c, 2000);
            if st.is_none() && got == 4 {
                let _ = kill(g, libc::SIGKILL);
            }
            r.check("kill_group_reaches_all", st == Some(Ok(0)), || match st {
                None => "child did not exit within 2 s (killed)".into(),
                Some(Ok(s)) if libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == 10 => {
                    "grandchild did not die of SIGTERM".into()
                }
                Some(Ok(s)) if libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == 11 => {
                    "group leader's SIGTERM handler did not run once".into()
                }
                Some(Ok(s)) => format!("child {}", show_status(s)),
                Some(Err(e)) => errname(e),
            });
            r.err("kill_empty_group_esrch", kill(-c, 0), libc::ESRCH);
        }
        Err(e) => r.fail("grandchild_in_child_group", format!("pipe: {}", errname(e))),
    }

    // kill(pid, 0) on a live child, a zombie and a reaped one.
    let pid = spawn(|| pause_forever());
    r.eq("kill_0_live_child", kill(pid, 0), Ok(0));
    let _ = kill(pid, libc::SIGKILL);
    // SAFETY: siginfo_t is plain data; valid out-pointer.
    let dead = unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        )
    };
    r.check("kill_0_zombie", dead == 0 && kill(pid, 0) == Ok(0), || {
        format!("waitid {dead}, kill {}", show(&kill(pid, 0)))
    });
    let _ = reap(pid);
    r.err("kill_reaped_child_esrch", kill(pid, 0), libc::ESRCH);
    r.err("kill_nonexistent_esrch", kill(0x3fff_fff0, 0), libc::ESRCH);
    r.err("kill_signal_65_einval", kill(me, 65), libc::EINVAL);
    r.err("kill_signal_negative_einval", kill(me, -1), libc::EINVAL);

    // An unprivileged process may not signal root.
    let old = sigaction(SIGUSR1, SIG_IGN, 0, 0);
    let pid = spawn_steps(move || {
        let mut s = Steps::new("t_signal uid 65534 child");
        s.ok(sc!(libc::SYS_setuid, 65534), "setuid(65534)")?;
        s.err(kill(me, 0), libc::EPERM, "kill(root parent, 0)")?;
        s.err(kill(me, SIGUSR1), libc::EPERM, "kill(root parent, SIGUSR1)")?;
        s.eq(kill(getpid(), 0), Ok(0), "kill(self, 0)")?;
        Ok(())
    });
    r.child_ok("kill_root_from_uid_65534_eperm", pid);
    if let Ok(o) = old {
        let _ = sigaction(SIGUSR1, o.handler, o.flags, o.mask);
    }
}

// ---- 8. faults ----

static FAULT_FD: AtomicI32 = AtomicI32::new(-1);

/// Reports (signal, si_code, si_addr, interrupted RIP) on FAULT_FD and exits 42.
extern "C" fn h_fault(sig: c_int, info: *const SigInfo, uc: *const UContext) {
    let mut rep = [sig as u64, u64::MAX, u64::MAX, u64::MAX];
    if !info.is_null() {
        // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler.
        let i = unsafe { &*info };
        rep[1] = i.code as u64;
        rep[2] = i.addr();
    }
    if !uc.is_null() {
        // SAFETY: the kernel passes a valid ucontext.
        rep[3] = unsafe { (*uc).gregs[REG_RIP] };
    }
    // SAFETY: write(2) and _exit(2) are async-signal-safe.
    unsafe {
        libc::write(FAULT_FD.load(SeqCst), rep.as_ptr().cast(), 32);
        libc::_exit(42);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Handler,
    Default,
    HandlerBlocked,
    Ignored,
}

/// Runs `f` in a child with SIGSEGV/SIGILL/SIGFPE/SIGBUS set up as `mode` says; returns its
/// wait status and what h_fault reported, if anything.
fn fault_child(mode: Mode, f: impl FnOnce()) -> (Result<c_int, c_int>, Option<[u64; 4]>) {
    let (rd, wr) = match pipe() {
        Ok(p) => p,
        Err(e) => return (Err(e), None),
    };
    let pid = spawn(move || {
        close(rd);
        FAULT_FD.store(wr, SeqCst);
        no_core();
        for sig in [libc::SIGSEGV, libc::SIGILL, libc::SIGFPE, libc::SIGBUS] {
            let set = match mode {
                Mode::Handler | Mode::HandlerBlocked => handle(sig, h_fault, 0, 0),
                Mode::Default => sigaction(sig, SIG_DFL, 0, 0),
                Mode::Ignored => sigaction(sig, SIG_IGN, 0, 0),
            };
            if set.is_err() {
                return 1;
            }
        }
        let block = if mode == Mode::HandlerBlocked {
            bit(libc::SIGSEGV)
        } else {
            0
        };
        if procmask(libc::SIG_SETMASK, block).is_err() {
            return 2;
        }
        f();
        3
    });
    close(wr);
    if pid < 0 {
        close(rd);
        return (Err(-pid), None);
    }
    let mut b = [0u8; 32];
    let got = read_full(rd, &mut b);
    close(rd);
    let st = reap(pid);
    let rep = (got == 32).then(|| {
        let mut v = [0u64; 4];
        for (i, x) in v.iter_mut().enumerate() {
            *x = u64::from_ne_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        }
        v
    });
    (st, rep)
}

fn faults(r: &mut Report) {
    let load = t_signal_load as *const () as usize;
    let store = t_signal_store as *const () as usize;
    let ud2 = t_signal_ud2 as *const () as usize;
    let div = t_signal_div0_insn as *const () as usize;
    // SAFETY: a fresh private anonymous read-only page.
    let page = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    let page = if page == libc::MAP_FAILED {
        0
    } else {
        page as usize
    };

    type Case = (&'static str, fn(usize), usize, [u64; 4]);
    let cases: [Case; 4] = [
        (
            "sigsegv_maperr",
            // SAFETY: deliberately faults in the child.
            |_| unsafe {
                std::hint::black_box(t_signal_load(0x1000));
            },
            0,
            [
                libc::SIGSEGV as u64,
                SEGV_MAPERR as u64,
                0x1000,
                load as u64,
            ],
        ),
        (
            "sigsegv_accerr",
            // SAFETY: deliberately faults in the child.
            |p| unsafe { t_signal_store(p) },
            page,
            [
                libc::SIGSEGV as u64,
                SEGV_ACCERR as u64,
                page as u64,
                store as u64,
            ],
        ),
        (
            "sigill_illopn",
            // SAFETY: deliberately faults in the child.
            |_| unsafe { t_signal_ud2() },
            0,
            [
                libc::SIGILL as u64,
                ILL_ILLOPN as u64,
                ud2 as u64,
                ud2 as u64,
            ],
        ),
        (
            "sigfpe_intdiv",
            // SAFETY: deliberately faults in the child.
            |_| unsafe {
                std::hint::black_box(t_signal_div0());
            },
            0,
            [
                libc::SIGFPE as u64,
                FPE_INTDIV as u64,
                div as u64,
                div as u64,
            ],
        ),
    ];
    for (name, f, arg, want) in cases {
        if name == "sigsegv_accerr" && page == 0 {
            r.fail(name, "mmap failed");
            continue;
        }
        let (st, rep) = fault_child(Mode::Handler, move || f(arg));
        r.check(name, st == Ok(42 << 8) && rep == Some(want), || {
            let fmt = |v: &[u64; 4]| {
                format!(
                    "signal {} si_code {} si_addr {:#x} RIP {:#x}",
                    v[0] as i64, v[1] as i64, v[2], v[3]
                )
            };
            format!(
                "child {}, handler saw {}; want {}",
                st.map_or_else(errname, show_status),
                rep.as_ref().map_or("nothing".into(), fmt),
                fmt(&want)
            )
        });
    }
    if page != 0 {
        // SAFETY: unmaps the page mapped above.
        unsafe { libc::munmap(page as *mut libc::c_void, 4096) };
    }

    for (name, mode) in [
        ("null_deref_default_kills_sigsegv", Mode::Default),
        ("blocked_sigsegv_still_kills", Mode::HandlerBlocked),
        ("ignored_sigsegv_still_kills", Mode::Ignored),
    ] {
        let (st, rep) = fault_child(mode, || {
            // SAFETY: deliberately faults in the child.
            unsafe { std::hint::black_box(t_signal_load(0)) };
        });
        let killed = st.is_ok_and(|s| libc::WIFSIGNALED(s) && libc::WTERMSIG(s) == libc::SIGSEGV);
        r.check(name, killed && rep.is_none(), || {
            format!(
                "child {}, handler ran: {}",
                st.map_or_else(errname, show_status),
                rep.is_some()
            )
        });
    }
}

// ---- 9. sigaltstack ----

static ALT_LOCAL: AtomicU64 = AtomicU64::new(0);
static ALT_FLAGS: AtomicI32 = AtomicI32::new(-1);
static ALT_CHANGE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn h_alt(_sig: c_int, _info: *const SigInfo, _uc: *const UContext) {
    let e = errno();
    let local = 0u8;
    ALT_LOCAL.store(std::hint::black_box(&local) as *const u8 as u64, SeqCst);
    // SAFETY: stack_t is plain data.
    let mut cur: libc::stack_t = unsafe { std::mem::zeroed() };
    // SAFETY: a query into a valid out-pointer.
    let q = unsafe {
        libc::syscall(
            libc::SYS_sigaltstack,
            std::ptr::null::<libc::stack_t>(),
            &mut cur as *mut libc::stack_t,
        )
    };
    ALT_FLAGS.store(if q == 0 { cur.ss_flags } else { -2 }, SeqCst);
    // Changing the alternate stack while running on it is refused.
    // SAFETY: stack_t is plain data.
    let mut off: libc::stack_t = unsafe { std::mem::zeroed() };
    off.ss_flags = SS_DISABLE;
    if cur.ss_flags & SS_ONSTACK != 0 {
        // SAFETY: valid pointer.
        let c = unsafe {
            libc::syscall(
                libc::SYS_sigaltstack,
                &off as *const libc::stack_t,
                std::ptr::null_mut::<libc::stack_t>(),
            )
        };
        ALT_CHANGE.store(if c == 0 { 0 } else { errno() }, SeqCst);
    }
    COUNT.fetch_add(1, SeqCst);
    set_errno(e);
}

fn altstack_set(sp: usize, flags: c_int, size: usize) -> Result<c_long, c_int> {
    // SAFETY: stack_t is plain data.
    let mut ss: libc::stack_t = unsafe { std::mem::zeroed() };
    ss.ss_sp = sp as *mut libc::c_void;
    ss.ss_flags = flags;
    ss.ss_size = size;
    sc!(libc::SYS_sigaltstack, &ss as *const libc::stack_t, 0)
}

fn altstack_get() -> Result<(usize, c_int, usize), c_int> {
    // SAFETY: stack_t is plain data.
    let mut ss: libc::stack_t = unsafe { std::mem::zeroed() };
    sc!(libc::SYS_sigaltstack, 0, &mut ss as *mut libc::stack_t)
        .map(|_| (ss.ss_sp as usize, ss.ss_flags, ss.ss_size as usize))
}

fn altstack(r: &mut Report) {
    const SIZE: usize = 64 * 1024;
    let me = getpid();
    // SAFETY: stack_t is plain data.
    let mut saved: libc::stack_t = unsafe { std::mem::zeroed() };
    if let Err(e) = sc!(libc::SYS_sigaltstack, 0, &mut saved as *mut libc::stack_t) {
        r.fail("sigaltstack_query", errname(e));
        return;
    }
    // SAFETY: a fresh private anonymous mapping.
    let m = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if m == libc::MAP_FAILED {
        r.fail("sigaltstack_setup", "mmap failed");
        return;
    }
    let base = m as usize;
    r.okv("sigaltstack_set", altstack_set(base, 0, SIZE));
    let q = altstack_get();
    r.check(
        "sigaltstack_query_outside_handler",
        q == Ok((base, 0, SIZE)),
        || format!("got {q:x?}, want Ok(({base:#x}, 0, {SIZE:#x}))"),
    );
    let _ = handle(SIGUSR1, h_alt, SA_ONSTACK, 0);
    COUNT.store(0, SeqCst);
    ALT_CHANGE.store(-1, SeqCst);
    let _ = kill(me, SIGUSR1);
    let (n, local, flags, change) = (
        COUNT.load(SeqCst),
        ALT_LOCAL.load(SeqCst) as usize,
        ALT_FLAGS.load(SeqCst),
        ALT_CHANGE.load(SeqCst),
    );
    let inside = (base..base + SIZE).contains(&local);
    r.check("sa_onstack_runs_on_altstack", n == 1 && inside, || {
        format!("ran {n} times, local at {local:#x}, stack {base:#x}+{SIZE:#x}")
    });
    r.eq("ss_onstack_inside_handler", flags, SS_ONSTACK);
    r.check(
        "sigaltstack_change_on_stack_eperm",
        change == libc::EPERM,
        || {
            format!(
                "got {}",
                if change < 0 {
                    "no attempt".into()
                } else {
                    errname(change)
                }
            )
        },
    );
    let q = altstack_get();
    r.eq("sigaltstack_after_handler", q, Ok((base, 0, SIZE)));

    // Disabled: the handler runs on the normal stack.
    let d = altstack_set(0, SS_DISABLE, 0);
    let q = altstack_get().map(|v| v.1);
    r.check(
        "sigaltstack_disable",
        d.is_ok() && q == Ok(SS_DISABLE),
        || format!("disable {}, flags then {}", show(&d), show(&q)),
    );
    COUNT.store(0, SeqCst);
    let _ = kill(me, SIGUSR1);
    let (n, local, flags) = (
        COUNT.load(SeqCst),
        ALT_LOCAL.load(SeqCst) as usize,
        ALT_FLAGS.load(SeqCst),
    );
    let inside = (base..base + SIZE).contains(&local);
    r.check(
        "disabled_altstack_runs_on_normal_stack",
        n == 1 && !inside && flags == SS_DISABLE,
        || format!("ran {n} times, on the old alternate stack {inside}, flags {flags}"),
    );

    r.err(
        "sigaltstack_too_small_enomem",
        altstack_set(base, 0, 1024),
        libc::ENOMEM,
    );
    r.err(
        "sigaltstack_bad_flags_einval",
        altstack_set(base, 7, SIZE),
        libc::EINVAL,
    );

    let _ = handle(SIGUSR1, h_rec, 0, 0);
    let back = sc!(libc::SYS_sigaltstack, &saved as *const libc::stack_t, 0);
    r.okv("sigaltstack_restore", back);
    // SAFETY: the mapping is no longer the alternate stack.
    unsafe { libc::munmap(m, SIZE) };
}

// ---- 10. timers ----

/// it_interval and it_value, each (seconds, microseconds).
type ITimer = [i64; 4];

fn setitimer(interval_us: i64, value_us: i64) -> Result<ITimer, c_int> {
    let new: ITimer = [
        interval_us / 1_000_000,
        interval_us % 1_000_000,
        value_us / 1_000_000,
        value_us % 1_000_000,
    ];
    let mut old: ITimer = [-1; 4];
    sc!(
        libc::SYS_setitimer,
        libc::ITIMER_REAL,
        new.as_ptr(),
        old.as_mut_ptr()
    )
    .map(|_| old)
}

fn getitimer() -> Result<ITimer, c_int> {
    let mut cur: ITimer = [-1; 4];
    sc!(libc::SYS_getitimer, libc::ITIMER_REAL, cur.as_mut_ptr()).map(|_| cur)
}

fn us(t: &[i64]) -> i64 {
    t[0] * 1_000_000 + t[1]
}

fn timers(r: &mut Report) {
    r.eq("alarm_first_returns_0", sc!(libc::SYS_alarm, 1), Ok(0));
    r.eq(
        "alarm_cancel_returns_seconds_left",
        sc!(libc::SYS_alarm, 0),
        Ok(1),
    );

    if let Err(e) = handle(libc::SIGALRM, h_rec, SA_RESTART, 0) {
        r.fail("timers_setup", errname(e));
        return;
    }
    let pre = cur_mask().unwrap_or(0);
    let _ = procmask(libc::SIG_BLOCK, bit(libc::SIGALRM));
    reset();
    let t0 = mono_ns();
    let set = setitimer(0, 30_000);
    let cur = getitimer();
    r.check(
        "getitimer_running",
        set.is_ok()
            && cur.is_ok_and(|c| us(&c[0..2]) == 0 && us(&c[2..4]) > 0 && us(&c[2..4]) <= 30_000),
        || format!("setitimer {}, getitimer {cur:?}", show(&set)),
    );
    let (res, fired) = sigsuspend_guarded(pre & !bit(libc::SIGALRM), 1000);
    let dt = mono_ns() - t0;
    let s = seen();
    r.check(
        "setitimer_delivers_sigalrm",
        res == Err(libc::EINTR)
            && !fired
            && s.count == 1
            && s.signo == libc::SIGALRM
            && dt >= 25 * MS,
        || {
            format!(
                "sigsuspend {} after {} ms, watchdog fired {fired}, handler ran {} times \
                 (signal {})",
                show(&res),
                dt / MS,
                s.count,
                s.signo
            )
        },
    );
    let _ = procmask(libc::SIG_SETMASK, pre);
    r.eq("itimer_expired_reads_zero", getitimer(), Ok([0; 4]));

    // An interval timer fires repeatedly until disarmed.
    reset();
    let t0 = mono_ns();
    let set = setitimer(20_000, 20_000);
    let cur = getitimer();
    sleep_ms(200);
    let n = COUNT.load(SeqCst);
    let dt = mono_ns() - t0;
    let most = (dt / (20 * MS)) as u32 + 1;
    r.check(
        "interval_timer_repeats",
        set.is_ok() && n >= 3 && n <= most,
        || format!("fired {n} times in {} ms", dt / MS),
    );
    r.check(
        "getitimer_interval",
        cur.is_ok_and(|c| c[0..2] == [0, 20_000] && us(&c[2..4]) > 0 && us(&c[2..4]) <= 20_000),
        || format!("getitimer {cur:?}"),
    );
    let off = setitimer(0, 0);
    let after = getitimer();
    let n1 = COUNT.load(SeqCst);
    sleep_ms(50);
    let n2 = COUNT.load(SeqCst);
    r.check(
        "interval_timer_disarmed",
        off.is_ok_and(|o| o[0..2] == [0, 20_000]) && after == Ok([0; 4]) && n2 == n1,
        || {
            format!(
                "setitimer(0) returned {off:?}, getitimer {after:?}, fired {} more times",
                n2 - n1
            )
        },
    );
    let _ = sigaction(libc::SIGALRM, SIG_DFL, 0, 0);
}

// ---- 11. sigsuspend and sigpending ----

fn suspend(r: &mut Report) {
    let me = getpid();
    let _ = handle(SIGUSR1, h_rec, 0, 0);
    let pre = cur_mask().unwrap_or(0);
    let _ = procmask(libc::SIG_BLOCK, bit(SIGUSR1));
    reset();
    let pid = spawn(move || {
        sleep_ms(30);
        kill(me, SIGUSR1).map_or(1, |_| 0)
    });
    let (res, fired) = sigsuspend_guarded(0, 1000);
    let s = seen();
    let after = cur_mask();
    let child = reap(pid);
    r.check(
        "sigsuspend_eintr_after_handler",
        res == Err(libc::EINTR) && !fired && s.count == 1 && child == Ok(0),
        || {
            format!(
                "sigsuspend {}, watchdog fired {fired}, handler ran {} times, child {}",
                show(&res),
                s.count,
                child.map_or_else(errname, show_status)
            )
        },
    );
    r.eq("sigsuspend_handler_mask", s.hmask, bit(SIGUSR1));
    r.eq("sigsuspend_restores_mask", after, Ok(pre | bit(SIGUSR1)));

    reset();
    let _ = kill(me, SIGUSR1);
    let p = pending();
    let n0 = COUNT.load(SeqCst);
    let _ = procmask(libc::SIG_SETMASK, pre);
    let n1 = COUNT.load(SeqCst);
    r.check(
        "sigpending_then_unblock",
        p == Ok(bit(SIGUSR1)) && n0 == 0 && n1 == 1,
        || format!("pending {}, handler ran {n0} then {n1} times", show(&p)),
    );
}

// ---- 12. SIGPIPE ----

fn sigpipe(r: &mut Report) {
    let pid = spawn(|| {
        if sigaction(libc::SIGPIPE, SIG_DFL, 0, 0).is_err() {
            return 1;
        }
        let Ok((rd, wr)) = pipe() else { return 2 };
        close(rd);
        let _ = write(wr, b"x");
        3
    });
    let st = if pid > 0 { reap(pid) } else { Err(-pid) };
    r.check("sigpipe_default_kills", st == Ok(libc::SIGPIPE), || {
        format!("child {}", st.map_or_else(errname, show_status))
    });

    let _ = sigaction(libc::SIGPIPE, SIG_IGN, 0, 0);
    match pipe() {
        Ok((rd, wr)) => {
            close(rd);
            r.err("sigpipe_ignored_epipe", write(wr, b"x"), libc::EPIPE);
            close(wr);
        }
        Err(e) => r.fail("sigpipe_ignored_epipe", errname(e)),
    }

    let _ = handle(libc::SIGPIPE, h_rec, 0, 0);
    match pipe() {
        Ok((rd, wr)) => {
            close(rd);
            reset();
            let w = write(wr, b"x");
            let s = seen();
            r.check(
                "sigpipe_handler_and_epipe",
                w == Err(libc::EPIPE) && s.count == 1 && s.signo == libc::SIGPIPE,
                || {
                    format!(
                        "write {}, handler ran {} times (signal {})",
                        show(&w),
                        s.count,
                        s.signo
                    )
                },
            );
            close(wr);
        }
        Err(e) => r.fail("sigpipe_handler_and_epipe", errname(e)),
    }
    let _ = sigaction(libc::SIGPIPE, SIG_IGN, 0, 0);
}

/// rt_sigtimedwait: a blocked pending signal is taken (with its siginfo) without running a
/// handler; nothing pending gives EAGAIN at once with a zero timeout and after the timeout
/// otherwise.
fn timedwait(r: &mut Report) {
    let old = procmask(libc::SIG_BLOCK, bit(SIGUSR1));
    let wait = |ns: u64, info: &mut [u8; 128]| {
        let ts = libc::timespec {
            tv_sec: (ns / 1_000_000_000) as _,
            tv_nsec: (ns % 1_000_000_000) as _,
        };
        let set = bit(SIGUSR1);
        sc!(
            libc::SYS_rt_sigtimedwait,
            &set as *const u64,
            info.as_mut_ptr(),
            &ts as *const libc::timespec,
            8
        )
    };
    let mut info = [0u8; 128];
    let _ = kill(getpid(), SIGUSR1);
    let got = wait(0, &mut info);
    let word = |b: &[u8; 128], o: usize| i32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    r.eq("sigtimedwait_takes_pending", got, Ok(i64::from(SIGUSR1)));
    r.eq(
        "sigtimedwait_siginfo",
        (word(&info, 0), word(&info, 8), word(&info, 16)),
        (SIGUSR1, SI_USER, getpid()),
    );
    r.eq(
        "sigtimedwait_consumed",
        pending().map(|p| p & bit(SIGUSR1)),
        Ok(0),
    );
    r.err(
        "sigtimedwait_zero_timeout_eagain",
        wait(0, &mut info),
        libc::EAGAIN,
    );
    let t0 = mono_ns();
    let late = wait(30 * MS, &mut info);
    let dt = mono_ns() - t0;
    r.check(
        "sigtimedwait_timeout_eagain",
        late == Err(libc::EAGAIN) && (25 * MS..2000 * MS).contains(&dt),
        || format!("{late:?} after {} ms", dt / MS),
    );
    if let Ok(m) = old {
        let _ = procmask(libc::SIG_SETMASK, m);
    }
}

/// Stop and continue as waitpid sees them: SIGSTOP stops a child (WUNTRACED reports it once,
/// with WSTOPSIG), SIGCONT continues it (WCONTINUED reports it), a stopped child does not run,
/// and SIGKILL ends a stopped child.
fn stop_continue(r: &mut Report) {
    let (rd, wr) = match pipe() {
        Ok(p) => p,
        Err(e) => {
            r.fail("stop_setup", errname(e));
            return;
        }
    };
    let child = spawn(move || {
        // Write a byte every 5 ms until killed: a stopped child writes nothing.
        loop {
            let _ = write(wr, b"x");
            sleep_ms(5);
        }
    });
    close(wr);
    sleep_ms(20);
    let _ = kill(child, libc::SIGSTOP);
    let st = waitpid(child, libc::WUNTRACED);
    r.check(
        "sigstop_seen_by_wuntraced",
        st.is_ok_and(|(p, s)| {
            p == child && libc::WIFSTOPPED(s) && libc::WSTOPSIG(s) == libc::SIGSTOP
        }),
        || format!("{st:?}"),
    );
    r.eq(
        "stop_reported_once",
        waitpid(child, libc::WUNTRACED | libc::WNOHANG).map(|x| x.0),
        Ok(0),
    );
    // Drain what it wrote before stopping; then nothing more may come while it is stopped.
    let _ = sc!(libc::SYS_fcntl, rd, libc::F_SETFL, libc::O_NONBLOCK);
    let mut buf = [0u8; 4096];
    while sc!(libc::SYS_read, rd, buf.as_mut_ptr(), buf.len()).is_ok_and(|n| n > 0) {}
    sleep_ms(40);
    let quiet = sc!(libc::SYS_read, rd, buf.as_mut_ptr(), buf.len());
    r.eq("stopped_child_does_not_run", quiet, Err(libc::EAGAIN));
    let _ = kill(child, libc::SIGCONT);
    let st = waitpid(child, libc::WCONTINUED);
    r.check(
        "sigcont_seen_by_wcontinued",
        st.is_ok_and(|(p, s)| p == child && libc::WIFCONTINUED(s)),
        || format!("{st:?}"),
    );
    sleep_ms(40);
    let more = sc!(libc::SYS_read, rd, buf.as_mut_ptr(), buf.len());
    r.check("continued_child_runs", more.is_ok_and(|n| n > 0), || {
        format!("{more:?}")
    });
    let _ = kill(child, libc::SIGSTOP);
    let _ = waitpid(child, libc::WUNTRACED);
    let _ = kill(child, libc::SIGKILL);
    let st = reap(child);
    r.check(
        "sigkill_ends_a_stopped_child",
        st.is_ok_and(|s| libc::WIFSIGNALED(s) && libc::WTERMSIG(s) == libc::SIGKILL),
        || format!("{st:?}"),
    );
    close(rd);
}

/// Real-time signals queue, in order, with their values; a standard signal sent twice while
/// blocked is pending once.
fn queueing(r: &mut Report) {
    let rt = libc::SIGRTMIN() + 1;
    let set = bit(rt) | bit(SIGUSR1);
    let old = procmask(libc::SIG_BLOCK, set);
    for v in [11u64, 22, 33] {
        let mut info = [0u8; 128];
        info[0..4].copy_from_slice(&rt.to_le_bytes());
        info[8..12].copy_from_slice(&(-1i32).to_le_bytes()); // SI_QUEUE
        info[16..20].copy_from_slice(&getpid().to_le_bytes());
        info[24..32].copy_from_slice(&v.to_le_bytes());
        let _ = sc!(libc::SYS_rt_sigqueueinfo, getpid(), rt, info.as_ptr());
    }
    let _ = kill(getpid(), SIGUSR1);
    let _ = kill(getpid(), SIGUSR1);
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let take = |sig: c_int| {
        let s = bit(sig);
        let mut info = [0u8; 128];
        let got = sc!(
            libc::SYS_rt_sigtimedwait,
            &s as *const u64,
            info.as_mut_ptr(),
            &zero as *const libc::timespec,
            8
        );
        let mut v = [0u8; 8];
        v.copy_from_slice(&info[24..32]);
        got.map(|_| u64::from_le_bytes(v))
    };
    let values: Vec<_> = (0..4).map(|_| take(rt)).collect();
    r.eq(
        "rt_signals_queue_in_order_with_values",
        values,
        vec![Ok(11), Ok(22), Ok(33), Err(libc::EAGAIN)],
    );
    let usr1: Vec<_> = (0..2).map(|_| take(SIGUSR1).map(|_| ())).collect();
    r.eq(
        "standard_signal_pending_once",
        usr1,
        vec![Ok(()), Err(libc::EAGAIN)],
    );
    if let Ok(m) = old {
        let _ = procmask(libc::SIG_SETMASK, m);
    }
}

/// A stopped process in a group that becomes orphaned gets SIGHUP and SIGCONT: a child makes
/// its own session, forks a grandchild into a new group there, the grandchild stops; when the
/// child exits the grandchild's group has no parent in the session left.
fn orphaned_group(r: &mut Report) {
    let (rd, wr) = match pipe() {
        Ok(p) => p,
        Err(e) => {
            r.fail("orphaned_group_gets_sighup", errname(e));
            return;
        }
    };
    static PIPE_W: AtomicI32 = AtomicI32::new(-1);
    extern "C" fn on_hup(_: c_int) {
        let fd = PIPE_W.load(std::sync::atomic::Ordering::SeqCst);
        // SAFETY: write(2) is async-signal-safe.
        unsafe { libc::write(fd, b"H".as_ptr().cast(), 1) };
    }
    let child = spawn(move || {
        // SAFETY: plain calls in the child.
        if unsafe { libc::setsid() } < 0 {
            return 1;
        }
        PIPE_W.store(wr, std::sync::atomic::Ordering::SeqCst);
        // SAFETY: forks the grandchild.
        match unsafe { libc::fork() } {
            0 => {
                // SAFETY: handler only writes to a pipe; then stop until continued.
                unsafe {
                    libc::setpgid(0, 0);
                    libc::signal(libc::SIGHUP, on_hup as *const () as libc::sighandler_t);
                    libc::kill(libc::getpid(), libc::SIGSTOP);
                    libc::_exit(0);
                }
            }
            g if g > 0 => {
                // Wait until the grandchild has stopped, then leave it behind.
                let _ = usertests::waitpid(g, libc::WUNTRACED);
                0
            }
            _ => 2,
        }
    });
    close(wr);
    let st = reap(child);
    let mut fds = [libc::pollfd {
        fd: rd,
        events: libc::POLLIN,
        revents: 0,
    }];
    // SAFETY: polls our pipe for up to 2 s.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, 2000) };
    let mut b = [0u8; 1];
    let got = if n == 1 {
        sc!(libc::SYS_read, rd, b.as_mut_ptr(), 1)
    } else {
        Ok(0)
    };
    r.check(
        "orphaned_group_gets_sighup",
        st == Ok(0) && got == Ok(1) && b[0] == b'H',
        || format!("child {st:?}, pipe {got:?}"),
    );
    close(rd);
}

/// POSIX timers: a one-shot timer signals once with SI_TIMER and its value; a periodic one
/// keeps firing until deleted; SIGEV_NONE counts down silently; bad ids are EINVAL.
fn posix_timers(r: &mut Report) {
    let old = procmask(libc::SIG_BLOCK, bit(SIGUSR2));
    let create = |notify: i32, value: u64| {
        let mut sev = [0u8; 64];
        sev[0..8].copy_from_slice(&value.to_le_bytes());
        sev[8..12].copy_from_slice(&SIGUSR2.to_le_bytes());
        sev[12..16].copy_from_slice(&notify.to_le_bytes());
        let mut id: c_int = -1;
        sc!(
            libc::SYS_timer_create,
            libc::CLOCK_MONOTONIC,
            sev.as_ptr(),
            &mut id as *mut c_int
        )
        .map(|_| id)
    };
    let arm = |id: c_int, value_ns: u64, interval_ns: u64| {
        let spec = [
            (interval_ns / 1_000_000_000) as i64,
            (interval_ns % 1_000_000_000) as i64,
            (value_ns / 1_000_000_000) as i64,
            (value_ns % 1_000_000_000) as i64,
        ];
        sc!(libc::SYS_timer_settime, id, 0, spec.as_ptr(), 0usize)
    };
    let left = |id: c_int| {
        let mut spec = [0i64; 4];
        sc!(libc::SYS_timer_gettime, id, spec.as_mut_ptr())
            .map(|_| spec[2] * 1_000_000_000 + spec[3])
    };
    let wait = |ms: u64, info: &mut [u8; 128]| {
        let s = bit(SIGUSR2);
        let ts = libc::timespec {
            tv_sec: (ms / 1000) as _,
            tv_nsec: ((ms % 1000) * 1_000_000) as _,
        };
        sc!(
            libc::SYS_rt_sigtimedwait,
            &s as *const u64,
            info.as_mut_ptr(),
            &ts as *const libc::timespec,
            8
        )
    };
    let word = |b: &[u8; 128], o: usize| i32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    match create(0, 77) {
        Ok(id) => {
            r.eq("timer_arm", arm(id, 30 * MS, 0), Ok(0));
            let l = left(id);
            r.check(
                "timer_counts_down",
                l.is_ok_and(|ns| ns > 0 && ns <= 30 * MS as i64),
                || format!("{l:?}"),
            );
            let mut info = [0u8; 128];
            let got = wait(1000, &mut info);
            let mut v = [0u8; 8];
            v.copy_from_slice(&info[24..32]);
            r.eq(
                "timer_fires_with_si_timer_and_value",
                (got, word(&info, 8), u64::from_le_bytes(v)),
                (Ok(i64::from(SIGUSR2)), -2, 77),
            );
            r.eq("one_shot_timer_disarmed", left(id), Ok(0));
            r.eq(
                "one_shot_fires_once",
                wait(50, &mut info),
                Err(libc::EAGAIN),
            );
            // Periodic: 10 ms.
            let _ = arm(id, 10 * MS, 10 * MS);
            let t0 = mono_ns();
            let mut n = 0;
            while mono_ns() - t0 < 200 * MS && n < 3 {
                if wait(100, &mut info).is_ok() {
                    n += 1;
                }
            }
            r.eq("periodic_timer_repeats", n, 3);
            r.eq("timer_delete", sc!(libc::SYS_timer_delete, id), Ok(0));
            r.err("deleted_timer_einval", left(id), libc::EINVAL);
            let mut drain = [0u8; 128];
            let _ = wait(0, &mut drain);
        }
        Err(e) => r.fail("timer_arm", errname(e)),
    }
    match create(1, 0) {
        Ok(id) => {
            let _ = arm(id, 500 * MS, 0);
            let l = left(id);
            r.check("sigev_none_counts_down", l.is_ok_and(|ns| ns > 0), || {
                format!("{l:?}")
            });
            let mut info = [0u8; 128];
            r.eq(
                "sigev_none_sends_nothing",
                wait(20, &mut info),
                Err(libc::EAGAIN),
            );
            let _ = sc!(libc::SYS_timer_delete, id);
        }
        Err(e) => r.fail("sigev_none_counts_down", errname(e)),
    }
    r.err("timer_gettime_bad_id", left(12345), libc::EINVAL);
    if let Ok(m) = old {
        let _ = procmask(libc::SIG_SETMASK, m);
    }
}

/// ITIMER_PROF and ITIMER_VIRTUAL count CPU time: a busy loop of about 300 ms with 20 ms
/// timers gets several SIGPROF and SIGVTALRM.
fn cpu_timers(r: &mut Report) {
    let old = procmask(libc::SIG_BLOCK, bit(libc::SIGPROF) | bit(libc::SIGVTALRM));
    let tv = [0i64, 20_000, 0, 20_000];
    let a = sc!(libc::SYS_setitimer, libc::ITIMER_PROF, tv.as_ptr(), 0usize);
    let b = sc!(
        libc::SYS_setitimer,
        libc::ITIMER_VIRTUAL,
        tv.as_ptr(),
        0usize
    );
    r.eq("setitimer_prof_virtual", (a, b), (Ok(0), Ok(0)));
    let (mut prof, mut virt) = (0, 0);
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let t0 = mono_ns();
    let mut x = 0u64;
    while mono_ns() - t0 < 300 * MS {
        for i in 0..10_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        let s = bit(libc::SIGPROF) | bit(libc::SIGVTALRM);
        match sc!(
            libc::SYS_rt_sigtimedwait,
            &s as *const u64,
            0usize,
            &zero as *const libc::timespec,
            8
        ) {
            Ok(sig) if sig == i64::from(libc::SIGPROF) => prof += 1,
            Ok(_) => virt += 1,
            Err(_) => {}
        }
    }
    std::hint::black_box(x);
    let off = [0i64; 4];
    let _ = sc!(libc::SYS_setitimer, libc::ITIMER_PROF, off.as_ptr(), 0usize);
    let _ = sc!(
        libc::SYS_setitimer,
        libc::ITIMER_VIRTUAL,
        off.as_ptr(),
        0usize
    );
    r.check("itimer_prof_fires", prof >= 2, || format!("{prof} SIGPROF"));
    r.check("itimer_virtual_fires", virt >= 2, || {
        format!("{virt} SIGVTALRM")
    });
    let mut drain = [0u8; 128];
    let s = bit(libc::SIGPROF) | bit(libc::SIGVTALRM);
    while sc!(
        libc::SYS_rt_sigtimedwait,
        &s as *const u64,
        drain.as_mut_ptr(),
        &zero as *const libc::timespec,
        8
    )
    .is_ok()
    {}
    if let Ok(m) = old {
        let _ = procmask(libc::SIG_SETMASK, m);
    }
}

fn main() {
    let mut r = require_root(Report::new("t_signal"));
    self_kill(&mut r);
    registers(&mut r);
    masks(&mut r);
    eintr(&mut r);
    sigchld(&mut r);
    defaults(&mut r);
    groups(&mut r);
    faults(&mut r);
    altstack(&mut r);
    timers(&mut r);
    suspend(&mut r);
    sigpipe(&mut r);
    timedwait(&mut r);
    stop_continue(&mut r);
    queueing(&mut r);
    posix_timers(&mut r);
    cpu_timers(&mut r);
    orphaned_group(&mut r);
    let _ = sigaction(SIGUSR1, SIG_DFL, 0, 0);
    r.err("no_children_left", waitpid(-1, libc::WNOHANG), libc::ECHILD);
    r.finish()
}
