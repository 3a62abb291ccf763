//! Descriptor and I/O system calls: read/write and their vectored and positioned forms,
//! lseek, close, dup*, fcntl, ioctl, pipes, getdents64, sendfile. Path-based calls are in
//! `path`, poll and select in `poll`.
//!
//! Data moves between user memory and files through a kernel buffer of at most [`CHUNK`]
//! bytes, so the VFS lock is never held while user memory is touched.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use abi::errno::Errno;

use super::{Args, Result};
use crate::fs::dev;
use crate::fs::file::{self, File, FileKind};
use crate::fs::pipe::Pipe;
use crate::fs::proc::Procfs;
use crate::proc::task::Task;

/// Largest single transfer, as Linux's MAX_RW_COUNT (INT_MAX rounded down to a page).
const MAX_RW: u64 = 0x7fff_f000;
/// Bytes moved per VFS lock hold.
const CHUNK: usize = 64 * 1024;

pub fn nofile_limit(t: &Task) -> usize {
    let l = t.proc.rlimits.lock()[abi::layout::RLIMIT_NOFILE as usize].cur;
    l.min(1 << 20) as usize
}

pub fn file(t: &Task, fd: i32) -> core::result::Result<Arc<File>, Errno> {
    t.proc.fds().lock().get(fd)
}

pub fn install(t: &Task, f: Arc<File>, cloexec: bool) -> Result {
    let limit = nofile_limit(t);
    Ok(t.proc.fds().lock().install(f, cloexec, 0, limit)? as u64)
}

fn procfs(t: &Task) -> Procfs {
    Procfs { caller: t.proc.pid }
}

