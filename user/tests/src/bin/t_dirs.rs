//! t_dirs: directories and names — mkdir/mkdirat, rmdir, unlink/unlinkat, link/linkat,
//! symlink/readlink/readlinkat and symlink loops, dangling symlinks, rename/renameat/renameat2
//! (replace, directories, RENAME_NOREPLACE, RENAME_EXCHANGE and the errors), trailing-slash
//! rules, ENAMETOOLONG, getdents64 (the sorted set of names and their d_type), getcwd, chdir,
//! fchdir, ".." at "/", and mknod of a FIFO.
//!
//! Everything happens in a private directory, /tmp/t_dirs.<pid>, which the program makes (after
//! removing any leftover of an earlier run with the same pid), works in as its current directory
//! and removes at the end. Nothing depends on the order of directory entries, inode numbers or
//! st_dev. System calls are raw (`sc!`), so that the kernel sees exactly the call each check is
//! about.

use libc::{c_int, c_long, c_uint};
use std::ffi::CString;
use usertests::{Report, errname, sc, show};

const RENAME_NOREPLACE: c_uint = 1;
const RENAME_EXCHANGE: c_uint = 2;

fn cs(s: &str) -> CString {
    CString::new(s).expect("path without NUL")
}

fn open(p: &str, flags: c_int, mode: c_uint) -> Result<c_int, c_int> {
    let c = cs(p);
    sc!(libc::SYS_open, c.as_ptr(), flags, mode).map(|v| v as c_int)
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

/// The file type bits of a path (following symlinks).
fn ftype(p: &str) -> Result<u32, c_int> {
    stat(p).map(|s| s.st_mode & libc::S_IFMT)
}

/// The file type bits of a path itself.
fn ltype(p: &str) -> Result<u32, c_int> {
    lstat(p).map(|s| s.st_mode & libc::S_IFMT)
}

fn mode(p: &str) -> Result<u32, c_int> {
    stat(p).map(|s| s.st_mode)
}

fn nlink(p: &str) -> Result<u64, c_int> {
    stat(p).map(|s| s.st_nlink)
}

fn mkdir(p: &str, m: c_uint) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_mkdir, c.as_ptr(), m)
}

fn mkdirat(dfd: c_int, p: &str, m: c_uint) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_mkdirat, dfd, c.as_ptr(), m)
}

fn rmdir(p: &str) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_rmdir, c.as_ptr())
}

fn unlink(p: &str) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_unlink, c.as_ptr())
}

fn unlinkat(dfd: c_int, p: &str, flags: c_int) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_unlinkat, dfd, c.as_ptr(), flags)
}

fn link(a: &str, b: &str) -> Result<c_long, c_int> {
    let (a, b) = (cs(a), cs(b));
    sc!(libc::SYS_link, a.as_ptr(), b.as_ptr())
}

fn linkat(a: &str, b: &str, flags: c_int) -> Result<c_long, c_int> {
    let (a, b) = (cs(a), cs(b));
    sc!(
        libc::SYS_linkat,
        libc::AT_FDCWD,
        a.as_ptr(),
        libc::AT_FDCWD,
        b.as_ptr(),
        flags
    )
}

fn symlink(target: &str, p: &str) -> Result<c_long, c_int> {
    let (t, c) = (cs(target), cs(p));
    sc!(libc::SYS_symlink, t.as_ptr(), c.as_ptr())
}

fn symlinkat(target: &str, dfd: c_int, p: &str) -> Result<c_long, c_int> {
    let (t, c) = (cs(target), cs(p));
    sc!(libc::SYS_symlinkat, t.as_ptr(), dfd, c.as_ptr())
}

/// readlink into a buffer of `size` bytes pre-filled with 0xaa; returns the whole buffer and the
/// count, so that a check can see the bytes after the count were left alone.
fn readlink(p: &str, size: usize) -> Result<(usize, Vec<u8>), c_int> {
    let c = cs(p);
    let mut buf = vec![0xaau8; size + 1];
    let n = sc!(libc::SYS_readlink, c.as_ptr(), buf.as_mut_ptr(), size)? as usize;
    Ok((n, buf))
}

fn readlinkat(dfd: c_int, p: &str, size: usize) -> Result<Vec<u8>, c_int> {
    let c = cs(p);
    let mut buf = vec![0u8; size];
    let n = sc!(
        libc::SYS_readlinkat,
        dfd,
        c.as_ptr(),
        buf.as_mut_ptr(),
        size
    )? as usize;
    buf.truncate(n);
    Ok(buf)
}

fn rename(a: &str, b: &str) -> Result<c_long, c_int> {
    let (a, b) = (cs(a), cs(b));
    sc!(libc::SYS_rename, a.as_ptr(), b.as_ptr())
}

