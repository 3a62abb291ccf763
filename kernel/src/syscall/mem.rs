//! Memory system calls: mmap (anonymous, private or shared-as-private until the VM issue),
//! munmap, mprotect, brk.

use abi::errno::Errno;

use super::{Args, Result};
use crate::proc::task::Task;
use crate::vm::{MMAP_MIN_ADDR, PAGE, Prot, page_up, prot_from_bits};

const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_FIXED_NOREPLACE: u64 = 0x100000;
const MAP_POPULATE: u64 = 0x8000;
/// The mapping grows down when a fault lands just below it (as a stack).
const MAP_GROWSDOWN: u64 = 0x0100;
const USER_TOP: u64 = 0x0000_7fff_ffff_f000;

pub fn mmap(t: &mut Task, a: Args) -> Result {
    let [addr, len, prot, flags, fd, off] = a.0;
    if len == 0 || addr % PAGE != 0 || off % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & (MAP_SHARED | MAP_PRIVATE) == 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len)
        .filter(|&l| l <= USER_TOP)
        .ok_or(Errno::ENOMEM)?;
    let shared = flags & MAP_SHARED != 0;
    // Linux refuses a growing shared anonymous mapping.
    let grows_down = flags & MAP_GROWSDOWN != 0;
    if grows_down && shared && flags & MAP_ANONYMOUS != 0 {
        return Err(Errno::EINVAL);
    }
    let phys = if flags & MAP_ANONYMOUS == 0 {
        phys_window(t, fd as i32, off, len, shared, prot)?
    } else {
        None
    };
    let file = if flags & MAP_ANONYMOUS == 0 && phys.is_none() {
        Some(file_contents(t, fd as i32, off, len, shared, prot)?)
    } else {
        None
    };
    // Linux's default overcommit heuristic: a private writable mapping larger than all of
    // memory is refused outright (MAP_NORESERVE opts out).
    const MAP_NORESERVE: u64 = 0x4000;
    const PROT_WRITE: u64 = 2;
    if !shared
        && prot & PROT_WRITE != 0
        && flags & MAP_NORESERVE == 0
        && len / PAGE > hal::mem::frames::stats().total
    {
        return Err(Errno::ENOMEM);
    }
    let prot = prot_from_bits(prot);
    let as_limit = address_space_limit(t);
    let vm_cell = t.proc.vm();
    let mut guard = vm_cell.lock();
    let vm = guard.as_mut().ok_or(Errno::EFAULT)?;
    // RLIMIT_AS bounds the total size of the mappings (a MAP_FIXED replacement may free some
    // first, which this check does not credit).
    if vm.mapped_bytes().saturating_add(len) > as_limit {
        return Err(Errno::ENOMEM);
    }
    let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
    let start = if fixed {
        let end = addr
            .checked_add(len)
            .filter(|&e| e <= USER_TOP)
            .ok_or(Errno::ENOMEM)?;
        if addr < MMAP_MIN_ADDR {
            return Err(Errno::EPERM);
        }
        if flags & MAP_FIXED_NOREPLACE != 0 {
            if vm.overlaps(addr, end) {
                return Err(Errno::EEXIST);
            }
        } else {
            vm.unmap(addr, end)?;
        }
        addr
    } else {
        // A hint is used when that range is free.
        let hinted = (addr >= MMAP_MIN_ADDR)
            .then(|| addr.checked_add(len).filter(|&e| e <= USER_TOP))
            .flatten()
            .filter(|&end| !vm.overlaps(addr, end));
        match hinted {
            Some(_) => addr,
            None => vm.find_free(len).ok_or(Errno::ENOMEM)?,
        }
    };
    match file {
        None if phys.is_some() => {
            vm.add_phys(start, start + len, prot, shared, off)?;
            vm.name_range(crate::vm::MapName {
                start,
                end: start + len,
                path: b"/dev/mem".to_vec(),
                offset: off,
                dev: 0,
                ino: 0,
            });
        }
        None => {
            vm.add_anon(start, start + len, prot, shared)?;
            if grows_down {
                vm.set_grows_down(start)?;
            }
        }
        Some(f) => {
            vm.add_file(start, start + len, prot, shared, f.object, off / PAGE)?;
            vm.name_range(crate::vm::MapName {
                start,
                end: start + len,
                path: f.path,
                offset: off,
                dev: f.dev,
                ino: f.ino,
            });
        }
    }
    if flags & MAP_POPULATE != 0 {
        // Fault every page in now, as a write where the mapping is writable (so private pages
        // are allocated, not left to the first store). Like Linux, a page that cannot be
        // populated (memory ran out) is left to fault later; the mapping itself stands.
        let write = prot.write;
        for page in (start..start + len).step_by(PAGE as usize) {
            if vm.fault(page, write, false) != crate::vm::FaultResult::Mapped {
                break;
            }
        }
    }
    Ok(start)
}

