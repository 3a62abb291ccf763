//! execve: load a static ELF executable (ET_EXEC or static-PIE ET_DYN) or a `#!` script into a
//! fresh address space, build the initial stack as Linux does (argv, envp, auxv), and restart the
//! calling thread there. Nothing of the old image is touched until the new one is complete, so a
//! failed execve returns to the caller with its memory intact.
//!
//! Layout (randomized like Linux): PIE images near 0x5555_5555_4000, the stack just below
//! 0x7fff_ffff_f000 minus a random gap, mmap space below the stack, the heap (brk) after the image.

use alloc::string::String;
use alloc::vec::Vec;

use abi::auxv::*;
use abi::errno::Errno;

use super::task::Task;
use crate::vm::{AddressSpace, PAGE, Prot, page_down, page_up};

/// Linux's ELF_ET_DYN_BASE for x86-64 (2/3 of the 47-bit space), page aligned.
const PIE_BASE: u64 = 0x5555_5555_4000;
const STACK_TOP: u64 = 0x7fff_ffff_f000;
/// Gap between the stack area and the mmap area (Linux keeps at least 128 MiB).
const STACK_GAP: u64 = 128 << 20;
const MAX_SHEBANG_DEPTH: u32 = 4;
/// Linux reads the first 256 bytes (BINPRM_BUF_SIZE) for `#!` lines.
const SHEBANG_MAX: usize = 256;

fn random_pages(max_pages: u64) -> u64 {
    (hal::arch::random_u64() % max_pages.max(1)) * PAGE
}

/// An executable that passed the checks: its bytes, attributes and absolute path.
struct Image {
    data: Vec<u8>,
    attr: vfs::Attr,
    path: Vec<u8>,
}

/// Look up an executable file, check that it may be executed and read it.
fn open_exec(task: &Task, path: &[u8]) -> Result<Image, Errno> {
    let creds = task.proc.creds.lock().clone();
    let cred = vfs::Cred {
        uid: creds.fsuid,
        gid: creds.fsgid,
        groups: &creds.groups,
    };
    let procfs = crate::fs::proc::Procfs {
        caller: task.proc.pid,
    };
    let (root, cwd) = (task.proc.root.lock().node(), task.proc.cwd.lock().node());
    let w = vfs::Walk {
        root,
        start: cwd,
        cred,
        ext: &procfs,
    };
    let (node, attr, abs) = {
        let v = crate::fs::lock();
        let (node, parent) = v.resolve_final(&w, path)?;
        let attr = v.attr(node, &procfs)?;
        let mut abs = v.path_of(parent.dir, root, &procfs).unwrap_or_default();
        if abs != b"/" {
            abs.push(b'/');
        }
        abs.extend_from_slice(&parent.name);
        (node, attr, abs)
    };
    if !vfs::mode::is_reg(attr.mode) || matches!(node, vfs::Node::Ext { .. }) {
        return Err(Errno::EACCES);
    }
    // Even root needs one execute bit.
    if !cred.may(&attr, vfs::mode::X_OK) {
        return Err(Errno::EACCES);
    }
    let data = crate::fs::read_all(node)?;
    Ok(Image {
        data,
        attr,
        path: abs,
    })
}

/// Parse `#!interpreter [one argument]`.
fn shebang(data: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let head = data.get(..data.len().min(SHEBANG_MAX))?;
    let line = head.strip_prefix(b"#!")?;
    let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
    let line = &line[..end];
    let trimmed: &[u8] = {
        let s = line
            .iter()
            .position(|&b| b != b' ' && b != b'\t')
            .unwrap_or(line.len());
        let e = line
            .iter()
            .rposition(|&b| b != b' ' && b != b'\t')
            .map_or(s, |p| p + 1);
        &line[s..e.max(s)]
    };
    if trimmed.is_empty() {
        return None;
    }
    match trimmed.iter().position(|&b| b == b' ' || b == b'\t') {
        None => Some((trimmed.to_vec(), None)),
        Some(i) => {
            let rest = &trimmed[i..];
            let s = rest
                .iter()
                .position(|&b| b != b' ' && b != b'\t')
                .unwrap_or(rest.len());
            Some((trimmed[..i].to_vec(), Some(rest[s..].to_vec())))
        }
    }
}

