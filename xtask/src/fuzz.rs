//! `cargo xtask fuzz`: boot Tine with the system-call fuzzer (`user/fuzz`, `tinefuzz`) as
//! `/init` and judge the run from the serial console: a kernel panic or exception report, no
//! verdict line in time (a hang), a leak reported by the fuzzer's counter check, or QEMU not
//! powering off cleanly all fail it. The seed is printed, so a failure can be replayed with
//! `--seed`; `--worker N` replays one worker alone and `--trace` adds the kernel's system-call
//! trace. `cargo xtask test` runs it with a fixed seed and a short budget (`test_case`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::kbuild::{self, BuildOpts};
use crate::qemu::{Config, Session};

/// The seed and budget of the run in `cargo xtask test`.
pub const TEST_SEED: u64 = 0x7101_f022;
pub const TEST_SECONDS: u64 = 20;

#[derive(Clone)]
pub struct Opts {
    pub seconds: u64,
    pub seed: u64,
    pub calls: Option<u64>,
    pub workers: Option<u32>,
    pub worker: Option<u64>,
    pub trace: bool,
    /// One worker at a time, with the exact counters checked after each.
    pub each: bool,
    pub release: bool,
    pub smp: u32,
    pub mem: String,
}

impl Opts {
    pub fn new(seconds: u64, seed: u64) -> Opts {
        Opts {
            seconds,
            seed,
            calls: None,
            workers: None,
            worker: None,
            trace: false,
            each: false,
            release: false,
            smp: 1,
            mem: "256M".into(),
        }
    }
}

/// What a run showed.
pub struct Outcome {
    /// A kernel panic, exception or nested-panic report (the lines from its start).
    pub panic: Option<String>,
    /// No verdict line before the deadline.
    pub hung: bool,
    /// The fuzzer's `summary` line.
    pub summary: Option<String>,
    /// The fuzzer's leak-check line.
    pub leak: Option<String>,
    /// The fuzzer's line on the kernel's invariant checks (/proc/tine/check).
    pub invariants: Option<String>,
    /// The fuzzer's verdict line.
    pub verdict: Option<String>,
    pub qemu_status: Option<i32>,
    pub log: PathBuf,
    pub wall: Duration,
}

impl Outcome {
    /// Ok when the kernel survived: no panic, no hang, a verdict, QEMU powered off with 0.
    pub fn survived(&self) -> Result<(), String> {
        if let Some(p) = &self.panic {
            return Err(format!("kernel panic:\n{p}"));
        }
        if self.hung {
            return Err(format!(
                "no verdict within the deadline: the kernel or the fuzzer hung (log {})",
                self.log.display()
            ));
        }
        match &self.verdict {
            None => Err(format!(
                "the fuzzer ended without a verdict (QEMU status {:?}; log {})",
                self.qemu_status,
                self.log.display()
            )),
            Some(v) if v.contains("hang") => Err(v.clone()),
            Some(_) if self.qemu_status != Some(0) => Err(format!(
                "QEMU exit status {:?} after the verdict (log {})",
                self.qemu_status,
                self.log.display()
            )),
            Some(_) => Ok(()),
        }
    }

    /// Ok when the kernel's invariant checks held after the run.
    pub fn invariants_hold(&self) -> Result<(), String> {
        match &self.invariants {
            Some(l) if l.starts_with("fuzz: invariants: ok") => Ok(()),
            Some(l) => Err(l.clone()),
            None => Err(format!("no invariants line (log {})", self.log.display())),
        }
    }

    /// Ok when the fuzzer's leak check was clean.
    pub fn no_leak(&self) -> Result<(), String> {
        match &self.leak {
            Some(l) if l.ends_with("clean") => Ok(()),
            Some(l) => Err(l.clone()),
            None => Err(format!("no leak-check line (log {})", self.log.display())),
        }
    }
}

fn usage() -> String {
    "usage: cargo xtask fuzz --seconds N [--seed S] [--calls N] [--workers N] [--worker I] \
     [--trace] [--each] [--release] [--smp N] [--mem SIZE]"
        .into()
}

fn num(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// A seed from the clock, for runs without `--seed`.
fn fresh_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    (t ^ (t >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 16
}

pub fn cmd_fuzz(args: &[String]) -> Result<(), String> {
    let mut o = Opts::new(60, fresh_seed());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("fuzz: {a} needs a value"));
        match a.as_str() {
            "--seconds" => o.seconds = num(&value()?).ok_or_else(usage)?,
            "--seed" => o.seed = num(&value()?).ok_or_else(usage)?,
            "--calls" => o.calls = Some(num(&value()?).ok_or_else(usage)?),
            "--workers" => o.workers = Some(value()?.parse().map_err(|_| usage())?),
            "--worker" => o.worker = Some(num(&value()?).ok_or_else(usage)?),
            "--smp" => o.smp = value()?.parse().map_err(|_| usage())?,
            "--mem" => o.mem = value()?,
            "--trace" => o.trace = true,
            "--each" => o.each = true,
            "--release" => o.release = true,
            _ => return Err(usage()),
        }
    }
    crate::setup::ensure_qemu()?;
    let kernel = kbuild::build(BuildOpts {
        release: o.release,
        ktest: false,
    })?;
    println!(
        "fuzz: seed {:#x}, {} s (replay: cargo xtask fuzz --seconds {} --seed {:#x}{})",
        o.seed,
        o.seconds,
        o.seconds,
        o.seed,
        if o.release { " --release" } else { "" }
    );
    let out = run(&kernel, &o)?;
    for line in [&out.summary, &out.leak, &out.invariants, &out.verdict]
        .into_iter()
        .flatten()
    {
        println!("{line}");
    }
    println!(
        "fuzz: wall time {:.1} s, console log in {}",
        out.wall.as_secs_f64(),
        out.log.display()
    );
    let result = out.survived().and(out.invariants_hold()).and(out.no_leak());
    if let Err(e) = &result {
        println!("fuzz: FAILED with seed {:#x}: {e}", o.seed);
    }
    result
}

