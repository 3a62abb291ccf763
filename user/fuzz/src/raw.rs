//! Raw system calls: the fuzzer passes arguments the C library would refuse or rewrite, so it
//! enters the kernel itself. `clone_exit` is for the calls that create a task sharing (or
//! copying) this one's registers: the child leaves with `exit(0)` at once, before it touches
//! memory or the stack, so any flags and any stack pointer are safe for the caller.

use core::arch::asm;

/// `syscall` with six arguments; returns rax (a negative errno on failure).
///
/// # Safety
/// The call may do anything the arguments say to this process's memory; the caller keeps the
/// memory it relies on out of reach (see `pools::Protected`).
pub unsafe fn syscall6(nr: u64, a: [u64; 6]) -> i64 {
    let ret: i64;
    // SAFETY: the caller's contract; the kernel clobbers rcx and r11 only.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr as i64 => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
    ret
}

/// clone, clone3, fork or vfork (`nr`) whose child calls `exit(0)` as its first instruction.
///
/// # Safety
/// As `syscall6`; signals should be blocked when the child shares memory (a handler would run
/// on whatever stack the child has).
pub unsafe fn clone_exit(nr: u64, a: [u64; 6]) -> i64 {
    let ret: i64;
    // SAFETY: the child executes only the instructions below and never returns into Rust.
    unsafe {
        asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "mov eax, 60",
            "xor edi, edi",
            "syscall",
            "ud2",
            "2:",
            inlateout("rax") nr as i64 => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
    ret
}

/// A system call with ordinary arguments (set-up and bookkeeping, not fuzzing).
pub fn sys(nr: u64, a: &[u64]) -> i64 {
    let mut args = [0u64; 6];
    args[..a.len()].copy_from_slice(a);
    // SAFETY: callers pass arguments that refer to memory they own.
    unsafe { syscall6(nr, args) }
}
