//! t_pty: Unix98 pseudo-terminals as a simple pty driver with the N_TTY line discipline must
//! provide them — opening `/dev/ptmx`, TIOCGPTN, the slave `/dev/pts/N` (a character device that
//! refuses to open with EIO while locked, and opens after TIOCSPTLCK 0), TCGETS on both sides and
//! the default termios, canonical input (one line per read, echo with ONLCR, VERASE, VEOF), output
//! processing (ONLCR), raw input (ICANON and ECHO cleared, VMIN 1), the window size set on the
//! master and read on the slave, VINTR sending SIGINT to the foreground process group of a forked
//! session leader whose controlling terminal the slave is, and the slave after the master is
//! closed (read gives end of file, write fails with EIO).
//!
//! Every pty is opened with O_NOCTTY in this process, so it never gets a controlling terminal and
//! a hangup can never signal it; each group of checks takes a fresh master/slave pair and closes
//! it. Reads are always preceded by a poll with a timeout, so missing bytes fail a check instead
//! of hanging the program, and the one child that is meant to block is killed after a deadline if
//! VINTR does not kill it. The pty number is never printed on an `ok` line. The ISIG child sets
//! SIGINT to SIG_DFL and unblocks it first (a shell may start background jobs with SIGINT
//! ignored). termios is handled in the kernel's own `struct termios` layout (36 bytes, 19 control
//! characters), not libc's.
//!
//! Packet mode, TIOCSTI and job-control signals other than SIGINT are not covered.

use libc::{c_int, c_long, c_short, pid_t};
use std::ffi::CString;
use usertests::{
    Report, Steps, errname, mono_ns, reap, require_root, sc, show, show_status, sleep_ms,
    spawn_steps, waitpid,
};

const MS: u64 = 1_000_000;

// ioctl requests on x86-64 (asm-generic/ioctls.h).
const TCGETS: c_long = 0x5401;
const TCSETS: c_long = 0x5402;
const TIOCSCTTY: c_long = 0x540E;
const TIOCGPGRP: c_long = 0x540F;
const TIOCSPGRP: c_long = 0x5410;
const TIOCGWINSZ: c_long = 0x5413;
const TIOCSWINSZ: c_long = 0x5414;
const TIOCGPTN: c_long = 0x8004_5430;
const TIOCSPTLCK: c_long = 0x4004_5431;

// termios bits and control-character indices (asm-generic/termbits.h).
const ICANON: u32 = 0o000002;
const ISIG: u32 = 0o000001;
const ECHO: u32 = 0o000010;
const OPOST: u32 = 0o000001;
const ONLCR: u32 = 0o000004;
const VINTR: usize = 0;
const VERASE: usize = 2;
const VEOF: usize = 4;
const VTIME: usize = 5;
const VMIN: usize = 6;

/// The kernel's `struct termios` (what TCGETS/TCSETS transfer).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct KTermios {
    iflag: u32,
    oflag: u32,
    cflag: u32,
    lflag: u32,
    line: u8,
    cc: [u8; 19],
}

/// The kernel's `struct winsize`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Winsize {
    row: u16,
    col: u16,
    xpixel: u16,
    ypixel: u16,
}

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

/// poll(2) on one fd for `events`; returns poll's result and revents.
fn poll1(fd: c_int, events: c_short, timeout_ms: c_int) -> Result<(c_long, c_short), c_int> {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0x5a5a,
    };
    let n = sc!(libc::SYS_poll, &mut p as *mut libc::pollfd, 1, timeout_ms)?;
    Ok((n, p.revents))
}

fn tcgets(fd: c_int) -> Result<KTermios, c_int> {
    let mut t = KTermios::default();
    sc!(libc::SYS_ioctl, fd, TCGETS, &mut t as *mut KTermios).map(|_| t)
}

fn tcsets(fd: c_int, t: &KTermios) -> Result<c_long, c_int> {
    sc!(libc::SYS_ioctl, fd, TCSETS, t as *const KTermios)
}

fn bytes(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}

/// Waits (poll, 1 s at most each time) for input on `fd` and reads until `want` bytes have come,
/// end of file, an error or a timeout; returns everything read (an error only if nothing was).
fn collect(fd: c_int, want: usize) -> Result<Vec<u8>, c_int> {
    let mut all = Vec::new();
    while all.len() < want {
        match poll1(fd, libc::POLLIN, 1000) {
            Ok((0, _)) => break,
            Ok(_) => {}
            Err(e) if all.is_empty() => return Err(e),
            Err(_) => break,
        }
        match read(fd, 256) {
            Ok(v) if v.is_empty() => break,
            Ok(v) => all.extend_from_slice(&v),
            Err(e) if all.is_empty() => return Err(e),
            Err(_) => break,
        }
    }
    Ok(all)
}

