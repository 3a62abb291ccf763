//! tine-init: the first user process (pid 1) of a Tine system booting Debian's static busybox.
//!
//! What it does, in order:
//!
//! 1. Refuses to run unless it is pid 1 (`init: must run as pid 1`, exit status 1).
//! 2. Mounts `proc` on /proc, a `tmpfs` on /tmp (mode 1777) and a `tmpfs` on /run, creating the
//!    directories first (mode 0755). A failure is printed (`init: mount /proc: <strerror>`) and
//!    init carries on: a shell without /proc is more useful than no shell.
//! 3. Sets the hostname from the first line of /etc/hostname, default `tine`.
//! 4. Gives its children a fixed login environment: PATH=/bin:/sbin:/usr/bin:/usr/sbin,
//!    HOME=/root, TERM (kept from init's environment, else vt100), SHELL=/bin/sh, USER=root and
//!    LOGNAME=root.
//! 5. Runs `/bin/sh /etc/rc` if /etc/rc is an executable file, and waits for it.
//! 6. Prints /etc/motd if it exists.
//! 7. Starts a login shell (argv[0] `-sh`) on /dev/console: the program is `tine.shell=PATH` from
//!    /proc/cmdline, default /bin/sh. The child becomes a session leader, takes the console as
//!    its standard streams and controlling terminal, and starts in HOME.
//! 8. Reaps every child forever (orphans are re-parented to pid 1). When the shell exits it is
//!    started again; after 5 exits within 10 seconds init waits 5 seconds first, so a shell that
//!    cannot start does not spin the CPU.
//!
//! 9. Powers off or reboots on request, as busybox's `poweroff`, `reboot` and `halt` ask an init:
//!    SIGUSR2 powers off, SIGTERM reboots, SIGUSR1 halts (powers off too). Init tells every
//!    process to end (SIGTERM, then SIGKILL a second later), syncs and calls reboot(2).
//!    `poweroff -f` skips init and calls reboot(2) itself.
//!
//! Before the shell starts, init prints how long the machine took to get there (the monotonic
//! clock starts at boot), so the boot time of `cargo xtask run` is visible.
//!
//! With TINE_INIT_TEST=1 in the environment, the pid check and the steps that need root (mounts,
//! hostname) are skipped, so init can be tried as an ordinary process on a host.

use std::ffi::{CStr, CString};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::ptr;
use std::thread::sleep;
use std::time::{Duration, Instant};

use libc::{c_char, c_int, pid_t};

const DEFAULT_SHELL: &str = "/bin/sh";
const HOME: &CStr = c"/root";
/// Restart throttling: this many shell exits within `RESPAWN_WINDOW` cause a `RESPAWN_PAUSE`.
const RESPAWN_LIMIT: usize = 5;
const RESPAWN_WINDOW: Duration = Duration::from_secs(10);
const RESPAWN_PAUSE: Duration = Duration::from_secs(5);

/// Prints a line on standard error. pid 1 must not die because the console went away, so write
/// errors are ignored (`eprintln!` would panic on them).
macro_rules! log {
    ($($arg:tt)*) => {{
        let _ = writeln!(io::stderr(), $($arg)*);
    }};
}

/// A program to execute, with everything the child needs allocated before `fork`.
struct Program {
    path: CString,
    argv: Vec<CString>,
}

impl Program {
    fn new(path: &str, argv: &[&str]) -> Self {
        Program {
            path: cstring(path),
            argv: argv.iter().map(|a| cstring(a)).collect(),
        }
    }
}

fn main() {
    let test = std::env::var("TINE_INIT_TEST").is_ok_and(|v| v == "1");
    // SAFETY: getpid has no preconditions and cannot fail.
    if !test && unsafe { libc::getpid() } != 1 {
        log!("init: must run as pid 1");
        std::process::exit(1);
    }
    if !test {
        mount_fs(c"proc", c"/proc", c"proc", None);
        mount_fs(c"devtmpfs", c"/dev", c"devtmpfs", None);
        mount_fs(c"tmpfs", c"/tmp", c"tmpfs", Some(0o1777));
        mount_fs(c"tmpfs", c"/run", c"tmpfs", None);
        set_hostname();
    }
    let env = child_env();
    if !test {
        install_handlers();
    }

    let rc_is_executable =
        fs::metadata("/etc/rc").is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if rc_is_executable {
        let rc = Program::new("/bin/sh", &["/bin/sh", "/etc/rc"]);
        if let Some(pid) = spawn(&rc, &env, false) {
            // Reap whatever exits until rc itself does (or waiting fails: ECHILD).
            loop {
                match wait_any() {
                    Ok((p, _)) if p == pid => break,
                    Ok(_) | Err(libc::EINTR) => {}
                    Err(_) => break,
                }
            }
        }
    }

    if let Ok(motd) = fs::read("/etc/motd") {
        let mut out = io::stdout().lock();
        let _ = out.write_all(&motd).and_then(|()| out.flush());
    }

    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    log!(
        "init: ready {}.{:03} s after boot",
        now.tv_sec,
        now.tv_nsec / 1_000_000
    );

    let path = shell_path();
    let base = path.rsplit('/').next().unwrap_or(&path);
    let shell = Program::new(&path, &[&format!("-{base}")]);
    supervise(&shell, &env)
}

