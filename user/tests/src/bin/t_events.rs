//! t_events: event and file-backed descriptors beyond plain pipes — eventfd2 (counter and
//! semaphore semantics, EFD_NONBLOCK/EFD_CLOEXEC, overflow, poll, a read woken by a forked
//! writer), epoll (epoll_create/epoll_create1, epoll_ctl ADD/MOD/DEL and its errors, epoll_wait
//! data and events on a pipe, timeouts, EPOLLONESHOT, EPOLLET, epoll_pwait, a wait woken by a
//! forked writer, close removing an fd from the interest list), memfd_create (the /proc name,
//! file operations, fstat, flags and name length), socketpair(AF_UNIX, SOCK_STREAM) (both
//! directions, flags, EOF, EPIPE, shutdown, poll, a 1 MiB transfer to a forked child),
//! copy_file_range and sendfile, and mmap of regular files (MAP_PRIVATE contents past EOF and
//! privacy of writes, a read-only MAP_SHARED mapping, EACCES/EINVAL/ENODEV).
//!
//! Linux behaviour the checks pin down (measured on the host): a memfd's fstat shows st_nlink 0
//! (the file has no name in any directory); mmap of a directory fails with ENODEV; a unix stream
//! socket whose peer is gone polls as POLLIN|POLLOUT|POLLHUP (Linux keeps a hung-up stream
//! socket writable so that writers find the EPIPE); copy_file_range on a pipe fails with EINVAL.
//!
//! The only signal business is `SIGPIPE` set to `SIG_IGN` first, so that writes without readers
//! fail with EPIPE. No threads. Files live in a private directory, /tmp/t_events.<pid>, removed
//! at the end; the memfd checks read /proc/self/fd.

use libc::{c_int, c_long, c_short};
use std::ffi::CString;
use usertests::{Report, Steps, errname, mono_ns, sc, show, sleep_ms, spawn, spawn_steps};

const MS: u64 = 1_000_000;
const PAGE: usize = 4096;

fn cs(s: &str) -> CString {
    CString::new(s).expect("path without NUL")
}

fn open(p: &str, flags: c_int) -> Result<c_int, c_int> {
    let c = cs(p);
    sc!(libc::SYS_open, c.as_ptr(), flags, 0o644).map(|v| v as c_int)
}

fn close(fd: c_int) -> Result<c_long, c_int> {
    sc!(libc::SYS_close, fd)
}

fn close2((a, b): (c_int, c_int)) {
    let _ = close(a);
    let _ = close(b);
}

fn write(fd: c_int, b: &[u8]) -> Result<usize, c_int> {
    sc!(libc::SYS_write, fd, b.as_ptr(), b.len()).map(|v| v as usize)
}

fn read(fd: c_int, n: usize) -> Result<Vec<u8>, c_int> {
    let mut v = vec![0u8; n];
    let got = sc!(libc::SYS_read, fd, v.as_mut_ptr(), n)? as usize;
    v.truncate(got);
    Ok(v)
}

fn pread(fd: c_int, n: usize, off: i64) -> Result<Vec<u8>, c_int> {
    let mut v = vec![0u8; n];
    let got = sc!(libc::SYS_pread64, fd, v.as_mut_ptr(), n, off)? as usize;
    v.truncate(got);
    Ok(v)
}

fn lseek(fd: c_int, off: i64, whence: c_int) -> Result<i64, c_int> {
    sc!(libc::SYS_lseek, fd, off, whence)
}

fn fcntl(fd: c_int, cmd: c_int) -> Result<c_int, c_int> {
    sc!(libc::SYS_fcntl, fd, cmd, 0).map(|v| v as c_int)
}

/// (F_GETFD, F_GETFL & O_NONBLOCK) of `fd`.
fn fd_flags(fd: c_int) -> (Result<c_int, c_int>, Result<c_int, c_int>) {
    (
        fcntl(fd, libc::F_GETFD),
        fcntl(fd, libc::F_GETFL).map(|f| f & libc::O_NONBLOCK),
    )
}

fn pipe2(flags: c_int) -> Result<(c_int, c_int), c_int> {
    let mut p = [-1 as c_int; 2];
    sc!(libc::SYS_pipe2, p.as_mut_ptr(), flags).map(|_| (p[0], p[1]))
}

fn fstat(fd: c_int) -> Result<libc::stat, c_int> {
    // SAFETY: struct stat is plain data.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    sc!(libc::SYS_fstat, fd, &mut st as *mut libc::stat).map(|_| st)
}

/// poll(2) on (fd, events) pairs; returns poll's result and every revents.
fn poll(fds: &[(c_int, c_short)], timeout_ms: c_int) -> Result<(c_long, Vec<c_short>), c_int> {
    let mut v: Vec<libc::pollfd> = fds
        .iter()
        .map(|&(fd, events)| libc::pollfd {
            fd,
            events,
            revents: 0x5a5a,
        })
        .collect();
    let n = sc!(libc::SYS_poll, v.as_mut_ptr(), v.len(), timeout_ms)?;
    Ok((n, v.iter().map(|p| p.revents).collect()))
}

/// Writes all of `b` (blocking), returning the first error.
fn write_all(fd: c_int, mut b: &[u8]) -> Result<(), c_int> {
    while !b.is_empty() {
        let n = write(fd, b)?;
        if n == 0 {
            return Err(libc::EIO);
        }
        b = &b[n..];
    }
    Ok(())
}

/// Reads exactly `n` bytes unless end of file comes first.
fn read_full(fd: c_int, n: usize) -> Result<Vec<u8>, c_int> {
    let mut all = Vec::new();
    while all.len() < n {
        let v = read(fd, n - all.len())?;
        if v.is_empty() {
            break;
        }
        all.extend_from_slice(&v);
    }
    Ok(all)
}

/// FNV-1a, 64 bits.
fn fnv(h: u64, data: &[u8]) -> u64 {
    data.iter()
        .fold(h, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

const FNV0: u64 = 0xcbf2_9ce4_8422_2325;

/// Removes a path and, for a directory, its entries.
fn rm_rf(p: &str) {
    let c = cs(p);
    // SAFETY: struct stat is plain data.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if sc!(libc::SYS_lstat, c.as_ptr(), &mut st as *mut libc::stat).is_err() {
        return;
    }
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        let _ = sc!(libc::SYS_unlink, c.as_ptr());
        return;
    }
    if let Ok(fd) = open(p, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW) {
        let mut names = Vec::new();
        let mut buf = vec![0u8; 8192];
        while let Ok(n) = sc!(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) {
            if n <= 0 {
                break;
            }
            let mut off = 0usize;
            while off < n as usize {
                let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
                let name = &buf[off + 19..off + reclen];
                let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
                let name = String::from_utf8_lossy(&name[..end]).into_owned();
                if name != "." && name != ".." {
                    names.push(name);
                }
                if reclen == 0 {
                    break;
                }
                off += reclen;
            }
        }
        let _ = close(fd);
        for n in names {
            rm_rf(&format!("{p}/{n}"));
        }
    }
    let _ = sc!(libc::SYS_rmdir, c.as_ptr());
}

