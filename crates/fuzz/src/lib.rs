//! A small fuzzing engine on stable Rust, run by ordinary `#[test]` functions, so that
//! `cargo test` (and `cargo xtask test`) fuzzes the parsers and models of Tine's host crates on
//! every run, for a bounded time, and longer on request.
//!
//! A fuzz target is a closure over an input byte string that panics when a property fails. The
//! engine:
//!
//! 1. replays the target's **corpus** — every file in `<crate>/fuzz/corpus/<target>/` (kept in
//!    the repository: valid inputs, edge cases, and regressions of past failures), any extra
//!    directories, and seeds the test builds in code;
//! 2. then runs **mutated** inputs: a pool entry changed by a few stacked mutations (bit flips,
//!    interesting integers written over 2/4/8-byte fields such as length fields, truncation,
//!    chunk deletion/duplication/repetition, splices with another entry, dictionary tokens,
//!    ASCII numbers) or, now and then, purely random bytes. The pseudo-random generator is
//!    seeded, so a run is reproducible;
//! 3. keeps a mutated input in the pool when the target reports an outcome it has not seen
//!    before ([`Cov::hit`]: error kinds, counts, branches the target cares about), so deeper
//!    inputs become parents of further mutation (outcome-guided, without compiler coverage);
//! 4. on a panic, shrinks the input (chunk removal while the panic stays at the same source
//!    location), writes both versions to `<crate>/fuzz/failures/<target>/` (ignored by git),
//!    and fails the test with the panic message, the file names and how to keep the input as
//!    a regression once fixed. A hang (one input running longer than the timeout) is written
//!    there too before the test process exits.
//!
//! Budget: by default each target runs its corpus plus the iteration count its test chose, but
//! at most [`DEFAULT_SECONDS`]. Environment variables change that for longer runs:
//!
//! | variable | effect |
//! |---|---|
//! | `TINE_FUZZ_SECONDS=S` | run every target for `S` seconds (no iteration limit unless also given) |
//! | `TINE_FUZZ_ITERS=N` | run `N` mutated inputs per target (no time limit unless also given) |
//! | `TINE_FUZZ_SEED=X` | seed (decimal or `0x` hex; `time` for a fresh one); printed on failure |
//! | `TINE_FUZZ_INPUT=FILE` | run just this input, uncaught, for a full panic report |
//! | `TINE_FUZZ_GROW=1` | afterwards, write a few small inputs reaching the outcomes the corpus missed into the corpus directory |
//! | `TINE_FUZZ_TIMEOUT=S` | seconds one input may run before it counts as a hang (default 10) |
//! | `TINE_FUZZ_TRACE=1` | write each input to `failures/<target>/current.bin` before running it (finds inputs that abort the process) |

#![forbid(unsafe_code)]

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

mod mutate;

pub use mutate::{INTERESTING, mutate};

/// Longest a target runs by default (the corpus is always replayed in full).
pub const DEFAULT_SECONDS: f64 = 3.0;
/// Mutated inputs a target runs by default (a test may choose another count).
pub const DEFAULT_ITERS: u64 = 20_000;
/// Seed when `TINE_FUZZ_SEED` is not set.
pub const DEFAULT_SEED: u64 = 0x7147_e5f0_22c0_2026;
/// Inputs kept for mutation at most.
const POOL_CAP: usize = 8192;

/// A seeded pseudo-random generator (SplitMix64): fast, and the same sequence everywhere.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True once in `n` times on average.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// A length in `0..=max`, log-uniform: short lengths are common, long ones possible.
    pub fn len(&mut self, max: usize) -> usize {
        let bits = (usize::BITS - max.leading_zeros()) as usize;
        let b = self.below(bits + 1);
        let cap = if b >= usize::BITS as usize {
            max
        } else {
            ((1usize << b) - 1).min(max)
        };
        match cap.checked_add(1) {
            Some(n) => self.below(n),
            None => self.next_u64() as usize,
        }
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let r = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.fill(&mut v);
        v
    }

    /// A uniformly chosen element (`None` for an empty slice).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get(self.below(items.len()))
        }
    }
}

