//! t_vfork: `clone(CLONE_VM)` between processes — vfork and plain CLONE_VM children run in their
//! parent's memory, not in a copy of it.
//!
//! The children are made with a raw `clone` whose child side is a few instructions of assembly on
//! a stack of its own (it must not touch the parent's Rust stack or run Rust code): it can wait
//! for a gate word, stores a value into memory the parent named, and exits with a status. Then:
//! a vfork child's store is seen by the parent, which was suspended until the child exited;
//! a CLONE_VM child blocked on a gate that only the parent opens sees the parent's store and its
//! own store reaches the parent; CLONE_PARENT_SETTID/CLONE_CHILD_SETTID words land in the shared
//! memory; `std::process::Command` (posix_spawn: CLONE_VM|CLONE_VFORK, then execve in the child)
//! runs this program again while the parent's heap stays intact; and Linux's flag rules
//! (CLONE_SIGHAND needs CLONE_VM, CLONE_THREAD needs CLONE_SIGHAND) give EINVAL.

use std::sync::atomic::{AtomicU32, Ordering};

use libc::c_int;
use usertests::{Report, errname, map_anon, reap, show_status};

const STACK: usize = 64 * 1024;
const SPAWNED: &str = "--spawned-child";

/// Memory the children write into: statics, so both sides name them by the same address.
static GATE: AtomicU32 = AtomicU32::new(0);
static OUT: AtomicU32 = AtomicU32::new(0);
static PTID: AtomicU32 = AtomicU32::new(0);
static CTID: AtomicU32 = AtomicU32::new(0);

/// What the assembly child does: wait until `*gate != 0` (if `gate` is not null, yielding the
/// CPU meanwhile), then `*out = value`, then exit with `code`.
struct Child<'a> {
    gate: Option<&'a AtomicU32>,
    out: &'a AtomicU32,
    value: u32,
    code: u32,
}

