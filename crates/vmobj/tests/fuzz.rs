//! Fuzzing the memory-object model (see the `fuzz` crate).
//!
//! Target `vm`: the input is a script of operations on one [`Vm`] with up to six address
//! spaces and four files: `new_space`, `map_anon` (private or shared, any protection, on free
//! ground, over other areas, or `MAP_FIXED`-like after an `unmap`), `map_file` (shared or
//! private, at any file offset), `fork`, writes and reads of byte patterns through the fault
//! path (also with page allocation failing), `unmap`, `protect`, `move_range`, `destroy`, and
//! on files `new_file`, writes through `file_page_mut`, `file_truncate` (and the zeroing the
//! kernel does when the file is mapped) and `release_file`. Addresses are mostly pages of a
//! small window, sometimes unaligned or in the last pages below 2^64; lengths sometimes huge.
//!
//! After every operation the model is compared with a reference that knows nothing of
//! objects or shadows: per space a sorted area list whose areas name a *region* (one per
//! mapping call) and a page index, the private pages of each space by (region, index) —
//! copied whole at fork — and the shared pages by region or file. Checked each time:
//! `Vm::check()`; the areas of every space (after merging neighbours that continue each other,
//! which the model may or may not have done) with a consistent region ↔ object
//! correspondence; every page of every area, present or not and its full contents; the
//! resident counts; the files' pages, `file_mapped` and `file_users`; no page alive outside
//! the model; the chain-length bound; and, as in `model.rs`, a simulated page table per space
//! filled from fault results and emptied from what fork/unmap/protect/move_range return: no
//! stale entry, no writable entry to a page anyone else can see. Every result and error must
//! be the one the reference predicts. At the end every space and file goes and nothing may
//! be left.
//!
//! The reference follows the model's rules where Linux leaves a choice: a private file
//! mapping sees the file's page until it writes it, but a read fault on a page the file lacks
//! gives the mapping its own zero page, which later writes to the file do not change; a
//! truncation while the file is mapped keeps (zeroed) pages; `map_anon` over an area fails.
//!
//! Input format ([`decode`]): a tag byte per operation, then its fields, one byte each.
//! Hand-built scripts for every operation are in `fuzz/corpus/vm/hand-*.bin`, written by
//! `write_hand_corpus` (ignored; run it with `--ignored` after changing them); `regress-*`
//! are minimized inputs of fixed bugs, `grown-*` come from `TINE_FUZZ_GROW=1`.
//! `TINE_FUZZ_INPUT=<file>` prints the decoded script (with `--nocapture`) before running it.

mod common;

use common::{TPage, TPages};
use fuzz::{Cov, bucket};
use std::collections::{BTreeMap, HashMap};
use vmobj::{Fault, ObjId, PAGE, Prot, SpaceId, Vm};

const B: u64 = 0x40_0000;
/// Pages of the window most addresses fall in.
const DOMAIN: u64 = 24;
const MAX_SPACES: usize = 6;
const MAX_FILES: usize = 4;
const MAX_OPS: usize = 256;
const OFFS: [u64; 8] = [0, 1, 7, 100, 2048, 4000, 4090, 4095];

/// One decoded operation; the fields are raw bytes, interpreted by [`World::apply`].
#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Spawn,
    /// `flags`: bits 0–2 protection (read, write, exec), bit 3 shared, bit 4 unmap first.
    Map {
        sp: u8,
        page: u8,
        len: u8,
        flags: u8,
    },
    /// As `Map`; `file` 0xff names an object that is not a file.
    MapFile {
        sp: u8,
        page: u8,
        len: u8,
        flags: u8,
        file: u8,
        off: u8,
    },
    Fork {
        sp: u8,
    },
    /// `flags` bit 0: page allocation fails during the faults.
    Write {
        sp: u8,
        page: u8,
        off: u8,
        len: u8,
        val: u8,
        flags: u8,
    },
    Read {
        sp: u8,
        page: u8,
        off: u8,
        len: u8,
        flags: u8,
    },
    Unmap {
        sp: u8,
        page: u8,
        len: u8,
    },
    Protect {
        sp: u8,
        page: u8,
        len: u8,
        prot: u8,
    },
    Move {
        sp: u8,
        page: u8,
        to: u8,
        len: u8,
    },
    Exit {
        sp: u8,
    },
    NewFile,
    FileWrite {
        file: u8,
        idx: u8,
        off: u8,
        len: u8,
        val: u8,
    },
    Truncate {
        file: u8,
        idx: u8,
    },
    Release {
        file: u8,
    },
}

impl Op {
    fn encode(&self, out: &mut Vec<u8>) {
        let (tag, fields): (u8, Vec<u8>) = match *self {
            Op::Spawn => (0, vec![]),
            Op::Map {
                sp,
                page,
                len,
                flags,
            } => (1, vec![sp, page, len, flags]),
            Op::MapFile {
                sp,
                page,
                len,
                flags,
                file,
                off,
            } => (2, vec![sp, page, len, flags, file, off]),
            Op::Fork { sp } => (3, vec![sp]),
            Op::Write {
                sp,
                page,
                off,
                len,
                val,
                flags,
            } => (4, vec![sp, page, off, len, val, flags]),
            Op::Read {
                sp,
                page,
                off,
                len,
                flags,
            } => (5, vec![sp, page, off, len, flags]),
            Op::Unmap { sp, page, len } => (6, vec![sp, page, len]),
            Op::Protect {
                sp,
                page,
                len,
                prot,
            } => (7, vec![sp, page, len, prot]),
            Op::Move { sp, page, to, len } => (8, vec![sp, page, to, len]),
            Op::Exit { sp } => (9, vec![sp]),
            Op::NewFile => (10, vec![]),
            Op::FileWrite {
                file,
                idx,
                off,
                len,
                val,
            } => (11, vec![file, idx, off, len, val]),
            Op::Truncate { file, idx } => (12, vec![file, idx]),
            Op::Release { file } => (13, vec![file]),
        };
        out.push(tag);
        out.extend(fields);
    }
}

fn encode(ops: &[Op]) -> Vec<u8> {
    let mut out = Vec::new();
    for op in ops {
        op.encode(&mut out);
    }
    out
}

/// The script in `data`: a tag byte per operation (modulo 16; 14 and 15 are more writes and
/// forks), then its fields. Missing bytes at the end read as zero.
fn decode(data: &[u8]) -> Vec<Op> {
    let mut at = 0;
    let mut ops = Vec::new();
    while at < data.len() && ops.len() < MAX_OPS {
        let mut next = || {
            let b = data.get(at).copied().unwrap_or(0);
            at += 1;
            b
        };
        let op = match next() % 16 {
            0 => Op::Spawn,
            1 => Op::Map {
                sp: next(),
                page: next(),
                len: next(),
                flags: next(),
            },
            2 => Op::MapFile {
                sp: next(),
                page: next(),
                len: next(),
                flags: next(),
                file: next(),
                off: next(),
            },
            3 | 15 => Op::Fork { sp: next() },
            4 | 14 => Op::Write {
                sp: next(),
                page: next(),
                off: next(),
                len: next(),
                val: next(),
                flags: next(),
            },
            5 => Op::Read {
                sp: next(),
                page: next(),
                off: next(),
                len: next(),
                flags: next(),
            },
            6 => Op::Unmap {
                sp: next(),
                page: next(),
                len: next(),
            },
            7 => Op::Protect {
                sp: next(),
                page: next(),
                len: next(),
                prot: next(),
            },
            8 => Op::Move {
                sp: next(),
                page: next(),
                to: next(),
                len: next(),
            },
            9 => Op::Exit { sp: next() },
            10 => Op::NewFile,
            11 => Op::FileWrite {
                file: next(),
                idx: next(),
                off: next(),
                len: next(),
                val: next(),
            },
            12 => Op::Truncate {
                file: next(),
                idx: next(),
            },
            _ => Op::Release { file: next() },
        };
        ops.push(op);
    }
    ops
}

