use super::*;
use std::collections::BTreeSet;
use std::vec::Vec;

fn meta(n: usize) -> Vec<FrameInfo> {
    vec![FrameInfo::new(); n]
}

/// Free-block histogram, index = order.
fn histogram(b: &Buddy<'_>) -> [usize; ORDERS] {
    core::array::from_fn(|k| b.free_blocks(k))
}

fn ok(b: &Buddy<'_>) {
    if let Err(e) = b.check() {
        panic!("check failed: {e}");
    }
}

#[test]
fn frame_info_is_small() {
    assert!(core::mem::size_of::<FrameInfo>() <= 16);
    assert_eq!(FrameInfo::new(), FrameInfo::default());
}

#[test]
fn new_allocator_is_empty_and_resets_metadata() {
    let mut m = meta(64);
    m[8] = FrameInfo::with(State::Allocated, 3);
    let mut b = Buddy::new(&mut m, 0);
    ok(&b);
    assert_eq!(
        (b.free_frames(), b.total_frames(), b.used_frames()),
        (0, 0, 0)
    );
    assert_eq!(b.alloc(0), None);
    assert!(!b.is_allocated(8));
    assert_eq!(b.free(8, 3), Err(FreeError::NotAllocated));
}

#[test]
fn empty_metadata_array() {
    let mut m = meta(0);
    let mut b = Buddy::new(&mut m, 100);
    assert_eq!(b.add_free_range(0, 1000), 0);
    assert_eq!(b.alloc(0), None);
    assert_eq!(b.free(100, 0), Err(FreeError::OutOfRange));
    ok(&b);
}

#[test]
fn full_range_becomes_max_order_blocks() {
    let mut m = meta(4096);
    let mut b = Buddy::new(&mut m, 0);
    assert_eq!(b.add_free_range(0, 4096), 4096);
    ok(&b);
    assert_eq!(b.free_blocks(MAX_ORDER), 4);
    assert_eq!((0..MAX_ORDER).map(|k| b.free_blocks(k)).sum::<usize>(), 0);
    assert_eq!(
        (b.free_frames(), b.total_frames(), b.used_frames()),
        (4096, 4096, 0)
    );
}

#[test]
fn exact_accounting_and_full_coalescing() {
    let mut m = meta(4096);
    let mut b = Buddy::new(&mut m, 0);
    b.add_free_range(0, 4096);
    let initial = histogram(&b);
    let mut blocks = Vec::new();
    let mut used = 0u64;
    for order in [0, 3, 1, 10, 0, 5, 2, 7, 0, 4] {
        let p = b.alloc(order).expect("memory available");
        assert_eq!(p % (1 << order), 0, "block not naturally aligned");
        used += 1 << order;
        assert_eq!(b.used_frames(), used);
        assert_eq!(b.free_frames(), 4096 - used);
        assert!(b.is_allocated(p) && b.is_allocated(p + (1 << order) - 1));
        blocks.push((p, order));
        ok(&b);
    }
    // Free in an interleaved order so merges happen in different patterns.
    blocks.sort_by_key(|&(p, _)| (p * 7919) % 4099);
    for (p, order) in blocks {
        b.free(p, order).unwrap();
        used -= 1 << order;
        assert_eq!(b.used_frames(), used);
        assert!(!b.is_allocated(p));
        ok(&b);
    }
    assert_eq!(histogram(&b), initial);
}

#[test]
fn split_leaves_one_block_per_lower_order() {
    let mut m = meta(1024);
    let mut b = Buddy::new(&mut m, 0);
    b.add_free_range(0, 1024);
    assert_eq!(b.alloc(0), Some(0));
    for k in 0..MAX_ORDER {
        assert_eq!(b.free_blocks(k), 1, "order {k}");
    }
    assert_eq!(b.free_blocks(MAX_ORDER), 0);
    ok(&b);
}

#[test]
fn fragmentation_and_recoalescing() {
    let n = 2048u64;
    let mut m = meta(n as usize);
    let mut b = Buddy::new(&mut m, 0);
    b.add_free_range(0, n);
    let frames: Vec<Pfn> = (0..n).map(|_| b.alloc(0).unwrap()).collect();
    assert_eq!(b.alloc(0), None);
    assert_eq!(b.free_frames(), 0);
    let distinct: BTreeSet<Pfn> = frames.iter().copied().collect();
    assert_eq!(distinct.len() as u64, n);
    ok(&b);
    for &p in frames.iter().filter(|&&p| p % 2 == 0) {
        b.free(p, 0).unwrap();
    }
    ok(&b);
    assert_eq!(b.free_blocks(0), (n / 2) as usize);
    for k in 1..ORDERS {
        assert_eq!(b.free_blocks(k), 0, "order {k}");
    }
    assert_eq!(b.alloc(1), None, "no two adjacent free frames exist");
    for &p in frames.iter().filter(|&&p| p % 2 == 1) {
        b.free(p, 0).unwrap();
        ok(&b);
    }
    assert_eq!(b.free_blocks(MAX_ORDER), 2);
    assert_eq!(b.free_blocks(0), 0);
    assert_eq!(b.free_frames(), n);
}

