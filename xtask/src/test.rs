//! `cargo xtask test`: every test Tine has, in groups, ending with `N passed, N failed`.
//!
//! 1. host: `cargo test` of every host-testable crate (and of xtask itself);
//! 2. ktest: the test build of the kernel runs its `ktest!` functions under QEMU; a failing test
//!    panics the kernel, so the harness boots again from the next one;
//! 3. boot: the normal kernel booted with chosen command lines and console input, checking what
//!    a user sees (banner, memory, power off, panic exit status, fault reports, serial input);
//! 4. user and shell: see user.rs and shell.rs;
//! 5. fuzz: the system-call fuzzer with a fixed seed and budget (see fuzz.rs).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::kbuild::{self, BuildOpts};
use crate::qemu::{Config, Session};

#[derive(Default)]
struct Results {
    passed: u32,
    failed: u32,
    failures: Vec<String>,
}

impl Results {
    fn record(&mut self, name: &str, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => {
                println!("test {name} ... ok");
                self.passed += 1;
            }
            Err(why) => {
                println!("test {name} ... FAILED\n{}", indent(&why));
                self.failed += 1;
                self.failures.push(name.to_string());
            }
        }
    }
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("    | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Last `n` lines of a console log, for failure reports.
fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

pub fn cmd_test(args: &[String]) -> Result<(), String> {
    let mut filter: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--filter" => filter = it.next().cloned(),
            other => return Err(format!("test: unknown option {other}")),
        }
    }
    crate::setup::ensure_all()?;
    let mut r = Results::default();
    let want = |group: &str| {
        filter
            .as_deref()
            .is_none_or(|f| group.contains(f) || f.contains(group))
    };

    if want("host") {
        println!("== host tests (cargo test)");
        host_tests(&mut r);
    }
    if want("ktest") {
        println!("== in-kernel tests (QEMU)");
        match kbuild::build(BuildOpts {
            release: false,
            ktest: true,
        }) {
            Ok(k) => ktests(&k, &mut r),
            Err(e) => r.record("ktest::build", Err(e)),
        }
    }
    if want("boot") {
        println!("== boot tests (QEMU)");
        match kbuild::build(BuildOpts::default()) {
            Ok(k) => boot_tests(&k, &mut r),
            Err(e) => r.record("boot::build", Err(e)),
        }
    }
    if want("user") {
        println!("== user-space conformance (host Linux vs Tine)");
        match kbuild::build(BuildOpts::default()) {
            Ok(k) => {
                for (name, outcome) in crate::user::run_all(&k) {
                    r.record(&name, outcome);
                }
            }
            Err(e) => r.record("user::build", Err(e)),
        }
    }
    if want("shell") {
        println!("== shell smoke test (busybox on host Linux vs Tine)");
        match kbuild::build(BuildOpts::default()) {
            Ok(k) => {
                for (name, outcome) in crate::shell::run_all(&k, filter.as_deref()) {
                    r.record(&name, outcome);
                }
            }
            Err(e) => r.record("shell::build", Err(e)),
        }
    }
    if want("fuzz") {
        println!("== system-call fuzzer (QEMU)");
        match kbuild::build(BuildOpts::default()) {
            Ok(k) => {
                for (name, outcome) in crate::fuzz::test_case(&k) {
                    r.record(&name, outcome);
                }
            }
            Err(e) => r.record("fuzz::build", Err(e)),
        }
    }
    if !r.failures.is_empty() {
        println!("failed: {}", r.failures.join(", "));
    }
    println!("{} passed, {} failed", r.passed, r.failed);
    if r.failed > 0 || r.passed == 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// Run `cargo test` on the host crates and fold its per-binary summaries into ours.
