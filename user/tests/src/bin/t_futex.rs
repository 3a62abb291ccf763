//! t_futex: futexes between processes and FUTEX_WAKE_OP, as Linux keys them.
//!
//! A futex word in shared memory is named by the memory and the offset in it, not by the
//! process and address: a child blocked in FUTEX_WAIT on a MAP_SHARED page is woken by its
//! parent's FUTEX_WAKE, also when the parent names the word through a second mapping of the same
//! memfd at another address. With FUTEX_PRIVATE_FLAG the word is private to each address space,
//! so the same wake finds nobody. FUTEX_WAKE_OP changes the second word (ADD, SET with the shift
//! flag) and wakes a waiter on the first; an unaligned word is EINVAL, a changed value EAGAIN.

use std::sync::atomic::{AtomicU32, Ordering};

use libc::c_int;
use usertests::{Report, errname, map_anon, reap, sc, show_status, sleep_ms, spawn, ts};

const PAGE: usize = 4096;
const WAIT: c_int = libc::FUTEX_WAIT;
const WAKE: c_int = libc::FUTEX_WAKE;
const PRIVATE: c_int = libc::FUTEX_PRIVATE_FLAG;

fn futex_wait(word: *const AtomicU32, val: u32, op_flags: c_int, ms: u64) -> Result<i64, c_int> {
    let t = ts(ms * 1_000_000);
    sc!(
        libc::SYS_futex,
        word,
        WAIT | op_flags,
        val,
        &t as *const libc::timespec,
        0,
        0
    )
}

fn futex_wake(word: *const AtomicU32, n: u32, op_flags: c_int) -> Result<i64, c_int> {
    sc!(libc::SYS_futex, word, WAKE | op_flags, n, 0, 0, 0)
}

/// Wake `waker` until one waiter was woken (the child may not be queued yet), for at most 5 s.
/// Returns the count of the wake that found it (1), or the last count.
fn wake_until_one(waker: *const AtomicU32, op_flags: c_int) -> Result<i64, c_int> {
    let mut last = Ok(0);
    for _ in 0..500 {
        last = futex_wake(waker, 1, op_flags);
        if last != Ok(0) {
            break;
        }
        sleep_ms(10);
    }
    last
}

/// A child that waits on `word` (value 0) for up to `ms` and exits 0 when woken, 1 on a
/// timeout, 2 on anything else.
fn waiter(word: *const AtomicU32, op_flags: c_int, ms: u64) -> libc::pid_t {
    let addr = word as usize;
    spawn(
        move || match futex_wait(addr as *const AtomicU32, 0, op_flags, ms) {
            Ok(0) => 0,
            Err(libc::ETIMEDOUT) => 1,
            _ => 2,
        },
    )
}

fn status_code(pid: libc::pid_t) -> Result<c_int, String> {
    match reap(pid) {
        Ok(st) if libc::WIFEXITED(st) => Ok(libc::WEXITSTATUS(st)),
        Ok(st) => Err(show_status(st)),
        Err(e) => Err(errname(e)),
    }
}

fn shared_anonymous(r: &mut Report) {
    let page = map_anon(PAGE, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED);
    if page.is_null() {
        r.fail("shared_anon_map", "mmap failed");
        return;
    }
    let word = page.cast::<AtomicU32>();
    let child = waiter(word, 0, 5000);
    r.eq(
        "shared_anon_wake_finds_child",
        wake_until_one(word, 0),
        Ok(1),
    );
    r.eq("shared_anon_child_woken", status_code(child), Ok(0));
}

fn memfd_two_addresses(r: &mut Report) {
    let name = c"t_futex";
    let fd = match sc!(libc::SYS_memfd_create, name.as_ptr(), 0) {
        Ok(fd) => fd as c_int,
        Err(e) => {
            r.fail("memfd_create", errname(e));
            return;
        }
    };
    // SAFETY: fd is our memfd.
    if unsafe { libc::ftruncate(fd, PAGE as i64) } != 0 {
        r.fail("memfd_truncate", "ftruncate failed");
        return;
    }
    let map = || {
        // SAFETY: a new shared mapping of our memfd, placed by the kernel.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        (p != libc::MAP_FAILED).then_some(p.cast::<u8>())
    };
    let (Some(a), Some(b)) = (map(), map()) else {
        r.fail("memfd_two_mappings", "mmap failed");
        return;
    };
    r.check("memfd_mappings_differ", a != b, || "same address".into());
    // The child waits on the word through `a`; the parent wakes it through `b`.
    let (wa, wb) = (
        a.wrapping_add(64).cast::<AtomicU32>(),
        b.wrapping_add(64).cast::<AtomicU32>(),
    );
    let child = waiter(wa, 0, 5000);
    r.eq(
        "memfd_wake_through_other_mapping",
        wake_until_one(wb, 0),
        Ok(1),
    );
    r.eq("memfd_child_woken", status_code(child), Ok(0));
    // SAFETY: closing our descriptor (the mappings stay).
    unsafe { libc::close(fd) };
}

