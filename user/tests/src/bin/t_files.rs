//! t_files: regular files and file descriptors — open/openat/creat flags and errors, the file
//! mode under umask, read/write/pread64/pwrite64/readv/writev, lseek and holes, dup/dup2/dup3 and
//! fcntl descriptor and status flags, the offset shared by duplicated descriptors and across
//! fork, ftruncate/truncate, stat/fstat/lstat/newfstatat fields, utimensat, chmod and chown
//! (**root**), access/faccessat for an unprivileged uid, RLIMIT_NOFILE, and /dev/null, /dev/zero,
//! /dev/full, /dev/urandom.
//!
//! Everything happens in a private directory, /tmp/t_files.<pid>, which the program makes (after
//! removing any leftover of an earlier run with the same pid), works in as its current directory
//! and removes at the end. Identity changes and the lowered RLIMIT_NOFILE happen in forked
//! children (see `usertests::Steps`). System calls are raw (`sc!`), so that the kernel sees
//! exactly the call each check is about.

use libc::{c_int, c_long, c_uint};
use std::ffi::CString;
use usertests::{Report, Steps, errname, require_root, sc, show, spawn_steps};

fn cs(s: &str) -> CString {
    CString::new(s).expect("path without NUL")
}

fn open(p: &str, flags: c_int, mode: c_uint) -> Result<c_int, c_int> {
    let c = cs(p);
    sc!(libc::SYS_open, c.as_ptr(), flags, mode).map(|v| v as c_int)
}

fn openat(dfd: c_int, p: &str, flags: c_int, mode: c_uint) -> Result<c_int, c_int> {
    let c = cs(p);
    sc!(libc::SYS_openat, dfd, c.as_ptr(), flags, mode).map(|v| v as c_int)
}

fn creat(p: &str, mode: c_uint) -> Result<c_int, c_int> {
    let c = cs(p);
    sc!(libc::SYS_creat, c.as_ptr(), mode).map(|v| v as c_int)
}

fn close(fd: c_int) -> Result<c_long, c_int> {
    sc!(libc::SYS_close, fd)
}

fn write(fd: c_int, b: &[u8]) -> Result<usize, c_int> {
    sc!(libc::SYS_write, fd, b.as_ptr(), b.len()).map(|v| v as usize)
}

fn read(fd: c_int, n: usize) -> Result<Vec<u8>, c_int> {
    let mut v = vec![0u8; n];
    let got = sc!(libc::SYS_read, fd, v.as_mut_ptr(), n)? as usize;
    v.truncate(got);
    Ok(v)
}

fn pread(fd: c_int, n: usize, off: i64) -> Result<Vec<u8>, c_int> {
    let mut v = vec![0u8; n];
    let got = sc!(libc::SYS_pread64, fd, v.as_mut_ptr(), n, off)? as usize;
    v.truncate(got);
    Ok(v)
}

fn pwrite(fd: c_int, b: &[u8], off: i64) -> Result<usize, c_int> {
    sc!(libc::SYS_pwrite64, fd, b.as_ptr(), b.len(), off).map(|v| v as usize)
}

fn lseek(fd: c_int, off: i64, whence: c_int) -> Result<i64, c_int> {
    sc!(libc::SYS_lseek, fd, off, whence)
}

fn fcntl(fd: c_int, cmd: c_int, arg: c_long) -> Result<c_long, c_int> {
    sc!(libc::SYS_fcntl, fd, cmd, arg)
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

fn fstat(fd: c_int) -> Result<libc::stat, c_int> {
    let mut st = zst();
    sc!(libc::SYS_fstat, fd, &mut st as *mut libc::stat).map(|_| st)
}

fn fstatat(dfd: c_int, p: &str, flags: c_int) -> Result<libc::stat, c_int> {
    let c = cs(p);
    let mut st = zst();
    sc!(
        libc::SYS_newfstatat,
        dfd,
        c.as_ptr(),
        &mut st as *mut libc::stat,
        flags
    )
    .map(|_| st)
}

/// st_mode of a path (following symlinks), or 0 if stat fails.
fn mode_of(p: &str) -> u32 {
    stat(p).map_or(0, |s| s.st_mode)
}

fn size_of_fd(fd: c_int) -> i64 {
    fstat(fd).map_or(-1, |s| s.st_size)
}

fn umask(m: u32) -> c_long {
    sc!(libc::SYS_umask, m).unwrap_or(-1)
}

fn mkdir(p: &str, mode: c_uint) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_mkdir, c.as_ptr(), mode)
}

fn symlink(target: &str, p: &str) -> Result<c_long, c_int> {
    let (t, c) = (cs(target), cs(p));
    sc!(libc::SYS_symlink, t.as_ptr(), c.as_ptr())
}

fn chmod(p: &str, mode: c_uint) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_chmod, c.as_ptr(), mode)
}

fn access(p: &str, m: c_int) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_access, c.as_ptr(), m)
}

fn faccessat(dfd: c_int, p: &str, m: c_int) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_faccessat, dfd, c.as_ptr(), m)
}

fn truncate(p: &str, len: i64) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_truncate, c.as_ptr(), len)
}

fn utimensat(
    dfd: c_int,
    p: Option<&str>,
    t: Option<[libc::timespec; 2]>,
    flags: c_int,
) -> Result<c_long, c_int> {
    let c = p.map(cs);
    let pp = c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    let tp = t.as_ref().map_or(std::ptr::null(), |t| t.as_ptr());
    sc!(libc::SYS_utimensat, dfd, pp, tp, flags)
}

fn tspec(sec: i64, nsec: i64) -> libc::timespec {
    libc::timespec {
        tv_sec: sec as _,
        tv_nsec: nsec as _,
    }
}

/// (atime, atime_nsec, mtime, mtime_nsec) of a stat result.
fn times(st: &libc::stat) -> (i64, i64, i64, i64) {
    (st.st_atime, st.st_atime_nsec, st.st_mtime, st.st_mtime_nsec)
}

/// The whole contents of a file, read through a fresh descriptor.
fn contents(p: &str) -> Result<Vec<u8>, c_int> {
    let fd = open(p, libc::O_RDONLY, 0)?;
    let mut all = Vec::new();
    loop {
        match read(fd, 4096) {
            Ok(v) if v.is_empty() => break,
            Ok(v) => all.extend_from_slice(&v),
            Err(e) => {
                let _ = close(fd);
                return Err(e);
            }
        }
    }
    close(fd)?;
    Ok(all)
}

/// Creates (or truncates) `p` with `data`, then sets its mode exactly (independent of umask).
fn put(p: &str, data: &[u8], mode: c_uint) -> Result<(), c_int> {
    let fd = open(p, libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC, mode)?;
    let w = write(fd, data);
    close(fd)?;
    if w? != data.len() {
        return Err(libc::EIO);
    }
    chmod(p, mode)?;
    Ok(())
}

/// Removes a path and, for a directory, everything below it (using getdents64); quiet.
fn rm_rf(p: &str) {
    let Ok(st) = lstat(p) else { return };
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        let c = cs(p);
        let _ = sc!(libc::SYS_unlink, c.as_ptr());
        return;
    }
    if let Ok(fd) = open(p, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0) {
        let mut names = Vec::new();
        let mut buf = vec![0u8; 8192];
        while let Ok(n) = sc!(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) {
            if n <= 0 {
                break;
            }
            let mut off = 0usize;
            while off < n as usize {
                let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
                let name = &buf[off + 19..off + reclen];
                let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
                let name = String::from_utf8_lossy(&name[..end]).into_owned();
                if name != "." && name != ".." {
                    names.push(name);
                }
                if reclen == 0 {
                    break;
                }
                off += reclen;
            }
        }
        let _ = close(fd);
        for n in names {
            rm_rf(&format!("{p}/{n}"));
        }
    }
    let c = cs(p);
    let _ = sc!(libc::SYS_rmdir, c.as_ptr());
}

