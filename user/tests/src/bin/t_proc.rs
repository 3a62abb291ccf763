//! t_proc: /proc as a process sees it — the /proc/self link, the exe, cwd and fd/N links
//! (including a deleted file and a pipe), the /proc/self/fd listing, /proc/self/stat, comm,
//! status and cmdline (also after prctl(PR_SET_NAME), after setresuid/setresgid and after
//! execve), the stat of another process while it sleeps, as a zombie and after it is reaped, the
//! system-wide files (meminfo, uptime, mounts, version, loadavg, cpuinfo, filesystems), file
//! types, and the errors for writing and creating. Runs as **root**.
//!
//! If /proc/self does not exist the program first mounts proc on /proc itself (Tine's test init
//! does not). Every value is compared with what the program knows by other means — getpid,
//! getcwd, AT_EXECFN, the descriptors it opened (probed with fcntl), its argv, the clocks — never
//! with another /proc file. The expected /proc/self/exe is AT_EXECFN made absolute against the
//! starting directory, with ".", ".." and symbolic links resolved by lstat/readlink.
//!
//! The execve check forks a child that execs this same program with the marker argv[1]
//! `--proc-image`; that image checks its own cmdline, comm and exe and exits with 0 or the number
//! of the first failed step. Any other command line makes the program exit 99 at once. A file
//! `/tmp/t_proc.<pid>.f` is made and removed. System calls are raw (`sc!`).

use std::ffi::{CStr, CString};

use libc::{c_char, c_int, c_long, c_uint, pid_t};
use usertests::{
    Report, Steps, diag, errname, errno, reap, require_root, sc, show, show_status, spawn,
    spawn_steps,
};

const MARKER: &str = "--proc-image";
/// What the image-mode run exits with when its command line is not one the test made.
const UNEXPECTED: c_int = 99;
/// The argv the execve check gives the new image.
const IMAGE_ARGV: [&[u8]; 4] = [b"renamed argv0", MARKER.as_bytes(), b"two words", b""];

fn cs(s: &str) -> CString {
    CString::new(s).expect("path without NUL")
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn open(p: &str, flags: c_int, mode: c_uint) -> Result<c_int, c_int> {
    let c = cs(p);
    sc!(libc::SYS_open, c.as_ptr(), flags, mode).map(|v| v as c_int)
}

fn close(fd: c_int) -> Result<c_long, c_int> {
    sc!(libc::SYS_close, fd)
}

/// Everything readable from `fd`, in reads of at most 1000 bytes (so that the files' read
/// offsets are exercised).
fn read_all(fd: c_int) -> Result<Vec<u8>, c_int> {
    let mut all = Vec::new();
    let mut buf = [0u8; 1000];
    for _ in 0..10_000 {
        let n = sc!(libc::SYS_read, fd, buf.as_mut_ptr(), buf.len())? as usize;
        if n == 0 {
            return Ok(all);
        }
        all.extend_from_slice(&buf[..n]);
    }
    Err(libc::EFBIG)
}

/// The whole contents of a file, read through a fresh descriptor.
fn slurp(p: &str) -> Result<Vec<u8>, c_int> {
    let fd = open(p, libc::O_RDONLY, 0)?;
    let r = read_all(fd);
    let _ = close(fd);
    r
}

/// The contents of a text file, or an explanation of why there are none.
fn text(p: &str) -> Result<String, String> {
    slurp(p)
        .map(|v| lossy(&v))
        .map_err(|e| format!("reading {p}: {}", errname(e)))
}

fn readlink(p: &str) -> Result<String, c_int> {
    let c = cs(p);
    let mut buf = vec![0u8; 4096];
    let n = sc!(libc::SYS_readlink, c.as_ptr(), buf.as_mut_ptr(), buf.len())? as usize;
    buf.truncate(n);
    Ok(lossy(&buf))
}

fn zst() -> libc::stat {
    // SAFETY: struct stat is plain data; all zeros is a valid value.
    unsafe { std::mem::zeroed() }
}

fn stat(p: &str) -> Result<libc::stat, c_int> {
    let c = cs(p);
    let mut st = zst();
    sc!(libc::SYS_stat, c.as_ptr(), &mut st as *mut libc::stat).map(|_| st)
}

fn lstat(p: &str) -> Result<libc::stat, c_int> {
    let c = cs(p);
    let mut st = zst();
    sc!(libc::SYS_lstat, c.as_ptr(), &mut st as *mut libc::stat).map(|_| st)
}

fn file_type(r: Result<libc::stat, c_int>) -> Result<u32, c_int> {
    r.map(|s| s.st_mode & libc::S_IFMT)
}

fn getcwd() -> Result<String, c_int> {
    let mut buf = vec![0u8; 4096];
    let n = sc!(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len())? as usize;
    // The kernel's length counts the terminating NUL.
    buf.truncate(n.saturating_sub(1));
    Ok(lossy(&buf))
}

fn chdir(p: &str) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_chdir, c.as_ptr())
}

