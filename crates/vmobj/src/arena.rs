//! The slot arenas that objects and spaces live in: an id is a slot index. Slots come in
//! chunks of `CHUNK`, allocated when a slot in them is first used and freed when their last
//! entry goes, and freed slots are reused lowest first so that live entries stay packed. So
//! the memory an arena holds follows what is alive: a fork storm does not leave its peak
//! (4096 object slots are 320 KiB) allocated for good, and growing never copies the arena
//! (a `Vec` of slots reallocated and copied a third of a megabyte inside fork). A plain
//! last-in first-out `Vec` of free ids would cost fork less, but after a fork bomb it holds
//! every id ever freed (256 KiB for some 35,000 objects, kept for good: t_forkbomb found it).

use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;

const CHUNK: usize = 64;

struct Chunk<T> {
    slots: [Option<T>; CHUNK],
    used: usize,
}

pub(crate) struct Arena<T> {
    chunks: Vec<Option<Box<Chunk<T>>>>,
    /// Slot indices in use are below `len`; the last slot below it is in use.
    len: usize,
    /// Exactly the empty slots below `len`.
    free: BTreeSet<u32>,
    live: usize,
}

impl<T> Arena<T> {
    pub(crate) const fn new() -> Self {
        Arena {
            chunks: Vec::new(),
            len: 0,
            free: BTreeSet::new(),
            live: 0,
        }
    }

    fn slot(&self, i: u32) -> Option<&Option<T>> {
        let i = i as usize;
        let c = self.chunks.get(i / CHUNK)?.as_ref()?;
        Some(&c.slots[i % CHUNK])
    }

    pub(crate) fn get(&self, i: u32) -> Option<&T> {
        self.slot(i)?.as_ref()
    }

    pub(crate) fn get_mut(&mut self, i: u32) -> Option<&mut T> {
        let i = i as usize;
        let c = self.chunks.get_mut(i / CHUNK)?.as_mut()?;
        c.slots[i % CHUNK].as_mut()
    }

    /// Live entries with their ids, in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        self.chunks
            .iter()
            .enumerate()
            .filter_map(|(ci, c)| c.as_ref().map(|c| (ci, c)))
            .flat_map(|(ci, c)| {
                c.slots
                    .iter()
                    .enumerate()
                    .filter_map(move |(j, s)| s.as_ref().map(|v| (ci * CHUNK + j, v)))
            })
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &T> {
        self.iter().map(|(_, v)| v)
    }

    /// One past the highest id in use (a bound for walks and tables indexed by id).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Live entries.
    pub(crate) fn count(&self) -> usize {
        self.live
    }

    /// Ids still available (they are `u32`).
    pub(crate) fn room(&self) -> usize {
        self.free
            .len()
            .saturating_add((u32::MAX as usize).saturating_sub(self.len))
    }

    /// Store `v` in the lowest free slot; None when the ids ran out.
    pub(crate) fn insert(&mut self, v: T) -> Option<u32> {
        let i = match self.free.first() {
            Some(&i) => i,
            None => u32::try_from(self.len).ok()?,
        };
        let (ci, j) = (i as usize / CHUNK, i as usize % CHUNK);
        if self.chunks.len() <= ci {
            self.chunks.resize_with(ci + 1, || None);
        }
        let c = self.chunks[ci].get_or_insert_with(|| {
            Box::new(Chunk {
                slots: [const { None }; CHUNK],
                used: 0,
            })
        });
        if c.slots[j].is_some() {
            // The free set named a slot in use: `check` reports it; never overwrite.
            return None;
        }
        c.slots[j] = Some(v);
        c.used += 1;
        self.free.remove(&i);
        self.len = self.len.max(i as usize + 1);
        self.live += 1;
        Some(i)
    }

