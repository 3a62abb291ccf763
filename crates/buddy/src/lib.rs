//! Buddy allocator for physical page frames.
//!
//! # Design
//!
//! The allocator manages a contiguous window of physical frame numbers (PFNs)
//! `[base_pfn, base_pfn + n)` and hands out *naturally aligned* blocks of
//! `2^order` frames, `order <= MAX_ORDER`. "Naturally aligned" is meant in
//! absolute PFN terms (a block of order `k` starts at a PFN that is a multiple
//! of `2^k`), so blocks stay aligned in physical memory even when `base_pfn`
//! itself is not aligned.
//!
//! ## Metadata array
//!
//! The caller provides one [`FrameInfo`] per frame (`meta[i]` describes PFN
//! `base_pfn + i`); the allocator itself never allocates memory. Each entry is
//! in one of four states:
//!
//! * `Reserved`  — never handed in with [`Buddy::add_free_range`]; unusable.
//! * `Free`      — first frame (head) of a free block; `order` is its size.
//! * `Allocated` — head of a block returned by [`Buddy::alloc`]; `order` is its size.
//! * `Tail`      — any other frame of a free or allocated block.
//!
//! Every managed frame belongs to exactly one block, so the array is a tiling
//! of reserved frames and blocks `[head, head + 2^order)`. Splitting a block
//! turns one tail into a head, merging turns one head into a tail; no operation
//! ever touches more than `O(MAX_ORDER)` entries (except `add_free_range`,
//! which must mark each new frame once). The head of the block containing any
//! frame is found by probing the `MAX_ORDER` aligned PFNs below it: the first
//! one that is a head is the block's head, because every frame strictly
//! between a head and one of its tails is a tail as well.
//!
//! ## Free lists
//!
//! For each order there is a doubly linked list of free block heads, linked
//! by `u32` indices into the metadata array (`u32::MAX` = none). Removing an
//! arbitrary block from its list is therefore `O(1)`, which makes coalescing
//! `O(MAX_ORDER)`.
//!
//! ## Allocation and coalescing
//!
//! `alloc(k)` takes the first block from the smallest non-empty list of order
//! `>= k` and splits it, returning each upper half to the list one order below,
//! until a block of order `k` remains. `free(p, k)` checks that `p` is the head
//! of an allocated block of order exactly `k`, then repeatedly merges the
//! block with its buddy (`pfn ^ 2^k`) while that buddy is the head of a free
//! block of the same order and lies inside the window.
//!
//! ## Invariants (verified by [`Buddy::check`])
//!
//! 1. Each list of order `k` contains exactly the `Free` heads of order `k`;
//!    `next`/`prev` links agree and lists are acyclic.
//! 2. Every head of order `k` is aligned to `2^k`, its block lies within the
//!    window and all its other frames are `Tail`; no tail is outside a block.
//! 3. No two free buddies of the same order coexist (they would have been merged).
//! 4. `free_frames` and the per-order block counts equal the sums over the
//!    lists; `total_frames` equals the number of non-reserved frames.
//!
//! No caller-visible error path panics: invalid frees return [`FreeError`] and
//! leave the state untouched, and all array accesses are bounds-checked.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::arithmetic_side_effects
    )
)]

/// Largest block order: a block holds at most `2^MAX_ORDER` frames.
pub const MAX_ORDER: usize = 10;

/// Physical frame number.
pub type Pfn = u64;

/// Number of distinct orders (`0..=MAX_ORDER`).
const ORDERS: usize = MAX_ORDER + 1;

/// "No frame" marker in list links and list heads.
const NONE: u32 = u32::MAX;

/// State of one frame, see the crate documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum State {
    Reserved,
    Free,
    Allocated,
    Tail,
}

/// Per-frame metadata (12 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// Next free block of the same order; meaningful only for `Free` heads, else `NONE`.
    next: u32,
    /// Previous free block of the same order; meaningful only for `Free` heads, else `NONE`.
    prev: u32,
    /// Block order for `Free`/`Allocated` heads (`<= MAX_ORDER`); 0 otherwise.
    order: u8,
    /// What this frame is.
    state: State,
}

const _: () = assert!(core::mem::size_of::<FrameInfo>() <= 16);

impl FrameInfo {
    /// A reserved (unusable) frame.
    pub const fn new() -> Self {
        Self::with(State::Reserved, 0)
    }

