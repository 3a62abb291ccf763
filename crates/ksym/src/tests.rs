extern crate std;

use super::*;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use proptest::prelude::*;

const SAMPLE: &[(u64, u64, &str)] = &[
    (0xffff_ffff_8000_1000, 0x40, "kernel::main"),
    (0xffff_ffff_8000_1040, 0x20, "kernel::panic::handler"),
    // gap [0x..1060, 0x..1100)
    (0xffff_ffff_8000_1100, 0x10, "core::ptr::drop_in_place"),
    (0xffff_ffff_8000_1200, 0x30, "hal::x86_64::halt"),
];

fn sample_table() -> Vec<u8> {
    encode(SAMPLE)
}

#[test]
fn round_trip() {
    let bytes = sample_table();
    let table = SymbolTable::parse(&bytes).expect("valid table");
    assert_eq!(table.len(), SAMPLE.len());
    assert!(!table.is_empty());
    let decoded: Vec<(u64, u64, &str)> = table.iter().map(|s| (s.addr, s.size, s.name)).collect();
    assert_eq!(decoded, SAMPLE);
    for &(addr, _, name) in SAMPLE {
        assert_eq!(table.address_of(name), Some(addr));
    }
    assert_eq!(table.address_of("nope"), None);
    assert_eq!(table.get(SAMPLE.len()), None);
}

#[test]
fn header_layout() {
    let bytes = sample_table();
    assert_eq!(bytes[..8], MAGIC);
    let count = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let strings = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let total = u32::from_le_bytes(bytes[16..20].try_into().unwrap()) as usize;
    assert_eq!(count, 4);
    assert_eq!(strings, HEADER_LEN + 4 * ENTRY_LEN);
    assert_eq!(total, bytes.len());
    let names: usize = SAMPLE.iter().map(|s| s.2.len()).sum();
    assert_eq!(total - strings, names);
}

#[test]
fn lookup_inside_and_at_boundaries() {
    let bytes = sample_table();
    let t = SymbolTable::parse(&bytes).unwrap();
    let base = 0xffff_ffff_8000_1000u64;
    assert_eq!(t.lookup(base), Some(("kernel::main", 0)));
    assert_eq!(t.lookup(base + 0x17), Some(("kernel::main", 0x17)));
    assert_eq!(t.lookup(base + 0x3f), Some(("kernel::main", 0x3f)));
    // Adjacent symbol starts exactly where the previous one ends.
    assert_eq!(t.lookup(base + 0x40), Some(("kernel::panic::handler", 0)));
    assert_eq!(
        t.lookup(base + 0x5f),
        Some(("kernel::panic::handler", 0x1f))
    );
    assert_eq!(
        t.lookup(base + 0x100),
        Some(("core::ptr::drop_in_place", 0))
    );
    assert_eq!(t.lookup(base + 0x22f), Some(("hal::x86_64::halt", 0x2f)));
}

#[test]
fn lookup_misses() {
    let bytes = sample_table();
    let t = SymbolTable::parse(&bytes).unwrap();
    let base = 0xffff_ffff_8000_1000u64;
    // Before the first symbol.
    assert_eq!(t.lookup(0), None);
    assert_eq!(t.lookup(base - 1), None);
    // In gaps (end is exclusive).
    assert_eq!(t.lookup(base + 0x60), None);
    assert_eq!(t.lookup(base + 0xff), None);
    assert_eq!(t.lookup(base + 0x110), None);
    assert_eq!(t.lookup(base + 0x1ff), None);
    // After the last symbol.
    assert_eq!(t.lookup(base + 0x230), None);
    assert_eq!(t.lookup(u64::MAX), None);
}

#[test]
fn size_zero_symbols_extend_to_next() {
    let bytes = encode(&[
        (0x1000, 0, "asm::entry"),
        (0x1080, 0x10, "sized"),
        (0x2000, 0, "asm::last"),
    ]);
    let t = SymbolTable::parse(&bytes).unwrap();
    assert_eq!(t.lookup(0xfff), None);
    assert_eq!(t.lookup(0x1000), Some(("asm::entry", 0)));
    assert_eq!(t.lookup(0x107f), Some(("asm::entry", 0x7f)));
    assert_eq!(t.lookup(0x1080), Some(("sized", 0)));
    assert_eq!(t.lookup(0x1090), None);
    // The last size-0 symbol has no known end: only its own address matches.
    assert_eq!(t.lookup(0x2000), Some(("asm::last", 0)));
    assert_eq!(t.lookup(0x2001), None);
}