fn unlink(p: &str) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_unlink, c.as_ptr())
}

fn set_name(name: &str) -> Result<c_long, c_int> {
    let c = cs(name);
    sc!(libc::SYS_prctl, libc::PR_SET_NAME, c.as_ptr(), 0, 0, 0)
}

/// (pid, ppid, process group, session) by the system calls.
fn ids() -> (pid_t, pid_t, pid_t, pid_t) {
    // SAFETY: plain calls that cannot fail.
    unsafe {
        (
            libc::getpid(),
            libc::getppid(),
            libc::getpgrp(),
            libc::getsid(0),
        )
    }
}

/// (real, effective, saved, fs) uid, or gid if `gid`, by the system calls.
fn cred4(gid: bool) -> [u32; 4] {
    let (mut a, mut b, mut c) = (u32::MAX, u32::MAX, u32::MAX);
    let (get, setfs) = if gid {
        (libc::SYS_getresgid, libc::SYS_setfsgid)
    } else {
        (libc::SYS_getresuid, libc::SYS_setfsuid)
    };
    let _ = sc!(
        get,
        &mut a as *mut u32,
        &mut b as *mut u32,
        &mut c as *mut u32
    );
    // set*fsid with an invalid id changes nothing and returns the current value.
    let fs = sc!(setfs, u32::MAX).map_or(u32::MAX, |v| v as u32);
    [a, b, c, fs]
}

/// The path this program was started with (AT_EXECFN).
fn execfn() -> Option<String> {
    // SAFETY: getauxval has no preconditions; AT_EXECFN points at a NUL-terminated string.
    let p = unsafe { libc::getauxval(libc::AT_EXECFN) };
    if p == 0 {
        return None;
    }
    // SAFETY: as above, the string lives as long as the process.
    Some(lossy(
        unsafe { CStr::from_ptr(p as *const c_char) }.to_bytes(),
    ))
}

/// `path` (absolute) with ".", "..", repeated slashes and symbolic links resolved, the way the
/// kernel names a file in /proc/self/exe; by lstat and readlink only. None if a component does
/// not exist or the links loop.
fn canonical(path: &str) -> Option<String> {
    let mut todo: Vec<String> = path.split('/').rev().map(String::from).collect();
    let mut done: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        let here = format!(
            "/{}",
            done.iter()
                .chain([&c])
                .cloned()
                .collect::<Vec<_>>()
                .join("/")
        );
        let st = lstat(&here).ok()?;
        if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
            links += 1;
            if links > 40 {
                return None;
            }
            let target = readlink(&here).ok()?;
            if target.starts_with('/') {
                done.clear();
            }
            todo.extend(target.split('/').rev().map(String::from));
        } else {
            done.push(c);
        }
    }
    Some(format!("/{}", done.join("/")))
}

/// The first 15 bytes of the last component of `path`: the comm execve gives a process.
fn comm_of(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path).as_bytes();
    lossy(&base[..base.len().min(15)])
}

/// /proc/<pid>/stat split into field 1, field 2 (with its parentheses) and fields 3 onwards.
/// The comm may contain spaces and parentheses, so field 2 ends at the last ')'.
fn parse_stat(t: &str) -> Option<(String, String, Vec<String>)> {
    let open = t.find(" (")?;
    let close = t.rfind(')')?;
    if close < open {
        return None;
    }
    let rest = t[close + 1..]
        .split_whitespace()
        .map(String::from)
        .collect();
    Some((
        t[..open].to_string(),
        t[open + 1..close + 1].to_string(),
        rest,
    ))
}

/// Reads and parses /proc/<who>/stat.
fn proc_stat(who: &str) -> Result<(String, String, Vec<String>), String> {
    let t = text(&format!("/proc/{who}/stat"))?;
    parse_stat(&t).ok_or_else(|| format!("cannot parse {t:?}"))
}

/// The rest of the first line of `t` that starts with `key`.
fn line_value<'a>(t: &'a str, key: &str) -> Option<&'a str> {
    t.lines().find_map(|l| l.strip_prefix(key))
}

