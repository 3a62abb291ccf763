//! MADT ("APIC") parsing: local APICs / x2APICs, I/O APICs, interrupt source
//! overrides, local APIC NMIs and the local APIC address override.

use crate::sdt::{byte, le_u16, le_u32, le_u64, read_array, read_into, validate_table};
use crate::{AcpiError, FixedVec, PhysMem};

/// Offset of the first interrupt-controller structure.
const MADT_ENTRIES_OFFSET: u32 = 44;

/// A processor's local APIC (MADT type 0) or local x2APIC (type 9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LocalApic {
    pub processor_uid: u32,
    pub apic_id: u32,
    pub enabled: bool,
    pub online_capable: bool,
}

/// An I/O APIC (MADT type 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct IoApic {
    pub id: u8,
    pub addr: u32,
    pub gsi_base: u32,
}

/// An interrupt source override (MADT type 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct IrqOverride {
    pub bus_irq: u8,
    pub gsi: u32,
    pub active_low: bool,
    pub level_triggered: bool,
}

/// A local APIC NMI input (MADT type 4 or 0xA).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LapicNmi {
    /// Processor UID; type 4's 0xff "all processors" is widened to 0xffff_ffff.
    pub processor_uid: u32,
    pub lint: u8,
    pub active_low: bool,
    pub level_triggered: bool,
}

impl LapicNmi {
    /// True if this NMI applies to every processor.
    pub fn applies_to_all(&self) -> bool {
        self.processor_uid == u32::MAX
    }

    /// True if this NMI applies to the processor with `uid`.
    pub fn applies_to(&self, uid: u32) -> bool {
        self.applies_to_all() || self.processor_uid == uid
    }
}

/// The parsed Multiple APIC Description Table. Entries beyond a list's
/// capacity, entries shorter than their type requires and unknown entry
/// types are ignored; a zero/one-length entry or one running past the table
/// end stops parsing.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Madt {
    /// Local APIC physical address (32-bit field, overridden by a type 5 entry).
    pub local_apic_addr: u64,
    /// Dual 8259 PICs are present (flags bit 0).
    pub pcat_compat: bool,
    pub cpus: FixedVec<LocalApic, 256>,
    pub ioapics: FixedVec<IoApic, 16>,
    pub overrides: FixedVec<IrqOverride, 32>,
    pub nmis: FixedVec<LapicNmi, 16>,
}

/// Decode MPS INTI flags: (active_low, level_triggered). "Conforms to bus"
/// (0) and reserved (2) values are taken as ISA defaults: active high, edge.
fn inti_flags(flags: u16) -> (bool, bool) {
    (flags & 0b11 == 0b11, (flags >> 2) & 0b11 == 0b11)
}

impl Madt {
    /// Validate (signature "APIC", length, checksum) and parse the MADT at `paddr`.
    pub fn from_table(mem: &impl PhysMem, paddr: u64) -> Result<Madt, AcpiError> {
        let hdr = validate_table(mem, paddr, Some(b"APIC"))?;
        Self::parse_validated(mem, paddr, hdr.length)
    }

    /// Parse a MADT whose header and checksum were already validated.
    pub(crate) fn parse_validated(
        mem: &impl PhysMem,
        paddr: u64,
        len: u32,
    ) -> Result<Madt, AcpiError> {
        if len < MADT_ENTRIES_OFFSET {
            return Err(AcpiError::Truncated);
        }
        let fixed: [u8; 8] = read_array(mem, paddr, 36)?;
        let mut madt = Madt {
            local_apic_addr: u64::from(le_u32(&fixed, 0).unwrap_or(0)),
            pcat_compat: le_u32(&fixed, 4).unwrap_or(0) & 1 != 0,
            ..Madt::default()
        };

        let mut buf = [0u8; 255];
        let mut off = MADT_ENTRIES_OFFSET;
        while off.saturating_add(2) <= len {
            let [etype, elen]: [u8; 2] = read_array(mem, paddr, u64::from(off))?;
            let end = off + u32::from(elen);
            if elen < 2 || end > len {
                break;
            }
            let entry = buf
                .get_mut(..usize::from(elen))
                .ok_or(AcpiError::Truncated)?;
            read_into(mem, paddr, u64::from(off), entry)?;
            madt.add_entry(etype, entry);
            off = end;
        }
        Ok(madt)
    }

    /// Decode one entry (`e` includes the type and length bytes). Entries
    /// too short for their type are skipped; full lists drop extras.
    fn add_entry(&mut self, etype: u8, e: &[u8]) {
        match etype {
            0 => {
                if let (Some(uid), Some(id), Some(flags)) = (byte(e, 2), byte(e, 3), le_u32(e, 4)) {
                    let _ = self.cpus.push(LocalApic {
                        processor_uid: u32::from(uid),
                        apic_id: u32::from(id),
                        enabled: flags & 1 != 0,
                        online_capable: flags & 2 != 0,
                    });
                }
            }
            1 => {
                if let (Some(id), Some(addr), Some(gsi_base)) =
                    (byte(e, 2), le_u32(e, 4), le_u32(e, 8))
                {
                    let _ = self.ioapics.push(IoApic { id, addr, gsi_base });
                }
            }
            2 => {
                if let (Some(_bus), Some(irq), Some(gsi), Some(flags)) =
                    (byte(e, 2), byte(e, 3), le_u32(e, 4), le_u16(e, 8))
                {
                    let (active_low, level_triggered) = inti_flags(flags);
                    let _ = self.overrides.push(IrqOverride {
                        bus_irq: irq,
                        gsi,
                        active_low,
                        level_triggered,
                    });
                }
            }
            4 => {
                if let (Some(uid), Some(flags), Some(lint)) = (byte(e, 2), le_u16(e, 3), byte(e, 5))
                {
                    let (active_low, level_triggered) = inti_flags(flags);
                    let processor_uid = if uid == 0xff {
                        u32::MAX
                    } else {
                        u32::from(uid)
                    };
                    let _ = self.nmis.push(LapicNmi {
                        processor_uid,
                        lint,
                        active_low,
                        level_triggered,
                    });
                }
            }
            5 => {
                if let Some(addr) = le_u64(e, 4) {
                    self.local_apic_addr = addr;
                }
            }
            9 => {
                if let (Some(id), Some(flags), Some(uid)) =
                    (le_u32(e, 4), le_u32(e, 8), le_u32(e, 12))
                {
                    let _ = self.cpus.push(LocalApic {
                        processor_uid: uid,
                        apic_id: id,
                        enabled: flags & 1 != 0,
                        online_capable: flags & 2 != 0,
                    });
                }
            }
            0xA => {
                if let (Some(flags), Some(processor_uid), Some(lint)) =
                    (le_u16(e, 2), le_u32(e, 4), byte(e, 8))
                {
                    let (active_low, level_triggered) = inti_flags(flags);
                    let _ = self.nmis.push(LapicNmi {
                        processor_uid,
                        lint,
                        active_low,
                        level_triggered,
                    });
                }
            }
            _ => {}
        }
    }

    /// GSI, active_low and level_triggered for ISA IRQ `irq`, applying the
    /// first matching interrupt source override (default: identity, active high, edge).
    pub fn isa_irq(&self, irq: u8) -> (u32, bool, bool) {
        self.overrides
            .iter()
            .find(|o| o.bus_irq == irq)
            .map_or((u32::from(irq), false, false), |o| {
                (o.gsi, o.active_low, o.level_triggered)
            })
    }
}
