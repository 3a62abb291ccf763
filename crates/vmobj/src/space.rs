//! Address-space areas: anonymous mapping, unmapping and protection changes, including
//! splitting areas at range ends and coalescing neighbours that became compatible.

use crate::{Area, Fault, ObjId, ObjKind, PAGE, Prot, Space, SpaceId, Vm};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

fn aligned(x: u64) -> bool {
    x.is_multiple_of(PAGE)
}

impl Space {
    /// Start keys of the areas overlapping `[start, end)`, ascending.
    fn overlapping(&self, start: u64, end: u64) -> Vec<u64> {
        let mut keys: Vec<u64> = self
            .areas
            .range(..end)
            .rev()
            .take_while(|(_, a)| a.end > start)
            .map(|(k, _)| *k)
            .collect();
        keys.reverse();
        keys
    }
}

impl<P> Vm<P> {
    /// Creates an empty address space.
    pub fn new_space(&mut self) -> SpaceId {
        let sp = Space {
            areas: BTreeMap::new(),
        };
        // Space ids are `u32`; four billion live spaces cannot exist in practice, and the
        // id saturates rather than panicking.
        SpaceId(self.spaces.insert(sp).unwrap_or(u32::MAX))
    }

    /// `[start, end)` is a page-aligned, non-empty range of `s` that overlaps no area
    /// (`MapErr` otherwise, or if `s` is unknown).
    pub(crate) fn check_free(&self, s: SpaceId, start: u64, end: u64) -> Result<(), Fault> {
        if !aligned(start) || !aligned(end) || start >= end {
            return Err(Fault::MapErr);
        }
        let sp = self.space(s).ok_or(Fault::MapErr)?;
        if sp
            .areas
            .range(..end)
            .next_back()
            .is_some_and(|(_, a)| a.end > start)
        {
            return Err(Fault::MapErr);
        }
        Ok(())
    }

    /// Put a new area (holding one reference to its object) into `s`; the reference is
    /// dropped again if `s` is gone.
    pub(crate) fn insert_area(&mut self, s: SpaceId, area: Area) -> Result<(), Fault> {
        let object = area.object;
        match self.space_mut(s) {
            Some(sp) => {
                sp.areas.insert(area.start, area);
                Ok(())
            }
            None => {
                self.drop_ref(object);
                Err(Fault::MapErr)
            }
        }
    }

    /// Maps fresh zero-filled anonymous memory at `[start, end)` (page aligned, non-empty).
    /// Fails with `MapErr` on a bad range, an unknown space or an overlap (EEXIST-like).
    pub fn map_anon(
        &mut self,
        s: SpaceId,
        start: u64,
        end: u64,
        prot: Prot,
        shared: bool,
    ) -> Result<(), Fault> {
        self.check_free(s, start, end)?;
        let object = self.alloc_obj(ObjKind::Anon, None, 1)?;
        let area = Area {
            start,
            end,
            prot,
            shared,
            object,
            offset: start / PAGE,
            grows_down: false,
        };
        self.insert_area(s, area)
    }

    /// Addresses in `[lo, hi)` (inside area `a`) whose page is present somewhere in the
    /// area's chain — every page the kernel can have mapped there.
    pub(crate) fn resident_addrs(&self, a: &Area, lo: u64, hi: u64) -> Vec<u64> {
        if lo >= hi {
            return Vec::new();
        }
        let ilo = a.page_index(lo);
        let ihi = ilo + (hi - lo) / PAGE;
        let mut set = BTreeSet::new();
        for (_, o) in self.chain(a.object) {
            set.extend(o.pages.range(ilo..ihi).map(|(k, _)| *k));
        }
        set.into_iter().map(|i| a.addr_of(i)).collect()
    }

    /// Objects named by areas of `s` and by nothing else: a page of theirs outside every
    /// window of `s` is unreachable. (The windows of private areas are disjoint, invariant 3;
    /// shared areas of a file object may overlap, e.g. one file mapped twice.)
    fn exclusive_objects(&self, s: SpaceId) -> BTreeSet<ObjId> {
        let mut count: BTreeMap<ObjId, u32> = BTreeMap::new();
        for a in self.areas(s) {
            *count.entry(a.object).or_default() += 1;
        }
        count
            .into_iter()
            .filter(|(id, n)| {
                self.obj(*id)
                    .is_some_and(|o| o.above.is_empty() && o.refs == *n)
            })
            .map(|(id, _)| id)
            .collect()
    }

