//! Bounds-checked little-endian field readers over untrusted byte slices.
//!
//! Every reader returns `None` instead of panicking when the requested bytes
//! are not inside the slice or the offset arithmetic would overflow.

/// Reads `N` bytes starting at `off`.
fn bytes<const N: usize>(data: &[u8], off: usize) -> Option<[u8; N]> {
    let end = off.checked_add(N)?;
    let slice = data.get(off..end)?;
    <[u8; N]>::try_from(slice).ok()
}

/// Reads one byte at `off`.
pub(crate) fn u8_at(data: &[u8], off: usize) -> Option<u8> {
    data.get(off).copied()
}

/// Reads a little-endian `u16` at `off`.
pub(crate) fn u16_at(data: &[u8], off: usize) -> Option<u16> {
    bytes::<2>(data, off).map(u16::from_le_bytes)
}

/// Reads a little-endian `u32` at `off`.
pub(crate) fn u32_at(data: &[u8], off: usize) -> Option<u32> {
    bytes::<4>(data, off).map(u32::from_le_bytes)
}

/// Reads a little-endian `u64` at `off`.
pub(crate) fn u64_at(data: &[u8], off: usize) -> Option<u64> {
    bytes::<8>(data, off).map(u64::from_le_bytes)
}

/// Rounds `x` down to a page boundary.
pub(crate) const fn page_down(x: u64) -> u64 {
    x & !(crate::PAGE_SIZE - 1)
}

/// Rounds `x` up to a page boundary, or `None` if that overflows.
pub(crate) fn page_up(x: u64) -> Option<u64> {
    x.checked_add(crate::PAGE_SIZE - 1).map(page_down)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_are_bounds_checked() {
        let d = [1u8, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(u8_at(&d, 7), Some(8));
        assert_eq!(u8_at(&d, 8), None);
        assert_eq!(u16_at(&d, 6), Some(0x0807));
        assert_eq!(u16_at(&d, 7), None);
        assert_eq!(u32_at(&d, 4), Some(0x0807_0605));
        assert_eq!(u32_at(&d, 5), None);
        assert_eq!(u64_at(&d, 0), Some(0x0807_0605_0403_0201));
        assert_eq!(u64_at(&d, 1), None);
        assert_eq!(u64_at(&d, usize::MAX), None);
    }

    #[test]
    fn page_rounding() {
        assert_eq!(page_down(0x1fff), 0x1000);
        assert_eq!(page_up(0x1001), Some(0x2000));
        assert_eq!(page_up(0x1000), Some(0x1000));
        assert_eq!(page_up(u64::MAX), None);
        assert_eq!(page_up(u64::MAX - 4095), Some(u64::MAX - 4095));
    }
}
