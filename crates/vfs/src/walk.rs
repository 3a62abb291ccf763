//! The path walk, iterative: a stack of components still to visit, onto which a symbolic
//! link's target is pushed when it is followed. Linux's rules kept here:
//! - every directory passed through needs search (execute) permission, the one holding the
//!   last component too, and that is checked before the component's length;
//! - `..` at the walk's root stays there (chroot), and at a mount's root first crosses to the
//!   directory the mount covers; entering a covered directory enters the mount on top;
//! - at most [`MAX_SYMLINKS`] links in one walk (a final link counts with those followed on
//!   the way), `ELOOP` after;
//! - a trailing slash demands a directory and makes a final symlink be followed;
//! - a component longer than [`NAME_MAX`] is `ENAMETOOLONG`.

use alloc::vec::Vec;

use crate::mode;
use crate::{Cred, Errno, Ext, MAX_SYMLINKS, NAME_MAX, Node, PATH_MAX, Result, Vfs};

/// Where a walk starts and who walks.
pub struct Walk<'a> {
    /// The caller's root (chroot): absolute paths start here and `..` stops here.
    pub root: Node,
    /// Where relative paths start (the cwd or a directory descriptor).
    pub start: Node,
    pub cred: Cred<'a>,
    pub ext: &'a dyn Ext,
}

/// The directory holding a path's last component, and that component.
#[derive(Debug)]
pub struct Parent {
    pub dir: Node,
    /// The last component (`.` for `/`, and for paths ending in `.` or `..` these names).
    pub name: Vec<u8>,
    /// The path ended with `/`.
    pub slash: bool,
}

fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

impl Vfs {
    /// The node a path names. `follow` says whether a final symbolic link is followed.
    pub fn resolve(&self, w: &Walk, path: &[u8], follow: bool) -> Result<Node> {
        // One budget for the whole walk: links followed on the way count against a final one,
        // as Linux counts `total_link_count`.
        let mut budget = MAX_SYMLINKS;
        let p = self.walk_parent(w, path, &mut budget)?;
        if p.name == b"." && components(path).next().is_none() {
            // The path was "/" (or "//…").
            return Ok(w.root);
        }
        self.last(w, p.dir, &p.name, follow || p.slash, p.slash, &mut budget)
    }

    /// The node a path names after following every symbolic link, with the directory and
    /// name it was finally found by (what `/proc/<pid>/exe` shows for a program started
    /// through a link).
    pub fn resolve_final(&self, w: &Walk, path: &[u8]) -> Result<(Node, Parent)> {
        let mut p = self.resolve_parent(w, path)?;
        // A path (or link target) of slashes only is the root, with nothing to look up.
        let mut bare_root = components(path).next().is_none();
        for _ in 0..=MAX_SYMLINKS {
            let here = Walk {
                root: w.root,
                start: p.dir,
                cred: w.cred,
                ext: w.ext,
            };
            let node = if bare_root {
                w.root
            } else {
                self.resolve(&here, &p.name, false)?
            };
            if !self.attr(node, w.ext).is_ok_and(|a| mode::is_lnk(a.mode)) {
                return Ok((node, p));
            }
            let target = self.readlink(node, w.ext)?;
            p = self.resolve_parent(&here, &target)?;
            bare_root = components(&target).next().is_none();
        }
        Err(Errno::ELOOP)
    }

    /// Walk all but the last component. The last component is not looked up, but the
    /// directory holding it must be searchable (Linux checks every directory a walk passes).
    pub fn resolve_parent(&self, w: &Walk, path: &[u8]) -> Result<Parent> {
        let mut budget = MAX_SYMLINKS;
        self.walk_parent(w, path, &mut budget)
    }