// ---------------------------------------------------------------------------------------------
// eventfd2

fn eventfd2(init: u32, flags: c_int) -> Result<c_int, c_int> {
    sc!(libc::SYS_eventfd2, init, flags).map(|v| v as c_int)
}

fn efd_write(fd: c_int, v: u64) -> Result<usize, c_int> {
    write(fd, &v.to_ne_bytes())
}

/// Reads an eventfd's 8-byte value; a read of any other length is reported as `Err(1000 + n)`.
fn efd_read(fd: c_int) -> Result<u64, c_int> {
    let v = read(fd, 8)?;
    if v.len() != 8 {
        return Err(1000 + v.len() as c_int);
    }
    Ok(u64::from_ne_bytes(v[..8].try_into().unwrap_or_default()))
}

fn eventfd(r: &mut Report) {
    let (pin, pout) = (libc::POLLIN, libc::POLLOUT);
    match eventfd2(0, 0) {
        Ok(fd) => {
            r.pass("eventfd2_create");
            r.eq("eventfd2_default_flags", fd_flags(fd), (Ok(0), Ok(0)));
            r.eq(
                "eventfd2_access_rdwr",
                fcntl(fd, libc::F_GETFL).map(|f| f & libc::O_ACCMODE),
                Ok(libc::O_RDWR),
            );
            let _ = close(fd);
        }
        Err(e) => r.fail("eventfd2_create", errname(e)),
    }
    match eventfd2(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) {
        Ok(fd) => {
            r.eq(
                "eventfd2_cloexec_nonblock",
                fd_flags(fd),
                (Ok(libc::FD_CLOEXEC), Ok(libc::O_NONBLOCK)),
            );
            let _ = close(fd);
        }
        Err(e) => r.fail("eventfd2_cloexec_nonblock", errname(e)),
    }
    r.err(
        "eventfd2_bad_flags_einval",
        eventfd2(0, libc::O_APPEND),
        libc::EINVAL,
    );

    // Counter semantics.
    let Ok(fd) = eventfd2(3, libc::EFD_NONBLOCK) else {
        r.fail("eventfd_counter_setup", "eventfd2 failed");
        return;
    };
    let w1 = efd_write(fd, 4);
    let w2 = efd_write(fd, 10);
    r.eq("eventfd_write_returns_8", (w1, w2), (Ok(8), Ok(8)));
    r.eq("eventfd_read_sum_with_initval", efd_read(fd), Ok(17));
    r.err("eventfd_read_resets_to_0", efd_read(fd), libc::EAGAIN);
    r.eq(
        "eventfd_poll_zero_pollout_only",
        poll(&[(fd, pin | pout)], 0),
        Ok((1, vec![pout])),
    );
    let _ = efd_write(fd, 1);
    r.eq(
        "eventfd_poll_nonzero_pollin_pollout",
        poll(&[(fd, pin | pout)], 0),
        Ok((1, vec![pin | pout])),
    );
    let mut small = [0u8; 4];
    r.err(
        "eventfd_read_short_buffer_einval",
        sc!(libc::SYS_read, fd, small.as_mut_ptr(), 4),
        libc::EINVAL,
    );
    r.err(
        "eventfd_write_short_buffer_einval",
        sc!(libc::SYS_write, fd, small.as_ptr(), 4),
        libc::EINVAL,
    );
    let big = read(fd, 16);
    r.eq(
        "eventfd_read_large_buffer_8_bytes",
        big,
        Ok(1u64.to_ne_bytes().to_vec()),
    );
    r.err(
        "eventfd_write_all_ones_einval",
        efd_write(fd, u64::MAX),
        libc::EINVAL,
    );
    r.eq(
        "eventfd_write_max_value",
        efd_write(fd, 0xffff_ffff_ffff_fffe),
        Ok(8),
    );
    r.err(
        "eventfd_write_overflow_eagain",
        efd_write(fd, 1),
        libc::EAGAIN,
    );
    r.eq(
        "eventfd_poll_full_no_pollout",
        poll(&[(fd, pin | pout)], 0),
        Ok((1, vec![pin])),
    );
    r.eq(
        "eventfd_read_max_value",
        efd_read(fd),
        Ok(0xffff_ffff_ffff_fffe),
    );
    let _ = close(fd);

    // EFD_SEMAPHORE.
    match eventfd2(2, libc::EFD_SEMAPHORE | libc::EFD_NONBLOCK) {
        Ok(fd) => {
            let a = efd_read(fd);
            let _ = efd_write(fd, 5);
            let mut got = vec![a];
            for _ in 0..6 {
                got.push(efd_read(fd));
            }
            r.eq(
                "eventfd_semaphore_reads_1",
                got,
                vec![Ok(1), Ok(1), Ok(1), Ok(1), Ok(1), Ok(1), Ok(1)],
            );
            r.err("eventfd_semaphore_empty_eagain", efd_read(fd), libc::EAGAIN);
            let _ = close(fd);
        }
        Err(e) => r.fail("eventfd_semaphore", errname(e)),
    }

    // A blocking read woken by a child's write.
    let Ok(fd) = eventfd2(0, 0) else {
        r.fail("eventfd_blocking_setup", "eventfd2 failed");
        return;
    };
    let t0 = mono_ns();
    let pid = spawn(|| {
        sleep_ms(50);
        if efd_write(fd, 42) == Ok(8) { 0 } else { 1 }
    });
    let got = efd_read(fd);
    let dt = mono_ns() - t0;
    r.check(
        "eventfd_read_blocks_until_write",
        got == Ok(42) && dt >= 45 * MS,
        || format!("read {} after {} ms", show(&got), dt / MS),
    );
    r.child_ok("eventfd_writer_child", pid);
    let _ = close(fd);
}

// ---------------------------------------------------------------------------------------------
// epoll

fn epoll_ctl(epfd: c_int, op: c_int, fd: c_int, events: u32, data: u64) -> Result<c_long, c_int> {
    let mut ev = libc::epoll_event { events, u64: data };
    sc!(
        libc::SYS_epoll_ctl,
        epfd,
        op,
        fd,
        &mut ev as *mut libc::epoll_event
    )
}

/// epoll_wait with room for `max` events; returns (events, data) sorted by data.
fn epoll_wait(epfd: c_int, max: usize, timeout_ms: c_int) -> Result<Vec<(u32, u64)>, c_int> {
    let mut evs = vec![
        libc::epoll_event {
            events: 0xdead,
            u64: 0xdead
        };
        max
    ];
    let n = sc!(
        libc::SYS_epoll_wait,
        epfd,
        evs.as_mut_ptr(),
        max,
        timeout_ms
    )? as usize;
    let mut v: Vec<(u32, u64)> = evs[..n.min(max)]
        .iter()
        .map(|e| {
            let (ev, d) = (e.events, e.u64);
            (ev, d)
        })
        .collect();
    v.sort_by_key(|e| e.1);
    Ok(v)
}

