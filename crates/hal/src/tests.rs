//! In-kernel tests of the hardware layer (built with the `ktest` feature): the frame allocator,
//! the heap, page-table map/unmap/protect and the kernel's own section rights, the exception
//! path (faults caught through the exception table, fatal-report formatting), the timer, and
//! symbolization.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use crate::ktest;
use crate::mem::paging::{KERNEL, MapError, PageFlags, PageSize, PageTable};
use crate::mem::probe::{self, FaultInfo};
use crate::mem::{PAGE_SIZE, SCRATCH_REGION, frames, heap, phys_to_virt};
use crate::trap::{TrapFrame, report};

fn histogram() -> [usize; frames::MAX_FRAME_ORDER + 1] {
    let mut h = [0; frames::MAX_FRAME_ORDER + 1];
    for (order, slot) in h.iter_mut().enumerate() {
        *slot = frames::free_blocks(order);
    }
    h
}

ktest!(
    fn frames_never_hand_out_a_frame_twice() {
        let mut got = [0u64; 300];
        for slot in got.iter_mut() {
            *slot = frames::alloc(0).expect("frame");
            assert!(frames::is_allocated(*slot));
        }
        let mut sorted = got;
        sorted.sort_unstable();
        assert!(sorted.windows(2).all(|w| w[0] != w[1]), "duplicate frame");
        for pa in got {
            frames::free(pa, 0);
            assert!(!frames::is_allocated(pa));
        }
        frames::check().expect("allocator invariants");
    }
);

ktest!(
    fn frames_accounting_is_exact() {
        let before = frames::stats();
        let mut blocks = [(0u64, 0usize); 6];
        for (order, b) in blocks.iter_mut().enumerate() {
            *b = (frames::alloc(order).expect("block"), order);
            assert_eq!(
                b.0 % (PAGE_SIZE << order),
                0,
                "block of order {order} misaligned"
            );
        }
        let used: u64 = (0..6).map(|o| 1u64 << o).sum();
        assert_eq!(frames::stats().free, before.free - used);
        for (pa, order) in blocks {
            frames::free(pa, order);
        }
        assert_eq!(frames::stats().free, before.free);
        assert_eq!(frames::stats().total, before.total);
    }
);

ktest!(
    fn frames_coalesce_back_after_fragmentation() {
        let before = histogram();
        let mut got = [0u64; 64];
        for slot in got.iter_mut() {
            *slot = frames::alloc(0).expect("frame");
        }
        // Free every other frame first: nothing can merge yet.
        for pa in got.iter().step_by(2) {
            frames::free(*pa, 0);
        }
        frames::check().expect("invariants while fragmented");
        for pa in got.iter().skip(1).step_by(2) {
            frames::free(*pa, 0);
        }
        assert_eq!(histogram(), before, "free blocks did not coalesce back");
    }
);

ktest!(
    fn frames_alloc_zeroed_is_zero() {
        let pa = frames::alloc(1).expect("frames");
        probe::copy_to(phys_to_virt(pa), &[0xAB; 8192]).expect("write");
        frames::free(pa, 1);
        let pa = frames::alloc_zeroed(1).expect("frames");
        let mut buf = [0xFFu8; 8192];
        probe::copy_from(phys_to_virt(pa), &mut buf).expect("read");
        assert!(buf.iter().all(|&b| b == 0));
        frames::free(pa, 1);
    }
);

ktest!(
    fn frames_exhaustion_returns_none_and_recovers() {
        let before = frames::stats().free;
        // Chain every frame we get through its own first word, so the test needs no memory itself.
        let mut head = 0u64;
        let mut count = 0u64;
        let info = crate::boot::info().expect("boot info");
        let (ks, ke) = info.kernel_image;
        let (is, ie) = info.initrd.map_or((0, 0), |(pa, size)| (pa, pa + size));
        for order in (0..=frames::MAX_FRAME_ORDER).rev() {
            while let Some(pa) = frames::alloc(order) {
                let end = pa + (PAGE_SIZE << order);
                // Reserved memory is never handed out: low 1 MiB, the kernel image, the initrd.
                assert!(pa >= 0x10_0000, "frame {pa:#x} in low memory");
                assert!(
                    end <= ks || pa >= ke,
                    "frame {pa:#x} inside the kernel image"
                );
                assert!(end <= is || pa >= ie, "frame {pa:#x} inside the initrd");
                probe::copy_to(phys_to_virt(pa), &head.to_le_bytes()).expect("link");
                probe::copy_to(phys_to_virt(pa) + 8, &(order as u64).to_le_bytes()).expect("link");
                head = pa;
                count += 1 << order;
            }
        }
        assert_eq!(frames::stats().free, 0);
        assert_eq!(count, before);
        let high = info
            .memory_map
            .iter()
            .any(|m| m.kind == bootinfo::MemKind::Ram && m.addr + m.size > 4 << 30);
        if high {
            // Frames above 4 GiB were handed out and written through the direct map: walk the chain
            // and find one.
            let mut p = head;
            let mut saw_high = false;
            while p != 0 {
                saw_high |= p >= 4 << 30;
                p = probe::read_u64(phys_to_virt(p)).expect("next");
            }
            assert!(saw_high, "RAM above 4 GiB was never handed out");
        }
        assert!(frames::alloc(0).is_none());
        while head != 0 {
            let next = probe::read_u64(phys_to_virt(head)).expect("next");
            let order = probe::read_u64(phys_to_virt(head) + 8).expect("order") as usize;
            frames::free(head, order);
            head = next;
        }
        assert_eq!(frames::stats().free, before);
        frames::check().expect("invariants after exhaustion");
    }
);

