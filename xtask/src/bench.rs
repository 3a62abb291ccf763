//! `cargo xtask bench [--kvm|--tcg] [--rounds N]`: boots the benchmark program `tinebench`
//! (`user/bench`) as `/init` on Tine and on a Linux reference kernel with the same QEMU command
//! line, and prints both kernels' figures side by side.
//!
//! - The initramfs holds `/init` (tinebench), `/bin/true` and `/dev/console`.
//! - Tine is the release build of the kernel. Linux is Debian's `linux-image-amd64` (the 6.1
//!   kernel it depends on), fetched with `apt-get download` into `target/bench/linux/`; the
//!   bzImage's xz payload is decompressed into a `vmlinux`, which QEMU boots through its PVH note
//!   exactly like Tine. The result is cached there. If getting Linux fails, the reason is printed
//!   and only Tine's column is shown.
//! - QEMU: `-machine q35 -cpu max -m 1G -no-reboot -display none -serial stdio -monitor none`
//!   plus, by default, `-accel tcg -icount shift=0,sleep=off` (deterministic instruction
//!   counting: one instruction is one nanosecond of guest time, so the figures are instruction
//!   counts rather than host speed); `--tcg` drops icount, `--kvm` uses `-enable-kvm -cpu host`.
//! - The number of rounds goes to tinebench as `BENCH_ROUNDS=N` on the kernel command line (both
//!   kernels hand unknown `KEY=value` parameters to init's environment).
//! - Output: a table on standard output, serial logs in `target/bench/{tine,linux}.log` and
//!   everything in `target/bench/results.json`.
//!
//! Only failing to build Tine or tinebench is an error; a kernel that cannot boot or a figure it
//! cannot measure shows up as "n/a".

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::debs::{apt_update, run_quiet, tool_exists};
use crate::kbuild::{self, BuildOpts};

const BOOT_TIMEOUT: Duration = Duration::from_secs(600);
/// After tinebench says it is done, how long the kernel gets to power off before QEMU is killed.
const POWEROFF_GRACE: Duration = Duration::from_secs(60);
const XZ_MAGIC: &[u8] = &[0xFD, b'7', b'z', b'X', b'Z', 0x00];

#[derive(Clone, Copy, PartialEq)]
enum Accel {
    /// TCG with `-icount shift=0,sleep=off` (the default).
    Icount,
    Tcg,
    Kvm,
}

impl Accel {
    fn name(self) -> &'static str {
        match self {
            Accel::Icount => "tcg+icount",
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }
}

struct Opts {
    accel: Accel,
    rounds: u32,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        accel: Accel::Icount,
        rounds: 5,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--kvm" => o.accel = Accel::Kvm,
            "--tcg" => o.accel = Accel::Tcg,
            "--rounds" => {
                o.rounds = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("bench: --rounds takes a positive number")?
            }
            other => return Err(format!("bench: unknown option {other}")),
        }
    }
    Ok(o)
}

/// The QEMU flags both kernels boot with (before -kernel/-initrd/-append).
fn qemu_flags(accel: Accel) -> Vec<String> {
    let cpu = if accel == Accel::Kvm { "host" } else { "max" };
    let mut f: Vec<&str> = vec![
        "-machine",
        "q35",
        "-cpu",
        cpu,
        "-m",
        "3G",
        "-no-reboot",
        "-display",
        "none",
        "-serial",
        "stdio",
        "-monitor",
        "none",
    ];
    match accel {
        Accel::Icount => f.extend(["-accel", "tcg", "-icount", "shift=0,sleep=off"]),
        Accel::Tcg => f.extend(["-accel", "tcg"]),
        Accel::Kvm => f.push("-enable-kvm"),
    }
    f.into_iter().map(String::from).collect()
}

