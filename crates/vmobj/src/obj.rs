//! The object arena: allocating and freeing objects, iterative chain walks, dropping
//! references, and the collapse (merge of a singly referenced object into its shadow).

use crate::{Fault, Obj, ObjId, ObjKind, Vm};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Iterator over a chain, top first. Stops after as many steps as the arena has slots,
/// so even a corrupted (cyclic) arena cannot make a walk run forever.
pub(crate) struct Chain<'a, P> {
    vm: &'a Vm<P>,
    next: Option<ObjId>,
    left: usize,
}

impl<'a, P> Iterator for Chain<'a, P> {
    type Item = (ObjId, &'a Obj<P>);

    fn next(&mut self) -> Option<Self::Item> {
        let id = self.next?;
        if self.left == 0 {
            self.next = None;
            return None;
        }
        self.left -= 1;
        let o = self.vm.obj(id)?;
        self.next = o.below;
        Some((id, o))
    }
}

impl<P> Vm<P> {
    pub(crate) fn obj(&self, id: ObjId) -> Option<&Obj<P>> {
        self.objs.get(id.0)
    }

    pub(crate) fn obj_mut(&mut self, id: ObjId) -> Option<&mut Obj<P>> {
        self.objs.get_mut(id.0)
    }

    /// The chain starting at `top`.
    pub(crate) fn chain(&self, top: ObjId) -> Chain<'_, P> {
        Chain {
            vm: self,
            next: Some(top),
            left: self.objs.len(),
        }
    }

    /// Whether `n` more objects fit in the arena (ids are `u32`).
    pub(crate) fn room_for(&self, n: usize) -> bool {
        self.objs.room() >= n
    }

    /// Creates an object with `refs` references and registers it as a shadow of `below`.
    /// The caller accounts for the reference this adds to `below`.
    pub(crate) fn alloc_obj(
        &mut self,
        kind: ObjKind,
        below: Option<ObjId>,
        refs: u32,
    ) -> Result<ObjId, Fault> {
        let obj = Obj {
            kind,
            below,
            pages: BTreeMap::new(),
            refs,
            above: Vec::new(),
            external: 0,
        };
        let phys = matches!(obj.kind, ObjKind::Phys { .. });
        let id = ObjId(self.objs.insert(obj).ok_or(Fault::NoMemory)?);
        self.phys_objects += usize::from(phys);
        if let Some(b) = below.and_then(|b| self.obj_mut(b)) {
            b.above.push(id);
        }
        Ok(id)
    }

    /// Removes an object from the arena (its pages go with the returned value).
    fn take_obj(&mut self, id: ObjId) -> Option<Obj<P>> {
        let o = self.objs.remove(id.0)?;
        if matches!(o.kind, ObjKind::Phys { .. }) {
            self.phys_objects -= 1;
        }
        Some(o)
    }

    /// The object holding page `idx` in the chain of `top`, and its depth (0 = top).
    pub(crate) fn lookup(&self, top: ObjId, idx: u64) -> Option<(ObjId, usize)> {
        self.chain(top)
            .enumerate()
            .find(|(_, (_, o))| o.pages.contains_key(&idx))
            .map(|(depth, (id, _))| (id, depth))
    }

    /// The page at `idx` seen through the chain of `top`.
    pub(crate) fn lookup_page(&self, top: ObjId, idx: u64) -> Option<&P> {
        self.chain(top).find_map(|(_, o)| o.pages.get(&idx))
    }

    /// Drops one reference to `id` and settles the consequences.
    pub(crate) fn drop_ref(&mut self, id: ObjId) {
        if let Some(o) = self.obj_mut(id) {
            o.refs = o.refs.saturating_sub(1);
        }
        self.settle(id);
    }

    /// After `id` lost a reference: free it if unreferenced (and continue with its
    /// `below`, which loses a reference in turn), or collapse it into its only shadow.
    /// Iterative: one step per object freed.
    pub(crate) fn settle(&mut self, mut id: ObjId) {
        loop {
            let Some(o) = self.obj(id) else { return };
            if o.refs == 0 {
                let below = self.take_obj(id).and_then(|o| o.below);
                let Some(b) = below else { return };
                if let Some(bo) = self.obj_mut(b) {
                    bo.above.retain(|x| *x != id);
                    bo.refs = bo.refs.saturating_sub(1);
                }
                id = b;
                continue;
            }
            if let [s] = o.above[..]
                && o.refs == 1
                && o.kind.anonymous()
            {
                self.merge_into(id, s);
            }
            return;
        }
    }

    /// Whether `b` may be merged into the shadow `s` directly above it: `b` is anonymous
    /// and its only reference is `s`.
    fn absorbable(&self, b: ObjId, s: ObjId) -> bool {
        let (Some(bo), Some(so)) = (self.obj(b), self.obj(s)) else {
            return false;
        };
        so.below == Some(b) && bo.kind.anonymous() && bo.refs == 1 && bo.above[..] == [s]
    }

    /// Merges `b` into its only shadow `s`: `s` keeps its pages and takes those of `b` it
    /// lacks, adopts `b.below`, and `b` is freed. Cost `O(min · log max)` page moves.
    fn merge_into(&mut self, b: ObjId, s: ObjId) {
        if !self.absorbable(b, s) {
            return;
        }
        let Some(bo) = self.take_obj(b) else { return };
        let Some(so) = self.obj_mut(s) else { return };
        let mut upper = core::mem::take(&mut so.pages);
        let mut lower = bo.pages;
        so.pages = if lower.len() >= upper.len() {
            // Pages of `s` win; the replaced pages of `b` are dropped.
            for (k, v) in upper {
                lower.insert(k, v);
            }
            lower
        } else {
            for (k, v) in lower {
                upper.entry(k).or_insert(v);
            }
            upper
        };
        so.below = bo.below;
        so.kind = if bo.below.is_some() {
            ObjKind::Shadow
        } else {
            bo.kind
        };
        if let Some(co) = bo.below.and_then(|c| self.obj_mut(c)) {
            for x in co.above.iter_mut() {
                if *x == b {
                    *x = s;
                }
            }
        }
    }

    /// Applies the collapse rule along the whole chain of `top` (iteratively).
    pub(crate) fn collapse_chain(&mut self, top: ObjId) {
        let mut cur = top;
        let mut steps = self.objs.len();
        while steps > 0 {
            steps -= 1;
            let Some(b) = self.obj(cur).and_then(|o| o.below) else {
                return;
            };
            if self.absorbable(b, cur) {
                self.merge_into(b, cur);
            } else {
                cur = b;
            }
        }
    }

    /// Whether every object strictly below `top` down to and including `holder` has
    /// `refs == 1`, i.e. nothing but this chain can see `holder`'s pages.
    pub(crate) fn exclusive_path(&self, top: ObjId, holder: ObjId) -> bool {
        for (id, o) in self.chain(top).skip(1) {
            // A file's or device's page is never taken away from it.
            if o.refs != 1 || !o.kind.anonymous() {
                return false;
            }
            if id == holder {
                return true;
            }
        }
        false
    }
}
