//! File system calls over the first-version file layer (console, /dev/null, read-only files of
//! the in-memory tree): open, read, write, vectored I/O, seek, stat, poll, fcntl, dup, cwd.

use alloc::sync::Arc;
use alloc::vec::Vec;

use abi::errno::Errno;
use abi::layout::{Stat, Timespec};

use super::{Args, Result};
use crate::fs::file::{self, File, FileKind};
use crate::fs::ramfs::{self, Node, NodeKind};
use crate::proc::task::Task;

pub const AT_FDCWD: i32 = -100;
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
pub const AT_EMPTY_PATH: u32 = 0x1000;
const PATH_MAX: usize = 4096;
/// Largest single transfer, as Linux's MAX_RW_COUNT (INT_MAX rounded down to a page).
const MAX_RW: u64 = 0x7fff_f000;

fn nofile_limit(t: &Task) -> usize {
    let l = t.proc.rlimits.lock()[abi::layout::RLIMIT_NOFILE as usize].cur;
    l.min(1 << 20) as usize
}

fn file(t: &Task, fd: i32) -> core::result::Result<Arc<File>, Errno> {
    t.proc.fds.lock().get(fd)
}

/// The directory a *at() call starts from.
fn base_dir(t: &Task, dirfd: i32, path: &[u8]) -> core::result::Result<Arc<Node>, Errno> {
    if path.first() == Some(&b'/') || dirfd == AT_FDCWD {
        return Ok(t.proc.cwd.lock().clone());
    }
    match &file(t, dirfd)?.kind {
        FileKind::Ram(n) if n.is_dir() => Ok(n.clone()),
        _ => Err(Errno::ENOTDIR),
    }
}

fn resolve(
    t: &Task,
    dirfd: i32,
    path_ptr: u64,
    flags: u32,
) -> core::result::Result<Arc<Node>, Errno> {
    let path = t.read_cstr(path_ptr, PATH_MAX - 1)?;
    if path.is_empty() {
        if flags & AT_EMPTY_PATH != 0 {
            return match &file(t, dirfd)?.kind {
                FileKind::Ram(n) => Ok(n.clone()),
                _ => Err(Errno::ENOENT),
            };
        }
        return Err(Errno::ENOENT);
    }
    let base = base_dir(t, dirfd, &path)?;
    ramfs::lookup(&base, &path, flags & AT_SYMLINK_NOFOLLOW == 0)
}

pub fn openat(t: &mut Task, dirfd: i32, path_ptr: u64, flags: u32, _mode: u32) -> Result {
    let path = t.read_cstr(path_ptr, PATH_MAX - 1)?;
    let kind = match path.as_slice() {
        b"/dev/console" | b"/dev/tty" => FileKind::Console,
        b"/dev/null" => FileKind::Null,
        _ => {
            let base = base_dir(t, dirfd, &path)?;
            let node = match ramfs::lookup(&base, &path, flags & file::O_NOFOLLOW == 0) {
                Ok(n) => n,
                Err(Errno::ENOENT) if flags & file::O_CREAT != 0 => return Err(Errno::EROFS),
                Err(e) => return Err(e),
            };
            if flags & file::O_DIRECTORY != 0 && !node.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            if matches!(node.kind, NodeKind::Symlink(_)) {
                return Err(Errno::ELOOP);
            }
            if flags & file::O_ACCMODE != 0 || flags & file::O_TRUNC != 0 {
                // The in-memory tree is read-only until the files issue brings tmpfs.
                return Err(if node.is_dir() {
                    Errno::EISDIR
                } else {
                    Errno::EROFS
                });
            }
            FileKind::Ram(node)
        }
    };
    let limit = nofile_limit(t);
    let fd = t.proc.fds.lock().install(
        File::new(kind, flags),
        flags & file::O_CLOEXEC != 0,
        0,
        limit,
    )?;
    Ok(fd as u64)
}

pub fn close(t: &mut Task, a: Args) -> Result {
    t.proc.fds.lock().close(a.i32(0))?;
    Ok(0)
}

