//! Unpacking the initramfs (cpio newc, gzip-compressed or not, possibly several concatenated)
//! into the in-memory tree, as Linux does before running `/init`.

use alloc::sync::Arc;
use alloc::vec::Vec;

use cpio::FileType;
use hal::sync::SpinLock;

use super::ramfs::{self, Node, NodeKind};

#[derive(Default, Debug)]
pub struct Stats {
    pub files: usize,
    pub dirs: usize,
    pub symlinks: usize,
    pub bytes: usize,
    pub skipped: usize,
}

/// Unpack the initrd (read in place). Errors are logged; what was unpacked before an error
/// stays.
pub fn unpack() -> Stats {
    let mut stats = Stats::default();
    let Some(image) = hal::boot::initrd_bytes() else {
        return stats;
    };
    let pieces = match cpio::split_initramfs(image, 1 << 30) {
        Ok(p) => p,
        Err(e) => {
            log::error!("initramfs: {e:?}");
            return stats;
        }
    };
    for piece in &pieces {
        for entry in cpio::read(piece.bytes()) {
            match entry {
                Ok(e) => add(&e, &mut stats),
                Err(err) => {
                    log::error!("initramfs: bad entry: {err:?}");
                    break;
                }
            }
        }
    }
    stats
}

fn add(e: &cpio::Entry<'_>, stats: &mut Stats) {
    if e.name.is_empty() {
        return;
    }
    let root = ramfs::root();
    let (dir, name) = match ramfs::parent_of(&root, e.name) {
        Ok(x) => x,
        Err(_) => {
            stats.skipped += 1;
            return;
        }
    };
    let perm = e.mode & 0o7777;
    let node = match e.file_type {
        FileType::Directory => {
            if let Some(existing) = dir.child(name)
                && existing.is_dir()
            {
                return;
            }
            stats.dirs += 1;
            Node::new(
                NodeKind::Dir(SpinLock::new(Default::default())),
                ramfs::S_IFDIR | perm,
                e.uid,
                e.gid,
                u64::from(e.mtime),
            )
        }
        FileType::Regular => {
            if e.is_hardlink_placeholder() {
                stats.skipped += 1;
                return;
            }
            let mut data = Vec::new();
            if data.try_reserve_exact(e.data.len()).is_err() {
                log::error!(
                    "initramfs: no memory for {} ({} bytes)",
                    e.name,
                    e.data.len()
                );
                stats.skipped += 1;
                return;
            }
            data.extend_from_slice(e.data);
            stats.files += 1;
            stats.bytes += e.data.len();
            Node::new(
                NodeKind::File(SpinLock::new(Arc::new(data))),
                ramfs::S_IFREG | perm,
                e.uid,
                e.gid,
                u64::from(e.mtime),
            )
        }
        FileType::Symlink => {
            stats.symlinks += 1;
            let target = core::str::from_utf8(e.data).unwrap_or("").into();
            Node::new(
                NodeKind::Symlink(target),
                ramfs::S_IFLNK | 0o777,
                e.uid,
                e.gid,
                u64::from(e.mtime),
            )
        }
        FileType::CharDevice => Node::new(
            NodeKind::CharDev(e.rdev_major, e.rdev_minor),
            ramfs::S_IFCHR | perm,
            e.uid,
            e.gid,
            u64::from(e.mtime),
        ),
        _ => {
            stats.skipped += 1;
            return;
        }
    };
    if dir.insert(name, node).is_err() {
        stats.skipped += 1;
    }
}
