//! Tests for the initial-stack builder: the image is parsed back the way a C runtime reads it and
//! compared with the input.

use super::*;
use crate::auxv::*;
use alloc::vec;
use proptest::prelude::*;
use std::collections::BTreeMap;

const TOP: u64 = 0x7fff_ffff_f000;

/// What a C runtime sees at `_start`.
#[derive(Debug)]
struct Parsed {
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    auxv: Vec<(u64, u64)>,
}

impl Parsed {
    fn aux(&self) -> BTreeMap<u64, u64> {
        self.auxv.iter().copied().collect()
    }
}

fn read_u64(img: &StackImage, addr: u64) -> u64 {
    let off = (addr - img.sp) as usize;
    u64::from_le_bytes(img.bytes[off..off + 8].try_into().unwrap())
}

fn read_cstr(img: &StackImage, addr: u64) -> Vec<u8> {
    let off = (addr - img.sp) as usize;
    let rest = &img.bytes[off..];
    let len = rest
        .iter()
        .position(|&b| b == 0)
        .expect("unterminated string");
    rest[..len].to_vec()
}

/// Parses from `sp` upwards only, as user space does, checking the invariants on the way.
fn parse(img: &StackImage, top: u64) -> Parsed {
    assert_eq!(img.sp % 16, 0, "rsp must be 16-byte aligned");
    assert_eq!(
        img.sp + img.bytes.len() as u64,
        top,
        "last byte must sit at stack_top - 1"
    );
    assert_eq!(&img.bytes[img.bytes.len() - 8..], &[0u8; 8], "end marker");
    let argc = read_u64(img, img.sp);
    assert_eq!(argc, img.argc);
    let mut at = img.sp + 8;
    assert_eq!(at, img.argv_addr);
    let mut argv = Vec::new();
    for _ in 0..argc {
        argv.push(read_cstr(img, read_u64(img, at)));
        at += 8;
    }
    assert_eq!(read_u64(img, at), 0, "argv terminator");
    at += 8;
    assert_eq!(at, img.envp_addr);
    let mut envp = Vec::new();
    loop {
        let ptr = read_u64(img, at);
        at += 8;
        if ptr == 0 {
            break;
        }
        envp.push(read_cstr(img, ptr));
    }
    assert_eq!(at, img.auxv_addr);
    let mut auxv = Vec::new();
    loop {
        let (k, v) = (read_u64(img, at), read_u64(img, at + 8));
        at += 16;
        if k == AT_NULL {
            assert_eq!(v, 0);
            break;
        }
        auxv.push((k, v));
    }
    Parsed { argv, envp, auxv }
}

