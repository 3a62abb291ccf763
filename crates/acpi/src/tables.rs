//! RSDP parsing and the RSDT/XSDT table directory: `Tables` and table lookup by signature.

use crate::sdt::{
    MAX_TABLE_LEN, SDT_HEADER_LEN, byte, le_u32, le_u64, read_array, sum, sum_phys, validate_table,
};
use crate::{AcpiError, Fadt, Madt, PhysMem};

/// Maximum number of root-table entries remembered; further entries are ignored.
pub const MAX_ENTRIES: usize = 64;

const RSDP_SIG: &[u8; 8] = b"RSD PTR ";
const RSDP_V1_LEN: usize = 20;
const RSDP_V2_LEN: u32 = 36;

/// The ACPI table directory: what the RSDP and its root table (XSDT or RSDT) say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tables {
    revision: u8,
    oem_id: [u8; 6],
    root_addr: u64,
    root_is_xsdt: bool,
    entries: [u64; MAX_ENTRIES],
    count: usize,
    dropped: usize,
}

impl Tables {
    /// Parse the RSDP at `rsdp_paddr` ("RSD PTR ", v1 20-byte checksum, v2
    /// extended checksum over its length) and the root table it points to.
    /// The XSDT is preferred when revision >= 2 and its address is nonzero;
    /// if the XSDT is invalid and an RSDT address is present, the RSDT is used.
    pub fn new(mem: &impl PhysMem, rsdp_paddr: u64) -> Result<Tables, AcpiError> {
        let v1: [u8; RSDP_V1_LEN] = read_array(mem, rsdp_paddr, 0)?;
        if !v1.starts_with(RSDP_SIG) {
            return Err(AcpiError::BadRsdp);
        }
        if sum(&v1) != 0 {
            return Err(AcpiError::BadChecksum);
        }
        let oem_id: [u8; 6] = crate::sdt::arr(&v1, 9).ok_or(AcpiError::BadRsdp)?;
        let revision = byte(&v1, 15).ok_or(AcpiError::BadRsdp)?;
        let rsdt = u64::from(le_u32(&v1, 16).ok_or(AcpiError::BadRsdp)?);

        let mut xsdt = 0u64;
        if revision >= 2 {
            let v2: [u8; RSDP_V2_LEN as usize] = read_array(mem, rsdp_paddr, 0)?;
            let length = le_u32(&v2, 20).ok_or(AcpiError::BadRsdp)?;
            if length < RSDP_V2_LEN {
                return Err(AcpiError::BadRsdp);
            }
            if length > MAX_TABLE_LEN {
                return Err(AcpiError::TooLarge);
            }
            if sum_phys(mem, rsdp_paddr, length)? != 0 {
                return Err(AcpiError::BadChecksum);
            }
            xsdt = le_u64(&v2, 24).ok_or(AcpiError::BadRsdp)?;
        }

        let mut tables = Tables {
            revision,
            oem_id,
            root_addr: 0,
            root_is_xsdt: false,
            entries: [0; MAX_ENTRIES],
            count: 0,
            dropped: 0,
        };
        if xsdt != 0 {
            match tables.load_root(mem, xsdt, true) {
                Ok(()) => return Ok(tables),
                Err(e) if rsdt == 0 => return Err(e),
                Err(_) => {}
            }
        }
        if rsdt == 0 {
            return Err(AcpiError::NotFound);
        }
        tables.load_root(mem, rsdt, false)?;
        Ok(tables)
    }