fn renameat2(a: &str, b: &str, flags: c_uint) -> Result<c_long, c_int> {
    let (a, b) = (cs(a), cs(b));
    sc!(
        libc::SYS_renameat2,
        libc::AT_FDCWD,
        a.as_ptr(),
        libc::AT_FDCWD,
        b.as_ptr(),
        flags
    )
}

fn chdir(p: &str) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_chdir, c.as_ptr())
}

fn getcwd() -> Result<String, c_int> {
    let mut buf = vec![0u8; 4096];
    let n = sc!(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len())? as usize;
    // The system call returns the length including the terminating NUL.
    buf.truncate(n.saturating_sub(1));
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn mknod(p: &str, m: c_uint, dev: u64) -> Result<c_long, c_int> {
    let c = cs(p);
    sc!(libc::SYS_mknod, c.as_ptr(), m, dev)
}

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

fn put(p: &str, data: &[u8]) -> Result<(), c_int> {
    let fd = open(p, libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC, 0o644)?;
    let w = write(fd, data);
    close(fd)?;
    if w? != data.len() {
        return Err(libc::EIO);
    }
    Ok(())
}

/// One getdents64 record: (name, d_type, d_reclen).
type Dent = (String, u8, usize);

/// All the records getdents64 returns for `fd` from its current position, with a buffer of
/// `size` bytes per call.
fn dents(fd: c_int, size: usize) -> Result<Vec<Dent>, c_int> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; size];
    loop {
        let n = sc!(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len())? as usize;
        if n == 0 {
            return Ok(out);
        }
        let mut off = 0usize;
        while off + 19 <= n {
            let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
            if reclen < 20 || off + reclen > n {
                return Err(libc::EIO);
            }
            let dtype = buf[off + 18];
            let name = &buf[off + 19..off + reclen];
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            out.push((
                String::from_utf8_lossy(&name[..end]).into_owned(),
                dtype,
                reclen,
            ));
            off += reclen;
        }
    }
}

/// Removes a path and, for a directory, everything below it; quiet.
fn rm_rf(p: &str) {
    let Ok(st) = lstat(p) else { return };
    if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        if let Ok(fd) = open(p, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0) {
            let names = dents(fd, 8192).unwrap_or_default();
            let _ = close(fd);
            for (n, _, _) in names {
                if n != "." && n != ".." {
                    rm_rf(&format!("{p}/{n}"));
                }
            }
        }
        let _ = rmdir(p);
    } else {
        let _ = unlink(p);
    }
}

