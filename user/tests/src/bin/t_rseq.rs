//! t_rseq: restartable sequences, rseq(2).
//!
//! Registration: the argument checks (alignment, length, flags, an address outside user space)
//! and their errnos, a registered area filled with the CPU number (`sched_getcpu`), EBUSY for
//! the same registration again and EINVAL/EPERM for another one, an extended length, and
//! unregistration with its checks (the CPU number becomes RSEQ_CPU_ID_UNINITIALIZED).
//! Inheritance: a forked child keeps the registration, a new thread starts without one and
//! registers its own, execve drops it.
//! Critical sections (written in assembly below): one spinning until preemption sends it to
//! its abort handler (a busy child shares the CPU), one interrupted by a timer signal whose
//! handler sees the abort handler's address as the interrupted one, a descriptor outside which
//! a signal arrives is cleared, and a bad descriptor (wrong signature before the abort handler,
//! or a pointer outside user space) kills with SIGSEGV.
//!
//! musl registers no rseq area itself, so the program owns its threads' registrations.

use core::arch::global_asm;
use std::ffi::{CStr, CString};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use libc::{c_char, c_int, c_void};
use usertests::{Report, errname, map_anon, reap, sc, show, show_status, sleep_ms, spawn};

/// The signature x86 programs conventionally use (any value works; it must match).
const SIG: u32 = 0x5305_3053;
const LEN: u32 = 32;
const UNREGISTER: c_int = 1;
const CPU_ID_UNINITIALIZED: u32 = u32::MAX;
const MARKER: &str = "--rseq-after-exec";

/// `struct rseq`; the kernel writes it while the program runs, hence atomics.
#[repr(C, align(32))]
struct Rseq {
    cpu_id_start: AtomicU32,
    cpu_id: AtomicU32,
    rseq_cs: AtomicU64,
    flags: AtomicU32,
    node_id: AtomicU32,
    mm_cid: AtomicU32,
    pad: [AtomicU32; 9],
}

impl Rseq {
    const fn new() -> Rseq {
        Rseq {
            cpu_id_start: AtomicU32::new(0),
            cpu_id: AtomicU32::new(0),
            rseq_cs: AtomicU64::new(0),
            flags: AtomicU32::new(0),
            node_id: AtomicU32::new(0),
            mm_cid: AtomicU32::new(0),
            pad: [const { AtomicU32::new(0) }; 9],
        }
    }

    fn addr(&self) -> usize {
        self as *const Rseq as usize
    }
}

/// `struct rseq_cs`.
#[repr(C, align(32))]
struct RseqCs {
    version: u32,
    flags: u32,
    start_ip: u64,
    post_commit_offset: u64,
    abort_ip: u64,
}

/// The main thread's area (64 bytes, so the extended-length checks can use it too).
static MAIN: Rseq = Rseq::new();
/// Another area, for the "different registration" checks.
static OTHER: Rseq = Rseq::new();
/// The second thread's area.
static THREAD: Rseq = Rseq::new();