/// The initramfs: the fuzzer as /init and the directories it mounts on.
fn initramfs() -> Result<PathBuf, String> {
    let init = crate::rootfs::build_init()?;
    let fuzzer = init.with_file_name("tinefuzz");
    let data = std::fs::read(&fuzzer).map_err(|e| format!("{}: {e}", fuzzer.display()))?;
    let mut c = crate::newc::Newc::new();
    for d in ["dev", "proc", "tmp"] {
        c.dir(d, 0o755);
    }
    c.file("init", &data, 0o755);
    let path = crate::root().join("target/tine/fuzz-initramfs.cpio");
    std::fs::write(&path, c.finish()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// The first lines of a kernel panic or exception report in the console output.
fn panic_report(out: &str) -> Option<String> {
    let lines: Vec<&str> = out.lines().collect();
    let at = lines.iter().position(|l| {
        l.contains("KERNEL PANIC") || l.contains("EXCEPTION:") || l.contains("nested panic")
    })?;
    let start = at.saturating_sub(20);
    Some(lines[start..(at + 40).min(lines.len())].join("\n"))
}

/// Boot Tine with the fuzzer and read the outcome from the console.
pub fn run(kernel: &Path, o: &Opts) -> Result<Outcome, String> {
    let initrd = initramfs()?;
    let mut append = format!(
        "console=ttyS0 panic=-1 loglevel=4 FUZZ_SEED={:#x} FUZZ_SECONDS={}",
        o.seed, o.seconds
    );
    if let Some(c) = o.calls {
        append += &format!(" FUZZ_CALLS={c}");
    }
    if let Some(w) = o.workers {
        append += &format!(" FUZZ_WORKERS={w}");
    }
    if let Some(w) = o.worker {
        append += &format!(" FUZZ_WORKER={w}");
    }
    if o.trace {
        append += " trace=syscalls";
    }
    if o.each {
        append += " FUZZ_EACH=1";
    }
    let mut cfg = Config::new(kernel.to_path_buf());
    cfg.append = append;
    cfg.initrd = Some(initrd);
    cfg.smp = o.smp;
    cfg.mem = o.mem.clone();
    let started = Instant::now();
    let mut s = Session::start(&cfg)?;
    // Boot, the warm-up round, the run, the final sweep (10 s at most) and cleanup.
    let deadline = Duration::from_secs(o.seconds + 90);
    let done = s.wait_for("fuzz: verdict", deadline)
        || s.output().contains("KERNEL PANIC")
        || s.output().contains("EXCEPTION:");
    let status = if done {
        s.wait_exit(Duration::from_secs(30))
    } else {
        s.wait_exit(Duration::from_millis(10))
    };
    let out = s.output();
    let log = crate::root().join("target/tine/fuzz.log");
    let _ = std::fs::write(&log, &out);
    let find = |prefix: &str| {
        out.lines()
            .find(|l| l.starts_with(prefix))
            .map(str::to_string)
    };
    let panic = panic_report(&out);
    let verdict = find("fuzz: verdict");
    Ok(Outcome {
        hung: verdict.is_none() && panic.is_none() && status.is_none(),
        panic,
        summary: find("fuzz: summary"),
        leak: find("fuzz: leak check"),
        invariants: find("fuzz: invariants"),
        verdict,
        qemu_status: status,
        log,
        wall: started.elapsed(),
    })
}

/// The test group: a fixed seed and budget; two results (the kernel survived; no leak).
pub fn test_case(kernel: &Path) -> Vec<(String, Result<(), String>)> {
    let o = Opts::new(TEST_SECONDS, TEST_SEED);
    match run(kernel, &o) {
        Ok(out) => {
            println!(
                "fuzz: seed {TEST_SEED:#x}, {} s budget, {:.1} s wall: {}",
                TEST_SECONDS,
                out.wall.as_secs_f64(),
                out.summary.as_deref().unwrap_or("no summary")
            );
            vec![
                ("fuzz::kernel_survives".into(), out.survived()),
                ("fuzz::no_leak".into(), out.no_leak()),
                ("fuzz::kernel_invariants".into(), out.invariants_hold()),
            ]
        }
        Err(e) => vec![("fuzz::boot".into(), Err(e))],
    }
}
