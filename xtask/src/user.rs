//! User-space conformance runs: build the programs in `user/tests` for x86_64-unknown-linux-musl
//! (static-PIE and non-PIE), run each on the host Linux — the oracle — and inside Tine (from an
//! initramfs whose `/init` is `tinit`, which runs the same plan), and compare: a program passes
//! when both runs report only `ok` checks and the same set of checks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::qemu::{Config, Session};

pub struct Case {
    pub program: &'static str,
    pub env: &'static [&'static str],
    pub args: &'static [&'static str],
}

/// The plan: every program with the argv and environment it expects.
pub const CASES: &[Case] = &[
    Case {
        program: "t_argv",
        env: &["TINE_A=1", "TINE_B=x=y"],
        args: &["alpha", "two words", ""],
    },
    Case {
        program: "t_exit",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_orphan",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_creds",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_time",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_limits",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_exec",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_cow",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_mem",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_thread",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_files",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_dirs",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_pipe",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_proc",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_events",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_fsmore",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_shm",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_signal",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_pty",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_classic",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_vfork",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_futex",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_rseq",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_vm",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_clone3",
        env: &[],
        args: &[],
    },
    Case {
        program: "t_isolation",
        env: &[],
        args: &[],
    },
];

pub struct Built {
    pub pie: PathBuf,
    pub nopie: PathBuf,
    /// C programs linked statically with the host's glibc, and the Go programs.
    pub c_dir: PathBuf,
    /// The Go programs that were built (none when no Go toolchain could be had).
    pub go: Vec<&'static str>,
}

/// Go programs in user/go, built with Debian's `golang-go` (static: `CGO_ENABLED=0`) and run
/// without arguments: Go's runtime is a demanding user of clone, futex, signals and mmap.
pub const GO_PROGRAMS: &[&str] = &["go_runtime"];

/// Build the Go programs into `out`. Without a Go toolchain (and no way to install one) the
/// reason is printed and the Go cases are left out, as the threads issue allows.
fn build_go(out: &Path) -> Result<Vec<&'static str>, String> {
    if let Err(why) = crate::setup::ensure_go() {
        eprintln!("xtask: Go cases skipped: {why}");
        return Ok(Vec::new());
    }
    let cache = crate::root().join("target/go");
    for p in GO_PROGRAMS {
        let src = crate::root().join("user/go").join(format!("{p}.go"));
        let st = Command::new("go")
            .args(["build", "-o"])
            .arg(out.join(p))
            .arg(&src)
            .env("CGO_ENABLED", "0")
            .env("GOCACHE", cache.join("cache"))
            .env("GOPATH", cache.join("path"))
            .env("GOFLAGS", "-mod=mod")
            .env("GO111MODULE", "off")
            .status()
            .map_err(|e| format!("cannot run go: {e}"))?;
        if !st.success() {
            return Err(format!("go build {} failed", src.display()));
        }
    }
    Ok(GO_PROGRAMS.to_vec())
}

/// C programs in user/c, built with `gcc -static` (glibc), run with `t_argv`'s arguments.
pub const C_PROGRAMS: &[&str] = &["c_glibc"];

fn build_c(out: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    for p in C_PROGRAMS {
        let src = crate::root().join("user/c").join(format!("{p}.c"));
        let st = Command::new("cc")
            .args(["-static", "-O2", "-o"])
            .arg(out.join(p))
            .arg(&src)
            .status()
            .map_err(|e| format!("cannot run cc: {e}"))?;
        if !st.success() {
            return Err(format!(
                "cc -static {} failed (is glibc's static libc, libc6-dev, installed?)",
                src.display()
            ));
        }
    }
    Ok(())
}

