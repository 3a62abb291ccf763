//! Pipes and FIFOs: a [`PipeBuf`] (the host-tested ring with POSIX's atomicity rule) under a
//! spin lock, with wait queues for readers and writers. Poll and select sleep on [`POLL`],
//! which every state change of a pipe or the console wakes.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};

use abi::errno::Errno;
use hal::sync::SpinLock;
use vfs::Node;
use vfs::pipe::{PipeBuf, Read, Write};

use crate::sched::WaitQueue;

/// Sleepers in poll/select; woken on any change that may make a descriptor ready, and on every
/// timer tick (for timeouts).
pub static POLL: WaitQueue = WaitQueue::new();

pub struct Pipe {
    id: u64,
    /// Edge-triggered epoll's change counters: [0] moves when data arrives or a writer goes
    /// (events for the read end), [1] when data is taken or a reader goes (the write end).
    pub seq: [core::sync::atomic::AtomicU64; 2],
    pub buf: SpinLock<PipeBuf>,
    readers_wait: WaitQueue,
    writers_wait: WaitQueue,
    /// FIFO opens wait here for the other side.
    open_wait: WaitQueue,
    /// Ends ever opened, readers and writers: a FIFO open waiting for the other side is
    /// satisfied by an open that happened even if that end has closed again since.
    opened: SpinLock<[u64; 2]>,
}

impl Pipe {
    pub fn new() -> Arc<Pipe> {
        static NEXT: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);
        Arc::new(Pipe {
            id: NEXT.fetch_add(1, core::sync::atomic::Ordering::Relaxed),
            seq: [
                core::sync::atomic::AtomicU64::new(0),
                core::sync::atomic::AtomicU64::new(0),
            ],
            buf: SpinLock::new(PipeBuf::default()),
            readers_wait: WaitQueue::new(),
            writers_wait: WaitQueue::new(),
            open_wait: WaitQueue::new(),
            opened: SpinLock::new([0; 2]),
        })
    }

    /// A number naming this pipe (`pipe:[N]`).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Count a new end (an open file description).
    pub fn add_end(&self, write: bool) {
        {
            let mut b = self.buf.lock();
            if write {
                b.writers += 1;
            } else {
                b.readers += 1;
            }
        }
        self.opened.lock()[usize::from(write)] += 1;
        self.open_wait.wake_all();
    }

    /// An end's last descriptor closed.
    pub fn drop_end(&self, write: bool) {
        {
            let mut b = self.buf.lock();
            if write {
                b.writers -= 1;
            } else {
                b.readers -= 1;
            }
        }
        // A writer leaving is news for readers, and the other way round.
        self.wake(usize::from(!write));
    }

    /// Wake everyone; `side` says whose change counter moves (0: readers', 1: writers').
    fn wake(&self, side: usize) {
        self.seq[side].fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        self.readers_wait.wake_all();
        self.writers_wait.wake_all();
        POLL.wake_all();
    }

    /// Read into `out`, sleeping while the pipe is empty and has writers (unless `nonblock`).
    pub fn read(&self, out: &mut [u8], nonblock: bool) -> Result<usize, Errno> {
        let r = self
            .readers_wait
            .wait_until(|| match self.buf.lock().read(out) {
                Read::Data(n) => Some(Ok(n)),
                Read::Eof => Some(Ok(0)),
                Read::Empty if nonblock => Some(Err(Errno::EAGAIN)),
                Read::Empty if crate::sched::signal_wakeup() => Some(Err(Errno::ERESTARTSYS)),
                Read::Empty => None,
            });
        if r.as_ref().is_ok_and(|&n| n > 0) {
            self.wake(1);
        }
        r
    }

    /// Write all of `src` (a blocking writer sleeps for room; a non-blocking one takes what
    /// fits, or `EAGAIN`). `EPIPE` when no reader is left.
    pub fn write(&self, src: &[u8], nonblock: bool) -> Result<usize, Errno> {
        let mut done = 0;
        loop {
            let step = self
                .writers_wait
                .wait_until(|| match self.buf.lock().write(&src[done..]) {
                    Write::Wrote(n) => Some(Ok(n)),
                    Write::Broken => Some(Err(Errno::EPIPE)),
                    Write::Full if nonblock => Some(Err(Errno::EAGAIN)),
                    Write::Full if crate::sched::signal_wakeup() => Some(Err(Errno::ERESTARTSYS)),
                    Write::Full => None,
                });
            match step {
                Ok(n) => {
                    done += n;
                    self.wake(0);
                    if done == src.len() {
                        return Ok(done);
                    }
                }
                // A partial write is a success; the error comes with the next call.
                Err(_) if done > 0 => return Ok(done),
                Err(e) => return Err(e),
            }
        }
    }

    /// poll(2) bits for one end.
    pub fn poll(&self, write: bool) -> i16 {
        let b = self.buf.lock();
        let mut r = 0;
        if write {
            if b.readers == 0 {
                // Linux reports a widowed write end as writable (the write fails with EPIPE).
                r |= POLLOUT | POLLERR;
            } else if b.space() >= vfs::pipe::PIPE_BUF {
                r |= POLLOUT;
            }
        } else {
            if !b.is_empty() {
                r |= POLLIN;
            }
            if b.writers == 0 {
                r |= POLLHUP;
            }
        }
        r
    }

    pub fn available(&self) -> usize {
        self.buf.lock().len()
    }

    /// FIFO open: wait until the other side has an end, or had one since `seen` (the count
    /// of the other side's opens before this open began). `O_RDWR` callers never wait.
    pub fn wait_for_peer(&self, write: bool, seen: u64) -> Result<(), Errno> {
        let other = usize::from(!write);
        self.open_wait.wait_until(|| {
            let b = self.buf.lock();
            let n = if write { b.readers } else { b.writers };
            if n > 0 || self.opened.lock()[other] != seen {
                Some(Ok(()))
            } else if crate::sched::signal_wakeup() {
                Some(Err(Errno::ERESTARTSYS))
            } else {
                None
            }
        })
    }

    /// How many ends of the other side were ever opened (see `wait_for_peer`).
    pub fn peer_opens(&self, write: bool) -> u64 {
        self.opened.lock()[usize::from(!write)]
    }
}

pub const POLLIN: i16 = 0x1;
pub const POLLOUT: i16 = 0x4;
pub const POLLERR: i16 = 0x8;
pub const POLLHUP: i16 = 0x10;
pub const POLLNVAL: i16 = 0x20;

/// The pipe behind each FIFO node that is open somewhere.
static FIFOS: SpinLock<BTreeMap<Node, Weak<Pipe>>> = SpinLock::new(BTreeMap::new());

/// The pipe of FIFO `node`, created at its first open.
pub fn fifo(node: Node) -> Arc<Pipe> {
    let mut m = FIFOS.lock();
    if let Some(p) = m.get(&node).and_then(Weak::upgrade) {
        return p;
    }
    m.retain(|_, w| w.strong_count() > 0);
    let p = Pipe::new();
    m.insert(node, Arc::downgrade(&p));
    p
}
