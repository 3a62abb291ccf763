//! tinefuzz: Tine's system-call fuzzer.
//!
//! The parent forks workers (`worker.rs`), a few at a time, each with a seed derived from the
//! run's seed and a budget of calls; a worker that outlives its time is killed with SIGKILL.
//! Workers make random system calls with adversarial arguments (`calls.rs`, `pools.rs`): the
//! kernel must neither panic nor hang, and must not leak. After a warm-up round (which brings
//! the kernel heap and kernel-stack slots to their high-water marks) the parent reads the
//! kernel's counters from /proc/tine/vm, runs the real round, cleans up what workers may leave
//! on purpose (their scratch directories, mounts inside them, System V segments), reads the
//! counters again (each time once the last threads of reaped processes are gone) and
//! compares: memory objects and their pages (less the parent's own mappings and resident
//! pages, which its C library's allocator moves), address spaces, processes, kernel stacks,
//! inodes and segments must be back exactly; free frames may only be short by what the
//! kernel heap and the kernel-stack page tables grew.
//!
//! Settings (arguments `--seed S --seconds N --calls N --workers N` or the environment
//! `FUZZ_SEED`, `FUZZ_SECONDS`, `FUZZ_CALLS`, `FUZZ_WORKERS`, `FUZZ_WORKER` (run only that
//! worker index, to replay it), `FUZZ_DIR` (default /tmp/fuzz)). The last lines are a
//! summary and `fuzz: verdict PASS` or `fuzz: verdict FAIL (...)`. As pid 1 it mounts /proc
//! and /tmp first and powers the machine off at the end.

mod calls;
mod ctl;
mod pools;
mod raw;
mod rng;
mod worker;

use std::io::Write;
use std::time::{Duration, Instant};

use ctl::{Ctl, SLOTS};
use rng::mix;

macro_rules! say {
    ($($arg:tt)*) => {{
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, $($arg)*);
        let _ = out.flush();
    }};
}

#[derive(Clone)]
struct Opts {
    seed: u64,
    seconds: f64,
    calls: u64,
    workers: usize,
    only: Option<u64>,
    dir: String,
    /// Calls per worker (each worker draws its budget up to this).
    per_worker: u64,
    /// Real time a worker may live.
    worker_time: Duration,
    /// A worker whose call count has not moved for this long is killed.
    stall: Duration,
    /// One worker at a time, the exact counters compared after each (to find the worker
    /// that leaks; `FUZZ_EACH=1` or `--each`).
    each: bool,
}

fn parse_num(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn opts() -> Result<Opts, String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut o = Opts {
        seed: env("FUZZ_SEED")
            .and_then(|s| parse_num(&s))
            .unwrap_or_else(|| {
                let mut t = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                // SAFETY: `t` is a live timespec.
                unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut t) };
                mix(t.tv_sec as u64 ^ (t.tv_nsec as u64) << 20)
            }),
        seconds: env("FUZZ_SECONDS")
            .and_then(|s| s.parse().ok())
            .unwrap_or(10.0),
        calls: env("FUZZ_CALLS")
            .and_then(|s| parse_num(&s))
            .unwrap_or(u64::MAX),
        workers: env("FUZZ_WORKERS")
            .and_then(|s| s.parse().ok())
            .unwrap_or(3),
        only: env("FUZZ_WORKER").and_then(|s| parse_num(&s)),
        dir: env("FUZZ_DIR").unwrap_or_else(|| "/tmp/fuzz".into()),
        per_worker: 400,
        worker_time: Duration::from_secs(3),
        stall: Duration::from_millis(500),
        each: env("FUZZ_EACH").is_some(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--seed" => o.seed = parse_num(&val()?).ok_or("bad --seed")?,
            "--seconds" => o.seconds = val()?.parse().map_err(|_| "bad --seconds")?,
            "--calls" => o.calls = parse_num(&val()?).ok_or("bad --calls")?,
            "--workers" => o.workers = val()?.parse().map_err(|_| "bad --workers")?,
            "--worker" => o.only = Some(parse_num(&val()?).ok_or("bad --worker")?),
            "--dir" => o.dir = val()?,
            "--each" => o.each = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    o.workers = if o.each { 1 } else { o.workers.clamp(1, SLOTS) };
    Ok(o)
}

