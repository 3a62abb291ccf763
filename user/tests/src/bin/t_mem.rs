//! t_mem: memory system calls as Linux answers them — mmap/munmap/mprotect argument errors,
//! madvise(MADV_DONTNEED) on private and shared anonymous memory, mremap (shrink, grow in place,
//! move with contents, refusal without MREMAP_MAYMOVE), mincore residency, msync checks.

use usertests::{Report, errno};

const PAGE: usize = 4096;

fn map(len: usize, prot: i32, flags: i32) -> *mut u8 {
    usertests::map_anon(len, prot, flags)
}

fn rw(len: usize) -> *mut u8 {
    map(len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE)
}

fn res<T: PartialEq + From<i8>>(r: T) -> Result<T, i32> {
    if r == T::from(-1) {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// Residency of up to 8 pages, without allocating (a heap allocation could land in a hole the
/// test just made, as mmap reuses freed ranges).
fn resident(p: *mut u8, pages: usize) -> Result<([u8; 8], usize), i32> {
    let mut v = [0u8; 8];
    // SAFETY: v has one byte per page (pages <= 8).
    res(unsafe { libc::mincore(p.cast(), pages.min(8) * PAGE, v.as_mut_ptr()) }).map(|_| {
        for b in &mut v {
            *b &= 1;
        }
        (v, pages)
    })
}

/// Three pages with the middle one unmapped, made right before use (later mappings may fill
/// the hole).
fn holey() -> *mut u8 {
    let p = rw(3 * PAGE);
    // SAFETY: our own mapping.
    unsafe { libc::munmap(p.add(PAGE).cast(), PAGE) };
    p
}

fn main() {
    let mut r = Report::new("t_mem");

    // Argument errors.
    // SAFETY: invalid arguments; the kernel must refuse them.
    r.err(
        "mmap_zero_length",
        res(unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                0,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            ) as isize
        }),
        libc::EINVAL,
    );
    // SAFETY: as above.
    r.err(
        "mmap_no_type",
        res(unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                PAGE,
                libc::PROT_READ,
                libc::MAP_ANONYMOUS,
                -1,
                0,
            ) as isize
        }),
        libc::EINVAL,
    );
    let p = rw(4 * PAGE);
    // SAFETY: unaligned address; refused.
    r.err(
        "munmap_unaligned",
        res(unsafe { libc::munmap(p.add(1).cast(), PAGE) }),
        libc::EINVAL,
    );
    let h = holey();
    // SAFETY: range with a hole; refused.
    r.err(
        "mprotect_hole",
        res(unsafe { libc::mprotect(h.cast(), 3 * PAGE, libc::PROT_READ) }),
        libc::ENOMEM,
    );

    // madvise(MADV_DONTNEED): private pages come back as zeroes.
    let q = rw(2 * PAGE);
    // SAFETY: inside the mapping.
    unsafe { q.write_volatile(0x5a) };
    // SAFETY: whole mapping.
    r.okv(
        "madvise_dontneed",
        res(unsafe { libc::madvise(q.cast(), 2 * PAGE, libc::MADV_DONTNEED) }),
    );
    // SAFETY: inside the mapping.
    r.eq(
        "dontneed_private_reads_zero",
        unsafe { q.read_volatile() },
        0,
    );
    let s = map(PAGE, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED);
    // SAFETY: inside the shared mapping.
    unsafe { s.write_volatile(0x77) };
    // SAFETY: whole mapping.
    unsafe { libc::madvise(s.cast(), PAGE, libc::MADV_DONTNEED) };
    // SAFETY: inside the mapping.
    r.eq(
        "dontneed_shared_keeps_data",
        unsafe { s.read_volatile() },
        0x77,
    );
    let h = holey();
    // SAFETY: refused: unmapped page / bad advice / unaligned.
    r.err(
        "madvise_hole",
        res(unsafe { libc::madvise(h.cast(), 3 * PAGE, libc::MADV_DONTNEED) }),
        libc::ENOMEM,
    );
    // SAFETY: as above.
    r.err(
        "madvise_bad_advice",
        res(unsafe { libc::madvise(q.cast(), PAGE, 9999) }),
        libc::EINVAL,
    );
    // SAFETY: as above.
    r.err(
        "madvise_unaligned",
        res(unsafe { libc::madvise(q.add(1).cast(), PAGE, libc::MADV_DONTNEED) }),
        libc::EINVAL,
    );

    // mincore: untouched pages are not resident, written ones are.
    let m = rw(4 * PAGE);
    r.eq("mincore_untouched", resident(m, 4), Ok(([0; 8], 4)));
    // SAFETY: inside the mapping.
    unsafe { m.add(2 * PAGE).write_volatile(1) };
    r.eq(
        "mincore_after_write",
        resident(m, 4),
        Ok(([0, 0, 1, 0, 0, 0, 0, 0], 4)),
    );
    let h = holey();
    r.err("mincore_hole", resident(h, 3), libc::ENOMEM);
    // MAP_POPULATE faults every page in at mmap time, read-only mappings included.
    for (check, prot) in [
        ("populate_rw_resident", libc::PROT_READ | libc::PROT_WRITE),
        ("populate_ro_resident", libc::PROT_READ),
    ] {
        let p = map(5 * PAGE, prot, libc::MAP_PRIVATE | libc::MAP_POPULATE);
        r.eq(check, resident(p, 5), Ok(([1, 1, 1, 1, 1, 0, 0, 0], 5)));
    }

    // mremap: shrink keeps the address and unmaps the tail.
    // SAFETY: our mapping.
    let sh = unsafe { libc::mremap(m.cast(), 4 * PAGE, 2 * PAGE, 0) };
    r.check("mremap_shrink_in_place", sh == m.cast(), || {
        format!("moved to {sh:?}")
    });
    r.err("mremap_shrunk_tail_gone", resident(m, 4), libc::ENOMEM);
    // Grow in place into free space.
    let g = rw(3 * PAGE);
    // SAFETY: our mapping: free its last two pages, then grow the first page back over them.
    unsafe { libc::munmap(g.add(PAGE).cast(), 2 * PAGE) };
    // SAFETY: our mapping.
    let gg = unsafe { libc::mremap(g.cast(), PAGE, 3 * PAGE, 0) };
    r.check("mremap_grow_in_place", gg == g.cast(), || {
        format!("got {gg:?}")
    });
    // Blocked growth: refused without MAYMOVE, moved with contents when allowed.
    let a = rw(2 * PAGE);
    // SAFETY: keep the first page; the second stays mapped and blocks growth of the first.
    unsafe { a.write_volatile(0x42) };
    // SAFETY: our mapping.
    let no = unsafe { libc::mremap(a.cast(), PAGE, 4 * PAGE, 0) };
    r.check(
        "mremap_blocked_without_maymove",
        no == libc::MAP_FAILED && errno() == libc::ENOMEM,
        || format!("got {no:?}, errno {}", errno()),
    );
    // SAFETY: our mapping.
    let mv = unsafe { libc::mremap(a.cast(), PAGE, 4 * PAGE, libc::MREMAP_MAYMOVE) };
    r.check(
        "mremap_moves",
        mv != libc::MAP_FAILED && mv != a.cast(),
        || format!("got {mv:?}"),
    );
    if mv != libc::MAP_FAILED {
        // SAFETY: the moved mapping is 4 pages long.
        r.eq(
            "mremap_moved_contents",
            unsafe { (mv as *mut u8).read_volatile() },
            0x42,
        );
        // SAFETY: the new tail is zero-filled.
        r.eq(
            "mremap_new_tail_zero",
            unsafe { (mv as *mut u8).add(3 * PAGE).read_volatile() },
            0,
        );
        r.err("mremap_old_range_gone", resident(a, 1), libc::ENOMEM);
        // MREMAP_FIXED: to an address we choose (replacing a mapping there), shrinking.
        // SAFETY: a fresh anonymous mapping used as the target.
        let target = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        // SAFETY: writes to our own mappings.
        unsafe {
            (target as *mut u8).write_volatile(0x11);
            (mv as *mut u8).add(PAGE).write_volatile(0x43);
        }
        // SAFETY: moves our mapping onto our other mapping.
        let fixed = unsafe {
            libc::mremap(
                mv,
                4 * PAGE,
                2 * PAGE,
                libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
                target,
            )
        };
        r.check("mremap_fixed_to_chosen_address", fixed == target, || {
            format!("got {fixed:?}, errno {}", errno())
        });
        if fixed == target {
            // SAFETY: the moved mapping is 2 pages at `target`.
            let (b0, b1) = unsafe {
                (
                    (target as *mut u8).read_volatile(),
                    (target as *mut u8).add(PAGE).read_volatile(),
                )
            };
            r.eq("mremap_fixed_contents", (b0, b1), (0x42, 0x43));
            r.err(
                "mremap_fixed_source_gone",
                resident(mv.cast(), 1),
                libc::ENOMEM,
            );
            // SAFETY: refused: FIXED without MAYMOVE, and overlapping ranges.
            let no_maymove = unsafe { libc::mremap(target, PAGE, PAGE, libc::MREMAP_FIXED, mv) };
            let no_maymove_errno = errno();
            let overlap = unsafe {
                libc::mremap(
                    target,
                    2 * PAGE,
                    2 * PAGE,
                    libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
                    (target as *mut u8).add(PAGE).cast::<libc::c_void>(),
                )
            };
            let overlap_errno = errno();
            r.check(
                "mremap_fixed_errors",
                no_maymove == libc::MAP_FAILED
                    && no_maymove_errno == libc::EINVAL
                    && overlap == libc::MAP_FAILED
                    && overlap_errno == libc::EINVAL,
                || format!("errnos {no_maymove_errno} {overlap_errno}"),
            );
        }
    }
    // SAFETY: refused: unaligned address.
    let bad = unsafe { libc::mremap(a.add(1).cast(), PAGE, PAGE, 0) };
    r.check(
        "mremap_unaligned",
        bad == libc::MAP_FAILED && errno() == libc::EINVAL,
        || format!("errno {}", errno()),
    );

    // msync.
    // SAFETY: our mapping, valid flags.
    r.okv(
        "msync_ok",
        res(unsafe { libc::msync(q.cast(), PAGE, libc::MS_SYNC) }),
    );
    // SAFETY: refused: both MS_SYNC and MS_ASYNC.
    r.err(
        "msync_bad_flags",
        res(unsafe { libc::msync(q.cast(), PAGE, libc::MS_SYNC | libc::MS_ASYNC) }),
        libc::EINVAL,
    );
    let h = holey();
    // SAFETY: refused: hole.
    r.err(
        "msync_hole",
        res(unsafe { libc::msync(h.cast(), 3 * PAGE, libc::MS_SYNC) }),
        libc::ENOMEM,
    );
    growsdown(&mut r);
    private_file_hole(&mut r);
    direction_flag(&mut r);
    r.finish()
}

