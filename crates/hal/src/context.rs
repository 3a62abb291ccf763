//! Kernel-thread contexts: a kernel stack plus the stack pointer saved when the thread is not
//! running. `switch` saves the callee-saved registers of the running thread on its stack and
//! resumes another; a new thread starts in `entry(arg)` on a fresh guarded stack.
//!
//! Safety argument for the safe API: a context is either running on exactly one CPU or holds a
//! valid saved stack pointer. `running` tracks which: `switch` claims `to` (false → true) before
//! loading it and the assembly clears `from.running` only after `from`'s registers are saved, so
//! two CPUs can never run on one stack, and a context whose stack is live cannot be dropped.

use core::arch::global_asm;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::mem::stack::KernelStack;

#[repr(C)]
pub struct KernelContext {
    /// Saved stack pointer; written only by the CPU switching away from this context.
    rsp: UnsafeCell<u64>,
    running: AtomicBool,
    stack: Option<KernelStack>,
}

// SAFETY: `rsp` is written only by the CPU on which the context is running (as it switches away)
// and read only by the CPU that claimed it through `running`; see the module comment.
unsafe impl Sync for KernelContext {}

const _: () = assert!(core::mem::offset_of!(KernelContext, running) == 8);

global_asm!(
    r#"
    .section .text.hal_context_switch, "ax"
    .global hal_context_switch
    .type hal_context_switch, @function
// hal_context_switch(from: *mut KernelContext, to: *const KernelContext): rsp is at offset 0,
// the running flag at offset 8.
hal_context_switch:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    mov [rdi], rsp
    mov byte ptr [rdi + 8], 0
    mov rsp, [rsi]
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret
    .size hal_context_switch, . - hal_context_switch

// hal_context_exit(dying: *mut KernelContext, to: *const KernelContext): like a switch, but the
// dying context's registers are not saved: its saved stack pointer becomes 0 (so a later
// switch to it is caught, see `KernelContext::check_resumable`) and its running flag is
// cleared.
    .global hal_context_exit
    .type hal_context_exit, @function
hal_context_exit:
    mov qword ptr [rdi], 0
    mov byte ptr [rdi + 8], 0
    mov rsp, [rsi]
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret
    .size hal_context_exit, . - hal_context_exit

// First code of a new thread: r12 = argument, r13 = entry function.
    .global hal_thread_start
    .type hal_thread_start, @function
hal_thread_start:
    mov rdi, r12
    xor ebp, ebp
    call r13
    ud2
    .size hal_thread_start, . - hal_thread_start
"#
);

unsafe extern "C" {
    fn hal_context_switch(from: *mut u8, to: *const u8);
    fn hal_thread_start();
    fn hal_context_exit(dying: *mut u8, to: *const u8) -> !;
}

impl KernelContext {
    /// The context of the code running now (the boot thread of a CPU), which owns no stack.
    pub fn for_current() -> KernelContext {
        KernelContext {
            rsp: UnsafeCell::new(0),
            running: AtomicBool::new(true),
            stack: None,
        }
    }

