//! The kernel console: serial output behind a lock, with a panic path that prints even when
//! the lock is held by a CPU that will never release it.

use core::fmt;

use crate::serial;
use crate::sync::{SpinGuard, SpinLock};

static LOCK: SpinLock<()> = SpinLock::new(());

/// A handle that writes to the console while it is alive.
pub struct Console {
    _guard: Option<SpinGuard<'static, ()>>,
}

impl Console {
    pub fn lock() -> Console {
        Console {
            _guard: Some(LOCK.lock()),
        }
    }

    /// For panic and fatal-exception reports: take the lock if we can within a short while,
    /// otherwise write anyway (the output may interleave, but it is never lost).
    pub fn for_panic() -> Console {
        for _ in 0..1_000_000 {
            if let Some(g) = LOCK.try_lock() {
                return Console { _guard: Some(g) };
            }
            crate::arch::pause();
        }
        Console { _guard: None }
    }
}

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        serial::write_bytes(s.as_bytes());
        Ok(())
    }
}

/// Print formatted text to the console.
pub fn print(args: fmt::Arguments<'_>) {
    let _ = fmt::Write::write_fmt(&mut Console::lock(), args);
}

#[macro_export]
macro_rules! kprint {
    ($($arg:tt)*) => { $crate::console::print(format_args!($($arg)*)) };
}

#[macro_export]
macro_rules! kprintln {
    () => { $crate::console::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($arg)*))) };
}
