//! t_classic: the classic test programs of two teaching kernels, Weenix and Codezero, re-created
//! as behaviour (not code) and checked the same way on Linux and Tine.
//!
//! * forktest — 100 rounds of fork + exit + wait, each child exiting with its own status; three
//!   nested fork levels (eight processes) that each stamp a private global and heap buffer, meet
//!   at a barrier on a shared page, and must not see anybody else's stamp.
//! * forkbomb, bounded — a child becomes a process-group leader, lowers RLIMIT_NPROC to 30, drops
//!   to uid/gid 65534 and forks sleepers until fork fails with EAGAIN; it then leaves its group
//!   (so that it survives and can reap), kills the whole group with SIGKILL and reaps every
//!   sleeper, so nothing is orphaned and no process of uid 65534 is left for a later test.
//! * stress COW — four children rewrite halves of a 4 MiB private mapping; nobody sees anybody
//!   else's bytes.
//! * memtest — munmap of a middle page, brk growing and shrinking, mmap errors, RLIMIT_AS, a
//!   stack overflow.
//! * eatmem, bounded — a child under RLIMIT_AS 48 MiB allocates and touches memory until an
//!   allocation fails (never the OOM killer).
//! * pipetest — a ring of four processes passes a token 200 times around.
//! * vfstest-lite — a tree three levels deep with five files per directory in
//!   `/tmp/t_classic.<pid>`: rename, getdents64 walk, bottom-up removal.
//! * Codezero test0 — 20 threads on a shared atomic counter, a MAP_SHARED page where a parent and
//!   child alternate, execve of this program with arguments and an environment (found through
//!   AT_EXECFN; argv[1] is the marker `--classic-image`), and ud2 ending a child with SIGILL.
//!
//! Any other command line makes the program exit 99 at once. Bounded for a 256 MiB guest: at most
//! about 56 MiB is touched at any time (the eatmem child); about 0.07 s on the host (root).

use std::ffi::{CStr, CString};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use libc::{c_char, c_int, pid_t};
use usertests::{
    Report, Steps, errname, errno, mono_ns, reap, sc, show, show_status, spawn, spawn_steps,
    waitpid,
};

const PAGE: usize = 4096;
const MIB: usize = 1 << 20;
const MARKER: &str = "--classic-image";
const UNEXPECTED: c_int = 99;

/// A private global several pages long (copy-on-write after fork).
static GLOBAL: [AtomicU64; 2048] = [const { AtomicU64::new(0) }; 2048];

fn map_anon(len: usize, shared: bool) -> *mut u8 {
    let flags = if shared {
        libc::MAP_SHARED
    } else {
        libc::MAP_PRIVATE
    };
    usertests::map_anon(len, libc::PROT_READ | libc::PROT_WRITE, flags)
}

fn unmap(p: *mut u8, len: usize) {
    // SAFETY: unmaps a mapping this program made.
    unsafe { libc::munmap(p.cast(), len) };
}

/// prlimit64(0, res, {soft, hard}, NULL).
/// `res` is a `RLIMIT_*` constant: `u32` under glibc, `c_int` under musl.
fn set_limit(res: impl Into<i64>, soft: u64, hard: u64) -> Result<libc::c_long, c_int> {
    let l = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    sc!(
        libc::SYS_prlimit64,
        0,
        res.into(),
        &l as *const libc::rlimit64,
        0
    )
}

fn get_limit(res: impl Into<i64>) -> (u64, u64) {
    let mut l = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let _ = sc!(
        libc::SYS_prlimit64,
        0,
        res.into(),
        0,
        &mut l as *mut libc::rlimit64
    );
    (l.rlim_cur, l.rlim_max)
}

/// Puts `sig` back to SIG_DFL (std's stack-overflow handler catches SIGSEGV/SIGBUS and could turn
/// a guard-page hit into an abort).
fn default_signal(sig: c_int) {
    // SAFETY: resets a disposition; no handler runs.
    unsafe { libc::signal(sig, libc::SIG_DFL) };
}

fn yield_cpu() {
    // SAFETY: no arguments.
    unsafe { libc::sched_yield() };
}

/// Whether `st` says "killed by `sig`".
fn killed_by(st: Result<c_int, c_int>, sig: c_int) -> Result<(), String> {
    match st {
        Ok(s) if libc::WIFSIGNALED(s) && libc::WTERMSIG(s) == sig => Ok(()),
        Ok(s) => Err(show_status(s)),
        Err(e) => Err(format!("waitpid: {}", errname(e))),
    }
}

fn execfn() -> Option<CString> {
    // SAFETY: getauxval has no preconditions; AT_EXECFN points at a NUL-terminated string.
    let p = unsafe { libc::getauxval(libc::AT_EXECFN) };
    if p == 0 {
        return None;
    }
    // SAFETY: see above.
    Some(unsafe { CStr::from_ptr(p as *const c_char) }.to_owned())
}

// ---------------------------------------------------------------------------------------------
// 1. forktest

