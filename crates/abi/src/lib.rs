//! The Linux x86-64 user-space ABI as plain data and pure functions, for Tine's system-call layer.
//!
//! Nothing here touches hardware or user memory: the crate only knows numbers and byte layouts,
//! so all of it is tested on the host, cross-checked against the host's `libc`.
//!
//! - [`errno`]: error numbers ([`Errno`]) and the `-errno` return encoding.
//! - [`sysno`]: system-call numbers and their strace names.
//! - [`wait`]: wait-status encoding/decoding and the `wait4`/`waitid` constants.
//! - [`auxv`]: ELF auxiliary-vector keys.
//! - [`stack`]: the initial user stack that `execve` builds (argc, argv, envp, auxv, strings).
//! - [`layout`]: byte encoders for the structs the kernel copies to and from user space, and the
//!   resource limits Linux gives `init`.
//!
//! No function panics on any input; fallible operations return [`Errno`].

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod auxv;
pub mod errno;
pub mod layout;
pub mod stack;
pub mod sysno;
pub mod wait;

pub use errno::Errno;
