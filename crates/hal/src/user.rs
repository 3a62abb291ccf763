//! User mode as a function call. `UserContext::run` loads a user register set and drops to
//! ring 3; it returns to the calling kernel code when user mode is left for any reason — a
//! `syscall`, an exception, or an interrupt — with every user register saved back into the
//! context. A kernel thread's life is then a plain loop: `run`, handle the reason, repeat.
//!
//! Mechanics: `run` pushes the kernel's callee-saved registers, records its stack pointer in the
//! per-CPU block (and as TSS.rsp0, so traps from user mode land just below it), builds an `iretq`
//! frame and enters user mode. The `syscall` entry and the user-mode branch of the trap entry save
//! the user registers into the context named by the per-CPU block, restore the saved kernel stack
//! pointer and return from `run`. FPU/SSE/AVX state is saved lazily: it stays in the registers
//! until another thread's user code needs them (`save_fpu` before switching threads).

use core::alloc::Layout;
use core::arch::{asm, global_asm};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crate::arch::{self, cpuid};
use crate::cpu::{self, OFF_KERNEL_RSP, OFF_TSS_RSP0, OFF_USER_CTX, OFF_USER_RSP};
use crate::mem::USER_END;
use crate::trap::gdt::{KERNEL_CS, USER_CS, USER_DS};

/// Marker stored in `UserContext::vector` when user mode was left through `syscall`.
pub const VECTOR_SYSCALL: u64 = 0x100;

/// A user thread's registers. The first fields are read and written by assembly at fixed offsets.
#[repr(C)]
pub struct UserContext {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub rsp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    /// Why `run` returned: `VECTOR_SYSCALL`, or the trap vector.
    pub vector: u64,
    pub error_code: u64,
    pub cr2: u64,
    fpu: FpuArea,
    fpu_id: u64,
}

const _: () = {
    assert!(core::mem::offset_of!(UserContext, rsp) == 56);
    assert!(core::mem::offset_of!(UserContext, rip) == 128);
    assert!(core::mem::offset_of!(UserContext, rflags) == 136);
    assert!(core::mem::offset_of!(UserContext, vector) == 160);
    assert!(core::mem::offset_of!(UserContext, error_code) == 168);
    assert!(core::mem::offset_of!(UserContext, cr2) == 176);
};

/// Why user mode was left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Syscall,
    /// A CPU exception: vector, error code, and CR2 for page faults.
    Exception {
        vector: u8,
        error_code: u64,
        cr2: u64,
    },
    /// A device or timer interrupt; call `trap::handle_user_interrupt` for it.
    Interrupt(u8),
}

// ---------------------------------------------------------------------------------------------
// FPU / SSE / AVX state

static XSAVE: AtomicBool = AtomicBool::new(false);
static FPU_AREA_SIZE: AtomicUsize = AtomicUsize::new(512);
static XCR0: AtomicU64 = AtomicU64::new(0);
static NEXT_FPU_ID: AtomicU64 = AtomicU64::new(1);
static SMAP: AtomicBool = AtomicBool::new(false);

/// A heap block holding FXSAVE/XSAVE state, 64-byte aligned.
struct FpuArea {
    ptr: *mut u8,
    layout: Layout,
}

// SAFETY: the area is plain bytes owned by one UserContext.
unsafe impl Send for FpuArea {}
// SAFETY: shared references never write through the pointer.
unsafe impl Sync for FpuArea {}

impl FpuArea {
    fn new() -> Option<FpuArea> {
        let layout = Layout::from_size_align(FPU_AREA_SIZE.load(Ordering::Relaxed), 64).ok()?;
        // SAFETY: non-zero size.
        let ptr = unsafe { alloc::alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            return None;
        }
        let a = FpuArea { ptr, layout };
        a.reset();
        Some(a)
    }

    /// The state of a fresh process: x87 control word 0x37F, MXCSR 0x1F80, nothing else live.
    fn reset(&self) {
        // SAFETY: the area is at least 512 bytes, owned by us.
        unsafe {
            core::ptr::write_bytes(self.ptr, 0, self.layout.size());
            (self.ptr as *mut u16).write(0x37F);
            (self.ptr.add(24) as *mut u32).write(0x1F80);
            if XSAVE.load(Ordering::Relaxed) && self.layout.size() >= 576 {
                // XSTATE_BV: x87 and SSE state are valid (the values above), the rest in init state.
                (self.ptr.add(512) as *mut u64).write(0b11);
            }
        }
    }