/// Checks a parsed image against its spec: strings, auxv, the pointer targets and the string
/// placement rules (argv strings then envp strings then execfn, ascending and contiguous).
fn check(spec: &StackSpec<'_>, img: &StackImage) -> Parsed {
    let p = parse(img, spec.stack_top);
    let want_argv: Vec<Vec<u8>> = if spec.argv.is_empty() {
        vec![Vec::new()]
    } else {
        spec.argv.iter().map(|s| cstr(s).to_vec()).collect()
    };
    let want_envp: Vec<Vec<u8>> = spec.envp.iter().map(|s| cstr(s).to_vec()).collect();
    assert_eq!(p.argv, want_argv);
    assert_eq!(p.envp, want_envp);

    let aux = p.aux();
    assert_eq!(aux[&AT_RANDOM], img.random_addr);
    let r = (img.random_addr - img.sp) as usize;
    assert_eq!(img.bytes[r..r + 16], spec.random);
    assert_eq!(aux[&AT_EXECFN], img.execfn_addr);
    assert_eq!(read_cstr(img, img.execfn_addr), cstr(spec.execfn));
    assert_eq!(
        img.execfn_addr + cstr(spec.execfn).len() as u64 + 1,
        spec.stack_top - 8
    );
    if cstr(spec.platform).is_empty() {
        assert!(!aux.contains_key(&AT_PLATFORM));
    } else {
        assert_eq!(aux[&AT_PLATFORM], img.platform_addr);
        assert_eq!(read_cstr(img, img.platform_addr), cstr(spec.platform));
        assert_eq!(img.random_addr + 16, img.platform_addr);
        assert_eq!(
            (img.platform_addr + cstr(spec.platform).len() as u64 + 1) % 16,
            0
        );
    }
    for &(k, v) in spec.auxv {
        if !matches!(k, AT_NULL | AT_RANDOM | AT_EXECFN | AT_PLATFORM) {
            assert_eq!(aux.get(&k), Some(&v), "{:?}", name(k));
        }
    }
    // Every auxv key occurs once.
    assert_eq!(aux.len(), p.auxv.len());

    // String placement: contiguous, argv[0] lowest, execfn on top.
    let mut at = img.arg_start;
    for i in 0..p.argv.len() as u64 {
        assert_eq!(read_u64(img, img.argv_addr + 8 * i), at);
        at += p.argv[i as usize].len() as u64 + 1;
    }
    assert_eq!(at, img.arg_end);
    assert_eq!(at, img.env_start);
    for i in 0..p.envp.len() as u64 {
        assert_eq!(read_u64(img, img.envp_addr + 8 * i), at);
        at += p.envp[i as usize].len() as u64 + 1;
    }
    assert_eq!(at, img.env_end);
    assert_eq!(at, img.execfn_addr);
    // Nothing but padding between the auxv and the random bytes, and under the argv strings.
    let auxv_end = img.auxv_addr + 16 * (p.auxv.len() as u64 + 1);
    assert!(auxv_end <= img.random_addr);
    assert!(img.random_addr - auxv_end < 16);
    p
}

/// The auxv a Linux x86-64 loader passes, minus the entries `build` adds, in Linux's order.
const LINUX_AUXV: &[(u64, u64)] = &[
    (AT_SYSINFO_EHDR, 0x7fff_f7fc_1000),
    (AT_MINSIGSTKSZ, 2048),
    (AT_HWCAP, 0x178b_fbff),
    (AT_PAGESZ, 4096),
    (AT_CLKTCK, 100),
    (AT_PHDR, 0x40_0040),
    (AT_PHENT, 56),
    (AT_PHNUM, 13),
    (AT_BASE, 0x7fff_f7fc_3000),
    (AT_FLAGS, 0),
    (AT_ENTRY, 0x40_1020),
    (AT_UID, 1000),
    (AT_EUID, 1000),
    (AT_GID, 100),
    (AT_EGID, 100),
    (AT_SECURE, 0),
    (AT_HWCAP2, 2),
    (AT_RSEQ_FEATURE_SIZE, 28),
    (AT_RSEQ_ALIGN, 32),
];

fn spec<'a>(argv: &'a [&'a [u8]], envp: &'a [&'a [u8]], auxv: &'a [(u64, u64)]) -> StackSpec<'a> {
    StackSpec {
        stack_top: TOP,
        argv,
        envp,
        execfn: b"/bin/prog",
        platform: b"x86_64",
        random: *b"0123456789abcdef",
        auxv,
    }
}

#[test]
fn round_trip_typical() {
    let argv: &[&[u8]] = &[b"/bin/prog", b"-l", b"some file"];
    let envp: &[&[u8]] = &[b"HOME=/root", b"PATH=/bin:/usr/bin", b"TERM=vt100"];
    let s = spec(argv, envp, LINUX_AUXV);
    let img = build(&s).unwrap();
    let p = check(&s, &img);
    assert_eq!(p.argv.len(), 3);
    assert_eq!(p.aux()[&AT_PAGESZ], 4096);
}

