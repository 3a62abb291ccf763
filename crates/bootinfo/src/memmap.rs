// A fixed-capacity set of half-open physical address ranges `[start, end)`,
// used to compute usable memory before the kernel has a heap: insert the RAM
// regions from the firmware memory map, remove reserved regions, the kernel
// image and boot modules, then align what is left to page boundaries.
//
// Invariant: the first `len` slots hold ranges that are non-empty, sorted by
// start, pairwise disjoint and never adjacent (adjacent ranges are merged).
// Because `end` is exclusive, the address `u64::MAX` itself can never be in
// the set.

use core::fmt;

/// The set has no free slot for a range it would need to add.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

impl fmt::Display for Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("range set capacity exhausted")
    }
}

impl core::error::Error for Full {}

/// Sorted, merged set of at most `N` ranges.
#[derive(Clone, Debug)]
pub struct RangeSet<const N: usize> {
    ranges: [(u64, u64); N],
    len: usize,
}

impl<const N: usize> Default for RangeSet<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> PartialEq for RangeSet<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<const N: usize> Eq for RangeSet<N> {}

impl<const N: usize> RangeSet<N> {
    /// Maximum number of disjoint ranges the set can hold.
    pub const CAPACITY: usize = N;

    pub const fn new() -> Self {
        RangeSet {
            ranges: [(0, 0); N],
            len: 0,
        }
    }

    /// The ranges, sorted, as `(start, end)` pairs.
    pub fn as_slice(&self) -> &[(u64, u64)] {
        self.ranges.get(..self.len).unwrap_or(&[])
    }

    /// Adds `[start, end)`, merging with overlapping or adjacent ranges.
    /// An empty or inverted range is a no-op. On `Err(Full)` the set is
    /// unchanged.
    pub fn insert(&mut self, start: u64, end: u64) -> Result<(), Full> {
        if end <= start {
            return Ok(());
        }
        let ranges = self.as_slice();
        // First range that overlaps or touches [start, end) ...
        let first = ranges.partition_point(|&(_, e)| e < start);
        // ... and how many consecutive ones do.
        let count = ranges
            .get(first..)
            .map_or(0, |rest| rest.partition_point(|&(s, _)| s <= end));
        let last = first.saturating_add(count);
        let mut merged = (start, end);
        if let Some(&(s, _)) = ranges.get(first).filter(|_| count > 0) {
            merged.0 = merged.0.min(s);
        }
        if let Some(&(_, e)) = last
            .checked_sub(1)
            .and_then(|i| ranges.get(i))
            .filter(|_| count > 0)
        {
            merged.1 = merged.1.max(e);
        }
        self.splice(first, last, &[merged])
    }

    /// Removes `[start, end)`, splitting a range if needed. An empty or
    /// inverted range is a no-op. Fails with `Full` (leaving the set
    /// unchanged) only when splitting one range into two needs a free slot.
    pub fn remove(&mut self, start: u64, end: u64) -> Result<(), Full> {
        if end <= start {
            return Ok(());
        }
        let ranges = self.as_slice();
        // First range that overlaps [start, end) ...
        let first = ranges.partition_point(|&(_, e)| e <= start);
        // ... and how many consecutive ones do.
        let count = ranges
            .get(first..)
            .map_or(0, |rest| rest.partition_point(|&(s, _)| s < end));
        if count == 0 {
            return Ok(());
        }
        let last = first.saturating_add(count);
        let mut pieces = [(0u64, 0u64); 2];
        let mut n = 0usize;
        if let Some(&(s, _)) = ranges.get(first)
            && s < start
            && let Some(p) = pieces.get_mut(n)
        {
            *p = (s, start);
            n = n.saturating_add(1);
        }
        if let Some(&(_, e)) = last.checked_sub(1).and_then(|i| ranges.get(i))
            && e > end
            && let Some(p) = pieces.get_mut(n)
        {
            *p = (end, e);
            n = n.saturating_add(1);
        }
        self.splice(first, last, pieces.get(..n).unwrap_or(&[]))
    }