const EIN: u32 = libc::EPOLLIN as u32;
const EOUT: u32 = libc::EPOLLOUT as u32;
const EHUP: u32 = libc::EPOLLHUP as u32;
const EONESHOT: u32 = libc::EPOLLONESHOT as u32;
const EET: u32 = libc::EPOLLET as u32;

fn epoll(r: &mut Report) {
    let add = libc::EPOLL_CTL_ADD;
    let modify = libc::EPOLL_CTL_MOD;
    let del = libc::EPOLL_CTL_DEL;
    match sc!(libc::SYS_epoll_create1, 0) {
        Ok(fd) => {
            r.eq(
                "epoll_create1_no_cloexec",
                fcntl(fd as c_int, libc::F_GETFD),
                Ok(0),
            );
            let _ = close(fd as c_int);
        }
        Err(e) => r.fail("epoll_create1_no_cloexec", errname(e)),
    }
    match sc!(libc::SYS_epoll_create1, libc::EPOLL_CLOEXEC) {
        Ok(fd) => {
            r.eq(
                "epoll_create1_cloexec",
                fcntl(fd as c_int, libc::F_GETFD),
                Ok(libc::FD_CLOEXEC),
            );
            let _ = close(fd as c_int);
        }
        Err(e) => r.fail("epoll_create1_cloexec", errname(e)),
    }
    r.err(
        "epoll_create1_bad_flags_einval",
        sc!(libc::SYS_epoll_create1, 1),
        libc::EINVAL,
    );
    r.err(
        "epoll_create_0_einval",
        sc!(libc::SYS_epoll_create, 0),
        libc::EINVAL,
    );
    match sc!(libc::SYS_epoll_create, 1) {
        Ok(fd) => {
            r.pass("epoll_create_1");
            let _ = close(fd as c_int);
        }
        Err(e) => r.fail("epoll_create_1", errname(e)),
    }

    let Ok(ep) = sc!(libc::SYS_epoll_create1, 0).map(|v| v as c_int) else {
        r.fail("epoll_setup", "epoll_create1 failed");
        return;
    };
    let Ok(p) = pipe2(0) else {
        r.fail("epoll_setup", "pipe2 failed");
        return;
    };
    const D_READ: u64 = 0x1111_2222_3333_4444;
    const D_WRITE: u64 = 0x5555_6666_7777_8888;
    const D_READ2: u64 = 0x0123_4567_89ab_cdef;
    r.eq("ctl_add", epoll_ctl(ep, add, p.0, EIN, D_READ), Ok(0));
    r.err(
        "ctl_add_twice_eexist",
        epoll_ctl(ep, add, p.0, EIN, D_READ),
        libc::EEXIST,
    );
    r.err(
        "ctl_mod_absent_enoent",
        epoll_ctl(ep, modify, p.1, EOUT, 0),
        libc::ENOENT,
    );
    r.err(
        "ctl_del_absent_enoent",
        epoll_ctl(ep, del, p.1, 0, 0),
        libc::ENOENT,
    );
    r.err(
        "ctl_bad_fd_ebadf",
        epoll_ctl(ep, add, 9999, EIN, 0),
        libc::EBADF,
    );
    r.err(
        "ctl_bad_epfd_ebadf",
        epoll_ctl(9999, add, p.0, EIN, 0),
        libc::EBADF,
    );
    r.err(
        "ctl_epfd_not_epoll_einval",
        epoll_ctl(p.0, add, p.1, EOUT, 0),
        libc::EINVAL,
    );
    r.err(
        "ctl_add_self_einval",
        epoll_ctl(ep, add, ep, EIN, 0),
        libc::EINVAL,
    );
    match open("regular", libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC) {
        Ok(f) => {
            r.err(
                "ctl_regular_file_eperm",
                epoll_ctl(ep, add, f, EIN, 0),
                libc::EPERM,
            );
            let _ = close(f);
        }
        Err(e) => r.fail("ctl_regular_file_eperm", format!("open: {}", errname(e))),
    }
    r.err(
        "ctl_bad_op_einval",
        epoll_ctl(ep, 99, p.1, EOUT, 0),
        libc::EINVAL,
    );

    // Waiting.
    let t0 = mono_ns();
    let got = epoll_wait(ep, 8, 0);
    let dt = mono_ns() - t0;
    r.check(
        "wait_timeout_0_returns_0",
        got == Ok(vec![]) && dt < 1000 * MS,
        || format!("wait {got:?} after {} ms", dt / MS),
    );
    let _ = write(p.1, b"x");
    r.eq(
        "wait_pollin_with_data",
        epoll_wait(ep, 8, 0),
        Ok(vec![(EIN, D_READ)]),
    );
    r.eq(
        "wait_level_triggered_again",
        epoll_wait(ep, 8, 0),
        Ok(vec![(EIN, D_READ)]),
    );
    r.eq(
        "ctl_add_write_end",
        epoll_ctl(ep, add, p.1, EOUT, D_WRITE),
        Ok(0),
    );
    r.eq(
        "wait_pollin_and_pollout",
        epoll_wait(ep, 8, 0),
        Ok(vec![(EIN, D_READ), (EOUT, D_WRITE)]),
    );
    r.eq(
        "wait_maxevents_1",
        epoll_wait(ep, 1, 0).map(|v| v.len()),
        Ok(1),
    );
    r.eq("ctl_mod", epoll_ctl(ep, modify, p.0, EIN, D_READ2), Ok(0));
    r.eq(
        "wait_after_mod_new_data",
        epoll_wait(ep, 8, 0),
        Ok(vec![(EIN, D_READ2), (EOUT, D_WRITE)]),
    );
    r.eq("ctl_del", epoll_ctl(ep, del, p.1, 0, 0), Ok(0));
    r.eq(
        "wait_after_del",
        epoll_wait(ep, 8, 0),
        Ok(vec![(EIN, D_READ2)]),
    );
    r.eq(
        "ctl_mod_out_only",
        epoll_ctl(ep, modify, p.0, EOUT, D_READ2),
        Ok(0),
    );
    r.eq(
        "wait_unrequested_event_not_reported",
        epoll_wait(ep, 8, 0),
        Ok(vec![]),
    );
    let _ = epoll_ctl(ep, modify, p.0, EIN, D_READ2);
    let _ = read(p.0, 10);
    r.eq("wait_empty_after_read", epoll_wait(ep, 8, 0), Ok(vec![]));
    let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 4];
    r.err(
        "wait_maxevents_0_einval",
        sc!(libc::SYS_epoll_wait, ep, evs.as_mut_ptr(), 0, 0),
        libc::EINVAL,
    );
    r.err(
        "wait_maxevents_negative_einval",
        sc!(libc::SYS_epoll_wait, ep, evs.as_mut_ptr(), -1, 0),
        libc::EINVAL,
    );
    r.err(
        "wait_not_epoll_einval",
        sc!(libc::SYS_epoll_wait, p.0, evs.as_mut_ptr(), 4, 0),
        libc::EINVAL,
    );
    let t0 = mono_ns();
    let got = epoll_wait(ep, 8, 50);
    let dt = mono_ns() - t0;
    r.check(
        "wait_timeout_50ms",
        got == Ok(vec![]) && (49 * MS..2000 * MS).contains(&dt),
        || format!("wait {got:?} after {} ms", dt / MS),
    );
    let _ = write(p.1, b"y");
    let mut pevs = [libc::epoll_event { events: 0, u64: 0 }; 4];
    let got = sc!(libc::SYS_epoll_pwait, ep, pevs.as_mut_ptr(), 4, 0, 0, 8);
    let (e0, d0) = (pevs[0].events, pevs[0].u64);
    r.check(
        "epoll_pwait_null_sigmask",
        got == Ok(1) && (e0, d0) == (EIN, D_READ2),
        || format!("epoll_pwait {}, first event {e0:#x}/{d0:#x}", show(&got)),
    );
    let _ = read(p.0, 10);
    let _ = close(p.1);
    r.eq(
        "wait_pollhup_writer_closed",
        epoll_wait(ep, 8, 0),
        Ok(vec![(EHUP, D_READ2)]),
    );
    let _ = close(p.0);
    let _ = close(ep);

    // EPOLLONESHOT.
    if let (Ok(ep), Ok(q)) = (
        sc!(libc::SYS_epoll_create1, 0).map(|v| v as c_int),
        pipe2(0),
    ) {
        let _ = epoll_ctl(ep, add, q.0, EIN | EONESHOT, 7);
        let _ = write(q.1, b"a");
        let first = epoll_wait(ep, 8, 0);
        let second = epoll_wait(ep, 8, 0);
        r.check(
            "oneshot_reported_once",
            first == Ok(vec![(EIN, 7)]) && second == Ok(vec![]),
            || format!("waits {first:?} then {second:?}"),
        );
        let _ = write(q.1, b"b");
        r.eq(
            "oneshot_disabled_after_new_write",
            epoll_wait(ep, 8, 0),
            Ok(vec![]),
        );
        r.err(
            "oneshot_disabled_still_registered_eexist",
            epoll_ctl(ep, add, q.0, EIN, 7),
            libc::EEXIST,
        );
        let m = epoll_ctl(ep, modify, q.0, EIN | EONESHOT, 8);
        let first = epoll_wait(ep, 8, 0);
        let second = epoll_wait(ep, 8, 0);
        r.check(
            "oneshot_rearmed_by_mod",
            m == Ok(0) && first == Ok(vec![(EIN, 8)]) && second == Ok(vec![]),
            || format!("mod {}, waits {first:?} then {second:?}", show(&m)),
        );
        close2(q);
        let _ = close(ep);
    } else {
        r.fail("oneshot_setup", "epoll_create1 or pipe2 failed");
    }

    // EPOLLET.
    if let (Ok(ep), Ok(q)) = (
        sc!(libc::SYS_epoll_create1, 0).map(|v| v as c_int),
        pipe2(0),
    ) {
        let _ = epoll_ctl(ep, add, q.0, EIN | EET, 9);
        r.eq("et_nothing_before_write", epoll_wait(ep, 8, 0), Ok(vec![]));
        let _ = write(q.1, b"a");
        let first = epoll_wait(ep, 8, 0);
        let second = epoll_wait(ep, 8, 0);
        r.check(
            "et_reported_once_per_write",
            first == Ok(vec![(EIN, 9)]) && second == Ok(vec![]),
            || format!("waits {first:?} then {second:?}"),
        );
        let _ = write(q.1, b"b");
        let first = epoll_wait(ep, 8, 0);
        let second = epoll_wait(ep, 8, 0);
        r.check(
            "et_new_write_reported_again",
            first == Ok(vec![(EIN, 9)]) && second == Ok(vec![]),
            || format!("waits {first:?} then {second:?}"),
        );
        let _ = read(q.0, 1);
        r.eq(
            "et_partial_read_not_reported",
            epoll_wait(ep, 8, 0),
            Ok(vec![]),
        );
        close2(q);
        let _ = close(ep);
    } else {
        r.fail("et_setup", "epoll_create1 or pipe2 failed");
    }

    // A blocked epoll_wait woken by a child's write.
    if let (Ok(ep), Ok(q)) = (
        sc!(libc::SYS_epoll_create1, 0).map(|v| v as c_int),
        pipe2(0),
    ) {
        let _ = epoll_ctl(ep, add, q.0, EIN, 10);
        let t0 = mono_ns();
        let pid = spawn(|| {
            sleep_ms(50);
            if write(q.1, b"w") == Ok(1) { 0 } else { 1 }
        });
        let got = epoll_wait(ep, 8, 5000);
        let dt = mono_ns() - t0;
        r.check(
            "wait_woken_by_child_write",
            got == Ok(vec![(EIN, 10)]) && (45 * MS..4000 * MS).contains(&dt),
            || format!("wait {got:?} after {} ms", dt / MS),
        );
        r.child_ok("wait_wake_writer_child", pid);

        // Closing the only descriptor removes it from the interest list.
        let c = close(q.0);
        r.check("close_removes_from_interest_list", c.is_ok(), || {
            format!("close {}", show(&c))
        });
        r.eq("wait_after_close_empty", epoll_wait(ep, 8, 0), Ok(vec![]));
        r.err(
            "ctl_del_closed_fd_ebadf",
            epoll_ctl(ep, del, q.0, 0, 0),
            libc::EBADF,
        );
        // A new file in the same descriptor slot is not registered.
        match pipe2(0) {
            Ok(n) => {
                let _ = write(n.1, b"z");
                let got = epoll_wait(ep, 8, 0);
                let d = epoll_ctl(ep, del, n.0, 0, 0);
                r.check(
                    "new_file_in_slot_not_registered",
                    got == Ok(vec![]) && d == Err(libc::ENOENT),
                    || format!("wait {got:?}, del {}", show(&d)),
                );
                close2(n);
            }
            Err(e) => r.fail("new_file_in_slot_not_registered", errname(e)),
        }
        let _ = close(q.1);
        let _ = close(ep);
    } else {
        r.fail("wake_setup", "epoll_create1 or pipe2 failed");
    }
}

