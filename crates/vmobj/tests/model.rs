//! Property test: random fork/write/read/exit/exec/munmap/mprotect/mmap sequences over a
//! tree of up to six processes, checked after every step against a naive oracle that
//! copies all memory at fork. A simulated page table per process (installed from fault
//! results, downgraded/cleared from the lists fork/unmap/protect return) checks that the
//! kernel-facing outputs are sufficient: no stale PTE, no writable PTE to a page anyone
//! else can see.

mod common;

use common::{TPage, TPages};
use proptest::prelude::*;
use std::collections::BTreeMap;
use vmobj::{Fault, PAGE, Prot, SpaceId, Vm};

const B: u64 = 0x40_0000;
/// Pages where operations start; ranges may extend a few pages beyond.
const NPAGES: u64 = 16;
/// Pages examined by the checks.
const DOMAIN: u64 = NPAGES + 5;
const OFFS: [u64; 4] = [0, 7, 2048, 4095];
const PROTS: [Prot; 4] = [Prot::NONE, Prot::R, Prot::RW, Prot::RX];
const MAX_LIVE: usize = 6;

#[derive(Clone, Debug)]
enum Op {
    Fork(usize),
    Write(usize, u64, usize, u8),
    Read(usize, u64, usize),
    Exit(usize),
    Exec(usize),
    Munmap(usize, u64, u64),
    Mprotect(usize, u64, u64, usize),
    Mmap(usize, u64, u64, usize, bool),
}

#[derive(Clone, Debug)]
struct OArea {
    start: u64,
    end: u64,
    prot: Prot,
    shared: bool,
    region: u64,
    /// Byte offset in `region` of `start`.
    roff: u64,
}

struct Proc {
    space: SpaceId,
    /// Oracle areas, sorted, never merged.
    areas: Vec<OArea>,
    /// Oracle private memory: (region, byte offset) -> byte; copied wholesale at fork.
    private: BTreeMap<(u64, u64), u8>,
    /// Simulated page table: page address -> (page id, writable).
    ptes: BTreeMap<u64, (u64, bool)>,
}

struct World {
    vm: Vm<TPage>,
    pages: TPages,
    procs: Vec<Proc>,
    /// Oracle shared memory, keyed like `Proc::private`.
    shared: BTreeMap<(u64, u64), u8>,
    next_region: u64,
}

fn page_of(addr: u64) -> u64 {
    addr & !(PAGE - 1)
}

impl Proc {
    fn area(&self, addr: u64) -> Option<&OArea> {
        self.areas.iter().find(|a| a.start <= addr && addr < a.end)
    }

    fn key(a: &OArea, addr: u64) -> (u64, u64) {
        (a.region, a.roff + (addr - a.start))
    }

    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.areas.iter().any(|a| a.start < end && start < a.end)
    }

    fn cut(&mut self, start: u64, end: u64) {
        let mut out = Vec::new();
        for a in self.areas.drain(..) {
            if a.end <= start || end <= a.start {
                out.push(a);
                continue;
            }
            if a.start < start {
                out.push(OArea {
                    end: start,
                    ..a.clone()
                });
            }
            if end < a.end {
                out.push(OArea {
                    start: end,
                    roff: a.roff + (end - a.start),
                    ..a.clone()
                });
            }
        }
        out.sort_by_key(|a| a.start);
        self.areas = out;
    }
}

impl World {
    fn new() -> Self {
        World {
            vm: Vm::new(),
            pages: TPages::default(),
            procs: Vec::new(),
            shared: BTreeMap::new(),
            next_region: 0,
        }
    }

    fn byte(&self, p: &Proc, addr: u64) -> u8 {
        let Some(a) = p.area(addr) else { return 0 };
        let k = Proc::key(a, addr);
        let m = if a.shared { &self.shared } else { &p.private };
        m.get(&k).copied().unwrap_or(0)
    }

    fn oracle_map(
        &mut self,
        pi: usize,
        start: u64,
        end: u64,
        prot: Prot,
        shared: bool,
    ) -> Result<(), Fault> {
        let p = &mut self.procs[pi];
        if p.overlaps(start, end) {
            return Err(Fault::MapErr);
        }
        self.next_region += 1;
        p.areas.push(OArea {
            start,
            end,
            prot,
            shared,
            region: self.next_region,
            roff: 0,
        });
        p.areas.sort_by_key(|a| a.start);
        Ok(())
    }