pub fn cmd_bench(args: &[String]) -> Result<(), String> {
    let opts = parse(args)?;
    let root = crate::root();
    let out_dir = root.join("target/bench");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    crate::setup::ensure_qemu()?;

    eprintln!("xtask: building tinebench and the release kernel");
    let progs = build_programs(&root)?;
    let initrd = out_dir.join("initramfs.cpio");
    write_initramfs(&progs, &initrd)?;
    let tine_kernel = kbuild::build(BuildOpts {
        release: true,
        ..BuildOpts::default()
    })?;

    let linux = match linux_kernel(&out_dir.join("linux")) {
        Ok(k) => Ok(k),
        Err(e) => {
            eprintln!("xtask: no Linux reference kernel: {e}\nxtask: running Tine's side only");
            Err(e)
        }
    };

    let flags = qemu_flags(opts.accel);
    let append = format!("console=ttyS0 quiet panic=-1 BENCH_ROUNDS={}", opts.rounds);
    eprintln!(
        "xtask: qemu-system-x86_64 {} -kernel KERNEL -initrd {} -append \"{append}\"",
        flags.join(" "),
        initrd.display()
    );

    let tine = boot("tine", &tine_kernel, &initrd, &flags, &append);
    let linux_run = match &linux {
        Ok(k) => Some(boot("linux", &k.vmlinux, &initrd, &flags, &append)),
        Err(_) => None,
    };

    let qemu_version = Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();

    // The table.
    let linux_label = match &linux {
        Ok(k) => k.description.clone(),
        Err(e) => format!("not run: {e}"),
    };
    println!();
    println!("Tine:  {} (release build)", tine_kernel.display());
    println!("Linux: {linux_label}");
    println!("QEMU:  {qemu_version}");
    println!(
        "       qemu-system-x86_64 {} -kernel KERNEL -initrd {} -append \"{append}\"",
        flags.join(" "),
        initrd.display()
    );
    println!(
        "       accelerator {}, {} rounds per figure, value = median",
        opts.accel.name(),
        opts.rounds
    );
    if opts.accel == Accel::Icount {
        println!(
            "       (icount shift=0: one guest instruction is one nanosecond of guest time, so \"ns\"\n        counts instructions; each iteration of a rep-prefixed string instruction counts as one)"
        );
    }
    for run in std::iter::once(&tine).chain(linux_run.as_ref()) {
        println!("       {}: {}", run.label, run.summary());
    }
    println!();
    print_table(&tine, linux_run.as_ref());

    let json = results_json(
        &date,
        &opts,
        &flags,
        &append,
        &qemu_version,
        &tine_kernel,
        &tine,
        &linux,
        linux_run.as_ref(),
    );
    let path = out_dir.join("results.json");
    std::fs::write(&path, json).map_err(|e| format!("{}: {e}", path.display()))?;
    println!();
    println!("results: {}", path.display());
    let svg = fork_chart(&tine, linux_run.as_ref(), &date);
    let chart = out_dir.join("fork-latency.svg");
    std::fs::write(&chart, &svg).map_err(|e| format!("{}: {e}", chart.display()))?;
    println!(
        "chart: {} (copy it to docs/ for the README)",
        chart.display()
    );
    println!(
        "serial logs: {}",
        std::iter::once(&tine)
            .chain(linux_run.as_ref())
            .map(|r| r.log.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// The fork sweep as an SVG line chart: time until fork returns against resident size, for
/// both kernels (sizes on a categorical axis, times in ms on a linear one).
fn fork_chart(tine: &Run, linux: Option<&Run>, date: &str) -> String {
    const SIZES: [u32; 5] = [0, 16, 64, 256, 1024];
    let series: Vec<(&str, &str, Vec<Option<f64>>)> = std::iter::once(("Tine", "#c0392b", tine))
        .chain(linux.map(|l| ("Linux", "#2c7fb8", l)))
        .map(|(name, color, run)| {
            let v = SIZES
                .iter()
                .map(|m| {
                    run.get(&format!("fork_return_{m}MiB"))
                        .and_then(|f| f.value)
                })
                .map(|v| v.map(|ns| ns / 1e6))
                .collect();
            (name, color, v)
        })
        .collect();
    let max = series
        .iter()
        .flat_map(|s| s.2.iter().flatten())
        .fold(0.1f64, |a, &b| a.max(b))
        * 1.1;
    let (w, h, left, right, top, bottom) = (660.0, 400.0, 70.0, 45.0, 40.0, 60.0);
    let x = |i: usize| left + (w - left - right) * i as f64 / (SIZES.len() - 1) as f64;
    let y = |ms: f64| top + (h - top - bottom) * (1.0 - ms / max);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">Time until fork returns (guest ms, TCG icount), {date}</text>\n",
        w / 2.0
    );
    // Axes, ticks and grid.
    s += &format!(
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{}\" stroke=\"black\"/>\n",
        h - bottom,
        w - right,
        h - bottom,
        h - bottom
    );
    for (i, m) in SIZES.iter().enumerate() {
        s += &format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{m} MiB</text>\n",
            x(i),
            h - bottom + 18.0
        );
    }
    for k in 0..=4 {
        let ms = max * k as f64 / 4.0;
        s += &format!(
            "<line x1=\"{left}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#ddd\"/>\n<text x=\"{2}\" y=\"{3}\" text-anchor=\"end\">{ms:.1}</text>\n",
            y(ms),
            w - right,
            left - 6.0,
            y(ms) + 4.0
        );
    }
    s += &format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">resident memory of the parent</text>\n",
        (left + w - right) / 2.0,
        h - 20.0
    );
    for (n, (name, color, v)) in series.iter().enumerate() {
        let pts: Vec<String> = v
            .iter()
            .enumerate()
            .filter_map(|(i, ms)| ms.map(|ms| format!("{:.1},{:.1}", x(i), y(ms))))
            .collect();
        s += &format!(
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>\n",
            pts.join(" ")
        );
        for p in &pts {
            let (px, py) = p.split_once(',').unwrap_or(("0", "0"));
            s += &format!("<circle cx=\"{px}\" cy=\"{py}\" r=\"3\" fill=\"{color}\"/>\n");
        }
        s += &format!(
            "<text x=\"{}\" y=\"{}\" fill=\"{color}\">{name}</text>\n",
            left + 10.0,
            top + 16.0 + 16.0 * n as f64
        );
    }
    s += "</svg>\n";
    s
}