// ---------------------------------------------------------------------------------------------
// memfd_create

fn memfd_create(name: &str, flags: u32) -> Result<c_int, c_int> {
    let c = cs(name);
    sc!(libc::SYS_memfd_create, c.as_ptr(), flags).map(|v| v as c_int)
}

fn readlink(p: &str) -> Result<Vec<u8>, c_int> {
    let c = cs(p);
    let mut buf = vec![0u8; 512];
    let n = sc!(libc::SYS_readlink, c.as_ptr(), buf.as_mut_ptr(), buf.len())? as usize;
    buf.truncate(n);
    Ok(buf)
}

fn memfd(r: &mut Report) {
    let fd = match memfd_create("t_events_memfd", 0) {
        Ok(fd) => {
            r.pass("memfd_create");
            fd
        }
        Err(e) => {
            r.fail("memfd_create", errname(e));
            return;
        }
    };
    r.eq("memfd_no_cloexec", fcntl(fd, libc::F_GETFD), Ok(0));
    r.eq(
        "memfd_access_rdwr",
        fcntl(fd, libc::F_GETFL).map(|f| f & libc::O_ACCMODE),
        Ok(libc::O_RDWR),
    );
    let link = readlink(&format!("/proc/self/fd/{fd}"));
    let text = link
        .as_ref()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .unwrap_or_default();
    r.check(
        "memfd_proc_fd_name",
        text.starts_with("/memfd:") && text.contains("t_events_memfd"),
        || {
            format!(
                "readlink {}: {text:?}",
                show(&link.as_ref().map(|l| l.len()).map_err(|e| *e))
            )
        },
    );
    r.eq("memfd_write", write(fd, b"hello, memfd"), Ok(12));
    r.eq("memfd_lseek_set", lseek(fd, 0, libc::SEEK_SET), Ok(0));
    r.eq("memfd_read", read(fd, 100), Ok(b"hello, memfd".to_vec()));
    r.eq("memfd_lseek_end", lseek(fd, 0, libc::SEEK_END), Ok(12));
    r.eq("memfd_pread", pread(fd, 3, 7), Ok(b"mem".to_vec()));
    let st = fstat(fd);
    r.check(
        "memfd_fstat_regular_nlink_0",
        matches!(&st, Ok(s) if s.st_mode & libc::S_IFMT == libc::S_IFREG
            && s.st_nlink == 0 && s.st_size == 12),
        || match &st {
            Ok(s) => format!(
                "mode {:o}, nlink {}, size {}",
                s.st_mode, s.st_nlink, s.st_size
            ),
            Err(e) => format!("fstat {}", errname(*e)),
        },
    );
    r.eq(
        "memfd_ftruncate_shrink",
        sc!(libc::SYS_ftruncate, fd, 5),
        Ok(0),
    );
    r.eq(
        "memfd_size_after_shrink",
        fstat(fd).map(|s| s.st_size),
        Ok(5),
    );
    r.eq(
        "memfd_read_after_shrink",
        pread(fd, 100, 0),
        Ok(b"hello".to_vec()),
    );
    let g = sc!(libc::SYS_ftruncate, fd, 10000);
    let sz = fstat(fd).map(|s| s.st_size);
    let tail = pread(fd, 20000, 0);
    r.check(
        "memfd_ftruncate_grow_zeros",
        g == Ok(0)
            && sz == Ok(10000)
            && matches!(&tail, Ok(t) if t.len() == 10000 && &t[..5] == b"hello"
                && t[5..].iter().all(|&b| b == 0)),
        || {
            format!(
                "ftruncate {}, size {}, read {}",
                show(&g),
                show(&sz),
                show(&tail.as_ref().map(|t| t.len()).map_err(|e| *e))
            )
        },
    );
    let _ = close(fd);
    match memfd_create("cx", libc::MFD_CLOEXEC) {
        Ok(fd) => {
            r.eq(
                "memfd_cloexec",
                fcntl(fd, libc::F_GETFD),
                Ok(libc::FD_CLOEXEC),
            );
            let _ = close(fd);
        }
        Err(e) => r.fail("memfd_cloexec", errname(e)),
    }
    r.err(
        "memfd_bad_flags_einval",
        memfd_create("bad", 0x100),
        libc::EINVAL,
    );
    let n249 = "n".repeat(249);
    match memfd_create(&n249, 0) {
        Ok(fd) => {
            r.pass("memfd_name_249_ok");
            let _ = close(fd);
        }
        Err(e) => r.fail("memfd_name_249_ok", errname(e)),
    }
    r.err(
        "memfd_name_250_einval",
        memfd_create(&"n".repeat(250), 0),
        libc::EINVAL,
    );
}