/// The outcomes one run of a target reached. Inputs reaching an outcome never seen before are
/// kept for further mutation.
#[derive(Default, Debug)]
pub struct Cov {
    hits: Vec<u64>,
}

impl Cov {
    /// Record an outcome: an error kind, a (bucketed) count, a branch taken.
    pub fn hit(&mut self, outcome: impl Hash) {
        self.hits.push(hash64(&outcome));
    }

    /// Record an outcome by its `Debug` text (for types without `Hash`).
    pub fn hit_debug(&mut self, outcome: &impl std::fmt::Debug) {
        self.hits.push(hash64(&format!("{outcome:?}")));
    }
}

/// `log2` bucket of a count, for [`Cov::hit`]: 0, 1, 2–3, 4–7, ...
pub fn bucket(n: usize) -> u32 {
    usize::BITS - n.leading_zeros()
}

/// A stable 64-bit hash.
pub fn hash64(x: &(impl Hash + ?Sized)) -> u64 {
    let mut h = DefaultHasher::new();
    x.hash(&mut h);
    h.finish()
}

/// What one target run did.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Corpus files and in-code seeds replayed.
    pub corpus: usize,
    /// Inputs run in total (corpus included).
    pub execs: u64,
    /// Inputs kept for mutation at the end.
    pub pool: usize,
    /// Distinct outcomes seen.
    pub outcomes: usize,
    pub elapsed: Duration,
}

/// Describe a fuzz target of the crate whose manifest directory is `manifest_dir` (pass
/// `env!("CARGO_MANIFEST_DIR")`): its corpus is `<manifest_dir>/fuzz/corpus/<name>/`.
pub fn target(name: &str, manifest_dir: &str) -> Target {
    Target {
        name: name.to_string(),
        root: Path::new(manifest_dir).join("fuzz"),
        extra_dirs: Vec::new(),
        seeds: Vec::new(),
        dict: Vec::new(),
        max_len: 4096,
        iters: DEFAULT_ITERS,
    }
}

/// A fuzz target being set up; [`Target::run`] runs it.
pub struct Target {
    name: String,
    root: PathBuf,
    extra_dirs: Vec<PathBuf>,
    seeds: Vec<(String, Vec<u8>)>,
    dict: Vec<Vec<u8>>,
    max_len: usize,
    iters: u64,
}

/// A corpus entry: where it came from and its bytes.
type Entry = (String, Vec<u8>);

impl Target {
    /// An input built by the test (replayed like a corpus file, not written anywhere).
    pub fn seed(mut self, label: impl Into<String>, data: impl Into<Vec<u8>>) -> Target {
        self.seeds.push((label.into(), data.into()));
        self
    }

    /// Another directory whose files are replayed and mutated (e.g. a related target's corpus).
    pub fn corpus_dir(mut self, dir: impl Into<PathBuf>) -> Target {
        self.extra_dirs.push(dir.into());
        self
    }

    /// Tokens the mutator writes or inserts (magic numbers, keywords, header fields).
    pub fn dict<T: AsRef<[u8]>>(mut self, tokens: impl IntoIterator<Item = T>) -> Target {
        self.dict
            .extend(tokens.into_iter().map(|t| t.as_ref().to_vec()));
        self
    }

    /// Longest input the mutator produces (corpus files may be longer).
    pub fn max_len(mut self, n: usize) -> Target {
        self.max_len = n.max(1);
        self
    }

    /// Mutated inputs to run when the environment does not say.
    pub fn iterations(mut self, n: u64) -> Target {
        self.iters = n;
        self
    }

    fn corpus_path(&self) -> PathBuf {
        self.root.join("corpus").join(&self.name)
    }

    fn failures_path(&self) -> PathBuf {
        self.root.join("failures").join(&self.name)
    }

