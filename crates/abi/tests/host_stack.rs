//! Compares `abi::stack::build` byte for byte with the initial stack the host Linux kernel built.
//!
//! The test re-executes itself with address-space randomisation off (so that Linux skips the
//! random `arch_align_stack` offset), a cleared environment and chosen arguments. The child reads
//! its own untouched initial stack (`/proc/self/mem` from `startstack` to the end of `[stack]`),
//! rebuilds it with `abi::stack::build` from the same inputs (`/proc/self/cmdline`, `environ`,
//! `auxv` and the strings the auxv points at) and checks that both agree, together with the
//! `arg_start`..`env_end` addresses in `/proc/self/stat`. One case passes an empty `argv` through
//! a raw `execve`, to check the `{""}` substitution against the real kernel.
//!
//! `harness = false`: the child must run before any test harness touches the process.

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod imp {
    use abi::auxv::{AT_EXECFN, AT_NULL, AT_PLATFORM, AT_RANDOM};
    use abi::stack::{StackSpec, build};
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::FileExt;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    const CHILD: &str = "ABI_STACK_CHILD";
    const EMPTY_ARGV: &str = "ABI_STACK_EMPTY_ARGV";

    fn read_mem(addr: u64, len: usize) -> Vec<u8> {
        let f = std::fs::File::open("/proc/self/mem").expect("open /proc/self/mem");
        let mut buf = vec![0; len];
        f.read_exact_at(&mut buf, addr)
            .expect("read /proc/self/mem");
        buf
    }

    fn read_cstr(addr: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let mut at = addr;
        loop {
            let chunk = read_mem(at, 1);
            if chunk[0] == 0 {
                return out;
            }
            out.push(chunk[0]);
            at += 1;
        }
    }

    fn nul_list(raw: &[u8]) -> Vec<Vec<u8>> {
        match raw.strip_suffix(b"\0") {
            None => Vec::new(),
            Some(body) => body.split(|&b| b == 0).map(<[u8]>::to_vec).collect(),
        }
    }

    /// Runs inside the re-executed process; returns a description of any mismatch.
    fn child() -> Result<(), String> {
        let auxv_raw = std::fs::read("/proc/self/auxv").map_err(|e| e.to_string())?;
        let auxv: Vec<(u64, u64)> = auxv_raw
            .chunks_exact(16)
            .map(|c| {
                (
                    u64::from_le_bytes(c[..8].try_into().unwrap()),
                    u64::from_le_bytes(c[8..].try_into().unwrap()),
                )
            })
            .take_while(|e| e.0 != AT_NULL)
            .collect();
        let get = |k| {
            auxv.iter()
                .find(|e| e.0 == k)
                .map(|e| e.1)
                .ok_or(format!("no auxv key {k}"))
        };

        let stat = std::fs::read_to_string("/proc/self/stat").map_err(|e| e.to_string())?;
        let after = &stat[stat.rfind(')').ok_or("bad stat")? + 2..];
        // Field n of stat(5) (1-based) is index n - 3 after the ')'.
        let fields: Vec<u64> = after
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        let field = |n: usize| fields[n - 3];
        let (startstack, arg_start, arg_end, env_start, env_end) =
            (field(28), field(48), field(49), field(50), field(51));

        let maps = std::fs::read_to_string("/proc/self/maps").map_err(|e| e.to_string())?;
        let line = maps
            .lines()
            .find(|l| l.ends_with("[stack]"))
            .ok_or("no [stack]")?;
        let range = line.split_whitespace().next().ok_or("bad maps")?;
        let stack_top = u64::from_str_radix(range.split('-').nth(1).ok_or("bad maps")?, 16)
            .map_err(|e| e.to_string())?;

        let real = read_mem(startstack, (stack_top - startstack) as usize);

        let argv = nul_list(&std::fs::read("/proc/self/cmdline").map_err(|e| e.to_string())?);
        let envp = nul_list(&std::fs::read("/proc/self/environ").map_err(|e| e.to_string())?);
        let argv: Vec<&[u8]> = if std::env::var_os(EMPTY_ARGV).is_some() {
            if argv != [b""] {
                return Err(format!(
                    "kernel did not substitute {{\"\"}} for an empty argv: {argv:?}"
                ));
            }
            Vec::new()
        } else {
            argv.iter().map(|s| &s[..]).collect()
        };
        let envp: Vec<&[u8]> = envp.iter().map(|s| &s[..]).collect();
        let execfn = read_cstr(get(AT_EXECFN)?);
        let platform = read_cstr(get(AT_PLATFORM)?);
        let random: [u8; 16] = read_mem(get(AT_RANDOM)?, 16).try_into().unwrap();
        let rest: Vec<(u64, u64)> = auxv
            .iter()
            .copied()
            .filter(|e| !matches!(e.0, AT_RANDOM | AT_EXECFN | AT_PLATFORM))
            .collect();

        let spec = StackSpec {
            stack_top,
            argv: &argv,
            envp: &envp,
            execfn: &execfn,
            platform: &platform,
            random,
            auxv: &rest,
        };
        let img = build(&spec).map_err(|e| format!("build failed: {e}"))?;

        let mut problems = Vec::new();
        if img.sp != startstack {
            problems.push(format!("sp {:#x} != kernel's {:#x}", img.sp, startstack));
        }
        for (what, ours, theirs) in [
            ("arg_start", img.arg_start, arg_start),
            ("arg_end", img.arg_end, arg_end),
            ("env_start", img.env_start, env_start),
            ("env_end", img.env_end, env_end),
            ("AT_RANDOM", img.random_addr, get(AT_RANDOM)?),
            ("AT_EXECFN", img.execfn_addr, get(AT_EXECFN)?),
            ("AT_PLATFORM", img.platform_addr, get(AT_PLATFORM)?),
        ] {
            if ours != theirs {
                problems.push(format!("{what} {ours:#x} != kernel's {theirs:#x}"));
            }
        }
        // Compare the top-aligned images.
        let n = img.bytes.len().min(real.len());
        let (ours, theirs) = (&img.bytes[img.bytes.len() - n..], &real[real.len() - n..]);
        if let Some(i) = (0..n).find(|&i| ours[i] != theirs[i]) {
            let addr = stack_top - n as u64 + i as u64;
            let end = (i + 32).min(n);
            problems.push(format!(
                "first differing byte at {addr:#x} (top - {}): ours {:02x?} kernel {:02x?}",
                stack_top - addr,
                &ours[i..end],
                &theirs[i..end]
            ));
        }
        if img.bytes.len() != real.len() {
            problems.push(format!(
                "image length {} != kernel's {}",
                img.bytes.len(),
                real.len()
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }

    struct Case {
        name: &'static str,
        args: Vec<String>,
        env: Vec<(String, String)>,
        empty_argv: bool,
    }

    /// What the forked child needs for a raw `execve`, built before the fork.
    struct RawExec {
        path: CString,
        _env: Vec<CString>,
        envp: Vec<*const libc::c_char>,
        empty_argv: bool,
    }

    // SAFETY: the pointers point into `_env`, which moves along with them and is never mutated.
    unsafe impl Send for RawExec {}
    // SAFETY: as above; shared access only reads.
    unsafe impl Sync for RawExec {}

    fn run_case(case: &Case) -> Result<(), String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(&exe);
        cmd.env_clear().env(CHILD, "1").args(&case.args);
        for (k, v) in &case.env {
            cmd.env(k, v);
        }
        if case.empty_argv {
            cmd.env(EMPTY_ARGV, "1");
        }
        let path = CString::new(exe.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
        let mut env_c: Vec<CString> = vec![
            CString::new(format!("{CHILD}=1")).unwrap(),
            CString::new(format!("{EMPTY_ARGV}=1")).unwrap(),
        ];
        for (k, v) in &case.env {
            env_c.push(CString::new(format!("{k}={v}")).unwrap());
        }
        let mut envp: Vec<*const libc::c_char> = env_c.iter().map(|s| s.as_ptr()).collect();
        envp.push(std::ptr::null());
        let raw = RawExec {
            path,
            _env: env_c,
            envp,
            empty_argv: case.empty_argv,
        };
        // SAFETY: between fork and exec only async-signal-safe calls, personality(2) and
        // execve(2), on memory prepared before the fork.
        unsafe {
            cmd.pre_exec(move || {
                let raw = &raw; // capture the whole struct (edition 2024 would take fields)
                libc::personality(libc::ADDR_NO_RANDOMIZE as libc::c_ulong);
                if raw.empty_argv {
                    let argv: [*const libc::c_char; 1] = [std::ptr::null()];
                    libc::execve(raw.path.as_ptr(), argv.as_ptr(), raw.envp.as_ptr());
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let out = cmd.output().map_err(|e| format!("spawn: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}: child {}\n{}{}",
                case.name,
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    pub fn main() {
        if std::env::var_os(CHILD).is_some() {
            match child() {
                Ok(()) => std::process::exit(0),
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            }
        }
        let mut cases = vec![
            Case {
                name: "no extra args",
                args: vec![],
                env: vec![],
                empty_argv: false,
            },
            Case {
                name: "a few args and env",
                args: vec!["a".into(), String::new(), "hello world".into()],
                env: vec![
                    ("B".into(), "x".repeat(37)),
                    ("EMPTY".into(), String::new()),
                ],
                empty_argv: false,
            },
            Case {
                name: "empty argv",
                args: vec![],
                env: vec![("K".into(), "v".into())],
                empty_argv: true,
            },
            Case {
                name: "big strings",
                args: vec!["y".repeat(100_000)],
                env: vec![("Z".into(), "z".repeat(50_000))],
                empty_argv: false,
            },
        ];
        for i in 0..16 {
            cases.push(Case {
                name: "alignment sweep",
                args: (0..i % 5).map(|j| "p".repeat(i + j)).collect(),
                env: (0..i % 3)
                    .map(|j| (format!("E{j}"), "q".repeat(i * 3 + j)))
                    .collect(),
                empty_argv: false,
            });
        }
        let mut failed = 0;
        for case in &cases {
            match run_case(case) {
                Ok(()) => println!("test host_stack::{} ... ok", case.name),
                Err(e) => {
                    println!("test host_stack::{} ... FAILED\n{e}", case.name);
                    failed += 1;
                }
            }
        }
        println!();
        println!(
            "test result: {}. {} passed; {failed} failed",
            if failed == 0 { "ok" } else { "FAILED" },
            cases.len() - failed
        );
        if failed != 0 {
            std::process::exit(1);
        }
    }
}

fn main() {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    imp::main();
}