/// Read from an open file at `pos` (None: the file offset) into user memory.
fn read_file(t: &Task, f: &File, buf: u64, len: u64, pos: Option<u64>) -> Result {
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    let len = len.min(MAX_RW);
    match &f.kind {
        FileKind::Null => Ok(0),
        FileKind::Console => {
            if len == 0 {
                return Ok(0);
            }
            let mut tmp = alloc::vec![0u8; len.min(4096) as usize];
            let n = crate::console::read(&mut tmp);
            t.write_user(buf, &tmp[..n])?;
            Ok(n as u64)
        }
        FileKind::Ram(node) => {
            if node.is_dir() {
                return Err(Errno::EISDIR);
            }
            let data = node.data().ok_or(Errno::EINVAL)?;
            let mut off = f.offset.lock();
            let at = pos.unwrap_or(*off);
            let start = (at as usize).min(data.len());
            let end = start.saturating_add(len as usize).min(data.len());
            t.write_user(buf, &data[start..end])?;
            if pos.is_none() {
                *off = end as u64;
            }
            Ok((end - start) as u64)
        }
    }
}

fn write_file(t: &Task, f: &File, buf: u64, len: u64) -> Result {
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    let len = len.min(MAX_RW);
    match &f.kind {
        FileKind::Null => Ok(len),
        FileKind::Console => {
            let mut done = 0u64;
            let mut chunk = [0u8; 512];
            while done < len {
                let n = (len - done).min(chunk.len() as u64) as usize;
                t.read_user(buf + done, &mut chunk[..n])?;
                crate::console::write(&chunk[..n]);
                done += n as u64;
            }
            Ok(done)
        }
        FileKind::Ram(_) => Err(Errno::EBADF),
    }
}

pub fn read(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    read_file(t, &f, a.0[1], a.0[2], None)
}

