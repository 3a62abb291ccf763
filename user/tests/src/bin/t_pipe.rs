//! t_pipe: pipes, FIFOs, poll and select — pipe/pipe2 and their flags, reading and writing,
//! blocking until a forked writer writes, end of file once every write end (including a child's
//! inherited copy) is closed, EPIPE with SIGPIPE ignored, O_NONBLOCK's EAGAIN on an empty and on a
//! full pipe, atomic writes of PIPE_BUF bytes from several writers, a 4 MiB transfer with a
//! checksum, FIONREAD, poll (POLLIN, POLLOUT, POLLHUP, POLLERR, POLLNVAL, timeouts), select, and
//! the open rules of a FIFO.
//!
//! The capacity of a pipe is never assumed (Linux's is 65536 bytes): the checks fill a pipe until
//! EAGAIN and use what they measured. The only signal business is `SIGPIPE` set to `SIG_IGN`
//! first, so that writes without readers fail with EPIPE instead of killing the process. The FIFO
//! lives in a private directory, /tmp/t_pipe.<pid>, removed at the end.

use libc::{c_int, c_long, c_short};
use std::ffi::CString;
use usertests::{Report, Steps, errname, mono_ns, reap, sc, show, sleep_ms, spawn, spawn_steps};

const PIPE_BUF: usize = 4096;
const MS: u64 = 1_000_000;

fn cs(s: &str) -> CString {
    CString::new(s).expect("path without NUL")
}

fn open(p: &str, flags: c_int) -> Result<c_int, c_int> {
    let c = cs(p);
    sc!(libc::SYS_open, c.as_ptr(), flags, 0).map(|v| v as c_int)
}