fn forktest(r: &mut Report) {
    // 100 rounds, each child exiting with its round number.
    let mut bad = None;
    for i in 0..100 {
        let pid = spawn(|| i % 256);
        if pid < 0 {
            bad = Some(format!("round {i}: fork failed with {}", errname(-pid)));
            break;
        }
        match waitpid(pid, 0) {
            Ok((got, st))
                if got == pid && libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == i % 256 => {}
            other => {
                bad = Some(format!("round {i}: waitpid gave {}", show(&other)));
                break;
            }
        }
    }
    r.check("fork_100_rounds_exit_statuses", bad.is_none(), || {
        bad.unwrap_or_default()
    });

    // Three nested levels: eight processes, each with its own id.
    let barrier = map_anon(PAGE, true);
    if barrier.is_null() {
        r.fail(
            "fork_nested_8_processes_isolated",
            "mmap of the barrier page failed",
        );
        return;
    }
    // SAFETY: the page is mapped, aligned and shared by all eight processes.
    let arrived = unsafe { &*barrier.cast::<AtomicU32>() };
    let mut heap: Vec<u64> = vec![0xdead; 4096];
    for (i, g) in GLOBAL.iter().enumerate() {
        g.store(0xdead + i as u64, Ordering::Relaxed);
    }
    let mut id = 0u64;
    let mut kids: Vec<pid_t> = Vec::new();
    let mut fork_failed = false;
    for level in 0..3 {
        let pid = usertests::fork();
        if pid == 0 {
            id |= 1 << level;
            kids.clear();
        } else if pid > 0 {
            kids.push(pid);
        } else {
            fork_failed = true;
        }
    }
    let stamp = |id: u64, i: usize| (id << 32) | i as u64;
    for (i, g) in GLOBAL.iter().enumerate() {
        g.store(stamp(id, i), Ordering::Relaxed);
    }
    for (i, h) in heap.iter_mut().enumerate() {
        *h = stamp(id, i);
    }
    arrived.fetch_add(1, Ordering::SeqCst);
    // Wait until all eight have stamped (bounded: a missing process must not hang the test).
    let deadline = mono_ns() + 5_000_000_000;
    let mut met = true;
    while arrived.load(Ordering::SeqCst) < 8 {
        if mono_ns() > deadline {
            met = false;
            break;
        }
        yield_cpu();
    }
    let mine_ok = GLOBAL
        .iter()
        .enumerate()
        .all(|(i, g)| g.load(Ordering::Relaxed) == stamp(id, i))
        && heap.iter().enumerate().all(|(i, h)| *h == stamp(id, i));
    let mut kids_ok = true;
    for p in &kids {
        kids_ok &= matches!(reap(*p), Ok(0));
    }
    let code = if !mine_ok {
        1
    } else if !met || fork_failed {
        2
    } else if !kids_ok {
        3
    } else {
        0
    };
    if id != 0 {
        if code != 0 {
            usertests::diag(&format!("t_classic nested fork process {id}: code {code}"));
        }
        // SAFETY: ends a nested child without running exit-time code.
        unsafe { libc::_exit(code) }
    }
    r.check("fork_nested_8_processes_isolated", code == 0, || {
        format!(
            "own copy ok {mine_ok}, barrier met {met}, fork failed {fork_failed}, \
             descendants ok {kids_ok}"
        )
    });
    unmap(barrier, PAGE);
}

// ---------------------------------------------------------------------------------------------
// 2. forkbomb, bounded

/// The group leader's work; returns its exit status (0 or a failed step).
fn forkbomb_leader() -> Result<(), i32> {
    let mut s = Steps::new("t_classic forkbomb leader");
    // SAFETY: no arguments.
    let (me, old_pgid) = unsafe { (libc::getpid(), libc::getpgrp()) };
    s.ok(sc!(libc::SYS_setpgid, 0, 0), "setpgid(0, 0)")?;
    // SAFETY: no arguments.
    let pgid = unsafe { libc::getpgrp() };
    s.t(pgid == me && old_pgid != me, || {
        format!("process group {pgid} after setpgid, pid {me}, old group {old_pgid}")
    })?;
    s.ok(set_limit(libc::RLIMIT_NPROC, 30, 30), "RLIMIT_NPROC 30")?;
    s.ok(sc!(libc::SYS_setgroups, 0, 0), "setgroups(0)")?;
    s.ok(sc!(libc::SYS_setgid, 65534), "setgid(65534)")?;
    s.ok(sc!(libc::SYS_setuid, 65534), "setuid(65534)")?;

    let mut kids: Vec<pid_t> = Vec::with_capacity(64);
    let mut failure = None;
    for _ in 0..64 {
        let pid = spawn(|| {
            loop {
                // SAFETY: waits for a signal; SIGKILL ends it.
                unsafe { libc::pause() };
            }
        });
        if pid < 0 {
            failure = Some(-pid);
            break;
        }
        kids.push(pid);
    }
    let n = kids.len();
    // Leave the group (back to the parent's) so that the kill below spares this process, which
    // must stay to reap its children; the group lives on with the sleepers in it. A kill(0, ..)
    // from inside the group would end this process too and orphan ~29 sleepers: without a
    // subreaper they go to init (Tine's test init reaps orphans only at the very end), and as
    // unreaped processes of uid 65534 they would count against RLIMIT_NPROC in a later run.
    let left = sc!(libc::SYS_setpgid, 0, old_pgid);
    let killed = if left.is_ok() && pgid == me {
        sc!(libc::SYS_kill, -me, libc::SIGKILL)
    } else {
        // Never kill a group this process is still in: kill each child instead.
        for p in &kids {
            let _ = sc!(libc::SYS_kill, *p, libc::SIGKILL);
        }
        Err(libc::EINVAL)
    };
    let mut all_killed = true;
    for p in &kids {
        all_killed &= killed_by(reap(*p), libc::SIGKILL).is_ok();
    }
    let leftover = waitpid(-1, libc::WNOHANG);
    s.t(failure == Some(libc::EAGAIN), || {
        format!(
            "fork failed with {} after {n} children, want EAGAIN",
            failure.map(errname).unwrap_or_else(|| "nothing".into())
        )
    })?;
    s.t(n >= 5, || format!("only {n} forks succeeded"))?;
    s.ok(left, "setpgid back to the parent's group")?;
    s.ok(killed, "kill(-group, SIGKILL)")?;
    s.t(all_killed, || "a child did not die of SIGKILL".into())?;
    s.err(leftover, libc::ECHILD, "waitpid(-1) after reaping all")?;
    s.err(
        sc!(libc::SYS_kill, -me, 0),
        libc::ESRCH,
        "the group is gone",
    )?;
    Ok(())
}

