//! The default root file system `cargo xtask run` boots: Debian's static busybox (every applet
//! as a symbolic link where Debian puts it), static bash as `/bin/bash`, Tine's init as
//! `/sbin/init` (and `/init`, where the kernel looks first), and the `/etc` files a shell
//! session expects. Written to `target/tine/rootfs.cpio`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::newc::Newc;

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
const GROUP: &str = "root:x:0:\ndaemon:x:1:\ntty:x:5:\nusers:x:100:\nnogroup:x:65534:\n";
const PROFILE: &str = r#"# Tine's /etc/profile: read by login shells (init starts one on the console).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=${HOME:-/root}
if [ "$(id -u)" = 0 ]; then PS1='\u@\h:\w# '; else PS1='\u@\h:\w$ '; fi
export PS1
alias ll='ls -l'
"#;
const MOTD: &str = "\nWelcome to Tine, a Unix-like kernel in Rust that speaks Linux's system calls.\n\
This userland is Debian's static busybox (and bash as /bin/bash).\n\
Worth trying:  ls -l /   cat /proc/meminfo   ps   free   uname -a   mount\n\
               seq 1 10000 | sort -rn | head -3   echo $((6*7))   bash\n\
Power off with: poweroff -f\n\n";

/// Files a caller adds to the image (path inside the image, contents, permissions).
pub type Extra<'a> = &'a [(&'a str, &'a [u8], u32)];

/// Applets as `busybox --list-full` names them (paths without the leading slash).
fn applets(busybox: &Path) -> Result<Vec<String>, String> {
    let out = Command::new(busybox)
        .arg("--list-full")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", busybox.display()))?;
    if !out.status.success() {
        return Err(format!("{} --list-full failed", busybox.display()));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().trim_start_matches('/').to_string())
        .filter(|l| !l.is_empty() && l != "bin/busybox")
        .collect())
}

/// Build the image; `init` is Tine's init binary; returns the archive's path.
pub fn build(init: &Path, extra: Extra, name: &str) -> Result<PathBuf, String> {
    let busybox = crate::debs::busybox()?;
    let bash = crate::debs::bash()?;
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut c = Newc::new();
    for d in [
        "bin",
        "sbin",
        "usr",
        "usr/bin",
        "usr/sbin",
        "usr/libexec",
        "etc",
        "dev",
        "proc",
        "sys",
        "root",
        "home",
        "var",
        "var/log",
        "run",
        "mnt",
    ] {
        c.dir(d, 0o755);
    }
    c.dir("tmp", 0o1777);
    c.file("bin/busybox", &read(&busybox)?, 0o755);
    for a in applets(&busybox)? {
        // Every link points at /bin/busybox by an absolute path, wherever it sits.
        c.symlink(&a, "/bin/busybox");
    }
    c.file("bin/bash", &read(&bash)?, 0o755);
    c.file("sbin/init", &read(init)?, 0o755);
    // Tine's own programs: the conformance tests and the benchmark, to run by hand.
    c.dir("usr/libexec/tine", 0o755);
    let progs = init.parent().map(Path::to_path_buf).unwrap_or_default();
    if let Ok(dir) = std::fs::read_dir(&progs) {
        let mut names: Vec<String> = dir
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("t_") || n == "tinebench" || n == "tinefuzz" || n == "true")
            .filter(|n| !n.contains('.') && !n.contains('-'))
            .collect();
        names.sort();
        for n in names {
            c.file(
                &format!("usr/libexec/tine/{n}"),
                &read(&progs.join(&n))?,
                0o755,
            );
        }
    }
    c.symlink("init", "/sbin/init");
    c.file("etc/passwd", PASSWD.as_bytes(), 0o644);
    c.file("etc/group", GROUP.as_bytes(), 0o644);
    c.file("etc/hostname", b"tine\n", 0o644);
    c.file("etc/profile", PROFILE.as_bytes(), 0o644);
    c.file("etc/motd", MOTD.as_bytes(), 0o644);
    c.file("etc/shells", b"/bin/sh\n/bin/ash\n/bin/bash\n", 0o644);
    for (path, data, perm) in extra {
        c.file(path, data, *perm);
    }
    let out = crate::root().join("target/tine").join(name);
    if let Some(d) = out.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::write(&out, c.finish()).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(out)
}

/// Build Tine's init (user/init) for the image, with the test, benchmark and fuzzer programs
/// that go to /usr/libexec/tine (they land in the same directory).
pub fn build_init() -> Result<PathBuf, String> {
    crate::setup::ensure_targets()?;
    let root = crate::root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let st = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "-q",
            "-p",
            "tine-init",
            "-p",
            "usertests",
            "-p",
            "tinebench",
            "-p",
            "tinefuzz",
            "--target",
            "x86_64-unknown-linux-musl",
            "--profile",
            "user",
        ])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !st.success() {
        return Err("building user/init failed".into());
    }
    Ok(root.join("target/x86_64-unknown-linux-musl/user/init"))
}
