//! Unpacking the initramfs into the root tmpfs at boot (the work is `vfs::unpack`).

pub use vfs::unpack::Stats;

/// Unpack the initrd (read in place). Errors are logged; what was unpacked before an error
/// stays.
pub fn unpack() -> Stats {
    let Some(image) = hal::boot::initrd_bytes() else {
        return Stats::default();
    };
    let stats = vfs::unpack::unpack(&mut super::lock(), image, 1 << 30);
    for e in &stats.errors {
        log::error!("initramfs: {e}");
    }
    stats
}