/// User code may run with the direction flag set; the kernel must clear it when a fault
/// takes it in. Sixteen demand-zero faults are taken with DF set, on frames first dirtied by
/// another mapping: each new page must read as zeros (a kernel that zeroed them with DF still
/// set ran `rep stos` backwards, below the frame, and left the page dirty).
fn direction_flag(r: &mut Report) {
    const N: usize = 16;
    let dirty = rw(64 * PAGE);
    if !dirty.is_null() {
        // SAFETY: our fresh mapping, then gone.
        unsafe {
            std::ptr::write_bytes(dirty, 0xAA, 64 * PAGE);
            libc::munmap(dirty.cast(), 64 * PAGE);
        }
    }
    let p = rw(N * PAGE);
    if p.is_null() {
        r.fail("direction_flag_cleared_by_faults", "mmap failed");
        return;
    }
    // SAFETY: one byte stored at the start of each of our N pages, with DF set only inside
    // this block (no Rust code runs with it).
    unsafe {
        core::arch::asm!(
            "std",
            "2:",
            "mov byte ptr [{p}], 1",
            "add {p}, 4096",
            "dec {n}",
            "jnz 2b",
            "cld",
            p = inout(reg) p => _,
            n = inout(reg) N => _,
            options(nostack),
        );
    }
    // SAFETY: reads of our mapping.
    let bad = (0..N * PAGE)
        .filter(|i| i % PAGE != 0)
        .find(|&i| unsafe { p.add(i).read_volatile() } != 0);
    r.check("direction_flag_cleared_by_faults", bad.is_none(), || {
        format!("byte {bad:?} of the new pages is not zero")
    });
    // SAFETY: our mapping.
    unsafe { libc::munmap(p.cast(), N * PAGE) };
}

