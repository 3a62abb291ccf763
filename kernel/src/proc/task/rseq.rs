//! Restartable sequences (rseq(2)): a thread registers a `struct rseq` in its memory; the
//! kernel keeps the CPU number there current, and when the thread is switched out or gets a
//! signal while its instruction pointer is inside the critical section that `rseq_cs` names,
//! the thread resumes at that section's abort handler instead.
//!
//! Layout (Linux's ABI). `struct rseq`, 32-byte aligned: u32 cpu_id_start (0), u32 cpu_id (4),
//! u64 rseq_cs (8), u32 flags (16), u32 node_id (20), u32 mm_cid (24). `struct rseq_cs`:
//! u32 version, u32 flags, u64 start_ip, u64 post_commit_offset, u64 abort_ip; the 4 bytes
//! before abort_ip must hold the signature given at registration.
//!
//! The registration lives in the thread (`sched::Thread::rseq`); `Thread::rseq_switched` is set
//! by the scheduler when the thread runs again after a switch, so a thread pays for rseq on its
//! way to user mode only after it was switched out, never on an ordinary system call.

use abi::errno::Errno;

use super::Task;
use crate::sched::Thread;
use crate::sched::thread::RseqArea;

/// The original `struct rseq` size, and the alignment every registration needs.
pub const ORIG_LEN: u32 = 32;
/// offsetof(struct rseq, end): the fields Tine fills (what AT_RSEQ_FEATURE_SIZE announces).
pub const FEATURE_SIZE: u32 = 28;
pub const ALIGN: u64 = 32;
const FLAG_UNREGISTER: i32 = 1;
const CPU_ID_UNINITIALIZED: u32 = u32::MAX;

const OFF_RSEQ_CS: u64 = 8;
const OFF_FLAGS: u64 = 16;
const OFF_NODE_ID: u64 = 20;
/// Linux's TASK_SIZE_MAX: user addresses are below it.
const TASK_SIZE: u64 = 0x0000_7fff_ffff_f000;

/// What an accepted rseq(2) call does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Register,
    Unregister,
}

/// The checks of rseq(2), in Linux's order, given the caller's current registration.
pub fn decide(cur: Option<RseqArea>, req: RseqArea, flags: i32) -> Result<Op, Errno> {
    if flags & FLAG_UNREGISTER != 0 {
        if flags & !FLAG_UNREGISTER != 0 {
            return Err(Errno::EINVAL);
        }
        let cur = cur.ok_or(Errno::EINVAL)?;
        if cur.addr != req.addr || cur.len != req.len {
            return Err(Errno::EINVAL);
        }
        if cur.sig != req.sig {
            return Err(Errno::EPERM);
        }
        return Ok(Op::Unregister);
    }
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    if let Some(cur) = cur {
        if cur.addr != req.addr || cur.len != req.len {
            return Err(Errno::EINVAL);
        }
        if cur.sig != req.sig {
            return Err(Errno::EPERM);
        }
        return Err(Errno::EBUSY);
    }
    // The original size, or an extended one that holds every field Tine knows; both aligned.
    if req.len < ORIG_LEN || !req.addr.is_multiple_of(ALIGN) {
        return Err(Errno::EINVAL);
    }
    // access_ok: the whole area in the user half.
    match req.addr.checked_add(u64::from(req.len)) {
        Some(end) if end <= TASK_SIZE => Ok(Op::Register),
        _ => Err(Errno::EFAULT),
    }
}

/// rseq(rseq, rseq_len, flags, sig) for the calling thread.
pub fn syscall(t: &Task, addr: u64, len: u32, flags: i32, sig: u32) -> Result<u64, Errno> {
    let me = crate::sched::current();
    let req = RseqArea { addr, len, sig };
    let cur = *me.rseq.lock();
    match decide(cur, req, flags)? {
        Op::Register => {
            // As current Linux does: a stale rseq_cs left in a reused area is cleared (rather
            // than failing the next return to user mode), and the ids are stored now, so an
            // area the thread cannot write is EFAULT here instead of a SIGSEGV later.
            t.write_u64(addr + OFF_RSEQ_CS, 0)?;
            write_ids(t, addr, hal::cpu::index(), hal::cpu::index())?;
            *me.rseq.lock() = Some(req);
        }
        Op::Unregister => {
            write_ids(t, addr, 0, CPU_ID_UNINITIALIZED)?;
            *me.rseq.lock() = None;
        }
    }
    Ok(0)
}

