//! t_clone3: clone3(2) and the kernel's robust-futex walk.
//!
//! clone3: a fork-like child (flags 0, exit signal SIGCHLD) with CLONE_PARENT_SETTID and
//! CLONE_CHILD_SETTID; the size rules (below VER0 EINVAL, above a page E2BIG, a larger struct
//! with a non-zero tail E2BIG and with a zero tail accepted, VER0 accepted, EFAULT); the checks
//! on exit_signal, on the low byte of flags, CLONE_DETACHED, unknown flags, CLONE_THREAD with an
//! exit signal, CLONE_SIGHAND with CLONE_CLEAR_SIGHAND, set_tid/set_tid_size combinations and
//! stack/stack_size; CLONE_VM|CLONE_VFORK on a separate stack; a thread (CLONE_VM|CLONE_THREAD|
//! ...) whose first rsp is stack + stack_size. The children that share memory run a few
//! instructions of assembly and never return into Rust.
//!
//! Robust lists (set_robust_list/get_robust_list and the walk when a thread dies): a thread
//! made with clone3 registers a hand-built list (an entry it owns with FUTEX_WAITERS, one owned
//! by another tid, one reached through a pointer with the PI bit, and list_op_pending) and dies
//! with exit(2): its words read FUTEX_OWNER_DIED (keeping FUTEX_WAITERS), the foreign word is
//! untouched, and the main thread blocked in FUTEX_WAIT on the first word is woken; in a child
//! process the same list of a sleeping thread is walked when another thread calls exit_group or
//! when the process is killed by SIGKILL (the words live in a MAP_SHARED page); execve walks
//! the caller's list too, and the new image starts without one (run with the argument
//! `--robust-exec-image`, the program is that image; any other argument makes it exit 99).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use libc::{c_int, c_long, pid_t};
use usertests::{Report, Steps, errname, map_anon, reap, sc, show_status, spawn_steps};

const CLONE_VM: u64 = 0x100;
const CLONE_FS: u64 = 0x200;
const CLONE_FILES: u64 = 0x400;
const CLONE_SIGHAND: u64 = 0x800;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_THREAD: u64 = 0x1_0000;
const CLONE_SYSVSEM: u64 = 0x4_0000;
const CLONE_PARENT_SETTID: u64 = 0x10_0000;
const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
const CLONE_DETACHED: u64 = 0x40_0000;
const CLONE_CHILD_SETTID: u64 = 0x100_0000;
const CLONE_CLEAR_SIGHAND: u64 = 1 << 32;
const CLONE_INTO_CGROUP: u64 = 1 << 33;
const SIGCHLD: u64 = libc::SIGCHLD as u64;
/// What pthread_create asks for, without TLS.
const THREAD_FLAGS: u64 = CLONE_VM
    | CLONE_FS
    | CLONE_FILES
    | CLONE_SIGHAND
    | CLONE_THREAD
    | CLONE_SYSVSEM
    | CLONE_PARENT_SETTID
    | CLONE_CHILD_SETTID
    | CLONE_CHILD_CLEARTID;

const FUTEX_WAITERS: u32 = 0x8000_0000;
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
/// A tid no thread can have (above any pid_max).
const FOREIGN_TID: u32 = 0x3fff_fff0;

/// struct clone_args (VER2), followed by room for a caller that knows a larger struct.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
    /// Not part of the kernel's struct: the tail of a "newer" struct (sizes above 88).
    tail: [u64; 3],
}

fn clone3(args: &CloneArgs, size: usize) -> Result<c_long, c_int> {
    sc!(libc::SYS_clone3, args as *const CloneArgs, size)
}

fn getpid() -> pid_t {
    // SAFETY: no arguments.
    unsafe { libc::getpid() }
}

fn futex_wait(word: &AtomicU32, val: u32, timeout_ms: u64) -> Result<c_long, c_int> {
    let ts = usertests::ts(timeout_ms * 1_000_000);
    // Not FUTEX_PRIVATE_FLAG: Linux wakes robust futexes with a shared key.
    sc!(
        libc::SYS_futex,
        word.as_ptr(),
        libc::FUTEX_WAIT,
        val,
        &ts as *const libc::timespec
    )
}

