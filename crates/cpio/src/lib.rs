// Linux-style initramfs parsing for Tine: newc cpio archives, optionally
// gzip-compressed, possibly several concatenated with NUL padding. The input
// is untrusted, so nothing here panics, indexes unchecked or overflows; every
// problem is reported as a `CpioError`.
//
// Typical use:
//
//     for piece in cpio::split_initramfs(image, limit)? {
//         for entry in cpio::read(piece.bytes()) { let entry = entry?; ... }
//     }
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

extern crate alloc;

mod crc32;
mod gzip;
mod initramfs;
mod newc;

pub use crc32::crc32;
pub use gzip::{GzipError, gunzip};
pub use initramfs::{Piece, split_initramfs};
pub use newc::{Entry, FileType, Reader, read};

/// Why an initramfs image or archive could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpioError {
    /// The data ends inside a header, name or file body, or an archive has
    /// no `TRAILER!!!`.
    Truncated,
    /// A header does not start with `070701`/`070702`, or an image piece is
    /// neither a cpio archive nor a gzip member.
    BadMagic,
    /// A header field is not 8 hex digits.
    BadHex,
    /// The name is empty, not NUL-terminated, contains a NUL, is not UTF-8
    /// or has a `..` component.
    BadName,
    /// The mode has no known file type.
    BadMode,
    /// A gzip member is malformed.
    Gzip(GzipError),
    /// Decompressed data would exceed the caller's limit.
    TooLarge,
}

impl From<GzipError> for CpioError {
    fn from(e: GzipError) -> Self {
        match e {
            GzipError::TooLarge => CpioError::TooLarge,
            e => CpioError::Gzip(e),
        }
    }
}

impl core::fmt::Display for CpioError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CpioError::Truncated => f.write_str("cpio: truncated archive"),
            CpioError::BadMagic => f.write_str("cpio: bad magic"),
            CpioError::BadHex => f.write_str("cpio: bad hex field"),
            CpioError::BadName => f.write_str("cpio: bad entry name"),
            CpioError::BadMode => f.write_str("cpio: bad file mode"),
            CpioError::Gzip(e) => write!(f, "cpio: gzip: {e:?}"),
            CpioError::TooLarge => f.write_str("cpio: decompressed data too large"),
        }
    }
}