/// Linux's `access_ok`: the whole buffer, even an empty one, must lie in the user half. Checked
/// before the file is touched, so a pipe keeps its data when the buffer is a kernel address.
fn user_buffer(buf: u64, len: u64) -> core::result::Result<(), Errno> {
    match buf.checked_add(len) {
        Some(end) if end <= hal::mem::USER_END => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// Read from `f` at `pos` (None: the file offset, which moves) into user memory.
pub fn read_file(t: &Task, f: &File, buf: u64, len: u64, pos: Option<u64>) -> Result {
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    user_buffer(buf, len)?;
    let len = len.min(MAX_RW) as usize;
    match &f.kind {
        FileKind::Dev(d) => {
            if *d == dev::Device::Console {
                crate::console::CONSOLE.job_check(&t.proc, false)?;
            }
            let mut tmp = vec![0u8; len.min(CHUNK)];
            let mut done = 0;
            // Memory devices fill the whole buffer; the console returns what it has.
            while done < len {
                let want = (len - done).min(CHUNK);
                let n = match dev::read(*d, &mut tmp[..want]) {
                    Ok(n) => n,
                    Err(e) if done == 0 => return Err(e),
                    Err(_) => break,
                };
                t.write_user(buf + done as u64, &tmp[..n])?;
                done += n;
                if n < want || *d == dev::Device::Console {
                    break;
                }
            }
            Ok(done as u64)
        }
        FileKind::Pipe { pipe, write } => {
            if *write {
                return Err(Errno::EBADF);
            }
            if len == 0 {
                return Ok(0);
            }
            let mut tmp = vec![0u8; len.min(CHUNK)];
            let n = pipe.read(&mut tmp, f.nonblocking())?;
            t.write_user(buf, &tmp[..n])?;
            Ok(n as u64)
        }
        FileKind::Text(text) => {
            let mut off = f.offset.lock();
            let at = pos.unwrap_or(*off);
            let start = (at as usize).min(text.len());
            let end = start.saturating_add(len).min(text.len());
            t.write_user(buf, &text[start..end])?;
            if pos.is_none() {
                *off = end as u64;
            }
            Ok((end - start) as u64)
        }
        FileKind::Path | FileKind::Epoll(_) => Err(Errno::EINVAL),
        FileKind::EventFd(e) => {
            if len < 8 {
                return Err(Errno::EINVAL);
            }
            let v = e.read(f.nonblocking())?;
            t.write_u64(buf, v)?;
            Ok(8)
        }
        FileKind::Pty { pty, master } => {
            if len == 0 {
                return Ok(0);
            }
            if !*master {
                pty.tty.job_check(&t.proc, false)?;
            }
            let mut tmp = vec![0u8; len.min(CHUNK)];
            let n = if *master {
                pty.master_read(&mut tmp, f.nonblocking())?
            } else {
                pty.slave_read(&mut tmp)?
            };
            t.write_user(buf, &tmp[..n])?;
            Ok(n as u64)
        }
        FileKind::Socket(s) => {
            if len == 0 {
                return Ok(0);
            }
            if s.read_closed() {
                return Ok(0);
            }
            let mut tmp = vec![0u8; len.min(CHUNK)];
            let n = s.rx.read(&mut tmp, f.nonblocking())?;
            t.write_user(buf, &tmp[..n])?;
            Ok(n as u64)
        }
        FileKind::Node => {
            let node = f.node().ok_or(Errno::EBADF)?;
            let mut at = pos.unwrap_or_else(|| *f.offset.lock());
            let mut done = 0usize;
            let mut tmp = vec![0u8; len.min(CHUNK)];
            while done < len {
                let want = (len - done).min(CHUNK);
                let n = crate::fs::lock().read(node, at, &mut tmp[..want])?;
                if n == 0 {
                    break;
                }
                t.write_user(buf + done as u64, &tmp[..n])?;
                done += n;
                at += n as u64;
                if n < want {
                    break;
                }
            }
            if pos.is_none() {
                *f.offset.lock() = at;
            }
            Ok(done as u64)
        }
    }
}

/// Write user memory to `f` at `pos` (None: the file offset, or the end with O_APPEND).
pub fn write_file(t: &Task, f: &File, buf: u64, len: u64, pos: Option<u64>) -> Result {
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    user_buffer(buf, len)?;
    let len = len.min(MAX_RW) as usize;
    let mut tmp = vec![0u8; len.min(CHUNK)];
    match &f.kind {
        FileKind::Dev(d) => {
            if *d == dev::Device::Console {
                crate::console::CONSOLE.job_check(&t.proc, true)?;
            }
            let mut done = 0;
            while done < len {
                let n = (len - done).min(CHUNK);
                t.read_user(buf + done as u64, &mut tmp[..n])?;
                done += dev::write(*d, &tmp[..n])?;
            }
            Ok(done as u64)
        }
        FileKind::Pipe { pipe, write } => {
            if !*write {
                return Err(Errno::EBADF);
            }
            write_pipe(t, pipe, f.nonblocking(), buf, len, &mut tmp)
        }
        FileKind::Text(_) | FileKind::Path => Err(Errno::EBADF),
        FileKind::Epoll(_) => Err(Errno::EINVAL),
        FileKind::EventFd(e) => {
            if len < 8 {
                return Err(Errno::EINVAL);
            }
            e.write(t.read_u64(buf)?, f.nonblocking())?;
            Ok(8)
        }
        FileKind::Pty { pty, master } => {
            if !*master {
                pty.tty.job_check(&t.proc, true)?;
            }
            let mut done = 0;
            while done < len {
                let n = (len - done).min(CHUNK);
                t.read_user(buf + done as u64, &mut tmp[..n])?;
                done += if *master {
                    pty.master_write(&tmp[..n])
                } else {
                    pty.slave_write(&tmp[..n])?
                };
            }
            Ok(done as u64)
        }
        FileKind::Socket(s) => {
            if s.write_closed() {
                return Err(Errno::EPIPE);
            }
            write_pipe(t, &s.tx, f.nonblocking(), buf, len, &mut tmp)
        }
        FileKind::Node => {
            let node = f.node().ok_or(Errno::EBADF)?;
            let append = f.flags() & file::O_APPEND != 0;
            let mut at = pos.unwrap_or_else(|| *f.offset.lock());
            let limit = t.proc.rlimits.lock()[abi::layout::RLIMIT_FSIZE as usize].cur;
            let mut done = 0usize;
            while done < len {
                let n = (len - done).min(CHUNK);
                t.read_user(buf + done as u64, &mut tmp[..n])?;
                let mut v = crate::fs::lock();
                if append && pos.is_none() {
                    at = v.attr(node, &vfs::NoExt)?.size;
                }
                // RLIMIT_FSIZE: a write starting at the limit fails (SIGXFSZ comes with
                // signals); one crossing it is cut short.
                let room = limit.saturating_sub(at);
                if room == 0 {
                    drop(v);
                    if done > 0 {
                        break;
                    }
                    return Err(Errno::EFBIG);
                }
                let n = n.min(room.min(usize::MAX as u64) as usize);
                let w = match v.write(node, at, &tmp[..n]) {
                    Ok(w) => w,
                    Err(e) if done == 0 => return Err(e),
                    Err(_) => break,
                };
                drop(v);
                done += w;
                at += w as u64;
                if w < n {
                    break;
                }
            }
            if pos.is_none() {
                *f.offset.lock() = at;
            }
            Ok(done as u64)
        }
    }
}

fn write_pipe(
    t: &Task,
    pipe: &Pipe,
    nonblock: bool,
    buf: u64,
    len: usize,
    tmp: &mut [u8],
) -> Result {
    let mut done = 0;
    while done < len {
        // Keep records of at most PIPE_BUF in one piece: chunk boundaries fall on CHUNK,
        // which is a multiple of PIPE_BUF, so a small write is never split here.
        let n = (len - done).min(tmp.len());
        t.read_user(buf + done as u64, &mut tmp[..n])?;
        match pipe.write(&tmp[..n], nonblock) {
            Ok(w) => {
                done += w;
                if w < n {
                    break;
                }
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done as u64)
}

pub fn read(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    read_file(t, &f, a.0[1], a.0[2], None)
}

pub fn write(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    write_file(t, &f, a.0[1], a.0[2], None)
}

fn positioned(f: &File, off: u64) -> core::result::Result<u64, Errno> {
    if !f.seekable() {
        return Err(Errno::ESPIPE);
    }
    if (off as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(off)
}

pub fn pread(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    let off = positioned(&f, a.0[3])?;
    read_file(t, &f, a.0[1], a.0[2], Some(off))
}

pub fn pwrite(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    let off = positioned(&f, a.0[3])?;
    write_file(t, &f, a.0[1], a.0[2], Some(off))
}

/// Read the iovec array (at most IOV_MAX = 1024 entries).
fn iovecs(t: &Task, ptr: u64, count: u64) -> core::result::Result<Vec<(u64, u64)>, Errno> {
    if count > 1024 {
        return Err(Errno::EINVAL);
    }
    let mut v = Vec::new();
    let mut total = 0u64;
    for i in 0..count {
        let base = t.read_u64(ptr + i * 16)?;
        let len = t.read_u64(ptr + i * 16 + 8)?;
        total = total.checked_add(len).ok_or(Errno::EINVAL)?;
        if (len as i64) < 0 || (total as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        v.push((base, len));
    }
    Ok(v)
}

fn vectored(t: &Task, f: &File, iov: u64, cnt: u64, mut pos: Option<u64>, write: bool) -> Result {
    let mut total = 0;
    for (base, len) in iovecs(t, iov, cnt)? {
        let r = if write {
            write_file(t, f, base, len, pos)
        } else {
            read_file(t, f, base, len, pos)
        };
        let n = match r {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += n;
        if let Some(p) = pos.as_mut() {
            *p += n;
        }
        if n < len {
            break;
        }
    }
    Ok(total)
}

pub fn readv(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    vectored(t, &f, a.0[1], a.0[2], None, false)
}

pub fn writev(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    vectored(t, &f, a.0[1], a.0[2], None, true)
}

pub fn preadv(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    let off = positioned(&f, a.0[3])?;
    vectored(t, &f, a.0[1], a.0[2], Some(off), false)
}

pub fn pwritev(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    let off = positioned(&f, a.0[3])?;
    vectored(t, &f, a.0[1], a.0[2], Some(off), true)
}

pub fn lseek(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    const SEEK_SET: u32 = 0;
    const SEEK_CUR: u32 = 1;
    const SEEK_END: u32 = 2;
    const SEEK_DATA: u32 = 3;
    const SEEK_HOLE: u32 = 4;
    let size = match &f.kind {
        FileKind::Node => {
            let node = f.node().ok_or(Errno::ESPIPE)?;
            crate::fs::lock().attr(node, &procfs(t))?.size
        }
        FileKind::Text(text) => text.len() as u64,
        FileKind::Dev(_) => return Ok(0),
        _ => return Err(Errno::ESPIPE),
    };
    let mut off = f.offset.lock();
    let req = a.0[1] as i64;
    let new = match a.u32(2) {
        SEEK_SET => req,
        SEEK_CUR => (*off as i64).checked_add(req).ok_or(Errno::EOVERFLOW)?,
        SEEK_END => (size as i64).checked_add(req).ok_or(Errno::EOVERFLOW)?,
        // Without hole tracking in the API, all of a file is data and its end the one hole.
        SEEK_DATA | SEEK_HOLE => {
            if req < 0 || req as u64 >= size {
                return Err(Errno::ENXIO);
            }
            if a.u32(2) == SEEK_DATA {
                req
            } else {
                size as i64
            }
        }
        _ => return Err(Errno::EINVAL),
    };
    if new < 0 {
        return Err(Errno::EINVAL);
    }
    *off = new as u64;
    Ok(new as u64)
}

pub fn close(t: &mut Task, a: Args) -> Result {
    let f = t.proc.fds().lock().take(a.i32(0))?;
    drop(f);
    Ok(0)
}

pub fn dup(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    install(t, f, false)
}

pub fn dup2(t: &mut Task, old: i32, new: i32, flags: u32, is_dup3: bool) -> Result {
    let limit = nofile_limit(t);
    if is_dup3 && flags & !file::O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let replaced = {
        let table = t.proc.fds();
        let mut fds = table.lock();
        if old == new {
            fds.get(old)?;
            // dup3 refuses equal descriptors; dup2 returns the descriptor.
            return if is_dup3 {
                Err(Errno::EINVAL)
            } else {
                Ok(new as u64)
            };
        }
        fds.dup_to(old, new, flags & file::O_CLOEXEC != 0, limit)?
    };
    drop(replaced);
    Ok(new as u64)
}

pub fn fcntl(t: &mut Task, a: Args) -> Result {
    const F_DUPFD: u32 = 0;
    const F_GETFD: u32 = 1;
    const F_SETFD: u32 = 2;
    const F_GETFL: u32 = 3;
    const F_SETFL: u32 = 4;
    const F_GETLK: u32 = 5;
    const F_SETLK: u32 = 6;
    const F_SETLKW: u32 = 7;
    const F_SETOWN: u32 = 8;
    const F_GETOWN: u32 = 9;
    const F_OFD_GETLK: u32 = 36;
    const F_OFD_SETLK: u32 = 37;
    const F_OFD_SETLKW: u32 = 38;
    const F_DUPFD_CLOEXEC: u32 = 1030;
    const F_SETPIPE_SZ: u32 = 1031;
    const F_GETPIPE_SZ: u32 = 1032;
    let fd = a.i32(0);
    let limit = nofile_limit(t);
    match a.u32(1) {
        F_GETFD => Ok(u64::from(t.proc.fds().lock().cloexec(fd)?)),
        F_SETFD => {
            t.proc.fds().lock().set_cloexec(fd, a.0[2] & 1 != 0)?;
            Ok(0)
        }
        F_GETFL => Ok(u64::from(file(t, fd)?.flags() | file::O_LARGEFILE)),
        F_SETFL => {
            file(t, fd)?.set_status_flags(a.u32(2));
            Ok(0)
        }
        cmd @ (F_DUPFD | F_DUPFD_CLOEXEC) => {
            let f = file(t, fd)?;
            let min = usize::try_from(a.0[2])
                .ok()
                .filter(|&m| m < limit)
                .ok_or(Errno::EINVAL)?;
            Ok(t.proc
                .fds()
                .lock()
                .install(f, cmd == F_DUPFD_CLOEXEC, min, limit)? as u64)
        }
        // Record locks: one process per file in practice here; every lock is granted and a
        // query finds none (l_type = F_UNLCK).
        F_GETLK | F_OFD_GETLK => {
            file(t, fd)?;
            t.write_user(a.0[2], &2u16.to_le_bytes())?;
            Ok(0)
        }
        F_SETLK | F_SETLKW | F_OFD_SETLK | F_OFD_SETLKW => {
            file(t, fd)?;
            Ok(0)
        }
        F_GETOWN | F_SETOWN => {
            file(t, fd)?;
            Ok(0)
        }
        F_GETPIPE_SZ => match &file(t, fd)?.kind {
            FileKind::Pipe { pipe, .. } => Ok(pipe.buf.lock().capacity() as u64),
            _ => Err(Errno::EBADF),
        },
        F_SETPIPE_SZ => match &file(t, fd)?.kind {
            FileKind::Pipe { pipe, .. } => {
                let want = (a.0[2] as usize).clamp(4096, 1 << 20).next_power_of_two();
                if a.0[2] > 1 << 20 {
                    return Err(Errno::EPERM);
                }
                if !pipe.buf.lock().set_capacity(want) {
                    return Err(Errno::EBUSY);
                }
                Ok(want as u64)
            }
            _ => Err(Errno::EBADF),
        },
        _ => Err(Errno::EINVAL),
    }
}

pub fn ioctl(t: &mut Task, a: Args) -> Result {
    const FIONCLEX: u32 = 0x5450;
    const FIOCLEX: u32 = 0x5451;
    const FIONBIO: u32 = 0x5421;
    const FIONREAD: u32 = 0x541b;
    let fd = a.i32(0);
    let f = file(t, fd)?;
    match a.u32(1) {
        FIOCLEX | FIONCLEX => {
            t.proc.fds().lock().set_cloexec(fd, a.u32(1) == FIOCLEX)?;
            return Ok(0);
        }
        FIONBIO => {
            let mut b = [0u8; 4];
            t.read_user(a.0[2], &mut b)?;
            let on = u32::from_le_bytes(b) != 0;
            let flags = f.flags();
            f.set_status_flags(if on {
                flags | file::O_NONBLOCK
            } else {
                flags & !file::O_NONBLOCK
            });
            return Ok(0);
        }
        _ => {}
    }
    match &f.kind {
        FileKind::Dev(dev::Device::Console) => crate::console::ioctl(t, a.u32(1), a.0[2]),
        FileKind::Pty { pty, master: true } => pty.master_ioctl(t, a.u32(1), a.0[2]),
        FileKind::Pty { pty, master: false } => pty.tty.ioctl(t, a.u32(1), a.0[2]),
        FileKind::Pipe { pipe, .. } if a.u32(1) == FIONREAD => {
            t.write_i32(a.0[2], pipe.available() as i32)?;
            Ok(0)
        }
        FileKind::Node if a.u32(1) == FIONREAD => {
            let node = f.node().ok_or(Errno::ENOTTY)?;
            let attr = crate::fs::lock().attr(node, &procfs(t))?;
            if vfs::mode::is_dir(attr.mode) {
                return Err(Errno::ENOTTY);
            }
            let left = attr.size.saturating_sub(*f.offset.lock());
            t.write_i32(a.0[2], left.min(i32::MAX as u64) as i32)?;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

pub fn pipe2(t: &mut Task, fds_ptr: u64, flags: u32) -> Result {
    if flags & !(file::O_CLOEXEC | file::O_NONBLOCK | file::O_DIRECT) != 0 {
        return Err(Errno::EINVAL);
    }
    let p = Pipe::new();
    let status = flags & file::O_NONBLOCK;
    let r = File::new(
        FileKind::Pipe {
            pipe: p.clone(),
            write: false,
        },
        None,
        file::O_RDONLY | status,
    );
    let w = File::new(
        FileKind::Pipe {
            pipe: p,
            write: true,
        },
        None,
        file::O_WRONLY | status,
    );
    let cloexec = flags & file::O_CLOEXEC != 0;
    let limit = nofile_limit(t);
    let (rfd, wfd) = {
        let table = t.proc.fds();
        let mut fds = table.lock();
        let rfd = fds.install(r, cloexec, 0, limit)?;
        match fds.install(w, cloexec, 0, limit) {
            Ok(wfd) => (rfd, wfd),
            Err(e) => {
                let _ = fds.take(rfd);
                return Err(e);
            }
        }
    };
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&rfd.to_le_bytes());
    b[4..].copy_from_slice(&wfd.to_le_bytes());
    if let Err(e) = t.write_user(fds_ptr, &b) {
        let table = t.proc.fds();
        let mut fds = table.lock();
        let _ = fds.take(rfd);
        let _ = fds.take(wfd);
        return Err(e);
    }
    Ok(0)
}

pub fn getdents64(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    let node = match (&f.kind, f.node()) {
        (FileKind::Node, Some(n)) => n,
        _ => return Err(Errno::ENOTDIR),
    };
    let entries = crate::fs::lock().readdir(node, &procfs(t))?;
    let mut off = f.offset.lock();
    let mut cursor = f.dir_cursor.lock();
    let cap = a.0[2] as usize;
    let mut out = Vec::new();
    let mut i = *off as usize;
    // A tmpfs directory lists its names in order: carry on after the last name returned, so
    // that removing entries while reading (as `rm -r` does) skips none of the others.
    if let (vfs::Node::Mem(_), Some((at, name))) = (node, cursor.as_ref())
        && *at == *off
        && let Some(named) = entries.get(2..)
    {
        i = 2 + named.partition_point(|e| e.name.as_slice() <= name.as_slice());
    }
    while let Some(e) = entries.get(i) {
        let reclen = (19 + e.name.len() + 1).next_multiple_of(8);
        if out.len() + reclen > cap {
            break;
        }
        out.extend_from_slice(&e.ino.to_le_bytes());
        out.extend_from_slice(&((i + 1) as i64).to_le_bytes());
        out.extend_from_slice(&(reclen as u16).to_le_bytes());
        out.push(e.dtype);
        out.extend_from_slice(&e.name);
        out.resize(out.len() + (reclen - 19 - e.name.len()), 0);
        i += 1;
    }
    if out.is_empty() && entries.get(i).is_some() {
        return Err(Errno::EINVAL);
    }
    t.write_user(a.0[1], &out)?;
    *off = i as u64;
    *cursor = match i.checked_sub(1).and_then(|l| entries.get(l)) {
        Some(e) if i > 2 => Some((i as u64, e.name.clone())),
        _ => None,
    };
    Ok(out.len() as u64)
}

/// sendfile: copy from `in_fd` (at `*offset` if given) to `out_fd`.
pub fn sendfile(t: &mut Task, a: Args) -> Result {
    let (out_f, in_f) = (file(t, a.i32(0))?, file(t, a.i32(1))?);
    if !in_f.readable() || !out_f.writable() {
        return Err(Errno::EBADF);
    }
    let off_ptr = a.0[2];
    let count = a.0[3].min(MAX_RW) as usize;
    let mut pos = if off_ptr != 0 {
        let o = t.read_u64(off_ptr)?;
        if (o as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        Some(o)
    } else {
        None
    };
    let node = match (&in_f.kind, in_f.node()) {
        (FileKind::Node, Some(n)) => n,
        _ => return Err(Errno::EINVAL),
    };
    let mut done = 0usize;
    let mut tmp = vec![0u8; count.min(CHUNK)];
    while done < count {
        let at = pos.unwrap_or_else(|| *in_f.offset.lock());
        let want = (count - done).min(CHUNK);
        let n = crate::fs::lock().read(node, at, &mut tmp[..want])?;
        if n == 0 {
            break;
        }
        let w = match put(t, &out_f, &tmp[..n]) {
            Ok(w) => w,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        done += w;
        match pos.as_mut() {
            Some(p) => *p += w as u64,
            None => *in_f.offset.lock() = at + w as u64,
        }
        if w < n {
            break;
        }
    }
    if let Some(p) = pos {
        t.write_u64(off_ptr, p)?;
    }
    Ok(done as u64)
}

/// Write kernel bytes to an open file (sendfile's output side).
fn put(t: &Task, f: &File, data: &[u8]) -> core::result::Result<usize, Errno> {
    match &f.kind {
        FileKind::Dev(d) => dev::write(*d, data),
        FileKind::Pipe { pipe, write: true } => pipe.write(data, f.nonblocking()),
        FileKind::Node => {
            let node = f.node().ok_or(Errno::EBADF)?;
            let mut v = crate::fs::lock();
            let mut off = f.offset.lock();
            if f.flags() & file::O_APPEND != 0 {
                *off = v.attr(node, &procfs(t))?.size;
            }
            let n = v.write(node, *off, data)?;
            *off += n as u64;
            Ok(n)
        }
        _ => Err(Errno::EINVAL),
    }
}
