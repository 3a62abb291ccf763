//! Terminals: a line discipline instance per terminal (the serial console, each pseudo-terminal
//! slave). Input bytes go through `receive`, which applies termios: `^C`/`^\`/`^Z` become
//! SIGINT/SIGQUIT/SIGTSTP for the foreground process group (ISIG), carriage returns become
//! newlines (ICRNL), and in canonical mode (ICANON) a line is edited — erase, word erase, kill,
//! end-of-file — echoed (ECHO, ECHOE, ECHOCTL) and handed to readers only when complete.
//! Output gets `\n` → `\r\n` with OPOST|ONLCR. Where output goes (the UART, a pty master) is
//! the caller's `sink`. Readers sleep until data or an end-of-file mark is ready, or a signal
//! interrupts them, or the terminal is hung up.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use abi::errno::Errno;
use hal::sync::SpinLock;

use crate::sched::WaitQueue;

const RING: usize = 4096;
const LINE: usize = 4095;
pub const TERMIOS_SIZE: usize = 36; // struct termios as the kernel sees it (c_cc[19])

struct Ldisc {
    /// Input ready for readers.
    ring: [u8; RING],
    head: usize,
    len: usize,
    /// End-of-file marks (^D at the start of a line): each makes one read return 0.
    eofs: u32,
    /// The line being edited in canonical mode.
    line: [u8; LINE],
    line_len: usize,
}

impl Ldisc {
    fn push(&mut self, b: u8) {
        if self.len < RING {
            self.ring[(self.head + self.len) % RING] = b;
            self.len += 1;
        }
    }

    fn commit(&mut self) {
        for i in 0..self.line_len {
            let b = self.line[i];
            self.push(b);
        }
        self.line_len = 0;
    }
}

pub struct Tty {
    ld: SpinLock<Ldisc>,
    pub termios: SpinLock<[u8; TERMIOS_SIZE]>,
    winsize: SpinLock<[u8; 8]>,
    /// The foreground process group (0: none yet).
    pub foreground: AtomicU32,
    readers: WaitQueue,
    /// The other side is gone (a pty whose master closed): reads see EOF, writes EIO.
    pub hung_up: AtomicBool,
}

const ISIG: u32 = 0o1;
const ICANON: u32 = 0o2;
const ECHO: u32 = 0o10;
const ECHOE: u32 = 0o20;
const ECHOK: u32 = 0o40;
const ECHOCTL: u32 = 0o1000;
const IGNCR: u32 = 0o200;
const ICRNL: u32 = 0o400;
const INLCR: u32 = 0o100;
const OPOST: u32 = 0o1;
const ONLCR: u32 = 0o4;
const VINTR: usize = 0;
const VQUIT: usize = 1;
const VERASE: usize = 2;
const VKILL: usize = 3;
const VEOF: usize = 4;
const VSUSP: usize = 10;
const VWERASE: usize = 14;

fn flag(t: &[u8; TERMIOS_SIZE], i: usize) -> u32 {
    u32::from_le_bytes([t[i * 4], t[i * 4 + 1], t[i * 4 + 2], t[i * 4 + 3]])
}

/// Linux's defaults for a terminal: ICRNL|IXON, OPOST|ONLCR, B38400|CS8|CREAD|HUPCL,
/// ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN, and the usual control characters.
pub const fn default_termios() -> [u8; TERMIOS_SIZE] {
    let mut t = [0u8; TERMIOS_SIZE];
    let iflag: u32 = 0o400 | 0o2000;
    let oflag: u32 = 0o1 | 0o4;
    let cflag: u32 = 0o17 | 0o60 | 0o200 | 0o2000;
    let lflag: u32 = 0o1 | 0o2 | 0o10 | 0o20 | 0o40 | 0o1000 | 0o4000 | 0o100000;
    let fields = [iflag, oflag, cflag, lflag];
    let mut i = 0;
    while i < 4 {
        let b = fields[i].to_le_bytes();
        t[i * 4] = b[0];
        t[i * 4 + 1] = b[1];
        t[i * 4 + 2] = b[2];
        t[i * 4 + 3] = b[3];
        i += 1;
    }
    // c_line at 16, c_cc from 17 (Linux's indices): VINTR ^C, VQUIT ^\, VERASE DEL, VKILL ^U,
    // VEOF ^D, VTIME 0, VMIN 1, VSWTC, VSTART ^Q, VSTOP ^S, VSUSP ^Z, VEOL, VREPRINT ^R,
    // VDISCARD ^O, VWERASE ^W, VLNEXT ^V.
    let cc: [u8; 16] = [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22];
    let mut j = 0;
    while j < cc.len() {
        t[17 + j] = cc[j];
        j += 1;
    }
    t
}