    /// An unlinked entry in `state` with `order`.
    const fn with(state: State, order: u8) -> Self {
        Self {
            next: NONE,
            prev: NONE,
            order,
            state,
        }
    }

    /// Whether the frame is the head of a block (free or allocated).
    fn is_head(&self) -> bool {
        matches!(self.state, State::Free | State::Allocated)
    }
}

impl Default for FrameInfo {
    fn default() -> Self {
        Self::new()
    }
}

/// Why [`Buddy::free`] rejected a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreeError {
    /// The PFN lies outside the allocator's window.
    OutOfRange,
    /// The PFN is not the head of an allocated block: double free, a frame
    /// that was never allocated, a reserved frame or an interior frame.
    NotAllocated,
    /// The order exceeds `MAX_ORDER` or differs from the one used to allocate.
    WrongOrder,
    /// The PFN is not aligned to `2^order`.
    Misaligned,
}

/// Number of frames in a block of `order` (`order <= MAX_ORDER` everywhere it is used).
fn frames_of(order: usize) -> u64 {
    u32::try_from(order)
        .ok()
        .and_then(|o| 1u64.checked_shl(o))
        .unwrap_or(0)
}

/// The order as stored in a `FrameInfo` (`order <= MAX_ORDER < 256`).
fn order_u8(order: usize) -> u8 {
    u8::try_from(order).unwrap_or(u8::MAX)
}

/// Whether `pfn` is a multiple of `2^order`.
fn aligned(pfn: Pfn, order: usize) -> bool {
    pfn & frames_of(order).wrapping_sub(1) == 0
}

/// Largest `k` with `2^k <= n` (`n > 0`).
fn floor_log2(n: u64) -> usize {
    usize::try_from(n.checked_ilog2().unwrap_or(0)).unwrap_or(0)
}

/// Buddy allocator over a caller-provided metadata array.
pub struct Buddy<'a> {
    /// `meta[i]` describes PFN `base + i`; `meta.len() < u32::MAX` and
    /// `base + meta.len()` does not overflow (enforced by `new`).
    meta: &'a mut [FrameInfo],
    /// PFN of `meta[0]`.
    base: Pfn,
    /// `heads[k]`: index of the first free block of order `k`, or `NONE`.
    heads: [u32; ORDERS],
    /// `counts[k]`: length of list `k`.
    counts: [usize; ORDERS],
    /// Sum over all lists of `2^k` per block: frames currently free.
    free: u64,
    /// Frames ever handed in via `add_free_range` (= non-reserved frames).
    total: u64,
}

impl<'a> Buddy<'a> {
    /// Every frame starts reserved (not free, not allocated). `meta[i]`
    /// describes PFN `base_pfn + i`. Entries beyond `u32::MAX - 1` or past the
    /// end of the PFN space are ignored.
    pub fn new(meta: &'a mut [FrameInfo], base_pfn: Pfn) -> Self {
        let room = u64::MAX.saturating_sub(base_pfn);
        let cap = u64::from(NONE).min(room);
        let len = usize::try_from(cap).map_or(meta.len(), |c| c.min(meta.len()));
        let meta = meta.get_mut(..len).unwrap_or_default();
        meta.fill(FrameInfo::new());
        Self {
            meta,
            base: base_pfn,
            heads: [NONE; ORDERS],
            counts: [0; ORDERS],
            free: 0,
            total: 0,
        }
    }

    /// First PFN of the window.
    pub fn base_pfn(&self) -> Pfn {
        self.base
    }

    /// One past the last PFN of the window.
    pub fn end_pfn(&self) -> Pfn {
        self.base.saturating_add(self.meta.len() as u64)
    }

    /// Hand frames `[start, end)` to the allocator as free (clipped to the
    /// window). Frames are inserted as maximal naturally aligned blocks and
    /// coalesce with free neighbours. Frames that are already managed (free or
    /// allocated) are skipped. Returns how many frames became free.
    pub fn add_free_range(&mut self, start: Pfn, end: Pfn) -> u64 {
        let end = end.min(self.end_pfn());
        let mut pfn = start.max(self.base);
        let mut added = 0u64;
        while pfn < end {
            let step = match self.fresh_order(pfn, end) {
                Some(order) => {
                    self.claim(pfn, order);
                    added = added.saturating_add(frames_of(order));
                    frames_of(order)
                }
                None => 1,
            };
            pfn = pfn.saturating_add(step);
        }
        self.total = self.total.saturating_add(added);
        added
    }

