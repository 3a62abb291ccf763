//! ELF64 executable parsing and load planning for Tine's `execve`.
//!
//! [`parse`] validates an x86-64 little-endian ELF executable (`ET_EXEC`, or
//! `ET_DYN` for static PIE and interpreters) and returns an [`Executable`]: the
//! `PT_LOAD` segments, entry point, program-header location, `PT_INTERP`,
//! `PT_TLS` and `PT_GNU_STACK` information. [`Executable::load_bias`] chooses
//! where a position-independent image goes and [`Executable::map_steps`] turns
//! the segments into page-granular mapping steps for the kernel.
//!
//! The file comes from user space and is untrusted: every read is bounds
//! checked, all arithmetic is checked, and malformed input produces an
//! [`ElfError`], never a panic.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;

mod parse;
mod plan;
mod read;

pub use parse::{parse, parse_head};
pub use plan::MapStep;

/// Page size used for all alignment decisions.
pub const PAGE_SIZE: u64 = 4096;

/// Highest user address + 1, page aligned (Linux `TASK_SIZE` rounded down).
pub const USER_TOP: u64 = 0x0000_7fff_ffff_f000;

/// Largest span (lowest to highest page) a position-independent image may have.
pub const MAX_DYN_SPAN: u64 = 1 << 40;

/// Most program headers accepted (Linux allows 64 KiB of them; we allow 512).
pub const MAX_PHNUM: u16 = 512;

/// Longest `PT_INTERP` segment accepted, including its NUL (Linux `PATH_MAX`).
pub const MAX_INTERP_LEN: u64 = 4096;

/// `errno` value for "exec format error".
pub const ENOEXEC: i32 = 8;

/// Object file type of the executable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `ET_EXEC`: loaded at its link-time addresses.
    Exec,
    /// `ET_DYN`: position independent, loaded at a chosen bias.
    Dyn,
}

/// Memory protection of a segment, from its `p_flags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prot {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

/// One validated segment (a `PT_LOAD`, or the `PT_TLS` template).
///
/// Addresses are the unbiased addresses from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
    pub filesz: u64,
    pub prot: Prot,
    /// `p_align` exactly as found in the file (not validated for `PT_LOAD`).
    pub align: u64,
}

/// A validated executable image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executable {
    pub kind: Kind,
    /// Entry point (unbiased for [`Kind::Dyn`]).
    pub entry: u64,
    /// `PT_LOAD` segments with non-zero `memsz`, in file order, which is
    /// ascending `vaddr` order with no two byte ranges intersecting.
    pub segments: Vec<Segment>,
    pub phoff: u64,
    pub phentsize: u16,
    pub phnum: u16,
    /// Address of the program headers in memory (unbiased): `PT_PHDR`'s
    /// `p_vaddr` if present, else computed from the `PT_LOAD` whose file range
    /// contains the whole table; `None` if the table is not loaded.
    pub phdr_vaddr: Option<u64>,
    /// File offset and length of the `PT_INTERP` path, excluding the NUL.
    pub interp: Option<(u64, u64)>,
    /// The `PT_TLS` template, if any.
    pub tls: Option<Segment>,
    /// `PT_GNU_STACK` requested an executable stack (default `false`).
    pub stack_exec: bool,
    /// Lowest `PT_LOAD` vaddr rounded down to a page.
    pub min_vaddr: u64,
    /// Highest `PT_LOAD` `vaddr + memsz` rounded up to a page.
    pub max_vaddr: u64,
}

/// Why an image was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfError {
    /// Shorter than the 64-byte ELF header.
    TooShort,
    /// Does not start with `\x7fELF`.
    BadMagic,
    /// `EI_CLASS` is not `ELFCLASS64`.
    NotElf64,
    /// `EI_DATA` is not `ELFDATA2LSB`.
    NotLittleEndian,
    /// `EI_VERSION` is not 1.
    BadVersion,
    /// `e_machine` is not x86-64.
    WrongMachine,
    /// `e_type` is neither `ET_EXEC` nor `ET_DYN`.
    NotExecutable,
    /// Program header size, count or offset is invalid, or `PT_PHDR` repeats.
    BadPhdrs,
    /// No `PT_LOAD` segment with non-zero `memsz`.
    NoLoadSegments,
    /// A segment is malformed: `filesz > memsz`, file range outside the file,
    /// arithmetic overflow, `vaddr`/`offset` not congruent modulo the page
    /// size, `PT_LOAD`s not in ascending order, bad or repeated `PT_TLS`.
    BadSegment,
    /// Two `PT_LOAD` byte ranges intersect.
    Overlap,
    /// `ET_EXEC` reaches beyond [`USER_TOP`], or an `ET_DYN` spans more than
    /// [`MAX_DYN_SPAN`].
    TooBig,
    /// `PT_INTERP` is not NUL-terminated, empty, too long, outside the file,
    /// or repeated.
    BadInterp,
    /// The entry point is not inside an executable `PT_LOAD`.
    BadEntry,
}

impl ElfError {
    /// The `errno` `execve` should return for this error.
    ///
    /// Every variant is currently `ENOEXEC`; the hook exists so that
    /// individual cases can diverge later (Linux returns e.g. `EINVAL` or
    /// `ENOMEM` for some of them).
    pub fn errno(&self) -> i32 {
        match self {
            ElfError::TooShort
            | ElfError::BadMagic
            | ElfError::NotElf64
            | ElfError::NotLittleEndian
            | ElfError::BadVersion
            | ElfError::WrongMachine
            | ElfError::NotExecutable
            | ElfError::BadPhdrs
            | ElfError::NoLoadSegments
            | ElfError::BadSegment
            | ElfError::Overlap
            | ElfError::TooBig
            | ElfError::BadInterp
            | ElfError::BadEntry => ENOEXEC,
        }
    }
}

impl core::fmt::Display for ElfError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = match self {
            ElfError::TooShort => "file shorter than the ELF header",
            ElfError::BadMagic => "bad ELF magic",
            ElfError::NotElf64 => "not a 64-bit ELF file",
            ElfError::NotLittleEndian => "not a little-endian ELF file",
            ElfError::BadVersion => "bad ELF version",
            ElfError::WrongMachine => "not an x86-64 ELF file",
            ElfError::NotExecutable => "not an executable ELF file",
            ElfError::BadPhdrs => "bad program headers",
            ElfError::NoLoadSegments => "no loadable segments",
            ElfError::BadSegment => "bad segment",
            ElfError::Overlap => "overlapping segments",
            ElfError::TooBig => "image too big for the user address space",
            ElfError::BadInterp => "bad PT_INTERP",
            ElfError::BadEntry => "entry point outside executable code",
        };
        f.write_str(s)
    }
}