/// The kernel's counters (/proc/tine/vm), MemFree, and this process's resident pages and
/// mapped areas.
#[derive(Clone, Default)]
struct Counters {
    vm: Vec<(String, u64)>,
    mem_free_kb: u64,
    self_rss_kb: u64,
    /// Lines of /proc/self/maps: this process's areas. Each anonymous mapping the C library's
    /// allocator makes (musl's mallocng maps and unmaps groups as the heap's use changes) is an
    /// area over a memory object of its own, so the `objects` count moves with it.
    self_areas: u64,
}

/// The whole of a small file, read into `buf` with no heap allocation (so that reading the
/// counters does not itself map or unmap allocator memory between the files it reads).
fn read_raw<'a>(path: &std::ffi::CStr, buf: &'a mut [u8]) -> &'a [u8] {
    // SAFETY: a NUL-terminated path.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return &[];
    }
    let mut len = 0;
    while len < buf.len() {
        // SAFETY: the unfilled tail of `buf`.
        let n = unsafe { libc::read(fd, buf[len..].as_mut_ptr().cast(), buf.len() - len) };
        if n <= 0 {
            break;
        }
        len += n as usize;
    }
    // SAFETY: `fd` is ours.
    unsafe { libc::close(fd) };
    &buf[..len]
}

impl Counters {
    /// All four files are read before anything is parsed or allocated, so the kernel's counts
    /// and this process's own pages and areas are taken with the same memory mapped.
    fn read() -> Counters {
        let mut bufs = [[0u8; 8192]; 4];
        let [b_vm, b_mem, b_status, b_maps] = &mut bufs;
        let vm = read_raw(c"/proc/tine/vm", b_vm);
        let mem = read_raw(c"/proc/meminfo", b_mem);
        let status = read_raw(c"/proc/self/status", b_status);
        let maps = read_raw(c"/proc/self/maps", b_maps);
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let field = |t: &str, key: &str| {
            t.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
                .unwrap_or(0)
        };
        let vm = text(vm)
            .lines()
            .filter_map(|l| {
                let (k, v) = l.split_once(' ')?;
                Some((k.to_string(), v.trim().parse().ok()?))
            })
            .collect();
        Counters {
            vm,
            mem_free_kb: field(&text(mem), "MemFree:"),
            self_rss_kb: field(&text(status), "VmRSS:"),
            self_areas: maps.iter().filter(|&&c| c == b'\n').count() as u64,
        }
    }

    /// The counters once the kernel is quiet. A process is reaped as soon as it is a zombie,
    /// while its other threads may still be ending: their thread ids, kernel stacks and the
    /// files their process holds (its working directory) go a moment later. So read until no
    /// thread id is left over and two reads 20 ms apart agree, for at most 3 s; a real leak
    /// does not go away, and the last read still shows it.
    fn settled() -> Counters {
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut last = Counters::read();
        loop {
            std::thread::sleep(Duration::from_millis(20));
            let now = Counters::read();
            let quiet = now.get("pid_table") == now.get("processes")
                && now.foreign_objects() == last.foreign_objects()
                && EXACT.iter().all(|k| now.get(k) == last.get(k));
            if quiet || Instant::now() > deadline {
                return now;
            }
            last = now;
        }
    }

    /// Memory objects that are not this process's own mappings: `objects` less this
    /// process's areas (see `self_areas`). The fuzzer's own heap may hold a group more or
    /// less after a round; a kernel leak (a missed collapse, a lost object) still counts.
    fn foreign_objects(&self) -> Option<i64> {
        Some(self.get("objects")? as i64 - self.self_areas as i64)
    }

    fn get(&self, k: &str) -> Option<u64> {
        self.vm.iter().find(|(n, _)| n == k).map(|(_, v)| *v)
    }

    fn line(&self) -> String {
        let mut s: Vec<String> = self.vm.iter().map(|(k, v)| format!("{k}={v}")).collect();
        s.push(format!("MemFree={}kB", self.mem_free_kb));
        s.push(format!("self_rss={}kB", self.self_rss_kb));
        s.push(format!("self_areas={}", self.self_areas));
        s.join(" ")
    }
}

