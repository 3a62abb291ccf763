//! Pseudo-terminals: `/dev/ptmx` makes a pair. The slave `/dev/pts/N` is a terminal with its
//! own line discipline (`tty::Tty`); what the master writes is the slave's keyboard input, and
//! what the slave writes (and the line discipline echoes) is queued for the master to read.
//! The slave starts locked (TIOCSPTLCK unlocks it, as `unlockpt` does); its node is made in
//! `/dev/pts` when the pair is created and removed when the master closes, which also hangs
//! the slave up (reads end, writes fail with EIO, SIGHUP to its foreground group).

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use abi::errno::Errno;
use hal::sync::SpinLock;
use vfs::{Cred, NewKind, Walk};

use crate::sched::WaitQueue;
use crate::tty::Tty;

/// Bytes the master may have waiting before slave writes block.
const MASTER_BUF: usize = 64 * 1024;
const PTS_MAJOR: u32 = 136;

pub struct Pty {
    pub index: u32,
    pub tty: Tty,
    master_buf: SpinLock<VecDeque<u8>>,
    master_wait: WaitQueue,
    slave_wait: WaitQueue,
    pub locked: AtomicBool,
    master_open: AtomicBool,
    slave_opens: AtomicU32,
}

static PTYS: SpinLock<BTreeMap<u32, Weak<Pty>>> = SpinLock::new(BTreeMap::new());

/// The pair with slave number `n`, while its master is open.
pub fn lookup(n: u32) -> Option<Arc<Pty>> {
    PTYS.lock().get(&n).and_then(Weak::upgrade)
}

fn pts_dir(v: &vfs::Vfs) -> Option<vfs::Node> {
    let root = v.root();
    let w = Walk {
        root,
        start: root,
        cred: Cred::ROOT,
        ext: &vfs::NoExt,
    };
    v.resolve(&w, b"/dev/pts", true).ok()
}

/// Open `/dev/ptmx`: a new pair, its slave node owned by the caller (mode 0620).
/// The caller holds the VFS lock (`v`), as `open` does.
pub fn open_master(v: &mut vfs::Vfs, uid: u32, gid: u32) -> Result<Arc<Pty>, Errno> {
    let pty = {
        let mut table = PTYS.lock();
        table.retain(|_, w| w.strong_count() > 0);
        let index = (0..4096u32)
            .find(|i| !table.contains_key(i))
            .ok_or(Errno::ENOSPC)?;
        let pty = Arc::new(Pty {
            index,
            tty: Tty::new(0, 0),
            master_buf: SpinLock::new(VecDeque::new()),
            master_wait: WaitQueue::new(),
            slave_wait: WaitQueue::new(),
            locked: AtomicBool::new(true),
            master_open: AtomicBool::new(true),
            slave_opens: AtomicU32::new(0),
        });
        table.insert(index, Arc::downgrade(&pty));
        pty
    };
    if let Some(dir) = pts_dir(v) {
        let name = alloc::format!("{}", pty.index);
        let _ = v.unlink(dir, name.as_bytes(), &Cred::ROOT);
        let kind = NewKind::Special {
            kind: vfs::mode::S_IFCHR,
            rdev: vfs::mode::makedev(PTS_MAJOR, pty.index),
        };
        if let Ok(n) = v.create(dir, name.as_bytes(), kind, 0o620, &Cred::ROOT) {
            let _ = v.chown(n, Some(uid), Some(gid), &Cred::ROOT);
        }
    }
    Ok(pty)
}

impl Pty {
    /// Queue bytes for the master (slave output and echoes).
    fn to_master(&self, bytes: &[u8]) {
        {
            let mut b = self.master_buf.lock();
            let room = MASTER_BUF.saturating_sub(b.len());
            b.extend(&bytes[..bytes.len().min(room)]);
        }
        self.master_wait.wake_all();
        crate::fs::pipe::POLL.wake_all();
    }

    /// The master writes: keyboard input for the slave.
    pub fn master_write(&self, data: &[u8]) -> usize {
        let sink = |b: &[u8]| self.to_master(b);
        for &b in data {
            self.tty.receive(b, &sink);
        }
        data.len()
    }

