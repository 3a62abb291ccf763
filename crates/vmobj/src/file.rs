//! File objects: the pages of a file, shared by the file system and by mappings.
//!
//! A file object is created with one *external* reference, the file's own (the file system
//! drops it when the file is deleted and closed). `MAP_SHARED` areas name the object
//! itself, so their writes land in the file's pages; `MAP_PRIVATE` areas name a fresh
//! shadow over it, so a write copies the page into the shadow exactly as after a fork.
//! File objects are never merged into a shadow: the collapse rule applies to anonymous
//! objects only, and while the file lives its reference keeps `refs >= 2` under any shadow,
//! so a private write copies rather than steals the file's page.
//!
//! Truncation drops the pages past the new end only while no mapping can see them (no area
//! or shadow names the object): a page still mapped stays until its mappings go, because the
//! model cannot reach the page tables of other spaces to unmap it. Such pages are not part of
//! the file any more (reads stop at its size), they only keep old bytes visible to mappings.

use crate::{Area, Fault, ObjId, ObjKind, PAGE, Pages, Prot, SpaceId, Vm};

impl<P> Vm<P> {
    /// A new, empty file object holding the file's reference. `file` is the caller's name
    /// for it (an inode number), kept for inspection.
    pub fn new_file(&mut self, file: u64) -> Result<ObjId, Fault> {
        let id = self.alloc_obj(ObjKind::File { file }, None, 1)?;
        if let Some(o) = self.obj_mut(id) {
            o.external = 1;
        }
        Ok(id)
    }

    /// The file is gone (deleted and closed): drop its reference. The object and its pages
    /// live on while mappings name it.
    pub fn release_file(&mut self, id: ObjId) {
        let Some(o) = self.obj_mut(id) else { return };
        if !matches!(o.kind, ObjKind::File { .. }) || o.external == 0 {
            return;
        }
        o.external -= 1;
        self.drop_ref(id);
    }

    /// Page `idx` of a file object, if present (absent pages read as zero).
    pub fn file_page(&self, id: ObjId, idx: u64) -> Option<&P> {
        self.obj(id)?.pages.get(&idx)
    }

    /// Page `idx` of a file object for writing, allocated (zeroed) if absent.
    pub fn file_page_mut(
        &mut self,
        pages: &mut impl Pages<P = P>,
        id: ObjId,
        idx: u64,
    ) -> Result<&mut P, Fault> {
        let o = self.obj_mut(id).ok_or(Fault::MapErr)?;
        if !matches!(o.kind, ObjKind::File { .. }) {
            return Err(Fault::MapErr);
        }
        match o.pages.entry(idx) {
            alloc::collections::btree_map::Entry::Occupied(e) => Ok(e.into_mut()),
            alloc::collections::btree_map::Entry::Vacant(e) => {
                Ok(e.insert(pages.zeroed().ok_or(Fault::NoMemory)?))
            }
        }
    }

    /// Pages a file object holds.
    pub fn file_pages(&self, id: ObjId) -> usize {
        self.obj(id).map_or(0, |o| o.pages.len())
    }

    /// Areas and shadows naming a file object (for a SysV segment: its attachments).
    pub fn file_users(&self, id: ObjId) -> u32 {
        self.obj(id).map_or(0, |o| o.refs - o.external)
    }

    /// Whether any area or shadow names the object (its pages may be in page tables).
    pub fn file_mapped(&self, id: ObjId) -> bool {
        self.obj(id).is_some_and(|o| o.refs > o.external)
    }

    /// Drop the pages at index `from` and above, unless the object is mapped (see the
    /// module comment). Returns how many pages were freed.
    pub fn file_truncate(&mut self, id: ObjId, from: u64) -> usize {
        if self.file_mapped(id) {
            return 0;
        }
        let Some(o) = self.obj_mut(id) else { return 0 };
        let gone = o.pages.split_off(&from);
        gone.len()
    }

    /// For the area of `s` at `addr`: the file object at the bottom of its chain and the
    /// file page index of `addr`, if the area maps a file.
    pub fn file_at(&self, s: SpaceId, addr: u64) -> Option<(ObjId, u64)> {
        let a = self.area_at(s, addr)?;
        let (bottom, o) = self.chain(a.object).last()?;
        matches!(o.kind, ObjKind::File { .. }).then(|| (bottom, a.page_index(addr)))
    }

