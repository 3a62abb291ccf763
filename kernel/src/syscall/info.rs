//! System information: uname, sysinfo, getrandom, getcpu, sched_getaffinity, reboot.

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use abi::errno::Errno;
use abi::layout::Utsname;

use super::{Args, Result};
use crate::proc::task::Task;

pub const RELEASE: &str = "6.1.0-tine";

/// The UTS names `sethostname`/`setdomainname` set (at most 64 bytes each, as on Linux).
static HOSTNAME: hal::sync::SpinLock<alloc::vec::Vec<u8>> =
    hal::sync::SpinLock::new(alloc::vec::Vec::new());
static DOMAINNAME: hal::sync::SpinLock<alloc::vec::Vec<u8>> =
    hal::sync::SpinLock::new(alloc::vec::Vec::new());

fn uts_name(v: &hal::sync::SpinLock<alloc::vec::Vec<u8>>, default: &[u8]) -> alloc::vec::Vec<u8> {
    let n = v.lock();
    if n.is_empty() {
        default.to_vec()
    } else {
        n.clone()
    }
}

/// The host name (`uname -n`, `/proc/sys/kernel/hostname`).
pub fn hostname() -> alloc::vec::Vec<u8> {
    uts_name(&HOSTNAME, b"tine")
}

/// sethostname and setdomainname: root only, at most 64 bytes.
pub fn set_uts_name(t: &mut Task, a: Args, domain: bool) -> Result {
    if !t.proc.creds.lock().privileged() {
        return Err(Errno::EPERM);
    }
    let len = a.0[1];
    if len > 64 {
        return Err(Errno::EINVAL);
    }
    let mut name = alloc::vec![0u8; len as usize];
    t.read_user(a.0[0], &mut name)?;
    let target = if domain { &DOMAINNAME } else { &HOSTNAME };
    *target.lock() = name;
    Ok(0)
}

pub fn uname(t: &mut Task, a: Args) -> Result {
    let version = alloc::format!(
        "#1 SMP PREEMPT_DYNAMIC Tine {} ({})",
        crate::VERSION,
        crate::GIT_REV
    );
    let u = Utsname {
        sysname: Utsname::field(b"Linux"),
        nodename: Utsname::field(&hostname()),
        release: Utsname::field(RELEASE.as_bytes()),
        version: Utsname::field(version.as_bytes()),
        machine: Utsname::field(b"x86_64"),
        domainname: Utsname::field(&uts_name(&DOMAINNAME, b"(none)")),
    };
    t.write_user(a.0[0], &u.to_bytes())?;
    Ok(0)
}

pub fn sysinfo(t: &mut Task, a: Args) -> Result {
    // struct sysinfo (112 bytes): uptime, loads[3], totalram, freeram, sharedram, bufferram,
    // totalswap, freeswap, procs (u16), pad, totalhigh, freehigh, mem_unit (u32).
    let s = hal::mem::frames::stats();
    let mut b = [0u8; 112];
    let put =
        |b: &mut [u8; 112], off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put(&mut b, 0, crate::time::monotonic_ns() / 1_000_000_000);
    put(&mut b, 32, s.total * 4096);
    put(&mut b, 40, s.free * 4096);
    b[80..82].copy_from_slice(&(crate::proc::all().len() as u16).to_le_bytes());
    b[104..108].copy_from_slice(&1u32.to_le_bytes());
    t.write_user(a.0[0], &b)?;
    Ok(0)
}

pub fn getrandom(t: &mut Task, a: Args) -> Result {
    let (buf, len, flags) = (a.0[0], a.0[1], a.0[2]);
    if flags & !0x7 != 0 {
        return Err(Errno::EINVAL);
    }
    let len = len.min(33_554_431);
    let mut done = 0u64;
    while done < len {
        let v = hal::arch::random_u64().to_le_bytes();
        let n = (len - done).min(8) as usize;
        t.write_user(buf + done, &v[..n])?;
        done += n as u64;
    }
    Ok(len)
}