    /// A new thread that will run `entry(arg)` (with interrupts off) when first switched to.
    pub fn new(entry: extern "C" fn(usize) -> !, arg: usize) -> Option<KernelContext> {
        let stack = KernelStack::new()?;
        // Initial frame popped by hal_context_switch: r15, r14, r13, r12, rbp, rbx, return address.
        let frame: [u64; 8] = [
            0,
            0,
            entry as usize as u64,
            arg as u64,
            0,
            0,
            hal_thread_start as *const () as u64,
            0,
        ];
        let rsp = stack.top() - 8 * frame.len() as u64;
        for (i, v) in frame.iter().enumerate() {
            // SAFETY: the stack was just mapped and belongs to this context alone; the frame lies
            // within its top 64 bytes.
            unsafe { ((rsp + 8 * i as u64) as *mut u64).write(*v) };
        }
        Some(KernelContext {
            rsp: UnsafeCell::new(rsp),
            running: AtomicBool::new(false),
            stack: Some(stack),
        })
    }

    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// Whether a switch to this context can resume it: it has not exited (`exit_to` zeroes
    /// the saved stack pointer), the saved pointer lies in its own stack, and the frame there
    /// still returns into kernel text. A context that fails this would be resumed on garbage
    /// (a zeroed frame jumps to address 0), so the scheduler checks first and says which
    /// thread it is. Only meaningful for a context that is not running.
    pub fn check_resumable(&self) -> Result<(), &'static str> {
        if self.is_running() {
            return Ok(());
        }
        // SAFETY: a context that is not running has its `rsp` written only by a CPU that
        // switched away from it, which finished before clearing `running` (Acquire above).
        let rsp = unsafe { *self.rsp.get() };
        if rsp == 0 {
            return Err("it has exited");
        }
        let Some((bottom, top)) = self.stack_bounds() else {
            return Ok(());
        };
        // Six saved registers, then the return address.
        if rsp < bottom || rsp + 56 > top {
            return Err("its saved stack pointer is outside its stack");
        }
        // SAFETY: [rsp, rsp + 56) lies within this context's mapped stack (checked above),
        // and nothing runs on it while it is not running.
        let ret = unsafe { ((rsp + 48) as *const u64).read_volatile() };
        let text = crate::mem::image::text_start()..crate::mem::image::text_end();
        if !text.contains(&ret) {
            return Err("the frame saved on its stack was overwritten");
        }
        Ok(())
    }

    /// Stack bounds (bottom, top) of a context that owns its stack.
    pub fn stack_bounds(&self) -> Option<(u64, u64)> {
        self.stack.as_ref().map(|s| (s.bottom(), s.top()))
    }
}

/// Save the running context `from` and resume `to`. Returns when some CPU switches back to
/// `from`. Panics if `from` is not the context running on this CPU; waits while `to` is still
/// being saved by another CPU. User FPU state live in the registers is saved first. Call with
/// interrupts off and no spin lock held.
pub fn switch(from: &KernelContext, to: &KernelContext) {
    assert!(
        from.is_running(),
        "switch from a context that is not running"
    );
    assert!(!core::ptr::eq(from, to), "switch to self");
    let Some(cpu) = crate::cpu::current() else {
        panic!("switch before per-CPU set-up")
    };
    let cur = cpu.current_context();
    assert!(
        cur == 0 || cur == from as *const KernelContext as usize,
        "switch from a context not running on this CPU"
    );
    hand_over(cpu, to);
    // SAFETY: `from` is the context running on this CPU (checked), so saving our registers into
    // its `rsp` is right and nobody else touches it; `to` is now claimed by this CPU and holds a
    // stack pointer saved by an earlier switch or built by `new`, on a stack that is still mapped.
    unsafe { hal_context_switch(from.rsp.get() as *mut u8, to.rsp.get() as *const u8) };
}

/// Claim `to` for this CPU (waiting while another CPU is still saving it), put away the user
/// FPU state live in the registers, and record `to` as this CPU's running context.
fn hand_over(cpu: &crate::cpu::PerCpu, to: &KernelContext) {
    while to
        .running
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        crate::arch::pause();
    }
    crate::user::save_live_fpu(cpu);
    cpu.set_current_context(to as *const KernelContext as usize);
}

/// Leave the running context for good and resume `to`. The caller must keep the dying context
/// (and its stack) alive until the next thread on this CPU has started — e.g. in a slot that the
/// next thread empties — because we are still on that stack until the last instruction.
pub fn exit_to(to: &KernelContext) -> ! {
    let Some(cpu) = crate::cpu::current() else {
        panic!("exit before per-CPU set-up")
    };
    let cur = cpu.current_context();
    assert!(
        cur != 0 && cur != to as *const KernelContext as usize,
        "exit_to: no current context"
    );
    hand_over(cpu, to);
    // SAFETY: `cur` is the context running on this CPU (recorded by the switch that started it)
    // and the caller keeps it alive until the next thread runs; only its running flag is
    // written. `to` is claimed by this CPU and holds a valid saved stack pointer.
    unsafe { hal_context_exit(cur as *mut u8, to.rsp.get() as *const u8) }
}

impl Drop for KernelContext {
    fn drop(&mut self) {
        assert!(
            !self.is_running() || self.stack.is_none(),
            "dropping a running thread's stack"
        );
    }
}
