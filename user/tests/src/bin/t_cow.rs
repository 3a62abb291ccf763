//! t_cow: copy-on-write isolation after fork, checked the same way on Linux and Tine. A global,
//! a heap block, a stack buffer and an anonymous private mapping are written before fork; then
//! each side rewrites them and must never see the other's writes. Three nested forks make eight
//! processes that each stamp and verify their own copies; a chain of 50 fork-and-exit rounds and
//! a child that exits while the parent still shares pages must leave the parent's data intact.

use usertests::{Report, Steps, reap, spawn_steps};

static mut GLOBAL: [u64; 512] = [0; 512];

fn global_get(i: usize) -> u64 {
    // SAFETY: single-threaded program; plain reads of our own static.
    unsafe { (*core::ptr::addr_of!(GLOBAL))[i] }
}

fn global_set(i: usize, v: u64) {
    // SAFETY: single-threaded program; plain writes of our own static.
    unsafe { (*core::ptr::addr_of_mut!(GLOBAL))[i] = v }
}

struct Mem {
    heap: Vec<u64>,
    map: *mut u64,
    map_len: usize,
}

impl Mem {
    fn new() -> Mem {
        let map_len = 64 * 1024 / 8;
        // SAFETY: anonymous private mapping; checked for MAP_FAILED below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len * 8,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(p != libc::MAP_FAILED, "mmap failed");
        Mem {
            heap: vec![0; 8192],
            map: p.cast(),
            map_len,
        }
    }

    fn map_get(&self, i: usize) -> u64 {
        // SAFETY: i < map_len, inside the live mapping.
        unsafe { self.map.add(i % self.map_len).read_volatile() }
    }

    fn map_set(&self, i: usize, v: u64) {
        // SAFETY: as for map_get.
        unsafe { self.map.add(i % self.map_len).write_volatile(v) }
    }

    /// Write `tag` into every page of every kind of memory, plus the stack buffer.
    fn stamp(&mut self, stack: &mut [u64; 2048], tag: u64) {
        for i in (0..512).step_by(64) {
            global_set(i, tag + i as u64);
        }
        for i in (0..self.heap.len()).step_by(512) {
            self.heap[i] = tag + i as u64;
        }
        for i in (0..stack.len()).step_by(512) {
            stack[i] = tag + i as u64;
        }
        for i in (0..self.map_len).step_by(512) {
            self.map_set(i, tag + i as u64);
        }
    }

    /// First place whose value is not `tag`-stamped, if any.
    fn verify(&self, stack: &[u64; 2048], tag: u64) -> Option<String> {
        for i in (0..512).step_by(64) {
            if global_get(i) != tag + i as u64 {
                return Some(format!(
                    "global[{i}] = {:#x}, want {:#x}",
                    global_get(i),
                    tag + i as u64
                ));
            }
        }
        for i in (0..self.heap.len()).step_by(512) {
            if self.heap[i] != tag + i as u64 {
                return Some(format!("heap[{i}] = {:#x}", self.heap[i]));
            }
        }
        for i in (0..stack.len()).step_by(512) {
            if stack[i] != tag + i as u64 {
                return Some(format!("stack[{i}] = {:#x}", stack[i]));
            }
        }
        for i in (0..self.map_len).step_by(512) {
            if self.map_get(i) != tag + i as u64 {
                return Some(format!("mmap[{i}] = {:#x}", self.map_get(i)));
            }
        }
        None
    }
}