    fn map_both(&mut self, pi: usize, start: u64, end: u64, prot: Prot, shared: bool) {
        let got = self
            .vm
            .map_anon(self.procs[pi].space, start, end, prot, shared);
        let want = self.oracle_map(pi, start, end, prot, shared);
        assert_eq!(got, want, "mmap result");
    }

    fn fresh(&mut self, pi: usize) {
        let pg = |n: u64| B + n * PAGE;
        self.map_both(pi, pg(0), pg(4), Prot::RW, false);
        self.map_both(pi, pg(4), pg(6), Prot::RW, true);
        self.map_both(pi, pg(6), pg(8), Prot::R, false);
        self.map_both(pi, pg(10), pg(14), Prot::RW, false);
    }

    fn spawn(&mut self) {
        let space = self.vm.new_space();
        self.procs.push(Proc {
            space,
            areas: Vec::new(),
            private: BTreeMap::new(),
            ptes: BTreeMap::new(),
        });
        let pi = self.procs.len() - 1;
        self.fresh(pi);
    }

    fn write(&mut self, pi: usize, addr: u64, byte: u8) {
        let want = match self.procs[pi].area(addr) {
            None => Err(Fault::MapErr),
            Some(a) if !a.prot.write => Err(Fault::AccErr),
            Some(_) => Ok(()),
        };
        let space = self.procs[pi].space;
        let pte = self.procs[pi].ptes.get(&page_of(addr)).copied();
        let id = match pte {
            Some((id, true)) => {
                assert!(
                    want.is_ok(),
                    "writable PTE left where the oracle forbids writes"
                );
                id
            }
            _ => {
                let got = self
                    .vm
                    .fault(&mut self.pages, space, addr, true)
                    .map(|r| (r.page.id, r.writable));
                match (got, want) {
                    (Ok((id, writable)), Ok(())) => {
                        assert!(writable, "write fault must grant a writable mapping");
                        self.procs[pi].ptes.insert(page_of(addr), (id, true));
                        id
                    }
                    (Err(g), Err(w)) => {
                        assert_eq!(g, w, "write fault error");
                        return;
                    }
                    (g, w) => panic!("write fault: got {g:?}, oracle {w:?}"),
                }
            }
        };
        let page = self
            .vm
            .page_mut(space, addr)
            .expect("writable page must be owned by the top object");
        assert_eq!(page.id, id, "hardware writes to the page the PTE maps");
        page.data[(addr % PAGE) as usize] = byte;
        let p = &mut self.procs[pi];
        let a = p.area(addr).unwrap().clone();
        let k = Proc::key(&a, addr);
        if a.shared {
            self.shared.insert(k, byte)
        } else {
            p.private.insert(k, byte)
        };
    }

    fn read(&mut self, pi: usize, addr: u64) {
        let p = &self.procs[pi];
        let want = match p.area(addr) {
            None => Err(Fault::MapErr),
            Some(a) if !a.prot.readable() => Err(Fault::AccErr),
            Some(_) => Ok(self.byte(p, addr)),
        };
        let space = p.space;
        let got = if let Some((id, _)) = p.ptes.get(&page_of(addr)).copied() {
            assert!(want.is_ok(), "PTE left where the oracle forbids reads");
            let page = self
                .vm
                .read(space, addr)
                .expect("PTE to a page the model lost");
            assert_eq!(page.id, id, "stale PTE");
            Ok(page.data[(addr % PAGE) as usize])
        } else {
            let r = self.vm.fault(&mut self.pages, space, addr, false);
            let r = r.map(|r| (r.page.id, r.writable, r.page.data[(addr % PAGE) as usize]));
            if let Ok((id, writable, _)) = r {
                self.procs[pi].ptes.insert(page_of(addr), (id, writable));
            }
            r.map(|(_, _, b)| b)
        };
        assert_eq!(got, want, "read at {addr:#x}");
    }