/// Whether `t` has the line `want` exactly.
fn has_line(t: &str, want: &str) -> bool {
    t.lines().any(|l| l == want)
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// "<digits> kB" after leading blanks; the number.
fn kb_value(v: &str) -> Option<u64> {
    let n = v.trim_start().strip_suffix(" kB")?;
    if is_digits(n) { n.parse().ok() } else { None }
}

/// "<digits>.<two digits>", as /proc/uptime and /proc/loadavg print; the value in hundredths.
fn centi(s: &str) -> Option<u64> {
    let (i, f) = s.split_once('.')?;
    if !is_digits(i) || !is_digits(f) || f.len() != 2 {
        return None;
    }
    Some(i.parse::<u64>().ok()? * 100 + f.parse::<u64>().ok()?)
}

/// The names in a directory by getdents64 with a buffer of `bufsize` bytes, "." and ".." left
/// out.
fn dir_names(p: &str, bufsize: usize) -> Result<Vec<String>, c_int> {
    let fd = open(p, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    let mut names = Vec::new();
    let mut buf = vec![0u8; bufsize];
    let res = loop {
        let n = match sc!(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) {
            Ok(n) => n as usize,
            Err(e) => break Err(e),
        };
        if n == 0 {
            break Ok(());
        }
        let mut off = 0usize;
        while off + 19 <= n {
            let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
            if reclen < 19 || off + reclen > n {
                break;
            }
            let name = &buf[off + 19..off + reclen];
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            let name = lossy(&name[..end]);
            if name != "." && name != ".." {
                names.push(name);
            }
            off += reclen;
        }
        if names.len() > 100_000 {
            break Err(libc::EFBIG);
        }
    };
    let _ = close(fd);
    res.map(|_| names)
}

/// The descriptors /proc/self/fd lists, sorted (a name that is not a number shows as -1), and
/// the descriptor the listing itself used (open while listing, so listed as well).
fn fd_listing(bufsize: usize) -> Result<Vec<c_int>, c_int> {
    let names = dir_names("/proc/self/fd", bufsize)?;
    let mut fds: Vec<c_int> = names
        .iter()
        .map(|n| {
            if is_digits(n) {
                n.parse().unwrap_or(-1)
            } else {
                -1
            }
        })
        .collect();
    fds.sort_unstable();
    Ok(fds)
}

/// The descriptors open in this process, found with fcntl(F_GETFD) over the descriptor table
/// (up to the RLIMIT_NOFILE soft limit, at most 4096).
fn probe_fds() -> Vec<c_int> {
    let mut l = libc::rlimit64 {
        rlim_cur: 1024,
        rlim_max: 1024,
    };
    let _ = sc!(
        libc::SYS_prlimit64,
        0,
        libc::RLIMIT_NOFILE,
        0,
        &mut l as *mut libc::rlimit64
    );
    let top = l.rlim_cur.min(4096) as c_int;
    (0..top)
        .filter(|&fd| sc!(libc::SYS_fcntl, fd, libc::F_GETFD).is_ok())
        .collect()
}

/// The lowest descriptor not in `open` (where the next open(2) lands).
fn lowest_free(open: &[c_int]) -> c_int {
    (0..).find(|fd| !open.contains(fd)).unwrap_or(0)
}

/// What the program knows about itself, computed before any check.
struct Me {
    /// The path it was started with (AT_EXECFN) made absolute.
    exe_abs: String,
    /// What /proc/self/exe should say.
    exe: String,
    comm: String,
    argv: Vec<Vec<u8>>,
}

/// Mounts proc on /proc unless /proc/self exists; whether /proc/self exists afterwards.
fn mount_proc(r: &mut Report) -> bool {
    if lstat("/proc/self").is_err() {
        // Not mounted (Tine's test init leaves /proc alone): mount it, making /proc if needed.
        let c = cs("/proc");
        let _ = sc!(libc::SYS_mkdir, c.as_ptr(), 0o555);
        let (src, fst) = (cs("proc"), cs("proc"));
        let m = sc!(
            libc::SYS_mount,
            src.as_ptr(),
            c.as_ptr(),
            fst.as_ptr(),
            0,
            0
        );
        if let Err(e) = m {
            diag(&format!("t_proc: mount(proc, /proc): {}", errname(e)));
        }
    }
    let st = lstat("/proc/self");
    if st.is_err() {
        r.fail(
            "proc_mounted",
            format!(
                "lstat(/proc/self) {} even after mounting",
                show(&st.map(|_| ()))
            ),
        );
        return false;
    }
    r.pass("proc_mounted");
    true
}

fn links(r: &mut Report, me: &Me) {
    let (pid, ..) = ids();
    r.eq(
        "self_link_is_pid",
        readlink("/proc/self"),
        Ok(pid.to_string()),
    );
    r.eq(
        "exe_link_is_program",
        readlink("/proc/self/exe"),
        Ok(me.exe.clone()),
    );
    let cwd = getcwd();
    r.check(
        "cwd_link_is_getcwd",
        cwd.is_ok() && readlink("/proc/self/cwd") == cwd,
        || format!("readlink {:?}, getcwd {cwd:?}", readlink("/proc/self/cwd")),
    );
    let ch = chdir("/tmp");
    let cwd = getcwd();
    let link = readlink("/proc/self/cwd");
    r.check(
        "cwd_link_follows_chdir",
        ch.is_ok() && cwd.is_ok() && link == cwd,
        || {
            format!(
                "chdir(/tmp) {}, readlink {link:?}, getcwd {cwd:?}",
                show(&ch)
            )
        },
    );

    // A file under /tmp, then the same file unlinked.
    let cwd = cwd.unwrap_or_else(|_| "/tmp".into());
    let name = format!("t_proc.{pid}.f");
    let path = format!("{cwd}/{name}");
    let _ = unlink(&path);
    let fd = open(
        &path,
        libc::O_CREAT | libc::O_EXCL | libc::O_RDWR | libc::O_CLOEXEC,
        0o600,
    );
    let at = |fd: c_int| format!("/proc/self/fd/{fd}");
    let link = fd.and_then(|fd| readlink(&at(fd)));
    r.eq("fd_link_file", link, Ok(path.clone()));
    let un = unlink(&path);
    let link = fd.and_then(|fd| readlink(&at(fd)));
    let want = format!("{path} (deleted)");
    r.check(
        "fd_link_file_deleted",
        un.is_ok() && link.as_ref() == Ok(&want),
        || format!("unlink {}, readlink {link:?}, want {want:?}", show(&un)),
    );
    if let Ok(fd) = fd {
        let _ = close(fd);
    }

    let mut p = [-1 as c_int; 2];
    let made = sc!(libc::SYS_pipe2, p.as_mut_ptr(), libc::O_CLOEXEC);
    let (a, b) = (readlink(&at(p[0])), readlink(&at(p[1])));
    let pipe_name = |l: &Result<String, c_int>| {
        l.as_ref().is_ok_and(|s| {
            s.strip_prefix("pipe:[")
                .and_then(|s| s.strip_suffix(']'))
                .is_some_and(is_digits)
        })
    };
    r.check(
        "fd_link_pipe",
        made.is_ok() && pipe_name(&a) && pipe_name(&b),
        || format!("pipe2 {}, readlink {a:?} and {b:?}", show(&made)),
    );
    r.check("fd_link_pipe_ends_same_inode", a.is_ok() && a == b, || {
        format!("read end {a:?}, write end {b:?}")
    });
    for fd in p {
        if fd >= 0 {
            let _ = close(fd);
        }
    }
}

fn fd_dir(r: &mut Report) {
    let base = probe_fds();
    let opened_a = open("/dev/null", libc::O_RDONLY | libc::O_CLOEXEC, 0);
    let opened_b = open("/", libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC, 0);
    let (Ok(a), Ok(b)) = (opened_a, opened_b) else {
        r.fail(
            "fd_dir_setup",
            format!("open {} and {}", show(&opened_a), show(&opened_b)),
        );
        return;
    };
    // Open while it is listed: the listing's own descriptor, the lowest free one.
    let mut with_ab = base.clone();
    with_ab.extend([a, b]);
    let lister = lowest_free(&with_ab);
    let mut want = with_ab.clone();
    want.push(lister);
    want.sort_unstable();
    r.eq("fd_dir_lists_open_fds", fd_listing(4096), Ok(want.clone()));
    // A buffer too small for more than two entries at a time: the listing continues where it
    // stopped.
    r.eq("fd_dir_small_buffer", fd_listing(56), Ok(want));

    let _ = close(a);
    let mut with_b = base.clone();
    with_b.push(b);
    let lister = lowest_free(&with_b);
    let mut want = with_b;
    want.push(lister);
    want.sort_unstable();
    r.eq("fd_dir_drops_closed_fd", fd_listing(4096), Ok(want));
    let _ = close(b);
}

fn stat_status(r: &mut Report, me: &Me) {
    let (pid, ppid, pgrp, sid) = ids();
    match proc_stat("self") {
        Ok((f1, f2, rest)) => {
            r.eq("stat_pid", f1, pid.to_string());
            r.eq("stat_comm", f2, format!("({})", me.comm));
            let state = rest.first().cloned().unwrap_or_default();
            r.check(
                "stat_state",
                state.len() == 1 && "RSDZTtWXIP".contains(state.as_str()),
                || format!("state {state:?}"),
            );
            r.eq("stat_ppid", rest.get(1).cloned(), Some(ppid.to_string()));
            r.eq("stat_pgrp", rest.get(2).cloned(), Some(pgrp.to_string()));
            r.eq("stat_session", rest.get(3).cloned(), Some(sid.to_string()));
        }
        Err(why) => {
            for c in [
                "stat_pid",
                "stat_comm",
                "stat_state",
                "stat_ppid",
                "stat_pgrp",
                "stat_session",
            ] {
                r.fail(c, &why);
            }
        }
    }
    r.eq(
        "comm_file",
        text("/proc/self/comm"),
        Ok(format!("{}\n", me.comm)),
    );

    let st = text("/proc/self/status");
    let has = |l: &str| st.as_ref().is_ok_and(|t| has_line(t, l));
    let why = |what: &str| match &st {
        Ok(t) => format!("no line {what:?} in {t:?}"),
        Err(e) => e.clone(),
    };
    for (check, line) in [
        ("status_name", format!("Name:\t{}", me.comm)),
        ("status_pid", format!("Pid:\t{pid}")),
        ("status_ppid", format!("PPid:\t{ppid}")),
        ("status_threads", "Threads:\t1".to_string()),
    ] {
        r.check(check, has(&line), || why(&line));
    }
    let [a, b, c, d] = cred4(false);
    let line = format!("Uid:\t{a}\t{b}\t{c}\t{d}");
    r.check("status_uid", has(&line), || why(&line));
    let [a, b, c, d] = cred4(true);
    let line = format!("Gid:\t{a}\t{b}\t{c}\t{d}");
    r.check("status_gid", has(&line), || why(&line));
    let rss = st
        .as_ref()
        .ok()
        .and_then(|t| line_value(t, "VmRSS:"))
        .map(String::from);
    r.check(
        "status_vmrss",
        rss.as_deref().and_then(kb_value).is_some_and(|v| v > 0),
        || format!("VmRSS value {rss:?}"),
    );

    // A new name by prctl(PR_SET_NAME) shows in comm, stat and status.
    let set = set_name("renamed");
    r.okv("prctl_set_name", set);
    r.eq(
        "comm_file_after_set_name",
        text("/proc/self/comm"),
        Ok("renamed\n".into()),
    );
    r.eq(
        "stat_comm_after_set_name",
        proc_stat("self").map(|(_, f2, _)| f2),
        Ok("(renamed)".into()),
    );
    let st = text("/proc/self/status");
    r.check(
        "status_name_after_set_name",
        st.as_ref().is_ok_and(|t| has_line(t, "Name:\trenamed")),
        || format!("status {st:?}"),
    );
}

/// Forks a child that takes the ids (1000, 1001, 1002) and (2000, 2001, 2002) and checks its
/// Uid/Gid lines, and that an unprivileged process cannot open its status for writing.
fn status_ids(r: &mut Report) {
    fn drop_ids(s: &mut Steps) -> Result<(), i32> {
        s.ok(
            sc!(libc::SYS_setresgid, 2000, 2001, 2002),
            "setresgid(2000, 2001, 2002)",
        )?;
        s.ok(
            sc!(libc::SYS_setresuid, 1000, 1001, 1002),
            "setresuid(1000, 1001, 1002)",
        )?;
        Ok(())
    }
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_proc ids child");
        drop_ids(&mut s)?;
        let st = text("/proc/self/status");
        s.t(st.is_ok(), || format!("status: {st:?}"))?;
        let t = st.unwrap_or_default();
        s.t(has_line(&t, "Uid:\t1000\t1001\t1002\t1001"), || {
            format!("Uid line {:?}", line_value(&t, "Uid:"))
        })?;
        s.t(has_line(&t, "Gid:\t2000\t2001\t2002\t2001"), || {
            format!("Gid line {:?}", line_value(&t, "Gid:"))
        })?;
        Ok(())
    });
    r.child_ok("status_uid_gid_after_setresuid", pid);

    // Only without privileges: root's CAP_DAC_OVERRIDE lets Linux open the 0444 file for
    // writing.
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_proc write child");
        drop_ids(&mut s)?;
        s.err(
            open("/proc/self/status", libc::O_WRONLY, 0),
            libc::EACCES,
            "open(/proc/self/status, O_WRONLY) as uid 1001",
        )?;
        s.err(
            open("/proc/self/stat", libc::O_RDWR, 0),
            libc::EACCES,
            "open(/proc/self/stat, O_RDWR) as uid 1001",
        )?;
        Ok(())
    });
    r.child_ok("status_open_write_eacces", pid);
}

