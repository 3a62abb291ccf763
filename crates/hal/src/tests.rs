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
        let frame = frames::Frame::alloc_zeroed().expect("frame");
        let pa = frame.pa();
        let rw = PageFlags {
            write: true,
            ..PageFlags::default()
        };
        pt.map_user(0x40_0000, &frame, rw).expect("user map");
        let (tpa, f, _) = pt.translate(0x40_0000).expect("translate");
        assert_eq!(tpa, pa);
        assert!(f.user && f.write && !f.global);
        assert_eq!(
            pt.map_user(crate::mem::USER_END, &frame, rw),
            Err(MapError::NotUser)
        );
        assert_eq!(
            pt.map_user(SCRATCH_REGION, &frame, rw),
            Err(MapError::NotUser)
        );
        // The kernel half is shared with the kernel table.
        assert!(
            pt.translate(crate::ktest::all as *const () as u64)
                .is_some()
        );
        assert_eq!(pt.unmap_user(0x40_0000).expect("unmap").0, pa);
        drop(frame);
    }
);

// ---------------------------------------------------------------------------------------------
// User mode

use crate::user::{Exit, UserContext};

const CODE_VA: u64 = 0x40_0000;
const STACK_VA: u64 = 0x7fff_0000;

/// An address space with `code` at CODE_VA and one stack page below STACK_VA.
fn user_space(code: &[u8]) -> (PageTable, [frames::Frame; 2]) {
    let mut pt = PageTable::new_user().expect("address space");
    let text = frames::Frame::alloc_zeroed().expect("frame");
    let stack = frames::Frame::alloc_zeroed().expect("frame");
    text.write(0, code);
    let rx = PageFlags {
        exec: true,
        ..PageFlags::default()
    };
    let rw = PageFlags {
        write: true,
        ..PageFlags::default()
    };
    pt.map_user(CODE_VA, &text, rx).expect("map code");
    pt.map_user(STACK_VA - PAGE_SIZE, &stack, rw)
        .expect("map stack");
    (pt, [text, stack])
}

fn drop_space(mut pt: PageTable, pages: [frames::Frame; 2]) {
    let _ = pt.unmap_user(CODE_VA);
    let _ = pt.unmap_user(STACK_VA - PAGE_SIZE);
    KERNEL.lock().activate();
    drop(pt);
    drop(pages);
}

/// Run user code, handling the timer interrupts that may arrive meanwhile.
fn run_user(ctx: &mut UserContext) -> Exit {
    loop {
        match ctx.run() {
            Exit::Interrupt(v) => {
                crate::trap::dispatch_irq(v);
                crate::arch::enable_interrupts();
            }
            other => return other,
        }
    }
}

// mov eax, 39; syscall; mov rdi, rax; mov eax, 60; syscall; ud2
const GETPID_EXIT: [u8; 19] = [
    0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x48, 0x89, 0xc7, 0xb8, 60, 0, 0, 0, 0x0f, 0x05, 0x0f, 0x0b,
];

ktest!(
    fn user_mode_syscalls_round_trip() {
        let (pt, pages) = user_space(&GETPID_EXIT);
        pt.activate();
        let mut ctx = UserContext::new(CODE_VA, STACK_VA).expect("context");
        ctx.rbx = 0x1234_5678;
        assert_eq!(run_user(&mut ctx), Exit::Syscall);
        assert_eq!(ctx.rax, 39);
        assert_eq!(
            ctx.rcx,
            CODE_VA + 7,
            "rcx holds the return address after syscall"
        );
        assert_eq!(ctx.rip, CODE_VA + 7);
        assert_eq!(ctx.rbx, 0x1234_5678, "callee registers preserved");
        assert_eq!(ctx.rsp, STACK_VA);
        ctx.rax = 4242; // the "return value"
        assert_eq!(run_user(&mut ctx), Exit::Syscall);
        assert_eq!((ctx.rax, ctx.rdi), (60, 4242));
        // Back in user mode, the next instruction is ud2: an invalid-opcode exception.
        match run_user(&mut ctx) {
            Exit::Exception { vector: 6, .. } => {}
            other => panic!("expected #UD, got {other:?}"),
        }
        assert_eq!(ctx.rip, CODE_VA + 17);
        crate::arch::enable_interrupts();
        drop_space(pt, pages);
    }
);

ktest!(
    fn user_page_faults_and_kernel_addresses_come_back_as_exceptions() {
        // mov rax, [0x1000]; then mov rax, [kernel text]
        let mut code = alloc::vec![0x48, 0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00];
        code.extend_from_slice(&[0x48, 0xa1]);
        code.extend_from_slice(&(crate::ktest::all as *const () as u64).to_le_bytes());
        let (pt, pages) = user_space(&code);
        pt.activate();
        let mut ctx = UserContext::new(CODE_VA, STACK_VA).expect("context");
        match run_user(&mut ctx) {
            Exit::Exception {
                vector: 14,
                error_code,
                cr2,
            } => {
                assert_eq!(cr2, 0x1000);
                assert_eq!(
                    error_code & 0x5,
                    0x4,
                    "user-mode read of a not-present page: {error_code:#x}"
                );
            }
            other => panic!("expected #PF, got {other:?}"),
        }
        ctx.rip += 8;
        match run_user(&mut ctx) {
            Exit::Exception {
                vector: 14,
                error_code,
                cr2,
            } => {
                assert_eq!(cr2, crate::ktest::all as *const () as u64);
                assert_eq!(
                    error_code & 0x5,
                    0x5,
                    "protection violation from user mode: {error_code:#x}"
                );
            }
            other => panic!("expected #PF on a kernel address, got {other:?}"),
        }
        crate::arch::enable_interrupts();
        drop_space(pt, pages);
    }
);

