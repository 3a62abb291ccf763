//! A sleeping lock for long critical sections: a thread that finds it taken sleeps on a wait
//! queue instead of spinning, and may itself sleep while holding it (unlike a `SpinLock`).
//! Written without `unsafe`: the protected value moves into the guard while the lock is held
//! and back when the guard drops, so ownership itself enforces exclusion. Keep `T` small (a
//! `Box` if need be) since it moves on every lock.

use core::ops::{Deref, DerefMut};

use hal::sync::SpinLock;

use super::WaitQueue;

// Its first users are the file system and memory layers; until then only the in-kernel tests.
#[cfg_attr(not(feature = "ktest"), allow(dead_code))]
pub struct Mutex<T> {
    slot: SpinLock<Option<T>>,
    waiters: WaitQueue,
}

#[cfg_attr(not(feature = "ktest"), allow(dead_code))]
pub struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
    value: Option<T>,
}

#[cfg_attr(not(feature = "ktest"), allow(dead_code))]
impl<T> Mutex<T> {
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            slot: SpinLock::new(Some(value)),
            waiters: WaitQueue::new(),
        }
    }

    /// Take the lock, sleeping while another thread holds it.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        let value = self.waiters.wait_until(|| self.slot.lock().take());
        MutexGuard {
            mutex: self,
            value: Some(value),
        }
    }

    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        let value = self.slot.lock().take()?;
        Some(MutexGuard {
            mutex: self,
            value: Some(value),
        })
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.value {
            Some(v) => v,
            None => unreachable!("guard without value"),
        }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.value {
            Some(v) => v,
            None => unreachable!("guard without value"),
        }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        *self.mutex.slot.lock() = self.value.take();
        self.mutex.waiters.wake_one();
    }
}
