//! Kernel log: the `log` crate's records go to the serial console with a timestamp since boot,
//! filtered by `loglevel=` (Linux numbering: 0 emergencies only … 7 debug; default 6).

use core::fmt::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

struct KernelLog;

static LOGGER: KernelLog = KernelLog;

/// Map a Linux console log level to the `log` crate's filter.
pub fn filter_for(loglevel: u8) -> LevelFilter {
    match loglevel {
        0..=3 => LevelFilter::Error,
        4 => LevelFilter::Warn,
        5 | 6 => LevelFilter::Info,
        _ => LevelFilter::Debug,
    }
}

pub fn init(loglevel: u8) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(if loglevel >= 8 {
        LevelFilter::Trace
    } else {
        filter_for(loglevel)
    });
}

impl Log for KernelLog {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let ns = hal::time::uptime_ns();
        let tag = match record.level() {
            Level::Error => "ERROR",
            Level::Warn => "WARN ",
            Level::Info => "INFO ",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        };
        let mut con = hal::console::Console::lock();
        let _ = writeln!(
            con,
            "[{:5}.{:06}] {tag} {}: {}",
            ns / 1_000_000_000,
            (ns / 1000) % 1_000_000,
            record.target(),
            record.args()
        );
    }

    fn flush(&self) {}
}