// ---------------------------------------------------------------------------------------------
// socketpair

fn socketpair(domain: c_int, ty: c_int) -> Result<(c_int, c_int), c_int> {
    let mut sv = [-1 as c_int; 2];
    sc!(libc::SYS_socketpair, domain, ty, 0, sv.as_mut_ptr()).map(|_| (sv[0], sv[1]))
}

fn shutdown(fd: c_int, how: c_int) -> Result<c_long, c_int> {
    sc!(libc::SYS_shutdown, fd, how)
}

fn sockets(r: &mut Report) {
    let (pin, pout, phup) = (libc::POLLIN, libc::POLLOUT, libc::POLLHUP);
    let Ok(s) = socketpair(libc::AF_UNIX, libc::SOCK_STREAM) else {
        r.fail("socketpair", "socketpair failed");
        return;
    };
    r.pass("socketpair");
    let st = fstat(s.0);
    r.check(
        "socketpair_fstat_sock",
        matches!(&st, Ok(x) if x.st_mode & libc::S_IFMT == libc::S_IFSOCK),
        || {
            format!(
                "fstat {}",
                show(&st.as_ref().map(|x| x.st_mode).map_err(|e| *e))
            )
        },
    );
    r.eq(
        "socketpair_default_flags",
        (fd_flags(s.0), fd_flags(s.1)),
        ((Ok(0), Ok(0)), (Ok(0), Ok(0))),
    );
    r.eq(
        "socketpair_access_rdwr",
        fcntl(s.0, libc::F_GETFL).map(|f| f & libc::O_ACCMODE),
        Ok(libc::O_RDWR),
    );
    r.eq(
        "socketpair_poll_fresh_pollout",
        poll(&[(s.0, pin | pout)], 0),
        Ok((1, vec![pout])),
    );
    let w = write(s.0, b"ping");
    r.eq(
        "socketpair_poll_data_pollin",
        poll(&[(s.1, pin | pout)], 0),
        Ok((1, vec![pin | pout])),
    );
    let got = read(s.1, 100);
    r.check(
        "socketpair_first_to_second",
        w == Ok(4) && got.as_deref() == Ok(&b"ping"[..]),
        || format!("write {}, read {got:?}", show(&w)),
    );
    let w = write(s.1, b"pong!");
    let got = read(s.0, 100);
    r.check(
        "socketpair_second_to_first",
        w == Ok(5) && got.as_deref() == Ok(&b"pong!"[..]),
        || format!("write {}, read {got:?}", show(&w)),
    );

    // shutdown(SHUT_WR): the peer sees EOF, the other direction still works.
    let sd = shutdown(s.0, libc::SHUT_WR);
    r.eq("shutdown_wr", sd, Ok(0));
    r.eq(
        "shutdown_wr_peer_poll_pollin",
        poll(&[(s.1, pin | pout)], 0),
        Ok((1, vec![pin | pout])),
    );
    r.eq("shutdown_wr_peer_reads_eof", read(s.1, 10), Ok(Vec::new()));
    let w = write(s.1, b"back");
    let got = read(s.0, 100);
    r.check(
        "shutdown_wr_other_direction_works",
        w == Ok(4) && got.as_deref() == Ok(&b"back"[..]),
        || format!("write {}, read {got:?}", show(&w)),
    );
    r.err("shutdown_wr_write_epipe", write(s.0, b"x"), libc::EPIPE);
    close2(s);

    // The peer closes: data first, then EOF; writing fails with EPIPE.
    if let Ok(s) = socketpair(libc::AF_UNIX, libc::SOCK_STREAM) {
        let _ = write(s.0, b"last");
        let _ = close(s.0);
        r.eq(
            "peer_closed_poll_pollin_pollhup",
            poll(&[(s.1, pin)], 0),
            Ok((1, vec![pin | phup])),
        );
        r.eq(
            "peer_closed_poll_out_too",
            poll(&[(s.1, pin | pout)], 0),
            Ok((1, vec![pin | pout | phup])),
        );
        let a = read(s.1, 100);
        let b = read(s.1, 100);
        r.check(
            "peer_closed_data_then_eof",
            a.as_deref() == Ok(&b"last"[..]) && b == Ok(Vec::new()),
            || format!("reads {a:?} then {b:?}"),
        );
        r.err("peer_closed_write_epipe", write(s.1, b"x"), libc::EPIPE);
        let _ = close(s.1);
    } else {
        r.fail("peer_closed_setup", "socketpair failed");
    }

    // Flags.
    match socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC) {
        Ok(s) => {
            r.eq(
                "socketpair_cloexec",
                (fd_flags(s.0), fd_flags(s.1)),
                ((Ok(libc::FD_CLOEXEC), Ok(0)), (Ok(libc::FD_CLOEXEC), Ok(0))),
            );
            close2(s);
        }
        Err(e) => r.fail("socketpair_cloexec", errname(e)),
    }
    match socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_NONBLOCK) {
        Ok(s) => {
            let nb = Ok(libc::O_NONBLOCK);
            r.eq(
                "socketpair_nonblock",
                (fd_flags(s.0), fd_flags(s.1)),
                ((Ok(0), nb), (Ok(0), nb)),
            );
            r.err(
                "socketpair_nonblock_read_eagain",
                read(s.1, 10),
                libc::EAGAIN,
            );
            close2(s);
        }
        Err(e) => r.fail("socketpair_nonblock", errname(e)),
    }
    r.err(
        "socketpair_af_inet_eopnotsupp",
        socketpair(libc::AF_INET, libc::SOCK_STREAM),
        libc::EOPNOTSUPP,
    );

    // A 1 MiB transfer to a child, which sends a checksum back on the same socket.
    const TOTAL: usize = 1 << 20;
    let mut data = vec![0u8; TOTAL];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let want = fnv(FNV0, &data);
    let Ok(s) = socketpair(libc::AF_UNIX, libc::SOCK_STREAM) else {
        r.fail("transfer_setup", "socketpair failed");
        return;
    };
    let pid = spawn_steps(|| {
        let mut st = Steps::new("t_events socket child");
        let _ = close(s.0);
        let mut h = FNV0;
        let mut n = 0usize;
        let mut buf = vec![0u8; 65536];
        loop {
            let got = st.ok(
                sc!(libc::SYS_read, s.1, buf.as_mut_ptr(), buf.len()),
                "read the stream",
            )? as usize;
            if got == 0 {
                break;
            }
            h = fnv(h, &buf[..got]);
            n += got;
        }
        let mut msg = h.to_ne_bytes().to_vec();
        msg.extend_from_slice(&(n as u64).to_ne_bytes());
        st.ok(write_all(s.1, &msg), "send the checksum back")?;
        Ok(())
    });
    let _ = close(s.1);
    let sizes = [1usize, 4095, 65536, 100_000, 333, 200_001];
    let (mut off, mut i) = (0usize, 0usize);
    let mut werr = None;
    while off < TOTAL {
        let n = sizes[i % sizes.len()].min(TOTAL - off);
        if let Err(e) = write_all(s.0, &data[off..off + n]) {
            werr = Some(e);
            break;
        }
        off += n;
        i += 1;
    }
    let sd = shutdown(s.0, libc::SHUT_WR);
    r.check("transfer_1mib_write", werr.is_none() && sd == Ok(0), || {
        format!(
            "write failed at {off} with {werr:?}, shutdown {}",
            show(&sd)
        )
    });
    let back = read_full(s.0, 16);
    let _ = close(s.0);
    r.child_ok("transfer_1mib_child", pid);
    let got = back.as_ref().ok().filter(|b| b.len() == 16).map(|b| {
        (
            u64::from_ne_bytes(b[..8].try_into().unwrap_or_default()),
            u64::from_ne_bytes(b[8..].try_into().unwrap_or_default()),
        )
    });
    r.eq("transfer_1mib_checksum", got, Some((want, TOTAL as u64)));
}