fn forkbomb(r: &mut Report) {
    let pid = spawn_steps(forkbomb_leader);
    r.child_ok("forkbomb_nproc_eagain_group_killed", pid);
    // The system still forks.
    let pid = spawn(|| 7);
    let st = reap(pid);
    r.check(
        "fork_after_forkbomb",
        matches!(st, Ok(s) if libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == 7),
        || format!("fork gave {pid}, status {}", show(&st)),
    );
}

// ---------------------------------------------------------------------------------------------
// 3. stress COW

fn cow_pattern(i: usize) -> u64 {
    (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5555
}

fn cow_stress(r: &mut Report) {
    const LEN: usize = 4 * MIB;
    const WORDS: usize = LEN / 8;
    let p = map_anon(LEN, false);
    if p.is_null() {
        r.fail("cow_stress_children", "mmap of 4 MiB failed");
        return;
    }
    // SAFETY: the mapping is LEN bytes, aligned, and only this process (and its copies) use it.
    let mem = unsafe { std::slice::from_raw_parts_mut(p.cast::<u64>(), WORDS) };
    for (i, w) in mem.iter_mut().enumerate() {
        *w = cow_pattern(i);
    }
    let mut pids = Vec::new();
    for k in 0..4usize {
        let m = &mut *mem;
        pids.push(spawn_steps(move || {
            let mut s = Steps::new("t_classic cow child");
            let byte = 0xA0 + k as u64;
            let word = byte * 0x0101_0101_0101_0101;
            let half = WORDS / 2;
            let (mine, other) = if k % 2 == 0 {
                (0..half, half..WORDS)
            } else {
                (half..WORDS, 0..half)
            };
            for w in &mut m[mine.clone()] {
                *w = word;
            }
            yield_cpu();
            let bad = other.clone().find(|&i| m[i] != cow_pattern(i));
            s.t(bad.is_none(), || {
                format!("child {k}: other half changed at word {bad:?}")
            })?;
            let bad = mine.clone().find(|&i| m[i] != word);
            s.t(bad.is_none(), || {
                format!("child {k}: own write lost at word {bad:?}")
            })?;
            Ok(())
        }));
    }
    let mut ok = true;
    let mut why = String::new();
    for p in pids {
        if p < 0 {
            ok = false;
            why = format!("fork failed: {}", errname(-p));
            continue;
        }
        match reap(p) {
            Ok(0) => {}
            st => {
                ok = false;
                why = format!("a child ended with {}", show(&st.map(show_status)));
            }
        }
    }
    r.check("cow_stress_children", ok, || why);
    let bad = (0..WORDS).find(|&i| mem[i] != cow_pattern(i));
    r.check("cow_stress_parent_untouched", bad.is_none(), || {
        format!("parent's memory changed at word {bad:?}")
    });
    unmap(p, LEN);
}

// ---------------------------------------------------------------------------------------------
// 4. memtest

fn brk(addr: usize) -> usize {
    // SAFETY: brk returns the (new or unchanged) break; it never fails with -1.
    unsafe { libc::syscall(libc::SYS_brk, addr) as usize }
}

fn memtest(r: &mut Report) {
    // munmap of the middle page of three.
    let p = map_anon(3 * PAGE, false);
    if p.is_null() {
        r.fail("munmap_middle_outer_pages_readable", "mmap failed");
    } else {
        // SAFETY: all three pages are mapped and writable.
        unsafe {
            for k in 0..3 {
                p.add(k * PAGE).write_volatile(0x11 * (k as u8 + 1));
            }
        }
        // SAFETY: unmaps the middle page of our mapping.
        let un = unsafe { libc::munmap(p.add(PAGE).cast(), PAGE) };
        // Fork before anything could be mapped into the hole.
        let pid = spawn(|| {
            default_signal(libc::SIGSEGV);
            // SAFETY: deliberately reads the unmapped page; the child should die here.
            let v = unsafe { p.add(PAGE).read_volatile() };
            std::hint::black_box(v);
            0
        });
        // SAFETY: pages 0 and 2 are still mapped.
        let (a, c) = unsafe { (p.read_volatile(), p.add(2 * PAGE).read_volatile()) };
        r.check(
            "munmap_middle_outer_pages_readable",
            un == 0 && a == 0x11 && c == 0x33,
            || format!("munmap {un}, page 0 {a:#x}, page 2 {c:#x}"),
        );
        let st = killed_by(reap(pid), libc::SIGSEGV);
        r.check("munmap_middle_page_faults", st.is_ok(), || {
            format!("child {}", st.unwrap_err())
        });
        unmap(p, PAGE);
        // SAFETY: page 2 of our mapping.
        unmap(unsafe { p.add(2 * PAGE) }, PAGE);
    }

    // brk: grow, write, shrink — with no allocation in between (malloc may use brk itself).
    const GROW: usize = 64 * 1024;
    let cur = brk(0);
    let grown = brk(cur + GROW);
    let mut wrote = false;
    if grown == cur + GROW {
        // SAFETY: [cur, cur + GROW) is part of the data segment now.
        unsafe {
            for off in (0..GROW).step_by(PAGE / 2) {
                ((cur + off) as *mut u8).write_volatile((off / PAGE) as u8 ^ 0x5a);
            }
            wrote = (0..GROW)
                .step_by(PAGE / 2)
                .all(|off| ((cur + off) as *const u8).read_volatile() == (off / PAGE) as u8 ^ 0x5a);
        }
    }
    let shrunk = brk(cur);
    r.check(
        "brk_grow_write_shrink",
        cur != 0 && grown == cur + GROW && wrote && shrunk == cur,
        || format!("brk(0) {cur:#x}, grown {grown:#x}, data ok {wrote}, shrunk {shrunk:#x}"),
    );
    let pid = spawn(|| {
        default_signal(libc::SIGSEGV);
        let cur = brk(0);
        if brk(cur + GROW) != cur + GROW {
            return 1;
        }
        let first = (cur + PAGE - 1) & !(PAGE - 1);
        // SAFETY: inside the grown data segment.
        unsafe { (first as *mut u8).write_volatile(1) };
        if brk(cur) != cur {
            return 2;
        }
        // SAFETY: deliberately reads the page the shrink gave back; the child should die here.
        let v = unsafe { (first as *const u8).read_volatile() };
        std::hint::black_box(v);
        3
    });
    let st = killed_by(reap(pid), libc::SIGSEGV);
    r.check("brk_shrunk_area_faults", st.is_ok(), || {
        format!(
            "child {} (1 grow failed, 2 shrink failed, 3 no fault)",
            st.unwrap_err()
        )
    });

    // mmap errors.
    let try_map = |len: usize| {
        // SAFETY: the kernel must refuse these; a mapping that is made is unmapped below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            Err(errno())
        } else {
            unmap(p.cast(), len);
            Ok(p as usize)
        }
    };
    r.err("mmap_zero_length_einval", try_map(0), libc::EINVAL);
    r.err("mmap_huge_enomem", try_map(1 << 46), libc::ENOMEM);

    // RLIMIT_AS 64 MiB: 1 MiB mappings until one fails with ENOMEM; the child lives on.
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_classic rlimit_as child");
        s.ok(
            set_limit(libc::RLIMIT_AS, 64 * MIB as u64, 64 * MIB as u64),
            "RLIMIT_AS 64 MiB",
        )?;
        let mut maps: Vec<*mut u8> = Vec::with_capacity(128);
        let mut failure = None;
        for _ in 0..100 {
            let p = map_anon(MIB, false);
            if p.is_null() {
                failure = Some(errno());
                break;
            }
            maps.push(p);
        }
        let n = maps.len();
        let last: Result<(), c_int> = match failure {
            Some(e) => Err(e),
            None => Ok(()),
        };
        s.err(last, libc::ENOMEM, "the mmap that fails")?;
        s.t((32..64).contains(&n), || {
            format!("{n} MiB mapped under a 64 MiB limit")
        })?;
        if let Some(&last) = maps.last() {
            unmap(last, MIB);
            let again = map_anon(MIB, false);
            s.t(!again.is_null(), || "mmap after munmap failed".into())?;
        }
        Ok(())
    });
    r.child_ok("rlimit_as_mmap_enomem", pid);

    // Unbounded recursion: SIGSEGV (RLIMIT_STACK lowered to 1 MiB to keep it small).
    let pid = spawn(|| {
        default_signal(libc::SIGSEGV);
        default_signal(libc::SIGBUS);
        let (_, hard) = get_limit(libc::RLIMIT_STACK);
        let _ = set_limit(libc::RLIMIT_STACK, MIB as u64, hard);
        recurse(1) as i32
    });
    let st = killed_by(reap(pid), libc::SIGSEGV);
    r.check("stack_overflow_sigsegv", st.is_ok(), || {
        format!("child {}", st.unwrap_err())
    });
}

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    // Never true (depth starts at 1), but the compiler cannot know.
    if std::hint::black_box(depth) == 0 {
        return 0;
    }
    let mut frame = [0u8; 2048];
    frame[0] = depth as u8;
    let frame = std::hint::black_box(frame);
    // The recursion's result is used after the call, so it cannot become a loop.
    let below = recurse(std::hint::black_box(depth + 1));
    below.wrapping_add(frame[(depth % 2048) as usize] as u64)
}