    /// Load the corpus: this target's directory, the extra ones, then the in-code seeds.
    fn corpus(&self) -> Vec<Entry> {
        let mut out = Vec::new();
        let mut dirs = vec![self.corpus_path()];
        dirs.extend(self.extra_dirs.iter().cloned());
        for dir in dirs {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .filter(|p| {
                    !p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with('.'))
                })
                .collect();
            files.sort();
            for f in files {
                match std::fs::read(&f) {
                    Ok(data) => out.push((f.display().to_string(), data)),
                    Err(e) => panic!("fuzz {}: cannot read {}: {e}", self.name, f.display()),
                }
            }
        }
        out.extend(self.seeds.iter().cloned());
        out
    }

    /// Run the target: the corpus, then mutated and random inputs within the budget. Panics
    /// (failing the test) on the first input for which `f` panics.
    pub fn run(self, f: impl Fn(&[u8], &mut Cov)) -> Stats {
        install_hook();
        let cfg = Settings::from_env(self.iters);
        if let Some(path) = &cfg.input {
            let data = std::fs::read(path)
                .unwrap_or_else(|e| panic!("TINE_FUZZ_INPUT={}: {e}", path.display()));
            f(&data, &mut Cov::default());
            return Stats {
                corpus: 1,
                execs: 1,
                pool: 0,
                outcomes: 0,
                elapsed: Duration::ZERO,
            };
        }
        let start = Instant::now();
        let watchdog = Watchdog::start(&self.name, self.failures_path(), cfg.timeout);
        let mut run = Run {
            t: &self,
            cfg: &cfg,
            f: &f,
            watchdog: &watchdog,
            seen: HashSet::new(),
            pool: Vec::new(),
            corpus_seen: HashSet::new(),
            smallest: HashMap::new(),
            execs: 0,
        };
        let corpus = self.corpus();
        let corpus_len = corpus.len();
        for (label, data) in corpus {
            run.step(data, &format!("corpus input {label}"), true);
        }
        let seed = cfg.seed ^ hash64(&self.name);
        let mut rng = Rng::new(seed);
        let mut i = 0u64;
        while cfg.iters.is_none_or(|n| i < n) && cfg.time.is_none_or(|t| start.elapsed() < t) {
            let input = run.next_input(&mut rng);
            run.step(
                input,
                &format!("mutated input #{i} (seed {:#x})", cfg.seed),
                false,
            );
            i += 1;
        }
        let stats = Stats {
            corpus: corpus_len,
            execs: run.execs,
            pool: run.pool.len(),
            outcomes: run.seen.len(),
            elapsed: start.elapsed(),
        };
        let grown = run.cover();
        drop(run);
        drop(watchdog);
        if cfg.grow && !grown.is_empty() {
            let dir = self.corpus_path();
            std::fs::create_dir_all(&dir)
                .unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
            for data in &grown {
                let p = dir.join(format!("grown-{:016x}.bin", hash64(data)));
                std::fs::write(&p, data).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            }
            println!(
                "fuzz {}: wrote {} small inputs covering the outcomes the corpus missed to {}",
                self.name,
                grown.len(),
                dir.display()
            );
        }
        println!(
            "fuzz {}: {} corpus inputs, {} runs in {:.2} s, {} outcomes, pool {}",
            self.name,
            stats.corpus,
            stats.execs,
            stats.elapsed.as_secs_f64(),
            stats.outcomes,
            stats.pool
        );
        stats
    }
}

/// The budget and switches read from the environment.
struct Settings {
    iters: Option<u64>,
    time: Option<Duration>,
    seed: u64,
    grow: bool,
    trace: bool,
    input: Option<PathBuf>,
    timeout: Duration,
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

fn parse_u64(key: &str, v: &str) -> u64 {
    let v = v.trim().replace('_', "");
    let r = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    r.unwrap_or_else(|_| panic!("{key}={v}: not a number"))
}

fn parse_secs(key: &str, v: &str) -> Duration {
    match v.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Duration::from_secs_f64(s),
        _ => panic!("{key}={v}: not a number of seconds"),
    }
}