fn dirs(r: &mut Report) {
    let m = mkdir("d", 0o777);
    r.eq(
        "mkdir_mode_umask",
        m.and_then(|_| mode("d")),
        Ok(libc::S_IFDIR | 0o755),
    );
    r.err("mkdir_eexist", mkdir("d", 0o755), libc::EEXIST);
    let _ = put("f", b"file");
    r.err("mkdir_over_file_eexist", mkdir("f", 0o755), libc::EEXIST);
    r.err(
        "mkdir_parent_missing_enoent",
        mkdir("nope/x", 0o755),
        libc::ENOENT,
    );
    r.err(
        "mkdir_parent_file_enotdir",
        mkdir("f/x", 0o755),
        libc::ENOTDIR,
    );
    r.err("mkdir_empty_enoent", mkdir("", 0o755), libc::ENOENT);
    let dfd = open(".", libc::O_RDONLY | libc::O_DIRECTORY, 0).unwrap_or(-1);
    let m = mkdirat(dfd, "d2", 0o700);
    r.eq(
        "mkdirat_dirfd",
        m.and_then(|_| mode("d2")),
        Ok(libc::S_IFDIR | 0o700),
    );
    let m = mkdirat(libc::AT_FDCWD, "d/sub", 0o755);
    r.eq(
        "mkdirat_cwd",
        m.and_then(|_| ftype("d/sub")),
        Ok(libc::S_IFDIR),
    );
    r.err("mkdirat_eexist", mkdirat(dfd, "d2", 0o700), libc::EEXIST);

    // rmdir.
    r.err("rmdir_not_empty", rmdir("d"), libc::ENOTEMPTY);
    r.err("rmdir_file_enotdir", rmdir("f"), libc::ENOTDIR);
    r.err("rmdir_dot_einval", rmdir("."), libc::EINVAL);
    r.err("rmdir_trailing_dot_einval", rmdir("d/."), libc::EINVAL);
    r.err("rmdir_dotdot_enotempty", rmdir(".."), libc::ENOTEMPTY);
    r.err("rmdir_missing_enoent", rmdir("missing"), libc::ENOENT);
    let rm = rmdir("d/sub");
    r.check(
        "rmdir_removes",
        rm.is_ok() && stat("d/sub").err() == Some(libc::ENOENT),
        || {
            format!(
                "rmdir {}, then stat {}",
                show(&rm),
                show(&stat("d/sub").map(|_| ()))
            )
        },
    );
    let rm = unlinkat(dfd, "d2", libc::AT_REMOVEDIR);
    r.check(
        "unlinkat_removedir",
        rm.is_ok() && stat("d2").err() == Some(libc::ENOENT),
        || format!("unlinkat {}", show(&rm)),
    );
    r.err(
        "unlinkat_dir_without_flag_eisdir",
        unlinkat(dfd, "d", 0),
        libc::EISDIR,
    );
    r.err(
        "unlinkat_removedir_file_enotdir",
        unlinkat(dfd, "f", libc::AT_REMOVEDIR),
        libc::ENOTDIR,
    );
    r.err(
        "unlinkat_bad_flags_einval",
        unlinkat(dfd, "f", 0x1),
        libc::EINVAL,
    );

    // unlink.
    r.err("unlink_dir_eisdir", unlink("d"), libc::EISDIR);
    r.err("unlink_missing_enoent", unlink("missing"), libc::ENOENT);
    r.err("unlink_through_file_enotdir", unlink("f/x"), libc::ENOTDIR);
    let _ = put("u", b"data");
    let fd = open("u", libc::O_RDWR, 0);
    let ul = unlink("u");
    r.check(
        "unlink_removes_name",
        fd.is_ok() && ul.is_ok() && stat("u").err() == Some(libc::ENOENT),
        || format!("open {}, unlink {}", show(&fd), show(&ul)),
    );
    r.eq(
        "unlink_open_fd_still_reads",
        fd.and_then(|f| read(f, 100)),
        Ok(b"data".to_vec()),
    );
    r.eq(
        "unlink_open_fd_nlink_zero",
        fd.and_then(fstat).map(|s| s.st_nlink),
        Ok(0),
    );
    r.eq(
        "unlink_open_fd_still_writes",
        fd.and_then(|f| write(f, b"more")),
        Ok(4),
    );
    if let Ok(f) = fd {
        let _ = close(f);
    }
    let _ = close(dfd);
}

fn links(r: &mut Report) {
    let _ = put("l1", b"abc");
    let l = link("l1", "l2");
    r.check(
        "link_nlink_two",
        l.is_ok() && nlink("l1") == Ok(2) && nlink("l2") == Ok(2),
        || {
            format!(
                "link {}, nlink {:?} {:?}",
                show(&l),
                nlink("l1"),
                nlink("l2")
            )
        },
    );
    let fd = open("l1", libc::O_WRONLY | libc::O_APPEND, 0);
    let w = fd.and_then(|f| write(f, b"d"));
    if let Ok(f) = fd {
        let _ = close(f);
    }
    r.check(
        "link_shares_data",
        w == Ok(1) && contents("l2").as_deref() == Ok(&b"abcd"[..]),
        || format!("write {}, l2 {:?}", show(&w), contents("l2")),
    );
    r.err("link_eexist", link("l1", "l2"), libc::EEXIST);
    r.err("link_directory_eperm", link("d", "dl"), libc::EPERM);
    r.err("link_missing_enoent", link("missing", "x"), libc::ENOENT);
    let u = unlink("l2");
    r.check(
        "unlink_decrements_nlink",
        u.is_ok() && nlink("l1") == Ok(1) && contents("l1").as_deref() == Ok(&b"abcd"[..]),
        || format!("unlink {}, nlink {:?}", show(&u), nlink("l1")),
    );
    let _ = symlink("l1", "lsym");
    let l = linkat("lsym", "hard_nofollow", 0);
    r.eq(
        "linkat_symlink_itself",
        l.and_then(|_| ltype("hard_nofollow")),
        Ok(libc::S_IFLNK),
    );
    let l = linkat("lsym", "hard_follow", libc::AT_SYMLINK_FOLLOW);
    r.check(
        "linkat_follow",
        l.is_ok() && ltype("hard_follow") == Ok(libc::S_IFREG) && nlink("l1") == Ok(2),
        || {
            format!(
                "linkat {}, type {:?}, nlink {:?}",
                show(&l),
                ltype("hard_follow"),
                nlink("l1")
            )
        },
    );
    r.err(
        "linkat_bad_flags_einval",
        linkat("l1", "x", 0x1),
        libc::EINVAL,
    );
}