// ---------------------------------------------------------------------------------------------
// copy_file_range and sendfile

fn copy_file_range(
    fin: c_int,
    off_in: Option<&mut i64>,
    fout: c_int,
    off_out: Option<&mut i64>,
    len: usize,
    flags: u32,
) -> Result<c_long, c_int> {
    let pi = off_in.map_or(std::ptr::null_mut(), |p| p as *mut i64);
    let po = off_out.map_or(std::ptr::null_mut(), |p| p as *mut i64);
    sc!(libc::SYS_copy_file_range, fin, pi, fout, po, len, flags)
}

fn copying(r: &mut Report) {
    const SRC: &[u8] = b"0123456789abcdefghij";
    let src = open("src", libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC);
    let dst = open("dst", libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC);
    let (Ok(src), Ok(dst)) = (src, dst) else {
        r.fail("copy_setup", "open failed");
        return;
    };
    if write(src, SRC) != Ok(SRC.len()) {
        r.fail("copy_setup", "write failed");
        return;
    }
    let _ = lseek(src, 2, libc::SEEK_SET);
    let c = copy_file_range(src, None, dst, None, 4, 0);
    r.eq("cfr_file_offsets_count", c, Ok(4));
    r.eq(
        "cfr_file_offsets_advanced",
        (lseek(src, 0, libc::SEEK_CUR), lseek(dst, 0, libc::SEEK_CUR)),
        (Ok(6), Ok(4)),
    );
    r.eq(
        "cfr_file_offsets_data",
        pread(dst, 100, 0),
        Ok(b"2345".to_vec()),
    );
    let (mut oi, mut oo) = (10i64, 8i64);
    let c = copy_file_range(src, Some(&mut oi), dst, Some(&mut oo), 3, 0);
    r.eq("cfr_pointers_count", c, Ok(3));
    r.eq("cfr_pointers_advanced", (oi, oo), (13, 11));
    r.eq(
        "cfr_pointers_file_offsets_unchanged",
        (lseek(src, 0, libc::SEEK_CUR), lseek(dst, 0, libc::SEEK_CUR)),
        (Ok(6), Ok(4)),
    );
    r.eq(
        "cfr_pointers_data_with_hole",
        pread(dst, 100, 0),
        Ok(b"2345\0\0\0\0abc".to_vec()),
    );
    // Only the input offset given: the output's file offset moves.
    let mut oi = 18i64;
    let c = copy_file_range(src, Some(&mut oi), dst, None, 10, 0);
    r.eq("cfr_short_at_eof", (c, oi), (Ok(2), 20));
    r.eq(
        "cfr_output_file_offset_advanced",
        lseek(dst, 0, libc::SEEK_CUR),
        Ok(6),
    );
    r.eq(
        "cfr_mixed_data",
        pread(dst, 100, 0),
        Ok(b"2345ij\0\0abc".to_vec()),
    );
    let mut oi = 20i64;
    let mut oo = 0i64;
    r.eq(
        "cfr_at_eof_returns_0",
        copy_file_range(src, Some(&mut oi), dst, Some(&mut oo), 5, 0),
        Ok(0),
    );
    r.err(
        "cfr_flags_einval",
        copy_file_range(src, None, dst, None, 1, 1),
        libc::EINVAL,
    );
    if let Ok(wo) = open("src", libc::O_WRONLY) {
        r.err(
            "cfr_input_write_only_ebadf",
            copy_file_range(wo, None, dst, None, 1, 0),
            libc::EBADF,
        );
        let _ = close(wo);
    }
    if let Ok(p) = pipe2(0) {
        r.err(
            "cfr_pipe_einval",
            copy_file_range(src, None, p.1, None, 1, 0),
            libc::EINVAL,
        );
        close2(p);
    }

    // sendfile from the file into a pipe.
    let Ok(p) = pipe2(libc::O_NONBLOCK) else {
        r.fail("sendfile_setup", "pipe2 failed");
        return;
    };
    let mut off = 3i64;
    let n = sc!(libc::SYS_sendfile, p.1, src, &mut off as *mut i64, 5);
    r.eq("sendfile_offset_count", n, Ok(5));
    r.eq("sendfile_offset_advanced", off, 8);
    r.eq(
        "sendfile_offset_file_offset_unchanged",
        lseek(src, 0, libc::SEEK_CUR),
        Ok(6),
    );
    r.eq(
        "sendfile_offset_data",
        read(p.0, 100),
        Ok(b"34567".to_vec()),
    );
    let n = sc!(libc::SYS_sendfile, p.1, src, 0, 4);
    r.eq("sendfile_no_offset_count", n, Ok(4));
    r.eq(
        "sendfile_no_offset_file_offset_advanced",
        lseek(src, 0, libc::SEEK_CUR),
        Ok(10),
    );
    r.eq(
        "sendfile_no_offset_data",
        read(p.0, 100),
        Ok(b"6789".to_vec()),
    );
    let mut off = 20i64;
    r.eq(
        "sendfile_at_eof_returns_0",
        sc!(libc::SYS_sendfile, p.1, src, &mut off as *mut i64, 5),
        Ok(0),
    );
    close2(p);
    let _ = close(src);
    let _ = close(dst);
}