// The critical sections.
//
// t_rseq_spin(slot, desc, n): stores `desc` in `*slot` (arming the section), then counts `n`
// down inside the section; returns 0 if it ran out, 1 if the kernel sent it to the abort
// handler, which the signature precedes.
//
// t_rseq_kill(slot, desc, pid, signo): arms the section, whose only instruction is the
// `syscall` of kill(pid, signo); the signal is delivered with the instruction pointer after
// it, still inside the section. The abort handler is preceded by a wrong signature.
global_asm!(
    ".pushsection .text.t_rseq_asm,\"ax\",@progbits",
    ".p2align 4",
    ".globl t_rseq_spin",
    ".hidden t_rseq_spin",
    ".globl t_rseq_spin_start",
    ".hidden t_rseq_spin_start",
    ".globl t_rseq_spin_end",
    ".hidden t_rseq_spin_end",
    ".globl t_rseq_spin_abort",
    ".hidden t_rseq_spin_abort",
    "t_rseq_spin:",
    "mov qword ptr [rdi], rsi",
    "t_rseq_spin_start:",
    "sub rdx, 1",
    "jnz t_rseq_spin_start",
    "t_rseq_spin_end:",
    "xor eax, eax",
    "ret",
    ".long 0x53053053",
    "t_rseq_spin_abort:",
    "mov eax, 1",
    "ret",
    ".p2align 4",
    ".globl t_rseq_kill",
    ".hidden t_rseq_kill",
    ".globl t_rseq_kill_start",
    ".hidden t_rseq_kill_start",
    ".globl t_rseq_kill_end",
    ".hidden t_rseq_kill_end",
    ".globl t_rseq_kill_abort",
    ".hidden t_rseq_kill_abort",
    "t_rseq_kill:",
    "mov qword ptr [rdi], rsi",
    "mov rdi, rdx",
    "mov rsi, rcx",
    "mov eax, 62",
    "t_rseq_kill_start:",
    "syscall",
    "nop",
    "t_rseq_kill_end:",
    "xor eax, eax",
    "ret",
    ".long 0x12345678",
    "t_rseq_kill_abort:",
    "mov eax, 1",
    "ret",
    ".popsection",
);

unsafe extern "C" {
    fn t_rseq_spin(slot: *const AtomicU64, desc: *const RseqCs, n: u64) -> u64;
    fn t_rseq_kill(slot: *const AtomicU64, desc: *const RseqCs, pid: i64, signo: i64) -> u64;
    static t_rseq_spin_start: u8;
    static t_rseq_spin_end: u8;
    static t_rseq_spin_abort: u8;
    static t_rseq_kill_start: u8;
    static t_rseq_kill_end: u8;
    static t_rseq_kill_abort: u8;
}

fn descriptor(start: *const u8, end: *const u8, abort: *const u8) -> RseqCs {
    RseqCs {
        version: 0,
        flags: 0,
        start_ip: start as u64,
        post_commit_offset: end as u64 - start as u64,
        abort_ip: abort as u64,
    }
}

fn spin_descriptor() -> RseqCs {
    descriptor(
        &raw const t_rseq_spin_start,
        &raw const t_rseq_spin_end,
        &raw const t_rseq_spin_abort,
    )
}

fn kill_descriptor() -> RseqCs {
    descriptor(
        &raw const t_rseq_kill_start,
        &raw const t_rseq_kill_end,
        &raw const t_rseq_kill_abort,
    )
}

fn rseq(addr: usize, len: u32, flags: c_int, sig: u32) -> Result<i64, c_int> {
    sc!(libc::SYS_rseq, addr, len, flags, sig)
}

fn getcpu() -> (u32, u32) {
    let (mut cpu, mut node) = (u32::MAX, u32::MAX);
    let r = sc!(
        libc::SYS_getcpu,
        &mut cpu as *mut u32,
        &mut node as *mut u32,
        0
    );
    if r.is_err() {
        return (u32::MAX, u32::MAX);
    }
    (cpu, node)
}

/// cpu_id and the CPU getcpu reports, read so that no migration falls between them.
fn cpu_pair(area: &Rseq) -> (u32, u32) {
    let mut pair = (0, 0);
    for _ in 0..100 {
        let before = area.cpu_id.load(Ordering::SeqCst);
        let cpu = getcpu().0;
        if area.cpu_id.load(Ordering::SeqCst) == before {
            pair = (before, cpu);
            if before == cpu {
                break;
            }
        }
    }
    pair
}

fn killed_by(st: Result<c_int, c_int>, sig: c_int) -> Result<(), String> {
    match st {
        Ok(s) if libc::WIFSIGNALED(s) && libc::WTERMSIG(s) == sig => Ok(()),
        Ok(s) => Err(show_status(s)),
        Err(e) => Err(format!("waitpid: {}", errname(e))),
    }
}

