//! System calls that name files by path: open, stat, access, readlink, mkdir, mknod, unlink,
//! rmdir, rename, link, symlink, chmod, chown, truncate, utimensat, chdir, getcwd, chroot,
//! mount, statfs. Each resolves its path with the caller's root, working directory and
//! credentials, then does its work in one hold of the VFS lock.

use alloc::vec::Vec;

use abi::errno::Errno;
use abi::layout::{Stat, Timespec};
use vfs::mode::{self, S_IFMT};
use vfs::{Attr, Cred, NewKind, Node, Parent, TimeSet, Vfs, Walk};

use super::fs::{file, install, nofile_limit};
use super::{Args, Result};
use crate::fs::dev;
use crate::fs::file::{self as f, File, FileKind, Origin};
use crate::fs::proc::Procfs;
use crate::fs::{NodeRef, pipe};
use crate::proc::creds::Creds;
use crate::proc::task::Task;

pub const AT_FDCWD: i32 = -100;
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
pub const AT_REMOVEDIR: u32 = 0x200;
pub const AT_EACCESS: u32 = 0x200;
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
pub const AT_NO_AUTOMOUNT: u32 = 0x800;
pub const AT_EMPTY_PATH: u32 = 0x1000;
const PATH_MAX: usize = vfs::PATH_MAX;

/// Who is asking, from where.
pub struct Ctx {
    creds: Creds,
    root: Node,
    cwd: Node,
    pub procfs: Procfs,
    /// access(2) checks with the real ids instead of the effective ones.
    real: bool,
}

impl Ctx {
    pub fn new(t: &Task) -> Ctx {
        let fs = t.proc.fs();
        Ctx {
            creds: t.proc.creds.lock().clone(),
            root: fs.root.lock().node(),
            cwd: fs.cwd.lock().node(),
            procfs: Procfs { caller: t.proc.pid },
            real: false,
        }
    }

    pub fn cred(&self) -> Cred<'_> {
        let c = &self.creds;
        if self.real {
            Cred {
                uid: c.uid,
                gid: c.gid,
                groups: &c.groups,
            }
        } else {
            Cred {
                uid: c.fsuid,
                gid: c.fsgid,
                groups: &c.groups,
            }
        }
    }

    pub fn walk(&self, start: Node) -> Walk<'_> {
        Walk {
            root: self.root,
            start,
            cred: self.cred(),
            ext: &self.procfs,
        }
    }
}

/// The directory a *at() call starts from (for relative paths).
fn start_dir(t: &Task, ctx: &Ctx, dirfd: i32, path: &[u8]) -> core::result::Result<Node, Errno> {
    if path.first() == Some(&b'/') || dirfd == AT_FDCWD {
        return Ok(ctx.cwd);
    }
    let fl = file(t, dirfd)?;
    match fl.node() {
        Some(n) if crate::fs::lock().is_dir(n, &ctx.procfs) => Ok(n),
        _ => Err(Errno::ENOTDIR),
    }
}

fn read_path(t: &Task, ptr: u64) -> core::result::Result<Vec<u8>, Errno> {
    let p = t.read_cstr(ptr, PATH_MAX - 1)?;
    if p.is_empty() {
        return Err(Errno::ENOENT);
    }
    Ok(p)
}

/// Resolve `path` from `dirfd` to a node (no reference taken).
fn lookup(
    t: &Task,
    ctx: &Ctx,
    dirfd: i32,
    path_ptr: u64,
    flags: u32,
) -> core::result::Result<Node, Errno> {
    let path = t.read_cstr(path_ptr, PATH_MAX - 1)?;
    if path.is_empty() {
        if flags & AT_EMPTY_PATH != 0 {
            if dirfd == AT_FDCWD {
                return Ok(ctx.cwd);
            }
            return file(t, dirfd)?.node().ok_or(Errno::EBADF);
        }
        return Err(Errno::ENOENT);
    }
    let start = start_dir(t, ctx, dirfd, &path)?;
    crate::fs::lock().resolve(&ctx.walk(start), &path, flags & AT_SYMLINK_NOFOLLOW == 0)
}

/// Resolve all but the last component.
fn parent(t: &Task, ctx: &Ctx, dirfd: i32, path_ptr: u64) -> core::result::Result<Parent, Errno> {
    let path = read_path(t, path_ptr)?;
    let start = start_dir(t, ctx, dirfd, &path)?;
    crate::fs::lock().resolve_parent(&ctx.walk(start), &path)
}