const TCGETS: u32 = 0x5401;
const TCSETS: u32 = 0x5402;
const TCSETSW: u32 = 0x5403;
const TCSETSF: u32 = 0x5404;
const TIOCGWINSZ: u32 = 0x5413;
const TIOCSWINSZ: u32 = 0x5414;
const TIOCGPGRP: u32 = 0x540F;
const TIOCSPGRP: u32 = 0x5410;
const TIOCSCTTY: u32 = 0x540E;
const TIOCNOTTY: u32 = 0x5422;
const TCFLSH: u32 = 0x540B;
const TCXONC: u32 = 0x540A;
const TCSBRK: u32 = 0x5409;

impl Tty {
    pub const fn new(rows: u8, cols: u8) -> Tty {
        Tty {
            ld: SpinLock::new(Ldisc {
                ring: [0; RING],
                head: 0,
                len: 0,
                eofs: 0,
                line: [0; LINE],
                line_len: 0,
            }),
            termios: SpinLock::new(default_termios()),
            winsize: SpinLock::new([rows, 0, cols, 0, 0, 0, 0, 0]),
            foreground: AtomicU32::new(0),
            readers: WaitQueue::new(),
            hung_up: AtomicBool::new(false),
        }
    }

    fn lflag(&self) -> u32 {
        flag(&self.termios.lock(), 3)
    }

    /// Echo as the terminal shows it: control characters as ^X with ECHOCTL.
    fn echo(&self, lflag: u32, b: u8, sink: &dyn Fn(&[u8])) {
        if lflag & ECHO == 0 {
            return;
        }
        if lflag & ECHOCTL != 0 && (b < 0x20 && b != b'\n' && b != b'\t') {
            self.output(&[b'^', b + 0x40], sink);
        } else {
            self.output(&[b], sink);
        }
    }