/// clone(flags, stack_top, ptid, ctid, 0) with the child running `c`. Returns the pid or errno.
fn clone_child(
    flags: c_int,
    stack_top: *mut u8,
    ptid: *const AtomicU32,
    ctid: *const AtomicU32,
    c: &Child,
) -> Result<libc::pid_t, c_int> {
    let gate = c.gate.map_or(std::ptr::null(), |g| g as *const AtomicU32);
    let ret: i64;
    // SAFETY: the child runs only the instructions after the syscall, on its own stack, using
    // the registers it inherited (gate, out, value and code in r12-r15) and ends in exit; it
    // never returns into Rust. The parent gets the pid or -errno in rax; syscall clobbers rcx
    // and r11.
    unsafe {
        core::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "3:",
            "test r12, r12",
            "jz 4f",
            "mov eax, dword ptr [r12]",
            "test eax, eax",
            "jnz 4f",
            "mov eax, {yield_}",
            "syscall",
            "jmp 3b",
            "4:",
            "mov dword ptr [r13], r14d",
            "mov edi, r15d",
            "mov eax, {exit}",
            "syscall",
            "ud2",
            "2:",
            yield_ = const libc::SYS_sched_yield,
            exit = const libc::SYS_exit,
            inlateout("rax") libc::SYS_clone => ret,
            in("rdi") flags as i64,
            in("rsi") stack_top,
            in("rdx") ptid,
            in("r10") ctid,
            in("r8") 0u64,
            in("r12") gate,
            in("r13") c.out as *const AtomicU32,
            in("r14") c.value,
            in("r15") c.code,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    if ret < 0 {
        Err(-ret as c_int)
    } else {
        Ok(ret as libc::pid_t)
    }
}

/// A fresh stack for one child: its top (16-byte aligned).
fn stack() -> *mut u8 {
    let base = map_anon(STACK, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE);
    assert!(!base.is_null(), "mmap for a child stack");
    base.wrapping_add(STACK)
}

fn exit_status(pid: libc::pid_t) -> Result<c_int, String> {
    match reap(pid) {
        Ok(st) if libc::WIFEXITED(st) => Ok(libc::WEXITSTATUS(st)),
        Ok(st) => Err(show_status(st)),
        Err(e) => Err(errname(e)),
    }
}

fn vfork_child_writes_parent_memory(r: &mut Report) {
    OUT.store(0, Ordering::SeqCst);
    let c = Child {
        gate: None,
        out: &OUT,
        value: 7,
        code: 3,
    };
    let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
    match clone_child(flags, stack(), std::ptr::null(), std::ptr::null(), &c) {
        Ok(pid) => {
            // The parent was suspended until the child exited, so the store is already here.
            r.eq("vfork_store_seen_by_parent", OUT.load(Ordering::SeqCst), 7);
            r.eq("vfork_exit_status", exit_status(pid), Ok(3));
        }
        Err(e) => r.fail("vfork_clone", errname(e)),
    }
}

fn clone_vm_child_runs_beside_parent(r: &mut Report) {
    GATE.store(0, Ordering::SeqCst);
    OUT.store(0, Ordering::SeqCst);
    let c = Child {
        gate: Some(&GATE),
        out: &OUT,
        value: 9,
        code: 0,
    };
    match clone_child(
        libc::CLONE_VM | libc::SIGCHLD,
        stack(),
        std::ptr::null(),
        std::ptr::null(),
        &c,
    ) {
        Ok(pid) => {
            r.eq(
                "clone_vm_child_waits_for_gate",
                OUT.load(Ordering::SeqCst),
                0,
            );
            // Only this store can release the child: it must see the parent's memory.
            GATE.store(1, Ordering::SeqCst);
            r.eq("clone_vm_child_exit", exit_status(pid), Ok(0));
            r.eq(
                "clone_vm_store_seen_by_parent",
                OUT.load(Ordering::SeqCst),
                9,
            );
        }
        Err(e) => r.fail("clone_vm_clone", errname(e)),
    }
}

fn settid_words_land_in_shared_memory(r: &mut Report) {
    PTID.store(0, Ordering::SeqCst);
    CTID.store(0, Ordering::SeqCst);
    let c = Child {
        gate: None,
        out: &OUT,
        value: 1,
        code: 0,
    };
    let flags = libc::CLONE_VM
        | libc::CLONE_VFORK
        | libc::CLONE_PARENT_SETTID
        | libc::CLONE_CHILD_SETTID
        | libc::SIGCHLD;
    match clone_child(flags, stack(), &PTID, &CTID, &c) {
        Ok(pid) => {
            let _ = exit_status(pid);
            r.eq(
                "parent_settid_is_child_pid",
                PTID.load(Ordering::SeqCst),
                pid as u32,
            );
            r.eq(
                "child_settid_seen_by_parent",
                CTID.load(Ordering::SeqCst),
                pid as u32,
            );
        }
        Err(e) => r.fail("settid_clone", errname(e)),
    }
}

fn spawn_keeps_parent_memory(r: &mut Report) {
    // A heap block the parent checks after its posix_spawn child has exec'd and exited.
    let block: Vec<u8> = (0..256 * 1024).map(|i| (i % 251) as u8).collect();
    let sum = |b: &[u8]| b.iter().map(|&x| u64::from(x)).sum::<u64>();
    let before = sum(&block);
    match std::process::Command::new("/proc/self/exe")
        .arg(SPAWNED)
        .output()
    {
        Ok(out) => {
            r.eq(
                "spawned_child_output",
                String::from_utf8_lossy(&out.stdout).into_owned(),
                "spawned child ran\n".to_string(),
            );
            r.eq("spawned_child_status", out.status.code(), Some(5));
        }
        Err(e) => r.fail("spawn", e),
    }
    r.eq("parent_heap_intact_after_spawn", sum(&block), before);
}

fn flag_rules(r: &mut Report) {
    let c = Child {
        gate: None,
        out: &OUT,
        value: 0,
        code: 0,
    };
    for (check, flags) in [
        ("sighand_without_vm", libc::CLONE_SIGHAND | libc::SIGCHLD),
        (
            "thread_without_sighand",
            libc::CLONE_VM | libc::CLONE_THREAD,
        ),
    ] {
        let r2 = clone_child(flags, stack(), std::ptr::null(), std::ptr::null(), &c);
        r.err(check, r2, libc::EINVAL);
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some(SPAWNED) {
        usertests::out("spawned child ran\n");
        std::process::exit(5);
    }
    let mut r = Report::new("t_vfork");
    vfork_child_writes_parent_memory(&mut r);
    clone_vm_child_runs_beside_parent(&mut r);
    settid_words_land_in_shared_memory(&mut r);
    spawn_keeps_parent_memory(&mut r);
    flag_rules(&mut r);
    r.finish();
}