// ---------------------------------------------------------------------------------------------
// mmap of regular files

fn mmap(len: usize, prot: c_int, flags: c_int, fd: c_int, off: i64) -> Result<usize, c_int> {
    sc!(libc::SYS_mmap, 0, len, prot, flags, fd, off).map(|a| a as usize)
}

fn munmap(addr: usize, len: usize) {
    let _ = sc!(libc::SYS_munmap, addr, len);
}

/// The `len` bytes at `addr`, which must be mapped readable.
fn mapped(addr: usize, len: usize) -> &'static mut [u8] {
    // SAFETY: callers pass a live mapping of at least `len` readable bytes and unmap it only
    // after the last use of the slice.
    unsafe { std::slice::from_raw_parts_mut(addr as *mut u8, len) }
}

fn mapping(r: &mut Report) {
    const LEN: usize = 5000;
    let pat: Vec<u8> = (0..LEN).map(|i| (i * 7 + 3) as u8 | 1).collect();
    let Ok(w) = open("m", libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC) else {
        r.fail("mmap_setup", "open failed");
        return;
    };
    let wr = write_all(w, &pat);
    let _ = close(w);
    if wr.is_err() {
        r.fail("mmap_setup", "write failed");
        return;
    }
    let Ok(fd) = open("m", libc::O_RDONLY) else {
        r.fail("mmap_setup", "open O_RDONLY failed");
        return;
    };
    let (rd, wrt) = (libc::PROT_READ, libc::PROT_WRITE);

    // MAP_PRIVATE, read and write, over the whole file.
    match mmap(LEN, rd | wrt, libc::MAP_PRIVATE, fd, 0) {
        Ok(a) => {
            r.pass("mmap_private_rdonly_fd_prot_write");
            let m = mapped(a, 2 * PAGE);
            let same = m[..LEN] == pat[..];
            r.check("mmap_private_sees_file", same, || {
                let at = m[..LEN].iter().zip(&pat).position(|(x, y)| x != y);
                format!("first difference at {at:?}")
            });
            let tail_zero = m[LEN..].iter().all(|&b| b == 0);
            r.check("mmap_private_zeros_after_eof", tail_zero, || {
                let at = m[LEN..].iter().position(|&b| b != 0).map(|i| i + LEN);
                format!("non-zero byte at {at:?}")
            });
            m[..4].copy_from_slice(b"XXXX");
            m[4100] = 0xee;
            m[LEN + 10] = 0xdd;
            let back = (m[..4].to_vec(), m[4100], m[LEN + 10]);
            r.eq(
                "mmap_private_write_reads_back",
                back,
                (b"XXXX".to_vec(), 0xee, 0xdd),
            );
            let file = pread(fd, LEN + 100, 0);
            r.check(
                "mmap_private_write_not_in_file",
                file.as_deref() == Ok(&pat[..]),
                || {
                    format!(
                        "pread {}",
                        show(&file.as_ref().map(|f| f.len()).map_err(|e| *e))
                    )
                },
            );
            munmap(a, LEN);
        }
        Err(e) => r.fail("mmap_private_rdonly_fd_prot_write", errname(e)),
    }
    // A fresh private mapping does not see the earlier one's writes.
    match mmap(LEN, rd, libc::MAP_PRIVATE, fd, 0) {
        Ok(a) => {
            let m = mapped(a, LEN);
            r.check("mmap_private_fresh_mapping_clean", m[..] == pat[..], || {
                format!("first bytes {:?}", &m[..4])
            });
            munmap(a, LEN);
        }
        Err(e) => r.fail("mmap_private_fresh_mapping_clean", errname(e)),
    }
    // A page-aligned offset into the last, partial page.
    match mmap(PAGE, rd, libc::MAP_PRIVATE, fd, PAGE as i64) {
        Ok(a) => {
            let m = mapped(a, PAGE);
            let n = LEN - PAGE;
            r.check(
                "mmap_private_offset_last_page",
                m[..n] == pat[PAGE..] && m[n..].iter().all(|&b| b == 0),
                || format!("first bytes {:?}", &m[..4]),
            );
            munmap(a, PAGE);
        }
        Err(e) => r.fail("mmap_private_offset_last_page", errname(e)),
    }
    // MAP_SHARED, read only.
    match mmap(LEN, rd, libc::MAP_SHARED, fd, 0) {
        Ok(a) => {
            let m = mapped(a, 2 * PAGE);
            r.check(
                "mmap_shared_read_sees_file",
                m[..LEN] == pat[..] && m[LEN..].iter().all(|&b| b == 0),
                || format!("first bytes {:?}", &m[..4]),
            );
            munmap(a, LEN);
        }
        Err(e) => r.fail("mmap_shared_read_sees_file", errname(e)),
    }
    r.err(
        "mmap_shared_write_rdonly_fd_eacces",
        mmap(LEN, rd | wrt, libc::MAP_SHARED, fd, 0),
        libc::EACCES,
    );
    r.err(
        "mmap_unaligned_offset_einval",
        mmap(LEN, rd, libc::MAP_PRIVATE, fd, 100),
        libc::EINVAL,
    );
    let _ = close(fd);
    match open("m", libc::O_WRONLY) {
        Ok(wo) => {
            r.err(
                "mmap_wronly_fd_eacces",
                mmap(LEN, rd, libc::MAP_PRIVATE, wo, 0),
                libc::EACCES,
            );
            let _ = close(wo);
        }
        Err(e) => r.fail("mmap_wronly_fd_eacces", format!("open: {}", errname(e))),
    }
    match open(".", libc::O_RDONLY | libc::O_DIRECTORY) {
        Ok(d) => {
            r.err(
                "mmap_directory_enodev",
                mmap(PAGE, rd, libc::MAP_PRIVATE, d, 0),
                libc::ENODEV,
            );
            let _ = close(d);
        }
        Err(e) => r.fail("mmap_directory_enodev", format!("open: {}", errname(e))),
    }
}

