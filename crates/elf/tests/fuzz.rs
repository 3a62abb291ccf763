//! Fuzzing `parse` and `parse_head` (see the `fuzz` crate): the corpus in `fuzz/corpus/parse/`
//! (tiny gcc-built executables from `fuzz/start.c`, edge cases, past failures) and the
//! hand-built images below are replayed, then mutated. Beyond "never panics", every input
//! checks:
//! - an accepted image keeps every promise of the crate documentation for the file length it
//!   was checked against (segments sorted, disjoint, inside the file and below `USER_TOP`,
//!   entry in code, `PT_INTERP` a NUL-terminated path inside the file, `PT_TLS` sane);
//! - `parse_head` on a prefix agrees with `parse` on the whole: it never accepts what the whole
//!   rejects, gives the same `Executable` when it accepts, and accepts whenever the prefix
//!   holds the headers and the `PT_INTERP` segment;
//! - a longer file never turns acceptance into rejection, and bytes past the head do not
//!   matter (`parse_head(head, n)` equals `parse` of the head padded to `n` bytes);
//! - `load_bias` gives a bias whose plan exists, and `try_map_steps` exists exactly when the
//!   bias keeps the image inside `[0, USER_TOP)`; a plan's steps are page aligned, inside the
//!   image and the user address space, cover every segment and read only from the file.

#[allow(dead_code)]
#[path = "elf/builder.rs"]
mod builder;

use builder::*;
use elf::{
    ElfError, Executable, Kind, MAX_DYN_SPAN, MAX_INTERP_LEN, MAX_PHNUM, MapStep, PAGE_SIZE,
    USER_TOP, parse, parse_head,
};

fn page_down(x: u64) -> u64 {
    x & !(PAGE_SIZE - 1)
}

fn page_up(x: u64) -> Option<u64> {
    x.checked_add(PAGE_SIZE - 1).map(page_down)
}

/// Bytes a head must hold for `parse_head` to accept what `parse` accepted: the ELF header,
/// the program header table and the whole `PT_INTERP` segment (its NUL is its last byte; the
/// path may end earlier), found in the raw program headers of `data`.
fn needed(e: &Executable, data: &[u8]) -> u64 {
    let table = e.phoff + u64::from(e.phnum) * 56;
    let interp = (0..u64::from(e.phnum))
        .map(|i| (e.phoff + i * 56) as usize)
        .filter(|&at| data[at..at + 4] == 3u32.to_le_bytes())
        .map(|at| {
            let word = |o: usize| u64::from_le_bytes(data[at + o..at + o + 8].try_into().unwrap());
            word(8) + word(32)
        })
        .max()
        .unwrap_or(0);
    table.max(interp).max(64)
}

