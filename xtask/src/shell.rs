//! The shell smoke test: `user/shell/smoke.sh` runs under Debian's static busybox `sh` on the
//! host Linux (with a PATH holding only busybox applets and bash-static) and inside Tine (the
//! default root file system plus a small init script), and each `== section` of output must be
//! the same. One test result per section, named `shell::<section>`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::qemu::{Config, Session};

const SCRIPT: &str = "user/shell/smoke.sh";
/// pid 1 of the Tine run: a scratch directory on a fresh tmpfs, the script, power off.
const INIT: &str = "#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t tmpfs tmp /tmp
WORK=/tmp/work; export WORK; mkdir $WORK; cd $WORK
echo '== begin'
# Through a pipe, as on the host, so programs do not see a terminal.
sh /smoke.sh 2>&1 | cat
echo '== end'
poweroff -f
";

/// Split output into sections: the lines between `== begin` and `== end`, by `== name` headers.
fn sections(out: &str) -> (BTreeMap<String, Vec<String>>, bool) {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut inside = false;
    let mut current: Option<String> = None;
    let mut ended = false;
    for raw in out.lines() {
        let line = raw.trim_end_matches('\r');
        if line == "== begin" {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        if line == "== end" {
            ended = true;
            break;
        }
        // Kernel log lines ("[    1.234] WARN ...") may interleave with the console output.
        if line.starts_with('[') && line.get(1..24).is_some_and(|s| s.contains("] ")) {
            continue;
        }
        if let Some(name) = line.strip_prefix("== ") {
            current = Some(name.to_string());
            map.entry(name.to_string()).or_default();
            continue;
        }
        if let Some(c) = &current {
            map.entry(c.clone()).or_default().push(line.to_string());
        }
    }
    (map, ended)
}

fn host_run(script: &Path) -> Result<String, String> {
    let busybox = crate::debs::busybox()?;
    let bash = crate::debs::bash()?;
    let base = crate::root().join("target/tine/shell-host");
    let bin = base.join("bin");
    let work = base.join("work");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let list = Command::new(&busybox)
        .arg("--list")
        .output()
        .map_err(|e| format!("cannot run busybox: {e}"))?;
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let _ = std::os::unix::fs::symlink(&busybox, bin.join(applet));
    }
    let _ = std::os::unix::fs::symlink(&bash, bin.join("bash"));
    let out = Command::new(&busybox)
        .args(["sh", "-c", "echo '== begin'; sh \"$0\" 2>&1; echo '== end'"])
        .arg(script)
        .env_clear()
        .env("PATH", &bin)
        .env("HOME", &work)
        .env("WORK", &work)
        .current_dir(&work)
        .output()
        .map_err(|e| format!("cannot run busybox sh: {e}"))?;
    let _ = std::fs::remove_dir_all(&base);
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn tine_run(kernel: &Path, script: &[u8]) -> Result<(Option<i32>, String), String> {
    let init = crate::rootfs::build_init()?;
    let image = crate::rootfs::build(
        &init,
        &[
            ("smoke.sh", script, 0o644),
            ("smoke-init", INIT.as_bytes(), 0o755),
        ],
        "shell-smoke.cpio",
    )?;
    let mut cfg = Config::new(kernel.to_path_buf());
    cfg.append = "console=ttyS0 panic=-1 loglevel=4 rdinit=/smoke-init".into();
    cfg.initrd = Some(image);
    let mut s = Session::start(&cfg)?;
    let code = s.wait_exit(Duration::from_secs(300));
    let out = s.output();
    let _ = std::fs::write(crate::root().join("target/tine/shell.log"), &out);
    Ok((code, out))
}

/// Wait until `needle` has appeared `count` times in the console output.
fn wait_count(s: &mut Session, needle: &str, count: usize, timeout: Duration) -> bool {
    let end = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < end {
        if s.output().matches(needle).count() >= count {
            return true;
        }
        if !s.wait_for(needle, Duration::from_millis(100)) && s.output().contains("Power down") {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// An interactive session as a user types it on the serial console: the default image boots to
/// init's login shell; `sleep 100` is interrupted with ^C, the shell survives and reports 130;
/// a line typed to `cat` is echoed and copied, ^D ends it; `poweroff -f` powers off.
fn interactive(kernel: &Path) -> Vec<(String, Result<(), String>)> {
    let mut results = Vec::new();
    let init = match crate::rootfs::build_init() {
        Ok(i) => i,
        Err(e) => return vec![("shell::interactive".into(), Err(e))],
    };
    let image = match crate::rootfs::build(&init, &[], "rootfs.cpio") {
        Ok(i) => i,
        Err(e) => return vec![("shell::interactive".into(), Err(e))],
    };
    let mut cfg = Config::new(kernel.to_path_buf());
    cfg.append = "console=ttyS0 panic=-1 loglevel=4".into();
    cfg.initrd = Some(image);
    let started = std::time::Instant::now();
    let mut s = match Session::start(&cfg) {
        Ok(s) => s,
        Err(e) => return vec![("shell::interactive".into(), Err(e))],
    };
    const PROMPT: &str = "root@tine:~# ";
    let t = Duration::from_secs(60);
    let log = |s: &Session| {
        let out = s.output();
        let tail: Vec<&str> = out.lines().rev().take(15).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    };
    let mut step = |name: &str, ok: bool, s: &Session| {
        results.push((
            format!("shell::{name}"),
            if ok {
                Ok(())
            } else {
                Err(format!("console:\n{}", log(s)))
            },
        ));
        ok
    };
    let booted = wait_count(&mut s, PROMPT, 1, t);
    if booted {
        // A measurement, not a test: QEMU start to the shell's first prompt.
        println!(
            "shell: the default image reached the prompt {:.2} s after QEMU started (wall time)",
            started.elapsed().as_secs_f64()
        );
    }
    if !step("boots_to_a_prompt", booted, &s) {
        return results;
    }
    s.send("sleep 100\n");
    std::thread::sleep(Duration::from_millis(1500));
    s.send("\x03");
    let back = wait_count(&mut s, PROMPT, 2, Duration::from_secs(20));
    step("ctrl_c_interrupts_sleep", back, &s);
    s.send("echo status=$?\n");
    let st = s.wait_for("status=130", Duration::from_secs(20));
    step("interrupted_status_130", st, &s);
    s.send("cat\n");
    std::thread::sleep(Duration::from_millis(800));
    s.send("typed line\n");
    let copied = wait_count(&mut s, "typed line", 2, Duration::from_secs(20));
    s.send("\x04");
    let ended = wait_count(&mut s, PROMPT, 4, Duration::from_secs(20));
    step("cat_echoes_and_eof_ends_it", copied && ended, &s);
    // vi through the TTY: insert a word, escape, write and quit.
    s.send("vi /tmp/vitest\n");
    std::thread::sleep(Duration::from_millis(2000));
    s.send("ivi-works\x1b");
    std::thread::sleep(Duration::from_millis(500));
    s.send(":wq\n");
    std::thread::sleep(Duration::from_millis(1000));
    s.send("cat /tmp/vitest; echo END\n");
    let vi = s.wait_for("vi-works\nEND", Duration::from_secs(20));
    step("vi_edits_and_quits", vi, &s);
    // Tine's own programs are there to run by hand.
    s.send("/usr/libexec/tine/t_time | tail -1\n");
    let tests = s.wait_for("summary t_time", Duration::from_secs(30));
    step("libexec_programs_run", tests, &s);
    // Physical memory through /dev/mem (busybox devmem maps it shared): the BIOS reset
    // vector at 0xffff0 starts with a far jump, opcode 0xEA.
    s.send("devmem 0xffff0 8\n");
    let devmem = s.wait_for("0xEA", Duration::from_secs(20));
    step("devmem_reads_the_bios_reset_vector", devmem, &s);
    // Job control: ^Z stops the job, bg continues it in the background, fg brings it back,
    // ^C ends it; kill %1 ends a background job.
    let before = s.output().matches(PROMPT).count();
    s.send("sleep 100\n");
    std::thread::sleep(Duration::from_millis(1500));
    s.send("\x1a");
    let stopped =
        s.wait_for("Stopped", Duration::from_secs(20)) && wait_count(&mut s, PROMPT, before + 1, t);
    step("ctrl_z_stops_the_job", stopped, &s);
    s.send("bg\n");
    std::thread::sleep(Duration::from_millis(800));
    s.send("jobs\n");
    let running = s.wait_for("Running", Duration::from_secs(20));
    step("bg_continues_it", running, &s);
    s.send("fg\n");
    std::thread::sleep(Duration::from_millis(1500));
    s.send("\x03");
    let prompts = s.output().matches(PROMPT).count();
    let back = wait_count(&mut s, PROMPT, prompts + 1, Duration::from_secs(20));
    step("fg_then_ctrl_c", back, &s);
    s.send("sleep 60 &\n");
    std::thread::sleep(Duration::from_millis(800));
    s.send("kill %1\n");
    std::thread::sleep(Duration::from_millis(800));
    s.send("jobs\n");
    let killed = s.wait_for("Terminated", Duration::from_secs(20));
    step("kill_percent_1", killed, &s);
    s.send("poweroff -f\n");
    let code = s.wait_exit(Duration::from_secs(30));
    step("poweroff", code == Some(0), &s);
    results
}

/// Boot a 128 MiB guest whose init is the shell script `init` (as `/NAME-init`), wait up to
/// `secs` for it to power off, keep the console in target/tine/NAME.log and return it.
fn small_guest(kernel: &Path, name: &str, init: &str, secs: u64) -> Result<String, String> {
    let init_name = format!("{name}-init");
    let tools = crate::rootfs::build_init()?;
    let image = crate::rootfs::build(
        &tools,
        &[(init_name.as_str(), init.as_bytes(), 0o755)],
        &format!("{name}.cpio"),
    )?;
    let mut cfg = Config::new(kernel.to_path_buf());
    cfg.append = format!("console=ttyS0 panic=-1 loglevel=4 rdinit=/{init_name}");
    cfg.initrd = Some(image);
    cfg.mem = "128M".into();
    let mut s = Session::start(&cfg)?;
    let code = s.wait_exit(Duration::from_secs(secs));
    let out = s.output();
    let _ = std::fs::write(crate::root().join(format!("target/tine/{name}.log")), &out);
    if code != Some(0) {
        return Err(format!(
            "QEMU status {code:?}; log in target/tine/{name}.log"
        ));
    }
    Ok(out)
}

/// Memory exhaustion: in a 128 MiB guest an awk program doubling a string until memory runs
/// out is killed (SIGKILL, status 137), its parent shell carries on, and the free memory comes
/// back (within 2 MiB of the kernel heap's growth).
fn oom(kernel: &Path) -> Vec<(String, Result<(), String>)> {
    const INIT: &str = "#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
free_kb() { grep MemFree /proc/meminfo | awk '{print $2}'; }
before=$(free_kb)
sh -c 'awk \"BEGIN { s = \\\"x\\\"; while (1) s = s s }\"'
echo \"eater status $?\"
after=$(free_kb)
echo \"memory back $(( after + 2048 >= before ))\"
echo 'parent alive'
poweroff -f
";
    let out = match small_guest(kernel, "oom", INIT, 180) {
        Ok(o) => o,
        Err(e) => return vec![("shell::oom_kills_the_eater".into(), Err(e))],
    };
    let check = |needle: &str| {
        if out.contains(needle) {
            Ok(())
        } else {
            Err(format!(
                "no {needle:?} in the console (log in target/tine/oom.log)"
            ))
        }
    };
    vec![
        (
            "shell::oom_kills_the_eater".into(),
            check("eater status 137"),
        ),
        ("shell::oom_spares_the_parent".into(), check("parent alive")),
        (
            "shell::oom_memory_comes_back".into(),
            check("memory back 1"),
        ),
    ]
}

/// An unbounded fork bomb (no RLIMIT_NPROC) in a 128 MiB guest: `t_forkbomb` forks until
/// memory runs out and checks fork fails with EAGAIN or ENOMEM, the system still answers,
/// everything dies and is reaped, and the kernel's counters come back. Tine only, so it is
/// not compared with Linux; each of its checks becomes a test.
fn forkbomb(kernel: &Path) -> Vec<(String, Result<(), String>)> {
    const INIT: &str = "#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
/usr/libexec/tine/t_forkbomb
echo \"forkbomb status $?\"
poweroff -f
";
    let out = match small_guest(kernel, "forkbomb", INIT, 400) {
        Ok(o) => o,
        Err(e) => return vec![("shell::forkbomb".into(), Err(e))],
    };
    let mut results: Vec<(String, Result<(), String>)> = out
        .lines()
        .filter_map(|l| {
            let l = l.trim_end_matches('\r');
            if let Some(rest) = l.strip_prefix("ok t_forkbomb.") {
                Some((format!("shell::forkbomb_{rest}"), Ok(())))
            } else {
                let rest = l.strip_prefix("not ok t_forkbomb.")?;
                let (name, why) = rest.split_once(": ").unwrap_or((rest, ""));
                Some((format!("shell::forkbomb_{name}"), Err(why.to_string())))
            }
        })
        .collect();
    let ended = out.contains("forkbomb status 0");
    results.push((
        "shell::forkbomb_program_passed".into(),
        if ended {
            Ok(())
        } else {
            Err("t_forkbomb did not exit 0 (log in target/tine/forkbomb.log)".into())
        },
    ));
    results
}

/// Run the smoke script on both and compare section by section.
///
/// `--filter shell::oom` or `--filter shell::forkbomb` runs only that guest.
pub fn run_all(kernel: &Path, filter: Option<&str>) -> Vec<(String, Result<(), String>)> {
    match filter {
        Some("shell::oom") => return oom(kernel),
        Some("shell::forkbomb") => return forkbomb(kernel),
        _ => {}
    }
    let script_path = crate::root().join(SCRIPT);
    let script = match std::fs::read(&script_path) {
        Ok(s) => s,
        Err(e) => return vec![("shell::script".into(), Err(format!("{SCRIPT}: {e}")))],
    };
    let host = match host_run(&script_path) {
        Ok(o) => o,
        Err(e) => return vec![("shell::host".into(), Err(e))],
    };
    let (code, tine) = match tine_run(kernel, &script) {
        Ok(x) => x,
        Err(e) => return vec![("shell::tine".into(), Err(e))],
    };
    let (h, h_ended) = sections(&host);
    let (t, t_ended) = sections(&tine);
    let mut results = Vec::new();
    if !h_ended || h.is_empty() {
        results.push((
            "shell::host-run".into(),
            Err(format!("the host run did not finish:\n{host}")),
        ));
        return results;
    }
    for (name, want) in &h {
        let got = t.get(name);
        let r = match got {
            None => Err(format!(
                "section missing in Tine's output (QEMU status {code:?}, finished: {t_ended}; log in target/tine/shell.log)"
            )),
            Some(got) if got == want => Ok(()),
            Some(got) => {
                let first = want
                    .iter()
                    .zip(got.iter())
                    .position(|(a, b)| a != b)
                    .unwrap_or(want.len().min(got.len()));
                Err(format!(
                    "output differs from line {}:\n  host: {:?}\n  tine: {:?}",
                    first + 1,
                    &want[first.min(want.len())..want.len().min(first + 4)],
                    &got[first.min(got.len())..got.len().min(first + 4)]
                ))
            }
        };
        results.push((format!("shell::{name}"), r));
    }
    results.extend(interactive(kernel));
    results.extend(oom(kernel));
    results.extend(forkbomb(kernel));
    results.push((
        "shell::finished_and_powered_off".into(),
        if t_ended && code == Some(0) {
            Ok(())
        } else {
            Err(format!(
                "finished: {t_ended}, QEMU status {code:?} (log in target/tine/shell.log)"
            ))
        },
    ));
    results
}
