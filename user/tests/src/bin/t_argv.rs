//! t_argv: the initial process image — argv, envp, the auxiliary vector and the layout of the
//! initial stack — as a static program sees it.
//!
//! The runner starts it exactly as
//!
//! ```sh
//! env -i TINE_A=1 TINE_B=x=y ./t_argv alpha "two words" ''
//! ```
//!
//! (argv[0] may be any path whose last component is `t_argv`; the environment must be exactly
//! these two entries, in this order).
//!
//! The initial stack at process entry is, from the stack pointer up:
//! `argc, argv[0..argc], NULL, envp[0..], NULL, auxv pairs.., AT_NULL`. musl's startup code
//! sets `environ` to `&envp[0]` and nothing changes it before `main` here, so the raw stack can
//! be walked back from `environ` and forward to the auxiliary vector, and compared with what
//! std (`std::env::args`) and musl (`getauxval`) report.

use std::ffi::{CStr, OsString};
use std::os::unix::ffi::OsStringExt;

use libc::{c_char, c_ulong};
use usertests::{Report, errno, set_errno};

unsafe extern "C" {
    static environ: *const *const c_char;
    /// musl's entry point (crt1.o / rcrt1.o); AT_ENTRY must point at it.
    fn _start();
    /// The ELF header of this executable, as mapped (defined by the linker).
    static __ehdr_start: Elf64Ehdr;
}

#[repr(C)]
struct Elf64Ehdr {
    e_ident: [u8; 16],
    e_type: u16,
    e_machine: u16,
    e_version: u32,
    e_entry: u64,
    e_phoff: u64,
    e_shoff: u64,
    e_flags: u32,
    e_ehsize: u16,
    e_phentsize: u16,
    e_phnum: u16,
    e_shentsize: u16,
    e_shnum: u16,
    e_shstrndx: u16,
}

#[repr(C)]
struct Elf64Phdr {
    p_type: u32,
    p_flags: u32,
    p_offset: u64,
    p_vaddr: u64,
    p_paddr: u64,
    p_filesz: u64,
    p_memsz: u64,
    p_align: u64,
}

const PT_LOAD: u32 = 1;
const PT_PHDR: u32 = 6;

const AT_NULL: c_ulong = 0;
const AT_EXECFN: c_ulong = 31;
const AT_PLATFORM: c_ulong = 15;
const AT_RANDOM: c_ulong = 25;

/// `getauxval` that tells "absent" (musl: 0 with errno ENOENT) apart from a 0 value.
fn aux(t: c_ulong) -> Option<c_ulong> {
    set_errno(0);
    // SAFETY: getauxval has no preconditions.
    let v = unsafe { libc::getauxval(t) };
    if v == 0 && errno() == libc::ENOENT {
        None
    } else {
        Some(v)
    }
}

/// Reads a NUL-terminated string at an address given by the kernel.
fn cstr_at(addr: c_ulong) -> Option<String> {
    if addr == 0 {
        return None;
    }
    // SAFETY: the address comes from the auxiliary vector and points to a NUL-terminated
    // string on the initial stack (checked non-null above).
    let s = unsafe { CStr::from_ptr(addr as *const c_char) };
    Some(String::from_utf8_lossy(s.to_bytes()).into_owned())
}

