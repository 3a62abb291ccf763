//! Checks `abi::layout` and `abi::wait` against what the host Linux kernel really writes: the
//! structs filled by `waitid`, `wait4`, `fstat`, `getrlimit`, `getrusage`, `times`, `uname` and
//! `clock_gettime` are decoded with this crate, and this crate's encodings are read back through
//! the host `libc` types (including the `siginfo_t` union accessors, which need `unsafe`).

#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use abi::layout::*;
use abi::wait::{self, CLD_EXITED, CLD_KILLED, WaitStatus};
use std::mem::{MaybeUninit, size_of};
use std::os::unix::fs::MetadataExt;
use std::process::Command;

/// The bytes of a plain-old-data libc struct.
fn bytes_of<T: Copy, const N: usize>(v: &T) -> [u8; N] {
    assert_eq!(size_of::<T>(), N);
    // SAFETY: T is a libc POD struct of exactly N bytes, fully written by the kernel or zeroed.
    unsafe { std::ptr::read_unaligned((v as *const T).cast::<[u8; N]>()) }
}

/// A libc struct from bytes.
fn from_bytes<T: Copy, const N: usize>(b: &[u8; N]) -> T {
    assert_eq!(size_of::<T>(), N);
    // SAFETY: every bit pattern is valid for these libc POD structs.
    unsafe { std::ptr::read_unaligned(b.as_ptr().cast::<T>()) }
}

fn zeroed<T>() -> T {
    // SAFETY: only used for libc POD structs, for which all-zero is valid.
    unsafe { MaybeUninit::zeroed().assume_init() }
}

/// Starts `sh -c script` and returns its pid; the tests reap it themselves with raw
/// `waitid`/`waitpid`, which is the point.
#[allow(clippy::zombie_processes)]
fn sh(script: &str) -> u32 {
    Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .spawn()
        .expect("spawn /bin/sh")
        .id()
}

fn waitid(pid: u32, options: i32) -> libc::siginfo_t {
    let mut info: libc::siginfo_t = zeroed();
    // SAFETY: valid out pointer.
    let r = unsafe { libc::waitid(libc::P_PID, pid, &mut info, options) };
    assert_eq!(r, 0, "waitid: {}", std::io::Error::last_os_error());
    info
}

fn waitpid(pid: u32, options: i32) -> i32 {
    let mut status = 0;
    // SAFETY: valid out pointer.
    let r = unsafe { libc::waitpid(pid as i32, &mut status, options) };
    assert_eq!(
        r,
        pid as i32,
        "waitpid: {}",
        std::io::Error::last_os_error()
    );
    status
}

#[test]
fn siginfo_encoding_reads_back_through_libc() {
    let ours = Siginfo::child(4321, 1001, WaitStatus::Exited(300), 12, 34);
    let si: libc::siginfo_t = from_bytes(&ours.to_bytes());
    assert_eq!(si.si_signo, libc::SIGCHLD);
    assert_eq!(si.si_errno, 0);
    assert_eq!(si.si_code, libc::CLD_EXITED);
    // SAFETY: reading union members of a fully initialised siginfo_t.
    unsafe {
        assert_eq!(si.si_pid(), 4321);
        assert_eq!(si.si_uid(), 1001);
        assert_eq!(si.si_status(), 300 & 0xff);
        assert_eq!(si.si_utime(), 12);
        assert_eq!(si.si_stime(), 34);
    }
    let fault = Siginfo {
        signo: libc::SIGSEGV,
        errno: 0,
        code: SEGV_ACCERR,
        fields: SigFields::Fault {
            addr: 0x1234_5678_9abc,
            addr_lsb: 0,
        },
    };
    let si: libc::siginfo_t = from_bytes(&fault.to_bytes());
    // SAFETY: as above.
    unsafe { assert_eq!(si.si_addr() as u64, 0x1234_5678_9abc) };
    let kill = Siginfo {
        signo: libc::SIGTERM,
        errno: 0,
        code: SI_USER,
        fields: SigFields::Kill { pid: 77, uid: 88 },
    };
    let si: libc::siginfo_t = from_bytes(&kill.to_bytes());
    // SAFETY: as above.
    unsafe {
        assert_eq!(si.si_pid(), 77);
        assert_eq!(si.si_uid(), 88);
    }
    let rt = Siginfo {
        signo: 40,
        errno: 0,
        code: SI_QUEUE,
        fields: SigFields::Rt {
            pid: 5,
            uid: 6,
            value: 0xfeed,
        },
    };
    let si: libc::siginfo_t = from_bytes(&rt.to_bytes());
    // SAFETY: as above.
    unsafe {
        assert_eq!(si.si_pid(), 5);
        assert_eq!(si.si_value().sival_ptr as u64, 0xfeed);
    }
}