const MODE_BITS: u32 = 0o7777;

fn creation(r: &mut Report) {
    // O_CREAT|O_EXCL: creates once, EEXIST the second time.
    let fd = r.okv(
        "open_creat_excl",
        open("a", libc::O_CREAT | libc::O_EXCL | libc::O_RDWR, 0o644),
    );
    r.err(
        "open_creat_excl_eexist",
        open("a", libc::O_CREAT | libc::O_EXCL | libc::O_RDWR, 0o644),
        libc::EEXIST,
    );
    if let Some(fd) = fd {
        let _ = write(fd, b"hello");
        let _ = close(fd);
    }
    // O_CREAT on an existing file opens it: no truncation, the mode argument is ignored.
    let again = open("a", libc::O_CREAT | libc::O_RDWR, 0o600);
    let (c, m) = (contents("a"), mode_of("a"));
    r.check(
        "open_creat_existing_keeps",
        again.is_ok() && c.as_deref() == Ok(&b"hello"[..]) && m == libc::S_IFREG | 0o644,
        || format!("open {}, contents {c:?}, mode {m:o}", show(&again)),
    );
    if let Ok(fd) = again {
        let _ = close(fd);
    }

    // The creation mode is mode & ~umask.
    let old = umask(0o027);
    r.eq("umask_returns_old", old, 0o022);
    let u1 = open("u1", libc::O_CREAT | libc::O_WRONLY, 0o666);
    let m = u1.and_then(fstat).map(|s| s.st_mode);
    r.eq("create_mode_umask_open", m, Ok(libc::S_IFREG | 0o640));
    let u2 = creat("u2", 0o777);
    let m = u2.and_then(fstat).map(|s| s.st_mode);
    r.eq("create_mode_umask_creat", m, Ok(libc::S_IFREG | 0o750));
    umask(0);
    let u3 = openat(libc::AT_FDCWD, "u3", libc::O_CREAT | libc::O_RDONLY, 0o604);
    let m = u3.and_then(fstat).map(|s| s.st_mode);
    r.eq(
        "create_mode_umask_zero_openat",
        m,
        Ok(libc::S_IFREG | 0o604),
    );
    let back = umask(0o022);
    r.eq("umask_returns_zero", back, 0);
    for fd in [u1, u2, u3].into_iter().flatten() {
        let _ = close(fd);
    }

    // openat relative to a directory descriptor, and with bad ones.
    let _ = mkdir("sub", 0o755);
    let dfd = open("sub", libc::O_RDONLY | libc::O_DIRECTORY, 0);
    let inner = dfd.and_then(|d| openat(d, "inner", libc::O_CREAT | libc::O_WRONLY, 0o644));
    let m = mode_of("sub/inner");
    r.check(
        "openat_dirfd",
        inner.is_ok() && m == libc::S_IFREG | 0o644,
        || format!("dirfd {}, openat {}, mode {m:o}", show(&dfd), show(&inner)),
    );
    let ffd = open("a", libc::O_RDONLY, 0);
    r.err(
        "openat_file_dirfd_enotdir",
        ffd.and_then(|f| openat(f, "x", libc::O_RDONLY, 0)),
        libc::ENOTDIR,
    );
    r.err(
        "openat_bad_dirfd_ebadf",
        openat(900, "x", libc::O_RDONLY, 0),
        libc::EBADF,
    );
    // An absolute path ignores the directory descriptor.
    let abs = openat(900, "/dev/null", libc::O_RDONLY, 0);
    r.okv("openat_absolute_ignores_dirfd", abs);
    for fd in [dfd, inner, ffd, abs].into_iter().flatten() {
        let _ = close(fd);
    }

    // O_TRUNC and creat truncate.
    let _ = put("t", b"abcdef", 0o644);
    let t = open("t", libc::O_RDWR | libc::O_TRUNC, 0);
    r.eq("open_trunc", t.map(size_of_fd), Ok(0));
    let _ = put("t2", b"abcdef", 0o644);
    let t2 = creat("t2", 0o644);
    r.eq("creat_truncates", t2.map(size_of_fd), Ok(0));
    r.eq(
        "creat_is_write_only",
        t2.and_then(|fd| fcntl(fd, libc::F_GETFL, 0))
            .map(|f| f as c_int & libc::O_ACCMODE),
        Ok(libc::O_WRONLY),
    );
    for fd in [t, t2].into_iter().flatten() {
        let _ = close(fd);
    }

    // O_APPEND: every write goes to the end, whatever the offset.
    let _ = put("ap", b"hello", 0o644);
    let ap = open("ap", libc::O_WRONLY | libc::O_APPEND, 0);
    let seek = ap.and_then(|fd| lseek(fd, 0, libc::SEEK_SET));
    let w = ap.and_then(|fd| write(fd, b"XY"));
    let c = contents("ap");
    r.check(
        "o_append_writes_at_end",
        seek == Ok(0) && w == Ok(2) && c.as_deref() == Ok(&b"helloXY"[..]),
        || format!("lseek {}, write {}, contents {c:?}", show(&seek), show(&w)),
    );
    r.eq(
        "o_append_offset_after_write",
        ap.and_then(|fd| lseek(fd, 0, libc::SEEK_CUR)),
        Ok(7),
    );
    if let Ok(fd) = ap {
        let _ = close(fd);
    }

    // Open errors.
    r.err(
        "o_directory_on_file_enotdir",
        open("a", libc::O_RDONLY | libc::O_DIRECTORY, 0),
        libc::ENOTDIR,
    );
    let _ = symlink("a", "sl");
    r.err(
        "o_nofollow_symlink_eloop",
        open("sl", libc::O_RDONLY | libc::O_NOFOLLOW, 0),
        libc::ELOOP,
    );
    let nf = open("a", libc::O_RDONLY | libc::O_NOFOLLOW, 0);
    r.okv("o_nofollow_regular_ok", nf);
    if let Ok(fd) = nf {
        let _ = close(fd);
    }
    r.err(
        "open_missing_enoent",
        open("missing", libc::O_RDONLY, 0),
        libc::ENOENT,
    );
    r.err(
        "open_creat_missing_parent_enoent",
        open("nodir/x", libc::O_CREAT | libc::O_WRONLY, 0o644),
        libc::ENOENT,
    );
    r.err(
        "open_through_file_enotdir",
        open("a/x", libc::O_RDONLY, 0),
        libc::ENOTDIR,
    );
    r.err(
        "open_creat_through_file_enotdir",
        open("a/x", libc::O_CREAT | libc::O_WRONLY, 0o644),
        libc::ENOTDIR,
    );
    r.err(
        "open_dir_wronly_eisdir",
        open(".", libc::O_WRONLY, 0),
        libc::EISDIR,
    );
    r.err(
        "open_dir_rdwr_eisdir",
        open(".", libc::O_RDWR, 0),
        libc::EISDIR,
    );
    r.err(
        "open_empty_path_enoent",
        open("", libc::O_RDONLY, 0),
        libc::ENOENT,
    );
}

