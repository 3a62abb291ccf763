//! Valid images: header fields, PT_PHDR, PT_INTERP, PT_TLS, PT_GNU_STACK,
//! load bias and map steps.

use crate::builder::*;
use elf::{ElfError, Executable, Kind, MapStep, PAGE_SIZE, Prot, Segment, USER_TOP, parse};

const RX: Prot = Prot {
    read: true,
    write: false,
    exec: true,
};
const RW: Prot = Prot {
    read: true,
    write: true,
    exec: false,
};

fn ok(img: &Image) -> Executable {
    parse(&img.build()).expect("image should parse")
}

#[test]
fn minimal_exec() {
    let e = ok(&Image::exec());
    assert_eq!(e.kind, Kind::Exec);
    assert_eq!(e.entry, TEXT_VADDR + 0x100);
    assert_eq!(
        e.segments,
        vec![
            Segment {
                vaddr: TEXT_VADDR,
                memsz: 0x1000,
                offset: 0,
                filesz: 0x1000,
                prot: RX,
                align: 0x1000
            },
            Segment {
                vaddr: DATA_VADDR,
                memsz: 0x800,
                offset: 0x1000,
                filesz: 0x800,
                prot: RW,
                align: 0x1000
            },
        ]
    );
    assert_eq!((e.phoff, e.phentsize, e.phnum), (64, 56, 2));
    // No PT_PHDR: computed from the text segment, which maps offset 0.
    assert_eq!(e.phdr_vaddr, Some(TEXT_VADDR + 64));
    assert_eq!(e.interp, None);
    assert_eq!(e.tls, None);
    assert!(!e.stack_exec);
    assert_eq!(e.min_vaddr, TEXT_VADDR);
    assert_eq!(e.max_vaddr, DATA_VADDR + 0x1000);
    assert_eq!(e.load_bias(0x5555_5555_4000), Some(0));
    assert_eq!(
        e.map_steps(0),
        vec![
            MapStep {
                start: TEXT_VADDR,
                end: TEXT_VADDR + 0x1000,
                file_offset: Some(0),
                prot: RX,
                zero_from: None
            },
            // memsz == filesz: no zeroing of the rest of the page (Linux-like).
            MapStep {
                start: DATA_VADDR,
                end: DATA_VADDR + 0x1000,
                file_offset: Some(0x1000),
                prot: RW,
                zero_from: None
            },
        ]
    );
}

#[test]
fn minimal_dyn() {
    let e = ok(&Image::dyn_());
    assert_eq!(e.kind, Kind::Dyn);
    assert_eq!(e.entry, 0x100);
    assert_eq!(e.phdr_vaddr, Some(64));
    assert_eq!((e.min_vaddr, e.max_vaddr), (0, 0x3000));
    let base = 0x5555_5555_4000;
    let bias = e.load_bias(base).unwrap();
    assert_eq!(bias, base);
    assert_eq!(
        e.map_steps(bias),
        vec![
            MapStep {
                start: base,
                end: base + 0x1000,
                file_offset: Some(0),
                prot: RX,
                zero_from: None
            },
            MapStep {
                start: base + 0x1000,
                end: base + 0x2000,
                file_offset: Some(0x1000),
                prot: RW,
                zero_from: Some(base + 0x1800)
            },
            MapStep {
                start: base + 0x2000,
                end: base + 0x3000,
                file_offset: None,
                prot: RW,
                zero_from: None
            },
        ]
    );
}

#[test]
fn single_segment_exec_with_one_phdr() {
    let img = Image::exec().with(|i| i.phdrs.truncate(1));
    let e = ok(&img);
    assert_eq!(e.segments.len(), 1);
    assert_eq!(e.max_vaddr, TEXT_VADDR + 0x1000);
}

#[test]
fn pt_phdr_present_wins() {
    let img = Image::exec().push(Ph::other(PT_PHDR, R, 64, 0x40_0abc, 3 * 56));
    assert_eq!(ok(&img).phdr_vaddr, Some(0x40_0abc));
}

#[test]
fn pt_phdr_absent_and_table_not_loaded() {
    // Program headers at 0x2000, past the data segment's file range.
    let img = Image::exec().with(|i| i.phoff = 0x2000);
    assert_eq!(ok(&img).phdr_vaddr, None);
    // Table straddling the end of the text segment's file range: not loaded.
    let img = Image::exec().with(|i| i.phoff = 0x1000 - 56);
    assert_eq!(ok(&img).phdr_vaddr, None);
    // Table inside the data segment's file range.
    let img = Image::exec().with(|i| i.phoff = 0x1100);
    assert_eq!(ok(&img).phdr_vaddr, Some(DATA_VADDR + 0x100));
}

