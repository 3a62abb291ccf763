//! Platform bring-up after the HAL's boot: ACPI tables (CPUs, interrupt controllers, power),
//! local and I/O APIC, the serial port's receive interrupt, timer calibration and the tick.

use acpi::{PhysMem, Tables};
use hal::{apic, power, serial, time, trap};
use log::{info, warn};

/// Physical memory access for the ACPI parser, through the HAL's fault-tolerant copy.
pub struct Phys;

impl PhysMem for Phys {
    fn read(&self, paddr: u64, buf: &mut [u8]) -> bool {
        hal::mem::read_phys(paddr, buf)
    }
}

/// What the platform looks like, for the banner and `/proc` later.
#[derive(Default)]
pub struct Platform {
    pub cpus: usize,
    pub lapic_phys: u64,
    pub ioapics: usize,
    pub tsc_hz: u64,
    pub apic_timer_hz: u64,
    /// FADT CENTURY register of the CMOS clock (0: none).
    pub century: u8,
}

pub const TICK_HZ: u64 = 250;

pub fn init(info: &hal::BootInfo) -> Platform {
    let mut p = Platform::default();
    let tables = if info.rsdp != 0 {
        Tables::new(&Phys, info.rsdp).ok()
    } else {
        None
    };
    let madt = tables.as_ref().and_then(|t| t.madt(&Phys).ok());
    match &tables {
        Some(t) => {
            let oem = t.oem_id();
            let mut sigs = [[b' '; 4]; 16];
            let mut n = 0;
            for s in t.signatures(&Phys).take(16) {
                sigs[n] = s;
                n += 1;
            }
            let names: &[[u8; 4]] = &sigs[..n];
            info!(
                "ACPI: revision {}, OEM {:?}, tables: {}",
                t.revision(),
                core::str::from_utf8(&oem).unwrap_or("?"),
                SigList(names)
            );
        }
        None => warn!(
            "ACPI: no usable RSDP (rsdp={:#x}); power off falls back to the debug-exit port",
            info.rsdp
        ),
    }
    if let Some(fadt) = tables.as_ref().and_then(|t| t.fadt(&Phys).ok()) {
        let (a, b) = fadt.s5_sleep_types(&Phys).unwrap_or((0, 0));
        let reset = fadt
            .reset_reg
            .filter(|g| g.space_id == 1)
            .map(|g| (g.address as u16, fadt.reset_value));
        p.century = fadt.century;
        power::configure_acpi(fadt.pm1a_cnt_blk, fadt.pm1b_cnt_blk, a, b, reset);
        info!(
            "ACPI: PM1a_CNT={:#x} S5 SLP_TYP={a}/{b} reset={reset:x?}",
            fadt.pm1a_cnt_blk
        );
    }

    p.lapic_phys = madt.as_ref().map_or(0xFEE0_0000, |m| m.local_apic_addr);
    if let Err(e) = apic::init(p.lapic_phys) {
        panic!("local APIC: {e}");
    }
    p.cpus = madt
        .as_ref()
        .map_or(1, |m| {
            m.cpus
                .iter()
                .filter(|c| c.enabled || c.online_capable)
                .count()
        })
        .max(1);
    info!(
        "APIC: local APIC id {} version {:#x} at {:#x}; {} CPU(s) described by firmware (1 started)",
        apic::id(),
        apic::version(),
        p.lapic_phys,
        p.cpus
    );

    // The serial port's interrupt: ISA IRQ 4, possibly remapped by an override.
    let (gsi, active_low, level) = madt.as_ref().map_or((4, false, false), |m| m.isa_irq(4));
    let ioapic = madt
        .as_ref()
        .and_then(|m| m.ioapics.iter().find(|io| gsi >= io.gsi_base).copied());
    match ioapic {
        Some(io) => match apic::ioapic_init(u64::from(io.addr), io.gsi_base) {
            Ok(lines) => {
                p.ioapics = madt.as_ref().map_or(0, |m| m.ioapics.len());
                info!(
                    "IOAPIC: id {} at {:#x}, GSIs {}..{}",
                    io.id,
                    io.addr,
                    io.gsi_base,
                    io.gsi_base + lines
                );
                trap::register_irq(trap::VEC_SERIAL, |_| {
                    serial::handle_irq();
                    crate::console::input_arrived();
                });
                match apic::ioapic_route(gsi, trap::VEC_SERIAL, apic::id(), active_low, level) {
                    Ok(()) => serial::enable_rx_interrupt(),
                    Err(e) => warn!("serial: cannot route IRQ 4 (GSI {gsi}): {e}"),
                }
            }
            Err(e) => warn!("IOAPIC: {e}"),
        },
        None => warn!("IOAPIC: none described; serial input disabled"),
    }

    let (tsc, apic_hz) = time::calibrate(20);
    p.tsc_hz = tsc;
    p.apic_timer_hz = apic_hz;
    info!(
        "time: TSC {}.{:03} MHz, APIC timer {} kHz (÷16), tick {} Hz",
        tsc / 1_000_000,
        (tsc / 1000) % 1000,
        apic_hz / 1000,
        TICK_HZ
    );
    time::start_tick(TICK_HZ);
    p
}

struct SigList<'a>(&'a [[u8; 4]]);

impl core::fmt::Display for SigList<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(core::str::from_utf8(s).unwrap_or("????"))?;
        }
        Ok(())
    }
}