ktest!(
    fn heap_grows_from_the_frame_allocator() {
        let h0 = heap::stats();
        let f0 = frames::stats().free;
        let boxes: Vec<Box<[u8; 65536]>> = (0..256).map(|i| Box::new([i as u8; 65536])).collect();
        let h1 = heap::stats();
        assert!(
            h1.claimed >= h0.claimed + 16 * 1024 * 1024,
            "heap did not grow: {h0:?} -> {h1:?}"
        );
        assert!(frames::stats().free < f0);
        assert!(
            boxes
                .iter()
                .enumerate()
                .all(|(i, b)| b[0] == i as u8 && b[65535] == i as u8)
        );
        drop(boxes);
        assert!(
            heap::stats().in_use <= h0.in_use + 64,
            "heap accounting after free"
        );
    }
);

ktest!(
    fn heap_exhaustion_is_an_error_not_a_panic() {
        let mut v: Vec<u8> = Vec::new();
        assert!(v.try_reserve(1 << 40).is_err());
        assert!(heap::try_box([0u8; 1 << 12]).is_ok());
        let small = Box::new(42u64);
        assert_eq!(*small, 42);
    }
);

ktest!(
    fn heap_respects_alignment() {
        for align in [8usize, 64, 4096] {
            let layout = core::alloc::Layout::from_size_align(align * 3, align).expect("layout");
            // SAFETY: nonzero size; freed with the same layout right after the check.
            let p = unsafe { alloc::alloc::alloc(layout) };
            assert!(!p.is_null());
            assert_eq!(p as usize % align, 0);
            // SAFETY: allocated above with this layout.
            unsafe { alloc::alloc::dealloc(p, layout) };
        }
    }
);

const T_VA: u64 = SCRATCH_REGION + 0x1000_0000;

ktest!(
    fn paging_map_write_read_unmap() {
        let pa = frames::alloc_zeroed(0).expect("frame");
        // SAFETY: the scratch region holds no Rust objects.
        unsafe {
            KERNEL
                .lock()
                .map_raw(T_VA, pa, PageSize::Size4K, PageFlags::KERNEL_RW)
        }
        .expect("map");
        let (tpa, flags, size) = KERNEL.lock().translate(T_VA + 0x123).expect("translate");
        assert_eq!((tpa, size), (pa + 0x123, PageSize::Size4K));
        assert!(flags.write && !flags.exec && !flags.user);
        probe::copy_to(T_VA + 16, b"tine").expect("write through new mapping");
        let mut b = [0u8; 4];
        probe::copy_from(phys_to_virt(pa) + 16, &mut b).expect("read via direct map");
        assert_eq!(&b, b"tine");
        // SAFETY: scratch mapping made above; nothing references it.
        assert_eq!(
            unsafe {
                KERNEL
                    .lock()
                    .map_raw(T_VA, pa, PageSize::Size4K, PageFlags::KERNEL_RW)
            },
            Err(MapError::AlreadyMapped)
        );
        // SAFETY: as above.
        let (upa, _) = unsafe { KERNEL.lock().unmap_raw(T_VA) }.expect("unmap");
        assert_eq!(upa, pa);
        assert!(KERNEL.lock().translate(T_VA).is_none());
        let err = probe::read_u64(T_VA).expect_err("read after unmap must fault");
        assert_eq!(
            (err.vector(), err.addr, err.was_present()),
            (14, T_VA, false)
        );
        frames::free(pa, 0);
    }
);

