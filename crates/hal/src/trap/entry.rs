//! Entry and exit paths for every vector: the generated stubs (build.rs) push an error code and
//! the vector. Traps from user mode leave through `hal_user_trap_exit` (see `user.rs`): they end
//! `UserContext::run`. Traps from kernel mode are handled in place: `hal_trap_common` saves the
//! general registers as a `TrapFrame`, calls `hal_trap_dispatch` and returns with `iretq`.

use core::arch::global_asm;

global_asm!(include_str!(concat!(env!("OUT_DIR"), "/trap_stubs.s")));

global_asm!(
    r#"
    .section .text.hal_trap_common, "ax"
    .global hal_trap_common
    .type hal_trap_common, @function
hal_trap_common:
    test qword ptr [rsp + 24], 3
    jnz hal_user_trap_exit
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    cld
    call hal_trap_dispatch
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16
    iretq
    .size hal_trap_common, . - hal_trap_common
"#
);

unsafe extern "C" {
    static hal_trap_table: [u64; 256];
}

/// Address of the entry stub for `vector`.
pub fn stub_address(vector: u8) -> u64 {
    // SAFETY: `hal_trap_table` is a read-only array of 256 addresses emitted by build.rs.
    unsafe { hal_trap_table[vector as usize] }
}
