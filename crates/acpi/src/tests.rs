//! Host tests: synthetic RSDP/RSDT/XSDT/MADT/FADT/DSDT images in a fake
//! physical memory, plus property tests feeding random table bodies.

use crate::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Fake physical memory: disjoint regions; a read must fall inside one region.
#[derive(Default)]
struct Mem {
    regions: BTreeMap<u64, Vec<u8>>,
}

impl Mem {
    fn put(&mut self, addr: u64, bytes: Vec<u8>) -> &mut Self {
        self.regions.insert(addr, bytes);
        self
    }
}

impl PhysMem for Mem {
    fn read(&self, paddr: u64, buf: &mut [u8]) -> bool {
        let Some((&base, data)) = self.regions.range(..=paddr).next_back() else {
            return false;
        };
        let off = (paddr - base) as usize;
        match data.get(off..off + buf.len()) {
            Some(src) => {
                buf.copy_from_slice(src);
                true
            }
            None => false,
        }
    }
}

fn set_checksum(t: &mut [u8], at: usize) {
    t[at] = 0;
    let s = t.iter().fold(0u8, |a, &b| a.wrapping_add(b));
    t[at] = 0u8.wrapping_sub(s);
}

/// An SDT with a correct header and checksum around `body`.
fn sdt(sig: &[u8; 4], rev: u8, body: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(sig);
    t.extend_from_slice(&((36 + body.len()) as u32).to_le_bytes());
    t.push(rev);
    t.push(0);
    t.extend_from_slice(b"TINEOE");
    t.extend_from_slice(b"TINETBL ");
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(b"TINE");
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(body);
    set_checksum(&mut t, 9);
    t
}

fn rsdp_v1(rsdt: u32) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend_from_slice(b"RSD PTR ");
    r.push(0);
    r.extend_from_slice(b"OEMID1");
    r.push(0);
    r.extend_from_slice(&rsdt.to_le_bytes());
    set_checksum(&mut r, 8);
    r
}

fn rsdp_v2(rsdt: u32, xsdt: u64) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend_from_slice(b"RSD PTR ");
    r.push(0);
    r.extend_from_slice(b"OEMID2");
    r.push(2);
    r.extend_from_slice(&rsdt.to_le_bytes());
    r.extend_from_slice(&36u32.to_le_bytes());
    r.extend_from_slice(&xsdt.to_le_bytes());
    r.extend_from_slice(&[0, 0, 0, 0]);
    // The v1 checksum covers the first 20 bytes, the extended one all 36.
    set_checksum(&mut r[..20], 8);
    set_checksum(&mut r, 32);
    r
}

fn rsdt(entries: &[u32]) -> Vec<u8> {
    let body: Vec<u8> = entries.iter().flat_map(|e| e.to_le_bytes()).collect();
    sdt(b"RSDT", 1, &body)
}

fn xsdt(entries: &[u64]) -> Vec<u8> {
    let body: Vec<u8> = entries.iter().flat_map(|e| e.to_le_bytes()).collect();
    sdt(b"XSDT", 1, &body)
}

/// MADT body: lapic addr + flags followed by `entries`.
fn madt_img(lapic: u32, flags: u32, entries: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&lapic.to_le_bytes());
    body.extend_from_slice(&flags.to_le_bytes());
    body.extend_from_slice(entries);
    sdt(b"APIC", 5, &body)
}

fn e_lapic(uid: u8, id: u8, flags: u32) -> Vec<u8> {
    let mut e = vec![0, 8, uid, id];
    e.extend_from_slice(&flags.to_le_bytes());
    e
}
fn e_ioapic(id: u8, addr: u32, gsi: u32) -> Vec<u8> {
    let mut e = vec![1, 12, id, 0];
    e.extend_from_slice(&addr.to_le_bytes());
    e.extend_from_slice(&gsi.to_le_bytes());
    e
}
fn e_override(irq: u8, gsi: u32, flags: u16) -> Vec<u8> {
    let mut e = vec![2, 10, 0, irq];
    e.extend_from_slice(&gsi.to_le_bytes());
    e.extend_from_slice(&flags.to_le_bytes());
    e
}
fn e_nmi(uid: u8, flags: u16, lint: u8) -> Vec<u8> {
    let mut e = vec![4, 6, uid];
    e.extend_from_slice(&flags.to_le_bytes());
    e.push(lint);
    e
}
fn e_lapic_addr(addr: u64) -> Vec<u8> {
    let mut e = vec![5, 12, 0, 0];
    e.extend_from_slice(&addr.to_le_bytes());
    e
}
fn e_x2apic(id: u32, flags: u32, uid: u32) -> Vec<u8> {
    let mut e = vec![9, 16, 0, 0];
    e.extend_from_slice(&id.to_le_bytes());
    e.extend_from_slice(&flags.to_le_bytes());
    e.extend_from_slice(&uid.to_le_bytes());
    e
}
fn e_x2nmi(flags: u16, uid: u32, lint: u8) -> Vec<u8> {
    let mut e = vec![0xA, 12];
    e.extend_from_slice(&flags.to_le_bytes());
    e.extend_from_slice(&uid.to_le_bytes());
    e.push(lint);
    e.extend_from_slice(&[0, 0, 0]);
    e
}

