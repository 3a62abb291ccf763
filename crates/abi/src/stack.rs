//! The initial user stack of an x86-64 ELF process, built byte for byte the way Linux's `execve`
//! builds it (`fs/exec.c` copies the strings, `fs/binfmt_elf.c:create_elf_tables` the rest).
//!
//! Layout, from high addresses to low:
//!
//! ```text
//! stack_top        ┐
//!   8 zero bytes   │ end marker (Linux starts at vm_end - sizeof(void *))
//!   execfn\0       │ copy of the file name, AT_EXECFN points here
//!   envp strings   │ envp[0] lowest ... envp[n-1] highest      (env_start..env_end)
//!   argv strings   │ argv[0] lowest ... argv[n-1] highest      (arg_start..arg_end)
//!   0..15 bytes    │ p &= !15 (arch_align_stack, without the ASLR offset)
//!   platform\0     │ "x86_64", AT_PLATFORM points here (left out when empty)
//!   16 bytes       │ AT_RANDOM points here
//!   0..15 bytes    │ padding so that rsp ends up 16-byte aligned
//!   auxv pairs     │ ..., (AT_NULL, 0)
//!   0              │ envp terminator
//!   envp[]         │
//!   0              │ argv terminator
//!   argv[]         │
//!   argc           ┘ <- rsp, 16-byte aligned
//! ```
//!
//! Argument checks follow Linux 6.1: a string longer than [`MAX_ARG_STRLEN`] (counting its NUL)
//! or strings plus pointers exceeding [`ARG_MAX`] give `E2BIG`. An empty `argv` is accepted and,
//! like Linux since 5.18, replaced by `{""}`: the program sees `argc == 1` and `argv[0] == ""`.
//!
//! Strings are C strings: an input slice that contains a NUL byte is cut at the first NUL, exactly
//! what the kernel would have read from user memory.

use alloc::vec::Vec;

use crate::Errno;
use crate::auxv::{
    AT_EXECFN, AT_HWCAP2, AT_HWCAP3, AT_HWCAP4, AT_NULL, AT_PLATFORM, AT_RANDOM, AT_SECURE,
};

/// Limit on the bytes of all strings (argv, envp, execfn, each with its NUL) plus 8 bytes per argv
/// and envp pointer. Linux derives it as a quarter of `RLIMIT_STACK` (8 MiB by default).
pub const ARG_MAX: usize = 2 * 1024 * 1024;

/// Longest single string, counting its NUL (Linux: 32 pages).
pub const MAX_ARG_STRLEN: usize = 131_072;

/// The stack content `build` produced, and where its parts are in user memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackImage {
    /// The content to copy so that its LAST byte is at `stack_top - 1`; `bytes[0]` is at `sp`.
    pub bytes: Vec<u8>,
    /// Initial `rsp`: the address of `argc`, 16-byte aligned.
    pub sp: u64,
    /// Address of `argv[0]` (the pointer array).
    pub argv_addr: u64,
    /// Address of `envp[0]` (the pointer array).
    pub envp_addr: u64,
    /// Address of the first auxv pair.
    pub auxv_addr: u64,
    /// Address of the execfn string (`AT_EXECFN`).
    pub execfn_addr: u64,
    /// Address of the 16 random bytes (`AT_RANDOM`).
    pub random_addr: u64,
    /// Address of the platform string (`AT_PLATFORM`), 0 when the platform was empty.
    pub platform_addr: u64,
    /// `argc` as written (at least 1, see the module docs).
    pub argc: u64,
    /// Start of the argv strings (`mm->arg_start`, for `/proc/pid/cmdline`).
    pub arg_start: u64,
    /// End of the argv strings, one past the last NUL (`mm->arg_end`).
    pub arg_end: u64,
    /// Start of the envp strings (`mm->env_start`, for `/proc/pid/environ`).
    pub env_start: u64,
    /// End of the envp strings, one past the last NUL (`mm->env_end`).
    pub env_end: u64,
}