// ---- open -------------------------------------------------------------------------------

pub fn open(t: &mut Task, dirfd: i32, path_ptr: u64, flags: u32, perm: u32) -> Result {
    let ctx = Ctx::new(t);
    let path = read_path(t, path_ptr)?;
    if flags & f::O_TMPFILE == f::O_TMPFILE {
        return Err(Errno::EOPNOTSUPP);
    }
    if flags & f::O_CREAT != 0 && flags & f::O_DIRECTORY != 0 {
        return Err(Errno::EINVAL);
    }
    let start = start_dir(t, &ctx, dirfd, &path)?;
    let umask = t
        .proc
        .fs()
        .umask
        .load(core::sync::atomic::Ordering::Relaxed);
    let accmode = flags & f::O_ACCMODE;
    let path_only = flags & f::O_PATH != 0;
    let nofollow = flags & f::O_NOFOLLOW != 0;
    let excl = flags & f::O_CREAT != 0 && flags & f::O_EXCL != 0;

    let mut v = crate::fs::lock();
    let w = ctx.walk(start);
    let par = v.resolve_parent(&w, &path)?;
    let (node, created) = match v.resolve(&w, &path, !(nofollow || excl)) {
        Ok(n) => {
            if excl {
                return Err(Errno::EEXIST);
            }
            (n, false)
        }
        Err(Errno::ENOENT) if flags & f::O_CREAT != 0 && !path_only => {
            if par.slash {
                return Err(Errno::EISDIR);
            }
            // Through a dangling symlink (unless O_NOFOLLOW), the file is made at its target.
            let (dir, name) = if nofollow {
                (par.dir, par.name.clone())
            } else {
                dangling_target(&v, &ctx, par.dir, &par.name)?
            };
            let n = v.create(
                dir,
                &name,
                NewKind::File,
                perm & !umask & 0o7777,
                &ctx.cred(),
            )?;
            (n, true)
        }
        Err(e) => return Err(e),
    };
    let attr = v.attr(node, &ctx.procfs)?;
    let ftype = attr.mode & S_IFMT;
    if flags & f::O_DIRECTORY != 0 && ftype != mode::S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    if ftype == mode::S_IFLNK && !path_only {
        return Err(Errno::ELOOP);
    }
    if !path_only && !created {
        let want = match accmode {
            f::O_RDONLY => mode::R_OK,
            f::O_WRONLY => mode::W_OK,
            _ => mode::R_OK | mode::W_OK,
        } | if flags & f::O_TRUNC != 0 {
            mode::W_OK
        } else {
            0
        };
        if !ctx.cred().may(&attr, want) {
            return Err(Errno::EACCES);
        }
    }
    let writing = accmode != f::O_RDONLY || flags & f::O_TRUNC != 0;
    let kind = if path_only {
        FileKind::Path
    } else {
        match (ftype, node) {
            (mode::S_IFDIR, _) if writing => return Err(Errno::EISDIR),
            (mode::S_IFDIR, _) => FileKind::Node,
            (mode::S_IFREG, Node::Ext { id, .. }) => {
                if writing {
                    return Err(Errno::EACCES);
                }
                FileKind::Text(crate::fs::proc::content(&v, id, t.proc.pid)?)
            }
            (mode::S_IFREG, _) => {
                if flags & f::O_TRUNC != 0 && !created {
                    v.truncate(node, 0)?;
                    v.touch(node);
                }
                FileKind::Node
            }
            (mode::S_IFCHR, _) if attr.rdev == mode::makedev(5, 2) => {
                let c = &ctx.creds;
                let pty = crate::fs::pty::open_master(&mut v, c.euid, c.egid)?;
                FileKind::Pty { pty, master: true }
            }
            (mode::S_IFCHR, _) if mode::major(attr.rdev) == 136 => {
                let pty = crate::fs::pty::lookup(mode::minor(attr.rdev)).ok_or(Errno::EIO)?;
                if pty.locked.load(core::sync::atomic::Ordering::Relaxed) {
                    return Err(Errno::EIO);
                }
                pty.slave_opened();
                // A session leader opening a terminal that no session owns yet makes it its
                // controlling terminal (unless O_NOCTTY), as on Linux.
                let leader = t.proc.sid.load(core::sync::atomic::Ordering::Relaxed) == t.proc.pid;
                if leader
                    && flags & f::O_NOCTTY == 0
                    && pty
                        .tty
                        .foreground
                        .load(core::sync::atomic::Ordering::Relaxed)
                        == 0
                {
                    pty.tty.foreground.store(
                        t.proc.pgid.load(core::sync::atomic::Ordering::Relaxed),
                        core::sync::atomic::Ordering::Relaxed,
                    );
                }
                FileKind::Pty { pty, master: false }
            }
            (mode::S_IFCHR, _) => FileKind::Dev(dev::by_rdev(attr.rdev)?),
            (mode::S_IFIFO, _) => {
                let write = accmode != f::O_RDONLY;
                FileKind::Pipe {
                    pipe: pipe::fifo(node),
                    write,
                }
            }
            _ => return Err(Errno::ENXIO),
        }
    };
    let origin = Origin {
        node: NodeRef::new(&mut v, node),
        dir: Some(NodeRef::new(&mut v, par.dir)),
        name: par.name,
    };
    drop(v);
    // A FIFO opened for one direction waits for the other side, as on Linux.
    if let FileKind::Pipe { pipe, write } = &kind {
        let (pipe, write) = (pipe.clone(), *write);
        let seen = pipe.peer_opens(write);
        let fl = File::new(kind, Some(origin), flags);
        let nonblock = flags & f::O_NONBLOCK != 0;
        if nonblock && write && pipe.buf.lock().readers == 0 {
            return Err(Errno::ENXIO);
        }
        if !nonblock && accmode != f::O_RDWR {
            pipe.wait_for_peer(write, seen)?;
        }
        return install(t, fl, flags & f::O_CLOEXEC != 0);
    }
    let fl = File::new(kind, Some(origin), flags);
    install(t, fl, flags & f::O_CLOEXEC != 0)
}