fn symlinks(r: &mut Report) {
    let target = "some/target/path";
    let s = symlink(target, "s");
    let rl = readlink("s", 64);
    r.check(
        "readlink_exact_target",
        s.is_ok() && matches!(&rl, Ok((16, b)) if &b[..16] == target.as_bytes() && b[16] == 0xaa),
        || format!("symlink {}, readlink {rl:?}", show(&s)),
    );
    let dfd = open(".", libc::O_RDONLY | libc::O_DIRECTORY, 0).unwrap_or(-1);
    r.eq(
        "readlinkat_dirfd",
        readlinkat(dfd, "s", 64),
        Ok(target.as_bytes().to_vec()),
    );
    let rl = readlink("s", 4);
    r.check(
        "readlink_truncates",
        matches!(&rl, Ok((4, b)) if &b[..4] == b"some" && b[4] == 0xaa),
        || format!("readlink {rl:?}"),
    );
    r.eq(
        "symlink_lstat_size",
        lstat("s").map(|s| (s.st_mode & libc::S_IFMT, s.st_size)),
        Ok((libc::S_IFLNK, 16)),
    );
    r.err("readlink_non_link_einval", readlink("f", 64), libc::EINVAL);
    r.err("readlink_zero_size_einval", readlink("s", 0), libc::EINVAL);
    r.err(
        "readlink_missing_enoent",
        readlink("missing", 64),
        libc::ENOENT,
    );
    r.err("symlink_eexist", symlink("x", "s"), libc::EEXIST);
    r.err(
        "symlink_empty_target_enoent",
        symlink("", "e"),
        libc::ENOENT,
    );
    let s = symlinkat("d", dfd, "sd");
    r.check(
        "symlinkat_to_dir",
        s.is_ok() && ltype("sd") == Ok(libc::S_IFLNK) && ftype("sd") == Ok(libc::S_IFDIR),
        || {
            format!(
                "symlinkat {}, lstat {:?}, stat {:?}",
                show(&s),
                ltype("sd"),
                ftype("sd")
            )
        },
    );
    let _ = close(dfd);

    // Loops and the 40-link limit.
    let _ = symlink("loop2", "loop1");
    let _ = symlink("loop1", "loop2");
    r.err(
        "symlink_loop_open_eloop",
        open("loop1", libc::O_RDONLY, 0),
        libc::ELOOP,
    );
    r.err("symlink_loop_stat_eloop", stat("loop1"), libc::ELOOP);
    r.eq("symlink_loop_lstat", ltype("loop1"), Ok(libc::S_IFLNK));
    let _ = symlink("self", "self");
    r.err(
        "symlink_self_eloop",
        open("self", libc::O_RDONLY, 0),
        libc::ELOOP,
    );
    // k0 -> f, k1 -> k0, ..., k40 -> k39: k39 takes 40 links to resolve, k40 takes 41.
    let mut made = symlink("f", "k0").is_ok();
    for i in 1..=40 {
        made &= symlink(&format!("k{}", i - 1), &format!("k{i}")).is_ok();
    }
    r.check(
        "symlink_chain_40_resolves",
        made && ftype("k39") == Ok(libc::S_IFREG),
        || format!("made {made}, stat {:?}", ftype("k39")),
    );
    r.err("symlink_chain_41_eloop", stat("k40"), libc::ELOOP);

    // A dangling symlink.
    let _ = symlink("nowhere", "dang");
    r.err(
        "dangling_open_enoent",
        open("dang", libc::O_RDONLY, 0),
        libc::ENOENT,
    );
    r.eq("dangling_lstat", ltype("dang"), Ok(libc::S_IFLNK));
    r.err("dangling_stat_enoent", stat("dang"), libc::ENOENT);
    r.err(
        "dangling_creat_excl_eexist",
        open("dang", libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY, 0o644),
        libc::EEXIST,
    );
    let c = open("dang", libc::O_CREAT | libc::O_WRONLY, 0o644);
    r.check(
        "dangling_creat_makes_target",
        c.is_ok() && ltype("nowhere") == Ok(libc::S_IFREG) && ftype("dang") == Ok(libc::S_IFREG),
        || format!("open {}, target {:?}", show(&c), ltype("nowhere")),
    );
    if let Ok(f) = c {
        let _ = close(f);
    }
}

