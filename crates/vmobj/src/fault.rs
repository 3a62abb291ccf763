//! Page-fault resolution (zero fill, copy-on-write copy, move-up without copy) and the
//! read-side lookups `read` and `page_mut`.

use crate::{Fault, Pages, Resolved, SpaceId, Vm};

impl<P> Vm<P> {
    /// Resolves a fault at `addr` in `s`. On success the kernel installs `page`, writable
    /// or not as told. On error nothing visible changed (a collapse may have happened).
    pub fn fault(
        &mut self,
        pages: &mut impl Pages<P = P>,
        s: SpaceId,
        addr: u64,
        write: bool,
    ) -> Result<Resolved<'_, P>, Fault> {
        let a = self.area_at(s, addr).ok_or(Fault::MapErr)?.clone();
        if !a.prot.allows(write) {
            return Err(Fault::AccErr);
        }
        let idx = a.page_index(addr);
        let top = a.object;
        self.collapse_chain(top);
        self.touch_phys(pages, top, idx)?;
        let mut copied = false;
        let mut zero_filled = false;
        let in_top = match self.lookup(top, idx) {
            Some((_, 0)) => true,
            Some((holder, _)) if write => {
                let page = if self.exclusive_path(top, holder) {
                    // Nobody else can see the page: move it up instead of copying.
                    self.obj_mut(holder).and_then(|o| o.pages.remove(&idx))
                } else {
                    let src = self.obj(holder).and_then(|o| o.pages.get(&idx));
                    copied = true;
                    match src {
                        Some(src) => Some(pages.copy(src).ok_or(Fault::NoMemory)?),
                        None => None,
                    }
                };
                let page = page.ok_or(Fault::MapErr)?;
                self.obj_mut(top)
                    .ok_or(Fault::MapErr)?
                    .pages
                    .insert(idx, page);
                true
            }
            Some(_) => false,
            None => {
                // A read of a hole in a file under a private mapping puts the page in the
                // file (as a page cache would fill it), mapped read-only, so a later write(2)
                // to the file shows through the mapping until the process writes the page.
                let holder = if write {
                    top
                } else {
                    self.file_bottom(top).unwrap_or(top)
                };
                let page = pages.zeroed().ok_or(Fault::NoMemory)?;
                self.obj_mut(holder)
                    .ok_or(Fault::MapErr)?
                    .pages
                    .insert(idx, page);
                zero_filled = true;
                holder == top
            }
        };
        let page = self.lookup_page(top, idx).ok_or(Fault::MapErr)?;
        Ok(Resolved {
            page,
            writable: in_top && a.prot.write,
            copied,
            zero_filled,
        })
    }

    /// A chain ending in a `Phys` object: make sure it holds its handle on page `idx`.
    fn touch_phys(
        &mut self,
        pages: &mut impl Pages<P = P>,
        top: crate::ObjId,
        idx: u64,
    ) -> Result<(), Fault> {
        if self.phys_objects == 0 {
            return Ok(());
        }
        let Some((bottom, o)) = self.chain(top).last() else {
            return Ok(());
        };
        if !matches!(o.kind, crate::ObjKind::Phys { .. }) || o.pages.contains_key(&idx) {
            return Ok(());
        }
        let pa = idx.checked_mul(crate::PAGE).ok_or(Fault::MapErr)?;
        let page = pages.device(pa).ok_or(Fault::MapErr)?;
        self.obj_mut(bottom)
            .ok_or(Fault::MapErr)?
            .pages
            .insert(idx, page);
        Ok(())
    }

    /// The file object at the bottom of `top`'s chain, if the chain ends in one.
    fn file_bottom(&self, top: crate::ObjId) -> Option<crate::ObjId> {
        let (id, o) = self.chain(top).last()?;
        matches!(o.kind, crate::ObjKind::File { .. }).then_some(id)
    }

    /// The page a read at `addr` in `s` sees (walking the chain), ignoring protection.
    /// `None`: no area, or the page is not present (reads as zero).
    pub fn read(&self, s: SpaceId, addr: u64) -> Option<&P> {
        let a = self.area_at(s, addr)?;
        self.lookup_page(a.object, a.page_index(addr))
    }

    /// The page a writable mapping of `addr` points to: present in the top object of a
    /// writable area (after a write fault returned `writable`). The kernel uses it to
    /// write through the mapping; `None` if the page is not exclusively owned.
    pub fn page_mut(&mut self, s: SpaceId, addr: u64) -> Option<&mut P> {
        let a = self.area_at(s, addr)?;
        if !a.prot.write {
            return None;
        }
        let (top, idx) = (a.object, a.page_index(addr));
        self.obj_mut(top)?.pages.get_mut(&idx)
    }
}