ktest!(
    fn paging_protect_makes_page_read_only() {
        let va = T_VA + 0x20_0000;
        let pa = frames::alloc_zeroed(0).expect("frame");
        // SAFETY: scratch region.
        unsafe {
            KERNEL
                .lock()
                .map_raw(va, pa, PageSize::Size4K, PageFlags::KERNEL_RW)
        }
        .expect("map");
        probe::copy_to(va, &[1]).expect("writable at first");
        // SAFETY: scratch region.
        unsafe { KERNEL.lock().protect_raw(va, PageFlags::KERNEL_RO) }.expect("protect");
        let err: FaultInfo = probe::copy_to(va + 8, &[2]).expect_err("write to read-only page");
        assert_eq!(err.vector(), 14);
        assert!(
            err.was_present() && err.was_write(),
            "error code {:#x}",
            err.error_code()
        );
        assert_eq!(err.addr, va + 8);
        assert_eq!(probe::read_u64(va).expect("still readable") & 0xff, 1);
        // SAFETY: scratch region.
        unsafe { KERNEL.lock().protect_raw(va, PageFlags::KERNEL_RW) }.expect("protect back");
        probe::copy_to(va + 8, &[2]).expect("writable again");
        // SAFETY: scratch region.
        unsafe { KERNEL.lock().unmap_raw(va) }.expect("unmap");
        frames::free(pa, 0);
    }
);

ktest!(
    fn paging_2m_pages_map_and_translate() {
        let va = T_VA + 0x4000_0000;
        let pa = frames::alloc_zeroed(9).expect("2 MiB block");
        // SAFETY: scratch region.
        unsafe {
            KERNEL
                .lock()
                .map_raw(va, pa, PageSize::Size2M, PageFlags::KERNEL_RW)
        }
        .expect("map 2M");
        let (tpa, _, size) = KERNEL.lock().translate(va + 0x1F_F008).expect("translate");
        assert_eq!((tpa, size), (pa + 0x1F_F008, PageSize::Size2M));
        // A 4 KiB mapping inside a huge page is refused.
        // SAFETY: scratch region; expected to fail without mapping anything.
        assert_eq!(
            unsafe {
                KERNEL
                    .lock()
                    .map_raw(va + 0x1000, pa, PageSize::Size4K, PageFlags::KERNEL_RW)
            },
            Err(MapError::AlreadyMapped)
        );
        // SAFETY: scratch region.
        unsafe { KERNEL.lock().unmap_raw(va) }.expect("unmap");
        assert!(probe::read_u64(va + 0x1000).is_err());
        frames::free(pa, 9);
    }
);

static RODATA_PROBE: [u8; 16] = [7; 16];

ktest!(
    fn kernel_sections_have_their_own_rights() {
        let text = crate::ktest::all as *const () as u64;
        let (_, f, _) = crate::mem::paging::kernel_translate(text).expect("text mapped");
        assert!(f.exec && !f.write, "text {f:?}");
        let ro = RODATA_PROBE.as_ptr() as u64;
        let (_, f, _) = crate::mem::paging::kernel_translate(ro).expect("rodata mapped");
        assert!(!f.exec && !f.write, "rodata {f:?}");
        let data = &KERNEL as *const _ as u64;
        let (_, f, _) = crate::mem::paging::kernel_translate(data).expect("data mapped");
        assert!(!f.exec && f.write, "data {f:?}");
        let direct = phys_to_virt(0x10_0000);
        let (_, f, _) = crate::mem::paging::kernel_translate(direct).expect("direct map");
        assert!(!f.exec && f.write, "direct map {f:?}");
        // Writing rodata faults even in kernel mode (CR0.WP).
        let err = probe::copy_to(ro, &[1]).expect_err("rodata write must fault");
        assert!(err.was_present() && err.was_write());
        assert_eq!(RODATA_PROBE[0], 7);
    }
);

ktest!(
    fn null_page_and_low_memory_are_unmapped() {
        assert!(probe::read_u64(0).is_err());
        assert!(probe::read_u64(0x1000).is_err());
        assert!(
            crate::mem::paging::kernel_translate(0x20_0000).is_none(),
            "identity map left behind"
        );
    }
);