    /// One input byte through the line discipline; `sink` takes echoes.
    pub fn receive(&self, mut b: u8, sink: &dyn Fn(&[u8])) {
        let t = *self.termios.lock();
        let (iflag, lflag) = (flag(&t, 0), flag(&t, 3));
        let cc = |i: usize| t[17 + i];
        if b == b'\r' {
            if iflag & IGNCR != 0 {
                return;
            }
            if iflag & ICRNL != 0 {
                b = b'\n';
            }
        } else if b == b'\n' && iflag & INLCR != 0 {
            b = b'\r';
        }
        if lflag & ISIG != 0 {
            let sig = if b == cc(VINTR) && b != 0 {
                Some(crate::proc::signal::SIGINT)
            } else if b == cc(VQUIT) && b != 0 {
                Some(crate::proc::signal::SIGQUIT)
            } else if b == cc(VSUSP) && b != 0 {
                Some(crate::proc::signal::SIGTSTP)
            } else {
                None
            };
            if let Some(sig) = sig {
                {
                    // The pending line and input go, as without NOFLSH on Linux.
                    let mut ld = self.ld.lock();
                    ld.line_len = 0;
                    ld.len = 0;
                }
                self.echo(lflag, b, sink);
                if lflag & ECHO != 0 {
                    self.output(b"\n", sink);
                }
                self.signal_foreground(sig);
                return;
            }
        }
        if lflag & ICANON == 0 {
            self.ld.lock().push(b);
            self.echo(lflag, b, sink);
            self.wake();
            return;
        }
        let mut ld = self.ld.lock();
        if b == cc(VERASE) || b == 8 {
            if ld.line_len > 0 {
                ld.line_len -= 1;
                drop(ld);
                if lflag & ECHO != 0 && lflag & ECHOE != 0 {
                    self.output(b"\x08 \x08", sink);
                }
            }
        } else if b == cc(VWERASE) && b != 0 {
            let mut n = ld.line_len;
            while n > 0 && ld.line[n - 1] == b' ' {
                n -= 1;
            }
            while n > 0 && ld.line[n - 1] != b' ' {
                n -= 1;
            }
            let gone = ld.line_len - n;
            ld.line_len = n;
            drop(ld);
            if lflag & ECHO != 0 && lflag & ECHOE != 0 {
                for _ in 0..gone {
                    self.output(b"\x08 \x08", sink);
                }
            }
        } else if b == cc(VKILL) && b != 0 {
            let gone = ld.line_len;
            ld.line_len = 0;
            drop(ld);
            if lflag & ECHO != 0 && lflag & ECHOK != 0 {
                for _ in 0..gone {
                    self.output(b"\x08 \x08", sink);
                }
            }
        } else if b == cc(VEOF) && b != 0 {
            if ld.line_len == 0 {
                ld.eofs += 1;
            } else {
                ld.commit();
            }
            drop(ld);
            self.wake();
        } else if b == b'\n' {
            if ld.line_len < LINE {
                let n = ld.line_len;
                ld.line[n] = b;
                ld.line_len += 1;
            }
            ld.commit();
            drop(ld);
            if lflag & ECHO != 0 {
                self.output(b"\n", sink);
            }
            self.wake();
        } else {
            if ld.line_len < LINE - 1 {
                let n = ld.line_len;
                ld.line[n] = b;
                ld.line_len += 1;
            }
            drop(ld);
            self.echo(lflag, b, sink);
        }
    }

    /// Readers and pollers may have something now.
    pub fn wake(&self) {
        self.readers.wake_all();
        crate::fs::pipe::POLL.wake_all();
    }

    /// Send `sig` to the foreground process group.
    fn signal_foreground(&self, sig: u32) {
        let fg = self.foreground.load(Ordering::Relaxed);
        if fg == 0 {
            return;
        }
        let mut seen = alloc::collections::BTreeSet::new();
        for p in crate::proc::all() {
            if seen.insert(p.pid) && p.pgid.load(Ordering::Relaxed) == fg {
                crate::proc::signal::send(
                    &p,
                    crate::proc::signal::SigInfo::user(sig, crate::proc::signal::SI_KERNEL, 0, 0),
                );
            }
        }
    }

    /// Job control for a process touching this terminal: a background process group reading
    /// (or writing, with TOSTOP) gets SIGTTIN (SIGTTOU) and the call restarts once it is
    /// continued; if the signal is ignored or blocked, a read fails with EIO and a write goes
    /// ahead, as on Linux.
    pub fn job_check(&self, p: &crate::proc::Process, write: bool) -> Result<(), Errno> {
        use crate::proc::signal;
        const TOSTOP: u32 = 0o400;
        let fg = self.foreground.load(Ordering::Relaxed);
        let pgid = p.pgid.load(Ordering::Relaxed);
        if fg == 0 || pgid == fg || (write && self.lflag() & TOSTOP == 0) {
            return Ok(());
        }
        let sig = if write {
            signal::SIGTTOU
        } else {
            signal::SIGTTIN
        };
        let a = signal::action(p, sig);
        if a.handler == signal::SIG_IGN || signal::mask() & signal::bit(sig) != 0 {
            return if write { Ok(()) } else { Err(Errno::EIO) };
        }
        let mut seen = alloc::collections::BTreeSet::new();
        for q in crate::proc::all() {
            if seen.insert(q.pid) && q.pgid.load(Ordering::Relaxed) == pgid {
                signal::send(&q, signal::SigInfo::user(sig, signal::SI_KERNEL, 0, 0));
            }
        }
        Err(Errno::ERESTARTSYS)
    }

    /// Whether a read would not block (poll).
    pub fn has_input(&self) -> bool {
        let ld = self.ld.lock();
        ld.len > 0 || ld.eofs > 0 || self.hung_up.load(Ordering::Relaxed)
    }

