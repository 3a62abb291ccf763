//! Character devices, chosen by device number as on Linux, whichever file system holds the
//! node: memory devices (major 1; `/dev/mem` maps physical memory below 1 MiB), the console (5:0 `/dev/tty`, 5:1 `/dev/console`, 4:64
//! `/dev/ttyS0`). At boot `/dev` is filled with their nodes (what devtmpfs gives on Linux).

use abi::errno::Errno;
use vfs::mode::{S_IFCHR, major, makedev, minor};
use vfs::{Cred, NewKind, Walk};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// `/dev/mem` (1:1): physical memory below 1 MiB, by mmap only.
    Mem,
    Null,
    Zero,
    Full,
    Random,
    Console,
}

/// The device a node's `st_rdev` names, or `ENXIO` for one Tine has no driver for.
pub fn by_rdev(rdev: u64) -> Result<Device, Errno> {
    Ok(match (major(rdev), minor(rdev)) {
        (1, 1) => Device::Mem,
        (1, 3) => Device::Null,
        (1, 5) => Device::Zero,
        (1, 7) => Device::Full,
        (1, 8) | (1, 9) => Device::Random,
        (5, 0) | (5, 1) | (4, 64) => Device::Console,
        _ => return Err(Errno::ENXIO),
    })
}

const NODES: &[(&[u8], u32, u32, u32)] = &[
    (b"mem", 1, 1, 0o640),
    (b"null", 1, 3, 0o666),
    (b"zero", 1, 5, 0o666),
    (b"full", 1, 7, 0o666),
    (b"random", 1, 8, 0o666),
    (b"urandom", 1, 9, 0o666),
    (b"tty", 5, 0, 0o666),
    (b"console", 5, 1, 0o600),
    (b"ttyS0", 4, 64, 0o660),
    (b"ptmx", 5, 2, 0o666),
];

/// Create `/dev` (if missing) and the device nodes in it (those missing).
pub fn populate() {
    let dev = {
        let mut v = super::lock();
        let root = v.root();
        let w = Walk {
            root,
            start: root,
            cred: Cred::ROOT,
            ext: &vfs::NoExt,
        };
        match v.resolve(&w, b"/dev", true) {
            Ok(d) => d,
            Err(_) => match v.create(root, b"dev", NewKind::Dir, 0o755, &Cred::ROOT) {
                Ok(d) => d,
                Err(e) => {
                    log::error!("cannot create /dev: {}", e.name());
                    return;
                }
            },
        }
    };
    populate_dir(dev);
}

/// Fill a directory with the device nodes (a devtmpfs mount, or /dev at boot).
pub fn populate_dir(dev: vfs::Node) {
    let mut v = super::lock();
    for &(name, ma, mi, perm) in NODES {
        let kind = NewKind::Special {
            kind: S_IFCHR,
            rdev: makedev(ma, mi),
        };
        match v.create(dev, name, kind, perm, &Cred::ROOT) {
            Ok(_) | Err(Errno::EEXIST) => {}
            Err(e) => log::warn!("/dev: cannot create a node: {}", e.name()),
        }
    }
    for (name, target) in [
        (&b"fd"[..], &b"/proc/self/fd"[..]),
        (b"stdin", b"/proc/self/fd/0"),
        (b"stdout", b"/proc/self/fd/1"),
        (b"stderr", b"/proc/self/fd/2"),
    ] {
        let _ = v.create(dev, name, NewKind::Symlink(target), 0o777, &Cred::ROOT);
    }
    for d in [&b"shm"[..], b"pts"] {
        let _ = v.create(dev, d, NewKind::Dir, 0o755, &Cred::ROOT);
    }
}

/// Read from a device into `buf`; returns the bytes produced.
pub fn read(d: Device, buf: &mut [u8]) -> Result<usize, Errno> {
    Ok(match d {
        // Physical memory is reached through mmap only (see `syscall::mem::mmap`).
        Device::Mem => return Err(Errno::EINVAL),
        Device::Null => 0,
        Device::Zero | Device::Full => {
            buf.fill(0);
            buf.len()
        }
        Device::Random => {
            for chunk in buf.chunks_mut(8) {
                let r = hal::arch::random_u64().to_le_bytes();
                chunk.copy_from_slice(&r[..chunk.len()]);
            }
            buf.len()
        }
        Device::Console => crate::console::read(buf)?,
    })
}

/// Write `data` to a device; returns the bytes taken.
pub fn write(d: Device, data: &[u8]) -> Result<usize, Errno> {
    match d {
        Device::Mem => Err(Errno::EINVAL),
        Device::Null | Device::Zero | Device::Random => Ok(data.len()),
        Device::Full => Err(Errno::ENOSPC),
        Device::Console => {
            crate::console::write(data);
            Ok(data.len())
        }
    }
}
