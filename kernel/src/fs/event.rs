//! eventfd and epoll.
//!
//! An eventfd is a 64-bit counter: writes add, reads take the whole count (or one, with
//! EFD_SEMAPHORE) and block at zero. An epoll instance is an interest list of (descriptor,
//! open file, events, data); `epoll_wait` polls each file's readiness the way poll(2) does and
//! sleeps on the same queue. Edge-triggered entries report only when the file's change counter
//! moved since they last reported; one-shot entries disarm after reporting until EPOLL_CTL_MOD.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use abi::errno::Errno;
use hal::sync::SpinLock;

use super::file::File;
use super::pipe::{POLL, POLLIN, POLLOUT};
use crate::sched::WaitQueue;

pub struct EventFd {
    count: SpinLock<u64>,
    pub semaphore: bool,
    wait: WaitQueue,
    /// Changes, for edge-triggered epoll.
    pub seq: AtomicU64,
}

const MAX: u64 = u64::MAX - 1;

impl EventFd {
    pub fn new(initial: u64, semaphore: bool) -> Arc<EventFd> {
        Arc::new(EventFd {
            count: SpinLock::new(initial),
            semaphore,
            wait: WaitQueue::new(),
            seq: AtomicU64::new(0),
        })
    }

    fn changed(&self) {
        self.seq.fetch_add(1, Ordering::Relaxed);
        self.wait.wake_all();
        POLL.wake_all();
    }

    pub fn read(&self, nonblock: bool) -> Result<u64, Errno> {
        let r = self.wait.wait_until(|| {
            let mut c = self.count.lock();
            if *c == 0 {
                if nonblock {
                    return Some(Err(Errno::EAGAIN));
                }
                return crate::sched::signal_wakeup().then_some(Err(Errno::ERESTARTSYS));
            }
            let v = if self.semaphore { 1 } else { *c };
            *c -= v;
            Some(Ok(v))
        });
        if r.is_ok() {
            self.changed();
        }
        r
    }

    pub fn write(&self, v: u64, nonblock: bool) -> Result<(), Errno> {
        if v == u64::MAX {
            return Err(Errno::EINVAL);
        }
        let r = self.wait.wait_until(|| {
            let mut c = self.count.lock();
            if MAX - *c < v {
                if nonblock {
                    return Some(Err(Errno::EAGAIN));
                }
                return crate::sched::signal_wakeup().then_some(Err(Errno::ERESTARTSYS));
            }
            *c += v;
            Some(Ok(()))
        });
        if r.is_ok() {
            self.changed();
        }
        r
    }

    pub fn poll(&self) -> i16 {
        let c = *self.count.lock();
        (if c > 0 { POLLIN } else { 0 }) | (if c < MAX { POLLOUT } else { 0 })
    }
}

pub const EPOLLONESHOT: u32 = 1 << 30;
pub const EPOLLET: u32 = 1 << 31;

struct Interest {
    fd: i32,
    file: Weak<File>,
    events: u32,
    data: u64,
    /// The file's change counter when this entry last reported (edge-triggered).
    last_seq: Option<u64>,
    /// One-shot entries disarm after reporting.
    armed: bool,
}

pub struct Epoll {
    list: SpinLock<Vec<Interest>>,
}

impl Epoll {
    pub fn new() -> Arc<Epoll> {
        Arc::new(Epoll {
            list: SpinLock::new(Vec::new()),
        })
    }

    /// EPOLL_CTL_ADD (1), DEL (2), MOD (3).
    pub fn ctl(
        &self,
        op: u32,
        fd: i32,
        file: &Arc<File>,
        events: u32,
        data: u64,
    ) -> Result<(), Errno> {
        let mut list = self.list.lock();
        list.retain(|i| i.file.strong_count() > 0);
        let pos = list
            .iter()
            .position(|i| i.fd == fd && i.file.upgrade().is_some_and(|f| Arc::ptr_eq(&f, file)));
        match (op, pos) {
            (1, Some(_)) => Err(Errno::EEXIST),
            (1, None) => {
                list.push(Interest {
                    fd,
                    file: Arc::downgrade(file),
                    events,
                    data,
                    last_seq: None,
                    armed: true,
                });
                Ok(())
            }
            (2, Some(p)) => {
                list.remove(p);
                Ok(())
            }
            (3, Some(p)) => {
                let i = &mut list[p];
                i.events = events;
                i.data = data;
                i.last_seq = None;
                i.armed = true;
                Ok(())
            }
            (2 | 3, None) => Err(Errno::ENOENT),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Ready entries, at most `max`, as (events, data); updates edge and one-shot state.
    pub fn collect(&self, max: usize, ready: impl Fn(&File) -> (u32, u64)) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        let mut list = self.list.lock();
        list.retain(|i| i.file.strong_count() > 0);
        for i in list.iter_mut() {
            if out.len() >= max {
                break;
            }
            if !i.armed {
                continue;
            }
            let Some(f) = i.file.upgrade() else { continue };
            let (bits, seq) = ready(&f);
            // Errors and hang-ups are always reported.
            let hit = bits & (i.events | 0x8 | 0x10);
            if hit == 0 {
                continue;
            }
            if i.events & EPOLLET != 0 {
                if i.last_seq == Some(seq) {
                    continue;
                }
                i.last_seq = Some(seq);
            }
            if i.events & EPOLLONESHOT != 0 {
                i.armed = false;
            }
            out.push((hit, i.data));
        }
        out
    }

    /// Whether `target` is this epoll instance (adding an epoll to itself is EINVAL).
    pub fn is(&self, other: &Epoll) -> bool {
        core::ptr::eq(self, other)
    }
}