ktest!(
    fn timer_interrupts_preempt_user_loops() {
        // jmp $ — spins until an interrupt takes the CPU back.
        let (pt, pages) = user_space(&[0xeb, 0xfe]);
        pt.activate();
        let mut ctx = UserContext::new(CODE_VA, STACK_VA).expect("context");
        let t0 = crate::time::ticks();
        loop {
            match ctx.run() {
                Exit::Interrupt(v) => crate::trap::dispatch_irq(v),
                other => panic!("unexpected exit {other:?}"),
            }
            crate::arch::enable_interrupts();
            if crate::time::ticks() >= t0 + 3 {
                break;
            }
        }
        assert_eq!(ctx.rip, CODE_VA);
        drop_space(pt, pages);
    }
);

ktest!(
    fn fpu_state_is_private_to_each_context() {
        // movq xmm0, rdi; syscall; movq rax, xmm0; syscall
        let code = [
            0x66, 0x48, 0x0f, 0x6e, 0xc7, 0x0f, 0x05, 0x66, 0x48, 0x0f, 0x7e, 0xc0, 0x0f, 0x05,
        ];
        let (pt, pages) = user_space(&code);
        pt.activate();
        let mut a = UserContext::new(CODE_VA, STACK_VA).expect("context");
        let mut b = UserContext::new(CODE_VA, STACK_VA).expect("context");
        a.rdi = 0x1111;
        b.rdi = 0x2222;
        assert_eq!(run_user(&mut a), Exit::Syscall);
        assert_eq!(run_user(&mut b), Exit::Syscall); // overwrites xmm0 in the registers
        let mut c = a.try_clone().expect("clone"); // fork: the copy carries a's FPU state
        assert_eq!(run_user(&mut a), Exit::Syscall);
        assert_eq!(a.rax, 0x1111, "a's xmm0 was clobbered");
        assert_eq!(run_user(&mut b), Exit::Syscall);
        assert_eq!(b.rax, 0x2222, "b's xmm0 was clobbered");
        assert_eq!(run_user(&mut c), Exit::Syscall);
        assert_eq!(c.rax, 0x1111, "the clone lost the FPU state");
        crate::arch::enable_interrupts();
        drop_space(pt, pages);
    }
);

ktest!(
    fn user_copies_check_ranges_and_faults() {
        let (pt, pages) = user_space(&[0x90]);
        pt.activate();
        let mut buf = [0u8; 16];
        crate::user::copy_to_user(STACK_VA - 16, b"hello, user page").expect("copy to user");
        crate::user::copy_from_user(&mut buf, STACK_VA - 16).expect("copy from user");
        assert_eq!(&buf, b"hello, user page");
        // Crossing into the unmapped page above the stack faults; kernel and overflowing ranges are refused.
        assert!(crate::user::copy_from_user(&mut buf, STACK_VA - 8).is_err());
        assert!(
            crate::user::copy_from_user(&mut buf, crate::ktest::all as *const () as u64).is_err()
        );
        assert!(crate::user::copy_from_user(&mut buf, u64::MAX - 4).is_err());
        assert!(crate::user::copy_to_user(0, b"x").is_err());
        crate::user::copy_to_user(STACK_VA - 32, b"path\0rest").expect("copy");
        assert_eq!(
            crate::user::read_user_cstr(STACK_VA - 32, 64).expect("cstr"),
            b"path"
        );
        assert_eq!(crate::user::read_user_cstr(STACK_VA - 32, 2), Err(Some(())));
        drop_space(pt, pages);
    }
);

ktest!(
    fn dropping_a_user_page_table_frees_its_tables() {
        let before = frames::stats().free;
        for _ in 0..10 {
            let (pt, pages) = user_space(&[0x90]);
            drop_space(pt, pages);
        }
        assert_eq!(frames::stats().free, before);
    }
);

ktest!(
    fn large_heap_blocks_need_no_contiguous_memory() {
        let before = frames::stats().free;
        let big: Vec<u8> = alloc::vec![0x5a; 24 << 20]; // larger than any buddy block
        assert!(big.iter().step_by(4096).all(|&b| b == 0x5a));
        let start = big.as_ptr() as u64;
        assert!(
            start >= crate::mem::VMAP_REGION,
            "large block not in the mapped region"
        );
        // The page after the block is a guard.
        assert!(
            probe::read_u64(crate::mem::align_up(start + big.len() as u64, PAGE_SIZE)).is_err()
        );
        assert!(heap::stats().large >= 24 << 20);
        assert!(frames::stats().free + (24 << 20) / PAGE_SIZE <= before);
        drop(big);
        assert_eq!(heap::stats().large, 0);
        assert!(
            frames::stats().free + 64 >= before,
            "frames of the large block not returned"
        );
    }
);

