//! Futexes: sleep until another thread wakes this address. A waiter is queued under the table
//! lock *while* the user word is compared, and a waker marks waiters under the same lock, so a
//! wake between the check and the sleep cannot be lost (the waiter then finds its token set).
//!
//! Keys, as on Linux: a futex in private memory (or named with FUTEX_PRIVATE_FLAG) is its
//! address space and address, so threads and CLONE_VM processes meet on it; a futex in shared
//! memory (MAP_SHARED anonymous or file, SysV segments) named without the flag is the memory
//! object and the offset in it, so processes mapping it at different addresses meet too.
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

/// (address space, address) or (memory object, offset). Address-space ids are kernel heap
/// addresses (the process's address-space cell), object ids are arena indices below 2^32, so
/// the two kinds never collide.
pub type Key = (u64, u64);

/// The key of the futex word at `addr` for `t`; `private` is FUTEX_PRIVATE_FLAG.
pub fn key(t: &Task, addr: u64, private: bool) -> Key {
    let cell = t.proc.vm();
    if !private && let Some(k) = cell.lock().as_ref().and_then(|vm| vm.shared_key(addr)) {
        return k;
    }
    (Arc::as_ptr(&cell) as usize as u64, addr)
}
/// A queued waiter: the token its waker sets, and its bitset.
type Waiter = (Arc<AtomicBool>, u32);

static TABLE: SpinLock<BTreeMap<Key, Vec<Waiter>>> = SpinLock::new(BTreeMap::new());
static SLEEPERS: WaitQueue = WaitQueue::new();

pub const FUTEX_WAIT: u32 = 0;
pub const FUTEX_WAKE: u32 = 1;
pub const FUTEX_REQUEUE: u32 = 3;
pub const FUTEX_CMP_REQUEUE: u32 = 4;
pub const FUTEX_WAKE_OP: u32 = 5;
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
    private: bool,
) -> Result<u64, Errno> {
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let key = key(t, addr, private);
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

/// Wake up to `n` waiters on the futex `key` whose bitset matches; returns how many.
pub fn wake(key: Key, n: u32, bitset: u32) -> u64 {
    let woken = {
        let mut table = TABLE.lock();
        wake_locked(&mut table, key, n, bitset)
    };
    if woken > 0 {
        SLEEPERS.wake_all();
    }
    woken
}

/// `wake` with the table already locked; the caller wakes SLEEPERS if this returns non-zero.
fn wake_locked(table: &mut BTreeMap<Key, Vec<Waiter>>, key: Key, n: u32, bitset: u32) -> u64 {
    let mut woken = 0u64;
    {
        if let Some(q) = table.get_mut(&key) {
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
                table.remove(&key);
            }
        }
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
    private: bool,
) -> Result<u64, Errno> {
    let (from, to) = (key(t, addr, private), key(t, addr2, private));
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
        if let Some(q) = table.get_mut(&from) {
            while woken < u64::from(n) && !q.is_empty() {
                let (tok, _) = q.remove(0);
                tok.store(true, Ordering::Release);
                woken += 1;
            }
            let take = (n2 as usize).min(q.len());
            moved.extend(q.drain(..take));
            if q.is_empty() {
                table.remove(&from);
            }
        }
        let count = woken + moved.len() as u64;
        if !moved.is_empty() {
            table.entry(to).or_default().extend(moved);
        }
        drop(table);
        if woken > 0 {
            SLEEPERS.wake_all();
        }
        Ok(count)
    }
}

/// FUTEX_WAKE_OP: atomically `old = *addr2; *addr2 = old OP oparg`, wake `n` waiters on `addr`
/// and, if `old CMP cmparg`, `n2` on `addr2`; `encoded` is val3's
/// `(op << 28) | (cmp << 24) | (oparg << 12) | cmparg` (12-bit signed fields; op bit 3 makes
/// the operand `1 << oparg`). Returns how many were woken.
pub fn wake_op(
    t: &Task,
    addr: u64,
    n: u32,
    n2: u32,
    addr2: u64,
    encoded: u32,
    private: bool,
) -> Result<u64, Errno> {
    const OPARG_SHIFT: u32 = 8;
    let op = encoded >> 28;
    let cmp = (encoded >> 24) & 0xf;
    let sext12 = |v: u32| ((v << 20) as i32) >> 20;
    let mut oparg = sext12((encoded >> 12) & 0xfff);
    let cmparg = sext12(encoded & 0xfff);
    if op & OPARG_SHIFT != 0 {
        // Linux takes an out-of-range shift modulo 32 rather than failing.
        oparg = 1 << (oparg & 31);
    }
    if !addr2.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let (k1, k2) = (key(t, addr, private), key(t, addr2, private));
    let mut table = TABLE.lock();
    let mut word = [0u8; 4];
    t.read_user(addr2, &mut word)?;
    let old = i32::from_le_bytes(word);
    let new = match op & !OPARG_SHIFT {
        0 => oparg,                   // SET
        1 => old.wrapping_add(oparg), // ADD
        2 => old | oparg,             // OR
        3 => old & !oparg,            // ANDN
        4 => old ^ oparg,             // XOR
        _ => return Err(Errno::ENOSYS),
    };
    let hit = match cmp {
        0 => old == cmparg,
        1 => old != cmparg,
        2 => old < cmparg,
        3 => old <= cmparg,
        4 => old > cmparg,
        5 => old >= cmparg,
        _ => return Err(Errno::ENOSYS),
    };
    t.write_user(addr2, &new.to_le_bytes())?;
    let mut woken = wake_locked(&mut table, k1, n, BITSET_ANY);
    if hit {
        woken += wake_locked(&mut table, k2, n2, BITSET_ANY);
    }
    drop(table);
    if woken > 0 {
        SLEEPERS.wake_all();
    }
    Ok(woken)
}