/// cpu_id_start and cpu_id; node_id and mm_cid are 0 (one node; one thread runs at a time on
/// the single CPU, so concurrency id 0 is every thread's).
fn write_ids(t: &Task, addr: u64, cpu_start: u32, cpu: u32) -> Result<(), Errno> {
    let mut ids = [0u8; 8];
    ids[..4].copy_from_slice(&cpu_start.to_le_bytes());
    ids[4..].copy_from_slice(&cpu.to_le_bytes());
    t.write_user(addr, &ids)?;
    t.write_user(addr + OFF_NODE_ID, &[0u8; 8])
}

/// A `struct rseq_cs` as read from user memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    pub version: u32,
    pub flags: u32,
    pub start_ip: u64,
    pub post_commit_offset: u64,
    pub abort_ip: u64,
}

impl Descriptor {
    fn from_bytes(b: &[u8; 32]) -> Descriptor {
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let u64_at = |o: usize| u64::from(u32_at(o)) | (u64::from(u32_at(o + 4)) << 32);
        Descriptor {
            version: u32_at(0),
            flags: u32_at(4),
            start_ip: u64_at(8),
            post_commit_offset: u64_at(16),
            abort_ip: u64_at(24),
        }
    }

    /// Linux's rules for a descriptor: version 0, the section and the abort handler in user
    /// space, no wrap-around, and the abort handler outside the section.
    pub fn valid(&self) -> bool {
        let Some(end) = self.start_ip.checked_add(self.post_commit_offset) else {
            return false;
        };
        self.version == 0
            && self.start_ip < TASK_SIZE
            && end < TASK_SIZE
            && self.abort_ip < TASK_SIZE
            && !self.contains(self.abort_ip)
    }

    /// Whether `ip` is in [start_ip, start_ip + post_commit_offset).
    pub fn contains(&self, ip: u64) -> bool {
        ip.wrapping_sub(self.start_ip) < self.post_commit_offset
    }
}

/// The thread was preempted, or is about to get a signal: if its instruction pointer is in
/// the critical section rseq_cs names, move it to the abort handler; clear rseq_cs in any case.
/// An error (a bad descriptor, a wrong signature, memory that faults) means SIGSEGV.
fn fixup(t: &mut Task, area: RseqArea) -> Result<(), Errno> {
    let slot = area.addr + OFF_RSEQ_CS;
    let cs = t.read_u64(slot)?;
    if cs == 0 {
        return Ok(());
    }
    if cs >= TASK_SIZE {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 32];
    t.read_user(cs, &mut b)?;
    let d = Descriptor::from_bytes(&b);
    if !d.valid() {
        return Err(Errno::EINVAL);
    }
    let mut sig = [0u8; 4];
    t.read_user(d.abort_ip.checked_sub(4).ok_or(Errno::EFAULT)?, &mut sig)?;
    if u32::from_le_bytes(sig) != area.sig {
        log::info!(
            "pid {}: rseq signature {:#x} before abort handler {:#x}, registered {:#x}",
            t.proc.pid,
            u32::from_le_bytes(sig),
            d.abort_ip,
            area.sig
        );
        return Err(Errno::EINVAL);
    }
    if d.contains(t.ctx.rip) {
        // The restart-suppressing flags are gone from the ABI: any flag is an error.
        let mut flags = [0u8; 4];
        t.read_user(area.addr + OFF_FLAGS, &mut flags)?;
        if d.flags != 0 || u32::from_le_bytes(flags) != 0 {
            return Err(Errno::EINVAL);
        }
        t.ctx.rip = d.abort_ip;
    }
    t.write_u64(slot, 0)
}

/// The fixup and the CPU number, then: the thread is killed with SIGSEGV if either fails.
fn update(t: &mut Task, area: RseqArea) -> bool {
    let cpu = hal::cpu::index();
    if fixup(t, area)
        .and_then(|()| write_ids(t, area.addr, cpu, cpu))
        .is_ok()
    {
        return true;
    }
    log::info!(
        "pid {} tid {}: bad rseq area or critical section: killed by SIGSEGV",
        t.proc.pid,
        t.tid
    );
    let status = abi::wait::signaled(super::SIGSEGV as i32, false);
    super::kill_current(t, status);
    false
}