fn read_write(r: &mut Report) {
    let Ok(fd) = open("rw", libc::O_CREAT | libc::O_RDWR | libc::O_TRUNC, 0o644) else {
        r.fail("rw_setup", "cannot create rw");
        return;
    };
    r.eq("write_returns_count", write(fd, b"0123456789"), Ok(10));
    r.eq("write_moves_offset", lseek(fd, 0, libc::SEEK_CUR), Ok(10));
    let _ = lseek(fd, 0, libc::SEEK_SET);
    r.eq("read_back", read(fd, 100), Ok(b"0123456789".to_vec()));
    r.eq("read_at_eof_zero", read(fd, 10), Ok(Vec::new()));
    r.eq("write_zero_length", write(fd, b""), Ok(0));

    let p = pread(fd, 4, 3);
    let off = lseek(fd, 0, libc::SEEK_CUR);
    r.check(
        "pread64_keeps_offset",
        p.as_deref() == Ok(&b"3456"[..]) && off == Ok(10),
        || format!("pread {p:?}, offset then {}", show(&off)),
    );
    let w = pwrite(fd, b"ab", 2);
    let off = lseek(fd, 0, libc::SEEK_CUR);
    let c = contents("rw");
    r.check(
        "pwrite64_keeps_offset",
        w == Ok(2) && off == Ok(10) && c.as_deref() == Ok(&b"01ab456789"[..]),
        || format!("pwrite {}, offset {}, contents {c:?}", show(&w), show(&off)),
    );
    r.eq("pread64_past_eof_zero", pread(fd, 4, 100), Ok(Vec::new()));
    r.err("pread64_negative_einval", pread(fd, 4, -1), libc::EINVAL);
    r.err(
        "pwrite64_negative_einval",
        pwrite(fd, b"x", -1),
        libc::EINVAL,
    );

    // readv/writev.
    let Ok(v) = open("v", libc::O_CREAT | libc::O_RDWR | libc::O_TRUNC, 0o644) else {
        r.fail("rw_setup", "cannot create v");
        return;
    };
    let parts: [&[u8]; 3] = [b"ab", b"", b"cdef"];
    let iov: Vec<libc::iovec> = parts
        .iter()
        .map(|p| libc::iovec {
            iov_base: p.as_ptr() as *mut _,
            iov_len: p.len(),
        })
        .collect();
    let w = sc!(libc::SYS_writev, v, iov.as_ptr(), iov.len());
    let c = contents("v");
    r.check(
        "writev_gathers",
        w == Ok(6) && c.as_deref() == Ok(&b"abcdef"[..]),
        || format!("writev {}, contents {c:?}", show(&w)),
    );
    let _ = lseek(v, 0, libc::SEEK_SET);
    let (mut b1, mut b2, mut b3) = ([0u8; 1], [0u8; 3], [0u8; 10]);
    let riov = [
        libc::iovec {
            iov_base: b1.as_mut_ptr().cast(),
            iov_len: b1.len(),
        },
        libc::iovec {
            iov_base: b2.as_mut_ptr().cast(),
            iov_len: b2.len(),
        },
        libc::iovec {
            iov_base: b3.as_mut_ptr().cast(),
            iov_len: b3.len(),
        },
    ];
    let n = sc!(libc::SYS_readv, v, riov.as_ptr(), riov.len());
    r.check(
        "readv_scatters",
        n == Ok(6) && &b1 == b"a" && &b2 == b"bcd" && &b3[..2] == b"ef",
        || format!("readv {}, got {b1:?} {b2:?} {:?}", show(&n), &b3[..2]),
    );
    r.err(
        "writev_negative_count_einval",
        sc!(libc::SYS_writev, v, iov.as_ptr(), -1),
        libc::EINVAL,
    );
    r.err(
        "writev_count_over_iov_max_einval",
        sc!(libc::SYS_writev, v, iov.as_ptr(), 1025),
        libc::EINVAL,
    );
    let _ = close(v);

    // lseek.
    let seq = [
        lseek(fd, 5, libc::SEEK_SET),
        lseek(fd, -2, libc::SEEK_CUR),
        lseek(fd, 0, libc::SEEK_END),
        lseek(fd, -1, libc::SEEK_END),
    ];
    r.eq("lseek_whence", seq, [Ok(5), Ok(3), Ok(10), Ok(9)]);
    r.err(
        "lseek_negative_set_einval",
        lseek(fd, -1, libc::SEEK_SET),
        libc::EINVAL,
    );
    r.err(
        "lseek_negative_cur_einval",
        lseek(fd, -100, libc::SEEK_CUR),
        libc::EINVAL,
    );
    r.eq(
        "lseek_failure_keeps_offset",
        lseek(fd, 0, libc::SEEK_CUR),
        Ok(9),
    );
    r.err("lseek_bad_whence_einval", lseek(fd, 0, 77), libc::EINVAL);
    let past = lseek(fd, 100, libc::SEEK_SET);
    r.check(
        "lseek_past_end_keeps_size",
        past == Ok(100) && size_of_fd(fd) == 10,
        || format!("lseek {}, size {}", show(&past), size_of_fd(fd)),
    );

    // A hole: seek past the end and write; the gap reads as zeros.
    if let Ok(h) = open("hole", libc::O_CREAT | libc::O_RDWR | libc::O_TRUNC, 0o644) {
        let s = lseek(h, 8192 + 100, libc::SEEK_SET);
        let w = write(h, b"Z");
        r.check(
            "hole_size",
            s == Ok(8292) && w == Ok(1) && size_of_fd(h) == 8293,
            || {
                format!(
                    "lseek {}, write {}, size {}",
                    show(&s),
                    show(&w),
                    size_of_fd(h)
                )
            },
        );
        let all = pread(h, 9000, 0).unwrap_or_default();
        let good = all.len() == 8293 && all[..8292].iter().all(|&b| b == 0) && all[8292] == b'Z';
        r.check("hole_reads_zeros", good, || {
            format!(
                "read {} bytes, nonzero in hole at {:?}",
                all.len(),
                all.iter().take(8292).position(|&b| b != 0)
            )
        });
        let _ = close(h);
    } else {
        r.fail("hole_size", "cannot create hole");
    }

    // Access modes.
    let wo = open("rw", libc::O_WRONLY, 0);
    r.err(
        "read_on_wronly_ebadf",
        wo.and_then(|fd| read(fd, 1)),
        libc::EBADF,
    );
    let ro = open("rw", libc::O_RDONLY, 0);
    r.err(
        "write_on_rdonly_ebadf",
        ro.and_then(|fd| write(fd, b"x")),
        libc::EBADF,
    );
    r.err(
        "pwrite64_on_rdonly_ebadf",
        ro.and_then(|fd| pwrite(fd, b"x", 0)),
        libc::EBADF,
    );
    let d = open(".", libc::O_RDONLY | libc::O_DIRECTORY, 0);
    r.err(
        "read_on_directory_eisdir",
        d.and_then(|fd| read(fd, 16)),
        libc::EISDIR,
    );
    r.err("read_bad_fd_ebadf", read(900, 1), libc::EBADF);
    for f in [wo, ro, d, Ok(fd)].into_iter().flatten() {
        let _ = close(f);
    }
}

