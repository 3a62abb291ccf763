//! Building the kernel: `cargo build` for the bare-metal target, then a copy of the ELF with
//! the symbol table written into its `.ksyms` section (so panics print function names).

use std::path::PathBuf;
use std::process::Command;

#[derive(Clone, Copy, Default)]
pub struct BuildOpts {
    pub release: bool,
    pub ktest: bool,
}

/// Build and post-process the kernel; returns the bootable ELF's path.
pub fn build(opts: BuildOpts) -> Result<PathBuf, String> {
    crate::setup::ensure_targets()?;
    let root = crate::root();
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(&root).args([
        "build",
        "--quiet",
        "-p",
        "kernel",
        "--target",
        "x86_64-unknown-none",
    ]);
    if opts.release {
        cmd.arg("--release");
    }
    // Test kernels get their own target directory so switching between the two does not
    // rebuild everything each time.
    let target_dir = root
        .join("target")
        .join(if opts.ktest { "ktest" } else { "kernel" });
    cmd.arg("--target-dir").arg(&target_dir);
    if opts.ktest {
        cmd.args(["--features", "ktest"]);
    }
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("kernel build failed".into());
    }
    let profile = if opts.release { "release" } else { "debug" };
    let built = target_dir
        .join("x86_64-unknown-none")
        .join(profile)
        .join("tine");
    let out_dir = root.join("target").join("tine").join(profile);
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let out = out_dir.join(if opts.ktest {
        "tine-ktest.elf"
    } else {
        "tine.elf"
    });
    std::fs::copy(&built, &out).map_err(|e| format!("copy {}: {e}", built.display()))?;
    let (count, used, size) = crate::symbols::patch_symbols(&out)?;
    if std::env::var_os("XTASK_VERBOSE").is_some() {
        eprintln!("xtask: {count} symbols, {used} of {size} bytes of .ksyms used");
    }
    Ok(out)
}

pub fn cmd_build(args: &[String]) -> Result<(), String> {
    let mut opts = BuildOpts::default();
    for a in args {
        match a.as_str() {
            "--release" => opts.release = true,
            "--ktest" => opts.ktest = true,
            other => return Err(format!("build: unknown option {other}")),
        }
    }
    let path = build(opts)?;
    println!("{}", path.display());
    Ok(())
}