fn private_flag_stays_private(r: &mut Report) {
    let page = map_anon(PAGE, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED);
    if page.is_null() {
        r.fail("private_map", "mmap failed");
        return;
    }
    let word = page.cast::<AtomicU32>();
    let child = waiter(word, PRIVATE, 300);
    sleep_ms(50);
    r.eq(
        "private_wake_finds_no_other_process",
        futex_wake(word, 1, PRIVATE),
        Ok(0),
    );
    r.eq("private_child_times_out", status_code(child), Ok(1));
}

fn wake_op(r: &mut Report) {
    static W1: AtomicU32 = AtomicU32::new(0);
    static W2: AtomicU32 = AtomicU32::new(10);
    const OP_ADD: u32 = 1;
    const OP_SET: u32 = 0;
    const OPARG_SHIFT: u32 = 8;
    const CMP_GT: u32 = 4;
    const CMP_EQ: u32 = 0;
    let encode = |op: u32, cmp: u32, oparg: u32, cmparg: u32| {
        (op << 28) | (cmp << 24) | ((oparg & 0xfff) << 12) | (cmparg & 0xfff)
    };
    let wake_op = |n: u32, n2: u32, val3: u32| {
        sc!(
            libc::SYS_futex,
            &W1 as *const AtomicU32,
            libc::FUTEX_WAKE_OP | PRIVATE,
            n,
            n2 as usize,
            &W2 as *const AtomicU32,
            val3
        )
    };
    // No waiters: only the second word changes.
    r.eq(
        "wake_op_add_no_waiters",
        wake_op(1, 1, encode(OP_ADD, CMP_EQ, 5, 10)),
        Ok(0),
    );
    r.eq("wake_op_add_result", W2.load(Ordering::SeqCst), 15);
    r.eq(
        "wake_op_set_shift",
        wake_op(1, 1, encode(OP_SET | OPARG_SHIFT, CMP_GT, 3, 0)),
        Ok(0),
    );
    r.eq("wake_op_set_shift_result", W2.load(Ordering::SeqCst), 8);
    // A shift past 31 is taken modulo 32.
    r.eq(
        "wake_op_shift_out_of_range",
        wake_op(1, 1, encode(OP_SET | OPARG_SHIFT, CMP_EQ, 40, 0)),
        Ok(0),
    );
    r.eq("wake_op_shift_modulo_32", W2.load(Ordering::SeqCst), 256);
    // A thread waits on the first word; WAKE_OP wakes it.
    let t = std::thread::spawn(|| futex_wait(&W1, 0, PRIVATE, 5000));
    let mut woken = Ok(0);
    for _ in 0..500 {
        woken = wake_op(1, 0, encode(OP_ADD, CMP_GT, 1, 100));
        if woken != Ok(0) {
            break;
        }
        sleep_ms(10);
    }
    r.eq("wake_op_wakes_first_word", woken, Ok(1));
    r.eq(
        "wake_op_waiter_returns_0",
        t.join().map_err(|_| libc::EINVAL).and_then(|x| x),
        Ok(0),
    );
}

fn errors(r: &mut Report) {
    static W: [AtomicU32; 2] = [AtomicU32::new(7), AtomicU32::new(0)];
    let unaligned = (&W[0] as *const AtomicU32 as usize + 1) as *const AtomicU32;
    r.err(
        "wake_unaligned",
        futex_wake(unaligned, 1, PRIVATE),
        libc::EINVAL,
    );
    r.err(
        "wait_value_changed",
        futex_wait(&W[0], 0, PRIVATE, 100),
        libc::EAGAIN,
    );
}

fn main() {
    let mut r = Report::new("t_futex");
    shared_anonymous(&mut r);
    memfd_two_addresses(&mut r);
    private_flag_stays_private(&mut r);
    wake_op(&mut r);
    errors(&mut r);
    r.finish();
}