#[test]
fn auxv_order_matches_linux() {
    let img = build(&spec(&[b"a"], &[], LINUX_AUXV)).unwrap();
    let keys: Vec<u64> = parse(&img, TOP).auxv.iter().map(|e| e.0).collect();
    assert_eq!(
        keys,
        [
            AT_SYSINFO_EHDR,
            AT_MINSIGSTKSZ,
            AT_HWCAP,
            AT_PAGESZ,
            AT_CLKTCK,
            AT_PHDR,
            AT_PHENT,
            AT_PHNUM,
            AT_BASE,
            AT_FLAGS,
            AT_ENTRY,
            AT_UID,
            AT_EUID,
            AT_GID,
            AT_EGID,
            AT_SECURE,
            AT_RANDOM,
            AT_HWCAP2,
            AT_EXECFN,
            AT_PLATFORM,
            AT_RSEQ_FEATURE_SIZE,
            AT_RSEQ_ALIGN,
        ]
    );
    // Without AT_SECURE the added entries go last, RANDOM first.
    let img = build(&spec(&[b"a"], &[], &[(AT_PAGESZ, 4096)])).unwrap();
    let keys: Vec<u64> = parse(&img, TOP).auxv.iter().map(|e| e.0).collect();
    assert_eq!(keys, [AT_PAGESZ, AT_RANDOM, AT_EXECFN, AT_PLATFORM]);
}

#[test]
fn caller_supplied_reserved_entries_are_dropped() {
    let auxv = [
        (AT_PAGESZ, 4096),
        (AT_NULL, 0),
        (AT_RANDOM, 1),
        (AT_EXECFN, 2),
        (AT_PLATFORM, 3),
        (AT_UID, 7),
    ];
    let s = spec(&[b"x"], &[], &auxv);
    let img = build(&s).unwrap();
    let p = check(&s, &img);
    assert_eq!(p.auxv.len(), 5);
    assert_eq!(p.aux()[&AT_UID], 7);
}

