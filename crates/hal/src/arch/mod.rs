//! x86-64 CPU access: port I/O, model-specific and control registers, CPUID, the time-stamp
//! counter, and interrupt-flag control. Every instruction that needs `unsafe` is wrapped here
//! once, with the invariant it relies on.

use core::arch::asm;

pub mod cpuid;

/// Write a byte to an I/O port.
pub fn outb(port: u16, value: u8) {
    // SAFETY: port I/O has no memory-safety effect on Rust state; callers choose ports of devices
    // the HAL owns (serial, PIT, PIC, ACPI PM block, debug exit).
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    }
}

/// Read a byte from an I/O port.
pub fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: as for `outb`.
    unsafe {
        asm!("in al, dx", out("al") value, in("dx") port, options(nomem, nostack, preserves_flags))
    }
    value
}

/// Write a 16-bit word to an I/O port.
pub fn outw(port: u16, value: u16) {
    // SAFETY: as for `outb`.
    unsafe {
        asm!("out dx, ax", in("dx") port, in("ax") value, options(nomem, nostack, preserves_flags))
    }
}

/// Write a 32-bit word to an I/O port.
pub fn outl(port: u16, value: u32) {
    // SAFETY: as for `outb`.
    unsafe {
        asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags))
    }
}

/// Read a model-specific register.
pub fn rdmsr(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: the HAL only names MSRs that exist on every x86-64 CPU or that it checked in CPUID.
    unsafe {
        asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Write a model-specific register.
pub fn wrmsr(msr: u32, value: u64) {
    // SAFETY: as for `rdmsr`; the HAL writes only values that keep the kernel's own state valid.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32,
             options(nostack, preserves_flags))
    }
}

pub const MSR_EFER: u32 = 0xC000_0080;
pub const MSR_APIC_BASE: u32 = 0x1B;
pub const MSR_GS_BASE: u32 = 0xC000_0101;
pub const MSR_KERNEL_GS_BASE: u32 = 0xC000_0102;
pub const MSR_PAT: u32 = 0x277;
pub const EFER_NXE: u64 = 1 << 11;

pub fn read_cr0() -> u64 {
    let v: u64;
    // SAFETY: reading a control register has no side effects.
    unsafe { asm!("mov {}, cr0", out(reg) v, options(nomem, nostack, preserves_flags)) }
    v
}
pub fn write_cr0(v: u64) {
    // SAFETY: callers only set protection bits (WP) on top of the boot value.
    unsafe { asm!("mov cr0, {}", in(reg) v, options(nostack, preserves_flags)) }
}
pub fn read_cr2() -> u64 {
    let v: u64;
    // SAFETY: reading CR2 has no side effects.
    unsafe { asm!("mov {}, cr2", out(reg) v, options(nomem, nostack, preserves_flags)) }
    v
}
pub fn read_cr3() -> u64 {
    let v: u64;
    // SAFETY: reading CR3 has no side effects.
    unsafe { asm!("mov {}, cr3", out(reg) v, options(nomem, nostack, preserves_flags)) }
    v
}
/// Switch to the page tables rooted at physical address `root`.
///
/// # Safety
/// `root` must be a valid PML4 that maps the running code, its stack and all kernel data.
pub unsafe fn write_cr3(root: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe { asm!("mov cr3, {}", in(reg) root, options(nostack, preserves_flags)) }
}
pub fn read_cr4() -> u64 {
    let v: u64;
    // SAFETY: reading a control register has no side effects.
    unsafe { asm!("mov {}, cr4", out(reg) v, options(nomem, nostack, preserves_flags)) }
    v
}
pub fn write_cr4(v: u64) {
    // SAFETY: callers only enable features that CPUID reported (PGE, SMEP, SMAP, OSFXSR, ...).
    unsafe { asm!("mov cr4, {}", in(reg) v, options(nostack, preserves_flags)) }
}

