//! t_shm: System V shared memory and MAP_SHARED|MAP_ANONYMOUS memory across fork.
//!
//! shmget (IPC_PRIVATE, keys, IPC_CREAT|IPC_EXCL, size checks), shmat (kernel-chosen and
//! given addresses, SHM_RND, SHM_RDONLY), shmdt, shmctl IPC_STAT (size, creator, attach
//! count, mode) and IPC_RMID; a segment written by a forked child is seen by the parent
//! through two attachments; a read-only attachment faults on write (the child dies with
//! SIGSEGV); anonymous shared memory is shared with a child.

use libc::c_int;
use usertests::{Report, errname, reap, sc, spawn};

const PAGE: usize = 4096;

fn shmat(id: c_int, addr: usize, flags: c_int) -> Result<usize, c_int> {
    sc!(libc::SYS_shmat, id, addr, flags).map(|a| a as usize)
}

fn shmdt(addr: usize) -> Result<i64, c_int> {
    sc!(libc::SYS_shmdt, addr)
}

fn stat(id: c_int) -> Result<libc::shmid_ds, c_int> {
    // SAFETY: shmid_ds is plain data; the kernel fills it.
    let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
    sc!(
        libc::SYS_shmctl,
        id,
        libc::IPC_STAT,
        &mut ds as *mut libc::shmid_ds
    )
    .map(|_| ds)
}

fn bytes(addr: usize, len: usize) -> &'static mut [u8] {
    // SAFETY: callers pass a live attachment of at least `len` bytes.
    unsafe { std::slice::from_raw_parts_mut(addr as *mut u8, len) }
}