#[test]
fn sorts_and_dedups() {
    let bytes = encode(&[
        (0x3000, 0x10, "c"),
        (0x1000, 0x08, "a_first"),
        (0x2000, 0x10, "b"),
        (0x1000, 0x20, "a_second"),
        (0x1000, 0x00, "a_third"),
    ]);
    let t = SymbolTable::parse(&bytes).unwrap();
    let got: Vec<(u64, u64, &str)> = t.iter().map(|s| (s.addr, s.size, s.name)).collect();
    assert_eq!(
        got,
        vec![
            (0x1000, 0x20, "a_first"),
            (0x2000, 0x10, "b"),
            (0x3000, 0x10, "c")
        ]
    );
    assert_eq!(t.lookup(0x101f), Some(("a_first", 0x1f)));
}

#[test]
fn names_stored_once() {
    let name = "core::ptr::drop_in_place";
    let bytes = encode(&[
        (0x10, 1, name),
        (0x20, 1, name),
        (0x30, 1, name),
        (0x40, 1, "x"),
    ]);
    assert_eq!(bytes.len(), HEADER_LEN + 4 * ENTRY_LEN + name.len() + 1);
    let t = SymbolTable::parse(&bytes).unwrap();
    assert_eq!(t.lookup(0x30), Some((name, 0)));
    assert_eq!(t.lookup(0x40), Some(("x", 0)));
}

#[test]
fn empty_table() {
    let bytes = encode(&[]);
    assert_eq!(bytes.len(), HEADER_LEN);
    let t = SymbolTable::parse(&bytes).unwrap();
    assert!(t.is_empty());
    assert_eq!(t.len(), 0);
    assert_eq!(t.lookup(0), None);
    assert_eq!(t.lookup(u64::MAX), None);
    assert_eq!(t.address_of(""), None);
}

#[test]
fn all_zero_is_none() {
    for len in [0usize, 1, 8, 23, 24, 25, 4096, 1 << 20] {
        assert!(SymbolTable::parse(&vec![0u8; len]).is_none(), "len {len}");
    }
}

#[test]
fn truncated_is_none_and_trailing_bytes_ignored() {
    let bytes = sample_table();
    for cut in 0..bytes.len() {
        assert!(SymbolTable::parse(&bytes[..cut]).is_none(), "cut at {cut}");
    }
    // As written into a larger zero-filled section.
    let mut section = vec![0u8; 65536];
    section[..bytes.len()].copy_from_slice(&bytes);
    let t = SymbolTable::parse(&section).unwrap();
    assert_eq!(t.len(), SAMPLE.len());
    assert_eq!(
        t.lookup(0xffff_ffff_8000_1041),
        Some(("kernel::panic::handler", 1))
    );
}

fn patched(mut bytes: Vec<u8>, at: usize, value: &[u8]) -> Vec<u8> {
    bytes[at..at + value.len()].copy_from_slice(value);
    bytes
}

#[test]
fn malformed_headers_and_entries_are_none() {
    let good = sample_table();
    let e0 = HEADER_LEN;
    let e1 = HEADER_LEN + ENTRY_LEN;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("bad magic", patched(good.clone(), 7, b"2")),
        (
            "count too big",
            patched(good.clone(), 8, &5u32.to_le_bytes()),
        ),
        (
            "count too small",
            patched(good.clone(), 8, &3u32.to_le_bytes()),
        ),
        (
            "count huge",
            patched(good.clone(), 8, &u32::MAX.to_le_bytes()),
        ),
        (
            "strings off",
            patched(good.clone(), 12, &1u32.to_le_bytes()),
        ),
        (
            "total past end",
            patched(good.clone(), 16, &(good.len() as u32 + 1).to_le_bytes()),
        ),
        (
            "total before strings",
            patched(good.clone(), 16, &30u32.to_le_bytes()),
        ),
        (
            "reserved nonzero",
            patched(good.clone(), 20, &1u32.to_le_bytes()),
        ),
        // Second entry's address equal to the first: not strictly increasing.
        (
            "duplicate addr",
            patched(good.clone(), e1, &good[e0..e0 + 8]),
        ),
        (
            "name off out of range",
            patched(good.clone(), e0 + 12, &1000u32.to_le_bytes()),
        ),
        (
            "name len out of range",
            patched(good.clone(), e0 + 16, &1000u16.to_le_bytes()),
        ),
        ("name not utf-8", {
            let strings = HEADER_LEN + SAMPLE.len() * ENTRY_LEN;
            patched(good.clone(), strings, &[0xff])
        }),
    ];
    for (what, bytes) in cases {
        assert!(SymbolTable::parse(&bytes).is_none(), "{what}");
    }
    // Sanity: the unpatched table parses.
    assert!(SymbolTable::parse(&good).is_some());
}