/// The counters that must come back exactly (besides `objects`, see `foreign_objects`).
const EXACT: [&str; 7] = [
    "spaces",
    "processes",
    "pid_table",
    "kstacks",
    "inodes",
    "file_pages",
    "shm_segments",
];

/// Compare the counters; Err names every difference.
fn leak_check(b: &Counters, a: &Counters) -> Result<(), String> {
    if b.vm.is_empty() || a.vm.is_empty() {
        return Err("no /proc/tine/vm (not Tine?): nothing to compare".into());
    }
    let mut why = Vec::new();
    let rss_pages = |c: &Counters| c.self_rss_kb / 4;
    // Objects: exact, but for this process's own areas (its allocator may hold a mapping
    // more or less than before).
    if b.foreign_objects() != a.foreign_objects() {
        why.push(format!(
            "objects {} -> {} (own areas {} -> {})",
            b.get("objects").unwrap_or(0),
            a.get("objects").unwrap_or(0),
            b.self_areas,
            a.self_areas
        ));
    }
    for key in EXACT {
        let (x, y) = (b.get(key).unwrap_or(0), a.get(key).unwrap_or(0));
        if x != y {
            why.push(format!("{key} {x} -> {y}"));
        }
    }
    // Object pages: exact, but for this process's own resident pages (its stack and heap may
    // have touched a page more).
    let (x, y) = (
        b.get("object_pages").unwrap_or(0),
        a.get("object_pages").unwrap_or(0),
    );
    if x as i64 - rss_pages(b) as i64 != y as i64 - rss_pages(a) as i64 {
        why.push(format!(
            "object_pages {x} -> {y} (own resident pages {} -> {})",
            rss_pages(b),
            rss_pages(a)
        ));
    }
    // Free frames: the heap only grows and the kernel half's page tables (for kernel stacks
    // and the heap's mapped region) stay, so those explain a shortfall; as do this process's
    // own extra pages. Nothing else may.
    let g = |c: &Counters, k: &str| c.get(k).unwrap_or(0);
    let heap = (g(a, "heap_claimed").saturating_sub(g(b, "heap_claimed"))).div_ceil(4096);
    let tables = g(a, "kernel_tables").saturating_sub(g(b, "kernel_tables"));
    let own = rss_pages(a).saturating_sub(rss_pages(b));
    let allowed = heap + tables + own;
    let short = g(b, "free_frames").saturating_sub(g(a, "free_frames"));
    if short > allowed {
        why.push(format!(
            "free_frames {} -> {}: {short} short, only {allowed} explained (heap {heap}, kernel tables {tables}, own {own})",
            g(b, "free_frames"),
            g(a, "free_frames")
        ));
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(why.join("; "))
    }
}

struct Round {
    started: u64,
    ended: u64,
    exited: u64,
    signaled: [u64; 65],
    killed: u64,
    strays: u64,
    hung: Vec<String>,
    calls: u64,
    /// The first failure of a kernel check read while the workers ran (see `MIDRUN`).
    broken: Option<String>,
}

struct Live {
    pid: i32,
    index: u64,
    started: Instant,
    killed: Option<Instant>,
    /// The slot's call count when it last moved, and when.
    calls: u64,
    moved: Instant,
}

fn now_s(t0: Instant) -> f64 {
    t0.elapsed().as_secs_f64()
}

/// The kernel checks that hold at any moment, not only when the system is quiet: frame
/// and object bookkeeping, and every page-table entry against the memory model (a stale
/// entry is a frame user space can still write after it was freed).
const MIDRUN: [&str; 4] = ["frames", "vm_objects", "frames_vs_objects", "page_tables"];

/// Read /proc/tine/check while workers run; Some(why) if one of the `MIDRUN` checks failed.
/// Nothing to say where the file does not exist (Linux).
fn midrun_check() -> Option<String> {
    let inv = std::fs::read_to_string("/proc/tine/check").ok()?;
    let broken: Vec<&str> = inv
        .lines()
        .filter(|l| {
            l.strip_prefix("FAIL ")
                .and_then(|r| r.split(':').next())
                .is_some_and(|name| MIDRUN.contains(&name))
        })
        .collect();
    (!broken.is_empty()).then(|| broken.join("; "))
}