/// Opens a master, returning it with its pty number (locked, as Linux leaves a new pty).
fn open_master() -> Result<(c_int, u32), c_int> {
    let m = open("/dev/ptmx", libc::O_RDWR | libc::O_NOCTTY)?;
    let mut n: u32 = u32::MAX;
    match sc!(libc::SYS_ioctl, m, TIOCGPTN, &mut n as *mut u32) {
        Ok(_) => Ok((m, n)),
        Err(e) => {
            let _ = close(m);
            Err(e)
        }
    }
}

fn unlock(m: c_int) -> Result<c_long, c_int> {
    let zero: c_int = 0;
    sc!(libc::SYS_ioctl, m, TIOCSPTLCK, &zero as *const c_int)
}

/// A fresh, unlocked master/slave pair (both O_NOCTTY); fails `<tag>_setup` if it cannot be had.
fn pair(r: &mut Report, tag: &str) -> Option<(c_int, c_int)> {
    let got = open_master().and_then(|(m, n)| {
        let s =
            unlock(m).and_then(|_| open(&format!("/dev/pts/{n}"), libc::O_RDWR | libc::O_NOCTTY));
        if s.is_err() {
            let _ = close(m);
        }
        s.map(|s| (m, s))
    });
    match got {
        Ok(p) => Some(p),
        Err(e) => {
            r.fail(&format!("{tag}_setup"), format!("pty pair: {}", errname(e)));
            None
        }
    }
}

fn close2((m, s): (c_int, c_int)) {
    let _ = close(s);
    let _ = close(m);
}

/// Items 1 and 2: opening, locking, the slave node, TCGETS and the default termios.
fn opening(r: &mut Report) {
    let m = open("/dev/ptmx", libc::O_RDWR | libc::O_NOCTTY);
    let Some(m) = r.okv("ptmx_open", m) else {
        return;
    };
    let mut n: u32 = u32::MAX;
    let got = sc!(libc::SYS_ioctl, m, TIOCGPTN, &mut n as *mut u32);
    r.check("tiocgptn", got == Ok(0) && n != u32::MAX, || {
        format!("ioctl {}, number {n}", show(&got))
    });
    let path = format!("/dev/pts/{n}");
    let c = cs(&path);
    // SAFETY: plain data, filled by the kernel.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let got = sc!(libc::SYS_stat, c.as_ptr(), &mut st as *mut libc::stat);
    r.check(
        "slave_node_is_chardev",
        got == Ok(0) && st.st_mode & libc::S_IFMT == libc::S_IFCHR,
        || format!("stat {path}: {}, mode {:#o}", show(&got), st.st_mode),
    );
    let locked = open(&path, libc::O_RDWR | libc::O_NOCTTY);
    r.err("slave_open_locked_eio", locked, libc::EIO);
    if let Ok(fd) = locked {
        let _ = close(fd);
    }
    r.okv("tiocsptlck_unlock", unlock(m));
    let s = open(&path, libc::O_RDWR | libc::O_NOCTTY);
    let Some(s) = r.okv("slave_open_unlocked", s) else {
        let _ = close(m);
        return;
    };

    let st = tcgets(s);
    r.okv("slave_tcgets_isatty", st);
    let mt = tcgets(m);
    r.okv("master_tcgets", mt);
    if let Ok(nul) = open("/dev/null", libc::O_RDWR) {
        r.err("devnull_tcgets_enotty", tcgets(nul), libc::ENOTTY);
        let _ = close(nul);
    } else {
        r.fail("devnull_tcgets_enotty", "cannot open /dev/null");
    }
    let t = st.unwrap_or_default();
    for (name, bit) in [("isig", ISIG), ("icanon", ICANON), ("echo", ECHO)] {
        r.check(&format!("default_lflag_{name}"), t.lflag & bit != 0, || {
            format!("c_lflag {:#o}", t.lflag)
        });
    }
    r.check(
        "default_oflag_opost_onlcr",
        t.oflag & (OPOST | ONLCR) == OPOST | ONLCR,
        || format!("c_oflag {:#o}", t.oflag),
    );
    r.eq(
        "default_cc_intr_erase_eof",
        (t.cc[VINTR], t.cc[VERASE], t.cc[VEOF]),
        (0x03, 0x7f, 0x04),
    );
    // On Linux the termios ioctls on a master act on its slave's termios.
    r.eq(
        "master_tcgets_is_slave_termios",
        mt.map(|t| (t.iflag, t.oflag, t.lflag, t.cc)),
        st.map(|t| (t.iflag, t.oflag, t.lflag, t.cc)),
    );
    let _ = close(s);
    let _ = close(m);
}

