//! QEMU: the command line that boots Tine (the same one that boots a Linux vmlinux), the
//! interactive `run` command, and a scripted session for tests (read the serial console, type
//! into it, wait for exit with a deadline).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::kbuild::{self, BuildOpts};

#[derive(Clone)]
pub struct Config {
    pub kernel: PathBuf,
    pub append: String,
    pub initrd: Option<PathBuf>,
    pub smp: u32,
    pub mem: String,
    pub kvm: bool,
    pub gdb: bool,
}

impl Config {
    pub fn new(kernel: PathBuf) -> Config {
        Config {
            kernel,
            append: String::new(),
            initrd: None,
            smp: 1,
            mem: "256M".into(),
            kvm: false,
            gdb: false,
        }
    }

    /// Arguments shared by interactive and scripted runs.
    fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "-machine".into(),
            "q35".into(),
            "-m".into(),
            self.mem.clone(),
            "-smp".into(),
            self.smp.to_string(),
            "-no-reboot".into(),
            // Lets the kernel end QEMU with a status (panic=-1 → failure); Linux ignores it.
            "-device".into(),
            "isa-debug-exit,iobase=0xf4,iosize=0x04".into(),
            "-kernel".into(),
            self.kernel.display().to_string(),
            "-append".into(),
            self.append.clone(),
        ];
        if self.kvm {
            a.extend(["-enable-kvm".into(), "-cpu".into(), "host".into()]);
        } else {
            a.extend(["-accel".into(), "tcg".into(), "-cpu".into(), "max".into()]);
        }
        if let Some(i) = &self.initrd {
            a.extend(["-initrd".into(), i.display().to_string()]);
        }
        if self.gdb {
            a.extend(["-s".into(), "-S".into()]);
        }
        a
    }
}

pub fn cmd_run(args: &[String]) -> Result<(), String> {
    let mut opts = BuildOpts::default();
    let mut cfg = Config::new(PathBuf::new());
    let mut extra = String::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or(format!("run: {name} needs a value"))
        };
        match a.as_str() {
            "--release" => opts.release = true,
            "--kvm" => cfg.kvm = true,
            "--gdb" => cfg.gdb = true,
            "--smp" => {
                cfg.smp = value("--smp")?
                    .parse()
                    .map_err(|_| "run: --smp takes a number")?
            }
            "--mem" => cfg.mem = value("--mem")?,
            "--append" => extra = value("--append")?,
            "--initrd" => cfg.initrd = Some(PathBuf::from(value("--initrd")?)),
            other => return Err(format!("run: unknown option {other}")),
        }
    }
    crate::setup::ensure_qemu()?;
    cfg.kernel = kbuild::build(opts)?;
    if cfg.initrd.is_none() {
        // The default userland: busybox, bash and Tine's init (see rootfs.rs).
        let init = crate::rootfs::build_init()?;
        cfg.initrd = Some(crate::rootfs::build(&init, &[], "rootfs.cpio")?);
    }
    cfg.append = format!("console=ttyS0 {extra}").trim().to_string();
    if cfg.gdb {
        eprintln!(
            "xtask: QEMU waits for gdb. In another terminal:\n    gdb {} -ex 'target remote localhost:1234'",
            cfg.kernel.display()
        );
    }
    eprintln!("xtask: booting {} (Ctrl-A X quits)", cfg.kernel.display());
    let status = Command::new("qemu-system-x86_64")
        .args(cfg.args())
        .arg("-nographic")
        .status()
        .map_err(|e| format!("cannot run qemu-system-x86_64: {e}"))?;
    // The kernel leaves QEMU with 0 on power-off; isa-debug-exit codes are odd numbers.
    match status.code() {
        Some(0) => Ok(()),
        Some(c) => Err(format!(
            "QEMU exited with status {c} (the kernel panicked or failed to boot)"
        )),
        None => Err("QEMU was killed".into()),
    }
}

/// A QEMU run under test control.
pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    output: Arc<Mutex<Vec<u8>>>,
    pub status: Option<ExitStatus>,
}

impl Session {
    pub fn start(cfg: &Config) -> Result<Session, String> {
        let mut child = Command::new("qemu-system-x86_64")
            .args(cfg.args())
            .args(["-display", "none", "-serial", "stdio", "-monitor", "none"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run qemu-system-x86_64: {e}"))?;
        let output = capture(&mut child);
        let stdin = child.stdin.take();
        Ok(Session {
            child,
            stdin,
            output,
            status: None,
        })
    }

    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).replace('\r', "")
    }

    /// Wait until the console shows `needle` (true), QEMU exits or the deadline passes (false).
    pub fn wait_for(&mut self, needle: &str, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.output().contains(needle) {
                return true;
            }
            if self.poll_exit() {
                return self.output().contains(needle);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Type into the serial console.
    pub fn send(&mut self, text: &str) {
        if let Some(s) = self.stdin.as_mut() {
            let _ = s.write_all(text.as_bytes());
            let _ = s.flush();
        }
    }

    fn poll_exit(&mut self) -> bool {
        if self.status.is_none()
            && let Ok(Some(st)) = self.child.try_wait()
        {
            self.status = Some(st);
            std::thread::sleep(Duration::from_millis(50)); // let the readers drain
        }
        self.status.is_some()
    }

    /// Wait for QEMU to exit; kill it at the deadline. Returns the exit code (None if killed).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.poll_exit() {
                return self.status.and_then(|s| s.code());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Collect a child's stdout and stderr into one buffer, read by background threads; returns
/// the buffer and the reader threads (joined by callers that need every last byte).
pub fn capture_with_readers(
    child: &mut Child,
) -> (Arc<Mutex<Vec<u8>>>, Vec<std::thread::JoinHandle<()>>) {
    let output = Arc::new(Mutex::new(Vec::new()));
    let mut readers = Vec::new();
    let streams = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ];
    for mut stream in streams.into_iter().flatten() {
        let out = Arc::clone(&output);
        readers.push(std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut o) = out.lock() {
                    o.extend_from_slice(&buf[..n]);
                }
            }
        }));
    }
    (output, readers)
}

fn capture(child: &mut Child) -> Arc<Mutex<Vec<u8>>> {
    capture_with_readers(child).0
}
