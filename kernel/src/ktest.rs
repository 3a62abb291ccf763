//! The in-kernel test runner (test builds only): runs every `ktest!` in link order, printing
//! `ktest: [i/N] name ... ok` per test, and powers off. `ktest.start=K` skips the first K tests:
//! a failing test panics (no unwinding in the kernel), so xtask boots again after it.

use core::sync::atomic::{AtomicUsize, Ordering};

use bootinfo::Cmdline;
use hal::kprintln;

static CURRENT: AtomicUsize = AtomicUsize::new(usize::MAX);

fn on_panic() {
    let i = CURRENT.load(Ordering::Relaxed);
    let tests = hal::ktest::all();
    if let Some(t) = tests.get(i) {
        kprintln!("ktest: [{}/{}] {} ... FAILED", i + 1, tests.len(), t.name);
    }
}

pub fn run(cmdline: &Cmdline<'_>) -> ! {
    crate::panic::set_hook(on_panic);
    let tests = hal::ktest::all();
    let start = cmdline
        .get("ktest.start")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0usize);
    let filter = cmdline.get("ktest.filter");
    kprintln!("ktest: running {} tests from {}", tests.len(), start + 1);
    let mut passed = 0;
    for (i, t) in tests.iter().enumerate().skip(start) {
        if filter.is_some_and(|f| !t.name.contains(f)) {
            continue;
        }
        CURRENT.store(i, Ordering::Relaxed);
        kprintln!("ktest: [{}/{}] {} ...", i + 1, tests.len(), t.name);
        (t.func)();
        kprintln!("ktest: [{}/{}] {} ... ok", i + 1, tests.len(), t.name);
        passed += 1;
    }
    kprintln!("ktest: done, {passed} passed");
    hal::power::power_off()
}
