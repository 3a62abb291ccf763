//! Unit tests of the tree and the walk; property tests against simple oracles.

use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicI64, Ordering};

use proptest::prelude::*;

use crate::mode::*;
use crate::*;

static TICK: AtomicI64 = AtomicI64::new(1);

fn clock() -> Timespec {
    Timespec {
        sec: TICK.fetch_add(1, Ordering::Relaxed),
        nsec: 0,
    }
}

const USER: Cred<'static> = Cred {
    uid: 1000,
    gid: 1000,
    groups: &[],
};

fn walk(v: &Vfs) -> Walk<'static> {
    Walk {
        root: v.root(),
        start: v.root(),
        cred: Cred::ROOT,
        ext: &NoExt,
    }
}

fn mkdir(v: &mut Vfs, path: &[u8]) -> Node {
    let p = v.resolve_parent(&walk(v), path).unwrap();
    v.create(p.dir, &p.name, NewKind::Dir, 0o755, &Cred::ROOT)
        .unwrap()
}

fn mkfile(v: &mut Vfs, path: &[u8], data: &[u8]) -> Node {
    let p = v.resolve_parent(&walk(v), path).unwrap();
    let n = v
        .create(p.dir, &p.name, NewKind::File, 0o644, &Cred::ROOT)
        .unwrap();
    v.write(n, 0, data).unwrap();
    n
}

fn symlink(v: &mut Vfs, path: &[u8], target: &[u8]) {
    let p = v.resolve_parent(&walk(v), path).unwrap();
    v.create(p.dir, &p.name, NewKind::Symlink(target), 0o777, &Cred::ROOT)
        .unwrap();
}

fn look(v: &Vfs, path: &[u8]) -> Result<Node> {
    v.resolve(&walk(v), path, true)
}

fn cat(v: &mut Vfs, path: &[u8]) -> Vec<u8> {
    let n = look(v, path).unwrap();
    let mut b = vec![0u8; 1 << 16];
    let k = v.read(n, 0, &mut b).unwrap();
    b.truncate(k);
    b
}

#[test]
fn walk_dots_symlinks_and_trailing_slashes() {
    let mut v = Vfs::new(clock);
    mkdir(&mut v, b"/a");
    mkdir(&mut v, b"/a/b");
    mkfile(&mut v, b"/a/b/f", b"hello");
    symlink(&mut v, b"/a/up", b"..");
    symlink(&mut v, b"/a/abs", b"/a/b/f");
    symlink(&mut v, b"/a/rel", b"b/f");
    symlink(&mut v, b"/a/dirlink", b"b");
    assert_eq!(cat(&mut v, b"/a/b/../b/./f"), b"hello");
    assert_eq!(cat(&mut v, b"//a//abs"), b"hello");
    assert_eq!(cat(&mut v, b"/a/rel"), b"hello");
    assert_eq!(cat(&mut v, b"/a/up/a/dirlink/f"), b"hello");
    assert_eq!(look(&v, b"/..").unwrap(), v.root());
    assert_eq!(look(&v, b"/../../a").unwrap(), look(&v, b"/a").unwrap());
    assert_eq!(look(&v, b"/a/b/f/"), Err(Errno::ENOTDIR));
    assert_eq!(look(&v, b"/a/b/f/x"), Err(Errno::ENOTDIR));
    assert_eq!(look(&v, b"/a/nope"), Err(Errno::ENOENT));
    assert_eq!(look(&v, b""), Err(Errno::ENOENT));
    // Without following, the final link itself; with a trailing slash, its target.
    let l = v.resolve(&walk(&v), b"/a/dirlink", false).unwrap();
    assert!(is_lnk(v.attr(l, &NoExt).unwrap().mode));
    let d = v.resolve(&walk(&v), b"/a/dirlink/", false).unwrap();
    assert_eq!(d, look(&v, b"/a/b").unwrap());
    let long = vec![b'x'; 256];
    let mut p = b"/a/".to_vec();
    p.extend_from_slice(&long);
    assert_eq!(look(&v, &p), Err(Errno::ENAMETOOLONG));
    assert_eq!(look(&v, &vec![b'/'; 4096]), Err(Errno::ENAMETOOLONG));
}

#[test]
fn resolve_final_names_the_target() {
    let mut v = Vfs::new(clock);
    mkdir(&mut v, b"/bin");
    mkfile(&mut v, b"/bin/busybox", b"x");
    symlink(&mut v, b"/bin/cat", b"busybox");
    symlink(&mut v, b"/cat2", b"/bin/cat");
    let (n, p) = v.resolve_final(&walk(&v), b"/cat2").unwrap();
    assert_eq!(n, look(&v, b"/bin/busybox").unwrap());
    assert_eq!(p.dir, look(&v, b"/bin").unwrap());
    assert_eq!(p.name, b"busybox");
}