pub fn pread(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    if (a.0[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    match f.kind {
        FileKind::Ram(_) => read_file(t, &f, a.0[1], a.0[2], Some(a.0[3])),
        _ => Err(Errno::ESPIPE),
    }
}

pub fn write(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    write_file(t, &f, a.0[1], a.0[2])
}

/// Read the iovec array (at most IOV_MAX = 1024 entries).
fn iovecs(t: &Task, ptr: u64, count: u64) -> core::result::Result<Vec<(u64, u64)>, Errno> {
    if count > 1024 {
        return Err(Errno::EINVAL);
    }
    let mut v = Vec::new();
    for i in 0..count {
        let base = t.read_u64(ptr + i * 16)?;
        let len = t.read_u64(ptr + i * 16 + 8)?;
        if len > MAX_RW {
            return Err(Errno::EINVAL);
        }
        v.push((base, len));
    }
    Ok(v)
}

pub fn writev(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    let mut total = 0;
    for (base, len) in iovecs(t, a.0[1], a.0[2])? {
        total += write_file(t, &f, base, len)?;
    }
    Ok(total)
}

pub fn readv(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    let mut total = 0;
    for (base, len) in iovecs(t, a.0[1], a.0[2])? {
        let n = read_file(t, &f, base, len, None)?;
        total += n;
        if n < len {
            break;
        }
    }
    Ok(total)
}

pub fn lseek(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    let FileKind::Ram(node) = &f.kind else {
        return Err(Errno::ESPIPE);
    };
    let mut off = f.offset.lock();
    let base = match a.u32(2) {
        0 => 0i64,
        1 => *off as i64,
        2 => node.size() as i64,
        _ => return Err(Errno::EINVAL),
    };
    let new = base
        .checked_add(a.0[1] as i64)
        .filter(|&n| n >= 0)
        .ok_or(Errno::EINVAL)?;
    *off = new as u64;
    Ok(new as u64)
}

fn stat_of(node: Option<&Node>, console: bool) -> Stat {
    let mut s = Stat::default();
    match node {
        Some(n) => {
            s.dev = 1;
            s.ino = n.ino;
            s.mode = n.mode;
            s.nlink = if n.is_dir() { 2 } else { 1 };
            s.uid = n.uid;
            s.gid = n.gid;
            s.size = n.size() as i64;
            s.blksize = 4096;
            s.blocks = (n.size() as i64 + 511) / 512;
            let ts = Timespec {
                sec: n.mtime as i64,
                nsec: 0,
            };
            s.atime = ts;
            s.mtime = ts;
            s.ctime = ts;
            if let NodeKind::CharDev(ma, mi) = n.kind {
                s.rdev = u64::from((ma << 8) | mi);
            }
        }
        None => {
            s.dev = 5;
            s.mode = ramfs::S_IFCHR | 0o620;
            s.rdev = if console { (5 << 8) | 1 } else { (1 << 8) | 3 };
            s.blksize = 1024;
            s.nlink = 1;
        }
    }
    s
}

pub fn fstat(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    let s = match &f.kind {
        FileKind::Ram(n) => stat_of(Some(n), false),
        FileKind::Console => stat_of(None, true),
        FileKind::Null => stat_of(None, false),
    };
    t.write_user(a.0[1], &s.to_bytes())?;
    Ok(0)
}

pub fn stat_path(t: &mut Task, dirfd: i32, path: u64, buf: u64, flags: u32) -> Result {
    if flags & AT_EMPTY_PATH != 0 && t.read_cstr(path, 1).is_ok_and(|p| p.is_empty()) {
        return fstat(t, Args([dirfd as u64, buf, 0, 0, 0, 0]));
    }
    let node = resolve(t, dirfd, path, flags)?;
    t.write_user(buf, &stat_of(Some(&node), false).to_bytes())?;
    Ok(0)
}

pub fn faccessat(t: &mut Task, dirfd: i32, path: u64, mode: u32) -> Result {
    let node = resolve(t, dirfd, path, 0)?;
    if mode & 2 != 0 {
        return Err(Errno::EROFS);
    }
    if mode & 1 != 0 && node.mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

pub fn readlinkat(t: &mut Task, dirfd: i32, path: u64, buf: u64, size: u64) -> Result {
    if (size as i64) <= 0 {
        return Err(Errno::EINVAL);
    }
    let node = resolve(t, dirfd, path, AT_SYMLINK_NOFOLLOW)?;
    let NodeKind::Symlink(target) = &node.kind else {
        return Err(Errno::EINVAL);
    };
    let n = target.len().min(size as usize);
    t.write_user(buf, &target.as_bytes()[..n])?;
    Ok(n as u64)
}

pub fn poll(t: &mut Task, a: Args) -> Result {
    let (fds, nfds) = (a.0[0], a.0[1]);
    if nfds > nofile_limit(t) as u64 {
        return Err(Errno::EINVAL);
    }
    const POLLIN: i16 = 1;
    const POLLOUT: i16 = 4;
    const POLLNVAL: i16 = 0x20;
    let timeout_ms = a.i32(2);
    let deadline =
        (timeout_ms >= 0).then(|| hal::time::uptime_ns() + timeout_ms as u64 * 1_000_000);
    loop {
        let mut ready = 0u64;
        for i in 0..nfds {
            let at = fds + i * 8;
            let mut b = [0u8; 8];
            t.read_user(at, &mut b)?;
            let fd = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let events = i16::from_le_bytes([b[4], b[5]]);
            let revents = if fd < 0 {
                0
            } else {
                match file(t, fd) {
                    Err(_) => POLLNVAL,
                    Ok(f) => match f.kind {
                        FileKind::Console => {
                            (events & POLLOUT)
                                | if crate::console::has_input() {
                                    events & POLLIN
                                } else {
                                    0
                                }
                        }
                        _ => events & (POLLIN | POLLOUT),
                    },
                }
            };
            if revents != 0 {
                ready += 1;
            }
            t.write_user(at + 6, &revents.to_le_bytes())?;
        }
        if ready > 0 || deadline.is_some_and(|d| hal::time::uptime_ns() >= d) {
            return Ok(ready);
        }
        crate::time::sleep_ns(1_000_000);
    }
}

pub fn ioctl(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    match f.kind {
        FileKind::Console => crate::console::ioctl(t, a.u32(1), a.0[2]),
        _ => Err(Errno::ENOTTY),
    }
}

pub fn fcntl(t: &mut Task, a: Args) -> Result {
    const F_DUPFD: u32 = 0;
    const F_GETFD: u32 = 1;
    const F_SETFD: u32 = 2;
    const F_GETFL: u32 = 3;
    const F_SETFL: u32 = 4;
    const F_DUPFD_CLOEXEC: u32 = 1030;
    let fd = a.i32(0);
    let limit = nofile_limit(t);
    let mut fds = t.proc.fds.lock();
    match a.u32(1) {
        F_GETFD => Ok(u64::from(fds.cloexec(fd)?)),
        F_SETFD => {
            fds.set_cloexec(fd, a.0[2] & 1 != 0)?;
            Ok(0)
        }
        F_GETFL => Ok(u64::from(fds.get(fd)?.flags & !file::O_CLOEXEC)),
        F_SETFL => {
            fds.get(fd)?;
            Ok(0)
        }
        cmd @ (F_DUPFD | F_DUPFD_CLOEXEC) => {
            let f = fds.get(fd)?;
            let min = usize::try_from(a.0[2])
                .ok()
                .filter(|&m| m < limit)
                .ok_or(Errno::EINVAL)?;
            Ok(fds.install(f, cmd == F_DUPFD_CLOEXEC, min, limit)? as u64)
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn dup(t: &mut Task, a: Args) -> Result {
    let limit = nofile_limit(t);
    let mut fds = t.proc.fds.lock();
    let f = fds.get(a.i32(0))?;
    Ok(fds.install(f, false, 0, limit)? as u64)
}

pub fn dup2(t: &mut Task, old: i32, new: i32, flags: u32, is_dup3: bool) -> Result {
    let limit = nofile_limit(t);
    let mut fds = t.proc.fds.lock();
    if old == new {
        fds.get(old)?;
        // dup3 refuses equal descriptors; dup2 returns the descriptor.
        return if is_dup3 {
            Err(Errno::EINVAL)
        } else {
            Ok(new as u64)
        };
    }
    if flags & !file::O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(fds.dup_to(old, new, flags & file::O_CLOEXEC != 0, limit)? as u64)
}

pub fn getcwd(t: &mut Task, a: Args) -> Result {
    // The tree has no parent links yet: walk down from the root to find the cwd's path.
    let cwd = t.proc.cwd.lock().clone();
    let path =
        path_of(&ramfs::root(), &cwd, alloc::string::String::new()).unwrap_or_else(|| "/".into());
    let path = if path.is_empty() {
        alloc::string::String::from("/")
    } else {
        path
    };
    let bytes = path.as_bytes();
    if (bytes.len() + 1) as u64 > a.0[1] {
        return Err(Errno::ERANGE);
    }
    t.write_user(a.0[0], bytes)?;
    t.write_user(a.0[0] + bytes.len() as u64, &[0])?;
    Ok((bytes.len() + 1) as u64)
}

fn path_of(
    dir: &Arc<Node>,
    target: &Arc<Node>,
    prefix: alloc::string::String,
) -> Option<alloc::string::String> {
    if Arc::ptr_eq(dir, target) {
        return Some(prefix);
    }
    for name in dir.names() {
        if let Some(child) = dir.child(&name)
            && child.is_dir()
            && let Some(p) = path_of(&child, target, alloc::format!("{prefix}/{name}"))
        {
            return Some(p);
        }
    }
    None
}

pub fn chdir(t: &mut Task, a: Args) -> Result {
    let node = resolve(t, AT_FDCWD, a.0[0], 0)?;
    if !node.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    *t.proc.cwd.lock() = node;
    Ok(0)
}

pub fn getdents64(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    let FileKind::Ram(node) = &f.kind else {
        return Err(Errno::ENOTDIR);
    };
    if !node.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let mut names = alloc::vec![
        alloc::string::String::from("."),
        alloc::string::String::from("..")
    ];
    names.extend(node.names());
    let mut off = f.offset.lock();
    let mut out = Vec::new();
    let cap = a.0[2] as usize;
    let mut i = *off as usize;
    while let Some(name) = names.get(i) {
        let child = node.child(name);
        let reclen = (19 + name.len() + 1).next_multiple_of(8);
        if out.len() + reclen > cap {
            break;
        }
        let (ino, dtype) = match &child {
            Some(c) => (
                c.ino,
                match c.kind {
                    NodeKind::Dir(_) => 4u8,
                    NodeKind::File(_) => 8,
                    NodeKind::Symlink(_) => 10,
                    NodeKind::CharDev(..) => 2,
                },
            ),
            None => (node.ino, 4),
        };
        out.extend_from_slice(&ino.to_le_bytes());
        out.extend_from_slice(&((i + 1) as i64).to_le_bytes());
        out.extend_from_slice(&(reclen as u16).to_le_bytes());
        out.push(dtype);
        out.extend_from_slice(name.as_bytes());
        out.resize(out.len() + (reclen - 19 - name.len()), 0);
        i += 1;
    }
    if out.is_empty() && names.get(i).is_some() {
        return Err(Errno::EINVAL);
    }
    t.write_user(a.0[1], &out)?;
    *off = i as u64;
    Ok(out.len() as u64)
}