fn renames(r: &mut Report) {
    let _ = put("r1", b"one");
    let _ = put("r2", b"two");
    let fd2 = open("r2", libc::O_RDONLY, 0);
    let rn = rename("r1", "r2");
    r.check(
        "rename_replaces_file",
        rn.is_ok()
            && stat("r1").err() == Some(libc::ENOENT)
            && contents("r2").as_deref() == Ok(&b"one"[..]),
        || format!("rename {}, r2 {:?}", show(&rn), contents("r2")),
    );
    r.eq(
        "rename_replaced_file_open_fd",
        fd2.and_then(|f| read(f, 16)),
        Ok(b"two".to_vec()),
    );
    if let Ok(f) = fd2 {
        let _ = close(f);
    }
    let (a, b) = (cs("r2"), cs("r3"));
    let dfd = open(".", libc::O_RDONLY | libc::O_DIRECTORY, 0).unwrap_or(-1);
    let rn = sc!(libc::SYS_renameat, dfd, a.as_ptr(), dfd, b.as_ptr());
    let _ = close(dfd);
    r.check(
        "renameat",
        rn.is_ok() && stat("r2").is_err() && contents("r3").as_deref() == Ok(&b"one"[..]),
        || format!("renameat {}", show(&rn)),
    );
    let rn = rename("r3", "r3");
    r.check(
        "rename_same_name_noop",
        rn.is_ok() && contents("r3").as_deref() == Ok(&b"one"[..]),
        || format!("rename {}", show(&rn)),
    );
    let _ = link("r3", "r4");
    let rn = rename("r3", "r4");
    r.check(
        "rename_hard_links_noop",
        rn.is_ok() && stat("r3").is_ok() && stat("r4").is_ok(),
        || format!("rename {}, r3 {}", show(&rn), show(&stat("r3").map(|_| ()))),
    );
    r.err(
        "rename_missing_enoent",
        rename("missing", "x"),
        libc::ENOENT,
    );
    r.err("rename_dot_ebusy", rename(".", "x"), libc::EBUSY);

    // Directories.
    let _ = mkdir("rd1", 0o755);
    let _ = put("rd1/x", b"x");
    let _ = mkdir("rd2", 0o755);
    let rn = rename("rd1", "rd2");
    r.check(
        "rename_dir_over_empty_dir",
        rn.is_ok() && stat("rd1").is_err() && ftype("rd2/x") == Ok(libc::S_IFREG),
        || format!("rename {}, rd2/x {:?}", show(&rn), ftype("rd2/x")),
    );
    let _ = mkdir("rd3", 0o755);
    let _ = put("rd3/y", b"y");
    r.err(
        "rename_dir_over_nonempty_enotempty",
        rename("rd3", "rd2"),
        libc::ENOTEMPTY,
    );
    r.err(
        "rename_file_over_dir_eisdir",
        rename("f", "rd3"),
        libc::EISDIR,
    );
    r.err(
        "rename_dir_over_file_enotdir",
        rename("rd3", "f"),
        libc::ENOTDIR,
    );
    let _ = mkdir("rd2/in", 0o755);
    r.err(
        "rename_into_own_subdir_einval",
        rename("rd2", "rd2/in/deeper"),
        libc::EINVAL,
    );
    r.err(
        "rename_parent_missing_enoent",
        rename("f", "nope/f"),
        libc::ENOENT,
    );

    // renameat2.
    let _ = put("n1", b"1");
    let _ = put("n2", b"2");
    r.err(
        "renameat2_noreplace_eexist",
        renameat2("n1", "n2", RENAME_NOREPLACE),
        libc::EEXIST,
    );
    r.check(
        "renameat2_noreplace_left_alone",
        contents("n1").as_deref() == Ok(&b"1"[..]) && contents("n2").as_deref() == Ok(&b"2"[..]),
        || format!("n1 {:?}, n2 {:?}", contents("n1"), contents("n2")),
    );
    let rn = renameat2("n1", "n3", RENAME_NOREPLACE);
    r.check(
        "renameat2_noreplace_new_name",
        rn.is_ok() && stat("n1").is_err() && contents("n3").as_deref() == Ok(&b"1"[..]),
        || format!("renameat2 {}", show(&rn)),
    );
    let rn = renameat2("n2", "n3", RENAME_EXCHANGE);
    r.check(
        "renameat2_exchange_swaps",
        rn.is_ok()
            && contents("n2").as_deref() == Ok(&b"1"[..])
            && contents("n3").as_deref() == Ok(&b"2"[..]),
        || {
            format!(
                "renameat2 {}, n2 {:?}, n3 {:?}",
                show(&rn),
                contents("n2"),
                contents("n3")
            )
        },
    );
    let rn = renameat2("n2", "rd3", RENAME_EXCHANGE);
    r.check(
        "renameat2_exchange_file_and_dir",
        rn.is_ok()
            && ftype("n2") == Ok(libc::S_IFDIR)
            && ftype("n2/y") == Ok(libc::S_IFREG)
            && contents("rd3").as_deref() == Ok(&b"1"[..]),
        || {
            format!(
                "renameat2 {}, n2 {:?}, rd3 {:?}",
                show(&rn),
                ftype("n2"),
                ftype("rd3")
            )
        },
    );
    r.err(
        "renameat2_exchange_missing_enoent",
        renameat2("n3", "missing", RENAME_EXCHANGE),
        libc::ENOENT,
    );
    r.err(
        "renameat2_exchange_noreplace_einval",
        renameat2("n3", "rd3", RENAME_EXCHANGE | RENAME_NOREPLACE),
        libc::EINVAL,
    );
    r.err(
        "renameat2_bad_flags_einval",
        renameat2("n3", "n4", 1 << 10),
        libc::EINVAL,
    );
}