/// The bytes /proc/<pid>/cmdline should hold for `argv`.
fn cmdline_of<A: AsRef<[u8]>>(argv: &[A]) -> Vec<u8> {
    let mut v = Vec::new();
    for a in argv {
        v.extend_from_slice(a.as_ref());
        v.push(0);
    }
    v
}

fn cmdline(r: &mut Report, me: &Me) {
    let got = slurp("/proc/self/cmdline");
    let want = cmdline_of(&me.argv);
    r.check("cmdline_is_argv", got.as_ref() == Ok(&want), || {
        format!(
            "got {:?}, want {:?}",
            got.as_ref().map(|v| lossy(v)),
            lossy(&want)
        )
    });

    // A child renames itself, then execs this program with other arguments: the new image sees
    // its own argv, a comm from the file name, and the same exe.
    let pid = spawn(|| {
        let _ = set_name("pre-exec");
        let argv_c: Vec<CString> = IMAGE_ARGV
            .iter()
            .map(|a| CString::new(*a).unwrap_or_default())
            .collect();
        let env_c = [
            CString::new(format!("TINE_PROC_EXE={}", me.exe)).unwrap_or_default(),
            CString::new(format!("TINE_PROC_COMM={}", me.comm)).unwrap_or_default(),
        ];
        let mut argv_p: Vec<*const c_char> = argv_c.iter().map(|c| c.as_ptr()).collect();
        argv_p.push(std::ptr::null());
        let mut envp_p: Vec<*const c_char> = env_c.iter().map(|c| c.as_ptr()).collect();
        envp_p.push(std::ptr::null());
        let path = cs(&me.exe_abs);
        // SAFETY: the arrays are NULL-terminated and outlive the call.
        unsafe { libc::execve(path.as_ptr(), argv_p.as_ptr(), envp_p.as_ptr()) };
        diag(&format!("t_proc: execve failed: {}", errname(errno())));
        200
    });
    if pid < 0 {
        r.fail("cmdline_after_exec", format!("fork: {}", errname(-pid)));
        return;
    }
    match reap(pid) {
        Ok(0) => r.pass("cmdline_after_exec"),
        Ok(st) if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 200 => {
            r.fail("cmdline_after_exec", "execve returned (see stderr)")
        }
        Ok(st) if libc::WIFEXITED(st) => r.fail(
            "cmdline_after_exec",
            format!(
                "the new image failed step {} (see stderr)",
                libc::WEXITSTATUS(st)
            ),
        ),
        Ok(st) => r.fail("cmdline_after_exec", show_status(st)),
        Err(e) => r.fail("cmdline_after_exec", errname(e)),
    }
}

