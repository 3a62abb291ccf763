//! System V shared memory: shmget, shmat, shmdt, shmctl (IPC_STAT, IPC_SET, IPC_RMID, and
//! `ipcs`'s IPC_INFO, SHM_INFO, SHM_STAT and SHM_STAT_ANY, which walk segments by index).
//!
//! A segment's pages are a VM file object, like a memfd's: every attachment is a shared
//! mapping of it, so fork shares attachments and the attach count is the object's number of
//! mappings, kept by the VM model itself. IPC_RMID marks a segment for destruction (its key
//! becomes private, `SHM_DEST` shows in its mode); it goes with its last attachment — at
//! shmdt, or when an address space holding one is destroyed (exit, exec).

use alloc::collections::BTreeMap;
use alloc::vec;

use abi::errno::Errno;
use hal::sync::SpinLock;

use super::{Args, Result};
use crate::proc::task::Task;
use crate::vm::{MapName, PAGE, Prot, VmFile, page_up};

const IPC_PRIVATE: i32 = 0;
const IPC_CREAT: u32 = 0o1000;
const IPC_EXCL: u32 = 0o2000;
const IPC_RMID: u32 = 0;
const IPC_SET: u32 = 1;
const IPC_STAT: u32 = 2;
const IPC_INFO: u32 = 3;
const SHM_STAT: u32 = 13;
const SHM_INFO: u32 = 14;
const SHM_STAT_ANY: u32 = 15;
const SHM_RDONLY: u32 = 0o10000;
const SHM_RND: u32 = 0o20000;
const SHM_REMAP: u32 = 0o40000;
/// Linux's defaults: SHMMAX and SHMMNI.
const SHMMAX: u64 = 0x7fff_ffff_ffff_f000 - (1 << 24);
const SHMMNI: usize = 4096;

/// `shm_perm.mode` bit of a segment marked for destruction.
const SHM_DEST: u32 = 0o1000;

struct Segment {
    key: i32,
    size: u64,
    pages: VmFile,
    uid: u32,
    gid: u32,
    cuid: u32,
    cgid: u32,
    mode: u32,
    seq: u16,
    cpid: u32,
    lpid: u32,
    atime: i64,
    dtime: i64,
    ctime: i64,
}

struct Table {
    segs: BTreeMap<i32, Segment>,
    next_seq: u16,
}

static SHM: SpinLock<Table> = SpinLock::new(Table {
    segs: BTreeMap::new(),
    next_seq: 0,
});

fn now() -> i64 {
    crate::time::realtime_ns() / 1_000_000_000
}

/// Whether the caller may access a segment (`want`: 4 read, 2 write), as for files.
fn allowed(t: &Task, s: &Segment, want: u32) -> bool {
    let c = t.proc.creds.lock();
    if c.privileged() {
        return true;
    }
    let bits = if c.euid == s.uid || c.euid == s.cuid {
        s.mode >> 6
    } else if c.egid == s.gid || c.egid == s.cgid || c.groups.contains(&s.gid) {
        s.mode >> 3
    } else {
        s.mode
    } & 7;
    bits & want == want
}

pub fn shmget(t: &mut Task, a: Args) -> Result {
    let (key, size, flags) = (a.i32(0), a.0[1], a.u32(2));
    let mut tab = SHM.lock();
    if key != IPC_PRIVATE
        && let Some((&id, s)) = tab.segs.iter().find(|(_, s)| s.key == key)
    {
        if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 {
            return Err(Errno::EEXIST);
        }
        if size > s.size {
            return Err(Errno::EINVAL);
        }
        let want = if flags & 0o200 != 0 { 6 } else { 4 };
        if flags & 0o777 != 0 && !allowed(t, s, want) {
            return Err(Errno::EACCES);
        }
        return Ok(id as u64);
    }
    if key != IPC_PRIVATE && flags & IPC_CREAT == 0 {
        return Err(Errno::ENOENT);
    }
    if size == 0 || size > SHMMAX {
        return Err(Errno::EINVAL);
    }
    if tab.segs.len() >= SHMMNI {
        return Err(Errno::ENOSPC);
    }
    let pages = VmFile::new().ok_or(Errno::ENOMEM)?;
    let c = t.proc.creds.lock().clone();
    let seq = tab.next_seq;
    tab.next_seq = tab.next_seq.wrapping_add(1);
    // Ids as Linux makes them: a slot index plus a sequence number times SHMMNI... kept simple
    // here: the lowest free index, with the sequence in the upper bits.
    let index = (0..SHMMNI as i32)
        .find(|i| !tab.segs.keys().any(|id| id % SHMMNI as i32 == *i))
        .ok_or(Errno::ENOSPC)?;
    let id = i32::from(seq % 0x7fff) * SHMMNI as i32 + index;
    tab.segs.insert(
        id,
        Segment {
            key,
            size,
            pages,
            uid: c.euid,
            gid: c.egid,
            cuid: c.euid,
            cgid: c.egid,
            mode: flags & 0o777,
            seq,
            cpid: t.proc.pid,
            lpid: 0,
            atime: 0,
            dtime: 0,
            ctime: now(),
        },
    );
    Ok(id as u64)
}

