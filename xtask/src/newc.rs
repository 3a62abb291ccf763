//! A writer for newc cpio archives, the initramfs format Linux and Tine unpack. Every image
//! xtask boots (tests, benchmarks, the default root file system) is written with it.

/// An archive being written; `finish` adds the trailer and returns the bytes.
pub struct Newc {
    out: Vec<u8>,
    next_ino: u32,
}

impl Default for Newc {
    fn default() -> Self {
        Self::new()
    }
}

impl Newc {
    pub fn new() -> Newc {
        Newc {
            out: Vec::new(),
            next_ino: 1,
        }
    }

    /// One entry: `mode` has the file type bits, `rdev` is (major, minor) for device nodes.
    pub fn add(&mut self, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        // Fields: ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor
        // namesize check, each eight hex digits.
        let fields = [
            self.next_ino,
            mode,
            0,
            0,
            if mode & 0o170000 == 0o040000 { 2 } else { 1 },
            0,
            data.len() as u32,
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() as u32 + 1,
            0,
        ];
        self.next_ino += 1;
        self.out.extend_from_slice(b"070701");
        for f in fields {
            self.out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.align();
        self.out.extend_from_slice(data);
        self.align();
    }

    fn align(&mut self) {
        let pad = (4 - self.out.len() % 4) % 4;
        self.out.resize(self.out.len() + pad, 0);
    }

    pub fn dir(&mut self, name: &str, perm: u32) {
        self.add(name, 0o040000 | perm, (0, 0), &[]);
    }

    pub fn file(&mut self, name: &str, data: &[u8], perm: u32) {
        self.add(name, 0o100000 | perm, (0, 0), data);
    }

    pub fn symlink(&mut self, name: &str, target: &str) {
        self.add(name, 0o120777, (0, 0), target.as_bytes());
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.add("TRAILER!!!", 0, (0, 0), &[]);
        self.out
    }
}