fn dups(r: &mut Report) {
    if put("dup", b"abcdefgh", 0o644).is_err() {
        r.fail("dup_setup", "cannot create dup");
        return;
    }
    let Ok(fd) = open("dup", libc::O_RDWR, 0) else {
        r.fail("dup_setup", "cannot open dup");
        return;
    };
    // dup returns the lowest free descriptor.
    let a = open("/dev/null", libc::O_RDONLY, 0);
    let b = open("/dev/null", libc::O_RDONLY, 0);
    if let Ok(a) = a {
        let _ = close(a);
    }
    let d = sc!(libc::SYS_dup, fd).map(|v| v as c_int);
    r.check("dup_lowest_free", a.is_ok() && d == a, || {
        format!("freed {}, dup returned {}", show(&a), show(&d))
    });
    // The duplicate shares the offset.
    let s = lseek(fd, 2, libc::SEEK_SET);
    let seen = d.and_then(|d| lseek(d, 0, libc::SEEK_CUR));
    let rd = d.and_then(|d| read(d, 2));
    let back = lseek(fd, 0, libc::SEEK_CUR);
    r.check(
        "dup_shares_offset",
        s == Ok(2) && seen == Ok(2) && rd.as_deref() == Ok(&b"cd"[..]) && back == Ok(4),
        || format!("seen {}, read {rd:?}, then {}", show(&seen), show(&back)),
    );
    for f in [b, d].into_iter().flatten() {
        let _ = close(f);
    }
    r.err("dup_bad_fd_ebadf", sc!(libc::SYS_dup, 900), libc::EBADF);

    // dup2.
    r.eq(
        "dup2_same_fd_returns_it",
        sc!(libc::SYS_dup2, fd, fd),
        Ok(fd as c_long),
    );
    r.err(
        "dup2_bad_oldfd_ebadf",
        sc!(libc::SYS_dup2, 900, 100),
        libc::EBADF,
    );
    r.err(
        "dup2_same_closed_fd_ebadf",
        sc!(libc::SYS_dup2, 900, 900),
        libc::EBADF,
    );
    let d2 = sc!(libc::SYS_dup2, fd, 100);
    r.check(
        "dup2_to_chosen_fd",
        d2 == Ok(100) && lseek(100, 0, libc::SEEK_CUR) == Ok(4),
        || format!("dup2 {}", show(&d2)),
    );
    let n = open("/dev/null", libc::O_RDONLY, 0);
    let d3 = n.and_then(|n| sc!(libc::SYS_dup2, fd, n).map(|v| v as c_int));
    let rd = d3.and_then(|d| read(d, 1));
    r.check(
        "dup2_replaces_open_fd",
        d3.is_ok() && d3 == n && rd.as_deref() == Ok(&b"e"[..]),
        || format!("dup2 {}, read {rd:?}", show(&d3)),
    );
    if let Ok(n) = n {
        let _ = close(n);
    }
    let _ = close(100);

    // dup3.
    r.err(
        "dup3_same_fd_einval",
        sc!(libc::SYS_dup3, fd, fd, 0),
        libc::EINVAL,
    );
    r.err(
        "dup3_bad_flags_einval",
        sc!(libc::SYS_dup3, fd, 103, libc::O_NONBLOCK),
        libc::EINVAL,
    );
    let d = sc!(libc::SYS_dup3, fd, 101, libc::O_CLOEXEC);
    r.check(
        "dup3_cloexec",
        d == Ok(101) && fcntl(101, libc::F_GETFD, 0) == Ok(libc::FD_CLOEXEC as c_long),
        || {
            format!(
                "dup3 {}, F_GETFD {}",
                show(&d),
                show(&fcntl(101, libc::F_GETFD, 0))
            )
        },
    );
    let d = sc!(libc::SYS_dup3, fd, 102, 0);
    r.check(
        "dup3_no_cloexec",
        d == Ok(102) && fcntl(102, libc::F_GETFD, 0) == Ok(0),
        || {
            format!(
                "dup3 {}, F_GETFD {}",
                show(&d),
                show(&fcntl(102, libc::F_GETFD, 0))
            )
        },
    );
    let _ = close(101);
    let _ = close(102);

    // The close-on-exec flag belongs to the descriptor: dup does not copy it.
    let c = open("dup", libc::O_RDONLY | libc::O_CLOEXEC, 0);
    r.eq(
        "open_cloexec_sets_fd_flag",
        c.and_then(|c| fcntl(c, libc::F_GETFD, 0)),
        Ok(libc::FD_CLOEXEC as c_long),
    );
    let cd = c.and_then(|c| sc!(libc::SYS_dup, c));
    r.eq(
        "dup_clears_cloexec",
        cd.and_then(|d| fcntl(d as c_int, libc::F_GETFD, 0)),
        Ok(0),
    );
    if let Ok(c) = c {
        let _ = close(c);
    }
    if let Ok(d) = cd {
        let _ = close(d as c_int);
    }

    // fcntl F_DUPFD / F_DUPFD_CLOEXEC / F_GETFD / F_SETFD.
    let a = fcntl(fd, libc::F_DUPFD, 50);
    let b = fcntl(fd, libc::F_DUPFD, 50);
    r.eq("fcntl_dupfd_minimum", a, Ok(50));
    r.eq("fcntl_dupfd_next_free", b, Ok(51));
    r.eq("fcntl_dupfd_no_cloexec", fcntl(50, libc::F_GETFD, 0), Ok(0));
    let c = fcntl(fd, libc::F_DUPFD_CLOEXEC, 60);
    r.check(
        "fcntl_dupfd_cloexec",
        c == Ok(60) && fcntl(60, libc::F_GETFD, 0) == Ok(libc::FD_CLOEXEC as c_long),
        || format!("F_DUPFD_CLOEXEC {}", show(&c)),
    );
    let set = fcntl(50, libc::F_SETFD, libc::FD_CLOEXEC as c_long);
    let got1 = fcntl(50, libc::F_GETFD, 0);
    let clr = fcntl(50, libc::F_SETFD, 0);
    let got0 = fcntl(50, libc::F_GETFD, 0);
    r.check(
        "fcntl_setfd",
        set.is_ok() && got1 == Ok(libc::FD_CLOEXEC as c_long) && clr.is_ok() && got0 == Ok(0),
        || {
            format!(
                "set then get {}, clear then get {}",
                show(&got1),
                show(&got0)
            )
        },
    );
    r.eq(
        "fcntl_setfd_other_fd_untouched",
        fcntl(fd, libc::F_GETFD, 0),
        Ok(0),
    );
    r.err(
        "fcntl_dupfd_negative_einval",
        fcntl(fd, libc::F_DUPFD, -1),
        libc::EINVAL,
    );
    r.err(
        "fcntl_bad_fd_ebadf",
        fcntl(900, libc::F_GETFD, 0),
        libc::EBADF,
    );
    r.err("fcntl_bad_cmd_einval", fcntl(fd, 9999, 0), libc::EINVAL);
    for f in [50, 51, 60] {
        let _ = close(f);
    }

    // F_GETFL / F_SETFL: status flags belong to the open file, shared by duplicates; the access
    // mode cannot change.
    let fl = |f: c_int| fcntl(f, libc::F_GETFL, 0).map(|v| v as c_int);
    let sel = libc::O_ACCMODE | libc::O_APPEND | libc::O_NONBLOCK;
    r.eq(
        "fcntl_getfl_rdwr",
        fl(fd).map(|v| v & sel),
        Ok(libc::O_RDWR),
    );
    let ro = open("dup", libc::O_RDONLY, 0);
    let wo = open("dup", libc::O_WRONLY, 0);
    r.eq(
        "fcntl_getfl_accmode",
        (
            ro.and_then(fl).map(|v| v & sel),
            wo.and_then(fl).map(|v| v & sel),
        ),
        (Ok(libc::O_RDONLY), Ok(libc::O_WRONLY)),
    );
    for f in [ro, wo].into_iter().flatten() {
        let _ = close(f);
    }
    let s = fcntl(
        fd,
        libc::F_SETFL,
        (libc::O_APPEND | libc::O_NONBLOCK) as c_long,
    );
    r.check(
        "fcntl_setfl_append_nonblock",
        s.is_ok()
            && fl(fd).map(|v| v & sel) == Ok(libc::O_RDWR | libc::O_APPEND | libc::O_NONBLOCK),
        || format!("F_SETFL {}, F_GETFL {}", show(&s), show(&fl(fd))),
    );
    let d = sc!(libc::SYS_dup, fd).map(|v| v as c_int);
    r.eq(
        "fcntl_status_flags_shared_by_dup",
        d.and_then(fl).map(|v| v & sel),
        Ok(libc::O_RDWR | libc::O_APPEND | libc::O_NONBLOCK),
    );
    let _ = lseek(fd, 0, libc::SEEK_SET);
    let w = write(fd, b"Q");
    let c = contents("dup");
    r.check(
        "fcntl_setfl_append_effective",
        w == Ok(1) && c.as_deref() == Ok(&b"abcdefghQ"[..]),
        || format!("write {}, contents {c:?}", show(&w)),
    );
    let s = fcntl(fd, libc::F_SETFL, libc::O_WRONLY as c_long);
    r.check(
        "fcntl_setfl_keeps_accmode_clears_flags",
        s.is_ok() && fl(fd).map(|v| v & sel) == Ok(libc::O_RDWR),
        || format!("F_SETFL {}, F_GETFL {}", show(&s), show(&fl(fd))),
    );
    r.eq(
        "fcntl_status_flags_cleared_in_dup",
        d.and_then(fl).map(|v| v & sel),
        Ok(libc::O_RDWR),
    );
    if let Ok(d) = d {
        let _ = close(d);
    }
    let _ = close(fd);

    // The offset is shared with a forked child; separate opens have their own.
    if put("fork", b"0123456789", 0o644).is_err() {
        r.fail("fork_setup", "cannot create fork");
        return;
    }
    let Ok(f) = open("fork", libc::O_RDONLY, 0) else {
        r.fail("fork_setup", "cannot open fork");
        return;
    };
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_files fork child");
        let got = s.ok(read(f, 3), "read 3 bytes in the child")?;
        s.eq(got, b"012".to_vec(), "bytes the child read")
    });
    r.child_ok("fork_child_reads", pid);
    r.eq("fork_shares_offset", lseek(f, 0, libc::SEEK_CUR), Ok(3));
    r.eq("fork_parent_reads_on", read(f, 2), Ok(b"34".to_vec()));
    let g = open("fork", libc::O_RDONLY, 0);
    r.eq(
        "separate_open_own_offset",
        g.and_then(|g| lseek(g, 0, libc::SEEK_CUR)),
        Ok(0),
    );
    for x in [Ok(f), g].into_iter().flatten() {
        let _ = close(x);
    }
}