#[test]
fn duplicate_pt_phdr_rejected() {
    let img = Image::exec()
        .push(Ph::other(PT_PHDR, R, 64, 0x40_0040, 56))
        .push(Ph::other(PT_PHDR, R, 64, 0x40_0040, 56));
    assert_eq!(parse(&img.build()), Err(ElfError::BadPhdrs));
}

const LDSO: &[u8] = b"/lib64/ld-linux-x86-64.so.2\0";

#[test]
fn pt_interp_reported() {
    let img = Image::exec()
        .push(Ph::other(
            PT_INTERP,
            R,
            0x800,
            TEXT_VADDR + 0x800,
            LDSO.len() as u64,
        ))
        .patch(0x800, LDSO);
    let data = img.build();
    let e = parse(&data).unwrap();
    assert_eq!(e.interp, Some((0x800, LDSO.len() as u64 - 1)));
    assert_eq!(e.interp_path(&data), Some(&LDSO[..LDSO.len() - 1]));
    assert_eq!(e.interp_path(&data[..0x810]), None);
}

#[test]
fn pt_interp_limits() {
    // Two bytes ("a\0") is the shortest accepted.
    let img = Image::exec()
        .push(Ph::other(PT_INTERP, R, 0x800, 0, 2))
        .patch(0x800, b"a\0");
    let data = img.build();
    let e = parse(&data).unwrap();
    assert_eq!(e.interp_path(&data), Some(&b"a"[..]));
    // 4096 bytes including the NUL is the longest accepted.
    let mut path = vec![b'x'; 4095];
    path.push(0);
    let img = Image::exec()
        .push(Ph::other(PT_INTERP, R, 0x1000, 0, 4096))
        .patch(0x1000, &path);
    let data = img.build();
    let e = parse(&data).unwrap();
    assert_eq!(e.interp_path(&data).map(<[u8]>::len), Some(4095));
    // An interior NUL ends the path, like the C string Linux uses.
    let img = Image::exec()
        .push(Ph::other(PT_INTERP, R, 0x800, 0, 6))
        .patch(0x800, b"/ab\0c\0");
    let data = img.build();
    assert_eq!(parse(&data).unwrap().interp_path(&data), Some(&b"/ab"[..]));
}

#[test]
fn pt_tls_reported() {
    let img = Image::exec().push(Ph {
        p_type: PT_TLS,
        flags: R,
        offset: 0x1100,
        vaddr: DATA_VADDR + 0x100,
        filesz: 0x10,
        memsz: 0x40,
        align: 16,
    });
    let e = ok(&img);
    assert_eq!(
        e.tls,
        Some(Segment {
            vaddr: DATA_VADDR + 0x100,
            memsz: 0x40,
            offset: 0x1100,
            filesz: 0x10,
            prot: Prot {
                read: true,
                write: false,
                exec: false
            },
            align: 16
        })
    );
}

#[test]
fn pt_tls_invalid() {
    let tls = Ph {
        p_type: PT_TLS,
        flags: R,
        offset: 0x1100,
        vaddr: DATA_VADDR + 0x100,
        filesz: 0x10,
        memsz: 0x40,
        align: 16,
    };
    let bad = |ph: Ph| parse(&Image::exec().push(ph).build());
    assert_eq!(
        bad(Ph {
            filesz: 0x50,
            ..tls
        }),
        Err(ElfError::BadSegment)
    );
    assert_eq!(bad(Ph { align: 24, ..tls }), Err(ElfError::BadSegment));
    assert_eq!(
        bad(Ph {
            offset: 0x2ff8,
            ..tls
        }),
        Err(ElfError::BadSegment)
    );
    assert_eq!(
        bad(Ph {
            vaddr: u64::MAX - 8,
            ..tls
        }),
        Err(ElfError::BadSegment)
    );
    let twice = Image::exec().push(tls).push(tls);
    assert_eq!(parse(&twice.build()), Err(ElfError::BadSegment));
}

#[test]
fn pt_gnu_stack() {
    assert!(!ok(&Image::exec()).stack_exec);
    let stack = |flags| Image::exec().push(Ph::other(PT_GNU_STACK, flags, 0, 0, 0));
    assert!(!ok(&stack(R | W)).stack_exec);
    assert!(ok(&stack(R | W | X)).stack_exec);
}

#[test]
fn other_headers_ignored() {
    let img = Image::exec()
        .push(Ph::other(PT_NOTE, R, 0x200, TEXT_VADDR + 0x200, 0x20))
        .push(Ph::other(PT_NULL, 0, u64::MAX, u64::MAX, u64::MAX))
        .push(Ph::other(0x6fff_ffff, 0, u64::MAX, u64::MAX, u64::MAX));
    assert_eq!(ok(&img).segments.len(), 2);
}

