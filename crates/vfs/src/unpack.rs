//! Unpacking an initramfs image (cpio newc, gzip-compressed or not, several concatenated)
//! into the tree, as Linux does before running `/init`: directories, regular files (hard
//! links grouped by device and inode, data from whichever entry carries it), symbolic links,
//! device nodes, FIFOs and sockets, with modes, owners and modification times. A later entry
//! replaces an earlier one of the same name, except that a directory stays (taking the new
//! attributes). Malformed input never panics: unpacking stops at the first bad entry of an
//! archive and says why in `Stats::errors`; what came before stays.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use cpio::FileType;

use crate::mode::{S_IFBLK, S_IFCHR, S_IFIFO, S_IFSOCK, makedev};
use crate::{Cred, NewKind, Node, TimeSet, Timespec, Vfs, Walk};

#[derive(Default, Debug)]
pub struct Stats {
    pub files: usize,
    pub dirs: usize,
    pub symlinks: usize,
    pub bytes: usize,
    pub skipped: usize,
    /// What went wrong, one line each (the kernel logs them).
    pub errors: Vec<String>,
}

/// Unpack `image` into `v` at its root; at most `max_total` bytes after decompression.
pub fn unpack(v: &mut Vfs, image: &[u8], max_total: usize) -> Stats {
    let mut stats = Stats::default();
    let pieces = match cpio::split_initramfs(image, max_total) {
        Ok(p) => p,
        Err(e) => {
            stats.errors.push(alloc::format!("{e:?}"));
            return stats;
        }
    };
    for piece in &pieces {
        // Hard links are grouped per archive, by (device, inode) as newc records them.
        let mut links = BTreeMap::new();
        for entry in cpio::read(piece.bytes()) {
            match entry {
                Ok(e) => add(v, &mut links, &e, &mut stats),
                Err(err) => {
                    stats.errors.push(alloc::format!("bad entry: {err:?}"));
                    break;
                }
            }
        }
    }
    stats
}

fn add(
    v: &mut Vfs,
    links: &mut BTreeMap<(u32, u32, u32), Node>,
    e: &cpio::Entry<'_>,
    stats: &mut Stats,
) {
    if e.name.is_empty() || e.name == "." {
        return;
    }
    let root = v.root();
    let w = Walk {
        root,
        start: root,
        cred: Cred::ROOT,
        ext: &crate::NoExt,
    };
    let Ok(parent) = v.resolve_parent(&w, e.name.as_bytes()) else {
        stats.skipped += 1;
        return;
    };
    let (dir, name) = (parent.dir, parent.name.as_slice());
    let perm = e.mode & 0o7777;
    let existing = v.child(dir, name, &crate::NoExt).ok();
    // A later entry replaces an earlier one of the same name, as Linux's unpacker does —
    // except that a directory is kept and only gets the new attributes.
    if let Some(old) = existing {
        if e.file_type == FileType::Directory && v.is_dir(old, &crate::NoExt) {
            let _ = v.chmod(old, perm, &Cred::ROOT);
            let _ = v.chown(old, Some(e.uid), Some(e.gid), &Cred::ROOT);
            return;
        }
        let _ = v.unlink(dir, name, &Cred::ROOT);
    }
    let key = (e.dev_major, e.dev_minor, e.ino);
    if e.file_type == FileType::Regular
        && e.nlink > 1
        && let Some(&first) = links.get(&key)
    {
        {
            // Another name of a hard-linked file; its data comes with whichever entry has it.
            if v.link(first, dir, name, &Cred::ROOT).is_err() {
                stats.skipped += 1;
            } else if !e.data.is_empty() {
                write_data(v, first, e, stats);
            }
            return;
        }
    }
    let kind = match e.file_type {
        FileType::Directory => NewKind::Dir,
        FileType::Regular => NewKind::File,
        FileType::Symlink => NewKind::Symlink(e.data),
        FileType::CharDevice => NewKind::Special {
            kind: S_IFCHR,
            rdev: makedev(e.rdev_major, e.rdev_minor),
        },
        FileType::BlockDevice => NewKind::Special {
            kind: S_IFBLK,
            rdev: makedev(e.rdev_major, e.rdev_minor),
        },
        FileType::Fifo => NewKind::Special {
            kind: S_IFIFO,
            rdev: 0,
        },
        FileType::Socket => NewKind::Special {
            kind: S_IFSOCK,
            rdev: 0,
        },
    };
    let node = match v.create(dir, name, kind, perm, &Cred::ROOT) {
        Ok(n) => n,
        Err(err) => {
            stats
                .errors
                .push(alloc::format!("cannot create {}: {}", e.name, err.name()));
            stats.skipped += 1;
            return;
        }
    };
    match e.file_type {
        FileType::Directory => stats.dirs += 1,
        FileType::Symlink => stats.symlinks += 1,
        FileType::Regular => {
            stats.files += 1;
            if e.nlink > 1 {
                links.insert(key, node);
            }
            write_data(v, node, e, stats);
        }
        _ => {}
    }
    let _ = v.chown(node, Some(e.uid), Some(e.gid), &Cred::ROOT);
    if e.file_type != FileType::Symlink {
        // chown dropped set-id bits; give the archive's mode back.
        let _ = v.chmod(node, perm, &Cred::ROOT);
    }
    let t = TimeSet::At(Timespec {
        sec: i64::from(e.mtime),
        nsec: 0,
    });
    let _ = v.set_times(node, t, t, &Cred::ROOT);
}

fn write_data(v: &mut Vfs, node: Node, e: &cpio::Entry<'_>, stats: &mut Stats) {
    match v.write(node, 0, e.data) {
        Ok(n) if n == e.data.len() => stats.bytes += n,
        _ => {
            stats.errors.push(alloc::format!(
                "no room for {} ({} bytes)",
                e.name,
                e.data.len()
            ));
            stats.skipped += 1;
        }
    }
}