struct FileMap {
    /// The file's VM object.
    object: u64,
    path: alloc::vec::Vec<u8>,
    dev: u64,
    ino: u64,
}

/// Mapping needs a readable descriptor, and a writable one for a shared writable mapping.
fn may_map(f: &crate::fs::file::File, shared: bool, prot: u64) -> core::result::Result<(), Errno> {
    const PROT_WRITE: u64 = 2;
    if !f.readable() || (shared && prot & PROT_WRITE != 0 && !f.writable()) {
        return Err(Errno::EACCES);
    }
    Ok(())
}

/// `fd` is `/dev/mem`: Some(()) if `[off, off + len)` may be mapped — below 1 MiB, as Linux's
/// STRICT_DEVMEM allows, for a privileged caller (Linux wants CAP_SYS_RAWIO) — else the error.
/// None for any other descriptor.
fn phys_window(
    t: &Task,
    fd: i32,
    off: u64,
    len: u64,
    shared: bool,
    prot: u64,
) -> core::result::Result<Option<()>, Errno> {
    use crate::fs::file::FileKind;
    let f = super::fs::file(t, fd)?;
    if !matches!(f.kind, FileKind::Dev(crate::fs::dev::Device::Mem)) {
        return Ok(None);
    }
    may_map(&f, shared, prot)?;
    if !t.proc.creds.lock().privileged() {
        return Err(Errno::EPERM);
    }
    match off.checked_add(len) {
        Some(end) if end <= hal::mem::frames::DEVICE_LIMIT => Ok(Some(())),
        _ => Err(Errno::EPERM),
    }
}

/// What a file mapping maps: the VM object holding a regular file's pages (tmpfs keeps file
/// data there), so shared mappings see and make the same bytes as read and write, and
/// private ones copy a page at its first write.
fn file_contents(
    t: &Task,
    fd: i32,
    off: u64,
    len: u64,
    shared: bool,
    prot: u64,
) -> core::result::Result<FileMap, Errno> {
    use crate::fs::file::FileKind;
    let f = super::fs::file(t, fd)?;
    let node = match (&f.kind, f.node()) {
        (FileKind::Node, Some(n)) => n,
        (FileKind::Path, _) => return Err(Errno::EBADF),
        _ => return Err(Errno::ENODEV),
    };
    may_map(&f, shared, prot)?;
    off.checked_add(len).ok_or(Errno::EOVERFLOW)?;
    let procfs = crate::fs::proc::Procfs { caller: t.proc.pid };
    let v = crate::fs::lock();
    let attr = v.attr(node, &procfs)?;
    if !vfs::mode::is_reg(attr.mode) {
        return Err(Errno::ENODEV);
    }
    let object = v.file_data(node)?.object().ok_or(Errno::ENODEV)?;
    let path = crate::fs::file::describe(&v, &f, &procfs);
    Ok(FileMap {
        object,
        path,
        dev: attr.dev,
        ino: attr.ino,
    })
}

/// RLIMIT_AS, the largest total size of the address space.
fn address_space_limit(t: &Task) -> u64 {
    t.proc.rlimits.lock()[abi::layout::RLIMIT_AS as usize].cur
}

pub fn munmap(t: &mut Task, a: Args) -> Result {
    let (addr, len) = (a.0[0], a.0[1]);
    if addr % PAGE != 0 || len == 0 {
        return Err(Errno::EINVAL);
    }
    let end = page_up(len)
        .and_then(|l| addr.checked_add(l))
        .filter(|&e| e <= USER_TOP)
        .ok_or(Errno::EINVAL)?;
    let vm_cell = t.proc.vm();
    let mut guard = vm_cell.lock();
    guard.as_mut().ok_or(Errno::EFAULT)?.unmap(addr, end)?;
    Ok(0)
}

pub fn mprotect(t: &mut Task, a: Args) -> Result {
    let (addr, len, prot) = (a.0[0], a.0[1], a.0[2]);
    if addr % PAGE != 0 || prot & !0x7 & !0x0300_0000 != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let end = page_up(len)
        .and_then(|l| addr.checked_add(l))
        .filter(|&e| e <= USER_TOP)
        .ok_or(Errno::ENOMEM)?;
    let vm_cell = t.proc.vm();
    let mut guard = vm_cell.lock();
    guard
        .as_mut()
        .ok_or(Errno::EFAULT)?
        .protect(addr, end, prot_from_bits(prot))?;
    Ok(0)
}