impl Settings {
    fn from_env(default_iters: u64) -> Settings {
        let iters = env("TINE_FUZZ_ITERS").map(|v| parse_u64("TINE_FUZZ_ITERS", &v));
        let time = env("TINE_FUZZ_SECONDS").map(|v| parse_secs("TINE_FUZZ_SECONDS", &v));
        let (iters, time) = match (iters, time) {
            (None, None) => (
                Some(default_iters),
                Some(Duration::from_secs_f64(DEFAULT_SECONDS)),
            ),
            other => other,
        };
        let seed = match env("TINE_FUZZ_SEED") {
            None => DEFAULT_SEED,
            Some(v) if v.trim() == "time" => {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0);
                let s = Rng::new(t).next_u64();
                println!("TINE_FUZZ_SEED=time: using seed {s:#x}");
                s
            }
            Some(v) => parse_u64("TINE_FUZZ_SEED", &v),
        };
        let flag = |k| env(k).is_some_and(|v| v != "0");
        Settings {
            iters,
            time,
            seed,
            grow: flag("TINE_FUZZ_GROW"),
            trace: flag("TINE_FUZZ_TRACE"),
            input: env("TINE_FUZZ_INPUT").map(PathBuf::from),
            timeout: env("TINE_FUZZ_TIMEOUT")
                .map(|v| parse_secs("TINE_FUZZ_TIMEOUT", &v))
                .unwrap_or(Duration::from_secs(10)),
        }
    }
}

/// A panic caught while running an input.
#[derive(Clone, Debug)]
struct Caught {
    /// `file:line:column` of the panic.
    location: String,
    message: String,
}

thread_local! {
    /// While set, the panic hook records panics of this thread instead of printing them.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST: RefCell<Option<Caught>> = const { RefCell::new(None) };
}

/// Wrap the panic hook once per process: panics inside fuzz runs are recorded (with their
/// location, which `catch_unwind` does not give) and not printed; others print as before.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let prev = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let location = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                    .unwrap_or_default();
                let message = if let Some(s) = info.payload().downcast_ref::<&str>() {
                    (*s).to_string()
                } else if let Some(s) = info.payload().downcast_ref::<String>() {
                    s.clone()
                } else {
                    "(non-string panic payload)".to_string()
                };
                LAST.with(|l| *l.borrow_mut() = Some(Caught { location, message }));
            } else {
                prev(info);
            }
        }));
    });
}

/// Run `f` on `data`, catching a panic.
fn exec(f: &dyn Fn(&[u8], &mut Cov), data: &[u8]) -> Result<Cov, Caught> {
    let mut cov = Cov::default();
    QUIET.with(|q| q.set(true));
    let r = panic::catch_unwind(AssertUnwindSafe(|| f(data, &mut cov)));
    QUIET.with(|q| q.set(false));
    match r {
        Ok(()) => Ok(cov),
        Err(_) => Err(LAST.with(|l| l.borrow_mut().take()).unwrap_or(Caught {
            location: String::new(),
            message: "panic".to_string(),
        })),
    }
}

/// Milliseconds since the first call (a process-wide clock for the watchdog).
fn now_ms() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

struct WatchState {
    current: Mutex<Vec<u8>>,
    /// `now_ms()` when the current input started; 0 between inputs.
    started: AtomicU64,
    done: AtomicBool,
}

