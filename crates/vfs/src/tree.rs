//! The inode table and the operations that change it.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use crate::data::{FileData, MemData};
use crate::mode::{self, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, S_ISGID, S_ISUID, S_ISVTX};
use crate::{
    Attr, Cred, DirEntry, Errno, Ext, MountInfo, NAME_MAX, Node, PAGE_SIZE, Result, Timespec,
};

/// What to create in a directory.
#[derive(Clone, Debug)]
pub enum NewKind<'a> {
    File,
    Dir,
    Symlink(&'a [u8]),
    /// A device node, FIFO or socket: the type bits of the mode and the device number.
    Special {
        kind: u32,
        rdev: u64,
    },
}

/// One timestamp of `utimensat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSet {
    Omit,
    Now,
    At(Timespec),
}

struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    rdev: u64,
    dev: u64,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
}

/// A regular file's parts, borrowed together: storage, size, metadata, pages counted.
type FileMut<'a> = (
    &'a mut Box<dyn FileData>,
    &'a mut u64,
    &'a mut Meta,
    &'a mut usize,
);

enum Body {
    Dir {
        entries: BTreeMap<Vec<u8>, u64>,
        /// The directory holding this one; a file system's root is its own parent.
        parent: u64,
    },
    File {
        /// Sparse: a page that was never written reads as zeros and costs nothing.
        data: Box<dyn FileData>,
        size: u64,
        /// The pages this file adds to the file system's count. The storage can gain pages
        /// the tree does not see (a write fault through a shared mapping), so each write,
        /// truncation and removal re-reads `data.pages()` and moves the count by the
        /// difference; subtracting what was never added made the count drift below zero.
        counted: usize,
    },
    Symlink(Vec<u8>),
    Special,
}

struct Inode {
    meta: Meta,
    /// Holds from open files, working directories, executables.
    opens: u32,
    body: Body,
}

pub(crate) struct Mount {
    /// The directory this mount covers (for the root mount: its own root).
    pub(crate) at: Node,
    pub(crate) root: Node,
    pub(crate) fstype: &'static str,
    pub(crate) source: Vec<u8>,
}

/// The whole file-system state. See the crate documentation.
pub struct Vfs {
    inodes: BTreeMap<u64, Inode>,
    next_ino: u64,
    next_dev: u64,
    pub(crate) mounts: Vec<Mount>,
    clock: fn() -> Timespec,
    /// Makes the storage of a new regular file.
    new_data: fn() -> Option<Box<dyn FileData>>,
    /// Pages held by file data, and the most all tmpfs instances may hold (`ENOSPC` beyond).
    pages: usize,
    pub max_pages: usize,
}

fn ts_le(a: Timespec, b: Timespec) -> bool {
    (a.sec, a.nsec) <= (b.sec, b.nsec)
}

impl Vfs {
    /// A table with one tmpfs instance, mounted as `/`; file data on the heap.
    pub fn new(clock: fn() -> Timespec) -> Vfs {
        Self::with_storage(clock, MemData::boxed)
    }

    /// Like `new`, with file data kept where `new_data` puts it.
    pub fn with_storage(
        clock: fn() -> Timespec,
        new_data: fn() -> Option<Box<dyn FileData>>,
    ) -> Vfs {
        let mut v = Vfs {
            inodes: BTreeMap::new(),
            next_ino: 1,
            next_dev: 1,
            mounts: Vec::new(),
            clock,
            new_data,
            pages: 0,
            max_pages: usize::MAX,
        };
        let root = v.new_tmpfs(0o755);
        v.mounts.push(Mount {
            at: root,
            root,
            fstype: "tmpfs",
            source: b"rootfs".to_vec(),
        });
        v
    }

    pub fn root(&self) -> Node {
        self.mounts[0].root
    }

    fn now(&self) -> Timespec {
        (self.clock)()
    }

    /// A new, unmounted tmpfs instance; returns its root directory.
    pub fn new_tmpfs(&mut self, perm: u32) -> Node {
        let dev = self.next_dev;
        self.next_dev += 1;
        let ino = self.alloc(
            dev,
            S_IFDIR | (perm & 0o7777),
            0,
            0,
            0,
            Body::Dir {
                entries: BTreeMap::new(),
                parent: 0,
            },
        );
        if let Some(Body::Dir { parent, .. }) = self.inodes.get_mut(&ino).map(|i| &mut i.body) {
            *parent = ino;
        }
        if let Some(i) = self.inodes.get_mut(&ino) {
            i.meta.nlink = 2;
        }
        Node::Mem(ino)
    }

