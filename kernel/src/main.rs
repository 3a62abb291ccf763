//! Tine kernel entry: wires the subsystems together in boot order and hands over to the
//! in-kernel test runner (test builds) or the boot monitor on the serial console.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]
// The test build runs the in-kernel tests instead of init, so much of the kernel is unused there.
#![cfg_attr(feature = "ktest", allow(dead_code))]

extern crate alloc;

mod banner;
mod console;
mod fs;
mod invariants;
mod klog;
#[cfg(feature = "ktest")]
mod ktest;
#[cfg(not(feature = "ktest"))]
mod monitor;
mod panic;
mod platform;
mod proc;
mod sched;
mod syscall;
mod time;
mod tty;
mod vm;

use bootinfo::Cmdline;

hal::entry_point!(kmain);

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const GIT_REV: &str = env!("TINE_GIT_REV");

fn kmain(info: &'static hal::BootInfo) -> ! {
    let cmdline = Cmdline::parse(info.cmdline);
    klog::init(cmdline.loglevel().unwrap_or(6));
    panic::set_timeout(cmdline.panic_timeout());

    banner::early(info, &cmdline);
    let platform = platform::init(info);
    time::init(platform.century);
    sched::init_this_cpu();
    hal::time::set_tick_hook(time::tick);
    hal::arch::enable_interrupts();
    banner::late(info, &platform);
    syscall::set_trace(
        cmdline.get("trace") == Some("syscalls"),
        cmdline
            .get("trace.pid")
            .and_then(|p| p.parse().ok())
            .unwrap_or(0),
    );

    let main_thread = move || {
        #[cfg(feature = "ktest")]
        ktest::run(&Cmdline::parse(info.cmdline));

        #[cfg(not(feature = "ktest"))]
        {
            let cmdline = Cmdline::parse(info.cmdline);
            if let Some(t) = cmdline.get("tine.selftest") {
                monitor::selftest(t);
            }
            {
                let s = fs::init();
                log::info!(
                    "initramfs: {} files ({} KiB), {} directories, {} symlinks unpacked",
                    s.files,
                    s.bytes / 1024,
                    s.dirs,
                    s.symlinks
                );
            }
            console::start();
            proc::init::start(&cmdline);
            log::info!("no init found: starting the boot monitor on the console (type 'help')");
            monitor::run()
        }
    };
    if sched::Thread::spawn("kmain", main_thread).is_none() {
        panic!("out of memory starting the first thread");
    }
    sched::idle_loop()
}