#[test]
fn real_waitid_matches_our_siginfo() {
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    for (script, state, code) in [
        ("exit 7", WaitStatus::Exited(7), CLD_EXITED),
        (
            "kill -9 $$",
            WaitStatus::Signaled {
                sig: 9,
                core_dumped: false,
            },
            CLD_KILLED,
        ),
    ] {
        let pid = sh(script);
        let info = waitid(pid, libc::WEXITED);
        let got = Siginfo::child_from_bytes(&bytes_of(&info));
        let SigFields::Child { utime, stime, .. } = got.fields else {
            unreachable!()
        };
        let want = Siginfo::child(pid as i32, uid, state, utime, stime);
        assert_eq!(got, want, "{script}");
        assert_eq!(got.code, code);
    }
}

#[test]
fn real_wait4_statuses_match_our_encoding() {
    let pid = sh("exit 42");
    assert_eq!(waitpid(pid, 0), wait::exited(42));

    let pid = sh("kill -TERM $$");
    assert_eq!(waitpid(pid, 0), wait::signaled(libc::SIGTERM, false));

    let pid = sh("kill -STOP $$; exit 3");
    let st = waitpid(pid, libc::WUNTRACED);
    assert_eq!(st, wait::stopped(libc::SIGSTOP));
    assert_eq!(
        WaitStatus::decode(st),
        WaitStatus::Stopped {
            sig: libc::SIGSTOP,
            event: 0
        }
    );
    // SAFETY: plain kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGCONT) }, 0);
    assert_eq!(waitpid(pid, libc::WCONTINUED), wait::continued());
    assert_eq!(waitpid(pid, 0), wait::exited(3));
}

#[test]
fn real_fstat_decodes() {
    let path = std::env::current_exe().unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let md = file.metadata().unwrap();
    let mut st: libc::stat = zeroed();
    // SAFETY: valid fd and out pointer.
    assert_eq!(
        unsafe { libc::fstat(std::os::fd::AsRawFd::as_raw_fd(&file), &mut st) },
        0
    );
    let ours = Stat::from_bytes(&bytes_of(&st));
    assert_eq!(ours.dev, md.dev());
    assert_eq!(ours.ino, md.ino());
    assert_eq!(ours.nlink, md.nlink());
    assert_eq!(ours.mode, md.mode());
    assert_eq!(ours.uid, md.uid());
    assert_eq!(ours.gid, md.gid());
    assert_eq!(ours.rdev, md.rdev());
    assert_eq!(ours.size, md.size() as i64);
    assert_eq!(ours.blksize, md.blksize() as i64);
    assert_eq!(ours.blocks, md.blocks() as i64);
    assert_eq!(
        ours.atime,
        Timespec {
            sec: md.atime(),
            nsec: md.atime_nsec()
        }
    );
    assert_eq!(
        ours.mtime,
        Timespec {
            sec: md.mtime(),
            nsec: md.mtime_nsec()
        }
    );
    assert_eq!(
        ours.ctime,
        Timespec {
            sec: md.ctime(),
            nsec: md.ctime_nsec()
        }
    );
    // And our encoding of it is what the kernel wrote, padding and reserved words included.
    assert_eq!(ours.to_bytes(), bytes_of::<_, 144>(&st));
}