/// Items 3 and 4: a canonical line, its echo, one line per read, and output processing.
fn canonical(r: &mut Report) {
    let Some((m, s)) = pair(r, "canon") else {
        return;
    };
    r.eq("canon_master_write", write(m, b"hello\n"), Ok(6));
    r.eq(
        "canon_slave_pollin",
        poll1(s, libc::POLLIN, 1000),
        Ok((1, libc::POLLIN)),
    );
    r.eq(
        "canon_slave_reads_line",
        read(s, 64).map(|v| bytes(&v)),
        Ok(bytes(b"hello\n")),
    );
    r.eq(
        "canon_echo_onlcr",
        collect(m, 7).map(|v| bytes(&v)),
        Ok(bytes(b"hello\r\n")),
    );
    let w = write(m, b"ab\ncd\n");
    let _ = poll1(s, libc::POLLIN, 1000);
    let first = read(s, 64).map(|v| bytes(&v));
    let _ = poll1(s, libc::POLLIN, 1000);
    let second = read(s, 64).map(|v| bytes(&v));
    r.check(
        "canon_one_line_per_read",
        w == Ok(6) && first == Ok(bytes(b"ab\n")) && second == Ok(bytes(b"cd\n")),
        || format!("write {}, reads {first:?} then {second:?}", show(&w)),
    );
    r.eq(
        "canon_echo_two_lines",
        collect(m, 8).map(|v| bytes(&v)),
        Ok(bytes(b"ab\r\ncd\r\n")),
    );
    r.eq("output_slave_write", write(s, b"out\n"), Ok(4));
    r.eq(
        "output_onlcr_on_master",
        collect(m, 5).map(|v| bytes(&v)),
        Ok(bytes(b"out\r\n")),
    );
    r.eq(
        "output_not_echoed_to_slave",
        poll1(s, libc::POLLIN, 0),
        Ok((0, 0)),
    );
    close2((m, s));
}

/// Item 5: VERASE removes the previous character of the line.
fn erase(r: &mut Report) {
    let Some((m, s)) = pair(r, "erase") else {
        return;
    };
    let w = write(m, b"abc\x7fd\n");
    let got = collect(s, 4).map(|v| bytes(&v));
    r.check(
        "erase_verase",
        w == Ok(6) && got == Ok(bytes(b"abd\n")),
        || format!("write {}, slave read {got:?}", show(&w)),
    );
    close2((m, s));
}

/// Item 6: VEOF at the start of a line makes a read return 0; the next line still arrives.
fn eof(r: &mut Report) {
    let Some((m, s)) = pair(r, "eof") else {
        return;
    };
    r.eq("eof_master_write", write(m, b"\x04"), Ok(1));
    r.eq(
        "eof_slave_pollin",
        poll1(s, libc::POLLIN, 1000),
        Ok((1, libc::POLLIN)),
    );
    r.eq(
        "eof_read_zero",
        read(s, 64).map(|v| bytes(&v)),
        Ok(String::new()),
    );
    let w = write(m, b"z\n");
    let got = collect(s, 2).map(|v| bytes(&v));
    r.check(
        "eof_then_next_line",
        w == Ok(2) && got == Ok(bytes(b"z\n")),
        || format!("write {}, slave read {got:?}", show(&w)),
    );
    close2((m, s));
}