ktest!(
    fn kernel_stacks_have_guard_pages() {
        let s = crate::mem::stack::KernelStack::new().expect("stack");
        let (g0, g1) = s.guard();
        assert!(g1 - g0 >= PAGE_SIZE);
        assert!(probe::read_u64(s.top() - 8).is_ok());
        assert!(probe::read_u64(s.bottom()).is_ok());
        let err = probe::read_u64(s.bottom() - 8).expect_err("guard page readable");
        assert_eq!(err.vector(), 14);
        assert!(crate::mem::stack::is_guard_address(s.bottom() - 8));
        assert!(!crate::mem::stack::is_guard_address(s.bottom()));
        // The early boot stack in .bss has one as well.
        unsafe extern "C" {
            static hal_boot_stack_guard: u8;
        }
        let boot_guard = core::ptr::addr_of!(hal_boot_stack_guard) as u64;
        assert!(
            probe::read_u64(boot_guard).is_err(),
            "boot stack guard is mapped"
        );
        assert!(
            probe::read_u64(boot_guard + PAGE_SIZE).is_ok(),
            "boot stack is not mapped"
        );
        assert!(crate::mem::stack::is_guard_address(boot_guard + 8));
        let free = frames::stats().free;
        drop(s);
        assert_eq!(
            frames::stats().free,
            free + crate::mem::stack::STACK_PAGES as u64
        );
    }
);

ktest!(
    fn page_fault_is_caught_and_reported() {
        let va = SCRATCH_REGION + 0x7777_0000;
        let err = probe::read_u64(va).expect_err("unmapped read");
        assert_eq!(err.vector(), 14);
        assert_eq!(err.addr, va);
        assert!(!err.was_present() && !err.was_write());
        // The fatal path's report, formatted for an equivalent frame.
        let frame = TrapFrame {
            vector: 14,
            error_code: u64::from(err.error_code()),
            rip: 0xffff_ffff_8020_1234,
            cs: 0x08,
            ..TrapFrame::default()
        };
        let mut text = String::new();
        report::write_report(&frame, va, &mut text);
        assert!(
            text.contains("page fault (#PF) (vector 14) in kernel mode"),
            "{text}"
        );
        assert!(
            text.contains("not-present page on read in kernel mode"),
            "{text}"
        );
        assert!(text.contains("CR2=0xffffe00077770000"), "{text}");
    }
);

ktest!(
    fn non_canonical_access_is_a_general_protection_fault() {
        let err = probe::read_u64(0x8000_0000_0000_0000).expect_err("non-canonical");
        assert_eq!(err.vector(), 13);
    }
);

ktest!(
    fn timer_interrupts_advance_ticks() {
        assert!(crate::arch::interrupts_enabled());
        let t0 = crate::time::ticks();
        let deadline = crate::arch::rdtsc() + crate::time::tsc_hz() * 2;
        while crate::time::ticks() < t0 + 5 && crate::arch::rdtsc() < deadline {
            crate::arch::halt();
        }
        assert!(
            crate::time::ticks() >= t0 + 5,
            "ticks stuck at {}",
            crate::time::ticks()
        );
        let ns = crate::time::uptime_ns();
        crate::time::delay_us(1000);
        assert!(crate::time::uptime_ns() >= ns + 1_000_000);
    }
);

ktest!(
    fn backtraces_are_symbolized() {
        let table = crate::backtrace::symbols().expect("symbol table written by xtask");
        assert!(table.len() > 100);
        let addr = crate::ktest::all as *const () as u64;
        let (name, off) = table.lookup(addr + 1).expect("lookup");
        assert_eq!((name, off), ("hal::ktest::all", 1));
        let mut out = String::new();
        crate::backtrace::write_current(&mut out);
        assert!(out.contains("backtraces_are_symbolized"), "{out}");
    }
);

ktest!(
    fn user_page_tables_refuse_kernel_addresses() {
        let mut pt = PageTable::new_user().expect("address space");
        let pa = frames::alloc_zeroed(0).expect("frame");
        let rw = PageFlags {
            write: true,
            ..PageFlags::default()
        };
        pt.map_user(0x40_0000, pa, PageSize::Size4K, rw)
            .expect("user map");
        let (tpa, f, _) = pt.translate(0x40_0000).expect("translate");
        assert_eq!(tpa, pa);
        assert!(f.user && f.write && !f.global);
        assert_eq!(
            pt.map_user(
                crate::mem::USER_END - 0x1000 + 0x1000,
                pa,
                PageSize::Size4K,
                rw
            ),
            Err(MapError::NotUser)
        );
        assert_eq!(
            pt.map_user(SCRATCH_REGION, pa, PageSize::Size4K, rw),
            Err(MapError::NotUser)
        );
        // The kernel half is shared with the kernel table.
        assert!(
            pt.translate(crate::ktest::all as *const () as u64)
                .is_some()
        );
        assert_eq!(pt.unmap_user(0x40_0000).expect("unmap").0, pa);
        frames::free(pa, 0);
    }
);