/// A private mapping of a file with a hole: reading the hole maps the file's own (zero) page,
/// so a later write(2) to the file shows through the mapping, until the process writes that
/// page itself and gets its copy.
fn private_file_hole(r: &mut Report) {
    // SAFETY: no arguments.
    let path = format!("/tmp/t_mem.{}\0", unsafe { libc::getpid() });
    let _ = std::fs::create_dir_all("/tmp");
    // SAFETY: a NUL-terminated path; a new file of two pages, all hole.
    let fd = unsafe {
        libc::open(
            path.as_ptr().cast(),
            libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC,
            0o600,
        )
    };
    // SAFETY: our descriptor.
    if fd < 0 || unsafe { libc::ftruncate(fd, 2 * PAGE as libc::off_t) } != 0 {
        r.fail("private_file_hole_setup", format!("errno {}", errno()));
        return;
    }
    // SAFETY: maps our file privately.
    let m = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            2 * PAGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE,
            fd,
            0,
        )
    };
    if m == libc::MAP_FAILED {
        r.fail(
            "private_file_hole_setup",
            format!("mmap: errno {}", errno()),
        );
        return;
    }
    let m = m.cast::<u8>();
    let pwrite = |b: u8, off: usize| {
        // SAFETY: one byte from a live local into our file.
        unsafe { libc::pwrite(fd, (&b as *const u8).cast(), 1, off as libc::off_t) }
    };
    // SAFETY: reads and writes inside our mapping.
    let first = unsafe { m.read_volatile() };
    pwrite(b'X', 0);
    // SAFETY: as above.
    let after_write = unsafe { m.read_volatile() };
    r.check(
        "private_file_hole_reads_zero_then_sees_file_writes",
        first == 0 && after_write == b'X',
        || format!("read {first}, then after pwrite {after_write}"),
    );
    // SAFETY: as above: the store makes the page this process's own copy.
    unsafe { m.write_volatile(b'p') };
    pwrite(b'Y', 0);
    // A hole never read: a write to the file shows too.
    pwrite(b'Z', PAGE);
    // SAFETY: as above.
    let (own, other) = unsafe { (m.read_volatile(), m.add(PAGE).read_volatile()) };
    let mut b = [0u8; 1];
    // SAFETY: reads one byte of our file into a live local.
    unsafe { libc::pread(fd, b.as_mut_ptr().cast(), 1, 0) };
    r.check(
        "private_file_copy_after_write_is_its_own",
        own == b'p' && b[0] == b'Y' && other == b'Z',
        || format!("mapping {own}, file {}, second page {other}", b[0]),
    );
    // SAFETY: our mapping, descriptor and file.
    unsafe {
        libc::munmap(m.cast(), 2 * PAGE);
        libc::close(fd);
        libc::unlink(path.as_ptr().cast());
    }
}

