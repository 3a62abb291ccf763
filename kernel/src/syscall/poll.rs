//! poll, ppoll, select and pselect6. Readiness comes from each open file; a waiter sleeps on
//! the pipe layer's `POLL` queue, which pipes and the console wake on every change and the
//! timer wakes on every tick (so timeouts end within a tick).

use alloc::vec;
use alloc::vec::Vec;

use abi::errno::Errno;

use super::fs::{file, nofile_limit};
use super::{Args, Result};
use crate::fs::dev::Device;
use crate::fs::file::{File, FileKind};
use crate::fs::pipe::{POLL, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT};
use crate::proc::task::Task;

/// The readiness bits of an open file (before masking with the events asked for).
pub fn ready(f: &File) -> i16 {
    match &f.kind {
        FileKind::Pipe { pipe, write } => pipe.poll(*write),
        FileKind::EventFd(e) => e.poll(),
        FileKind::Pty { pty, master: true } => pty.master_poll(),
        FileKind::Pty { pty, master: false } => pty.slave_poll(),
        FileKind::Socket(s) => s.poll(),
        FileKind::Epoll(_) => 0,
        FileKind::Dev(Device::Console) => {
            POLLOUT
                | if crate::console::has_input() {
                    POLLIN
                } else {
                    0
                }
        }
        _ => POLLIN | POLLOUT,
    }
}

