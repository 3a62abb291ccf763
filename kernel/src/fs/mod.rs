//! Files: the kernel's side of the VFS. The tree itself (tmpfs semantics, mounts, the path
//! walk, permissions) is the host-tested `vfs` crate; this module owns the one global [`Vfs`]
//! behind one lock, references to nodes that keep them alive ([`NodeRef`]), open files and
//! descriptor tables (`file`), devices (`dev`), pipes and FIFOs (`pipe`), procfs (`proc`) and
//! the initramfs unpacker.
//!
//! Locking: `VFS` is a spin lock held only for in-memory work — never across a copy to or from
//! user memory, never while sleeping. Data moves between user space and files through kernel
//! buffers. procfs callbacks run under it and may take the process table's lock (order: VFS,
//! then TABLE); nothing takes VFS while holding TABLE, because dropping a [`NodeRef`] (which can
//! happen anywhere a process is freed) only queues its release.

pub mod dev;
pub mod event;
pub mod file;
pub mod initramfs;
pub mod pipe;
pub mod proc;
pub mod pty;
pub mod socket;

use alloc::vec::Vec;

use abi::errno::Errno;
use hal::sync::{Once, SpinGuard, SpinLock};
use vfs::{Node, Timespec, Vfs};

static VFS: Once<SpinLock<Vfs>> = Once::new();
/// The root of the tmpfs instance that memfd files live in (never mounted; held for good).
static MEMFD_FS: Once<Node> = Once::new();
/// Hold/release requests from clones and drops of `NodeRef`, applied in order at the next lock.
static PENDING: SpinLock<Vec<(Node, bool)>> = SpinLock::new(Vec::new());

fn clock() -> Timespec {
    let ns = crate::time::realtime_ns();
    Timespec {
        sec: ns.div_euclid(1_000_000_000),
        nsec: ns.rem_euclid(1_000_000_000),
    }
}

/// The wall-clock time the system booted (procfs timestamps, `btime`).
pub fn boot_time() -> Timespec {
    let ns = crate::time::realtime_ns() - crate::time::monotonic_ns() as i64;
    Timespec {
        sec: ns.div_euclid(1_000_000_000),
        nsec: ns.rem_euclid(1_000_000_000),
    }
}

/// The VFS, locked.
pub fn lock() -> SpinGuard<'static, Vfs> {
    let mut v = VFS
        .call_once(|| {
            // File data lives in VM file objects, so shared mappings and read/write agree.
            let mut v = Vfs::with_storage(clock, crate::vm::VmFile::boxed);
            // tmpfs's default limit on Linux: half of RAM.
            v.max_pages = (hal::mem::frames::stats().total / 2) as usize;
            // memfd_create's hidden file system is made with the tree, not at the first
            // memfd_create: a directory inode appearing for good in the middle of a run is
            // indistinguishable from a leaked one to the inode count (/proc/tine/vm).
            let memfd = v.new_tmpfs(0o1777);
            v.hold(memfd);
            MEMFD_FS.call_once(|| memfd);
            SpinLock::new(v)
        })
        .lock();
    let pending = core::mem::take(&mut *PENDING.lock());
    for (node, hold) in pending {
        if hold {
            v.hold(node);
        } else {
            v.release(node);
        }
    }
    v
}

/// A counted reference to a node: while it exists the node is not freed, even if unlinked.
pub struct NodeRef(Node);

impl NodeRef {
    /// Take a new reference; the caller holds the VFS lock (the node is known to exist).
    pub fn new(v: &mut Vfs, node: Node) -> NodeRef {
        v.hold(node);
        NodeRef(node)
    }

    pub fn node(&self) -> Node {
        self.0
    }
}

impl Clone for NodeRef {
    fn clone(&self) -> NodeRef {
        // This reference already holds the node, so the extra hold can wait for the next lock.
        PENDING.lock().push((self.0, true));
        NodeRef(self.0)
    }
}

impl Drop for NodeRef {
    fn drop(&mut self) {
        PENDING.lock().push((self.0, false));
    }
}

impl core::fmt::Debug for NodeRef {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// The root directory, held.
pub fn root() -> NodeRef {
    let mut v = lock();
    let r = v.root();
    NodeRef::new(&mut v, r)
}

/// A new regular file with no name (memfd_create), held: it lives while it is open. It is made
/// in a tmpfs instance that is never mounted (`MEMFD_FS`, made with the VFS).
pub fn anon_file(cred: &vfs::Cred) -> Result<NodeRef, Errno> {
    static NEXT: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
    let mut v = lock();
    let dir = *MEMFD_FS.get().ok_or(Errno::ENOMEM)?;
    let name = alloc::format!(
        "{}",
        NEXT.fetch_add(1, core::sync::atomic::Ordering::Relaxed)
    );
    let node = v.create(dir, name.as_bytes(), vfs::NewKind::File, 0o600, cred)?;
    let r = NodeRef::new(&mut v, node);
    v.unlink(dir, name.as_bytes(), &vfs::Cred::ROOT)?;
    Ok(r)
}

/// Set up the root file system at boot: `/dev` with the standard device nodes (what
/// devtmpfs gives on Linux), then the initramfs.
pub fn init() -> initramfs::Stats {
    let stats = if hal::boot::initrd_bytes().is_some() {
        initramfs::unpack()
    } else {
        initramfs::Stats::default()
    };
    dev::populate();
    stats
}

#[cfg(feature = "ktest")]
mod tests {
    use hal::ktest;

    ktest!(
        fn memfd_files_leave_no_inode_behind() {
            // The inode count is what the fuzzer's leak check compares: a memfd (even the
            // first one since boot) must take exactly one inode and give it back at close.
            let before = super::lock().inode_count();
            for _ in 0..3 {
                let f = super::anon_file(&vfs::Cred::ROOT).expect("anon_file");
                assert_eq!(
                    super::lock().inode_count(),
                    before + 1,
                    "one inode per memfd"
                );
                drop(f);
                assert_eq!(
                    super::lock().inode_count(),
                    before,
                    "the memfd's inode stayed"
                );
            }
        }
    );
}
