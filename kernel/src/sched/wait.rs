//! Wait queues: sleep until a condition holds, without losing a wake-up. The sleeper registers
//! itself and marks itself sleeping *before* re-checking the condition; a waker that changes
//! the condition afterwards finds it in the queue and makes it runnable again, so `schedule`
//! either does not switch away or the thread is already back in a run queue.

use alloc::collections::VecDeque;
use alloc::sync::Arc;

use hal::sync::SpinLock;

use super::{Thread, current, schedule};

pub struct WaitQueue {
    waiters: SpinLock<VecDeque<Arc<Thread>>>,
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    pub const fn new() -> WaitQueue {
        WaitQueue {
            waiters: SpinLock::new(VecDeque::new()),
        }
    }

    /// Sleep until `cond` returns Some, and return its value.
    pub fn wait_until<T>(&self, mut cond: impl FnMut() -> Option<T>) -> T {
        loop {
            if let Some(v) = cond() {
                return v;
            }
            let me = current();
            {
                let mut w = self.waiters.lock();
                me.prepare_sleep();
                w.push_back(me.clone());
            }
            if let Some(v) = cond() {
                self.remove(&me);
                me.cancel_sleep();
                return v;
            }
            schedule();
            self.remove(&me);
        }
    }

    fn remove(&self, t: &Arc<Thread>) {
        self.waiters.lock().retain(|w| !Arc::ptr_eq(w, t));
    }

    /// Wake every sleeper; each re-checks its condition.
    pub fn wake_all(&self) -> usize {
        let all: VecDeque<Arc<Thread>> = core::mem::take(&mut *self.waiters.lock());
        let n = all.len();
        for t in all {
            t.wake();
        }
        n
    }

    /// Wake the first sleeper, if any.
    pub fn wake_one(&self) -> bool {
        let t = self.waiters.lock().pop_front();
        match t {
            Some(t) => {
                t.wake();
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.waiters.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
