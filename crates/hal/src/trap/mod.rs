//! Interrupts and exceptions: the IDT, the saved-register frame, dispatch to the exception
//! table, to registered IRQ handlers, or to the fatal-exception report.

pub mod entry;
pub mod gdt;
pub mod idt;
pub mod report;

use crate::sync::SpinLock;
use crate::{apic, arch};

/// Registers saved on entry, in the order `entry.rs` pushes them (lowest address first).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

impl TrapFrame {
    pub fn from_user(&self) -> bool {
        self.cs & 3 == 3
    }
}

pub const VEC_TIMER: u8 = 0x20;
pub const VEC_SERIAL: u8 = 0x24;
pub const VEC_SPURIOUS: u8 = 0xFF;

type Handler = fn(&mut TrapFrame);

static IRQ_HANDLERS: SpinLock<[Option<Handler>; 256]> = SpinLock::new([None; 256]);

/// Run `handler` (with interrupts off) whenever `vector` arrives.
pub fn register_irq(vector: u8, handler: Handler) {
    IRQ_HANDLERS.lock()[vector as usize] = Some(handler);
}

/// A hook for exceptions the HAL does not resolve itself (user faults, later); returns true if
/// it handled the exception.
pub type ExceptionHook = fn(&mut TrapFrame) -> bool;

static EXCEPTION_HOOK: SpinLock<Option<ExceptionHook>> = SpinLock::new(None);

pub fn set_exception_hook(hook: ExceptionHook) {
    *EXCEPTION_HOOK.lock() = Some(hook);
}

#[unsafe(no_mangle)]
extern "C" fn hal_trap_dispatch(frame: &mut TrapFrame) {
    let vector = frame.vector as u8;
    match vector {
        0..=31 => exception(frame),
        VEC_SPURIOUS => {}
        // Spurious interrupts of the (masked, remapped) legacy PIC: no EOI.
        0x27 | 0x2F if !apic::in_service(vector) => {}
        _ => irq(vector, frame),
    }
}

fn irq(vector: u8, frame: &mut TrapFrame) {
    apic::eoi();
    let handler = IRQ_HANDLERS.lock()[vector as usize];
    match handler {
        Some(h) => h(frame),
        None => log::warn!("unexpected interrupt vector {vector:#x}"),
    }
}

/// An interrupt taken in user mode (reported by `UserContext::run`): same handling, with an
/// empty frame (handlers that need user registers read the context instead).
pub fn dispatch_irq(vector: u8) {
    match vector {
        VEC_SPURIOUS => {}
        0x27 | 0x2F if !apic::in_service(vector) => {}
        v if v >= 32 => irq(
            v,
            &mut TrapFrame {
                vector: u64::from(v),
                cs: 0x2b,
                ..TrapFrame::default()
            },
        ),
        _ => {}
    }
}

fn exception(frame: &mut TrapFrame) {
    let vector = frame.vector as u8;
    // CR2 still holds the address of the page fault that escalated into a double fault.
    let cr2 = if vector == 14 || vector == 8 {
        arch::read_cr2()
    } else {
        0
    };
    if (vector == 14 || vector == 13)
        && !frame.from_user()
        && let Some(fixup) = crate::mem::probe::fixup_for(frame.rip)
    {
        // Contract with `mem::probe`: rdx = vector:error code, rax = faulting address.
        frame.rdx = (u64::from(vector) << 32) | (frame.error_code & 0xffff_ffff);
        frame.rax = cr2;
        frame.rip = fixup;
        return;
    }
    let hook = *EXCEPTION_HOOK.lock();
    if let Some(h) = hook
        && h(frame)
    {
        return;
    }
    report::fatal(frame, cr2);
}

/// Whether interrupts may be enabled (the IDT is loaded).
pub fn is_ready() -> bool {
    idt::is_loaded()
}