    /// Unmaps `[start, end)` (page aligned; holes are fine), splitting areas at the ends.
    /// Returns the addresses whose PTEs the kernel must clear.
    pub fn unmap(&mut self, s: SpaceId, start: u64, end: u64) -> Result<Vec<u64>, Fault> {
        if !aligned(start) || !aligned(end) || start > end {
            return Err(Fault::MapErr);
        }
        let sp = self.space(s).ok_or(Fault::MapErr)?;
        let keys = sp.overlapping(start, end);
        let exclusive = self.exclusive_objects(s);
        let mut out = Vec::new();
        // Windows `(object, first, end)` of exclusive objects that left the space; their pages
        // are freed once every area is cut (see below).
        let mut doomed = Vec::new();
        for key in keys {
            let Some(a) = self.space(s).and_then(|sp| sp.areas.get(&key)).cloned() else {
                continue;
            };
            let lo = a.start.max(start);
            let hi = a.end.min(end);
            let middle = lo > a.start && hi < a.end;
            if middle && self.obj(a.object).is_none_or(|o| o.refs == u32::MAX) {
                return Err(Fault::NoMemory);
            }
            out.extend(self.resident_addrs(&a, lo, hi));
            if exclusive.contains(&a.object) {
                let ilo = a.page_index(lo);
                doomed.push((a.object, ilo, ilo + (hi - lo) / PAGE));
            }
            let Some(sp) = self.space_mut(s) else { break };
            if lo == a.start && hi == a.end {
                sp.areas.remove(&key);
                self.drop_ref(a.object);
            } else if lo == a.start {
                sp.areas.remove(&key);
                let tail = Area {
                    start: hi,
                    offset: a.page_index(hi),
                    ..a
                };
                sp.areas.insert(hi, tail);
            } else if hi == a.end {
                if let Some(x) = sp.areas.get_mut(&key) {
                    x.end = lo;
                }
            } else {
                if let Some(x) = sp.areas.get_mut(&key) {
                    x.end = lo;
                }
                let tail = Area {
                    start: hi,
                    offset: a.page_index(hi),
                    ..a.clone()
                };
                sp.areas.insert(hi, tail);
                if let Some(o) = self.obj_mut(a.object) {
                    o.refs += 1;
                }
            }
        }
        // Free the removed windows' pages only now, after `out` lists every page of every
        // removed piece, and keep those another remaining area of `s` still shows: with two
        // shared mappings of one file (no longer referenced by the file itself) unmapping one
        // must not free the pages of the other, which its page table still maps.
        for (obj, ilo, ihi) in doomed {
            let kept: Vec<(u64, u64)> = self
                .areas(s)
                .filter(|x| x.object == obj)
                .map(|x| (x.offset, x.offset + x.pages()))
                .collect();
            if let Some(o) = self.obj_mut(obj) {
                let gone: Vec<u64> = o
                    .pages
                    .range(ilo..ihi)
                    .map(|(k, _)| *k)
                    .filter(|k| !kept.iter().any(|&(l, h)| l <= *k && *k < h))
                    .collect();
                for k in gone {
                    o.pages.remove(&k);
                }
            }
        }
        Ok(out)
    }