#[test]
fn symlink_loops_end_in_eloop() {
    let mut v = Vfs::new(clock);
    symlink(&mut v, b"/l1", b"l2");
    symlink(&mut v, b"/l2", b"l1");
    assert_eq!(look(&v, b"/l1"), Err(Errno::ELOOP));
    symlink(&mut v, b"/self", b"self/x");
    assert_eq!(look(&v, b"/self"), Err(Errno::ELOOP));
    // A chain of exactly 40 links resolves; 41 does not.
    mkfile(&mut v, b"/t", b"t");
    let mut prev = b"t".to_vec();
    for i in 0..41 {
        let name = alloc::format!("c{i}").into_bytes();
        let mut path = b"/".to_vec();
        path.extend_from_slice(&name);
        symlink(&mut v, &path, &prev);
        prev = name;
    }
    assert_eq!(cat(&mut v, b"/c39"), b"t");
    assert_eq!(look(&v, b"/c40"), Err(Errno::ELOOP));
}

/// Found by the walk fuzz target (`tests/fuzz.rs`, corpus `walk/loops.txt`): the links
/// followed for the directories on the way and a final link share one budget of 40, as on
/// Linux (`stat` of `c39/f` with 40 directory links and a final one is `ELOOP` there); the
/// final component used to get a fresh budget.
#[test]
fn a_final_link_counts_with_the_links_on_the_way() {
    let mut v = Vfs::new(clock);
    mkdir(&mut v, b"/d");
    mkfile(&mut v, b"/d/file", b"x");
    symlink(&mut v, b"/d/f", b"file");
    symlink(&mut v, b"/e0", b"d");
    for i in 1..40 {
        let (path, target) = (alloc::format!("/e{i}"), alloc::format!("e{}", i - 1));
        symlink(&mut v, path.as_bytes(), target.as_bytes());
    }
    // 40 links to reach the directory: fine; 39 and the final one: fine; 40 and it: ELOOP.
    assert_eq!(cat(&mut v, b"/e39/file"), b"x");
    assert_eq!(cat(&mut v, b"/e38/f"), b"x");
    assert_eq!(look(&v, b"/e39/f"), Err(Errno::ELOOP));
    assert!(v.resolve(&walk(&v), b"/e39/f", false).is_ok());
    assert_eq!(
        v.resolve_final(&walk(&v), b"/e38/f").map(|x| x.0),
        look(&v, b"/d/file")
    );
}

/// Found by the walk fuzz target: `resolve_final` of `/` (or of a link to `/`) looked `.` up
/// in the root and so needed search permission on it, where `resolve` (and Linux's `stat`)
/// just gives the root.
#[test]
fn resolve_final_of_the_root_needs_no_search_permission() {
    let mut v = Vfs::new(clock);
    symlink(&mut v, b"/toroot", b"//");
    let root = v.root();
    v.chmod(root, 0o700, &Cred::ROOT).unwrap();
    let w = Walk {
        cred: USER,
        ..walk(&v)
    };
    assert_eq!(v.resolve(&w, b"/", true), Ok(root));
    assert_eq!(v.resolve_final(&w, b"/").map(|x| x.0), Ok(root));
    assert_eq!(v.resolve_final(&w, b"///").map(|x| x.0), Ok(root));
    // Naming anything inside still needs it.
    assert_eq!(v.resolve_final(&w, b"/toroot").err(), Some(Errno::EACCES));
    assert_eq!(
        v.resolve_final(&walk(&v), b"/toroot").map(|x| x.0),
        Ok(root)
    );
}

/// Found by the walk fuzz target (corpus `walk/perms.txt`): the directory holding the last
/// component needs search permission before the component's length is looked at, so a long
/// name in a directory the caller cannot search is `EACCES`, as on Linux, not `ENAMETOOLONG`;
/// `resolve_parent` (creation, removal, renaming) checks it too.
#[test]
fn search_permission_comes_before_the_last_names_length() {
    let mut v = Vfs::new(clock);
    let d = mkdir(&mut v, b"/priv");
    v.chmod(d, 0o700, &Cred::ROOT).unwrap();
    let w = Walk {
        cred: USER,
        ..walk(&v)
    };
    let mut long = b"/priv/".to_vec();
    long.extend_from_slice(&[b'n'; 256]);
    assert_eq!(v.resolve(&w, &long, true).err(), Some(Errno::EACCES));
    assert_eq!(v.resolve_parent(&w, &long).err(), Some(Errno::EACCES));
    assert_eq!(
        v.resolve_parent(&w, b"/priv/new").err(),
        Some(Errno::EACCES)
    );
    assert_eq!(v.resolve_parent(&w, b"/priv/..").err(), Some(Errno::EACCES));
    // Root passes; anyone may name the directory itself and a long name elsewhere.
    assert_eq!(
        v.resolve_parent(&walk(&v), &long).err(),
        Some(Errno::ENAMETOOLONG)
    );
    assert_eq!(
        v.resolve_parent(&w, b"/priv").map(|p| p.dir).ok(),
        Some(v.root())
    );
    assert_eq!(
        v.resolve_parent(&w, &long[5..]).err(),
        Some(Errno::ENAMETOOLONG)
    );
}