static USR1: AtomicUsize = AtomicUsize::new(0);
static ALRM: AtomicUsize = AtomicUsize::new(0);
static ALRM_RIP: AtomicU64 = AtomicU64::new(0);
const REG_RIP: usize = 16;

extern "C" fn on_usr1(_: c_int) {
    USR1.fetch_add(1, Ordering::SeqCst);
}

extern "C" fn on_alrm(_: c_int, _: *mut libc::siginfo_t, uc: *mut c_void) {
    // SAFETY: the kernel passes the interrupted context; gregs[REG_RIP] is its rip.
    let rip = unsafe { (*uc.cast::<libc::ucontext_t>()).uc_mcontext.gregs[REG_RIP] };
    ALRM_RIP.store(rip as u64, Ordering::SeqCst);
    ALRM.fetch_add(1, Ordering::SeqCst);
}

fn set_handler(sig: c_int, handler: usize, siginfo: bool) -> bool {
    // SAFETY: an all-zero sigaction is valid; the handler has the matching signature.
    unsafe {
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = handler;
        sa.sa_flags = if siginfo { libc::SA_SIGINFO } else { 0 };
        libc::sigaction(sig, &sa, core::ptr::null_mut()) == 0
    }
}

fn registration_errors(r: &mut Report) {
    let base = MAIN.addr();
    r.err(
        "misaligned_einval",
        rseq(base + 16, LEN, 0, SIG),
        libc::EINVAL,
    );
    r.err(
        "misaligned_extended_einval",
        rseq(base + 8, 64, 0, SIG),
        libc::EINVAL,
    );
    r.err("short_len_einval", rseq(base, 31, 0, SIG), libc::EINVAL);
    r.err("zero_len_einval", rseq(base, 0, 0, SIG), libc::EINVAL);
    r.err("unknown_flag_einval", rseq(base, LEN, 2, SIG), libc::EINVAL);
    r.err(
        "unregister_with_other_flag_einval",
        rseq(base, LEN, UNREGISTER | 2, SIG),
        libc::EINVAL,
    );
    r.err(
        "unregister_unregistered_einval",
        rseq(base, LEN, UNREGISTER, SIG),
        libc::EINVAL,
    );
    r.err(
        "kernel_address_efault",
        rseq(0xffff_8000_0000_0000, LEN, 0, SIG),
        libc::EFAULT,
    );
    r.eq(
        "errors_left_area_alone",
        MAIN.cpu_id.load(Ordering::SeqCst),
        0,
    );
}

fn extended_length(r: &mut Report) {
    // A length past the original 32 bytes is accepted (the area holds every field).
    let base = MAIN.addr();
    r.okv("extended_len_register", rseq(base, 64, 0, SIG));
    r.err("extended_len_busy", rseq(base, 64, 0, SIG), libc::EBUSY);
    r.err(
        "extended_len_unregister_other_len_einval",
        rseq(base, LEN, UNREGISTER, SIG),
        libc::EINVAL,
    );
    r.okv("extended_len_unregister", rseq(base, 64, UNREGISTER, SIG));
}

fn register_main(r: &mut Report) -> bool {
    MAIN.cpu_id.store(0x1234_5678, Ordering::SeqCst);
    MAIN.cpu_id_start.store(0x1234_5678, Ordering::SeqCst);
    let ok = r.okv("register", rseq(MAIN.addr(), LEN, 0, SIG)).is_some();
    let (cpu_id, cpu) = cpu_pair(&MAIN);
    r.check("cpu_id_is_current_cpu", cpu_id == cpu, || {
        format!("cpu_id {cpu_id:#x}, getcpu {cpu}")
    });
    let start = MAIN.cpu_id_start.load(Ordering::SeqCst);
    r.check(
        "cpu_id_start_is_a_cpu",
        start != 0x1234_5678 && start < 4096,
        || format!("cpu_id_start {start:#x}"),
    );
    let node = MAIN.node_id.load(Ordering::SeqCst);
    r.eq("node_id_is_current_node", node, getcpu().1);
    r.eq("rseq_cs_clear", MAIN.rseq_cs.load(Ordering::SeqCst), 0);
    ok
}

