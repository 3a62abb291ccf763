//! Each rejection reason, from a valid image with one thing broken.

use crate::builder::*;
use elf::{ElfError, USER_TOP, parse};

fn err(img: &Image) -> ElfError {
    parse(&img.build()).expect_err("image should be rejected")
}

#[test]
fn truncated_header() {
    let data = Image::exec().build();
    for len in 0..64 {
        assert_eq!(parse(&data[..len]), Err(ElfError::TooShort), "len {len}");
    }
}

#[test]
fn truncated_file() {
    // Cutting the file anywhere after the header fails cleanly (phdrs or
    // segment data past EOF), never panics.
    // The last file byte any header refers to is the data segment's end.
    let data = Image::exec().build();
    for len in 64..0x1800 {
        let r = parse(&data[..len]);
        assert!(
            matches!(r, Err(ElfError::BadPhdrs | ElfError::BadSegment)),
            "len {len}: {r:?}"
        );
    }
    for len in 0x1800..=data.len() {
        assert!(parse(&data[..len]).is_ok(), "len {len}");
    }
}

#[test]
fn bad_magic() {
    for i in 0..4 {
        let img = Image::exec().with(|m| m.ident[i] ^= 0x20);
        assert_eq!(err(&img), ElfError::BadMagic);
    }
}

#[test]
fn bad_class() {
    for class in [0u8, 1, 3, 0xff] {
        assert_eq!(
            err(&Image::exec().with(|m| m.ident[4] = class)),
            ElfError::NotElf64
        );
    }
}

#[test]
fn bad_endianness() {
    for data in [0u8, 2, 3] {
        assert_eq!(
            err(&Image::exec().with(|m| m.ident[5] = data)),
            ElfError::NotLittleEndian
        );
    }
}

#[test]
fn bad_version() {
    for v in [0u8, 2] {
        assert_eq!(
            err(&Image::exec().with(|m| m.ident[6] = v)),
            ElfError::BadVersion
        );
    }
}

#[test]
fn bad_machine() {
    for machine in [0u16, 3, 40, 183, 62 << 8] {
        assert_eq!(
            err(&Image::exec().with(|m| m.machine = machine)),
            ElfError::WrongMachine
        );
    }
}

#[test]
fn bad_type() {
    for t in [0u16, 1, 4, 0xfe00, 0xffff] {
        assert_eq!(
            err(&Image::exec().with(|m| m.e_type = t)),
            ElfError::NotExecutable
        );
    }
}

#[test]
fn bad_phentsize() {
    for size in [0u16, 32, 55, 57, 64] {
        assert_eq!(
            err(&Image::exec().with(|m| m.phentsize = size)),
            ElfError::BadPhdrs
        );
    }
}

#[test]
fn bad_phnum() {
    assert_eq!(
        err(&Image::exec().with(|m| m.phnum = Some(0))),
        ElfError::BadPhdrs
    );
    for n in [513u16, 0xffff] {
        let img = Image::exec().with(|m| {
            m.phnum = Some(n);
            m.size = 0x1_0000 * 56; // big enough that only the count is wrong
        });
        assert_eq!(err(&img), ElfError::BadPhdrs, "phnum {n}");
    }
}

#[test]
fn phdrs_past_eof() {
    // Table starts inside the file but runs off the end.
    let img = Image::exec().with(|m| {
        m.phoff = 0x3000 - 56;
        m.size = 0x3000;
        m.phdrs.truncate(1);
        m.phnum = Some(2);
    });
    assert_eq!(err(&img), ElfError::BadPhdrs);
    // Offset wildly out of range / overflowing.
    for phoff in [0x3000u64, 0x1_0000_0000, u64::MAX - 56, u64::MAX] {
        let img = Image::exec().with(|m| {
            m.phoff = 64;
            m.patches.push((0x20, phoff.to_le_bytes().to_vec()));
        });
        assert_eq!(err(&img), ElfError::BadPhdrs, "phoff {phoff:#x}");
    }
}

#[test]
fn filesz_greater_than_memsz() {
    let img = Image::exec().with(|m| m.phdrs[1].memsz = 0x7ff);
    assert_eq!(err(&img), ElfError::BadSegment);
    // Even when memsz is 0 (such a segment would otherwise be skipped).
    let img = Image::exec().with(|m| m.phdrs[1].memsz = 0);
    assert_eq!(err(&img), ElfError::BadSegment);
}

#[test]
fn segment_data_past_eof() {
    let img = Image::exec().with(|m| m.phdrs[1].filesz = 0x2001);
    let img = img.with(|m| m.phdrs[1].memsz = 0x3000);
    assert_eq!(err(&img), ElfError::BadSegment);
    let img = Image::exec().with(|m| m.phdrs[1].offset = 0x3000);
    assert_eq!(err(&img), ElfError::BadSegment);
    // offset + filesz overflows.
    let img = Image::exec().with(|m| {
        m.phdrs[1].offset = u64::MAX - 0xfff;
        m.phdrs[1].vaddr = DATA_VADDR;
        m.phdrs[1].filesz = 0x1000;
        m.phdrs[1].memsz = 0x1000;
    });
    assert_eq!(err(&img), ElfError::BadSegment);
}

#[test]
fn incongruent_offset_and_vaddr() {
    let img = Image::exec().with(|m| m.phdrs[1].offset = 0x1010);
    assert_eq!(err(&img), ElfError::BadSegment);
    let img = Image::exec().with(|m| m.phdrs[1].vaddr = DATA_VADDR + 8);
    assert_eq!(err(&img), ElfError::BadSegment);
}

