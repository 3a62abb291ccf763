//! In-kernel tests of execve and the process life cycle: a hand-made static ELF is loaded and
//! run to its exit system call; broken images (truncated header, overlapping segments, absurd
//! sizes) fail with ENOEXEC and leave the caller intact; `#!` scripts get the interpreter's
//! argv; permissions give EACCES; fork copies memory; exit makes a zombie that wait reaps.

use alloc::sync::Arc;
use alloc::vec::Vec;

use abi::errno::Errno;
use hal::ktest;
use hal::user::{Exit, UserContext};

use super::Process;
use super::task::Task;

const BASE: u64 = 0x40_0000;
const CODE_OFF: u64 = 120;

/// A minimal ET_EXEC: one R+X PT_LOAD of the whole file at BASE, entry at the code.
/// Code: mov edi, 7; mov eax, 60; syscall (exit(7)).
fn tiny_elf() -> Vec<u8> {
    let code: [u8; 12] = [0xbf, 7, 0, 0, 0, 0xb8, 60, 0, 0, 0, 0x0f, 0x05];
    let total = CODE_OFF + code.len() as u64;
    let mut e = Vec::new();
    e.extend_from_slice(b"\x7fELF");
    e.extend_from_slice(&[2, 1, 1, 0]);
    e.extend_from_slice(&[0; 8]);
    e.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    e.extend_from_slice(&62u16.to_le_bytes()); // x86-64
    e.extend_from_slice(&1u32.to_le_bytes());
    e.extend_from_slice(&(BASE + CODE_OFF).to_le_bytes()); // entry
    e.extend_from_slice(&64u64.to_le_bytes()); // phoff
    e.extend_from_slice(&0u64.to_le_bytes()); // shoff
    e.extend_from_slice(&0u32.to_le_bytes());
    e.extend_from_slice(&64u16.to_le_bytes());
    e.extend_from_slice(&56u16.to_le_bytes());
    e.extend_from_slice(&1u16.to_le_bytes()); // phnum
    e.extend_from_slice(&[0; 6]);
    // PT_LOAD, R+X
    e.extend_from_slice(&1u32.to_le_bytes());
    e.extend_from_slice(&5u32.to_le_bytes());
    e.extend_from_slice(&0u64.to_le_bytes());
    e.extend_from_slice(&BASE.to_le_bytes());
    e.extend_from_slice(&BASE.to_le_bytes());
    e.extend_from_slice(&total.to_le_bytes());
    e.extend_from_slice(&total.to_le_bytes());
    e.extend_from_slice(&0x1000u64.to_le_bytes());
    e.extend_from_slice(&code);
    e
}

fn add_file(dir: vfs::Node, name: &str, data: Vec<u8>, mode: u32) {
    let mut v = crate::fs::lock();
    let kind = vfs::NewKind::File;
    let n = v
        .create(dir, name.as_bytes(), kind, mode, &vfs::Cred::ROOT)
        .expect("create");
    v.write(n, 0, &data).expect("write");
}

fn setup() {
    let root = crate::fs::lock().root();
    let made = crate::fs::lock().create(root, b"ktest", vfs::NewKind::Dir, 0o755, &vfs::Cred::ROOT);
    let Ok(dir) = made else {
        return; // made by an earlier test
    };
    let good = tiny_elf();
    add_file(dir, "good", good.clone(), 0o755);
    add_file(dir, "noexec", good.clone(), 0o644);
    add_file(dir, "trunc", good[..40].to_vec(), 0o755);
    let mut overlap = good.clone();
    overlap[56..58].copy_from_slice(&2u16.to_le_bytes()); // phnum 2: the second header overlaps...
    overlap.truncate(120);
    let ph = overlap[64..120].to_vec();
    overlap.extend_from_slice(&ph); // ...a copy of the first segment
    overlap.extend_from_slice(&good[120..]);
    add_file(dir, "overlap", overlap, 0o755);
    let mut huge = good.clone();
    huge[64 + 40..64 + 48].copy_from_slice(&(1u64 << 60).to_le_bytes()); // p_memsz absurd
    add_file(dir, "huge", huge, 0o755);
    add_file(
        dir,
        "script",
        b"#!/ktest/good -x\necho never\n".to_vec(),
        0o755,
    );
}

/// A process (child of a holder that stands in for init) with an empty register set.
fn new_task() -> (Arc<Process>, Task) {
    static HOLDER: hal::sync::Once<Arc<Process>> = hal::sync::Once::new();
    let holder = HOLDER
        .call_once(|| Process::new(None, None).expect("holder process"))
        .clone();
    let proc = Process::new(Some(&holder), None).expect("process");
    let ctx = UserContext::new(0, 0).expect("context");
    (holder, Task::new(proc.clone(), ctx, proc.pid))
}

