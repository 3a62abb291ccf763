//! The console device for processes: output to the serial port, input from the serial
//! receive interrupt. Readers sleep on a wait queue that the interrupt wakes. (The TTY issue
//! adds line discipline, termios and job control on top.)

use crate::sched::WaitQueue;

static INPUT: WaitQueue = WaitQueue::new();

/// Called from the serial interrupt after the UART was drained.
pub fn input_arrived() {
    INPUT.wake_all();
    crate::fs::pipe::POLL.wake_all();
}

pub fn has_input() -> bool {
    hal::serial::has_input()
}

pub fn write(bytes: &[u8]) {
    let _con = hal::console::Console::lock();
    hal::serial::write_bytes(bytes);
}

/// Block until at least one byte arrives, then return what is there (up to `buf.len()`).
pub fn read(buf: &mut [u8]) -> usize {
    if buf.is_empty() {
        return 0;
    }
    INPUT.wait_until(|| {
        hal::serial::read_byte().map(|b| {
            buf[0] = b;
            let mut n = 1;
            while n < buf.len() {
                match hal::serial::read_byte() {
                    Some(b) => {
                        buf[n] = b;
                        n += 1;
                    }
                    None => break,
                }
            }
            n
        })
    })
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
    // c_line at 16, c_cc from 17: VINTR ^C, VQUIT ^\\, VERASE DEL, VKILL ^U, VEOF ^D, VTIME 0, VMIN 1.
    let cc: [u8; 7] = [3, 28, 127, 21, 4, 0, 1];
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
        // The console is every session's controlling terminal until the TTY issue.
        TIOCSCTTY | TIOCNOTTY => {}
        _ => return Err(abi::errno::Errno::ENOTTY),
    }
    Ok(0)
}
