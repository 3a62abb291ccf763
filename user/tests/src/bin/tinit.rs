//! tinit: the init (pid 1) of Tine's user-space test runs. It reads `/etc/plan` — one test per
//! line, tab-separated: label, space-separated environment, program path, arguments (an empty
//! field is an empty argument) — runs each test in a child with exactly that argv and
//! environment, brackets its output with `=== begin LABEL` / `=== end LABEL status N`, and
//! powers the machine off when done. `cargo xtask test` runs the same plan on the host and
//! compares the outputs.

use std::ffi::CString;

fn say(s: &str) {
    usertests::write_all(1, s.as_bytes());
}

fn cstrings<'a>(it: impl Iterator<Item = &'a str>) -> Vec<CString> {
    it.map(|s| CString::new(s).unwrap_or_default()).collect()
}

fn run(label: &str, env: &str, path: &str, args: &[&str]) {
    say(&format!("=== begin {label}\n"));
    let path_c = CString::new(path).unwrap_or_default();
    let argv_c = cstrings(std::iter::once(path).chain(args.iter().copied()));
    let envp_c = cstrings(env.split(' ').filter(|e| !e.is_empty()));
    let mut argv: Vec<*const libc::c_char> = argv_c.iter().map(|c| c.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = envp_c.iter().map(|c| c.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: fork has no preconditions; the child only calls execve and _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: argv and envp are NULL-terminated arrays of live C strings.
        unsafe {
            libc::execve(path_c.as_ptr(), argv.as_ptr(), envp.as_ptr());
            libc::_exit(127);
        }
    }
    if pid < 0 {
        say(&format!("=== end {label} fork failed\n"));
        return;
    }
    let mut status = 0;
    // SAFETY: status points at a live int.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    if r != pid {
        say(&format!("=== end {label} waitpid failed\n"));
        return;
    }
    say(&format!("=== end {label} status {status}\n"));
}

fn main() {
    let plan = std::fs::read_to_string("/etc/plan").unwrap_or_default();
    for line in plan.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() < 3 {
            say(&format!("=== bad plan line {line:?}\n"));
            continue;
        }
        run(fields[0], fields[1], fields[2], &fields[3..]);
    }
    // Reap anything left (orphans adopted by init).
    let mut status = 0;
    // SAFETY: status points at a live int.
    while unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } > 0 {}
    // The kernel's invariant checks, now that every program has ended and been reaped.
    usertests::mount_proc("tinit");
    let inv = std::fs::read_to_string("/proc/tine/check")
        .unwrap_or_else(|e| format!("FAIL read: /proc/tine/check: {e}\n"));
    say(&format!("=== invariants\n{inv}=== end invariants\n"));
    say("=== all done\n");
    // SAFETY: reboot only needs the magic numbers; we are pid 1 and root.
    unsafe { libc::reboot(libc::RB_POWER_OFF) };
    // If power-off failed, exit: the kernel reports init's end.
}