#[test]
fn search_permission_is_checked_for_users() {
    let mut v = Vfs::new(clock);
    let d = mkdir(&mut v, b"/priv");
    mkfile(&mut v, b"/priv/f", b"x");
    v.chmod(d, 0o700, &Cred::ROOT).unwrap();
    let w = Walk {
        cred: USER,
        ..walk(&v)
    };
    assert_eq!(v.resolve(&w, b"/priv/f", true), Err(Errno::EACCES));
    assert!(look(&v, b"/priv/f").is_ok());
    v.chmod(d, 0o711, &Cred::ROOT).unwrap();
    assert!(v.resolve(&w, b"/priv/f", true).is_ok());
    // Creating needs write permission on the directory.
    assert_eq!(
        v.create(d, b"g", NewKind::File, 0o644, &USER),
        Err(Errno::EACCES)
    );
}

#[test]
fn unlinked_open_file_lives_until_released() {
    let mut v = Vfs::new(clock);
    let base = v.inode_count();
    let f = mkfile(&mut v, b"/f", &[7u8; 10000]);
    assert_eq!(v.pages(), 3);
    v.hold(f);
    v.unlink(v.root(), b"f", &Cred::ROOT).unwrap();
    assert_eq!(look(&v, b"/f"), Err(Errno::ENOENT));
    let mut b = [0u8; 4];
    assert_eq!(v.read(f, 9998, &mut b), Ok(2));
    assert_eq!(v.attr(f, &NoExt).unwrap().nlink, 0);
    v.release(f);
    assert_eq!(v.inode_count(), base);
    assert_eq!(v.pages(), 0);
}

#[test]
fn hard_links_count_and_survive_unlink() {
    let mut v = Vfs::new(clock);
    let f = mkfile(&mut v, b"/f", b"data");
    let d = mkdir(&mut v, b"/d");
    v.link(f, d, b"g", &Cred::ROOT).unwrap();
    assert_eq!(v.attr(f, &NoExt).unwrap().nlink, 2);
    assert_eq!(v.link(f, d, b"g", &Cred::ROOT), Err(Errno::EEXIST));
    assert_eq!(v.link(d, v.root(), b"dd", &Cred::ROOT), Err(Errno::EPERM));
    v.unlink(v.root(), b"f", &Cred::ROOT).unwrap();
    assert_eq!(cat(&mut v, b"/d/g"), b"data");
    assert_eq!(v.attr(f, &NoExt).unwrap().nlink, 1);
}

#[test]
fn directory_link_counts_and_rmdir_rules() {
    let mut v = Vfs::new(clock);
    let root = v.root();
    assert_eq!(v.attr(root, &NoExt).unwrap().nlink, 2);
    let a = mkdir(&mut v, b"/a");
    mkdir(&mut v, b"/a/b");
    assert_eq!(v.attr(root, &NoExt).unwrap().nlink, 3);
    assert_eq!(v.attr(a, &NoExt).unwrap().nlink, 3);
    assert_eq!(v.rmdir(root, b"a", &Cred::ROOT), Err(Errno::ENOTEMPTY));
    assert_eq!(v.rmdir(a, b".", &Cred::ROOT), Err(Errno::EINVAL));
    assert_eq!(v.unlink(a, b"b", &Cred::ROOT), Err(Errno::EISDIR));
    mkfile(&mut v, b"/a/f", b"");
    assert_eq!(v.rmdir(a, b"f", &Cred::ROOT), Err(Errno::ENOTDIR));
    v.unlink(a, b"f", &Cred::ROOT).unwrap();
    v.rmdir(a, b"b", &Cred::ROOT).unwrap();
    assert_eq!(v.attr(a, &NoExt).unwrap().nlink, 2);
    v.hold(a);
    v.rmdir(root, b"a", &Cred::ROOT).unwrap();
    assert_eq!(v.attr(root, &NoExt).unwrap().nlink, 2);
    // A removed directory that is still someone's cwd: no path, no new entries.
    assert_eq!(v.path_of(a, root, &NoExt), Err(Errno::ENOENT));
    assert_eq!(
        v.create(a, b"x", NewKind::File, 0o644, &Cred::ROOT),
        Err(Errno::ENOENT)
    );
    v.release(a);
}

