//! ELF auxiliary-vector keys (`AT_*`, from `include/uapi/linux/auxvec.h` and x86's
//! `asm/auxvec.h`): the `(key, value)` pairs the kernel puts above `envp` on the initial stack.

/// End of the vector (value 0).
pub const AT_NULL: u64 = 0;
/// Entry to be ignored.
pub const AT_IGNORE: u64 = 1;
/// File descriptor of the program (binfmt_misc "open-binary").
pub const AT_EXECFD: u64 = 2;
/// Address of the program headers in memory.
pub const AT_PHDR: u64 = 3;
/// Size of one program header entry.
pub const AT_PHENT: u64 = 4;
/// Number of program headers.
pub const AT_PHNUM: u64 = 5;
/// System page size.
pub const AT_PAGESZ: u64 = 6;
/// Load address of the interpreter (dynamic linker), 0 if none.
pub const AT_BASE: u64 = 7;
/// Flags (`AT_FLAGS_PRESERVE_ARGV0`).
pub const AT_FLAGS: u64 = 8;
/// Entry point of the program.
pub const AT_ENTRY: u64 = 9;
/// Program is not ELF.
pub const AT_NOTELF: u64 = 10;
/// Real uid.
pub const AT_UID: u64 = 11;
/// Effective uid.
pub const AT_EUID: u64 = 12;
/// Real gid.
pub const AT_GID: u64 = 13;
/// Effective gid.
pub const AT_EGID: u64 = 14;
/// Address of the platform string (`"x86_64"`).
pub const AT_PLATFORM: u64 = 15;
/// CPU capability bits (CPUID.1:EDX on x86).
pub const AT_HWCAP: u64 = 16;
/// Frequency of `times()` (`USER_HZ`, 100).
pub const AT_CLKTCK: u64 = 17;
/// Secure mode (setuid/setgid/capabilities gained).
pub const AT_SECURE: u64 = 23;
/// Address of the real platform string, when it differs from `AT_PLATFORM`.
pub const AT_BASE_PLATFORM: u64 = 24;
/// Address of 16 random bytes.
pub const AT_RANDOM: u64 = 25;
/// More CPU capability bits (x86: `HWCAP2_RING3MWAIT`, `HWCAP2_FSGSBASE`).
pub const AT_HWCAP2: u64 = 26;
/// rseq feature size.
pub const AT_RSEQ_FEATURE_SIZE: u64 = 27;
/// rseq allocation alignment.
pub const AT_RSEQ_ALIGN: u64 = 28;
/// Third word of CPU capability bits (not used on x86).
pub const AT_HWCAP3: u64 = 29;
/// Fourth word of CPU capability bits (not used on x86).
pub const AT_HWCAP4: u64 = 30;
/// Address of the file name of the executed program.
pub const AT_EXECFN: u64 = 31;
/// Address of the vDSO ELF header.
pub const AT_SYSINFO_EHDR: u64 = 33;
/// Minimal stack size for signal delivery.
pub const AT_MINSIGSTKSZ: u64 = 51;

/// `AT_FLAGS` bit: the interpreter was asked to keep `argv[0]` (binfmt_misc `P` flag).
pub const AT_FLAGS_PRESERVE_ARGV0: u64 = 1;

/// `AT_CLKTCK` value on x86-64 Linux (`USER_HZ`).
pub const CLOCKS_PER_SEC: u64 = 100;

/// x86 `AT_HWCAP2` bit: `MONITOR`/`MWAIT` usable in ring 3.
pub const HWCAP2_RING3MWAIT: u64 = 1 << 0;
/// x86 `AT_HWCAP2` bit: the kernel enabled `FSGSBASE` for user space.
pub const HWCAP2_FSGSBASE: u64 = 1 << 1;

/// The strace-style name of an auxv key (`"AT_PHDR"`), or `None` for an unknown key.
pub fn name(key: u64) -> Option<&'static str> {
    Some(match key {
        AT_NULL => "AT_NULL",
        AT_IGNORE => "AT_IGNORE",
        AT_EXECFD => "AT_EXECFD",
        AT_PHDR => "AT_PHDR",
        AT_PHENT => "AT_PHENT",
        AT_PHNUM => "AT_PHNUM",
        AT_PAGESZ => "AT_PAGESZ",
        AT_BASE => "AT_BASE",
        AT_FLAGS => "AT_FLAGS",
        AT_ENTRY => "AT_ENTRY",
        AT_NOTELF => "AT_NOTELF",
        AT_UID => "AT_UID",
        AT_EUID => "AT_EUID",
        AT_GID => "AT_GID",
        AT_EGID => "AT_EGID",
        AT_PLATFORM => "AT_PLATFORM",
        AT_HWCAP => "AT_HWCAP",
        AT_CLKTCK => "AT_CLKTCK",
        AT_SECURE => "AT_SECURE",
        AT_BASE_PLATFORM => "AT_BASE_PLATFORM",
        AT_RANDOM => "AT_RANDOM",
        AT_HWCAP2 => "AT_HWCAP2",
        AT_RSEQ_FEATURE_SIZE => "AT_RSEQ_FEATURE_SIZE",
        AT_RSEQ_ALIGN => "AT_RSEQ_ALIGN",
        AT_HWCAP3 => "AT_HWCAP3",
        AT_HWCAP4 => "AT_HWCAP4",
        AT_EXECFN => "AT_EXECFN",
        AT_SYSINFO_EHDR => "AT_SYSINFO_EHDR",
        AT_MINSIGSTKSZ => "AT_MINSIGSTKSZ",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name(AT_RANDOM), Some("AT_RANDOM"));
        assert_eq!(name(AT_MINSIGSTKSZ), Some("AT_MINSIGSTKSZ"));
        assert_eq!(name(50), None);
    }
}

#[cfg(all(test, target_os = "linux", target_arch = "x86_64"))]
mod host {
    use super::*;

    #[test]
    fn matches_host_libc() {
        let pairs: &[(u64, u64)] = &[
            (AT_NULL, libc::AT_NULL),
            (AT_IGNORE, libc::AT_IGNORE),
            (AT_EXECFD, libc::AT_EXECFD),
            (AT_PHDR, libc::AT_PHDR),
            (AT_PHENT, libc::AT_PHENT),
            (AT_PHNUM, libc::AT_PHNUM),
            (AT_PAGESZ, libc::AT_PAGESZ),
            (AT_BASE, libc::AT_BASE),
            (AT_FLAGS, libc::AT_FLAGS),
            (AT_ENTRY, libc::AT_ENTRY),
            (AT_NOTELF, libc::AT_NOTELF),
            (AT_UID, libc::AT_UID),
            (AT_EUID, libc::AT_EUID),
            (AT_GID, libc::AT_GID),
            (AT_EGID, libc::AT_EGID),
            (AT_PLATFORM, libc::AT_PLATFORM),
            (AT_HWCAP, libc::AT_HWCAP),
            (AT_CLKTCK, libc::AT_CLKTCK),
            (AT_SECURE, libc::AT_SECURE),
            (AT_BASE_PLATFORM, libc::AT_BASE_PLATFORM),
            (AT_RANDOM, libc::AT_RANDOM),
            (AT_HWCAP2, libc::AT_HWCAP2),
            (AT_EXECFN, libc::AT_EXECFN),
            (AT_SYSINFO_EHDR, libc::AT_SYSINFO_EHDR),
            (AT_MINSIGSTKSZ, libc::AT_MINSIGSTKSZ),
        ];
        for &(ours, theirs) in pairs {
            assert_eq!(ours, theirs, "{:?}", name(ours));
        }
    }
}