/// Mounts `fstype` from `source` on `target`, creating `target` first; then sets its mode if
/// `mode` is given. Failures are reported and otherwise ignored.
fn mount_fs(source: &CStr, target: &CStr, fstype: &CStr, mode: Option<libc::mode_t>) {
    let name = target.to_string_lossy();
    // SAFETY: `target` is a NUL-terminated string that outlives the call.
    if unsafe { libc::mkdir(target.as_ptr(), 0o755) } != 0 && last_errno() != libc::EEXIST {
        log!("init: mkdir {name}: {}", last_error());
    }
    // SAFETY: all three strings are NUL-terminated and outlive the call; no mount data is passed.
    let (src, dst, fs) = (source.as_ptr(), target.as_ptr(), fstype.as_ptr());
    if unsafe { libc::mount(src, dst, fs, 0, ptr::null()) } != 0 {
        log!("init: mount {name}: {}", last_error());
        return;
    }
    if let Some(mode) = mode {
        // SAFETY: `target` is a NUL-terminated string that outlives the call.
        if unsafe { libc::chmod(target.as_ptr(), mode) } != 0 {
            log!("init: chmod {name}: {}", last_error());
        }
    }
}

/// Sets the hostname from the first line of /etc/hostname, or to `tine`.
fn set_hostname() {
    let name = fs::read_to_string("/etc/hostname")
        .ok()
        .and_then(|s| s.lines().next().map(|l| l.trim().to_owned()))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "tine".to_owned());
    // SAFETY: the pointer and length describe `name`'s live buffer; no NUL terminator is needed.
    if unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) } != 0 {
        log!("init: sethostname {name}: {}", last_error());
    }
}

/// The environment of every child, as `KEY=value` strings.
fn child_env() -> Vec<CString> {
    let term = std::env::var("TERM").ok().filter(|t| !t.is_empty());
    let term = term.as_deref().unwrap_or("vt100");
    [
        ("PATH", "/bin:/sbin:/usr/bin:/usr/sbin"),
        ("HOME", &HOME.to_string_lossy()),
        ("TERM", term),
        ("SHELL", "/bin/sh"),
        ("USER", "root"),
        ("LOGNAME", "root"),
    ]
    .iter()
    .map(|(key, value)| cstring(&format!("{key}={value}")))
    .collect()
}

/// The shell: `tine.shell=PATH` on the kernel command line, else /bin/sh.
fn shell_path() -> String {
    fs::read_to_string("/proc/cmdline")
        .ok()
        .and_then(|c| {
            c.split_whitespace()
                .find_map(|w| w.strip_prefix("tine.shell="))
                .map(str::to_owned)
        })
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| DEFAULT_SHELL.to_owned())
}

/// Forks and executes `prog` with environment `env`. With `console`, the child becomes a
/// session leader with /dev/console as its standard streams and controlling terminal, and
/// starts in HOME. Returns the child's pid, or None if fork failed.
fn spawn(prog: &Program, env: &[CString], console: bool) -> Option<pid_t> {
    let argv = pointers(&prog.argv);
    let envp = pointers(env);
    // SAFETY: init is single-threaded, so the child may do anything the parent could.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        log!("init: fork: {}", last_error());
        return None;
    }
    if pid > 0 {
        return Some(pid);
    }
    // SAFETY: every pointer passed is a NUL-terminated string or a NULL-terminated array of them
    // (`argv`, `envp`) that stays alive until execve or _exit; failures are deliberately ignored
    // except execve's, after which the child exits without returning into init's code.
    unsafe {
        // Rust's runtime ignores SIGPIPE in init; an ignored disposition survives execve.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        if console {
            libc::setsid();
            let fd = libc::open(c"/dev/console".as_ptr(), libc::O_RDWR);
            if fd >= 0 {
                for target in 0..3 {
                    libc::dup2(fd, target);
                }
                if fd > 2 {
                    libc::close(fd);
                }
            }
            libc::ioctl(0, libc::TIOCSCTTY, 0 as c_int);
            libc::chdir(HOME.as_ptr());
        }
        libc::execve(prog.path.as_ptr(), argv.as_ptr(), envp.as_ptr());
        let (path, error) = (prog.path.to_string_lossy(), last_error());
        log!("init: exec {path}: {error}");
        libc::_exit(127)
    }
}