fn reregistration(r: &mut Report) {
    let base = MAIN.addr();
    r.err(
        "same_registration_ebusy",
        rseq(base, LEN, 0, SIG),
        libc::EBUSY,
    );
    r.err(
        "other_address_einval",
        rseq(OTHER.addr(), LEN, 0, SIG),
        libc::EINVAL,
    );
    r.err("other_len_einval", rseq(base, 64, 0, SIG), libc::EINVAL);
    r.err("other_sig_eperm", rseq(base, LEN, 0, SIG ^ 1), libc::EPERM);
    r.err(
        "unregister_other_address_einval",
        rseq(OTHER.addr(), LEN, UNREGISTER, SIG),
        libc::EINVAL,
    );
    r.err(
        "unregister_other_len_einval",
        rseq(base, 64, UNREGISTER, SIG),
        libc::EINVAL,
    );
    r.err(
        "unregister_other_sig_eperm",
        rseq(base, LEN, UNREGISTER, SIG ^ 1),
        libc::EPERM,
    );
    r.err("still_registered", rseq(base, LEN, 0, SIG), libc::EBUSY);
}

/// Sleeping switches the thread out; on its return cpu_id still names its CPU.
fn after_sleep(r: &mut Report) {
    sleep_ms(20);
    let (cpu_id, cpu) = cpu_pair(&MAIN);
    r.check("cpu_id_current_after_sleep", cpu_id == cpu, || {
        format!("cpu_id {cpu_id:#x}, getcpu {cpu}")
    });
}

/// A signal that arrives outside the armed section clears rseq_cs and changes nothing else.
fn lazy_clear(r: &mut Report) {
    let desc = spin_descriptor();
    MAIN.rseq_cs
        .store(&desc as *const RseqCs as u64, Ordering::SeqCst);
    let before = USR1.load(Ordering::SeqCst);
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let k = sc!(libc::SYS_kill, pid, libc::SIGUSR1);
    let ran = USR1.load(Ordering::SeqCst) - before;
    let cs = MAIN.rseq_cs.load(Ordering::SeqCst);
    r.check(
        "signal_outside_section_clears_rseq_cs",
        k.is_ok() && ran == 1 && cs == 0,
        || {
            format!(
                "kill {}, handler ran {ran} times, rseq_cs {cs:#x}",
                show(&k)
            )
        },
    );
}

/// Pin this process to one CPU (only where there are several), so a busy child shares it.
/// Returns the mask to restore.
fn pin() -> Option<libc::cpu_set_t> {
    // SAFETY: cpu_set_t is plain data; the calls get valid pointers and sizes.
    unsafe {
        let mut old: libc::cpu_set_t = core::mem::zeroed();
        let size = core::mem::size_of::<libc::cpu_set_t>();
        if libc::sched_getaffinity(0, size, &mut old) != 0 || libc::CPU_COUNT(&old) <= 1 {
            return None;
        }
        let mut one: libc::cpu_set_t = core::mem::zeroed();
        libc::CPU_SET(getcpu().0 as usize, &mut one);
        if libc::sched_setaffinity(0, size, &one) != 0 {
            return None;
        }
        Some(old)
    }
}

fn unpin(old: Option<libc::cpu_set_t>) {
    if let Some(old) = old {
        // SAFETY: as in `pin`.
        unsafe { libc::sched_setaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &old) };
    }
}