    /// Take the entry out of slot `i`. An emptied chunk is freed, and so are the empty
    /// slots at the end.
    pub(crate) fn remove(&mut self, i: u32) -> Option<T> {
        let ci = i as usize / CHUNK;
        let c = self.chunks.get_mut(ci)?.as_mut()?;
        let v = c.slots[i as usize % CHUNK].take()?;
        c.used -= 1;
        if c.used == 0 {
            self.chunks[ci] = None;
        }
        self.live -= 1;
        self.free.insert(i);
        while self.len > 0 && self.get(self.len as u32 - 1).is_none() {
            self.len -= 1;
            self.free.remove(&(self.len as u32));
        }
        self.chunks.truncate(self.len.div_ceil(CHUNK));
        if self.chunks.capacity() > 16 && self.chunks.len() < self.chunks.capacity() / 4 {
            self.chunks.shrink_to(self.chunks.len() * 2);
        }
        Some(v)
    }

    /// The free set names exactly the empty slots below `len`, the last of which is in
    /// use, and every allocated chunk holds an entry.
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        if self.len > 0 && self.get(self.len as u32 - 1).is_none() {
            return Err("arena keeps an empty last slot");
        }
        if self.len + self.free.len() < self.live || self.len - self.free.len() != self.live {
            return Err("arena free set does not match its empty slots");
        }
        if self
            .free
            .iter()
            .any(|&i| i as usize >= self.len || self.get(i).is_some())
        {
            return Err("arena free set names a slot in use");
        }
        let mut live = 0;
        for c in self.chunks.iter().flatten() {
            let used = c.slots.iter().filter(|s| s.is_some()).count();
            if used == 0 || used != c.used {
                return Err("arena chunk count is wrong");
            }
            live += used;
        }
        if live != self.live || self.chunks.len() > self.len.div_ceil(CHUNK) {
            return Err("arena chunks do not match its live count");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Arena, CHUNK};

    #[test]
    fn slots_are_reused_lowest_first_and_memory_follows_the_live_entries() {
        let mut a = Arena::new();
        let ids: Vec<u32> = (0..1000).map(|i| a.insert(i).unwrap()).collect();
        assert_eq!(ids, (0..1000).collect::<Vec<_>>());
        for i in [5, 3, 700] {
            assert_eq!(a.remove(i), Some(i));
        }
        assert_eq!(a.insert(0), Some(3));
        assert_eq!(a.insert(0), Some(5));
        assert_eq!(a.insert(0), Some(700));
        a.check().unwrap();
        // Everything but one entry near the end goes: only its chunk stays allocated.
        for i in 0..999 {
            assert!(a.remove(i).is_some());
            a.check().unwrap();
        }
        assert_eq!((a.count(), a.len()), (1, 1000));
        assert_eq!(a.chunks.iter().flatten().count(), 1);
        assert_eq!(a.values().copied().collect::<Vec<_>>(), vec![999]);
        assert_eq!(a.insert(7), Some(0), "lowest free slot first");
        a.remove(999);
        a.check().unwrap();
        assert_eq!(a.len(), 1);
        a.remove(0);
        assert_eq!((a.len(), a.count()), (0, 0));
        assert!(
            a.chunks.capacity() <= 16,
            "capacity {}",
            a.chunks.capacity()
        );
        assert!(a.free.is_empty());
        assert_eq!(a.remove(0), None);
        a.check().unwrap();
    }

    #[test]
    fn the_iterator_gives_ids_in_order_across_chunks() {
        let mut a = Arena::new();
        for i in 0..3 * CHUNK as u32 {
            a.insert(i);
        }
        for i in CHUNK as u32..2 * CHUNK as u32 {
            a.remove(i);
        }
        a.check().unwrap();
        assert_eq!(
            a.chunks.iter().flatten().count(),
            2,
            "the emptied middle chunk is freed"
        );
        let ids: Vec<usize> = a.iter().map(|(i, _)| i).collect();
        let want: Vec<usize> = (0..CHUNK).chain(2 * CHUNK..3 * CHUNK).collect();
        assert_eq!(ids, want);
        assert_eq!(
            a.insert(1),
            Some(CHUNK as u32),
            "the middle chunk comes back"
        );
        a.check().unwrap();
    }
}