/// The exec'd image's side: its verdict as an exit status.
fn image_mode() -> c_int {
    let mut s = Steps::new("t_proc image");
    let run = |s: &mut Steps| -> Result<(), i32> {
        let got = slurp("/proc/self/cmdline");
        let want = cmdline_of(&IMAGE_ARGV);
        s.t(got.as_ref() == Ok(&want), || {
            format!("cmdline {:?}", got.as_ref().map(|v| lossy(v)))
        })?;
        let comm = std::env::var("TINE_PROC_COMM").unwrap_or_default();
        s.eq(
            text("/proc/self/comm"),
            Ok(format!("{comm}\n")),
            "comm after execve",
        )?;
        let exe = std::env::var("TINE_PROC_EXE").unwrap_or_default();
        s.eq(readlink("/proc/self/exe"), Ok(exe), "exe after execve")?;
        // SAFETY: cannot fail.
        let pid = unsafe { libc::getpid() };
        s.eq(
            readlink("/proc/self"),
            Ok(pid.to_string()),
            "/proc/self after execve",
        )?;
        Ok(())
    };
    match run(&mut s) {
        Ok(()) => 0,
        Err(n) => n,
    }
}

/// Another process's stat: a child blocked in read(2) sleeps ('S'), then exits and is a zombie
/// ('Z') until reaped, after which /proc/<pid> is gone.
fn child_states(r: &mut Report) {
    let mut p = [-1 as c_int; 2];
    if let Err(e) = sc!(libc::SYS_pipe2, p.as_mut_ptr(), libc::O_CLOEXEC) {
        r.fail("child_states_setup", format!("pipe2: {}", errname(e)));
        return;
    }
    let (rd, wr) = (p[0], p[1]);
    let pid = spawn(|| {
        let _ = close(wr);
        let mut b = [0u8; 1];
        // Blocks until the parent closes its write end.
        let _ = sc!(libc::SYS_read, rd, b.as_mut_ptr(), 1);
        0
    });
    let _ = close(rd);
    if pid < 0 {
        let _ = close(wr);
        r.fail("child_states_setup", format!("fork: {}", errname(-pid)));
        return;
    }
    let me = ids().0;
    let who = pid.to_string();
    // It may take a moment to reach the read: wait up to 2 s for 'S'.
    let mut last = Err(String::new());
    for _ in 0..2000 {
        last = proc_stat(&who);
        if last
            .as_ref()
            .is_ok_and(|(_, _, rest)| rest.first().is_some_and(|s| s == "S"))
        {
            break;
        }
        usertests::sleep_ms(1);
    }
    r.check(
        "child_sleeping_state_s",
        last.as_ref()
            .is_ok_and(|(f1, _, rest)| *f1 == who && rest.first().is_some_and(|s| s == "S")),
        || format!("stat {last:?}"),
    );
    r.check(
        "child_stat_ppid",
        last.as_ref()
            .is_ok_and(|(_, _, rest)| rest.get(1) == Some(&me.to_string())),
        || format!("stat {last:?}, want ppid {me}"),
    );

    let _ = close(wr);
    // Wait for the exit without reaping it.
    // SAFETY: siginfo_t is plain data; zero is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let w = loop {
        let w = sc!(
            libc::SYS_waitid,
            libc::P_PID,
            pid,
            &mut info as *mut libc::siginfo_t,
            libc::WEXITED | libc::WNOWAIT,
            0
        );
        if w != Err(libc::EINTR) {
            break w;
        }
    };
    let z = proc_stat(&who);
    r.check(
        "zombie_state_z",
        w.is_ok()
            && z.as_ref()
                .is_ok_and(|(_, _, rest)| rest.first().is_some_and(|s| s == "Z")),
        || format!("waitid {}, stat {z:?}", show(&w)),
    );
    r.check(
        "zombie_stat_ppid",
        z.as_ref()
            .is_ok_and(|(_, _, rest)| rest.get(1) == Some(&me.to_string())),
        || format!("stat {z:?}, want ppid {me}"),
    );
    let st = reap(pid);
    let gone = lstat(&format!("/proc/{who}")).map(|_| ());
    let gone_stat = open(&format!("/proc/{who}/stat"), libc::O_RDONLY, 0);
    if let Ok(fd) = gone_stat {
        let _ = close(fd);
    }
    r.check(
        "reaped_pid_gone",
        st == Ok(0) && gone == Err(libc::ENOENT) && gone_stat == Err(libc::ENOENT),
        || {
            format!(
                "wait {}, lstat(/proc/<pid>) {}, open(/proc/<pid>/stat) {}",
                show(&st),
                show(&gone),
                show(&gone_stat)
            )
        },
    );
}