#[test]
fn empty_load_segments_skipped() {
    // memsz 0 (even at a silly address and offset) is skipped.
    let img = Image::exec().with(|i| i.phdrs.insert(1, Ph::load(R, u64::MAX, 0x10, 0, 0)));
    assert_eq!(ok(&img).segments.len(), 2);
}

#[test]
fn bss_map_steps() {
    // Data: file bytes [0x1100, 0x1900) at 0x401100, memsz 0x3000.
    let img = Image::exec()
        .with(|i| i.phdrs[1] = Ph::load(R | W, 0x1100, DATA_VADDR + 0x100, 0x800, 0x3000));
    let e = ok(&img);
    assert_eq!(e.max_vaddr, DATA_VADDR + 0x4000);
    let steps = e.map_steps(0);
    assert_eq!(
        steps[1..],
        [
            MapStep {
                start: DATA_VADDR,
                end: DATA_VADDR + 0x1000,
                file_offset: Some(0x1000),
                prot: RW,
                zero_from: Some(DATA_VADDR + 0x900)
            },
            MapStep {
                start: DATA_VADDR + 0x1000,
                end: DATA_VADDR + 0x4000,
                file_offset: None,
                prot: RW,
                zero_from: None
            },
        ]
    );
}

#[test]
fn bss_in_same_page_only() {
    // memsz ends in the same page as filesz: one file step with zero_from.
    let img =
        Image::exec().with(|i| i.phdrs[1] = Ph::load(R | W, 0x1000, DATA_VADDR, 0x800, 0x900));
    let steps = ok(&img).map_steps(0);
    assert_eq!(
        steps[1..],
        [MapStep {
            start: DATA_VADDR,
            end: DATA_VADDR + 0x1000,
            file_offset: Some(0x1000),
            prot: RW,
            zero_from: Some(DATA_VADDR + 0x800)
        }]
    );
}

#[test]
fn bss_file_part_page_aligned() {
    // File part ends exactly on a page: nothing to zero in the file page.
    let img =
        Image::exec().with(|i| i.phdrs[1] = Ph::load(R | W, 0x1000, DATA_VADDR, 0x1000, 0x1800));
    let steps = ok(&img).map_steps(0);
    assert_eq!(
        steps[1..],
        [
            MapStep {
                start: DATA_VADDR,
                end: DATA_VADDR + 0x1000,
                file_offset: Some(0x1000),
                prot: RW,
                zero_from: None
            },
            MapStep {
                start: DATA_VADDR + 0x1000,
                end: DATA_VADDR + 0x2000,
                file_offset: None,
                prot: RW,
                zero_from: None
            },
        ]
    );
}

#[test]
fn bss_only_segment() {
    // filesz 0: anonymous from the segment's first page; offset is ignored.
    let img = Image::exec().push(Ph::load(R | W, 0x1234_5678, 0x50_0010, 0, 0x2000));
    let e = ok(&img);
    let steps = e.map_steps(0);
    assert_eq!(
        steps.last(),
        Some(&MapStep {
            start: 0x50_0000,
            end: 0x50_3000,
            file_offset: None,
            prot: RW,
            zero_from: None
        })
    );
    assert_eq!(e.max_vaddr, 0x50_3000);
}

#[test]
fn shared_boundary_page_allowed() {
    // Text ends at 0x400900, data starts there: both touch page 0x400000.
    let img = Image::exec().with(|i| {
        i.phdrs = vec![
            Ph::load(R | X, 0, TEXT_VADDR, 0x900, 0x900),
            Ph::load(R | W, 0x900, TEXT_VADDR + 0x900, 0x100, 0x1000),
        ];
    });
    let e = ok(&img);
    assert_eq!(
        (e.min_vaddr, e.max_vaddr),
        (TEXT_VADDR, TEXT_VADDR + 0x2000)
    );
    assert_eq!(
        e.map_steps(0),
        vec![
            MapStep {
                start: TEXT_VADDR,
                end: TEXT_VADDR + 0x1000,
                file_offset: Some(0),
                prot: RX,
                zero_from: None
            },
            MapStep {
                start: TEXT_VADDR,
                end: TEXT_VADDR + 0x1000,
                file_offset: Some(0),
                prot: RW,
                zero_from: Some(TEXT_VADDR + 0xa00)
            },
            MapStep {
                start: TEXT_VADDR + 0x1000,
                end: TEXT_VADDR + 0x2000,
                file_offset: None,
                prot: RW,
                zero_from: None
            },
        ]
    );
}

