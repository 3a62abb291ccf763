//! Boot: from the PVH entry (`arch/boot.s`) to the kernel's main function.
//!
//! 1. serial console, CPU features (NX, global pages, SMEP/SMAP, SSE state enabled);
//! 2. the PVH start info: command line (copied), firmware memory map, initrd module, RSDP;
//! 3. usable RAM = RAM entries − low 1 MiB − kernel image − initrd; the frame allocator's
//!    metadata is carved from it and the rest handed to the buddy allocator;
//! 4. the kernel page table: a direct map of every firmware range, kernel sections with their
//!    own rights, the shared upper half; then CR3 switches to it and the heap becomes usable;
//! 5. GDT/TSS/IDT and per-CPU data for the boot CPU, a guarded kernel stack;
//! 6. `tine_kernel_main(&BootInfo)`, defined by the kernel through `hal::entry_point!`.

use core::arch::{asm, global_asm};

use bootinfo::memmap::RangeSet;
use bootinfo::pvh::{MemKind, MemMapEntry, Module, StartInfo, c_str};

use crate::arch::{self, cpuid::Features};
use crate::mem::paging::{KERNEL, PageFlags, PageSize, PageTable};
use crate::mem::{self, PAGE_SIZE, align_down, align_up, frames, image, phys_to_virt};
use crate::sync::Once;
use crate::{cpu, kprintln, serial, time, trap};

global_asm!(include_str!("arch/boot.s"), options(att_syntax));

unsafe extern "C" {
    static boot_tsc: u64;
    static hal_boot_stack_guard: u8;
}

pub const MAX_MEMMAP: usize = 128;
const CMDLINE_MAX: usize = 4096;

/// What the kernel learns from the boot loader and early set-up.
pub struct BootInfo {
    pub cmdline: &'static str,
    pub memory_map: &'static [MemMapEntry],
    /// Physical address and size of the initramfs (`-initrd`), kept reserved.
    pub initrd: Option<(u64, u64)>,
    pub rsdp: u64,
    pub start_info_version: u32,
    /// Physical [start, end) of the loaded kernel image.
    pub kernel_image: (u64, u64),
    /// Bytes of RAM the firmware reports.
    pub ram_bytes: u64,
    /// Bytes used by the frame allocator's metadata.
    pub frame_metadata_bytes: u64,
    pub features: Features,
    pub bsp: &'static cpu::PerCpu,
}

struct Early {
    cmdline: [u8; CMDLINE_MAX],
    cmdline_len: usize,
    memmap: [MemMapEntry; MAX_MEMMAP],
    memmap_len: usize,
    info: StartInfo,
    initrd: Option<(u64, u64)>,
    ram_bytes: u64,
    meta_bytes: u64,
    features: Features,
}

static EARLY: Once<Early> = Once::new();
static BOOT_INFO: Once<BootInfo> = Once::new();

/// The initramfs image in place (reserved memory, never handed out or written).
pub fn initrd_bytes() -> Option<&'static [u8]> {
    let (pa, size) = info()?.initrd?;
    let len = usize::try_from(size).ok()?;
    pa.checked_add(size)?;
    // SAFETY: boot removed [pa, pa + size) from the usable memory, so no frame there is ever
    // allocated or written; the direct map covers it (it is RAM listed in the firmware map).
    Some(unsafe { core::slice::from_raw_parts(phys_to_virt(pa) as *const u8, len) })
}

/// What boot found, once the kernel's main function has been entered.
pub fn info() -> Option<&'static BootInfo> {
    BOOT_INFO.get()
}

/// Stop with a message: used when booting cannot continue.
fn die(msg: &str) -> ! {
    kprintln!("Tine: boot failed: {msg}");
    crate::power::qemu_exit(1);
    arch::halt_forever()
}

/// Bytes at a physical address through the boot-time direct map (first 4 GiB).
fn early_phys(pa: u64, len: usize) -> &'static [u8] {
    if pa
        .checked_add(len as u64)
        .is_none_or(|end| end > BOOT_MAPPED)
    {
        die("boot loader data lies above 4 GiB");
    }
    // SAFETY: the boot page tables map the first 4 GiB at the direct-map base; the boot loader
    // placed this data in RAM there and nothing writes it during early boot.
    unsafe { core::slice::from_raw_parts(phys_to_virt(pa) as *const u8, len) }
}

fn enable_cpu_features(f: &Features) {
    if f.nx {
        arch::wrmsr(arch::MSR_EFER, arch::rdmsr(arch::MSR_EFER) | arch::EFER_NXE);
        mem::paging::set_nx_enabled(true);
    }
    let mut cr4 = arch::read_cr4();
    cr4 |= (1 << 9) | (1 << 10); // OSFXSR, OSXMMEXCPT: SSE state for user programs
    if f.pge {
        cr4 |= 1 << 7;
    }
    if f.smep {
        cr4 |= 1 << 20;
    }
    if f.smap {
        cr4 |= 1 << 21;
    }
    arch::write_cr4(cr4);
}

