//! Open file descriptions and descriptor tables. An open file (`Arc<File>`) is shared by the
//! descriptors that `dup` made or `fork` inherited: they share its offset and status flags, as
//! on Linux. Close-on-exec belongs to the descriptor, not the file.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use abi::errno::Errno;
use hal::sync::SpinLock;

use super::NodeRef;
use super::dev::Device;
use super::pipe::Pipe;

pub enum FileKind {
    /// A regular file or directory of the tree.
    Node,
    /// A character device.
    Dev(Device),
    /// One end of a pipe or FIFO.
    Pipe {
        pipe: Arc<Pipe>,
        write: bool,
    },
    /// A procfs file: its text, made when it was opened.
    Text(Vec<u8>),
    /// `O_PATH`: a location only.
    Path,
    EventFd(Arc<super::event::EventFd>),
    Epoll(Arc<super::event::Epoll>),
    /// One end of an AF_UNIX stream socket pair.
    Socket(super::socket::SocketEnd),
    /// A pseudo-terminal's master (`/dev/ptmx`) or slave (`/dev/pts/N`).
    Pty {
        pty: Arc<super::pty::Pty>,
        master: bool,
    },
}

/// Where an open file came from: its node, and the directory and name it was opened by (for
/// `/proc/<pid>/fd` links).
pub struct Origin {
    pub node: NodeRef,
    pub dir: Option<NodeRef>,
    pub name: Vec<u8>,
}

pub struct File {
    pub kind: FileKind,
    /// None for anonymous pipes and the boot console.
    pub origin: Option<Origin>,
    pub offset: SpinLock<u64>,
    /// For a directory: the offset getdents64 left and the last name it returned, so the next
    /// call goes on after that name even when entries before it were removed meanwhile
    /// (offsets are positions in the listing, which shift).
    pub dir_cursor: SpinLock<Option<(u64, alloc::vec::Vec<u8>)>>,
    /// Access mode and status flags (`F_GETFL`).
    flags: AtomicU32,
}

pub const O_ACCMODE: u32 = 3;
pub const O_RDONLY: u32 = 0;
pub const O_WRONLY: u32 = 1;
pub const O_RDWR: u32 = 2;
pub const O_CREAT: u32 = 0o100;
pub const O_EXCL: u32 = 0o200;
pub const O_NOCTTY: u32 = 0o400;
pub const O_TRUNC: u32 = 0o1000;
pub const O_APPEND: u32 = 0o2000;
pub const O_NONBLOCK: u32 = 0o4000;
pub const O_ASYNC: u32 = 0o20000;
pub const O_DIRECT: u32 = 0o40000;
pub const O_LARGEFILE: u32 = 0o100000;
pub const O_DIRECTORY: u32 = 0o200000;
pub const O_NOFOLLOW: u32 = 0o400000;
pub const O_NOATIME: u32 = 0o1000000;
pub const O_CLOEXEC: u32 = 0o2000000;
pub const O_PATH: u32 = 0o10000000;
pub const O_TMPFILE: u32 = 0o20200000;
/// The flags `F_SETFL` may change.
pub const SETFL_MASK: u32 = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;

impl File {
    pub fn new(kind: FileKind, origin: Option<Origin>, flags: u32) -> Arc<File> {
        if let FileKind::Pipe { pipe, write } = &kind {
            pipe.add_end(*write);
        }
        Arc::new(File {
            kind,
            origin,
            offset: SpinLock::new(0),
            dir_cursor: SpinLock::new(None),
            flags: AtomicU32::new(flags & !(O_CLOEXEC | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC)),
        })
    }

    /// The node the file was opened from.
    pub fn node(&self) -> Option<vfs::Node> {
        self.origin.as_ref().map(|o| o.node.node())
    }

    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    pub fn set_status_flags(&self, new: u32) {
        let old = self.flags();
        self.flags
            .store((old & !SETFL_MASK) | (new & SETFL_MASK), Ordering::Relaxed);
    }

    pub fn nonblocking(&self) -> bool {
        self.flags() & O_NONBLOCK != 0
    }

    pub fn readable(&self) -> bool {
        self.flags() & O_PATH == 0 && self.flags() & O_ACCMODE != O_WRONLY
    }

    pub fn writable(&self) -> bool {
        self.flags() & O_PATH == 0 && matches!(self.flags() & O_ACCMODE, O_WRONLY | O_RDWR)
    }

    /// Seekable files: regular files, directories and procfs text.
    pub fn seekable(&self) -> bool {
        matches!(self.kind, FileKind::Node | FileKind::Text(_))
    }
}

impl Drop for File {
    fn drop(&mut self) {
        match &self.kind {
            FileKind::Pipe { pipe, write } => pipe.drop_end(*write),
            FileKind::Pty { pty, master: true } => pty.master_closed(),
            FileKind::Pty { pty, master: false } => pty.slave_closed(),
            _ => {}
        }
    }
}