/// Waits (at most about 5 s) until a CLONE_CHILD_CLEARTID word is 0: the thread is gone.
fn join_word(word: &AtomicU32) -> bool {
    for _ in 0..50 {
        let v = word.load(Ordering::SeqCst);
        if v == 0 {
            return true;
        }
        let _ = futex_wait(word, v, 100);
    }
    word.load(Ordering::SeqCst) == 0
}

/// A fork-like clone3 through libc's syscall(): the child runs `child` and `_exit`s with its
/// result. Returns what clone3 returned in the parent.
fn clone3_fork(
    args: &CloneArgs,
    size: usize,
    child: impl FnOnce() -> i32,
) -> Result<c_long, c_int> {
    let r = clone3(args, size);
    if r == Ok(0) {
        let code = child();
        // SAFETY: ends the child without running the parent's exit-time code.
        unsafe { libc::_exit(code) }
    }
    r
}

/// An anonymous stack for a child that shares memory; returns (base, size).
fn stack(len: usize) -> (u64, u64) {
    let p = map_anon(len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE);
    (p as u64, if p.is_null() { 0 } else { len as u64 })
}

/// clone3 whose child calls exit(code) at once, in assembly (for CLONE_VM children that must
/// not touch the parent's stack). The parent gets clone3's raw return (pid or -errno).
fn clone3_exit(args: &CloneArgs, code: i32) -> i64 {
    let ret: i64;
    // SAFETY: the child only makes the exit system call on registers on its own stack and never
    // returns into Rust; the parent gets the result in rax, the syscall clobbers rcx and r11.
    unsafe {
        core::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "mov edi, r12d",
            "mov eax, {exit}",
            "syscall",
            "ud2",
            "2:",
            exit = const libc::SYS_exit,
            inlateout("rax") libc::SYS_clone3 => ret,
            in("rdi") args as *const CloneArgs,
            in("rsi") 88usize,
            in("r12") code as i64,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// What the thread of `clone3_thread` saw: its first rsp, its tid, the CLONE_CHILD_SETTID
/// word, and a value passed in a register.
#[repr(C)]
struct Seen {
    rsp: AtomicU64,
    tid: AtomicU64,
    child_tid_word: AtomicU64,
    value: AtomicU64,
}

/// clone3 whose child (a thread in this process) records what it sees into `seen` and calls
/// exit(0), in assembly. `ctid` is the CLONE_CHILD_SETTID/CLONE_CHILD_CLEARTID word.
fn clone3_thread(args: &CloneArgs, seen: &Seen, ctid: &AtomicU32, value: u64) -> i64 {
    let ret: i64;
    // SAFETY: as in clone3_exit; the child writes only to `seen`, which the parent keeps alive
    // until the thread has exited (its CLONE_CHILD_CLEARTID word is 0).
    unsafe {
        core::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "mov [r12], rsp",
            "mov eax, {gettid}",
            "syscall",
            "mov [r12 + 8], rax",
            "mov eax, [r13]",
            "mov [r12 + 16], rax",
            "mov [r12 + 24], r14",
            "xor edi, edi",
            "mov eax, {exit}",
            "syscall",
            "ud2",
            "2:",
            gettid = const libc::SYS_gettid,
            exit = const libc::SYS_exit,
            inlateout("rax") libc::SYS_clone3 => ret,
            in("rdi") args as *const CloneArgs,
            in("rsi") 88usize,
            in("r12") seen as *const Seen,
            in("r13") ctid.as_ptr(),
            in("r14") value,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// clone3 whose child thread registers the robust list at `head`, sets `*ready` to 1, sleeps
/// for `*sleep`, and calls exit(0), in assembly.
fn clone3_robust(args: &CloneArgs, head: u64, ready: &AtomicU32, sleep: &libc::timespec) -> i64 {
    let ret: i64;
    // SAFETY: as in clone3_thread; the child touches only `ready` and reads `sleep`, both kept
    // alive by the caller until the thread has exited.
    unsafe {
        core::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "mov rdi, r12",
            "mov esi, 24",
            "mov eax, {set_robust_list}",
            "syscall",
            "mov dword ptr [r13], 1",
            "mov rdi, r14",
            "xor esi, esi",
            "mov eax, {nanosleep}",
            "syscall",
            "xor edi, edi",
            "mov eax, {exit}",
            "syscall",
            "ud2",
            "2:",
            set_robust_list = const libc::SYS_set_robust_list,
            nanosleep = const libc::SYS_nanosleep,
            exit = const libc::SYS_exit,
            inlateout("rax") libc::SYS_clone3 => ret,
            in("rdi") args as *const CloneArgs,
            in("rsi") 88usize,
            in("r12") head,
            in("r13") ready.as_ptr(),
            in("r14") sleep as *const libc::timespec,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// argv[1] of the image `robust_exec` starts; any other argument makes the program exit 99.
const EXEC_MARKER: &str = "--robust-exec-image";

fn main() {
    if let Some(arg) = std::env::args_os().nth(1) {
        // The image after execve: it must start without a robust list.
        let code = if arg.as_encoded_bytes() == EXEC_MARKER.as_bytes() {
            let (mut h, mut l) = (1u64, 0u64);
            let got = sc!(
                libc::SYS_get_robust_list,
                0,
                &mut h as *mut u64,
                &mut l as *mut u64
            );
            if got == Ok(0) && h == 0 && l == 24 {
                0
            } else {
                1
            }
        } else {
            99
        };
        // SAFETY: ends the image with its verdict.
        unsafe { libc::_exit(code) };
    }
    let mut r = Report::new("t_clone3");
    fork_like(&mut r);
    sizes(&mut r);
    invalid(&mut r);
    vfork_on_a_stack(&mut r);
    thread(&mut r);
    robust_thread_exit(&mut r);
    robust_process_end(&mut r, false);
    robust_process_end(&mut r, true);
    robust_exec(&mut r);
    r.finish()
}

/// flags 0 and SIGCHLD: a new process returning 0, with the tid-pointer flags.
fn fork_like(r: &mut Report) {
    let parent = getpid();
    let ptid = AtomicU32::new(0);
    let ctid = AtomicU32::new(0);
    let args = CloneArgs {
        flags: CLONE_PARENT_SETTID | CLONE_CHILD_SETTID,
        exit_signal: SIGCHLD,
        parent_tid: ptid.as_ptr() as u64,
        child_tid: ctid.as_ptr() as u64,
        ..Default::default()
    };
    let res = clone3_fork(&args, 88, || {
        // SAFETY: no arguments.
        let (me, pp) = (getpid(), unsafe { libc::getppid() });
        if me == parent || pp != parent {
            return 1;
        }
        // CLONE_CHILD_SETTID wrote the child's pid into the child's copy.
        if ctid.load(Ordering::SeqCst) != me as u32 {
            return 2;
        }
        42
    });
    let Some(pid) = r.okv("fork_like_returns_a_pid", res) else {
        return;
    };
    r.check(
        "fork_like_pid_is_new",
        pid > 0 && pid != parent as c_long,
        || format!("pid {pid}"),
    );
    r.eq("parent_settid", ptid.load(Ordering::SeqCst) as c_long, pid);
    r.eq(
        "child_settid_only_in_the_child",
        ctid.load(Ordering::SeqCst),
        0,
    );
    let st = reap(pid as pid_t);
    r.check(
        "fork_like_child_exit_status",
        matches!(st, Ok(s) if libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == 42),
        || match st {
            Ok(s) => show_status(s),
            Err(e) => errname(e),
        },
    );
}

/// Reaps a child that should exit with `code`; passes the check if it did.
fn expect_child(r: &mut Report, check: &str, res: Result<c_long, c_int>, code: i32) {
    match res {
        Ok(pid) if pid > 0 => {
            let st = reap(pid as pid_t);
            r.check(
                check,
                matches!(st, Ok(s) if libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == code),
                || match st {
                    Ok(s) => show_status(s),
                    Err(e) => errname(e),
                },
            );
        }
        other => r.fail(check, format!("clone3 gave {}", usertests::show(&other))),
    }
}

fn sizes(r: &mut Report) {
    let base = CloneArgs {
        exit_signal: SIGCHLD,
        ..Default::default()
    };
    r.err("size_63_einval", clone3_fork(&base, 63, || 1), libc::EINVAL);
    r.err("size_0_einval", clone3_fork(&base, 0, || 1), libc::EINVAL);
    let big = vec![0u8; 8192];
    let mut big_args = big.clone();
    big_args[32] = SIGCHLD as u8;
    r.err(
        "size_8192_e2big",
        sc!(libc::SYS_clone3, big_args.as_ptr(), 8192),
        libc::E2BIG,
    );
    r.err(
        "size_4097_e2big",
        sc!(libc::SYS_clone3, big_args.as_ptr(), 4097),
        libc::E2BIG,
    );
    let page = clone3_fork_raw(&big_args, 4096, 44);
    expect_child(r, "size_4096_zero_tail_works", page, 44);
    let mut tail = base;
    tail.tail[0] = 1;
    r.err(
        "size_96_nonzero_tail_e2big",
        clone3_fork(&tail, 96, || 1),
        libc::E2BIG,
    );
    let ok = clone3_fork(&base, 96, || 43);
    expect_child(r, "size_96_zero_tail_works", ok, 43);
    let ok = clone3_fork(&base, 64, || 45);
    expect_child(r, "size_64_ver0_works", ok, 45);
    let ok = clone3_fork(&base, 80, || 46);
    expect_child(r, "size_80_ver1_works", ok, 46);
    r.err(
        "bad_pointer_efault",
        sc!(libc::SYS_clone3, 8usize, 88),
        libc::EFAULT,
    );
    drop(big);
}

/// clone3 on a byte buffer (for sizes up to a page): a fork-like child exiting with `code`.
fn clone3_fork_raw(buf: &[u8], size: usize, code: i32) -> Result<c_long, c_int> {
    let r = sc!(libc::SYS_clone3, buf.as_ptr(), size);
    if r == Ok(0) {
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(code) }
    }
    r
}

fn invalid(r: &mut Report) {
    let base = CloneArgs {
        exit_signal: SIGCHLD,
        ..Default::default()
    };
    let cases: [(&str, CloneArgs); 13] = [
        (
            "exit_signal_0x100_einval",
            CloneArgs {
                exit_signal: 0x100 | SIGCHLD,
                ..base
            },
        ),
        (
            "exit_signal_65_einval",
            CloneArgs {
                exit_signal: 65,
                ..base
            },
        ),
        (
            "signal_in_flags_einval",
            CloneArgs {
                flags: SIGCHLD,
                exit_signal: 0,
                ..base
            },
        ),
        (
            "clone_detached_einval",
            CloneArgs {
                flags: CLONE_DETACHED,
                ..base
            },
        ),
        (
            "unknown_flag_bit_40_einval",
            CloneArgs {
                flags: 1 << 40,
                ..base
            },
        ),
        (
            "thread_with_exit_signal_einval",
            CloneArgs {
                flags: CLONE_VM | CLONE_SIGHAND | CLONE_THREAD,
                ..base
            },
        ),
        (
            "sighand_and_clear_sighand_einval",
            CloneArgs {
                flags: CLONE_VM | CLONE_SIGHAND | CLONE_CLEAR_SIGHAND,
                ..base
            },
        ),
        (
            "stack_without_size_einval",
            CloneArgs {
                stack: 0x10_0000,
                ..base
            },
        ),
        (
            "size_without_stack_einval",
            CloneArgs {
                stack_size: 0x1000,
                ..base
            },
        ),
        (
            "set_tid_without_size_einval",
            CloneArgs {
                set_tid: 0x1000,
                ..base
            },
        ),
        (
            "set_tid_size_without_set_tid_einval",
            CloneArgs {
                set_tid_size: 1,
                ..base
            },
        ),
        (
            "set_tid_size_33_einval",
            CloneArgs {
                set_tid: 0x1000,
                set_tid_size: 33,
                ..base
            },
        ),
        (
            "thread_without_sighand_einval",
            CloneArgs {
                flags: CLONE_VM | CLONE_THREAD,
                exit_signal: 0,
                ..base
            },
        ),
    ];
    for (name, args) in cases {
        r.err(name, clone3_fork(&args, 88, || 1), libc::EINVAL);
    }
    // CLONE_INTO_CGROUP needs the VER2 struct (with `cgroup`).
    let cg = CloneArgs {
        flags: CLONE_INTO_CGROUP,
        ..base
    };
    r.err(
        "into_cgroup_with_ver1_einval",
        clone3_fork(&cg, 80, || 1),
        libc::EINVAL,
    );
}

/// CLONE_VM|CLONE_VFORK with exit signal SIGCHLD on a stack of its own (the way posix_spawn
/// uses clone3): the parent resumes when the child has exited.
fn vfork_on_a_stack(r: &mut Report) {
    let (base, len) = stack(64 * 1024);
    if len == 0 {
        r.fail("vm_vfork_child_exit_status", "mmap of a stack failed");
        return;
    }
    let args = CloneArgs {
        flags: CLONE_VM | CLONE_VFORK,
        exit_signal: SIGCHLD,
        stack: base,
        stack_size: len,
        ..Default::default()
    };
    let ret = clone3_exit(&args, 7);
    let res = if ret < 0 {
        Err(-ret as c_int)
    } else {
        Ok(ret as c_long)
    };
    expect_child(r, "vm_vfork_child_exit_status", res, 7);
}

/// A thread made by clone3: same pid, its own tid, starts at stack + stack_size, shares memory,
/// CLONE_PARENT_SETTID/CLONE_CHILD_SETTID/CLONE_CHILD_CLEARTID as pthreads use them.
fn thread(r: &mut Report) {
    let (base, len) = stack(64 * 1024);
    if len == 0 {
        r.fail("thread_created", "mmap of a stack failed");
        return;
    }
    let seen = Seen {
        rsp: AtomicU64::new(0),
        tid: AtomicU64::new(0),
        child_tid_word: AtomicU64::new(0),
        value: AtomicU64::new(0),
    };
    let ptid = AtomicU32::new(0);
    let ctid = AtomicU32::new(1);
    let args = CloneArgs {
        flags: THREAD_FLAGS,
        exit_signal: 0,
        parent_tid: ptid.as_ptr() as u64,
        child_tid: ctid.as_ptr() as u64,
        stack: base,
        stack_size: len,
        ..Default::default()
    };
    let tid = clone3_thread(&args, &seen, &ctid, 0x5eed_f00d);
    r.check("thread_created", tid > 0, || {
        format!("clone3 returned {tid}")
    });
    if tid <= 0 {
        return;
    }
    r.check("thread_ended_and_cleared_its_tid", join_word(&ctid), || {
        format!(
            "CLONE_CHILD_CLEARTID word still {}",
            ctid.load(Ordering::SeqCst)
        )
    });
    r.eq(
        "thread_wrote_shared_memory",
        seen.value.load(Ordering::SeqCst),
        0x5eed_f00d,
    );
    r.eq(
        "thread_tid_is_the_return_value",
        seen.tid.load(Ordering::SeqCst) as i64,
        tid,
    );
    r.check("thread_tid_is_not_the_pid", tid != getpid() as i64, || {
        format!("tid {tid}")
    });
    r.eq(
        "thread_parent_settid",
        ptid.load(Ordering::SeqCst) as i64,
        tid,
    );
    r.eq(
        "thread_child_settid",
        seen.child_tid_word.load(Ordering::SeqCst) as i64,
        tid,
    );
    r.eq(
        "thread_starts_at_stack_top",
        seen.rsp.load(Ordering::SeqCst),
        base + len,
    );
}

/// A hand-built robust list in `page` (futex words at entry + 8):
/// head at 0 → A (64, owned by `tid`, waiters) → B (128, another tid) → C (192, reached through
/// a pointer with the PI bit, owned by `tid`) → head; D (256, owned by `tid`) is list_op_pending.
/// Returns the head's address. The words are filled in by `own`.
fn build_list(page: *mut u8) -> u64 {
    let base = page as u64;
    let q = |off: u64| (base + off) as *mut u64;
    // SAFETY: `page` is a writable page; every offset is inside it and 8-aligned.
    unsafe {
        q(0).write_volatile(base + 64);
        q(8).write_volatile(8);
        q(16).write_volatile(base + 256);
        q(64).write_volatile(base + 128);
        q(128).write_volatile((base + 192) | 1);
        q(192).write_volatile(base);
        q(256).write_volatile(0);
    }
    base
}

/// The futex word of the entry at `off` of a list built by `build_list`.
fn word(page: *mut u8, off: usize) -> &'static AtomicU32 {
    // SAFETY: the word is inside the page, 4-aligned, and the page is never unmapped.
    unsafe { &*(page.add(off + 8) as *const AtomicU32) }
}

/// Sets the words of the list for owner `tid`.
fn own(page: *mut u8, tid: u32) {
    word(page, 64).store(tid | FUTEX_WAITERS, Ordering::SeqCst);
    word(page, 128).store(FOREIGN_TID, Ordering::SeqCst);
    word(page, 192).store(tid, Ordering::SeqCst);
    word(page, 256).store(tid, Ordering::SeqCst);
}

/// The words after the owner died, as (A, B, C, D).
fn words(page: *mut u8) -> (u32, u32, u32, u32) {
    (
        word(page, 64).load(Ordering::SeqCst),
        word(page, 128).load(Ordering::SeqCst),
        word(page, 192).load(Ordering::SeqCst),
        word(page, 256).load(Ordering::SeqCst),
    )
}

const DEAD_WORDS: (u32, u32, u32, u32) = (
    FUTEX_OWNER_DIED | FUTEX_WAITERS,
    FOREIGN_TID,
    FUTEX_OWNER_DIED,
    FUTEX_OWNER_DIED,
);

/// Waits (at most about 5 s) for a flag the child thread sets.
fn wait_flag(flag: &AtomicU32) -> bool {
    for _ in 0..5000 {
        if flag.load(Ordering::SeqCst) != 0 {
            return true;
        }
        usertests::sleep_ms(1);
    }
    false
}

/// A thread with a robust list dies by exit(2) while the main thread waits on its futex.
fn robust_thread_exit(r: &mut Report) {
    let page = map_anon(4096, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE);
    let (base, len) = stack(64 * 1024);
    if page.is_null() || len == 0 {
        r.fail("robust_thread_created", "mmap failed");
        return;
    }
    let head = build_list(page);
    let ready = AtomicU32::new(0);
    let ptid = AtomicU32::new(0);
    let ctid = AtomicU32::new(1);
    let nap = usertests::ts(200_000_000);
    let args = CloneArgs {
        flags: THREAD_FLAGS & !CLONE_CHILD_SETTID,
        parent_tid: ptid.as_ptr() as u64,
        child_tid: ctid.as_ptr() as u64,
        stack: base,
        stack_size: len,
        ..Default::default()
    };
    let tid = clone3_robust(&args, head, &ready, &nap);
    r.check("robust_thread_created", tid > 0, || {
        format!("clone3 returned {tid}")
    });
    if tid <= 0 {
        return;
    }
    own(page, tid as u32);
    r.check("robust_thread_registered", wait_flag(&ready), || {
        "the thread never set its flag".into()
    });
    // Another thread's head, by its tid.
    let (mut h, mut l) = (0u64, 0u64);
    let got = sc!(
        libc::SYS_get_robust_list,
        tid,
        &mut h as *mut u64,
        &mut l as *mut u64
    );
    r.eq(
        "get_robust_list_of_another_thread",
        (got, h, l),
        (Ok(0), head, 24),
    );
    // Blocks until the thread dies (200 ms into its sleep) and the walk wakes a waiter.
    let woken = futex_wait(word(page, 64), tid as u32 | FUTEX_WAITERS, 5000);
    r.check("robust_waiter_woken", woken == Ok(0), || {
        format!("FUTEX_WAIT gave {}", usertests::show(&woken))
    });
    r.check("robust_thread_ended", join_word(&ctid), || {
        "CLONE_CHILD_CLEARTID word never cleared".into()
    });
    let w = words(page);
    r.check("robust_words_after_exit", w == DEAD_WORDS, || {
        format!("words {w:#x?}, want {DEAD_WORDS:#x?}")
    });
    // Linux may still find the thread for a moment after it cleared its tid word.
    let mut gone = Ok(0);
    for _ in 0..2000 {
        gone = sc!(
            libc::SYS_get_robust_list,
            tid,
            &mut h as *mut u64,
            &mut l as *mut u64
        );
        if gone.is_err() {
            break;
        }
        usertests::sleep_ms(1);
    }
    r.err("get_robust_list_of_a_dead_thread_esrch", gone, libc::ESRCH);
}

/// In a child process, a thread with a robust list (in a MAP_SHARED page) sleeps while the
/// main thread ends the process: exit_group, or SIGKILL (`kill`). The thread's list is walked.
fn robust_process_end(r: &mut Report, kill: bool) {
    let page = map_anon(4096, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED);
    if page.is_null() {
        r.fail("robust_exit_group_walks_every_thread", "mmap failed");
        return;
    }
    let head = build_list(page);
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_clone3 robust child");
        let (base, len) = stack(64 * 1024);
        s.t(len != 0, || "mmap of a stack failed".into())?;
        let ready = AtomicU32::new(0);
        let ctid = AtomicU32::new(1);
        let nap = usertests::ts(30_000_000_000);
        let args = CloneArgs {
            flags: THREAD_FLAGS & !(CLONE_CHILD_SETTID | CLONE_PARENT_SETTID),
            child_tid: ctid.as_ptr() as u64,
            stack: base,
            stack_size: len,
            ..Default::default()
        };
        let tid = clone3_robust(&args, head, &ready, &nap);
        s.t(tid > 0, || format!("clone3 returned {tid}"))?;
        own(page, tid as u32);
        s.t(wait_flag(&ready), || "the thread never set its flag".into())?;
        if kill {
            // SAFETY: ends this process with SIGKILL.
            unsafe { libc::kill(getpid(), libc::SIGKILL) };
            usertests::sleep_ms(5000);
            s.t(false, || "SIGKILL did not end the process".into())?;
        }
        // SAFETY: ends every thread of this process.
        unsafe { libc::syscall(libc::SYS_exit_group, 0) };
        Ok(())
    });
    let (name, want) = if kill {
        ("robust_sigkill_walks_every_thread", libc::SIGKILL)
    } else {
        ("robust_exit_group_walks_every_thread", 0)
    };
    let st = reap(pid);
    let ended = match st {
        Ok(s) if kill => libc::WIFSIGNALED(s) && libc::WTERMSIG(s) == want,
        Ok(s) => libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == 0,
        Err(_) => false,
    };
    r.check(
        if kill {
            "robust_child_killed"
        } else {
            "robust_child_exit_group"
        },
        ended,
        || match st {
            Ok(s) => show_status(s),
            Err(e) => errname(e),
        },
    );
    // The thread's own waiter bit stays; nobody in this process waits on the word.
    let w = words(page);
    r.check(name, w == DEAD_WORDS, || {
        format!("words {w:#x?}, want {DEAD_WORDS:#x?}")
    });
}

/// execve walks the caller's robust list (in the old image) and the new image has none.
fn robust_exec(r: &mut Report) {
    // SAFETY: getauxval has no preconditions; AT_EXECFN points at a NUL-terminated string.
    let me = unsafe { libc::getauxval(libc::AT_EXECFN) } as *const libc::c_char;
    let page = map_anon(4096, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED);
    if me.is_null() || page.is_null() {
        r.fail("exec_walks_robust_list", "no AT_EXECFN or mmap failed");
        return;
    }
    let head = build_list(page);
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_clone3 robust exec child");
        own(page, getpid() as u32);
        s.ok(sc!(libc::SYS_set_robust_list, head, 24), "set_robust_list")?;
        let marker = c"--robust-exec-image";
        let argv = [c"t_clone3".as_ptr(), marker.as_ptr(), std::ptr::null()];
        let envp = [std::ptr::null::<libc::c_char>()];
        // SAFETY: both arrays are NULL-terminated and `me` is a C string that lives on.
        unsafe { libc::execve(me, argv.as_ptr(), envp.as_ptr()) };
        s.t(false, || {
            format!("execve failed: {}", errname(usertests::errno()))
        })
    });
    r.child_ok("exec_starts_without_robust_list", pid);
    let w = words(page);
    r.check("exec_walks_robust_list", w == DEAD_WORDS, || {
        format!("words {w:#x?}, want {DEAD_WORDS:#x?}")
    });
}