#[test]
fn real_rlimits_rusage_times_uname_clock() {
    for res in 0..RLIM_NLIMITS as u32 {
        let mut rl: libc::rlimit = zeroed();
        // SAFETY: valid out pointer.
        assert_eq!(unsafe { libc::getrlimit(res, &mut rl) }, 0);
        let ours = Rlimit::from_bytes(&bytes_of(&rl));
        assert_eq!((ours.cur, ours.max), (rl.rlim_cur, rl.rlim_max));
        assert_eq!(ours.to_bytes(), bytes_of::<_, 16>(&rl));
    }

    let mut ru: libc::rusage = zeroed();
    // SAFETY: valid out pointer.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) }, 0);
    let ours = Rusage::from_bytes(&bytes_of(&ru));
    assert_eq!(
        ours.utime,
        Timeval {
            sec: ru.ru_utime.tv_sec,
            usec: ru.ru_utime.tv_usec
        }
    );
    assert_eq!(
        ours.stime,
        Timeval {
            sec: ru.ru_stime.tv_sec,
            usec: ru.ru_stime.tv_usec
        }
    );
    assert_eq!(ours.maxrss, ru.ru_maxrss);
    assert_eq!(ours.minflt, ru.ru_minflt);
    assert_eq!(ours.nvcsw, ru.ru_nvcsw);
    assert_eq!(ours.nivcsw, ru.ru_nivcsw);
    assert!(ours.maxrss > 0);
    assert_eq!(ours.to_bytes(), bytes_of::<_, 144>(&ru));

    let mut t: libc::tms = zeroed();
    // SAFETY: valid out pointer.
    unsafe { libc::times(&mut t) };
    let ours = Tms::from_bytes(&bytes_of(&t));
    assert_eq!(
        (ours.utime, ours.stime, ours.cutime, ours.cstime),
        (t.tms_utime, t.tms_stime, t.tms_cutime, t.tms_cstime)
    );

    let mut u: libc::utsname = zeroed();
    // SAFETY: valid out pointer.
    assert_eq!(unsafe { libc::uname(&mut u) }, 0);
    let raw: [u8; 390] = bytes_of(&u);
    let field = |i: usize| {
        let f = &raw[i * 65..(i + 1) * 65];
        f[..f.iter().position(|&c| c == 0).unwrap()].to_vec()
    };
    assert_eq!(field(0), b"Linux");
    assert_eq!(field(4), b"x86_64");
    let ours = Utsname::new(
        &field(0),
        &field(1),
        &field(2),
        &field(3),
        &field(4),
        &field(5),
    );
    assert_eq!(ours.to_bytes(), raw);

    let mut ts: libc::timespec = zeroed();
    // SAFETY: valid out pointer.
    assert_eq!(
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) },
        0
    );
    let ours = Timespec::from_bytes(&bytes_of(&ts));
    assert_eq!((ours.sec, ours.nsec), (ts.tv_sec, ts.tv_nsec));
    assert!(ours.is_valid());
}

#[test]
fn real_errno_values() {
    let e = std::fs::File::open("/definitely/not/here").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(abi::Errno::ENOENT.0));
    // SAFETY: close(-1) only sets errno.
    assert_eq!(unsafe { libc::close(-1) }, -1);
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(abi::Errno::EBADF.0)
    );
    // An unassigned syscall number gives ENOSYS, the way the raw return encodes it.
    // SAFETY: syscall 400 is unassigned on x86-64 and has no effect.
    let r = unsafe { libc::syscall(400) };
    assert_eq!(r, -1);
    let err = std::io::Error::last_os_error().raw_os_error().unwrap();
    assert_eq!(abi::Errno(err), abi::Errno::ENOSYS);
    assert_eq!(abi::sysno::name(400), None);
}
