//! Shared support for Tine's user-space conformance programs.
//!
//! Every program runs on the host Linux (the oracle) and inside Tine, and the two outputs must
//! agree. The output protocol is one line per check on standard output:
//!
//! ```text
//! ok <program>.<check>
//! not ok <program>.<check>: <why>
//! summary <program> <passed> <failed>
//! ```
//!
//! and the exit status is 0 exactly when every check passed. `ok` lines never contain values that
//! change between runs (pids, times); values appear only in the `not ok` explanations.
//!
//! Output goes straight to `write(2)` on fd 1 so that nothing is ever buffered across a `fork`.
//! Forked children never print on standard output: they report through their exit status (see
//! [`Steps`]) and write diagnostics on standard error, prefixed with `#`.
//!
//! System calls whose Linux behaviour is under test are made through [`libc::syscall`] where
//! musl's wrapper would add work of its own (musl's `set*id` and `setrlimit` wrappers, for
//! example, block signals around a "synccall"), so that the kernel sees exactly the call the check
//! is about.

use core::fmt::{Debug, Display, Write as _};
use libc::{c_int, c_long, pid_t};

/// Writes all of `bytes` to `fd`, retrying on `EINTR` and short writes; gives up silently on any
/// other error (there is nowhere left to report it).
pub fn write_all(fd: c_int, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length describe a live slice.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return;
        }
        if n == 0 {
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

/// Writes a line (without adding a newline) to standard output.
pub fn out(s: &str) {
    write_all(1, s.as_bytes());
}

/// Writes a diagnostic line on standard error, prefixed with `# `.
pub fn diag(s: &str) {
    let mut line = String::with_capacity(s.len() + 3);
    line.push_str("# ");
    line.push_str(s);
    line.push('\n');
    write_all(2, line.as_bytes());
}

/// The calling thread's `errno`.
pub fn errno() -> c_int {
    // SAFETY: musl's `__errno_location` always returns the thread's errno slot.
    unsafe { *libc::__errno_location() }
}

/// Sets the calling thread's `errno` (to clear it before calls such as `getauxval`).
pub fn set_errno(v: c_int) {
    // SAFETY: as in `errno`.
    unsafe { *libc::__errno_location() = v };
}

/// Converts the `-1`/`errno` convention of `libc::syscall` and most libc calls into a `Result`.
pub fn sys(r: c_long) -> Result<c_long, c_int> {
    if r == -1 { Err(errno()) } else { Ok(r) }
}

/// A raw system call, every argument widened to `c_long` (the variadic `libc::syscall` needs
/// full-width arguments), with the result as [`sys`] gives it. Arguments are plain integers or
/// pointers; passing a bad pointer is the point of several checks, and the kernel (not this
/// process) dereferences them.
#[macro_export]
macro_rules! sc {
    ($nr:expr $(, $a:expr)* $(,)?) => {
        $crate::raw_syscall($nr, &[$(($a) as ::libc::c_long),*])
    };
}

/// The function behind [`sc!`]: at most six arguments.
pub fn raw_syscall(nr: c_long, a: &[c_long]) -> Result<c_long, c_int> {
    let g = |i: usize| a.get(i).copied().unwrap_or(0);
    // SAFETY: a system call with integer arguments; whatever the kernel does with pointers among
    // them, it validates them (EFAULT) rather than this process touching them. The calls that
    // change the process (exit, execve, set*id) are what the checks ask for.
    let r = unsafe { libc::syscall(nr, g(0), g(1), g(2), g(3), g(4), g(5)) };
    sys(r)
}

/// The symbolic name of an errno value, for explanations.
pub fn errname(e: c_int) -> String {
    let name = match e {
        0 => "0",
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::ECHILD => "ECHILD",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EEXIST => "EEXIST",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::EMFILE => "EMFILE",
        libc::ERANGE => "ERANGE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        _ => return format!("errno {e}"),
    };
    name.to_string()
}

/// Describes a `Result` from [`sys`] for an explanation.
pub fn show<T: Debug>(r: &Result<T, c_int>) -> String {
    match r {
        Ok(v) => format!("Ok({v:?})"),
        Err(e) => format!("Err({})", errname(*e)),
    }
}

/// Describes a wait status the way a person reads it.
pub fn show_status(status: c_int) -> String {
    if libc::WIFEXITED(status) {
        format!("exited {} (raw {status:#x})", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!(
            "killed by signal {} (raw {status:#x})",
            libc::WTERMSIG(status)
        )
    } else {
        format!("raw status {status:#x}")
    }
}

/// The running tally of one program's checks.
pub struct Report {
    prog: &'static str,
    passed: u32,
    failed: u32,
    quiet: bool,
}

impl Report {
    pub fn new(prog: &'static str) -> Self {
        Report {
            prog,
            passed: 0,
            failed: 0,
            quiet: false,
        }
    }

    /// A tally that prints no check lines (a failure becomes a `#` line on standard error): for
    /// re-running checks whose lines were already printed (t_vm repeats its scenarios when a
    /// noisy measurement must be taken again).
    pub fn quiet(prog: &'static str) -> Self {
        Report {
            quiet: true,
            ..Report::new(prog)
        }
    }

    pub fn prog(&self) -> &'static str {
        self.prog
    }

    pub fn pass(&mut self, check: &str) {
        self.passed += 1;
        if !self.quiet {
            out(&format!("ok {}.{}\n", self.prog, check));
        }
    }

    pub fn fail(&mut self, check: &str, why: impl Display) {
        self.failed += 1;
        let mut line = format!("not ok {}.{}: ", self.prog, check);
        let mut why_s = String::new();
        let _ = write!(why_s, "{why}");
        // One line per check, whatever the explanation contains.
        line.extend(why_s.chars().map(|c| if c == '\n' { ' ' } else { c }));
        if self.quiet {
            diag(&format!("repeated: {line}"));
        } else {
            line.push('\n');
            out(&line);
        }
    }

    /// Counts a check whose line another process (a grandchild) has already printed.
    pub fn count(&mut self, passed: bool) {
        if passed {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
    }

    /// Passes if `cond`, else fails with the explanation `why()` (only computed on failure).
    pub fn check(&mut self, check: &str, cond: bool, why: impl FnOnce() -> String) {
        if cond {
            self.pass(check);
        } else {
            self.fail(check, why());
        }
    }

    /// Passes if `got == want`.
    pub fn eq<T: PartialEq + Debug>(&mut self, check: &str, got: T, want: T) {
        let good = got == want;
        self.check(check, good, || format!("got {got:?}, want {want:?}"));
    }

    /// Passes if `r` is an error with errno `want`.
    pub fn err<T: Debug>(&mut self, check: &str, r: Result<T, c_int>, want: c_int) {
        let good = matches!(r, Err(e) if e == want);
        self.check(check, good, || {
            format!("got {}, want Err({})", show(&r), errname(want))
        });
    }

    /// Passes if `r` succeeded; returns the value.
    pub fn okv<T: Debug>(&mut self, check: &str, r: Result<T, c_int>) -> Option<T> {
        match r {
            Ok(v) => {
                self.pass(check);
                Some(v)
            }
            Err(e) => {
                self.fail(check, format!("failed with {}", errname(e)));
                None
            }
        }
    }

    /// Waits for the child `pid` (made by [`spawn`]) and passes if it exited with status 0. A
    /// child built with [`Steps`] exits with the number of its first failed step, and has
    /// written what that step was on standard error.
    pub fn child_ok(&mut self, check: &str, pid: pid_t) -> bool {
        if pid < 0 {
            self.fail(check, format!("fork failed: {}", errname(-pid)));
            return false;
        }
        match reap(pid) {
            Ok(0) => {
                self.pass(check);
                true
            }
            Ok(st) if libc::WIFEXITED(st) => {
                self.fail(
                    check,
                    format!(
                        "child failed at step {} (see stderr)",
                        libc::WEXITSTATUS(st)
                    ),
                );
                false
            }
            Ok(st) => {
                self.fail(check, format!("child {}", show_status(st)));
                false
            }
            Err(e) => {
                self.fail(check, format!("waitpid failed: {}", errname(e)));
                false
            }
        }
    }

    /// Prints the summary line and exits: status 0 if nothing failed, 1 otherwise.
    pub fn finish(self) -> ! {
        out(&format!(
            "summary {} {} {}\n",
            self.prog, self.passed, self.failed
        ));
        let code = if self.failed == 0 { 0 } else { 1 };
        // SAFETY: plain process exit; nothing is buffered (all output went through write(2)).
        unsafe { libc::exit(code) }
    }
}

/// Numbered steps inside a forked child. The first failing step writes a diagnostic on standard
/// error and makes the child exit with the step's number (1..=250), which [`Report::child_ok`]
/// reports. Use as `let mut s = Steps::new("t_x child"); s.t(cond, || ...)?;` inside a closure
/// returning `Result<(), i32>`, and hand that closure to [`spawn_steps`].
pub struct Steps {
    who: &'static str,
    n: i32,
}

impl Steps {
    pub fn new(who: &'static str) -> Self {
        Steps { who, n: 0 }
    }

    /// One step: passes if `cond`, else fails the child with this step's number.
    pub fn t(&mut self, cond: bool, what: impl FnOnce() -> String) -> Result<(), i32> {
        self.n += 1;
        if cond {
            Ok(())
        } else {
            diag(&format!("{} step {}: {}", self.who, self.n, what()));
            Err(self.n.min(250))
        }
    }

    /// A step that expects `r` to succeed; returns its value.
    pub fn ok<T: Debug>(&mut self, r: Result<T, c_int>, what: &str) -> Result<T, i32> {
        self.n += 1;
        match r {
            Ok(v) => Ok(v),
            Err(e) => {
                diag(&format!(
                    "{} step {}: {what}: failed with {}",
                    self.who,
                    self.n,
                    errname(e)
                ));
                Err(self.n.min(250))
            }
        }
    }

    /// A step that expects `r` to fail with errno `want`.
    pub fn err<T: Debug>(
        &mut self,
        r: Result<T, c_int>,
        want: c_int,
        what: &str,
    ) -> Result<(), i32> {
        self.n += 1;
        match r {
            Err(e) if e == want => Ok(()),
            _ => {
                diag(&format!(
                    "{} step {}: {what}: got {}, want Err({})",
                    self.who,
                    self.n,
                    show(&r),
                    errname(want)
                ));
                Err(self.n.min(250))
            }
        }
    }

    /// A step that expects `got == want`.
    pub fn eq<T: PartialEq + Debug>(&mut self, got: T, want: T, what: &str) -> Result<(), i32> {
        let good = got == want;
        self.t(good, || format!("{what}: got {got:?}, want {want:?}"))
    }
}

/// An anonymous mapping chosen by the kernel; null when mmap fails (errno says why).
pub fn map_anon(len: usize, prot: c_int, flags: c_int) -> *mut u8 {
    // SAFETY: no address is requested, so nothing already mapped is replaced.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            prot,
            flags | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        p.cast()
    }
}

/// `fork(2)` through musl. Returns the child's pid in the parent, 0 in the child, `-errno` on
/// failure.
pub fn fork() -> pid_t {
    // SAFETY: the programs are single-threaded, so the child may run arbitrary code.
    let pid = unsafe { libc::fork() };
    if pid < 0 { -errno() } else { pid }
}

/// Forks a child that runs `f` and `_exit`s with its result. Returns the child's pid, or
/// `-errno` if fork failed (never returns in the child).
pub fn spawn(f: impl FnOnce() -> i32) -> pid_t {
    let pid = fork();
    if pid == 0 {
        let code = f();
        // SAFETY: ends the child without running the parent's exit-time code.
        unsafe { libc::_exit(code) }
    }
    pid
}

/// Forks a child running a [`Steps`] closure: exit status 0 if it returned `Ok`, else the
/// number of the failed step.
pub fn spawn_steps(f: impl FnOnce() -> Result<(), i32>) -> pid_t {
    spawn(|| match f() {
        Ok(()) => 0,
        Err(n) => n,
    })
}

/// `waitpid(pid, &status, options)`; returns `(pid, status)`.
pub fn waitpid(pid: pid_t, options: c_int) -> Result<(pid_t, c_int), c_int> {
    let mut status: c_int = 0;
    loop {
        // SAFETY: `status` is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, options) };
        if r == -1 && errno() == libc::EINTR {
            continue;
        }
        return if r == -1 {
            Err(errno())
        } else {
            Ok((r, status))
        };
    }
}

/// Waits for the given child and returns its wait status.
pub fn reap(pid: pid_t) -> Result<c_int, c_int> {
    match waitpid(pid, 0) {
        Ok((got, st)) if got == pid => Ok(st),
        Ok((got, _)) => {
            diag(&format!("waitpid({pid}) returned {got}"));
            Err(libc::EINVAL)
        }
        Err(e) => Err(e),
    }
}

/// A `timespec` from nanoseconds.
pub fn ts(ns: u64) -> libc::timespec {
    libc::timespec {
        tv_sec: (ns / 1_000_000_000) as _,
        tv_nsec: (ns % 1_000_000_000) as _,
    }
}

/// Nanoseconds in a `timespec` (which must not be negative).
pub fn ts_ns(t: &libc::timespec) -> u64 {
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Nanoseconds in a `timeval`.
pub fn tv_ns(t: &libc::timeval) -> u64 {
    t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1000
}

/// CLOCK_MONOTONIC in nanoseconds (through libc, so the vDSO on Linux).
pub fn mono_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    ts_ns(&t)
}

/// Sleeps at least `ms` milliseconds with nanosleep(2), resuming after EINTR.
pub fn sleep_ms(ms: u64) {
    let mut req = ts(ms * 1_000_000);
    loop {
        let mut rem = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: valid pointers.
        let r = unsafe { libc::nanosleep(&req, &mut rem) };
        if r == -1 && errno() == libc::EINTR {
            req = rem;
            continue;
        }
        return;
    }
}

/// Spins in user mode until `ms` milliseconds of CLOCK_MONOTONIC have passed; returns the
/// nanoseconds actually spun.
pub fn busy_ms(ms: u64) -> u64 {
    let start = mono_ns();
    let mut x: u64 = 1;
    loop {
        for _ in 0..10_000 {
            x = core::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let now = mono_ns();
        if now - start >= ms * 1_000_000 {
            return now - start;
        }
    }
}

/// Reads until `buf` is full or end of file (EINTR retried, another error ends it); returns
/// the byte count.
pub fn read_full(fd: c_int, buf: &mut [u8]) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match sc!(libc::SYS_read, fd, buf[got..].as_mut_ptr(), buf.len() - got) {
            Ok(0) => break,
            Ok(n) => got += n as usize,
            Err(libc::EINTR) => continue,
            Err(_) => break,
        }
    }
    got
}

