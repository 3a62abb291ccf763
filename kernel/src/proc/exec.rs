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

/// Bytes read to parse an executable (ELF and program headers, a `#!` line).
const HEAD: usize = 16 * 1024;

/// An executable that passed the checks: its first bytes, attributes, absolute path, and the
/// VM object holding its pages (segments are mapped from it, not copied).
struct Image {
    head: Vec<u8>,
    attr: vfs::Attr,
    path: Vec<u8>,
    node: crate::fs::NodeRef,
    object: u64,
}

/// Look up an executable file, check that it may be executed and read its head.
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
    let fs = task.proc.fs();
    let (root, cwd) = (fs.root.lock().node(), fs.cwd.lock().node());
    let w = vfs::Walk {
        root,
        start: cwd,
        cred,
        ext: &procfs,
    };
    let mut v = crate::fs::lock();
    let (node, parent) = v.resolve_final(&w, path)?;
    let attr = v.attr(node, &procfs)?;
    if !vfs::mode::is_reg(attr.mode) || matches!(node, vfs::Node::Ext { .. }) {
        return Err(Errno::EACCES);
    }
    // Even root needs one execute bit.
    if !cred.may(&attr, vfs::mode::X_OK) {
        return Err(Errno::EACCES);
    }
    let mut abs = v.path_of(parent.dir, root, &procfs).unwrap_or_default();
    if abs != b"/" {
        abs.push(b'/');
    }
    abs.extend_from_slice(&parent.name);
    let object = v.file_data(node)?.object().ok_or(Errno::ENOEXEC)?;
    let mut head = alloc::vec![0u8; (attr.size as usize).min(HEAD)];
    let n = v.read(node, 0, &mut head)?;
    head.truncate(n);
    let node = crate::fs::NodeRef::new(&mut v, node);
    Ok(Image {
        head,
        attr,
        path: abs,
        node,
        object,
    })
}

/// `len` bytes of the file at `off` (for segment bytes that cannot be mapped).
fn read_at(node: vfs::Node, off: u64, len: u64) -> Result<Vec<u8>, Errno> {
    let mut buf = alloc::vec![0u8; len as usize];
    let n = crate::fs::lock().read(node, off, &mut buf)?;
    if n != buf.len() {
        return Err(Errno::ENOEXEC);
    }
    Ok(buf)
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
    let data = &file.head;
    let (file_attr, file_path) = (file.attr, file.path.clone());
    if data.starts_with(b"#!") {
        if depth >= MAX_SHEBANG_DEPTH {
            return Err(Errno::ELOOP);
        }
        let (interp, arg) = shebang(data).ok_or(Errno::ENOEXEC)?;
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
    let exe = elf::parse_head(data, file_attr.size).map_err(|_| Errno::ENOEXEC)?;
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
    // Segments are mapped from the file's VM object, privately: text and read-only data
    // share the file's frames with every process running the program, and a page is copied
    // only when written (data, relocations, the zeroed tail before bss). Everything is mapped
    // writable while the tails are zeroed, then gets its rights. Two segments may share a
    // boundary page; as with Linux's per-segment mmap, the later segment's rights win there,
    // and its bytes on that page are copied in.
    let mut prev_end = 0u64;
    let mut rights = Vec::new();
    for seg in &exe.segments {
        let start = seg.vaddr.checked_add(bias).ok_or(Errno::ENOEXEC)?;
        let end = start.checked_add(seg.memsz).ok_or(Errno::ENOEXEC)?;
        let fend = start + seg.filesz;
        let prot = Prot {
            read: seg.prot.read,
            write: seg.prot.write,
            exec: seg.prot.exec,
        };
        let first = page_down(start);
        let rend = page_up(end).ok_or(Errno::ENOEXEC)?;
        // Pages holding file bytes, then pages of bss only.
        let file_hi = if seg.filesz > 0 {
            page_up(fend).ok_or(Errno::ENOEXEC)?
        } else {
            first
        };
        let map_lo = first.max(prev_end);
        if map_lo < file_hi {
            // The parser guarantees vaddr and offset agree modulo the page size.
            let file_page = (page_down(seg.offset) + (map_lo - first)) / PAGE;
            vm.add_file(map_lo, file_hi, Prot::RW, false, file.object, file_page)?;
            vm.name_range(crate::vm::MapName {
                start: map_lo,
                end: file_hi,
                path: file_path.clone(),
                offset: file_page * PAGE,
                dev: file_attr.dev,
                ino: file_attr.ino,
            });
        }
        if first < prev_end && seg.filesz > 0 {
            let copy_end = fend.min(prev_end);
            if start < copy_end {
                let bytes = read_at(file.node.node(), seg.offset, copy_end - start)?;
                vm.write_bytes(start, &bytes)?;
            }
        }
        let anon_lo = file_hi.max(prev_end);
        if anon_lo < rend {
            vm.add_region(anon_lo, rend, Prot::RW)?;
        }
        // The bytes between the end of the file data and the end of its page belong to bss.
        let zero_hi = if seg.filesz > 0 {
            end.min(file_hi)
        } else {
            end.min(prev_end.max(start))
        };
        if zero_hi > fend {
            vm.write_bytes(fend, &alloc::vec![0u8; (zero_hi - fend) as usize])?;
        }
        prev_end = prev_end.max(rend);
        rights.push((first, rend, prot));
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
        (
            AT_RSEQ_FEATURE_SIZE,
            u64::from(super::task::rseq::FEATURE_SIZE),
        ),
        (AT_RSEQ_ALIGN, super::task::rseq::ALIGN),
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
    // As on Linux, robust futexes still held are released (owner died) in the old image, and
    // the new program starts without a robust list.
    let robust = crate::sched::current()
        .robust_list
        .swap(0, core::sync::atomic::Ordering::AcqRel);
    super::futex::exit_robust_list(task, robust, task.tid);
    // Nor with an rseq area (it was in the old memory).
    *crate::sched::current().rseq.lock() = None;

    // Point of no return: switch to the new image.
    vm.activate();
    // A new cell, not new contents: a CLONE_VM sibling (vfork's parent) keeps the old space.
    let old = task
        .proc
        .set_vm(alloc::sync::Arc::new(hal::sync::SpinLock::new(Some(vm))));
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
    // Handled signals go back to their default action (the handlers are gone with the old
    // image); ignored ones stay ignored, and the mask and pending signals are kept. The
    // alternate stack goes too.
    task.proc.unshare_handlers();
    for a in task.proc.handlers().lock().iter_mut() {
        let handler = u64::from_le_bytes(a[..8].try_into().unwrap_or([0; 8]));
        if handler > 1 {
            *a = [0; 32];
        } else {
            // SA_* flags other than the disposition do not survive either.
            a[8..].fill(0);
        }
    }
    *task.proc.signals.altstack.lock() = (0, 2, 0);
    super::timer::exec(&task.proc);
    task.proc.release_vfork_parent();
    Ok(())
}