fn boottime_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let _ = sc!(
        libc::SYS_clock_gettime,
        libc::CLOCK_BOOTTIME,
        &mut t as *mut libc::timespec
    );
    usertests::ts_ns(&t)
}

fn system_files(r: &mut Report) {
    let mi = text("/proc/meminfo");
    let total = mi
        .as_ref()
        .ok()
        .and_then(|t| line_value(t, "MemTotal:"))
        .and_then(kb_value);
    let free = mi
        .as_ref()
        .ok()
        .and_then(|t| line_value(t, "MemFree:"))
        .and_then(kb_value);
    r.check(
        "meminfo_total_free",
        matches!((total, free), (Some(t), Some(f)) if t > 0 && f <= t),
        || format!("MemTotal {total:?}, MemFree {free:?} in {mi:?}"),
    );

    // Seconds since boot with two decimals (truncated), and the idle time likewise.
    let before = boottime_ns() / 10_000_000;
    let up = text("/proc/uptime");
    let after = boottime_ns() / 10_000_000;
    let fields: Vec<Option<u64>> = up
        .as_ref()
        .map(|t| {
            t.strip_suffix('\n')
                .unwrap_or("-")
                .split(' ')
                .map(centi)
                .collect()
        })
        .unwrap_or_default();
    r.check(
        "uptime_format",
        fields.len() == 2 && fields.iter().all(Option::is_some),
        || format!("uptime {up:?}"),
    );
    let secs = fields.first().copied().flatten();
    r.check(
        "uptime_is_boottime",
        secs.is_some_and(|u| before <= u && u <= after),
        || format!("uptime {up:?}, CLOCK_BOOTTIME {before} to {after} hundredths"),
    );

    let mounts = text("/proc/mounts");
    r.check(
        "mounts_has_proc",
        mounts.as_ref().is_ok_and(|t| {
            t.lines().any(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                f.len() >= 3 && f[1] == "/proc" && f[2] == "proc"
            })
        }),
        || format!("mounts {mounts:?}"),
    );

    let v = text("/proc/version");
    r.check(
        "version_prefix",
        v.as_ref().is_ok_and(|t| t.starts_with("Linux version ")),
        || format!("version {v:?}"),
    );

    // "0.12 0.34 0.56 1/234 5678": three averages, running/total tasks, the last pid.
    let la = text("/proc/loadavg");
    let good = la.as_ref().is_ok_and(|t| {
        let f: Vec<&str> = t.split_whitespace().collect();
        f.len() == 5
            && t.ends_with('\n')
            && f[..3].iter().all(|x| centi(x).is_some())
            && f[3]
                .split_once('/')
                .is_some_and(|(a, b)| is_digits(a) && is_digits(b))
            && is_digits(f[4])
    });
    r.check("loadavg_fields", good, || format!("loadavg {la:?}"));

    let ci = text("/proc/cpuinfo");
    r.check(
        "cpuinfo_processor",
        ci.as_ref()
            .is_ok_and(|t| t.lines().any(|l| l.starts_with("processor"))),
        || format!("cpuinfo {:?}", ci.as_ref().map(|t| t.lines().next())),
    );

    // Lines "nodev\tproc" (or "\tproc" for block file systems).
    let fs = text("/proc/filesystems");
    r.check(
        "filesystems_has_proc",
        fs.as_ref()
            .is_ok_and(|t| t.lines().any(|l| l.rsplit('\t').next() == Some("proc"))),
        || format!("filesystems {fs:?}"),
    );
}