/// Reaps children forever, restarting the shell whenever it exits (or when there are no
/// children at all, e.g. because starting it failed).
fn supervise(shell: &Program, env: &[CString]) -> ! {
    let mut exits: Vec<Instant> = Vec::new();
    let mut shell_pid = spawn(shell, env, true);
    loop {
        let r = wait_any();
        check_shutdown();
        match r {
            Ok((pid, status)) if Some(pid) == shell_pid => {
                let code = exit_code(status);
                log!("init: shell exited with status {code}, starting a new one");
            }
            Ok(_) => continue, // an orphan or a leftover background job
            Err(libc::ECHILD) => log!("init: no children left, starting a shell"),
            Err(libc::EINTR) => continue,
            Err(e) => {
                log!("init: wait4: {}", strerror(e));
                sleep(Duration::from_secs(1));
                continue;
            }
        }
        let now = Instant::now();
        exits.retain(|t| now.duration_since(*t) < RESPAWN_WINDOW);
        exits.push(now);
        if exits.len() >= RESPAWN_LIMIT {
            let secs = RESPAWN_PAUSE.as_secs();
            log!("init: shell restarting too often, waiting {secs} seconds");
            sleep(RESPAWN_PAUSE);
            exits.clear();
        }
        shell_pid = spawn(shell, env, true);
    }
}

/// The shutdown busybox asked for (0: none): what `reboot(2)` is to do.
static SHUTDOWN: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn on_signal(sig: c_int) {
    let cmd = if sig == libc::SIGTERM {
        libc::RB_AUTOBOOT
    } else {
        libc::RB_POWER_OFF
    };
    SHUTDOWN.store(cmd, std::sync::atomic::Ordering::Relaxed);
}

/// SIGUSR1 (halt), SIGUSR2 (poweroff) and SIGTERM (reboot) from busybox; no SA_RESTART, so
/// the signal interrupts wait4 and the loop looks at the request at once.
fn install_handlers() {
    for sig in [libc::SIGUSR1, libc::SIGUSR2, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, ptr::null_mut());
        }
    }
}

/// Carry out a requested shutdown: end every process, sync, power off or reboot.
fn check_shutdown() {
    let cmd = SHUTDOWN.load(std::sync::atomic::Ordering::Relaxed);
    if cmd == 0 {
        return;
    }
    log!("init: the system is going down");
    // SAFETY: plain system calls; kill(-1) spares init itself.
    unsafe {
        libc::kill(-1, libc::SIGTERM);
        sleep(Duration::from_millis(500));
        libc::kill(-1, libc::SIGKILL);
        libc::sync();
        libc::reboot(cmd);
    }
}

/// Waits for any child: its pid and wait status, or the errno.
fn wait_any() -> Result<(pid_t, c_int), c_int> {
    let mut status: c_int = 0;
    // SAFETY: `status` is a valid out-pointer; a NULL rusage pointer is allowed.
    let pid = unsafe { libc::wait4(-1, &mut status, 0, ptr::null_mut()) };
    if pid < 0 {
        Err(last_errno())
    } else {
        Ok((pid, status))
    }
}

/// The shell convention for a wait status: the exit status, or 128 + the signal that killed it.
fn exit_code(status: c_int) -> c_int {
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}

/// `s` as a C string. Interior NULs (only possible in file contents) are dropped, after which
/// the conversion cannot fail.
fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "")).unwrap_or_default()
}

/// A NULL-terminated array of pointers into `strings`, for execve.
fn pointers(strings: &[CString]) -> Vec<*const c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(ptr::null()))
        .collect()
}

fn last_errno() -> c_int {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn last_error() -> String {
    strerror(last_errno())
}

fn strerror(errno: c_int) -> String {
    // SAFETY: strerror returns a NUL-terminated string valid until the next call; init is
    // single-threaded and copies it at once.
    unsafe { CStr::from_ptr(libc::strerror(errno)) }
        .to_string_lossy()
        .into_owned()
}