fn truncation(r: &mut Report) {
    if put("tr", b"0123456789", 0o644).is_err() {
        r.fail("truncate_setup", "cannot create tr");
        return;
    }
    let Ok(fd) = open("tr", libc::O_RDWR, 0) else {
        r.fail("truncate_setup", "cannot open tr");
        return;
    };
    let _ = lseek(fd, 7, libc::SEEK_SET);
    let zeros = |n: usize| vec![0u8; n];
    let t = sc!(libc::SYS_ftruncate, fd, 20);
    let mut want = b"0123456789".to_vec();
    want.extend(zeros(10));
    let c = contents("tr");
    r.check(
        "ftruncate_grow_zero_fill",
        t.is_ok() && size_of_fd(fd) == 20 && c.as_ref() == Ok(&want),
        || format!("ftruncate {}, contents {c:?}", show(&t)),
    );
    let t = sc!(libc::SYS_ftruncate, fd, 4);
    let c = contents("tr");
    r.check(
        "ftruncate_shrink",
        t.is_ok() && size_of_fd(fd) == 4 && c.as_deref() == Ok(&b"0123"[..]),
        || format!("ftruncate {}, contents {c:?}", show(&t)),
    );
    let t = sc!(libc::SYS_ftruncate, fd, 10);
    let mut want = b"0123".to_vec();
    want.extend(zeros(6));
    let c = contents("tr");
    r.check(
        "ftruncate_regrow_zeros",
        t.is_ok() && c.as_ref() == Ok(&want),
        || format!("ftruncate {}, contents {c:?}", show(&t)),
    );
    r.eq(
        "ftruncate_keeps_offset",
        lseek(fd, 0, libc::SEEK_CUR),
        Ok(7),
    );
    let t = truncate("tr", 3);
    let c = contents("tr");
    r.check(
        "truncate_path_shrink",
        t.is_ok() && c.as_deref() == Ok(&b"012"[..]),
        || format!("truncate {}, contents {c:?}", show(&t)),
    );
    let t = truncate("tr", 4097);
    let c = contents("tr").unwrap_or_default();
    r.check(
        "truncate_path_grow",
        t.is_ok() && c.len() == 4097 && &c[..3] == b"012" && c[3..].iter().all(|&b| b == 0),
        || format!("truncate {}, {} bytes", show(&t), c.len()),
    );
    r.err(
        "ftruncate_negative_einval",
        sc!(libc::SYS_ftruncate, fd, -1),
        libc::EINVAL,
    );
    let ro = open("tr", libc::O_RDONLY, 0);
    r.err(
        "ftruncate_rdonly_einval",
        ro.and_then(|f| sc!(libc::SYS_ftruncate, f, 0)),
        libc::EINVAL,
    );
    r.err("truncate_dir_eisdir", truncate(".", 0), libc::EISDIR);
    r.err(
        "truncate_missing_enoent",
        truncate("missing", 0),
        libc::ENOENT,
    );
    for f in [ro, Ok(fd)].into_iter().flatten() {
        let _ = close(f);
    }
}