#[test]
fn rename_rules() {
    let mut v = Vfs::new(clock);
    let r = v.root();
    let a = mkdir(&mut v, b"/a");
    let b = mkdir(&mut v, b"/a/b");
    mkfile(&mut v, b"/f", b"1");
    mkfile(&mut v, b"/g", b"2");
    let e = mkdir(&mut v, b"/e");
    mkdir(&mut v, b"/full");
    mkfile(&mut v, b"/full/x", b"");
    let c = &Cred::ROOT;
    v.rename(r, b"f", r, b"g", 0, c).unwrap();
    assert_eq!(cat(&mut v, b"/g"), b"1");
    assert_eq!(look(&v, b"/f"), Err(Errno::ENOENT));
    assert_eq!(v.rename(r, b"a", r, b"g", 0, c), Err(Errno::ENOTDIR));
    assert_eq!(v.rename(r, b"g", r, b"a", 0, c), Err(Errno::EISDIR));
    assert_eq!(v.rename(r, b"a", r, b"full", 0, c), Err(Errno::ENOTEMPTY));
    assert_eq!(v.rename(r, b"a", b, b"x", 0, c), Err(Errno::EINVAL));
    assert_eq!(v.rename(r, b"a", a, b"x", 0, c), Err(Errno::EINVAL));
    assert_eq!(v.rename(r, b"g", r, b"e", 1, c), Err(Errno::EEXIST));
    assert_eq!(v.rename(r, b"g", r, b"e", 3, c), Err(Errno::EINVAL));
    // A directory replaces an empty one; link counts follow.
    v.rename(r, b"a", r, b"e", 0, c).unwrap();
    assert_eq!(look(&v, b"/e").unwrap(), a);
    assert_eq!(v.attr(r, &NoExt).unwrap().nlink, 4);
    let _ = e;
    // Moving a directory to another parent moves its "..".
    let full = look(&v, b"/full").unwrap();
    v.rename(a, b"b", full, b"b", 0, c).unwrap();
    assert_eq!(look(&v, b"/full/b/..").unwrap(), full);
    assert_eq!(v.attr(full, &NoExt).unwrap().nlink, 3);
    assert_eq!(v.attr(a, &NoExt).unwrap().nlink, 2);
    // Exchange swaps a file and a directory.
    v.rename(r, b"g", r, b"full", 2, c).unwrap();
    assert_eq!(cat(&mut v, b"/full"), b"1");
    assert!(look(&v, b"/g/b").is_ok());
    assert_eq!(
        v.path_of(look(&v, b"/g/b").unwrap(), r, &NoExt).unwrap(),
        b"/g/b"
    );
}

#[test]
fn sticky_directory_protects_other_users_files() {
    let mut v = Vfs::new(clock);
    let t = mkdir(&mut v, b"/tmp");
    v.chmod(t, 0o1777, &Cred::ROOT).unwrap();
    let other = Cred {
        uid: 2000,
        gid: 2000,
        groups: &[],
    };
    v.create(t, b"mine", NewKind::File, 0o666, &USER).unwrap();
    assert_eq!(v.unlink(t, b"mine", &other), Err(Errno::EPERM));
    assert_eq!(v.rename(t, b"mine", t, b"x", 0, &other), Err(Errno::EPERM));
    v.unlink(t, b"mine", &USER).unwrap();
}

#[test]
fn mounts_are_crossed_both_ways() {
    let mut v = Vfs::new(clock);
    let mnt = mkdir(&mut v, b"/mnt");
    mkfile(&mut v, b"/mnt/hidden", b"under");
    let t = v.new_tmpfs(0o1777);
    v.mount(mnt, t, "tmpfs", b"tmpfs", &NoExt).unwrap();
    assert_eq!(look(&v, b"/mnt").unwrap(), t);
    assert_eq!(look(&v, b"/mnt/hidden"), Err(Errno::ENOENT));
    mkdir(&mut v, b"/mnt/sub");
    assert_eq!(look(&v, b"/mnt/sub/../..").unwrap(), v.root());
    assert_eq!(look(&v, b"/mnt/..").unwrap(), v.root());
    let sub = look(&v, b"/mnt/sub").unwrap();
    assert_eq!(v.path_of(sub, v.root(), &NoExt).unwrap(), b"/mnt/sub");
    // Different file systems: no links or renames across.
    let f = mkfile(&mut v, b"/top", b"");
    assert_eq!(v.link(f, t, b"l", &Cred::ROOT), Err(Errno::EXDEV));
    assert_eq!(
        v.rename(v.root(), b"top", t, b"top", 0, &Cred::ROOT),
        Err(Errno::EXDEV)
    );
    assert_eq!(v.rmdir(v.root(), b"mnt", &Cred::ROOT), Err(Errno::EBUSY));
    let list = v.mount_list(&NoExt);
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].path, b"/mnt");
    assert_ne!(
        v.attr(t, &NoExt).unwrap().dev,
        v.attr(v.root(), &NoExt).unwrap().dev
    );
    // Busy while something inside is held (an open file, a cwd).
    v.hold(t);
    let inner = look(&v, b"/mnt/sub").unwrap();
    v.hold(inner);
    assert_eq!(v.umount(t), Err(Errno::EBUSY));
    v.release(inner);
    v.umount(t).unwrap();
    v.release(t);
    assert_eq!(cat(&mut v, b"/mnt/hidden"), b"under");
    assert_eq!(v.umount(t), Err(Errno::EINVAL));
}