// ---------------------------------------------------------------------------------------------
// Building tinebench and the initramfs.

struct Programs {
    init: PathBuf,
    true_bin: PathBuf,
}

fn build_programs(root: &Path) -> Result<Programs, String> {
    crate::setup::ensure_targets()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = root.join("target/bench/user");
    let st = Command::new(cargo)
        .current_dir(root)
        .env_remove("RUSTFLAGS")
        .args([
            "build",
            "--quiet",
            "-p",
            "tinebench",
            "--profile",
            "user",
            "--target",
            "x86_64-unknown-linux-musl",
            "--target-dir",
        ])
        .arg(&target_dir)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !st.success() {
        return Err("building user/bench (tinebench) failed".into());
    }
    let dir = target_dir.join("x86_64-unknown-linux-musl/user");
    Ok(Programs {
        init: dir.join("tinebench"),
        true_bin: dir.join("true"),
    })
}

fn write_initramfs(p: &Programs, path: &Path) -> Result<(), String> {
    let read = |f: &Path| std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()));
    let mut w = crate::newc::Newc::new();
    w.add("bin", 0o040755, (0, 0), &[]);
    w.add("dev", 0o040755, (0, 0), &[]);
    // Linux opens /dev/console for init's standard streams.
    w.add("dev/console", 0o020600, (5, 1), &[]);
    w.add("init", 0o100755, (0, 0), &read(&p.init)?);
    w.add("bin/true", 0o100755, (0, 0), &read(&p.true_bin)?);
    std::fs::write(path, w.finish()).map_err(|e| format!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// The Linux reference kernel.

struct Linux {
    vmlinux: PathBuf,
    description: String,
}

/// The concrete kernel package the `linux-image-amd64` metapackage depends on.
fn resolve_package() -> Result<String, String> {
    let out = run_quiet(Command::new("apt-cache").args(["depends", "linux-image-amd64"]))?;
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:"))
        .map(|d| d.trim().trim_matches(|c| c == '<' || c == '>').to_string())
        .find(|d| d.starts_with("linux-image-"))
        .ok_or_else(|| "apt-cache depends linux-image-amd64 names no linux-image package".into())
}

/// Returns the cached vmlinux, or fetches Debian's kernel package and makes one.
fn linux_kernel(dir: &Path) -> Result<Linux, String> {
    let vmlinux = dir.join("vmlinux");
    let info = dir.join("kernel.txt");
    if let (Ok(m), Ok(desc)) = (std::fs::metadata(&vmlinux), std::fs::read_to_string(&info))
        && m.len() > 0
    {
        return Ok(Linux {
            vmlinux,
            description: desc.trim().to_string(),
        });
    }
    for tool in ["apt-get", "apt-cache", "dpkg-deb", "xz"] {
        if !tool_exists(tool) {
            return Err(format!(
                "{tool} is not installed (needs a Debian host with xz-utils)"
            ));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut updated = false;
    let package = match resolve_package() {
        Ok(p) => p,
        Err(first) => {
            apt_update(&mut updated).map_err(|e| format!("{first}; {e}"))?;
            resolve_package()?
        }
    };
    eprintln!("xtask: fetching {package} (for linux-image-amd64) with apt-get download");
    let download = || {
        run_quiet(
            Command::new("apt-get")
                .current_dir(dir)
                .args(["download", &package]),
        )
    };
    if let Err(first) = download() {
        apt_update(&mut updated).map_err(|e| format!("{first}; {e}"))?;
        download()?;
    }
    let deb = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{package}_")) && n.ends_with(".deb"))
        })
        .ok_or(format!(
            "apt-get download left no {package}_*.deb in {}",
            dir.display()
        ))?;
    let version = deb
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('_').nth(1))
        .unwrap_or("?")
        .to_string();

    let tree = dir.join("extract");
    let _ = std::fs::remove_dir_all(&tree);
    run_quiet(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tree))?;
    let boot = tree.join("boot");
    let vmlinuz = std::fs::read_dir(&boot)
        .map_err(|e| format!("{}: {e}", boot.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("vmlinuz-"))
        })
        .ok_or(format!("{package} has no boot/vmlinuz-*"))?;
    let bz = std::fs::read(&vmlinuz).map_err(|e| format!("{}: {e}", vmlinuz.display()))?;
    let start = bz
        .windows(XZ_MAGIC.len())
        .position(|w| w == XZ_MAGIC)
        .ok_or(format!("{} holds no xz stream", vmlinuz.display()))?;

    let tmp = dir.join("vmlinux.tmp");
    let out = std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let mut xz = Command::new("xz")
        .args(["-dc", "--single-stream"])
        .stdin(Stdio::piped())
        .stdout(out)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run xz: {e}"))?;
    if let Some(mut stdin) = xz.stdin.take() {
        // xz stops reading after the stream; a broken pipe on the trailing bytes is expected.
        let _ = stdin.write_all(&bz[start..]);
    }
    let st = xz.wait_with_output().map_err(|e| format!("xz: {e}"))?;
    if !st.status.success() {
        return Err(format!(
            "xz -dc failed on the payload of {}: {}",
            vmlinuz.display(),
            String::from_utf8_lossy(&st.stderr).trim()
        ));
    }
    let elf = std::fs::read(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    if !elf.starts_with(b"\x7fELF\x02") {
        return Err("the decompressed payload is not an ELF64 file".into());
    }
    if !has_pvh_note(&elf) {
        return Err("the Linux vmlinux has no PVH (Xen note 18) entry; QEMU cannot boot it".into());
    }
    std::fs::rename(&tmp, &vmlinux).map_err(|e| format!("{}: {e}", vmlinux.display()))?;
    let kname = vmlinuz
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .trim_start_matches("vmlinuz-")
        .to_string();
    let description = format!(
        "Linux {kname} (Debian {package} {version}, vmlinux from its bzImage) {}",
        vmlinux.display()
    );
    std::fs::write(&info, format!("{description}\n"))
        .map_err(|e| format!("{}: {e}", info.display()))?;
    let _ = std::fs::remove_dir_all(&tree);
    let _ = std::fs::remove_file(&deb);
    Ok(Linux {
        vmlinux,
        description,
    })
}

