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

/// Calendar date and time (UTC) to seconds since the Unix epoch (proleptic Gregorian calendar).
/// Returns None for out-of-range fields.
// Bounded arithmetic: year < 2^32, so every intermediate stays below 2^45 in an i64.
#[allow(clippy::arithmetic_side_effects)]
pub fn unix_time(year: u32, month: u32, day: u32, hour: u32, min: u32, sec: u32) -> Option<i64> {
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || min > 59
        || sec > 60
        || year < 1970
    {
        return None;
    }
    // Days from 1970-01-01 by the civil-from-days inverse (shift the year to start in March).
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + i64::from(hour) * 3600 + i64::from(min) * 60 + i64::from(sec))
}

#[cfg(test)]
mod time_tests {
    use super::unix_time;

    #[test]
    fn known_dates() {
        assert_eq!(unix_time(1970, 1, 1, 0, 0, 0), Some(0));
        assert_eq!(unix_time(2000, 3, 1, 0, 0, 0), Some(951_868_800));
        assert_eq!(unix_time(2024, 2, 29, 12, 34, 56), Some(1_709_210_096));
        assert_eq!(unix_time(2026, 11, 22, 4, 0, 0), Some(1_795_320_000));
        assert_eq!(unix_time(2026, 13, 1, 0, 0, 0), None);
        assert_eq!(unix_time(1969, 12, 31, 0, 0, 0), None);
    }
}