/// Build the programs twice: static-PIE (the target's default) and non-PIE.
pub fn build() -> Result<Built, String> {
    let root = crate::root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut dirs = Vec::new();
    for (name, flags) in [
        ("user-pie", None),
        (
            "user-nopie",
            Some("-C relocation-model=static -C target-feature=+crt-static"),
        ),
    ] {
        let dir = root.join("target").join(name);
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(&root)
            .args([
                "build",
                "--quiet",
                "-p",
                "usertests",
                "--profile",
                "user",
                "--target",
                "x86_64-unknown-linux-musl",
                "--target-dir",
            ])
            .arg(&dir);
        match flags {
            Some(f) => cmd.env("RUSTFLAGS", f),
            None => cmd.env_remove("RUSTFLAGS"),
        };
        let st = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
        if !st.success() {
            return Err(format!("building user programs ({name}) failed"));
        }
        dirs.push(dir.join("x86_64-unknown-linux-musl").join("user"));
    }
    let nopie = dirs.pop().unwrap_or_default();
    let pie = dirs.pop().unwrap_or_default();
    let c_dir = root.join("target").join("user-c");
    build_c(&c_dir)?;
    let go = build_go(&c_dir)?;
    Ok(Built {
        pie,
        nopie,
        c_dir,
        go,
    })
}

