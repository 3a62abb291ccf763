//! FADT ("FACP") parsing: PM register blocks, reset register, boot
//! architecture flags and the DSDT address; fields past a short table's
//! length are reported as absent.

use crate::sdt::{arr, byte, le_u16, le_u32, le_u64, read_into, validate_table};
use crate::{AcpiError, PhysMem};

/// Bytes of the FADT we look at (ACPI 6.x FADT is 276 bytes long).
const FADT_MAX_PARSED: usize = 276;
/// Flags bit 10: RESET_REG_SUP.
const RESET_REG_SUP: u32 = 1 << 10;

/// Generic Address Structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Gas {
    pub space_id: u8,
    pub bit_width: u8,
    pub bit_offset: u8,
    pub access_size: u8,
    pub address: u64,
}

impl Gas {
    /// Address space ID for system memory.
    pub const SYSTEM_MEMORY: u8 = 0;
    /// Address space ID for system I/O ports.
    pub const SYSTEM_IO: u8 = 1;
    /// Address space ID for PCI configuration space.
    pub const PCI_CONFIG: u8 = 2;

    /// Decode the 12 bytes at `off` of `b`.
    fn parse(b: &[u8], off: usize) -> Option<Gas> {
        let raw: [u8; 12] = arr(b, off)?;
        Some(Gas {
            space_id: byte(&raw, 0)?,
            bit_width: byte(&raw, 1)?,
            bit_offset: byte(&raw, 2)?,
            access_size: byte(&raw, 3)?,
            address: le_u64(&raw, 4)?,
        })
    }
}

/// The parsed Fixed ACPI Description Table. Fields the table is too short to
/// contain are 0 / `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Fadt {
    pub sci_int: u16,
    pub smi_cmd: u32,
    pub acpi_enable: u8,
    pub pm1a_cnt_blk: u32,
    pub pm1b_cnt_blk: u32,
    pub pm_tmr_blk: u32,
    pub century: u8,
    pub iapc_boot_arch: u16,
    pub flags: u32,
    /// Present only if flags bit 10 (RESET_REG_SUP) is set and the table covers it.
    pub reset_reg: Option<Gas>,
    pub reset_value: u8,
    /// X_DSDT if present and nonzero, else DSDT.
    pub dsdt: u64,
    /// X_PM1a_CNT_BLK if the table covers it and its address is nonzero.
    pub x_pm1a_cnt_blk: Option<Gas>,
}

impl Fadt {
    /// Validate (signature "FACP", length, checksum) and parse the FADT at `paddr`.
    pub fn from_table(mem: &impl PhysMem, paddr: u64) -> Result<Fadt, AcpiError> {
        let hdr = validate_table(mem, paddr, Some(b"FACP"))?;
        Self::parse_validated(mem, paddr, hdr.length)
    }

    /// Parse a FADT whose header and checksum were already validated.
    pub(crate) fn parse_validated(
        mem: &impl PhysMem,
        paddr: u64,
        len: u32,
    ) -> Result<Fadt, AcpiError> {
        let mut buf = [0u8; FADT_MAX_PARSED];
        let n = usize::try_from(len)
            .unwrap_or(usize::MAX)
            .min(FADT_MAX_PARSED);
        let b = buf.get_mut(..n).ok_or(AcpiError::Truncated)?;
        read_into(mem, paddr, 0, b)?;
        Ok(Self::parse_bytes(b))
    }

    /// Decode from the table's bytes (`b` is cut at the table length, so
    /// out-of-range fields come back as `None` and take their defaults).
    fn parse_bytes(b: &[u8]) -> Fadt {
        let flags = le_u32(b, 112).unwrap_or(0);
        let dsdt32 = u64::from(le_u32(b, 40).unwrap_or(0));
        let x_dsdt = le_u64(b, 140).unwrap_or(0);
        // RESET_VALUE sits right after RESET_REG: require both.
        let reset_covered = b.len() > 128;
        Fadt {
            sci_int: le_u16(b, 46).unwrap_or(0),
            smi_cmd: le_u32(b, 48).unwrap_or(0),
            acpi_enable: byte(b, 52).unwrap_or(0),
            pm1a_cnt_blk: le_u32(b, 64).unwrap_or(0),
            pm1b_cnt_blk: le_u32(b, 68).unwrap_or(0),
            pm_tmr_blk: le_u32(b, 76).unwrap_or(0),
            century: byte(b, 108).unwrap_or(0),
            iapc_boot_arch: le_u16(b, 109).unwrap_or(0),
            flags,
            reset_reg: if flags & RESET_REG_SUP != 0 && reset_covered {
                Gas::parse(b, 116)
            } else {
                None
            },
            reset_value: if reset_covered {
                byte(b, 128).unwrap_or(0)
            } else {
                0
            },
            dsdt: if x_dsdt != 0 { x_dsdt } else { dsdt32 },
            x_pm1a_cnt_blk: Gas::parse(b, 172).filter(|g| g.address != 0),
        }
    }

    /// SLP_TYPa/SLP_TYPb values for S5 (soft-off), found by scanning the
    /// DSDT's AML for the `_S5_` package. The DSDT's signature and checksum
    /// are verified. `None` if the DSDT is invalid or `_S5_` is absent/malformed.
    pub fn s5_sleep_types(&self, mem: &impl PhysMem) -> Option<(u8, u8)> {
        crate::aml::find_s5(mem, self.dsdt)
    }
}
