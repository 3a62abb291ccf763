//! CPUID: identification and the feature bits the kernel relies on.

use core::arch::x86_64::{__cpuid_count, CpuidResult};

pub fn cpuid(leaf: u32, sub: u32) -> CpuidResult {
    // CPUID is available on every x86-64 CPU; the intrinsic is safe in Rust >= 1.87.
    __cpuid_count(leaf, sub)
}

/// Feature bits Tine looks at, gathered once.
#[derive(Clone, Copy, Debug, Default)]
pub struct Features {
    pub max_leaf: u32,
    pub max_ext_leaf: u32,
    pub family: u32,
    pub model: u32,
    pub stepping: u32,
    pub sse2: bool,
    pub fxsr: bool,
    pub xsave: bool,
    pub avx: bool,
    pub x2apic: bool,
    pub tsc_deadline: bool,
    pub pge: bool,
    pub pat: bool,
    pub apic: bool,
    pub nx: bool,
    pub page1gb: bool,
    pub rdtscp: bool,
    pub smep: bool,
    pub smap: bool,
    pub fsgsbase: bool,
    pub umip: bool,
    pub invariant_tsc: bool,
    pub rdrand: bool,
    pub rdseed: bool,
    pub hypervisor: bool,
}

impl Features {
    pub fn detect() -> Features {
        let l0 = cpuid(0, 0);
        let mut f = Features {
            max_leaf: l0.eax,
            ..Features::default()
        };
        let l1 = cpuid(1, 0);
        let base_family = (l1.eax >> 8) & 0xf;
        let ext_family = (l1.eax >> 20) & 0xff;
        f.family = if base_family == 0xf {
            base_family + ext_family
        } else {
            base_family
        };
        let base_model = (l1.eax >> 4) & 0xf;
        let ext_model = (l1.eax >> 16) & 0xf;
        f.model = if base_family >= 6 {
            (ext_model << 4) | base_model
        } else {
            base_model
        };
        f.stepping = l1.eax & 0xf;
        f.sse2 = l1.edx & (1 << 26) != 0;
        f.fxsr = l1.edx & (1 << 24) != 0;
        f.pge = l1.edx & (1 << 13) != 0;
        f.pat = l1.edx & (1 << 16) != 0;
        f.apic = l1.edx & (1 << 9) != 0;
        f.xsave = l1.ecx & (1 << 26) != 0;
        f.avx = l1.ecx & (1 << 28) != 0;
        f.x2apic = l1.ecx & (1 << 21) != 0;
        f.tsc_deadline = l1.ecx & (1 << 24) != 0;
        f.rdrand = l1.ecx & (1 << 30) != 0;
        f.hypervisor = l1.ecx & (1 << 31) != 0;
        if f.max_leaf >= 7 {
            let l7 = cpuid(7, 0);
            f.fsgsbase = l7.ebx & 1 != 0;
            f.smep = l7.ebx & (1 << 7) != 0;
            f.smap = l7.ebx & (1 << 20) != 0;
            f.rdseed = l7.ebx & (1 << 18) != 0;
            f.umip = l7.ecx & (1 << 2) != 0;
        }
        f.max_ext_leaf = cpuid(0x8000_0000, 0).eax;
        if f.max_ext_leaf >= 0x8000_0001 {
            let e1 = cpuid(0x8000_0001, 0);
            f.nx = e1.edx & (1 << 20) != 0;
            f.page1gb = e1.edx & (1 << 26) != 0;
            f.rdtscp = e1.edx & (1 << 27) != 0;
        }
        if f.max_ext_leaf >= 0x8000_0007 {
            f.invariant_tsc = cpuid(0x8000_0007, 0).edx & (1 << 8) != 0;
        }
        f
    }

    /// Names of the features that are present, in a fixed order, for the boot banner.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        let all = [
            (self.sse2, "sse2"),
            (self.fxsr, "fxsr"),
            (self.xsave, "xsave"),
            (self.avx, "avx"),
            (self.apic, "apic"),
            (self.x2apic, "x2apic"),
            (self.tsc_deadline, "tsc-deadline"),
            (self.invariant_tsc, "invariant-tsc"),
            (self.pge, "pge"),
            (self.pat, "pat"),
            (self.nx, "nx"),
            (self.page1gb, "pdpe1gb"),
            (self.rdtscp, "rdtscp"),
            (self.smep, "smep"),
            (self.smap, "smap"),
            (self.umip, "umip"),
            (self.fsgsbase, "fsgsbase"),
            (self.rdrand, "rdrand"),
            (self.rdseed, "rdseed"),
            (self.hypervisor, "hypervisor"),
        ];
        all.into_iter().filter(|(on, _)| *on).map(|(_, n)| n)
    }
}

/// The CPU vendor string ("GenuineIntel", "AuthenticAMD", ...).
pub fn vendor() -> [u8; 12] {
    let l0 = cpuid(0, 0);
    let mut v = [0u8; 12];
    v[0..4].copy_from_slice(&l0.ebx.to_le_bytes());
    v[4..8].copy_from_slice(&l0.edx.to_le_bytes());
    v[8..12].copy_from_slice(&l0.ecx.to_le_bytes());
    v
}

/// The 48-byte processor brand string, if the CPU has one.
pub fn brand() -> Option<[u8; 48]> {
    if cpuid(0x8000_0000, 0).eax < 0x8000_0004 {
        return None;
    }
    let mut b = [0u8; 48];
    for (i, leaf) in (0x8000_0002u32..=0x8000_0004).enumerate() {
        let r = cpuid(leaf, 0);
        for (j, reg) in [r.eax, r.ebx, r.ecx, r.edx].into_iter().enumerate() {
            let at = i * 16 + j * 4;
            b[at..at + 4].copy_from_slice(&reg.to_le_bytes());
        }
    }
    Some(b)
}