fn read(p: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

/// The initramfs: /init = tinit, /bin/<prog> (static-PIE), /bin/nopie/<prog>, /etc/plan.
pub fn initramfs(b: &Built) -> Result<PathBuf, String> {
    let mut c = crate::newc::Newc::new();
    for d in ["bin", "bin/nopie", "etc", "dev", "tmp"] {
        c.dir(d, if d == "tmp" { 0o1777 } else { 0o755 });
    }
    c.file("init", &read(&b.pie.join("tinit"))?, 0o755);
    let mut plan = String::new();
    for case in CASES {
        c.file(
            &format!("bin/{}", case.program),
            &read(&b.pie.join(case.program))?,
            0o755,
        );
        c.file(
            &format!("bin/nopie/{}", case.program),
            &read(&b.nopie.join(case.program))?,
            0o755,
        );
        for (variant, path) in [
            ("pie", format!("/bin/{}", case.program)),
            ("nopie", format!("/bin/nopie/{}", case.program)),
        ] {
            let mut fields = vec![
                format!("{}:{variant}", case.program),
                case.env.join(" "),
                path,
            ];
            fields.extend(case.args.iter().map(|s| s.to_string()));
            plan.push_str(&fields.join("\t"));
            plan.push('\n');
        }
    }
    for p in C_PROGRAMS {
        c.file(&format!("bin/{p}"), &read(&b.c_dir.join(p))?, 0o755);
        let fields = [
            format!("{p}:glibc"),
            "TINE_A=1 TINE_B=x=y".into(),
            format!("/bin/{p}"),
            "alpha".into(),
            "two words".into(),
            String::new(),
        ];
        plan.push_str(&fields.join("\t"));
        plan.push('\n');
    }
    for p in &b.go {
        c.file(&format!("bin/{p}"), &read(&b.c_dir.join(p))?, 0o755);
        plan.push_str(&format!("{p}:go\t\t/bin/{p}\n"));
    }
    c.file("etc/plan", plan.as_bytes(), 0o644);
    let path = crate::root().join("target/tine/user-initramfs.cpio");
    std::fs::write(&path, c.finish()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// The check lines of one program's output: "ok NAME" / "not ok NAME: why" / "summary ...".
fn checks(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| l.starts_with("ok ") || l.starts_with("not ok ") || l.starts_with("summary "))
        .map(str::to_string)
        .collect()
}

fn verdict(
    label: &str,
    host: &[String],
    tine: &[String],
    tine_status: Option<&str>,
) -> Result<(), String> {
    let failures: Vec<&String> = host
        .iter()
        .chain(tine.iter())
        .filter(|l| l.starts_with("not ok"))
        .collect();
    let names = |v: &[String]| -> Vec<String> {
        v.iter().filter(|l| l.starts_with("ok ")).cloned().collect()
    };
    let mut why = String::new();
    if host.is_empty() {
        why += "host run printed no checks\n";
    }
    if tine.is_empty() {
        why += &format!("Tine run printed no checks (status {tine_status:?})\n");
    }
    for f in &failures {
        why += &format!("{f}\n");
    }
    if failures.is_empty() && names(host) != names(tine) {
        why += &format!(
            "host and Tine ran different checks\nhost: {:?}\ntine: {:?}\n",
            names(host),
            names(tine)
        );
    }
    if tine_status != Some("0") && why.is_empty() {
        why += &format!("{label}: exit status in Tine was {tine_status:?}\n");
    }
    if why.is_empty() { Ok(()) } else { Err(why) }
}

/// Run every case on the host and in Tine; returns (test name, outcome) pairs.
pub fn run_all(kernel: &Path) -> Vec<(String, Result<(), String>)> {
    let mut results = Vec::new();
    let built = match build() {
        Ok(b) => b,
        Err(e) => return vec![("user::build".into(), Err(e))],
    };
    // Host runs (the oracle).
    let mut host: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for case in CASES {
        for (variant, dir) in [("pie", &built.pie), ("nopie", &built.nopie)] {
            let out = Command::new(dir.join(case.program))
                .args(case.args)
                .env_clear()
                .envs(case.env.iter().filter_map(|e| e.split_once('=')))
                .output();
            let text = out
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            host.insert(format!("{}:{variant}", case.program), checks(&text));
        }
    }
    for p in C_PROGRAMS {
        let out = Command::new(built.c_dir.join(p))
            .args(["alpha", "two words", ""])
            .env_clear()
            .env("TINE_A", "1")
            .env("TINE_B", "x=y")
            .output();
        let text = out
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        host.insert(format!("{p}:glibc"), checks(&text));
    }
    for p in &built.go {
        let out = Command::new(built.c_dir.join(p)).env_clear().output();
        let text = out
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        host.insert(format!("{p}:go"), checks(&text));
    }
    // One boot of Tine runs the whole plan.
    let initrd = match initramfs(&built) {
        Ok(p) => p,
        Err(e) => return vec![("user::initramfs".into(), Err(e))],
    };
    let mut cfg = Config::new(kernel.to_path_buf());
    cfg.append = "console=ttyS0 panic=-1 loglevel=4".into();
    cfg.initrd = Some(initrd);
    let (code, out) = match Session::start(&cfg) {
        Ok(mut s) => {
            let code = s.wait_exit(Duration::from_secs(600));
            (code, s.output())
        }
        Err(e) => return vec![("user::boot".into(), Err(e))],
    };
    let _ = std::fs::write(crate::root().join("target/tine/user.log"), &out);
    // Split Tine's console by the runner's markers.
    let mut tine: BTreeMap<String, (Vec<String>, Option<String>)> = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in out.lines() {
        if let Some(label) = line.strip_prefix("=== begin ") {
            current = Some((label.to_string(), String::new()));
        } else if let Some(rest) = line.strip_prefix("=== end ") {
            if let Some((label, text)) = current.take() {
                let status = rest.split(" status ").nth(1).map(str::to_string);
                tine.insert(label, (checks(&text), status));
            }
        } else if let Some((_, text)) = current.as_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    let done = out.contains("=== all done");
    results.push(("user::kernel_invariants".into(), invariants(&out)));
    results.extend(init_and_trace_checks(kernel));
    let mut labels: Vec<String> = CASES
        .iter()
        .flat_map(|c| [format!("{}:pie", c.program), format!("{}:nopie", c.program)])
        .collect();
    labels.extend(C_PROGRAMS.iter().map(|p| format!("{p}:glibc")));
    labels.extend(built.go.iter().map(|p| format!("{p}:go")));
    for label in labels {
        let h = host.get(&label).cloned().unwrap_or_default();
        let (t, status) = tine.get(&label).cloned().unwrap_or_default();
        let mut r = verdict(&label, &h, &t, status.as_deref());
        if r.is_err() && !done {
            r = r.map_err(|e| format!("{e}(the Tine run did not finish: QEMU status {code:?}; log in target/tine/user.log)"));
        }
        results.push((format!("user::{label}"), r));
    }
    results
}

/// The kernel's invariant checks (`/proc/tine/check`) as tinit printed them after every
/// program had ended: each line must be `ok NAME`.
fn invariants(out: &str) -> Result<(), String> {
    let Some((_, rest)) = out.split_once("=== invariants\n") else {
        return Err("tinit printed no invariant checks (log in target/tine/user.log)".into());
    };
    let block = rest.split("=== end invariants").next().unwrap_or("");
    let lines: Vec<&str> = block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let bad: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.starts_with("ok "))
        .collect();
    if lines.is_empty() {
        Err("no invariant lines".into())
    } else if bad.is_empty() {
        Ok(())
    } else {
        Err(bad.join("\n"))
    }
}

/// Boots with the glibc program as init: the syscall trace shows decoded calls of pid 1 and its
/// child, `trace.pid=` limits it to one process, and init's exit is reported and ends QEMU with
/// a failure status.
fn init_and_trace_checks(kernel: &Path) -> Vec<(String, Result<(), String>)> {
    // These boots use a gzip-compressed copy of the image: the kernel must inflate it.
    let plain = crate::root().join("target/tine/user-initramfs.cpio");
    let initrd = crate::root().join("target/tine/user-initramfs.cpio.gz");
    let gz = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "gzip -c -6 '{}' > '{}'",
            plain.display(),
            initrd.display()
        ))
        .status();
    if !gz.is_ok_and(|s| s.success()) {
        return vec![("user::gzip_initramfs".into(), Err("gzip failed".into()))];
    }
    let boot = |append: &str| -> Result<(Option<i32>, String), String> {
        let mut cfg = Config::new(kernel.to_path_buf());
        cfg.append = format!("console=ttyS0 panic=-1 rdinit=/bin/c_glibc {append}");
        cfg.initrd = Some(initrd.clone());
        let mut s = Session::start(&cfg)?;
        let code = s.wait_exit(Duration::from_secs(120));
        Ok((code, s.output()))
    };
    let all = boot("trace=syscalls").and_then(|(code, out)| {
        let need = [
            "initramfs: ",
            "# argv[0] = \"/bin/c_glibc\"",
            "# env HOME=/",
            "# env TERM=linux",
            "[pid    1] arch_prctl(4098, ",
            "[pid    1] uname(",
            "[pid    1] wait4(2, ",
            "[pid    2] exit_group(42) = ",
            // A failed call, in strace's form (glibc's start-up makes a few).
            ") = -1 E",
            "init (pid 1) ended; powering off",
        ];
        for n in need {
            if !out.contains(n) {
                return Err(format!(
                    "trace lacks {n:?}\n{}",
                    out.lines().rev().take(30).collect::<Vec<_>>().join("\n")
                ));
            }
        }
        // c_glibc fails its argument checks here (no arguments), so init exits with status 1:
        // Tine reports it and leaves QEMU with a failure status (debug-exit 0x7f → 255).
        if code != Some(255) {
            return Err(format!(
                "QEMU exit status {code:?} after init exited, expected 255"
            ));
        }
        Ok(())
    });
    let one = boot("trace.pid=2").and_then(|(_, out)| {
        let traced: Vec<&str> = out.lines().filter(|l| l.starts_with("[pid ")).collect();
        if traced.is_empty() || traced.iter().any(|l| !l.starts_with("[pid    2]")) {
            return Err(format!("trace.pid=2 traced {traced:?}"));
        }
        Ok(())
    });
    vec![
        ("user::trace_syscalls_and_init_exit".into(), all),
        ("user::trace_one_pid".into(), one),
    ]
}