fn slashes_and_lengths(r: &mut Report) {
    r.err(
        "open_file_trailing_slash_enotdir",
        open("f/", libc::O_RDONLY, 0),
        libc::ENOTDIR,
    );
    r.err(
        "open_creat_trailing_slash_eisdir",
        open("newfile/", libc::O_CREAT | libc::O_WRONLY, 0o644),
        libc::EISDIR,
    );
    let m = mkdir("nd/", 0o755);
    r.eq(
        "mkdir_trailing_slash",
        m.and_then(|_| ftype("nd")),
        Ok(libc::S_IFDIR),
    );
    r.eq("stat_dir_trailing_slash", ftype("nd/"), Ok(libc::S_IFDIR));
    r.err(
        "stat_file_trailing_slash_enotdir",
        stat("f/"),
        libc::ENOTDIR,
    );
    r.eq(
        "lstat_symlink_trailing_slash_follows",
        ltype("sd/"),
        Ok(libc::S_IFDIR),
    );
    r.err("unlink_trailing_slash_enotdir", unlink("f/"), libc::ENOTDIR);
    r.err(
        "rename_file_to_trailing_slash_enotdir",
        rename("f", "nf/"),
        libc::ENOTDIR,
    );
    let rn = rename("nd/", "nd2/");
    r.check(
        "rename_dir_trailing_slashes",
        rn.is_ok() && ftype("nd2") == Ok(libc::S_IFDIR),
        || format!("rename {}", show(&rn)),
    );
    let rm = rmdir("nd2/");
    r.check(
        "rmdir_trailing_slash",
        rm.is_ok() && stat("nd2").err() == Some(libc::ENOENT),
        || format!("rmdir {}", show(&rm)),
    );

    // Name and path lengths: NAME_MAX 255, PATH_MAX 4096 including the NUL.
    let n255 = "n".repeat(255);
    let n256 = "n".repeat(256);
    let c = open(&n255, libc::O_CREAT | libc::O_WRONLY, 0o644);
    let u = unlink(&n255);
    r.check("name_255_ok", c.is_ok() && u.is_ok(), || {
        format!("create {}, unlink {}", show(&c), show(&u))
    });
    if let Ok(f) = c {
        let _ = close(f);
    }
    r.err(
        "name_256_open_enametoolong",
        open(&n256, libc::O_CREAT | libc::O_WRONLY, 0o644),
        libc::ENAMETOOLONG,
    );
    r.err(
        "name_256_mkdir_enametoolong",
        mkdir(&n256, 0o755),
        libc::ENAMETOOLONG,
    );
    r.err(
        "name_256_stat_enametoolong",
        stat(&n256),
        libc::ENAMETOOLONG,
    );
    // 2 * 2047 + 1 = 4095 bytes, and 2 * 2046 + 4 = 4096 bytes; both name the file "f".
    let p4095 = format!("{}f", "./".repeat(2047));
    let p4096 = format!("{}.//f", "./".repeat(2046));
    r.eq("path_4095_ok", ftype(&p4095), Ok(libc::S_IFREG));
    r.err("path_4096_enametoolong", stat(&p4096), libc::ENAMETOOLONG);
    r.err(
        "path_5000_open_enametoolong",
        open(&format!("{}f", "./".repeat(2500)), libc::O_RDONLY, 0),
        libc::ENAMETOOLONG,
    );
}