/// An address: a page of the window, one of the last eight pages below 2^64, or an
/// unaligned address in the window.
fn addr_of(p: u8) -> u64 {
    match p {
        0..=0xef => B + u64::from(p) % DOMAIN * PAGE,
        0xf0..=0xf7 => 0u64.wrapping_sub(u64::from(8 - (p - 0xf0)) * PAGE),
        _ => B + u64::from(p & 7) * PAGE + 0x10,
    }
}

/// A length in bytes: 0–7 pages, or (where `huge`) 2^62 bytes for 0xff.
fn len_of(b: u8, huge: bool) -> u64 {
    if huge && b == 0xff {
        1 << 62
    } else {
        u64::from(b % 8) * PAGE
    }
}

fn prot_of(b: u8) -> Prot {
    Prot::new(b & 1 != 0, b & 2 != 0, b & 4 != 0)
}

/// A file page offset: small, or near 2^64 (where `offset + pages` may overflow).
fn file_off(b: u8) -> u64 {
    if b < 0xf0 {
        u64::from(b % 16)
    } else {
        u64::MAX - u64::from(b & 0xf)
    }
}

fn aligned(x: u64) -> bool {
    x.is_multiple_of(PAGE)
}

fn page_of(addr: u64) -> u64 {
    addr & !(PAGE - 1)
}

/// An outcome code for [`Cov::hit`]: 0 for success, else the error.
fn class<T>(r: &Result<T, Fault>) -> u8 {
    match r {
        Ok(_) => 0,
        Err(Fault::MapErr) => 1,
        Err(Fault::AccErr) => 2,
        Err(Fault::NoMemory) => 3,
    }
}

/// Where a check failed: the operation's number and value.
#[derive(Clone, Copy)]
struct Ctx(usize, Option<Op>);

impl std::fmt::Display for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(at op #{} {:?})", self.0, self.1)
    }
}

/// An area as (start, end, prot, shared, object or region key, page index).
type Row<K> = (u64, u64, Prot, bool, K, u64);

/// Merges the rows that continue each other (same key and attributes, adjacent, and
/// contiguous page indices), so that area lists compare whether split or not.
fn merge<K: PartialEq + Copy>(rows: Vec<Row<K>>) -> Vec<Row<K>> {
    let mut out: Vec<Row<K>> = Vec::new();
    for r in rows {
        if let Some(l) = out.last_mut()
            && l.1 == r.0
            && l.2 == r.2
            && l.3 == r.3
            && l.4 == r.4
            && l.5.checked_add((l.1 - l.0) / PAGE) == Some(r.5)
        {
            l.1 = r.1;
        } else {
            out.push(r);
        }
    }
    out
}

fn strip<K>(r: &Row<K>) -> (u64, u64, Prot, bool, u64) {
    (r.0, r.1, r.2, r.3, r.5)
}

/// A mapping call of the reference: anonymous or over a file, shared or private.
struct Region {
    file: Option<usize>,
    shared: bool,
}

#[derive(Clone, Debug)]
struct RArea {
    start: u64,
    end: u64,
    prot: Prot,
    region: usize,
    /// Page index (in the region's object) of `start`.
    idx: u64,
}

impl RArea {
    fn index(&self, addr: u64) -> u64 {
        self.idx + (addr - self.start) / PAGE
    }
}

/// Who an area's object is, for the region ↔ object correspondence.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Key {
    /// A private region in one space (fork gives each side its own object).
    Private(usize, usize),
    SharedAnon(usize),
    /// Every shared mapping of a file names the file's object.
    SharedFile(usize),
}

struct RSpace {
    id: SpaceId,
    /// Sorted, never merged.
    areas: Vec<RArea>,
    /// Private pages by (region, page index); absent = the file's page, or zero.
    private: BTreeMap<(usize, u64), Vec<u8>>,
    /// Simulated page table: page address → (page id, writable).
    ptes: BTreeMap<u64, (u64, bool)>,
}

impl RSpace {
    fn area(&self, addr: u64) -> Option<&RArea> {
        self.areas.iter().find(|a| a.start <= addr && addr < a.end)
    }

    fn overlaps(&self, start: u64, end: u64) -> bool {
        start < end && self.areas.iter().any(|a| a.start < end && start < a.end)
    }

    /// Whether `[start, end)` (non-empty) is mapped throughout.
    fn covers(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        for a in &self.areas {
            if a.end <= at || a.start >= end {
                continue;
            }
            if a.start > at {
                return false;
            }
            at = a.end;
        }
        at >= end
    }

    /// Removes `[start, end)` from the areas; returns the pieces removed.
    fn cut(&mut self, start: u64, end: u64) -> Vec<RArea> {
        if start >= end {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut removed = Vec::new();
        for a in self.areas.drain(..) {
            if a.end <= start || end <= a.start {
                out.push(a);
                continue;
            }
            if a.start < start {
                out.push(RArea {
                    end: start,
                    ..a.clone()
                });
            }
            if end < a.end {
                out.push(RArea {
                    start: end,
                    idx: a.index(end),
                    ..a.clone()
                });
            }
            let (s, e) = (a.start.max(start), a.end.min(end));
            removed.push(RArea {
                start: s,
                end: e,
                idx: a.index(s),
                ..a
            });
        }
        out.sort_by_key(|a| a.start);
        self.areas = out;
        removed
    }
}

struct RFile {
    obj: ObjId,
    pages: BTreeMap<u64, Vec<u8>>,
    released: bool,
}

struct World {
    vm: Vm<TPage>,
    pages: TPages,
    spaces: Vec<RSpace>,
    regions: Vec<Region>,
    /// Shared anonymous pages by (region, page index).
    shared: BTreeMap<(usize, u64), Vec<u8>>,
    files: Vec<RFile>,
    /// The operation running, for messages.
    step: usize,
    op: Option<Op>,
}

fn zero_page() -> Vec<u8> {
    vec![0; PAGE as usize]
}

impl World {
    fn new() -> World {
        World {
            vm: Vm::new(),
            pages: TPages::default(),
            spaces: Vec::new(),
            regions: Vec::new(),
            shared: BTreeMap::new(),
            files: Vec::new(),
            step: 0,
            op: None,
        }
    }

    fn ctx(&self) -> Ctx {
        Ctx(self.step, self.op)
    }

    /// What space `si` sees at `addr`: `None` unmapped, `Some(None)` a page not present.
    fn view(&self, si: usize, addr: u64) -> Option<Option<&Vec<u8>>> {
        let sp = &self.spaces[si];
        let a = sp.area(addr)?;
        let r = &self.regions[a.region];
        let i = a.index(addr);
        let file = || r.file.and_then(|f| self.files[f].pages.get(&i));
        Some(if r.shared {
            match r.file {
                Some(_) => file(),
                None => self.shared.get(&(a.region, i)),
            }
        } else {
            sp.private.get(&(a.region, i)).or_else(file)
        })
    }