// ---------------------------------------------------------------------------------------------
// 5. eatmem, bounded

/// Exit statuses of the eatmem child.
const EAT_FAILED: i32 = 42;
const EAT_TOO_EARLY: i32 = 41;
const EAT_NEVER: i32 = 43;

fn eatmem(r: &mut Report) {
    let pid = spawn(|| {
        if set_limit(libc::RLIMIT_AS, 48 * MIB as u64, 48 * MIB as u64).is_err() {
            return 1;
        }
        for n in 0..56 {
            // SAFETY: plain allocation; checked for NULL.
            // (black_box: the compiler may otherwise drop an allocation that is never read.)
            let p = std::hint::black_box(unsafe { libc::malloc(MIB) }).cast::<u8>();
            if p.is_null() {
                return if n >= 16 { EAT_FAILED } else { EAT_TOO_EARLY };
            }
            // SAFETY: touches every page of the new block.
            unsafe { std::ptr::write_bytes(p, 0x5a, MIB) };
            std::hint::black_box(p);
        }
        EAT_NEVER
    });
    let st = reap(pid);
    r.check(
        "eatmem_ends_with_failed_allocation",
        matches!(st, Ok(s) if libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == EAT_FAILED),
        || {
            format!(
                "child {} (42 allocation failed, 41 failed under 16 MiB, 43 never failed in \
                 56 MiB, 1 setrlimit failed)",
                show(&st.map(show_status))
            )
        },
    );
}