/// Mount procfs on /proc unless it is there already (Tine's test init does not mount it);
/// a failure is reported on stderr under `program`'s name.
pub fn mount_proc(program: &str) {
    if std::fs::metadata("/proc/self/status").is_ok() {
        return;
    }
    let dir = c"/proc";
    let _ = sc!(libc::SYS_mkdir, dir.as_ptr(), 0o555);
    let fs = c"proc";
    if let Err(e) = sc!(
        libc::SYS_mount,
        fs.as_ptr(),
        dir.as_ptr(),
        fs.as_ptr(),
        0,
        0
    ) {
        diag(&format!("{program}: mount(proc, /proc): {}", errname(e)));
    }
}

/// Returns the report when the effective uid is 0; otherwise reports the program as failed and
/// exits (the root-only programs are meant to run as root, on the host and in Tine).
pub fn require_root(r: Report) -> Report {
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid == 0 {
        return r;
    }
    let mut r = r;
    r.fail(
        "root",
        format!("this program must run as root (euid is {euid})"),
    );
    r.finish()
}

/// Whether the calling process has capability `cap` in its effective set, by `capget(2)`.
/// `None` if capget itself is not available (ENOSYS), which Tine's early kernels may answer.
pub fn has_effective_cap(cap: u32) -> Option<bool> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut hdr = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    match sc!(libc::SYS_capget, &mut hdr as *mut Header, data.as_mut_ptr()) {
        Ok(_) => {
            let word = data[(cap / 32) as usize].effective;
            Some(word & (1 << (cap % 32)) != 0)
        }
        Err(_) => None,
    }
}