/// The area of /proc/self/maps that contains `addr`: (start, end).
fn area_of(addr: usize) -> Option<(usize, usize)> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines().find_map(|l| {
        let (lo, hi) = l.split_whitespace().next()?.split_once('-')?;
        let (lo, hi) = (
            usize::from_str_radix(lo, 16).ok()?,
            usize::from_str_radix(hi, 16).ok()?,
        );
        (lo <= addr && addr < hi).then_some((lo, hi))
    })
}

/// Whether a child touching `p` dies of SIGSEGV.
fn touch_segv(p: *mut u8) -> bool {
    let pid = usertests::spawn(|| {
        // SAFETY: a deliberate store that may fault; only this child is at stake.
        unsafe { p.write_volatile(1) };
        0
    });
    matches!(usertests::reap(pid), Ok(st) if libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == libc::SIGSEGV)
}

/// MAP_GROWSDOWN: a fault below the mapping extends it down (as a stack), within Linux's
/// guard gap above an accessible mapping below; a plain mapping does not grow; a shared
/// anonymous one may not be made. Layout, in a 16 MiB range reserved first: an inaccessible
/// 4 MiB at the bottom (no guard gap above it), then free space, the growing 2 pages at
/// +14 MiB.
fn growsdown(r: &mut Report) {
    const MIB: usize = 1 << 20;
    // The areas are read from /proc/self/maps.
    usertests::mount_proc("t_mem");
    let rwp = libc::PROT_READ | libc::PROT_WRITE;
    let grows = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_GROWSDOWN;
    // SAFETY: a request the kernel must refuse.
    let shared = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            PAGE,
            rwp,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS | libc::MAP_GROWSDOWN,
            -1,
            0,
        )
    };
    r.check(
        "growsdown_shared_einval",
        shared == libc::MAP_FAILED && errno() == libc::EINVAL,
        || format!("mmap gave {shared:?}, errno {}", errno()),
    );
    let base = map(16 * MIB, libc::PROT_NONE, libc::MAP_PRIVATE);
    if base.is_null() {
        r.fail("growsdown_setup", "mmap of 16 MiB failed");
        return;
    }
    // SAFETY: the upper 12 MiB of our own reservation go; the growing area takes two pages.
    let top = unsafe {
        libc::munmap(base.add(4 * MIB).cast(), 12 * MIB);
        libc::mmap(
            base.add(14 * MIB).cast(),
            2 * PAGE,
            rwp,
            grows | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    if top == libc::MAP_FAILED {
        r.fail(
            "growsdown_setup",
            format!("MAP_GROWSDOWN mmap: errno {}", errno()),
        );
        return;
    }
    let top = top.cast::<u8>();
    let t = top as usize;
    // SAFETY: inside the mapping.
    unsafe { top.write_volatile(7) };
    // One page below, then 64 KiB below: each store extends the area to its page.
    // SAFETY: just below a MAP_GROWSDOWN mapping, which grows to take the store.
    unsafe { top.sub(PAGE).write_volatile(1) };
    let one = area_of(t);
    // SAFETY: as above, further down.
    unsafe { top.sub(16 * PAGE).write_volatile(2) };
    let sixteen = area_of(t);
    // SAFETY: inside the grown area.
    let (a, b, c) = unsafe {
        (
            top.read_volatile(),
            top.sub(PAGE).read_volatile(),
            top.sub(8 * PAGE).read_volatile(),
        )
    };
    r.check(
        "growsdown_grows_to_the_faulting_page",
        one == Some((t - PAGE, t + 2 * PAGE)) && sixteen == Some((t - 16 * PAGE, t + 2 * PAGE)),
        || format!("areas {one:x?} then {sixteen:x?}, mapping at {t:#x}"),
    );
    r.check(
        "growsdown_new_pages_zero_old_kept",
        (a, b, c) == (7, 1, 0),
        || format!("bytes {a} {b} {c}"),
    );
    // A child's growth is its own.
    // SAFETY: a store below the child's copy of the area.
    let child = usertests::spawn(|| unsafe {
        top.sub(64 * PAGE).write_volatile(3);
        i32::from(area_of(t) != Some((t - 64 * PAGE, t + 2 * PAGE)))
    });
    let st = usertests::reap(child);
    r.check(
        "growsdown_child_grows_alone",
        st == Ok(0) && area_of(t) == Some((t - 16 * PAGE, t + 2 * PAGE)),
        || format!("child {st:?}, our area {:x?}", area_of(t)),
    );
    // An accessible page 5 MiB up from the base: the area may not come within 256 pages
    // (1 MiB) above it, but may grow to just beyond that.
    let guard = unsafe {
        // SAFETY: MAP_FIXED into free space inside our reservation.
        libc::mmap(
            base.add(5 * MIB).cast(),
            PAGE,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    let guard_end = base as usize + 5 * MIB + PAGE;
    r.check(
        "growsdown_stops_at_the_guard_gap",
        guard != libc::MAP_FAILED && touch_segv((guard_end + MIB / 2) as *mut u8),
        || format!("guard mmap {guard:?}: a store 512 KiB above it did not fault"),
    );
    let far = (guard_end + MIB + 4 * PAGE) as *mut u8;
    let child = usertests::spawn(|| {
        // SAFETY: below the growing area, beyond the guard gap: the area grows to it.
        unsafe { far.write_volatile(4) };
        0
    });
    r.eq("growsdown_beyond_the_gap", usertests::reap(child), Ok(0));
    // A plain private mapping with free space below does not grow.
    // SAFETY: MAP_FIXED into free space inside our reservation.
    let plain = unsafe {
        libc::mmap(
            base.add(10 * MIB).cast(),
            PAGE,
            rwp,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    let below = (base as usize + 10 * MIB - PAGE) as *mut u8;
    r.check(
        "plain_mapping_does_not_grow",
        plain != libc::MAP_FAILED && area_of(below as usize).is_none() && touch_segv(below),
        || format!("mmap {plain:?}; a store below it did not fault"),
    );
    // SAFETY: our own mappings.
    unsafe { libc::munmap(base.cast(), 16 * MIB) };
}