/// The whole execve: returns Ok(()) after the calling thread's registers were reset to the new
/// program (the system call then "returns" into it).
pub fn execve(
    task: &mut Task,
    path: Vec<u8>,
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
) -> Result<(), Errno> {
    execve_depth(task, path, argv, envp, 0)
}

fn execve_depth(
    task: &mut Task,
    path: Vec<u8>,
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    depth: u32,
) -> Result<(), Errno> {
    let file = open_exec(task, &path)?;
    let data = file.data;
    let (file_attr, file_path) = (file.attr, file.path);
    if data.starts_with(b"#!") {
        if depth >= MAX_SHEBANG_DEPTH {
            return Err(Errno::ELOOP);
        }
        let (interp, arg) = shebang(&data).ok_or(Errno::ENOEXEC)?;
        // New argv: interpreter, optional argument, the script path, then argv[1..].
        let mut new_argv = Vec::new();
        new_argv.push(interp.clone());
        if let Some(a) = arg {
            new_argv.push(a);
        }
        new_argv.push(path);
        new_argv.extend(argv.into_iter().skip(1));
        return execve_depth(task, interp, new_argv, envp, depth + 1);
    }
    let exe = elf::parse(&data).map_err(|_| Errno::ENOEXEC)?;
    if exe.interp.is_some() {
        // The loader keeps PT_INTERP; loading the interpreter comes with dynamic linking.
        log::info!(
            "execve {}: dynamically linked programs are not supported yet",
            String::from_utf8_lossy(&path)
        );
        return Err(Errno::ENOEXEC);
    }
    let bias = match exe.kind {
        elf::Kind::Exec => 0,
        elf::Kind::Dyn => exe
            .load_bias(PIE_BASE + random_pages(1 << 16))
            .ok_or(Errno::ENOEXEC)?,
    };

    let mut vm = AddressSpace::new()?;
    let name = path
        .rsplit(|&b| b == b'/')
        .next()
        .map(|n| String::from_utf8_lossy(n).into_owned());
    let mut prev_end = 0u64;
    let mut rights = Vec::new();
    for seg in &exe.segments {
        let start = seg.vaddr.checked_add(bias).ok_or(Errno::ENOEXEC)?;
        let end = start.checked_add(seg.memsz).ok_or(Errno::ENOEXEC)?;
        let prot = Prot {
            read: seg.prot.read,
            write: seg.prot.write,
            exec: seg.prot.exec,
        };
        // Segments are mapped writable while their bytes are copied in, then get their own
        // rights. Two segments may share a boundary page; as with Linux's per-segment mmap, the
        // later segment's rights win there.
        let rstart = page_down(start).max(prev_end);
        let rend = page_up(end).ok_or(Errno::ENOEXEC)?;
        if rstart < rend {
            vm.add_region(rstart, rend, Prot::RW)?;
        }
        prev_end = prev_end.max(rend);
        let file = data
            .get(seg.offset as usize..(seg.offset + seg.filesz) as usize)
            .ok_or(Errno::ENOEXEC)?;
        vm.write_bytes(start, file)?;
        rights.push((page_down(start), rend, prot));
        if rstart < rend {
            vm.name_range(crate::vm::MapName {
                start: rstart,
                end: rend,
                path: file_path.clone(),
                offset: page_down(seg.offset).saturating_sub(page_down(start) - rstart),
                dev: file_attr.dev,
                ino: file_attr.ino,
            });
        }
    }
    for (s, e, prot) in rights {
        vm.protect(s, e, prot)?;
    }
    let image_end =
        page_up(exe.max_vaddr.checked_add(bias).ok_or(Errno::ENOEXEC)?).ok_or(Errno::ENOEXEC)?;

    // Stack.
    let stack_limit = {
        let l = task.proc.rlimits.lock()[abi::layout::RLIMIT_STACK as usize];
        l.cur.clamp(128 << 10, 1 << 30)
    };
    let stack_top = STACK_TOP - random_pages(1 << 14);
    vm.add_region(
        stack_top - page_up(stack_limit).ok_or(Errno::E2BIG)?,
        stack_top,
        Prot::RW,
    )?;
    vm.stack_top = stack_top;
    vm.mmap_base =
        stack_top - page_up(stack_limit).unwrap_or(0) - STACK_GAP - random_pages(1 << 16);
    vm.brk_start = image_end + random_pages(1 << 13);
    vm.brk = vm.brk_start;

    let creds = task.proc.creds.lock().clone();
    let phdr = exe.phdr_vaddr.map_or(0, |p| p + bias);
    let auxv = [
        (AT_PHDR, phdr),
        (AT_PHENT, u64::from(exe.phentsize)),
        (AT_PHNUM, u64::from(exe.phnum)),
        (AT_PAGESZ, PAGE),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, exe.entry + bias),
        (AT_UID, u64::from(creds.uid)),
        (AT_EUID, u64::from(creds.euid)),
        (AT_GID, u64::from(creds.gid)),
        (AT_EGID, u64::from(creds.egid)),
        (AT_SECURE, 0),
        (AT_HWCAP, u64::from(hal::arch::cpuid::cpuid(1, 0).edx)),
        (AT_HWCAP2, 0),
        (AT_CLKTCK, 100),
        (AT_MINSIGSTKSZ, 2048),
    ];
    let mut random = [0u8; 16];
    random[..8].copy_from_slice(&hal::arch::random_u64().to_le_bytes());
    random[8..].copy_from_slice(&hal::arch::random_u64().to_le_bytes());
    let argv_refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    let envp_refs: Vec<&[u8]> = envp.iter().map(|a| a.as_slice()).collect();
    let spec = abi::stack::StackSpec {
        stack_top,
        argv: &argv_refs,
        envp: &envp_refs,
        execfn: &path,
        platform: b"x86_64",
        random,
        auxv: &auxv,
    };
    let image = abi::stack::build(&spec)?;
    vm.write_bytes(stack_top - image.bytes.len() as u64, &image.bytes)?;

    // Point of no return: switch to the new image.
    vm.activate();
    let old = task.proc.vm.lock().replace(vm);
    drop(old);
    task.ctx.reset(exe.entry + bias, image.sp);
    if let Some(n) = name {
        let mut comm = n;
        comm.truncate(15);
        *task.proc.comm.lock() = comm;
    }
    *task.proc.exe.lock() = file_path;
    let mut cmdline = Vec::new();
    for a in &argv {
        if cmdline.len() + a.len() + 1 > 4096 {
            break;
        }
        cmdline.extend_from_slice(a);
        cmdline.push(0);
    }
    *task.proc.cmdline.lock() = cmdline;
    let mut environ = Vec::new();
    for e in &envp {
        if environ.len() + e.len() + 1 > 65536 {
            break;
        }
        environ.extend_from_slice(e);
        environ.push(0);
    }
    *task.proc.environ.lock() = environ;
    // Set-user-id and set-group-id (with group execute) programs run with the file's ids.
    {
        let mode = file_attr.mode;
        let mut c = task.proc.creds.lock();
        if mode & vfs::mode::S_ISUID != 0 {
            c.euid = file_attr.uid;
            c.fsuid = file_attr.uid;
        }
        if mode & vfs::mode::S_ISGID != 0 && mode & 0o010 != 0 {
            c.egid = file_attr.gid;
            c.fsgid = file_attr.gid;
        }
        c.suid = c.euid;
        c.sgid = c.egid;
    }
    task.proc.release_vfork_parent();
    Ok(())
}
