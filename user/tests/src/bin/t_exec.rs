//! t_exec: execve(2).
//!
//! Run with no arguments. It forks children that execve this same program (found through
//! AT_EXECFN, the path it was itself started with) in "image mode": argv[1] is the marker
//! `--exec-image`, and the new image checks what it received — argv (including an argv[0] that
//! differs from the path), the exact environment, AT_EXECFN, and what execve keeps: the pid, the
//! parent, the umask and the resource limits — and exits with 0 or the number of the first
//! failed check. The parent also checks the errors execve reports while the caller lives on:
//! ENOENT, ENOTDIR, EACCES, EFAULT and E2BIG.
//!
//! Any other command line makes the program exit 99 at once, so that an execve which wrongly
//! succeeds can never start a second copy of the whole test.

use std::ffi::{CStr, CString};

use libc::{c_char, c_int};
use usertests::{Report, Steps, errno, reap, sc, show_status, spawn, spawn_steps};

const MARKER: &str = "--exec-image";
/// What the image-mode run exits with when its command line is not one the test made.
const UNEXPECTED: c_int = 99;

fn execfn() -> Option<CString> {
    // SAFETY: getauxval has no preconditions; AT_EXECFN points at a NUL-terminated string.
    let p = unsafe { libc::getauxval(libc::AT_EXECFN) };
    if p == 0 {
        return None;
    }
    Some(unsafe { CStr::from_ptr(p as *const c_char) }.to_owned())
}

/// execve(path, argv, envp) from Rust strings; returns only on failure, with the errno.
fn execve(path: &CStr, argv: &[&[u8]], envp: &[&[u8]]) -> c_int {
    let argv_c: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(*a).unwrap_or_default())
        .collect();
    let envp_c: Vec<CString> = envp
        .iter()
        .map(|a| CString::new(*a).unwrap_or_default())
        .collect();
    let mut argv_p: Vec<*const c_char> = argv_c.iter().map(|c| c.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const c_char> = envp_c.iter().map(|c| c.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    // SAFETY: all three arrays are NUL-terminated and live until the call returns.
    unsafe { libc::execve(path.as_ptr(), argv_p.as_ptr(), envp_p.as_ptr()) };
    errno()
}

fn getrlimit_nofile() -> (u64, u64) {
    let mut l = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let _ = sc!(
        libc::SYS_prlimit64,
        0,
        libc::RLIMIT_NOFILE,
        0,
        &mut l as *mut libc::rlimit64
    );
    (l.rlim_cur, l.rlim_max)
}

/// The new image's side. Returns the exit status.
fn image_mode(args: &[Vec<u8>]) -> c_int {
    let mut s = Steps::new("t_exec image");
    match image_checks(&mut s, args) {
        Ok(()) => 0,
        Err(n) => n,
    }
}

fn image_checks(s: &mut Steps, args: &[Vec<u8>]) -> Result<(), i32> {
    {
        let want_args: [&[u8]; 4] = [b"renamed-image", MARKER.as_bytes(), b"two words", b""];
        s.t(
            args.iter()
                .map(|a| a.as_slice())
                .eq(want_args.iter().copied()),
            || format!("argv {args:?}"),
        )?;
        let env: Vec<(String, String)> = std::env::vars().collect();
        let val = |k: &str| env.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.clone());
        let keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        s.eq(
            keys,
            vec![
                "TINE_EXEC",
                "TINE_EXEC_PID",
                "TINE_EXEC_PPID",
                "TINE_EXEC_UMASK",
                "TINE_EXEC_NOFILE",
            ],
            "environment keys",
        )?;
        s.eq(val("TINE_EXEC").as_deref(), Some("a=b c"), "TINE_EXEC")?;
        // SAFETY: plain calls.
        let (pid, ppid) = unsafe { (libc::getpid(), libc::getppid()) };
        s.eq(
            val("TINE_EXEC_PID"),
            Some(pid.to_string()),
            "the pid survives execve",
        )?;
        s.eq(
            val("TINE_EXEC_PPID"),
            Some(ppid.to_string()),
            "the parent survives execve",
        )?;
        // SAFETY: umask cannot fail.
        let mask = unsafe { libc::umask(0o022) };
        s.eq(
            val("TINE_EXEC_UMASK"),
            Some(format!("{mask:o}")),
            "the umask survives execve",
        )?;
        let (soft, _) = getrlimit_nofile();
        s.eq(
            val("TINE_EXEC_NOFILE"),
            Some(soft.to_string()),
            "the NOFILE limit survives execve",
        )?;
        let path = execfn().map(|c| c.into_bytes());
        s.t(
            path.as_deref().is_some_and(|p| p.ends_with(b"t_exec")),
            || format!("AT_EXECFN {path:?}"),
        )?;
        // Signals: a handled signal is back to SIG_DFL, an ignored one stays ignored, the
        // blocked mask survives.
        let disposition = |sig: c_int| {
            let mut old = [0u64; 4];
            // SAFETY: queries only; the kernel writes 32 bytes of struct sigaction.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    0usize,
                    old.as_mut_ptr(),
                    8usize,
                )
            };
            (r, old[0])
        };
        s.eq(
            disposition(libc::SIGUSR1),
            (0, 0),
            "a handled signal is reset by execve",
        )?;
        s.eq(
            disposition(libc::SIGUSR2),
            (0, 1),
            "an ignored signal stays ignored",
        )?;
        let mut mask = 0u64;
        // SAFETY: reads the mask into a u64 (sigsetsize 8).
        let r = unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                0,
                0usize,
                &mut mask as *mut u64,
                8usize,
            )
        };
        s.eq(
            (r, mask & (1 << (libc::SIGHUP - 1))),
            (0, 1 << (libc::SIGHUP - 1)),
            "the blocked mask survives execve",
        )?;
        Ok(())
    }
}

