//! Generates the 256 interrupt entry stubs: each pushes a dummy error code when the CPU does
//! not push one, pushes its vector number and jumps to the common entry in `trap/entry.rs`.

use std::fmt::Write;

/// Vectors for which the CPU pushes an error code.
const HAS_ERROR_CODE: [u32; 10] = [8, 10, 11, 12, 13, 14, 17, 21, 29, 30];

fn main() {
    let mut s = String::new();
    s.push_str("    .section .text.hal_trap_stubs, \"ax\"\n");
    for v in 0..256u32 {
        writeln!(s, "    .balign 16\nhal_trap_stub_{v}:").unwrap();
        if !HAS_ERROR_CODE.contains(&v) {
            s.push_str("    push 0\n");
        }
        writeln!(s, "    push {v}\n    jmp hal_trap_common").unwrap();
    }
    s.push_str("    .section .rodata.hal_trap_table, \"a\"\n    .balign 8\n    .global hal_trap_table\nhal_trap_table:\n");
    for v in 0..256u32 {
        writeln!(s, "    .quad hal_trap_stub_{v}").unwrap();
    }
    let out = std::env::var("OUT_DIR").unwrap();
    std::fs::write(format!("{out}/trap_stubs.s"), s).unwrap();
    println!("cargo:rerun-if-changed=build.rs");
}
