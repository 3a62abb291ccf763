// Parsing of the PVH boot protocol structures (as used by QEMU and Xen):
// `hvm_start_info`, its module list entries and its E820-style memory map
// entries. The caller maps the physical memory and hands in byte slices; this
// module only decodes little-endian fields and validates magic and lengths.
//
// Layouts follow the public Xen header `xen/include/public/arch-x86/hvm/start_info.h`.

use core::fmt;

/// Value of `hvm_start_info.magic` ("xEn3" with the high bit of each byte set).
pub const START_INFO_MAGIC: u32 = 0x336e_c578;

/// Errors from decoding PVH structures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PvhError {
    /// The buffer holds fewer bytes than the structure needs.
    TooShort { need: usize, got: usize },
    /// `hvm_start_info.magic` is not [`START_INFO_MAGIC`].
    BadMagic(u32),
    /// A C string is not valid UTF-8.
    InvalidUtf8,
}

impl fmt::Display for PvhError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PvhError::TooShort { need, got } => {
                write!(f, "PVH structure truncated: need {need} bytes, got {got}")
            }
            PvhError::BadMagic(m) => write!(
                f,
                "bad PVH start info magic {m:#010x} (expected {START_INFO_MAGIC:#010x})"
            ),
            PvhError::InvalidUtf8 => f.write_str("PVH string is not valid UTF-8"),
        }
    }
}

impl core::error::Error for PvhError {}

fn need(bytes: &[u8], n: usize) -> Result<(), PvhError> {
    if bytes.len() < n {
        Err(PvhError::TooShort {
            need: n,
            got: bytes.len(),
        })
    } else {
        Ok(())
    }
}

fn read_array<const N: usize>(bytes: &[u8], off: usize) -> Result<[u8; N], PvhError> {
    let end = off.checked_add(N).ok_or(PvhError::TooShort {
        need: usize::MAX,
        got: bytes.len(),
    })?;
    bytes
        .get(off..end)
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or(PvhError::TooShort {
            need: end,
            got: bytes.len(),
        })
}

fn le32(bytes: &[u8], off: usize) -> Result<u32, PvhError> {
    read_array(bytes, off).map(u32::from_le_bytes)
}

fn le64(bytes: &[u8], off: usize) -> Result<u64, PvhError> {
    read_array(bytes, off).map(u64::from_le_bytes)
}

/// Decoded `hvm_start_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartInfo {
    pub version: u32,
    pub flags: u32,
    pub nr_modules: u32,
    pub modlist_paddr: u64,
    pub cmdline_paddr: u64,
    pub rsdp_paddr: u64,
    /// Physical address of the memory map; 0 for version 0.
    pub memmap_paddr: u64,
    /// Number of memory map entries; 0 for version 0.
    pub memmap_entries: u32,
}

impl StartInfo {
    /// Size of the version >= 1 structure.
    pub const SIZE: usize = 56;
    /// Size of the version 0 structure (no memory map fields).
    pub const SIZE_V0: usize = 40;

    /// Decodes a start info block. Checks the magic, then that the buffer is
    /// long enough for the structure version it claims.
    pub fn parse(bytes: &[u8]) -> Result<StartInfo, PvhError> {
        need(bytes, 8)?;
        let magic = le32(bytes, 0)?;
        if magic != START_INFO_MAGIC {
            return Err(PvhError::BadMagic(magic));
        }
        let version = le32(bytes, 4)?;
        let size = if version == 0 {
            Self::SIZE_V0
        } else {
            Self::SIZE
        };
        need(bytes, size)?;
        let (memmap_paddr, memmap_entries) = if version == 0 {
            (0, 0)
        } else {
            (le64(bytes, 40)?, le32(bytes, 48)?)
        };
        Ok(StartInfo {
            version,
            flags: le32(bytes, 8)?,
            nr_modules: le32(bytes, 12)?,
            modlist_paddr: le64(bytes, 16)?,
            cmdline_paddr: le64(bytes, 24)?,
            rsdp_paddr: le64(bytes, 32)?,
            memmap_paddr,
            memmap_entries,
        })
    }

    /// Byte length of the module list (`nr_modules * Module::SIZE`), if it
    /// fits in `usize`.
    pub fn modlist_len(&self) -> Option<usize> {
        usize::try_from(self.nr_modules)
            .ok()?
            .checked_mul(Module::SIZE)
    }

