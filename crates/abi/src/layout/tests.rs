//! Tests for the struct encoders: round trips, hand-checked offsets, the init rlimits, and (on an
//! x86-64 Linux host) sizes and field offsets against the host's `libc` definitions.

use super::*;
use crate::wait::WaitStatus;
use proptest::prelude::*;

fn at_i64(b: &[u8], off: usize) -> i64 {
    i64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

fn at_i32(b: &[u8], off: usize) -> i32 {
    i32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

#[test]
fn timespec_and_timeval() {
    let t = Timespec {
        sec: 0x1122_3344_5566_7788,
        nsec: 999_999_999,
    };
    let b = t.to_bytes();
    assert_eq!(b.len(), Timespec::SIZE);
    assert_eq!(at_i64(&b, 0), t.sec);
    assert_eq!(at_i64(&b, 8), t.nsec);
    assert_eq!(Timespec::from_bytes(&b), t);
    assert!(t.is_valid());
    assert!(
        !Timespec {
            sec: 0,
            nsec: 1_000_000_000
        }
        .is_valid()
    );
    assert!(!Timespec { sec: -1, nsec: 0 }.is_valid());
    assert_eq!(Timespec { sec: 2, nsec: 5 }.as_nanos(), Some(2_000_000_005));
    assert_eq!(
        Timespec {
            sec: i64::MAX,
            nsec: 5
        }
        .as_nanos(),
        Some(u64::MAX)
    );
    assert_eq!(
        Timespec::from_nanos(2_000_000_005),
        Timespec { sec: 2, nsec: 5 }
    );
    let v = Timeval { sec: -3, usec: 17 };
    assert_eq!(Timeval::from_bytes(&v.to_bytes()), v);
    assert_eq!(
        Timeval::from_nanos(1_500_002_000),
        Timeval {
            sec: 1,
            usec: 500_002
        }
    );
}

#[test]
fn utsname_fields() {
    let long = [b'n'; 100];
    let u = Utsname::new(
        b"Linux",
        &long,
        b"6.1.0",
        b"#1 SMP",
        b"x86_64",
        b"(none)\0junk",
    );
    let b = u.to_bytes();
    assert_eq!(b.len(), 390);
    assert_eq!(&b[0..6], b"Linux\0");
    assert_eq!(&b[65..65 + 64], &long[..64]);
    assert_eq!(b[65 + 64], 0);
    assert_eq!(&b[130..136], b"6.1.0\0");
    assert_eq!(&b[260..267], b"x86_64\0");
    assert_eq!(&b[325..332], b"(none)\0");
    assert!(b[332..].iter().all(|&c| c == 0));
    assert_eq!(Utsname::default().to_bytes(), [0; 390]);
}

#[test]
fn rlimit_and_init_limits() {
    let r = Rlimit {
        cur: 1024,
        max: RLIM_INFINITY,
    };
    let b = r.to_bytes();
    assert_eq!(u64::from_le_bytes(b[0..8].try_into().unwrap()), 1024);
    assert_eq!(b[8..16], [0xff; 8]);
    assert_eq!(Rlimit::from_bytes(&b), r);

    // 24 GiB of RAM: 6291456 pages / 32 = 196608 threads.
    assert_eq!(max_threads(6_291_456), 196_608);
    assert_eq!(max_threads(0), MIN_THREADS);
    assert_eq!(max_threads(32 * 19), MIN_THREADS);
    assert_eq!(max_threads(32 * 21), 21);
    assert_eq!(max_threads(u64::MAX), MAX_THREADS);
    assert_eq!(max_threads(1 << 51), MAX_THREADS);
    assert_eq!(max_threads((1 << 52) - 1), MAX_THREADS);
    assert_eq!(max_threads(1 << 30), 1 << 25);

    let l = init_rlimits(6_291_456);
    let inf = Rlimit::INFINITY;
    let both = |v| Rlimit { cur: v, max: v };
    assert_eq!(l[RLIMIT_CPU as usize], inf);
    assert_eq!(l[RLIMIT_FSIZE as usize], inf);
    assert_eq!(l[RLIMIT_DATA as usize], inf);
    assert_eq!(
        l[RLIMIT_STACK as usize],
        Rlimit {
            cur: 8 << 20,
            max: RLIM_INFINITY
        }
    );
    assert_eq!(
        l[RLIMIT_CORE as usize],
        Rlimit {
            cur: 0,
            max: RLIM_INFINITY
        }
    );
    assert_eq!(l[RLIMIT_RSS as usize], inf);
    assert_eq!(l[RLIMIT_NPROC as usize], both(98_304));
    assert_eq!(
        l[RLIMIT_NOFILE as usize],
        Rlimit {
            cur: 1024,
            max: 4096
        }
    );
    assert_eq!(l[RLIMIT_MEMLOCK as usize], both(8 << 20));
    assert_eq!(l[RLIMIT_AS as usize], inf);
    assert_eq!(l[RLIMIT_LOCKS as usize], inf);
    assert_eq!(l[RLIMIT_SIGPENDING as usize], both(98_304));
    assert_eq!(l[RLIMIT_MSGQUEUE as usize], both(819_200));
    assert_eq!(l[RLIMIT_NICE as usize], both(0));
    assert_eq!(l[RLIMIT_RTPRIO as usize], both(0));
    assert_eq!(l[RLIMIT_RTTIME as usize], inf);
    assert_eq!(init_rlimits(0)[RLIMIT_NPROC as usize], both(10));
}

#[test]
fn rusage_and_tms() {
    let r = Rusage {
        utime: Timeval { sec: 1, usec: 2 },
        stime: Timeval { sec: 3, usec: 4 },
        maxrss: 5,
        ixrss: 6,
        idrss: 7,
        isrss: 8,
        minflt: 9,
        majflt: 10,
        nswap: 11,
        inblock: 12,
        oublock: 13,
        msgsnd: 14,
        msgrcv: 15,
        nsignals: 16,
        nvcsw: 17,
        nivcsw: 18,
    };
    let b = r.to_bytes();
    for i in 0..18 {
        assert_eq!(at_i64(&b, 8 * i), i as i64 + 1);
    }
    assert_eq!(Rusage::from_bytes(&b), r);
    let t = Tms {
        utime: 1,
        stime: 2,
        cutime: 3,
        cstime: 4,
    };
    let b = t.to_bytes();
    for i in 0..4 {
        assert_eq!(at_i64(&b, 8 * i), i as i64 + 1);
    }
    assert_eq!(Tms::from_bytes(&b), t);
}

#[test]
fn stat_offsets() {
    let s = Stat {
        dev: 0x0101,
        ino: 0x0202,
        nlink: 0x0303,
        mode: 0o100644,
        uid: 0x0505,
        gid: 0x0606,
        rdev: 0x0707,
        size: 0x0808,
        blksize: 4096,
        blocks: 0x0a0a,
        atime: Timespec { sec: 11, nsec: 12 },
        mtime: Timespec { sec: 13, nsec: 14 },
        ctime: Timespec { sec: 15, nsec: 16 },
    };
    let b = s.to_bytes();
    assert_eq!(at_i64(&b, 0), 0x0101);
    assert_eq!(at_i64(&b, 8), 0x0202);
    assert_eq!(at_i64(&b, 16), 0x0303);
    assert_eq!(at_i32(&b, 24), 0o100644);
    assert_eq!(at_i32(&b, 28), 0x0505);
    assert_eq!(at_i32(&b, 32), 0x0606);
    assert_eq!(at_i32(&b, 36), 0);
    assert_eq!(at_i64(&b, 40), 0x0707);
    assert_eq!(at_i64(&b, 48), 0x0808);
    assert_eq!(at_i64(&b, 56), 4096);
    assert_eq!(at_i64(&b, 64), 0x0a0a);
    for (i, off) in [72, 80, 88, 96, 104, 112].into_iter().enumerate() {
        assert_eq!(at_i64(&b, off), 11 + i as i64);
    }
    assert!(b[120..].iter().all(|&c| c == 0));
    assert_eq!(Stat::from_bytes(&b), s);
}

#[test]
fn siginfo_child() {
    let si = Siginfo::child(
        1234,
        1000,
        WaitStatus::Signaled {
            sig: 9,
            core_dumped: false,
        },
        7,
        8,
    );
    let b = si.to_bytes();
    assert_eq!(at_i32(&b, 0), 17);
    assert_eq!(at_i32(&b, 4), 0);
    assert_eq!(at_i32(&b, 8), crate::wait::CLD_KILLED);
    assert_eq!(at_i32(&b, 16), 1234);
    assert_eq!(at_i32(&b, 20), 1000);
    assert_eq!(at_i32(&b, 24), 9);
    assert_eq!(at_i64(&b, 32), 7);
    assert_eq!(at_i64(&b, 40), 8);
    assert!(b[48..].iter().all(|&c| c == 0));
    assert_eq!(Siginfo::child_from_bytes(&b), si);
    let si = Siginfo {
        signo: 11,
        errno: 0,
        code: SEGV_MAPERR,
        fields: SigFields::Fault {
            addr: 0xdead_beef,
            addr_lsb: 0,
        },
    };
    let b = si.to_bytes();
    assert_eq!(at_i64(&b, 16), 0xdead_beef);
    assert_eq!(Siginfo::default().to_bytes(), [0; 128]);
}

proptest! {
    #[test]
    fn stat_round_trip(dev: u64, ino: u64, nlink: u64, mode: u32, uid: u32, gid: u32, rdev: u64,
                       size: i64, blksize: i64, blocks: i64, t in any::<[i64; 6]>()) {
        let s = Stat {
            dev, ino, nlink, mode, uid, gid, rdev, size, blksize, blocks,
            atime: Timespec { sec: t[0], nsec: t[1] },
            mtime: Timespec { sec: t[2], nsec: t[3] },
            ctime: Timespec { sec: t[4], nsec: t[5] },
        };
        prop_assert_eq!(Stat::from_bytes(&s.to_bytes()), s);
    }

    #[test]
    fn decoders_accept_any_bytes(b in any::<[u8; 32]>()) {
        let mut big = [0u8; 144];
        for (i, c) in big.iter_mut().enumerate() {
            *c = b[i % 32].wrapping_mul(i as u8 | 1);
        }
        let st = Stat::from_bytes(&big).to_bytes();
        prop_assert_eq!(&st[..36], &big[..36]);
        prop_assert_eq!(&st[40..120], &big[40..120]);
        prop_assert_eq!(Rusage::from_bytes(&big).to_bytes(), big);
        let mut sb = [0u8; 128];
        sb.copy_from_slice(&big[..128]);
        let _ = Siginfo::child_from_bytes(&sb);
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod host {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn sizes_match_host_libc() {
        assert_eq!(Timespec::SIZE, size_of::<libc::timespec>());
        assert_eq!(Timeval::SIZE, size_of::<libc::timeval>());
        assert_eq!(Utsname::SIZE, size_of::<libc::utsname>());
        assert_eq!(Rlimit::SIZE, size_of::<libc::rlimit>());
        assert_eq!(Rlimit::SIZE, size_of::<libc::rlimit64>());
        assert_eq!(Rusage::SIZE, size_of::<libc::rusage>());
        assert_eq!(Tms::SIZE, size_of::<libc::tms>());
        assert_eq!(Stat::SIZE, size_of::<libc::stat>());
        assert_eq!(Stat::SIZE, size_of::<libc::stat64>());
        assert_eq!(Siginfo::SIZE, size_of::<libc::siginfo_t>());
        assert_eq!(RLIM_INFINITY, libc::RLIM_INFINITY);
        assert_eq!(UTSNAME_FIELD_LEN, size_of::<[libc::c_char; 65]>());
    }

    #[test]
    fn offsets_match_host_libc() {
        assert_eq!(offset_of!(libc::timespec, tv_sec), 0);
        assert_eq!(offset_of!(libc::timespec, tv_nsec), 8);
        assert_eq!(offset_of!(libc::timeval, tv_sec), 0);
        assert_eq!(offset_of!(libc::timeval, tv_usec), 8);

        assert_eq!(offset_of!(libc::utsname, sysname), 0);
        assert_eq!(offset_of!(libc::utsname, nodename), 65);
        assert_eq!(offset_of!(libc::utsname, release), 130);
        assert_eq!(offset_of!(libc::utsname, version), 195);
        assert_eq!(offset_of!(libc::utsname, machine), 260);
        assert_eq!(offset_of!(libc::utsname, domainname), 325);

        assert_eq!(offset_of!(libc::rlimit, rlim_cur), 0);
        assert_eq!(offset_of!(libc::rlimit, rlim_max), 8);

        let ru = [
            offset_of!(libc::rusage, ru_maxrss),
            offset_of!(libc::rusage, ru_ixrss),
            offset_of!(libc::rusage, ru_idrss),
            offset_of!(libc::rusage, ru_isrss),
            offset_of!(libc::rusage, ru_minflt),
            offset_of!(libc::rusage, ru_majflt),
            offset_of!(libc::rusage, ru_nswap),
            offset_of!(libc::rusage, ru_inblock),
            offset_of!(libc::rusage, ru_oublock),
            offset_of!(libc::rusage, ru_msgsnd),
            offset_of!(libc::rusage, ru_msgrcv),
            offset_of!(libc::rusage, ru_nsignals),
            offset_of!(libc::rusage, ru_nvcsw),
            offset_of!(libc::rusage, ru_nivcsw),
        ];
        assert_eq!(offset_of!(libc::rusage, ru_utime), 0);
        assert_eq!(offset_of!(libc::rusage, ru_stime), 16);
        for (i, off) in ru.into_iter().enumerate() {
            assert_eq!(off, 32 + 8 * i, "rusage long {i}");
        }

        assert_eq!(offset_of!(libc::tms, tms_utime), 0);
        assert_eq!(offset_of!(libc::tms, tms_stime), 8);
        assert_eq!(offset_of!(libc::tms, tms_cutime), 16);
        assert_eq!(offset_of!(libc::tms, tms_cstime), 24);

        assert_eq!(offset_of!(libc::stat, st_dev), 0);
        assert_eq!(offset_of!(libc::stat, st_ino), 8);
        assert_eq!(offset_of!(libc::stat, st_nlink), 16);
        assert_eq!(offset_of!(libc::stat, st_mode), 24);
        assert_eq!(offset_of!(libc::stat, st_uid), 28);
        assert_eq!(offset_of!(libc::stat, st_gid), 32);
        assert_eq!(offset_of!(libc::stat, st_rdev), 40);
        assert_eq!(offset_of!(libc::stat, st_size), 48);
        assert_eq!(offset_of!(libc::stat, st_blksize), 56);
        assert_eq!(offset_of!(libc::stat, st_blocks), 64);
        assert_eq!(offset_of!(libc::stat, st_atime), 72);
        assert_eq!(offset_of!(libc::stat, st_atime_nsec), 80);
        assert_eq!(offset_of!(libc::stat, st_mtime), 88);
        assert_eq!(offset_of!(libc::stat, st_mtime_nsec), 96);
        assert_eq!(offset_of!(libc::stat, st_ctime), 104);
        assert_eq!(offset_of!(libc::stat, st_ctime_nsec), 112);

        assert_eq!(offset_of!(libc::siginfo_t, si_signo), 0);
        assert_eq!(offset_of!(libc::siginfo_t, si_errno), 4);
        assert_eq!(offset_of!(libc::siginfo_t, si_code), 8);
    }

    #[test]
    fn constants_match_host_libc() {
        let pairs: [(u32, u32); RLIM_NLIMITS] = [
            (RLIMIT_CPU, libc::RLIMIT_CPU),
            (RLIMIT_FSIZE, libc::RLIMIT_FSIZE),
            (RLIMIT_DATA, libc::RLIMIT_DATA),
            (RLIMIT_STACK, libc::RLIMIT_STACK),
            (RLIMIT_CORE, libc::RLIMIT_CORE),
            (RLIMIT_RSS, libc::RLIMIT_RSS),
            (RLIMIT_NPROC, libc::RLIMIT_NPROC),
            (RLIMIT_NOFILE, libc::RLIMIT_NOFILE),
            (RLIMIT_MEMLOCK, libc::RLIMIT_MEMLOCK),
            (RLIMIT_AS, libc::RLIMIT_AS),
            (RLIMIT_LOCKS, libc::RLIMIT_LOCKS),
            (RLIMIT_SIGPENDING, libc::RLIMIT_SIGPENDING),
            (RLIMIT_MSGQUEUE, libc::RLIMIT_MSGQUEUE),
            (RLIMIT_NICE, libc::RLIMIT_NICE),
            (RLIMIT_RTPRIO, libc::RLIMIT_RTPRIO),
            (RLIMIT_RTTIME, libc::RLIMIT_RTTIME),
        ];
        for (ours, theirs) in pairs {
            assert_eq!(ours, theirs);
        }
        assert_eq!(RUSAGE_SELF, libc::RUSAGE_SELF);
        assert_eq!(RUSAGE_CHILDREN, libc::RUSAGE_CHILDREN);
        assert_eq!(RUSAGE_THREAD, libc::RUSAGE_THREAD);
        assert_eq!(SI_USER, libc::SI_USER);
        assert_eq!(SI_KERNEL, libc::SI_KERNEL);
        assert_eq!(SI_QUEUE, libc::SI_QUEUE);
        assert_eq!(SI_TIMER, libc::SI_TIMER);
        assert_eq!(SI_TKILL, libc::SI_TKILL);
        assert_eq!(BUS_ADRALN, libc::BUS_ADRALN);
        assert_eq!(BUS_ADRERR, libc::BUS_ADRERR);
        assert_eq!(TRAP_BRKPT, libc::TRAP_BRKPT);
        assert_eq!(Timespec::UTIME_NOW, libc::UTIME_NOW);
        assert_eq!(Timespec::UTIME_OMIT, libc::UTIME_OMIT);
    }
}
