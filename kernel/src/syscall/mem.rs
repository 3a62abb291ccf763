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
const USER_TOP: u64 = 0x0000_7fff_ffff_f000;

pub fn mmap(t: &mut Task, a: Args) -> Result {
    let [addr, len, prot, flags, fd, off] = a.0;
    if len == 0 || addr % PAGE != 0 || off % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & (MAP_SHARED | MAP_PRIVATE) == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MAP_ANONYMOUS == 0 {
        // File mappings come with the files issue.
        let _ = fd;
        return Err(Errno::ENODEV);
    }
    let len = page_up(len)
        .filter(|&l| l <= USER_TOP)
        .ok_or(Errno::ENOMEM)?;
    let prot = prot_from_bits(prot);
    let mut guard = t.proc.vm.lock();
    let vm = guard.as_mut().ok_or(Errno::EFAULT)?;
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
    vm.add_anon(start, start + len, prot, flags & MAP_SHARED != 0)?;
    Ok(start)
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
    let mut guard = t.proc.vm.lock();
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
    let mut guard = t.proc.vm.lock();
    guard
        .as_mut()
        .ok_or(Errno::EFAULT)?
        .protect(addr, end, prot_from_bits(prot))?;
    Ok(0)
}

/// brk(addr): move the program break; returns the (possibly unchanged) break, as Linux does.
pub fn brk(t: &mut Task, a: Args) -> Result {
    let want = a.0[0];
    let mut guard = t.proc.vm.lock();
    let vm = guard.as_mut().ok_or(Errno::EFAULT)?;
    if want < vm.brk_start {
        return Ok(vm.brk);
    }
    let old_end = page_up(vm.brk).unwrap_or(vm.brk);
    let Some(new_end) = page_up(want) else {
        return Ok(vm.brk);
    };
    let limit = t.proc.rlimits.lock()[abi::layout::RLIMIT_DATA as usize].cur;
    if want - vm.brk_start > limit {
        return Ok(vm.brk);
    }
    if new_end > old_end {
        if vm.add_region(old_end, new_end, Prot::RW).is_err() {
            return Ok(vm.brk);
        }
    } else if new_end < old_end {
        let _ = vm.unmap(new_end, old_end);
    }
    vm.brk = want;
    Ok(want)
}
