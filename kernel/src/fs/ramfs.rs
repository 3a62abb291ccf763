//! The in-memory tree: directories map names to nodes; files hold their bytes; symlinks their
//! target. Lookup follows symbolic links (at most 40, like Linux) and `..`.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use abi::errno::Errno;
use hal::sync::{Once, SpinLock};

pub enum NodeKind {
    Dir(SpinLock<BTreeMap<String, Arc<Node>>>),
    File(SpinLock<Arc<Vec<u8>>>),
    Symlink(String),
    CharDev(u32, u32),
}

pub struct Node {
    pub kind: NodeKind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub ino: u64,
    pub mtime: u64,
}

static ROOT: Once<Arc<Node>> = Once::new();
static NEXT_INO: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(2);

pub const S_IFMT: u32 = 0o170000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFCHR: u32 = 0o020000;

impl Node {
    pub fn new(kind: NodeKind, mode: u32, uid: u32, gid: u32, mtime: u64) -> Arc<Node> {
        let ino = NEXT_INO.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        Arc::new(Node {
            kind,
            mode,
            uid,
            gid,
            ino,
            mtime,
        })
    }

    pub fn new_dir(mode: u32) -> Arc<Node> {
        Node::new(
            NodeKind::Dir(SpinLock::new(BTreeMap::new())),
            S_IFDIR | (mode & 0o7777),
            0,
            0,
            0,
        )
    }

    pub fn is_dir(&self) -> bool {
        matches!(self.kind, NodeKind::Dir(_))
    }

    /// File contents (shared, cheap to clone).
    pub fn data(&self) -> Option<Arc<Vec<u8>>> {
        match &self.kind {
            NodeKind::File(d) => Some(d.lock().clone()),
            _ => None,
        }
    }

    pub fn size(&self) -> u64 {
        match &self.kind {
            NodeKind::File(d) => d.lock().len() as u64,
            NodeKind::Symlink(t) => t.len() as u64,
            _ => 0,
        }
    }

    pub fn child(&self, name: &str) -> Option<Arc<Node>> {
        match &self.kind {
            NodeKind::Dir(m) => m.lock().get(name).cloned(),
            _ => None,
        }
    }

    /// Insert or replace an entry in a directory.
    pub fn insert(&self, name: &str, node: Arc<Node>) -> Result<(), Errno> {
        match &self.kind {
            NodeKind::Dir(m) => {
                m.lock().insert(name.into(), node);
                Ok(())
            }
            _ => Err(Errno::ENOTDIR),
        }
    }

    pub fn names(&self) -> Vec<String> {
        match &self.kind {
            NodeKind::Dir(m) => m.lock().keys().cloned().collect(),
            _ => Vec::new(),
        }
    }
}

pub fn root() -> Arc<Node> {
    ROOT.call_once(|| Node::new_dir(0o755)).clone()
}

const MAX_SYMLINKS: u32 = 40;

/// Resolve `path` (absolute, or relative to `cwd`). `follow_last` follows a final symlink.
pub fn lookup(cwd: &Arc<Node>, path: &[u8], follow_last: bool) -> Result<Arc<Node>, Errno> {
    let mut budget = MAX_SYMLINKS;
    resolve(cwd, path, follow_last, &mut budget)
}

fn resolve(
    cwd: &Arc<Node>,
    path: &[u8],
    follow_last: bool,
    budget: &mut u32,
) -> Result<Arc<Node>, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() > 4095 {
        return Err(Errno::ENAMETOOLONG);
    }
    let path = core::str::from_utf8(path).map_err(|_| Errno::ENOENT)?;
    // Keep the chain of directories so `..` can go back up.
    let mut stack: Vec<Arc<Node>> = if path.starts_with('/') {
        alloc::vec![root()]
    } else {
        alloc::vec![cwd.clone()]
    };
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let dir = stack.last().cloned().ok_or(Errno::ENOENT)?;
        if !dir.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if *part == ".." {
            if stack.len() > 1 {
                stack.pop();
            }
            continue;
        }
        if part.len() > 255 {
            return Err(Errno::ENAMETOOLONG);
        }
        let node = dir.child(part).ok_or(Errno::ENOENT)?;
        if let NodeKind::Symlink(target) = &node.kind
            && (!last || follow_last)
        {
            if *budget == 0 {
                return Err(Errno::ELOOP);
            }
            *budget -= 1;
            let resolved = resolve(&dir, target.as_bytes(), true, budget)?;
            stack.push(resolved);
            continue;
        }
        stack.push(node);
    }
    stack.pop().ok_or(Errno::ENOENT)
}

/// The directory that would contain `path` and the final name (for creating entries).
pub fn parent_of<'p>(cwd: &Arc<Node>, path: &'p str) -> Result<(Arc<Node>, &'p str), Errno> {
    let trimmed = path.trim_end_matches('/');
    let (dir, name) = match trimmed.rfind('/') {
        Some(0) => ("/", &trimmed[1..]),
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => (".", trimmed),
    };
    if name.is_empty() {
        return Err(Errno::EEXIST);
    }
    let d = lookup(cwd, dir.as_bytes(), true)?;
    if !d.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok((d, name))
}
