//! Random operation sequences checked against a simple oracle.

use buddy::{Buddy, FrameInfo, FreeError, MAX_ORDER, Pfn};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone)]
enum Op {
    /// alloc(order); orders up to MAX_ORDER + 1 to exercise rejection.
    Alloc(usize),
    /// Correctly free the n-th (modulo) allocated block.
    Free(usize),
    /// Free the n-th allocated block with a different order.
    FreeWrongOrder(usize, usize),
    /// free(window_start - 8 + offset, order): usually an invalid call.
    FreeAny(u64, usize),
    /// add_free_range(window_start - 8 + offset, .. + len).
    Add(u64, u64),
    /// Compare is_allocated with the oracle at window_start - 8 + offset.
    Probe(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..=MAX_ORDER + 1).prop_map(Op::Alloc),
        3 => (0..4usize).prop_map(Op::Alloc),
        6 => any::<usize>().prop_map(Op::Free),
        1 => (any::<usize>(), 1..4usize).prop_map(|(n, d)| Op::FreeWrongOrder(n, d)),
        1 => (0..3000u64, 0..=MAX_ORDER + 1).prop_map(|(p, o)| Op::FreeAny(p, o)),
        1 => (0..3000u64, 0..700u64).prop_map(|(s, l)| Op::Add(s, l)),
        1 => (0..3000u64).prop_map(Op::Probe),
    ]
}

/// Expected allocator contents.
struct Oracle {
    base: Pfn,
    end: Pfn,
    /// Frames handed in (clipped to the window).
    managed: BTreeSet<Pfn>,
    /// Allocated blocks: head -> order.
    blocks: BTreeMap<Pfn, usize>,
    /// Frames inside allocated blocks.
    used: BTreeSet<Pfn>,
}

impl Oracle {
    fn add(&mut self, start: Pfn, end: Pfn) -> u64 {
        let (lo, hi) = (start.max(self.base), end.min(self.end));
        (lo..hi).filter(|&p| self.managed.insert(p)).count() as u64
    }

    fn is_free(&self, p: Pfn) -> bool {
        self.managed.contains(&p) && !self.used.contains(&p)
    }

    /// Whether some naturally aligned block of 2^order frames is entirely free.
    /// With complete coalescing this is exactly when alloc(order) must succeed.
    fn fits(&self, order: usize) -> bool {
        let size = 1u64 << order;
        let mut a = self.base.div_ceil(size) * size;
        while a + size <= self.end {
            if (a..a + size).all(|p| self.is_free(p)) {
                return true;
            }
            a += size;
        }
        false
    }

    fn nth_block(&self, n: usize) -> Option<(Pfn, usize)> {
        let len = self.blocks.len();
        (len > 0).then(|| self.blocks.iter().nth(n % len).map(|(&p, &o)| (p, o)))?
    }

    fn take(&mut self, p: Pfn, order: usize) {
        self.blocks.insert(p, order);
        for f in p..p + (1 << order) {
            assert!(self.managed.contains(&f), "frame {f} was never handed in");
            assert!(self.used.insert(f), "frame {f} handed out twice");
        }
    }

    fn give_back(&mut self, p: Pfn) {
        let order = self.blocks.remove(&p).expect("oracle block");
        for f in p..p + (1 << order) {
            self.used.remove(&f);
        }
    }

    /// What free(pfn, order) must return.
    fn expect_free(&self, pfn: Pfn, order: usize) -> Result<(), FreeError> {
        if pfn < self.base || pfn >= self.end {
            return Err(FreeError::OutOfRange);
        }
        if order > MAX_ORDER {
            return Err(FreeError::WrongOrder);
        }
        if !pfn.is_multiple_of(1 << order) {
            return Err(FreeError::Misaligned);
        }
        match self.blocks.get(&pfn) {
            None => Err(FreeError::NotAllocated),
            Some(&o) if o != order => Err(FreeError::WrongOrder),
            Some(_) => Ok(()),
        }
    }
}

fn histogram(b: &Buddy<'_>) -> Vec<usize> {
    (0..=MAX_ORDER).map(|k| b.free_blocks(k)).collect()
}

fn consistent(b: &Buddy<'_>, o: &Oracle) -> Result<(), TestCaseError> {
    prop_assert_eq!(b.check(), Ok(()));
    prop_assert_eq!(b.total_frames(), o.managed.len() as u64);
    prop_assert_eq!(b.used_frames(), o.used.len() as u64);
    prop_assert_eq!(b.free_frames(), (o.managed.len() - o.used.len()) as u64);
    Ok(())
}

/// Apply one free call to both and compare the outcome.
fn do_free(b: &mut Buddy<'_>, o: &mut Oracle, pfn: Pfn, order: usize) -> Result<(), TestCaseError> {
    let want = o.expect_free(pfn, order);
    let before = histogram(b);
    prop_assert_eq!(b.free(pfn, order), want, "free({}, {})", pfn, order);
    if want.is_ok() {
        o.give_back(pfn);
        prop_assert!(!b.is_allocated(pfn));
    } else {
        prop_assert_eq!(histogram(b), before, "failed free changed state");
    }
    Ok(())
}