    /// The reference page a fault at `addr` (mapped) makes present, for writing.
    fn top_page(&mut self, si: usize, addr: u64) -> &mut Vec<u8> {
        let a = self.spaces[si].area(addr).unwrap().clone();
        let r = &self.regions[a.region];
        let i = a.index(addr);
        match (r.shared, r.file) {
            (true, Some(f)) => self.files[f].pages.entry(i).or_insert_with(zero_page),
            (true, None) => self.shared.entry((a.region, i)).or_insert_with(zero_page),
            (false, file) => {
                let below = file
                    .and_then(|f| self.files[f].pages.get(&i))
                    .cloned()
                    .unwrap_or_else(zero_page);
                self.spaces[si]
                    .private
                    .entry((a.region, i))
                    .or_insert(below)
            }
        }
    }

    fn live_files(&self) -> Vec<usize> {
        (0..self.files.len())
            .filter(|&f| !self.files[f].released)
            .collect()
    }

    /// Whether any area of any space maps file `f`.
    fn file_mapped(&self, f: usize) -> bool {
        self.spaces
            .iter()
            .flat_map(|s| &s.areas)
            .any(|a| self.regions[a.region].file == Some(f))
    }

    fn pick(&mut self, sp: u8, cov: &mut Cov) -> usize {
        if self.spaces.is_empty() {
            self.spawn(cov);
        }
        usize::from(sp) % self.spaces.len()
    }

    fn spawn(&mut self, cov: &mut Cov) {
        if self.spaces.len() >= MAX_SPACES {
            cov.hit("spawn: full");
            return;
        }
        let id = self.vm.new_space();
        assert!(
            self.spaces.iter().all(|s| s.id != id),
            "new space reuses a live id {}",
            self.ctx()
        );
        assert_eq!(self.vm.areas(id).count(), 0);
        self.spaces.push(RSpace {
            id,
            areas: Vec::new(),
            private: BTreeMap::new(),
            ptes: BTreeMap::new(),
        });
        cov.hit(("spawn", self.spaces.len()));
    }

    fn apply(&mut self, op: Op, cov: &mut Cov) {
        match op {
            Op::Spawn => self.spawn(cov),
            Op::Map {
                sp,
                page,
                len,
                flags,
            } => {
                let si = self.pick(sp, cov);
                let start = addr_of(page);
                let end = start.wrapping_add(len_of(len, false));
                if flags & 16 != 0 {
                    self.unmap(si, start, end, cov);
                }
                self.map(si, start, end, flags, None, cov);
            }
            Op::MapFile {
                sp,
                page,
                len,
                flags,
                file,
                off,
            } => {
                let si = self.pick(sp, cov);
                let start = addr_of(page);
                let end = start.wrapping_add(len_of(len, false));
                if flags & 16 != 0 {
                    self.unmap(si, start, end, cov);
                }
                self.map(si, start, end, flags, Some((file, file_off(off))), cov);
            }
            Op::Fork { sp } => {
                let si = self.pick(sp, cov);
                self.fork(si, cov);
            }
            Op::Write {
                sp,
                page,
                off,
                len,
                val,
                flags,
            } => {
                let si = self.pick(sp, cov);
                let addr = addr_of(page).wrapping_add(OFFS[usize::from(off % 8)]);
                let nomem = flags & 1 != 0;
                for i in 0..=u64::from(len % 16) {
                    let Some(a) = addr.checked_add(i) else { break };
                    let byte = val.wrapping_add((i as u8).wrapping_mul(37));
                    if !self.write(si, a, byte, nomem, cov) {
                        break;
                    }
                }
            }
            Op::Read {
                sp,
                page,
                off,
                len,
                flags,
            } => {
                let si = self.pick(sp, cov);
                let addr = addr_of(page).wrapping_add(OFFS[usize::from(off % 8)]);
                for i in 0..=u64::from(len % 16) {
                    let Some(a) = addr.checked_add(i) else { break };
                    if !self.read(si, a, flags & 1 != 0, cov) {
                        break;
                    }
                }
            }
            Op::Unmap { sp, page, len } => {
                let si = self.pick(sp, cov);
                let start = addr_of(page);
                self.unmap(si, start, start.wrapping_add(len_of(len, true)), cov);
            }
            Op::Protect {
                sp,
                page,
                len,
                prot,
            } => {
                let si = self.pick(sp, cov);
                let start = addr_of(page);
                let end = start.wrapping_add(len_of(len, true));
                self.protect(si, start, end, prot_of(prot), cov);
            }
            Op::Move { sp, page, to, len } => {
                let si = self.pick(sp, cov);
                self.move_range(si, addr_of(page), addr_of(to), len_of(len, true), cov);
            }
            Op::Exit { sp } => {
                let si = self.pick(sp, cov);
                self.exit(si, cov);
            }
            Op::NewFile => self.new_file(cov),
            Op::FileWrite {
                file,
                idx,
                off,
                len,
                val,
            } => self.file_write(file, idx, off, len, val, cov),
            Op::Truncate { file, idx } => self.truncate(file, idx, cov),
            Op::Release { file } => self.release(file, cov),
        }
    }

    /// A non-file object (for `map_file` and `file_page_mut`, which must refuse it).
    fn not_a_file(&self) -> ObjId {
        self.spaces
            .iter()
            .flat_map(|s| s.areas.iter().map(move |a| (s.id, a)))
            .find(|(_, a)| {
                let r = &self.regions[a.region];
                !(r.shared && r.file.is_some())
            })
            .and_then(|(id, a)| self.vm.area_at(id, a.start).map(|x| x.object))
            .unwrap_or(ObjId::from_index(u32::MAX))
    }

    fn map(
        &mut self,
        si: usize,
        start: u64,
        end: u64,
        flags: u8,
        file: Option<(u8, u64)>,
        cov: &mut Cov,
    ) {
        let prot = prot_of(flags);
        let shared = flags & 8 != 0;
        let fixed = flags & 16 != 0;
        let sp = &self.spaces[si];
        let mut ok = aligned(start) && aligned(end) && start < end && !sp.overlaps(start, end);
        let id = sp.id;
        let (got, rfile, idx) = match file {
            None => (
                self.vm.map_anon(id, start, end, prot, shared),
                None,
                start / PAGE,
            ),
            Some((sel, offset)) => {
                let live = self.live_files();
                let f =
                    (sel != 0xff && !live.is_empty()).then(|| live[usize::from(sel) % live.len()]);
                let obj = match f {
                    Some(f) => self.files[f].obj,
                    None => self.not_a_file(),
                };
                ok &= f.is_some() && offset.checked_add(end.wrapping_sub(start) / PAGE).is_some();
                let got = self.vm.map_file(id, start, end, prot, shared, obj, offset);
                (got, f, offset)
            }
        };
        let want = if ok { Ok(()) } else { Err(Fault::MapErr) };
        assert_eq!(
            got,
            want,
            "map [{start:#x}, {end:#x}) {prot:?} shared {shared} file {file:?} {}",
            self.ctx()
        );
        cov.hit((
            "map",
            file.is_some(),
            shared,
            fixed,
            class(&got),
            bucket(self.spaces[si].areas.len()),
        ));
        if ok {
            self.regions.push(Region {
                file: rfile,
                shared,
            });
            let sp = &mut self.spaces[si];
            sp.areas.push(RArea {
                start,
                end,
                prot,
                region: self.regions.len() - 1,
                idx,
            });
            sp.areas.sort_by_key(|a| a.start);
        }
    }