fn host_tests(r: &mut Results) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(crate::root())
        .args([
            "test",
            "--no-fail-fast",
            "--workspace",
            "--exclude",
            "kernel",
            "--exclude",
            "hal",
        ])
        .stdin(Stdio::null())
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => return r.record("host::cargo-test", Err(format!("cannot run cargo: {e}"))),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut passed, mut failed, mut binaries) = (0u32, 0u32, 0u32);
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("test ")
            && let Some(name) = rest.strip_suffix(" ... FAILED")
        {
            r.failures.push(format!("host::{name}"));
            println!("test host::{name} ... FAILED");
        }
        if let Some(rest) = line.strip_prefix("test result: ") {
            binaries += 1;
            let count = |key: &str| {
                rest.split(';').find_map(|p| {
                    p.trim()
                        .strip_suffix(key)
                        .and_then(|n| n.trim().rsplit(' ').next()?.parse::<u32>().ok())
                })
            };
            passed += count(" passed").unwrap_or(0);
            failed += count(" failed").unwrap_or(0);
        }
    }
    println!("host: {passed} passed, {failed} failed in {binaries} test binaries");
    r.passed += passed;
    r.failed += failed;
    if !out.status.success() && failed == 0 {
        r.record(
            "host::cargo-test",
            Err(format!(
                "cargo test failed without a test failure (build error?):\n{}",
                tail(&text, 40)
            )),
        );
    } else if failed > 0 {
        println!("{}", indent(&tail(&text, 60)));
    }
}

const KTEST_TIMEOUT: Duration = Duration::from_secs(300);

/// Boot the test kernel, from test `start` on, until every test has run.
fn ktests(kernel: &Path, r: &mut Results) {
    let mut start = 0usize;
    let mut boots = 0;
    loop {
        boots += 1;
        let mut cfg = Config::new(kernel.to_path_buf());
        cfg.append = format!("console=ttyS0 panic=-1 loglevel=4 ktest.start={start}");
        cfg.initrd = test_initrd().ok();
        // 3 GiB on q35 puts 1 GiB above 4 GiB: the allocator tests then cover high memory too.
        cfg.mem = "3G".into();
        let mut s = match Session::start(&cfg) {
            Ok(s) => s,
            Err(e) => return r.record("ktest::boot", Err(e)),
        };
        let code = s.wait_exit(KTEST_TIMEOUT);
        let out = s.output();
        let _ = std::fs::write(crate::root().join("target/tine/ktest.log"), &out);
        let mut last_started: Option<(usize, String)> = None;
        let mut total = None;
        let mut failed_at = None;
        for line in out.lines() {
            let Some(rest) = line.strip_prefix("ktest: [") else {
                if let Some(n) = line
                    .strip_prefix("ktest: running ")
                    .and_then(|l| l.split(' ').next())
                {
                    total = n.parse::<usize>().ok();
                }
                continue;
            };
            let Some((pos, tail_)) = rest.split_once("] ") else {
                continue;
            };
            let index = pos
                .split('/')
                .next()
                .and_then(|i| i.parse::<usize>().ok())
                .unwrap_or(0);
            if let Some(name) = tail_.strip_suffix(" ... ok") {
                r.record(&format!("ktest::{name}"), Ok(()));
                last_started = None;
            } else if let Some(name) = tail_.strip_suffix(" ... FAILED") {
                r.record(&format!("ktest::{name}"), Err(tail(&out, 40)));
                failed_at = Some(index);
                last_started = None;
            } else if let Some(name) = tail_.strip_suffix(" ...") {
                last_started = Some((index, name.to_string()));
            }
        }
        let done = out.contains("ktest: done");
        if done && code == Some(0) {
            return;
        }
        // A test crashed the kernel without reporting (or hung): charge it and go on after it.
        let next = match (failed_at, last_started) {
            (Some(i), _) => i,
            (None, Some((i, name))) => {
                let why = match code {
                    None => "timed out".to_string(),
                    Some(c) => format!("kernel died (QEMU status {c})"),
                };
                r.record(
                    &format!("ktest::{name}"),
                    Err(format!("{why}\n{}", tail(&out, 40))),
                );
                i
            }
            (None, None) => {
                let why = if done {
                    format!("runner finished but QEMU exited with {code:?}")
                } else {
                    "test kernel did not run its tests".into()
                };
                return r.record("ktest::runner", Err(format!("{why}\n{}", tail(&out, 40))));
            }
        };
        if total.is_some_and(|t| next >= t) || boots > 200 {
            return;
        }
        start = next;
    }
}

const BOOT_TIMEOUT: Duration = Duration::from_secs(120);