// ---------------------------------------------------------------------------------------------
// 6. pipetest

const STOP: u32 = u32::MAX;

fn read_u32(fd: c_int) -> Option<u32> {
    let mut b = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        // SAFETY: reads into the rest of `b`.
        let n = unsafe { libc::read(fd, b[got..].as_mut_ptr().cast(), 4 - got) };
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            return None;
        }
        got += n as usize;
    }
    Some(u32::from_ne_bytes(b))
}

fn write_u32(fd: c_int, v: u32) -> bool {
    let b = v.to_ne_bytes();
    // SAFETY: writes 4 bytes from `b` (atomic on a pipe).
    unsafe { libc::write(fd, b.as_ptr().cast(), 4) == 4 }
}

fn close(fd: c_int) {
    // SAFETY: closes a descriptor this program opened.
    unsafe { libc::close(fd) };
}

fn pipe_ring(r: &mut Report) {
    const N: usize = 4;
    const ROUNDS: u32 = 200;
    // ring[k] is the pipe process k reads from; process k writes to ring[(k + 1) % N].
    let mut ring = [[-1 as c_int; 2]; N];
    for p in &mut ring {
        // SAFETY: `p` holds two ints.
        if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            r.fail(
                "pipe_ring_token_200_rounds",
                format!("pipe2: {}", errname(errno())),
            );
            return;
        }
    }
    let mut kids = Vec::new();
    for k in 1..N {
        let pid = spawn(|| {
            let (rd, wr) = (ring[k][0], ring[(k + 1) % N][1]);
            for (j, p) in ring.iter().enumerate() {
                if j != k {
                    close(p[0]);
                }
                if j != (k + 1) % N {
                    close(p[1]);
                }
            }
            loop {
                let Some(t) = read_u32(rd) else { return 1 };
                if t == STOP {
                    return if write_u32(wr, STOP) { 0 } else { 2 };
                }
                if t as usize % N != k {
                    usertests::diag(&format!("t_classic ring process {k}: token {t}"));
                    return 3;
                }
                if !write_u32(wr, t + 1) {
                    return 2;
                }
            }
        });
        kids.push(pid);
    }
    let (rd, wr) = (ring[0][0], ring[1][1]);
    for (j, p) in ring.iter().enumerate() {
        if j != 0 {
            close(p[0]);
        }
        if j != 1 {
            close(p[1]);
        }
    }
    let mut why = None;
    let mut last = 0;
    if !write_u32(wr, 1) {
        why = Some("first write failed".to_string());
    }
    let mut round = 1;
    while why.is_none() && round <= ROUNDS {
        match read_u32(rd) {
            Some(t) if t == round * N as u32 => {
                last = t;
                let next = if round == ROUNDS { STOP } else { t + 1 };
                if !write_u32(wr, next) {
                    why = Some(format!("write failed in round {round}"));
                }
            }
            other => why = Some(format!("round {round}: token {other:?}")),
        }
        round += 1;
    }
    if why.is_none() && read_u32(rd) != Some(STOP) {
        why = Some("the stop token did not come back".into());
    }
    close(rd);
    close(wr);
    for p in kids {
        let st = if p < 0 { Err(-p) } else { reap(p) };
        if !matches!(st, Ok(0)) && why.is_none() {
            why = Some(format!(
                "a ring process ended with {}",
                show(&st.map(show_status))
            ));
        }
    }
    let ok = why.is_none() && last == ROUNDS * N as u32;
    r.check("pipe_ring_token_200_rounds", ok, || {
        why.unwrap_or_else(|| format!("final count {last}"))
    });
}

// ---------------------------------------------------------------------------------------------
// 7. vfstest-lite

fn cs(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

/// (name, d_type) of every entry of the directory open on `fd`, by getdents64 with a small buffer.
fn entries(fd: c_int) -> Result<Vec<(Vec<u8>, u8)>, c_int> {
    let mut out = Vec::new();
    let mut buf = [0u64; 64]; // 512 bytes, 8-aligned
    loop {
        let n = sc!(libc::SYS_getdents64, fd, buf.as_mut_ptr(), 512)? as usize;
        if n == 0 {
            return Ok(out);
        }
        // SAFETY: the kernel filled n bytes of `buf`.
        let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n) };
        let mut off = 0;
        while off + 19 < n {
            let reclen = u16::from_ne_bytes([bytes[off + 16], bytes[off + 17]]) as usize;
            let d_type = bytes[off + 18];
            if reclen == 0 || off + reclen > n {
                return Err(libc::EIO);
            }
            let name = &bytes[off + 19..off + reclen];
            let len = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            out.push((name[..len].to_vec(), d_type));
            off += reclen;
        }
    }
}