/// brk(addr): move the program break; returns the (possibly unchanged) break, as Linux does.
pub fn brk(t: &mut Task, a: Args) -> Result {
    let want = a.0[0];
    // Limits are read before the address-space lock, as in mmap and mremap.
    let (data_limit, as_limit) = {
        let limits = t.proc.rlimits.lock();
        (
            limits[abi::layout::RLIMIT_DATA as usize].cur,
            limits[abi::layout::RLIMIT_AS as usize].cur,
        )
    };
    let vm_cell = t.proc.vm();
    let mut guard = vm_cell.lock();
    let vm = guard.as_mut().ok_or(Errno::EFAULT)?;
    if want < vm.brk_start {
        return Ok(vm.brk);
    }
    let old_end = page_up(vm.brk).unwrap_or(vm.brk);
    let Some(new_end) = page_up(want) else {
        return Ok(vm.brk);
    };
    if want - vm.brk_start > data_limit {
        return Ok(vm.brk);
    }
    if new_end > old_end {
        if vm.mapped_bytes().saturating_add(new_end - old_end) > as_limit
            || vm.add_region(old_end, new_end, Prot::RW).is_err()
        {
            return Ok(vm.brk);
        }
    } else if new_end < old_end {
        let _ = vm.unmap(new_end, old_end);
    }
    vm.brk = want;
    Ok(want)
}

/// madvise: MADV_DONTNEED discards pages; the other advice is accepted as a hint.
pub fn madvise(t: &mut Task, a: Args) -> Result {
    const MADV_NORMAL: u64 = 0;
    const MADV_RANDOM: u64 = 1;
    const MADV_SEQUENTIAL: u64 = 2;
    const MADV_WILLNEED: u64 = 3;
    const MADV_DONTNEED: u64 = 4;
    const MADV_FREE: u64 = 8;
    const MADV_HUGEPAGE: u64 = 14;
    const MADV_NOHUGEPAGE: u64 = 15;
    let (addr, len, advice) = (a.0[0], a.0[1], a.0[2]);
    if addr % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    let end = page_up(len)
        .and_then(|l| addr.checked_add(l))
        .filter(|&e| e <= USER_TOP)
        .ok_or(Errno::EINVAL)?;
    let vm_cell = t.proc.vm();
    let mut guard = vm_cell.lock();
    let vm = guard.as_mut().ok_or(Errno::EFAULT)?;
    match advice {
        MADV_NORMAL | MADV_RANDOM | MADV_SEQUENTIAL | MADV_WILLNEED | MADV_HUGEPAGE
        | MADV_NOHUGEPAGE => {}
        MADV_DONTNEED | MADV_FREE => {
            if len == 0 {
                return Ok(0);
            }
            if !vm.fully_mapped(addr, end) {
                return Err(Errno::ENOMEM);
            }
            vm.discard(addr, end)?;
            return Ok(0);
        }
        _ => return Err(Errno::EINVAL),
    }
    if len != 0 && !vm.fully_mapped(addr, end) {
        return Err(Errno::ENOMEM);
    }
    Ok(0)
}

