//! Signal system calls, bookkeeping only: dispositions and the mask are stored and read back
//! (programs' start-up code sets them), but signals are not delivered yet — the signals issue
//! brings kill, delivery and handlers.

use core::sync::atomic::Ordering;

use abi::errno::Errno;

use super::{Args, Result};
use crate::proc::task::Task;

const SIGKILL: u64 = 9;
const SIGSTOP: u64 = 19;

pub fn rt_sigaction(t: &mut Task, a: Args) -> Result {
    let (sig, act, old, size) = (a.0[0], a.0[1], a.0[2], a.0[3]);
    if size != 8 || sig == 0 || sig > 64 {
        return Err(Errno::EINVAL);
    }
    if act != 0 && (sig == SIGKILL || sig == SIGSTOP) {
        return Err(Errno::EINVAL);
    }
    let mut new = [0u8; 32];
    if act != 0 {
        t.read_user(act, &mut new)?;
    }
    let prev = t.proc.sigactions.lock()[sig as usize - 1];
    if old != 0 {
        t.write_user(old, &prev)?;
    }
    if act != 0 {
        t.proc.sigactions.lock()[sig as usize - 1] = new;
    }
    Ok(0)
}

pub fn rt_sigprocmask(t: &mut Task, a: Args) -> Result {
    let (how, set, old, size) = (a.0[0], a.0[1], a.0[2], a.0[3]);
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let cur = t.proc.sigmask.load(Ordering::Relaxed);
    if old != 0 {
        t.write_u64(old, cur)?;
    }
    if set != 0 {
        let s = t.read_u64(set)?;
        let unblockable = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));
        let new = match how {
            0 => cur | s,
            1 => cur & !s,
            2 => s,
            _ => return Err(Errno::EINVAL),
        } & !unblockable;
        t.proc.sigmask.store(new, Ordering::Relaxed);
    }
    Ok(0)
}

pub fn sigaltstack(t: &mut Task, a: Args) -> Result {
    // No alternate stack is in use: report SS_DISABLE and accept a new one.
    if a.0[1] != 0 {
        let mut old = [0u8; 24];
        old[8..12].copy_from_slice(&2u32.to_le_bytes()); // ss_flags = SS_DISABLE
        t.write_user(a.0[1], &old)?;
    }
    if a.0[0] != 0 {
        let mut ss = [0u8; 24];
        t.read_user(a.0[0], &mut ss)?;
        let flags = u32::from_le_bytes([ss[8], ss[9], ss[10], ss[11]]);
        let size = u64::from_le_bytes([
            ss[16], ss[17], ss[18], ss[19], ss[20], ss[21], ss[22], ss[23],
        ]);
        if flags & !(2 | (1 << 31)) != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & 2 == 0 && size < 2048 {
            return Err(Errno::ENOMEM);
        }
    }
    Ok(0)
}