fn main() {
    let mut r = Report::new("t_cow");
    let mut mem = Mem::new();
    let mut stack = [0u64; 2048];
    mem.stamp(&mut stack, 0x1000_0000);

    // Child rewrites everything; the parent must keep its values.
    let pid = {
        let m = &mut mem;
        let s = &mut stack;
        spawn_steps(|| {
            let mut st = Steps::new("t_cow child");
            st.t(m.verify(s, 0x1000_0000).is_none(), || {
                "child did not inherit the parent's data".into()
            })?;
            m.stamp(s, 0x2000_0000);
            st.t(m.verify(s, 0x2000_0000).is_none(), || {
                "child's own writes lost".into()
            })?;
            Ok(())
        })
    };
    r.child_ok("child_sees_parent_data_and_writes_privately", pid);
    r.check(
        "parent_unchanged_after_child_writes",
        mem.verify(&stack, 0x1000_0000).is_none(),
        || mem.verify(&stack, 0x1000_0000).unwrap_or_default(),
    );

    // The parent writes after fork while the child sleeps; the child must still see the old data.
    let mut late_child = || {
        let m = &mut mem;
        let s = &mut stack;
        spawn_steps(|| {
            let mut st = Steps::new("t_cow late child");
            usertests::sleep_ms(100);
            st.t(m.verify(s, 0x1000_0000).is_none(), || {
                format!(
                    "child saw the parent's later writes: {}",
                    m.verify(s, 0x1000_0000).unwrap_or_default()
                )
            })?;
            Ok(())
        })
    };
    let pid = late_child();
    mem.stamp(&mut stack, 0x3000_0000);
    r.child_ok("child_keeps_old_data_when_parent_writes", pid);
    r.check(
        "parent_sees_its_new_data",
        mem.verify(&stack, 0x3000_0000).is_none(),
        || "parent lost its writes".into(),
    );

    // Three nested forks: eight processes, each stamping and checking its own copy.
    let mut ok = true;
    let mut pids = Vec::new();
    let mut level_tag = 0x4000_0000u64;
    let mut is_child = false;
    for level in 0..3 {
        let pid = usertests::fork();
        if pid == 0 {
            is_child = true;
            pids.clear();
            level_tag += 1 << (20 + level);
        } else if pid > 0 {
            pids.push(pid);
        } else {
            ok = false;
        }
    }
    mem.stamp(&mut stack, level_tag);
    usertests::sleep_ms(20);
    let mine_ok = mem.verify(&stack, level_tag).is_none();
    let mut children_ok = true;
    for p in &pids {
        children_ok &= matches!(reap(*p), Ok(0));
    }
    if is_child {
        // SAFETY: ends the child without running exit-time code.
        unsafe { libc::_exit(if mine_ok && children_ok { 0 } else { 1 }) }
    }
    r.check(
        "eight_processes_each_keep_their_copy",
        ok && mine_ok && children_ok,
        || format!("fork ok {ok}, own copy ok {mine_ok}, descendants ok {children_ok}"),
    );

    // Many rounds of fork and exit with shared pages: the parent's data survives untouched.
    mem.stamp(&mut stack, 0x5000_0000);
    let mut rounds_ok = true;
    for round in 0..50u64 {
        let m = &mut mem;
        let s = &mut stack;
        let pid = spawn_steps(|| {
            let mut st = Steps::new("t_cow round child");
            st.t(m.verify(s, 0x5000_0000 + round).is_none(), || {
                "bad inherited data".into()
            })?;
            m.stamp(s, 0x6000_0000);
            Ok(())
        });
        rounds_ok &= matches!(reap(pid), Ok(0));
        // The parent writes one page between rounds (forcing a copy only while a child lives).
        mem.stamp(&mut stack, 0x5000_0000 + round + 1);
    }
    r.check("fifty_fork_exit_rounds", rounds_ok, || {
        "a round failed (see stderr)".into()
    });
    r.check(
        "parent_data_after_rounds",
        mem.verify(&stack, 0x5000_0000 + 50).is_none(),
        || mem.verify(&stack, 0x5000_0000 + 50).unwrap_or_default(),
    );

    // MAP_SHARED|MAP_ANONYMOUS memory stays shared across fork: the child's write is seen.
    // SAFETY: anonymous shared mapping; checked for MAP_FAILED.
    let shared = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            8192,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if shared == libc::MAP_FAILED {
        r.fail("shared_anonymous_mapping", "mmap failed");
    } else {
        let p = shared.cast::<u64>();
        // SAFETY: inside the 8 KiB mapping.
        unsafe { p.write_volatile(1) };
        let pid = usertests::spawn(|| {
            // SAFETY: as above, in the child's view of the same mapping.
            unsafe { p.add(600).write_volatile(0xCAFE) };
            unsafe { p.write_volatile(2) };
            0
        });
        let _ = reap(pid);
        // SAFETY: as above.
        let (a, b) = unsafe { (p.read_volatile(), p.add(600).read_volatile()) };
        r.check("shared_anonymous_mapping", a == 2 && b == 0xCAFE, || {
            format!("parent sees {a:#x}, {b:#x}")
        });
    }

    // Bad accesses end the child with SIGSEGV (no handler installed).
    let segv = |f: fn()| {
        let pid = usertests::spawn(|| {
            f();
            0
        });
        reap(pid)
            .map(|st| libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == libc::SIGSEGV)
            .unwrap_or(false)
    };
    r.check(
        "null_read_is_sigsegv",
        segv(|| {
            // SAFETY: deliberately faults; the child dies.
            let v = unsafe { std::ptr::read_volatile(16 as *const u64) };
            std::hint::black_box(v);
        }),
        || "child did not die of SIGSEGV".into(),
    );
    r.check(
        "write_to_read_only_mapping_is_sigsegv",
        segv(|| {
            // SAFETY: a fresh read-only mapping; the write deliberately faults.
            unsafe {
                let p = libc::mmap(
                    std::ptr::null_mut(),
                    4096,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                );
                std::ptr::write_volatile(p.cast::<u64>(), 1);
            }
        }),
        || "child did not die of SIGSEGV".into(),
    );
    r.check(
        "kernel_address_is_sigsegv",
        segv(|| {
            // SAFETY: deliberately faults on a kernel address; the child dies.
            let v = unsafe { std::ptr::read_volatile(0xffff_ffff_8000_0000u64 as *const u64) };
            std::hint::black_box(v);
        }),
        || "child did not die of SIGSEGV".into(),
    );
    r.finish()
}