/// Whether an ELF64 file has the Xen ELF note of type 18 (XEN_ELFNOTE_PHYS32_ENTRY) that QEMU
/// uses to boot a kernel through PVH.
fn has_pvh_note(elf: &[u8]) -> bool {
    let u16_at = |o: usize| {
        elf.get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32_at = |o: usize| {
        elf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a) as usize
        })
    };
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        if u32_at(ph) != Some(4) {
            continue; // not PT_NOTE
        }
        let (Some(off), Some(size)) = (u64_at(ph + 8), u64_at(ph + 32)) else {
            continue;
        };
        let mut p = off;
        let end = off.saturating_add(size).min(elf.len());
        while p + 12 <= end {
            let (Some(namesz), Some(descsz), Some(kind)) =
                (u32_at(p), u32_at(p + 4), u32_at(p + 8))
            else {
                break;
            };
            let name = elf.get(p + 12..p + 12 + namesz).unwrap_or(&[]);
            if kind == 18 && name.starts_with(b"Xen") {
                return true;
            }
            p += 12 + namesz.div_ceil(4) * 4 + descsz.div_ceil(4) * 4;
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Booting and collecting the figures.

#[derive(Clone)]
struct Figure {
    name: String,
    unit: String,
    value: Option<f64>,
    rounds: Option<f64>,
    error: Option<String>,
}

struct Run {
    label: &'static str,
    figures: Vec<Figure>,
    started: bool,
    finished: bool,
    /// QEMU's exit code; None when it was killed (timeout) or could not start.
    status: Option<i32>,
    /// How QEMU ended, as the OS says it ("exit status: 0", "signal: 6 (SIGABRT)").
    ended: String,
    /// The console's last line when tinebench never started (why the boot failed).
    last_line: String,
    timed_out: bool,
    spawn_error: Option<String>,
    seconds: f64,
    log: PathBuf,
}

impl Run {
    fn summary(&self) -> String {
        if let Some(e) = &self.spawn_error {
            return format!("QEMU did not start: {e}");
        }
        let how = if self.finished {
            "all figures printed".to_string()
        } else if self.started {
            "tinebench did not finish".to_string()
        } else {
            "tinebench never started".to_string()
        };
        let end = match (self.timed_out, self.status) {
            (true, _) => "QEMU killed at the time limit".to_string(),
            (false, Some(c)) => format!("QEMU exit status {c}"),
            (false, None) => format!("QEMU ended by {}", self.ended),
        };
        let mut s = format!("{how}; {end}; {:.0} s wall time", self.seconds);
        if !self.started && !self.last_line.is_empty() {
            s += &format!("; last output: {}", self.last_line);
        }
        s
    }

    fn get(&self, name: &str) -> Option<&Figure> {
        self.figures.iter().find(|f| f.name == name)
    }
}

fn boot(label: &'static str, kernel: &Path, initrd: &Path, flags: &[String], append: &str) -> Run {
    let log = crate::root().join(format!("target/bench/{label}.log"));
    let mut run = Run {
        label,
        figures: Vec::new(),
        started: false,
        finished: false,
        status: None,
        ended: String::new(),
        last_line: String::new(),
        timed_out: false,
        spawn_error: None,
        seconds: 0.0,
        log: log.clone(),
    };
    eprintln!("xtask: booting {label}: {}", kernel.display());
    let begin = Instant::now();
    let child = Command::new("qemu-system-x86_64")
        .args(flags)
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(append)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            run.spawn_error = Some(e.to_string());
            return run;
        }
    };
    let (output, readers) = crate::qemu::capture_with_readers(&mut child);
    let text = |o: &Arc<Mutex<Vec<u8>>>| -> String {
        o.lock()
            .map(|v| String::from_utf8_lossy(&v).replace('\r', ""))
            .unwrap_or_default()
    };
    let mut shown = 0;
    let mut done_at: Option<Instant> = None;
    loop {
        let exited = match child.try_wait() {
            Ok(Some(st)) => {
                run.status = st.code();
                run.ended = st.to_string();
                true
            }
            Ok(None) => false,
            Err(_) => true,
        };
        if exited {
            break;
        }
        if show_progress(label, &text(&output), &mut shown, false) && done_at.is_none() {
            done_at = Some(Instant::now());
        }
        let now = Instant::now();
        if now - begin > BOOT_TIMEOUT || done_at.is_some_and(|d| now - d > POWEROFF_GRACE) {
            run.timed_out = done_at.is_none();
            let _ = child.kill();
            let _ = child.wait();
            run.ended = "xtask (killed)".into();
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    for r in readers {
        let _ = r.join();
    }
    show_progress(label, &text(&output), &mut shown, true);
    run.seconds = begin.elapsed().as_secs_f64();
    let t = text(&output);
    let _ = std::fs::write(&log, &t);
    run.started = t.contains("tinebench: start");
    run.finished = t.contains("tinebench: done");
    run.last_line = t
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string();
    run.figures = t.lines().filter_map(parse_figure).collect();
    eprintln!("xtask: {label}: {}", run.summary());
    run
}

/// Prints the figures among the console lines not shown yet (the last, unfinished line only
/// when `all`); returns whether tinebench has said it is done.
fn show_progress(label: &str, text: &str, shown: &mut usize, all: bool) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    let complete = if all || text.ends_with('\n') {
        lines.len()
    } else {
        lines.len().saturating_sub(1)
    };
    for line in &lines[(*shown).min(complete)..complete] {
        if let Some(f) = parse_figure(line) {
            let v = match f.value {
                Some(v) => format!("{} {}", fmt_value(v), f.unit),
                None => format!("n/a ({})", f.error.as_deref().unwrap_or("")),
            };
            eprintln!("xtask:   {label}: {} = {v}", f.name);
        }
    }
    *shown = (*shown).max(complete);
    lines[..complete]
        .iter()
        .any(|l| l.contains("tinebench: done"))
}

