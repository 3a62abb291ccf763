//! Locks safe to use from any context: `SpinLock` masks interrupts on this CPU while held (so an
//! interrupt handler that takes the same lock cannot deadlock against the code it interrupted)
//! and spins on an atomic flag for other CPUs. `Once` publishes a value exactly once.
//!
//! Lock rule: never sleep or wait for an interrupt while holding a `SpinLock`.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crate::arch;

pub struct SpinLock<T> {
    locked: AtomicBool,
    data: UnsafeCell<T>,
}

// SAFETY: the flag gives one holder at a time exclusive access to `data`, so sharing the lock
// between CPUs is sound whenever `T` may be sent between them.
unsafe impl<T: Send> Sync for SpinLock<T> {}
// SAFETY: moving the lock moves the value; no reference into it can outlive the move.
unsafe impl<T: Send> Send for SpinLock<T> {}

pub struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
    irq_was_on: bool,
}

impl<T> SpinLock<T> {
    pub const fn new(value: T) -> Self {
        SpinLock {
            locked: AtomicBool::new(false),
            data: UnsafeCell::new(value),
        }
    }

    pub fn lock(&self) -> SpinGuard<'_, T> {
        let irq_was_on = arch::interrupts_enabled();
        arch::disable_interrupts();
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            while self.locked.load(Ordering::Relaxed) {
                arch::pause();
            }
        }
        SpinGuard {
            lock: self,
            irq_was_on,
        }
    }

    /// Take the lock only if it is free right now (the panic path uses this so that a CPU that
    /// panicked while holding the console can still print).
    pub fn try_lock(&self) -> Option<SpinGuard<'_, T>> {
        let irq_was_on = arch::interrupts_enabled();
        arch::disable_interrupts();
        if self
            .locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            Some(SpinGuard {
                lock: self,
                irq_was_on,
            })
        } else {
            if irq_was_on {
                arch::enable_interrupts();
            }
            None
        }
    }

    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Relaxed)
    }
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: holding the guard means holding the lock: no other reference to `data` exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`, and `&mut self` makes this the only borrow through the guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
        if self.irq_was_on {
            arch::enable_interrupts();
        }
    }
}

/// A value written once (by whoever calls `call_once` first) and read-only afterwards.
pub struct Once<T> {
    state: AtomicU8,
    value: UnsafeCell<Option<T>>,
}

const EMPTY: u8 = 0;
const RUNNING: u8 = 1;
const READY: u8 = 2;

// SAFETY: the value is written by one CPU before `state` becomes READY (Release) and only read
// after observing READY (Acquire); afterwards it is never mutated.
unsafe impl<T: Send + Sync> Sync for Once<T> {}

impl<T> Once<T> {
    pub const fn new() -> Self {
        Once {
            state: AtomicU8::new(EMPTY),
            value: UnsafeCell::new(None),
        }
    }

    pub fn call_once(&self, init: impl FnOnce() -> T) -> &T {
        if self
            .state
            .compare_exchange(EMPTY, RUNNING, Ordering::Acquire, Ordering::Acquire)
            .is_ok()
        {
            let v = init();
            // SAFETY: state RUNNING gives this CPU exclusive access; nobody reads before READY.
            unsafe { *self.value.get() = Some(v) };
            self.state.store(READY, Ordering::Release);
        }
        while self.state.load(Ordering::Acquire) != READY {
            arch::pause();
        }
        match self.get() {
            Some(v) => v,
            None => unreachable!("Once is READY without a value"),
        }
    }

    pub fn get(&self) -> Option<&T> {
        if self.state.load(Ordering::Acquire) == READY {
            // SAFETY: READY means the value was written and will never change again.
            unsafe { (*self.value.get()).as_ref() }
        } else {
            None
        }
    }
}

impl<T> Default for Once<T> {
    fn default() -> Self {
        Self::new()
    }
}
