//! ACPI table discovery and parsing for Tine.
//!
//! Walks the RSDP -> RSDT/XSDT chain and decodes the tables the kernel
//! needs at boot: the MADT (CPUs, I/O APICs, interrupt overrides, NMIs) and
//! the FADT (power-management registers, reset register, DSDT address), plus
//! a minimal scan of the DSDT's AML for the `_S5_` soft-off sleep types.
//!
//! Everything read from firmware is treated as untrusted: every read goes
//! through [`PhysMem`], every table's checksum is verified, table lengths are
//! bounded by [`MAX_TABLE_LEN`], and malformed data produces an error or
//! `None`, never a panic. The crate does not allocate.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

mod aml;
mod fadt;
mod fixedvec;
mod madt;
mod sdt;
mod tables;

#[cfg(test)]
mod tests;

pub use fadt::{Fadt, Gas};
pub use fixedvec::FixedVec;
pub use madt::{IoApic, IrqOverride, LapicNmi, LocalApic, Madt};
pub use sdt::{MAX_TABLE_LEN, SDT_HEADER_LEN, SdtHeader};
pub use tables::{MAX_ENTRIES, Tables};

/// Access to physical memory, implemented by the kernel.
pub trait PhysMem {
    /// Copy `buf.len()` bytes from physical address `paddr`; false if not readable.
    fn read(&self, paddr: u64, buf: &mut [u8]) -> bool;
}

/// Why an ACPI structure could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AcpiError {
    /// The RSDP (or the root table it points to) is not what it claims to be.
    BadRsdp,
    /// A checksum did not sum to zero.
    BadChecksum,
    /// Physical memory could not be read.
    Unreadable,
    /// No table with the requested signature exists.
    NotFound,
    /// A table is shorter than its fixed part.
    Truncated,
    /// A table claims to be longer than [`MAX_TABLE_LEN`].
    TooLarge,
}

impl core::fmt::Display for AcpiError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = match self {
            AcpiError::BadRsdp => "invalid RSDP or root table",
            AcpiError::BadChecksum => "bad ACPI checksum",
            AcpiError::Unreadable => "ACPI memory not readable",
            AcpiError::NotFound => "ACPI table not found",
            AcpiError::Truncated => "ACPI table truncated",
            AcpiError::TooLarge => "ACPI table too large",
        };
        f.write_str(s)
    }
}