    /// Output with the processing termios asks for, to `sink`.
    pub fn output(&self, bytes: &[u8], sink: &dyn Fn(&[u8])) {
        let oflag = flag(&self.termios.lock(), 1);
        if oflag & OPOST != 0 && oflag & ONLCR != 0 {
            for part in bytes.split_inclusive(|&b| b == b'\n') {
                match part.strip_suffix(b"\n") {
                    Some(body) => {
                        sink(body);
                        sink(b"\r\n");
                    }
                    None => sink(part),
                }
            }
        } else {
            sink(bytes);
        }
    }

    /// Block until input is ready, then return it (in canonical mode at most one line; 0 for
    /// an end-of-file mark or a hung-up terminal). `ERESTARTSYS` if a signal arrives first.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let canonical = self.lflag() & ICANON != 0;
        self.readers.wait_until(|| {
            let mut ld = self.ld.lock();
            if ld.len > 0 {
                let mut n = 0;
                while n < buf.len() && ld.len > 0 {
                    let b = ld.ring[ld.head];
                    ld.head = (ld.head + 1) % RING;
                    ld.len -= 1;
                    buf[n] = b;
                    n += 1;
                    if canonical && b == b'\n' {
                        break;
                    }
                }
                return Some(Ok(n));
            }
            if ld.eofs > 0 {
                ld.eofs -= 1;
                return Some(Ok(0));
            }
            drop(ld);
            if self.hung_up.load(Ordering::Relaxed) {
                return Some(Ok(0));
            }
            crate::sched::signal_wakeup().then_some(Err(Errno::ERESTARTSYS))
        })
    }

    /// Raw input, no echo, no signals (the boot monitor reads bytes and echoes itself).
    pub fn set_raw(&self) {
        let mut t = self.termios.lock();
        let lflag = flag(&t, 3) & !(ICANON | ECHO | ISIG);
        t[12..16].copy_from_slice(&lflag.to_le_bytes());
    }

    pub fn set_winsize(&self, w: [u8; 8]) {
        *self.winsize.lock() = w;
    }

    /// The terminal ioctls.
    pub fn ioctl(&self, t: &crate::proc::task::Task, cmd: u32, arg: u64) -> crate::syscall::Result {
        match cmd {
            TCGETS => {
                let v = *self.termios.lock();
                t.write_user(arg, &v)?;
            }
            TCSETS | TCSETSW | TCSETSF => {
                let mut v = [0u8; TERMIOS_SIZE];
                t.read_user(arg, &mut v)?;
                *self.termios.lock() = v;
                if cmd == TCSETSF {
                    let mut ld = self.ld.lock();
                    ld.len = 0;
                    ld.line_len = 0;
                }
            }
            TIOCGWINSZ => {
                let v = *self.winsize.lock();
                t.write_user(arg, &v)?;
            }
            TIOCSWINSZ => {
                let mut v = [0u8; 8];
                t.read_user(arg, &mut v)?;
                self.set_winsize(v);
            }
            TIOCGPGRP => {
                let fg = self.foreground.load(Ordering::Relaxed);
                let pg = if fg != 0 {
                    fg
                } else {
                    t.proc.pgid.load(Ordering::Relaxed)
                };
                t.write_user(arg, &pg.to_le_bytes())?;
            }
            TIOCSPGRP => {
                let mut b = [0u8; 4];
                t.read_user(arg, &mut b)?;
                let pg = i32::from_le_bytes(b);
                if pg <= 0 {
                    return Err(Errno::EINVAL);
                }
                self.foreground.store(pg as u32, Ordering::Relaxed);
            }
            // The caller's group becomes the foreground one (its session's terminal).
            TIOCSCTTY => self
                .foreground
                .store(t.proc.pgid.load(Ordering::Relaxed), Ordering::Relaxed),
            TIOCNOTTY | TCXONC | TCSBRK => {}
            TCFLSH => {
                if arg != 1 {
                    let mut ld = self.ld.lock();
                    ld.len = 0;
                    ld.line_len = 0;
                }
            }
            _ => return Err(Errno::ENOTTY),
        }
        Ok(0)
    }
}