fn exec(t: &mut Task, path: &str, argv: &[&str]) -> Result<(), Errno> {
    let argv = argv.iter().map(|a| a.as_bytes().to_vec()).collect();
    super::exec::execve(t, path.as_bytes().to_vec(), argv, Vec::new())
}

/// A copy-on-write fork of `t`'s address space.
fn fork_vm(t: &Task) -> crate::vm::AddressSpace {
    let cell = t.proc.vm();
    let mut vm = cell.lock();
    vm.as_mut().expect("vm").fork().expect("fork")
}

fn run_to_syscall(t: &mut Task) -> (u64, u64) {
    loop {
        if let Some(vm) = t.proc.vm().lock().as_ref() {
            vm.activate();
        }
        match t.ctx.run() {
            Exit::Syscall => {
                hal::arch::enable_interrupts();
                return (t.ctx.rax, t.ctx.rdi);
            }
            Exit::Interrupt(v) => {
                hal::trap::dispatch_irq(v);
                hal::arch::enable_interrupts();
            }
            Exit::Exception {
                vector: 14,
                error_code,
                cr2,
            } => {
                // Demand paging, as the real loop does it.
                hal::arch::enable_interrupts();
                let (write, exec) = (error_code & 2 != 0, error_code & 0x10 != 0);
                let ok = t
                    .proc
                    .vm()
                    .lock()
                    .as_mut()
                    .is_some_and(|vm| vm.handle_fault(cr2, write, exec));
                assert!(ok, "unresolvable fault at {cr2:#x} (rip {:#x})", t.ctx.rip);
            }
            Exit::Exception { vector, cr2, .. } => {
                panic!("exception {vector} at {:#x} (cr2 {cr2:#x})", t.ctx.rip)
            }
        }
    }
}

/// Read argc and the argv strings from the new program's stack.
fn stack_argv(t: &Task) -> Vec<Vec<u8>> {
    let argc = t.read_u64(t.ctx.rsp).expect("argc");
    (0..argc)
        .map(|i| {
            t.read_cstr(t.read_u64(t.ctx.rsp + 8 + 8 * i).expect("argv[i]"), 4096)
                .expect("string")
        })
        .collect()
}

ktest!(
    fn execve_loads_and_runs_a_static_elf() {
        setup();
        let (_h, mut t) = new_task();
        exec(&mut t, "/ktest/good", &["good", "one"]).expect("execve");
        assert_eq!(t.ctx.rip, BASE + CODE_OFF);
        assert_eq!(t.ctx.rsp % 16, 0, "initial stack not 16-byte aligned");
        assert_eq!(stack_argv(&t), [b"good".to_vec(), b"one".to_vec()]);
        assert_eq!(run_to_syscall(&mut t), (60, 7), "the program's exit(7)");
        t.proc.exit(abi::wait::exited(7));
        assert!(t.proc.is_zombie());
    }
);

ktest!(
    fn execve_refuses_broken_images_and_keeps_the_caller() {
        setup();
        let (_h, mut t) = new_task();
        exec(&mut t, "/ktest/good", &["good"]).expect("execve");
        let rip = t.ctx.rip;
        for bad in ["/ktest/trunc", "/ktest/overlap", "/ktest/huge"] {
            assert_eq!(exec(&mut t, bad, &["x"]), Err(Errno::ENOEXEC), "{bad}");
            assert_eq!(t.ctx.rip, rip, "{bad} changed the caller's registers");
        }
        assert_eq!(exec(&mut t, "/ktest/noexec", &["x"]), Err(Errno::EACCES));
        assert_eq!(exec(&mut t, "/ktest/missing", &["x"]), Err(Errno::ENOENT));
        assert_eq!(exec(&mut t, "/ktest", &["x"]), Err(Errno::EACCES));
        // The old image still runs.
        assert_eq!(run_to_syscall(&mut t), (60, 7));
        t.proc.exit(0);
    }
);

ktest!(
    fn shebang_scripts_run_their_interpreter() {
        setup();
        let (_h, mut t) = new_task();
        exec(&mut t, "/ktest/script", &["script", "a1", "a2"]).expect("execve script");
        let expect: [&[u8]; 5] = [b"/ktest/good", b"-x", b"/ktest/script", b"a1", b"a2"];
        assert_eq!(stack_argv(&t), expect);
        assert_eq!(run_to_syscall(&mut t), (60, 7));
        t.proc.exit(0);
    }
);

