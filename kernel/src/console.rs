//! The console: the serial port as a terminal. Input is drained from the UART by the `tty`
//! kernel thread (woken by the receive interrupt) and goes through the console's line
//! discipline (`tty.rs`); output goes to the UART as termios says.

use abi::errno::Errno;

use crate::sched::WaitQueue;
use crate::tty::Tty;

/// Woken by the receive interrupt: the tty thread has bytes to take.
static INPUT: WaitQueue = WaitQueue::new();
pub static CONSOLE: Tty = Tty::new(24, 80);

/// Bytes to the UART as they are (output processing happened in the line discipline).
fn serial_sink(bytes: &[u8]) {
    let _con = hal::console::Console::lock();
    hal::serial::write_raw(bytes);
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
            CONSOLE.receive(b, &serial_sink);
        }
        CONSOLE.wake();
    }
}

pub fn has_input() -> bool {
    CONSOLE.has_input()
}

/// Write to the console, with the output processing termios asks for.
pub fn write(bytes: &[u8]) {
    CONSOLE.output(bytes, &serial_sink);
}

pub fn read(buf: &mut [u8]) -> Result<usize, Errno> {
    CONSOLE.read(buf)
}

/// The monitor reads single bytes and echoes them itself.
pub fn set_raw() {
    CONSOLE.set_raw();
}

pub fn ioctl(t: &crate::proc::task::Task, cmd: u32, arg: u64) -> crate::syscall::Result {
    CONSOLE.ioctl(t, cmd, arg)
}