    /// Replaces the ranges at indices `first..last` with `new`, shifting the
    /// tail. Checks capacity before touching anything.
    fn splice(&mut self, first: usize, last: usize, new: &[(u64, u64)]) -> Result<(), Full> {
        if first > last || last > self.len {
            // Callers never do this; refuse rather than corrupt the set.
            return Err(Full);
        }
        let old = last.saturating_sub(first);
        if new.len() > old {
            let grow = new.len().saturating_sub(old);
            let new_len = self.len.checked_add(grow).filter(|&l| l <= N).ok_or(Full)?;
            // Move the tail right by `grow` (the free slots rotate in front).
            let tail = self.ranges.get_mut(last..new_len).ok_or(Full)?;
            tail.rotate_right(grow);
            self.len = new_len;
        } else if new.len() < old {
            let shrink = old.saturating_sub(new.len());
            let keep_to = first.saturating_add(new.len());
            // Move the tail left; the dropped slots rotate to the end.
            let span = self.ranges.get_mut(keep_to..self.len).ok_or(Full)?;
            span.rotate_left(shrink);
            self.len = self.len.saturating_sub(shrink);
        }
        let end = first.saturating_add(new.len());
        if let Some(dst) = self.ranges.get_mut(first..end) {
            for (d, s) in dst.iter_mut().zip(new) {
                *d = *s;
            }
        }
        Ok(())
    }

    /// Whether `addr` lies in one of the ranges.
    pub fn contains(&self, addr: u64) -> bool {
        let ranges = self.as_slice();
        let i = ranges.partition_point(|&(_, e)| e <= addr);
        ranges.get(i).is_some_and(|&(s, _)| s <= addr)
    }

