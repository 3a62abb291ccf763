//! Prerequisites: QEMU (installed through apt when running as root, otherwise the exact command
//! is printed), a C compiler with glibc's static library (symbol-table tests, the glibc test
//! program), cpio (initramfs tests), and the Rust targets the kernel and user programs need.

use std::process::Command;

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Install Debian packages (as root) or explain how to.
fn apt_install(packages: &[&str], why: &str) -> Result<(), String> {
    let list = packages.join(" ");
    if !is_root() {
        return Err(format!(
            "{why} is missing; install it with:\n    sudo apt-get update && sudo apt-get install -y {list}"
        ));
    }
    eprintln!("xtask: installing {list} ({why}) with apt-get");
    let ok = Command::new("sh")
        .args(["-c", &format!("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {list} >/dev/null")])
        .status()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    if !ok.success() {
        return Err(format!("apt-get install {list} failed"));
    }
    Ok(())
}

pub fn ensure_qemu() -> Result<(), String> {
    if have("qemu-system-x86_64") {
        return Ok(());
    }
    apt_install(&["qemu-system-x86"], "QEMU (qemu-system-x86_64)")
}

pub fn ensure_cc() -> Result<(), String> {
    if have("cc") {
        return Ok(());
    }
    apt_install(&["gcc", "libc6-dev"], "a C compiler (cc)")
}

pub const TARGETS: [&str; 2] = ["x86_64-unknown-none", "x86_64-unknown-linux-musl"];

pub fn ensure_targets() -> Result<(), String> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(crate::root())
        .output();
    let installed = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).to_string(),
        // No rustup: trust that the toolchain has the targets; cargo will say if not.
        _ => return Ok(()),
    };
    let missing: Vec<&str> = TARGETS
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: adding Rust targets {}", missing.join(" "));
    let ok = Command::new("rustup")
        .arg("target")
        .arg("add")
        .args(&missing)
        .current_dir(crate::root())
        .status()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    if !ok.success() {
        return Err(format!("rustup target add {} failed", missing.join(" ")));
    }
    Ok(())
}

/// Go, for the Go cases of the user tests (Debian's `golang-go`).
pub fn ensure_go() -> Result<(), String> {
    if have("go") {
        return Ok(());
    }
    apt_install(&["golang-go"], "Go (go)")
}

/// The `cpio` tool: the initramfs reader's host tests compare against archives it makes.
pub fn ensure_cpio() -> Result<(), String> {
    if have("cpio") {
        return Ok(());
    }
    apt_install(&["cpio"], "cpio")
}

pub fn ensure_all() -> Result<(), String> {
    ensure_targets()?;
    ensure_qemu()?;
    ensure_cc()?;
    ensure_cpio()
}