    fn copy_from(&self, other: &FpuArea) {
        let n = self.layout.size().min(other.layout.size());
        // SAFETY: both areas are live, distinct, and at least n bytes long.
        unsafe { core::ptr::copy_nonoverlapping(other.ptr, self.ptr, n) };
    }

    fn save(&self) {
        save_fpu_to(self.ptr);
    }

    fn restore(&self) {
        if XSAVE.load(Ordering::Relaxed) {
            let m = XCR0.load(Ordering::Relaxed);
            // SAFETY: the area holds a valid XSAVE image (from `save` or `reset`).
            unsafe {
                asm!("xrstor64 [{}]", in(reg) self.ptr, in("eax") m as u32, in("edx") (m >> 32) as u32, options(nostack))
            }
        } else {
            // SAFETY: the area holds a valid FXSAVE image.
            unsafe { asm!("fxrstor64 [{}]", in(reg) self.ptr, options(nostack)) }
        }
    }
}

impl Drop for FpuArea {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { alloc::alloc::dealloc(self.ptr, self.layout) }
    }
}

/// Write the FPU registers into the area at `ptr`.
///
/// Callers pass the pointer of a live `FpuArea` (64-byte aligned, sized by CPUID leaf 0xD for
/// XCR0, or 512 bytes for FXSAVE): its own, or the one recorded as live in the per-CPU block,
/// which `UserContext::drop` clears before the area goes away.
fn save_fpu_to(ptr: *mut u8) {
    if XSAVE.load(Ordering::Relaxed) {
        let m = XCR0.load(Ordering::Relaxed);
        // SAFETY: `ptr` names a live, suitably aligned and sized area (see above).
        unsafe {
            asm!("xsave64 [{}]", in(reg) ptr, in("eax") m as u32, in("edx") (m >> 32) as u32, options(nostack))
        }
    } else {
        // SAFETY: as above (16-byte aligned, at least 512 bytes).
        unsafe { asm!("fxsave64 [{}]", in(reg) ptr, options(nostack)) }
    }
}

/// Enable SSE/AVX state for user programs and decide between XSAVE and FXSAVE (boot CPU).
fn init_fpu() {
    let f = cpuid::Features::detect();
    if f.xsave {
        let supported = cpuid::cpuid(0xD, 0);
        let mask = (u64::from(supported.edx) << 32 | u64::from(supported.eax)) & 0b111; // x87, SSE, AVX
        arch::write_cr4(arch::read_cr4() | (1 << 18)); // OSXSAVE
        // SAFETY: XCR0 gets only bits CPUID reports as supported, always including x87 and SSE.
        unsafe {
            asm!("xsetbv", in("ecx") 0, in("eax") mask as u32, in("edx") (mask >> 32) as u32, options(nostack))
        };
        let size = cpuid::cpuid(0xD, 0).ebx as usize; // size for the features now enabled
        XCR0.store(mask, Ordering::Relaxed);
        FPU_AREA_SIZE.store(size.max(576), Ordering::Relaxed);
        XSAVE.store(true, Ordering::Relaxed);
    }
    // Clear EM and TS, set MP and NE: FPU instructions run natively, errors as #MF/#XM.
    arch::write_cr0((arch::read_cr0() & !((1 << 2) | (1 << 3))) | (1 << 1) | (1 << 5));
}

/// How user FPU state is saved: "xsave (N bytes)" or "fxsave".
pub fn fpu_description() -> (&'static str, usize) {
    if XSAVE.load(Ordering::Relaxed) {
        ("xsave", FPU_AREA_SIZE.load(Ordering::Relaxed))
    } else {
        ("fxsave", 512)
    }
}

// ---------------------------------------------------------------------------------------------
// Entry and exit