    fn alloc(&mut self, dev: u64, mode: u32, uid: u32, gid: u32, rdev: u64, body: Body) -> u64 {
        let ino = self.next_ino;
        self.next_ino += 1;
        let now = self.now();
        self.inodes.insert(
            ino,
            Inode {
                meta: Meta {
                    mode,
                    uid,
                    gid,
                    nlink: 1,
                    rdev,
                    dev,
                    atime: now,
                    mtime: now,
                    ctime: now,
                },
                opens: 0,
                body,
            },
        );
        ino
    }

    fn get(&self, ino: u64) -> Result<&Inode> {
        self.inodes.get(&ino).ok_or(Errno::ENOENT)
    }

    fn get_mut(&mut self, ino: u64) -> Result<&mut Inode> {
        self.inodes.get_mut(&ino).ok_or(Errno::ENOENT)
    }

    /// Inodes alive in the table (for leak checks).
    pub fn inode_count(&self) -> usize {
        self.inodes.len()
    }

    /// Pages of file data held.
    pub fn pages(&self) -> usize {
        self.pages
    }

    // ---- attributes ----------------------------------------------------------------------

    pub fn attr(&self, node: Node, ext: &dyn Ext) -> Result<Attr> {
        match node {
            Node::Ext { fs, id } => ext.attr(fs, id),
            Node::Mem(ino) => {
                let i = self.get(ino)?;
                let m = &i.meta;
                let (size, pages) = match &i.body {
                    Body::File { data, size, .. } => (*size, data.pages() as u64),
                    Body::Symlink(t) => (t.len() as u64, 0),
                    // tmpfs reports directories by their entry count, in "bytes" of 20 each.
                    Body::Dir { entries, .. } => ((entries.len() as u64 + 2) * 20, 0),
                    Body::Special => (0, 0),
                };
                Ok(Attr {
                    ino,
                    dev: m.dev,
                    mode: m.mode,
                    nlink: m.nlink,
                    uid: m.uid,
                    gid: m.gid,
                    rdev: m.rdev,
                    size,
                    blocks: pages * (PAGE_SIZE as u64 / 512),
                    atime: m.atime,
                    mtime: m.mtime,
                    ctime: m.ctime,
                })
            }
        }
    }

    pub fn is_dir(&self, node: Node, ext: &dyn Ext) -> bool {
        self.attr(node, ext).is_ok_and(|a| mode::is_dir(a.mode))
    }

    /// The target of a symbolic link (`EINVAL` for anything else).
    pub fn readlink(&self, node: Node, ext: &dyn Ext) -> Result<Vec<u8>> {
        match node {
            Node::Ext { fs, id } => ext.readlink(self, fs, id),
            Node::Mem(ino) => match &self.get(ino)?.body {
                Body::Symlink(t) => Ok(t.clone()),
                _ => Err(Errno::EINVAL),
            },
        }
    }

    pub fn chmod(&mut self, node: Node, perm: u32, cred: &Cred) -> Result<()> {
        let ino = mem_only(node, Errno::EPERM)?;
        let now = self.now();
        let i = self.get_mut(ino)?;
        if cred.uid != 0 && cred.uid != i.meta.uid {
            return Err(Errno::EPERM);
        }
        let mut perm = perm & mode::S_IALLUGO;
        // Only a member of the file's group (or root) may set its set-group-id bit.
        if cred.uid != 0 && !cred.in_group(i.meta.gid) {
            perm &= !S_ISGID;
        }
        i.meta.mode = (i.meta.mode & S_IFMT) | perm;
        i.meta.ctime = now;
        Ok(())
    }

    /// `chown`: `None` leaves an id unchanged (-1 in the system call).
    pub fn chown(
        &mut self,
        node: Node,
        uid: Option<u32>,
        gid: Option<u32>,
        cred: &Cred,
    ) -> Result<()> {
        let ino = mem_only(node, Errno::EPERM)?;
        let now = self.now();
        let i = self.get_mut(ino)?;
        if cred.uid != 0 {
            // An owner may only give the file to a group it belongs to, and not to another user.
            let owner = cred.uid == i.meta.uid;
            let uid_ok = uid.is_none_or(|u| u == i.meta.uid);
            let gid_ok = gid.is_none_or(|g| g == i.meta.gid || cred.in_group(g));
            if !owner || !uid_ok || !gid_ok {
                return Err(Errno::EPERM);
            }
        }
        if uid.is_some() || gid.is_some() {
            if !mode::is_dir(i.meta.mode) {
                // Changing owners drops set-user-id, and set-group-id where it means execution.
                i.meta.mode &= !S_ISUID;
                if i.meta.mode & 0o010 != 0 {
                    i.meta.mode &= !S_ISGID;
                }
            }
            if let Some(u) = uid {
                i.meta.uid = u;
            }
            if let Some(g) = gid {
                i.meta.gid = g;
            }
        }
        i.meta.ctime = now;
        Ok(())
    }

