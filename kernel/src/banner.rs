//! The boot report: version, command line, firmware memory map, memory totals, CPU model and
//! the features in use, and how long boot took.

use bootinfo::{Cmdline, MemKind};
use hal::mem::frames;
use log::info;

use crate::platform::Platform;

fn kind_name(k: MemKind) -> &'static str {
    match k {
        MemKind::Ram => "usable",
        MemKind::Reserved => "reserved",
        MemKind::AcpiReclaimable => "ACPI data",
        MemKind::AcpiNvs => "ACPI NVS",
        MemKind::Unusable => "unusable",
        MemKind::Other(_) => "other",
    }
}

pub fn early(info: &hal::BootInfo, cmdline: &Cmdline<'_>) {
    info!(
        "Tine {} ({}) x86_64 — booted via PVH (start info v{})",
        crate::VERSION,
        crate::GIT_REV,
        info.start_info_version
    );
    info!("command line: {}", cmdline.raw());
    for m in info.memory_map {
        info!(
            "firmware memory: [mem {:#018x}-{:#018x}] {}",
            m.addr,
            m.addr.saturating_add(m.size).saturating_sub(1),
            kind_name(m.kind)
        );
    }
    let (ks, ke) = info.kernel_image;
    info!(
        "kernel image: {:#x}-{:#x} ({} KiB)",
        ks,
        ke,
        (ke - ks) / 1024
    );
    match info.initrd {
        Some((pa, size)) => info!(
            "initrd: {:#x}-{:#x} ({} KiB), kept for unpacking",
            pa,
            pa + size,
            size / 1024
        ),
        None => info!("initrd: none"),
    }
    let brand = hal::arch::cpuid::brand();
    let brand = brand
        .as_ref()
        .and_then(|b| core::str::from_utf8(b).ok())
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .unwrap_or("unknown");
    let vendor = hal::arch::cpuid::vendor();
    let f = &info.features;
    info!(
        "CPU: {} ({}, family {:#x} model {:#x} stepping {})",
        brand,
        core::str::from_utf8(&vendor).unwrap_or("?"),
        f.family,
        f.model,
        f.stepping
    );
    info!("CPU features: {}", Features(f));
    info!(
        "CPU features in use: {}{}{}{}long mode, APIC, TSC",
        if f.nx { "NX, " } else { "" },
        if f.pge { "global pages, " } else { "" },
        if f.smep { "SMEP, " } else { "" },
        if f.smap { "SMAP, " } else { "" }
    );
}

pub fn late(info: &hal::BootInfo, p: &Platform) {
    let s = frames::stats();
    let kib = |frames: u64| frames * 4;
    let (ks, ke) = info.kernel_image;
    info!(
        "Memory: {} KiB RAM, {} KiB managed, {} KiB free, {} KiB kernel, {} KiB frame metadata, {} KiB initrd",
        info.ram_bytes / 1024,
        kib(s.total),
        kib(s.free),
        (ke - ks) / 1024,
        info.frame_metadata_bytes / 1024,
        info.initrd.map_or(0, |(_, sz)| sz.div_ceil(4096) * 4)
    );
    let ns = hal::time::uptime_ns();
    info!(
        "boot took {}.{:03} ms ({} CPU(s) found, TSC {} MHz)",
        ns / 1_000_000,
        (ns / 1000) % 1000,
        p.cpus,
        p.tsc_hz / 1_000_000
    );
}

struct Features<'a>(&'a hal::arch::cpuid::Features);

impl core::fmt::Display for Features<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, n) in self.0.names().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(n)?;
        }
        Ok(())
    }
}