global_asm!(
    r#"
    .section .text.hal_user, "ax"

// hal_user_enter(ctx: *mut UserContext): enter user mode; "returns" when user mode is left.
    .global hal_user_enter
    .type hal_user_enter, @function
hal_user_enter:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    mov gs:[{kernel_rsp}], rsp
    mov gs:[{user_ctx}], rdi
    mov rax, gs:[{tss_rsp0}]
    mov [rax], rsp
    // Back from a system call with rcx/r11 still holding rip/rflags (as `syscall` left them):
    // return with the cheaper sysretq. Anything else (a new program, a trap) uses iretq.
    cmp qword ptr [rdi + 160], {vector_syscall}
    jne 1f
    mov rax, [rdi + 128]
    cmp rax, [rdi + 16]
    jne 1f
    mov rax, [rdi + 136]
    cmp rax, [rdi + 88]
    jne 1f
    mov rax, [rdi + 0]
    mov rbx, [rdi + 8]
    mov rdx, [rdi + 24]
    mov rsi, [rdi + 32]
    mov rbp, [rdi + 48]
    mov r8, [rdi + 64]
    mov r9, [rdi + 72]
    mov r10, [rdi + 80]
    mov r12, [rdi + 96]
    mov r13, [rdi + 104]
    mov r14, [rdi + 112]
    mov r15, [rdi + 120]
    mov rcx, [rdi + 128]
    mov r11, [rdi + 136]
    mov rsp, [rdi + 56]
    mov rdi, [rdi + 40]
    swapgs
    sysretq
1:  push {user_ds}
    push qword ptr [rdi + 56]
    push qword ptr [rdi + 136]
    push {user_cs}
    push qword ptr [rdi + 128]
    mov rax, [rdi + 0]
    mov rbx, [rdi + 8]
    mov rcx, [rdi + 16]
    mov rdx, [rdi + 24]
    mov rsi, [rdi + 32]
    mov rbp, [rdi + 48]
    mov r8, [rdi + 64]
    mov r9, [rdi + 72]
    mov r10, [rdi + 80]
    mov r11, [rdi + 88]
    mov r12, [rdi + 96]
    mov r13, [rdi + 104]
    mov r14, [rdi + 112]
    mov r15, [rdi + 120]
    mov rdi, [rdi + 40]
    swapgs
    iretq
    .size hal_user_enter, . - hal_user_enter

// The `syscall` instruction lands here: rcx = user rip, r11 = user rflags, rsp = user stack,
// interrupts masked by SFMASK.
    .global hal_syscall_entry
    .type hal_syscall_entry, @function
hal_syscall_entry:
    swapgs
    mov gs:[{user_rsp}], rsp
    mov rsp, gs:[{user_ctx}]
    mov [rsp + 0], rax
    mov [rsp + 8], rbx
    mov [rsp + 16], rcx
    mov [rsp + 24], rdx
    mov [rsp + 32], rsi
    mov [rsp + 40], rdi
    mov [rsp + 48], rbp
    mov rax, gs:[{user_rsp}]
    mov [rsp + 56], rax
    mov [rsp + 64], r8
    mov [rsp + 72], r9
    mov [rsp + 80], r10
    mov [rsp + 88], r11
    mov [rsp + 96], r12
    mov [rsp + 104], r13
    mov [rsp + 112], r14
    mov [rsp + 120], r15
    mov [rsp + 128], rcx
    mov [rsp + 136], r11
    mov qword ptr [rsp + 160], {vector_syscall}
    mov rsp, gs:[{kernel_rsp}]
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret
    .size hal_syscall_entry, . - hal_syscall_entry

// A trap from user mode (branch from hal_trap_common before anything is pushed): the stack holds
// vector, error code and the CPU's iret frame. Save everything into the context and return from
// hal_user_enter.
    .global hal_user_trap_exit
    .type hal_user_trap_exit, @function
hal_user_trap_exit:
    swapgs
    // An interrupt or exception keeps the user's DF and AC flags (only IF, TF, NT and RF are
    // cleared): the kernel must not run with them. With DF set, every rep movs/stos in the
    // kernel (memcpy, memset) ran backwards over the memory below its target; a fuzzer
    // worker whose forged rt_sigreturn frame set DF corrupted the heap and zeroed kernel
    // stacks that way. RFLAGS = 2 clears both (and keeps interrupts off, as they are here).
    push 2
    popfq
    push rax
    mov rax, gs:[{user_ctx}]
    mov [rax + 8], rbx
    mov [rax + 16], rcx
    mov [rax + 24], rdx
    mov [rax + 32], rsi
    mov [rax + 40], rdi
    mov [rax + 48], rbp
    mov [rax + 64], r8
    mov [rax + 72], r9
    mov [rax + 80], r10
    mov [rax + 88], r11
    mov [rax + 96], r12
    mov [rax + 104], r13
    mov [rax + 112], r14
    mov [rax + 120], r15
    pop qword ptr [rax + 0]
    pop qword ptr [rax + 160]
    pop qword ptr [rax + 168]
    pop qword ptr [rax + 128]
    add rsp, 8
    pop qword ptr [rax + 136]
    pop qword ptr [rax + 56]
    mov rbx, cr2
    mov [rax + 176], rbx
    mov rsp, gs:[{kernel_rsp}]
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret
    .size hal_user_trap_exit, . - hal_user_trap_exit
"#,
    kernel_rsp = const OFF_KERNEL_RSP,
    user_ctx = const OFF_USER_CTX,
    user_rsp = const OFF_USER_RSP,
    tss_rsp0 = const OFF_TSS_RSP0,
    user_ds = const USER_DS as u64,
    user_cs = const USER_CS as u64,
    vector_syscall = const VECTOR_SYSCALL,
);

