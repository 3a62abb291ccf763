//! The console TTY: the serial port with a line discipline. Input bytes are drained from the
//! UART by the `tty` kernel thread (woken by the receive interrupt), which applies the termios
//! settings programs chose: `^C`/`^\\`/`^Z` become SIGINT/SIGQUIT/SIGTSTP for the foreground
//! process group (ISIG), carriage returns become newlines (ICRNL), and in canonical mode
//! (ICANON) a line is edited — erase, word erase, kill, end-of-file — echoed (ECHO, ECHOE,
//! ECHOCTL) and handed to readers only when complete. Output gets `\\n` → `\\r\\n` (OPOST|ONLCR).
//! Readers sleep until data (or an end-of-file mark) is ready, or a signal interrupts them.

use abi::errno::Errno;
use hal::sync::SpinLock;

use crate::sched::WaitQueue;

/// Woken by the receive interrupt: the tty thread has bytes to take.
static INPUT: WaitQueue = WaitQueue::new();
/// Readers waiting for processed input.
static READERS: WaitQueue = WaitQueue::new();

const RING: usize = 4096;
const LINE: usize = 4095;

struct Tty {
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

static TTY: SpinLock<Tty> = SpinLock::new(Tty {
    ring: [0; RING],
    head: 0,
    len: 0,
    eofs: 0,
    line: [0; LINE],
    line_len: 0,
});

impl Tty {
    fn push(&mut self, b: u8) {
        if self.len < RING {
            self.ring[(self.head + self.len) % RING] = b;
            self.len += 1;
        }
    }
}

/// Called from the serial interrupt after bytes arrived.
pub fn input_arrived() {
    INPUT.wake_all();
}

/// Start the thread that runs the line discipline (at boot, before init or the monitor).
pub fn start() {
    if crate::sched::Thread::spawn("tty", tty_thread).is_none() {
        log::error!("console: cannot start the tty thread; console input will not work");
    }
}

fn tty_thread() {
    loop {
        INPUT.wait_until(|| hal::serial::has_input().then_some(()));
        while let Some(b) = hal::serial::read_byte() {
            receive(b);
        }
        READERS.wake_all();
        crate::fs::pipe::POLL.wake_all();
    }
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

/// Echo as the terminal shows it: control characters as ^X with ECHOCTL.
fn echo_char(lflag: u32, b: u8) {
    if lflag & ECHO == 0 {
        return;
    }
    if lflag & ECHOCTL != 0 && (b < 0x20 && b != b'\n' && b != b'\t') {
        write(&[b'^', b + 0x40]);
    } else {
        write(&[b]);
    }
}

/// One input byte through the line discipline.
fn receive(mut b: u8) {
    let t = *TERMIOS.lock();
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
                let mut tty = TTY.lock();
                tty.line_len = 0;
                tty.len = 0;
            }
            echo_char(lflag, b);
            if lflag & ECHO != 0 {
                write(b"\n");
            }
            signal_foreground(sig);
            return;
        }
    }
    if lflag & ICANON == 0 {
        TTY.lock().push(b);
        echo_char(lflag, b);
        return;
    }
    let mut tty = TTY.lock();
    if b == cc(VERASE) || b == 8 {
        if tty.line_len > 0 {
            tty.line_len -= 1;
            drop(tty);
            if lflag & ECHO != 0 && lflag & ECHOE != 0 {
                write(b"\x08 \x08");
            }
        }
    } else if b == cc(VWERASE) && b != 0 {
        let mut n = tty.line_len;
        while n > 0 && tty.line[n - 1] == b' ' {
            n -= 1;
        }
        while n > 0 && tty.line[n - 1] != b' ' {
            n -= 1;
        }
        let gone = tty.line_len - n;
        tty.line_len = n;
        drop(tty);
        if lflag & ECHO != 0 && lflag & ECHOE != 0 {
            for _ in 0..gone {
                write(b"\x08 \x08");
            }
        }
    } else if b == cc(VKILL) && b != 0 {
        let gone = tty.line_len;
        tty.line_len = 0;
        drop(tty);
        if lflag & ECHO != 0 && lflag & ECHOK != 0 {
            for _ in 0..gone {
                write(b"\x08 \x08");
            }
        }
    } else if b == cc(VEOF) && b != 0 {
        if tty.line_len == 0 {
            tty.eofs += 1;
        } else {
            commit(&mut tty);
        }
    } else if b == b'\n' {
        if tty.line_len < LINE {
            let n = tty.line_len;
            tty.line[n] = b;
            tty.line_len += 1;
        }
        commit(&mut tty);
        drop(tty);
        if lflag & ECHO != 0 {
            write(b"\n");
        }
    } else {
        if tty.line_len < LINE - 1 {
            let n = tty.line_len;
            tty.line[n] = b;
            tty.line_len += 1;
        }
        drop(tty);
        echo_char(lflag, b);
    }
}

/// Hand the edited line to readers.
fn commit(tty: &mut Tty) {
    for i in 0..tty.line_len {
        let b = tty.line[i];
        tty.push(b);
    }
    tty.line_len = 0;
}

/// Send `sig` to the foreground process group.
fn signal_foreground(sig: u32) {
    let fg = FOREGROUND.load(core::sync::atomic::Ordering::Relaxed);
    if fg == 0 {
        return;
    }
    let mut seen = alloc::collections::BTreeSet::new();
    for p in crate::proc::all() {
        if seen.insert(p.pid) && p.pgid.load(core::sync::atomic::Ordering::Relaxed) == fg {
            crate::proc::signal::send(
                &p,
                crate::proc::signal::SigInfo::user(sig, crate::proc::signal::SI_KERNEL, 0, 0),
            );
        }
    }
}

