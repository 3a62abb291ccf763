//! Tine's hardware-abstraction layer: the only crate with `unsafe` code. It boots the machine,
//! owns the CPU tables, page tables, physical frames, heap, interrupt controllers, timers,
//! serial port and power control, and exports safe interfaces to the rest of the kernel.
//! Every `unsafe` block states the invariant it relies on in a `// SAFETY:` comment.

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod apic;
pub mod arch;
pub mod backtrace;
pub mod boot;
pub mod console;
pub mod context;
pub mod cpu;
pub mod ktest;
pub mod mem;
pub mod power;
pub mod rtc;
pub mod serial;
pub mod sync;
pub mod time;
pub mod trap;
pub mod user;

#[cfg(feature = "ktest")]
mod tests;

pub use boot::BootInfo;
