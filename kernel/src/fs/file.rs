//! Open files and descriptor tables (first version): the console, /dev/null and files of the
//! in-memory tree, read-only. An open file (`Arc<File>`) is shared by descriptors that were
//! duplicated or inherited through fork, so they share the offset, as on Linux.

use alloc::sync::Arc;
use alloc::vec::Vec;

use abi::errno::Errno;
use hal::sync::SpinLock;

use super::ramfs::Node;

pub enum FileKind {
    Console,
    Null,
    Ram(Arc<Node>),
}

pub struct File {
    pub kind: FileKind,
    pub offset: SpinLock<u64>,
    /// O_ACCMODE and status flags given to open.
    pub flags: u32,
}

pub const O_ACCMODE: u32 = 3;
pub const O_WRONLY: u32 = 1;
pub const O_RDWR: u32 = 2;
pub const O_CLOEXEC: u32 = 0o2000000;
pub const O_DIRECTORY: u32 = 0o200000;
pub const O_NOFOLLOW: u32 = 0o400000;
pub const O_CREAT: u32 = 0o100;
pub const O_TRUNC: u32 = 0o1000;

impl File {
    pub fn new(kind: FileKind, flags: u32) -> Arc<File> {
        Arc::new(File {
            kind,
            offset: SpinLock::new(0),
            flags,
        })
    }

    pub fn readable(&self) -> bool {
        self.flags & O_ACCMODE != O_WRONLY
    }

    pub fn writable(&self) -> bool {
        matches!(self.flags & O_ACCMODE, O_WRONLY | O_RDWR)
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
        let con = File::new(FileKind::Console, O_RDWR);
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

    pub fn close(&mut self, fd: i32) -> Result<(), Errno> {
        let slot = usize::try_from(fd)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
            .ok_or(Errno::EBADF)?;
        slot.take().map(|_| ()).ok_or(Errno::EBADF)
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

    /// dup2/dup3: make `new` refer to the same open file as `old`.
    pub fn dup_to(
        &mut self,
        old: i32,
        new: i32,
        cloexec: bool,
        limit: usize,
    ) -> Result<i32, Errno> {
        let file = self.get(old)?;
        let n = usize::try_from(new)
            .ok()
            .filter(|&n| n < limit)
            .ok_or(Errno::EBADF)?;
        if n >= self.slots.len() {
            self.slots.resize(n + 1, None);
        }
        self.slots[n] = Some(Slot { file, cloexec });
        Ok(new)
    }

    /// execve closes descriptors marked close-on-exec.
    pub fn close_on_exec(&mut self) {
        for s in &mut self.slots {
            if s.as_ref().is_some_and(|x| x.cloexec) {
                *s = None;
            }
        }
    }
}