/// An unmounted tmpfs goes away whole, and so does one whose mount failed; one with a file
/// still open stays until that is closed.
#[test]
fn an_unmounted_tmpfs_frees_all_its_inodes() {
    let mut v = Vfs::new(clock);
    let mnt = mkdir(&mut v, b"/mnt");
    let file = mkfile(&mut v, b"/file", b"");
    let base = v.inode_count();
    let t = v.new_tmpfs(0o1777);
    v.hold(t);
    v.mount(mnt, t, "tmpfs", b"tmpfs", &NoExt).unwrap();
    mkdir(&mut v, b"/mnt/a");
    mkdir(&mut v, b"/mnt/a/b");
    mkfile(&mut v, b"/mnt/a/b/f", &[7; 5000]);
    assert_eq!(v.inode_count(), base + 4);
    v.umount(t).unwrap();
    v.release_fs(t);
    assert_eq!(v.inode_count(), base);
    assert_eq!(v.pages(), 0);
    // A mount that fails (not a directory) frees what was made for it.
    let t = v.new_tmpfs(0o755);
    v.hold(t);
    mkfile(&mut v, b"/dummy", b"");
    assert_eq!(
        v.mount(file, t, "tmpfs", b"tmpfs", &NoExt),
        Err(Errno::ENOTDIR)
    );
    v.release_fs(t);
    assert_eq!(v.inode_count(), base + 1);
    // A file of the instance still open keeps it.
    let t = v.new_tmpfs(0o1777);
    v.hold(t);
    v.mount(mnt, t, "tmpfs", b"tmpfs", &NoExt).unwrap();
    let inner = mkfile(&mut v, b"/mnt/open", b"x");
    v.hold(inner);
    v.unlink(t, b"open", &Cred::ROOT).unwrap();
    assert_eq!(v.umount(t), Err(Errno::EBUSY));
    v.release(inner);
    v.umount(t).unwrap();
    v.release_fs(t);
    assert_eq!(v.inode_count(), base + 1);
}

#[test]
fn chroot_confines_dotdot_and_absolute_paths() {
    let mut v = Vfs::new(clock);
    let jail = mkdir(&mut v, b"/jail");
    mkfile(&mut v, b"/jail/in", b"inside");
    mkfile(&mut v, b"/out", b"outside");
    let w = Walk {
        root: jail,
        start: jail,
        cred: Cred::ROOT,
        ext: &NoExt,
    };
    assert_eq!(v.resolve(&w, b"/../../in", true), look(&v, b"/jail/in"));
    assert_eq!(v.resolve(&w, b"/out", true), Err(Errno::ENOENT));
    assert_eq!(v.path_of(jail, jail, &NoExt).unwrap(), b"/");
}

#[test]
fn permission_bits_and_root() {
    let a = Attr {
        mode: S_IFREG | 0o640,
        uid: 1000,
        gid: 50,
        ..Attr::default()
    };
    assert!(USER.may(&a, R_OK | W_OK));
    assert!(!USER.may(&a, X_OK));
    let member = Cred {
        uid: 7,
        gid: 1,
        groups: &[50],
    };
    assert!(member.may(&a, R_OK));
    assert!(!member.may(&a, W_OK));
    let stranger = Cred {
        uid: 7,
        gid: 1,
        groups: &[],
    };
    assert!(!stranger.may(&a, R_OK));
    assert!(Cred::ROOT.may(&a, R_OK | W_OK));
    assert!(!Cred::ROOT.may(&a, X_OK));
    let x = Attr {
        mode: S_IFREG | 0o100,
        ..a
    };
    assert!(Cred::ROOT.may(&x, X_OK));
}

#[test]
fn chown_and_chmod_permissions() {
    let mut v = Vfs::new(clock);
    let f = mkfile(&mut v, b"/f", b"");
    v.chown(f, Some(1000), Some(1000), &Cred::ROOT).unwrap();
    v.chmod(f, 0o6755, &Cred::ROOT).unwrap();
    let member = Cred {
        uid: 1000,
        gid: 1000,
        groups: &[5],
    };
    // The owner may change the group to one it is in, not to another; set-id bits drop.
    assert_eq!(v.chown(f, None, Some(6), &member), Err(Errno::EPERM));
    assert_eq!(v.chown(f, Some(0), None, &member), Err(Errno::EPERM));
    v.chown(f, None, Some(5), &member).unwrap();
    assert_eq!(v.attr(f, &NoExt).unwrap().mode & 0o7777, 0o755);
    assert_eq!(
        v.chmod(f, 0o700, &Cred { uid: 3, ..member }),
        Err(Errno::EPERM)
    );
    // An owner outside the group cannot set the set-group-id bit.
    v.chown(f, None, Some(77), &Cred::ROOT).unwrap();
    v.chmod(f, 0o2755, &member).unwrap();
    assert_eq!(v.attr(f, &NoExt).unwrap().mode & 0o7777, 0o755);
}