fn stats(r: &mut Report) {
    // SAFETY: these cannot fail.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if put("st", b"12345", 0o640).is_err() {
        r.fail("stat_setup", "cannot create st");
        return;
    }
    let _ = symlink("st", "st_ln");
    let key = |s: &libc::stat| (s.st_mode, s.st_nlink, s.st_size, s.st_uid, s.st_gid);
    let want = (libc::S_IFREG | 0o640, 1, 5, euid, egid);
    r.eq("stat_regular_fields", stat("st").map(|s| key(&s)), Ok(want));
    let Ok(fd) = open("st", libc::O_RDWR, 0) else {
        r.fail("stat_setup", "cannot open st");
        return;
    };
    r.eq("fstat_fields", fstat(fd).map(|s| key(&s)), Ok(want));
    r.eq(
        "lstat_symlink",
        lstat("st_ln").map(|s| (s.st_mode, s.st_size, s.st_nlink)),
        Ok((libc::S_IFLNK | 0o777, 2, 1)),
    );
    r.eq(
        "stat_follows_symlink",
        stat("st_ln").map(|s| key(&s)),
        Ok(want),
    );
    r.eq(
        "newfstatat_symlink_nofollow",
        fstatat(libc::AT_FDCWD, "st_ln", libc::AT_SYMLINK_NOFOLLOW).map(|s| s.st_mode),
        Ok(libc::S_IFLNK | 0o777),
    );
    r.eq(
        "newfstatat_follows",
        fstatat(libc::AT_FDCWD, "st_ln", 0).map(|s| key(&s)),
        Ok(want),
    );
    r.eq(
        "newfstatat_empty_path",
        fstatat(fd, "", libc::AT_EMPTY_PATH).map(|s| key(&s)),
        Ok(want),
    );
    let dfd = open(".", libc::O_RDONLY | libc::O_DIRECTORY, 0);
    r.eq(
        "newfstatat_dirfd",
        dfd.and_then(|d| fstatat(d, "st", 0)).map(|s| key(&s)),
        Ok(want),
    );
    if let Ok(d) = dfd {
        let _ = close(d);
    }
    r.err(
        "newfstatat_bad_flags_einval",
        fstatat(libc::AT_FDCWD, "st", 0x1),
        libc::EINVAL,
    );
    r.err("stat_empty_path_enoent", stat(""), libc::ENOENT);
    r.err("stat_missing_enoent", stat("missing"), libc::ENOENT);
    r.err("fstat_bad_fd_ebadf", fstat(900), libc::EBADF);
    r.eq(
        "stat_directory",
        stat(".").map(|s| (s.st_mode, s.st_uid, s.st_gid)),
        Ok((libc::S_IFDIR | 0o755, euid, egid)),
    );

    // Writing sets mtime to the present: first put it far in the past.
    let old = [tspec(1_000_000_000, 0), tspec(1_000_000_000, 0)];
    let u = utimensat(libc::AT_FDCWD, Some("st"), Some(old), 0);
    let w = write(fd, b"x");
    let m1 = fstat(fd).map(|s| (s.st_mtime, s.st_mtime_nsec));
    r.check(
        "write_advances_mtime",
        u.is_ok() && w == Ok(1) && matches!(m1, Ok((s, _)) if s > 1_000_000_000),
        || format!("utimensat {}, write {}, mtime {m1:?}", show(&u), show(&w)),
    );
    let w = write(fd, b"y");
    let m2 = fstat(fd).map(|s| (s.st_mtime, s.st_mtime_nsec));
    r.check(
        "mtime_not_backwards",
        w == Ok(1) && m1.is_ok() && m2.is_ok() && m2 >= m1,
        || format!("mtime {m1:?} then {m2:?}"),
    );

    // utimensat: exact values, UTIME_OMIT, UTIME_NOW, NULL times.
    let t = [tspec(1_234_567_890, 123_456_789), tspec(1_000_000_000, 500)];
    let u = utimensat(libc::AT_FDCWD, Some("st"), Some(t), 0);
    let got = stat("st").map(|s| times(&s));
    r.check(
        "utimensat_exact",
        u.is_ok() && got == Ok((1_234_567_890, 123_456_789, 1_000_000_000, 500)),
        || format!("utimensat {}, times {got:?}", show(&u)),
    );
    let t = [tspec(0, libc::UTIME_OMIT), tspec(1_100_000_000, 7)];
    let u = utimensat(libc::AT_FDCWD, Some("st"), Some(t), 0);
    let got = stat("st").map(|s| times(&s));
    r.check(
        "utimensat_omit",
        u.is_ok() && got == Ok((1_234_567_890, 123_456_789, 1_100_000_000, 7)),
        || format!("utimensat {}, times {got:?}", show(&u)),
    );
    // SAFETY: time(NULL) cannot fail.
    let now = unsafe { libc::time(std::ptr::null_mut()) } as i64;
    let t = [tspec(0, libc::UTIME_OMIT), tspec(0, libc::UTIME_NOW)];
    let u = utimensat(libc::AT_FDCWD, Some("st"), Some(t), 0);
    let got = stat("st").map(|s| times(&s));
    r.check(
        "utimensat_now",
        u.is_ok() && matches!(got, Ok((1_234_567_890, 123_456_789, m, _)) if (m - now).abs() <= 5),
        || format!("utimensat {}, times {got:?}, now {now}", show(&u)),
    );
    let u = utimensat(libc::AT_FDCWD, Some("st"), Some(old), 0);
    let u2 = utimensat(libc::AT_FDCWD, Some("st"), None, 0);
    let got = stat("st").map(|s| times(&s));
    r.check(
        "utimensat_null_sets_now",
        u.is_ok()
            && u2.is_ok()
            && matches!(got, Ok((a, _, m, _)) if (a - now).abs() <= 5 && (m - now).abs() <= 5),
        || format!("utimensat {}, times {got:?}, now {now}", show(&u2)),
    );
    let t = [tspec(5, 1_000_000_000), tspec(5, 0)];
    r.err(
        "utimensat_bad_nsec_einval",
        utimensat(libc::AT_FDCWD, Some("st"), Some(t), 0),
        libc::EINVAL,
    );
    let t = [tspec(2_000_000_000, 1), tspec(2_000_000_000, 2)];
    let u = utimensat(fd, None, Some(t), 0);
    let got = fstat(fd).map(|s| times(&s));
    r.check(
        "utimensat_fd_null_path",
        u.is_ok() && got == Ok((2_000_000_000, 1, 2_000_000_000, 2)),
        || format!("utimensat {}, times {got:?}", show(&u)),
    );
    let t = [tspec(1_500_000_000, 3), tspec(1_500_000_000, 4)];
    let u = utimensat(
        libc::AT_FDCWD,
        Some("st_ln"),
        Some(t),
        libc::AT_SYMLINK_NOFOLLOW,
    );
    let ln = lstat("st_ln").map(|s| times(&s));
    let tgt = stat("st").map(|s| times(&s));
    r.check(
        "utimensat_symlink_nofollow",
        u.is_ok()
            && ln == Ok((1_500_000_000, 3, 1_500_000_000, 4))
            && tgt == Ok((2_000_000_000, 1, 2_000_000_000, 2)),
        || format!("utimensat {}, link {ln:?}, target {tgt:?}", show(&u)),
    );

    // chmod family.
    let c = chmod("st", 0o600);
    r.eq(
        "chmod",
        c.and_then(|_| stat("st")).map(|s| s.st_mode),
        Ok(libc::S_IFREG | 0o600),
    );
    let c = sc!(libc::SYS_fchmod, fd, 0o640);
    r.eq(
        "fchmod",
        c.and_then(|_| stat("st")).map(|s| s.st_mode),
        Ok(libc::S_IFREG | 0o640),
    );
    let cp = cs("st_ln");
    let c = sc!(libc::SYS_fchmodat, libc::AT_FDCWD, cp.as_ptr(), 0o604);
    let (m, lm) = (mode_of("st"), lstat("st_ln").map(|s| s.st_mode));
    r.check(
        "fchmodat_follows_symlink",
        c.is_ok() && m == libc::S_IFREG | 0o604 && lm == Ok(libc::S_IFLNK | 0o777),
        || format!("fchmodat {}, target {m:o}, link {lm:?}", show(&c)),
    );
    let c = chmod("st", libc::S_IFDIR | 0o644);
    r.eq(
        "chmod_ignores_type_bits",
        c.and_then(|_| stat("st")).map(|s| s.st_mode),
        Ok(libc::S_IFREG | 0o644),
    );
    let c = chmod("st", 0o4755);
    r.eq(
        "chmod_setuid_bit",
        c.and_then(|_| stat("st")).map(|s| s.st_mode & MODE_BITS),
        Ok(0o4755),
    );
    r.err(
        "chmod_missing_enoent",
        chmod("missing", 0o644),
        libc::ENOENT,
    );
    r.err(
        "fchmod_bad_fd_ebadf",
        sc!(libc::SYS_fchmod, 900, 0o644),
        libc::EBADF,
    );

    // chown family (root).
    let own = |p: &str| stat(p).map(|s| (s.st_uid, s.st_gid));
    let lown = |p: &str| lstat(p).map(|s| (s.st_uid, s.st_gid));
    let (st_c, ln_c, missing_c) = (cs("st"), cs("st_ln"), cs("missing"));
    let c = sc!(libc::SYS_chown, st_c.as_ptr(), 1234, 5678);
    r.check("chown", c.is_ok() && own("st") == Ok((1234, 5678)), || {
        format!("chown {}, owner {:?}", show(&c), own("st"))
    });
    r.eq(
        "chown_clears_setuid",
        stat("st").map(|s| s.st_mode & MODE_BITS),
        Ok(0o755),
    );
    let c = sc!(libc::SYS_fchown, fd, -1, 42);
    r.check(
        "fchown_keeps_uid_minus_one",
        c.is_ok() && own("st") == Ok((1234, 42)),
        || format!("fchown {}, owner {:?}", show(&c), own("st")),
    );
    let c = sc!(libc::SYS_lchown, ln_c.as_ptr(), 77, 88);
    r.check(
        "lchown_symlink_only",
        c.is_ok() && lown("st_ln") == Ok((77, 88)) && own("st") == Ok((1234, 42)),
        || {
            format!(
                "lchown {}, link {:?}, target {:?}",
                show(&c),
                lown("st_ln"),
                own("st")
            )
        },
    );
    let c = sc!(libc::SYS_chown, ln_c.as_ptr(), 0, 0);
    r.check(
        "chown_follows_symlink",
        c.is_ok() && own("st") == Ok((0, 0)) && lown("st_ln") == Ok((77, 88)),
        || {
            format!(
                "chown {}, link {:?}, target {:?}",
                show(&c),
                lown("st_ln"),
                own("st")
            )
        },
    );
    let c = sc!(
        libc::SYS_fchownat,
        libc::AT_FDCWD,
        ln_c.as_ptr(),
        5,
        6,
        libc::AT_SYMLINK_NOFOLLOW
    );
    r.check(
        "fchownat_nofollow",
        c.is_ok() && lown("st_ln") == Ok((5, 6)) && own("st") == Ok((0, 0)),
        || {
            format!(
                "fchownat {}, link {:?}, target {:?}",
                show(&c),
                lown("st_ln"),
                own("st")
            )
        },
    );
    r.err(
        "chown_missing_enoent",
        sc!(libc::SYS_chown, missing_c.as_ptr(), 0, 0),
        libc::ENOENT,
    );
    let _ = close(fd);
}

