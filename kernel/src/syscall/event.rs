//! eventfd, epoll, memfd_create, socketpair/shutdown and copy_file_range.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use abi::errno::Errno;
use vfs::Cred;

use super::fs::{file, install, nofile_limit};
use super::{Args, Result};
use crate::fs::event::{Epoll, EventFd};
use crate::fs::file::{self, File, FileKind, Origin};
use crate::fs::socket::SocketEnd;
use crate::proc::task::Task;

const EFD_SEMAPHORE: u32 = 1;

pub fn eventfd(t: &mut Task, initval: u32, flags: u32) -> Result {
    if flags & !(file::O_CLOEXEC | file::O_NONBLOCK | EFD_SEMAPHORE) != 0 {
        return Err(Errno::EINVAL);
    }
    let e = EventFd::new(u64::from(initval), flags & EFD_SEMAPHORE != 0);
    let f = File::new(
        FileKind::EventFd(e),
        None,
        file::O_RDWR | (flags & file::O_NONBLOCK),
    );
    install(t, f, flags & file::O_CLOEXEC != 0)
}

pub fn epoll_create(t: &mut Task, flags: u32) -> Result {
    if flags & !file::O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let f = File::new(FileKind::Epoll(Epoll::new()), None, file::O_RDWR);
    install(t, f, flags & file::O_CLOEXEC != 0)
}

fn epoll_of(f: &File) -> core::result::Result<&Arc<Epoll>, Errno> {
    match &f.kind {
        FileKind::Epoll(e) => Ok(e),
        _ => Err(Errno::EINVAL),
    }
}

pub fn epoll_ctl(t: &mut Task, a: Args) -> Result {
    let (epfd, op, fd, ev) = (a.i32(0), a.u32(1), a.i32(2), a.0[3]);
    let ep_file = file(t, epfd)?;
    let target = file(t, fd)?;
    let ep = epoll_of(&ep_file)?;
    if !(1..=3).contains(&op) {
        return Err(Errno::EINVAL);
    }
    if let FileKind::Epoll(other) = &target.kind
        && ep.is(other)
    {
        return Err(Errno::EINVAL);
    }
    // Regular files and directories are always ready: Linux refuses to watch them.
    if matches!(
        target.kind,
        FileKind::Node | FileKind::Text(_) | FileKind::Path
    ) {
        return Err(Errno::EPERM);
    }
    let (events, data) = if op == 2 {
        (0, 0)
    } else {
        // struct epoll_event is packed on x86-64: u32 events, u64 data.
        let mut b = [0u8; 12];
        t.read_user(ev, &mut b)?;
        let events = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let mut d = [0u8; 8];
        d.copy_from_slice(&b[4..12]);
        (events, u64::from_le_bytes(d))
    };
    ep.ctl(op, fd, &target, events, data)?;
    Ok(0)
}

/// The change counter edge-triggered entries compare.
fn change_seq(f: &File) -> u64 {
    use core::sync::atomic::Ordering::Relaxed;
    match &f.kind {
        FileKind::Pipe { pipe, write } => pipe.seq[usize::from(*write)].load(Relaxed),
        FileKind::Socket(s) => s.rx.seq[0]
            .load(Relaxed)
            .wrapping_add(s.tx.seq[1].load(Relaxed)),
        FileKind::EventFd(e) => e.seq.load(Relaxed),
        _ => 0,
    }
}

fn epoll_wait_common(
    t: &mut Task,
    epfd: i32,
    events: u64,
    max: i32,
    deadline: Option<u64>,
) -> Result {
    let f = file(t, epfd)?;
    let ep = epoll_of(&f)?.clone();
    if max <= 0 || max > (i32::MAX / 12) {
        return Err(Errno::EINVAL);
    }
    let got = super::poll::wait(
        deadline,
        || {
            let r = ep.collect(max as usize, |f| {
                (super::poll::ready(f) as u16 as u32, change_seq(f))
            });
            Ok((!r.is_empty()).then_some(r))
        },
        Vec::new(),
    )?;
    let mut out = Vec::with_capacity(got.len() * 12);
    for (ev, data) in &got {
        out.extend_from_slice(&ev.to_le_bytes());
        out.extend_from_slice(&data.to_le_bytes());
    }
    t.write_user(events, &out)?;
    Ok(got.len() as u64)
}

pub fn epoll_wait(t: &mut Task, a: Args) -> Result {
    let ms = a.i32(3);
    let deadline = if ms < 0 {
        None
    } else {
        super::poll::deadline_after(ms as u64 * 1_000_000)
    };
    epoll_wait_common(t, a.i32(0), a.0[1], a.i32(2), deadline)
}

/// epoll_pwait: the signal mask waits for the signals issue (it is not applied yet).
pub fn epoll_pwait(t: &mut Task, a: Args) -> Result {
    epoll_wait(t, a)
}

pub fn epoll_pwait2(t: &mut Task, a: Args) -> Result {
    let deadline = super::poll::read_timespec(t, a.0[3])?.and_then(super::poll::deadline_after);
    epoll_wait_common(t, a.i32(0), a.0[1], a.i32(2), deadline)
}