#[test]
fn overlapping_segments() {
    // Data starts one byte before text ends.
    let img =
        Image::exec().with(|m| m.phdrs[1] = Ph::load(R | W, 0xfff, TEXT_VADDR + 0xfff, 0x10, 0x10));
    assert_eq!(err(&img), ElfError::Overlap);
    // Identical ranges.
    let img = Image::exec().with(|m| m.phdrs[1] = Ph::load(R | W, 0, TEXT_VADDR, 0x10, 0x10));
    assert_eq!(err(&img), ElfError::Overlap);
    // Second segment starts before the first but reaches into it (bss).
    let img = Image::exec()
        .with(|m| m.phdrs[1] = Ph::load(R | W, 0x1000, TEXT_VADDR - 0x1000, 0x10, 0x1001));
    assert_eq!(err(&img), ElfError::Overlap);
    // Third overlaps the first only (and is out of order).
    let img = Image::exec().push(Ph::load(R, 0x10, TEXT_VADDR + 0x10, 0x10, 0x10));
    assert_eq!(err(&img), ElfError::Overlap);
}

#[test]
fn unsorted_segments() {
    let img = Image::exec().with(|m| m.phdrs.swap(0, 1));
    assert_eq!(err(&img), ElfError::BadSegment);
}

#[test]
fn vaddr_plus_memsz_overflows() {
    let img = Image::exec().push(Ph::load(R | W, 0, u64::MAX - 0xfff, 0, 0x1000));
    assert_eq!(err(&img), ElfError::BadSegment);
    // Rounding the end up to a page would overflow.
    let img = Image::exec().push(Ph::load(R | W, 0, u64::MAX - 0x1fff, 0, 0x1001));
    assert_eq!(err(&img), ElfError::BadSegment);
    let img = Image::dyn_().push(Ph::load(R | W, 0, 0x1_0000, 0, u64::MAX));
    assert_eq!(err(&img), ElfError::BadSegment);
}

#[test]
fn above_user_top() {
    let img = Image::exec().push(Ph::load(R | W, 0, USER_TOP - 0x1000, 0, 0x1001));
    assert_eq!(err(&img), ElfError::TooBig);
    let img = Image::exec().push(Ph::load(R | W, 0, 0xffff_8000_0000_0000, 0, 0x1000));
    assert_eq!(err(&img), ElfError::TooBig);
}

#[test]
fn dyn_span_too_big() {
    let img = Image::dyn_().push(Ph::load(R | W, 0, 1 << 40, 0, 0x1000));
    assert_eq!(err(&img), ElfError::TooBig);
    // Exactly 1 TiB is fine.
    let img = Image::dyn_().push(Ph::load(R | W, 0, (1 << 40) - 0x1000, 0, 0x1000));
    assert!(parse(&img.build()).is_ok());
}

#[test]
fn entry_outside_code() {
    // In the non-executable data segment.
    assert_eq!(
        err(&Image::exec().with(|m| m.entry = DATA_VADDR + 0x10)),
        ElfError::BadEntry
    );
    // One past the end of text (which is also where data starts).
    assert_eq!(
        err(&Image::exec().with(|m| m.entry = TEXT_VADDR + 0x1000)),
        ElfError::BadEntry
    );
    // Below everything, above everything, zero.
    for entry in [0, TEXT_VADDR - 1, 0x50_0000, u64::MAX] {
        assert_eq!(
            err(&Image::exec().with(|m| m.entry = entry)),
            ElfError::BadEntry
        );
    }
    // ET_DYN: the entry is checked against the unbiased addresses.
    assert_eq!(
        err(&Image::dyn_().with(|m| m.entry = 0x5555_5555_4100)),
        ElfError::BadEntry
    );
    // Edge: last byte of text is fine.
    assert!(parse(&Image::exec().with(|m| m.entry = TEXT_VADDR + 0xfff).build()).is_ok());
}

#[test]
fn no_load_segments() {
    let img = Image::exec().with(|m| m.phdrs = vec![Ph::other(PT_NOTE, R, 0x200, 0, 0x20)]);
    assert_eq!(err(&img), ElfError::NoLoadSegments);
    let img = Image::exec().with(|m| m.phdrs = vec![Ph::load(R | X, 0, TEXT_VADDR, 0, 0)]);
    assert_eq!(err(&img), ElfError::NoLoadSegments);
}

fn with_interp(offset: u64, filesz: u64, bytes: &[u8]) -> Image {
    Image::exec()
        .push(Ph::other(PT_INTERP, R, offset, 0, filesz))
        .patch(offset as usize, bytes)
}

#[test]
fn interp_not_nul_terminated() {
    assert_eq!(err(&with_interp(0x800, 5, b"/ld.so")), ElfError::BadInterp);
}

#[test]
fn interp_bad() {
    // Empty path, too short, too long, outside the file, duplicated.
    assert_eq!(err(&with_interp(0x800, 2, b"\0\0")), ElfError::BadInterp);
    assert_eq!(err(&with_interp(0x800, 1, b"\0")), ElfError::BadInterp);
    assert_eq!(err(&with_interp(0x800, 0, b"")), ElfError::BadInterp);
    let mut long = vec![b'x'; 4096];
    long.push(0);
    assert_eq!(err(&with_interp(0x1000, 4097, &long)), ElfError::BadInterp);
    assert_eq!(err(&with_interp(0x2ffe, 4, b"a\0")), ElfError::BadInterp);
    let far = Image::exec().push(Ph::other(PT_INTERP, R, u64::MAX - 1, 0, 4));
    assert_eq!(err(&far), ElfError::BadInterp);
    let twice = with_interp(0x800, 3, b"ab\0").push(Ph::other(PT_INTERP, R, 0x800, 0, 3));
    assert_eq!(err(&twice), ElfError::BadInterp);
}