#[test]
fn alignment_for_small_argc_and_many_lengths() {
    let long = [b'a'; 100];
    for argc in 0..=5 {
        for envc in 0..=4 {
            for len in 0..=33 {
                for plat in [&b""[..], b"x86_64", b"i686"] {
                    for auxn in [0, 1, 2, LINUX_AUXV.len()] {
                        let argv: Vec<&[u8]> =
                            (0..argc).map(|i| &long[..(len + i) % 100]).collect();
                        let envp: Vec<&[u8]> =
                            (0..envc).map(|i| &long[..(len * 3 + i) % 100]).collect();
                        let mut s = spec(&argv, &envp, &LINUX_AUXV[..auxn]);
                        s.platform = plat;
                        s.execfn = &long[..len];
                        for top in [TOP, TOP - 8, TOP - 1, TOP - 15] {
                            s.stack_top = top;
                            let img = build(&s).unwrap();
                            let p = check(&s, &img);
                            assert_eq!(p.argv.len(), argc.max(1));
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn empty_argv_becomes_single_empty_string() {
    let s = spec(&[], &[b"A=1"], LINUX_AUXV);
    let img = build(&s).unwrap();
    assert_eq!(img.argc, 1);
    let p = check(&s, &img);
    assert_eq!(p.argv, vec![Vec::<u8>::new()]);
    assert_eq!(img.arg_end - img.arg_start, 1);
}

#[test]
fn strings_are_cut_at_nul() {
    let s = StackSpec {
        execfn: b"/bin/x\0junk",
        platform: b"x86_64\0y",
        ..spec(&[b"ab\0cd"], &[b"K=v\0w"], &[])
    };
    let img = build(&s).unwrap();
    let p = check(&s, &img);
    assert_eq!(p.argv, vec![b"ab".to_vec()]);
    assert_eq!(p.envp, vec![b"K=v".to_vec()]);
    assert_eq!(read_cstr(&img, img.execfn_addr), b"/bin/x");
}

#[test]
fn single_string_limit() {
    let big = vec![b'x'; 200 * 1024];
    assert_eq!(build(&spec(&[&big], &[], &[])), Err(Errno::E2BIG));
    assert_eq!(build(&spec(&[b"a"], &[&big], &[])), Err(Errno::E2BIG));
    let s = StackSpec {
        execfn: &big,
        ..spec(&[b"a"], &[], &[])
    };
    assert_eq!(build(&s), Err(Errno::E2BIG));
    // MAX_ARG_STRLEN counts the NUL.
    let edge = vec![b'y'; MAX_ARG_STRLEN - 1];
    let one: &[&[u8]] = &[&edge];
    let s = spec(one, one, &[]);
    check(&s, &build(&s).unwrap());
    let over = vec![b'y'; MAX_ARG_STRLEN];
    assert_eq!(build(&spec(&[&over], &[], &[])), Err(Errno::E2BIG));
}

#[test]
fn total_limit() {
    // 3 MiB in 100 KiB strings.
    let chunk = vec![b'z'; 100 * 1024];
    let many: Vec<&[u8]> = (0..30).map(|_| &chunk[..]).collect();
    assert_eq!(build(&spec(&many, &[], &[])), Err(Errno::E2BIG));
    assert_eq!(build(&spec(&[b"a"], &many, &[])), Err(Errno::E2BIG));

    // Exactly at the limit: strings + 8 * (argc + envc) == ARG_MAX.
    let argc = 20;
    let execfn: &[u8] = b"/bin/prog";
    let budget = ARG_MAX - 8 * argc - (execfn.len() + 1);
    let per = budget / argc; // bytes per string incl. NUL
    let strs: Vec<Vec<u8>> = (0..argc)
        .map(|i| vec![b'q'; per - 1 + usize::from(i < budget % argc)])
        .collect();
    let argv: Vec<&[u8]> = strs.iter().map(|s| &s[..]).collect();
    let s = spec(&argv, &[], &[]);
    let img = build(&s).unwrap();
    check(&s, &img);
    assert!(img.bytes.len() > ARG_MAX - 8 * argc);
    // One byte more is too much.
    let mut strs = strs;
    strs[0].push(b'q');
    let argv: Vec<&[u8]> = strs.iter().map(|s| &s[..]).collect();
    assert_eq!(build(&spec(&argv, &[], &[])), Err(Errno::E2BIG));

    // Pointers alone can exhaust the limit.
    let empties: Vec<&[u8]> = vec![b""; ARG_MAX / 8];
    assert_eq!(build(&spec(&empties, &[], &[])), Err(Errno::E2BIG));
}

#[test]
fn does_not_fit_below_stack_top() {
    for top in [0, 1, 8, 16, 100, 400] {
        let s = StackSpec {
            stack_top: top,
            ..spec(&[b"a"], &[b"B=c"], LINUX_AUXV)
        };
        assert_eq!(build(&s), Err(Errno::EFAULT), "{top}");
    }
    let s = StackSpec {
        stack_top: u64::MAX,
        ..spec(&[b"a"], &[b"B=c"], LINUX_AUXV)
    };
    check(&s, &build(&s).unwrap());
}

fn bytes_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(1u8..=255, 0..40),
        1 => proptest::collection::vec(any::<u8>(), 0..300),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn round_trip(
        argv in proptest::collection::vec(bytes_strategy(), 0..12),
        envp in proptest::collection::vec(bytes_strategy(), 0..12),
        execfn in bytes_strategy(),
        platform in bytes_strategy(),
        random in any::<[u8; 16]>(),
        auxn in 0..=LINUX_AUXV.len(),
        top_off in 0u64..4096,
    ) {
        let argv: Vec<&[u8]> = argv.iter().map(|s| &s[..]).collect();
        let envp: Vec<&[u8]> = envp.iter().map(|s| &s[..]).collect();
        let s = StackSpec {
            stack_top: TOP - top_off,
            argv: &argv,
            envp: &envp,
            execfn: &execfn,
            platform: &platform,
            random,
            auxv: &LINUX_AUXV[..auxn],
        };
        let img = build(&s).unwrap();
        check(&s, &img);
    }

    #[test]
    fn never_panics(
        argv in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..6),
        top in any::<u64>(),
        auxv in proptest::collection::vec(any::<(u64, u64)>(), 0..8),
    ) {
        let argv: Vec<&[u8]> = argv.iter().map(|s| &s[..]).collect();
        let s = StackSpec { stack_top: top, auxv: &auxv, ..spec(&argv, &argv, &[]) };
        if let Ok(img) = build(&s) {
            prop_assert_eq!(img.sp % 16, 0);
            prop_assert_eq!(img.sp + img.bytes.len() as u64, top);
        }
    }
}