fn main() {
    let mut r = Report::new("t_shm");
    // SAFETY: cannot fail.
    let me = unsafe { libc::getpid() };
    let id = match sc!(
        libc::SYS_shmget,
        libc::IPC_PRIVATE,
        10000,
        libc::IPC_CREAT | 0o600
    ) {
        Ok(id) => id as c_int,
        Err(e) => {
            r.fail("shmget_private", errname(e));
            r.finish();
        }
    };
    r.pass("shmget_private");
    let a = match shmat(id, 0, 0) {
        Ok(a) => a,
        Err(e) => {
            r.fail("shmat", errname(e));
            r.finish();
        }
    };
    r.check("shmat_page_aligned", a % PAGE == 0, || format!("{a:#x}"));
    let m = bytes(a, 10000);
    r.check("shmat_zero_filled", m.iter().all(|&b| b == 0), || {
        "non-zero byte".into()
    });
    m[..5].copy_from_slice(b"first");
    match stat(id) {
        Ok(ds) => {
            r.eq("ipc_stat_segsz", ds.shm_segsz, 10000);
            r.eq("ipc_stat_nattch_one", ds.shm_nattch, 1);
            r.eq("ipc_stat_cpid", ds.shm_cpid, me);
            r.eq("ipc_stat_mode", ds.shm_perm.mode & 0o777, 0o600);
        }
        Err(e) => r.fail("ipc_stat", errname(e)),
    }
    // A child inherits the attachment; its write shows in the parent's.
    let child = spawn(move || {
        let m = bytes(a, 10000);
        if &m[..5] != b"first" {
            return 1;
        }
        m[9000] = 77;
        0
    });
    r.eq("child_sees_and_writes", reap(child), Ok(0));
    r.eq("parent_sees_child_write", m[9000], 77);
    // A second attachment at a chosen (rounded) address shows the same bytes.
    let hint = a + 64 * PAGE * 16;
    match shmat(id, hint + 123, libc::SHM_RND) {
        Ok(b) => {
            r.eq("shm_rnd_rounds", b, hint);
            r.eq("second_attach_same_bytes", bytes(b, 10000)[9000], 77);
            r.eq("ipc_stat_nattch_two", stat(id).map(|d| d.shm_nattch), Ok(2));
            r.eq("shmdt_second", shmdt(b), Ok(0));
            r.eq(
                "ipc_stat_nattch_back_to_one",
                stat(id).map(|d| d.shm_nattch),
                Ok(1),
            );
        }
        Err(e) => r.fail("shm_rnd_rounds", errname(e)),
    }
    r.err(
        "shmat_unaligned_einval",
        shmat(id, hint + 123, 0),
        libc::EINVAL,
    );
    r.err("shmdt_not_attached_einval", shmdt(a + PAGE), libc::EINVAL);
    // A read-only attachment faults on write.
    match shmat(id, 0, libc::SHM_RDONLY) {
        Ok(ro) => {
            r.eq("rdonly_reads", bytes(ro, 10000)[0], b'f');
            let child = spawn(move || {
                bytes(ro, 10)[0] = 1;
                0
            });
            let st = reap(child);
            r.check(
                "rdonly_write_sigsegv",
                st.is_ok_and(|s| libc::WIFSIGNALED(s) && libc::WTERMSIG(s) == libc::SIGSEGV),
                || format!("child status {st:?}"),
            );
            let _ = shmdt(ro);
        }
        Err(e) => r.fail("rdonly_reads", errname(e)),
    }
    // Keys.
    let key: c_int = 0x5449_4e45; // "TINE"
    let k1 = sc!(
        libc::SYS_shmget,
        key,
        PAGE,
        libc::IPC_CREAT | libc::IPC_EXCL | 0o644
    );
    r.check("shmget_key_create", k1.is_ok(), || format!("{k1:?}"));
    r.err(
        "shmget_key_excl_eexist",
        sc!(
            libc::SYS_shmget,
            key,
            PAGE,
            libc::IPC_CREAT | libc::IPC_EXCL | 0o644
        ),
        libc::EEXIST,
    );
    r.eq("shmget_key_finds", sc!(libc::SYS_shmget, key, PAGE, 0), k1);
    r.err(
        "shmget_key_too_big_einval",
        sc!(libc::SYS_shmget, key, 2 * PAGE, 0),
        libc::EINVAL,
    );
    r.err(
        "shmget_missing_enoent",
        sc!(libc::SYS_shmget, key + 1, PAGE, 0),
        libc::ENOENT,
    );
    r.err(
        "shmget_zero_size_einval",
        sc!(libc::SYS_shmget, libc::IPC_PRIVATE, 0, 0o600),
        libc::EINVAL,
    );
    if let Ok(k) = k1 {
        r.eq(
            "rmid_key_segment",
            sc!(libc::SYS_shmctl, k, libc::IPC_RMID, 0),
            Ok(0),
        );
    }
    // Removal marks the segment; it lives (and may even be attached again, as Linux allows)
    // until its last attachment goes.
    r.eq("rmid", sc!(libc::SYS_shmctl, id, libc::IPC_RMID, 0), Ok(0));
    match stat(id) {
        Ok(ds) => {
            r.eq("rmid_marks_dest", ds.shm_perm.mode & 0o1000, 0o1000);
            // The key is the first field of ipc_perm; libc names it differently by version.
            // SAFETY: reads the first 4 bytes of a plain-data struct.
            let key = unsafe { *(&ds.shm_perm as *const libc::ipc_perm as *const i32) };
            r.eq("rmid_key_private", key, 0);
        }
        Err(e) => r.fail("rmid_marks_dest", errname(e)),
    }
    match shmat(id, 0, 0) {
        Ok(again) => {
            r.eq("attach_after_rmid_same_bytes", bytes(again, 10)[0], b'f');
            let _ = shmdt(again);
        }
        Err(e) => r.fail("attach_after_rmid_same_bytes", errname(e)),
    }
    m[1] = b'X';
    r.eq("attached_memory_survives_rmid", &m[..2], b"fX");
    r.eq("shmdt_after_rmid", shmdt(a), Ok(0));
    r.err(
        "removed_segment_gone_after_last_detach",
        stat(id).map(|_| ()),
        libc::EINVAL,
    );
    r.err(
        "shmctl_bad_id_einval",
        stat(0x7fff_0000).map(|_| ()),
        libc::EINVAL,
    );
    // Anonymous shared memory across fork.
    match sc!(
        libc::SYS_mmap,
        0,
        PAGE,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_SHARED | libc::MAP_ANONYMOUS,
        -1,
        0
    ) {
        Ok(p) => {
            let p = p as usize;
            let child = spawn(move || {
                bytes(p, 1)[0] = 42;
                0
            });
            let st = reap(child);
            r.check(
                "map_shared_anon_across_fork",
                st == Ok(0) && bytes(p, 1)[0] == 42,
                || format!("child {st:?}, byte {}", bytes(p, 1)[0]),
            );
        }
        Err(e) => r.fail("map_shared_anon_across_fork", errname(e)),
    }
    r.finish()
}