/// What goes on the stack.
#[derive(Clone, Copy, Debug)]
pub struct StackSpec<'a> {
    /// One past the highest byte of the stack (the stack VMA's end).
    pub stack_top: u64,
    /// Argument strings, without NULs.
    pub argv: &'a [&'a [u8]],
    /// Environment strings (`"KEY=value"`), without NULs.
    pub envp: &'a [&'a [u8]],
    /// The file name as given to `execve`.
    pub execfn: &'a [u8],
    /// The platform string, `b"x86_64"`; empty leaves out the string and `AT_PLATFORM`.
    pub platform: &'a [u8],
    /// The bytes `AT_RANDOM` points at.
    pub random: [u8; 16],
    /// Auxiliary vector entries WITHOUT `AT_RANDOM`, `AT_EXECFN`, `AT_PLATFORM` and `AT_NULL`
    /// (such entries are dropped); `build` adds those with the right addresses.
    pub auxv: &'a [(u64, u64)],
}

/// The string as C would see it: everything before the first NUL.
fn cstr(s: &[u8]) -> &[u8] {
    s.split(|&b| b == 0).next().unwrap_or(s)
}

/// Bytes a string takes on the stack, NUL included; `E2BIG` if longer than [`MAX_ARG_STRLEN`].
fn stack_len(s: &[u8]) -> Result<usize, Errno> {
    let len = s.len().saturating_add(1);
    if len > MAX_ARG_STRLEN {
        Err(Errno::E2BIG)
    } else {
        Ok(len)
    }
}

/// The auxiliary vector in Linux's order: the caller's entries, with `AT_RANDOM` right after
/// `AT_SECURE`, then `AT_EXECFN` and `AT_PLATFORM` right after the `AT_HWCAP2..4` entries that
/// follow it, and `AT_NULL` last. Entries missing from the input move the insertions to the end.
fn auxv_entries(
    spec: &StackSpec<'_>,
    execfn_addr: u64,
    random_addr: u64,
    platform_addr: Option<u64>,
) -> Result<Vec<(u64, u64)>, Errno> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    out.try_reserve_exact(spec.auxv.len().saturating_add(4))
        .map_err(|_| Errno::ENOMEM)?;
    let tail = |out: &mut Vec<(u64, u64)>| {
        out.push((AT_EXECFN, execfn_addr));
        if let Some(addr) = platform_addr {
            out.push((AT_PLATFORM, addr));
        }
    };
    let mut random_done = false;
    let mut tail_done = false;
    for &(key, val) in spec.auxv {
        if matches!(key, AT_NULL | AT_RANDOM | AT_EXECFN | AT_PLATFORM) {
            continue;
        }
        if random_done && !tail_done && !matches!(key, AT_HWCAP2 | AT_HWCAP3 | AT_HWCAP4) {
            tail(&mut out);
            tail_done = true;
        }
        out.push((key, val));
        if key == AT_SECURE && !random_done {
            out.push((AT_RANDOM, random_addr));
            random_done = true;
        }
    }
    if !random_done {
        out.push((AT_RANDOM, random_addr));
    }
    if !tail_done {
        tail(&mut out);
    }
    out.push((AT_NULL, 0));
    Ok(out)
}

/// Writes `data` at user address `addr` of an image whose first byte is at `base`.
fn put(buf: &mut [u8], base: u64, addr: u64, data: &[u8]) -> Result<(), Errno> {
    let off = usize::try_from(addr.wrapping_sub(base)).map_err(|_| Errno::EFAULT)?;
    let end = off.checked_add(data.len()).ok_or(Errno::EFAULT)?;
    buf.get_mut(off..end)
        .ok_or(Errno::EFAULT)?
        .copy_from_slice(data);
    Ok(())
}

fn put_u64(buf: &mut [u8], base: u64, addr: u64, val: u64) -> Result<(), Errno> {
    put(buf, base, addr, &val.to_le_bytes())
}

/// Moves `p` down by `n` bytes; `EFAULT` if that leaves the address space.
fn down(p: u64, n: usize) -> Result<u64, Errno> {
    p.checked_sub(u64::try_from(n).map_err(|_| Errno::EFAULT)?)
        .ok_or(Errno::EFAULT)
}

