//! Starting pid 1, as Linux does: `rdinit=` (default `/init`) from the initramfs, then `init=`,
//! `/sbin/init`, `/etc/init`, `/bin/init`, `/bin/sh` — the first one that execs. Init gets the
//! command line's init arguments and environment plus HOME=/ and TERM=linux.

use alloc::vec::Vec;

use bootinfo::Cmdline;

use super::Process;
use super::task::{self, Task};

/// Try to start init; returns only if no candidate could be executed.
pub fn start(cmdline: &Cmdline<'_>) {
    let mut candidates: Vec<&str> = Vec::new();
    candidates.push(cmdline.rdinit().unwrap_or("/init"));
    if let Some(i) = cmdline.init() {
        candidates.push(i);
    }
    candidates.extend(["/sbin/init", "/etc/init", "/bin/init", "/bin/sh"]);
    let mut envp: Vec<Vec<u8>> = alloc::vec![b"HOME=/".to_vec(), b"TERM=linux".to_vec()];
    envp.extend(cmdline.init_env().map(|e| e.as_bytes().to_vec()));
    let args: Vec<Vec<u8>> = cmdline.init_args().map(|a| a.as_bytes().to_vec()).collect();

    let proc = match Process::new(None, None) {
        Ok(p) => p,
        Err(e) => {
            log::error!("cannot create init: {e:?}");
            return;
        }
    };
    let Some(ctx) = hal::user::UserContext::new(0, 0) else {
        log::error!("cannot create init: out of memory");
        return;
    };
    let weak = alloc::sync::Arc::downgrade(&proc);
    crate::sched::current().set_resume_hook(move || {
        super::activate_space(&weak);
    });
    crate::sched::current()
        .owner
        .store(proc.pid, core::sync::atomic::Ordering::Relaxed);
    // The boot thread itself runs init: register it so signals can wake it.
    proc.threads.lock().push((
        proc.pid,
        alloc::sync::Arc::downgrade(&crate::sched::current()),
    ));
    let tid = proc.pid;
    let mut task = Task::new(proc, ctx, tid);
    for path in candidates {
        let mut argv = alloc::vec![path.as_bytes().to_vec()];
        argv.extend(args.iter().cloned());
        match super::exec::execve(&mut task, path.as_bytes().to_vec(), argv, envp.clone()) {
            Ok(()) => {
                log::info!("running {path} as init (pid 1)");
                task::run(task);
                // init exited: Process::exit powered the machine off already.
                return;
            }
            Err(e) if e == abi::errno::Errno::ENOENT => {}
            Err(e) => log::warn!("cannot run {path} as init: {}", e.name()),
        }
    }
}