fn open_dir_at(dfd: c_int, name: &CStr) -> Result<c_int, c_int> {
    sc!(
        libc::SYS_openat,
        dfd,
        name.as_ptr(),
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC
    )
    .map(|fd| fd as c_int)
}

fn file_type_at(dfd: c_int, name: &CStr, d_type: u8) -> u8 {
    if d_type != libc::DT_UNKNOWN {
        return d_type;
    }
    // SAFETY: an all-zero stat is valid; the kernel fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if sc!(
        libc::SYS_newfstatat,
        dfd,
        name.as_ptr(),
        &mut st as *mut libc::stat,
        libc::AT_SYMLINK_NOFOLLOW
    )
    .is_err()
    {
        return libc::DT_UNKNOWN;
    }
    match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => libc::DT_DIR,
        libc::S_IFREG => libc::DT_REG,
        _ => libc::DT_UNKNOWN,
    }
}

const FILES_PER_DIR: usize = 5;
const SUBDIRS: usize = 3;
const DEPTH: usize = 3;

/// Creates FILES_PER_DIR files (each holding its name) and, above the last level, SUBDIRS
/// subdirectories in the directory open on `dfd`; returns (files, dirs) made below `dfd`.
fn make_tree(dfd: c_int, level: usize) -> Result<(usize, usize), String> {
    let (mut files, mut dirs) = (0, 0);
    for f in 0..FILES_PER_DIR {
        let name = cs(&format!("f{f}"));
        let fd = sc!(
            libc::SYS_openat,
            dfd,
            name.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
            0o644
        )
        .map_err(|e| format!("create f{f} at level {level}: {}", errname(e)))?;
        let body = format!("file {f} level {level}\n");
        let w = sc!(libc::SYS_write, fd, body.as_ptr(), body.len());
        close(fd as c_int);
        if w != Ok(body.len() as libc::c_long) {
            return Err(format!("write f{f}: {}", show(&w)));
        }
        files += 1;
    }
    if level < DEPTH {
        for d in 0..SUBDIRS {
            let name = cs(&format!("d{d}"));
            sc!(libc::SYS_mkdirat, dfd, name.as_ptr(), 0o755)
                .map_err(|e| format!("mkdir d{d} at level {level}: {}", errname(e)))?;
            let sub = open_dir_at(dfd, &name).map_err(|e| format!("open d{d}: {}", errname(e)))?;
            let below = make_tree(sub, level + 1);
            close(sub);
            let (f, dd) = below?;
            files += f;
            dirs += dd + 1;
        }
    }
    Ok((files, dirs))
}

#[derive(Default, Debug, PartialEq)]
struct Walk {
    files: usize,
    dirs: usize,
    dots: usize,
    other: usize,
}

fn walk(dfd: c_int, w: &mut Walk) -> Result<(), String> {
    let list = entries(dfd).map_err(|e| format!("getdents64: {}", errname(e)))?;
    for (name, d_type) in list {
        if name == b"." || name == b".." {
            w.dots += 1;
            continue;
        }
        let c = CString::new(name).unwrap_or_default();
        match file_type_at(dfd, &c, d_type) {
            libc::DT_REG => w.files += 1,
            libc::DT_DIR => {
                w.dirs += 1;
                let sub =
                    open_dir_at(dfd, &c).map_err(|e| format!("open {c:?}: {}", errname(e)))?;
                let res = walk(sub, w);
                close(sub);
                res?;
            }
            _ => w.other += 1,
        }
    }
    Ok(())
}

/// Removes everything below the directory open on `dfd`, bottom-up; returns (unlinks, rmdirs).
fn remove_below(dfd: c_int) -> Result<(usize, usize), String> {
    let list = entries(dfd).map_err(|e| format!("getdents64: {}", errname(e)))?;
    let (mut unlinks, mut rmdirs) = (0, 0);
    for (name, d_type) in list {
        if name == b"." || name == b".." {
            continue;
        }
        let c = CString::new(name).unwrap_or_default();
        if file_type_at(dfd, &c, d_type) == libc::DT_DIR {
            let sub = open_dir_at(dfd, &c).map_err(|e| format!("open {c:?}: {}", errname(e)))?;
            let below = remove_below(sub);
            close(sub);
            let (u, d) = below?;
            unlinks += u;
            rmdirs += d;
            sc!(libc::SYS_unlinkat, dfd, c.as_ptr(), libc::AT_REMOVEDIR)
                .map_err(|e| format!("rmdir {c:?}: {}", errname(e)))?;
            rmdirs += 1;
        } else {
            sc!(libc::SYS_unlinkat, dfd, c.as_ptr(), 0)
                .map_err(|e| format!("unlink {c:?}: {}", errname(e)))?;
            unlinks += 1;
        }
    }
    Ok((unlinks, rmdirs))
}