pub fn shmat(t: &mut Task, a: Args) -> Result {
    let (id, addr, flags) = (a.i32(0), a.0[1], a.u32(2));
    let (object, size) = {
        let mut tab = SHM.lock();
        let s = tab.segs.get_mut(&id).ok_or(Errno::EINVAL)?;
        let want = if flags & SHM_RDONLY != 0 { 4 } else { 6 };
        if !allowed(t, s, want) {
            return Err(Errno::EACCES);
        }
        s.atime = now();
        s.lpid = t.proc.pid;
        (
            vfs::FileData::object(&s.pages).ok_or(Errno::EINVAL)?,
            s.size,
        )
    };
    let len = page_up(size).ok_or(Errno::EINVAL)?;
    let addr = if flags & SHM_RND != 0 {
        addr & !(PAGE - 1)
    } else {
        addr
    };
    if !addr.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    let prot = if flags & SHM_RDONLY != 0 {
        Prot::R
    } else {
        Prot::RW
    };
    let vm_cell = t.proc.vm();
    let mut guard = vm_cell.lock();
    let vm = guard.as_mut().ok_or(Errno::EINVAL)?;
    let start = if addr == 0 {
        vm.find_free(len).ok_or(Errno::ENOMEM)?
    } else {
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        if vm.overlaps(addr, end) {
            if flags & SHM_REMAP == 0 {
                return Err(Errno::EINVAL);
            }
            vm.unmap(addr, end)?;
        }
        addr
    };
    vm.add_file(start, start + len, prot, true, object, 0)?;
    vm.name_range(MapName {
        start,
        end: start + len,
        path: alloc::format!(
            "/SYSV{:08x} (deleted)",
            SHM.lock().segs.get(&id).map_or(0, |s| s.key)
        )
        .into_bytes(),
        offset: 0,
        dev: 1,
        ino: id as u64,
    });
    vm.shm.push((start, start + len, id));
    Ok(start)
}

pub fn shmdt(t: &mut Task, a: Args) -> Result {
    let addr = a.0[0];
    if !addr.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    let id = {
        let vm_cell = t.proc.vm();
        let mut guard = vm_cell.lock();
        let vm = guard.as_mut().ok_or(Errno::EINVAL)?;
        let pos = vm
            .shm
            .iter()
            .position(|&(s, _, _)| s == addr)
            .ok_or(Errno::EINVAL)?;
        let (s, e, id) = vm.shm.remove(pos);
        // Whatever of the attachment is still mapped goes (munmap may have taken parts).
        for (lo, hi, _, shared) in vm.areas_in(s, e) {
            if shared {
                vm.unmap(lo, hi)?;
            }
        }
        id
    };
    if let Some(s) = SHM.lock().segs.get_mut(&id) {
        s.dtime = now();
        s.lpid = t.proc.pid;
    }
    sweep();
    Ok(0)
}

/// Segments in the table (marked ones still attached too), for leak checks.
pub fn segments() -> usize {
    SHM.lock().segs.len()
}

/// The highest index in use (an id is `seq * SHMMNI + index`), 0 with no segment, as
/// IPC_INFO and SHM_INFO return it.
fn highest_index(tab: &Table) -> u64 {
    tab.segs
        .keys()
        .map(|id| (id % SHMMNI as i32) as u64)
        .max()
        .unwrap_or(0)
}

/// Free segments marked by IPC_RMID that nothing maps any more.
pub fn sweep() {
    let gone: alloc::vec::Vec<Segment> = {
        let mut tab = SHM.lock();
        let dead: alloc::vec::Vec<i32> = tab
            .segs
            .iter()
            .filter(|(_, s)| s.mode & SHM_DEST != 0 && s.pages.users() == 0)
            .map(|(&id, _)| id)
            .collect();
        dead.iter().filter_map(|id| tab.segs.remove(id)).collect()
    };
    drop(gone);
}

