//! The panic handler: report the message and a backtrace, then act on `panic=` like Linux:
//! negative → reset at once (under QEMU the test harness's isa-debug-exit device turns this into a
//! failing exit status), positive → reset after that many seconds, zero → halt forever.

use core::fmt::Write;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, AtomicI64, Ordering};

static PANIC_TIMEOUT: AtomicI64 = AtomicI64::new(0);
static PANICKING: AtomicBool = AtomicBool::new(false);

pub fn set_timeout(seconds: i64) {
    PANIC_TIMEOUT.store(seconds, Ordering::Relaxed);
}

/// Called before the message, e.g. by the in-kernel test runner to name the failing test.
static HOOK: hal::sync::Once<fn()> = hal::sync::Once::new();

#[cfg_attr(not(feature = "ktest"), allow(dead_code))] // only the test runner sets one so far
pub fn set_hook(f: fn()) {
    HOOK.call_once(|| f);
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    hal::arch::disable_interrupts();
    if PANICKING.swap(true, Ordering::SeqCst) {
        let _ = writeln!(
            hal::console::Console::for_panic(),
            "\nnested panic: {}",
            info.message()
        );
        hal::power::qemu_exit(2);
        hal::arch::halt_forever();
    }
    if let Some(hook) = HOOK.get() {
        hook();
    }
    {
        let mut con = hal::console::Console::for_panic();
        let _ = writeln!(con, "\nKERNEL PANIC: {}", info.message());
        if let Some(loc) = info.location() {
            let _ = writeln!(con, "  at {}:{}:{}", loc.file(), loc.line(), loc.column());
        }
        let _ = writeln!(con, "  backtrace:");
        hal::backtrace::write_current(&mut con);
    }
    let timeout = PANIC_TIMEOUT.load(Ordering::Relaxed);
    if timeout < 0 {
        hal::kprintln!("panic=-1: rebooting now");
        hal::power::qemu_exit(1);
        hal::power::reboot();
    }
    if timeout > 0 {
        hal::kprintln!("rebooting in {timeout} seconds");
        hal::time::delay_us(timeout as u64 * 1_000_000);
        hal::power::reboot();
    }
    hal::kprintln!("system halted");
    hal::arch::halt_forever()
}