/// Builds the initial stack for `spec`.
///
/// Errors: `E2BIG` for a string over [`MAX_ARG_STRLEN`] or strings plus pointers over
/// [`ARG_MAX`]; `EFAULT` if the image does not fit below `stack_top`; `ENOMEM` if the buffer
/// cannot be allocated.
pub fn build(spec: &StackSpec<'_>) -> Result<StackImage, Errno> {
    const EMPTY: &[&[u8]] = &[b""];
    let argv = if spec.argv.is_empty() {
        EMPTY
    } else {
        spec.argv
    };
    let execfn = cstr(spec.execfn);
    let platform = cstr(spec.platform);

    // Linux's bprm_stack_limits(): pointers first, then every string against what is left.
    let ptr_size = argv.len().saturating_add(spec.envp.len()).saturating_mul(8);
    if ptr_size >= ARG_MAX {
        return Err(Errno::E2BIG);
    }
    let mut argbytes = 0usize;
    for s in argv {
        argbytes = argbytes.saturating_add(stack_len(cstr(s))?);
    }
    let mut envbytes = 0usize;
    for s in spec.envp {
        envbytes = envbytes.saturating_add(stack_len(cstr(s))?);
    }
    let execlen = stack_len(execfn)?;
    let strings = argbytes.saturating_add(envbytes).saturating_add(execlen);
    if strings > ARG_MAX - ptr_size {
        return Err(Errno::E2BIG);
    }

    // Addresses, top down.
    let top = spec.stack_top;
    let execfn_addr = down(down(top, 8)?, execlen)?;
    let env_end = execfn_addr;
    let env_start = down(env_end, envbytes)?;
    let arg_end = env_start;
    let arg_start = down(arg_end, argbytes)?;
    let mut p = arg_start & !15;
    let platform_addr = if platform.is_empty() {
        None
    } else {
        p = down(p, platform.len() + 1)?;
        Some(p)
    };
    let random_addr = down(p, 16)?;
    p = random_addr;

    let auxv = auxv_entries(spec, execfn_addr, random_addr, platform_addr)?;
    let argc = argv.len();
    let envc = spec.envp.len();
    // argc, argv[] + NULL, envp[] + NULL: at most ARG_MAX / 8 + 3 words, no overflow.
    let items = (argc + 1) + (envc + 1) + 1;
    let sp = down(down(p, auxv.len().saturating_mul(16))?, items * 8)? & !15;

    let size = usize::try_from(top - sp).map_err(|_| Errno::EFAULT)?;
    let mut bytes: Vec<u8> = Vec::new();
    bytes.try_reserve_exact(size).map_err(|_| Errno::ENOMEM)?;
    bytes.resize(size, 0);
    let buf = bytes.as_mut_slice();

    // Strings.
    put(buf, sp, execfn_addr, execfn)?;
    let mut at = arg_start;
    let argv_addr = sp + 8;
    for (i, s) in argv.iter().enumerate() {
        let s = cstr(s);
        put(buf, sp, at, s)?;
        put_u64(buf, sp, argv_addr + 8 * i as u64, at)?;
        at += s.len() as u64 + 1;
    }
    let envp_addr = argv_addr + 8 * (argc as u64 + 1);
    for (i, s) in spec.envp.iter().enumerate() {
        let s = cstr(s);
        put(buf, sp, at, s)?;
        put_u64(buf, sp, envp_addr + 8 * i as u64, at)?;
        at += s.len() as u64 + 1;
    }
    if let Some(addr) = platform_addr {
        put(buf, sp, addr, platform)?;
    }
    put(buf, sp, random_addr, &spec.random)?;

    // argc, then the auxv pairs (NULL pointers and padding are already zero).
    put_u64(buf, sp, sp, argc as u64)?;
    let auxv_addr = envp_addr + 8 * (envc as u64 + 1);
    for (i, &(key, val)) in auxv.iter().enumerate() {
        let addr = auxv_addr + 16 * i as u64;
        put_u64(buf, sp, addr, key)?;
        put_u64(buf, sp, addr + 8, val)?;
    }

    Ok(StackImage {
        bytes,
        sp,
        argv_addr,
        envp_addr,
        auxv_addr,
        execfn_addr,
        random_addr,
        platform_addr: platform_addr.unwrap_or(0),
        argc: argc as u64,
        arg_start,
        arg_end,
        env_start,
        env_end,
    })
}

#[cfg(test)]
mod tests;