unsafe extern "C" {
    fn hal_user_enter(ctx: *mut u8);
    fn hal_syscall_entry();
}

const MSR_STAR: u32 = 0xC000_0081;
const MSR_LSTAR: u32 = 0xC000_0082;
const MSR_SFMASK: u32 = 0xC000_0084;
const MSR_FS_BASE: u32 = 0xC000_0100;

/// Program `syscall` for this CPU (and, on the boot CPU, the FPU policy).
pub(crate) fn init_this_cpu() {
    if cpu::current().is_none_or(|c| c.index == 0) {
        init_fpu();
        SMAP.store(arch::read_cr4() & (1 << 21) != 0, Ordering::Relaxed);
    }
    arch::wrmsr(arch::MSR_EFER, arch::rdmsr(arch::MSR_EFER) | 1); // SCE
    // sysret would load CS from STAR[63:48] + 16 and SS from + 8; syscall loads the kernel's.
    arch::wrmsr(
        MSR_STAR,
        ((u64::from(USER_DS) - 8 - 3) << 48) | (u64::from(KERNEL_CS) << 32),
    );
    arch::wrmsr(MSR_LSTAR, hal_syscall_entry as *const () as u64);
    // Mask TF, IF, DF, IOPL, NT, AC on entry.
    arch::wrmsr(MSR_SFMASK, 0x47700);
}

/// User-controllable RFLAGS bits: CF, PF, AF, ZF, SF, TF, DF, OF, AC, ID (never IF/IOPL/NT/VM).
const USER_FLAGS: u64 =
    0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x4_0000 | 0x20_0000;