#[test]
fn long_names_are_truncated_at_char_boundary() {
    // 'é' is two bytes; 40000 of them is 80000 bytes, and 65535 is odd, so the cut must back off.
    let long: String = core::iter::repeat_n('é', 40000).collect();
    let bytes = encode(&[(0x1000, 4, &long)]);
    let t = SymbolTable::parse(&bytes).unwrap();
    let (name, _) = t.lookup(0x1000).unwrap();
    assert_eq!(name.len(), MAX_NAME_LEN - 1);
    assert!(long.starts_with(name));
}

#[test]
fn sizes_saturate_and_ends_do_not_overflow() {
    let bytes = encode(&[(0x1000, u64::MAX, "huge"), (u64::MAX - 0xf, 0x100, "top")]);
    let t = SymbolTable::parse(&bytes).unwrap();
    assert_eq!(t.get(0).unwrap().size, u64::from(u32::MAX));
    assert_eq!(t.lookup(0x1000 + 0xffff_fffe), Some(("huge", 0xffff_fffe)));
    assert_eq!(t.lookup(0x1000 + 0xffff_ffff), None);
    assert_eq!(t.lookup(u64::MAX), Some(("top", 0xf)));
}

/// Naive reference for `lookup` over the merged, sorted symbol list.
fn model_lookup<'a>(merged: &[(u64, u64, &'a str)], addr: u64) -> Option<(&'a str, u64)> {
    let index = merged.iter().rposition(|s| s.0 <= addr)?;
    let (start, size, name) = merged[index];
    let off = addr - start;
    let covered = if size != 0 {
        off < size
    } else {
        index + 1 < merged.len() || off == 0
    };
    covered.then_some((name, off))
}

fn symbol_strategy() -> impl Strategy<Value = Vec<(u64, u64, String)>> {
    prop::collection::vec(
        (
            0u64..0x4000,
            prop_oneof![Just(0u64), 1u64..0x200],
            "[a-z:_]{0,12}",
        ),
        0..40,
    )
}

proptest! {
    #[test]
    fn random_bytes_after_magic_never_panic(
        tail in prop::collection::vec(any::<u8>(), 0..512),
        probes in prop::collection::vec(any::<u64>(), 0..8),
    ) {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&tail);
        if let Some(t) = SymbolTable::parse(&bytes) {
            for p in probes {
                let _ = t.lookup(p);
            }
            let _ = t.address_of("x");
            let _ = t.iter().count();
        }
    }

    #[test]
    fn plausible_headers_never_panic(
        count in 0u32..8,
        strings in 0u32..200,
        total in 0u32..400,
        body in prop::collection::vec(any::<u8>(), 0..400),
        probe in any::<u64>(),
    ) {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&count.to_le_bytes());
        bytes.extend_from_slice(&strings.to_le_bytes());
        bytes.extend_from_slice(&total.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&body);
        if let Some(t) = SymbolTable::parse(&bytes) {
            let _ = t.lookup(probe);
            let _ = t.iter().count();
        }
    }

    #[test]
    fn corrupted_tables_never_panic(
        symbols in symbol_strategy(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        probes in prop::collection::vec(0u64..0x4400, 0..16),
    ) {
        let input: Vec<(u64, u64, &str)> = symbols.iter().map(|(a, s, n)| (*a, *s, n.as_str())).collect();
        let mut bytes = encode(&input);
        for (index, value) in flips {
            let at = index.index(bytes.len());
            bytes[at] ^= value;
        }
        if let Some(t) = SymbolTable::parse(&bytes) {
            for p in probes {
                let _ = t.lookup(p);
            }
            let _ = t.iter().count();
        }
    }

    #[test]
    fn lookup_matches_model(
        symbols in symbol_strategy(),
        probes in prop::collection::vec(0u64..0x4400, 0..64),
    ) {
        let input: Vec<(u64, u64, &str)> = symbols.iter().map(|(a, s, n)| (*a, *s, n.as_str())).collect();
        let mut merged = input.clone();
        merged.sort_by_key(|s| s.0);
        let mut dedup: Vec<(u64, u64, &str)> = Vec::new();
        for s in merged {
            match dedup.last_mut() {
                Some(last) if last.0 == s.0 => last.1 = last.1.max(s.1),
                _ => dedup.push(s),
            }
        }
        let bytes = encode(&input);
        let t = SymbolTable::parse(&bytes).expect("encoder output parses");
        prop_assert_eq!(t.len(), dedup.len());
        let decoded: Vec<(u64, u64, &str)> = t.iter().map(|s| (s.addr, s.size, s.name)).collect();
        prop_assert_eq!(&decoded, &dedup);
        for p in probes {
            prop_assert_eq!(t.lookup(p), model_lookup(&dedup, p));
        }
        for &(addr, _, _) in &dedup {
            prop_assert!(t.lookup(addr).is_some_and(|(_, off)| off == 0));
        }
    }
}