#[test]
fn free_errors_leave_state_untouched() {
    let mut m = meta(1024);
    let mut b = Buddy::new(&mut m, 4096);
    b.add_free_range(4096, 4096 + 512);
    let p = b.alloc(3).unwrap();
    let q = b.alloc(0).unwrap();
    let before = (b.free_frames(), histogram(&b));
    let cases = [
        ((0, 0), FreeError::OutOfRange),
        ((4096 + 1024, 0), FreeError::OutOfRange),
        ((u64::MAX, 0), FreeError::OutOfRange),
        ((p, MAX_ORDER + 1), FreeError::WrongOrder),
        ((p, 2), FreeError::WrongOrder),
        ((p, 4), FreeError::WrongOrder),
        ((p + 1, 3), FreeError::Misaligned),
        ((p + 2, 1), FreeError::NotAllocated), // interior frame
        ((q + 1, 0), FreeError::NotAllocated), // free frame
        ((4096 + 600, 0), FreeError::NotAllocated), // reserved frame
    ];
    for ((pfn, order), err) in cases {
        assert_eq!(b.free(pfn, order), Err(err), "free({pfn}, {order})");
        ok(&b);
        assert_eq!((b.free_frames(), histogram(&b)), before);
    }
    b.free(p, 3).unwrap();
    assert_eq!(b.free(p, 3), Err(FreeError::NotAllocated), "double free");
    b.free(q, 0).unwrap();
    assert_eq!(b.free(q, 0), Err(FreeError::NotAllocated), "double free");
    ok(&b);
    assert_eq!(b.free_frames(), 512);
    assert_eq!(b.free_blocks(9), 1);
}

#[test]
fn double_free_after_merge_is_detected() {
    let mut m = meta(16);
    let mut b = Buddy::new(&mut m, 0);
    b.add_free_range(0, 16);
    let a = b.alloc(0).unwrap();
    let c = b.alloc(0).unwrap();
    b.free(a, 0).unwrap();
    b.free(c, 0).unwrap();
    assert_eq!(b.free_blocks(4), 1);
    assert_eq!(b.free(a, 0), Err(FreeError::NotAllocated));
    assert_eq!(b.free(0, 4), Err(FreeError::NotAllocated));
    ok(&b);
    assert_eq!(b.free_frames(), 16);
}

#[test]
fn ranges_with_holes_and_unaligned_edges() {
    let mut m = meta(5000);
    let mut b = Buddy::new(&mut m, 0);
    assert_eq!(b.add_free_range(3, 1000), 997);
    ok(&b);
    assert_eq!(b.add_free_range(1500, 4097), 2597);
    ok(&b);
    assert_eq!(b.total_frames(), 997 + 2597);
    // [3,1000): 1+4 (orders 0,2), 8..16 ... decomposition must be maximal.
    assert_eq!(b.block(3), Some((3, 0)));
    assert_eq!(b.block(4), Some((4, 2)));
    assert_eq!(b.block(999), Some((992, 3)));
    assert_eq!(b.block(4096), Some((4096, 0)));
    assert_eq!(b.block(1000), None);
    assert_eq!(b.block(2048), Some((2048, 10)));
    let mut got = BTreeSet::new();
    while let Some(p) = b.alloc(0) {
        assert!(got.insert(p), "frame {p} handed out twice");
    }
    let expected: BTreeSet<Pfn> = (3..1000).chain(1500..4097).collect();
    assert_eq!(got, expected);
    ok(&b);
    for p in got {
        b.free(p, 0).unwrap();
    }
    ok(&b);
    assert_eq!(b.free_frames(), 997 + 2597);
    assert_eq!(b.block(2048), Some((2048, 10)));
}

#[test]
fn unaligned_base_keeps_absolute_alignment() {
    let base = 1_000_003;
    let mut m = meta(3000);
    let mut b = Buddy::new(&mut m, base);
    assert_eq!(b.add_free_range(0, u64::MAX), 3000);
    ok(&b);
    let mut sizes = 0;
    for order in (0..=MAX_ORDER).rev() {
        while let Some(p) = b.alloc(order) {
            assert_eq!(p % (1 << order), 0);
            assert!(p >= base && p + (1 << order) <= base + 3000);
            sizes += 1 << order;
        }
    }
    assert_eq!(sizes, 3000);
    ok(&b);
}

#[test]
fn re_adding_managed_frames_is_skipped() {
    let mut m = meta(256);
    let mut b = Buddy::new(&mut m, 0);
    assert_eq!(b.add_free_range(0, 100), 100);
    let p = b.alloc(2).unwrap();
    assert_eq!(b.add_free_range(0, 100), 0);
    ok(&b);
    assert!(b.is_allocated(p));
    assert_eq!(b.add_free_range(50, 200), 100);
    ok(&b);
    assert_eq!((b.total_frames(), b.free_frames()), (200, 196));
    b.free(p, 2).unwrap();
    assert_eq!(b.free_blocks(7), 1);
    assert_eq!(b.free_blocks(6), 1);
    assert_eq!(b.free_blocks(3), 1);
    ok(&b);
}