/// Item 7: non-canonical input without echo.
fn raw(r: &mut Report) {
    let Some((m, s)) = pair(r, "raw") else {
        return;
    };
    let mut t = tcgets(s).unwrap_or_default();
    t.lflag &= !(ICANON | ECHO);
    t.cc[VMIN] = 1;
    t.cc[VTIME] = 0;
    r.okv("raw_tcsets", tcsets(s, &t));
    let back = tcgets(s);
    r.check(
        "raw_tcgets_reads_back",
        matches!(back, Ok(b) if b.lflag & (ICANON | ECHO) == 0 && b.lflag & ISIG != 0
            && b.cc[VMIN] == 1 && b.cc[VTIME] == 0),
        || format!("tcgets {back:?}"),
    );
    r.eq(
        "raw_master_tcgets_sees_it",
        tcgets(m).map(|b| b.lflag),
        back.map(|b| b.lflag),
    );
    r.eq("raw_master_write", write(m, b"xy"), Ok(2));
    r.eq(
        "raw_bytes_without_newline",
        collect(s, 2).map(|v| bytes(&v)),
        Ok(bytes(b"xy")),
    );
    r.eq("raw_no_echo", poll1(m, libc::POLLIN, 20), Ok((0, 0)));
    close2((m, s));
}

/// Item 8: the window size set on the master is the slave's.
fn winsize(r: &mut Report) {
    let Some((m, s)) = pair(r, "winsize") else {
        return;
    };
    let mut w = Winsize {
        row: 0xffff,
        col: 0xffff,
        xpixel: 0xffff,
        ypixel: 0xffff,
    };
    let got = sc!(libc::SYS_ioctl, s, TIOCGWINSZ, &mut w as *mut Winsize).map(|_| w);
    r.eq("winsize_default_zero", got, Ok(Winsize::default()));
    let set = Winsize {
        row: 33,
        col: 101,
        xpixel: 0,
        ypixel: 0,
    };
    r.okv(
        "winsize_set_on_master",
        sc!(libc::SYS_ioctl, m, TIOCSWINSZ, &set as *const Winsize),
    );
    let mut w = Winsize::default();
    let got = sc!(libc::SYS_ioctl, s, TIOCGWINSZ, &mut w as *mut Winsize).map(|_| w);
    r.eq("winsize_read_on_slave", got, Ok(set));
    close2((m, s));
}

/// Item 9: VINTR kills the foreground process group of the slave's session with SIGINT.
fn isig(r: &mut Report) {
    let (m, n) = match open_master() {
        Ok(v) => v,
        Err(e) => {
            r.fail("isig_setup", format!("master: {}", errname(e)));
            return;
        }
    };
    if let Err(e) = unlock(m) {
        r.fail("isig_setup", format!("unlock: {}", errname(e)));
        let _ = close(m);
        return;
    }
    let path = format!("/dev/pts/{n}");
    let mut p = [-1 as c_int; 2];
    if let Err(e) = sc!(libc::SYS_pipe, p.as_mut_ptr()) {
        r.fail("isig_setup", format!("pipe: {}", errname(e)));
        let _ = close(m);
        return;
    }
    let pid = spawn_steps(|| {
        let mut st = Steps::new("t_pty isig child");
        let _ = close(p[0]);
        let _ = close(m);
        // SAFETY: SIG_DFL installs no handler; the mask is a plain sigset.
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
        let sid = st.ok(sc!(libc::SYS_setsid), "setsid")? as pid_t;
        let s = st.ok(open(&path, libc::O_RDWR), "open the slave without O_NOCTTY")?;
        st.ok(sc!(libc::SYS_ioctl, s, TIOCSCTTY, 0), "TIOCSCTTY 0")?;
        let pg: pid_t = sid;
        st.ok(
            sc!(libc::SYS_ioctl, s, TIOCSPGRP, &pg as *const pid_t),
            "TIOCSPGRP own group",
        )?;
        let mut fg: pid_t = -1;
        st.ok(
            sc!(libc::SYS_ioctl, s, TIOCGPGRP, &mut fg as *mut pid_t),
            "TIOCGPGRP",
        )?;
        st.eq(fg, sid, "foreground process group")?;
        st.eq(write(p[1], b"r"), Ok(1), "tell the parent it is ready")?;
        let got = read(s, 64);
        st.t(false, || {
            format!("read on the slave returned {}", show(&got))
        })
    });
    let _ = close(p[1]);
    if pid < 0 {
        r.fail("isig_fork", errname(-pid));
        let _ = close(p[0]);
        let _ = close(m);
        return;
    }
    let ready = read(p[0], 1);
    let _ = close(p[0]);
    let is_ready = ready.as_deref() == Ok(&b"r"[..]);
    r.check("isig_child_ready", is_ready, || {
        format!("ready pipe read {ready:?} (see stderr)")
    });
    let w = if is_ready { write(m, b"\x03") } else { Ok(1) };
    r.eq("isig_master_write_vintr", w, Ok(1));
    // Wait at most 2 s, then kill the child so that a missing SIGINT fails instead of hanging.
    let t0 = mono_ns();
    let mut status = None;
    while mono_ns() - t0 < 2000 * MS {
        match waitpid(pid, libc::WNOHANG) {
            Ok((got, st)) if got == pid => {
                status = Some(Ok(st));
                break;
            }
            Ok(_) => sleep_ms(1),
            Err(e) => {
                status = Some(Err(e));
                break;
            }
        }
    }
    let status = status.unwrap_or_else(|| {
        // SAFETY: kills only the child this function forked.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let _ = reap(pid);
        Err(libc::ETIMEDOUT)
    });
    r.check(
        "isig_vintr_sigint",
        matches!(status, Ok(st) if libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == libc::SIGINT),
        || match status {
            Ok(st) => format!("child {}", show_status(st)),
            Err(libc::ETIMEDOUT) => "child still alive after 2 s (killed)".into(),
            Err(e) => format!("waitpid: {}", errname(e)),
        },
    );
    let _ = close(m);
}

