// Boot-time information parsing for Tine: the kernel command line, the PVH
// start-info structures handed over by QEMU/Xen, and a fixed-capacity set of
// physical memory ranges. Everything here works without a heap and never
// panics on malformed input; every parse returns a Result or Option.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::arithmetic_side_effects
    )
)]

pub mod cmdline;
pub mod memmap;
pub mod pvh;

pub use cmdline::Cmdline;
pub use memmap::{Full, RangeSet};
pub use pvh::{MemKind, MemMapEntry, Module, PvhError, StartInfo};