/// Spin in the section, in chunks of `n` iterations, until `done` says so or 2 s passed.
/// Returns (aborts, completions).
fn spin_until(n: u64, mut done: impl FnMut(u64) -> bool) -> (u64, u64) {
    let desc = spin_descriptor();
    let deadline = usertests::mono_ns() + 2_000_000_000;
    let (mut aborts, mut completions) = (0, 0);
    while usertests::mono_ns() < deadline {
        // SAFETY: the section only counts a register down; the slot is MAIN's rseq_cs and the
        // descriptor lives on this stack for the call.
        let res = unsafe { t_rseq_spin(&MAIN.rseq_cs, &desc, n) };
        if res == 1 {
            aborts += 1;
        } else {
            completions += 1;
        }
        if done(res) {
            break;
        }
    }
    (aborts, completions)
}

fn preemption_abort(r: &mut Report) {
    let old = pin();
    let busy = spawn(|| {
        usertests::busy_ms(5000);
        0
    });
    let (aborts, completions) = spin_until(200_000, |res| res == 1);
    let cs = MAIN.rseq_cs.load(Ordering::SeqCst);
    if busy > 0 {
        // SAFETY: kill has no memory preconditions.
        unsafe { libc::kill(busy, libc::SIGKILL) };
        let _ = reap(busy);
    }
    unpin(old);
    r.check("preempted_section_aborted", aborts == 1, || {
        format!("{aborts} aborts, {completions} sections completed in 2 s (busy child {busy})")
    });
    r.eq("abort_cleared_rseq_cs", cs, 0);
    let (cpu_id, cpu) = cpu_pair(&MAIN);
    r.check("cpu_id_current_after_preemption", cpu_id == cpu, || {
        format!("cpu_id {cpu_id:#x}, getcpu {cpu}")
    });
}

fn signal_abort(r: &mut Report) {
    if !set_handler(libc::SIGALRM, on_alrm as *const () as usize, true) {
        r.fail("signal_aborts_section", "sigaction failed");
        return;
    }
    let it = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: 0,
            tv_usec: 30_000,
        },
    };
    let armed = sc!(
        libc::SYS_setitimer,
        libc::ITIMER_REAL,
        &it as *const libc::itimerval,
        0
    );
    // Preemption may abort sections too: spin until the signal came.
    let mut last = 0;
    let (aborts, _) = spin_until(200_000, |res| {
        last = res;
        ALRM.load(Ordering::SeqCst) > 0
    });
    let hits = ALRM.load(Ordering::SeqCst);
    let rip = ALRM_RIP.load(Ordering::SeqCst);
    let abort = &raw const t_rseq_spin_abort as u64;
    r.check(
        "signal_aborts_section",
        armed.is_ok() && hits == 1 && last == 1 && aborts >= 1,
        || {
            format!(
                "setitimer {}, handler ran {hits} times, last section returned {last}",
                show(&armed)
            )
        },
    );
    r.check("signal_frame_holds_abort_ip", rip == abort, || {
        format!("handler saw rip {rip:#x}, abort handler at {abort:#x}")
    });
    r.eq(
        "signal_abort_cleared_rseq_cs",
        MAIN.rseq_cs.load(Ordering::SeqCst),
        0,
    );
}