/// Whether a read would not block (poll).
pub fn has_input() -> bool {
    let t = TTY.lock();
    t.len > 0 || t.eofs > 0
}

/// Write to the console, with the output processing termios asks for.
pub fn write(bytes: &[u8]) {
    let oflag = flag(&TERMIOS.lock(), 1);
    let _con = hal::console::Console::lock();
    if oflag & OPOST != 0 && oflag & ONLCR != 0 {
        for part in bytes.split_inclusive(|&b| b == b'\n') {
            match part.strip_suffix(b"\n") {
                Some(body) => {
                    hal::serial::write_raw(body);
                    hal::serial::write_raw(b"\r\n");
                }
                None => hal::serial::write_raw(part),
            }
        }
    } else {
        hal::serial::write_raw(bytes);
    }
}

/// Block until input is ready, then return it (in canonical mode at most one line; 0 for an
/// end-of-file mark). `ERESTARTSYS` if a signal arrives first (for kernel threads, never).
pub fn read(buf: &mut [u8]) -> Result<usize, Errno> {
    if buf.is_empty() {
        return Ok(0);
    }
    let canonical = flag(&TERMIOS.lock(), 3) & ICANON != 0;
    READERS.wait_until(|| {
        let mut t = TTY.lock();
        if t.len > 0 {
            let mut n = 0;
            while n < buf.len() && t.len > 0 {
                let b = t.ring[t.head];
                t.head = (t.head + 1) % RING;
                t.len -= 1;
                buf[n] = b;
                n += 1;
                if canonical && b == b'\n' {
                    break;
                }
            }
            return Some(Ok(n));
        }
        if t.eofs > 0 {
            t.eofs -= 1;
            return Some(Ok(0));
        }
        drop(t);
        crate::sched::signal_wakeup().then_some(Err(Errno::ERESTARTSYS))
    })
}

/// The monitor reads bytes one at a time and echoes itself: no line discipline for it.
pub fn set_raw() {
    let mut t = TERMIOS.lock();
    let lflag = flag(&t, 3) & !(ICANON | ECHO | ISIG);
    t[12..16].copy_from_slice(&lflag.to_le_bytes());
}

// Terminal attributes. The line discipline (canonical mode, echo, signals) and job control are
// the TTY issue's; until then the console keeps the attributes programs set and reports them,
// so `isatty` and terminal queries behave as on a Linux serial console.
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
const TERMIOS_SIZE: usize = 36; // struct termios as the kernel sees it (c_cc[19])

/// Linux's defaults for a serial console: ICRNL|IXON, OPOST|ONLCR, B38400|CS8|CREAD|HUPCL,
/// ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN, and the usual control characters.
const fn default_termios() -> [u8; TERMIOS_SIZE] {
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
    // c_line at 16, c_cc from 17 (Linux's indices): VINTR ^C, VQUIT ^\\, VERASE DEL, VKILL ^U,
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

static TERMIOS: hal::sync::SpinLock<[u8; TERMIOS_SIZE]> =
    hal::sync::SpinLock::new(default_termios());
/// The foreground process group, as TIOCSPGRP set it (0: none yet). Job control signals come
/// with the TTY issue; until then the value is kept so shells can set and read it.
static FOREGROUND: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);
static WINSIZE: hal::sync::SpinLock<[u8; 8]> = hal::sync::SpinLock::new([24, 0, 80, 0, 0, 0, 0, 0]);

pub fn ioctl(t: &crate::proc::task::Task, cmd: u32, arg: u64) -> crate::syscall::Result {
    match cmd {
        TCGETS => {
            let v = *TERMIOS.lock();
            t.write_user(arg, &v)?;
        }
        TCSETS | TCSETSW | TCSETSF => {
            let mut v = [0u8; TERMIOS_SIZE];
            t.read_user(arg, &mut v)?;
            *TERMIOS.lock() = v;
        }
        TIOCGWINSZ => {
            let v = *WINSIZE.lock();
            t.write_user(arg, &v)?;
        }
        TIOCSWINSZ => {
            let mut v = [0u8; 8];
            t.read_user(arg, &mut v)?;
            *WINSIZE.lock() = v;
        }
        TIOCGPGRP => {
            let fg = FOREGROUND.load(core::sync::atomic::Ordering::Relaxed);
            let pg = if fg != 0 {
                fg
            } else {
                t.proc.pgid.load(core::sync::atomic::Ordering::Relaxed)
            };
            t.write_user(arg, &pg.to_le_bytes())?;
        }
        TIOCSPGRP => {
            let mut b = [0u8; 4];
            t.read_user(arg, &mut b)?;
            let pg = i32::from_le_bytes(b);
            if pg <= 0 {
                return Err(abi::errno::Errno::EINVAL);
            }
            FOREGROUND.store(pg as u32, core::sync::atomic::Ordering::Relaxed);
        }
        // The console is every session's controlling terminal: the caller's group becomes
        // the foreground one.
        TIOCSCTTY => FOREGROUND.store(
            t.proc.pgid.load(core::sync::atomic::Ordering::Relaxed),
            core::sync::atomic::Ordering::Relaxed,
        ),
        TIOCNOTTY => {}
        TCFLSH => {
            if arg != 1 {
                let mut tty = TTY.lock();
                tty.len = 0;
                tty.line_len = 0;
            }
        }
        TCXONC => {}
        _ => return Err(abi::errno::Errno::ENOTTY),
    }
    Ok(0)
}