pub fn shmctl(t: &mut Task, a: Args) -> Result {
    let (id, cmd, buf) = (a.i32(0), a.u32(1) & !0x100, a.0[2]);
    match cmd {
        IPC_STAT => {
            stat(t, id, buf, 4)?;
            Ok(0)
        }
        SHM_STAT | SHM_STAT_ANY => {
            // `id` is an index here; the answer is the segment's id.
            if id < 0 || id as usize >= SHMMNI {
                return Err(Errno::EINVAL);
            }
            let full = SHM
                .lock()
                .segs
                .keys()
                .copied()
                .find(|k| k % SHMMNI as i32 == id)
                .ok_or(Errno::EINVAL)?;
            stat(t, full, buf, if cmd == SHM_STAT { 4 } else { 0 })?;
            Ok(full as u64)
        }
        IPC_INFO => {
            // struct shminfo64: shmmax, shmmin, shmmni, shmseg, shmall, four unused words.
            let mut b = [0u8; 72];
            for (i, v) in [SHMMAX, 1, SHMMNI as u64, SHMMNI as u64, SHMMAX >> 12]
                .into_iter()
                .enumerate()
            {
                b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
            }
            let top = highest_index(&SHM.lock());
            t.write_user(buf, &b)?;
            Ok(top)
        }
        SHM_INFO => {
            // struct shm_info: used_ids (an int, padded), shm_tot, shm_rss, shm_swp,
            // swap_attempts, swap_successes.
            let (used, tot, rss, top) = {
                let tab = SHM.lock();
                let tot: u64 = tab.segs.values().map(|s| s.size.div_ceil(PAGE)).sum();
                let rss: u64 = tab
                    .segs
                    .values()
                    .map(|s| vfs::FileData::pages(&s.pages) as u64)
                    .sum();
                (tab.segs.len() as u32, tot, rss, highest_index(&tab))
            };
            let mut b = [0u8; 48];
            b[0..4].copy_from_slice(&used.to_le_bytes());
            b[8..16].copy_from_slice(&tot.to_le_bytes());
            b[16..24].copy_from_slice(&rss.to_le_bytes());
            t.write_user(buf, &b)?;
            Ok(top)
        }
        IPC_SET => {
            let mut b = [0u8; 24];
            t.read_user(buf, &mut b)?;
            let word = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
            let c = t.proc.creds.lock().clone();
            let mut tab = SHM.lock();
            let s = tab.segs.get_mut(&id).ok_or(Errno::EINVAL)?;
            if !c.privileged() && c.euid != s.uid && c.euid != s.cuid {
                return Err(Errno::EPERM);
            }
            s.uid = word(4);
            s.gid = word(8);
            s.mode = (s.mode & SHM_DEST) | (word(20) & 0o777);
            s.ctime = now();
            Ok(0)
        }
        IPC_RMID => {
            let c = t.proc.creds.lock().clone();
            let gone = {
                let mut tab = SHM.lock();
                let s = tab.segs.get_mut(&id).ok_or(Errno::EINVAL)?;
                if !c.privileged() && c.euid != s.uid && c.euid != s.cuid {
                    return Err(Errno::EPERM);
                }
                // Marked: no longer found by key; gone now if nothing is attached.
                s.key = IPC_PRIVATE;
                s.mode |= SHM_DEST;
                if s.pages.users() == 0 {
                    tab.segs.remove(&id)
                } else {
                    None
                }
            };
            drop(gone);
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Write `struct shmid64_ds` of segment `id` to `buf`; `want` is the access needed (4 for
/// IPC_STAT and SHM_STAT, 0 for SHM_STAT_ANY).
fn stat(t: &mut Task, id: i32, buf: u64, want: u32) -> core::result::Result<(), Errno> {
    let b = {
        let tab = SHM.lock();
        let s = tab.segs.get(&id).ok_or(Errno::EINVAL)?;
        if want != 0 && !allowed(t, s, want) {
            return Err(Errno::EACCES);
        }
        // struct shmid64_ds: ipc64_perm (48 bytes), segsz, atime, dtime, ctime,
        // cpid, lpid, nattch, two unused words — 112 bytes.
        let mut b = vec![0u8; 112];
        let put32 = |b: &mut [u8], o: usize, v: u32| b[o..o + 4].copy_from_slice(&v.to_le_bytes());
        let put64 = |b: &mut [u8], o: usize, v: u64| b[o..o + 8].copy_from_slice(&v.to_le_bytes());
        put32(&mut b, 0, s.key as u32);
        put32(&mut b, 4, s.uid);
        put32(&mut b, 8, s.gid);
        put32(&mut b, 12, s.cuid);
        put32(&mut b, 16, s.cgid);
        put32(&mut b, 20, s.mode);
        b[24..26].copy_from_slice(&s.seq.to_le_bytes());
        put64(&mut b, 48, s.size);
        put64(&mut b, 56, s.atime as u64);
        put64(&mut b, 64, s.dtime as u64);
        put64(&mut b, 72, s.ctime as u64);
        put32(&mut b, 80, s.cpid);
        put32(&mut b, 84, s.lpid);
        put64(&mut b, 88, u64::from(s.pages.users()));
        b
    };
    t.write_user(buf, &b)
}
