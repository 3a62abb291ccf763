//! Tine's file-system core, host-testable: an inode table with tmpfs semantics (directories,
//! regular files with sparse pages, symbolic links, device nodes, FIFOs), mounts, the path walk
//! with Linux's rules, permission checks from mode bits, and pipe buffers.
//!
//! The kernel keeps one [`Vfs`] behind one lock, so every operation here is a plain method on
//! owned data: no locks, no reference cycles, and property tests can drive it directly. Nodes
//! are named by [`Node`] values, not pointers. Files the kernel synthesizes (procfs) live behind
//! the [`Ext`] trait: the walk asks it for lookups and attributes, and mounts can graft such a
//! tree anywhere.
//!
//! Lifetime of an inode: it lives while a directory entry names it (`nlink > 0`) or while the
//! kernel holds it open ([`Vfs::hold`]/[`Vfs::release`]: open files, working directories,
//! executables). An unlinked file stays readable through its open descriptors and is freed with
//! the last one, as on Linux.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod data;
pub mod mode;
pub mod pipe;
mod tree;
pub mod unpack;
mod walk;

#[cfg(test)]
mod tests;

use alloc::vec::Vec;

pub use abi::errno::Errno;
pub use abi::layout::Timespec;
pub use data::{FileData, MemData};
pub use tree::{NewKind, TimeSet, Vfs};
pub use walk::{Parent, Walk};

pub type Result<T> = core::result::Result<T, Errno>;

/// Longest name of one directory entry.
pub const NAME_MAX: usize = 255;
/// Longest path a system call accepts, with its NUL.
pub const PATH_MAX: usize = 4096;
/// Symbolic links followed in one walk before `ELOOP` (Linux's `MAXSYMLINKS`).
pub const MAX_SYMLINKS: u32 = 40;
pub const PAGE_SIZE: usize = 4096;

/// A file-system node: an inode of the table, or a node of a synthesized file system named by
/// its instance and an id that the instance chose.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Node {
    Mem(u64),
    Ext { fs: u32, id: u64 },
}

/// What `stat` reports.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Attr {
    pub ino: u64,
    pub dev: u64,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    /// 512-byte blocks allocated.
    pub blocks: u64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
}

/// The identity a file-system operation is checked against: on Linux, the fsuid and fsgid
/// (which follow the effective ids) and the supplementary groups.
#[derive(Clone, Copy, Debug)]
pub struct Cred<'a> {
    pub uid: u32,
    pub gid: u32,
    pub groups: &'a [u32],
}

impl Cred<'_> {
    pub const ROOT: Cred<'static> = Cred {
        uid: 0,
        gid: 0,
        groups: &[],
    };

    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }

    /// `access`-style check of `want` (`R_OK|W_OK|X_OK` bits) against a file's mode and owner.
    /// Root passes read and write always, and execute when any execute bit is set or the file is
    /// a directory — as Linux's capability rules (`CAP_DAC_OVERRIDE`) give.
    pub fn may(&self, attr: &Attr, want: u32) -> bool {
        let want = want & 7;
        if self.uid == 0 {
            return want & mode::X_OK == 0 || mode::is_dir(attr.mode) || attr.mode & 0o111 != 0;
        }
        let bits = if self.uid == attr.uid {
            attr.mode >> 6
        } else if self.in_group(attr.gid) {
            attr.mode >> 3
        } else {
            attr.mode
        } & 7;
        bits & want == want
    }
}

/// One entry as `getdents64` lists it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DirEntry {
    pub name: Vec<u8>,
    pub ino: u64,
    pub dtype: u8,
}

/// A synthesized file system (procfs): the kernel implements it over its own tables. `fs` says
/// which mounted instance is asked; ids are the instance's own.
pub trait Ext {
    fn root(&self, fs: u32) -> u64;
    fn lookup(&self, fs: u32, dir: u64, name: &[u8]) -> Result<u64>;
    /// The directory containing `id` (the root is its own parent).
    fn parent(&self, fs: u32, id: u64) -> u64;
    /// The name `id` has in its parent (for `getcwd`).
    fn name(&self, fs: u32, id: u64) -> Vec<u8>;
    fn attr(&self, fs: u32, id: u64) -> Result<Attr>;
    /// A link's target; `vfs` is there for links that name nodes of the tree (`cwd`, `fd/N`).
    fn readlink(&self, vfs: &Vfs, fs: u32, id: u64) -> Result<Vec<u8>>;
    /// Entries other than `.` and `..`.
    fn readdir(&self, fs: u32, dir: u64) -> Result<Vec<DirEntry>>;
}

/// For callers without synthesized file systems: every question fails.
pub struct NoExt;

impl Ext for NoExt {
    fn root(&self, _: u32) -> u64 {
        0
    }
    fn lookup(&self, _: u32, _: u64, _: &[u8]) -> Result<u64> {
        Err(Errno::ENOENT)
    }
    fn parent(&self, _: u32, id: u64) -> u64 {
        id
    }
    fn name(&self, _: u32, _: u64) -> Vec<u8> {
        Vec::new()
    }
    fn attr(&self, _: u32, _: u64) -> Result<Attr> {
        Err(Errno::ENOENT)
    }
    fn readlink(&self, _: &Vfs, _: u32, _: u64) -> Result<Vec<u8>> {
        Err(Errno::ENOENT)
    }
    fn readdir(&self, _: u32, _: u64) -> Result<Vec<DirEntry>> {
        Err(Errno::ENOENT)
    }
}

/// One mounted file system, as `/proc/mounts` lists it.
#[derive(Clone, Debug)]
pub struct MountInfo {
    pub path: Vec<u8>,
    pub fstype: &'static str,
    pub source: Vec<u8>,
}