fn listing(r: &mut Report) {
    let _ = mkdir("g", 0o755);
    let _ = put("g/f1", b"1");
    let _ = put("g/f2", b"2");
    let _ = mkdir("g/sub", 0o755);
    let _ = symlink("f1", "g/ln");
    let _ = mknod("g/p", libc::S_IFIFO | 0o644, 0);
    let Ok(fd) = open("g", libc::O_RDONLY | libc::O_DIRECTORY, 0) else {
        r.fail("getdents64_setup", "cannot open g");
        return;
    };
    let got = dents(fd, 4096);
    let mut sorted: Vec<(String, u8)> = got
        .as_ref()
        .map(|v| v.iter().map(|(n, t, _)| (n.clone(), *t)).collect())
        .unwrap_or_default();
    sorted.sort();
    let names: Vec<&str> = sorted.iter().map(|(n, _)| n.as_str()).collect();
    r.eq(
        "getdents64_names",
        names,
        vec![".", "..", "f1", "f2", "ln", "p", "sub"],
    );
    let types: Vec<u8> = sorted.iter().map(|(_, t)| *t).collect();
    r.eq(
        "getdents64_d_type",
        types,
        vec![
            libc::DT_DIR,
            libc::DT_DIR,
            libc::DT_REG,
            libc::DT_REG,
            libc::DT_LNK,
            libc::DT_FIFO,
            libc::DT_DIR,
        ],
    );
    let bad: Vec<(String, usize)> = got
        .as_ref()
        .map(|v| {
            v.iter()
                .filter(|(n, _, len)| len % 8 != 0 || *len < 19 + n.len() + 1)
                .map(|(n, _, len)| (n.clone(), *len))
                .collect()
        })
        .unwrap_or_default();
    r.check("getdents64_reclen", got.is_ok() && bad.is_empty(), || {
        format!(
            "records with bad d_reclen {bad:?}, result {}",
            show(&got.as_ref().map(|v| v.len()).map_err(|e| *e))
        )
    });
    r.eq(
        "getdents64_at_end_zero",
        dents(fd, 4096).map(|v| v.len()),
        Ok(0),
    );
    // A small buffer: one record or so per call, same set.
    let small = open("g", libc::O_RDONLY | libc::O_DIRECTORY, 0).and_then(|f| {
        let v = dents(f, 32);
        let _ = close(f);
        v
    });
    let mut small_names: Vec<String> = small
        .as_ref()
        .map(|v| v.iter().map(|(n, _, _)| n.clone()).collect())
        .unwrap_or_default();
    small_names.sort();
    r.eq(
        "getdents64_small_buffer",
        small_names,
        [".", "..", "f1", "f2", "ln", "p", "sub"]
            .map(String::from)
            .to_vec(),
    );
    // A buffer too small for the first record (at the start of the directory).
    let tiny = open("g", libc::O_RDONLY | libc::O_DIRECTORY, 0).and_then(|f| {
        let v = dents(f, 8);
        let _ = close(f);
        v
    });
    r.err("getdents64_tiny_buffer_einval", tiny, libc::EINVAL);
    let f = open("f", libc::O_RDONLY, 0);
    r.err(
        "getdents64_file_enotdir",
        f.and_then(|f| dents(f, 4096)),
        libc::ENOTDIR,
    );
    if let Ok(f) = f {
        let _ = close(f);
    }
    r.err("getdents64_bad_fd_ebadf", dents(900, 4096), libc::EBADF);
    // Rewind after an unlink: the name is gone.
    let u = unlink("g/f2");
    let s = sc!(libc::SYS_lseek, fd, 0, libc::SEEK_SET);
    let mut again: Vec<String> = dents(fd, 4096)
        .map(|v| v.into_iter().map(|(n, _, _)| n).collect())
        .unwrap_or_default();
    again.sort();
    r.check(
        "getdents64_rewind_after_unlink",
        u.is_ok() && s == Ok(0) && again == [".", "..", "f1", "ln", "p", "sub"],
        || format!("unlink {}, lseek {}, names {again:?}", show(&u), show(&s)),
    );
    let _ = close(fd);
}