/// A 300 KiB pseudo-random file passed as `-initrd`, so tests can check that the kernel keeps
/// it intact (reserved) while it hands out memory.
fn test_initrd() -> Result<std::path::PathBuf, String> {
    let path = crate::root().join("target/tine/test-initrd.bin");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let data: Vec<u8> = (0..300 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::create_dir_all(path.parent().unwrap_or(&path)).map_err(|e| e.to_string())?;
    std::fs::write(&path, &data).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Boot the kernel with `append` (and type `input` once the monitor prompt shows, if given);
/// returns (exit code, console output).
fn boot(kernel: &Path, append: &str, input: Option<&str>) -> Result<(Option<i32>, String), String> {
    let mut cfg = Config::new(kernel.to_path_buf());
    cfg.append = format!("console=ttyS0 {append}");
    let mut s = Session::start(&cfg)?;
    if let Some(text) = input {
        if !s.wait_for("tine> ", BOOT_TIMEOUT) {
            return Err(format!("no monitor prompt\n{}", tail(&s.output(), 30)));
        }
        s.send(text);
    }
    let code = s.wait_exit(BOOT_TIMEOUT);
    Ok((code, s.output()))
}

fn expect(out: &str, needles: &[&str]) -> Result<(), String> {
    for n in needles {
        if !out.contains(n) {
            return Err(format!("console output lacks {n:?}\n{}", tail(out, 40)));
        }
    }
    Ok(())
}

fn expect_code(code: Option<i32>, want: i32, out: &str) -> Result<(), String> {
    if code == Some(want) {
        Ok(())
    } else {
        Err(format!(
            "QEMU exit status {code:?}, expected {want}\n{}",
            tail(out, 40)
        ))
    }
}

/// The symbolized backtrace names `function` (proves `.ksyms` was written and is read).
fn expect_symbol(out: &str, function: &str) -> Result<(), String> {
    let found = out
        .lines()
        .any(|l| l.trim_start().starts_with('#') && l.contains(function));
    if found {
        Ok(())
    } else {
        Err(format!(
            "no backtrace frame names {function:?}\n{}",
            tail(out, 40)
        ))
    }
}

fn boot_tests(kernel: &Path, r: &mut Results) {
    type Check = fn(&Path) -> Result<(), String>;
    let tests: [(&str, Check); 10] = [
        ("boot::banner_and_poweroff", |k| {
            let (code, out) = boot(k, "panic=-1 tine.selftest=poweroff", None)?;
            expect_code(code, 0, &out)?;
            expect(
                &out,
                &[
                    "Tine 0.1.0",
                    "booted via PVH",
                    "command line: console=ttyS0 panic=-1 tine.selftest=poweroff",
                    "firmware memory: [mem 0x0000000000100000-",
                    "] usable",
                    "CPU: ",
                    "CPU features in use: NX",
                    "Memory: ",
                    " KiB free",
                    "time: TSC ",
                    "boot took ",
                ],
            )
        }),
        ("boot::memory_totals_match_qemu_size", |k| {
            let (code, out) = boot(k, "panic=-1 tine.selftest=poweroff", None)?;
            expect_code(code, 0, &out)?;
            let line = out
                .lines()
                .find(|l| l.contains("Memory: "))
                .ok_or("no Memory line")?;
            let kib = |key: &str| -> Option<u64> {
                let before = line.split(key).next()?;
                before.rsplit(' ').find(|w| !w.is_empty())?.parse().ok()
            };
            let ram = kib(" KiB RAM").ok_or("no RAM figure")?;
            let free = kib(" KiB free").ok_or("no free figure")?;
            // 256 MiB guest: firmware keeps a little; the kernel must see nearly all of it and
            // have most of it free after boot.
            if !(240 * 1024..=256 * 1024).contains(&ram) || free < 200 * 1024 || free > ram {
                return Err(format!(
                    "implausible memory figures RAM={ram} KiB free={free} KiB in {line:?}"
                ));
            }
            Ok(())
        }),
        ("boot::panic_exits_qemu_with_failure", |k| {
            let (code, out) = boot(k, "panic=-1 tine.selftest=panic", None)?;
            expect_code(code, 3, &out)?; // isa-debug-exit: (1 << 1) | 1
            expect(
                &out,
                &[
                    "KERNEL PANIC: panic requested from the console",
                    "backtrace:",
                ],
            )?;
            expect_symbol(&out, "tine::monitor::selftest")
        }),
        ("boot::page_fault_report", |k| {
            let (code, out) = boot(k, "panic=-1 tine.selftest=fault", None)?;
            expect_code(code, 3, &out)?;
            expect(
                &out,
                &[
                    "EXCEPTION: page fault (#PF) (vector 14) in kernel mode",
                    "not-present page on read in kernel mode",
                    "CR2=0x00000000dead0000",
                    "RIP=",
                    "R15=",
                ],
            )?;
            // Frame 0 is the faulting instruction; the caller chain follows it.
            expect_symbol(&out, "core::ptr::read_volatile")?;
            expect_symbol(&out, "tine::monitor::selftest_action")
        }),
        ("boot::stack_overflow_hits_guard_page", |k| {
            let (code, out) = boot(k, "panic=-1 tine.selftest=overflow", None)?;
            expect_code(code, 3, &out)?;
            expect(
                &out,
                &[
                    "double fault (#DF)",
                    "kernel stack guard page: kernel stack overflow",
                ],
            )
        }),
        ("boot::panic_zero_halts_instead_of_exiting", |k| {
            let mut cfg = Config::new(k.to_path_buf());
            cfg.append = "console=ttyS0 panic=0 tine.selftest=panic".into();
            let mut s = Session::start(&cfg)?;
            if !s.wait_for("system halted", BOOT_TIMEOUT) {
                return Err(format!("no 'system halted'\n{}", tail(&s.output(), 30)));
            }
            // Still running a moment later: panic=0 means hang, as on Linux.
            match s.wait_exit(Duration::from_secs(2)) {
                None => Ok(()),
                Some(c) => Err(format!("QEMU exited with {c} although panic=0")),
            }
        }),
        ("boot::reboot_resets_machine", |k| {
            let (code, out) = boot(k, "panic=-1 tine.selftest=reboot", None)?;
            // -no-reboot turns the reset into a clean QEMU exit.
            expect_code(code, 0, &out)?;
            if out.contains("power off failed") {
                Err("reboot fell through".into())
            } else {
                Ok(())
            }
        }),
        ("boot::serial_input_drives_monitor", |k| {
            let (code, out) = boot(
                k,
                "panic=-1",
                Some("mem\nsym ffffffffffffffff\nuptime\npoweroff\n"),
            )?;
            expect_code(code, 0, &out)?;
            expect(
                &out,
                &[
                    "tine> mem",
                    "frames: ",
                    "heap: ",
                    "0xffffffffffffffff = ?",
                    "up ",
                    " ticks at 250 Hz",
                ],
            )?;
            // The timer interrupt is running: the tick count is not zero.
            let ticks = out
                .lines()
                .find(|l| l.contains(" ticks at "))
                .and_then(|l| l.split(", ").nth(1)?.split(' ').next()?.parse::<u64>().ok());
            match ticks {
                Some(t) if t > 0 => Ok(()),
                other => Err(format!("tick count {other:?}")),
            }
        }),
        ("boot::initrd_is_kept_intact", |k| {
            let initrd = test_initrd()?;
            let data = std::fs::read(&initrd).map_err(|e| e.to_string())?;
            let mut cfg = Config::new(k.to_path_buf());
            cfg.append = "console=ttyS0 panic=-1".into();
            cfg.initrd = Some(initrd);
            let mut s = Session::start(&cfg)?;
            if !s.wait_for("tine> ", BOOT_TIMEOUT) {
                return Err(format!("no prompt\n{}", tail(&s.output(), 30)));
            }
            s.send("initrd\npoweroff\n");
            let code = s.wait_exit(BOOT_TIMEOUT);
            let out = s.output();
            expect_code(code, 0, &out)?;
            let want = format!("initrd: {} bytes at 0x", data.len());
            let hash = format!("fnv1a64 {:#018x}", fnv1a64(&data));
            expect(&out, &[want.as_str(), hash.as_str(), "kept for unpacking"])
        }),
        ("boot::quiet_suppresses_info", |k| {
            let (code, out) = boot(k, "quiet panic=-1 tine.selftest=poweroff", None)?;
            expect_code(code, 0, &out)?;
            if out.contains(" INFO ") {
                Err(format!("INFO lines printed with quiet\n{}", tail(&out, 20)))
            } else {
                Ok(())
            }
        }),
    ];
    for (name, check) in tests {
        r.record(name, check(kernel));
    }
}