fn read_start_info(pa: u64) -> Early {
    let info = StartInfo::parse(early_phys(pa, StartInfo::SIZE))
        .unwrap_or_else(|_| die("bad PVH start info (not booted through PVH?)"));
    let mut e = Early {
        cmdline: [0; CMDLINE_MAX],
        cmdline_len: 0,
        memmap: [MemMapEntry {
            addr: 0,
            size: 0,
            kind: MemKind::Reserved,
        }; MAX_MEMMAP],
        memmap_len: 0,
        info,
        initrd: None,
        ram_bytes: 0,
        meta_bytes: 0,
        features: Features::detect(),
    };
    if info.cmdline_paddr != 0 {
        // The command line may end close to the end of RAM: read it a page at a time.
        let mut len = 0;
        while len < CMDLINE_MAX - 1 {
            let chunk = early_phys(info.cmdline_paddr + len as u64, 1)[0];
            if chunk == 0 {
                break;
            }
            e.cmdline[len] = chunk;
            len += 1;
        }
        e.cmdline_len = match c_str(&e.cmdline[..len]) {
            Ok(s) => s.len(),
            Err(_) => 0,
        };
    }
    if info.memmap_paddr == 0 || info.memmap_entries == 0 {
        die("the boot loader gave no memory map (PVH start info version 1 needed)");
    }
    let n = (info.memmap_entries as usize).min(MAX_MEMMAP);
    let table = early_phys(info.memmap_paddr, n * MemMapEntry::SIZE);
    for (i, chunk) in table.chunks_exact(MemMapEntry::SIZE).enumerate() {
        if let Ok(entry) = MemMapEntry::parse(chunk) {
            e.memmap[i] = entry;
            e.memmap_len = i + 1;
        }
    }
    if info.nr_modules > 0
        && info.modlist_paddr != 0
        && let Ok(m) = Module::parse(early_phys(info.modlist_paddr, Module::SIZE))
        && m.size > 0
    {
        e.initrd = Some((m.paddr, m.size));
    }
    e
}

type Usable = RangeSet<{ MAX_MEMMAP + 8 }>;

/// Only the first 4 GiB are reachable through the boot page tables' direct map.
const BOOT_MAPPED: u64 = 4 << 30;

/// Usable RAM after removing what is in use, and the frame allocator set up over it. Only RAM
/// below 4 GiB is handed out now (page tables built before the switch are written through the
/// boot direct map); `add_high_memory` adds the rest once the full direct map is live.
fn init_frames(e: &mut Early) -> Usable {
    let mut usable = Usable::new();
    for m in &e.memmap[..e.memmap_len] {
        if m.kind == MemKind::Ram {
            e.ram_bytes += m.size;
            let _ = usable.insert(m.addr, m.addr.saturating_add(m.size));
        }
    }
    let _ = usable.remove(0, 1 << 20);
    let _ = usable.remove(image::phys_start(), image::phys_end());
    if let Some((pa, size)) = e.initrd {
        let _ = usable.remove(align_down(pa, PAGE_SIZE), align_up(pa + size, PAGE_SIZE));
    }
    usable.align_inward(PAGE_SIZE);
    let (Some(first), Some(last)) = (usable.iter().next(), usable.iter().last()) else {
        die("no usable RAM")
    };
    let base_pfn = first.0 / PAGE_SIZE;
    let end_pfn = last.1 / PAGE_SIZE;
    let meta = align_up(frames::metadata_bytes(base_pfn, end_pfn), PAGE_SIZE);
    let Some((start, _)) = usable
        .iter()
        .find(|(s, end)| end - s >= meta && s + meta <= BOOT_MAPPED)
    else {
        die("no room for frame metadata below 4 GiB")
    };
    let _ = usable.remove(start, start + meta);
    e.meta_bytes = meta;
    // SAFETY: [start, start + meta) was just removed from the usable set, so no frame handed out
    // later overlaps it, and it lies below 4 GiB, which the boot direct map covers.
    unsafe { frames::init(start, base_pfn, end_pfn) };
    for (s, end) in usable.iter() {
        if s < BOOT_MAPPED {
            frames::add_free(s, end.min(BOOT_MAPPED));
        }
    }
    usable
}

fn add_high_memory(usable: &Usable) {
    for (s, end) in usable.iter() {
        if end > BOOT_MAPPED {
            frames::add_free(s.max(BOOT_MAPPED), end);
        }
    }
}

/// Map [start, end) of physical memory into the direct map, with 2 MiB pages where possible.
fn direct_map(pt: &mut PageTable, start: u64, end: u64) {
    let mut pa = align_down(start, PAGE_SIZE);
    let end = align_up(end, PAGE_SIZE);
    while pa < end {
        let big = PageSize::Size2M.bytes();
        // SAFETY: the direct map only aliases physical memory; Rust never relies on it being
        // absent, and the kernel table is not live yet.
        if pa.is_multiple_of(big)
            && pa + big <= end
            && unsafe { pt.map_raw(phys_to_virt(pa), pa, PageSize::Size2M, PageFlags::KERNEL_RW) }
                .is_ok()
        {
            pa += big;
            continue;
        }
        // SAFETY: as above.
        match unsafe { pt.map_raw(phys_to_virt(pa), pa, PageSize::Size4K, PageFlags::KERNEL_RW) } {
            Ok(()) | Err(mem::paging::MapError::AlreadyMapped) => {}
            Err(_) => die("out of memory building the direct map"),
        }
        pa += PAGE_SIZE;
    }
}

