//! procfs: files generated from the kernel's tables in Linux's formats, the ones busybox and
//! shells read. Node ids pack what a node is: bits 0..8 the kind, bits 8..40 a pid, bits
//! 40..64 a descriptor number plus one (for `fd/N`). A file's text is made when it is opened.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::Ordering;

use abi::errno::Errno;
use vfs::mode::{S_IFDIR, S_IFLNK, S_IFREG, dtype};
use vfs::{Attr, DirEntry, Ext, Node, Result, Vfs};

use crate::proc::{self as process, Process};

/// The file-system id procfs nodes carry.
pub const FS_ID: u32 = 1;

const ROOT: u8 = 0;
// Top-level files.
const SELF: u8 = 1;
const MEMINFO: u8 = 2;
const UPTIME: u8 = 3;
const VERSION: u8 = 4;
const MOUNTS: u8 = 5;
const CPUINFO: u8 = 6;
const LOADAVG: u8 = 7;
const STAT: u8 = 8;
const FILESYSTEMS: u8 = 9;
const THREAD_SELF: u8 = 10;
const CMDLINE: u8 = 11;
// Tine's own counters (not in Linux): /proc/tine/vm.
const TINE_DIR: u8 = 12;
const TINE_VM: u8 = 13;
const TINE_CHECK: u8 = 14;
// Per process.
const PID_DIR: u8 = 20;
const P_STAT: u8 = 21;
const P_STATUS: u8 = 22;
const P_CMDLINE: u8 = 23;
const P_COMM: u8 = 24;
const P_FD: u8 = 25;
const P_CWD: u8 = 26;
const P_EXE: u8 = 27;
const P_ROOT: u8 = 28;
const P_ENVIRON: u8 = 29;
const P_STATM: u8 = 30;
const P_MOUNTS: u8 = 31;
const P_MAPS: u8 = 32;
const P_FD_LINK: u8 = 40;

const TOP: &[(&[u8], u8)] = &[
    (b"cmdline", CMDLINE),
    (b"cpuinfo", CPUINFO),
    (b"filesystems", FILESYSTEMS),
    (b"loadavg", LOADAVG),
    (b"meminfo", MEMINFO),
    (b"mounts", MOUNTS),
    (b"self", SELF),
    (b"stat", STAT),
    (b"thread-self", THREAD_SELF),
    (b"tine", TINE_DIR),
    (b"uptime", UPTIME),
    (b"version", VERSION),
];

const TINE: &[(&[u8], u8)] = &[(b"vm", TINE_VM), (b"check", TINE_CHECK)];

const PER_PID: &[(&[u8], u8)] = &[
    (b"cmdline", P_CMDLINE),
    (b"comm", P_COMM),
    (b"cwd", P_CWD),
    (b"environ", P_ENVIRON),
    (b"exe", P_EXE),
    (b"fd", P_FD),
    (b"maps", P_MAPS),
    (b"mounts", P_MOUNTS),
    (b"root", P_ROOT),
    (b"stat", P_STAT),
    (b"statm", P_STATM),
    (b"status", P_STATUS),
];

fn id(kind: u8, pid: u32, fd: Option<i32>) -> u64 {
    u64::from(kind) | (u64::from(pid) << 8) | (fd.map_or(0, |f| f as u64 + 1) << 40)
}

fn kind(id: u64) -> u8 {
    id as u8
}

fn pid_of(id: u64) -> u32 {
    (id >> 8) as u32
}

fn fd_of(id: u64) -> i32 {
    ((id >> 40) as i32) - 1
}

/// procfs as seen by the process `caller` (for `self`).
pub struct Procfs {
    pub caller: u32,
}

impl Procfs {
    /// For kernel-internal walks with no calling process.
    pub const fn anon() -> Procfs {
        Procfs { caller: 0 }
    }
}

fn process(pid: u32) -> Result<alloc::sync::Arc<Process>> {
    process::lookup(pid)
        .filter(|p| p.pid == pid)
        .ok_or(Errno::ENOENT)
}