/// Bits of a robust (or PI) futex word: waiters are queued, the owner died, the owner's tid.
pub const FUTEX_WAITERS: u32 = 0x8000_0000;
pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// sizeof(struct robust_list_head): next, futex_offset, list_op_pending.
pub const ROBUST_HEAD_LEN: u64 = 24;
/// At most this many entries are walked (a list made circular by mistake must not hang exit).
const ROBUST_LIST_LIMIT: usize = 2048;

/// The robust-list walk when the thread `tid` dies (or execs): every futex word on the list
/// whose owner is `tid` gets FUTEX_OWNER_DIED (keeping FUTEX_WAITERS), and one waiter is woken
/// if there were waiters, so the next locker sees EOWNERDEAD instead of waiting forever. The
/// list lives in user memory of `t`'s address space (the thread's own, or a thread of the same
/// process for exit_group); a fault or a misaligned word ends the walk. Bit 0 of an entry marks
/// a PI futex: Tine has no PI state, so such an entry gets the same owner-died rule.
pub fn exit_robust_list(t: &Task, head: u64, tid: u32) {
    if head == 0 {
        return;
    }
    let (Ok(first), Ok(offset), Ok(pending)) = (
        t.read_u64(head),
        t.read_u64(head.wrapping_add(8)),
        t.read_u64(head.wrapping_add(16)),
    ) else {
        return;
    };
    let pending_entry = pending & !1;
    let mut entry = first;
    for _ in 0..ROBUST_LIST_LIMIT {
        let at = entry & !1;
        if at == head {
            break;
        }
        // The next pointer first: releasing this futex lets others change the entry.
        let Ok(next) = t.read_u64(at) else {
            return;
        };
        // The pending entry may be on the list already: it is handled once, below.
        if at != pending_entry && owner_died(t, at.wrapping_add(offset), tid, false).is_err() {
            return;
        }
        entry = next;
    }
    if pending_entry != 0 {
        let _ = owner_died(t, pending_entry.wrapping_add(offset), tid, pending & 1 == 0);
    }
}

/// One futex word of a dead owner. `pending_plain`: the entry is the non-PI list_op_pending,
/// where an unlock may have cleared the word but not yet woken anyone: a zero word wakes one.
fn owner_died(t: &Task, addr: u64, tid: u32, pending_plain: bool) -> Result<(), Errno> {
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let mut word = [0u8; 4];
    // As on Linux, the kernel wakes robust futexes as shared ones (a process-shared mutex's
    // waiter may be in another process).
    let key = key(t, addr, false);
    // Compare and store under the table lock: no waiter can queue on the word in between.
    let table = TABLE.lock();
    t.read_user(addr, &mut word)?;
    let val = u32::from_le_bytes(word);
    if pending_plain && val == 0 {
        drop(table);
        wake(key, 1, BITSET_ANY);
        return Ok(());
    }
    if val & FUTEX_TID_MASK != tid {
        return Ok(());
    }
    let new = (val & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    t.write_user(addr, &new.to_le_bytes())?;
    drop(table);
    if val & FUTEX_WAITERS != 0 {
        wake(key, 1, BITSET_ANY);
    }
    Ok(())
}

/// exit_group or a fatal signal: the caller walks the robust list of every thread of its
/// process while the address space is still there (the other threads find the process a zombie
/// and their memory gone when they get to their own exit). Each head is taken, so no list is
/// walked twice.
pub fn exit_robust_lists_of_process(t: &Task) {
    let threads: Vec<(u32, Arc<crate::sched::Thread>)> = t
        .proc
        .threads
        .lock()
        .iter()
        .filter_map(|(tid, w)| w.upgrade().map(|th| (*tid, th)))
        .collect();
    for (tid, th) in threads {
        let head = th.robust_list.swap(0, Ordering::AcqRel);
        exit_robust_list(t, head, tid);
    }
}