    /// Byte length of the memory map table, if it fits in `usize`.
    pub fn memmap_len(&self) -> Option<usize> {
        usize::try_from(self.memmap_entries)
            .ok()?
            .checked_mul(MemMapEntry::SIZE)
    }
}

/// Decoded `hvm_modlist_entry` (e.g. an initramfs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Module {
    pub paddr: u64,
    pub size: u64,
    /// Physical address of the module's command line, or 0.
    pub cmdline_paddr: u64,
}

impl Module {
    pub const SIZE: usize = 32;

    pub fn parse(bytes: &[u8]) -> Result<Module, PvhError> {
        need(bytes, Self::SIZE)?;
        Ok(Module {
            paddr: le64(bytes, 0)?,
            size: le64(bytes, 8)?,
            cmdline_paddr: le64(bytes, 16)?,
        })
    }

    /// Decodes `count` consecutive entries from `table`. Yields an error
    /// (and then stops) if the table is too short.
    pub fn parse_table(
        table: &[u8],
        count: usize,
    ) -> impl Iterator<Item = Result<Module, PvhError>> + '_ {
        parse_table(table, count, Self::SIZE, Self::parse)
    }

    /// Physical end address (exclusive), or `None` on overflow.
    pub fn end(&self) -> Option<u64> {
        self.paddr.checked_add(self.size)
    }
}

/// Type of a memory map entry (E820 numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemKind {
    Ram,
    Reserved,
    AcpiReclaimable,
    AcpiNvs,
    Unusable,
    Other(u32),
}

impl From<u32> for MemKind {
    fn from(v: u32) -> MemKind {
        match v {
            1 => MemKind::Ram,
            2 => MemKind::Reserved,
            3 => MemKind::AcpiReclaimable,
            4 => MemKind::AcpiNvs,
            5 => MemKind::Unusable,
            other => MemKind::Other(other),
        }
    }
}

impl From<MemKind> for u32 {
    fn from(k: MemKind) -> u32 {
        match k {
            MemKind::Ram => 1,
            MemKind::Reserved => 2,
            MemKind::AcpiReclaimable => 3,
            MemKind::AcpiNvs => 4,
            MemKind::Unusable => 5,
            MemKind::Other(v) => v,
        }
    }
}

/// Decoded `hvm_memmap_table_entry`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemMapEntry {
    pub addr: u64,
    pub size: u64,
    pub kind: MemKind,
}

impl MemMapEntry {
    pub const SIZE: usize = 24;

    pub fn parse(bytes: &[u8]) -> Result<MemMapEntry, PvhError> {
        need(bytes, Self::SIZE)?;
        Ok(MemMapEntry {
            addr: le64(bytes, 0)?,
            size: le64(bytes, 8)?,
            kind: MemKind::from(le32(bytes, 16)?),
        })
    }

    /// Decodes `count` consecutive entries from `table`. Yields an error
    /// (and then stops) if the table is too short.
    pub fn parse_table(
        table: &[u8],
        count: usize,
    ) -> impl Iterator<Item = Result<MemMapEntry, PvhError>> + '_ {
        parse_table(table, count, Self::SIZE, Self::parse)
    }

    /// End address (exclusive), saturated at `u64::MAX` on overflow.
    pub fn end(&self) -> u64 {
        self.addr.saturating_add(self.size)
    }
}

fn parse_table<'a, T: 'a>(
    table: &'a [u8],
    count: usize,
    size: usize,
    parse: fn(&[u8]) -> Result<T, PvhError>,
) -> impl Iterator<Item = Result<T, PvhError>> + 'a {
    let mut failed = false;
    (0..count).map_while(move |i| {
        if failed {
            return None;
        }
        let item = i.checked_mul(size).and_then(|off| table.get(off..)).map_or(
            Err(PvhError::TooShort {
                need: count.saturating_mul(size),
                got: table.len(),
            }),
            parse,
        );
        failed = item.is_err();
        Some(item)
    })
}