/// mremap: shrink in place, grow in place when the space after is free, or (MREMAP_MAYMOVE)
/// move to a new range by copying the contents.
pub fn mremap(t: &mut Task, a: Args) -> Result {
    const MREMAP_MAYMOVE: u64 = 1;
    const MREMAP_FIXED: u64 = 2;
    let (old, old_len, new_len, flags, new_addr) = (a.0[0], a.0[1], a.0[2], a.0[3], a.0[4]);
    if old % PAGE != 0
        || flags & !(MREMAP_MAYMOVE | MREMAP_FIXED) != 0
        || flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0
    {
        return Err(Errno::EINVAL);
    }
    let old_len = page_up(old_len).ok_or(Errno::EINVAL)?;
    let new_len = page_up(new_len)
        .filter(|&l| l > 0 && l <= USER_TOP)
        .ok_or(Errno::EINVAL)?;
    let old_end = old
        .checked_add(old_len)
        .filter(|&e| e <= USER_TOP)
        .ok_or(Errno::EINVAL)?;
    let as_limit = address_space_limit(t);
    let vm_cell = t.proc.vm();
    let mut guard = vm_cell.lock();
    let vm = guard.as_mut().ok_or(Errno::EFAULT)?;
    if new_len > old_len && vm.mapped_bytes().saturating_add(new_len - old_len) > as_limit {
        return Err(Errno::ENOMEM);
    }
    let Some((_, _, prot)) = vm.area_at(old) else {
        return Err(Errno::EFAULT);
    };
    // Tine does not merge neighbouring areas as Linux merges VMAs, so the range may span
    // several areas; it must be mapped throughout.
    if old_len == 0 || !vm.fully_mapped(old, old_end) {
        return Err(Errno::EFAULT);
    }
    if flags & MREMAP_FIXED != 0 {
        // Move to exactly `new_addr`, replacing what is there; the ranges may not overlap.
        if new_addr % PAGE != 0 {
            return Err(Errno::EINVAL);
        }
        let new_end = new_addr
            .checked_add(new_len)
            .filter(|&e| e <= USER_TOP)
            .ok_or(Errno::EINVAL)?;
        if new_addr < old_end && new_end > old {
            return Err(Errno::EINVAL);
        }
        vm.unmap(new_addr, new_end)?;
        return move_and_size(vm, old, old_len, new_addr, new_len, prot);
    }
    if new_len <= old_len {
        if new_len < old_len {
            vm.unmap(old + new_len, old_end)?;
        }
        return Ok(old);
    }
    let new_end = old
        .checked_add(new_len)
        .filter(|&e| e <= USER_TOP)
        .ok_or(Errno::ENOMEM)?;
    if !vm.overlaps(old_end, new_end) {
        vm.add_region(old_end, new_end, prot)?;
        return Ok(old);
    }
    if flags & MREMAP_MAYMOVE == 0 {
        return Err(Errno::ENOMEM);
    }
    let dest = vm.find_free(new_len).ok_or(Errno::ENOMEM)?;
    move_and_size(vm, old, old_len, dest, new_len, prot)
}

/// Move `old_len` bytes of mappings from `old` to `dest` (no copying: the areas move), then
/// cut or extend to `new_len` (new pages are zero-filled).
fn move_and_size(
    vm: &mut crate::vm::AddressSpace,
    old: u64,
    old_len: u64,
    dest: u64,
    new_len: u64,
    prot: Prot,
) -> Result {
    let keep = old_len.min(new_len);
    if keep < old_len {
        vm.unmap(old + keep, old + old_len)?;
    }
    vm.move_range(old, dest, keep)?;
    if new_len > keep {
        vm.add_region(dest + keep, dest + new_len, prot)?;
    }
    Ok(dest)
}

/// mincore: one byte per page, bit 0 set when the page is in memory.
pub fn mincore(t: &mut Task, a: Args) -> Result {
    let (addr, len, vec) = (a.0[0], a.0[1], a.0[2]);
    if addr % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    let end = page_up(len)
        .and_then(|l| addr.checked_add(l))
        .filter(|&e| e <= USER_TOP)
        .ok_or(Errno::ENOMEM)?;
    let states: alloc::vec::Vec<u8> = {
        let vm_cell = t.proc.vm();
        let guard = vm_cell.lock();
        let vm = guard.as_ref().ok_or(Errno::EFAULT)?;
        if !vm.fully_mapped(addr, end) {
            return Err(Errno::ENOMEM);
        }
        (addr..end)
            .step_by(PAGE as usize)
            .map(|p| u8::from(vm.resident_at(p)))
            .collect()
    };
    t.write_user(vec, &states)?;
    Ok(0)
}

/// msync: anonymous memory has nothing to write back; the range and flags are checked.
pub fn msync(t: &mut Task, a: Args) -> Result {
    const MS_ASYNC: u64 = 1;
    const MS_INVALIDATE: u64 = 2;
    const MS_SYNC: u64 = 4;
    let (addr, len, flags) = (a.0[0], a.0[1], a.0[2]);
    if addr % PAGE != 0
        || flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
        || flags & MS_ASYNC != 0 && flags & MS_SYNC != 0
    {
        return Err(Errno::EINVAL);
    }
    let end = page_up(len)
        .and_then(|l| addr.checked_add(l))
        .filter(|&e| e <= USER_TOP)
        .ok_or(Errno::ENOMEM)?;
    let vm_cell = t.proc.vm();
    let guard = vm_cell.lock();
    let vm = guard.as_ref().ok_or(Errno::EFAULT)?;
    if len != 0 && !vm.fully_mapped(addr, end) {
        return Err(Errno::ENOMEM);
    }
    Ok(0)
}