/// A child (which keeps the registration) whose signal finds a bad section: SIGSEGV.
fn bad_descriptors(r: &mut Report) {
    let pid = spawn(|| {
        let desc = kill_descriptor();
        // SAFETY: getpid has no preconditions; the section makes one kill system call.
        let res = unsafe {
            t_rseq_kill(
                &MAIN.rseq_cs,
                &desc,
                libc::getpid() as i64,
                libc::SIGUSR1 as i64,
            )
        };
        usertests::diag(&format!(
            "t_rseq: survived a wrong signature (section returned {res})"
        ));
        1
    });
    let st = killed_by(reap(pid), libc::SIGSEGV);
    r.check("wrong_signature_sigsegv", st.is_ok(), || {
        format!("child {}", st.unwrap_err())
    });

    let pid = spawn(|| {
        MAIN.rseq_cs.store(0xffff_8000_0000_0000, Ordering::SeqCst);
        // SAFETY: getpid has no preconditions.
        let k = sc!(libc::SYS_kill, unsafe { libc::getpid() }, libc::SIGUSR1);
        usertests::diag(&format!(
            "t_rseq: survived a kernel rseq_cs (kill {})",
            show(&k)
        ));
        1
    });
    let st = killed_by(reap(pid), libc::SIGSEGV);
    r.check("kernel_rseq_cs_sigsegv", st.is_ok(), || {
        format!("child {}", st.unwrap_err())
    });

    // An area in unmapped memory: refused (EFAULT), or accepted and the thread killed on its
    // way back to user mode (Linux before 6.19 checks the memory only then).
    let pid = spawn(|| {
        let page = map_anon(4096, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE);
        // SAFETY: the page is this child's own mapping.
        if page.is_null() || unsafe { libc::munmap(page.cast(), 4096) } != 0 {
            return 2;
        }
        if rseq(MAIN.addr(), LEN, UNREGISTER, SIG).is_err() {
            return 3;
        }
        match rseq(page as usize, LEN, 0, SIG) {
            Err(libc::EFAULT) => 0,
            _ => 4,
        }
    });
    let st = reap(pid);
    let good = matches!(st, Ok(s) if s == 0 || killed_by(Ok(s), libc::SIGSEGV).is_ok());
    r.check("unmapped_area_refused", good, || {
        format!(
            "child {} (2: mmap, 3: unregister, 4: registered and survived)",
            show(&st.map(show_status))
        )
    });
}

fn fork_keeps(r: &mut Report) {
    let pid = usertests::spawn_steps(|| {
        let mut s = usertests::Steps::new("t_rseq fork child");
        s.err(rseq(MAIN.addr(), LEN, 0, SIG), libc::EBUSY, "same area")?;
        s.err(rseq(OTHER.addr(), LEN, 0, SIG), libc::EINVAL, "other area")?;
        let (cpu_id, cpu) = cpu_pair(&MAIN);
        s.eq(cpu_id, cpu, "cpu_id")?;
        s.ok(rseq(MAIN.addr(), LEN, UNREGISTER, SIG), "unregister")?;
        s.eq(
            MAIN.cpu_id.load(Ordering::SeqCst),
            CPU_ID_UNINITIALIZED,
            "cpu_id after unregister",
        )?;
        Ok(())
    });
    r.child_ok("fork_child_keeps_registration", pid);
    r.err(
        "parent_still_registered",
        rseq(MAIN.addr(), LEN, 0, SIG),
        libc::EBUSY,
    );
    let (cpu_id, cpu) = cpu_pair(&MAIN);
    r.check("parent_cpu_id_untouched_by_child", cpu_id == cpu, || {
        format!("cpu_id {cpu_id:#x}, getcpu {cpu}")
    });
}

fn thread_own(r: &mut Report) {
    let res = std::thread::spawn(|| {
        let inherited = rseq(MAIN.addr(), LEN, UNREGISTER, SIG);
        THREAD.cpu_id.store(0x1234_5678, Ordering::SeqCst);
        let reg = rseq(THREAD.addr(), LEN, 0, SIG);
        let (cpu_id, cpu) = cpu_pair(&THREAD);
        let again = rseq(THREAD.addr(), LEN, 0, SIG);
        (inherited, reg, cpu_id, cpu, again)
    })
    .join();
    let Ok((inherited, reg, cpu_id, cpu, again)) = res else {
        r.fail("thread_starts_unregistered", "the thread panicked");
        return;
    };
    r.err("thread_starts_unregistered", inherited, libc::EINVAL);
    r.okv("thread_registers_own_area", reg);
    r.check("thread_cpu_id_is_current_cpu", cpu_id == cpu, || {
        format!("cpu_id {cpu_id:#x}, getcpu {cpu}")
    });
    r.err("thread_same_registration_ebusy", again, libc::EBUSY);
    r.err(
        "main_registration_after_thread",
        rseq(MAIN.addr(), LEN, 0, SIG),
        libc::EBUSY,
    );
}