    fn fork(&mut self, si: usize, cov: &mut Cov) {
        if self.spaces.len() >= MAX_SPACES {
            cov.hit("fork: full");
            return;
        }
        let parent = self.spaces[si].id;
        let (child, wp) = self.vm.fork(parent).expect("fork of a live space");
        assert!(
            self.spaces.iter().all(|s| s.id != child),
            "fork reuses a live id {}",
            self.ctx()
        );
        cov.hit(("fork", bucket(wp.len()), self.spaces.len()));
        let p = &mut self.spaces[si];
        for &(start, end) in &wp {
            assert!(
                aligned(start) && aligned(end) && start < end,
                "bad range {}",
                self.ctx()
            );
            for a in (start..end).step_by(PAGE as usize) {
                let area = p.area(a).expect("a range to protect is mapped");
                assert!(
                    area.prot.write && !self.regions[area.region].shared,
                    "fork protects {a:#x} in {area:?}"
                );
            }
            for (_, pte) in p.ptes.range_mut(start..end) {
                pte.1 = false;
            }
        }
        let child = RSpace {
            id: child,
            areas: p.areas.clone(),
            private: p.private.clone(),
            ptes: BTreeMap::new(),
        };
        self.spaces.push(child);
    }

    /// One byte written through the simulated page table; false when the fault failed.
    fn write(&mut self, si: usize, addr: u64, byte: u8, nomem: bool, cov: &mut Cov) -> bool {
        let area = self.spaces[si].area(addr).cloned();
        let want = match &area {
            None => Err(Fault::MapErr),
            Some(a) if !a.prot.write => Err(Fault::AccErr),
            Some(_) => Ok(()),
        };
        let id = self.spaces[si].id;
        let pa = page_of(addr);
        let id_page = match self.spaces[si].ptes.get(&pa).copied() {
            Some((pid, true)) => {
                assert!(want.is_ok(), "writable PTE where writes are refused");
                cov.hit("write: through the PTE");
                pid
            }
            _ => {
                let absent = matches!(self.view(si, addr), Some(None));
                let shared = area.as_ref().is_some_and(|a| self.regions[a.region].shared);
                let kind = area.as_ref().map(|a| {
                    let r = &self.regions[a.region];
                    (r.shared, r.file.is_some())
                });
                let chain = self
                    .vm
                    .area_at(id, addr)
                    .map_or(0, |a| self.vm.chain_len(a.object));
                // In the top object already (else: copied, moved up, or zero-filled).
                let in_top = self.vm.page_mut(id, addr).is_some();
                cov.hit(("write where", kind, chain.min(4), in_top, absent, nomem));
                self.pages.fail = nomem;
                let got = self
                    .vm
                    .fault(&mut self.pages, id, addr, true)
                    .map(|r| (r.page.id, r.writable, r.copied, r.zero_filled));
                self.pages.fail = false;
                cov.hit((
                    "write fault",
                    class(&got),
                    got.as_ref().map_or((false, false), |r| (r.2, r.3)),
                    shared,
                    nomem,
                ));
                match (got, want) {
                    (Ok((pid, writable, copied, zero)), Ok(())) => {
                        assert!(writable, "a write fault must map writable {}", self.ctx());
                        assert!(
                            !(nomem && (absent || copied)),
                            "allocated with allocation failing {}",
                            self.ctx()
                        );
                        assert_eq!(
                            zero,
                            absent,
                            "zero fill at {addr:#x} (reference absent {absent}) {}",
                            self.ctx()
                        );
                        assert!(!(copied && shared), "copy in a shared area {}", self.ctx());
                        self.spaces[si].ptes.insert(pa, (pid, true));
                        pid
                    }
                    (Err(Fault::NoMemory), Ok(())) if nomem => {
                        assert!(
                            absent || !shared,
                            "NoMemory for a present shared page {}",
                            self.ctx()
                        );
                        return false;
                    }
                    (Err(g), Err(w)) => {
                        assert_eq!(g, w, "write fault at {addr:#x} {}", self.ctx());
                        return false;
                    }
                    (g, w) => panic!(
                        "write fault at {addr:#x}: got {g:?}, reference {w:?} {}",
                        self.ctx()
                    ),
                }
            }
        };
        let page = self
            .vm
            .page_mut(id, addr)
            .expect("a writable page is owned by the top object");
        assert_eq!(page.id, id_page, "the PTE maps another page");
        page.data[(addr % PAGE) as usize] = byte;
        self.top_page(si, addr)[(addr % PAGE) as usize] = byte;
        true
    }

    /// One byte read through the simulated page table; false when the fault failed.
    fn read(&mut self, si: usize, addr: u64, nomem: bool, cov: &mut Cov) -> bool {
        let view = self.view(si, addr);
        let want = match self.spaces[si].area(addr) {
            None => Err(Fault::MapErr),
            Some(a) if !a.prot.readable() => Err(Fault::AccErr),
            Some(_) => Ok(view.flatten().map_or(0, |p| p[(addr % PAGE) as usize])),
        };
        let absent = matches!(view, Some(None));
        let id = self.spaces[si].id;
        let pa = page_of(addr);
        let got = if let Some((pid, _)) = self.spaces[si].ptes.get(&pa).copied() {
            assert!(want.is_ok(), "PTE where reads are refused {}", self.ctx());
            let page = self
                .vm
                .read(id, addr)
                .expect("a PTE to a page the model lost");
            assert_eq!(page.id, pid, "stale PTE {}", self.ctx());
            cov.hit("read: through the PTE");
            Ok(page.data[(addr % PAGE) as usize])
        } else {
            self.pages.fail = nomem;
            let r = self.vm.fault(&mut self.pages, id, addr, false).map(|r| {
                (
                    r.page.id,
                    r.writable,
                    r.zero_filled,
                    r.page.data[(addr % PAGE) as usize],
                )
            });
            self.pages.fail = false;
            cov.hit((
                "read fault",
                class(&r),
                r.as_ref().map_or((false, false), |r| (r.1, r.2)),
                nomem,
            ));
            match r {
                Ok((pid, writable, zero, b)) => {
                    assert_eq!(zero, absent, "zero fill at {addr:#x} {}", self.ctx());
                    if absent {
                        let a = self.spaces[si].area(addr).cloned();
                        let file = a.as_ref().and_then(|a| {
                            let r = &self.regions[a.region];
                            (!r.shared)
                                .then_some(r.file)
                                .flatten()
                                .map(|f| (f, a.index(addr)))
                        });
                        match file {
                            // A hole of a file under a private mapping: the zero page goes
                            // into the file (write(2) to it then shows through).
                            Some((f, i)) => {
                                self.files[f].pages.entry(i).or_insert_with(zero_page);
                            }
                            // Otherwise it exists where a write would have put it.
                            None => {
                                self.top_page(si, addr);
                            }
                        }
                    }
                    self.spaces[si].ptes.insert(pa, (pid, writable));
                    Ok(b)
                }
                Err(Fault::NoMemory) if nomem && absent => return false,
                Err(e) => Err(e),
            }
        };
        assert_eq!(got, want, "read at {addr:#x} {}", self.ctx());
        got.is_ok()
    }

    fn unmap(&mut self, si: usize, start: u64, end: u64, cov: &mut Cov) {
        let ok = aligned(start) && aligned(end) && start <= end;
        let id = self.spaces[si].id;
        let got = self.vm.unmap(id, start, end);
        cov.hit((
            "unmap",
            class(&got),
            got.as_ref().map_or(0, |v| bucket(v.len())),
        ));
        let cleared = match got {
            Ok(c) if ok => c,
            Err(Fault::MapErr) if !ok => return,
            g => panic!("unmap [{start:#x}, {end:#x}): {g:?} {}", self.ctx()),
        };
        let sp = &mut self.spaces[si];
        for a in cleared {
            assert!(
                start <= a && a < end && aligned(a),
                "cleared {a:#x} outside the range {}",
                self.ctx()
            );
            sp.ptes.remove(&a);
        }
        assert!(
            sp.ptes.range(start..end).next().is_none(),
            "unmap did not report a mapped page {}",
            self.ctx()
        );
        let pieces = sp.cut(start, end);
        cov.hit(("unmap pieces", bucket(pieces.len()), bucket(sp.areas.len())));
    }