    fn fork(&mut self, pi: usize) {
        if self.procs.len() >= MAX_LIVE {
            return;
        }
        let parent = &self.procs[pi];
        let (child, wp) = self.vm.fork(parent.space).expect("fork");
        let child = Proc {
            space: child,
            areas: parent.areas.clone(),
            private: parent.private.clone(),
            ptes: BTreeMap::new(),
        };
        let parent = &mut self.procs[pi];
        for (start, end) in wp {
            assert!(start % PAGE == 0 && end % PAGE == 0 && start < end);
            for a in (start..end).step_by(PAGE as usize) {
                let area = parent.area(a).expect("a protected range is mapped");
                assert!(
                    area.prot.write && !area.shared,
                    "protected {a:#x}: {area:?}"
                );
            }
            for (_, pte) in parent.ptes.range_mut(start..end) {
                pte.1 = false;
            }
        }
        self.procs.push(child);
    }

    fn exit(&mut self, pi: usize) {
        let p = self.procs.remove(pi);
        self.vm.destroy(p.space);
    }

    fn exec(&mut self, pi: usize) {
        let old = self.procs[pi].space;
        self.vm.destroy(old);
        let space = self.vm.new_space();
        self.procs[pi] = Proc {
            space,
            areas: Vec::new(),
            private: BTreeMap::new(),
            ptes: BTreeMap::new(),
        };
        self.fresh(pi);
    }

    fn munmap(&mut self, pi: usize, start: u64, end: u64) {
        let p = &mut self.procs[pi];
        let cleared = self
            .vm
            .unmap(p.space, start, end)
            .expect("munmap of a valid range");
        for a in cleared {
            assert!(
                start <= a && a < end && a % PAGE == 0,
                "cleared address outside the range"
            );
            p.ptes.remove(&a);
        }
        assert!(
            p.ptes.range(start..end).next().is_none(),
            "unmap did not report a mapped page"
        );
        p.cut(start, end);
    }

    fn mprotect(&mut self, pi: usize, start: u64, end: u64, prot: Prot) {
        let p = &mut self.procs[pi];
        let mut cursor = start;
        for a in p.areas.iter().filter(|a| a.start < end && start < a.end) {
            if a.start > cursor {
                break;
            }
            cursor = a.end;
        }
        let want = if cursor >= end {
            Ok(())
        } else {
            Err(Fault::MapErr)
        };
        let got = self.vm.protect(p.space, start, end, prot);
        assert_eq!(
            got.as_ref().map(|_| ()).map_err(|e| *e),
            want,
            "mprotect result"
        );
        let Ok(reprot) = got else { return };
        for a in reprot {
            assert!(start <= a && a < end && a % PAGE == 0);
            p.ptes.remove(&a);
        }
        let pieces: Vec<OArea> = p
            .areas
            .iter()
            .filter(|a| a.start < end && start < a.end)
            .map(|a| {
                let (s, e) = (a.start.max(start), a.end.min(end));
                OArea {
                    start: s,
                    end: e,
                    prot,
                    roff: a.roff + (s - a.start),
                    ..a.clone()
                }
            })
            .collect();
        p.cut(start, end);
        p.areas.extend(pieces);
        p.areas.sort_by_key(|a| a.start);
    }

