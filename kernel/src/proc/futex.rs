//! Futexes: sleep until another thread wakes this address. A waiter is queued under the table
//! lock *while* the user word is compared, and a waker marks waiters under the same lock, so a
//! wake between the check and the sleep cannot be lost (the waiter then finds its token set).
//!
//! Keys are (thread group, address): every futex is treated as process-private. Futexes in
//! memory shared between processes (MAP_SHARED) would need the page's identity as the key; that
//! comes with shared file mappings.
//!
//! Sleepers wait on one queue that wakers and the timer tick wake (for timeouts and for threads
//! of a process that is exiting); each re-checks its own token.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use abi::errno::Errno;
use hal::sync::SpinLock;

use super::task::Task;
use crate::sched::WaitQueue;

type Key = (u32, u64);
/// A queued waiter: the token its waker sets, and its bitset.
type Waiter = (Arc<AtomicBool>, u32);

static TABLE: SpinLock<BTreeMap<Key, Vec<Waiter>>> = SpinLock::new(BTreeMap::new());
static SLEEPERS: WaitQueue = WaitQueue::new();

pub const FUTEX_WAIT: u32 = 0;
pub const FUTEX_WAKE: u32 = 1;
pub const FUTEX_REQUEUE: u32 = 3;
pub const FUTEX_CMP_REQUEUE: u32 = 4;
pub const FUTEX_WAIT_BITSET: u32 = 9;
pub const FUTEX_WAKE_BITSET: u32 = 10;
/// A bitset that matches every waiter (plain FUTEX_WAIT/FUTEX_WAKE).
pub const BITSET_ANY: u32 = u32::MAX;

/// Called every tick: sleepers with a timeout (or in a dying process) re-check.
pub fn tick() {
    if !SLEEPERS.is_empty() {
        SLEEPERS.wake_all();
    }
}

/// FUTEX_WAIT: if *addr == val, sleep until woken, the deadline (monotonic ns) passes, or the
/// process is exiting.
pub fn wait(
    t: &Task,
    addr: u64,
    val: u32,
    deadline: Option<u64>,
    bitset: u32,
) -> Result<u64, Errno> {
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let key = (t.proc.pid, addr);
    let token = Arc::new(AtomicBool::new(false));
    {
        let mut table = TABLE.lock();
        let mut word = [0u8; 4];
        t.read_user(addr, &mut word)?;
        if u32::from_le_bytes(word) != val {
            return Err(Errno::EAGAIN);
        }
        table.entry(key).or_default().push((token.clone(), bitset));
    }
    let outcome = SLEEPERS.wait_until(|| {
        if token.load(Ordering::Acquire) {
            Some(Ok(0))
        } else if deadline.is_some_and(|d| crate::time::monotonic_ns() >= d) {
            Some(Err(Errno::ETIMEDOUT))
        } else if t.proc.is_zombie() {
            Some(Err(Errno::EINTR))
        } else if crate::sched::signal_wakeup() {
            Some(Err(Errno::ERESTARTSYS))
        } else {
            None
        }
    });
    if outcome.is_err() {
        // Leave the queue (unless a waker took us meanwhile, which then counts as woken).
        let mut table = TABLE.lock();
        if let Some(q) = table.get_mut(&key) {
            q.retain(|(tok, _)| !Arc::ptr_eq(tok, &token));
            if q.is_empty() {
                table.remove(&key);
            }
        }
        if token.load(Ordering::Acquire) {
            return Ok(0);
        }
    }
    outcome
}

/// Wake up to `n` waiters on `addr` whose bitset matches; returns how many.
pub fn wake(tgid: u32, addr: u64, n: u32, bitset: u32) -> u64 {
    let mut woken = 0u64;
    {
        let mut table = TABLE.lock();
        if let Some(q) = table.get_mut(&(tgid, addr)) {
            let mut i = 0;
            while i < q.len() && woken < u64::from(n) {
                if q[i].1 & bitset != 0 {
                    let (tok, _) = q.remove(i);
                    tok.store(true, Ordering::Release);
                    woken += 1;
                } else {
                    i += 1;
                }
            }
            if q.is_empty() {
                table.remove(&(tgid, addr));
            }
        }
    }
    if woken > 0 {
        SLEEPERS.wake_all();
    }
    woken
}

/// FUTEX_CMP_REQUEUE / FUTEX_REQUEUE: wake `n`, move up to `n2` others to `addr2`.
pub fn requeue(
    t: &Task,
    addr: u64,
    n: u32,
    n2: u32,
    addr2: u64,
    cmp: Option<u32>,
) -> Result<u64, Errno> {
    let tgid = t.proc.pid;
    {
        let mut table = TABLE.lock();
        if let Some(expected) = cmp {
            let mut word = [0u8; 4];
            t.read_user(addr, &mut word)?;
            if u32::from_le_bytes(word) != expected {
                return Err(Errno::EAGAIN);
            }
        }
        let mut moved = Vec::new();
        let mut woken = 0u64;
        if let Some(q) = table.get_mut(&(tgid, addr)) {
            while woken < u64::from(n) && !q.is_empty() {
                let (tok, _) = q.remove(0);
                tok.store(true, Ordering::Release);
                woken += 1;
            }
            let take = (n2 as usize).min(q.len());
            moved.extend(q.drain(..take));
            if q.is_empty() {
                table.remove(&(tgid, addr));
            }
        }
        let count = woken + moved.len() as u64;
        if !moved.is_empty() {
            table.entry((tgid, addr2)).or_default().extend(moved);
        }
        drop(table);
        if woken > 0 {
            SLEEPERS.wake_all();
        }
        Ok(count)
    }
}