pub fn getcpu(t: &mut Task, a: Args) -> Result {
    let cpu = hal::cpu::index();
    if a.0[0] != 0 {
        t.write_user(a.0[0], &cpu.to_le_bytes())?;
    }
    if a.0[1] != 0 {
        t.write_user(a.0[1], &0u32.to_le_bytes())?;
    }
    Ok(0)
}

/// The thread `pid` names for the affinity calls (0: the caller), with its process, if it
/// lives.
fn affinity_target(
    t: &Task,
    pid: u64,
) -> core::result::Result<(Arc<crate::proc::Process>, Arc<crate::sched::Thread>), Errno> {
    if pid == 0 {
        return Ok((t.proc.clone(), crate::sched::current()));
    }
    let pid = u32::try_from(pid).map_err(|_| Errno::ESRCH)?;
    let p = crate::proc::lookup(pid)
        .filter(|p| !p.is_zombie())
        .ok_or(Errno::ESRCH)?;
    let th = p.thread(pid).ok_or(Errno::ESRCH)?;
    Ok((p, th))
}

/// CPUs that run threads: bit i for CPU i (one word: Tine starts at most 64).
fn online_mask() -> u64 {
    let n = crate::sched::online_cpus().clamp(1, 64);
    if n == 64 { u64::MAX } else { (1u64 << n) - 1 }
}

/// sched_getaffinity(pid, len, mask): the thread's mask; `len` must be a whole number of
/// words (Linux's unsigned long) and cover every possible CPU. Returns the bytes written.
pub fn sched_getaffinity(t: &mut Task, a: Args) -> Result {
    let len = a.0[1];
    if len < 8 || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let (_, th) = affinity_target(t, a.0[0])?;
    let mask = th.affinity.load(Ordering::Relaxed) & online_mask();
    t.write_u64(a.0[2], mask)?;
    Ok(8)
}

/// sched_setaffinity(pid, len, mask): a shorter mask is padded with zeros, a longer one
/// cut (Tine has at most 64 CPUs); it must name an online CPU (else EINVAL). Another user's
/// thread needs privilege (EPERM), as on Linux without CAP_SYS_NICE.
pub fn sched_setaffinity(t: &mut Task, a: Args) -> Result {
    let len = (a.0[1] as usize).min(8);
    let mut b = [0u8; 8];
    t.read_user(a.0[2], &mut b[..len])?;
    let mask = u64::from_le_bytes(b);
    let (target, th) = affinity_target(t, a.0[0])?;
    let mine = t.proc.creds.lock().clone();
    let theirs = target.creds.lock().clone();
    if !mine.may_reschedule(&theirs) {
        return Err(Errno::EPERM);
    }
    if mask & online_mask() == 0 {
        return Err(Errno::EINVAL);
    }
    th.affinity.store(mask, Ordering::Relaxed);
    Ok(0)
}

pub fn reboot(t: &mut Task, a: Args) -> Result {
    const MAGIC1: u32 = 0xfee1_dead;
    const MAGIC2: [u32; 4] = [672_274_793, 85_072_278, 369_367_448, 537_993_216];
    const CMD_RESTART: u32 = 0x0123_4567;
    const CMD_HALT: u32 = 0xCDEF_0123;
    const CMD_POWER_OFF: u32 = 0x4321_FEDC;
    const CMD_CAD_ON: u32 = 0x89AB_CDEF;
    const CMD_CAD_OFF: u32 = 0;
    if a.u32(0) != MAGIC1 || !MAGIC2.contains(&a.u32(1)) {
        return Err(Errno::EINVAL);
    }
    if !t.proc.creds.lock().privileged() {
        return Err(Errno::EPERM);
    }
    match a.u32(2) {
        CMD_POWER_OFF => {
            hal::kprintln!("reboot: Power down");
            hal::power::power_off()
        }
        CMD_RESTART => {
            hal::kprintln!("reboot: Restarting system");
            hal::power::reboot()
        }
        CMD_HALT => {
            hal::kprintln!("reboot: System halted");
            hal::arch::halt_forever()
        }
        CMD_CAD_ON | CMD_CAD_OFF => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}