    /// The ranges as `(start, end)` pairs, in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.as_slice().iter().copied()
    }

    /// Number of disjoint ranges.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes all ranges.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Sum of the lengths of all ranges (saturating, though it cannot
    /// actually exceed `u64::MAX` since the ranges are disjoint).
    pub fn total(&self) -> u64 {
        self.iter()
            .fold(0u64, |acc, (s, e)| acc.saturating_add(e.saturating_sub(s)))
    }

    /// Shrinks every range to `[round_up(start), round_down(end))` for the
    /// given alignment and drops ranges that become empty. An alignment of 0
    /// or 1 leaves the set unchanged; non-power-of-two alignments work too.
    pub fn align_inward(&mut self, align: u64) {
        if align <= 1 {
            return;
        }
        let mut kept = 0usize;
        for read in 0..self.len {
            let Some(&(s, e)) = self.ranges.get(read) else {
                break;
            };
            let Some(ns) = s.checked_next_multiple_of(align) else {
                continue;
            };
            let ne = e.checked_rem(align).map_or(e, |r| e.saturating_sub(r));
            if ns < ne
                && let Some(slot) = self.ranges.get_mut(kept)
            {
                *slot = (ns, ne);
                kept = kept.saturating_add(1);
            }
        }
        // Shrinking cannot make ranges overlap or touch, so order is kept.
        self.len = kept;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn v<const N: usize>(s: &RangeSet<N>) -> Vec<(u64, u64)> {
        s.iter().collect()
    }

    fn check_invariants<const N: usize>(s: &RangeSet<N>) {
        let r = v(s);
        assert_eq!(r.len(), s.len());
        assert!(s.len() <= N);
        assert_eq!(s.is_empty(), r.is_empty());
        for &(a, b) in &r {
            assert!(a < b, "empty range {a}..{b} in {r:?}");
        }
        for w in r.windows(2) {
            assert!(w[0].1 < w[1].0, "unsorted/overlapping/adjacent: {r:?}");
        }
    }

    #[test]
    fn new_is_empty() {
        const S: RangeSet<4> = RangeSet::new();
        assert!(S.is_empty());
        assert_eq!(S.len(), 0);
        assert_eq!(S.total(), 0);
        assert!(!S.contains(0));
        let z: RangeSet<0> = RangeSet::default();
        assert!(z.is_empty());
    }

    #[test]
    fn insert_merges() {
        let mut s = RangeSet::<8>::new();
        s.insert(10, 20).unwrap();
        s.insert(30, 40).unwrap();
        assert_eq!(v(&s), [(10, 20), (30, 40)]);
        s.insert(0, 5).unwrap();
        s.insert(50, 60).unwrap();
        assert_eq!(v(&s), [(0, 5), (10, 20), (30, 40), (50, 60)]);
        // Adjacent on both sides.
        s.insert(20, 30).unwrap();
        assert_eq!(v(&s), [(0, 5), (10, 40), (50, 60)]);
        // Overlap spanning several.
        s.insert(3, 55).unwrap();
        assert_eq!(v(&s), [(0, 60)]);
        // Contained: no change.
        s.insert(1, 2).unwrap();
        assert_eq!(v(&s), [(0, 60)]);
        assert_eq!(s.total(), 60);
        check_invariants(&s);
    }

    #[test]
    fn empty_and_inverted_ranges_ignored() {
        let mut s = RangeSet::<1>::new();
        s.insert(5, 5).unwrap();
        s.insert(9, 3).unwrap();
        assert!(s.is_empty());
        s.insert(0, 10).unwrap();
        s.remove(5, 5).unwrap();
        s.remove(8, 2).unwrap();
        assert_eq!(v(&s), [(0, 10)]);
    }

    #[test]
    fn remove_splits_and_trims() {
        let mut s = RangeSet::<4>::new();
        s.insert(0, 100).unwrap();
        s.remove(40, 60).unwrap();
        assert_eq!(v(&s), [(0, 40), (60, 100)]);
        s.remove(0, 10).unwrap();
        s.remove(90, 200).unwrap();
        assert_eq!(v(&s), [(10, 40), (60, 90)]);
        s.remove(30, 70).unwrap();
        assert_eq!(v(&s), [(10, 30), (70, 90)]);
        s.remove(0, 1000).unwrap();
        assert!(s.is_empty());
        s.remove(0, u64::MAX).unwrap();
        assert!(s.is_empty());
    }

    #[test]
    fn full_leaves_set_unchanged() {
        let mut s = RangeSet::<2>::new();
        s.insert(0, 10).unwrap();
        s.insert(20, 30).unwrap();
        let before = s.clone();
        assert_eq!(s.insert(40, 50), Err(Full));
        assert_eq!(s, before);
        assert_eq!(s.remove(2, 4), Err(Full));
        assert_eq!(s, before);
        // Merging does not need a slot even when full.
        s.insert(10, 20).unwrap();
        assert_eq!(v(&s), [(0, 30)]);
        // Trimming an edge does not need one either.
        let mut s = RangeSet::<1>::new();
        s.insert(0, 10).unwrap();
        s.remove(0, 3).unwrap();
        s.remove(8, 10).unwrap();
        assert_eq!(v(&s), [(3, 8)]);
        assert_eq!(s.remove(4, 5), Err(Full));
        let mut z = RangeSet::<0>::new();
        assert_eq!(z.insert(0, 1), Err(Full));
        z.remove(0, 1).unwrap();
    }

    #[test]
    fn extremes_do_not_overflow() {
        let mut s = RangeSet::<4>::new();
        s.insert(u64::MAX - 10, u64::MAX).unwrap();
        s.insert(0, u64::MAX - 20).unwrap();
        assert_eq!(s.total(), u64::MAX - 10);
        assert!(s.contains(u64::MAX - 1));
        assert!(!s.contains(u64::MAX));
        assert!(!s.contains(u64::MAX - 15));
        s.insert(0, u64::MAX).unwrap();
        assert_eq!(v(&s), [(0, u64::MAX)]);
        assert_eq!(s.total(), u64::MAX);
        s.align_inward(1 << 63);
        assert_eq!(v(&s), [(0, 1 << 63)]);
        let mut s = RangeSet::<4>::new();
        s.insert(u64::MAX - 5, u64::MAX).unwrap();
        s.align_inward(4096); // rounding the start up would overflow
        assert!(s.is_empty());
    }

    #[test]
    fn contains_boundaries() {
        let mut s = RangeSet::<4>::new();
        s.insert(10, 20).unwrap();
        s.insert(30, 31).unwrap();
        assert!(!s.contains(9));
        assert!(s.contains(10));
        assert!(s.contains(19));
        assert!(!s.contains(20));
        assert!(!s.contains(29));
        assert!(s.contains(30));
        assert!(!s.contains(31));
    }

    #[test]
    fn align_inward_pages() {
        let mut s = RangeSet::<8>::new();
        s.insert(0x500, 0x9fc00).unwrap(); // -> 0x1000..0x9f000
        s.insert(0x10_0000, 0x10_0800).unwrap(); // smaller than a page: dropped
        s.insert(0x20_0001, 0x20_2000).unwrap(); // -> 0x201000..0x202000
        s.insert(0x30_0000, 0x40_0000).unwrap(); // already aligned
        s.align_inward(0x1000);
        assert_eq!(
            v(&s),
            [
                (0x1000, 0x9f000),
                (0x20_1000, 0x20_2000),
                (0x30_0000, 0x40_0000)
            ]
        );
        check_invariants(&s);
        let before = s.clone();
        s.align_inward(0);
        s.align_inward(1);
        assert_eq!(s, before);
        // Non-power-of-two alignment.
        let mut s = RangeSet::<2>::new();
        s.insert(1, 20).unwrap();
        s.align_inward(3);
        assert_eq!(v(&s), [(3, 18)]);
    }

    #[test]
    fn typical_boot_flow() {
        let mut s = RangeSet::<16>::new();
        s.insert(0, 0x9fc00).unwrap();
        s.insert(0x10_0000, 0x8000_0000).unwrap();
        s.remove(0, 0x1000).unwrap(); // null page / BIOS data
        s.remove(0x10_0000, 0x40_0000).unwrap(); // kernel image
        s.remove(0x100_0000, 0x120_0000).unwrap(); // initramfs
        s.align_inward(0x1000);
        assert_eq!(
            v(&s),
            [
                (0x1000, 0x9f000),
                (0x40_0000, 0x100_0000),
                (0x120_0000, 0x8000_0000)
            ]
        );
        assert_eq!(
            s.total(),
            (0x9f000 - 0x1000) + (0x100_0000 - 0x40_0000) + (0x8000_0000 - 0x120_0000)
        );
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u64, u64),
        Remove(u64, u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Inverted and empty ranges are included on purpose.
        (any::<bool>(), 0u64..512, 0u64..512).prop_map(|(ins, a, b)| {
            if ins {
                Op::Insert(a, b)
            } else {
                Op::Remove(a, b)
            }
        })
    }

    fn apply_oracle(o: &mut BTreeSet<u64>, op: &Op) {
        match *op {
            Op::Insert(a, b) => o.extend(a..b),
            Op::Remove(a, b) => {
                for x in a..b {
                    o.remove(&x);
                }
            }
        }
    }

    fn agrees<const N: usize>(s: &RangeSet<N>, o: &BTreeSet<u64>) {
        check_invariants(s);
        for x in 0..520 {
            assert_eq!(s.contains(x), o.contains(&x), "addr {x}: {:?}", v(s));
        }
        assert_eq!(s.total(), o.len() as u64);
        // The ranges must be exactly the maximal runs of the oracle.
        let covered: BTreeSet<u64> = s.iter().flat_map(|(a, b)| a..b).collect();
        assert_eq!(&covered, o);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// With enough capacity, every op succeeds and matches the oracle.
        #[test]
        fn matches_oracle(ops in prop::collection::vec(op(), 0..64)) {
            let mut s = RangeSet::<256>::new();
            let mut o = BTreeSet::new();
            for op in &ops {
                match *op {
                    Op::Insert(a, b) => s.insert(a, b).unwrap(),
                    Op::Remove(a, b) => s.remove(a, b).unwrap(),
                }
                apply_oracle(&mut o, op);
                agrees(&s, &o);
            }
        }

        /// With a tiny capacity, a failing op leaves the set untouched and a
        /// succeeding one matches the oracle.
        #[test]
        fn full_is_atomic(ops in prop::collection::vec(op(), 0..64)) {
            let mut s = RangeSet::<3>::new();
            let mut o = BTreeSet::new();
            for op in &ops {
                let before = s.clone();
                let r = match *op {
                    Op::Insert(a, b) => s.insert(a, b),
                    Op::Remove(a, b) => s.remove(a, b),
                };
                match r {
                    Ok(()) => apply_oracle(&mut o, op),
                    Err(Full) => {
                        prop_assert_eq!(&s, &before);
                        prop_assert_eq!(s.len(), 3);
                    }
                }
                agrees(&s, &o);
            }
        }

        /// align_inward keeps exactly the aligned sub-ranges of each range.
        #[test]
        fn align_matches_oracle(
            ops in prop::collection::vec(op(), 0..32),
            align in 0u64..70,
        ) {
            let mut s = RangeSet::<256>::new();
            for op in &ops {
                match *op {
                    Op::Insert(a, b) => s.insert(a, b).unwrap(),
                    Op::Remove(a, b) => s.remove(a, b).unwrap(),
                }
            }
            let expected: Vec<(u64, u64)> = if align <= 1 {
                v(&s)
            } else {
                v(&s)
                    .into_iter()
                    .map(|(a, b)| (a.div_ceil(align) * align, b / align * align))
                    .filter(|(a, b)| a < b)
                    .collect()
            };
            s.align_inward(align);
            check_invariants(&s);
            prop_assert_eq!(v(&s), expected);
        }
    }
}
