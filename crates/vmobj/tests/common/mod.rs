//! Test page type and page supplier shared by the integration tests: pages carry a
//! unique id and real contents, and a shared counter tracks how many are alive.

#![allow(dead_code)]

use std::cell::Cell;
use std::rc::Rc;
use vmobj::{PAGE, Pages};

/// A page: unique id, contents, and a live counter decremented on drop.
pub struct TPage {
    pub id: u64,
    pub data: Vec<u8>,
    live: Rc<Cell<i64>>,
}

impl Drop for TPage {
    fn drop(&mut self) {
        self.live.set(self.live.get() - 1);
    }
}

/// Page supplier counting allocations and copies; `fail` makes every allocation fail.
#[derive(Default)]
pub struct TPages {
    next: u64,
    pub zeroed: usize,
    pub copies: usize,
    pub fail: bool,
    pub live: Rc<Cell<i64>>,
}

impl TPages {
    fn make(&mut self, data: Vec<u8>) -> Option<TPage> {
        if self.fail {
            return None;
        }
        self.next += 1;
        self.live.set(self.live.get() + 1);
        Some(TPage {
            id: self.next,
            data,
            live: self.live.clone(),
        })
    }

    /// Pages currently alive (allocated and not yet dropped).
    pub fn alive(&self) -> i64 {
        self.live.get()
    }
}

impl Pages for TPages {
    type P = TPage;

    fn zeroed(&mut self) -> Option<TPage> {
        let p = self.make(vec![0; PAGE as usize])?;
        self.zeroed += 1;
        Some(p)
    }

    fn copy(&mut self, from: &TPage) -> Option<TPage> {
        let p = self.make(from.data.clone())?;
        self.copies += 1;
        Some(p)
    }

    /// "Physical memory" below 1 MiB: every byte of page `pa` is its page number.
    fn device(&mut self, pa: u64) -> Option<TPage> {
        if pa >= 1 << 20 {
            return None;
        }
        self.make(vec![(pa / PAGE) as u8; PAGE as usize])
    }
}