impl UserContext {
    /// A context that will start at `rip` with stack `rsp`, all other registers zero.
    pub fn new(rip: u64, rsp: u64) -> Option<UserContext> {
        Some(UserContext {
            rax: 0,
            rbx: 0,
            rcx: 0,
            rdx: 0,
            rsi: 0,
            rdi: 0,
            rbp: 0,
            rsp,
            r8: 0,
            r9: 0,
            r10: 0,
            r11: 0,
            r12: 0,
            r13: 0,
            r14: 0,
            r15: 0,
            rip,
            rflags: 0x202,
            fs_base: 0,
            gs_base: 0,
            vector: 0,
            error_code: 0,
            cr2: 0,
            fpu: FpuArea::new()?,
            fpu_id: NEXT_FPU_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// A copy for a child (fork/clone): same registers and FPU state, its own identity.
    pub fn try_clone(&self) -> Option<UserContext> {
        self.save_fpu();
        let mut child = UserContext::new(0, 0)?;
        child.fpu.copy_from(&self.fpu);
        *child.regs_mut() = *self.regs_only();
        Some(child)
    }

    fn regs_only(&self) -> &UserContextRegs {
        // SAFETY: UserContextRegs is a prefix of UserContext's repr(C) layout.
        unsafe { &*(self as *const UserContext as *const UserContextRegs) }
    }

    /// Fresh registers and FPU state for `execve`.
    pub fn reset(&mut self, rip: u64, rsp: u64) {
        let fpu_id = self.fpu_id;
        *self.regs_mut() = UserContextRegs {
            rsp,
            rip,
            rflags: 0x202,
            ..UserContextRegs::default()
        };
        self.fpu.reset();
        if let Some(c) = cpu::current()
            && c.fpu_live() == fpu_id
        {
            c.set_fpu_live(0, 0); // registers no longer match the area
        }
    }

    fn regs_mut(&mut self) -> &mut UserContextRegs {
        // SAFETY: as for `regs_only`.
        unsafe { &mut *(self as *mut UserContext as *mut UserContextRegs) }
    }

    /// If this context's FPU state is live in this CPU's registers, write it to its area.
    /// Call before switching to another thread and before copying the context.
    pub fn save_fpu(&self) {
        if let Some(c) = cpu::current()
            && c.fpu_live() == self.fpu_id
        {
            self.fpu.save();
        }
    }

    /// Raw FPU state bytes (for signal frames and tests).
    pub fn fpu_bytes(&self) -> &[u8] {
        self.save_fpu();
        // SAFETY: the area is live and `layout.size()` bytes long.
        unsafe { core::slice::from_raw_parts(self.fpu.ptr, self.fpu.layout.size()) }
    }

    /// Replace the FPU state with `data` (from a signal frame, so untrusted): the bytes are
    /// taken only if the restore instruction cannot fault on them — MXCSR without reserved
    /// bits, and for XSAVE a standard-format header naming only enabled components. Returns
    /// whether they were taken.
    pub fn set_fpu_bytes(&mut self, data: &[u8]) -> bool {
        let size = self.fpu.layout.size();
        let xsave = XSAVE.load(Ordering::Relaxed);
        let need = if xsave { size.min(576) } else { 512 };
        if data.len() < need {
            return false;
        }
        let word = |o: usize| u32::from_le_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]]);
        let quad = |o: usize| u64::from(word(o)) | (u64::from(word(o + 4)) << 32);
        let mxcsr = word(24);
        // The mask the CPU reports (in our own saved image); 0 means the architectural 0xFFBF.
        let own = self.fpu_bytes();
        let mut mask = u32::from_le_bytes([own[28], own[29], own[30], own[31]]);
        if mask == 0 {
            mask = 0xFFBF;
        }
        if mxcsr & !mask != 0 {
            return false;
        }
        let n = if xsave {
            let xstate_bv = quad(512);
            let xcomp_bv = quad(520);
            if xstate_bv & !XCR0.load(Ordering::Relaxed) != 0
                || xcomp_bv != 0
                || data[528..576].iter().any(|&b| b != 0)
            {
                return false;
            }
            size.min(data.len())
        } else {
            512
        };
        // SAFETY: the area is live, owned by this context and at least `n` bytes long.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), self.fpu.ptr, n) };
        if let Some(c) = cpu::current()
            && c.fpu_live() == self.fpu_id
        {
            c.set_fpu_live(0, 0); // the registers are stale now: restore from the area
        }
        true
    }

    /// Run user code until it leaves user mode. Interrupts are off when this returns.
    pub fn run(&mut self) -> Exit {
        arch::disable_interrupts();
        let Some(c) = cpu::current() else {
            return Exit::Exception {
                vector: 13,
                error_code: 0,
                cr2: 0,
            };
        };
        if self.rip >= USER_END || self.rsp > USER_END {
            // iretq to a non-canonical address would fault in kernel mode: report it instead.
            return Exit::Exception {
                vector: 13,
                error_code: 0,
                cr2: 0,
            };
        }
        self.rflags = (self.rflags & USER_FLAGS) | 0x202;
        if c.fpu_live() != self.fpu_id {
            save_live_fpu(c);
            self.fpu.restore();
            c.set_fpu_live(self.fpu_id, self.fpu.ptr as u64);
        }
        arch::wrmsr(MSR_FS_BASE, self.fs_base);
        arch::wrmsr(arch::MSR_KERNEL_GS_BASE, self.gs_base);
        // SAFETY: the context is live for the duration of the call; the entry code saves user
        // registers into it and returns here on the same kernel stack with GS swapped back.
        unsafe { hal_user_enter(self as *mut UserContext as *mut u8) };
        match self.vector {
            VECTOR_SYSCALL => Exit::Syscall,
            v if v < 32 => Exit::Exception {
                vector: v as u8,
                error_code: self.error_code,
                cr2: self.cr2,
            },
            v => Exit::Interrupt(v as u8),
        }
    }
}