    fn verify(&mut self) {
        let vm = &self.vm;
        vm.check().unwrap();
        let live = self.procs.len();
        assert_eq!(vm.live_spaces(), live);
        assert!(vm.max_chain_len() <= live + 1, "chain bound");
        assert!(vm.max_chain_len() <= live, "stronger chain bound");
        assert_eq!(
            self.pages.alive() as usize,
            vm.total_pages(),
            "pages outside the VM"
        );
        // page id -> (process, shared) views
        let mut views: BTreeMap<u64, Vec<(usize, bool)>> = BTreeMap::new();
        for (pi, p) in self.procs.iter().enumerate() {
            let mut resident = 0;
            for n in 0..DOMAIN {
                let pa = B + n * PAGE;
                let (va, oa) = (vm.area_at(p.space, pa), p.area(pa));
                assert_eq!(
                    va.map(|a| (a.prot, a.shared)),
                    oa.map(|a| (a.prot, a.shared)),
                    "area at {pa:#x}"
                );
                let page = vm.read(p.space, pa);
                for off in OFFS {
                    let got = page.map_or(0, |pg| pg.data[off as usize]);
                    assert_eq!(
                        got,
                        self.byte(p, pa + off),
                        "byte at {:#x} of proc {pi}",
                        pa + off
                    );
                }
                if let Some(page) = page {
                    resident += 1;
                    views
                        .entry(page.id)
                        .or_default()
                        .push((pi, oa.is_some_and(|a| a.shared)));
                }
            }
            assert_eq!(vm.resident(p.space), resident);
            for (&pa, &(id, w)) in &p.ptes {
                let oa = p.area(pa).expect("PTE outside any area");
                assert!(oa.prot.readable(), "PTE in a no-access area");
                assert_eq!(
                    vm.read(p.space, pa).map(|pg| pg.id),
                    Some(id),
                    "stale PTE at {pa:#x}"
                );
                if w {
                    assert!(oa.prot.write, "writable PTE in a read-only area");
                }
            }
        }
        for (pi, p) in self.procs.iter().enumerate() {
            for (&pa, &(id, w)) in &p.ptes {
                let shared = p.area(pa).is_some_and(|a| a.shared);
                let v = &views[&id];
                if w && !shared {
                    assert_eq!(
                        v,
                        &vec![(pi, false)],
                        "writable private page visible elsewhere"
                    );
                }
                if shared {
                    assert!(
                        v.iter().all(|x| x.1),
                        "shared page also seen through a private area"
                    );
                }
            }
        }
        for p in &mut self.procs {
            let ptes: Vec<_> = p
                .ptes
                .iter()
                .filter(|(_, (_, w))| *w)
                .map(|(a, (id, _))| (*a, *id))
                .collect();
            for (pa, id) in ptes {
                assert_eq!(
                    self.vm.page_mut(p.space, pa).map(|pg| pg.id),
                    Some(id),
                    "writable PTE not top-owned"
                );
            }
        }
        if self.procs.is_empty() {
            assert_eq!(self.vm.total_pages(), 0);
            assert_eq!(self.vm.live_objects(), 0);
            assert_eq!(self.pages.alive(), 0);
        }
    }
}

fn run(ops: Vec<Op>) {
    let mut w = World::new();
    w.spawn();
    w.verify();
    for op in ops {
        if w.procs.is_empty() {
            w.spawn();
        }
        let n = w.procs.len();
        let pg = |x: u64| B + x * PAGE;
        match op {
            Op::Fork(p) => w.fork(p % n),
            Op::Write(p, page, off, b) => w.write(p % n, pg(page) + OFFS[off], b),
            Op::Read(p, page, off) => w.read(p % n, pg(page) + OFFS[off]),
            Op::Exit(p) => w.exit(p % n),
            Op::Exec(p) => w.exec(p % n),
            Op::Munmap(p, page, len) => w.munmap(p % n, pg(page), pg(page + len)),
            Op::Mprotect(p, page, len, pr) => {
                w.mprotect(p % n, pg(page), pg(page + len), PROTS[pr])
            }
            Op::Mmap(p, page, len, pr, shared) => {
                w.map_both(p % n, pg(page), pg(page + len), PROTS[pr], shared)
            }
        }
        w.verify();
    }
    while let Some(p) = w.procs.pop() {
        w.vm.destroy(p.space);
        w.verify();
    }
}

fn ops(fork: u32, exit: u32) -> impl Strategy<Value = Vec<Op>> {
    let p = || 0..8usize;
    let op = prop_oneof![
        fork => p().prop_map(Op::Fork),
        6 => (p(), 0..NPAGES, 0..4usize, 1..=255u8).prop_map(|(a, b, c, d)| Op::Write(a, b, c, d)),
        4 => (p(), 0..NPAGES, 0..4usize).prop_map(|(a, b, c)| Op::Read(a, b, c)),
        exit => p().prop_map(Op::Exit),
        1 => p().prop_map(Op::Exec),
        1 => (p(), 0..NPAGES, 1..5u64).prop_map(|(a, b, c)| Op::Munmap(a, b, c)),
        1 => (p(), 0..NPAGES, 1..5u64, 0..4usize).prop_map(|(a, b, c, d)| Op::Mprotect(a, b, c, d)),
        1 => (p(), 0..NPAGES, 1..4u64, 0..4usize, any::<bool>()).prop_map(|(a, b, c, d, e)| Op::Mmap(a, b, c, d, e)),
    ];
    proptest::collection::vec(op, 1..150)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn matches_copy_everything_oracle(ops in ops(2, 1)) {
        run(ops);
    }

    #[test]
    fn matches_oracle_fork_exit_heavy(ops in ops(4, 3)) {
        run(ops);
    }
}