fn accesses(r: &mut Report) {
    let files = [
        ("acc644", 0o644),
        ("acc640", 0o640),
        ("acc755", 0o755),
        ("acc000", 0o000),
    ];
    for (p, m) in files {
        if put(p, b"#", m).is_err() {
            r.fail("access_setup", format!("cannot create {p}"));
            return;
        }
    }
    // Root: read and write regardless of the mode bits; execute needs some x bit.
    r.okv(
        "access_root_rw_mode_000",
        access("acc000", libc::R_OK | libc::W_OK),
    );
    r.err(
        "access_root_x_needs_x_bit",
        access("acc000", libc::X_OK),
        libc::EACCES,
    );
    r.okv("access_root_x_mode_755", access("acc755", libc::X_OK));
    r.okv("access_f_ok", access("acc644", libc::F_OK));
    r.err(
        "access_missing_enoent",
        access("missing", libc::F_OK),
        libc::ENOENT,
    );
    r.err(
        "access_bad_mode_einval",
        access("acc644", 0x40),
        libc::EINVAL,
    );
    r.okv(
        "faccessat_root",
        faccessat(libc::AT_FDCWD, "acc644", libc::R_OK | libc::W_OK),
    );

    // An unprivileged uid and gid: the "other" bits decide.
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_files access child (uid 65534)");
        s.ok(sc!(libc::SYS_setgroups, 0, 0), "setgroups(0, NULL)")?;
        s.ok(sc!(libc::SYS_setgid, 65534), "setgid(65534)")?;
        s.ok(sc!(libc::SYS_setuid, 65534), "setuid(65534)")?;
        s.ok(access("acc644", libc::R_OK), "access(acc644, R_OK)")?;
        s.err(
            access("acc644", libc::W_OK),
            libc::EACCES,
            "access(acc644, W_OK)",
        )?;
        s.err(
            access("acc644", libc::X_OK),
            libc::EACCES,
            "access(acc644, X_OK)",
        )?;
        s.err(
            access("acc640", libc::R_OK),
            libc::EACCES,
            "access(acc640, R_OK)",
        )?;
        s.ok(
            access("acc755", libc::R_OK | libc::X_OK),
            "access(acc755, R_OK|X_OK)",
        )?;
        s.err(
            access("acc755", libc::W_OK),
            libc::EACCES,
            "access(acc755, W_OK)",
        )?;
        s.err(
            faccessat(libc::AT_FDCWD, "acc640", libc::R_OK),
            libc::EACCES,
            "faccessat(acc640, R_OK)",
        )?;
        s.err(
            access("acc000", libc::R_OK),
            libc::EACCES,
            "access(acc000, R_OK)",
        )?;
        s.ok(access("acc000", libc::F_OK), "access(acc000, F_OK)")?;
        s.err(
            open("acc640", libc::O_RDONLY, 0),
            libc::EACCES,
            "open(acc640, O_RDONLY)",
        )?;
        s.err(
            open("acc644", libc::O_WRONLY, 0),
            libc::EACCES,
            "open(acc644, O_WRONLY)",
        )?;
        s.err(
            open("newfile", libc::O_CREAT | libc::O_WRONLY, 0o644),
            libc::EACCES,
            "create in a root-owned 0755 directory",
        )?;
        Ok(())
    });
    r.child_ok("access_unprivileged_uid", pid);

    // access checks the real uid; open and faccessat2(AT_EACCESS) the effective one.
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_files access child (ruid 65534, euid 0)");
        s.ok(sc!(libc::SYS_setgroups, 0, 0), "setgroups(0, NULL)")?;
        s.ok(
            sc!(libc::SYS_setresgid, 65534, 65534, 65534),
            "setresgid(65534, 65534, 65534)",
        )?;
        s.ok(
            sc!(libc::SYS_setresuid, 65534, 0, 0),
            "setresuid(65534, 0, 0)",
        )?;
        s.err(
            access("acc640", libc::R_OK),
            libc::EACCES,
            "access(acc640, R_OK) with real uid 65534",
        )?;
        let fd = s.ok(
            open("acc640", libc::O_RDONLY, 0),
            "open(acc640) with effective uid 0",
        )?;
        let _ = close(fd);
        let c = cs("acc640");
        s.ok(
            sc!(
                libc::SYS_faccessat2,
                libc::AT_FDCWD,
                c.as_ptr(),
                libc::R_OK,
                libc::AT_EACCESS
            ),
            "faccessat2(acc640, R_OK, AT_EACCESS)",
        )?;
        Ok(())
    });
    r.child_ok("access_uses_real_uid", pid);
}