/// Run workers until the budget is spent, then make sure every process is gone.
fn round(ctl: &'static Ctl, o: &Opts, seed: u64, seconds: f64, calls: u64) -> Round {
    let t0 = Instant::now();
    let calls0 = ctl.total_calls();
    let mut r = Round {
        started: 0,
        ended: 0,
        exited: 0,
        signaled: [0; 65],
        killed: 0,
        strays: 0,
        hung: Vec::new(),
        calls: 0,
        broken: None,
    };
    let mut last_check = Instant::now();
    let mut live: Vec<Option<Live>> = (0..o.workers).map(|_| None).collect();
    let mut next = o.only.unwrap_or(0);
    let mut last_report = Instant::now();
    let mut each_prev = if o.each {
        Some(Counters::settled())
    } else {
        None
    };
    let budget_left = |r: &Round, next: u64| {
        let spent = ctl.total_calls() - calls0;
        now_s(t0) < seconds && spent < calls && o.only.is_none_or(|w| next == w && r.started == 0)
    };
    loop {
        // Reap.
        loop {
            let mut st = 0;
            // SAFETY: `st` is a live int.
            let pid = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG | libc::__WALL) };
            if pid <= 0 {
                break;
            }
            match live
                .iter()
                .position(|l| l.as_ref().is_some_and(|l| l.pid == pid))
            {
                Some(slot) => {
                    let l = live[slot].take().unwrap_or_else(|| unreachable!());
                    ctl.pids[slot].store(0, std::sync::atomic::Ordering::Relaxed);
                    ctl.kill_owned(Some(l.index));
                    if o.each {
                        each_check(ctl, o, l.index, seed, &mut each_prev);
                    }
                    r.ended += 1;
                    if libc::WIFSIGNALED(st) {
                        r.signaled[(libc::WTERMSIG(st) as usize).min(64)] += 1;
                    } else {
                        r.exited += 1;
                    }
                }
                None => r.strays += 1,
            }
        }
        // Deadlines: SIGKILL at the worker's time; a worker still there 10 s later is stuck
        // in the kernel.
        for (slot, l) in live.iter_mut().enumerate() {
            let Some(w) = l else { continue };
            let c = ctl.calls[slot].load(std::sync::atomic::Ordering::Relaxed);
            if c != w.calls {
                w.calls = c;
                w.moved = Instant::now();
            }
            // Past its time, or blocked for a while (a call that does not return, a stop):
            // SIGKILL, which must end any sleep in the kernel.
            let stalled = w.moved.elapsed() > o.stall;
            match w.killed {
                None if w.started.elapsed() > o.worker_time || stalled => {
                    if std::env::var("FUZZ_DEBUG").is_ok() {
                        let last = ctl.last(slot);
                        say!(
                            "fuzz: debug deadline of worker {}: last call {} {:x?}",
                            w.index,
                            last[0],
                            &last[1..]
                        );
                    }
                    // SAFETY: kill has no memory arguments; the pid is our child.
                    unsafe { libc::kill(w.pid, libc::SIGKILL) };
                    w.killed = Some(Instant::now());
                    r.killed += 1;
                }
                Some(k) if k.elapsed() > Duration::from_secs(10) => {
                    let last = ctl.last(slot);
                    let msg = format!(
                        "worker {} (pid {}) still alive 10 s after SIGKILL; its last call: {} ({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x})",
                        w.index,
                        w.pid,
                        last[0],
                        last[1],
                        last[2],
                        last[3],
                        last[4],
                        last[5],
                        last[6]
                    );
                    say!("fuzz: HANG {msg}");
                    r.hung.push(msg);
                    *l = None; // give up on it (the verdict fails)
                }
                _ => {}
            }
        }
        // Start workers while the budget lasts.
        if budget_left(&r, next) {
            for (slot, entry) in live.iter_mut().enumerate() {
                if entry.is_some() || !budget_left(&r, next) {
                    continue;
                }
                let index = next;
                next += 1;
                let wseed = mix(seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                let ncalls = 50 + mix(wseed) % o.per_worker.max(1);
                let prm = worker::Params {
                    slot,
                    index,
                    seed: wseed,
                    calls: ncalls,
                    dir: o.dir.clone(),
                };
                // SAFETY: the child runs the worker and never returns.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    worker::run(ctl, prm);
                }
                if pid > 0 {
                    ctl.pids[slot].store(pid, std::sync::atomic::Ordering::Relaxed);
                    r.started += 1;
                    *entry = Some(Live {
                        pid,
                        index,
                        started: Instant::now(),
                        killed: None,
                        calls: ctl.calls[slot].load(std::sync::atomic::Ordering::Relaxed),
                        moved: Instant::now(),
                    });
                }
            }
        } else if live.iter().all(Option::is_none) {
            break;
        }
        if r.broken.is_none() && last_check.elapsed() > Duration::from_millis(500) {
            last_check = Instant::now();
            r.broken = midrun_check();
            if let Some(b) = &r.broken {
                say!("fuzz: invariants during the round: FAIL {b}");
            }
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            say!(
                "fuzz: {:.0} s, {} calls, {} workers started",
                now_s(t0),
                ctl.total_calls() - calls0,
                r.started
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // Whatever the workers forked and left: kill it and wait for it (as pid 1 we reap the
    // orphans; otherwise the system's init does).
    ctl.kill_owned(None);
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let mut st = 0;
        // SAFETY: `st` is a live int.
        let pid = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG | libc::__WALL) };
        if pid > 0 {
            r.strays += 1;
            continue;
        }
        if pid < 0 || Instant::now() > end {
            if pid == 0 {
                let msg = "children still alive 10 s after the final SIGKILL".to_string();
                say!("fuzz: HANG {msg}");
                r.hung.push(msg);
            }
            break;
        }
        ctl.kill_owned(None);
        std::thread::sleep(Duration::from_millis(10));
    }
    r.calls = ctl.total_calls() - calls0;
    r
}

