//! `cargo xtask`: Tine's host tool. Builds the kernel (and post-processes it with its symbol
//! table), boots it in QEMU, and runs every test.
//!
//!   cargo xtask build [--release] [--ktest]     build; prints the kernel ELF path last
//!   cargo xtask run [options]                   build and boot to the console
//!   cargo xtask test [--filter GROUP]           every test; ends with "N passed, N failed"
//!   cargo xtask bench [--kvm|--tcg] [--rounds N] Tine beside Linux on the same benchmark
//!   cargo xtask fuzz --seconds N [--seed S]      the system-call fuzzer as Tine's /init

mod bench;
mod debs;
mod fuzz;
mod kbuild;
mod newc;
mod qemu;
mod rootfs;
mod setup;
mod shell;
mod symbols;
mod test;
mod user;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command> [options]

commands:
  build [--release] [--ktest]   build the kernel; the last line printed is the kernel ELF's path
  run [options]                 build and boot Tine in QEMU with the serial console on this terminal
                                (Ctrl-A X quits QEMU)
      --release                 optimized kernel
      --kvm                     use KVM instead of TCG (opt-in; not every host can)
      --gdb                     QEMU waits for gdb on localhost:1234 (see README, Debugging)
      --smp N                   number of CPUs (default 1)
      --mem SIZE                guest memory, e.g. 512M (default 256M)
      --append \"...\"            extra kernel command line
      --initrd FILE             initramfs to pass with -initrd
  test [--filter TEXT]          run every test (host, ktest, boot, user, shell, fuzz); ends with
                                'N passed, N failed'
  bench [--kvm|--tcg] [--rounds N]
                                boot the benchmark program on Tine and on Debian's Linux 6.1 with the
                                same QEMU flags (default TCG with icount) and compare the figures
  fuzz --seconds N [--seed S]   boot Tine with the system-call fuzzer (user/fuzz) as /init for N
                                seconds; fails on a kernel panic, a hang or a leak, and prints the
                                seed to replay it
      --calls N                 stop after N calls
      --workers N               workers at a time (default 3)
      --worker I                replay worker I of the seed alone
      --trace                   add the kernel's system-call trace (trace=syscalls)
      --each                    one worker at a time, naming each worker that leaves the
                                kernel's counters changed
      --release, --smp N, --mem SIZE  as for run
  setup                         install prerequisites (QEMU via apt when root, Rust targets)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let rest = &args[1..];
    let result = match cmd.as_str() {
        "build" => kbuild::cmd_build(rest),
        "run" => qemu::cmd_run(rest),
        "test" => test::cmd_test(rest),
        "bench" => bench::cmd_bench(rest),
        "fuzz" => fuzz::cmd_fuzz(rest),
        "setup" => setup::ensure_all(),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command '{other}'\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one level below it).
pub fn root() -> std::path::PathBuf {
    let manifest = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or(manifest)
}