/// The promises of an accepted image checked against a file of `file_len` bytes whose first
/// bytes are `data`.
fn check_accepted(e: &Executable, data: &[u8], file_len: u64) {
    assert_eq!(e.phentsize, 56);
    assert!((1..=MAX_PHNUM).contains(&e.phnum), "phnum {}", e.phnum);
    let table_end = e.phoff.checked_add(u64::from(e.phnum) * 56);
    assert!(
        table_end.is_some_and(|t| t <= file_len),
        "table outside the file"
    );
    let (first, last) = (
        e.segments.first().expect("no segments"),
        e.segments.last().expect("no segments"),
    );
    for s in &e.segments {
        assert!(s.memsz > 0 && s.filesz <= s.memsz, "{s:?}");
        let end = s.vaddr.checked_add(s.memsz).expect("segment end overflows");
        assert!(page_up(end).is_some(), "{s:?}");
        if s.filesz > 0 {
            let fend = s.offset.checked_add(s.filesz).expect("file end overflows");
            assert!(fend <= file_len, "{s:?} outside a {file_len}-byte file");
            assert_eq!(s.vaddr % PAGE_SIZE, s.offset % PAGE_SIZE, "{s:?}");
        }
        if e.kind == Kind::Exec {
            assert!(end <= USER_TOP, "{s:?}");
        }
    }
    for w in e.segments.windows(2) {
        assert!(w[0].vaddr + w[0].memsz <= w[1].vaddr, "{w:?}");
    }
    assert_eq!(e.min_vaddr, page_down(first.vaddr));
    assert_eq!(Some(e.max_vaddr), page_up(last.vaddr + last.memsz));
    assert!(e.min_vaddr < e.max_vaddr);
    match e.kind {
        Kind::Exec => assert!(e.max_vaddr <= USER_TOP),
        Kind::Dyn => assert!(e.max_vaddr - e.min_vaddr <= MAX_DYN_SPAN),
    }
    assert!(
        e.segments
            .iter()
            .any(|s| s.prot.exec && s.vaddr <= e.entry && e.entry - s.vaddr < s.memsz),
        "entry {:#x} outside code",
        e.entry
    );
    if let Some((off, len)) = e.interp {
        assert!((1..MAX_INTERP_LEN).contains(&len), "interp length {len}");
        let end = off.checked_add(len + 1).expect("interp end overflows");
        assert!(end <= file_len);
        let path = e.interp_path(data).expect("interp inside the parsed bytes");
        assert_eq!(path.len() as u64, len);
        assert!(!path.contains(&0));
        assert_eq!(data[end as usize - 1], 0, "interp not NUL-terminated");
    }
    if let Some(t) = &e.tls {
        assert!(t.filesz <= t.memsz, "{t:?}");
        assert!(t.vaddr.checked_add(t.memsz).is_some(), "{t:?}");
        assert!(
            t.filesz == 0
                || t.offset
                    .checked_add(t.filesz)
                    .is_some_and(|x| x <= file_len)
        );
        assert!(t.align == 0 || t.align.is_power_of_two(), "{t:?}");
    }
    let spice = fuzz::hash64(data);
    for base in [
        0,
        PAGE_SIZE,
        0x5555_5555_4000,
        0x7fff_f7dd_0000,
        USER_TOP,
        u64::MAX,
        e.min_vaddr,
        spice,
        spice & 0x0000_7fff_ffff_f000,
    ] {
        let Some(bias) = e.load_bias(base) else {
            continue;
        };
        match e.kind {
            Kind::Exec => assert_eq!(bias, 0),
            Kind::Dyn => {
                let start = e.min_vaddr.wrapping_add(bias);
                assert!(start != 0 && start <= base, "base {base:#x} bias {bias:#x}");
                assert_eq!(start % e.max_align(), 0);
            }
        }
        let steps = e
            .try_map_steps(bias)
            .expect("a bias from load_bias has a plan");
        check_plan(e, bias, &steps, file_len);
    }
    for bias in [
        0,
        1,
        PAGE_SIZE,
        0u64.wrapping_sub(PAGE_SIZE),
        0u64.wrapping_sub(e.min_vaddr),
        0x5555_5555_4000,
        USER_TOP,
        USER_TOP - e.max_vaddr.wrapping_sub(e.min_vaddr),
        spice,
        page_down(spice),
        page_down(spice) & 0x0000_7fff_ffff_ffff,
    ] {
        let start = e.min_vaddr.wrapping_add(bias);
        let want = bias % PAGE_SIZE == 0
            && start
                .checked_add(e.max_vaddr - e.min_vaddr)
                .is_some_and(|end| end <= USER_TOP);
        match e.try_map_steps(bias) {
            Some(steps) => {
                assert!(
                    want,
                    "a plan for bias {bias:#x} leaves the user address space"
                );
                check_plan(e, bias, &steps, file_len);
                assert_eq!(e.map_steps(bias), steps);
            }
            None => {
                assert!(!want, "no plan for the fitting bias {bias:#x}");
                assert!(e.map_steps(bias).is_empty());
            }
        }
    }
}

