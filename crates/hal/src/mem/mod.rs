//! Memory: the kernel's virtual layout, physical frames, page tables, the heap and kernel stacks.
//!
//! Virtual layout (x86-64, 4-level paging):
//! ```text
//! 0x0000_0000_0000_0000 .. 0x0000_7fff_ffff_ffff  user space (per process)
//! 0xffff_8000_0000_0000 .. +64 TiB                direct map of physical memory (RW, NX)
//! 0xffff_c000_0000_0000 .. +512 GiB               kernel stacks, each with an unmapped guard below
//! 0xffff_d000_0000_0000 .. +512 GiB               device MMIO (uncached)
//! 0xffff_e000_0000_0000 .. +512 GiB               scratch mappings (in-kernel tests)
//! 0xffff_f000_0000_0000 .. +512 GiB               large heap blocks (frames mapped contiguously)
//! 0xffff_ffff_8000_0000 .. +2 GiB                 kernel image (text RX, rodata R, data RW)
//! ```
//! The upper-half PML4 entries (256..512) all point at page-directory-pointer tables allocated at
//! boot, so every address space created later shares kernel mappings by copying those entries.

pub mod frames;
pub mod heap;
pub mod paging;
pub mod probe;
pub mod stack;

pub const PAGE_SIZE: u64 = 4096;
pub const PHYS_MAP_BASE: u64 = 0xffff_8000_0000_0000;
pub const STACK_REGION: u64 = 0xffff_c000_0000_0000;
pub const MMIO_REGION: u64 = 0xffff_d000_0000_0000;
pub const SCRATCH_REGION: u64 = 0xffff_e000_0000_0000;
pub const VMAP_REGION: u64 = 0xffff_f000_0000_0000;
pub const VMAP_SIZE: u64 = 512 << 30;
pub const KERNEL_VIRT: u64 = 0xffff_ffff_8000_0000;
pub const USER_END: u64 = 0x0000_8000_0000_0000;

/// Virtual address of physical address `pa` in the direct map.
pub const fn phys_to_virt(pa: u64) -> u64 {
    pa + PHYS_MAP_BASE
}

/// Physical address behind a direct-map virtual address.
pub const fn virt_to_phys_direct(va: u64) -> u64 {
    va - PHYS_MAP_BASE
}

/// Physical address of a kernel-image virtual address (text, rodata, data, bss).
pub const fn kernel_virt_to_phys(va: u64) -> u64 {
    va - KERNEL_VIRT
}

pub const fn align_up(x: u64, a: u64) -> u64 {
    (x + a - 1) & !(a - 1)
}
pub const fn align_down(x: u64, a: u64) -> u64 {
    x & !(a - 1)
}

/// Copy bytes from physical memory, tolerating holes: false if any byte was not readable.
pub fn read_phys(pa: u64, buf: &mut [u8]) -> bool {
    let Some(end) = pa.checked_add(buf.len() as u64) else {
        return false;
    };
    if end > (1u64 << 46) {
        return false;
    }
    probe::copy_from(phys_to_virt(pa), buf).is_ok()
}

/// Linker-provided bounds of the kernel image.
pub mod image {
    unsafe extern "C" {
        static __kernel_phys_start: u8;
        static __kernel_phys_end: u8;
        static __text_start: u8;
        static __text_end: u8;
        static __rodata_start: u8;
        static __rodata_end: u8;
        static __data_start: u8;
        static __data_end: u8;
    }
    macro_rules! addr {
        ($name:ident, $sym:ident) => {
            pub fn $name() -> u64 {
                // Only the address of the linker symbol is taken, never its contents.
                core::ptr::addr_of!($sym) as u64
            }
        };
    }
    addr!(phys_start, __kernel_phys_start);
    addr!(phys_end, __kernel_phys_end);
    addr!(text_start, __text_start);
    addr!(text_end, __text_end);
    addr!(rodata_start, __rodata_start);
    addr!(rodata_end, __rodata_end);
    addr!(data_start, __data_start);
    addr!(data_end, __data_end);
}