/// Invalidate the TLB entry for one virtual address on this CPU.
pub fn invlpg(va: u64) {
    // SAFETY: invalidating a TLB entry never breaks memory safety (it only forces a re-walk).
    unsafe { asm!("invlpg [{}]", in(reg) va, options(nostack, preserves_flags)) }
}

pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: RDTSC only reads the time-stamp counter.
    unsafe { asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags)) }
    (u64::from(hi) << 32) | u64::from(lo)
}

pub fn rflags() -> u64 {
    let f: u64;
    // SAFETY: pushfq/pop only touch our own stack slot.
    unsafe { asm!("pushfq", "pop {}", out(reg) f, options(nomem, preserves_flags)) }
    f
}

pub fn interrupts_enabled() -> bool {
    rflags() & (1 << 9) != 0
}
pub fn enable_interrupts() {
    // SAFETY: the IDT is loaded before anyone enables interrupts (checked by `trap::is_ready`).
    unsafe { asm!("sti", options(nomem, nostack)) }
}
pub fn disable_interrupts() {
    // SAFETY: masking interrupts is always safe.
    unsafe { asm!("cli", options(nomem, nostack)) }
}
/// Atomically enable interrupts and wait for one (no wake-up can slip between the two).
pub fn enable_and_halt() {
    // SAFETY: `sti` takes effect after the next instruction, so an interrupt arriving between
    // the two still ends the `hlt`.
    unsafe { asm!("sti; hlt", options(nomem, nostack)) }
}
/// Halt until the next interrupt, leaving the interrupt flag as it is.
pub fn halt() {
    // SAFETY: `hlt` only waits.
    unsafe { asm!("hlt", options(nomem, nostack)) }
}
pub fn pause() {
    core::hint::spin_loop();
}

/// Run `f` with interrupts masked, restoring the previous state afterwards.
pub fn without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    let was = interrupts_enabled();
    disable_interrupts();
    let r = f();
    if was {
        enable_interrupts();
    }
    r
}

/// Stop this CPU for good.
pub fn halt_forever() -> ! {
    loop {
        disable_interrupts();
        halt();
    }
}

/// The frame pointer of the caller, for backtraces.
#[inline(always)]
pub fn frame_pointer() -> u64 {
    let rbp: u64;
    // SAFETY: reading RBP has no side effects.
    unsafe { asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack, preserves_flags)) }
    rbp
}

/// Deliberate faults for the kernel's self-tests (the equivalent of Linux's lkdtm).
pub mod debug {
    /// Read `addr` without the exception table: an unmapped address takes the fatal report path.
    pub fn touch_address(addr: u64) -> ! {
        // SAFETY: intentionally faults; the page-fault handler reports and panics, so the read
        // value is never used.
        let v = unsafe { core::ptr::read_volatile(addr as *const u64) };
        panic!("read of {addr:#x} did not fault (value {v:#x})")
    }
}

/// The address of the instruction after this call site (for backtraces).
#[inline(always)]
pub fn instruction_pointer() -> u64 {
    let rip: u64;
    // SAFETY: `lea` of RIP reads no memory.
    unsafe { asm!("lea {}, [rip]", out(reg) rip, options(nomem, nostack, preserves_flags)) }
    rip
}

/// 64 random bits: RDRAND when the CPU has it, otherwise a TSC-seeded xorshift (good enough for
/// address-space layout randomization and AT_RANDOM, not for cryptography).
pub fn random_u64() -> u64 {
    use core::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    if cpuid::cpuid(1, 0).ecx & (1 << 30) != 0 {
        for _ in 0..10 {
            let v: u64;
            let ok: u8;
            // SAFETY: RDRAND is present (CPUID.1:ECX[30]); it only writes the output registers.
            unsafe {
                asm!("rdrand {}", "setc {}", out(reg) v, out(reg_byte) ok, options(nomem, nostack))
            };
            if ok != 0 {
                return v;
            }
        }
    }
    let mut x = STATE.load(Ordering::Relaxed) ^ rdtsc().wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    x
}