/// A plan's steps: aligned, inside the image and user space, covering each segment with its
/// protection, reading from the file only within its last page.
fn check_plan(e: &Executable, bias: u64, steps: &[MapStep], file_len: u64) {
    let lo = e.min_vaddr.wrapping_add(bias);
    let hi = lo + (e.max_vaddr - e.min_vaddr);
    for s in steps {
        assert!(s.start % PAGE_SIZE == 0 && s.end % PAGE_SIZE == 0, "{s:?}");
        assert!(s.start < s.end && s.end <= USER_TOP, "{s:?}");
        assert!(
            lo <= s.start && s.end <= hi,
            "{s:?} outside [{lo:#x}, {hi:#x})"
        );
        if let Some(z) = s.zero_from {
            assert!(s.start <= z && z < s.end, "{s:?}");
            assert!(s.file_offset.is_some(), "{s:?}");
        }
        if let Some(off) = s.file_offset {
            assert_eq!(off % PAGE_SIZE, 0, "{s:?}");
            // In 128 bits: a file may be up to 2^64 - 1 bytes long.
            let file_end = u128::from(off) + u128::from(s.end - s.start);
            let last_page = u128::from(file_len).div_ceil(4096) * 4096;
            assert!(
                file_end <= last_page,
                "{s:?} reads past the last page of a {file_len}-byte file"
            );
        }
    }
    for w in steps.windows(2) {
        // In file order, two steps share at most one boundary page.
        assert!(w[1].start + PAGE_SIZE >= w[0].end, "{w:?}");
    }
    for seg in &e.segments {
        let from = page_down(seg.vaddr.wrapping_add(bias));
        let to = page_up(seg.vaddr.wrapping_add(bias) + seg.memsz).unwrap();
        let mut at = from;
        let mut mine: Vec<&MapStep> = steps.iter().filter(|s| s.prot == seg.prot).collect();
        mine.sort_by_key(|s| s.start);
        for s in mine {
            if s.start <= at && at < s.end {
                at = s.end;
            }
        }
        assert!(at >= to, "{seg:?} not covered by {steps:?}");
    }
}

/// The header fields `parse_head` needs, read leniently, to choose interesting cut points.
fn table_end(data: &[u8]) -> Option<u64> {
    let phoff = u64::from_le_bytes(data.get(0x20..0x28)?.try_into().ok()?);
    let phnum = u16::from_le_bytes(data.get(0x38..0x3a)?.try_into().ok()?);
    phoff.checked_add(u64::from(phnum) * 56)
}

fn check(data: &[u8], cov: &mut fuzz::Cov) {
    let len = data.len() as u64;
    let whole = parse(data);
    cov.hit_debug(&(
        "parse",
        whole
            .as_ref()
            .map(|e| {
                (
                    e.kind,
                    e.segments.len().min(6),
                    e.interp.is_some(),
                    e.tls.is_some(),
                    e.phdr_vaddr.is_some(),
                    e.stack_exec,
                )
            })
            .map_err(|e| *e),
    ));
    if let Ok(e) = &whole {
        check_accepted(e, data, len);
    }
    assert_eq!(parse_head(data, len), whole);
    if len > 0 {
        assert_eq!(parse_head(data, len - 1), Err(ElfError::BadPhdrs));
    }

    // Prefixes against the whole file.
    let mut cuts = vec![0, 63, 64, 120, 4096, len / 2, len.saturating_sub(1)];
    cuts.extend(table_end(data));
    cuts.push(fuzz::hash64(data) % (len + 1));
    if let Ok(e) = &whole {
        cuts.extend([needed(e, data), needed(e, data) - 1]);
    }
    cuts.sort_unstable();
    cuts.dedup();
    for cut in cuts.into_iter().filter(|&c| c < len) {
        let head = &data[..cut as usize];
        match (parse_head(head, len), &whole) {
            (Ok(h), Ok(e)) => {
                assert_eq!(&h, e, "parse_head on {cut} bytes differs from parse");
                cov.hit("head ok");
            }
            (Ok(h), Err(err)) => {
                panic!("parse_head on {cut} bytes accepted {h:?}, parse rejected: {err:?}")
            }
            (Err(err), Ok(e)) => {
                assert!(
                    cut < needed(e, data),
                    "parse_head rejected a {cut}-byte head holding all it needs: {err:?}"
                );
                cov.hit_debug(&("head short", err));
            }
            (Err(err), Err(_)) => cov.hit_debug(&("head err", err)),
        }
    }

    // The same bytes as the head of a longer file.
    for (i, extra) in [1u64, PAGE_SIZE - 1, 1 << 16, 1 << 40, u64::MAX - len]
        .into_iter()
        .enumerate()
    {
        let file_len = len + extra;
        let r = parse_head(data, file_len);
        if let Ok(e) = &whole {
            assert_eq!(r.as_ref(), Ok(e), "a longer file changed the result");
        }
        if let Ok(h) = &r {
            check_accepted(h, data, file_len);
            if extra <= 1 << 16 {
                let mut padded = data.to_vec();
                padded.resize(file_len as usize, 0);
                assert_eq!(
                    parse(&padded).as_ref(),
                    Ok(h),
                    "bytes past the head mattered"
                );
            }
        }
        cov.hit_debug(&("longer", i, r.map(|e| e.segments.len().min(6))));
    }
}