/// Where `O_CREAT` creates `name` in `dir`: there, or, if the name is a dangling symbolic link
/// (chain), at the place its target names.
fn dangling_target(
    v: &Vfs,
    ctx: &Ctx,
    mut dir: Node,
    name: &[u8],
) -> core::result::Result<(Node, Vec<u8>), Errno> {
    let mut name = name.to_vec();
    for _ in 0..vfs::MAX_SYMLINKS {
        let Ok(n) = v.child(dir, &name, &ctx.procfs) else {
            return Ok((dir, name));
        };
        if !v.attr(n, &ctx.procfs).is_ok_and(|a| mode::is_lnk(a.mode)) {
            return Ok((dir, name));
        }
        let target = v.readlink(n, &ctx.procfs)?;
        let p = v.resolve_parent(&ctx.walk(dir), &target)?;
        if p.slash {
            return Err(Errno::EISDIR);
        }
        (dir, name) = (p.dir, p.name);
    }
    Err(Errno::ELOOP)
}

pub fn creat(t: &mut Task, a: Args) -> Result {
    open(
        t,
        AT_FDCWD,
        a.0[0],
        f::O_CREAT | f::O_WRONLY | f::O_TRUNC,
        a.u32(1),
    )
}

// ---- stat -------------------------------------------------------------------------------

/// What fstat reports for files without a node: the boot console and anonymous pipes.
fn attr_of_file(v: &Vfs, fl: &File, ext: &Procfs) -> core::result::Result<Attr, Errno> {
    if let Some(n) = fl.node() {
        return v.attr(n, ext);
    }
    let boot = crate::fs::boot_time();
    Ok(match &fl.kind {
        FileKind::Socket(s) => Attr {
            ino: s.rx.id(),
            dev: 0x8,
            mode: mode::S_IFSOCK | 0o777,
            nlink: 1,
            atime: boot,
            mtime: boot,
            ctime: boot,
            ..Attr::default()
        },
        // Anonymous inodes (eventfd, epoll) have no file type bits.
        FileKind::EventFd(_) | FileKind::Epoll(_) => Attr {
            ino: 1,
            dev: 0xe,
            mode: 0o600,
            nlink: 1,
            atime: boot,
            mtime: boot,
            ctime: boot,
            ..Attr::default()
        },
        FileKind::Pipe { pipe, .. } => Attr {
            ino: pipe.id(),
            dev: 0xc,
            mode: mode::S_IFIFO | 0o600,
            nlink: 1,
            blocks: 0,
            atime: boot,
            mtime: boot,
            ctime: boot,
            ..Attr::default()
        },
        _ => Attr {
            ino: 1,
            dev: 5,
            mode: mode::S_IFCHR | 0o600,
            nlink: 1,
            rdev: mode::makedev(5, 1),
            atime: boot,
            mtime: boot,
            ctime: boot,
            ..Attr::default()
        },
    })
}