/// A new user table with `n` fresh frames mapped writable from `base` on.
fn writable_user_pages(base: u64, n: u64) -> (PageTable, alloc::vec::Vec<frames::Frame>) {
    let mut pt = PageTable::new_user().expect("address space");
    let frames: alloc::vec::Vec<frames::Frame> = (0..n)
        .map(|_| frames::Frame::alloc_zeroed().expect("frame"))
        .collect();
    let rw = PageFlags {
        write: true,
        ..PageFlags::default()
    };
    for (i, f) in frames.iter().enumerate() {
        pt.map_user(base + i as u64 * PAGE_SIZE, f, rw)
            .expect("map");
    }
    (pt, frames)
}

ktest!(
    fn write_protection_of_a_whole_table_is_one_entry_and_pushed_down_on_demand() {
        // 512 pages fill the page table of [4 MiB, 6 MiB); two more start the next one.
        const BASE: u64 = 0x40_0000;
        let (mut pt, frames) = writable_user_pages(BASE, 514);
        let rw = PageFlags {
            write: true,
            ..PageFlags::default()
        };
        let w =
            |pt: &PageTable, i: u64| pt.translate(BASE + i * PAGE_SIZE).expect("mapped").1.write;
        // The full table costs one directory entry, the partial one its two leaves.
        assert_eq!(
            pt.write_protect_user_range(BASE, BASE + 514 * PAGE_SIZE),
            Ok(3)
        );
        assert!((0..514).all(|i| !w(&pt, i)), "every page read-only");
        // A write fault at page 7 pushes the protection down: all 512 leaves lose W and the
        // directory entry gets it back; no page gains the right by that alone.
        assert_eq!(pt.unprotect_path(BASE + 7 * PAGE_SIZE), 513);
        assert!(
            (0..514).all(|i| !w(&pt, i)),
            "still read-only after the push"
        );
        assert_eq!(
            pt.unprotect_path(BASE + 7 * PAGE_SIZE),
            0,
            "nothing left above"
        );
        // Now the leaf alone decides, as the fault handler needs.
        pt.protect_user(BASE + 7 * PAGE_SIZE, rw).expect("protect");
        assert!(w(&pt, 7) && !w(&pt, 6) && !w(&pt, 8));
        for i in 0..514 {
            pt.unmap_user(BASE + i * PAGE_SIZE).expect("unmap");
        }
        drop(pt);
        drop(frames);
    }
);

ktest!(
    fn write_protecting_a_user_range_clears_only_its_entries() {
        let (mut pt, frames) = writable_user_pages(0x40_0000, 3);
        assert_eq!(
            pt.write_protect_user_range(0x40_0000, 0x40_0000 + 2 * PAGE_SIZE),
            Ok(2)
        );
        let w = |pt: &PageTable, i: u64| {
            pt.translate(0x40_0000 + i * PAGE_SIZE)
                .expect("mapped")
                .1
                .write
        };
        assert!(!w(&pt, 0) && !w(&pt, 1) && w(&pt, 2));
        assert_eq!(
            pt.write_protect_user_range(0x40_0000, 0x40_0000 + 2 * PAGE_SIZE),
            Ok(0)
        );
        assert!(
            pt.write_protect_user_range(0x40_0000, crate::mem::USER_END + PAGE_SIZE)
                .is_err()
        );
        for i in 0..3 {
            pt.unmap_user(0x40_0000 + i * PAGE_SIZE).expect("unmap");
        }
        drop(pt);
        drop(frames);
    }
);

ktest!(
    fn smep_and_smap_are_on_and_smap_stops_a_plain_kernel_read_of_user_memory() {
        // QEMU's `-cpu max` (the test machine) has both; Tine turns on what CPUID reports.
        let f = crate::arch::cpuid::Features::detect();
        assert!(f.smep && f.smap, "the test CPU lacks SMEP or SMAP");
        let cr4 = crate::arch::read_cr4();
        assert!(cr4 & (1 << 20) != 0, "CR4.SMEP is off");
        assert!(cr4 & (1 << 21) != 0, "CR4.SMAP is off");
        // A user page read by a plain kernel access (no stac) faults as a protection violation;
        // the same read through the user-copy path (stac/clac around it) works.
        let (pt, pages) = user_space(&[0x5a; 16]);
        pt.activate();
        let mut b = [0u8; 8];
        match probe::copy_from(CODE_VA, &mut b) {
            Err(info) => {
                assert_eq!(info.vector(), 14, "a page fault");
                assert!(
                    info.was_present(),
                    "a protection violation, not a missing page"
                );
            }
            Ok(()) => panic!("the kernel read user memory without stac: SMAP not enforced"),
        }
        crate::user::copy_from_user(&mut b, CODE_VA).expect("user copy");
        assert_eq!(b, [0x5a; 8]);
        drop_space(pt, pages);
    }
);