#[test]
fn max_phnum_accepted() {
    let img = Image::exec().with(|i| {
        i.phoff = 0x2000;
        i.size = 0x2000 + 512 * 56;
        while i.phdrs.len() < 512 {
            i.phdrs.push(Ph::other(PT_NULL, 0, 0, 0, 0));
        }
    });
    let e = ok(&img);
    assert_eq!(e.phnum, 512);
    assert_eq!(e.phdr_vaddr, None);
}

#[test]
fn segment_up_to_user_top_accepted() {
    let img = Image::exec().push(Ph::load(R | W, 0, USER_TOP - 0x2000, 0, 0x2000));
    assert_eq!(ok(&img).max_vaddr, USER_TOP);
}

#[test]
fn dyn_high_vaddrs_accepted() {
    // Relative addresses of an ET_DYN are not limited by USER_TOP, only by span.
    let img = Image::dyn_().with(|i| {
        for ph in &mut i.phdrs {
            ph.vaddr += 0xffff_0000_0000_0000;
        }
        i.entry += 0xffff_0000_0000_0000;
    });
    let e = ok(&img);
    let bias = e.load_bias(0x7f00_0000_0000).unwrap();
    let steps = e.map_steps(bias);
    assert_eq!(steps[0].start, 0x7f00_0000_0000);
    assert_eq!(steps.last().unwrap().end, 0x7f00_0000_3000);
}

#[test]
fn load_bias_dyn() {
    // Largest alignment 2 MiB: preferred base aligned down to it.
    let img = Image::dyn_().with(|i| i.phdrs[0].align = 0x20_0000);
    let e = ok(&img);
    assert_eq!(e.max_align(), 0x20_0000);
    assert_eq!(e.load_bias(0x5555_5555_4000), Some(0x5555_5540_0000));
    // Non-power-of-two alignments are ignored; small ones are raised to a page.
    let img = Image::dyn_().with(|i| {
        i.phdrs[0].align = 0x30_0000;
        i.phdrs[1].align = 0;
    });
    let e = ok(&img);
    assert_eq!(e.max_align(), PAGE_SIZE);
    assert_eq!(e.load_bias(0x1234_5fff), Some(0x1234_5000));
    // Does not fit below USER_TOP.
    assert_eq!(e.load_bias(USER_TOP - 0x2000), None);
    assert_eq!(e.load_bias(USER_TOP - 0x3000), Some(USER_TOP - 0x3000));
    assert_eq!(e.load_bias(u64::MAX), None);
    // Would start at address 0.
    assert_eq!(e.load_bias(0xfff), None);
}

#[test]
fn load_bias_dyn_nonzero_min_vaddr() {
    // Prelinked at 0x10000: the bias is base - min_vaddr (may wrap).
    let img = Image::dyn_().with(|i| {
        for ph in &mut i.phdrs {
            ph.vaddr += 0x1_0000;
        }
        i.entry += 0x1_0000;
    });
    let e = ok(&img);
    assert_eq!(e.min_vaddr, 0x1_0000);
    assert_eq!(e.load_bias(0x2_0000), Some(0x1_0000));
    let bias = e.load_bias(0x8000).unwrap();
    assert_eq!(bias, 0x8000u64.wrapping_sub(0x1_0000));
    let steps = e.map_steps(bias);
    assert_eq!(steps[0].start, 0x8000);
    assert_eq!(steps.last().unwrap().end, 0xb000);
}

#[test]
fn map_steps_rejects_bad_bias() {
    let e = ok(&Image::dyn_());
    assert_eq!(e.try_map_steps(0x123), None);
    assert!(e.map_steps(0x123).is_empty());
    assert_eq!(e.try_map_steps(USER_TOP - 0x2000), None);
    assert_eq!(e.try_map_steps(u64::MAX - 0xfff), None);
    assert!(e.try_map_steps(USER_TOP - 0x3000).is_some());
}

#[test]
fn errno_is_enoexec() {
    for err in [
        ElfError::TooShort,
        ElfError::BadMagic,
        ElfError::NotElf64,
        ElfError::NotLittleEndian,
        ElfError::BadVersion,
        ElfError::WrongMachine,
        ElfError::NotExecutable,
        ElfError::BadPhdrs,
        ElfError::NoLoadSegments,
        ElfError::BadSegment,
        ElfError::Overlap,
        ElfError::TooBig,
        ElfError::BadInterp,
        ElfError::BadEntry,
    ] {
        assert_eq!(err.errno(), 8);
        assert!(!err.to_string().is_empty());
    }
}