fn types_and_errors(r: &mut Report) {
    r.eq(
        "stat_status_regular",
        file_type(stat("/proc/self/status")),
        Ok(libc::S_IFREG),
    );
    r.eq(
        "stat_fd_directory",
        file_type(stat("/proc/self/fd")),
        Ok(libc::S_IFDIR),
    );
    r.eq(
        "lstat_self_symlink",
        file_type(lstat("/proc/self")),
        Ok(libc::S_IFLNK),
    );
    r.eq(
        "stat_self_directory",
        file_type(stat("/proc/self")),
        Ok(libc::S_IFDIR),
    );
    // Linux answers ENOENT (the lookup in the proc root fails before creation is considered);
    // EACCES (a directory without create) is as good a refusal.
    let c = open(
        "/proc/t_proc_new_file",
        libc::O_CREAT | libc::O_WRONLY | libc::O_EXCL,
        0o644,
    );
    if let Ok(fd) = c {
        let _ = close(fd);
    }
    r.check(
        "create_in_proc_fails",
        matches!(c, Err(libc::ENOENT) | Err(libc::EACCES)),
        || format!("open(O_CREAT) {}", show(&c)),
    );
    let m = sc!(libc::SYS_mkdir, cs("/proc/t_proc_new_dir").as_ptr(), 0o755);
    r.check(
        "mkdir_in_proc_fails",
        matches!(m, Err(libc::ENOENT) | Err(libc::EACCES) | Err(libc::EPERM)),
        || format!("mkdir {}", show(&m)),
    );
}