/// Item 10: the slave after its master is closed.
fn hangup(r: &mut Report) {
    let Some((m, s)) = pair(r, "hangup") else {
        return;
    };
    r.okv("hangup_close_master", close(m));
    let pl = poll1(s, libc::POLLIN, 1000);
    let got = read(s, 64).map(|v| bytes(&v));
    r.check("hangup_slave_read_eof", got == Ok(String::new()), || {
        format!("poll {pl:?}, read {}", show(&got))
    });
    r.err("hangup_slave_write_eio", write(s, b"x"), libc::EIO);
    let _ = close(s);
}

/// A background process group reading the terminal is stopped by SIGTTIN: a child makes the
/// pty its controlling terminal (its group in the foreground) and forks a grandchild into
/// another group, which reads the slave; the child sees it stop with SIGTTIN.
fn ttin(r: &mut Report) {
    let (m, n) = match open_master() {
        Ok(v) => v,
        Err(e) => {
            r.fail(
                "ttin_stops_background_reader",
                format!("master: {}", errname(e)),
            );
            return;
        }
    };
    let _ = unlock(m);
    let path = format!("/dev/pts/{n}");
    let pid = spawn_steps(|| {
        let mut st = Steps::new("t_pty ttin child");
        let _ = close(m);
        let sid = st.ok(sc!(libc::SYS_setsid), "setsid")? as pid_t;
        let s = st.ok(open(&path, libc::O_RDWR), "open the slave")?;
        st.ok(sc!(libc::SYS_ioctl, s, TIOCSCTTY, 0), "TIOCSCTTY 0")?;
        let pg: pid_t = sid;
        st.ok(
            sc!(libc::SYS_ioctl, s, TIOCSPGRP, &pg as *const pid_t),
            "TIOCSPGRP",
        )?;
        // SAFETY: the grandchild moves to its own group and reads the slave.
        let g = unsafe { libc::fork() };
        if g == 0 {
            // SAFETY: plain calls; default SIGTTIN stops the grandchild.
            unsafe {
                libc::setpgid(0, 0);
                libc::signal(libc::SIGTTIN, libc::SIG_DFL);
                let mut b = [0u8; 8];
                libc::read(s, b.as_mut_ptr().cast(), 8);
                libc::_exit(0);
            }
        }
        st.t(g > 0, || "fork".into())?;
        let w = usertests::waitpid(g, libc::WUNTRACED);
        // SAFETY: ends the stopped grandchild.
        unsafe { libc::kill(g, libc::SIGKILL) };
        let _ = usertests::waitpid(g, 0);
        st.t(
            w.is_ok_and(|(p, s)| {
                p == g && libc::WIFSTOPPED(s) && libc::WSTOPSIG(s) == libc::SIGTTIN
            }),
            || format!("grandchild {w:?}"),
        )
    });
    r.eq("ttin_stops_background_reader", reap(pid), Ok(0));
    let _ = close(m);
}

fn main() {
    let mut r = require_root(Report::new("t_pty"));
    opening(&mut r);
    canonical(&mut r);
    erase(&mut r);
    eof(&mut r);
    raw(&mut r);
    winsize(&mut r);
    isig(&mut r);
    ttin(&mut r);
    hangup(&mut r);
    r.finish()
}