    fn protect(&mut self, si: usize, start: u64, end: u64, prot: Prot, cov: &mut Cov) {
        let sp = &self.spaces[si];
        let ok = aligned(start)
            && aligned(end)
            && start <= end
            && (start == end || sp.covers(start, end));
        let got = self.vm.protect(sp.id, start, end, prot);
        cov.hit((
            "protect",
            class(&got),
            got.as_ref().map_or(0, |v| bucket(v.len())),
        ));
        let reprot = match got {
            Ok(c) if ok => c,
            Err(Fault::MapErr) if !ok => return,
            g => panic!(
                "protect [{start:#x}, {end:#x}) {prot:?}: {g:?} {}",
                self.ctx()
            ),
        };
        let sp = &mut self.spaces[si];
        for a in reprot {
            assert!(
                start <= a && a < end && aligned(a),
                "re-protected {a:#x} outside the range {}",
                self.ctx()
            );
            sp.ptes.remove(&a);
        }
        let pieces = sp.cut(start, end);
        sp.areas
            .extend(pieces.into_iter().map(|a| RArea { prot, ..a }));
        sp.areas.sort_by_key(|a| a.start);
    }

    fn move_range(&mut self, si: usize, from: u64, to: u64, len: u64, cov: &mut Cov) {
        let sp = &self.spaces[si];
        let ends = from.checked_add(len).zip(to.checked_add(len));
        let ok = aligned(from)
            && aligned(to)
            && aligned(len)
            && len > 0
            && ends.is_some_and(|(end, to_end)| {
                // Source mapped throughout; nothing mapped in the target outside the source.
                sp.covers(from, end)
                    && !sp.overlaps(to, to_end.min(from))
                    && !sp.overlaps(to.max(end), to_end)
            });
        let got = self.vm.move_range(sp.id, from, to, len);
        let overlap = ends.is_some_and(|(end, to_end)| to < end && from < to_end);
        cov.hit((
            "move",
            class(&got),
            overlap,
            got.as_ref().map_or(0, |v| bucket(v.len())),
        ));
        let cleared = match got {
            Ok(c) if ok => c,
            Err(Fault::MapErr) if !ok => return,
            g => panic!(
                "move_range {from:#x} -> {to:#x}, {len:#x} bytes: {g:?} (reference {}) {}",
                if ok { "Ok" } else { "MapErr" },
                self.ctx()
            ),
        };
        let (end, to_end) = ends.unwrap();
        let sp = &mut self.spaces[si];
        for a in cleared {
            assert!(
                from <= a && a < end && aligned(a),
                "cleared {a:#x} outside the source {}",
                self.ctx()
            );
            sp.ptes.remove(&a);
        }
        assert!(
            sp.ptes.range(from..end).next().is_none(),
            "move_range did not report a mapped source page {}",
            self.ctx()
        );
        assert!(
            sp.ptes.range(to..to_end).next().is_none(),
            "PTE left in the target {}",
            self.ctx()
        );
        let pieces = sp.cut(from, end);
        sp.areas.extend(pieces.into_iter().map(|a| RArea {
            start: a.start - from + to,
            end: a.end - from + to,
            ..a
        }));
        sp.areas.sort_by_key(|a| a.start);
    }

    fn exit(&mut self, si: usize, cov: &mut Cov) {
        let sp = self.spaces.remove(si);
        let id = sp.id;
        self.vm.destroy(id);
        cov.hit(("exit", self.spaces.len()));
        // The id is dead until the next space is created: every call refuses it.
        let vm = &mut self.vm;
        let e = Some(Fault::MapErr);
        assert_eq!(vm.map_anon(id, B, B + PAGE, Prot::RW, false).err(), e);
        assert_eq!(vm.unmap(id, B, B + PAGE).err(), e);
        assert_eq!(vm.protect(id, B, B + PAGE, Prot::R).err(), e);
        assert_eq!(vm.move_range(id, B, B + PAGE, PAGE).err(), e);
        assert_eq!(vm.fork(id).err(), Some(Fault::MapErr));
        assert_eq!(
            vm.fault(&mut self.pages, id, B, false).err(),
            Some(Fault::MapErr)
        );
        assert_eq!(vm.areas(id).count(), 0);
        assert!(vm.area_at(id, B).is_none() && vm.read(id, B).is_none());
        assert!(vm.page_mut(id, B).is_none());
        assert_eq!(vm.resident(id), 0);
        vm.destroy(id);
    }

    /// The file `sel` names among the live ones (0xff or none live: `None`).
    fn file_sel(&self, sel: u8) -> Option<usize> {
        let live = self.live_files();
        (sel != 0xff && !live.is_empty()).then(|| live[usize::from(sel) % live.len()])
    }

    fn new_file(&mut self, cov: &mut Cov) {
        if self.files.len() >= MAX_FILES {
            cov.hit("new file: full");
            return;
        }
        let obj = self
            .vm
            .new_file(self.files.len() as u64 + 1)
            .expect("new_file");
        assert!(self.files.iter().all(|f| f.released || f.obj != obj));
        self.files.push(RFile {
            obj,
            pages: BTreeMap::new(),
            released: false,
        });
        cov.hit(("new file", self.files.len()));
    }

    fn file_write(&mut self, sel: u8, idx: u8, off: u8, len: u8, val: u8, cov: &mut Cov) {
        let Some(f) = self.file_sel(sel) else {
            let bogus = self.not_a_file();
            let r = self.vm.file_page_mut(&mut self.pages, bogus, 0).map(|_| ());
            assert_eq!(r, Err(Fault::MapErr), "file_page_mut of a non-file");
            cov.hit("file write: not a file");
            return;
        };
        let obj = self.files[f].obj;
        let at = u64::from(idx % 16) * PAGE + OFFS[usize::from(off % 8)];
        for i in 0..=u64::from(len % 16) {
            let a = at + i;
            let (pg, o) = (a / PAGE, (a % PAGE) as usize);
            let byte = val.wrapping_add((i as u8).wrapping_mul(37));
            let new = !self.files[f].pages.contains_key(&pg);
            let p = self
                .vm
                .file_page_mut(&mut self.pages, obj, pg)
                .expect("file_page_mut of a live file");
            if new {
                assert!(
                    p.data.iter().all(|b| *b == 0),
                    "a new file page is not zero"
                );
            }
            p.data[o] = byte;
            self.files[f].pages.entry(pg).or_insert_with(zero_page)[o] = byte;
            cov.hit(("file write", new, self.file_mapped(f)));
        }
    }

    fn truncate(&mut self, sel: u8, idx: u8, cov: &mut Cov) {
        let Some(f) = self.file_sel(sel) else {
            cov.hit("truncate: no file");
            return;
        };
        let from = u64::from(idx % 20);
        let obj = self.files[f].obj;
        let mapped = self.file_mapped(f);
        let n = self.vm.file_truncate(obj, from);
        let rf = &mut self.files[f];
        if mapped {
            assert_eq!(n, 0, "truncated a mapped file {}", self.ctx());
            // What the kernel does instead: zero the pages past the end.
            for p in self.vm.file_pages_from(obj, from) {
                p.data.fill(0);
            }
            for (_, p) in rf.pages.range_mut(from..) {
                p.fill(0);
            }
        } else {
            let gone = rf.pages.split_off(&from);
            assert_eq!(n, gone.len(), "pages freed by truncate {}", self.ctx());
        }
        cov.hit(("truncate", mapped, bucket(n)));
    }