    /// Allocate a naturally aligned block of `2^order` frames. `None` if
    /// `order > MAX_ORDER` or no block that large is free.
    pub fn alloc(&mut self, order: usize) -> Option<Pfn> {
        let from = (order..ORDERS).find(|&k| self.head(k) != NONE)?;
        let idx = usize::try_from(self.head(from)).ok()?;
        self.unlink(idx);
        for k in (order..from).rev() {
            self.push(self.offset(idx, frames_of(k)), k);
        }
        self.set(idx, FrameInfo::with(State::Allocated, order_u8(order)));
        Some(self.pfn(idx))
    }

    /// Free a block previously returned by `alloc(order)`; it coalesces with
    /// its buddy repeatedly. On error nothing changes.
    pub fn free(&mut self, pfn: Pfn, order: usize) -> Result<(), FreeError> {
        let idx = self.index(pfn).ok_or(FreeError::OutOfRange)?;
        if order > MAX_ORDER {
            return Err(FreeError::WrongOrder);
        }
        if !aligned(pfn, order) {
            return Err(FreeError::Misaligned);
        }
        let info = self.get(idx);
        if info.state != State::Allocated {
            return Err(FreeError::NotAllocated);
        }
        if usize::from(info.order) != order {
            return Err(FreeError::WrongOrder);
        }
        self.insert(idx, order);
        Ok(())
    }

    /// Frames currently free.
    pub fn free_frames(&self) -> u64 {
        self.free
    }

    /// Frames ever handed in by `add_free_range` (managed frames).
    pub fn total_frames(&self) -> u64 {
        self.total
    }

    /// Managed frames that are not free.
    pub fn used_frames(&self) -> u64 {
        self.total.saturating_sub(self.free)
    }

    /// Number of free blocks of exactly `order` (0 for `order > MAX_ORDER`).
    pub fn free_blocks(&self, order: usize) -> usize {
        self.counts.get(order).copied().unwrap_or(0)
    }

    /// Whether `pfn` lies inside an allocated block.
    pub fn is_allocated(&self, pfn: Pfn) -> bool {
        self.block_of(pfn)
            .is_some_and(|(_, info)| info.state == State::Allocated)
    }

    /// The block containing `pfn`: `(head pfn, order)`, or `None` for a
    /// reserved or out-of-window frame.
    pub fn block(&self, pfn: Pfn) -> Option<(Pfn, usize)> {
        self.block_of(pfn)
            .map(|(idx, info)| (self.pfn(idx), usize::from(info.order)))
    }

