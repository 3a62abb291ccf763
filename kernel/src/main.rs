//! Tine kernel entry: wires the subsystems together in boot order and hands over to the
//! in-kernel test runner (test builds) or the boot monitor on the serial console.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

mod banner;
mod klog;
#[cfg(feature = "ktest")]
mod ktest;
#[cfg(not(feature = "ktest"))]
mod monitor;
mod panic;
mod platform;
mod sched;

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
    sched::init_this_cpu();
    hal::time::set_tick_hook(sched::tick);
    hal::arch::enable_interrupts();
    banner::late(info, &platform);

    let main_thread = move || {
        #[cfg(feature = "ktest")]
        ktest::run(&Cmdline::parse(info.cmdline));

        #[cfg(not(feature = "ktest"))]
        {
            let cmdline = Cmdline::parse(info.cmdline);
            if let Some(t) = cmdline.get("tine.selftest") {
                monitor::selftest(t);
            }
            log::info!("no init yet: starting the boot monitor on the console (type 'help')");
            monitor::run()
        }
    };
    if sched::Thread::spawn("kmain", main_thread).is_none() {
        panic!("out of memory starting the first thread");
    }
    sched::idle_loop()
}