#[derive(Clone)]
struct Slot {
    file: Arc<File>,
    cloexec: bool,
}

#[derive(Clone, Default)]
pub struct FdTable {
    slots: Vec<Option<Slot>>,
}

impl FdTable {
    /// Descriptors 0, 1, 2 on the console, as init gets them.
    pub fn with_console() -> FdTable {
        let mut t = FdTable::default();
        let con = File::new(FileKind::Dev(Device::Console), None, O_RDWR);
        for _ in 0..3 {
            t.slots.push(Some(Slot {
                file: con.clone(),
                cloexec: false,
            }));
        }
        t
    }

    pub fn get(&self, fd: i32) -> Result<Arc<File>, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get(i))
            .and_then(|s| s.as_ref())
            .map(|s| s.file.clone())
            .ok_or(Errno::EBADF)
    }

    /// Install at the lowest free descriptor at or above `min`, below `limit` (RLIMIT_NOFILE).
    pub fn install(
        &mut self,
        file: Arc<File>,
        cloexec: bool,
        min: usize,
        limit: usize,
    ) -> Result<i32, Errno> {
        let free = (min..limit)
            .find(|&i| self.slots.get(i).is_none_or(|s| s.is_none()))
            .ok_or(Errno::EMFILE)?;
        if free >= self.slots.len() {
            self.slots.resize(free + 1, None);
        }
        self.slots[free] = Some(Slot { file, cloexec });
        Ok(free as i32)
    }

    /// Remove a descriptor; the caller drops the file outside any lock.
    pub fn take(&mut self, fd: i32) -> Result<Arc<File>, Errno> {
        let slot = usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .ok_or(Errno::EBADF)?;
        slot.take().map(|s| s.file).ok_or(Errno::EBADF)
    }

    pub fn cloexec(&self, fd: i32) -> Result<bool, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get(i))
            .and_then(|s| s.as_ref())
            .map(|s| s.cloexec)
            .ok_or(Errno::EBADF)
    }

    pub fn set_cloexec(&mut self, fd: i32, on: bool) -> Result<(), Errno> {
        let s = usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .and_then(|s| s.as_mut())
            .ok_or(Errno::EBADF)?;
        s.cloexec = on;
        Ok(())
    }

    /// dup2/dup3: make `new` refer to the same open file as `old`; returns what `new` held.
    pub fn dup_to(
        &mut self,
        old: i32,
        new: i32,
        cloexec: bool,
        limit: usize,
    ) -> Result<Option<Arc<File>>, Errno> {
        let file = self.get(old)?;
        let n = usize::try_from(new)
            .ok()
            .filter(|&n| n < limit)
            .ok_or(Errno::EBADF)?;
        if n >= self.slots.len() {
            self.slots.resize(n + 1, None);
        }
        Ok(self.slots[n]
            .replace(Slot { file, cloexec })
            .map(|s| s.file))
    }

    /// execve closes descriptors marked close-on-exec; returns them to drop outside the lock.
    pub fn close_on_exec(&mut self) -> Vec<Arc<File>> {
        let mut out = Vec::new();
        for s in &mut self.slots {
            if s.as_ref().is_some_and(|x| x.cloexec)
                && let Some(x) = s.take()
            {
                out.push(x.file);
            }
        }
        out
    }

    /// Open descriptors, ascending (for /proc/<pid>/fd).
    pub fn list(&self) -> Vec<(i32, Arc<File>)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i as i32, s.file.clone())))
            .collect()
    }
}

/// What `/proc/<pid>/fd/N` points at: the path the file was opened by (with " (deleted)" once
/// unlinked), `pipe:[N]` for pipes.
pub fn describe(v: &vfs::Vfs, f: &File, ext: &dyn vfs::Ext) -> Vec<u8> {
    match &f.kind {
        FileKind::Pipe { pipe, .. } => return alloc::format!("pipe:[{}]", pipe.id()).into_bytes(),
        FileKind::Socket(s) => return alloc::format!("socket:[{}]", s.rx.id()).into_bytes(),
        FileKind::EventFd(_) => return b"anon_inode:[eventfd]".to_vec(),
        FileKind::Epoll(_) => return b"anon_inode:[eventpoll]".to_vec(),
        _ => {}
    }
    let Some(o) = &f.origin else {
        return b"/dev/console".to_vec();
    };
    let attr = v.attr(o.node.node(), ext).unwrap_or_default();
    if vfs::mode::is_dir(attr.mode)
        && let Ok(p) = v.path_of(o.node.node(), v.root(), ext)
    {
        return p;
    }
    let mut p = match &o.dir {
        Some(d) => v.path_of(d.node(), v.root(), ext).unwrap_or_default(),
        None => Vec::new(),
    };
    if p != b"/" {
        p.push(b'/');
    }
    p.extend_from_slice(&o.name);
    if attr.nlink == 0 {
        p.extend_from_slice(b" (deleted)");
    }
    p
}