fn vfstest(r: &mut Report) {
    // SAFETY: no arguments.
    let scratch = cs(&format!("/tmp/t_classic.{}", unsafe { libc::getpid() }));
    if let Err(e) = sc!(libc::SYS_mkdir, scratch.as_ptr(), 0o755) {
        r.fail("vfs_tree_created", format!("mkdir scratch: {}", errname(e)));
        return;
    }
    let sfd = match open_dir_at(libc::AT_FDCWD, &scratch) {
        Ok(fd) => fd,
        Err(e) => {
            r.fail("vfs_tree_created", format!("open scratch: {}", errname(e)));
            let _ = sc!(libc::SYS_rmdir, scratch.as_ptr());
            return;
        }
    };
    // 1 + 3 + 9 directories, 5 files in each.
    let want_dirs_below = SUBDIRS + SUBDIRS * SUBDIRS;
    let want_files = FILES_PER_DIR * (1 + want_dirs_below);
    let made = sc!(libc::SYS_mkdirat, sfd, c"top".as_ptr(), 0o755)
        .map_err(|e| format!("mkdir top: {}", errname(e)))
        .and_then(|_| open_dir_at(sfd, c"top").map_err(|e| format!("open top: {}", errname(e))))
        .and_then(|top| {
            let res = make_tree(top, 1);
            close(top);
            res
        });
    r.check(
        "vfs_tree_created",
        made == Ok((want_files, want_dirs_below)),
        || format!("{made:?}"),
    );

    let renamed = sc!(
        libc::SYS_renameat,
        sfd,
        c"top".as_ptr(),
        sfd,
        c"renamed".as_ptr()
    );
    let old_gone = open_dir_at(sfd, c"top");
    r.check(
        "vfs_rename_top_directory",
        renamed.is_ok() && old_gone == Err(libc::ENOENT),
        || format!("renameat {}, old name {}", show(&renamed), show(&old_gone)),
    );

    let mut w = Walk::default();
    let walked = open_dir_at(sfd, c"renamed")
        .map_err(|e| format!("open renamed: {}", errname(e)))
        .and_then(|top| {
            let res = walk(top, &mut w);
            close(top);
            res
        });
    let want = Walk {
        files: want_files,
        dirs: want_dirs_below,
        dots: 2 * (1 + want_dirs_below),
        other: 0,
    };
    r.check("vfs_walk_counts", walked.is_ok() && w == want, || {
        format!("{walked:?}: got {w:?}, want {want:?}")
    });

    let removed = open_dir_at(sfd, c"renamed")
        .map_err(|e| format!("open renamed: {}", errname(e)))
        .and_then(|top| {
            let res = remove_below(top);
            close(top);
            res
        })
        .and_then(|counts| {
            sc!(
                libc::SYS_unlinkat,
                sfd,
                c"renamed".as_ptr(),
                libc::AT_REMOVEDIR
            )
            .map(|_| counts)
            .map_err(|e| format!("rmdir renamed: {}", errname(e)))
        });
    r.check(
        "vfs_unlink_bottom_up",
        removed == Ok((want_files, want_dirs_below)),
        || format!("{removed:?}, want Ok(({want_files}, {want_dirs_below}))"),
    );
    let left = entries(sfd).map(|v| v.len());
    close(sfd);
    let rm = sc!(libc::SYS_rmdir, scratch.as_ptr());
    // SAFETY: an all-zero stat is valid; the kernel fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let gone = sc!(libc::SYS_stat, scratch.as_ptr(), &mut st as *mut libc::stat);
    r.check(
        "vfs_scratch_dir_gone",
        left == Ok(2) && rm.is_ok() && gone == Err(libc::ENOENT),
        || {
            format!(
                "entries left {}, rmdir {}, stat {}",
                show(&left),
                show(&rm),
                show(&gone)
            )
        },
    );
    if gone.is_ok() {
        // Best effort after a failure: remove whatever is left.
        if let Ok(fd) = open_dir_at(libc::AT_FDCWD, &scratch) {
            let _ = remove_below(fd);
            close(fd);
        }
        let _ = sc!(libc::SYS_rmdir, scratch.as_ptr());
    }
}

// ---------------------------------------------------------------------------------------------
// 8. Codezero test0 pieces

fn shared_alternate(r: &mut Report) {
    const EACH: u32 = 100;
    let page = map_anon(PAGE, true);
    if page.is_null() {
        r.fail("shared_page_alternating_counter", "mmap failed");
        return;
    }
    // SAFETY: the page is mapped, aligned and shared with the child.
    let counter = unsafe { &*page.cast::<AtomicU32>() };
    // The parent increments even values, the child odd ones; each spins with sched_yield.
    let take_turns = |parity: u32| -> Result<(), String> {
        let deadline = mono_ns() + 5_000_000_000;
        let mut done = 0;
        let mut spins = 0u32;
        while done < EACH {
            let v = counter.load(Ordering::SeqCst);
            if v % 2 == parity {
                counter
                    .compare_exchange(v, v + 1, Ordering::SeqCst, Ordering::SeqCst)
                    .map_err(|now| format!("value changed under us: {v} -> {now}"))?;
                done += 1;
            } else {
                yield_cpu();
                spins += 1;
                if spins.is_multiple_of(64) && mono_ns() > deadline {
                    return Err(format!("stuck at {v} after {done} turns"));
                }
            }
        }
        Ok(())
    };
    let pid = spawn(|| match take_turns(1) {
        Ok(()) => 0,
        Err(e) => {
            usertests::diag(&format!("t_classic shared child: {e}"));
            1
        }
    });
    let mine = if pid < 0 {
        Err(format!("fork: {}", errname(-pid)))
    } else {
        take_turns(0)
    };
    let st = if pid < 0 { Err(-pid) } else { reap(pid) };
    let total = counter.load(Ordering::SeqCst);
    r.check(
        "shared_page_alternating_counter",
        mine.is_ok() && st == Ok(0) && total == 2 * EACH,
        || {
            format!(
                "parent {mine:?}, child {}, counter {total}",
                show(&st.map(show_status))
            )
        },
    );
    unmap(page, PAGE);
}