    /// Validate the root table at `addr` and record its nonzero entries.
    fn load_root(&mut self, mem: &impl PhysMem, addr: u64, xsdt: bool) -> Result<(), AcpiError> {
        let sig = if xsdt { b"XSDT" } else { b"RSDT" };
        let hdr = validate_table(mem, addr, Some(sig)).map_err(|e| match e {
            AcpiError::NotFound => AcpiError::BadRsdp,
            e => e,
        })?;
        let width: u32 = if xsdt { 8 } else { 4 };
        let n = (hdr.length - SDT_HEADER_LEN) / width;
        self.count = 0;
        self.dropped = 0;
        for i in 0..n {
            let off = u64::from(SDT_HEADER_LEN + i * width);
            let entry = if xsdt {
                u64::from_le_bytes(read_array(mem, addr, off)?)
            } else {
                u64::from(u32::from_le_bytes(read_array(mem, addr, off)?))
            };
            if entry == 0 {
                continue;
            }
            match self.entries.get_mut(self.count) {
                Some(slot) => {
                    *slot = entry;
                    self.count += 1;
                }
                None => self.dropped += 1,
            }
        }
        self.root_addr = addr;
        self.root_is_xsdt = xsdt;
        Ok(())
    }

    /// OEM ID from the RSDP.
    pub fn oem_id(&self) -> [u8; 6] {
        self.oem_id
    }

    /// RSDP revision (0 for ACPI 1.0, 2 for ACPI 2.0 and later).
    pub fn revision(&self) -> u8 {
        self.revision
    }

    /// Physical address of the root table in use and whether it is the XSDT.
    pub fn root_table(&self) -> (u64, bool) {
        (self.root_addr, self.root_is_xsdt)
    }

    /// Physical addresses of the (nonzero) tables listed by the root table.
    pub fn entries(&self) -> &[u64] {
        self.entries.get(..self.count).unwrap_or(&[])
    }

    /// Number of root-table entries ignored because more than [`MAX_ENTRIES`] were listed.
    pub fn dropped_entries(&self) -> usize {
        self.dropped
    }

    /// Locate the first valid table with signature `sig`. If tables with that
    /// signature exist but none is valid, the first one's error is returned.
    pub fn locate(&self, mem: &impl PhysMem, sig: &[u8; 4]) -> Result<(u64, u32), AcpiError> {
        if sig == b"DSDT" {
            // The DSDT is not listed in the root table; it hangs off the FADT.
            let dsdt = self.fadt(mem)?.dsdt;
            if dsdt == 0 {
                return Err(AcpiError::NotFound);
            }
            return validate_table(mem, dsdt, Some(sig)).map(|h| (dsdt, h.length));
        }
        let mut first_err = None;
        for &addr in self.entries() {
            match validate_table(mem, addr, Some(sig)) {
                Ok(h) => return Ok((addr, h.length)),
                Err(AcpiError::NotFound) => {}
                // An unreadable header says nothing about the signature.
                Err(AcpiError::Unreadable) if read_sig(mem, addr).is_none() => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.unwrap_or(AcpiError::NotFound))
    }

    /// Physical address and length of the first table with this signature
    /// whose checksum is valid. `b"DSDT"` is resolved through the FADT.
    pub fn find(&self, mem: &impl PhysMem, sig: &[u8; 4]) -> Option<(u64, u32)> {
        self.locate(mem, sig).ok()
    }

    /// Signatures of the listed tables (unreadable entries skipped), for the boot log.
    pub fn signatures(&self, mem: &impl PhysMem) -> impl Iterator<Item = [u8; 4]> {
        self.entries()
            .iter()
            .filter_map(move |&addr| read_array::<4>(mem, addr, 0).ok())
    }

    /// Locate and parse the MADT ("APIC").
    pub fn madt(&self, mem: &impl PhysMem) -> Result<Madt, AcpiError> {
        let (addr, len) = self.locate(mem, b"APIC")?;
        Madt::parse_validated(mem, addr, len)
    }

    /// Locate and parse the FADT ("FACP").
    pub fn fadt(&self, mem: &impl PhysMem) -> Result<Fadt, AcpiError> {
        let (addr, len) = self.locate(mem, b"FACP")?;
        Fadt::parse_validated(mem, addr, len)
    }
}

/// The signature at `addr`, if readable.
fn read_sig(mem: &impl PhysMem, addr: u64) -> Option<[u8; 4]> {
    read_array::<4>(mem, addr, 0).ok()
}