    /// The pages at index `from` and above (a truncation of a mapped file zeroes them).
    pub fn file_pages_from(&mut self, id: ObjId, from: u64) -> impl Iterator<Item = &mut P> {
        self.obj_mut(id)
            .into_iter()
            .flat_map(move |o| o.pages.range_mut(from..).map(|(_, p)| p))
    }

    /// Map physical memory `[pa, pa + (end - start))` at `[start, end)` of `s` (`/dev/mem`):
    /// a new `Phys` object, named by the area if `shared`, else under a private shadow.
    pub fn map_phys(
        &mut self,
        s: SpaceId,
        start: u64,
        end: u64,
        prot: Prot,
        shared: bool,
        pa: u64,
    ) -> Result<(), Fault> {
        self.check_free(s, start, end)?;
        if !pa.is_multiple_of(PAGE) || pa.checked_add(end - start).is_none() {
            return Err(Fault::MapErr);
        }
        if !self.room_for(2) {
            return Err(Fault::NoMemory);
        }
        let phys = self.alloc_obj(ObjKind::Phys { base: pa }, None, 1)?;
        let object = if shared {
            phys
        } else {
            self.alloc_obj(ObjKind::Shadow, Some(phys), 1)?
        };
        let area = Area {
            start,
            end,
            prot,
            shared,
            object,
            offset: pa / PAGE,
            grows_down: false,
        };
        self.insert_area(s, area)
    }