fn exec_image(args: &[Vec<u8>]) -> c_int {
    let mut s = Steps::new("t_classic image");
    let res = (|| -> Result<(), i32> {
        let want: [&[u8]; 4] = [b"t_classic", MARKER.as_bytes(), b"a b", b"c"];
        s.t(
            args.iter().map(|a| a.as_slice()).eq(want.iter().copied()),
            || format!("argv {args:?}"),
        )?;
        let env: Vec<(String, String)> = std::env::vars().collect();
        s.eq(env, vec![("K".into(), "V".into())], "environment")?;
        Ok(())
    })();
    match res {
        Ok(()) => 0,
        Err(n) => n,
    }
}

fn exec_args_env(r: &mut Report) {
    let Some(me) = execfn() else {
        r.fail("exec_with_args_and_env", "AT_EXECFN is missing");
        return;
    };
    let pid = spawn(|| {
        let argv_c: Vec<CString> = ["t_classic", MARKER, "a b", "c"]
            .iter()
            .map(|a| cs(a))
            .collect();
        let envp_c = [cs("K=V")];
        let mut argv: Vec<*const c_char> = argv_c.iter().map(|c| c.as_ptr()).collect();
        argv.push(std::ptr::null());
        let envp: [*const c_char; 2] = [envp_c[0].as_ptr(), std::ptr::null()];
        // SAFETY: NULL-terminated arrays of live C strings.
        unsafe { libc::execve(me.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
        usertests::diag(&format!("t_classic: execve failed: {}", errname(errno())));
        200
    });
    let st = reap(pid);
    r.check("exec_with_args_and_env", st == Ok(0), || {
        format!(
            "child {} (200: execve failed, other: the image's failed check)",
            show(&st.map(show_status))
        )
    });
}

fn ud2(r: &mut Report) {
    let pid = spawn(|| {
        default_signal(libc::SIGILL);
        // SAFETY: raises #UD on purpose; the child dies of SIGILL.
        unsafe { core::arch::asm!("ud2") };
        0
    });
    let st = killed_by(reap(pid), libc::SIGILL);
    r.check("ud2_sigill", st.is_ok(), || {
        format!("child {}", st.unwrap_err())
    });
}

fn threads(r: &mut Report) {
    const N: u64 = 20;
    let counter = AtomicU64::new(0);
    let results: Vec<Option<(u64, usize)>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let c = &counter;
                std::thread::Builder::new()
                    .stack_size(128 * 1024)
                    .spawn_scoped(sc, move || {
                        let mut own = i * 1_000_000;
                        for _ in 0..1000 {
                            c.fetch_add(1, Ordering::SeqCst);
                            own = std::hint::black_box(own) + 1;
                        }
                        let at = std::hint::black_box(&own) as *const u64 as usize;
                        (own, at)
                    })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.ok().and_then(|h| h.join().ok()))
            .collect()
    });
    let all_joined = results.iter().all(|x| x.is_some());
    let own_ok = results
        .iter()
        .enumerate()
        .all(|(i, x)| matches!(x, Some((v, _)) if *v == i as u64 * 1_000_000 + 1000));
    let mut addrs: Vec<usize> = results.iter().flatten().map(|&(_, a)| a).collect();
    addrs.sort_unstable();
    addrs.dedup();
    let total = counter.load(Ordering::SeqCst);
    r.check(
        "threads_20_shared_counter",
        all_joined && total == N * 1000,
        || format!("all joined {all_joined}, counter {total}"),
    );
    r.check(
        "threads_own_stack_variables",
        own_ok && addrs.len() == N as usize,
        || format!("values ok {own_ok}, distinct addresses {}", addrs.len()),
    );
}

fn main() {
    let args: Vec<Vec<u8>> = std::env::args_os()
        .map(|a| a.into_encoded_bytes())
        .collect();
    if args.len() > 1 {
        let code = if args[1] == MARKER.as_bytes() {
            exec_image(&args)
        } else {
            UNEXPECTED
        };
        // SAFETY: ends the image with its verdict.
        unsafe { libc::_exit(code) };
    }
    let r = usertests::require_root(Report::new("t_classic"));
    let mut r = r;
    forktest(&mut r);
    forkbomb(&mut r);
    cow_stress(&mut r);
    memtest(&mut r);
    eatmem(&mut r);
    pipe_ring(&mut r);
    vfstest(&mut r);
    shared_alternate(&mut r);
    exec_args_env(&mut r);
    ud2(&mut r);
    // Threads last: every check above forks, and this program forks only while single-threaded.
    threads(&mut r);
    r.finish()
}