#[test]
fn utimes_rules() {
    let mut v = Vfs::new(clock);
    let f = mkfile(&mut v, b"/f", b"");
    let t = Timespec { sec: 5, nsec: 6 };
    v.set_times(f, TimeSet::At(t), TimeSet::Omit, &Cred::ROOT)
        .unwrap();
    let a = v.attr(f, &NoExt).unwrap();
    assert_eq!(a.atime, t);
    assert_ne!(a.mtime, t);
    assert_eq!(
        v.set_times(f, TimeSet::At(t), TimeSet::At(t), &USER),
        Err(Errno::EPERM)
    );
    assert_eq!(
        v.set_times(f, TimeSet::Now, TimeSet::Now, &USER),
        Err(Errno::EACCES)
    );
    v.chmod(f, 0o666, &Cred::ROOT).unwrap();
    v.set_times(f, TimeSet::Now, TimeSet::Now, &USER).unwrap();
}

#[test]
fn tmpfs_fills_up_with_enospc() {
    let mut v = Vfs::new(clock);
    v.max_pages = 2;
    let f = mkfile(&mut v, b"/f", b"");
    assert_eq!(v.write(f, 0, &[1u8; 3 * 4096]), Ok(2 * 4096));
    assert_eq!(v.write(f, 8192, b"x"), Err(Errno::ENOSPC));
    v.truncate(f, 4096).unwrap();
    assert_eq!(v.pages(), 1);
    assert_eq!(v.write(f, 8192, b"x"), Ok(1));
}

#[test]
fn readdir_lists_dot_entries_and_types() {
    let mut v = Vfs::new(clock);
    let d = mkdir(&mut v, b"/d");
    mkfile(&mut v, b"/d/f", b"");
    symlink(&mut v, b"/d/l", b"f");
    let names: Vec<(Vec<u8>, u8)> = v
        .readdir(d, &NoExt)
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.dtype))
        .collect();
    assert_eq!(
        names,
        vec![
            (b".".to_vec(), DT_DIR),
            (b"..".to_vec(), DT_DIR),
            (b"f".to_vec(), DT_REG),
            (b"l".to_vec(), DT_LNK)
        ]
    );
    assert_eq!(
        v.readdir(look(&v, b"/d/f").unwrap(), &NoExt),
        Err(Errno::ENOTDIR)
    );
}

#[derive(Debug, Clone)]
enum FileOp {
    Write(u64, Vec<u8>),
    Truncate(u64),
}

fn file_op() -> impl Strategy<Value = FileOp> {
    prop_oneof![
        (0u64..40000, proptest::collection::vec(any::<u8>(), 0..9000))
            .prop_map(|(o, d)| FileOp::Write(o, d)),
        (0u64..40000).prop_map(FileOp::Truncate),
    ]
}

proptest! {
    /// File contents after any writes and truncations equal a plain byte vector's, and the
    /// page count is exactly the pages that hold written data.
    #[test]
    fn file_data_matches_a_vector(ops in proptest::collection::vec(file_op(), 1..40)) {
        let mut v = Vfs::new(clock);
        let f = mkfile(&mut v, b"/f", b"");
        let mut oracle: Vec<u8> = Vec::new();
        for op in ops {
            match op {
                FileOp::Write(off, data) => {
                    let n = v.write(f, off, &data).unwrap();
                    prop_assert_eq!(n, data.len());
                    if !data.is_empty() {
                        let end = off as usize + data.len();
                        if oracle.len() < end {
                            oracle.resize(end, 0);
                        }
                        oracle[off as usize..end].copy_from_slice(&data);
                    }
                }
                FileOp::Truncate(len) => {
                    v.truncate(f, len).unwrap();
                    oracle.resize(len as usize, 0);
                }
            }
            prop_assert_eq!(v.attr(f, &NoExt).unwrap().size, oracle.len() as u64);
            let mut back = vec![0u8; oracle.len() + 10];
            let n = v.read(f, 0, &mut back).unwrap();
            prop_assert_eq!(&back[..n], &oracle[..]);
            prop_assert!(v.pages() <= oracle.len().div_ceil(4096));
        }
        v.unlink(v.root(), b"f", &Cred::ROOT).unwrap();
        prop_assert_eq!(v.pages(), 0);
    }

    /// Random creates, links, unlinks, renames and rmdirs in a small namespace: every inode
    /// reachable from the root has as many names as entries point at it (plus subdirectories
    /// for directories), and after removing everything only the root is left.
    #[test]
    fn namespace_link_counts(ops in proptest::collection::vec((0u8..6, 0usize..4, 0usize..4, 0usize..3, 0usize..3), 1..80)) {
        let mut v = Vfs::new(clock);
        let names: [&[u8]; 4] = [b"a", b"b", b"c", b"d"];
        let dirs: [&[u8]; 3] = [b"/", b"/a", b"/a/b"];
        let c = &Cred::ROOT;
        for (op, n1, n2, d1, d2) in ops {
            let (Ok(p1), Ok(p2)) = (look(&v, dirs[d1]), look(&v, dirs[d2])) else { continue };
            if !v.is_dir(p1, &NoExt) || !v.is_dir(p2, &NoExt) {
                continue;
            }
            let _ = match op {
                0 => v.create(p1, names[n1], NewKind::File, 0o644, c).map(|_| ()),
                1 => v.create(p1, names[n1], NewKind::Dir, 0o755, c).map(|_| ()),
                2 => v.unlink(p1, names[n1], c),
                3 => v.rmdir(p1, names[n1], c),
                4 => match v.child(p1, names[n1], &NoExt) {
                    Ok(t) => v.link(t, p2, names[n2], c),
                    Err(e) => Err(e),
                },
                _ => v.rename(p1, names[n1], p2, names[n2], 0, c),
            };
            check_counts(&v)?;
        }
        let root = v.root();
        remove_tree(&mut v, root);
        prop_assert_eq!(v.inode_count(), 1);
    }
}