/// `--each`: after worker `index` ended, wait for everything it started, clean up and compare
/// the exact counters with those after the previous worker.
fn each_check(ctl: &Ctl, o: &Opts, index: u64, seed: u64, prev: &mut Option<Counters>) {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        ctl.kill_owned(None);
        let mut st = 0;
        // SAFETY: `st` is a live int.
        let pid = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG | libc::__WALL) };
        if pid < 0 || Instant::now() > end {
            break;
        }
        if pid == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    cleanup(&o.dir);
    let now = Counters::settled();
    say!(
        "fuzz: each {index}: objects {:?} kstacks {:?} inodes {:?}",
        now.get("objects"),
        now.get("kstacks"),
        now.get("inodes")
    );
    if let Some(p) = prev.as_ref() {
        let mut changed: Vec<String> = Vec::new();
        if p.foreign_objects() != now.foreign_objects() {
            changed.push(format!(
                "objects {:?} -> {:?} (own areas {} -> {})",
                p.get("objects"),
                now.get("objects"),
                p.self_areas,
                now.self_areas
            ));
        }
        changed.extend(
            [
                "spaces",
                "processes",
                "pid_table",
                "kstacks",
                "inodes",
                "shm_segments",
            ]
            .iter()
            .filter_map(|k| {
                let (a, b) = (p.get(k)?, now.get(k)?);
                (a != b).then(|| format!("{k} {a} -> {b}"))
            }),
        );
        if !changed.is_empty() {
            let wseed = mix(seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            say!(
                "fuzz: worker {index} (seed {wseed:#x}) left the kernel different: {}",
                changed.join(", ")
            );
        }
    }
    *prev = Some(now);
}

