//! The report printed for an exception nobody handled: what happened, where, every register,
//! CR2 and the error code decoded, and a symbolized backtrace; then the kernel panics.

use core::fmt::Write;

use super::TrapFrame;
use crate::{arch, backtrace, console, mem};

pub fn exception_name(vector: u8) -> &'static str {
    match vector {
        0 => "divide error (#DE)",
        1 => "debug (#DB)",
        2 => "non-maskable interrupt (NMI)",
        3 => "breakpoint (#BP)",
        4 => "overflow (#OF)",
        5 => "bound range exceeded (#BR)",
        6 => "invalid opcode (#UD)",
        7 => "device not available (#NM)",
        8 => "double fault (#DF)",
        10 => "invalid TSS (#TS)",
        11 => "segment not present (#NP)",
        12 => "stack-segment fault (#SS)",
        13 => "general protection fault (#GP)",
        14 => "page fault (#PF)",
        16 => "x87 floating-point error (#MF)",
        17 => "alignment check (#AC)",
        18 => "machine check (#MC)",
        19 => "SIMD floating-point exception (#XM)",
        20 => "virtualization exception (#VE)",
        21 => "control protection exception (#CP)",
        _ => "reserved exception",
    }
}

/// Page-fault error code in words.
fn describe_pf(code: u64, out: &mut impl Write) {
    let _ = write!(
        out,
        "{} {} in {} mode{}{}",
        if code & 1 != 0 {
            "protection violation on"
        } else {
            "not-present page on"
        },
        if code & 0x10 != 0 {
            "instruction fetch"
        } else if code & 2 != 0 {
            "write"
        } else {
            "read"
        },
        if code & 4 != 0 { "user" } else { "kernel" },
        if code & 8 != 0 {
            ", reserved bit set"
        } else {
            ""
        },
        if code & 0x20 != 0 {
            ", protection key"
        } else {
            ""
        },
    );
}

/// Write the full report for `frame` to `out`.
pub fn write_report(frame: &TrapFrame, cr2: u64, out: &mut impl Write) {
    let vector = frame.vector as u8;
    let _ = writeln!(
        out,
        "EXCEPTION: {} (vector {vector}) in {} mode",
        exception_name(vector),
        if frame.from_user() { "user" } else { "kernel" }
    );
    let _ = write!(out, "  error code: {:#x}", frame.error_code);
    if vector == 14 {
        let _ = write!(out, " (");
        describe_pf(frame.error_code, out);
        let _ = write!(out, ")");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  CR2={cr2:#018x} CR3={:#018x} CR0={:#x} CR4={:#x}",
        arch::read_cr3(),
        arch::read_cr0(),
        arch::read_cr4()
    );
    if vector == 14 || vector == 8 {
        if mem::stack::is_guard_address(cr2) {
            let _ = writeln!(
                out,
                "  CR2 is in a kernel stack guard page: kernel stack overflow"
            );
        } else if cr2 < 4096 {
            let _ = writeln!(out, "  CR2 is in the first page: null pointer dereference");
        }
    }
    let f = frame;
    let _ = writeln!(
        out,
        "  RIP={:#018x} CS={:#x} RFLAGS={:#x} RSP={:#018x} SS={:#x}",
        f.rip, f.cs, f.rflags, f.rsp, f.ss
    );
    let _ = writeln!(
        out,
        "  RAX={:#018x} RBX={:#018x} RCX={:#018x} RDX={:#018x}",
        f.rax, f.rbx, f.rcx, f.rdx
    );
    let _ = writeln!(
        out,
        "  RSI={:#018x} RDI={:#018x} RBP={:#018x} R8 ={:#018x}",
        f.rsi, f.rdi, f.rbp, f.r8
    );
    let _ = writeln!(
        out,
        "  R9 ={:#018x} R10={:#018x} R11={:#018x} R12={:#018x}",
        f.r9, f.r10, f.r11, f.r12
    );
    let _ = writeln!(
        out,
        "  R13={:#018x} R14={:#018x} R15={:#018x}",
        f.r13, f.r14, f.r15
    );
    if !frame.from_user() {
        let _ = writeln!(out, "  backtrace:");
        backtrace::write(frame.rip, frame.rbp, out);
    }
}

/// Print the report and panic.
pub fn fatal(frame: &TrapFrame, cr2: u64) -> ! {
    {
        let mut con = console::Console::for_panic();
        write_report(frame, cr2, &mut con);
    }
    panic!(
        "unhandled {} at {:#x}",
        exception_name(frame.vector as u8),
        frame.rip
    );
}