fn execfn() -> Option<CString> {
    // SAFETY: getauxval has no preconditions; AT_EXECFN points at a NUL-terminated string.
    let p = unsafe { libc::getauxval(libc::AT_EXECFN) };
    if p == 0 {
        return None;
    }
    // SAFETY: see above.
    Some(unsafe { CStr::from_ptr(p as *const c_char) }.to_owned())
}

fn exec_drops(r: &mut Report) {
    let Some(me) = execfn() else {
        r.fail("exec_drops_registration", "AT_EXECFN is missing");
        return;
    };
    let pid = spawn(|| {
        let argv_c = [CString::new("t_rseq").unwrap_or_default(), {
            CString::new(MARKER).unwrap_or_default()
        }];
        let argv = [argv_c[0].as_ptr(), argv_c[1].as_ptr(), core::ptr::null()];
        let envp: [*const c_char; 1] = [core::ptr::null()];
        // SAFETY: NULL-terminated arrays of live C strings.
        unsafe { libc::execve(me.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
        usertests::diag(&format!(
            "t_rseq: execve failed: {}",
            errname(usertests::errno())
        ));
        200
    });
    let st = reap(pid);
    r.check("exec_drops_registration", st == Ok(0), || {
        format!(
            "child {} (200: execve failed, 1-3: the new image's step)",
            show(&st.map(show_status))
        )
    });
}

/// The image execve started: it has no registration, and can make one.
fn after_exec() -> Result<(), i32> {
    let mut s = usertests::Steps::new("t_rseq after exec");
    s.err(
        rseq(MAIN.addr(), LEN, UNREGISTER, SIG),
        libc::EINVAL,
        "unregister",
    )?;
    s.ok(rseq(MAIN.addr(), LEN, 0, SIG), "register")?;
    s.err(
        rseq(MAIN.addr(), LEN, 0, SIG),
        libc::EBUSY,
        "register again",
    )?;
    Ok(())
}

fn unregistration(r: &mut Report) {
    MAIN.cpu_id_start.store(0x1234_5678, Ordering::SeqCst);
    r.okv("unregister", rseq(MAIN.addr(), LEN, UNREGISTER, SIG));
    r.eq(
        "unregister_cpu_id_uninitialized",
        MAIN.cpu_id.load(Ordering::SeqCst),
        CPU_ID_UNINITIALIZED,
    );
    r.err(
        "unregister_twice_einval",
        rseq(MAIN.addr(), LEN, UNREGISTER, SIG),
        libc::EINVAL,
    );
    r.okv("register_after_unregister", rseq(OTHER.addr(), LEN, 0, SIG));
    r.okv(
        "unregister_other_area",
        rseq(OTHER.addr(), LEN, UNREGISTER, SIG),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(MARKER) {
        let code = after_exec().err().unwrap_or(0);
        // SAFETY: ends the image with its verdict.
        unsafe { libc::_exit(code) };
    }
    let mut r = Report::new("t_rseq");
    if !set_handler(libc::SIGUSR1, on_usr1 as *const () as usize, false) {
        r.fail("setup", "sigaction failed");
        r.finish();
    }
    registration_errors(&mut r);
    extended_length(&mut r);
    if register_main(&mut r) {
        reregistration(&mut r);
        after_sleep(&mut r);
        lazy_clear(&mut r);
        preemption_abort(&mut r);
        signal_abort(&mut r);
        bad_descriptors(&mut r);
        fork_keeps(&mut r);
        thread_own(&mut r);
        exec_drops(&mut r);
        unregistration(&mut r);
    }
    r.finish();
}