/// Hand-built images: valid ones of each shape, and boundary cases of the limits.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let interp = b"/lib/ld.so\0";
    let full = Image::exec()
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
        .push(Ph::other(PT_GNU_STACK, R | W | X, 0, 0, 0))
        .patch(0x900, interp);
    let mut many = Image::exec();
    many.phdrs = vec![Ph::load(R | X, 0, TEXT_VADDR, 0x1000, 0x1000)];
    many.phdrs
        .extend((1..MAX_PHNUM).map(|_| Ph::other(PT_NULL, 0, 0, 0, 0)));
    many.size = 64 + 56 * MAX_PHNUM as usize;
    let top = Image::exec().with(|i| {
        i.phdrs = vec![Ph::load(R | X, 0, USER_TOP - 0x2000, 0x1000, 0x2000)];
        i.entry = USER_TOP - 0x2000;
    });
    let dyn_span = Image::dyn_().with(|i| {
        i.phdrs[1] = Ph::load(R | W, 0x1000, MAX_DYN_SPAN - 0x1000, 0x800, 0x1000);
    });
    let max_interp = vec![b'/'; MAX_INTERP_LEN as usize - 1];
    let long_interp = Image::exec()
        .with(|i| i.size = 0x2000)
        .push(Ph::other(PT_INTERP, R, 0x1000, 0, MAX_INTERP_LEN))
        .patch(0x1000, &max_interp);
    let bss_only = Image::exec().with(|i| i.phdrs[1] = Ph::load(R | W, 0, DATA_VADDR, 0, 0x5000));
    let unordered = Image::exec().with(|i| i.phdrs.swap(0, 1));
    vec![
        ("exec", Image::exec().build()),
        ("dyn", Image::dyn_().build()),
        ("full", full.build()),
        ("512 phdrs", many.build()),
        ("at USER_TOP", top.build()),
        ("dyn span at the limit", dyn_span.build()),
        ("interp of 4096 bytes", long_interp.build()),
        ("bss only", bss_only.build()),
        ("unordered", unordered.build()),
        ("header only", Image::exec().build()[..64].to_vec()),
    ]
}

#[test]
fn fuzz_parse() {
    let mut t = fuzz::target("parse", env!("CARGO_MANIFEST_DIR"))
        .max_len(1 << 16)
        .iterations(40_000)
        .dict([
            &b"\x7fELF\x02\x01\x01\x00"[..],
            &[2, 0],
            &[3, 0],
            &[62, 0],
            &[56, 0],
            &1u32.to_le_bytes(),
            &3u32.to_le_bytes(),
            &6u32.to_le_bytes(),
            &7u32.to_le_bytes(),
            &0x6474_e551u32.to_le_bytes(),
            &[5, 0, 0, 0],
            &[7, 0, 0, 0],
            &0x1000u64.to_le_bytes(),
            &USER_TOP.to_le_bytes(),
            &MAX_DYN_SPAN.to_le_bytes(),
            b"/lib64/ld-linux-x86-64.so.2\0",
        ]);
    for (name, data) in seeds() {
        t = t.seed(name, data);
    }
    t.run(check);
}

/// The committed corpus keeps its valid executables valid.
#[test]
fn corpus_executables_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse");
    let mut n = 0;
    for f in std::fs::read_dir(&dir).unwrap() {
        let path = f.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("gcc-") {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        let e = parse(&data).unwrap_or_else(|err| panic!("{name}: {err:?}"));
        assert!(e.tls.is_some(), "{name}: the TLS template went missing");
        assert_eq!(e.interp.is_some(), name.contains("interp"), "{name}");
        assert_eq!(e.stack_exec, name.contains("execstack"), "{name}");
        n += 1;
    }
    assert!(
        n >= 6,
        "gcc-built corpus files missing from {}",
        dir.display()
    );
}