fn main() {
    let argv: Vec<Vec<u8>> = std::env::args_os()
        .map(|a| a.into_encoded_bytes())
        .collect();
    if argv.len() > 1 {
        let code = if argv[1] == MARKER.as_bytes() {
            image_mode()
        } else {
            UNEXPECTED
        };
        // SAFETY: ends the image with its verdict.
        unsafe { libc::_exit(code) };
    }

    let mut r = require_root(Report::new("t_proc"));
    let Some(started) = execfn() else {
        r.fail("setup", "AT_EXECFN is missing");
        r.finish();
    };
    let exe_abs = if started.starts_with('/') {
        started.clone()
    } else {
        match getcwd() {
            Ok(cwd) => format!("{cwd}/{started}"),
            Err(e) => {
                r.fail("setup", format!("getcwd: {}", errname(e)));
                r.finish();
            }
        }
    };
    let Some(exe) = canonical(&exe_abs) else {
        r.fail("setup", format!("cannot resolve {exe_abs:?}"));
        r.finish();
    };
    let me = Me {
        comm: comm_of(&started),
        exe_abs,
        exe,
        argv,
    };
    if !mount_proc(&mut r) {
        r.finish();
    }

    links(&mut r, &me);
    fd_dir(&mut r);
    stat_status(&mut r, &me);
    status_ids(&mut r);
    cmdline(&mut r, &me);
    child_states(&mut r);
    system_files(&mut r);
    types_and_errors(&mut r);
    r.finish()
}