fn cwd(r: &mut Report, dir: &str) {
    r.eq("getcwd_workdir", getcwd(), Ok(dir.to_string()));
    let mut buf = vec![0u8; 4096];
    r.eq(
        "getcwd_returns_length_with_nul",
        sc!(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()),
        Ok(dir.len() as c_long + 1),
    );
    r.err(
        "getcwd_small_buffer_erange",
        sc!(libc::SYS_getcwd, buf.as_mut_ptr(), dir.len()),
        libc::ERANGE,
    );
    let c = chdir("g/sub");
    r.eq(
        "chdir_relative",
        c.and_then(|_| getcwd()),
        Ok(format!("{dir}/g/sub")),
    );
    let c = chdir("../..");
    r.eq(
        "chdir_dotdot",
        c.and_then(|_| getcwd()),
        Ok(dir.to_string()),
    );
    let g = open("g", libc::O_RDONLY | libc::O_DIRECTORY, 0);
    let c = g.and_then(|g| sc!(libc::SYS_fchdir, g));
    r.eq("fchdir", c.and_then(|_| getcwd()), Ok(format!("{dir}/g")));
    if let Ok(g) = g {
        let _ = close(g);
    }
    let _ = chdir(dir);
    let c = chdir("sd");
    r.eq(
        "chdir_through_symlink_resolves",
        c.and_then(|_| getcwd()),
        Ok(format!("{dir}/d")),
    );
    let _ = chdir(dir);
    r.err("chdir_file_enotdir", chdir("f"), libc::ENOTDIR);
    r.err("chdir_missing_enoent", chdir("missing"), libc::ENOENT);
    let f = open("f", libc::O_RDONLY, 0);
    r.err(
        "fchdir_file_enotdir",
        f.and_then(|f| sc!(libc::SYS_fchdir, f)),
        libc::ENOTDIR,
    );
    if let Ok(f) = f {
        let _ = close(f);
    }
    r.err(
        "fchdir_bad_fd_ebadf",
        sc!(libc::SYS_fchdir, 900),
        libc::EBADF,
    );
    r.eq(
        "getcwd_unchanged_after_errors",
        getcwd(),
        Ok(dir.to_string()),
    );

    // ".." at the root is the root.
    let c = chdir("/").and_then(|_| chdir(".."));
    r.eq(
        "dotdot_at_root",
        c.and_then(|_| getcwd()),
        Ok("/".to_string()),
    );
    let c = chdir("/../../..");
    r.eq(
        "root_dotdot_path",
        c.and_then(|_| getcwd()),
        Ok("/".to_string()),
    );
    let t = format!("/..{dir}/../..{dir}");
    let c = chdir(&t);
    r.eq(
        "dotdot_in_path",
        c.and_then(|_| getcwd()),
        Ok(dir.to_string()),
    );
    let _ = chdir(dir);

    // getcwd of a removed directory.
    let _ = mkdir("gone", 0o755);
    let c = chdir("gone");
    let rm = rmdir(&format!("{dir}/gone"));
    let g = getcwd();
    r.check(
        "getcwd_removed_enoent",
        c.is_ok() && rm.is_ok() && g == Err(libc::ENOENT),
        || format!("chdir {}, rmdir {}, getcwd {g:?}", show(&c), show(&rm)),
    );
    let _ = chdir(dir);
}

fn fifos(r: &mut Report) {
    let m = mknod("fifo", libc::S_IFIFO | 0o644, 0);
    r.eq(
        "mknod_fifo",
        m.and_then(|_| lstat("fifo")).map(|s| s.st_mode),
        Ok(libc::S_IFIFO | 0o644),
    );
    let c = cs("fifo2");
    let m = sc!(
        libc::SYS_mknodat,
        libc::AT_FDCWD,
        c.as_ptr(),
        libc::S_IFIFO | 0o600,
        0
    );
    r.eq(
        "mknodat_fifo",
        m.and_then(|_| lstat("fifo2")).map(|s| s.st_mode),
        Ok(libc::S_IFIFO | 0o600),
    );
    r.err(
        "mknod_eexist",
        mknod("fifo", libc::S_IFIFO | 0o644, 0),
        libc::EEXIST,
    );
    let m = mknod("reg", libc::S_IFREG | 0o640, 0);
    r.eq(
        "mknod_regular",
        m.and_then(|_| lstat("reg")).map(|s| (s.st_mode, s.st_size)),
        Ok((libc::S_IFREG | 0o640, 0)),
    );
    let m = mknod("reg0", 0o644, 0);
    r.eq(
        "mknod_type_zero_regular",
        m.and_then(|_| lstat("reg0")).map(|s| s.st_mode),
        Ok(libc::S_IFREG | 0o644),
    );
    r.err(
        "mknod_directory_eperm",
        mknod("dirnode", libc::S_IFDIR | 0o755, 0),
        libc::EPERM,
    );
}

fn main() {
    let mut r = Report::new("t_dirs");
    let _ = sc!(libc::SYS_umask, 0o022);
    // SAFETY: cannot fail.
    let pid = unsafe { libc::getpid() };
    let dir = format!("/tmp/t_dirs.{pid}");
    rm_rf(&dir);
    if let Err(e) = mkdir(&dir, 0o755).and_then(|_| chdir(&dir)) {
        r.fail("setup", format!("mkdir/chdir {dir}: {}", errname(e)));
        r.finish();
    }
    dirs(&mut r);
    links(&mut r);
    symlinks(&mut r);
    renames(&mut r);
    slashes_and_lengths(&mut r);
    listing(&mut r);
    cwd(&mut r, &dir);
    fifos(&mut r);
    let _ = chdir("/");
    rm_rf(&dir);
    r.err("cleanup", lstat(&dir), libc::ENOENT);
    r.finish()
}