fn to_stat(a: &Attr) -> Stat {
    Stat {
        dev: a.dev,
        ino: a.ino,
        nlink: u64::from(a.nlink),
        mode: a.mode,
        uid: a.uid,
        gid: a.gid,
        rdev: a.rdev,
        size: a.size as i64,
        blksize: 4096,
        blocks: a.blocks as i64,
        atime: a.atime,
        mtime: a.mtime,
        ctime: a.ctime,
    }
}

pub fn fstat(t: &mut Task, a: Args) -> Result {
    let fl = file(t, a.i32(0))?;
    let ctx = Procfs { caller: t.proc.pid };
    let attr = attr_of_file(&crate::fs::lock(), &fl, &ctx)?;
    t.write_user(a.0[1], &to_stat(&attr).to_bytes())?;
    Ok(0)
}

fn attr_at(t: &Task, dirfd: i32, path: u64, flags: u32) -> core::result::Result<Attr, Errno> {
    let ctx = Ctx::new(t);
    if flags & AT_EMPTY_PATH != 0 && t.read_cstr(path, 1).is_ok_and(|p| p.is_empty()) {
        if dirfd == AT_FDCWD {
            return crate::fs::lock().attr(ctx.cwd, &ctx.procfs);
        }
        let fl = file(t, dirfd)?;
        return attr_of_file(&crate::fs::lock(), &fl, &ctx.procfs);
    }
    let node = lookup(t, &ctx, dirfd, path, flags)?;
    crate::fs::lock().attr(node, &ctx.procfs)
}

pub fn stat_at(t: &mut Task, dirfd: i32, path: u64, buf: u64, flags: u32) -> Result {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    let attr = attr_at(t, dirfd, path, flags)?;
    t.write_user(buf, &to_stat(&attr).to_bytes())?;
    Ok(0)
}

pub fn statx(t: &mut Task, a: Args) -> Result {
    let (dirfd, path, flags, _mask, buf) = (a.i32(0), a.0[1], a.u32(2), a.u32(3), a.0[4]);
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | 0x6000) != 0 {
        return Err(Errno::EINVAL);
    }
    let at = attr_at(t, dirfd, path, flags)?;
    // struct statx: 256 bytes.
    let mut b = [0u8; 256];
    let put32 = |b: &mut [u8; 256], o: usize, v: u32| b[o..o + 4].copy_from_slice(&v.to_le_bytes());
    let put64 = |b: &mut [u8; 256], o: usize, v: u64| b[o..o + 8].copy_from_slice(&v.to_le_bytes());
    const STATX_BASIC_STATS: u32 = 0x7ff;
    put32(&mut b, 0, STATX_BASIC_STATS);
    put32(&mut b, 4, 4096);
    put32(&mut b, 0x10, at.nlink);
    put32(&mut b, 0x14, at.uid);
    put32(&mut b, 0x18, at.gid);
    b[0x1c..0x1e].copy_from_slice(&(at.mode as u16).to_le_bytes());
    put64(&mut b, 0x20, at.ino);
    put64(&mut b, 0x28, at.size);
    put64(&mut b, 0x30, at.blocks);
    for (off, ts) in [(0x40, at.atime), (0x60, at.ctime), (0x70, at.mtime)] {
        put64(&mut b, off, ts.sec as u64);
        put32(&mut b, off + 8, ts.nsec as u32);
    }
    put32(&mut b, 0x80, mode::major(at.rdev));
    put32(&mut b, 0x84, mode::minor(at.rdev));
    put32(&mut b, 0x88, mode::major(at.dev));
    put32(&mut b, 0x8c, mode::minor(at.dev));
    t.write_user(buf, &b)?;
    Ok(0)
}

