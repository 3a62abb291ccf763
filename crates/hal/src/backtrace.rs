//! Kernel backtraces: walk the frame-pointer chain (the kernel is built with frame pointers),
//! reading each frame through the fault-tolerant probe so a corrupt chain ends the walk instead
//! of faulting, and name each return address from the symbol table that `cargo xtask build`
//! writes into the `.ksyms` section after linking.

use core::cell::UnsafeCell;
use core::fmt::Write;

use ksym::SymbolTable;

use crate::mem::probe;

/// Space reserved for the symbol table (xtask fails the build if it does not fit).
pub const KSYMS_SIZE: usize = 2 << 20;

#[repr(C, align(4096))]
struct Ksyms(UnsafeCell<[u8; KSYMS_SIZE]>);

// SAFETY: the bytes are written into the ELF file before boot and only read at run time.
unsafe impl Sync for Ksyms {}

#[unsafe(link_section = ".ksyms")]
#[used]
static KSYMS: Ksyms = Ksyms(UnsafeCell::new([1; KSYMS_SIZE]));

/// The kernel's symbol table, or None if the image was not post-processed.
pub fn symbols() -> Option<SymbolTable<'static>> {
    // SAFETY: nothing writes KSYMS at run time; the UnsafeCell only stops the compiler from
    // assuming the build-time contents (the file was patched after linking).
    let bytes: &'static [u8; KSYMS_SIZE] = unsafe { &*KSYMS.0.get() };
    SymbolTable::parse(bytes)
}

/// "name+0xoff" for an address, or "?".
pub fn write_symbol(addr: u64, out: &mut impl Write) {
    match symbols().and_then(|t| t.lookup(addr)) {
        Some((name, off)) => {
            let _ = write!(out, "{name}+{off:#x}");
        }
        None => {
            let _ = write!(out, "?");
        }
    }
}

const MAX_FRAMES: usize = 32;

/// Write a backtrace starting at `rip` with frame pointer `rbp`.
pub fn write(rip: u64, rbp: u64, out: &mut impl Write) {
    let _ = write!(out, "    #0  {rip:#018x} ");
    write_symbol(rip, out);
    let _ = writeln!(out);
    let mut fp = rbp;
    for i in 1..MAX_FRAMES {
        if fp == 0 || !fp.is_multiple_of(8) || fp < crate::mem::PHYS_MAP_BASE {
            break;
        }
        let (Ok(next), Ok(ret)) = (probe::read_u64(fp), probe::read_u64(fp + 8)) else {
            break;
        };
        if ret == 0 {
            break;
        }
        // The return address points after the call; look up the call itself.
        let _ = write!(out, "    #{i:<2} {ret:#018x} ");
        write_symbol(ret.wrapping_sub(1), out);
        let _ = writeln!(out);
        if next <= fp {
            break;
        }
        fp = next;
    }
}

/// Backtrace of the caller.
#[inline(never)]
pub fn write_current(out: &mut impl Write) {
    let rbp = crate::arch::frame_pointer();
    let rip = crate::arch::instruction_pointer();
    write(rip, rbp, out);
}