    /// Walk every list and the whole array and check all invariants.
    pub fn check(&self) -> Result<(), &'static str> {
        let mut listed = [0usize; ORDERS];
        for (k, n) in listed.iter_mut().enumerate() {
            *n = self.check_list(k)?;
        }
        let (free, total, heads) = self.check_tiling()?;
        if heads != listed || listed != self.counts {
            return Err("free list lengths disagree with free heads or counters");
        }
        if free != self.free {
            return Err("free frame counter wrong");
        }
        if total != self.total {
            return Err("total frame counter wrong");
        }
        Ok(())
    }

    // ----- index/PFN helpers -------------------------------------------------

    /// Array index of `pfn`, if inside the window.
    fn index(&self, pfn: Pfn) -> Option<usize> {
        let i = usize::try_from(pfn.checked_sub(self.base)?).ok()?;
        (i < self.meta.len()).then_some(i)
    }

    /// PFN of array index `idx` (cannot overflow: `new` clipped the window).
    fn pfn(&self, idx: usize) -> Pfn {
        self.base.saturating_add(idx as u64)
    }

    /// `idx + n` (saturating; callers only use in-window results).
    fn offset(&self, idx: usize, n: u64) -> usize {
        idx.saturating_add(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Copy of entry `idx`; out-of-range reads look reserved.
    fn get(&self, idx: usize) -> FrameInfo {
        self.meta.get(idx).copied().unwrap_or_default()
    }

    /// Overwrite entry `idx` (ignored when out of range).
    fn set(&mut self, idx: usize, info: FrameInfo) {
        if let Some(slot) = self.meta.get_mut(idx) {
            *slot = info;
        }
    }

    /// First block of list `order`, or `NONE`.
    fn head(&self, order: usize) -> u32 {
        self.heads.get(order).copied().unwrap_or(NONE)
    }

    /// Entry at link value `link` (`NONE` or out of range gives `None`).
    fn link_mut(&mut self, link: u32) -> Option<&mut FrameInfo> {
        self.meta.get_mut(usize::try_from(link).ok()?)
    }

    // ----- free lists --------------------------------------------------------

    /// Make `idx` a free head of `order` and put it at the front of its list.
    fn push(&mut self, idx: usize, order: usize) {
        let link = u32::try_from(idx).unwrap_or(NONE);
        let old = self.head(order);
        self.set(
            idx,
            FrameInfo {
                next: old,
                ..FrameInfo::with(State::Free, order_u8(order))
            },
        );
        if let Some(next) = self.link_mut(old) {
            next.prev = link;
        }
        if let Some(h) = self.heads.get_mut(order) {
            *h = link;
        }
        self.count(order, true);
    }

    /// Remove free head `idx` from its list (O(1)); its state is left to the caller.
    fn unlink(&mut self, idx: usize) {
        let FrameInfo {
            next, prev, order, ..
        } = self.get(idx);
        let order = usize::from(order);
        match self.link_mut(prev) {
            Some(p) => p.next = next,
            None => {
                if let Some(h) = self.heads.get_mut(order) {
                    *h = next;
                }
            }
        }
        if let Some(n) = self.link_mut(next) {
            n.prev = prev;
        }
        self.set(
            idx,
            FrameInfo {
                order: order_u8(order),
                ..FrameInfo::with(State::Free, 0)
            },
        );
        self.count(order, false);
    }

    /// Adjust the block and frame counters for one block of `order`.
    fn count(&mut self, order: usize, add: bool) {
        if let Some(c) = self.counts.get_mut(order) {
            *c = if add {
                c.saturating_add(1)
            } else {
                c.saturating_sub(1)
            };
        }
        let n = frames_of(order);
        self.free = if add {
            self.free.saturating_add(n)
        } else {
            self.free.saturating_sub(n)
        };
    }

    // ----- coalescing --------------------------------------------------------

    /// Index of the buddy of the order-`order` block at `idx`, if in the window.
    fn buddy(&self, idx: usize, order: usize) -> Option<usize> {
        self.index(self.pfn(idx) ^ frames_of(order))
    }

    /// Return the block `[idx, idx + 2^order)` (whose non-head frames are
    /// tails) to the free lists, merging with free buddies as far as possible.
    fn insert(&mut self, mut idx: usize, mut order: usize) {
        while order < MAX_ORDER {
            let Some(b) = self.buddy(idx, order) else {
                break;
            };
            let info = self.get(b);
            if info.state != State::Free || usize::from(info.order) != order {
                break;
            }
            self.unlink(b);
            let (lo, hi) = if b < idx { (b, idx) } else { (idx, b) };
            self.set(hi, FrameInfo::with(State::Tail, 0));
            idx = lo;
            order = order.saturating_add(1);
        }
        self.push(idx, order);
    }

    // ----- add_free_range helpers --------------------------------------------

    /// Largest order of a block at `pfn` that is naturally aligned, ends at or
    /// before `end` and consists only of reserved frames; `None` if `pfn`
    /// itself is already managed.
    fn fresh_order(&self, pfn: Pfn, end: Pfn) -> Option<usize> {
        let idx = self.index(pfn)?;
        let align = usize::try_from(pfn.trailing_zeros()).map_or(MAX_ORDER, |t| t.min(MAX_ORDER));
        let limit = frames_of(align).min(end.saturating_sub(pfn));
        let limit = usize::try_from(limit).unwrap_or(0);
        let run = self
            .meta
            .iter()
            .skip(idx)
            .take(limit)
            .take_while(|f| f.state == State::Reserved)
            .count();
        (run > 0).then(|| floor_log2(run as u64))
    }

    /// Turn the reserved frames `[pfn, pfn + 2^order)` into a free block.
    fn claim(&mut self, pfn: Pfn, order: usize) {
        let Some(idx) = self.index(pfn) else { return };
        let n = usize::try_from(frames_of(order)).unwrap_or(0);
        for tail in self.meta.iter_mut().skip(idx).take(n).skip(1) {
            *tail = FrameInfo::with(State::Tail, 0);
        }
        self.insert(idx, order);
    }

    // ----- lookup ------------------------------------------------------------

    /// Head index and entry of the block containing `pfn`.
    fn block_of(&self, pfn: Pfn) -> Option<(usize, FrameInfo)> {
        let idx = self.index(pfn)?;
        let info = self.get(idx);
        match info.state {
            State::Reserved => None,
            State::Free | State::Allocated => Some((idx, info)),
            State::Tail => self.head_below(pfn),
        }
    }

    /// For a tail `pfn`: probe the aligned PFNs below it; the first head found
    /// is the head of its block (everything in between is a tail).
    fn head_below(&self, pfn: Pfn) -> Option<(usize, FrameInfo)> {
        for k in 1..ORDERS {
            let h = self.index(pfn & !frames_of(k).wrapping_sub(1))?;
            let info = self.get(h);
            if info.is_head() {
                let end = self
                    .pfn(h)
                    .saturating_add(frames_of(usize::from(info.order)));
                return (pfn < end).then_some((h, info));
            }
        }
        None
    }

    // ----- check helpers -----------------------------------------------------

    /// Walk list `order`: links, states, alignment, and no uncoalesced buddy.
    /// Returns its length.
    fn check_list(&self, order: usize) -> Result<usize, &'static str> {
        let mut prev = NONE;
        let mut cur = self.head(order);
        let mut n = 0usize;
        while cur != NONE {
            let idx = usize::try_from(cur).map_err(|_| "bad link")?;
            if idx >= self.meta.len() {
                return Err("free list link out of range");
            }
            n = n.saturating_add(1);
            if n > self.meta.len() {
                return Err("free list has a cycle");
            }
            let info = self.get(idx);
            if info.state != State::Free || usize::from(info.order) != order {
                return Err("free list holds a non-free block or one of another order");
            }
            if info.prev != prev {
                return Err("free list prev link inconsistent");
            }
            if order < MAX_ORDER {
                let buddy = self.buddy(idx, order).map(|b| self.get(b));
                if buddy.is_some_and(|b| b.state == State::Free && usize::from(b.order) == order) {
                    return Err("two free buddies left uncoalesced");
                }
            }
            prev = cur;
            cur = info.next;
        }
        Ok(n)
    }

    /// Walk the array block by block. Returns (free frames, managed frames,
    /// free heads per order).
    fn check_tiling(&self) -> Result<(u64, u64, [usize; ORDERS]), &'static str> {
        let (mut free, mut total, mut heads) = (0u64, 0u64, [0usize; ORDERS]);
        let mut idx = 0usize;
        while idx < self.meta.len() {
            let info = self.get(idx);
            if info.state == State::Reserved {
                idx = idx.saturating_add(1);
                continue;
            }
            let order = self.check_block(idx, info)?;
            let n = frames_of(order);
            total = total.saturating_add(n);
            if info.state == State::Free {
                free = free.saturating_add(n);
                if let Some(h) = heads.get_mut(order) {
                    *h = h.saturating_add(1);
                }
            }
            idx = self.offset(idx, n);
        }
        Ok((free, total, heads))
    }

    /// Check the block headed at `idx`; returns its order.
    fn check_block(&self, idx: usize, info: FrameInfo) -> Result<usize, &'static str> {
        if !info.is_head() {
            return Err("tail frame outside any block");
        }
        let order = usize::from(info.order);
        if order > MAX_ORDER {
            return Err("block order too large");
        }
        if !aligned(self.pfn(idx), order) {
            return Err("block not naturally aligned");
        }
        if info.state != State::Free && (info.next != NONE || info.prev != NONE) {
            return Err("allocated block has list links");
        }
        let n = usize::try_from(frames_of(order)).unwrap_or(0);
        let body = self
            .meta
            .get(idx..self.offset(idx, n as u64))
            .ok_or("block past window end")?;
        let tails_ok = body
            .iter()
            .skip(1)
            .all(|f| *f == FrameInfo::with(State::Tail, 0));
        if !tails_ok {
            return Err("block overlaps another block or a reserved frame");
        }
        Ok(order)
    }
}

#[cfg(test)]
mod tests;