ktest!(
    fn fork_copies_memory_and_wait_reaps_the_zombie() {
        setup();
        let (holder, mut t) = new_task();
        exec(&mut t, "/ktest/good", &["good"]).expect("execve");
        let stack = t.ctx.rsp;
        t.write_u64(stack - 64, 0x1111).expect("write");
        let child_vm = t
            .proc
            .vm()
            .lock()
            .as_mut()
            .expect("vm")
            .fork()
            .expect("fork vm");
        let child = Process::new(Some(&t.proc), Some(child_vm)).expect("child");
        t.write_u64(stack - 64, 0x2222).expect("write after fork");
        let mut word = [0u8; 8];
        assert!(
            child
                .vm()
                .lock()
                .as_ref()
                .expect("child vm")
                .read_bytes(stack - 64, &mut word)
        );
        assert_eq!(
            u64::from_le_bytes(word),
            0x1111,
            "the child's copy changed with the parent"
        );
        assert_eq!(child.ppid(), t.proc.pid);
        child.exit(abi::wait::exited(3));
        let r = super::wait::wait(
            &t.proc,
            super::wait::Selector::Pid(child.pid),
            abi::wait::WEXITED,
        )
        .expect("wait")
        .expect("reaped");
        assert_eq!((r.pid, r.status), (child.pid, abi::wait::exited(3)));
        assert!(
            super::lookup(child.pid).is_none(),
            "reaped zombie still in the table"
        );
        assert_eq!(
            super::wait::wait(&t.proc, super::wait::Selector::Any, abi::wait::WEXITED).err(),
            Some(Errno::ECHILD)
        );
        t.proc.exit(0);
        drop(holder);
    }
);

ktest!(
    fn stack_and_mmap_bases_are_randomized() {
        setup();
        let mut stacks = Vec::new();
        let mut mmaps = Vec::new();
        for _ in 0..3 {
            let (_h, mut t) = new_task();
            exec(&mut t, "/ktest/good", &["good"]).expect("execve");
            stacks.push(t.ctx.rsp);
            mmaps.push(t.proc.vm().lock().as_ref().expect("vm").mmap_base);
            t.proc.exit(0);
        }
        // Three equal draws out of 2^14 stack positions (2^16 mmap positions) would mean no
        // randomization at all.
        assert!(
            stacks.windows(2).any(|w| w[0] != w[1]),
            "stack always at {:#x}",
            stacks[0]
        );
        assert!(
            mmaps.windows(2).any(|w| w[0] != w[1]),
            "mmap base always at {:#x}",
            mmaps[0]
        );
    }
);

ktest!(
    fn fork_is_copy_on_write_and_chains_stay_short() {
        setup();
        let (_h, mut t) = new_task();
        exec(&mut t, "/ktest/good", &["good"]).expect("execve");
        let base = t.ctx.rsp - 80 * 4096;
        for i in 0..64u64 {
            t.write_u64(base + i * 4096, 0xA000 + i).expect("write");
        }
        let pages_before = crate::vm::total_object_pages();
        let free_before = hal::mem::frames::stats().free;
        let mut child_vm = fork_vm(&t);
        let used = free_before - hal::mem::frames::stats().free;
        // Only page tables for the child: no data page was copied.
        assert!(used < 16, "fork of 64 written pages used {used} frames");
        assert_eq!(crate::vm::total_object_pages(), pages_before);
        // Parent writes after fork: copy on write, the child keeps the old bytes.
        t.write_u64(base, 0xBEEF).expect("write after fork");
        let mut w = [0u8; 8];
        assert!(child_vm.read_bytes(base, &mut w));
        assert_eq!(u64::from_le_bytes(w), 0xA000);
        assert!(child_vm.read_bytes(base + 63 * 4096, &mut w));
        assert_eq!(u64::from_le_bytes(w), 0xA000 + 63);
        child_vm
            .write_bytes(base + 4096, &7u64.to_le_bytes())
            .expect("child write");
        assert_eq!(t.read_u64(base + 4096).expect("parent read"), 0xA001);
        drop(child_vm);
        // With the child gone, the object below the parent's shadow collapses into it: the old
        // version of the page the parent rewrote is freed, as is the child's copy.
        assert_eq!(crate::vm::total_object_pages(), pages_before);
        // A shell-like loop: fork, the child exits, repeat. Chains must not grow.
        for _ in 0..100 {
            let c = fork_vm(&t);
            drop(c);
        }
        assert!(
            crate::vm::max_chain_len() <= 2,
            "chain length {}",
            crate::vm::max_chain_len()
        );
        assert_eq!(crate::vm::total_object_pages(), pages_before);
        t.proc.exit(0);
    }
);
