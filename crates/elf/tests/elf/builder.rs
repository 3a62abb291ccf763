//! A tiny ELF64 image builder for the tests: headers are written byte by byte.

pub const PT_NULL: u32 = 0;
pub const PT_LOAD: u32 = 1;
pub const PT_INTERP: u32 = 3;
pub const PT_NOTE: u32 = 4;
pub const PT_PHDR: u32 = 6;
pub const PT_TLS: u32 = 7;
pub const PT_GNU_STACK: u32 = 0x6474_e551;

pub const R: u32 = 4;
pub const W: u32 = 2;
pub const X: u32 = 1;

/// One program header.
#[derive(Debug, Clone, Copy)]
pub struct Ph {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

impl Ph {
    pub fn load(flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Ph {
        Ph {
            p_type: PT_LOAD,
            flags,
            offset,
            vaddr,
            filesz,
            memsz,
            align: 0x1000,
        }
    }

    pub fn other(p_type: u32, flags: u32, offset: u64, vaddr: u64, filesz: u64) -> Ph {
        Ph {
            p_type,
            flags,
            offset,
            vaddr,
            filesz,
            memsz: filesz,
            align: 1,
        }
    }
}

/// Everything that goes into a test image.
#[derive(Debug, Clone)]
pub struct Image {
    pub ident: [u8; 16],
    pub e_type: u16,
    pub machine: u16,
    pub entry: u64,
    pub phoff: u64,
    pub phentsize: u16,
    /// Overrides the count written to `e_phnum` (default: `phdrs.len()`).
    pub phnum: Option<u16>,
    pub phdrs: Vec<Ph>,
    /// Total file size (grown if the headers need more).
    pub size: usize,
    /// Bytes written at given offsets after the headers.
    pub patches: Vec<(usize, Vec<u8>)>,
}

pub const TEXT_VADDR: u64 = 0x40_0000;
pub const DATA_VADDR: u64 = 0x40_1000;

impl Image {
    /// A valid ET_EXEC: text (R X) at 0x400000 from offset 0 holding the
    /// headers, data (R W) at 0x401000 from offset 0x1000, file 0x3000 bytes.
    pub fn exec() -> Image {
        let mut ident = [0u8; 16];
        ident[..4].copy_from_slice(b"\x7fELF");
        ident[4] = 2; // ELFCLASS64
        ident[5] = 1; // ELFDATA2LSB
        ident[6] = 1; // EV_CURRENT
        Image {
            ident,
            e_type: 2,
            machine: 62,
            entry: TEXT_VADDR + 0x100,
            phoff: 64,
            phentsize: 56,
            phnum: None,
            phdrs: vec![
                Ph::load(R | X, 0, TEXT_VADDR, 0x1000, 0x1000),
                Ph::load(R | W, 0x1000, DATA_VADDR, 0x800, 0x800),
            ],
            size: 0x3000,
            patches: Vec::new(),
        }
    }

    /// A valid static-PIE-like ET_DYN linked at 0.
    pub fn dyn_() -> Image {
        let mut img = Image::exec();
        img.e_type = 3;
        img.entry = 0x100;
        img.phdrs = vec![
            Ph::load(R | X, 0, 0, 0x1000, 0x1000),
            Ph::load(R | W, 0x1000, 0x1000, 0x800, 0x2000),
        ];
        img
    }

    pub fn with(mut self, f: impl FnOnce(&mut Image)) -> Image {
        f(&mut self);
        self
    }

    pub fn push(mut self, ph: Ph) -> Image {
        self.phdrs.push(ph);
        self
    }

    pub fn patch(mut self, at: usize, bytes: &[u8]) -> Image {
        self.patches.push((at, bytes.to_vec()));
        self
    }

    pub fn build(&self) -> Vec<u8> {
        let phnum = self.phnum.unwrap_or(self.phdrs.len() as u16);
        let ph_end = self.phoff as usize + self.phdrs.len() * 56;
        let mut out = vec![0u8; self.size.max(64).max(ph_end)];
        out[..16].copy_from_slice(&self.ident);
        put16(&mut out, 0x10, self.e_type);
        put16(&mut out, 0x12, self.machine);
        put32(&mut out, 0x14, 1); // e_version
        put64(&mut out, 0x18, self.entry);
        put64(&mut out, 0x20, self.phoff);
        put64(&mut out, 0x28, 0); // e_shoff
        put32(&mut out, 0x30, 0); // e_flags
        put16(&mut out, 0x34, 64); // e_ehsize
        put16(&mut out, 0x36, self.phentsize);
        put16(&mut out, 0x38, phnum);
        put16(&mut out, 0x3a, 64); // e_shentsize
        put16(&mut out, 0x3c, 0); // e_shnum
        put16(&mut out, 0x3e, 0); // e_shstrndx
        for (i, ph) in self.phdrs.iter().enumerate() {
            let at = self.phoff as usize + i * 56;
            put32(&mut out, at, ph.p_type);
            put32(&mut out, at + 4, ph.flags);
            put64(&mut out, at + 8, ph.offset);
            put64(&mut out, at + 16, ph.vaddr);
            put64(&mut out, at + 24, ph.vaddr); // p_paddr
            put64(&mut out, at + 32, ph.filesz);
            put64(&mut out, at + 40, ph.memsz);
            put64(&mut out, at + 48, ph.align);
        }
        for (at, bytes) in &self.patches {
            out[*at..*at + bytes.len()].copy_from_slice(bytes);
        }
        out
    }
}

fn put16(out: &mut [u8], at: usize, v: u16) {
    out[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut [u8], at: usize, v: u32) {
    out[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut [u8], at: usize, v: u64) {
    out[at..at + 8].copy_from_slice(&v.to_le_bytes());
}