/// A thread that notices an input running longer than the timeout, saves it and ends the
/// process (a hang cannot be caught like a panic).
struct Watchdog {
    state: Arc<WatchState>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Watchdog {
    fn start(name: &str, failures: PathBuf, timeout: Duration) -> Watchdog {
        let state = Arc::new(WatchState {
            current: Mutex::new(Vec::new()),
            started: AtomicU64::new(0),
            done: AtomicBool::new(false),
        });
        let st = state.clone();
        let name = name.to_string();
        let limit = timeout.as_millis() as u64;
        let thread = thread::spawn(move || {
            while !st.done.load(Ordering::Acquire) {
                thread::park_timeout(Duration::from_millis(200));
                let t0 = st.started.load(Ordering::Acquire);
                if t0 == 0 || now_ms().saturating_sub(t0) < limit {
                    continue;
                }
                let data = st.current.lock().map(|d| d.clone()).unwrap_or_default();
                let path = save(&failures, "hang", &data);
                let msg = format!(
                    "\nfuzz {name}: an input ran longer than {} s (TINE_FUZZ_TIMEOUT); saved to {}\n\
                     reproduce with TINE_FUZZ_INPUT={} and the test's name as filter\n",
                    limit / 1000,
                    path.display(),
                    path.display()
                );
                // Straight to the process's stderr: the test's captured output dies with it.
                let _ = std::io::stderr().write_all(msg.as_bytes());
                std::process::exit(101);
            }
        });
        Watchdog {
            state,
            thread: Some(thread),
        }
    }

    fn begin(&self, data: &[u8]) {
        if let Ok(mut cur) = self.state.current.lock() {
            cur.clear();
            cur.extend_from_slice(data);
        }
        self.state.started.store(now_ms(), Ordering::Release);
    }

    fn end(&self) {
        self.state.started.store(0, Ordering::Release);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.state.done.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// Write `data` to `<dir>/<kind>-<hash>.bin` and return the path.
fn save(dir: &Path, kind: &str, data: &[u8]) -> PathBuf {
    let _ = std::fs::create_dir_all(dir);
    let path = dir.join(format!("{kind}-{:016x}.bin", hash64(data)));
    if let Err(e) = std::fs::write(&path, data) {
        let _ = writeln!(std::io::stderr(), "cannot write {}: {e}", path.display());
    }
    path
}

/// The state of one target run.
struct Run<'a> {
    t: &'a Target,
    cfg: &'a Settings,
    f: &'a dyn Fn(&[u8], &mut Cov),
    watchdog: &'a Watchdog,
    seen: HashSet<u64>,
    pool: Vec<Vec<u8>>,
    /// Outcomes the corpus reached.
    corpus_seen: HashSet<u64>,
    /// With `TINE_FUZZ_GROW`: per outcome the corpus missed, the smallest input reaching it
    /// and all that input's outcomes.
    smallest: HashMap<u64, Rc<Reaching>>,
    execs: u64,
}

/// An input and every outcome it reached.
type Reaching = (Vec<u8>, Vec<u64>);

impl Run<'_> {
    fn next_input(&mut self, rng: &mut Rng) -> Vec<u8> {
        let max = self.t.max_len;
        if self.pool.is_empty() || rng.one_in(20) {
            // Purely random bytes, sometimes behind a dictionary token (a magic number).
            let mut data = match rng.pick(&self.t.dict) {
                Some(tok) if rng.one_in(2) => tok.clone(),
                _ => Vec::new(),
            };
            let n = rng.len(max.saturating_sub(data.len()));
            data.extend(rng.bytes(n));
            return data;
        }
        let mut data = self.pool[rng.below(self.pool.len())].clone();
        let stack = 1 << rng.below(4);
        let rounds = 1 + rng.below(stack);
        for _ in 0..rounds {
            let other = self.pool[rng.below(self.pool.len())].as_slice();
            mutate(rng, &mut data, &self.t.dict, other, max);
        }
        data
    }

    /// Run one input; keep it if it reached a new outcome (corpus inputs are always kept).
    fn step(&mut self, data: Vec<u8>, origin: &str, keep: bool) {
        if self.cfg.trace {
            let dir = self.t.failures_path();
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(dir.join("current.bin"), &data);
        }
        self.watchdog.begin(&data);
        let r = exec(self.f, &data);
        self.watchdog.end();
        self.execs += 1;
        match r {
            Ok(cov) => {
                let mut new = false;
                for &h in &cov.hits {
                    new |= self.seen.insert(h);
                    if keep {
                        self.corpus_seen.insert(h);
                    }
                }
                if self.cfg.grow && !keep {
                    self.remember(&data, &cov.hits);
                }
                if keep || new {
                    if self.pool.len() < POOL_CAP {
                        self.pool.push(data);
                    } else {
                        let i = (hash64(&data) as usize) % POOL_CAP;
                        self.pool[i] = data;
                    }
                }
            }
            Err(caught) => self.fail(&data, origin, caught),
        }
    }

    /// Note `data` as the smallest input of each outcome it reached that the corpus missed.
    fn remember(&mut self, data: &[u8], hits: &[u64]) {
        let mut entry = None;
        for h in hits {
            if self.corpus_seen.contains(h) {
                continue;
            }
            if self
                .smallest
                .get(h)
                .is_some_and(|e| e.0.len() <= data.len())
            {
                continue;
            }
            let e = entry
                .get_or_insert_with(|| Rc::new((data.to_vec(), hits.to_vec())))
                .clone();
            self.smallest.insert(*h, e);
        }
    }

    /// A small set of the remembered inputs that reaches every outcome the corpus missed:
    /// greedily, smallest inputs first.
    fn cover(&self) -> Vec<Vec<u8>> {
        let mut cands: Vec<&Rc<Reaching>> = self.smallest.values().collect();
        cands.sort_by(|a, b| (a.0.len(), &a.0).cmp(&(b.0.len(), &b.0)));
        cands.dedup_by(|a, b| a.0 == b.0);
        let mut covered = self.corpus_seen.clone();
        let mut out = Vec::new();
        for c in cands {
            if c.1.iter().any(|h| !covered.contains(h)) {
                covered.extend(c.1.iter().copied());
                out.push(c.0.clone());
            }
        }
        out
    }

    /// Shrink a failing input, save it, and fail the test.
    fn fail(&self, data: &[u8], origin: &str, caught: Caught) -> ! {
        let dir = self.t.failures_path();
        let path = save(&dir, "crash", data);
        let small = minimize(self.f, data, &caught.location);
        let min_path = (small.len() < data.len()).then(|| {
            let p = path.with_extension("min.bin");
            let _ = std::fs::write(&p, &small);
            p
        });
        let keep = min_path.as_ref().unwrap_or(&path);
        let mut msg = format!(
            "fuzz target `{}` failed on {origin}, {} bytes:\n    panicked at {}: {}\n\
             input saved to {}\n",
            self.t.name,
            data.len(),
            caught.location,
            caught.message,
            path.display(),
        );
        if let Some(p) = &min_path {
            msg += &format!(
                "minimized to {} bytes (same panic location): {}\n",
                small.len(),
                p.display()
            );
        }
        msg += &format!(
            "run it alone: TINE_FUZZ_INPUT={} cargo test <this test's name>\n\
             once fixed, keep it as a regression input: mv {} {}/\n",
            keep.display(),
            keep.display(),
            self.t.corpus_path().display()
        );
        panic!("{msg}");
    }
}

/// Remove chunks (halves, quarters, ... single bytes) while the input still panics at the same
/// place; at most a few thousand runs or a few seconds.
fn minimize(f: &dyn Fn(&[u8], &mut Cov), data: &[u8], location: &str) -> Vec<u8> {
    let start = Instant::now();
    let mut runs = 0;
    let mut best = data.to_vec();
    let mut fails = |cand: &[u8]| {
        runs += 1;
        exec(f, cand).is_err_and(|c| c.location == location)
    };
    let mut chunk = best.len().div_ceil(2).max(1);
    loop {
        let mut progressed = false;
        let mut i = 0;
        while i < best.len() {
            if start.elapsed() > Duration::from_secs(5) {
                return best;
            }
            let mut cand = best.clone();
            cand.drain(i..(i + chunk).min(best.len()));
            if fails(&cand) {
                best = cand;
                progressed = true;
            } else {
                i += chunk;
            }
        }
        if !progressed {
            if chunk == 1 {
                return best;
            }
            chunk = chunk.div_ceil(2);
            if chunk == 1 && best.len() > 4096 {
                return best;
            }
        }
    }
}

#[cfg(test)]
mod tests;