struct FadtSpec {
    len: usize,
    rev: u8,
    dsdt: u32,
    x_dsdt: u64,
    flags: u32,
}

/// A FADT of total length `spec.len` with recognisable field values.
fn fadt(spec: &FadtSpec) -> Vec<u8> {
    let mut b = vec![0u8; 276 - 36];
    let mut put = |off: usize, v: &[u8]| b[off - 36..off - 36 + v.len()].copy_from_slice(v);
    put(40, &spec.dsdt.to_le_bytes());
    put(46, &9u16.to_le_bytes());
    put(48, &0xb2u32.to_le_bytes());
    put(52, &[0xa0]);
    put(64, &0x404u32.to_le_bytes());
    put(68, &0x504u32.to_le_bytes());
    put(76, &0x408u32.to_le_bytes());
    put(108, &[0x32]);
    put(109, &0x0003u16.to_le_bytes());
    put(112, &spec.flags.to_le_bytes());
    // RESET_REG: I/O space, 8 bits, port 0xcf9.
    put(116, &[1, 8, 0, 1]);
    put(120, &0xcf9u64.to_le_bytes());
    put(128, &[0x06]);
    put(140, &spec.x_dsdt.to_le_bytes());
    // X_PM1a_CNT_BLK: I/O, 16 bits, port 0x404.
    put(172, &[1, 16, 0, 2]);
    put(176, &0x404u64.to_le_bytes());
    b.truncate(spec.len - 36);
    sdt(b"FACP", spec.rev, &b)
}

fn dsdt(aml: &[u8]) -> Vec<u8> {
    sdt(b"DSDT", 2, aml)
}

const RSDP: u64 = 0xe0000;
const ROOT: u64 = 0x1000;
const XROOT: u64 = 0x2000;
const MADT_AT: u64 = 0x3000;
const FADT_AT: u64 = 0x4000;
const DSDT_AT: u64 = 0x10000;

fn full_madt() -> Vec<u8> {
    let mut e = Vec::new();
    e.extend(e_lapic(0, 0, 1));
    e.extend(e_lapic(1, 2, 1));
    e.extend(e_lapic(2, 4, 2)); // disabled, online capable
    e.extend(e_ioapic(8, 0xfec0_0000, 0));
    e.extend(e_override(0, 2, 0));
    e.extend(e_override(9, 9, 0b1111)); // level, active low
    e.extend(e_nmi(0xff, 0b0101, 1)); // all CPUs, active high, edge, LINT1
    e.extend(e_lapic_addr(0xfee0_0000_0000));
    e.extend(e_x2apic(0x100, 1, 300));
    e.extend(e_x2nmi(0b1111, 300, 0));
    e.extend([0x7f, 4, 0xaa, 0xbb]); // unknown type: skipped
    madt_img(0xfee0_0000, 1, &e)
}

/// A v2 system: RSDP -> XSDT -> {MADT, FADT}, FADT -> DSDT.
fn system(dsdt_aml: &[u8]) -> Mem {
    let mut m = Mem::default();
    m.put(RSDP, rsdp_v2(ROOT as u32, XROOT))
        .put(ROOT, rsdt(&[MADT_AT as u32]))
        .put(XROOT, xsdt(&[MADT_AT, FADT_AT]))
        .put(MADT_AT, full_madt())
        .put(
            FADT_AT,
            fadt(&FadtSpec {
                len: 276,
                rev: 6,
                dsdt: 0,
                x_dsdt: DSDT_AT,
                flags: 1 << 10,
            }),
        )
        .put(DSDT_AT, dsdt(dsdt_aml));
    m
}

const S5_BYTES: &[u8] = &[
    0x08, b'_', b'S', b'5', b'_', 0x12, 0x06, 0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00,
];

// ---------------------------------------------------------------- RSDP / root

#[test]
fn v1_rsdt() {
    let mut m = Mem::default();
    m.put(RSDP, rsdp_v1(ROOT as u32))
        .put(ROOT, rsdt(&[MADT_AT as u32, 0, FADT_AT as u32]))
        .put(MADT_AT, full_madt())
        .put(
            FADT_AT,
            fadt(&FadtSpec {
                len: 116,
                rev: 1,
                dsdt: DSDT_AT as u32,
                x_dsdt: 0,
                flags: 0,
            }),
        );
    let t = Tables::new(&m, RSDP).unwrap();
    assert_eq!(t.revision(), 0);
    assert_eq!(&t.oem_id(), b"OEMID1");
    assert_eq!(t.root_table(), (ROOT, false));
    assert_eq!(t.entries(), &[MADT_AT, FADT_AT]); // zero entry dropped
    assert_eq!(
        t.find(&m, b"APIC"),
        Some((MADT_AT, full_madt().len() as u32))
    );
    assert_eq!(t.find(&m, b"HPET"), None);
    let sigs: Vec<[u8; 4]> = t.signatures(&m).collect();
    assert_eq!(sigs, vec![*b"APIC", *b"FACP"]);
    assert_eq!(t.madt(&m).unwrap().cpus.len(), 4);
    assert_eq!(t.fadt(&m).unwrap().dsdt, DSDT_AT);
}

