//! `fork` (shadow pairs over each private top object, shared objects shared) and
//! `destroy` (drop every area; free and collapse what becomes unreferenced).

use crate::{Fault, ObjId, ObjKind, Space, SpaceId, Vm};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

impl<P> Vm<P> {
    /// Forks `parent`. Returns the child and the parent's address ranges `[start, end)` whose
    /// PTEs the kernel must write-protect: the writable private areas whose top object holds
    /// a page in the area's window. Ranges, not pages, so the cost of fork does not grow
    /// with resident memory (the kernel protects a range at the highest page-table level
    /// that covers it). All-or-nothing: on error nothing changed.
    pub fn fork(&mut self, parent: SpaceId) -> Result<(SpaceId, Vec<(u64, u64)>), Fault> {
        let sp = self.space(parent).ok_or(Fault::MapErr)?;
        // Areas per private top object, and references added to shared objects.
        let mut private: BTreeMap<ObjId, u32> = BTreeMap::new();
        let mut shared: BTreeMap<ObjId, u32> = BTreeMap::new();
        let mut protect = Vec::new();
        for a in sp.areas.values() {
            let map = if a.shared { &mut shared } else { &mut private };
            let n = map.entry(a.object).or_default();
            *n = n.checked_add(1).ok_or(Fault::NoMemory)?;
            if !a.shared && a.prot.write {
                let o = self.obj(a.object).ok_or(Fault::MapErr)?;
                if o.pages
                    .range(a.offset..a.offset + a.pages())
                    .next()
                    .is_some()
                {
                    protect.push((a.start, a.end));
                }
            }
        }
        if !self.room_for(private.len().saturating_mul(2)) {
            return Err(Fault::NoMemory);
        }
        for (id, n) in &shared {
            let o = self.obj(*id).ok_or(Fault::MapErr)?;
            o.refs.checked_add(*n).ok_or(Fault::NoMemory)?;
        }
        for id in private.keys() {
            self.obj(*id).ok_or(Fault::MapErr)?;
        }

        // From here on nothing can fail.
        let mut pairs: BTreeMap<ObjId, (ObjId, ObjId)> = BTreeMap::new();
        for (&old, &n) in &private {
            let p = self.alloc_obj(ObjKind::Shadow, Some(old), n)?;
            let c = self.alloc_obj(ObjKind::Shadow, Some(old), n)?;
            if let Some(o) = self.obj_mut(old) {
                // The parent's `n` areas moved to `p`; `p` and `c` reference `old`.
                o.refs = o.refs.saturating_sub(n).saturating_add(2);
            }
            pairs.insert(old, (p, c));
        }
        for (&id, &n) in &shared {
            if let Some(o) = self.obj_mut(id) {
                o.refs += n;
            }
        }
        let mut child_areas = BTreeMap::new();
        if let Some(sp) = self.space_mut(parent) {
            for (k, a) in sp.areas.iter_mut() {
                let mut c = a.clone();
                if let Some(&(p, ch)) = pairs.get(&a.object).filter(|_| !a.shared) {
                    a.object = p;
                    c.object = ch;
                }
                child_areas.insert(*k, c);
            }
        }
        let child = self.new_space();
        if let Some(sp) = self.space_mut(child) {
            *sp = Space { areas: child_areas };
        }
        Ok((child, protect))
    }

    /// Destroys `s` (exit or exec): drops every area, freeing unreferenced objects with
    /// their pages and collapsing objects left with a single shadow. Unknown ids are
    /// ignored.
    pub fn destroy(&mut self, s: SpaceId) {
        let Some(sp) = self.spaces.remove(s.0) else {
            return;
        };
        for a in sp.areas.into_values() {
            self.drop_ref(a.object);
        }
    }
}