fn map_kernel_section(pt: &mut PageTable, start: u64, end: u64, flags: PageFlags) {
    for va in (start..end).step_by(PAGE_SIZE as usize) {
        // SAFETY: maps the kernel image at the addresses it was linked for, in a table that is
        // not live yet.
        if unsafe { pt.map_raw(va, mem::kernel_virt_to_phys(va), PageSize::Size4K, flags) }.is_err()
        {
            die("cannot map the kernel image");
        }
    }
}

fn build_kernel_table(e: &Early) {
    let Ok(mut pt) = PageTable::new_kernel() else {
        die("out of memory for page tables")
    };
    direct_map(&mut pt, 0, 1 << 20);
    for m in &e.memmap[..e.memmap_len] {
        direct_map(&mut pt, m.addr, m.addr.saturating_add(m.size));
    }
    map_kernel_section(
        &mut pt,
        image::text_start(),
        image::text_end(),
        PageFlags::KERNEL_RX,
    );
    map_kernel_section(
        &mut pt,
        image::rodata_start(),
        image::rodata_end(),
        PageFlags::KERNEL_RO,
    );
    map_kernel_section(
        &mut pt,
        image::data_start(),
        image::data_end(),
        PageFlags::KERNEL_RW,
    );
    // The boot stack (used until `hal_boot_main` moves to a stack in the stack region) gets a
    // guard page too.
    let guard = core::ptr::addr_of!(hal_boot_stack_guard) as u64;
    // SAFETY: the guard page is reserved padding in .bss that no Rust object occupies.
    if unsafe { pt.unmap_raw(guard) }.is_err() {
        die("boot stack guard page not mapped");
    }
    // SAFETY: the new table maps the kernel image (code, data, this stack in .bss) and the direct
    // map exactly where the boot tables did; only the identity map of low memory goes away.
    unsafe { arch::write_cr3(pt.root()) };
    *KERNEL.lock() = pt;
}

#[unsafe(no_mangle)]
extern "C" fn hal_boot_main(start_info_pa: u64) -> ! {
    serial::init();
    // SAFETY: `boot_tsc` is in the identity-mapped boot section, written once by boot.s before
    // paging was enabled; the boot tables still map it.
    time::set_boot_tsc(unsafe { core::ptr::read_volatile(core::ptr::addr_of!(boot_tsc)) });
    let mut early = read_start_info(start_info_pa);
    enable_cpu_features(&early.features);
    let usable = init_frames(&mut early);
    build_kernel_table(&early);
    add_high_memory(&usable);
    EARLY.call_once(|| early);
    trap::idt::init();
    let apic_id = crate::arch::cpuid::cpuid(1, 0).ebx >> 24;
    if cpu::init_this_cpu(0, apic_id).is_none() {
        die("out of memory for CPU tables");
    }
    let Some(stack) = mem::stack::KernelStack::new() else {
        die("out of memory for the boot stack")
    };
    let top = stack.top();
    core::mem::forget(stack); // the boot CPU's idle context keeps this stack forever
    // SAFETY: `top` is the top of a freshly mapped, guarded kernel stack that nothing else
    // uses; `boot_continue` never returns, so abandoning the current stack is fine.
    unsafe {
        asm!("mov rsp, {top}", "xor ebp, ebp", "call {f}", "ud2",
             top = in(reg) top, f = sym boot_continue, options(noreturn))
    }
}

unsafe extern "Rust" {
    fn tine_kernel_main(info: &'static BootInfo) -> !;
}

extern "C" fn boot_continue() -> ! {
    let Some(e) = EARLY.get() else {
        die("early state lost")
    };
    let Some(bsp) = cpu::current() else {
        die("no per-CPU data")
    };
    let cmdline = core::str::from_utf8(&e.cmdline[..e.cmdline_len]).unwrap_or("");
    let info = BOOT_INFO.call_once(|| BootInfo {
        cmdline,
        memory_map: &e.memmap[..e.memmap_len],
        initrd: e.initrd,
        rsdp: e.info.rsdp_paddr,
        start_info_version: e.info.version,
        kernel_image: (image::phys_start(), image::phys_end()),
        ram_bytes: e.ram_bytes,
        frame_metadata_bytes: e.meta_bytes,
        features: e.features,
        bsp,
    });
    // SAFETY: the kernel crate defines this function through `hal::entry_point!`, which checks
    // its signature.
    unsafe { tine_kernel_main(info) }
}

/// Declare the kernel's main function: `hal::entry_point!(kmain)` with
/// `fn kmain(info: &'static hal::BootInfo) -> !`.
#[macro_export]
macro_rules! entry_point {
    ($main:path) => {
        #[unsafe(no_mangle)]
        fn tine_kernel_main(info: &'static $crate::BootInfo) -> ! {
            let main: fn(&'static $crate::BootInfo) -> ! = $main;
            main(info)
        }
    };
}