#[test]
fn v2_prefers_xsdt() {
    let m = system(S5_BYTES);
    let t = Tables::new(&m, RSDP).unwrap();
    assert_eq!(t.revision(), 2);
    assert_eq!(&t.oem_id(), b"OEMID2");
    assert_eq!(t.root_table(), (XROOT, true));
    assert_eq!(t.entries(), &[MADT_AT, FADT_AT]);
    assert!(t.find(&m, b"FACP").is_some()); // only listed in the XSDT
    assert_eq!(t.dropped_entries(), 0);
}

#[test]
fn v2_without_xsdt_uses_rsdt() {
    let mut m = system(S5_BYTES);
    m.put(RSDP, rsdp_v2(ROOT as u32, 0));
    let t = Tables::new(&m, RSDP).unwrap();
    assert_eq!(t.root_table(), (ROOT, false));
    assert_eq!(t.entries(), &[MADT_AT]);
}

#[test]
fn bad_xsdt_falls_back_to_rsdt() {
    let mut m = system(S5_BYTES);
    let mut x = xsdt(&[MADT_AT, FADT_AT]);
    x[9] ^= 1;
    m.put(XROOT, x);
    let t = Tables::new(&m, RSDP).unwrap();
    assert_eq!(t.root_table(), (ROOT, false));
}

#[test]
fn bad_xsdt_without_rsdt_is_rejected() {
    let mut m = system(S5_BYTES);
    let mut x = xsdt(&[MADT_AT, FADT_AT]);
    x[40] ^= 1;
    m.put(XROOT, x).put(RSDP, rsdp_v2(0, XROOT));
    assert_eq!(Tables::new(&m, RSDP), Err(AcpiError::BadChecksum));
}

#[test]
fn rsdp_errors() {
    let mut m = Mem::default();
    assert_eq!(Tables::new(&m, RSDP), Err(AcpiError::Unreadable));

    let mut r = rsdp_v1(ROOT as u32);
    r[0] = b'X';
    m.put(RSDP, r);
    assert_eq!(Tables::new(&m, RSDP), Err(AcpiError::BadRsdp));

    let mut r = rsdp_v1(ROOT as u32);
    r[8] ^= 0x55;
    m.put(RSDP, r);
    assert_eq!(Tables::new(&m, RSDP), Err(AcpiError::BadChecksum));

    // v1 checksum fine, extended checksum broken.
    let mut r = rsdp_v2(ROOT as u32, XROOT);
    r[32] ^= 0x55;
    m.put(RSDP, r);
    assert_eq!(Tables::new(&m, RSDP), Err(AcpiError::BadChecksum));

    // v2 RSDP cut short after 20 bytes.
    m.put(RSDP, rsdp_v2(ROOT as u32, XROOT)[..20].to_vec());
    assert_eq!(Tables::new(&m, RSDP), Err(AcpiError::Unreadable));

    // Both root pointers zero.
    m.put(RSDP, rsdp_v2(0, 0));
    assert_eq!(Tables::new(&m, RSDP), Err(AcpiError::NotFound));
}

#[test]
fn rsdp_v2_bad_length() {
    let mut m = Mem::default();
    let mut r = rsdp_v2(ROOT as u32, XROOT);
    r[20..24].copy_from_slice(&20u32.to_le_bytes());
    set_checksum(&mut r[..20], 8);
    set_checksum(&mut r, 32);
    m.put(RSDP, r);
    assert_eq!(Tables::new(&m, RSDP), Err(AcpiError::BadRsdp));
}

#[test]
fn rsdt_errors() {
    let mut m = Mem::default();
    m.put(RSDP, rsdp_v1(ROOT as u32));

    let mut t = rsdt(&[MADT_AT as u32]);
    t[36] ^= 1;
    m.put(ROOT, t);
    assert_eq!(Tables::new(&m, RSDP), Err(AcpiError::BadChecksum));

    m.put(ROOT, sdt(b"XSDT", 1, &[0; 8]));
    assert_eq!(Tables::new(&m, RSDP), Err(AcpiError::BadRsdp));

    // Length field below the header size.
    let mut t = rsdt(&[]);
    t[4..8].copy_from_slice(&20u32.to_le_bytes());
    set_checksum(&mut t, 9);
    m.put(ROOT, t);
    assert_eq!(Tables::new(&m, RSDP), Err(AcpiError::Truncated));

    // Overlong: claims 2 MiB.
    let mut t = rsdt(&[]);
    t[4..8].copy_from_slice(&(2u32 << 20).to_le_bytes());
    m.put(ROOT, t);
    assert_eq!(Tables::new(&m, RSDP), Err(AcpiError::TooLarge));

    // Claims more bytes than memory holds.
    let mut t = rsdt(&[MADT_AT as u32]);
    t[4..8].copy_from_slice(&4096u32.to_le_bytes());
    m.put(ROOT, t);
    assert_eq!(Tables::new(&m, RSDP), Err(AcpiError::Unreadable));

    // Length not a multiple of the entry size: trailing bytes ignored.
    let mut body = (MADT_AT as u32).to_le_bytes().to_vec();
    body.extend([0xaa, 0xbb]);
    m.put(ROOT, sdt(b"RSDT", 1, &body))
        .put(MADT_AT, full_madt());
    assert_eq!(Tables::new(&m, RSDP).unwrap().entries(), &[MADT_AT]);
}