fn close(fd: c_int) -> Result<c_long, c_int> {
    sc!(libc::SYS_close, fd)
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

fn fcntl(fd: c_int, cmd: c_int) -> Result<c_int, c_int> {
    sc!(libc::SYS_fcntl, fd, cmd, 0).map(|v| v as c_int)
}

fn pipe2(flags: c_int) -> Result<(c_int, c_int), c_int> {
    let mut p = [-1 as c_int; 2];
    sc!(libc::SYS_pipe2, p.as_mut_ptr(), flags).map(|_| (p[0], p[1]))
}

fn pipe() -> Result<(c_int, c_int), c_int> {
    let mut p = [-1 as c_int; 2];
    sc!(libc::SYS_pipe, p.as_mut_ptr()).map(|_| (p[0], p[1]))
}

fn close2((a, b): (c_int, c_int)) {
    let _ = close(a);
    let _ = close(b);
}

fn fionread(fd: c_int) -> Result<c_int, c_int> {
    let mut n: c_int = -1;
    sc!(libc::SYS_ioctl, fd, libc::FIONREAD, &mut n as *mut c_int).map(|_| n)
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

fn fdset(fds: &[c_int]) -> libc::fd_set {
    // SAFETY: fd_set is plain data; FD_ZERO/FD_SET only write inside it.
    unsafe {
        let mut s: libc::fd_set = std::mem::zeroed();
        libc::FD_ZERO(&mut s);
        for &fd in fds {
            libc::FD_SET(fd, &mut s);
        }
        s
    }
}

fn isset(fd: c_int, s: &libc::fd_set) -> bool {
    // SAFETY: reads inside the set.
    unsafe { libc::FD_ISSET(fd, s) }
}

/// select(2) with read and write sets; returns (result, read set, write set, timeout after).
fn select(
    nfds: c_int,
    rd: &[c_int],
    wr: &[c_int],
    timeout_us: Option<i64>,
) -> Result<(c_long, libc::fd_set, libc::fd_set, Option<libc::timeval>), c_int> {
    let (mut r, mut w) = (fdset(rd), fdset(wr));
    let mut tv = timeout_us.map(|us| libc::timeval {
        tv_sec: (us / 1_000_000) as _,
        tv_usec: (us % 1_000_000) as _,
    });
    let tp = tv
        .as_mut()
        .map_or(std::ptr::null_mut(), |t| t as *mut libc::timeval);
    let n = sc!(
        libc::SYS_select,
        nfds,
        &mut r as *mut libc::fd_set,
        &mut w as *mut libc::fd_set,
        0,
        tp
    )?;
    Ok((n, r, w, tv))
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

/// Removes a path and, for a directory, its entries (this program only makes a FIFO in it).
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

fn creation(r: &mut Report) {
    let Ok(p) = pipe() else {
        r.fail("pipe", "pipe failed");
        return;
    };
    r.pass("pipe");
    let acc = |fd| fcntl(fd, libc::F_GETFL).map(|f| f & libc::O_ACCMODE);
    r.eq(
        "pipe_access_modes",
        (acc(p.0), acc(p.1)),
        (Ok(libc::O_RDONLY), Ok(libc::O_WRONLY)),
    );
    let flags = |fd| {
        (
            fcntl(fd, libc::F_GETFD),
            fcntl(fd, libc::F_GETFL).map(|f| f & libc::O_NONBLOCK),
        )
    };
    r.eq(
        "pipe_default_flags",
        (flags(p.0), flags(p.1)),
        ((Ok(0), Ok(0)), (Ok(0), Ok(0))),
    );
    close2(p);
    let cloexec = Ok(libc::FD_CLOEXEC);
    let nonblock = Ok(libc::O_NONBLOCK);
    match pipe2(libc::O_CLOEXEC) {
        Ok(p) => {
            r.eq(
                "pipe2_cloexec",
                (flags(p.0), flags(p.1)),
                ((cloexec, Ok(0)), (cloexec, Ok(0))),
            );
            close2(p);
        }
        Err(e) => r.fail("pipe2_cloexec", errname(e)),
    }
    match pipe2(libc::O_NONBLOCK) {
        Ok(p) => {
            r.eq(
                "pipe2_nonblock",
                (flags(p.0), flags(p.1)),
                ((Ok(0), nonblock), (Ok(0), nonblock)),
            );
            close2(p);
        }
        Err(e) => r.fail("pipe2_nonblock", errname(e)),
    }
    match pipe2(libc::O_CLOEXEC | libc::O_NONBLOCK) {
        Ok(p) => {
            r.eq(
                "pipe2_cloexec_nonblock",
                (flags(p.0), flags(p.1)),
                ((cloexec, nonblock), (cloexec, nonblock)),
            );
            close2(p);
        }
        Err(e) => r.fail("pipe2_cloexec_nonblock", errname(e)),
    }
    r.err(
        "pipe2_bad_flags_einval",
        pipe2(libc::O_APPEND),
        libc::EINVAL,
    );
    r.err("pipe_efault", sc!(libc::SYS_pipe, 8), libc::EFAULT);
}

fn basics(r: &mut Report) {
    let Ok(p) = pipe() else {
        r.fail("basics_setup", "pipe failed");
        return;
    };
    r.eq("write_returns_count", write(p.1, b"hello"), Ok(5));
    r.eq("read_gets_data", read(p.0, 100), Ok(b"hello".to_vec()));
    let _ = write(p.1, b"abcdef");
    let a = read(p.0, 2);
    let b = read(p.0, 100);
    r.check(
        "read_partial_then_rest",
        a.as_deref() == Ok(&b"ab"[..]) && b.as_deref() == Ok(&b"cdef"[..]),
        || format!("reads {a:?} then {b:?}"),
    );
    r.err("write_on_read_end_ebadf", write(p.0, b"x"), libc::EBADF);
    r.err("read_on_write_end_ebadf", read(p.1, 1), libc::EBADF);
    r.err(
        "lseek_espipe",
        sc!(libc::SYS_lseek, p.0, 0, libc::SEEK_CUR),
        libc::ESPIPE,
    );
    let mut b = [0u8; 4];
    r.err(
        "pread64_espipe",
        sc!(libc::SYS_pread64, p.0, b.as_mut_ptr(), 4, 0),
        libc::ESPIPE,
    );
    r.err(
        "pwrite64_espipe",
        sc!(libc::SYS_pwrite64, p.1, b.as_ptr(), 4, 0),
        libc::ESPIPE,
    );
    // SAFETY: struct stat is plain data.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let s = sc!(libc::SYS_fstat, p.0, &mut st as *mut libc::stat);
    r.check(
        "fstat_is_fifo",
        s.is_ok() && st.st_mode & libc::S_IFMT == libc::S_IFIFO,
        || format!("fstat {}, mode {:o}", show(&s), st.st_mode),
    );
    // FIONREAD.
    r.eq("fionread_empty", fionread(p.0), Ok(0));
    let _ = write(p.1, &[7u8; 123]);
    r.eq("fionread_after_write", fionread(p.0), Ok(123));
    let _ = read(p.0, 23);
    r.eq("fionread_after_read", fionread(p.0), Ok(100));
    let _ = read(p.0, 100);
    // End of file after the only writer closed, data first.
    let _ = write(p.1, b"x");
    let _ = close(p.1);
    let a = read(p.0, 10);
    let b = read(p.0, 10);
    r.check(
        "eof_after_data",
        a.as_deref() == Ok(&b"x"[..]) && b == Ok(Vec::new()),
        || format!("reads {a:?} then {b:?}"),
    );
    let _ = close(p.0);

    // No readers: EPIPE (SIGPIPE is ignored).
    if let Ok(p) = pipe() {
        let _ = close(p.0);
        r.err("write_no_reader_epipe", write(p.1, b"x"), libc::EPIPE);
        let _ = close(p.1);
    }
}

fn blocking(r: &mut Report) {
    // read blocks until a child writes.
    let Ok(p) = pipe() else {
        r.fail("blocking_setup", "pipe failed");
        return;
    };
    let t0 = mono_ns();
    let pid = spawn(|| {
        let _ = close(p.0);
        sleep_ms(50);
        if write(p.1, b"late") == Ok(4) { 0 } else { 1 }
    });
    let _ = close(p.1);
    let got = read(p.0, 16);
    let dt = mono_ns() - t0;
    r.check(
        "read_blocks_until_write",
        got.as_deref() == Ok(&b"late"[..]) && dt >= 45 * MS,
        || format!("read {got:?} after {} ms", dt / MS),
    );
    r.eq("read_eof_after_writer_exits", read(p.0, 16), Ok(Vec::new()));
    r.child_ok("read_blocks_writer_child", pid);
    let _ = close(p.0);

    // End of file waits for the copy of the write end a child inherited.
    let Ok(p) = pipe() else {
        r.fail("blocking_setup", "pipe failed");
        return;
    };
    let t0 = mono_ns();
    let pid = spawn(|| {
        let _ = close(p.0);
        sleep_ms(50);
        0
    });
    let _ = close(p.1);
    let got = read(p.0, 16);
    let dt = mono_ns() - t0;
    r.check(
        "eof_waits_for_inherited_writer",
        got == Ok(Vec::new()) && dt >= 45 * MS,
        || format!("read {got:?} after {} ms", dt / MS),
    );
    r.child_ok("eof_inherited_writer_child", pid);
    let _ = close(p.0);
}

fn nonblocking(r: &mut Report) {
    let Ok(p) = pipe2(libc::O_NONBLOCK) else {
        r.fail("nonblock_setup", "pipe2 failed");
        return;
    };
    r.err("nonblock_read_empty_eagain", read(p.0, 10), libc::EAGAIN);
    let chunk = [0x33u8; PIPE_BUF];
    let mut total = 0usize;
    let mut last = Ok(0);
    for _ in 0..1024 {
        last = write(p.1, &chunk);
        match last {
            Ok(n) => total += n,
            Err(_) => break,
        }
    }
    r.check(
        "nonblock_fill_then_eagain",
        total > 0 && last == Err(libc::EAGAIN),
        || format!("wrote {total} bytes, last write {}", show(&last)),
    );
    // A 4096-byte write needs that much room (it is atomic); single bytes fill whatever room a
    // capacity that is not a multiple of 4096 would leave (none on Linux). Then even one byte is
    // refused.
    let mut last = Ok(0);
    for _ in 0..PIPE_BUF {
        last = write(p.1, b"x");
        match last {
            Ok(n) => total += n,
            Err(_) => break,
        }
    }
    r.err("nonblock_full_one_byte_eagain", last, libc::EAGAIN);
    r.eq(
        "fionread_full",
        fionread(p.0).map(|n| n as usize),
        Ok(total),
    );
    r.eq(
        "poll_full_no_pollout",
        poll(&[(p.1, libc::POLLOUT)], 0),
        Ok((0, vec![0])),
    );
    let drained = read(p.0, PIPE_BUF).map(|v| v.len());
    let w = write(p.1, &chunk);
    r.check(
        "nonblock_write_after_drain",
        drained == Ok(PIPE_BUF) && w == Ok(PIPE_BUF),
        || format!("read {}, then write {}", show(&drained), show(&w)),
    );
    let mut left = 0usize;
    while let Ok(v) = read(p.0, 65536) {
        if v.is_empty() {
            break;
        }
        left += v.len();
    }
    r.eq("nonblock_drain_all", left, total);
    let _ = close(p.1);
    r.eq("nonblock_read_eof_zero", read(p.0, 10), Ok(Vec::new()));
    let _ = close(p.0);
}

fn atomic(r: &mut Report) {
    const WRITERS: usize = 4;
    const RECORDS: usize = 16;
    let Ok(p) = pipe() else {
        r.fail("atomic_setup", "pipe failed");
        return;
    };
    let mut pids = Vec::new();
    for i in 0..WRITERS {
        pids.push(spawn(move || {
            let _ = close(p.0);
            let rec = [b'A' + i as u8; PIPE_BUF];
            for _ in 0..RECORDS {
                if write(p.1, &rec) != Ok(PIPE_BUF) {
                    return 1;
                }
            }
            0
        }));
    }
    let _ = close(p.1);
    let mut all = Vec::new();
    let mut err = None;
    loop {
        // An odd read size, so that reads do not line up with records.
        match read(p.0, 7000) {
            Ok(v) if v.is_empty() => break,
            Ok(v) => all.extend_from_slice(&v),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    let _ = close(p.0);
    let mut ok_children = true;
    for pid in pids {
        ok_children &= pid > 0 && reap(pid) == Ok(0);
    }
    r.check("atomic_writers_exit_0", ok_children, || {
        "a writer failed or a write was short".into()
    });
    r.check(
        "atomic_total",
        err.is_none() && all.len() == WRITERS * RECORDS * PIPE_BUF,
        || format!("read {} bytes, error {err:?}", all.len()),
    );
    let broken = all
        .chunks(PIPE_BUF)
        .position(|c| c.iter().any(|&b| b != c[0]));
    r.check("atomic_records_not_interleaved", broken.is_none(), || {
        format!("record {broken:?} mixes writers")
    });
    let mut counts = [0usize; WRITERS];
    for c in all.chunks(PIPE_BUF) {
        let k = c[0].wrapping_sub(b'A') as usize;
        if k < WRITERS {
            counts[k] += 1;
        }
    }
    r.eq("atomic_record_counts", counts, [RECORDS; WRITERS]);
}

/// FNV-1a, 64 bits.
fn fnv(h: u64, data: &[u8]) -> u64 {
    data.iter()
        .fold(h, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

const FNV0: u64 = 0xcbf2_9ce4_8422_2325;

fn transfer(r: &mut Report) {
    const TOTAL: usize = 4 << 20;
    let mut data = vec![0u8; TOTAL];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let want = fnv(FNV0, &data);
    let (Ok(down), Ok(up)) = (pipe(), pipe()) else {
        r.fail("transfer_setup", "pipe failed");
        return;
    };
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_pipe transfer child");
        let _ = close(down.1);
        let _ = close(up.0);
        let mut h = FNV0;
        let mut n = 0usize;
        let mut buf = vec![0u8; 65536];
        loop {
            let got = s.ok(
                sc!(libc::SYS_read, down.0, buf.as_mut_ptr(), buf.len()),
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
        s.ok(write_all(up.1, &msg), "send the checksum back")?;
        Ok(())
    });
    let _ = close(down.0);
    let _ = close(up.1);
    // Writes of assorted sizes, some larger than the pipe.
    let sizes = [1usize, 4095, 4096, 4097, 65537, 100_000, 333];
    let (mut off, mut i) = (0usize, 0usize);
    let mut werr = None;
    while off < TOTAL {
        let n = sizes[i % sizes.len()].min(TOTAL - off);
        if let Err(e) = write_all(down.1, &data[off..off + n]) {
            werr = Some(e);
            break;
        }
        off += n;
        i += 1;
    }
    let _ = close(down.1);
    r.check("transfer_4mib_write", werr.is_none(), || {
        format!("write failed at {off} with {}", errname(werr.unwrap_or(0)))
    });
    let back = read(up.0, 16);
    let _ = close(up.0);
    r.child_ok("transfer_4mib_child", pid);
    let got = back.as_ref().ok().filter(|b| b.len() == 16).map(|b| {
        (
            u64::from_ne_bytes(b[..8].try_into().unwrap_or_default()),
            u64::from_ne_bytes(b[8..].try_into().unwrap_or_default()),
        )
    });
    r.eq("transfer_4mib_checksum", got, Some((want, TOTAL as u64)));
}

fn polling(r: &mut Report) {
    let Ok(p) = pipe() else {
        r.fail("poll_setup", "pipe failed");
        return;
    };
    let (pin, pout) = (libc::POLLIN, libc::POLLOUT);
    r.eq(
        "poll_empty_timeout_0",
        poll(&[(p.0, pin)], 0),
        Ok((0, vec![0])),
    );
    r.eq(
        "poll_pollout_empty_pipe",
        poll(&[(p.1, pout)], 0),
        Ok((1, vec![pout])),
    );
    let _ = write(p.1, b"x");
    r.eq(
        "poll_pollin_data",
        poll(&[(p.0, pin)], 0),
        Ok((1, vec![pin])),
    );
    r.eq(
        "poll_two_ready",
        poll(&[(p.0, pin), (p.1, pout)], 0),
        Ok((2, vec![pin, pout])),
    );
    let _ = close(p.1);
    r.eq(
        "poll_pollin_pollhup_with_data",
        poll(&[(p.0, pin)], 0),
        Ok((1, vec![pin | libc::POLLHUP])),
    );
    let _ = read(p.0, 10);
    r.eq(
        "poll_pollhup_read_end",
        poll(&[(p.0, pin)], 0),
        Ok((1, vec![libc::POLLHUP])),
    );
    let _ = close(p.0);
    if let Ok(q) = pipe() {
        let _ = close(q.0);
        r.eq(
            "poll_pollerr_write_end",
            poll(&[(q.1, pout)], 0),
            Ok((1, vec![pout | libc::POLLERR])),
        );
        let _ = close(q.1);
        r.eq(
            "poll_pollnval_closed_fd",
            poll(&[(q.1, pin)], 0),
            Ok((1, vec![libc::POLLNVAL])),
        );
    }
    if let Ok(q) = pipe() {
        r.eq(
            "poll_negative_fd_ignored",
            poll(&[(-1, pin), (q.1, pout)], 0),
            Ok((1, vec![0, pout])),
        );
        let t0 = mono_ns();
        let got = poll(&[(q.0, pin)], 50);
        let dt = mono_ns() - t0;
        r.check(
            "poll_timeout_50ms",
            got == Ok((0, vec![0])) && (49 * MS..2000 * MS).contains(&dt),
            || format!("poll {got:?} after {} ms", dt / MS),
        );
        let t0 = mono_ns();
        let pid = spawn(|| {
            sleep_ms(50);
            if write(q.1, b"w") == Ok(1) { 0 } else { 1 }
        });
        let got = poll(&[(q.0, pin)], 5000);
        let dt = mono_ns() - t0;
        r.check(
            "poll_wakes_on_write",
            got == Ok((1, vec![pin])) && (45 * MS..4000 * MS).contains(&dt),
            || format!("poll {got:?} after {} ms", dt / MS),
        );
        r.child_ok("poll_wake_writer_child", pid);
        close2(q);
    }
}

fn selecting(r: &mut Report) {
    let Ok(p) = pipe() else {
        r.fail("select_setup", "pipe failed");
        return;
    };
    let nfds = p.0.max(p.1) + 1;
    let got = select(nfds, &[p.0], &[], Some(0));
    r.check(
        "select_empty_timeout_0",
        matches!(&got, Ok((0, rs, _, _)) if !isset(p.0, rs)),
        || {
            format!(
                "select {}",
                show(&got.as_ref().map(|g| g.0).map_err(|e| *e))
            )
        },
    );
    let got = select(nfds, &[], &[p.1], Some(0));
    r.check(
        "select_writable",
        matches!(&got, Ok((1, _, ws, _)) if isset(p.1, ws)),
        || {
            format!(
                "select {}",
                show(&got.as_ref().map(|g| g.0).map_err(|e| *e))
            )
        },
    );
    let _ = write(p.1, b"x");
    let got = select(nfds, &[p.0], &[], Some(0));
    r.check(
        "select_readable",
        matches!(&got, Ok((1, rs, _, _)) if isset(p.0, rs)),
        || {
            format!(
                "select {}",
                show(&got.as_ref().map(|g| g.0).map_err(|e| *e))
            )
        },
    );
    let got = select(nfds, &[p.0], &[p.1], None);
    r.check(
        "select_counts_both_sets",
        matches!(&got, Ok((2, rs, ws, _)) if isset(p.0, rs) && isset(p.1, ws)),
        || {
            format!(
                "select {}",
                show(&got.as_ref().map(|g| g.0).map_err(|e| *e))
            )
        },
    );
    let _ = read(p.0, 10);
    r.err(
        "select_negative_nfds_einval",
        select(-1, &[], &[], Some(0)),
        libc::EINVAL,
    );
    let t0 = mono_ns();
    let got = select(nfds, &[p.0], &[], Some(50_000));
    let dt = mono_ns() - t0;
    r.check(
        "select_timeout_50ms",
        matches!(&got, Ok((0, rs, _, Some(tv))) if !isset(p.0, rs) && tv.tv_sec == 0 && tv.tv_usec == 0)
            && (49 * MS..2000 * MS).contains(&dt),
        || {
            format!(
                "select {} after {} ms",
                show(&got.as_ref().map(|g| g.0).map_err(|e| *e)),
                dt / MS
            )
        },
    );
    let _ = close(p.1);
    let got = select(nfds, &[p.0], &[], Some(0));
    r.check(
        "select_eof_readable",
        matches!(&got, Ok((1, rs, _, _)) if isset(p.0, rs)),
        || {
            format!(
                "select {}",
                show(&got.as_ref().map(|g| g.0).map_err(|e| *e))
            )
        },
    );
    r.err(
        "select_closed_fd_ebadf",
        select(nfds, &[p.1], &[], Some(0)),
        libc::EBADF,
    );
    let _ = close(p.0);
}

fn fifos(r: &mut Report) {
    let c = cs("fifo");
    let m = sc!(libc::SYS_mknod, c.as_ptr(), libc::S_IFIFO | 0o600, 0);
    if m.is_err() {
        r.fail("fifo_setup", format!("mknod {}", show(&m)));
        return;
    }
    let rd = open("fifo", libc::O_RDONLY | libc::O_NONBLOCK);
    r.okv("fifo_open_read_nonblock_no_writer", rd);
    let wr = open("fifo", libc::O_WRONLY | libc::O_NONBLOCK);
    r.okv("fifo_open_write_nonblock_with_reader", wr);
    let w = wr.and_then(|w| write(w, b"ff"));
    let got = rd.and_then(|r| read(r, 10));
    r.check(
        "fifo_data",
        w == Ok(2) && got.as_deref() == Ok(&b"ff"[..]),
        || format!("write {}, read {got:?}", show(&w)),
    );
    for f in [rd, wr].into_iter().flatten() {
        let _ = close(f);
    }
    r.err(
        "fifo_open_write_nonblock_no_reader_enxio",
        open("fifo", libc::O_WRONLY | libc::O_NONBLOCK),
        libc::ENXIO,
    );
    // A blocking open for reading waits for a writer.
    let t0 = mono_ns();
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_pipe fifo writer child");
        sleep_ms(50);
        let w = s.ok(open("fifo", libc::O_WRONLY), "open the FIFO for writing")?;
        s.eq(write(w, b"hi"), Ok(2), "write to the FIFO")?;
        Ok(())
    });
    let rd = open("fifo", libc::O_RDONLY);
    let dt = mono_ns() - t0;
    let got = rd.and_then(|r| read(r, 10));
    r.check(
        "fifo_open_blocks_for_writer",
        rd.is_ok() && dt >= 45 * MS,
        || format!("open {} after {} ms", show(&rd), dt / MS),
    );
    r.eq("fifo_blocking_data", got, Ok(b"hi".to_vec()));
    r.child_ok("fifo_writer_child", pid);
    if let Ok(f) = rd {
        let _ = close(f);
    }
}

fn main() {
    let mut r = Report::new("t_pipe");
    // SAFETY: setting a signal's disposition to SIG_IGN installs no handler.
    let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    if old == libc::SIG_ERR {
        r.fail("sigpipe_ignore", "signal(SIGPIPE, SIG_IGN) failed");
        r.finish();
    }
    // SAFETY: cannot fail.
    let pid = unsafe { libc::getpid() };
    let dir = format!("/tmp/t_pipe.{pid}");
    rm_rf(&dir);
    let c = cs(&dir);
    let made =
        sc!(libc::SYS_mkdir, c.as_ptr(), 0o755).and_then(|_| sc!(libc::SYS_chdir, c.as_ptr()));
    if let Err(e) = made {
        r.fail("setup", format!("mkdir/chdir {dir}: {}", errname(e)));
        r.finish();
    }
    creation(&mut r);
    basics(&mut r);
    blocking(&mut r);
    nonblocking(&mut r);
    atomic(&mut r);
    transfer(&mut r);
    polling(&mut r);
    selecting(&mut r);
    fifos(&mut r);
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