    /// Splits the area strictly containing `addr` (if any) into `[start, addr)` and
    /// `[addr, end)`, both naming the same object.
    /// Moves the mappings of `[from, from + len)` to `[to, to + len)` (mremap): the areas keep
    /// their objects and windows, so nothing is copied. The source must be fully mapped and the
    /// target free (outside the source). Returns the source addresses whose PTEs the kernel
    /// must clear.
    pub fn move_range(
        &mut self,
        s: SpaceId,
        from: u64,
        to: u64,
        len: u64,
    ) -> Result<Vec<u64>, Fault> {
        if !aligned(from) || !aligned(to) || !aligned(len) || len == 0 {
            return Err(Fault::MapErr);
        }
        let end = from.checked_add(len).ok_or(Fault::MapErr)?;
        let to_end = to.checked_add(len).ok_or(Fault::MapErr)?;
        let sp = self.space(s).ok_or(Fault::MapErr)?;
        // Fully mapped source.
        let mut at = from;
        for key in sp.overlapping(from, end) {
            let a = &sp.areas[&key];
            if a.start > at {
                return Err(Fault::MapErr);
            }
            at = a.end;
        }
        if at < end {
            return Err(Fault::MapErr);
        }
        // Free target (the source itself may overlap it): nothing may be mapped in the parts
        // of `[to, to_end)` outside `[from, end)`. (Looking at the areas' start keys is not
        // enough: an area starting in the source may reach past it into the target.)
        let taken = |lo: u64, hi: u64| lo < hi && !sp.overlapping(lo, hi).is_empty();
        if taken(to, to_end.min(from)) || taken(to.max(end), to_end) {
            return Err(Fault::MapErr);
        }
        self.split_at(s, from)?;
        self.split_at(s, end)?;
        let sp = self.space(s).ok_or(Fault::MapErr)?;
        let keys = sp.overlapping(from, end);
        let mut out = Vec::new();
        let mut moved = Vec::new();
        for key in keys {
            let Some(a) = self.space(s).and_then(|sp| sp.areas.get(&key)).cloned() else {
                continue;
            };
            out.extend(self.resident_addrs(&a, a.start, a.end));
            moved.push(a);
        }
        let Some(sp) = self.space_mut(s) else {
            return Err(Fault::MapErr);
        };
        for a in &moved {
            sp.areas.remove(&a.start);
        }
        for a in moved {
            let start = a.start - from + to;
            let area = Area {
                start,
                end: a.end - from + to,
                ..a
            };
            sp.areas.insert(start, area);
        }
        Ok(out)
    }

    fn split_at(&mut self, s: SpaceId, addr: u64) -> Result<(), Fault> {
        let Some(a) = self.area_at(s, addr).cloned() else {
            return Ok(());
        };
        if a.start == addr {
            return Ok(());
        }
        let o = self.obj_mut(a.object).ok_or(Fault::MapErr)?;
        o.refs = o.refs.checked_add(1).ok_or(Fault::NoMemory)?;
        let sp = self.space_mut(s).ok_or(Fault::MapErr)?;
        if let Some(x) = sp.areas.get_mut(&a.start) {
            x.end = addr;
        }
        let tail = Area {
            start: addr,
            offset: a.page_index(addr),
            ..a
        };
        sp.areas.insert(addr, tail);
        Ok(())
    }

    /// Marks the private area starting at `start` as `MAP_GROWSDOWN`.
    pub fn set_grows_down(&mut self, s: SpaceId, start: u64) -> Result<(), Fault> {
        let a = self
            .space_mut(s)
            .and_then(|sp| sp.areas.get_mut(&start))
            .ok_or(Fault::MapErr)?;
        if a.shared {
            return Err(Fault::MapErr);
        }
        a.grows_down = true;
        Ok(())
    }