#[test]
fn root_entries_capped() {
    let mut m = Mem::default();
    let entries: Vec<u32> = (1..=100).map(|i| i * 0x100).collect();
    m.put(RSDP, rsdp_v1(0x100000)).put(0x100000, rsdt(&entries));
    let t = Tables::new(&m, RSDP).unwrap();
    assert_eq!(t.entries().len(), MAX_ENTRIES);
    assert_eq!(t.dropped_entries(), 100 - MAX_ENTRIES);
    // None of these entries are readable; nothing is found and nothing panics.
    assert_eq!(t.signatures(&m).count(), 0);
    assert_eq!(t.find(&m, b"APIC"), None);
    assert_eq!(t.madt(&m), Err(AcpiError::NotFound));
}

#[test]
fn find_skips_invalid_tables() {
    let mut m = Mem::default();
    let mut bad = full_madt();
    bad[50] ^= 1;
    let good_at = 0x5000;
    m.put(RSDP, rsdp_v1(ROOT as u32))
        .put(ROOT, rsdt(&[0x9999_0000, MADT_AT as u32, good_at as u32]))
        .put(MADT_AT, bad.clone())
        .put(good_at, full_madt());
    let t = Tables::new(&m, RSDP).unwrap();
    assert_eq!(t.find(&m, b"APIC").map(|f| f.0), Some(good_at));
    assert_eq!(t.signatures(&m).count(), 2);

    // Only the bad one: the error says why.
    m.put(ROOT, rsdt(&[MADT_AT as u32]));
    let t = Tables::new(&m, RSDP).unwrap();
    assert_eq!(t.find(&m, b"APIC"), None);
    assert_eq!(t.madt(&m), Err(AcpiError::BadChecksum));
    assert_eq!(t.fadt(&m), Err(AcpiError::NotFound));

    // Overlong table.
    let mut big = full_madt();
    big[4..8].copy_from_slice(&(MAX_TABLE_LEN + 1).to_le_bytes());
    m.put(MADT_AT, big);
    assert_eq!(t.madt(&m), Err(AcpiError::TooLarge));

    // Length beyond readable memory.
    let mut long = full_madt();
    long[4..8].copy_from_slice(&(MAX_TABLE_LEN).to_le_bytes());
    m.put(MADT_AT, long);
    assert_eq!(t.madt(&m), Err(AcpiError::Unreadable));
}

#[test]
fn find_dsdt_via_fadt() {
    let m = system(S5_BYTES);
    let t = Tables::new(&m, RSDP).unwrap();
    assert_eq!(
        t.find(&m, b"DSDT"),
        Some((DSDT_AT, 36 + S5_BYTES.len() as u32))
    );
}

// ---------------------------------------------------------------- MADT

#[test]
fn madt_all_entry_types() {
    let m = system(S5_BYTES);
    let madt = Tables::new(&m, RSDP).unwrap().madt(&m).unwrap();
    assert_eq!(madt.local_apic_addr, 0xfee0_0000_0000);
    assert!(madt.pcat_compat);
    let cpus = madt.cpus.as_slice();
    assert_eq!(cpus.len(), 4);
    assert_eq!(
        cpus[0],
        LocalApic {
            processor_uid: 0,
            apic_id: 0,
            enabled: true,
            online_capable: false
        }
    );
    assert_eq!(cpus[1].apic_id, 2);
    assert_eq!(
        cpus[2],
        LocalApic {
            processor_uid: 2,
            apic_id: 4,
            enabled: false,
            online_capable: true
        }
    );
    assert_eq!(
        cpus[3],
        LocalApic {
            processor_uid: 300,
            apic_id: 0x100,
            enabled: true,
            online_capable: false
        }
    );
    assert_eq!(
        madt.ioapics.as_slice(),
        &[IoApic {
            id: 8,
            addr: 0xfec0_0000,
            gsi_base: 0
        }]
    );
    assert_eq!(madt.overrides.len(), 2);
    let nmis = madt.nmis.as_slice();
    assert_eq!(nmis.len(), 2);
    assert_eq!(
        nmis[0],
        LapicNmi {
            processor_uid: u32::MAX,
            lint: 1,
            active_low: false,
            level_triggered: false
        }
    );
    assert!(nmis[0].applies_to_all() && nmis[0].applies_to(7));
    assert_eq!(
        nmis[1],
        LapicNmi {
            processor_uid: 300,
            lint: 0,
            active_low: true,
            level_triggered: true
        }
    );
    assert!(nmis[1].applies_to(300) && !nmis[1].applies_to(0));
    assert_eq!(Madt::from_table(&m, MADT_AT).as_ref(), Ok(&madt));
}