fn nofile(r: &mut Report) {
    fn lower(s: &mut Steps, n: u64) -> Result<(), i32> {
        let mut old = libc::rlimit64 {
            rlim_cur: 0,
            rlim_max: 0,
        };
        s.ok(
            sc!(
                libc::SYS_prlimit64,
                0,
                libc::RLIMIT_NOFILE,
                0,
                &mut old as *mut libc::rlimit64
            ),
            "prlimit64 get RLIMIT_NOFILE",
        )?;
        let new = libc::rlimit64 {
            rlim_cur: n,
            rlim_max: old.rlim_max,
        };
        s.ok(
            sc!(
                libc::SYS_prlimit64,
                0,
                libc::RLIMIT_NOFILE,
                &new as *const libc::rlimit64,
                0
            ),
            "prlimit64 set RLIMIT_NOFILE",
        )?;
        Ok(())
    }
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_files RLIMIT_NOFILE child");
        lower(&mut s, 10)?;
        let mut fds = Vec::new();
        let mut last = Ok(0);
        for _ in 0..64 {
            last = open("/dev/null", libc::O_RDONLY, 0);
            match last {
                Ok(fd) => fds.push(fd),
                Err(_) => break,
            }
        }
        s.err(last, libc::EMFILE, "open until it fails")?;
        s.t(!fds.is_empty(), || {
            "no open succeeded under the limit".into()
        })?;
        let max = fds.iter().copied().max().unwrap_or(0);
        s.eq(max, 9, "highest descriptor under a limit of 10")?;
        s.err(sc!(libc::SYS_dup, 0), libc::EMFILE, "dup at the limit")?;
        let mut p = [0 as c_int; 2];
        s.err(
            sc!(libc::SYS_pipe, p.as_mut_ptr()),
            libc::EMFILE,
            "pipe at the limit",
        )?;
        s.ok(close(fds[0]), "close one")?;
        let again = s.ok(open("/dev/null", libc::O_RDONLY, 0), "open after close")?;
        s.eq(again, fds[0], "reuses the freed descriptor")?;
        Ok(())
    });
    r.child_ok("rlimit_nofile_emfile", pid);
    let pid = spawn_steps(|| {
        let mut s = Steps::new("t_files RLIMIT_NOFILE child 2");
        lower(&mut s, 10)?;
        s.err(
            fcntl(0, libc::F_DUPFD, 10),
            libc::EINVAL,
            "F_DUPFD with a minimum at the limit",
        )?;
        s.err(
            sc!(libc::SYS_dup2, 0, 10),
            libc::EBADF,
            "dup2 to a descriptor at the limit",
        )?;
        s.eq(
            sc!(libc::SYS_dup2, 0, 9),
            Ok(9),
            "dup2 just under the limit",
        )?;
        Ok(())
    });
    r.child_ok("rlimit_nofile_dupfd_dup2", pid);
}

fn devices(r: &mut Report) {
    let n = open("/dev/null", libc::O_RDWR, 0);
    r.eq(
        "dev_null_read_eof",
        n.and_then(|f| read(f, 100)),
        Ok(Vec::new()),
    );
    r.eq("dev_null_write", n.and_then(|f| write(f, b"hello")), Ok(5));
    let st = n.and_then(fstat);
    r.eq(
        "dev_null_is_char_device",
        st.map(|s| s.st_mode & libc::S_IFMT),
        Ok(libc::S_IFCHR),
    );
    r.eq("dev_null_rdev_1_3", st.map(|s| s.st_rdev), Ok(0x103));
    let z = open("/dev/zero", libc::O_RDWR, 0);
    let mut buf = [0xffu8; 100];
    let got = z.and_then(|f| sc!(libc::SYS_read, f, buf.as_mut_ptr(), buf.len()));
    r.check(
        "dev_zero_reads_zeros",
        got == Ok(100) && buf.iter().all(|&b| b == 0),
        || format!("read {}, buffer {:?}", show(&got), &buf[..8]),
    );
    r.eq("dev_zero_write", z.and_then(|f| write(f, b"abc")), Ok(3));
    let f = open("/dev/full", libc::O_RDWR, 0);
    r.err(
        "dev_full_write_enospc",
        f.and_then(|f| write(f, b"x")),
        libc::ENOSPC,
    );
    let got = f.and_then(|f| read(f, 16));
    r.eq("dev_full_reads_zeros", got, Ok(vec![0u8; 16]));
    let u = open("/dev/urandom", libc::O_RDONLY, 0);
    let a = u.and_then(|f| read(f, 64));
    let b = u.and_then(|f| read(f, 64));
    r.check(
        "dev_urandom_reads",
        matches!(&a, Ok(v) if v.len() == 64 && v.iter().any(|&x| x != 0)),
        || format!("read {a:?}"),
    );
    r.check(
        "dev_urandom_differs",
        a.is_ok() && b.is_ok() && a != b,
        || format!("two reads {a:?} and {b:?}"),
    );
    for x in [n, z, f, u].into_iter().flatten() {
        let _ = close(x);
    }

    // close.
    let fd = open("/dev/null", libc::O_RDONLY, 0);
    r.okv("close", fd.and_then(close));
    r.err("close_twice_ebadf", fd.map_or(Err(0), close), libc::EBADF);
    r.err("close_negative_ebadf", close(-1), libc::EBADF);
    r.err(
        "read_after_close_ebadf",
        fd.map_or(Err(0), |f| read(f, 1)),
        libc::EBADF,
    );
}

/// A child made by clone(CLONE_FILES) shares the descriptor table: what it opens is open in
/// the parent; a plain fork child's opens are its own.
fn clone_files(r: &mut Report) {
    for (check, flags, shared) in [
        (
            "clone_files_shares_table",
            libc::CLONE_FILES | libc::SIGCHLD,
            true,
        ),
        ("fork_copies_table", libc::SIGCHLD, false),
    ] {
        // SAFETY: without CLONE_VM the child runs on a copy-on-write copy of this stack, as
        // after fork; it only makes raw system calls and exits.
        let pid = unsafe { libc::syscall(libc::SYS_clone, flags as libc::c_long, 0, 0, 0, 0) };
        if pid == 0 {
            let p = cs("/dev/null");
            let fd =
                sc!(libc::SYS_openat, libc::AT_FDCWD, p.as_ptr(), libc::O_RDONLY).unwrap_or(-1);
            // SAFETY: ends the child at once.
            unsafe { libc::_exit(fd as c_int) };
        }
        if pid < 0 {
            r.fail(check, format!("clone: {}", errname(usertests::errno())));
            continue;
        }
        let status = usertests::reap(pid as libc::pid_t);
        let fd = match status.map(|s| (s >> 8) & 0xff) {
            Ok(fd) if fd > 2 => fd,
            other => {
                r.fail(check, format!("child status {other:?}"));
                continue;
            }
        };
        let open = sc!(libc::SYS_fcntl, fd, libc::F_GETFD).is_ok();
        r.check(check, open == shared, || {
            format!("fd {fd} open in parent: {open}")
        });
        if open {
            let _ = sc!(libc::SYS_close, fd);
        }
    }
}

fn main() {
    let mut r = require_root(Report::new("t_files"));
    umask(0o022);
    // SAFETY: cannot fail.
    let pid = unsafe { libc::getpid() };
    let dir = format!("/tmp/t_files.{pid}");
    rm_rf(&dir);
    let made = mkdir(&dir, 0o755).and_then(|_| {
        let c = cs(&dir);
        sc!(libc::SYS_chdir, c.as_ptr())
    });
    if let Err(e) = made {
        r.fail("setup", format!("mkdir/chdir {dir}: {}", errname(e)));
        r.finish();
    }

    creation(&mut r);
    read_write(&mut r);
    dups(&mut r);
    truncation(&mut r);
    stats(&mut r);
    accesses(&mut r);
    nofile(&mut r);
    devices(&mut r);
    clone_files(&mut r);

    let root = cs("/");
    let _ = sc!(libc::SYS_chdir, root.as_ptr());
    rm_rf(&dir);
    r.err("cleanup", lstat(&dir), libc::ENOENT);
    r.finish()
}