fn main() {
    let args: Vec<Vec<u8>> = std::env::args_os()
        .map(|a| a.into_encoded_bytes())
        .collect();
    if args.len() > 1 {
        if args[1] == MARKER.as_bytes() {
            // SAFETY: ends the image with its verdict.
            unsafe { libc::_exit(image_mode(&args)) };
        }
        // SAFETY: as above.
        unsafe { libc::_exit(UNEXPECTED) };
    }

    let mut r = Report::new("t_exec");
    let Some(me) = execfn() else {
        r.fail(
            "at_execfn",
            "AT_EXECFN is missing: cannot find this program",
        );
        r.finish();
    };

    // ---- execve of this program, in a child ----
    let pid = spawn(|| {
        // SAFETY: plain calls.
        let (pid, ppid) = unsafe { (libc::getpid(), libc::getppid()) };
        unsafe { libc::umask(0o037) };
        let (_, hard) = getrlimit_nofile();
        let soft = hard.min(99);
        let l = libc::rlimit64 {
            rlim_cur: soft,
            rlim_max: hard,
        };
        let _ = sc!(
            libc::SYS_prlimit64,
            0,
            libc::RLIMIT_NOFILE,
            &l as *const libc::rlimit64,
            0
        );
        let env = [
            b"TINE_EXEC=a=b c".to_vec(),
            format!("TINE_EXEC_PID={pid}").into_bytes(),
            format!("TINE_EXEC_PPID={ppid}").into_bytes(),
            b"TINE_EXEC_UMASK=37".to_vec(),
            format!("TINE_EXEC_NOFILE={soft}").into_bytes(),
        ];
        let envp: Vec<&[u8]> = env.iter().map(|v| v.as_slice()).collect();
        extern "C" fn on_usr1(_: c_int) {}
        // SAFETY: installs a handler that does nothing, ignores SIGUSR2, blocks SIGHUP.
        unsafe {
            libc::signal(libc::SIGUSR1, on_usr1 as *const () as libc::sighandler_t);
            libc::signal(libc::SIGUSR2, libc::SIG_IGN);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGHUP);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        let e = execve(
            &me,
            &[b"renamed-image", MARKER.as_bytes(), b"two words", b""],
            &envp,
        );
        usertests::diag(&format!(
            "t_exec: execve of itself failed: {}",
            usertests::errname(e)
        ));
        200
    });
    match reap(pid) {
        Ok(0) => r.pass("exec_self"),
        Ok(st) if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 200 => {
            r.fail("exec_self", "execve returned (see stderr)")
        }
        Ok(st) if libc::WIFEXITED(st) => r.fail(
            "exec_self",
            format!(
                "the new image failed check {} (see stderr)",
                libc::WEXITSTATUS(st)
            ),
        ),
        Ok(st) => r.fail("exec_self", show_status(st)),
        Err(e) => r.fail("exec_self", usertests::errname(e)),
    }

    // ---- errors: the caller survives and sees the errno ----
    let args_for = |p: &CStr| vec![p.to_bytes().to_vec(), b"--unexpected".to_vec()];
    let try_exec = |path: &CStr| -> c_int {
        let a = args_for(path);
        let argv: Vec<&[u8]> = a.iter().map(|v| v.as_slice()).collect();
        execve(path, &argv, &[])
    };
    r.eq(
        "enoent",
        usertests::errname(try_exec(c"/nonexistent-tine-dir/t_exec_missing")),
        usertests::errname(libc::ENOENT),
    );
    r.eq(
        "enoent_empty_path",
        usertests::errname(try_exec(c"")),
        usertests::errname(libc::ENOENT),
    );
    let mut through_file = me.clone().into_bytes();
    through_file.extend_from_slice(b"/x");
    let through_file = CString::new(through_file).unwrap_or_default();
    r.eq(
        "enotdir",
        usertests::errname(try_exec(&through_file)),
        usertests::errname(libc::ENOTDIR),
    );
    r.eq(
        "eacces_directory",
        usertests::errname(try_exec(c"/")),
        usertests::errname(libc::EACCES),
    );
    r.err("efault_path", sc!(libc::SYS_execve, 8, 0, 0), libc::EFAULT);
    let argv_bad: [*const c_char; 2] = [8 as *const c_char, std::ptr::null()];
    r.err(
        "efault_argv_string",
        sc!(libc::SYS_execve, me.as_ptr(), argv_bad.as_ptr(), 0),
        libc::EFAULT,
    );

    // One argument longer than MAX_ARG_STRLEN (32 pages): E2BIG. In a child, in case it is
    // wrongly accepted (the new image would then exit UNEXPECTED).
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_exec e2big child");
        let big = vec![b'x'; 200 * 1024];
        let e = execve(&me, &[b"t_exec", &big], &[]);
        s.eq(
            usertests::errname(e),
            usertests::errname(libc::E2BIG),
            "execve with a 200 KiB argument",
        )?;
        Ok(())
    });
    r.child_ok("e2big_long_argument", pid);

    r.finish();
}