impl Drop for UserContext {
    fn drop(&mut self) {
        if let Some(c) = cpu::current()
            && c.fpu_live() == self.fpu_id
        {
            c.set_fpu_live(0, 0);
        }
    }
}

/// Save the user FPU state that is live in this CPU's registers into its owner's area (the
/// context switch calls this: the next thread's user code will load its own state).
pub(crate) fn save_live_fpu(c: &cpu::PerCpu) {
    if c.fpu_live() == 0 {
        return;
    }
    let area = c.fpu_live_area.load(Ordering::Relaxed);
    if area != 0 {
        save_fpu_to(area as *mut u8);
    }
    c.set_fpu_live(0, 0);
}

/// The register part of `UserContext` (a repr(C) prefix), for bulk copies.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct UserContextRegs {
    rax: u64,
    rbx: u64,
    rcx: u64,
    rdx: u64,
    rsi: u64,
    rdi: u64,
    rbp: u64,
    rsp: u64,
    r8: u64,
    r9: u64,
    r10: u64,
    r11: u64,
    r12: u64,
    r13: u64,
    r14: u64,
    r15: u64,
    rip: u64,
    rflags: u64,
    fs_base: u64,
    gs_base: u64,
    vector: u64,
    error_code: u64,
    cr2: u64,
}

// ---------------------------------------------------------------------------------------------
// Copies between kernel and user memory

/// A user address range was not accessible: the first address that faulted (0 if the range
/// itself was invalid) and whether the access was a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub addr: u64,
    pub write: bool,
    /// The range is not a user range at all (no fault handling can fix it).
    pub bad_range: bool,
}

fn user_range(addr: u64, len: usize, write: bool) -> Result<(), Fault> {
    match addr.checked_add(len as u64) {
        Some(end) if end <= USER_END => Ok(()),
        _ => Err(Fault {
            addr,
            write,
            bad_range: true,
        }),
    }
}

fn fault(info: crate::mem::probe::FaultInfo, write: bool) -> Fault {
    Fault {
        addr: info.addr,
        write,
        bad_range: info.vector() != 14,
    }
}

fn with_user_access<R>(f: impl FnOnce() -> R) -> R {
    let smap = SMAP.load(Ordering::Relaxed);
    if smap {
        // SAFETY: STAC only permits supervisor access to user pages until the CLAC below.
        unsafe { asm!("stac", options(nomem, nostack)) };
    }
    let r = f();
    if smap {
        // SAFETY: restores SMAP protection.
        unsafe { asm!("clac", options(nomem, nostack)) };
    }
    r
}

/// Copy from user memory of the current address space into `dst`.
pub fn copy_from_user(dst: &mut [u8], src: u64) -> Result<(), Fault> {
    user_range(src, dst.len(), false)?;
    with_user_access(|| crate::mem::probe::copy_from(src, dst)).map_err(|i| fault(i, false))
}

/// Copy `src` into user memory of the current address space.
pub fn copy_to_user(dst: u64, src: &[u8]) -> Result<(), Fault> {
    user_range(dst, src.len(), true)?;
    with_user_access(|| crate::mem::probe::copy_to(dst, src)).map_err(|i| fault(i, true))
}

/// Read a NUL-terminated string of at most `max` bytes (without the NUL) from user memory.
/// Err(None) on a fault, Err(Some(())) if no NUL within `max` bytes.
pub fn read_user_cstr(addr: u64, max: usize) -> Result<alloc::vec::Vec<u8>, Option<()>> {
    let mut out = alloc::vec::Vec::new();
    let mut at = addr;
    let mut chunk = [0u8; 256];
    loop {
        // Never cross a page boundary in one copy: the next page may be unmapped.
        let to_page_end = (4096 - (at % 4096)) as usize;
        let n = chunk.len().min(to_page_end);
        copy_from_user(&mut chunk[..n], at).map_err(|_| None)?;
        if let Some(pos) = chunk[..n].iter().position(|&b| b == 0) {
            if out.len() + pos > max {
                return Err(Some(()));
            }
            out.extend_from_slice(&chunk[..pos]);
            return Ok(out);
        }
        if out.len() + n > max {
            return Err(Some(()));
        }
        out.extend_from_slice(&chunk[..n]);
        at += n as u64;
    }
}
