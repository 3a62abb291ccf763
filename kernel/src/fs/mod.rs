//! Files, first version: an in-memory tree (`ramfs`) filled from the initramfs, path lookup with
//! symbolic links, and the file descriptors a process starts with (the console). The files issue
//! replaces this with a VFS, tmpfs, devices, /proc and pipes.

pub mod file;
pub mod initramfs;
pub mod ramfs;

pub use ramfs::Node;