pub fn memfd_create(t: &mut Task, a: Args) -> Result {
    const MFD_CLOEXEC: u32 = 1;
    const MFD_ALLOW_SEALING: u32 = 2;
    let flags = a.u32(1);
    if flags & !(MFD_CLOEXEC | MFD_ALLOW_SEALING) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = t.read_cstr(a.0[0], 4096).map_err(|e| {
        if e == Errno::ENAMETOOLONG {
            Errno::EINVAL
        } else {
            e
        }
    })?;
    // Linux: the name may be at most 249 bytes (255 minus the "memfd:" prefix).
    if name.len() > 249 {
        return Err(Errno::EINVAL);
    }
    let c = t.proc.creds.lock().clone();
    let cred = Cred {
        uid: c.fsuid,
        gid: c.fsgid,
        groups: &c.groups,
    };
    let node = crate::fs::anon_file(&cred)?;
    let mut label = b"memfd:".to_vec();
    label.extend_from_slice(&name);
    let origin = Origin {
        node,
        dir: None,
        name: label,
    };
    let f = File::new(
        FileKind::Node,
        Some(origin),
        file::O_RDWR | file::O_LARGEFILE,
    );
    install(t, f, flags & MFD_CLOEXEC != 0)
}

pub fn socketpair(t: &mut Task, a: Args) -> Result {
    const AF_UNIX: u32 = 1;
    const SOCK_STREAM: u32 = 1;
    const SOCK_NONBLOCK: u32 = 0o4000;
    const SOCK_CLOEXEC: u32 = 0o2000000;
    let (domain, ty, proto, sv) = (a.u32(0), a.u32(1), a.u32(2), a.0[3]);
    if domain != AF_UNIX {
        return Err(Errno::EOPNOTSUPP);
    }
    let flags = ty & (SOCK_NONBLOCK | SOCK_CLOEXEC);
    match ty & !(SOCK_NONBLOCK | SOCK_CLOEXEC) {
        SOCK_STREAM => {}
        // SOCK_DGRAM and SOCK_SEQPACKET keep message boundaries, which this pair does not.
        2 | 5 => return Err(Errno::EOPNOTSUPP),
        _ => return Err(Errno::EINVAL),
    }
    if proto != 0 {
        return Err(Errno::EPROTONOSUPPORT);
    }
    let (x, y) = SocketEnd::pair();
    let status = file::O_RDWR | (flags & SOCK_NONBLOCK);
    let fx = File::new(FileKind::Socket(x), None, status);
    let fy = File::new(FileKind::Socket(y), None, status);
    let cloexec = flags & SOCK_CLOEXEC != 0;
    let limit = nofile_limit(t);
    let (a0, a1) = {
        let table = t.proc.fds();
        let mut fds = table.lock();
        let a0 = fds.install(fx, cloexec, 0, limit)?;
        match fds.install(fy, cloexec, 0, limit) {
            Ok(a1) => (a0, a1),
            Err(e) => {
                let _ = fds.take(a0);
                return Err(e);
            }
        }
    };
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&a0.to_le_bytes());
    b[4..].copy_from_slice(&a1.to_le_bytes());
    if let Err(e) = t.write_user(sv, &b) {
        let table = t.proc.fds();
        let mut fds = table.lock();
        let _ = fds.take(a0);
        let _ = fds.take(a1);
        return Err(e);
    }
    Ok(0)
}

pub fn shutdown(t: &mut Task, a: Args) -> Result {
    let f = file(t, a.i32(0))?;
    let how = a.u32(1);
    if how > 2 {
        return Err(Errno::EINVAL);
    }
    match &f.kind {
        FileKind::Socket(s) => {
            s.shutdown(how);
            Ok(0)
        }
        _ => Err(Errno::ENOTSOCK),
    }
}

/// copy_file_range between regular files: offsets through the pointers when given (the
/// pointers advance, the file offsets do not), else the files' offsets.
pub fn copy_file_range(t: &mut Task, a: Args) -> Result {
    let (fd_in, off_in, fd_out, off_out, len, flags) =
        (a.i32(0), a.0[1], a.i32(2), a.0[3], a.0[4], a.u32(5));
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let (fi, fo) = (file(t, fd_in)?, file(t, fd_out)?);
    if !fi.readable() || !fo.writable() || fo.flags() & file::O_APPEND != 0 {
        return Err(Errno::EBADF);
    }
    let (ni, no) = match (&fi.kind, fi.node(), &fo.kind, fo.node()) {
        (FileKind::Node, Some(a), FileKind::Node, Some(b)) => (a, b),
        _ => return Err(Errno::EINVAL),
    };
    let read_off = |ptr: u64, f: &File| -> core::result::Result<u64, Errno> {
        if ptr == 0 {
            Ok(*f.offset.lock())
        } else {
            let v = t.read_u64(ptr)?;
            if (v as i64) < 0 {
                Err(Errno::EINVAL)
            } else {
                Ok(v)
            }
        }
    };
    let (mut pi, mut po) = (read_off(off_in, &fi)?, read_off(off_out, &fo)?);
    let procfs = crate::fs::proc::Procfs { caller: t.proc.pid };
    if crate::fs::lock().is_dir(ni, &procfs) || crate::fs::lock().is_dir(no, &procfs) {
        return Err(Errno::EISDIR);
    }
    let total = len.min(0x7fff_f000) as usize;
    let mut done = 0usize;
    let mut buf = vec![0u8; total.min(64 * 1024)];
    while done < total {
        let want = (total - done).min(buf.len());
        let mut v = crate::fs::lock();
        let n = v.read(ni, pi, &mut buf[..want])?;
        if n == 0 {
            break;
        }
        let w = v.write(no, po, &buf[..n])?;
        drop(v);
        done += w;
        pi += w as u64;
        po += w as u64;
        if w < n {
            break;
        }
    }
    if off_in == 0 {
        *fi.offset.lock() = pi;
    } else {
        t.write_u64(off_in, pi)?;
    }
    if off_out == 0 {
        *fo.offset.lock() = po;
    } else {
        t.write_u64(off_out, po)?;
    }
    Ok(done as u64)
}