/// Linux's PTRACE_MODE_READ_FSCREDS rule for what shows another process's memory and files
/// (`environ`, `maps`, the `exe`, `cwd`, `root` and `fd/N` links): the process itself, or a
/// caller that `Creds::may_inspect` the target by its fs ids; anyone else gets EACCES.
fn may_inspect(caller: u32, pid: u32) -> Result<()> {
    if caller == 0 || caller == pid {
        return Ok(());
    }
    let me = process(caller)?.creds.lock().clone();
    let them = process(pid)?.creds.lock().clone();
    if me.may_inspect(&them, true) {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

fn parse_num(name: &[u8]) -> Option<u32> {
    if name.is_empty() || name.len() > 10 || (name.len() > 1 && name[0] == b'0') {
        return None;
    }
    core::str::from_utf8(name).ok()?.parse().ok()
}

impl Ext for Procfs {
    fn root(&self, _: u32) -> u64 {
        id(ROOT, 0, None)
    }

    fn lookup(&self, _: u32, dir: u64, name: &[u8]) -> Result<u64> {
        match kind(dir) {
            ROOT => {
                if let Some(&(_, k)) = TOP.iter().find(|(n, _)| *n == name) {
                    return Ok(id(k, 0, None));
                }
                let pid = parse_num(name).ok_or(Errno::ENOENT)?;
                process(pid)?;
                Ok(id(PID_DIR, pid, None))
            }
            TINE_DIR => {
                let &(_, k) = TINE.iter().find(|(n, _)| *n == name).ok_or(Errno::ENOENT)?;
                Ok(id(k, 0, None))
            }
            PID_DIR => {
                let &(_, k) = PER_PID
                    .iter()
                    .find(|(n, _)| *n == name)
                    .ok_or(Errno::ENOENT)?;
                Ok(id(k, pid_of(dir), None))
            }
            P_FD => {
                let fd = parse_num(name).ok_or(Errno::ENOENT)? as i32;
                process(pid_of(dir))?
                    .fds()
                    .lock()
                    .get(fd)
                    .map_err(|_| Errno::ENOENT)?;
                Ok(id(P_FD_LINK, pid_of(dir), Some(fd)))
            }
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn parent(&self, _: u32, node: u64) -> u64 {
        match kind(node) {
            ROOT | PID_DIR => id(ROOT, 0, None),
            P_FD_LINK => id(P_FD, pid_of(node), None),
            TINE_VM | TINE_CHECK => id(TINE_DIR, 0, None),
            k if k >= PID_DIR => id(PID_DIR, pid_of(node), None),
            _ => id(ROOT, 0, None),
        }
    }

    fn name(&self, _: u32, node: u64) -> Vec<u8> {
        match kind(node) {
            PID_DIR => format!("{}", pid_of(node)).into_bytes(),
            P_FD_LINK => format!("{}", fd_of(node)).into_bytes(),
            k => TOP
                .iter()
                .chain(PER_PID)
                .chain(TINE)
                .find(|(_, kk)| *kk == k)
                .map(|(n, _)| n.to_vec())
                .unwrap_or_default(),
        }
    }

    fn attr(&self, _: u32, node: u64) -> Result<Attr> {
        let pid = pid_of(node);
        let (uid, gid) = if pid != 0 {
            let p = process(pid)?;
            let c = p.creds.lock();
            (c.euid, c.egid)
        } else {
            (0, 0)
        };
        let mode = match kind(node) {
            ROOT | PID_DIR | TINE_DIR => S_IFDIR | 0o555,
            P_FD => S_IFDIR | 0o500,
            SELF | THREAD_SELF | P_CWD | P_EXE | P_ROOT => S_IFLNK | 0o777,
            P_FD_LINK => S_IFLNK | 0o700,
            P_ENVIRON => S_IFREG | 0o400,
            _ => S_IFREG | 0o444,
        };
        let t = crate::fs::boot_time();
        // A descriptor's link shows its access mode, as on Linux (lr-x, l-wx, lrwx).
        let mode = if kind(node) == P_FD_LINK {
            let f = process(pid)?
                .fds()
                .lock()
                .get(fd_of(node))
                .map_err(|_| Errno::ENOENT)?;
            S_IFLNK
                | if f.readable() { 0o500 } else { 0o100 }
                | if f.writable() { 0o200 } else { 0 }
        } else {
            mode
        };
        Ok(Attr {
            size: if kind(node) == P_FD_LINK { 64 } else { 0 },
            ino: node.rotate_left(24) | 1,
            dev: 0x16,
            mode,
            nlink: if mode & S_IFDIR != 0 { 2 } else { 1 },
            uid,
            gid,
            atime: t,
            mtime: t,
            ctime: t,
            ..Attr::default()
        })
    }

    fn readlink(&self, vfs: &Vfs, _: u32, node: u64) -> Result<Vec<u8>> {
        let pid = pid_of(node);
        if matches!(kind(node), P_CWD | P_ROOT | P_EXE | P_FD_LINK) {
            may_inspect(self.caller, pid)?;
        }
        match kind(node) {
            SELF if self.caller != 0 => Ok(format!("{}", self.caller).into_bytes()),
            THREAD_SELF if self.caller != 0 => {
                Ok(format!("{0}/task/{0}", self.caller).into_bytes())
            }
            P_CWD => {
                let cwd = process(pid)?.fs().cwd.lock().node();
                vfs.path_of(cwd, vfs.root(), self)
            }
            P_ROOT => {
                let r = process(pid)?.fs().root.lock().node();
                vfs.path_of(r, vfs.root(), self)
            }
            P_EXE => {
                let e = process(pid)?.exe.lock().clone();
                if e.is_empty() {
                    Err(Errno::ENOENT)
                } else {
                    Ok(e)
                }
            }
            P_FD_LINK => {
                let f = process(pid)?
                    .fds()
                    .lock()
                    .get(fd_of(node))
                    .map_err(|_| Errno::ENOENT)?;
                Ok(crate::fs::file::describe(vfs, &f, self))
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn readdir(&self, _: u32, dir: u64) -> Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        let mut push = |name: Vec<u8>, node: u64| {
            let a = self.attr(FS_ID, node).unwrap_or_default();
            out.push(DirEntry {
                name,
                ino: a.ino,
                dtype: dtype(a.mode),
            });
        };
        match kind(dir) {
            ROOT => {
                for &(n, k) in TOP {
                    push(n.to_vec(), id(k, 0, None));
                }
                for pid in process::pids() {
                    push(format!("{pid}").into_bytes(), id(PID_DIR, pid, None));
                }
            }
            TINE_DIR => {
                for &(n, k) in TINE {
                    push(n.to_vec(), id(k, 0, None));
                }
            }
            PID_DIR => {
                for &(n, k) in PER_PID {
                    push(n.to_vec(), id(k, pid_of(dir), None));
                }
            }
            P_FD => {
                let fds = process(pid_of(dir))?.fds().lock().list();
                for (fd, _) in fds {
                    push(
                        format!("{fd}").into_bytes(),
                        id(P_FD_LINK, pid_of(dir), Some(fd)),
                    );
                }
            }
            _ => return Err(Errno::ENOTDIR),
        }
        Ok(out)
    }
}

/// The text of a procfs file, or `None` for nodes that are not regular files.
pub fn content(vfs: &Vfs, node: u64, caller: u32) -> Result<Vec<u8>> {
    let mut s = String::new();
    let pid = pid_of(node);
    match kind(node) {
        MEMINFO => meminfo(&mut s, vfs),
        UPTIME => {
            let ns = crate::time::monotonic_ns();
            let idle = crate::sched::idle_ns();
            let _ = writeln!(
                s,
                "{}.{:02} {}.{:02}",
                ns / 1_000_000_000,
                ns % 1_000_000_000 / 10_000_000,
                idle / 1_000_000_000,
                idle % 1_000_000_000 / 10_000_000
            );
        }
        VERSION => {
            let _ = writeln!(
                s,
                "Linux version {} (tine@tine) (rustc) #1 SMP PREEMPT_DYNAMIC Tine {} ({})",
                crate::syscall::info::RELEASE,
                crate::VERSION,
                crate::GIT_REV
            );
        }
        MOUNTS | P_MOUNTS => {
            for m in vfs.mount_list(&Procfs::anon()) {
                let _ = writeln!(
                    s,
                    "{} {} {} rw,relatime 0 0",
                    String::from_utf8_lossy(&m.source),
                    String::from_utf8_lossy(&m.path),
                    m.fstype
                );
            }
        }
        CPUINFO => cpuinfo(&mut s),
        LOADAVG => {
            let n = process::pids().len();
            let _ = writeln!(s, "0.00 0.00 0.00 1/{n} {}", process::last_pid());
        }
        STAT => {
            let busy = crate::sched::busy_ns() / 10_000_000;
            let idle = crate::sched::idle_ns() / 10_000_000;
            let _ = writeln!(s, "cpu  {busy} 0 0 {idle} 0 0 0 0 0 0");
            let _ = writeln!(s, "cpu0 {busy} 0 0 {idle} 0 0 0 0 0 0");
            let _ = writeln!(s, "intr 0\nctxt 0");
            let _ = writeln!(s, "btime {}", crate::fs::boot_time().sec);
            let _ = writeln!(s, "processes {}", process::last_pid());
            let _ = writeln!(s, "procs_running 1\nprocs_blocked 0");
        }
        CMDLINE => {
            let _ = writeln!(s, "{}", hal::boot::info().map_or("", |i| i.cmdline));
        }
        TINE_VM => tine_vm(&mut s, vfs),
        TINE_CHECK => s.push_str(&crate::invariants::report()),
        FILESYSTEMS => s.push_str("nodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\n"),
        P_STAT => proc_stat(&mut s, &*process(pid)?, caller),
        P_STATUS => proc_status(&mut s, &*process(pid)?, caller),
        P_STATM => {
            let p = process(pid)?;
            let (size, rss) = vm_pages(&p);
            let _ = writeln!(s, "{size} {rss} 0 0 0 0 0");
        }
        P_CMDLINE => return Ok(process(pid)?.cmdline.lock().clone()),
        P_ENVIRON => {
            may_inspect(caller, pid)?;
            return Ok(process(pid)?.environ.lock().clone());
        }
        P_MAPS => {
            may_inspect(caller, pid)?;
            let p = process(pid)?;
            let vm_cell = p.vm();
            let vm = vm_cell.lock();
            if let Some(v) = vm.as_ref() {
                s = v.maps();
            }
        }
        P_COMM => {
            let _ = writeln!(s, "{}", process(pid)?.comm.lock().as_str());
        }
        _ => return Err(Errno::EINVAL),
    }
    Ok(s.into_bytes())
}

fn meminfo(s: &mut String, vfs: &Vfs) {
    let st = hal::mem::frames::stats();
    let kb = |pages: u64| pages * 4;
    let (total, free) = (kb(st.total), kb(st.free));
    let shmem = kb(vfs.pages() as u64);
    for (name, v) in [
        ("MemTotal", total),
        ("MemFree", free),
        ("MemAvailable", free),
        ("Buffers", 0),
        ("Cached", shmem),
        ("SwapCached", 0),
        ("Active", 0),
        ("Inactive", 0),
        ("SwapTotal", 0),
        ("SwapFree", 0),
        ("Dirty", 0),
        ("AnonPages", kb(crate::vm::total_object_pages() as u64)),
        ("Mapped", 0),
        ("Shmem", shmem),
        ("Slab", 0),
    ] {
        let _ = writeln!(s, "{:<16}{:>8} kB", format!("{name}:"), v);
    }
}

/// Exact counts of what the kernel holds, one `name value` per line, for leak checks (the
/// system-call fuzzer compares them before and after a run). Frame and heap figures are in
/// pages and bytes; the heap only grows, so `heap_claimed` explains a drop of `free_frames`.
fn tine_vm(s: &mut String, vfs: &Vfs) {
    let frames = hal::mem::frames::stats();
    let heap = hal::mem::heap::stats();
    let (kstacks, kstack_slots) = hal::mem::stack::counts();
    for (name, v) in [
        ("free_frames", frames.free),
        ("total_frames", frames.total),
        ("heap_claimed", heap.claimed),
        ("heap_in_use", heap.in_use),
        ("heap_large", heap.large),
        ("kstacks", kstacks),
        ("kstack_slots", kstack_slots),
        ("kernel_tables", hal::mem::paging::kernel_tables()),
        ("objects", crate::vm::live_objects() as u64),
        ("object_pages", crate::vm::total_object_pages() as u64),
        ("spaces", crate::vm::live_spaces() as u64),
        ("max_chain", crate::vm::max_chain_len() as u64),
        ("processes", process::pids().len() as u64),
        ("pid_table", process::table_len() as u64),
        ("inodes", vfs.inode_count() as u64),
        ("file_pages", vfs.pages() as u64),
        ("shm_segments", crate::syscall::shm_segments() as u64),
    ] {
        let _ = writeln!(s, "{name} {v}");
    }
}

fn cpuinfo(s: &mut String) {
    use hal::arch::cpuid;
    let vendor = cpuid::vendor();
    let brand = cpuid::brand().unwrap_or([0; 48]);
    let text = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .trim_matches(char::from(0))
            .trim()
            .into()
    };
    let (vendor, brand): (String, String) = (text(&vendor), text(&brand));
    let flags: Vec<&str> = cpuid::Features::detect().names().collect();
    let _ = write!(
        s,
        "processor\t: 0\nvendor_id\t: {vendor}\nmodel name\t: {brand}\n\
         physical id\t: 0\nsiblings\t: 1\ncore id\t\t: 0\ncpu cores\t: 1\n\
         fpu\t\t: yes\nflags\t\t: {}\naddress sizes\t: 40 bits physical, 48 bits virtual\n\n",
        flags.join(" ")
    );
}

fn vm_pages(p: &Process) -> (u64, u64) {
    let vm_cell = p.vm();
    let vm = vm_cell.lock();
    match vm.as_ref() {
        Some(v) => (v.mapped_bytes() / 4096, v.resident_pages() as u64),
        None => (0, 0),
    }
}

/// Z for zombies; R for the process reading (it is running); S for the rest.
fn state_char(p: &Process, caller: u32) -> char {
    if p.is_zombie() {
        'Z'
    } else if p.pid == caller {
        'R'
    } else {
        'S'
    }
}

fn proc_stat(s: &mut String, p: &Process, caller: u32) {
    let (size, rss) = vm_pages(p);
    let ticks = |ns: u64| ns / 10_000_000;
    let t = &p.times;
    let _ = writeln!(
        s,
        "{} ({}) {} {} {} {} 0 -1 4194304 0 0 0 0 {} {} {} {} 20 {} {} 0 {} {} {} 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0",
        p.pid,
        p.comm.lock().as_str(),
        state_char(p, caller),
        p.ppid(),
        p.pgid.load(Ordering::Relaxed),
        p.sid.load(Ordering::Relaxed),
        ticks(t.user_ns.load(Ordering::Relaxed)),
        ticks(t.sys_ns.load(Ordering::Relaxed)),
        ticks(t.child_user_ns.load(Ordering::Relaxed)),
        ticks(t.child_sys_ns.load(Ordering::Relaxed)),
        p.nice.load(Ordering::Relaxed),
        p.live_threads.load(Ordering::Relaxed).max(1),
        p.start_ns / 10_000_000,
        size * 4096,
        rss,
    );
}

fn proc_status(s: &mut String, p: &Process, caller: u32) {
    let (size, rss) = vm_pages(p);
    let c = p.creds.lock().clone();
    let state = match state_char(p, caller) {
        'Z' => "Z (zombie)",
        'R' => "R (running)",
        _ => "S (sleeping)",
    };
    let groups: Vec<String> = c.groups.iter().map(|g| format!("{g}")).collect();
    let _ = write!(
        s,
        "Name:\t{}\nUmask:\t{:04o}\nState:\t{}\nTgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\n\
         TracerPid:\t0\nUid:\t{}\t{}\t{}\t{}\nGid:\t{}\t{}\t{}\t{}\nFDSize:\t64\nGroups:\t{}\n\
         VmPeak:\t{:>8} kB\nVmSize:\t{:>8} kB\nVmHWM:\t{:>8} kB\nVmRSS:\t{:>8} kB\n\
         Threads:\t{}\nSigQ:\t0/0\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n\
         SigBlk:\t{:016x}\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n\
         Cpus_allowed:\t1\nCpus_allowed_list:\t0\n",
        p.comm.lock().as_str(),
        p.fs().umask.load(Ordering::Relaxed),
        state,
        p.pid,
        p.pid,
        p.ppid(),
        c.uid,
        c.euid,
        c.suid,
        c.fsuid,
        c.gid,
        c.egid,
        c.sgid,
        c.fsgid,
        groups.join(" "),
        size * 4,
        size * 4,
        p.times.max_rss_pages.load(Ordering::Relaxed).max(rss) * 4,
        rss * 4,
        p.live_threads.load(Ordering::Relaxed).max(1),
        p.leader_mask(),
    );
}

/// The node for a procfs id.
pub fn node(id: u64) -> Node {
    Node::Ext { fs: FS_ID, id }
}

/// The root of procfs (for mount).
pub fn root() -> Node {
    node(id(ROOT, 0, None))
}