/// On the way to user mode after the thread was switched out (`me.rseq_switched` set): abort
/// an interrupted critical section and store the CPU number. False if the thread was killed.
pub fn resume(t: &mut Task, me: &Thread) -> bool {
    if !me
        .rseq_switched
        .swap(false, core::sync::atomic::Ordering::Relaxed)
    {
        return true;
    }
    let area = *me.rseq.lock();
    match area {
        Some(area) => update(t, area),
        None => true,
    }
}

/// Before a signal handler's frame is built (so the frame saves the abort handler's address,
/// not one inside the section). False if the thread was killed.
pub fn signal(t: &mut Task) -> bool {
    let area = *crate::sched::current().rseq.lock();
    match area {
        Some(area) => update(t, area),
        None => true,
    }
}

#[cfg(feature = "ktest")]
mod tests {
    use super::*;
    use hal::ktest;

    const A: RseqArea = RseqArea {
        addr: 0x1000,
        len: 32,
        sig: 0x5305_3053,
    };

    ktest!(
        fn rseq_registration_rules() {
            let with = |addr, len, sig| RseqArea { addr, len, sig };
            assert_eq!(decide(None, A, 0), Ok(Op::Register));
            assert_eq!(decide(None, with(0x1000, 64, 1), 0), Ok(Op::Register));
            assert_eq!(decide(None, with(0x1010, 32, 1), 0), Err(Errno::EINVAL));
            assert_eq!(decide(None, with(0x1000, 31, 1), 0), Err(Errno::EINVAL));
            assert_eq!(decide(None, A, 2), Err(Errno::EINVAL));
            assert_eq!(decide(None, with(TASK_SIZE, 32, 1), 0), Err(Errno::EFAULT));
            assert_eq!(
                decide(None, with(TASK_SIZE - 32, 64, 1), 0),
                Err(Errno::EFAULT)
            );
            assert_eq!(
                decide(None, with(TASK_SIZE - 32, 32, 1), 0),
                Ok(Op::Register)
            );
            assert_eq!(
                decide(None, with(u64::MAX - 31, 32, 1), 0),
                Err(Errno::EFAULT)
            );
            assert_eq!(decide(Some(A), A, 0), Err(Errno::EBUSY));
            assert_eq!(
                decide(Some(A), with(0x2000, 32, A.sig), 0),
                Err(Errno::EINVAL)
            );
            assert_eq!(
                decide(Some(A), with(0x1000, 64, A.sig), 0),
                Err(Errno::EINVAL)
            );
            assert_eq!(decide(Some(A), with(0x1000, 32, 7), 0), Err(Errno::EPERM));
            assert_eq!(decide(Some(A), A, 1), Ok(Op::Unregister));
            assert_eq!(decide(Some(A), A, 3), Err(Errno::EINVAL));
            assert_eq!(decide(None, A, 1), Err(Errno::EINVAL));
            assert_eq!(decide(Some(A), with(0x1000, 32, 7), 1), Err(Errno::EPERM));
            assert_eq!(
                decide(Some(A), with(0x2000, 32, A.sig), 1),
                Err(Errno::EINVAL)
            );
        }
    );

    ktest!(
        fn rseq_descriptor_rules() {
            let d = Descriptor {
                version: 0,
                flags: 0,
                start_ip: 0x1000,
                post_commit_offset: 0x10,
                abort_ip: 0x1020,
            };
            assert!(d.valid());
            assert!(d.contains(0x1000) && d.contains(0x100f));
            assert!(!d.contains(0x1010) && !d.contains(0xfff));
            assert!(!Descriptor { version: 1, ..d }.valid());
            assert!(
                !Descriptor {
                    abort_ip: 0x1008,
                    ..d
                }
                .valid()
            );
            assert!(
                !Descriptor {
                    abort_ip: TASK_SIZE,
                    ..d
                }
                .valid()
            );
            assert!(
                !Descriptor {
                    post_commit_offset: u64::MAX,
                    ..d
                }
                .valid()
            );
            assert!(
                !Descriptor {
                    start_ip: TASK_SIZE - 8,
                    ..d
                }
                .valid()
            );
            // An empty section contains nothing, and any abort handler is outside it.
            assert!(
                Descriptor {
                    post_commit_offset: 0,
                    abort_ip: 0x1000,
                    ..d
                }
                .valid()
            );
        }
    );
}