    /// The master reads what the slave wrote. EIO once no slave is open and nothing is left
    /// (after a slave was opened), as on Linux.
    pub fn master_read(&self, out: &mut [u8], nonblock: bool) -> Result<usize, Errno> {
        self.master_wait.wait_until(|| {
            let mut b = self.master_buf.lock();
            if !b.is_empty() {
                let n = out.len().min(b.len());
                for (o, x) in out.iter_mut().zip(b.drain(..n)) {
                    *o = x;
                }
                return Some(Ok(n));
            }
            drop(b);
            if self.slave_opens.load(Ordering::Relaxed) == 0
                && self.tty.hung_up.load(Ordering::Relaxed)
            {
                return Some(Err(Errno::EIO));
            }
            if nonblock {
                return Some(Err(Errno::EAGAIN));
            }
            crate::sched::signal_wakeup().then_some(Err(Errno::ERESTARTSYS))
        })
    }

    pub fn slave_write(&self, data: &[u8]) -> Result<usize, Errno> {
        if !self.master_open.load(Ordering::Relaxed) {
            return Err(Errno::EIO);
        }
        let sink = |b: &[u8]| self.to_master(b);
        self.tty.output(data, &sink);
        Ok(data.len())
    }

    pub fn slave_read(&self, out: &mut [u8]) -> Result<usize, Errno> {
        self.tty.read(out)
    }

    pub fn master_poll(&self) -> i16 {
        use crate::fs::pipe::{POLLHUP, POLLIN, POLLOUT};
        let mut r = POLLOUT;
        if !self.master_buf.lock().is_empty() {
            r |= POLLIN;
        }
        if self.slave_opens.load(Ordering::Relaxed) == 0 && self.tty.hung_up.load(Ordering::Relaxed)
        {
            r |= POLLHUP;
        }
        r
    }

    pub fn slave_poll(&self) -> i16 {
        use crate::fs::pipe::{POLLHUP, POLLIN, POLLOUT};
        let mut r = if self.master_open.load(Ordering::Relaxed) {
            POLLOUT
        } else {
            POLLHUP
        };
        if self.tty.has_input() {
            r |= POLLIN;
        }
        r
    }

    pub fn slave_opened(&self) {
        self.slave_opens.fetch_add(1, Ordering::Relaxed);
    }

    pub fn slave_closed(&self) {
        self.slave_opens.fetch_sub(1, Ordering::Relaxed);
        self.master_wait.wake_all();
        let _ = &self.slave_wait;
    }

    /// The master's last descriptor closed: hang the slave up and remove its node.
    pub fn master_closed(&self) {
        self.master_open.store(false, Ordering::Relaxed);
        self.tty.hung_up.store(true, Ordering::Relaxed);
        self.tty.wake();
        let fg = self.tty.foreground.load(Ordering::Relaxed);
        if fg != 0 {
            let mut seen = alloc::collections::BTreeSet::new();
            for p in crate::proc::all() {
                if seen.insert(p.pid) && p.pgid.load(Ordering::Relaxed) == fg {
                    crate::proc::signal::send(
                        &p,
                        crate::proc::signal::SigInfo::user(1, crate::proc::signal::SI_KERNEL, 0, 0),
                    );
                }
            }
        }
        let mut v = super::lock();
        if let Some(dir) = pts_dir(&v) {
            let _ = v.unlink(
                dir,
                alloc::format!("{}", self.index).as_bytes(),
                &Cred::ROOT,
            );
        }
        PTYS.lock().remove(&self.index);
    }

    /// Master-only ioctls; the rest act on the terminal.
    pub fn master_ioctl(
        &self,
        t: &crate::proc::task::Task,
        cmd: u32,
        arg: u64,
    ) -> crate::syscall::Result {
        const TIOCGPTN: u32 = 0x8004_5430;
        const TIOCSPTLCK: u32 = 0x4004_5431;
        const TIOCGPTLCK: u32 = 0x8004_5439;
        match cmd {
            TIOCGPTN => {
                t.write_user(arg, &self.index.to_le_bytes())?;
                Ok(0)
            }
            TIOCSPTLCK => {
                let mut b = [0u8; 4];
                t.read_user(arg, &mut b)?;
                self.locked
                    .store(i32::from_le_bytes(b) != 0, Ordering::Relaxed);
                Ok(0)
            }
            TIOCGPTLCK => {
                let v = i32::from(self.locked.load(Ordering::Relaxed));
                t.write_user(arg, &v.to_le_bytes())?;
                Ok(0)
            }
            _ => self.tty.ioctl(t, cmd, arg),
        }
    }
}