fn remove_tree(v: &mut Vfs, dir: Node) {
    for e in v.readdir(dir, &NoExt).unwrap().into_iter().skip(2) {
        if e.dtype == DT_DIR {
            remove_tree(v, Node::Mem(e.ino));
            v.rmdir(dir, &e.name, &Cred::ROOT).unwrap();
        } else {
            v.unlink(dir, &e.name, &Cred::ROOT).unwrap();
        }
    }
}

fn check_counts(v: &Vfs) -> core::result::Result<(), TestCaseError> {
    use std::collections::BTreeMap as Map;
    let mut refs: Map<Node, u32> = Map::new();
    let mut stack = vec![v.root()];
    let mut seen_dirs = Vec::new();
    while let Some(d) = stack.pop() {
        if seen_dirs.contains(&d) {
            return Err(TestCaseError::fail("directory reachable twice"));
        }
        seen_dirs.push(d);
        for e in v.readdir(d, &NoExt).unwrap().into_iter().skip(2) {
            let n = Node::Mem(e.ino);
            *refs.entry(n).or_default() += 1;
            if e.dtype == DT_DIR {
                *refs.entry(d).or_default() += 1; // the child's ".."
                stack.push(n);
            }
        }
    }
    for d in &seen_dirs {
        *refs.entry(*d).or_default() += 1; // its own "."
    }
    *refs.entry(v.root()).or_default() += 1; // the root's name in itself
    for (n, want) in refs {
        let got = v.attr(n, &NoExt).unwrap().nlink;
        prop_assert_eq!(got, want, "nlink of {:?}", n);
    }
    Ok(())
}

/// A newc archive writer for the unpacker tests: (name, mode, uid, gid, nlink, mtime, ino,
/// rdev major, rdev minor, data).
type Entry<'a> = (&'a str, u32, u32, u32, u32, u32, u32, u32, u32, &'a [u8]);

