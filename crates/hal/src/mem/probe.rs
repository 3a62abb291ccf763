//! Copies that survive bad addresses. The copy instruction is listed in the exception table
//! (`.extable`: pairs of faulting-instruction and fix-up addresses); when it faults, the trap
//! handler resumes at the fix-up, which reports how much was left and why. This is the mechanism
//! behind user copies (`EFAULT`) and behind in-kernel tests that fault on purpose.

use core::arch::global_asm;

global_asm!(
    r#"
    .section .text.hal_copy_probe, "ax"
    .global hal_copy_probe
// rdi = dst, rsi = src, rdx = len, rcx = *mut FaultInfo; returns bytes not copied.
hal_copy_probe:
    mov r8, rcx
    mov rcx, rdx
1:  rep movsb
    xor eax, eax
    ret
2:  mov [r8], rdx
    mov [r8 + 8], rax
    mov rax, rcx
    ret
    .size hal_copy_probe, . - hal_copy_probe
    .pushsection .extable, "a"
    .balign 8
    .quad 1b, 2b
    .popsection
"#
);

unsafe extern "C" {
    fn hal_copy_probe(dst: *mut u8, src: *const u8, len: usize, info: *mut FaultInfo) -> usize;
}

/// Why a probed access failed: the vector (14 page fault, 13 general protection), the CPU's
/// error code, and the faulting address (CR2 for page faults).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct FaultInfo {
    pub code: u64,
    pub addr: u64,
}

impl FaultInfo {
    pub fn vector(&self) -> u8 {
        (self.code >> 32) as u8
    }
    pub fn error_code(&self) -> u32 {
        self.code as u32
    }
    /// Page-fault error bits: present (protection violation) / write / user / instruction fetch.
    pub fn was_present(&self) -> bool {
        self.error_code() & 1 != 0
    }
    pub fn was_write(&self) -> bool {
        self.error_code() & 2 != 0
    }
}

/// Read `buf.len()` bytes at kernel virtual address `src`.
pub fn copy_from(src: u64, buf: &mut [u8]) -> Result<(), FaultInfo> {
    let mut info = FaultInfo::default();
    // SAFETY: the destination is a live exclusive buffer; the source is only read, and every
    // fault on it is caught by the exception table and reported instead of dereferenced blindly.
    let left = unsafe { hal_copy_probe(buf.as_mut_ptr(), src as *const u8, buf.len(), &mut info) };
    if left == 0 { Ok(()) } else { Err(info) }
}

/// Write `data` at kernel virtual address `dst`, which must not overlap Rust-owned memory
/// unless the caller is deliberately probing (tests write to scratch mappings only).
#[cfg_attr(not(feature = "ktest"), allow(dead_code))] // user copies will use it too
pub(crate) fn copy_to(dst: u64, data: &[u8]) -> Result<(), FaultInfo> {
    let mut info = FaultInfo::default();
    // SAFETY: the source is a live buffer; faults on the destination are caught. The caller
    // guarantees the destination is scratch or user memory that no Rust reference covers.
    let left = unsafe { hal_copy_probe(dst as *mut u8, data.as_ptr(), data.len(), &mut info) };
    if left == 0 { Ok(()) } else { Err(info) }
}

/// Read one u64, tolerating faults (backtraces use this to walk frames safely).
pub fn read_u64(addr: u64) -> Result<u64, FaultInfo> {
    let mut b = [0u8; 8];
    copy_from(addr, &mut b)?;
    Ok(u64::from_le_bytes(b))
}

unsafe extern "C" {
    static __extable_start: [u64; 0];
    static __extable_end: [u64; 0];
}

/// The fix-up address for a faulting instruction, if it is one of ours.
pub(crate) fn fixup_for(rip: u64) -> Option<u64> {
    let start = core::ptr::addr_of!(__extable_start) as *const u64;
    let end = core::ptr::addr_of!(__extable_end) as *const u64;
    let n = (end as usize - start as usize) / 16;
    // SAFETY: the linker script brackets `.extable`, an array of (fault, fixup) u64 pairs that
    // is read-only for the kernel's lifetime.
    let table = unsafe { core::slice::from_raw_parts(start, n * 2) };
    table.chunks_exact(2).find(|p| p[0] == rip).map(|p| p[1])
}