/// Remove what workers leave behind on purpose: mounts inside the scratch directory, the
/// directory's contents, System V segments.
fn cleanup(dir: &str) {
    for _ in 0..8 {
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        let inside: Vec<String> = mounts
            .lines()
            // Split on single spaces: a mount made with an empty source name has an empty
            // first field, and whitespace splitting took its type for the mount point.
            .filter_map(|l| l.split(' ').nth(1))
            .filter(|p| p.starts_with(dir) && p.len() > dir.len())
            .map(str::to_string)
            .collect();
        if inside.is_empty() {
            break;
        }
        for m in inside.iter().rev() {
            if let Ok(c) = std::ffi::CString::new(m.as_str()) {
                // SAFETY: a NUL-terminated path.
                unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
            }
        }
    }
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                let _ = std::fs::remove_dir_all(&p);
            } else {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
    // A symbolic link in the scratch directory may point at /nonexistent, and creating
    // through it (open with O_CREAT, mkdir) makes it.
    let _ = std::fs::remove_file("/nonexistent");
    let _ = std::fs::remove_dir_all("/nonexistent");
    // System V segments: walk them by index (SHM_INFO gives the highest, SHM_STAT an id).
    let mut buf = [0u64; 16];
    let top = raw::sys(31, &[0, 14, buf.as_mut_ptr() as u64]);
    for index in 0..=top.max(-1) {
        let id = raw::sys(31, &[index as u64, 13, buf.as_mut_ptr() as u64]);
        if id >= 0 {
            raw::sys(31, &[id as u64, 0, 0]);
        }
    }
}

/// After a failed leak check: what is left (processes, files under the scratch directory,
/// mounts), to say where to look.
fn explain_leak(dir: &str) {
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.parse::<u32>().is_ok() {
                let st =
                    std::fs::read_to_string(format!("/proc/{name}/status")).unwrap_or_default();
                let get = |k: &str| {
                    st.lines()
                        .find(|l| l.starts_with(k))
                        .map(|l| l[k.len()..].trim().to_string())
                        .unwrap_or_default()
                };
                say!(
                    "fuzz: left: pid {name} {} state {} ppid {} threads {}",
                    get("Name:"),
                    get("State:"),
                    get("PPid:"),
                    get("Threads:")
                );
            }
        }
    }
    fn walk(p: &std::path::Path, out: &mut Vec<String>, depth: u32) {
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd.flatten() {
                let q = e.path();
                out.push(q.display().to_string());
                if depth < 4 && q.is_dir() && !q.is_symlink() {
                    walk(&q, out, depth + 1);
                }
            }
        }
    }
    let mut files = Vec::new();
    walk(std::path::Path::new(dir), &mut files, 0);
    say!(
        "fuzz: left: {} entries under {dir}: {:?}",
        files.len(),
        &files[..files.len().min(20)]
    );
    if let Some(first) = files.first() {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::symlink_metadata(first).map(|m| m.permissions().mode());
        let err = std::fs::remove_dir_all(first).err();
        say!("fuzz: left: {first}: mode {mode:?}, removing it: {err:?}");
    }
    let root: Vec<String> = std::fs::read_dir("/")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    say!("fuzz: left: / holds {root:?}");
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    say!(
        "fuzz: left: mounts {:?}",
        mounts.lines().collect::<Vec<_>>()
    );
}

fn mount_basics() {
    let mk = |d: &std::ffi::CStr| {
        // SAFETY: NUL-terminated strings.
        unsafe { libc::mkdir(d.as_ptr(), 0o755) };
    };
    mk(c"/proc");
    mk(c"/tmp");
    // SAFETY: NUL-terminated strings and no data.
    unsafe {
        libc::mount(
            c"proc".as_ptr(),
            c"/proc".as_ptr(),
            c"proc".as_ptr(),
            0,
            std::ptr::null(),
        );
        libc::mount(
            c"tmp".as_ptr(),
            c"/tmp".as_ptr(),
            c"tmpfs".as_ptr(),
            0,
            std::ptr::null(),
        );
    }
}

fn finish(pid1: bool, pass: bool) -> ! {
    if pid1 {
        // SAFETY: sync and reboot take no pointers; we are pid 1.
        unsafe {
            libc::sync();
            libc::reboot(libc::RB_POWER_OFF);
        }
    }
    std::process::exit(if pass { 0 } else { 1 })
}