/// MAP_SHARED|PROT_WRITE file mappings: writes through the mapping reach the file (and a
/// forked child's too), writes to the file show in the mapping, two mappings see each other,
/// the data outlives the mapping.
fn shared_mapping(r: &mut Report) {
    let Ok(fd) = open("s", libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC) else {
        r.fail("shared_setup", "open failed");
        return;
    };
    if sc!(libc::SYS_ftruncate, fd, 2 * PAGE).is_err() {
        r.fail("shared_setup", "ftruncate failed");
        return;
    }
    let rw = libc::PROT_READ | libc::PROT_WRITE;
    let (a, b) = match (
        mmap(2 * PAGE, rw, libc::MAP_SHARED, fd, 0),
        mmap(PAGE, libc::PROT_READ, libc::MAP_SHARED, fd, PAGE as i64),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (x, y) => {
            r.fail("mmap_shared_write", format!("mmap: {x:?} {y:?}"));
            return;
        }
    };
    r.pass("mmap_shared_write");
    let m = mapped(a, 2 * PAGE);
    let second = mapped(b, PAGE);
    m[..5].copy_from_slice(b"hello");
    m[PAGE + 1] = 7;
    r.eq(
        "mmap_shared_write_reaches_file",
        pread(fd, 5, 0),
        Ok(b"hello".to_vec()),
    );
    r.eq("mmap_shared_second_mapping_sees_write", second[1], 7);
    let w = sc!(libc::SYS_pwrite64, fd, b"WORLD".as_ptr(), 5, 10);
    r.check(
        "mmap_shared_sees_file_write",
        w == Ok(5) && &m[10..15] == b"WORLD",
        || format!("pwrite {w:?}, mapping {:?}", &m[10..15]),
    );
    let child = spawn(move || {
        let m = mapped(a, 2 * PAGE);
        m[20] = 42;
        0
    });
    let st = usertests::reap(child);
    r.check(
        "mmap_shared_child_write_in_file",
        st == Ok(0) && pread(fd, 1, 20) == Ok(vec![42]),
        || format!("child {st:?}, file {:?}", pread(fd, 1, 20)),
    );
    r.eq(
        "msync_shared",
        sc!(libc::SYS_msync, a, 2 * PAGE, libc::MS_SYNC),
        Ok(0),
    );
    munmap(a, 2 * PAGE);
    munmap(b, PAGE);
    let after = pread(fd, 21, 0);
    let mut want = vec![0u8; 21];
    want[..5].copy_from_slice(b"hello");
    want[10..15].copy_from_slice(b"WORLD");
    want[20] = 42;
    r.eq("mmap_shared_survives_munmap", after, Ok(want));
    let _ = close(fd);
}

fn main() {
    let mut r = Report::new("t_events");
    // SAFETY: setting a signal's disposition to SIG_IGN installs no handler.
    let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    if old == libc::SIG_ERR {
        r.fail("sigpipe_ignore", "signal(SIGPIPE, SIG_IGN) failed");
        r.finish();
    }
    // SAFETY: cannot fail.
    let pid = unsafe { libc::getpid() };
    let dir = format!("/tmp/t_events.{pid}");
    rm_rf(&dir);
    let c = cs(&dir);
    let made =
        sc!(libc::SYS_mkdir, c.as_ptr(), 0o755).and_then(|_| sc!(libc::SYS_chdir, c.as_ptr()));
    if let Err(e) = made {
        r.fail("setup", format!("mkdir/chdir {dir}: {}", errname(e)));
        r.finish();
    }
    eventfd(&mut r);
    epoll(&mut r);
    memfd(&mut r);
    sockets(&mut r);
    copying(&mut r);
    mapping(&mut r);
    shared_mapping(&mut r);
    let root = cs("/");
    let _ = sc!(libc::SYS_chdir, root.as_ptr());
    rm_rf(&dir);
    let mut st = [0u8; 256];
    r.err(
        "cleanup",
        sc!(libc::SYS_lstat, c.as_ptr(), st.as_mut_ptr()),
        libc::ENOENT,
    );
    r.finish()
}