#[test]
fn madt_isa_irq() {
    let m = system(S5_BYTES);
    let madt = Madt::from_table(&m, MADT_AT).unwrap();
    assert_eq!(madt.isa_irq(0), (2, false, false));
    assert_eq!(madt.isa_irq(1), (1, false, false));
    assert_eq!(madt.isa_irq(9), (9, true, true));
    assert_eq!(madt.isa_irq(15), (15, false, false));
}

#[test]
fn madt_override_flag_decoding() {
    let mut e = Vec::new();
    e.extend(e_override(3, 3, 0b0001)); // active high, conforming trigger
    e.extend(e_override(4, 4, 0b1100)); // conforming polarity, level
    e.extend(e_override(5, 5, 0b0111)); // active low, edge
    let mut m = Mem::default();
    m.put(MADT_AT, madt_img(0xfee0_0000, 0, &e));
    let madt = Madt::from_table(&m, MADT_AT).unwrap();
    assert!(!madt.pcat_compat);
    assert_eq!(madt.local_apic_addr, 0xfee0_0000);
    assert_eq!(madt.isa_irq(3), (3, false, false));
    assert_eq!(madt.isa_irq(4), (4, false, true));
    assert_eq!(madt.isa_irq(5), (5, true, false));
}

#[test]
fn madt_zero_length_entry_terminates() {
    let mut e = Vec::new();
    e.extend(e_lapic(0, 0, 1));
    e.extend([0, 0, 0, 0, 0, 0, 0, 0]); // type 0, length 0
    e.extend(e_lapic(1, 1, 1));
    let mut m = Mem::default();
    m.put(MADT_AT, madt_img(0xfee0_0000, 1, &e));
    let madt = Madt::from_table(&m, MADT_AT).unwrap();
    assert_eq!(madt.cpus.len(), 1);

    // Length 1 also stops.
    let mut e = e_ioapic(1, 2, 3);
    e.extend([1, 1]);
    e.extend(e_ioapic(4, 5, 6));
    m.put(MADT_AT, madt_img(0xfee0_0000, 1, &e));
    assert_eq!(Madt::from_table(&m, MADT_AT).unwrap().ioapics.len(), 1);
}

#[test]
fn madt_entry_past_end_and_short_entries() {
    let mut e = e_lapic(0, 0, 1);
    e.extend([1, 12, 0, 0]); // I/O APIC header claiming 12 bytes, only 4 present
    let mut m = Mem::default();
    m.put(MADT_AT, madt_img(0, 0, &e));
    let madt1 = Madt::from_table(&m, MADT_AT).unwrap();
    assert_eq!(madt1.cpus.len(), 1);
    assert!(madt1.ioapics.is_empty());

    // Single trailing byte (cannot hold a header).
    let mut e = e_lapic(0, 0, 1);
    e.push(9);
    m.put(MADT_AT, madt_img(0, 0, &e));
    assert_eq!(Madt::from_table(&m, MADT_AT).unwrap().cpus.len(), 1);

    // Entries too short for their type are skipped, parsing continues.
    let mut e = vec![0, 4, 1, 1, 9, 8, 0, 0, 0, 0, 0, 0, 5, 6, 0, 0, 1, 2, 0xA, 2];
    e.extend(e_lapic(3, 3, 1));
    m.put(MADT_AT, madt_img(0xfee0_0000, 0, &e));
    let madt2 = Madt::from_table(&m, MADT_AT).unwrap();
    assert_eq!(
        madt2.cpus.as_slice(),
        &[LocalApic {
            processor_uid: 3,
            apic_id: 3,
            enabled: true,
            online_capable: false
        }]
    );
    assert_eq!(madt2.local_apic_addr, 0xfee0_0000);
    assert!(madt2.nmis.is_empty());
}

#[test]
fn madt_truncated_and_wrong_signature() {
    let mut m = Mem::default();
    m.put(MADT_AT, sdt(b"APIC", 1, &[0; 4]));
    assert_eq!(Madt::from_table(&m, MADT_AT), Err(AcpiError::Truncated));
    m.put(MADT_AT, sdt(b"APIX", 1, &[0; 8]));
    assert_eq!(Madt::from_table(&m, MADT_AT), Err(AcpiError::NotFound));
    // Exactly the fixed part, no entries.
    m.put(MADT_AT, madt_img(0xfee0_0000, 1, &[]));
    let madt = Madt::from_table(&m, MADT_AT).unwrap();
    assert!(madt.cpus.is_empty() && madt.pcat_compat);
}

#[test]
fn madt_capacity_overflow() {
    let mut e = Vec::new();
    for i in 0..300u32 {
        e.extend(e_x2apic(i, 1, i));
    }
    for i in 0..20u8 {
        e.extend(e_ioapic(i, 0, 0));
    }
    let mut m = Mem::default();
    m.put(MADT_AT, madt_img(0, 0, &e));
    let madt = Madt::from_table(&m, MADT_AT).unwrap();
    assert_eq!(madt.cpus.len(), 256);
    assert!(madt.cpus.is_full());
    assert_eq!(madt.cpus.get(255).map(|c| c.apic_id), Some(255));
    assert_eq!(madt.ioapics.len(), 16);
}