    /// `utimensat`. Setting explicit times needs ownership; setting both to now needs write
    /// permission instead.
    pub fn set_times(
        &mut self,
        node: Node,
        atime: TimeSet,
        mtime: TimeSet,
        cred: &Cred,
    ) -> Result<()> {
        let ino = mem_only(node, Errno::EPERM)?;
        let now = self.now();
        let attr = self.attr(node, &crate::NoExt)?;
        if atime == TimeSet::Omit && mtime == TimeSet::Omit {
            return Ok(());
        }
        let explicit = matches!(atime, TimeSet::At(_)) || matches!(mtime, TimeSet::At(_));
        if cred.uid != 0 && cred.uid != attr.uid {
            if explicit {
                return Err(Errno::EPERM);
            }
            if !cred.may(&attr, mode::W_OK) {
                return Err(Errno::EACCES);
            }
        }
        let i = self.get_mut(ino)?;
        let pick = |t: TimeSet, old: Timespec| match t {
            TimeSet::Omit => old,
            TimeSet::Now => now,
            TimeSet::At(t) => t,
        };
        i.meta.atime = pick(atime, i.meta.atime);
        i.meta.mtime = pick(mtime, i.meta.mtime);
        i.meta.ctime = now;
        Ok(())
    }

    // ---- open references -----------------------------------------------------------------

    /// Keep `node` alive while the kernel uses it (an open file, a cwd).
    pub fn hold(&mut self, node: Node) {
        if let Node::Mem(ino) = node
            && let Some(i) = self.inodes.get_mut(&ino)
        {
            i.opens += 1;
        }
    }

    /// Drop a hold; an inode with no names and no holds is freed.
    pub fn release(&mut self, node: Node) {
        if let Node::Mem(ino) = node
            && let Some(i) = self.inodes.get_mut(&ino)
        {
            i.opens = i.opens.saturating_sub(1);
            self.maybe_free(ino);
        }
    }

    fn maybe_free(&mut self, ino: u64) {
        let dead = self.inodes.get(&ino).is_some_and(|i| {
            let unnamed = match i.body {
                // A directory's own "." does not keep it alive once it is removed.
                Body::Dir { .. } => i.meta.nlink == 0,
                _ => i.meta.nlink == 0,
            };
            unnamed && i.opens == 0
        });
        if dead {
            self.remove_inode(ino);
        }
    }

    /// Take an inode out of the table, with its file pages out of the page count.
    fn remove_inode(&mut self, ino: u64) {
        if let Some(i) = self.inodes.remove(&ino)
            && let Body::File { counted, .. } = i.body
        {
            self.pages = self.pages.saturating_sub(counted);
        }
    }

    // ---- directories ---------------------------------------------------------------------

    /// The entry `name` of directory `dir` (no `.`/`..` handling, no mounts).
    pub fn child(&self, dir: Node, name: &[u8], ext: &dyn Ext) -> Result<Node> {
        match dir {
            Node::Ext { fs, id } => ext.lookup(fs, id, name).map(|id| Node::Ext { fs, id }),
            Node::Mem(ino) => match &self.get(ino)?.body {
                Body::Dir { entries, .. } => entries
                    .get(name)
                    .map(|&c| Node::Mem(c))
                    .ok_or(Errno::ENOENT),
                _ => Err(Errno::ENOTDIR),
            },
        }
    }

    /// The parent of a directory inside its own file system.
    pub(crate) fn fs_parent(&self, dir: Node, ext: &dyn Ext) -> Node {
        match dir {
            Node::Ext { fs, id } => Node::Ext {
                fs,
                id: ext.parent(fs, id),
            },
            Node::Mem(ino) => match self.inodes.get(&ino).map(|i| &i.body) {
                Some(Body::Dir { parent, .. }) => Node::Mem(*parent),
                _ => dir,
            },
        }
    }