    /// A fault at `addr` outside every area: if the area just above is `MAP_GROWSDOWN`,
    /// extend it down to `addr`'s page, as Linux grows a stack vma. Refused (`MapErr`, the
    /// fault is a SIGSEGV) when the area below is accessible and would end up closer than
    /// `gap` bytes (Linux's stack guard gap), when the object window below the area is not
    /// free (another area of the object uses it, or some object of the chain holds pages
    /// there, which would show through instead of zeros), or the window would go below 0.
    pub fn grow_down(&mut self, s: SpaceId, addr: u64, gap: u64) -> Result<(), Fault> {
        let new_start = addr - addr % PAGE;
        let sp = self.space(s).ok_or(Fault::MapErr)?;
        let above = sp
            .areas
            .range(new_start..)
            .next()
            .map(|(_, a)| a.clone())
            .ok_or(Fault::MapErr)?;
        if !above.grows_down || above.shared || above.start <= new_start {
            return Err(Fault::MapErr);
        }
        if let Some((_, below)) = sp.areas.range(..new_start).next_back() {
            if below.end > new_start {
                return Err(Fault::MapErr);
            }
            let accessible = below.prot.read || below.prot.write || below.prot.exec;
            if accessible && !below.grows_down && new_start - below.end < gap {
                return Err(Fault::MapErr);
            }
        }
        let delta = (above.start - new_start) / PAGE;
        let new_off = above.offset.checked_sub(delta).ok_or(Fault::MapErr)?;
        let window = new_off..above.offset;
        let used = self
            .spaces
            .values()
            .flat_map(|sp| sp.areas.values())
            .any(|a| {
                a.object == above.object
                    && a.offset < window.end
                    && a.offset + a.pages() > window.start
            });
        let holds = self
            .chain(above.object)
            .any(|(_, o)| o.pages.range(window.clone()).next().is_some());
        if used || holds {
            return Err(Fault::MapErr);
        }
        let sp = self.space_mut(s).ok_or(Fault::MapErr)?;
        sp.areas.remove(&above.start);
        sp.areas.insert(
            new_start,
            Area {
                start: new_start,
                offset: new_off,
                ..above
            },
        );
        Ok(())
    }

    /// Merges adjacent areas around `[start, end]` that name the same object with
    /// contiguous windows and equal attributes.
    fn coalesce(&mut self, s: SpaceId, start: u64, end: u64) {
        let Some(sp) = self.space_mut(s) else { return };
        let mut keys: Vec<u64> = sp
            .areas
            .range(..=end)
            .rev()
            .take_while(|(_, a)| a.end >= start)
            .map(|(k, _)| *k)
            .collect();
        keys.reverse();
        let mut dropped = Vec::new();
        let mut iter = keys.into_iter();
        let Some(mut left) = iter.next() else { return };
        for right in iter {
            let (Some(l), Some(r)) = (sp.areas.get(&left), sp.areas.get(&right)) else {
                continue;
            };
            let fits = l.end == r.start
                && l.object == r.object
                && l.prot == r.prot
                && l.shared == r.shared
                && l.grows_down == r.grows_down
                && r.offset == l.offset + l.pages();
            if fits {
                let new_end = r.end;
                if let Some(r) = sp.areas.remove(&right) {
                    dropped.push(r.object);
                }
                if let Some(l) = sp.areas.get_mut(&left) {
                    l.end = new_end;
                }
            } else {
                left = right;
            }
        }
        for o in dropped {
            self.drop_ref(o);
        }
    }

    /// Changes the protection of `[start, end)`, which must be fully mapped (a hole gives
    /// `MapErr`, ENOMEM-like, and changes nothing). Returns the addresses of present pages
    /// whose protection changed: the kernel must clear those PTEs (the next access faults
    /// and [`Vm::fault`] reports the right permission).
    pub fn protect(
        &mut self,
        s: SpaceId,
        start: u64,
        end: u64,
        prot: Prot,
    ) -> Result<Vec<u64>, Fault> {
        if !aligned(start) || !aligned(end) || start > end {
            return Err(Fault::MapErr);
        }
        let sp = self.space(s).ok_or(Fault::MapErr)?;
        if start == end {
            return Ok(Vec::new());
        }
        let mut cursor = start;
        for k in sp.overlapping(start, end) {
            let Some(a) = sp.areas.get(&k) else {
                return Err(Fault::MapErr);
            };
            if a.start > cursor {
                return Err(Fault::MapErr);
            }
            cursor = a.end;
        }
        if cursor < end {
            return Err(Fault::MapErr);
        }
        self.split_at(s, start)?;
        self.split_at(s, end)?;
        let keys = self
            .space(s)
            .map(|sp| sp.overlapping(start, end))
            .unwrap_or_default();
        let mut out = Vec::new();
        for k in keys {
            let Some(a) = self.space(s).and_then(|sp| sp.areas.get(&k)).cloned() else {
                continue;
            };
            if a.prot != prot {
                out.extend(self.resident_addrs(&a, a.start, a.end));
                if let Some(x) = self.space_mut(s).and_then(|sp| sp.areas.get_mut(&k)) {
                    x.prot = prot;
                }
            }
        }
        self.coalesce(s, start, end);
        Ok(out)
    }
}
