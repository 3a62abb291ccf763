//! Whole-kernel invariant checks, read from `/proc/tine/check`: one line per subsystem, `ok
//! NAME` or `FAIL NAME: why`. The test init reads it after the conformance programs and the
//! system-call fuzzer after its round, so a broken reference count or a dangling table entry
//! fails a test run even when no program noticed. Each check walks its whole structure under
//! its lock, so read it when the system is quiet (after children were reaped): a process in
//! the middle of exiting can show a state between two consistent ones.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Every check, by name, with its verdict.
pub fn run() -> Vec<(&'static str, Result<(), String>)> {
    alloc::vec![
        ("frames", hal::mem::frames::check().map_err(String::from)),
        ("vm_objects", crate::vm::check()),
        ("frames_vs_objects", frames_vs_objects()),
        ("page_tables", page_tables()),
        ("process_tree", process_tree()),
        ("run_queues", crate::sched::check_queues()),
    ]
}

/// Pages held by memory objects are frames taken from the allocator.
fn frames_vs_objects() -> Result<(), String> {
    let f = hal::mem::frames::stats();
    let pages = crate::vm::total_object_pages() as u64;
    if pages > f.total - f.free {
        return Err(format!(
            "memory objects hold {pages} pages but only {} frames are in use",
            f.total - f.free
        ));
    }
    Ok(())
}

/// Every user page-table entry of every live address space maps what the memory model says
/// (see `AddressSpace::check_table`). Consistent at any moment, not only when quiet: the
/// model and the tables change together under the process's `vm` lock, so the fuzzer reads
/// this during its round too.
fn page_tables() -> Result<(), String> {
    let mut seen = alloc::collections::BTreeSet::new();
    for p in crate::proc::all() {
        let cell = p.vm();
        let vm = cell.lock();
        let Some(space) = vm.as_ref() else { continue };
        if !seen.insert(space.root()) {
            continue;
        }
        space
            .check_table()
            .map_err(|e| format!("process {}: {e}", p.pid))?;
    }
    Ok(())
}

/// The pid table and the parent/child links agree: every entry names a live (or zombie)
/// process or a thread of one; every process but init has a parent in the table that lists it
/// among its children and whose pid is its ppid; every child's parent link points back.
fn process_tree() -> Result<(), String> {
    use crate::proc::{self, Process};
    for (id, p) in proc::table_entries() {
        let Some(p) = p else {
            return Err(format!("table entry {id} names a process that is gone"));
        };
        if p.pid != id && p.is_zombie() {
            return Err(format!("thread id {id} kept by zombie {}", p.pid));
        }
    }
    for p in proc::all() {
        if p.pid == 1 {
            continue;
        }
        let parent: Option<Arc<Process>> = p.parent.lock().upgrade();
        let Some(parent) = parent else {
            return Err(format!("process {} has no parent", p.pid));
        };
        if proc::lookup(parent.pid).is_none() {
            return Err(format!(
                "parent {} of {} is not in the table",
                parent.pid, p.pid
            ));
        }
        if p.ppid() != parent.pid {
            return Err(format!(
                "process {} says ppid {} but its parent is {}",
                p.pid,
                p.ppid(),
                parent.pid
            ));
        }
        let listed = parent.children.lock().iter().any(|c| Arc::ptr_eq(c, &p));
        if !listed {
            return Err(format!(
                "process {} is missing from its parent {}'s children",
                p.pid, parent.pid
            ));
        }
        let children: Vec<Arc<Process>> = p.children.lock().clone();
        for c in children {
            let back = c.parent.lock().upgrade();
            if !back.is_some_and(|b| Arc::ptr_eq(&b, &p)) {
                return Err(format!(
                    "child {} of {} points to another parent",
                    c.pid, p.pid
                ));
            }
            if proc::lookup(c.pid).is_none() {
                return Err(format!(
                    "child {} of {} is not in the table (reaped but still listed)",
                    c.pid, p.pid
                ));
            }
        }
    }
    Ok(())
}

/// `/proc/tine/check`'s text.
pub fn report() -> String {
    let mut s = String::new();
    for (name, r) in run() {
        match r {
            Ok(()) => s.push_str(&format!("ok {name}\n")),
            Err(e) => s.push_str(&format!("FAIL {name}: {e}\n")),
        }
    }
    s
}