/// The C string at the start of `bytes`: up to the first NUL, or all of
/// `bytes` if there is none. Fails if that text is not valid UTF-8.
pub fn c_str(bytes: &[u8]) -> Result<&str, PvhError> {
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let text = bytes.get(..len).unwrap_or(bytes);
    core::str::from_utf8(text).map_err(|_| PvhError::InvalidUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a start info block the way a loader would lay it out.
    fn start_info_bytes(version: u32) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&START_INFO_MAGIC.to_le_bytes());
        b.extend_from_slice(&version.to_le_bytes());
        b.extend_from_slice(&0x11u32.to_le_bytes()); // flags
        b.extend_from_slice(&2u32.to_le_bytes()); // nr_modules
        b.extend_from_slice(&0x1000u64.to_le_bytes()); // modlist
        b.extend_from_slice(&0x2000u64.to_le_bytes()); // cmdline
        b.extend_from_slice(&0x000e_0000u64.to_le_bytes()); // rsdp
        b.extend_from_slice(&0x3000u64.to_le_bytes()); // memmap
        b.extend_from_slice(&7u32.to_le_bytes()); // memmap_entries
        b.extend_from_slice(&0u32.to_le_bytes()); // reserved
        assert_eq!(b.len(), StartInfo::SIZE);
        b
    }

    #[test]
    fn magic_bytes() {
        // "xEn3" with the top bit set on every byte, stored little-endian.
        assert_eq!(START_INFO_MAGIC.to_le_bytes(), [0x78, 0xc5, 0x6e, 0x33]);
    }

    #[test]
    fn start_info_v1() {
        let si = StartInfo::parse(&start_info_bytes(1)).unwrap();
        assert_eq!(
            si,
            StartInfo {
                version: 1,
                flags: 0x11,
                nr_modules: 2,
                modlist_paddr: 0x1000,
                cmdline_paddr: 0x2000,
                rsdp_paddr: 0xe0000,
                memmap_paddr: 0x3000,
                memmap_entries: 7,
            }
        );
        assert_eq!(si.modlist_len(), Some(64));
        assert_eq!(si.memmap_len(), Some(168));
    }

    #[test]
    fn start_info_v0_ignores_memmap() {
        let b = start_info_bytes(0);
        let full = StartInfo::parse(&b).unwrap();
        assert_eq!(full.version, 0);
        assert_eq!(full.memmap_paddr, 0);
        assert_eq!(full.memmap_entries, 0);
        assert_eq!(full.rsdp_paddr, 0xe0000);
        // v0 only needs 40 bytes.
        let short = StartInfo::parse(&b[..StartInfo::SIZE_V0]).unwrap();
        assert_eq!(short, full);
        assert_eq!(
            StartInfo::parse(&b[..StartInfo::SIZE_V0 - 1]),
            Err(PvhError::TooShort { need: 40, got: 39 })
        );
    }

    #[test]
    fn start_info_longer_buffer_ok() {
        let mut b = start_info_bytes(2);
        b.extend_from_slice(&[0xff; 16]);
        let si = StartInfo::parse(&b).unwrap();
        assert_eq!(si.version, 2);
        assert_eq!(si.memmap_entries, 7);
    }

    #[test]
    fn start_info_short_buffers() {
        let b = start_info_bytes(1);
        for n in 0..StartInfo::SIZE {
            match StartInfo::parse(&b[..n]) {
                Err(PvhError::TooShort { got, .. }) => assert_eq!(got, n),
                other => panic!("len {n}: {other:?}"),
            }
        }
        assert_eq!(
            StartInfo::parse(&b[..55]),
            Err(PvhError::TooShort { need: 56, got: 55 })
        );
    }

    #[test]
    fn start_info_bad_magic() {
        let mut b = start_info_bytes(1);
        b[0] ^= 1;
        assert_eq!(StartInfo::parse(&b), Err(PvhError::BadMagic(0x336e_c579)));
        // Big-endian magic is wrong too.
        let mut b = start_info_bytes(1);
        b[..4].copy_from_slice(&START_INFO_MAGIC.to_be_bytes());
        assert!(matches!(StartInfo::parse(&b), Err(PvhError::BadMagic(_))));
        // Bad magic is reported even if the rest is short.
        assert_eq!(
            StartInfo::parse(&[0, 0, 0, 0, 1, 0, 0, 0]),
            Err(PvhError::BadMagic(0))
        );
    }

    #[test]
    fn module_entry() {
        let mut b = Vec::new();
        for v in [0x10_0000u64, 0x8000, 0x2100, 0xdead] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        let m = Module::parse(&b).unwrap();
        assert_eq!(
            m,
            Module {
                paddr: 0x10_0000,
                size: 0x8000,
                cmdline_paddr: 0x2100
            }
        );
        assert_eq!(m.end(), Some(0x10_8000));
        assert_eq!(
            Module::parse(&b[..31]),
            Err(PvhError::TooShort { need: 32, got: 31 })
        );
        assert!(Module::parse(&[]).is_err());
        let huge = Module {
            paddr: u64::MAX,
            size: 1,
            cmdline_paddr: 0,
        };
        assert_eq!(huge.end(), None);
    }

    fn memmap_entry_bytes(addr: u64, size: u64, ty: u32) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&addr.to_le_bytes());
        b.extend_from_slice(&size.to_le_bytes());
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(&0xffff_ffffu32.to_le_bytes());
        b
    }

    #[test]
    fn memmap_entry_kinds() {
        let expect = [
            (1, MemKind::Ram),
            (2, MemKind::Reserved),
            (3, MemKind::AcpiReclaimable),
            (4, MemKind::AcpiNvs),
            (5, MemKind::Unusable),
            (0, MemKind::Other(0)),
            (12, MemKind::Other(12)),
        ];
        for (ty, kind) in expect {
            let e = MemMapEntry::parse(&memmap_entry_bytes(0x1000, 0x9f000, ty)).unwrap();
            assert_eq!(e.kind, kind);
            assert_eq!(u32::from(e.kind), ty);
            assert_eq!(e.addr, 0x1000);
            assert_eq!(e.size, 0x9f000);
            assert_eq!(e.end(), 0xa0000);
        }
        let e = MemMapEntry::parse(&memmap_entry_bytes(u64::MAX - 1, 10, 1)).unwrap();
        assert_eq!(e.end(), u64::MAX);
    }

    #[test]
    fn memmap_entry_short() {
        let b = memmap_entry_bytes(0, 1, 1);
        for n in 0..MemMapEntry::SIZE {
            assert_eq!(
                MemMapEntry::parse(&b[..n]),
                Err(PvhError::TooShort { need: 24, got: n })
            );
        }
    }

    #[test]
    fn tables() {
        let mut t = memmap_entry_bytes(0, 0x9fc00, 1);
        t.extend(memmap_entry_bytes(0x9fc00, 0x400, 2));
        t.extend(memmap_entry_bytes(0x10_0000, 0x7ee_0000, 1));
        let all: Vec<_> = MemMapEntry::parse_table(&t, 3).collect();
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|e| e.is_ok()));
        assert_eq!(all[1].unwrap().kind, MemKind::Reserved);
        assert_eq!(all[2].unwrap().addr, 0x10_0000);
        // Claiming more entries than present: one error, then stop.
        let r: Vec<_> = MemMapEntry::parse_table(&t, 1000).collect();
        assert_eq!(r.len(), 4);
        assert!(r[3].is_err());
        // A truncated last entry.
        let r: Vec<_> = MemMapEntry::parse_table(&t[..70], 3).collect();
        assert_eq!(r.len(), 3);
        assert!(r[0].is_ok() && r[1].is_ok() && r[2].is_err());
        assert_eq!(MemMapEntry::parse_table(&t, 0).count(), 0);
        // Huge counts must not overflow.
        assert_eq!(Module::parse_table(&[], usize::MAX).count(), 1);
    }

    #[test]
    fn c_strings() {
        assert_eq!(c_str(b"console=ttyS0\0garbage\xff"), Ok("console=ttyS0"));
        assert_eq!(c_str(b"\0abc"), Ok(""));
        assert_eq!(c_str(b""), Ok(""));
        // Unterminated: the whole buffer.
        assert_eq!(c_str(b"no terminator"), Ok("no terminator"));
        assert_eq!(c_str("h\u{e9}llo\0".as_bytes()), Ok("h\u{e9}llo"));
        assert_eq!(c_str(b"bad \xff\xfe\0"), Err(PvhError::InvalidUtf8));
        assert_eq!(c_str(b"unterminated \xc3"), Err(PvhError::InvalidUtf8));
        // Invalid bytes after the NUL do not matter.
        assert_eq!(c_str(b"ok\0\xff"), Ok("ok"));
    }

    #[test]
    fn error_display() {
        let s = PvhError::BadMagic(1).to_string();
        assert!(s.contains("0x00000001") && s.contains("0x336ec578"), "{s}");
        let s = PvhError::TooShort { need: 56, got: 3 }.to_string();
        assert!(s.contains("56") && s.contains('3'), "{s}");
    }
}
