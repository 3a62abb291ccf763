//! File type and permission bits (`st_mode`) and directory-entry types, as Linux numbers them.

pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;
pub const S_ISUID: u32 = 0o4000;
pub const S_ISGID: u32 = 0o2000;
pub const S_ISVTX: u32 = 0o1000;
/// Permission and special bits: everything `chmod` may change.
pub const S_IALLUGO: u32 = 0o7777;

pub const DT_UNKNOWN: u8 = 0;
pub const DT_FIFO: u8 = 1;
pub const DT_CHR: u8 = 2;
pub const DT_DIR: u8 = 4;
pub const DT_BLK: u8 = 6;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;
pub const DT_SOCK: u8 = 12;

/// Access wanted, as `access(2)` spells it.
pub const R_OK: u32 = 4;
pub const W_OK: u32 = 2;
pub const X_OK: u32 = 1;

pub fn is_dir(mode: u32) -> bool {
    mode & S_IFMT == S_IFDIR
}

pub fn is_reg(mode: u32) -> bool {
    mode & S_IFMT == S_IFREG
}

pub fn is_lnk(mode: u32) -> bool {
    mode & S_IFMT == S_IFLNK
}

/// The `d_type` of a directory entry for a file of this mode.
pub fn dtype(mode: u32) -> u8 {
    match mode & S_IFMT {
        S_IFSOCK => DT_SOCK,
        S_IFLNK => DT_LNK,
        S_IFREG => DT_REG,
        S_IFBLK => DT_BLK,
        S_IFDIR => DT_DIR,
        S_IFCHR => DT_CHR,
        S_IFIFO => DT_FIFO,
        _ => DT_UNKNOWN,
    }
}

/// Linux's device-number encoding (`new_encode_dev`), as `st_rdev` shows it.
pub fn makedev(major: u32, minor: u32) -> u64 {
    let (ma, mi) = (u64::from(major), u64::from(minor));
    (mi & 0xff) | ((ma & 0xfff) << 8) | ((mi & !0xff) << 12) | ((ma & !0xfff) << 32)
}

pub fn major(dev: u64) -> u32 {
    (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff)) as u32
}

pub fn minor(dev: u64) -> u32 {
    ((dev & 0xff) | ((dev >> 12) & !0xff)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_numbers_round_trip() {
        for (ma, mi) in [
            (1, 3),
            (5, 1),
            (4, 64),
            (136, 300),
            (4095, 1 << 19),
            (4096, 255),
        ] {
            let d = makedev(ma, mi);
            assert_eq!((major(d), minor(d)), (ma, mi));
        }
        // The values glibc's makedev gives for well-known devices.
        assert_eq!(makedev(1, 3), 0x103);
        assert_eq!(makedev(136, 300), 0x10_882c);
    }
}