fn step(b: &mut Buddy<'_>, o: &mut Oracle, op: &Op) -> Result<(), TestCaseError> {
    let at = |off: u64| o.base.saturating_sub(8) + off;
    match *op {
        Op::Alloc(order) => match b.alloc(order) {
            Some(p) => {
                prop_assert!(order <= MAX_ORDER);
                prop_assert_eq!(p % (1 << order), 0, "misaligned block");
                o.take(p, order);
                prop_assert!(b.is_allocated(p) && b.is_allocated(p + (1 << order) - 1));
            }
            None => prop_assert!(
                order > MAX_ORDER || !o.fits(order),
                "alloc({}) failed",
                order
            ),
        },
        Op::Free(n) => {
            if let Some((p, order)) = o.nth_block(n) {
                do_free(b, o, p, order)?;
            }
        }
        Op::FreeWrongOrder(n, d) => {
            if let Some((p, order)) = o.nth_block(n) {
                let wrong = if order >= d && n % 2 == 0 {
                    order - d
                } else {
                    order + d
                };
                prop_assert!(o.expect_free(p, wrong).is_err());
                do_free(b, o, p, wrong)?;
            }
        }
        Op::FreeAny(off, order) => do_free(b, o, at(off), order)?,
        Op::Add(off, len) => {
            let (s, e) = (at(off), at(off) + len);
            prop_assert_eq!(b.add_free_range(s, e), o.add(s, e));
        }
        Op::Probe(off) => prop_assert_eq!(b.is_allocated(at(off)), o.used.contains(&at(off))),
    }
    consistent(b, o)
}

fn window() -> impl Strategy<Value = (Pfn, usize, Vec<(u64, u64)>)> {
    (
        prop_oneof![Just(0u64), 0..5000u64, Just(1 << 20)],
        1..2600usize,
        prop::collection::vec((0..3000u64, 0..2600u64), 0..4),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_ops_match_oracle(
        (base, len, ranges) in window(),
        ops in prop::collection::vec(op(), 1..150),
    ) {
        let mut meta = vec![FrameInfo::new(); len];
        let mut b = Buddy::new(&mut meta, base);
        let mut o = Oracle {
            base, end: base + len as u64,
            managed: BTreeSet::new(), blocks: BTreeMap::new(), used: BTreeSet::new(),
        };
        let mut added = Vec::new();
        for &(off, l) in &ranges {
            let s = base.saturating_sub(8) + off;
            prop_assert_eq!(b.add_free_range(s, s + l), o.add(s, s + l));
            added.push((s, s + l));
        }
        consistent(&b, &o)?;
        for op in &ops {
            step(&mut b, &mut o, op)?;
            if let Op::Add(off, l) = *op {
                let s = base.saturating_sub(8) + off;
                added.push((s, s + l));
            }
        }
        for p in base..o.end {
            prop_assert_eq!(b.is_allocated(p), o.used.contains(&p), "is_allocated({})", p);
        }
        // Free everything: the result must be the canonical (fully coalesced)
        // decomposition of the managed frames, whatever the history.
        while let Some((p, order)) = o.nth_block(0) {
            do_free(&mut b, &mut o, p, order)?;
        }
        consistent(&b, &o)?;
        let mut fresh_meta = vec![FrameInfo::new(); len];
        let mut fresh = Buddy::new(&mut fresh_meta, base);
        for &(s, e) in added.iter().rev() {
            fresh.add_free_range(s, e);
        }
        prop_assert_eq!(fresh.free_frames(), b.free_frames());
        prop_assert_eq!(histogram(&fresh), histogram(&b));
    }

    #[test]
    fn alloc_until_exhausted(
        (base, len, ranges) in window(),
        order in 0..=MAX_ORDER,
    ) {
        let mut meta = vec![FrameInfo::new(); len];
        let mut b = Buddy::new(&mut meta, base);
        let mut managed = BTreeSet::new();
        for &(off, l) in &ranges {
            let s = base.saturating_sub(8) + off;
            b.add_free_range(s, s + l);
            managed.extend((s.max(base)..(s + l).min(base + len as u64)).collect::<Vec<_>>());
        }
        let mut seen = BTreeSet::new();
        while let Some(p) = b.alloc(order) {
            prop_assert_eq!(p % (1 << order), 0);
            for f in p..p + (1 << order) {
                prop_assert!(managed.contains(&f));
                prop_assert!(seen.insert(f));
            }
        }
        prop_assert_eq!(b.check(), Ok(()));
        prop_assert_eq!(b.used_frames(), seen.len() as u64);
        for k in order..=MAX_ORDER {
            prop_assert_eq!(b.free_blocks(k), 0);
        }
        // The rest is still available in smaller pieces.
        let mut rest = 0u64;
        for k in (0..order).rev() {
            while b.alloc(k).is_some() { rest += 1 << k; }
        }
        prop_assert_eq!(rest + seen.len() as u64, managed.len() as u64);
        prop_assert_eq!(b.free_frames(), 0);
        prop_assert_eq!(b.check(), Ok(()));
    }
}
