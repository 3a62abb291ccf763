//! Property tests: parsing arbitrary or mutated images never panics, and
//! accepted images always yield a well-formed mapping plan.

use crate::builder::*;
use elf::{Executable, PAGE_SIZE, USER_TOP, parse};
use proptest::prelude::*;

/// A valid image with most features, as a mutation seed.
fn seed() -> Vec<u8> {
    let interp = b"/lib/ld.so\0";
    Image::exec()
        .with(|i| i.phdrs[1] = Ph::load(R | W, 0x1100, DATA_VADDR + 0x100, 0x800, 0x3000))
        .push(Ph::other(PT_PHDR, R, 64, TEXT_VADDR + 64, 6 * 56))
        .push(Ph::other(PT_INTERP, R, 0x900, 0, interp.len() as u64))
        .push(Ph {
            p_type: PT_TLS,
            flags: R,
            offset: 0x1100,
            vaddr: DATA_VADDR + 0x100,
            filesz: 8,
            memsz: 16,
            align: 8,
        })
        .push(Ph::other(PT_GNU_STACK, R | W, 0, 0, 0))
        .patch(0x900, interp)
        .build()
}

fn check_plan(e: &Executable, bias: u64) {
    for s in e.map_steps(bias) {
        assert_eq!(s.start % PAGE_SIZE, 0, "{s:?}");
        assert_eq!(s.end % PAGE_SIZE, 0, "{s:?}");
        assert!(s.start < s.end, "{s:?}");
        assert!(s.end <= USER_TOP, "{s:?}");
        if let Some(z) = s.zero_from {
            assert!(s.start <= z && z < s.end, "{s:?}");
        }
        if let Some(off) = s.file_offset {
            assert_eq!(off % PAGE_SIZE, 0, "{s:?}");
        }
    }
}

fn check_accepted(e: &Executable, data: &[u8], base: u64, bias: u64) {
    assert!(!e.segments.is_empty());
    assert!(e.min_vaddr < e.max_vaddr);
    for w in e.segments.windows(2) {
        assert!(w[0].vaddr + w[0].memsz <= w[1].vaddr);
    }
    for s in &e.segments {
        assert!(s.filesz <= s.memsz && s.memsz > 0);
        assert!(s.filesz == 0 || s.offset + s.filesz <= data.len() as u64);
    }
    if let Some(path) = e.interp_path(data) {
        assert!(!path.is_empty() && !path.contains(&0));
    }
    if let Some(b) = e.load_bias(base) {
        let steps = e.map_steps(b);
        assert!(!steps.is_empty());
        check_plan(e, b);
    }
    check_plan(e, bias);
    check_plan(e, 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn mutated_seed(
        muts in prop::collection::vec((0usize..0x3000, any::<u8>()), 1..8),
        hdr_muts in prop::collection::vec((0usize..(64 + 6 * 56), any::<u8>()), 0..6),
        truncate in prop::option::of(0usize..0x3000),
        base in any::<u64>(),
        bias in any::<u64>(),
    ) {
        let mut data = seed();
        for (at, b) in muts.into_iter().chain(hdr_muts) {
            if let Some(slot) = data.get_mut(at) {
                *slot = b;
            }
        }
        if let Some(len) = truncate {
            data.truncate(len);
        }
        if let Ok(e) = parse(&data) {
            check_accepted(&e, &data, base, bias);
        }
    }

    #[test]
    fn mutated_fields(
        field in 0usize..(64 + 6 * 56) / 8,
        value in prop_oneof![any::<u64>(), (0u64..0x4000), Just(u64::MAX), Just(USER_TOP)],
        base in any::<u64>(),
    ) {
        // Overwrite one aligned 8-byte word of the headers with an
        // interesting value.
        let mut data = seed();
        data[field * 8..field * 8 + 8].copy_from_slice(&value.to_le_bytes());
        if let Ok(e) = parse(&data) {
            check_accepted(&e, &data, base, base);
        }
    }

    #[test]
    fn random_bytes(data in prop::collection::vec(any::<u8>(), 0..512), bias in any::<u64>()) {
        if let Ok(e) = parse(&data) {
            check_accepted(&e, &data, bias, bias);
        }
    }

    #[test]
    fn random_bytes_with_valid_ident(
        mut data in prop::collection::vec(any::<u8>(), 64..2048),
        e_type in 2u16..4,
        phnum in 0u16..8,
        bias in any::<u64>(),
    ) {
        data[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
        data[0x10..0x12].copy_from_slice(&e_type.to_le_bytes());
        data[0x12..0x14].copy_from_slice(&62u16.to_le_bytes());
        data[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        data[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        data[0x38..0x3a].copy_from_slice(&phnum.to_le_bytes());
        if let Ok(e) = parse(&data) {
            check_accepted(&e, &data, bias, bias);
        }
    }
}

#[test]
fn seed_is_valid() {
    let data = seed();
    let e = parse(&data).expect("seed parses");
    assert!(e.interp.is_some() && e.tls.is_some());
    assert_eq!(e.phdr_vaddr, Some(TEXT_VADDR + 64));
}