    /// [`Vfs::resolve_parent`] spending links from `budget`.
    fn walk_parent(&self, w: &Walk, path: &[u8], budget: &mut u32) -> Result<Parent> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let slash = path.ends_with(b"/");
        let base = if path[0] == b'/' { w.root } else { w.start };
        let mut comps: Vec<&[u8]> = components(path).collect();
        let Some(name) = comps.pop() else {
            return Ok(Parent {
                dir: w.root,
                name: b".".to_vec(),
                slash,
            });
        };
        let mut dir = base;
        for c in comps {
            dir = self.step(w, dir, c, true, budget)?;
        }
        let attr = self.attr(dir, w.ext)?;
        if !mode::is_dir(attr.mode) {
            return Err(Errno::ENOTDIR);
        }
        // Before the name's length: Linux's walk checks permission on a directory before it
        // looks at the next component.
        if !w.cred.may(&attr, mode::X_OK) {
            return Err(Errno::EACCES);
        }
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(Parent {
            dir,
            name: name.to_vec(),
            slash,
        })
    }

    /// Look up the last component of a walk (following a final symlink if asked).
    fn last(
        &self,
        w: &Walk,
        dir: Node,
        name: &[u8],
        follow: bool,
        must_dir: bool,
        budget: &mut u32,
    ) -> Result<Node> {
        let n = self.step(w, dir, name, follow, budget)?;
        if must_dir && !self.is_dir(n, w.ext) {
            return Err(Errno::ENOTDIR);
        }
        Ok(n)
    }

    /// One component from directory `dir`, with `..`, mounts and (if `follow`) symlinks.
    fn step(
        &self,
        w: &Walk,
        dir: Node,
        name: &[u8],
        follow: bool,
        budget: &mut u32,
    ) -> Result<Node> {
        let attr = self.attr(dir, w.ext)?;
        if !mode::is_dir(attr.mode) {
            return Err(Errno::ENOTDIR);
        }
        if !w.cred.may(&attr, mode::X_OK) {
            return Err(Errno::EACCES);
        }
        if name == b"." {
            return Ok(dir);
        }
        if name == b".." {
            if dir == w.root {
                return Ok(dir);
            }
            return Ok(self.parent_across_mounts(dir, w.ext));
        }
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let child = self.covered(self.child(dir, name, w.ext)?);
        if follow && self.attr(child, w.ext).is_ok_and(|a| mode::is_lnk(a.mode)) {
            return self.follow_link(w, dir, child, budget);
        }
        Ok(child)
    }

    /// Follow symbolic link `link` found in `dir`, iteratively through chains of links.
    fn follow_link(&self, w: &Walk, dir: Node, link: Node, budget: &mut u32) -> Result<Node> {
        if *budget == 0 {
            return Err(Errno::ELOOP);
        }
        *budget -= 1;
        let target = self.readlink(link, w.ext)?;
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        let mut cur = if target[0] == b'/' { w.root } else { dir };
        let comps: Vec<&[u8]> = components(&target).collect();
        let slash = target.ends_with(b"/");
        for (i, c) in comps.iter().enumerate() {
            // Every component of a link's target is followed, the last one too: the link as
            // a whole is being followed.
            cur = self.step(w, cur, c, true, budget)?;
            if (i + 1 < comps.len() || slash) && !self.is_dir(cur, w.ext) {
                return Err(Errno::ENOTDIR);
            }
        }
        Ok(cur)
    }

    /// If a file system is mounted on `node`, the root of the topmost one.
    pub(crate) fn covered(&self, mut node: Node) -> Node {
        // Mounts stack: a later mount on the same directory covers the earlier one, and a
        // mount may sit on another mount's root.
        while let Some(m) = self.mounts.iter().skip(1).rev().find(|m| m.at == node) {
            node = m.root;
        }
        node
    }

    /// `..` of a directory: out of a mount first, then up within the file system.
    pub(crate) fn parent_across_mounts(&self, mut dir: Node, ext: &dyn Ext) -> Node {
        while let Some(m) = self.mounts.iter().skip(1).rev().find(|m| m.root == dir) {
            dir = m.at;
        }
        self.covered(self.fs_parent(dir, ext))
    }

    /// The absolute path of a directory as seen from `root` (`getcwd`); `ENOENT` when the
    /// directory was removed or is not under `root`.
    pub fn path_of(&self, node: Node, root: Node, ext: &dyn Ext) -> Result<Vec<u8>> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut cur = node;
        let top = self.root();
        let mut guard = 0;
        while cur != root {
            if self
                .attr(cur, ext)
                .map(|a| a.nlink == 0 && mode::is_dir(a.mode))
                .unwrap_or(true)
            {
                return Err(Errno::ENOENT);
            }
            // Leave mounts whose root we stand on.
            let mut inner = cur;
            while let Some(m) = self.mounts.iter().skip(1).rev().find(|m| m.root == inner) {
                inner = m.at;
            }
            if inner == top || inner == root {
                break;
            }
            let up = self.fs_parent(inner, ext);
            if up == inner {
                // The root of an unmounted tree, or outside the caller's root.
                return Err(Errno::ENOENT);
            }
            let name = match inner {
                Node::Ext { fs, id } => ext.name(fs, id),
                Node::Mem(ino) => self.name_in(up, ino).ok_or(Errno::ENOENT)?,
            };
            parts.push(name);
            cur = self.covered(up);
            guard += 1;
            if guard > PATH_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
        }
        let mut out = Vec::new();
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        Ok(out)
    }
}
