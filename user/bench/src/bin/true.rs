//! `/bin/true` for the exec benchmarks: musl's start-up and `exit(0)`, nothing else (no Rust
//! runtime initialisation), so that the figures measure the kernel's fork/exec/exit/wait.

#![no_main]

#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    0
}