fn newc(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut put = |name: &str, f: [u32; 11], data: &[u8]| {
        let fields = [
            f[0],
            f[1],
            f[2],
            f[3],
            f[4],
            f[5],
            data.len() as u32,
            0,
            0,
            f[7],
            f[8],
            name.len() as u32 + 1,
            0,
        ];
        out.extend_from_slice(b"070701");
        for x in fields {
            out.extend_from_slice(alloc::format!("{x:08x}").as_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    };
    for &(name, mode, uid, gid, nlink, mtime, ino, ma, mi, data) in entries {
        put(
            name,
            [ino, mode, uid, gid, nlink, mtime, 0, ma, mi, 0, 0],
            data,
        );
    }
    put("TRAILER!!!", [0; 11], &[]);
    out
}

#[test]
fn unpack_keeps_links_devices_owners_and_times() {
    let mut v = Vfs::new(clock);
    let image = newc(&[
        ("d", 0o040700, 7, 8, 2, 1234, 1, 0, 0, b""),
        ("d/f", 0o100640, 1, 2, 1, 99, 2, 0, 0, b"file"),
        ("a", 0o100644, 0, 0, 2, 5, 3, 0, 0, b""),
        ("b", 0o100644, 0, 0, 2, 5, 3, 0, 0, b"xyz"),
        ("l", 0o120777, 0, 0, 1, 5, 4, 0, 0, b"a"),
        ("null", 0o020666, 0, 0, 1, 5, 5, 1, 3, b""),
        ("p", 0o010600, 0, 0, 1, 5, 6, 0, 0, b""),
        ("s", 0o104755, 0, 0, 1, 5, 7, 0, 0, b"suid"),
        // A directory again: its attributes change, its contents stay.
        ("d", 0o040755, 7, 8, 2, 1234, 1, 0, 0, b""),
    ]);
    let st = crate::unpack::unpack(&mut v, &image, 1 << 20);
    assert!(st.errors.is_empty(), "{:?}", st.errors);
    let attr = |v: &Vfs, p: &[u8]| {
        v.attr(v.resolve(&walk(v), p, false).unwrap(), &NoExt)
            .unwrap()
    };
    let d = attr(&v, b"/d");
    assert_eq!((d.mode, d.uid, d.gid), (S_IFDIR | 0o755, 7, 8));
    let f = attr(&v, b"/d/f");
    assert_eq!(
        (f.mode, f.uid, f.gid, f.mtime.sec, f.size),
        (S_IFREG | 0o640, 1, 2, 99, 4)
    );
    let (a, b) = (attr(&v, b"/a"), attr(&v, b"/b"));
    assert_eq!((a.ino, a.nlink, a.size), (b.ino, 2, 3));
    assert_eq!(cat(&mut v, b"/a"), b"xyz");
    assert_eq!(
        v.readlink(look(&v, b"/l").unwrap_or(Node::Mem(0)), &NoExt)
            .ok(),
        None
    );
    let l = v.resolve(&walk(&v), b"/l", false).unwrap();
    assert_eq!(v.readlink(l, &NoExt).unwrap(), b"a");
    let n = attr(&v, b"/null");
    assert_eq!((n.mode, n.rdev), (S_IFCHR | 0o666, makedev(1, 3)));
    assert_eq!(attr(&v, b"/p").mode, S_IFIFO | 0o600);
    // chown during unpacking must not strip the set-user-id bit the archive asked for.
    assert_eq!(attr(&v, b"/s").mode, S_IFREG | 0o4755);
}

#[test]
fn unpack_survives_malformed_archives() {
    let good = newc(&[
        ("x", 0o100644, 0, 0, 1, 0, 1, 0, 0, b"one"),
        ("y", 0o100644, 0, 0, 1, 0, 2, 0, 0, b"two"),
    ]);
    // A truncated archive is rejected with a reason (cpio finds the missing trailer before
    // anything is unpacked).
    let mut v = Vfs::new(clock);
    let st = crate::unpack::unpack(&mut v, &good[..good.len() - 140], 1 << 20);
    assert!(!st.errors.is_empty());
    assert_eq!(look(&v, b"/y"), Err(Errno::ENOENT));
    // The whole archive unpacks.
    let st = crate::unpack::unpack(&mut v, &good, 1 << 20);
    assert!(st.errors.is_empty());
    assert_eq!(cat(&mut v, b"/y"), b"two");
    // Garbage, and every prefix of a good archive: never a panic.
    let mut v = Vfs::new(clock);
    let st = crate::unpack::unpack(&mut v, b"this is not an archive at all", 1 << 20);
    assert!(!st.errors.is_empty());
    for cut in 0..good.len() {
        let mut v = Vfs::new(clock);
        let _ = crate::unpack::unpack(&mut v, &good[..cut], 1 << 20);
    }
    // Names that climb out or are absolute are kept inside the tree.
    let evil = newc(&[("../../etc/x", 0o100644, 0, 0, 1, 0, 1, 0, 0, b"z")]);
    let mut v = Vfs::new(clock);
    let _ = crate::unpack::unpack(&mut v, &evil, 1 << 20);
    assert!(v.inode_count() <= 3);
}

/// Storage whose page count can grow behind the tree's back, as a tmpfs file's VM object
/// does when a write fault through a shared mapping fills a hole.
struct Mapped {
    inner: MemData,
    mapped: bool,
}

static NEXT_IS_MAPPED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
static FAULTED_PAGES: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

fn mapped_storage() -> Option<alloc::boxed::Box<dyn FileData>> {
    let mapped = NEXT_IS_MAPPED.swap(false, Ordering::Relaxed);
    Some(alloc::boxed::Box::new(Mapped {
        inner: MemData::default(),
        mapped,
    }))
}

impl FileData for Mapped {
    fn read(&self, off: u64, out: &mut [u8]) {
        self.inner.read(off, out)
    }
    fn write(&mut self, off: u64, src: &[u8], budget: usize) -> usize {
        self.inner.write(off, src, budget)
    }
    fn truncate(&mut self, len: u64) {
        self.inner.truncate(len)
    }
    fn pages(&self) -> usize {
        let extra = if self.mapped {
            FAULTED_PAGES.load(Ordering::Relaxed)
        } else {
            0
        };
        self.inner.pages() + extra
    }
}

#[test]
fn page_count_follows_pages_added_by_mapping_faults() {
    let mut v = Vfs::with_storage(clock, mapped_storage);
    mkfile(&mut v, b"/a", &[1u8; 8192]);
    NEXT_IS_MAPPED.store(true, Ordering::Relaxed);
    let b = mkfile(&mut v, b"/b", &[2u8; 100]);
    assert_eq!(v.pages(), 3);
    // Three pages of b filled by write faults; the tree learns of them at b's next change.
    FAULTED_PAGES.store(3, Ordering::Relaxed);
    v.truncate(b, 0).unwrap();
    assert_eq!(
        v.pages(),
        2 + 3,
        "a's two pages and the three b still holds"
    );
    v.write(b, 0, b"x").unwrap();
    assert_eq!(v.pages(), 2 + 4);
    v.unlink(v.root(), b"b", &Cred::ROOT).unwrap();
    assert_eq!(
        v.pages(),
        2,
        "removing b must not take a's pages off the count"
    );
}