    fn release(&mut self, sel: u8, cov: &mut Cov) {
        let Some(f) = self.file_sel(sel) else {
            cov.hit("release: no file");
            return;
        };
        let obj = self.files[f].obj;
        let mapped = self.file_mapped(f);
        self.vm.release_file(obj);
        self.files[f].released = true;
        assert_eq!(
            self.vm.object(obj).is_some(),
            mapped,
            "a released file lives on exactly while mapped {}",
            self.ctx()
        );
        // Releasing again (before the id can be reused) changes nothing.
        self.vm.release_file(obj);
        assert_eq!(self.vm.object(obj).is_some(), mapped);
        cov.hit(("release", mapped));
    }

    /// Everything the reference can say about the model.
    fn verify(&mut self, cov: &mut Cov) {
        let ctx = self.ctx();
        let vm = &self.vm;
        if let Err(e) = vm.check() {
            panic!("check: {e} {ctx}");
        }
        let live = self.spaces.len();
        assert_eq!(vm.live_spaces(), live, "live spaces {ctx}");
        assert!(vm.max_chain_len() <= live + 1, "chain bound {ctx}");
        assert_eq!(
            self.pages.alive() as usize,
            vm.total_pages(),
            "pages outside the model {ctx}"
        );
        // Areas, merged where they continue each other, and who names what.
        let mut key_obj: HashMap<Key, ObjId> = HashMap::new();
        let mut obj_key: HashMap<ObjId, Key> = HashMap::new();
        for (si, sp) in self.spaces.iter().enumerate() {
            let key = |a: &RArea| {
                let r = &self.regions[a.region];
                match (r.shared, r.file) {
                    (false, _) => Key::Private(si, a.region),
                    (true, None) => Key::SharedAnon(a.region),
                    (true, Some(f)) => Key::SharedFile(f),
                }
            };
            let want = merge(
                sp.areas
                    .iter()
                    .map(|a| {
                        let sh = self.regions[a.region].shared;
                        (a.start, a.end, a.prot, sh, key(a), a.idx)
                    })
                    .collect(),
            );
            let got = merge(
                vm.areas(sp.id)
                    .map(|a| (a.start, a.end, a.prot, a.shared, a.object, a.offset))
                    .collect(),
            );
            assert_eq!(
                got.iter().map(strip).collect::<Vec<_>>(),
                want.iter().map(strip).collect::<Vec<_>>(),
                "areas of space {si} (start, end, prot, shared, index) {ctx}"
            );
            for (g, w) in got.iter().zip(&want) {
                let (o, k) = (g.4, w.4);
                assert_eq!(
                    *key_obj.entry(k).or_insert(o),
                    o,
                    "{k:?} in two objects {ctx}"
                );
                assert_eq!(
                    *obj_key.entry(o).or_insert(k),
                    k,
                    "{o:?} for two regions {ctx}"
                );
                if let Key::SharedFile(f) = k {
                    assert_eq!(o, self.files[f].obj, "shared file area {ctx}");
                }
            }
            for a in &sp.areas {
                let file = self.regions[a.region].file;
                let at = vm.file_at(sp.id, a.start);
                assert_eq!(
                    at,
                    file.map(|f| (self.files[f].obj, a.idx)),
                    "file_at {:#x} {ctx}",
                    a.start
                );
                if a.start > 0 && sp.area(a.start - 1).is_none() {
                    assert!(vm.area_at(sp.id, a.start - 1).is_none());
                }
            }
        }
        // Contents, resident counts, and who sees which page.
        let mut views: HashMap<u64, Vec<(Option<usize>, u64, bool)>> = HashMap::new();
        for (si, sp) in self.spaces.iter().enumerate() {
            let mut resident = 0;
            for a in &sp.areas {
                let shared_anon = {
                    let r = &self.regions[a.region];
                    r.shared && r.file.is_none()
                };
                for pa in (a.start..a.end).step_by(PAGE as usize) {
                    let want = self.view(si, pa).expect("inside an area");
                    let got = vm.read(sp.id, pa);
                    match (got, want) {
                        (None, None) => {}
                        (Some(g), Some(w)) => {
                            if g.data != *w {
                                let i = g.data.iter().zip(w).position(|(x, y)| x != y);
                                panic!("space {si} page {pa:#x} differs at byte {i:?} {ctx}");
                            }
                            resident += 1;
                            views
                                .entry(g.id)
                                .or_default()
                                .push((Some(si), pa, shared_anon));
                        }
                        (g, w) => panic!(
                            "space {si} page {pa:#x}: model present {}, reference {} {ctx}",
                            g.is_some(),
                            w.is_some()
                        ),
                    }
                }
            }
            assert_eq!(vm.resident(sp.id), resident, "resident of space {si} {ctx}");
        }
        for (f, rf) in self.files.iter().enumerate() {
            if rf.released {
                continue;
            }
            assert_eq!(
                vm.file_pages(rf.obj),
                rf.pages.len(),
                "pages of file {f} {ctx}"
            );
            for (&i, p) in &rf.pages {
                let g = vm.file_page(rf.obj, i).expect("a file page went missing");
                assert!(g.data == *p, "file {f} page {i} {ctx}");
                views.entry(g.id).or_default().push((None, i, false));
            }
            let mapped = self.file_mapped(f);
            assert_eq!(vm.file_mapped(rf.obj), mapped, "file_mapped {f} {ctx}");
            // Users: each area naming the object, plus one shadow per private mapping.
            let mut areas = 0;
            let mut private = std::collections::BTreeSet::new();
            for sp in &self.spaces {
                areas += vm.areas(sp.id).filter(|a| a.object == rf.obj).count() as u32;
                for a in &sp.areas {
                    let r = &self.regions[a.region];
                    if r.file == Some(f) && !r.shared {
                        private.insert(a.region);
                    }
                }
            }
            assert_eq!(
                vm.file_users(rf.obj),
                areas + private.len() as u32,
                "file_users {f} {ctx}"
            );
        }
        // The simulated page tables.
        for (si, sp) in self.spaces.iter().enumerate() {
            for (&pa, &(pid, w)) in &sp.ptes {
                let a = sp
                    .area(pa)
                    .unwrap_or_else(|| panic!("PTE {pa:#x} outside areas {ctx}"));
                assert!(a.prot.readable(), "PTE in a no-access area {ctx}");
                let id = vm.read(sp.id, pa).map(|p| p.id);
                assert_eq!(id, Some(pid), "stale PTE at {pa:#x} of space {si} {ctx}");
                let r = &self.regions[a.region];
                let v = &views[&pid];
                if w {
                    assert!(a.prot.write, "writable PTE in a read-only area {ctx}");
                    if !r.shared {
                        assert_eq!(
                            v,
                            &vec![(Some(si), pa, false)],
                            "writable private page {pa:#x} of space {si} visible elsewhere {ctx}"
                        );
                    }
                }
                if r.shared && r.file.is_none() {
                    assert!(
                        v.iter().all(|x| x.2),
                        "shared page also seen through a private area {ctx}"
                    );
                }
            }
        }
        for sp in &mut self.spaces {
            for (&pa, &(pid, w)) in &sp.ptes {
                if w {
                    assert_eq!(
                        self.vm.page_mut(sp.id, pa).map(|p| p.id),
                        Some(pid),
                        "writable PTE not top-owned {ctx}"
                    );
                }
            }
        }
        cov.hit((
            "shape",
            self.spaces.len(),
            self.vm.max_chain_len(),
            bucket(self.vm.live_objects()),
        ));
    }