fn main() {
    let o = match opts() {
        Ok(o) => o,
        Err(e) => {
            say!("fuzz: {e}");
            std::process::exit(2);
        }
    };
    // SAFETY: getpid has no arguments.
    let pid1 = unsafe { libc::getpid() } == 1;
    if pid1 {
        mount_basics();
    }
    // Nothing a worker sends may stop the parent: block every signal (SIGKILL and SIGSTOP
    // cannot be blocked; kill targets leave the parent out).
    // SAFETY: a full set, no old set wanted.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_SETMASK, &all, std::ptr::null_mut());
    }
    say!(
        "fuzz: seed {:#x}, {} s, {} calls at most, {} workers at a time{}",
        o.seed,
        o.seconds,
        if o.calls == u64::MAX {
            "no limit on".to_string()
        } else {
            o.calls.to_string()
        },
        o.workers,
        o.only
            .map_or(String::new(), |w| format!(", only worker {w}"))
    );
    let Some(ctl) = Ctl::map() else {
        say!("fuzz: verdict FAIL (cannot map the control block)");
        finish(pid1, false);
    };
    let _ = std::fs::create_dir_all(&o.dir);

    // Warm-up: the same kind of run, short, so heap and kernel-stack slots reach their
    // high-water marks and this process has touched what it touches (its first fork leaves
    // one more memory object behind for good, so a replay of one worker warms up too).
    let t0 = Instant::now();
    {
        let warm = round(ctl, &o, mix(o.seed ^ 0x5741_524d), 2.0, 1500);
        cleanup(&o.dir);
        say!(
            "fuzz: warm-up: {} calls, {} workers in {:.1} s",
            warm.calls,
            warm.started,
            now_s(t0)
        );
    }
    if std::env::var("FUZZ_DEBUG").is_ok() {
        let v: Vec<u64> = ctl
            .calls
            .iter()
            .map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
            .collect();
        say!("fuzz: debug slots {v:x?}");
    }
    let before = Counters::settled();
    say!("fuzz: counters before: {}", before.line());

    let t1 = Instant::now();
    let r = round(ctl, &o, o.seed, o.seconds, o.calls);
    let elapsed = now_s(t1);
    cleanup(&o.dir);
    let after = Counters::settled();
    say!("fuzz: counters after:  {}", after.line());
    let signals: Vec<String> = r
        .signaled
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(s, n)| format!("{s}:{n}"))
        .collect();
    say!(
        "fuzz: summary seed={:#x} calls={} workers_started={} workers_ended={} exited={} killed_by_signal=[{}] killed_at_deadline={} forks={} threads={} clones={} handled_signals={} strays_reaped={} seconds={:.1}",
        o.seed,
        r.calls,
        r.started,
        r.ended,
        r.exited,
        signals.join(" "),
        r.killed,
        ctl.forks.load(std::sync::atomic::Ordering::Relaxed),
        ctl.threads.load(std::sync::atomic::Ordering::Relaxed),
        ctl.clones.load(std::sync::atomic::Ordering::Relaxed),
        ctl.handled.load(std::sync::atomic::Ordering::Relaxed),
        r.strays,
        elapsed
    );
    let leak = leak_check(&before, &after);
    match &leak {
        Ok(()) => say!("fuzz: leak check: clean"),
        Err(e) => {
            say!("fuzz: leak check: LEAK {e}");
            explain_leak(&o.dir);
        }
    }
    // The kernel's own invariant checks (/proc/tine/check), now that everything has ended.
    let inv = std::fs::read_to_string("/proc/tine/check").unwrap_or_default();
    let broken: Vec<&str> = inv.lines().filter(|l| !l.starts_with("ok ")).collect();
    if inv.is_empty() {
        say!("fuzz: invariants: FAIL (no /proc/tine/check)");
    } else if broken.is_empty() {
        say!("fuzz: invariants: ok ({} checks)", inv.lines().count());
    } else {
        say!("fuzz: invariants: FAIL {}", broken.join("; "));
    }
    let mut fail = Vec::new();
    if inv.is_empty() || !broken.is_empty() {
        fail.push("invariants".to_string());
    }
    if let Some(b) = &r.broken {
        fail.push(format!("invariants during the round: {b}"));
    }
    if !r.hung.is_empty() {
        fail.push(format!("hang: {}", r.hung.join("; ")));
    }
    if leak.is_err() {
        fail.push("leak".to_string());
    }
    if r.started == 0 {
        fail.push("no worker ran".to_string());
    }
    if fail.is_empty() {
        say!("fuzz: verdict PASS");
    } else {
        say!("fuzz: verdict FAIL ({})", fail.join(", "));
    }
    finish(pid1, fail.is_empty())
}