fn main() {
    let mut r = Report::new("t_argv");

    // ---- argv through std ----
    let args: Vec<OsString> = std::env::args_os().collect();
    let want_tail: [&[u8]; 3] = [b"alpha", b"two words", b""];
    r.check("argc", args.len() == 4, || {
        format!("argc {} (argv {args:?}), want 4", args.len())
    });
    let arg0 = args
        .first()
        .map(|a| a.clone().into_vec())
        .unwrap_or_default();
    let base0 = arg0.rsplit(|&b| b == b'/').next().unwrap_or(&[]);
    r.check("argv0", base0 == b"t_argv", || {
        format!("argv[0] is {:?}", String::from_utf8_lossy(&arg0))
    });
    let tail: Vec<Vec<u8>> = args.iter().skip(1).map(|a| a.clone().into_vec()).collect();
    r.check(
        "argv_values",
        tail.iter()
            .map(|v| v.as_slice())
            .eq(want_tail.iter().copied()),
        || format!("argv[1..] is {tail:?}"),
    );

    // ---- envp through std ----
    let vars: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let want_env = [("TINE_A", "1"), ("TINE_B", "x=y")];
    let env_ok = vars.len() == want_env.len()
        && vars
            .iter()
            .zip(want_env.iter())
            .all(|((k, v), (wk, wv))| k == wk && v == wv);
    r.check("envp_exact", env_ok, || {
        if vars.len() > 8 {
            format!("{} variables, want exactly TINE_A=1 TINE_B=x=y", vars.len())
        } else {
            format!("environment is {vars:?}, want exactly TINE_A=1 TINE_B=x=y")
        }
    });
    r.check(
        "env_var_lookup",
        std::env::var("TINE_B").as_deref() == Ok("x=y"),
        || format!("std::env::var(\"TINE_B\") = {:?}", std::env::var("TINE_B")),
    );

    // ---- the raw initial stack, walked back from environ ----
    // SAFETY: `environ` is set by musl before main to the envp array on the initial stack.
    let envp = unsafe { environ };
    let argc = args.len();
    // sp -> argc, then argc argv pointers, then NULL, then envp[0] (== environ).
    // SAFETY: these words are all part of the initial stack block below envp[0].
    let sp = unsafe { (envp as *const usize).sub(argc + 2) };
    let raw_argc = unsafe { *sp };
    r.eq("stack_argc", raw_argc, argc);
    r.check("stack_alignment", (sp as usize).is_multiple_of(16), || {
        format!("initial stack pointer {sp:p} is not 16-byte aligned")
    });
    let raw_argv = unsafe { sp.add(1) as *const *const c_char };
    let mut raw_ok = true;
    let mut raw_desc = Vec::new();
    for (i, a) in args.iter().enumerate() {
        // SAFETY: argv[i] for i < argc is a valid string pointer on the initial stack.
        let p = unsafe { *raw_argv.add(i) };
        let s = if p.is_null() {
            None
        } else {
            Some(unsafe { CStr::from_ptr(p) }.to_bytes().to_vec())
        };
        if s.as_deref() != Some(a.as_encoded_bytes()) {
            raw_ok = false;
        }
        raw_desc.push(s.map(|v| String::from_utf8_lossy(&v).into_owned()));
    }
    let argv_null = unsafe { *raw_argv.add(argc) }.is_null();
    r.check("stack_argv_matches_std", raw_ok && argv_null, || {
        format!("raw argv {raw_desc:?}, argv[argc] null: {argv_null}")
    });

    // Forward over envp to its NULL, then the auxiliary vector.
    let mut n_env = 0usize;
    // SAFETY: the envp array is NULL-terminated.
    while !unsafe { *envp.add(n_env) }.is_null() {
        n_env += 1;
    }
    r.eq("stack_envc", n_env, want_env.len());
    let auxv = unsafe { envp.add(n_env + 1) as *const c_ulong };
    let mut pairs = Vec::new();
    let mut terminated = false;
    for i in 0..128 {
        // SAFETY: the auxiliary vector follows envp's NULL and ends with AT_NULL.
        let (t, v) = unsafe { (*auxv.add(2 * i), *auxv.add(2 * i + 1)) };
        if t == AT_NULL {
            terminated = true;
            break;
        }
        pairs.push((t, v));
    }
    r.check("auxv_terminated", terminated, || {
        "no AT_NULL within 128 entries".to_string()
    });
    let mismatched: Vec<(c_ulong, c_ulong, Option<c_ulong>)> = pairs
        .iter()
        .filter(|&&(t, v)| aux(t) != Some(v))
        .map(|&(t, v)| (t, v, aux(t)))
        .collect();
    r.check("auxv_matches_getauxval", mismatched.is_empty(), || {
        format!("(type, stack value, getauxval) mismatches: {mismatched:?}")
    });
    let mut types: Vec<c_ulong> = pairs.iter().map(|p| p.0).collect();
    types.sort_unstable();
    let before = types.len();
    types.dedup();
    r.check("auxv_no_duplicates", before == types.len(), || {
        format!("types {:?}", pairs.iter().map(|p| p.0).collect::<Vec<_>>())
    });

    // ---- the auxiliary vector's entries ----
    r.eq("at_pagesz", aux(libc::AT_PAGESZ), Some(4096));

    // SAFETY: __ehdr_start is the linker-provided mapped ELF header of this executable.
    let ehdr = unsafe { &__ehdr_start };
    let ehdr_addr = ehdr as *const Elf64Ehdr as c_ulong;
    let phdr = aux(libc::AT_PHDR);
    r.eq("at_phent", aux(libc::AT_PHENT), Some(56));
    r.check(
        "at_phnum",
        matches!(aux(libc::AT_PHNUM), Some(n) if n > 0 && n == ehdr.e_phnum as c_ulong),
        || {
            format!(
                "AT_PHNUM {:?}, e_phnum {}",
                aux(libc::AT_PHNUM),
                ehdr.e_phnum
            )
        },
    );
    r.check("at_phdr", phdr == Some(ehdr_addr + ehdr.e_phoff), || {
        format!(
            "AT_PHDR {phdr:#x?}, ELF header mapped at {ehdr_addr:#x} with e_phoff {:#x}",
            ehdr.e_phoff
        )
    });
    // The program headers at AT_PHDR describe this image: one PT_LOAD at least, and a PT_PHDR
    // (if any) whose p_vaddr plus the load bias is AT_PHDR.
    if let (Some(ph), Some(n)) = (phdr, aux(libc::AT_PHNUM)) {
        // SAFETY: AT_PHDR/AT_PHNUM describe the mapped program header table (checked above to
        // agree with the ELF header, so the table is inside the mapped first segment).
        let table = unsafe { std::slice::from_raw_parts(ph as *const Elf64Phdr, n as usize) };
        let loads = table.iter().filter(|p| p.p_type == PT_LOAD).count();
        let bias = ehdr_addr.wrapping_sub(
            table
                .iter()
                .filter(|p| p.p_type == PT_LOAD)
                .map(|p| p.p_vaddr - p.p_offset)
                .min()
                .unwrap_or(0),
        );
        let phdr_ok = table
            .iter()
            .filter(|p| p.p_type == PT_PHDR)
            .all(|p| p.p_vaddr.wrapping_add(bias) == ph);
        r.check("phdr_table", loads > 0 && phdr_ok, || {
            format!("{loads} PT_LOAD, PT_PHDR consistent: {phdr_ok}")
        });
    } else {
        r.fail("phdr_table", "AT_PHDR or AT_PHNUM missing");
    }
    let entry = aux(libc::AT_ENTRY);
    let start = _start as *const () as c_ulong;
    r.check("at_entry", entry == Some(start), || {
        format!("AT_ENTRY {entry:#x?}, _start at {start:#x}")
    });
    r.eq("at_base_static", aux(libc::AT_BASE), Some(0));

    // SAFETY: these identity calls cannot fail.
    let (uid, euid, gid, egid) = unsafe {
        (
            libc::getuid(),
            libc::geteuid(),
            libc::getgid(),
            libc::getegid(),
        )
    };
    r.eq("at_uid", aux(libc::AT_UID), Some(uid as c_ulong));
    r.eq("at_euid", aux(libc::AT_EUID), Some(euid as c_ulong));
    r.eq("at_gid", aux(libc::AT_GID), Some(gid as c_ulong));
    r.eq("at_egid", aux(libc::AT_EGID), Some(egid as c_ulong));
    r.eq("at_secure", aux(libc::AT_SECURE), Some(0));

    match aux(AT_RANDOM) {
        Some(p) if p != 0 => {
            // SAFETY: AT_RANDOM points at 16 bytes on the initial stack.
            let bytes = unsafe { std::slice::from_raw_parts(p as *const u8, 16) };
            r.check("at_random", bytes.iter().any(|&b| b != 0), || {
                "the 16 AT_RANDOM bytes are all zero".to_string()
            });
        }
        other => r.fail("at_random", format!("AT_RANDOM is {other:?}")),
    }
    r.eq("at_clktck", aux(libc::AT_CLKTCK), Some(100));
    // AT_HWCAP on x86-64 is CPUID.1:EDX; SSE2 (bit 26) is part of the x86-64 baseline.
    let hwcap = aux(libc::AT_HWCAP);
    r.check(
        "at_hwcap",
        matches!(hwcap, Some(h) if h != 0 && h & (1 << 26) != 0),
        || format!("AT_HWCAP {hwcap:#x?}"),
    );

    let execfn = aux(AT_EXECFN).and_then(cstr_at);
    r.check(
        "at_execfn",
        execfn.as_deref().is_some_and(|s| s.ends_with("t_argv")),
        || format!("AT_EXECFN {execfn:?}"),
    );
    let platform = aux(AT_PLATFORM).and_then(cstr_at);
    r.eq("at_platform", platform.as_deref(), Some("x86_64"));

    r.finish();
}