#[test]
fn fixed_vec_basics() {
    let mut v: FixedVec<u8, 2> = FixedVec::new();
    assert!(v.is_empty());
    assert_eq!(v.push(1), Ok(()));
    assert_eq!(v.push(2), Ok(()));
    assert_eq!(v.push(3), Err(3));
    assert_eq!(v.len(), 2);
    assert_eq!(v.capacity(), 2);
    assert_eq!((&v).into_iter().copied().collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(format!("{v:?}"), "[1, 2]");
    assert_eq!(v.get(2), None);
}

// ---------------------------------------------------------------- FADT

#[test]
fn fadt_short_revision_1() {
    let mut m = Mem::default();
    m.put(
        FADT_AT,
        fadt(&FadtSpec {
            len: 116,
            rev: 1,
            dsdt: 0x7000,
            x_dsdt: 0,
            flags: 1 << 10,
        }),
    );
    let f = Fadt::from_table(&m, FADT_AT).unwrap();
    assert_eq!(f.sci_int, 9);
    assert_eq!(f.smi_cmd, 0xb2);
    assert_eq!(f.acpi_enable, 0xa0);
    assert_eq!(f.pm1a_cnt_blk, 0x404);
    assert_eq!(f.pm1b_cnt_blk, 0x504);
    assert_eq!(f.pm_tmr_blk, 0x408);
    assert_eq!(f.century, 0x32);
    assert_eq!(f.iapc_boot_arch, 3);
    assert_eq!(f.flags, 1 << 10);
    assert_eq!(f.reset_reg, None); // flag set but not covered
    assert_eq!(f.reset_value, 0);
    assert_eq!(f.dsdt, 0x7000);
    assert_eq!(f.x_pm1a_cnt_blk, None);
}

#[test]
fn fadt_long() {
    let mut m = Mem::default();
    m.put(
        FADT_AT,
        fadt(&FadtSpec {
            len: 276,
            rev: 6,
            dsdt: 0x7000,
            x_dsdt: 0x1_0000_0000,
            flags: 1 << 10,
        }),
    );
    let f = Fadt::from_table(&m, FADT_AT).unwrap();
    assert_eq!(
        f.reset_reg,
        Some(Gas {
            space_id: Gas::SYSTEM_IO,
            bit_width: 8,
            bit_offset: 0,
            access_size: 1,
            address: 0xcf9
        })
    );
    assert_eq!(f.reset_value, 6);
    assert_eq!(f.dsdt, 0x1_0000_0000);
    assert_eq!(
        f.x_pm1a_cnt_blk,
        Some(Gas {
            space_id: 1,
            bit_width: 16,
            bit_offset: 0,
            access_size: 2,
            address: 0x404
        })
    );

    // Reset register not supported; X_DSDT zero falls back to DSDT.
    m.put(
        FADT_AT,
        fadt(&FadtSpec {
            len: 276,
            rev: 6,
            dsdt: 0x7000,
            x_dsdt: 0,
            flags: 0,
        }),
    );
    let f = Fadt::from_table(&m, FADT_AT).unwrap();
    assert_eq!(f.reset_reg, None);
    assert_eq!(f.reset_value, 6);
    assert_eq!(f.dsdt, 0x7000);
}

#[test]
fn fadt_intermediate_lengths() {
    let mut m = Mem::default();
    // Covers RESET_REG and RESET_VALUE but not X_DSDT.
    m.put(
        FADT_AT,
        fadt(&FadtSpec {
            len: 129,
            rev: 3,
            dsdt: 0x7000,
            x_dsdt: 0x8000,
            flags: 1 << 10,
        }),
    );
    let f = Fadt::from_table(&m, FADT_AT).unwrap();
    assert!(f.reset_reg.is_some());
    assert_eq!(f.dsdt, 0x7000);
    assert_eq!(f.x_pm1a_cnt_blk, None);
    // One byte short of RESET_VALUE.
    m.put(
        FADT_AT,
        fadt(&FadtSpec {
            len: 128,
            rev: 3,
            dsdt: 0x7000,
            x_dsdt: 0,
            flags: 1 << 10,
        }),
    );
    assert_eq!(Fadt::from_table(&m, FADT_AT).unwrap().reset_reg, None);
    // Covers X_DSDT but not X_PM1a_CNT_BLK.
    m.put(
        FADT_AT,
        fadt(&FadtSpec {
            len: 180,
            rev: 3,
            dsdt: 0x7000,
            x_dsdt: 0x8000,
            flags: 0,
        }),
    );
    let f = Fadt::from_table(&m, FADT_AT).unwrap();
    assert_eq!(f.dsdt, 0x8000);
    assert_eq!(f.x_pm1a_cnt_blk, None);
    // Header only: all defaults.
    m.put(FADT_AT, sdt(b"FACP", 1, &[]));
    assert_eq!(Fadt::from_table(&m, FADT_AT), Ok(Fadt::default()));
    // Bad checksum.
    let mut t = fadt(&FadtSpec {
        len: 116,
        rev: 1,
        dsdt: 0,
        x_dsdt: 0,
        flags: 0,
    });
    t[100] ^= 0x10;
    m.put(FADT_AT, t);
    assert_eq!(Fadt::from_table(&m, FADT_AT), Err(AcpiError::BadChecksum));
}

// ---------------------------------------------------------------- _S5_

fn s5_of(aml: &[u8]) -> Option<(u8, u8)> {
    let m = system(aml);
    Tables::new(&m, RSDP)
        .unwrap()
        .fadt(&m)
        .unwrap()
        .s5_sleep_types(&m)
}

/// Some AML noise to put around the object under test.
fn noise() -> Vec<u8> {
    // Scope (\_SB) { Name (_HID, ...) } -ish bytes, plus stray opcodes.
    vec![
        0x10, 0x0B, b'\\', b'_', b'S', b'B', b'_', 0x08, b'_', b'H', b'I', b'D', 0x0C, 0x41, 0xD0,
        0x0A, 0x03,
    ]
}

#[test]
fn s5_byte_prefix() {
    assert_eq!(s5_of(S5_BYTES), Some((5, 5)));
    let mut aml = noise();
    aml.extend_from_slice(S5_BYTES);
    aml.extend(noise());
    assert_eq!(s5_of(&aml), Some((5, 5)));
}

#[test]
fn s5_zero_one_ops_and_raw_bytes() {
    let zero_one = [
        0x08, b'_', b'S', b'5', b'_', 0x12, 0x06, 0x04, 0x00, 0x01, 0x00, 0x00,
    ];
    assert_eq!(s5_of(&zero_one), Some((0, 1)));
    let raw = [
        0x08, b'_', b'S', b'5', b'_', 0x12, 0x06, 0x04, 0x07, 0x07, 0x00, 0x00,
    ];
    assert_eq!(s5_of(&raw), Some((7, 7)));
    let mixed = [
        0x08, b'_', b'S', b'5', b'_', 0x12, 0x07, 0x04, 0x0A, 0x07, 0x00, 0x00, 0x00,
    ];
    assert_eq!(s5_of(&mixed), Some((7, 0)));
    let word = [
        0x08, b'_', b'S', b'5', b'_', 0x12, 0x0A, 0x02, 0x0B, 0x05, 0x00, 0x0C, 0x06, 0, 0, 0,
    ];
    assert_eq!(s5_of(&word), Some((5, 6)));
}

#[test]
fn s5_root_prefix_and_multibyte_pkglength() {
    let rooted = [
        0x08, b'\\', b'_', b'S', b'5', b'_', 0x12, 0x06, 0x04, 0x0A, 0x03, 0x0A, 0x04, 0x00, 0x00,
    ];
    assert_eq!(s5_of(&rooted), Some((3, 4)));
    // Two-byte PkgLength (0x46 0x00 = 6).
    let two = [
        0x08, b'_', b'S', b'5', b'_', 0x12, 0x47, 0x00, 0x04, 0x0A, 0x05, 0x0A, 0x06, 0x00, 0x00,
    ];
    assert_eq!(s5_of(&two), Some((5, 6)));
}

#[test]
fn s5_single_element() {
    let one = [
        0x08, b'_', b'S', b'5', b'_', 0x12, 0x05, 0x01, 0x0B, 0x05, 0x06,
    ];
    assert_eq!(s5_of(&one), Some((5, 6)));
}

#[test]
fn s5_absent() {
    assert_eq!(s5_of(&noise()), None);
    assert_eq!(s5_of(&[]), None);
    // A reference to _S5_ that is not a Name definition is skipped.
    let reference = [0x70, b'_', b'S', b'5', b'_', 0x60];
    assert_eq!(s5_of(&reference), None);
    let mut aml = reference.to_vec();
    aml.extend_from_slice(S5_BYTES);
    assert_eq!(s5_of(&aml), Some((5, 5)));
}

#[test]
fn s5_malformed() {
    // Name without a package.
    assert_eq!(s5_of(&[0x08, b'_', b'S', b'5', b'_', 0x0A, 0x05]), None);
    // Package cut off by the end of the table.
    assert_eq!(s5_of(&S5_BYTES[..10]), None);
    // Zero elements.
    assert_eq!(
        s5_of(&[0x08, b'_', b'S', b'5', b'_', 0x12, 0x02, 0x00]),
        None
    );
    // Elements run past the package length.
    assert_eq!(
        s5_of(&[
            0x08, b'_', b'S', b'5', b'_', 0x12, 0x02, 0x04, 0x0A, 0x05, 0x0A, 0x05
        ]),
        None
    );
    // Name at the very start of the body has no NameOp before it.
    assert_eq!(
        s5_of(&[
            b'_', b'S', b'5', b'_', 0x12, 0x06, 0x04, 0x0A, 0x05, 0x0A, 0x05, 0, 0
        ]),
        None
    );
}

#[test]
fn s5_across_chunk_boundary() {
    for pad in 500..520 {
        let mut aml = vec![0xA3u8; pad]; // NoopOp padding
        aml.extend_from_slice(S5_BYTES);
        assert_eq!(s5_of(&aml), Some((5, 5)), "pad {pad}");
    }
    let mut aml = vec![0xA3u8; 5000];
    aml.extend_from_slice(S5_BYTES);
    assert_eq!(s5_of(&aml), Some((5, 5)));
}

#[test]
fn s5_bad_dsdt() {
    let mut m = system(S5_BYTES);
    let mut d = dsdt(S5_BYTES);
    d[40] ^= 1;
    m.put(DSDT_AT, d);
    let f = Tables::new(&m, RSDP).unwrap().fadt(&m).unwrap();
    assert_eq!(f.s5_sleep_types(&m), None);
    m.put(DSDT_AT, sdt(b"SSDT", 2, S5_BYTES));
    assert_eq!(f.s5_sleep_types(&m), None);
    assert_eq!(Fadt::default().s5_sleep_types(&m), None);
}

#[test]
fn error_display() {
    assert_eq!(AcpiError::TooLarge.to_string(), "ACPI table too large");
    assert_eq!(AcpiError::BadRsdp.to_string(), "invalid RSDP or root table");
}

// ---------------------------------------------------------------- fuzzing

/// Install `bytes` as a table at `at`, optionally lying about the length,
/// with the checksum fixed up over whatever bytes the length field covers.
fn fuzz_table(sig: &[u8; 4], body: &[u8], len_override: Option<u32>) -> Vec<u8> {
    let mut t = sdt(sig, 2, body);
    if let Some(l) = len_override {
        t[4..8].copy_from_slice(&l.to_le_bytes());
        let covered = (l as usize).min(t.len());
        set_checksum(&mut t[..covered.max(10)], 9);
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn fuzz_madt(body in proptest::collection::vec(any::<u8>(), 0..600), len in proptest::option::of(0u32..700)) {
        let mut m = Mem::default();
        m.put(MADT_AT, fuzz_table(b"APIC", &body, len));
        if let Ok(madt) = Madt::from_table(&m, MADT_AT) {
            for irq in 0..16 {
                let _ = madt.isa_irq(irq);
            }
            prop_assert!(madt.cpus.len() <= 256);
        }
    }

    #[test]
    fn fuzz_madt_entries(entries in proptest::collection::vec(
        (any::<u8>(), 0u8..24, proptest::collection::vec(any::<u8>(), 0..24)), 0..40)) {
        // Structured-ish entries: plausible types and lengths with random payloads.
        let mut e = Vec::new();
        for (ty, len, payload) in entries {
            e.push(ty % 12);
            e.push(len);
            e.extend(payload);
        }
        let mut m = Mem::default();
        m.put(MADT_AT, madt_img(0xfee0_0000, 1, &e));
        prop_assert!(Madt::from_table(&m, MADT_AT).is_ok());
    }

    #[test]
    fn fuzz_fadt(body in proptest::collection::vec(any::<u8>(), 0..300), len in proptest::option::of(0u32..400)) {
        let mut m = Mem::default();
        m.put(FADT_AT, fuzz_table(b"FACP", &body, len));
        if let Ok(f) = Fadt::from_table(&m, FADT_AT) {
            // Whatever DSDT it points at is fine to scan.
            let _ = f.s5_sleep_types(&m);
            if body.len() + 36 < 116 {
                prop_assert_eq!(f.reset_reg, None);
            }
        }
    }

    #[test]
    fn fuzz_dsdt(pre in proptest::collection::vec(any::<u8>(), 0..700),
                 tail in proptest::collection::vec(any::<u8>(), 0..40),
                 form in 0u8..3) {
        let mut aml = pre;
        match form {
            0 => {}
            1 => aml.extend_from_slice(&[0x08, b'_', b'S', b'5', b'_', 0x12]),
            _ => aml.extend_from_slice(&[0x08, b'\\', b'_', b'S', b'5', b'_']),
        }
        aml.extend(tail);
        let _ = s5_of(&aml);
    }

    #[test]
    fn fuzz_rsdp_and_root(rsdp in proptest::collection::vec(any::<u8>(), 36..40),
                          root_body in proptest::collection::vec(any::<u8>(), 0..64),
                          xsdt_root in any::<bool>()) {
        let mut r = rsdp;
        r[..8].copy_from_slice(b"RSD PTR ");
        set_checksum(&mut r[..20], 8);
        set_checksum(&mut r[..36], 32);
        r[16..20].copy_from_slice(&(ROOT as u32).to_le_bytes());
        let mut m = Mem::default();
        m.put(RSDP, r).put(ROOT, sdt(if xsdt_root { b"XSDT" } else { b"RSDT" }, 1, &root_body));
        if let Ok(t) = Tables::new(&m, RSDP) {
            let _ = t.signatures(&m).count();
            let _ = t.madt(&m);
            let _ = t.fadt(&m);
            let _ = t.find(&m, b"DSDT");
        }
    }
}