    /// Every space exits and every file goes: nothing may be left.
    fn teardown(&mut self, cov: &mut Cov) {
        while !self.spaces.is_empty() {
            let sp = self.spaces.remove(0);
            self.vm.destroy(sp.id);
            self.verify(cov);
        }
        for f in 0..self.files.len() {
            if !self.files[f].released {
                self.vm.release_file(self.files[f].obj);
                self.files[f].released = true;
            }
        }
        self.vm.check().unwrap();
        assert_eq!(self.vm.live_objects(), 0, "objects left");
        assert_eq!(self.vm.total_pages(), 0, "pages left");
        assert_eq!(self.pages.alive(), 0, "pages leaked");
    }
}

fn run(data: &[u8], cov: &mut Cov) {
    let ops = decode(data);
    if std::env::var_os("TINE_FUZZ_INPUT").is_some() {
        for (i, op) in ops.iter().enumerate() {
            eprintln!("#{i} {op:?}");
        }
    }
    let mut w = World::new();
    w.spawn(cov);
    w.verify(cov);
    let mut prev = None;
    for (i, op) in ops.iter().enumerate() {
        w.step = i;
        w.op = Some(*op);
        let objects = w.vm.live_objects();
        w.apply(*op, cov);
        w.verify(cov);
        let kind = std::mem::discriminant(op);
        let delta = w.vm.live_objects().cmp(&objects);
        cov.hit(("op", kind, delta, bucket(w.spaces.len())));
        cov.hit(("pair", prev, kind));
        prev = Some(kind);
    }
    cov.hit(("ops", bucket(ops.len())));
    w.op = None;
    w.teardown(cov);
}

#[test]
fn fuzz_vm() {
    fuzz::target("vm", env!("CARGO_MANIFEST_DIR"))
        .max_len(768)
        .iterations(20_000)
        .run(run);
}

/// Hand-built scripts: each operation, its errors, and the interplay the checks care about.
fn hand_scripts() -> Vec<(&'static str, Vec<Op>)> {
    // Protections: read 1, write 2, exec 4; `SHARED` and `FIXED` add to them.
    const R: u8 = 1;
    const RW: u8 = 3;
    const X: u8 = 4;
    const SHARED: u8 = 8;
    const FIXED: u8 = 16;
    /// The page of the window at index `n`, or the `k`-th page below 2^64.
    const fn top(k: u8) -> u8 {
        0xf0 + 8 - k
    }
    const UNALIGNED: u8 = 0xf8;
    const HUGE: u8 = 0xff;
    fn map(sp: u8, page: u8, len: u8, flags: u8) -> Op {
        Op::Map {
            sp,
            page,
            len,
            flags,
        }
    }
    fn map_file(sp: u8, page: u8, len: u8, flags: u8, file: u8, off: u8) -> Op {
        Op::MapFile {
            sp,
            page,
            len,
            flags,
            file,
            off,
        }
    }
    fn w(sp: u8, page: u8, off: u8, len: u8, val: u8) -> Op {
        Op::Write {
            sp,
            page,
            off,
            len,
            val,
            flags: 0,
        }
    }
    fn w_nomem(sp: u8, page: u8, val: u8) -> Op {
        Op::Write {
            sp,
            page,
            off: 0,
            len: 0,
            val,
            flags: 1,
        }
    }
    fn r(sp: u8, page: u8, off: u8, len: u8) -> Op {
        Op::Read {
            sp,
            page,
            off,
            len,
            flags: 0,
        }
    }
    fn r_nomem(sp: u8, page: u8) -> Op {
        Op::Read {
            sp,
            page,
            off: 0,
            len: 0,
            flags: 1,
        }
    }
    fn fork(sp: u8) -> Op {
        Op::Fork { sp }
    }
    fn exit(sp: u8) -> Op {
        Op::Exit { sp }
    }
    fn unmap(sp: u8, page: u8, len: u8) -> Op {
        Op::Unmap { sp, page, len }
    }
    fn protect(sp: u8, page: u8, len: u8, prot: u8) -> Op {
        Op::Protect {
            sp,
            page,
            len,
            prot,
        }
    }
    fn mv(sp: u8, page: u8, to: u8, len: u8) -> Op {
        Op::Move { sp, page, to, len }
    }
    fn fw(file: u8, idx: u8, off: u8, len: u8, val: u8) -> Op {
        Op::FileWrite {
            file,
            idx,
            off,
            len,
            val,
        }
    }
    let trunc = |file, idx| Op::Truncate { file, idx };
    let release = |file| Op::Release { file };
    use Op::{NewFile, Spawn};
    vec![
        (
            "map-write-read",
            vec![
                map(0, 0, 4, RW),
                map(0, 4, 2, RW | SHARED),
                map(0, 6, 2, R),
                map(0, 8, 1, X),
                map(0, 9, 1, 0),
                w(0, 0, 0, 15, 1),
                w(0, 1, 7, 3, 2),
                w(0, 4, 4, 15, 3),
                r(0, 0, 0, 15),
                r(0, 4, 0, 3),
                r(0, 6, 2, 1),
                r(0, 8, 0, 0),
                w(0, 6, 0, 0, 4),
                r(0, 9, 0, 0),
                r(0, 10, 0, 0),
                w(0, 10, 0, 0, 5),
            ],
        ),
        (
            "map-overlap-fixed",
            vec![
                map(0, 0, 4, RW),
                w(0, 2, 0, 0, 9),
                map(0, 2, 4, RW),
                map(0, 2, 4, RW | SHARED | FIXED),
                r(0, 2, 0, 0),
                map(0, UNALIGNED, 1, RW),
                map(0, 12, 0, RW),
                map(0, 12, 1, RW | FIXED),
                map(0, 3, 7, R | FIXED),
                r(0, 1, 0, 0),
            ],
        ),
        (
            "top-pages",
            vec![
                map(0, top(3), 2, RW),
                map(0, top(1), 1, RW),
                w(0, top(2), 6, 15, 7),
                r(0, top(3), 0, 0),
                mv(0, top(3), 5, 2),
                map(0, top(3), 2, RW),
                mv(0, 5, top(2), 2),
                unmap(0, top(4), HUGE),
                protect(0, top(3), 3, R),
            ],
        ),
        (
            "fork-cow",
            vec![
                map(0, 0, 4, RW),
                w(0, 0, 0, 0, 1),
                w(0, 1, 0, 0, 2),
                fork(0),
                r(1, 0, 0, 0),
                w(1, 0, 0, 0, 3),
                w(0, 1, 0, 0, 4),
                w(0, 3, 0, 0, 5),
                r(1, 3, 0, 0),
                fork(1),
                r(2, 0, 0, 0),
                exit(1),
                w(1, 0, 1, 0, 6),
                w(0, 0, 1, 0, 7),
            ],
        ),
        (
            "fork-shared",
            vec![
                map(0, 0, 2, RW | SHARED),
                map(0, 2, 2, R | SHARED),
                w(0, 0, 0, 0, 1),
                fork(0),
                w(1, 0, 0, 0, 2),
                w(1, 1, 0, 0, 3),
                r(0, 0, 0, 0),
                r(0, 1, 0, 0),
                r(1, 2, 0, 0),
                exit(0),
                r(0, 1, 0, 0),
            ],
        ),
        (
            "unmap-split",
            vec![
                map(0, 0, 7, RW),
                map(0, 7, 1, RW | SHARED),
                w(0, 0, 0, 0, 1),
                w(0, 2, 0, 0, 2),
                w(0, 3, 0, 0, 3),
                w(0, 5, 0, 0, 4),
                w(0, 7, 0, 0, 5),
                fork(0),
                unmap(0, 2, 2),
                unmap(0, 0, 1),
                unmap(1, 5, 3),
                unmap(0, UNALIGNED, 1),
                unmap(0, 10, 0),
                r(0, 5, 0, 0),
                r(1, 3, 0, 0),
                unmap(0, 0, HUGE),
                map(0, 2, 2, RW),
                r(0, 2, 0, 0),
            ],
        ),
        (
            "protect",
            vec![
                map(0, 0, 6, RW),
                w(0, 1, 0, 0, 1),
                w(0, 3, 0, 0, 3),
                protect(0, 2, 2, R),
                w(0, 3, 0, 0, 7),
                r(0, 3, 0, 0),
                protect(0, 2, 2, RW),
                w(0, 3, 0, 0, 8),
                map(0, 8, 2, RW),
                protect(0, 5, 4, R),
                protect(0, 4, 2, 0),
                r(0, 4, 0, 0),
                protect(0, 4, 1, 2),
                r(0, 4, 0, 0),
                w(0, 4, 0, 0, 9),
                protect(0, 1, 1, X),
                w(0, 1, 0, 0, 1),
                protect(0, 20, 0, R),
                protect(0, 0, HUGE, R),
                fork(0),
                protect(1, 0, 6, RW),
            ],
        ),
        (
            "move",
            vec![
                map(0, 0, 4, RW),
                w(0, 0, 0, 0, 1),
                w(0, 1, 0, 0, 2),
                w(0, 3, 0, 0, 4),
                fork(0),
                mv(0, 1, 10, 2),
                r(0, 10, 0, 0),
                r(1, 1, 0, 0),
                mv(0, 10, 11, 2),
                r(0, 12, 0, 0),
                w(0, 12, 0, 0, 5),
                mv(1, 0, 2, 2),
                mv(1, 1, 2, 1),
                mv(1, 0, 6, 0),
                mv(1, 4, 8, 1),
                mv(1, UNALIGNED, 8, 1),
                mv(1, 0, 8, HUGE),
                mv(1, 0, top(1), 2),
                mv(1, 0, 1, 4),
                r(1, 1, 0, 0),
            ],
        ),
        (
            "move-onto-own-tail",
            vec![map(0, 0, 4, RW), mv(0, 0, 2, 2), mv(0, 0, 1, 1)],
        ),
        (
            "exit-chains",
            vec![
                map(0, 0, 3, RW),
                w(0, 0, 0, 0, 1),
                fork(0),
                w(1, 1, 0, 0, 2),
                fork(1),
                w(2, 2, 0, 0, 3),
                fork(2),
                w(3, 0, 0, 0, 4),
                exit(1),
                exit(1),
                r(1, 1, 0, 0),
                w(0, 0, 0, 0, 5),
                exit(0),
                w(0, 1, 0, 0, 6),
            ],
        ),
        (
            "no-memory",
            vec![
                map(0, 0, 4, RW),
                map(0, 4, 1, RW | SHARED),
                w(0, 0, 0, 0, 1),
                w(0, 4, 0, 0, 1),
                fork(0),
                w_nomem(1, 0, 2),
                w_nomem(1, 1, 2),
                r_nomem(1, 2),
                r_nomem(1, 0),
                w_nomem(1, 4, 2),
                exit(0),
                w_nomem(0, 0, 3),
                w(0, 0, 0, 0, 4),
            ],
        ),
        (
            "file-shared",
            vec![
                NewFile,
                fw(0, 0, 0, 15, 1),
                fw(0, 2, 6, 15, 2),
                map_file(0, 0, 4, RW | SHARED, 0, 0),
                r(0, 0, 0, 0),
                r(0, 1, 0, 0),
                w(0, 2, 0, 0, 3),
                w(0, 3, 0, 0, 4),
                fw(0, 0, 1, 0, 5),
                r(0, 0, 1, 0),
                fork(0),
                w(1, 1, 0, 0, 6),
                trunc(0, 2),
                r(0, 2, 0, 0),
                unmap(0, 0, 4),
                exit(1),
                trunc(0, 1),
                map_file(0, 0, 2, R | SHARED, 0, 1),
                release(0),
                r(0, 0, 0, 0),
            ],
        ),
        (
            "file-private",
            vec![
                NewFile,
                fw(0, 1, 0, 0, 1),
                map_file(0, 0, 4, RW, 0, 0),
                r(0, 1, 0, 0),
                r(0, 2, 0, 0),
                fw(0, 2, 0, 0, 2),
                fw(0, 3, 0, 0, 3),
                r(0, 2, 0, 0),
                r(0, 3, 0, 0),
                w(0, 1, 0, 0, 4),
                fork(0),
                w(1, 3, 0, 0, 5),
                release(0),
                w(0, 3, 0, 0, 6),
                exit(1),
                w(0, 0, 0, 0, 7),
            ],
        ),
        (
            "file-mapped-twice-released",
            vec![
                NewFile,
                fw(0, 0, 0, 0, 1),
                fw(0, 1, 0, 0, 2),
                map_file(0, 0, 2, RW | SHARED, 0, 0),
                map_file(0, 8, 2, RW | SHARED, 0, 0),
                r(0, 0, 0, 0),
                r(0, 8, 0, 0),
                release(0),
                unmap(0, 0, 2),
                r(0, 8, 0, 0),
                r(0, 9, 0, 0),
            ],
        ),
        (
            "file-contiguous",
            vec![
                NewFile,
                fw(0, 3, 0, 0, 1),
                map_file(0, 0, 2, RW | SHARED, 0, 0),
                map_file(0, 2, 2, RW | SHARED, 0, 2),
                map_file(0, 4, 2, RW | SHARED, 0, 0),
                protect(0, 0, 6, R),
                r(0, 3, 0, 0),
                map_file(0, 6, 2, RW, 0, 8),
                map_file(0, 8, 2, RW, 0, 10),
                protect(0, 6, 4, R),
            ],
        ),
        (
            "file-errors",
            vec![
                map_file(0, 0, 1, RW | SHARED, 0, 0),
                fw(0, 0, 0, 0, 1),
                trunc(0, 0),
                release(0),
                map(0, 0, 1, RW),
                NewFile,
                map_file(0, 2, 1, RW | SHARED, 0xff, 0),
                fw(0xff, 0, 0, 0, 1),
                map_file(0, 2, 2, RW | SHARED, 0, 0xf0),
                map_file(0, 2, 2, RW, 0, 0xf1),
                map_file(0, 4, 1, RW, 0, 0xf0),
                w(0, 4, 0, 0, 1),
                map_file(0, 0, 1, RW, 0, 0),
                map_file(0, 0, 1, RW | FIXED, 0, 0),
                NewFile,
                NewFile,
                NewFile,
                NewFile,
            ],
        ),
        (
            "spaces",
            vec![
                Spawn,
                Spawn,
                Spawn,
                Spawn,
                Spawn,
                Spawn,
                fork(0),
                map(5, 0, 1, RW),
                exit(0),
                fork(4),
                exit(5),
                exit(0),
                exit(0),
                exit(0),
                exit(0),
                exit(0),
                map(0, 0, 1, RW),
            ],
        ),
    ]
}

/// Writes the hand-built scripts to `fuzz/corpus/vm/hand-<name>.bin` (after running each).
#[test]
#[ignore = "writes the corpus; run with --ignored after changing hand_scripts()"]
fn write_hand_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/vm");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, ops) in hand_scripts() {
        let data = encode(&ops);
        assert_eq!(decode(&data), ops, "{name} does not decode to itself");
        run(&data, &mut Cov::default());
        std::fs::write(dir.join(format!("hand-{name}.bin")), data).unwrap();
    }
}