/// Wait until `check` finds something ready or the deadline (monotonic ns) passes.
pub(super) fn wait<T>(
    deadline: Option<u64>,
    mut check: impl FnMut() -> core::result::Result<Option<T>, Errno>,
    none: T,
) -> core::result::Result<T, Errno> {
    let mut err = None;
    let r = POLL.wait_until(|| match check() {
        Ok(Some(v)) => Some(Some(v)),
        Ok(None) if deadline.is_some_and(|d| crate::time::monotonic_ns() >= d) => Some(None),
        Ok(None) if crate::sched::signal_wakeup() => {
            err = Some(Errno::ERESTARTNOHAND);
            Some(None)
        }
        Ok(None) => None,
        Err(e) => {
            err = Some(e);
            Some(None)
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    Ok(r.unwrap_or(none))
}

fn do_poll(t: &Task, fds_ptr: u64, nfds: u64, deadline: Option<u64>) -> Result {
    if nfds > nofile_limit(t) as u64 {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; nfds as usize * 8];
    t.read_user(fds_ptr, &mut raw)?;
    let entries: Vec<(i32, i16)> = raw
        .chunks(8)
        .map(|c| {
            (
                i32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                i16::from_le_bytes([c[4], c[5]]),
            )
        })
        .collect();
    let mut revents = vec![0i16; entries.len()];
    let n = wait(
        deadline,
        || {
            let mut n = 0u64;
            for (i, &(fd, events)) in entries.iter().enumerate() {
                revents[i] = if fd < 0 {
                    0
                } else {
                    match file(t, fd) {
                        Err(_) => POLLNVAL,
                        Ok(f) => ready(&f) & (events | POLLERR | POLLHUP),
                    }
                };
                if revents[i] != 0 {
                    n += 1;
                }
            }
            Ok((n > 0).then_some(n))
        },
        0,
    )?;
    for (i, r) in revents.iter().enumerate() {
        raw[i * 8 + 6..i * 8 + 8].copy_from_slice(&r.to_le_bytes());
    }
    t.write_user(fds_ptr, &raw)?;
    Ok(n)
}

pub(super) fn deadline_after(ns: u64) -> Option<u64> {
    Some(crate::time::monotonic_ns().saturating_add(ns))
}

pub(super) fn read_timespec(t: &Task, ptr: u64) -> core::result::Result<Option<u64>, Errno> {
    if ptr == 0 {
        return Ok(None);
    }
    let (sec, nsec) = (t.read_u64(ptr)? as i64, t.read_u64(ptr + 8)? as i64);
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(Some(
        (sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(nsec as u64),
    ))
}

pub fn poll(t: &mut Task, a: Args) -> Result {
    let ms = a.i32(2);
    let deadline = if ms < 0 {
        None
    } else {
        deadline_after(ms as u64 * 1_000_000)
    };
    do_poll(t, a.0[0], a.0[1], deadline)
}

pub fn ppoll(t: &mut Task, a: Args) -> Result {
    let deadline = read_timespec(t, a.0[2])?.and_then(deadline_after);
    do_poll(t, a.0[0], a.0[1], deadline)
}

/// select's three descriptor sets, as bit vectors of `nfds` bits.
fn do_select(t: &Task, nfds: i32, sets: [u64; 3], deadline: Option<u64>) -> Result {
    if nfds < 0 {
        return Err(Errno::EINVAL);
    }
    let nfds = (nfds as usize).min(nofile_limit(t).max(1024));
    let bytes = nfds.div_ceil(64) * 8;
    let mut want = [vec![0u8; bytes], vec![0u8; bytes], vec![0u8; bytes]];
    for (i, &p) in sets.iter().enumerate() {
        if p != 0 {
            t.read_user(p, &mut want[i])?;
        }
    }
    let bit = |v: &[u8], fd: usize| v[fd / 8] & (1 << (fd % 8)) != 0;
    let mut out = [vec![0u8; bytes], vec![0u8; bytes], vec![0u8; bytes]];
    let n = wait(
        deadline,
        || {
            let mut n = 0u64;
            for o in out.iter_mut() {
                o.fill(0);
            }
            for fd in 0..nfds {
                if !(0..3).any(|k| bit(&want[k], fd)) {
                    continue;
                }
                let f = file(t, fd as i32)?;
                let r = ready(&f);
                let hits = [
                    r & (POLLIN | POLLHUP | POLLERR) != 0,
                    r & (POLLOUT | POLLERR) != 0,
                    false,
                ];
                for k in 0..3 {
                    if bit(&want[k], fd) && hits[k] {
                        out[k][fd / 8] |= 1 << (fd % 8);
                        n += 1;
                    }
                }
            }
            Ok((n > 0).then_some(n))
        },
        0,
    )?;
    for (i, &p) in sets.iter().enumerate() {
        if p != 0 {
            t.write_user(p, &out[i])?;
        }
    }
    Ok(n)
}

/// Time left until `deadline`, in ns (what select writes back into its timeout).
fn left(deadline: u64) -> u64 {
    deadline.saturating_sub(crate::time::monotonic_ns())
}

pub fn select(t: &mut Task, a: Args) -> Result {
    let tv = a.0[4];
    let deadline = if tv == 0 {
        None
    } else {
        let (sec, usec) = (t.read_u64(tv)? as i64, t.read_u64(tv + 8)? as i64);
        if sec < 0 || !(0..1_000_000).contains(&usec) {
            return Err(Errno::EINVAL);
        }
        let ns = (sec as u64).saturating_mul(1_000_000_000);
        deadline_after(ns.saturating_add(usec as u64 * 1000))
    };
    let n = do_select(t, a.i32(0), [a.0[1], a.0[2], a.0[3]], deadline)?;
    if let Some(d) = deadline {
        // Linux updates the timeout to the time not slept.
        let ns = left(d);
        t.write_u64(tv, ns / 1_000_000_000)?;
        t.write_u64(tv + 8, ns % 1_000_000_000 / 1000)?;
    }
    Ok(n)
}

pub fn pselect6(t: &mut Task, a: Args) -> Result {
    let deadline = read_timespec(t, a.0[4])?.and_then(deadline_after);
    let n = do_select(t, a.i32(0), [a.0[1], a.0[2], a.0[3]], deadline)?;
    if let Some(d) = deadline {
        let ns = left(d);
        t.write_u64(a.0[4], ns / 1_000_000_000)?;
        t.write_u64(a.0[4] + 8, ns % 1_000_000_000)?;
    }
    Ok(n)
}