// ---------------------------------------------------------------------------------------------
// A small reader for tinebench's flat JSON objects (strings, numbers, null).

#[derive(Debug, PartialEq)]
enum Json {
    Str(String),
    Num(f64),
    Null,
    Bool(bool),
}

fn parse_object(s: &str) -> Option<Vec<(String, Json)>> {
    let b = s.as_bytes();
    let mut i = 0;
    let ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    let string = |i: &mut usize| -> Option<String> {
        if b.get(*i) != Some(&b'"') {
            return None;
        }
        *i += 1;
        let mut out = String::new();
        let rest = &s[*i..];
        let mut chars = rest.char_indices();
        while let Some((k, c)) = chars.next() {
            match c {
                '"' => {
                    *i += k + 1;
                    return Some(out);
                }
                '\\' => match chars.next()?.1 {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'u' => {
                        let hex: String =
                            (0..4).filter_map(|_| chars.next().map(|x| x.1)).collect();
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
        None
    };
    ws(&mut i);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    let mut fields = Vec::new();
    loop {
        ws(&mut i);
        if b.get(i) == Some(&b'}') && fields.is_empty() {
            return Some(fields);
        }
        let key = string(&mut i)?;
        ws(&mut i);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        ws(&mut i);
        let value = match b.get(i)? {
            b'"' => Json::Str(string(&mut i)?),
            b'n' if s[i..].starts_with("null") => {
                i += 4;
                Json::Null
            }
            b't' if s[i..].starts_with("true") => {
                i += 4;
                Json::Bool(true)
            }
            b'f' if s[i..].starts_with("false") => {
                i += 5;
                Json::Bool(false)
            }
            _ => {
                let start = i;
                while i < b.len() && matches!(b[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                Json::Num(s[start..i].parse().ok()?)
            }
        };
        fields.push((key, value));
        ws(&mut i);
        match b.get(i)? {
            b',' => i += 1,
            b'}' => return Some(fields),
            _ => return None,
        }
    }
}

/// A figure line; tolerates console noise before the object.
fn parse_figure(line: &str) -> Option<Figure> {
    let at = line.find("{\"name\"")?;
    let fields = parse_object(&line[at..])?;
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v);
    let text = |k: &str| match get(k) {
        Some(Json::Str(s)) => Some(s.clone()),
        _ => None,
    };
    let num = |k: &str| match get(k) {
        Some(Json::Num(v)) => Some(*v),
        _ => None,
    };
    Some(Figure {
        name: text("name")?,
        unit: text("unit").unwrap_or_default(),
        value: num("value"),
        rounds: num("rounds"),
        error: text("error"),
    })
}

// ---------------------------------------------------------------------------------------------
// Reporting.

fn fmt_value(v: f64) -> String {
    if v.abs() >= 100.0 {
        // Thousands separators keep nanosecond figures readable.
        let n = v.round() as i64;
        let digits = n.unsigned_abs().to_string();
        let mut out = String::new();
        for (k, c) in digits.chars().enumerate() {
            if k > 0 && (digits.len() - k).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if n < 0 { format!("-{out}") } else { out }
    } else {
        format!("{v:.1}")
    }
}

fn cell(f: Option<&Figure>) -> String {
    match f {
        Some(Figure { value: Some(v), .. }) => fmt_value(*v),
        Some(Figure { error: Some(e), .. }) if e.starts_with("skipped") => "skipped".into(),
        _ => "n/a".into(),
    }
}

fn print_table(tine: &Run, linux: Option<&Run>) {
    let mut names: Vec<(String, String)> = Vec::new();
    for f in tine
        .figures
        .iter()
        .chain(linux.iter().flat_map(|r| r.figures.iter()))
    {
        if !names.iter().any(|(n, _)| n == &f.name) {
            names.push((f.name.clone(), f.unit.clone()));
        }
    }
    let mut rows: Vec<[String; 5]> = vec![[
        "figure".into(),
        "unit".into(),
        "Tine".into(),
        "Linux".into(),
        "Tine/Linux".into(),
    ]];
    for (name, unit) in &names {
        let t = tine.get(name);
        let l = linux.and_then(|r| r.get(name));
        let ratio = match (t.and_then(|f| f.value), l.and_then(|f| f.value)) {
            (Some(a), Some(b)) if b != 0.0 => format!("{:.2}", a / b),
            _ => "-".into(),
        };
        rows.push([name.clone(), unit.clone(), cell(t), cell(l), ratio]);
    }
    let cols = if linux.is_some() { 5 } else { 3 };
    let mut width = [0usize; 5];
    for r in &rows {
        for (k, c) in r.iter().enumerate() {
            width[k] = width[k].max(c.len());
        }
    }
    for (i, r) in rows.iter().enumerate() {
        let mut line = String::new();
        for k in 0..cols {
            if k < 2 {
                line += &format!("{:<w$}  ", r[k], w = width[k]);
            } else {
                line += &format!("{:>w$}  ", r[k], w = width[k]);
            }
        }
        println!("{}", line.trim_end());
        if i == 0 {
            println!(
                "{}",
                "-".repeat(width[..cols].iter().sum::<usize>() + 2 * (cols - 1))
            );
        }
    }
    // The reasons for every n/a.
    for run in std::iter::once(tine).chain(linux) {
        for f in &run.figures {
            if let (None, Some(e)) = (f.value, &f.error) {
                println!("note: {} {}: {e}", run.label, f.name);
            }
        }
    }
    if names.is_empty() {
        println!("(no figures: see the serial logs)");
    }
}

fn js(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o += "\\\"",
            '\\' => o += "\\\\",
            '\n' => o += "\\n",
            c if (c as u32) < 0x20 => o += &format!("\\u{:04x}", c as u32),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn jn(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => {
            if v.fract() == 0.0 && v.abs() < 1e15 {
                format!("{}", v as i64)
            } else {
                format!("{v}")
            }
        }
        _ => "null".into(),
    }
}

fn run_json(kernel: &str, run: &Run) -> String {
    let figures: Vec<String> = run
        .figures
        .iter()
        .map(|f| {
            let mut o = format!(
                "{{\"name\": {}, \"unit\": {}, \"value\": {}, \"rounds\": {}",
                js(&f.name),
                js(&f.unit),
                jn(f.value),
                jn(f.rounds)
            );
            if let Some(e) = &f.error {
                o += &format!(", \"error\": {}", js(e));
            }
            o + "}"
        })
        .collect();
    format!(
        "{{\n    \"kernel\": {},\n    \"completed\": {},\n    \"qemu_status\": {},\n    \"summary\": {},\n    \"wall_seconds\": {:.1},\n    \"log\": {},\n    \"figures\": [\n      {}\n    ]\n  }}",
        js(kernel),
        run.finished,
        run.status.map_or("null".into(), |c| c.to_string()),
        js(&run.summary()),
        run.seconds,
        js(&run.log.display().to_string()),
        figures.join(",\n      ")
    )
}

#[allow(clippy::too_many_arguments)]
fn results_json(
    date: &str,
    opts: &Opts,
    flags: &[String],
    append: &str,
    qemu_version: &str,
    tine_kernel: &Path,
    tine: &Run,
    linux: &Result<Linux, String>,
    linux_run: Option<&Run>,
) -> String {
    let flags_json: Vec<String> = flags.iter().map(|f| js(f)).collect();
    let linux_json = match (linux, linux_run) {
        (Ok(k), Some(r)) => run_json(&k.description, r),
        (Err(e), _) => format!("{{\"error\": {}}}", js(e)),
        (Ok(k), None) => format!(
            "{{\"kernel\": {}, \"error\": \"not run\"}}",
            js(&k.description)
        ),
    };
    format!(
        "{{\n  \"date\": {},\n  \"accelerator\": {},\n  \"rounds\": {},\n  \"qemu\": {},\n  \"qemu_flags\": [{}],\n  \"append\": {},\n  \"tine\": {},\n  \"linux\": {}\n}}\n",
        js(date),
        js(opts.accel.name()),
        opts.rounds,
        js(qemu_version),
        flags_json.join(", "),
        js(append),
        run_json(
            &format!("Tine release build {}", tine_kernel.display()),
            tine
        ),
        linux_json
    )
}