    /// Map pages `[offset, offset + (end - start) / PAGE)` of file object `file` at
    /// `[start, end)` of `s`: shared areas name the object, private ones a new shadow over it.
    #[allow(clippy::too_many_arguments)]
    pub fn map_file(
        &mut self,
        s: SpaceId,
        start: u64,
        end: u64,
        prot: Prot,
        shared: bool,
        file: ObjId,
        offset: u64,
    ) -> Result<(), Fault> {
        if !matches!(self.obj(file).map(|o| o.kind), Some(ObjKind::File { .. })) {
            return Err(Fault::MapErr);
        }
        self.check_free(s, start, end)?;
        offset
            .checked_add((end - start) / PAGE)
            .ok_or(Fault::MapErr)?;
        let object = if shared {
            file
        } else {
            self.alloc_obj(ObjKind::Shadow, Some(file), 1)?
        };
        if let Some(o) = self.obj_mut(file) {
            // The area (shared) or the shadow (private) references the file object.
            o.refs += 1;
        }
        let area = Area {
            start,
            end,
            prot,
            shared,
            object,
            offset,
            grows_down: false,
        };
        self.insert_area(s, area)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    struct Heap;
    impl Pages for Heap {
        type P = Vec<u8>;
        fn zeroed(&mut self) -> Option<Vec<u8>> {
            Some(vec![0; PAGE as usize])
        }
        fn copy(&mut self, from: &Vec<u8>) -> Option<Vec<u8>> {
            Some(from.clone())
        }
        fn device(&mut self, _pa: u64) -> Option<Vec<u8>> {
            None
        }
    }

    fn byte(vm: &Vm<Vec<u8>>, s: SpaceId, addr: u64) -> u8 {
        vm.read(s, addr).map_or(0, |p| p[(addr % PAGE) as usize])
    }

    #[test]
    fn shared_mapping_and_file_see_the_same_pages() {
        let mut vm: Vm<Vec<u8>> = Vm::new();
        let f = vm.new_file(7).unwrap();
        vm.file_page_mut(&mut Heap, f, 0).unwrap()[5] = 42;
        let s = vm.new_space();
        vm.map_file(s, 0x10000, 0x12000, Prot::RW, true, f, 0)
            .unwrap();
        assert_eq!(byte(&vm, s, 0x10005), 42);
        // A write fault through the shared mapping lands in the file object.
        vm.fault(&mut Heap, s, 0x11000, true).unwrap();
        vm.page_mut(s, 0x11000).unwrap()[1] = 9;
        assert_eq!(vm.file_page(f, 1).unwrap()[1], 9);
        vm.check().unwrap();
        // A forked child shares the mapping.
        let (c, _) = vm.fork(s).unwrap();
        vm.fault(&mut Heap, c, 0x10000, true).unwrap();
        vm.page_mut(c, 0x10000).unwrap()[6] = 1;
        assert_eq!(vm.file_page(f, 0).unwrap()[6], 1);
        vm.check().unwrap();
        vm.destroy(c);
        vm.destroy(s);
        vm.release_file(f);
        assert_eq!(vm.live_objects(), 0);
    }

    #[test]
    fn private_mapping_copies_on_write_and_keeps_the_file_intact() {
        let mut vm: Vm<Vec<u8>> = Vm::new();
        let f = vm.new_file(1).unwrap();
        vm.file_page_mut(&mut Heap, f, 2).unwrap()[0] = 5;
        let s = vm.new_space();
        // File page 2 at 0x20000.
        vm.map_file(s, 0x20000, 0x21000, Prot::RW, false, f, 2)
            .unwrap();
        assert_eq!(byte(&vm, s, 0x20000), 5);
        let r = vm.fault(&mut Heap, s, 0x20000, true).unwrap();
        assert!(r.copied && r.writable);
        vm.page_mut(s, 0x20000).unwrap()[0] = 6;
        assert_eq!(vm.file_page(f, 2).unwrap()[0], 5);
        assert_eq!(byte(&vm, s, 0x20000), 6);
        vm.check().unwrap();
        // Forking a private file mapping shadows the shadow, as for anonymous memory.
        let (c, _) = vm.fork(s).unwrap();
        assert_eq!(byte(&vm, c, 0x20000), 6);
        vm.check().unwrap();
        // The file goes away while mapped: its pages stay for the mappings.
        vm.release_file(f);
        assert!(vm.file_mapped(f));
        assert_eq!(vm.file_truncate(f, 0), 0);
        assert_eq!(vm.file_page(f, 2).unwrap()[0], 5);
        vm.check().unwrap();
        vm.destroy(c);
        vm.destroy(s);
        assert_eq!(vm.live_objects(), 0);
    }

    #[test]
    fn move_range_moves_areas_without_copying() {
        let mut vm: Vm<Vec<u8>> = Vm::new();
        let s = vm.new_space();
        vm.map_anon(s, 0x10000, 0x14000, Prot::RW, false).unwrap();
        for (i, addr) in [0x10000u64, 0x11000, 0x13000].iter().enumerate() {
            vm.fault(&mut Heap, s, *addr, true).unwrap();
            vm.page_mut(s, *addr).unwrap()[0] = i as u8 + 1;
        }
        let (c, _) = vm.fork(s).unwrap();
        // Move the middle [0x11000, 0x13000) up; the ends stay.
        let cleared = vm.move_range(s, 0x11000, 0x40000, 0x2000).unwrap();
        assert_eq!(cleared, vec![0x11000]);
        assert_eq!(byte(&vm, s, 0x40000), 2);
        assert!(vm.area_at(s, 0x11000).is_none());
        assert_eq!(byte(&vm, s, 0x10000), 1);
        assert_eq!(byte(&vm, s, 0x13000), 3);
        // The child, forked before, still sees its copy where it was.
        assert_eq!(byte(&vm, c, 0x11000), 2);
        vm.check().unwrap();
        // Errors: a hole in the source, an occupied target.
        assert!(vm.move_range(s, 0x11000, 0x50000, 0x1000).is_err());
        assert!(vm.move_range(s, 0x10000, 0x13000, 0x1000).is_err());
        // Overlapping source and target.
        vm.move_range(s, 0x40000, 0x41000, 0x2000).unwrap();
        assert_eq!(byte(&vm, s, 0x41000), 2);
        vm.check().unwrap();
        vm.destroy(c);
        vm.destroy(s);
        assert_eq!(vm.live_objects(), 0);
    }

    #[test]
    fn truncate_keeps_mapped_pages() {
        let mut vm: Vm<Vec<u8>> = Vm::new();
        let f = vm.new_file(1).unwrap();
        for i in 0..4 {
            vm.file_page_mut(&mut Heap, f, i).unwrap();
        }
        let s = vm.new_space();
        vm.map_file(s, 0x1000, 0x2000, Prot::R, true, f, 3).unwrap();
        assert_eq!(vm.file_truncate(f, 1), 0);
        vm.destroy(s);
        assert_eq!(vm.file_truncate(f, 1), 3);
        assert_eq!(vm.file_pages(f), 1);
        vm.check().unwrap();
        vm.release_file(f);
        assert_eq!(vm.live_objects(), 0);
    }
}