    /// The entries of a directory, `.` and `..` first.
    pub fn readdir(&self, dir: Node, ext: &dyn Ext) -> Result<Vec<DirEntry>> {
        let here = self.attr(dir, ext)?;
        if !mode::is_dir(here.mode) {
            return Err(Errno::ENOTDIR);
        }
        let up = self
            .attr(self.parent_across_mounts(dir, ext), ext)
            .unwrap_or(here);
        let mut out = vec![
            DirEntry {
                name: b".".to_vec(),
                ino: here.ino,
                dtype: mode::DT_DIR,
            },
            DirEntry {
                name: b"..".to_vec(),
                ino: up.ino,
                dtype: mode::DT_DIR,
            },
        ];
        match dir {
            Node::Ext { fs, id } => out.extend(ext.readdir(fs, id)?),
            Node::Mem(ino) => {
                if let Body::Dir { entries, .. } = &self.get(ino)?.body {
                    if here.nlink == 0 {
                        // A removed directory lists nothing, not even "." and "..".
                        return Ok(Vec::new());
                    }
                    for (name, &c) in entries {
                        let dtype = self.inodes.get(&c).map_or(0, |i| mode::dtype(i.meta.mode));
                        out.push(DirEntry {
                            name: name.clone(),
                            ino: c,
                            dtype,
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    fn check_name(name: &[u8]) -> Result<()> {
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        if name.is_empty() || name.contains(&b'/') {
            return Err(Errno::ENOENT);
        }
        Ok(())
    }

    /// A directory we may add entries to or remove them from.
    fn writable_dir(&self, dir: Node, cred: &Cred) -> Result<u64> {
        let ino = mem_only(dir, Errno::EACCES)?;
        let attr = self.attr(dir, &crate::NoExt)?;
        if !mode::is_dir(attr.mode) {
            return Err(Errno::ENOTDIR);
        }
        if !cred.may(&attr, mode::W_OK | mode::X_OK) {
            return Err(Errno::EACCES);
        }
        if attr.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        Ok(ino)
    }

    /// In a sticky directory only the owner of the entry, the owner of the directory or root
    /// may remove or rename it.
    fn sticky_ok(&self, dir: u64, child: u64, cred: &Cred) -> bool {
        let (Some(d), Some(c)) = (self.inodes.get(&dir), self.inodes.get(&child)) else {
            return false;
        };
        d.meta.mode & S_ISVTX == 0
            || cred.uid == 0
            || cred.uid == c.meta.uid
            || cred.uid == d.meta.uid
    }

    fn entry(&self, dir: u64, name: &[u8]) -> Option<u64> {
        match self.inodes.get(&dir).map(|i| &i.body) {
            Some(Body::Dir { entries, .. }) => entries.get(name).copied(),
            _ => None,
        }
    }

    /// The name under which directory `dir` lists inode `ino`.
    pub(crate) fn name_in(&self, dir: Node, ino: u64) -> Option<Vec<u8>> {
        let Node::Mem(d) = dir else { return None };
        match self.inodes.get(&d).map(|i| &i.body) {
            Some(Body::Dir { entries, .. }) => {
                entries.iter().find(|e| *e.1 == ino).map(|e| e.0.clone())
            }
            _ => None,
        }
    }

    fn entries_mut(&mut self, dir: u64) -> Result<&mut BTreeMap<Vec<u8>, u64>> {
        match &mut self.get_mut(dir)?.body {
            Body::Dir { entries, .. } => Ok(entries),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn touch_dir(&mut self, dir: u64) {
        let now = self.now();
        if let Some(d) = self.inodes.get_mut(&dir) {
            d.meta.mtime = now;
            d.meta.ctime = now;
        }
    }

    fn is_mount_point(&self, node: Node) -> bool {
        self.mounts
            .iter()
            .skip(1)
            .any(|m| m.at == node || m.root == node)
    }

    /// Create `name` in `dir`. `perm` has the umask already applied; owner is the caller.
    pub fn create(
        &mut self,
        dir: Node,
        name: &[u8],
        kind: NewKind,
        perm: u32,
        cred: &Cred,
    ) -> Result<Node> {
        if name == b"." || name == b".." {
            return Err(Errno::EEXIST);
        }
        if let Node::Ext { .. } = dir {
            return Err(Errno::ENOENT);
        }
        Self::check_name(name)?;
        let d = self.writable_dir(dir, cred)?;
        if self.entry(d, name).is_some() {
            return Err(Errno::EEXIST);
        }
        let dmeta = &self.get(d)?.meta;
        let (dev, dmode, dgid) = (dmeta.dev, dmeta.mode, dmeta.gid);
        // BSD group semantics under a set-group-id directory; new directories inherit the bit.
        let mut perm = perm & mode::S_IALLUGO;
        let gid = if dmode & S_ISGID != 0 {
            if matches!(kind, NewKind::Dir) {
                perm |= S_ISGID;
            }
            dgid
        } else {
            cred.gid
        };
        let (mode, rdev, body) = match kind {
            NewKind::File => (
                S_IFREG | perm,
                0,
                Body::File {
                    data: (self.new_data)().ok_or(Errno::ENOSPC)?,
                    size: 0,
                    counted: 0,
                },
            ),
            NewKind::Dir => (
                S_IFDIR | perm,
                0,
                Body::Dir {
                    entries: BTreeMap::new(),
                    parent: d,
                },
            ),
            NewKind::Symlink(target) => {
                if target.is_empty() {
                    return Err(Errno::ENOENT);
                }
                if target.len() >= crate::PATH_MAX {
                    return Err(Errno::ENAMETOOLONG);
                }
                (S_IFLNK | 0o777, 0, Body::Symlink(target.to_vec()))
            }
            NewKind::Special { kind, rdev } => {
                let t = kind & S_IFMT;
                if !matches!(
                    t,
                    mode::S_IFCHR | mode::S_IFBLK | mode::S_IFIFO | mode::S_IFSOCK
                ) {
                    return Err(Errno::EINVAL);
                }
                (t | perm, rdev, Body::Special)
            }
        };
        let is_dir = mode::is_dir(mode);
        let ino = self.alloc(dev, mode, cred.uid, gid, rdev, body);
        if is_dir {
            if let Some(i) = self.inodes.get_mut(&ino) {
                i.meta.nlink = 2;
            }
            if let Some(p) = self.inodes.get_mut(&d) {
                p.meta.nlink += 1;
            }
        }
        self.entries_mut(d)?.insert(name.to_vec(), ino);
        self.touch_dir(d);
        Ok(Node::Mem(ino))
    }

    /// `link`: a new name for an existing non-directory.
    pub fn link(&mut self, target: Node, dir: Node, name: &[u8], cred: &Cred) -> Result<()> {
        if name == b"." || name == b".." {
            return Err(Errno::EEXIST);
        }
        let t = mem_only(target, Errno::EPERM)?;
        if let Node::Ext { .. } = dir {
            return Err(Errno::EXDEV);
        }
        Self::check_name(name)?;
        let d = self.writable_dir(dir, cred)?;
        if self.entry(d, name).is_some() {
            return Err(Errno::EEXIST);
        }
        let (tdev, tmode, tn) = {
            let m = &self.get(t)?.meta;
            (m.dev, m.mode, m.nlink)
        };
        if tdev != self.get(d)?.meta.dev {
            return Err(Errno::EXDEV);
        }
        if mode::is_dir(tmode) {
            return Err(Errno::EPERM);
        }
        if tn == 0 {
            return Err(Errno::ENOENT);
        }
        let now = self.now();
        self.entries_mut(d)?.insert(name.to_vec(), t);
        let i = self.get_mut(t)?;
        i.meta.nlink += 1;
        i.meta.ctime = now;
        self.touch_dir(d);
        Ok(())
    }

    /// `unlink`: remove a name of a non-directory.
    pub fn unlink(&mut self, dir: Node, name: &[u8], cred: &Cred) -> Result<()> {
        if name == b"." || name == b".." {
            return Err(Errno::EISDIR);
        }
        if let Node::Ext { .. } = dir {
            return Err(Errno::EACCES);
        }
        let d = mem_only(dir, Errno::EACCES)?;
        let c = self.entry(d, name).ok_or_else(|| self.missing(dir))?;
        self.writable_dir(dir, cred)?;
        if mode::is_dir(self.get(c)?.meta.mode) {
            return Err(Errno::EISDIR);
        }
        if !self.sticky_ok(d, c, cred) {
            return Err(Errno::EPERM);
        }
        if self.is_mount_point(Node::Mem(c)) {
            return Err(Errno::EBUSY);
        }
        self.entries_mut(d)?.remove(name);
        self.touch_dir(d);
        self.drop_name(c);
        Ok(())
    }

    /// ENOTDIR when the container is not a directory, ENOENT otherwise.
    fn missing(&self, dir: Node) -> Errno {
        if self.is_dir(dir, &crate::NoExt) {
            Errno::ENOENT
        } else {
            Errno::ENOTDIR
        }
    }

    fn drop_name(&mut self, ino: u64) {
        let now = self.now();
        if let Some(i) = self.inodes.get_mut(&ino) {
            i.meta.nlink = i.meta.nlink.saturating_sub(1);
            i.meta.ctime = now;
        }
        self.maybe_free(ino);
    }

    /// `rmdir`.
    pub fn rmdir(&mut self, dir: Node, name: &[u8], cred: &Cred) -> Result<()> {
        if name == b"." {
            return Err(Errno::EINVAL);
        }
        if name == b".." {
            return Err(Errno::ENOTEMPTY);
        }
        if let Node::Ext { .. } = dir {
            return Err(Errno::EACCES);
        }
        let d = mem_only(dir, Errno::EACCES)?;
        let c = self.entry(d, name).ok_or_else(|| self.missing(dir))?;
        self.writable_dir(dir, cred)?;
        if self.is_mount_point(Node::Mem(c)) {
            return Err(Errno::EBUSY);
        }
        match &self.get(c)?.body {
            Body::Dir { entries, .. } if !entries.is_empty() => return Err(Errno::ENOTEMPTY),
            Body::Dir { .. } => {}
            _ => return Err(Errno::ENOTDIR),
        }
        if !self.sticky_ok(d, c, cred) {
            return Err(Errno::EPERM);
        }
        self.entries_mut(d)?.remove(name);
        self.touch_dir(d);
        if let Some(p) = self.inodes.get_mut(&d) {
            p.meta.nlink -= 1;
        }
        if let Some(i) = self.inodes.get_mut(&c) {
            i.meta.nlink = 0;
        }
        self.maybe_free(c);
        Ok(())
    }

    /// Is `node` (a directory) `anc` or inside it?
    fn within(&self, mut node: u64, anc: u64) -> bool {
        loop {
            if node == anc {
                return true;
            }
            match self.inodes.get(&node).map(|i| &i.body) {
                Some(Body::Dir { parent, .. }) if *parent != node => node = *parent,
                _ => return false,
            }
        }
    }

    /// `renameat2` with flags `RENAME_NOREPLACE` (1) and `RENAME_EXCHANGE` (2).
    pub fn rename(
        &mut self,
        odir: Node,
        oname: &[u8],
        ndir: Node,
        nname: &[u8],
        flags: u32,
        cred: &Cred,
    ) -> Result<()> {
        const NOREPLACE: u32 = 1;
        const EXCHANGE: u32 = 2;
        if flags & !(NOREPLACE | EXCHANGE) != 0 || flags == NOREPLACE | EXCHANGE {
            return Err(Errno::EINVAL);
        }
        for n in [oname, nname] {
            if n == b"." || n == b".." {
                return Err(Errno::EBUSY);
            }
        }
        let (Node::Mem(od), Node::Mem(nd)) = (odir, ndir) else {
            return Err(Errno::EXDEV);
        };
        Self::check_name(nname)?;
        let src = self.entry(od, oname).ok_or_else(|| self.missing(odir))?;
        if !self.is_dir(ndir, &crate::NoExt) {
            return Err(Errno::ENOTDIR);
        }
        let dst = self.entry(nd, nname);
        self.writable_dir(odir, cred)?;
        self.writable_dir(ndir, cred)?;
        if self.get(od)?.meta.dev != self.get(nd)?.meta.dev {
            return Err(Errno::EXDEV);
        }
        if !self.sticky_ok(od, src, cred) || dst.is_some_and(|d| !self.sticky_ok(nd, d, cred)) {
            return Err(Errno::EPERM);
        }
        let src_dir = mode::is_dir(self.get(src)?.meta.mode);
        if flags & EXCHANGE != 0 {
            let dst = dst.ok_or(Errno::ENOENT)?;
            let dst_dir = mode::is_dir(self.get(dst)?.meta.mode);
            if (src_dir && self.within(nd, src)) || (dst_dir && self.within(od, dst)) {
                return Err(Errno::EINVAL);
            }
            if self.is_mount_point(Node::Mem(src)) || self.is_mount_point(Node::Mem(dst)) {
                return Err(Errno::EBUSY);
            }
            if src == dst {
                return Ok(());
            }
            self.entries_mut(od)?.insert(oname.to_vec(), dst);
            self.entries_mut(nd)?.insert(nname.to_vec(), src);
            if od != nd {
                self.reparent(src, od, nd, src_dir);
                self.reparent(dst, nd, od, dst_dir);
            }
            self.after_rename(od, nd, &[src, dst]);
            return Ok(());
        }
        if let Some(dst) = dst {
            if flags & NOREPLACE != 0 {
                return Err(Errno::EEXIST);
            }
            if dst == src {
                // Two names of one file: POSIX says do nothing.
                return Ok(());
            }
            let dst_dir = mode::is_dir(self.get(dst)?.meta.mode);
            match (src_dir, dst_dir) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                _ => {}
            }
        }
        if src_dir && self.within(nd, src) {
            return Err(Errno::EINVAL);
        }
        if self.is_mount_point(Node::Mem(src))
            || dst.is_some_and(|d| self.is_mount_point(Node::Mem(d)))
        {
            return Err(Errno::EBUSY);
        }
        if let Some(dst) = dst
            && src_dir
            && matches!(&self.get(dst)?.body, Body::Dir { entries, .. } if !entries.is_empty())
        {
            return Err(Errno::ENOTEMPTY);
        }
        // Commit: nothing below can fail.
        self.entries_mut(od)?.remove(oname);
        self.entries_mut(nd)?.insert(nname.to_vec(), src);
        if let Some(dst) = dst {
            if src_dir {
                if let Some(p) = self.inodes.get_mut(&nd) {
                    p.meta.nlink -= 1;
                }
                if let Some(i) = self.inodes.get_mut(&dst) {
                    i.meta.nlink = 0;
                }
                self.maybe_free(dst);
            } else {
                self.drop_name(dst);
            }
        }
        if od != nd {
            self.reparent(src, od, nd, src_dir);
        }
        self.after_rename(od, nd, &[src]);
        Ok(())
    }

    fn reparent(&mut self, ino: u64, from: u64, to: u64, is_dir: bool) {
        if !is_dir {
            return;
        }
        if let Some(Body::Dir { parent, .. }) = self.inodes.get_mut(&ino).map(|i| &mut i.body) {
            *parent = to;
        }
        if let Some(p) = self.inodes.get_mut(&from) {
            p.meta.nlink -= 1;
        }
        if let Some(p) = self.inodes.get_mut(&to) {
            p.meta.nlink += 1;
        }
    }

    fn after_rename(&mut self, od: u64, nd: u64, moved: &[u64]) {
        let now = self.now();
        self.touch_dir(od);
        self.touch_dir(nd);
        for m in moved {
            if let Some(i) = self.inodes.get_mut(m) {
                i.meta.ctime = now;
            }
        }
    }

    // ---- file data -----------------------------------------------------------------------

    fn file_mut(&mut self, node: Node) -> Result<FileMut<'_>> {
        let ino = mem_only(node, Errno::EINVAL)?;
        let i = self.get_mut(ino)?;
        match &mut i.body {
            Body::File {
                data,
                size,
                counted,
            } => Ok((data, size, &mut i.meta, counted)),
            Body::Dir { .. } => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The storage of a regular file (the kernel maps its VM object).
    pub fn file_data(&self, node: Node) -> Result<&dyn FileData> {
        let ino = mem_only(node, Errno::ENODEV)?;
        match &self.get(ino)?.body {
            Body::File { data, .. } => Ok(data.as_ref()),
            _ => Err(Errno::ENODEV),
        }
    }

    /// Read from offset `off`; returns the bytes copied (0 at or past the end).
    pub fn read(&mut self, node: Node, off: u64, out: &mut [u8]) -> Result<usize> {
        let now = self.now();
        let (data, size, meta, _) = self.file_mut(node)?;
        if off >= *size {
            return Ok(0);
        }
        let n = out.len().min((*size - off) as usize);
        data.read(off, &mut out[..n]);
        // relatime: the access time moves when it is older than the last change.
        if ts_le(meta.atime, meta.mtime) || ts_le(meta.atime, meta.ctime) {
            meta.atime = now;
        }
        Ok(n)
    }

    /// Write at offset `off`, growing the file; returns the bytes written (short only when the
    /// file system fills up, `ENOSPC` if nothing fit).
    pub fn write(&mut self, node: Node, off: u64, src: &[u8]) -> Result<usize> {
        if src.is_empty() {
            return Ok(0);
        }
        let end = off.checked_add(src.len() as u64).ok_or(Errno::EFBIG)?;
        if end > i64::MAX as u64 {
            return Err(Errno::EFBIG);
        }
        let now = self.now();
        let budget = self.max_pages.saturating_sub(self.pages);
        let (data, size, meta, counted) = self.file_mut(node)?;
        let done = data.write(off, src, budget);
        let (was, now_counted) = (*counted, data.pages());
        *counted = now_counted;
        if done > 0 {
            *size = (*size).max(off + done as u64);
            meta.mtime = now;
            meta.ctime = now;
            // Writing drops set-user-id (and set-group-id with group execute), as Linux does
            // for unprivileged writers; Tine does it for all, which only matters to root.
            meta.mode &= !S_ISUID;
            if meta.mode & 0o010 != 0 {
                meta.mode &= !S_ISGID;
            }
        }
        self.pages = self.pages.saturating_sub(was) + now_counted;
        if done == 0 {
            return Err(Errno::ENOSPC);
        }
        Ok(done)
    }

    /// Set the size: pages past the end are freed, a partial last page is zeroed past the end.
    pub fn truncate(&mut self, node: Node, len: u64) -> Result<()> {
        if len > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        let now = self.now();
        let (data, size, meta, counted) = self.file_mut(node)?;
        data.truncate(len);
        let (was, now_counted) = (*counted, data.pages());
        *counted = now_counted;
        if *size != len {
            *size = len;
            meta.mtime = now;
            meta.ctime = now;
        }
        self.pages = self.pages.saturating_sub(was) + now_counted;
        Ok(())
    }

    /// Mark a file changed (for `O_TRUNC` of an already empty file, which still updates times).
    pub fn touch(&mut self, node: Node) {
        let now = self.now();
        if let Node::Mem(ino) = node
            && let Some(i) = self.inodes.get_mut(&ino)
        {
            i.meta.mtime = now;
            i.meta.ctime = now;
        }
    }

    // ---- mounts --------------------------------------------------------------------------

    /// Mount the tree rooted at `root` over directory `at`.
    pub fn mount(
        &mut self,
        at: Node,
        root: Node,
        fstype: &'static str,
        source: &[u8],
        ext: &dyn Ext,
    ) -> Result<()> {
        if !self.is_dir(at, ext) {
            return Err(Errno::ENOTDIR);
        }
        if matches!(at, Node::Ext { .. }) {
            return Err(Errno::EINVAL);
        }
        self.hold(at);
        self.mounts.push(Mount {
            at,
            root,
            fstype,
            source: source.to_vec(),
        });
        Ok(())
    }

    /// Unmount the file system whose root is `root` (the node a path to the mount point
    /// resolves to). `EBUSY` while something is mounted inside it.
    pub fn umount(&mut self, root: Node) -> Result<()> {
        let i = self
            .mounts
            .iter()
            .rposition(|m| m.root == root)
            .filter(|&i| i > 0)
            .ok_or(Errno::EINVAL)?;
        let inside: Vec<Node> = self.mounts.iter().skip(1).map(|m| m.at).collect();
        for at in inside {
            if self.mount_of(at) == Some(i) && at != self.mounts[i].at {
                return Err(Errno::EBUSY);
            }
        }
        if self.in_use(root) {
            return Err(Errno::EBUSY);
        }
        let m = self.mounts.remove(i);
        self.release(m.at);
        Ok(())
    }

    /// Drop the caller's hold on the root of a file system that is not mounted (any more, or
    /// never was because `mount` failed) and free the whole instance when nothing in it is
    /// held. A tmpfs root keeps a link count of 2 by itself, so releasing it alone would leave
    /// it and everything under it in the table for ever (found by the system-call fuzzer: a
    /// failed devtmpfs mount left 16 inodes behind).
    pub fn release_fs(&mut self, root: Node) {
        let Node::Mem(r) = root else { return };
        if self.mounts.iter().any(|m| m.root == root) {
            self.release(root);
            return;
        }
        let Some(dev) = self.inodes.get(&r).map(|i| i.meta.dev) else {
            return;
        };
        if let Some(i) = self.inodes.get_mut(&r) {
            i.opens = i.opens.saturating_sub(1);
        }
        let held = self
            .inodes
            .values()
            .any(|i| i.meta.dev == dev && i.opens > 0);
        if held {
            return;
        }
        let gone: Vec<u64> = self
            .inodes
            .iter()
            .filter(|(_, i)| i.meta.dev == dev)
            .map(|(&ino, _)| ino)
            .collect();
        for ino in gone {
            self.remove_inode(ino);
        }
    }

    /// Whether anything in the tmpfs instance rooted at `root` is held (open, a cwd) beyond
    /// the one hold the caller keeps on the root for the mount itself.
    fn in_use(&self, root: Node) -> bool {
        let Node::Mem(r) = root else { return false };
        let Some(dev) = self.inodes.get(&r).map(|i| i.meta.dev) else {
            return false;
        };
        self.inodes
            .iter()
            .filter(|(_, i)| i.meta.dev == dev)
            .any(|(&ino, i)| i.opens > u32::from(ino == r))
    }

    /// Which mount a node belongs to, by walking up to a mount root (memory nodes only).
    fn mount_of(&self, node: Node) -> Option<usize> {
        let Node::Mem(mut ino) = node else {
            return self.mounts.iter().rposition(|m| matches!((m.root, node), (Node::Ext { fs: a, .. }, Node::Ext { fs: b, .. }) if a == b));
        };
        loop {
            if let Some(i) = self.mounts.iter().rposition(|m| m.root == Node::Mem(ino)) {
                return Some(i);
            }
            match self.inodes.get(&ino).map(|i| &i.body) {
                Some(Body::Dir { parent, .. }) if *parent != ino => ino = *parent,
                _ => return None,
            }
        }
    }

    /// The mounted file systems with their paths, in mount order.
    pub fn mount_list(&self, ext: &dyn Ext) -> Vec<MountInfo> {
        let root = self.root();
        self.mounts
            .iter()
            .map(|m| MountInfo {
                path: if m.root == root {
                    b"/".to_vec()
                } else {
                    self.path_of(m.at, root, ext).unwrap_or_default()
                },
                fstype: m.fstype,
                source: m.source.clone(),
            })
            .collect()
    }
}

fn mem_only(node: Node, err: Errno) -> Result<u64> {
    match node {
        Node::Mem(i) => Ok(i),
        Node::Ext { .. } => Err(err),
    }
}