pub fn faccessat(t: &mut Task, dirfd: i32, path: u64, want: u32, flags: u32) -> Result {
    if want & !7 != 0 || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let mut ctx = Ctx::new(t);
    ctx.real = flags & AT_EACCESS == 0;
    let node = lookup(t, &ctx, dirfd, path, flags)?;
    let attr = crate::fs::lock().attr(node, &ctx.procfs)?;
    if want != 0 && !ctx.cred().may(&attr, want) {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

pub fn readlinkat(t: &mut Task, dirfd: i32, path: u64, buf: u64, size: u64) -> Result {
    if (size as i64) <= 0 {
        return Err(Errno::EINVAL);
    }
    let ctx = Ctx::new(t);
    let target = {
        let pathb = t.read_cstr(path, PATH_MAX - 1)?;
        let node = if pathb.is_empty() {
            lookup(t, &ctx, dirfd, path, AT_EMPTY_PATH)?
        } else {
            lookup(t, &ctx, dirfd, path, AT_SYMLINK_NOFOLLOW)?
        };
        crate::fs::lock().readlink(node, &ctx.procfs)?
    };
    let n = target.len().min(size as usize);
    t.write_user(buf, &target[..n])?;
    Ok(n as u64)
}

// ---- names ------------------------------------------------------------------------------

pub fn mkdirat(t: &mut Task, dirfd: i32, path: u64, perm: u32) -> Result {
    let ctx = Ctx::new(t);
    let p = parent(t, &ctx, dirfd, path)?;
    let umask = t
        .proc
        .fs()
        .umask
        .load(core::sync::atomic::Ordering::Relaxed);
    crate::fs::lock().create(
        p.dir,
        &p.name,
        NewKind::Dir,
        perm & !umask & 0o1777,
        &ctx.cred(),
    )?;
    Ok(0)
}

pub fn mknodat(t: &mut Task, dirfd: i32, path: u64, mode_: u32, dev: u64) -> Result {
    let ctx = Ctx::new(t);
    let kind = match mode_ & S_IFMT {
        0 | mode::S_IFREG => NewKind::File,
        mode::S_IFIFO | mode::S_IFSOCK => NewKind::Special {
            kind: mode_ & S_IFMT,
            rdev: 0,
        },
        mode::S_IFCHR | mode::S_IFBLK => {
            if ctx.creds.euid != 0 {
                return Err(Errno::EPERM);
            }
            NewKind::Special {
                kind: mode_ & S_IFMT,
                rdev: dev,
            }
        }
        mode::S_IFDIR => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    };
    let p = parent(t, &ctx, dirfd, path)?;
    if p.slash {
        return Err(Errno::ENOENT);
    }
    let umask = t
        .proc
        .fs()
        .umask
        .load(core::sync::atomic::Ordering::Relaxed);
    crate::fs::lock().create(p.dir, &p.name, kind, mode_ & !umask & 0o7777, &ctx.cred())?;
    Ok(0)
}

pub fn unlinkat(t: &mut Task, dirfd: i32, path: u64, flags: u32) -> Result {
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let ctx = Ctx::new(t);
    let p = parent(t, &ctx, dirfd, path)?;
    let mut v = crate::fs::lock();
    if flags & AT_REMOVEDIR != 0 {
        v.rmdir(p.dir, &p.name, &ctx.cred())?;
    } else {
        if p.slash {
            // "file/" names a directory that is not there, or a directory unlink refuses.
            return Err(match v.child(p.dir, &p.name, &ctx.procfs) {
                Ok(n) if v.is_dir(n, &ctx.procfs) => Errno::EISDIR,
                Ok(_) => Errno::ENOTDIR,
                Err(e) => e,
            });
        }
        v.unlink(p.dir, &p.name, &ctx.cred())?;
    }
    Ok(0)
}

pub fn renameat2(t: &mut Task, odir: i32, opath: u64, ndir: i32, npath: u64, flags: u32) -> Result {
    let ctx = Ctx::new(t);
    let o = parent(t, &ctx, odir, opath)?;
    let n = parent(t, &ctx, ndir, npath)?;
    let mut v = crate::fs::lock();
    if o.slash || n.slash {
        // Trailing slashes are allowed only when renaming a directory.
        let src = v.child(o.dir, &o.name, &ctx.procfs)?;
        if !v.is_dir(src, &ctx.procfs) {
            return Err(Errno::ENOTDIR);
        }
    }
    v.rename(o.dir, &o.name, n.dir, &n.name, flags, &ctx.cred())?;
    Ok(0)
}

pub fn linkat(t: &mut Task, odir: i32, opath: u64, ndir: i32, npath: u64, flags: u32) -> Result {
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let ctx = Ctx::new(t);
    let follow = if flags & AT_SYMLINK_FOLLOW != 0 {
        0
    } else {
        AT_SYMLINK_NOFOLLOW
    };
    let target = lookup(t, &ctx, odir, opath, follow | (flags & AT_EMPTY_PATH))?;
    let n = parent(t, &ctx, ndir, npath)?;
    if n.slash {
        return Err(Errno::ENOENT);
    }
    crate::fs::lock().link(target, n.dir, &n.name, &ctx.cred())?;
    Ok(0)
}

pub fn symlinkat(t: &mut Task, target: u64, dirfd: i32, path: u64) -> Result {
    let ctx = Ctx::new(t);
    let target = read_path(t, target)?;
    let p = parent(t, &ctx, dirfd, path)?;
    if p.slash {
        return Err(Errno::ENOENT);
    }
    crate::fs::lock().create(
        p.dir,
        &p.name,
        NewKind::Symlink(&target),
        0o777,
        &ctx.cred(),
    )?;
    Ok(0)
}

// ---- attributes -------------------------------------------------------------------------

/// The node of an fd-based call (fchmod, fchown, ftruncate...).
fn fd_node(t: &Task, fd: i32) -> core::result::Result<Node, Errno> {
    file(t, fd)?.node().ok_or(Errno::EINVAL)
}

pub fn fchmodat(t: &mut Task, dirfd: i32, path: u64, perm: u32, flags: u32) -> Result {
    let ctx = Ctx::new(t);
    let node = lookup(t, &ctx, dirfd, path, flags)?;
    crate::fs::lock().chmod(node, perm, &ctx.cred())?;
    Ok(0)
}

pub fn fchmod(t: &mut Task, a: Args) -> Result {
    let ctx = Ctx::new(t);
    let node = fd_node(t, a.i32(0))?;
    crate::fs::lock().chmod(node, a.u32(1), &ctx.cred())?;
    Ok(0)
}

fn id_arg(v: u32) -> Option<u32> {
    (v != u32::MAX).then_some(v)
}

pub fn fchownat(t: &mut Task, dirfd: i32, path: u64, uid: u32, gid: u32, flags: u32) -> Result {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let ctx = Ctx::new(t);
    let node = lookup(t, &ctx, dirfd, path, flags)?;
    crate::fs::lock().chown(node, id_arg(uid), id_arg(gid), &ctx.cred())?;
    Ok(0)
}

pub fn fchown(t: &mut Task, a: Args) -> Result {
    let ctx = Ctx::new(t);
    let node = fd_node(t, a.i32(0))?;
    crate::fs::lock().chown(node, id_arg(a.u32(1)), id_arg(a.u32(2)), &ctx.cred())?;
    Ok(0)
}

fn truncate_node(ctx: &Ctx, v: &mut Vfs, node: Node, len: i64) -> core::result::Result<(), Errno> {
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let attr = v.attr(node, &ctx.procfs)?;
    if mode::is_dir(attr.mode) {
        return Err(Errno::EISDIR);
    }
    if !mode::is_reg(attr.mode) {
        return Err(Errno::EINVAL);
    }
    v.truncate(node, len as u64)
}

pub fn truncate(t: &mut Task, a: Args) -> Result {
    let ctx = Ctx::new(t);
    let node = lookup(t, &ctx, AT_FDCWD, a.0[0], 0)?;
    let mut v = crate::fs::lock();
    let attr = v.attr(node, &ctx.procfs)?;
    if !mode::is_dir(attr.mode) && !ctx.cred().may(&attr, mode::W_OK) {
        return Err(Errno::EACCES);
    }
    truncate_node(&ctx, &mut v, node, a.0[1] as i64)?;
    Ok(0)
}

pub fn ftruncate(t: &mut Task, a: Args) -> Result {
    let ctx = Ctx::new(t);
    let fl = file(t, a.i32(0))?;
    if !fl.writable() || !matches!(fl.kind, FileKind::Node) {
        return Err(Errno::EINVAL);
    }
    let node = fl.node().ok_or(Errno::EINVAL)?;
    truncate_node(&ctx, &mut crate::fs::lock(), node, a.0[1] as i64)?;
    Ok(0)
}

pub fn fallocate(t: &mut Task, a: Args) -> Result {
    let (fd, fmode, off, len) = (a.i32(0), a.u32(1), a.0[2] as i64, a.0[3] as i64);
    let fl = file(t, fd)?;
    if off < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    if !fl.writable() {
        return Err(Errno::EBADF);
    }
    if fmode != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let node = match (&fl.kind, fl.node()) {
        (FileKind::Node, Some(n)) => n,
        (FileKind::Pipe { .. }, _) => return Err(Errno::ESPIPE),
        _ => return Err(Errno::ENODEV),
    };
    let end = off.checked_add(len).ok_or(Errno::EFBIG)? as u64;
    let mut v = crate::fs::lock();
    if v.attr(node, &vfs::NoExt)?.size < end {
        v.truncate(node, end)?;
    }
    Ok(0)
}

const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;

fn time_set(ts: Timespec) -> core::result::Result<TimeSet, Errno> {
    match ts.nsec {
        UTIME_NOW => Ok(TimeSet::Now),
        UTIME_OMIT => Ok(TimeSet::Omit),
        n if (0..1_000_000_000).contains(&n) => Ok(TimeSet::At(ts)),
        _ => Err(Errno::EINVAL),
    }
}

pub fn utimensat(t: &mut Task, a: Args) -> Result {
    let (dirfd, path, times, flags) = (a.i32(0), a.0[1], a.0[2], a.u32(3));
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let (at, mt) = if times == 0 {
        (TimeSet::Now, TimeSet::Now)
    } else {
        let mut b = [0u8; 32];
        t.read_user(times, &mut b)?;
        let ts = |o: usize| Timespec {
            sec: i64::from_le_bytes(b[o..o + 8].try_into().unwrap_or_default()),
            nsec: i64::from_le_bytes(b[o + 8..o + 16].try_into().unwrap_or_default()),
        };
        (time_set(ts(0))?, time_set(ts(16))?)
    };
    let ctx = Ctx::new(t);
    // A null path means the file dirfd refers to (futimens).
    let node = if path == 0 {
        fd_node(t, dirfd)?
    } else {
        lookup(t, &ctx, dirfd, path, flags)?
    };
    crate::fs::lock().set_times(node, at, mt, &ctx.cred())?;
    Ok(0)
}

// ---- directories and the namespace ------------------------------------------------------

fn set_dir(t: &Task, ctx: &Ctx, node: Node, root: bool) -> core::result::Result<(), Errno> {
    let mut v = crate::fs::lock();
    let attr = v.attr(node, &ctx.procfs)?;
    if !mode::is_dir(attr.mode) {
        return Err(Errno::ENOTDIR);
    }
    if !ctx.cred().may(&attr, mode::X_OK) {
        return Err(Errno::EACCES);
    }
    let r = NodeRef::new(&mut v, node);
    drop(v);
    let old = if root {
        core::mem::replace(&mut *t.proc.fs().root.lock(), r)
    } else {
        core::mem::replace(&mut *t.proc.fs().cwd.lock(), r)
    };
    drop(old);
    Ok(())
}

pub fn chdir(t: &mut Task, a: Args) -> Result {
    let ctx = Ctx::new(t);
    let node = lookup(t, &ctx, AT_FDCWD, a.0[0], 0)?;
    set_dir(t, &ctx, node, false)?;
    Ok(0)
}

pub fn fchdir(t: &mut Task, a: Args) -> Result {
    let ctx = Ctx::new(t);
    let node = fd_node(t, a.i32(0)).map_err(|_| Errno::EBADF)?;
    set_dir(t, &ctx, node, false)?;
    Ok(0)
}

pub fn chroot(t: &mut Task, a: Args) -> Result {
    let ctx = Ctx::new(t);
    if ctx.creds.euid != 0 {
        return Err(Errno::EPERM);
    }
    let node = lookup(t, &ctx, AT_FDCWD, a.0[0], 0)?;
    set_dir(t, &ctx, node, true)?;
    Ok(0)
}

pub fn getcwd(t: &mut Task, a: Args) -> Result {
    let ctx = Ctx::new(t);
    let path = crate::fs::lock().path_of(ctx.cwd, ctx.root, &ctx.procfs)?;
    if (path.len() + 1) as u64 > a.0[1] {
        return Err(Errno::ERANGE);
    }
    t.write_user(a.0[0], &path)?;
    t.write_user(a.0[0] + path.len() as u64, &[0])?;
    Ok((path.len() + 1) as u64)
}

pub fn mount(t: &mut Task, a: Args) -> Result {
    let ctx = Ctx::new(t);
    if ctx.creds.euid != 0 {
        return Err(Errno::EPERM);
    }
    let source = if a.0[0] != 0 {
        t.read_cstr(a.0[0], PATH_MAX - 1)?
    } else {
        Vec::new()
    };
    let fstype = if a.0[2] != 0 {
        t.read_cstr(a.0[2], 64)?
    } else {
        Vec::new()
    };
    const MS_REMOUNT: u64 = 32;
    const MS_BIND: u64 = 4096;
    if a.0[3] & (MS_REMOUNT | MS_BIND) != 0 {
        // Remounts change options Tine does not keep; binds are not supported yet.
        return if a.0[3] & MS_REMOUNT != 0 {
            Ok(0)
        } else {
            Err(Errno::EINVAL)
        };
    }
    let at = lookup(t, &ctx, AT_FDCWD, a.0[1], 0)?;
    let mut v = crate::fs::lock();
    let (root, name): (Node, &'static str) = match fstype.as_slice() {
        b"tmpfs" => (v.new_tmpfs(0o1777), "tmpfs"),
        b"proc" => (crate::fs::proc::root(), "proc"),
        b"devtmpfs" => {
            let r = v.new_tmpfs(0o755);
            drop(v);
            crate::fs::dev::populate_dir(r);
            v = crate::fs::lock();
            (r, "devtmpfs")
        }
        b"sysfs" | b"devpts" | b"cgroup" | b"cgroup2" | b"securityfs" | b"debugfs" => {
            return Err(Errno::ENODEV);
        }
        _ => return Err(Errno::ENODEV),
    };
    // A new tmpfs root lives while it is mounted.
    v.hold(root);
    if let Err(e) = v.mount(at, root, name, &source, &ctx.procfs) {
        v.release_fs(root);
        return Err(e);
    }
    Ok(0)
}

pub fn umount2(t: &mut Task, a: Args) -> Result {
    let ctx = Ctx::new(t);
    if ctx.creds.euid != 0 {
        return Err(Errno::EPERM);
    }
    let node = lookup(t, &ctx, AT_FDCWD, a.0[0], 0)?;
    let mut v = crate::fs::lock();
    v.umount(node)?;
    v.release_fs(node);
    Ok(0)
}

fn statfs_of(v: &Vfs, node: Node, ext: &Procfs) -> core::result::Result<[u8; 120], Errno> {
    let attr = v.attr(node, ext)?;
    // struct statfs: type, bsize, blocks, bfree, bavail, files, ffree, fsid[2], namelen,
    // frsize, flags, spare[4] — 120 bytes.
    let (magic, blocks, free) = match node {
        Node::Ext { .. } => (0x9fa0u64, 0, 0),
        Node::Mem(_) => {
            let used = v.pages() as u64;
            (
                0x0102_1994,
                v.max_pages as u64,
                (v.max_pages as u64).saturating_sub(used),
            )
        }
    };
    let mut b = [0u8; 120];
    let vals = [
        magic,
        4096,
        blocks,
        free,
        free,
        1 << 20,
        1 << 20,
        attr.dev,
        255,
        4096,
        0x20,
    ];
    for (i, x) in vals.iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&x.to_le_bytes());
    }
    Ok(b)
}

pub fn statfs(t: &mut Task, a: Args) -> Result {
    let ctx = Ctx::new(t);
    let node = lookup(t, &ctx, AT_FDCWD, a.0[0], 0)?;
    let b = statfs_of(&crate::fs::lock(), node, &ctx.procfs)?;
    t.write_user(a.0[1], &b)?;
    Ok(0)
}

pub fn fstatfs(t: &mut Task, a: Args) -> Result {
    let ctx = Ctx::new(t);
    let node = fd_node(t, a.i32(0))?;
    let b = statfs_of(&crate::fs::lock(), node, &ctx.procfs)?;
    t.write_user(a.0[1], &b)?;
    Ok(0)
}

/// fsync and friends: everything is in memory, so only the descriptor is checked.
pub fn fsync(t: &mut Task, a: Args) -> Result {
    file(t, a.i32(0))?;
    Ok(0)
}

#[allow(dead_code)]
fn _limit(t: &Task) -> usize {
    nofile_limit(t)
}