#[test]
fn add_range_merges_with_existing_neighbours() {
    let mut m = meta(1024);
    let mut b = Buddy::new(&mut m, 0);
    b.add_free_range(512, 1024);
    b.add_free_range(0, 511);
    b.add_free_range(511, 512);
    ok(&b);
    assert_eq!(b.free_blocks(MAX_ORDER), 1);
    assert_eq!(b.free_frames(), 1024);
}

#[test]
fn exhaustion_returns_none_and_stays_consistent() {
    let mut m = meta(300);
    let mut b = Buddy::new(&mut m, 0);
    b.add_free_range(0, 300);
    let mut n = 0;
    while b.alloc(5).is_some() {
        n += 1;
    }
    assert_eq!(n, 9); // 9 * 32 = 288 frames, 12 left in smaller blocks
    assert_eq!(b.free_frames(), 12);
    assert_eq!(b.alloc(4), None);
    assert_eq!(b.alloc(MAX_ORDER), None);
    ok(&b);
    assert!(b.alloc(3).is_some());
    assert!(b.alloc(2).is_some());
    assert_eq!(b.alloc(0), None);
    assert_eq!(b.free_frames(), 0);
    ok(&b);
}

#[test]
fn order_above_max_is_rejected() {
    let mut m = meta(4096);
    let mut b = Buddy::new(&mut m, 0);
    b.add_free_range(0, 4096);
    assert_eq!(b.alloc(MAX_ORDER + 1), None);
    assert_eq!(b.alloc(usize::MAX), None);
    assert_eq!(b.free_blocks(MAX_ORDER + 1), 0);
    let p = b.alloc(MAX_ORDER).unwrap();
    assert_eq!(p % 1024, 0);
    assert_eq!(b.free_blocks(MAX_ORDER), 3);
    ok(&b);
}

#[test]
fn is_allocated_covers_interior_frames() {
    let mut m = meta(2048);
    let mut b = Buddy::new(&mut m, 0);
    b.add_free_range(0, 2048);
    let a = b.alloc(MAX_ORDER).unwrap();
    let c = b.alloc(3).unwrap();
    for p in a..a + 1024 {
        assert!(b.is_allocated(p), "{p}");
    }
    for p in c..c + 8 {
        assert!(b.is_allocated(p));
    }
    let allocated: usize = (0..2048).filter(|&p| b.is_allocated(p)).count();
    assert_eq!(allocated, 1024 + 8);
    assert!(!b.is_allocated(4096));
}

#[test]
fn check_detects_corruption() {
    let mut m = meta(64);
    let mut b = Buddy::new(&mut m, 0);
    b.add_free_range(0, 64);
    let p = b.alloc(2).unwrap() as usize;
    ok(&b);

    let saved = b.meta[p + 1];
    b.meta[p + 1] = FrameInfo::new();
    assert!(b.check().is_err(), "reserved frame inside a block");
    b.meta[p + 1] = saved;

    b.free += 1;
    assert!(b.check().is_err(), "free counter");
    b.free -= 1;

    b.total += 1;
    assert!(b.check().is_err(), "total counter");
    b.total -= 1;

    b.counts[3] += 1;
    assert!(b.check().is_err(), "block counter");
    b.counts[3] -= 1;

    let h = b.heads[2] as usize;
    b.meta[h].prev = 7;
    assert!(b.check().is_err(), "prev link");
    b.meta[h].prev = NONE;

    b.meta[h].next = h as u32;
    assert!(b.check().is_err(), "cycle");
    b.meta[h].next = NONE;

    b.meta[p].order = 1;
    assert!(b.check().is_err(), "allocated head order / orphan tails");
    b.meta[p].order = 2;
    ok(&b);

    // Free the block behind the allocator's back without merging.
    b.meta[p] = FrameInfo::with(State::Free, 2);
    assert!(b.check().is_err(), "free head not in any list");
}

#[test]
fn check_detects_uncoalesced_buddies() {
    let mut m = meta(4);
    let mut b = Buddy::new(&mut m, 0);
    b.add_free_range(0, 4);
    let x = b.alloc(1).unwrap() as usize;
    ok(&b);
    // Put x on the order-1 list directly, bypassing the merge.
    b.push(x, 1);
    assert_eq!(b.check(), Err("two free buddies left uncoalesced"));
}

#[test]
fn huge_base_is_clipped() {
    let mut m = meta(16);
    let mut b = Buddy::new(&mut m, u64::MAX - 8);
    assert_eq!(b.end_pfn(), u64::MAX);
    assert_eq!(b.add_free_range(0, u64::MAX), 8);
    ok(&b);
    while b.alloc(0).is_some() {}
    assert_eq!(b.free_frames(), 0);
    ok(&b);
}
