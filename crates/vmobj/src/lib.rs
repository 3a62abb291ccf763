//! `vmobj`: address spaces built from Mach-style memory objects, with Unix `fork`
//! implemented as copy-on-write through shadow objects (lineage: Weenix, Codezero, Zircon).
//!
//! The crate is pure bookkeeping: it never touches a page table. Every operation that
//! changes what a mapping may do returns the page addresses whose PTEs the kernel must
//! clear or write-protect, and [`Vm::fault`] says what to install after a page fault.
//! The page type `P` is generic: the kernel plugs in its owned `Frame` (freed on drop),
//! the tests a `Vec<u8>`-backed page. Pages are created only through [`Pages`].
//!
//! # Model
//!
//! * An **object** ([`ObjKind`]) holds pages by page index (`BTreeMap<u64, P>`), an
//!   optional `below` object, and `refs` = number of areas naming it + number of shadows
//!   whose `below` it is. It also records those shadows (`above`), so a reference drop can
//!   find the one survivor to collapse into without scanning the arena.
//! * A **chain** is `top, top.below, top.below.below, ...`. The page a space sees at page
//!   index `i` is the one in the first object of the chain holding `i`; none means zero.
//!   Every chain walk is an iterative loop bounded by the arena size (no recursion, and
//!   a corrupted arena cannot make it spin).
//! * An **area** maps `[start, end)` of a space onto a window of its object: address `a`
//!   is page index `offset + (a - start) / PAGE`. A fresh anonymous mapping uses
//!   `offset = start / PAGE`. Splitting an area (unmap/protect) keeps the object and moves
//!   the offset, so the halves name the same object with disjoint windows.
//! * A **top** object is one named by areas; it never has shadows above it.
//!
//! # Operations
//!
//! * `fork`: a shared area shares its object (`refs += 1`). For private areas, each
//!   distinct top object `T` of the parent gets exactly two new shadows: `Tp` (all parent
//!   areas naming `T` now name `Tp`) and `Tc` (the child's copies name `Tc`), so `T.refs`
//!   becomes 2. The writable private parent areas whose window of `T` holds any page are
//!   returned as address ranges: the kernel must write-protect them in the parent. The
//!   work is per area, never per page.
//! * `fault`: find the page by walking the chain. Read: map what is found, writable only
//!   if it is in the top object and the area is writable; nothing found → a zero page is
//!   put in the top object. Write: in the top → in place. Found lower → if every object
//!   from below the top down to the holder has `refs == 1` (nobody else can see the
//!   page) it is *moved* up without a copy, else it is *copied* into the top. (With the
//!   eager collapse below, a lone survivor has already absorbed its sibling's old object
//!   when the sibling exited, so its writes find the page in the top and copy nothing;
//!   the move path remains as a defensive fallback.)
//! * `unmap` / `protect` split areas at the range ends; `protect` requires the range to be
//!   fully mapped and coalesces neighbours that became compatible again. `unmap` frees the
//!   top object's pages in the removed window when no other space can see that object.
//! * `destroy` drops every area; objects reaching `refs == 0` are freed (with their pages)
//!   and their `below` loses a reference, iteratively down the chain.
//!
//! # Collapse rule
//!
//! Whenever an anonymous object `B` (kind `Anon` or `Shadow`) ends up with `refs == 1`
//! and that one reference is a shadow `S` (`S.below == B`, no area names `B`), `B` is
//! merged into `S`: `S` keeps its own pages, takes `B`'s pages that it lacks (the smaller
//! map is inserted into the larger one, so a merge costs `O(min · log max)`), the pages of
//! `B` that `S` shadows are dropped, `S` adopts `B.below` (becoming `Anon` if that is
//! none), and `B` is freed. This is applied eagerly wherever a reference is dropped
//! (`destroy`, `unmap`, `protect` coalescing) and again on the chain walked by `fault`
//! (where it normally finds nothing left to do). `File` objects hold a file's pages and
//! one external reference for the file itself; a shared mapping names the file object, a
//! private one names a fresh shadow over it, so copy-on-write of file pages is the same
//! mechanism as for fork. They are never absorbed (see `file.rs`). `Phys` is declared for
//! later.
//!
//! # Invariants (verified by [`Vm::check`])
//!
//! 1. **Accounting.** Every live object has `refs >= 1`, and `refs` equals the number of
//!    areas naming it plus the number of live objects whose `below` is it; `above` lists
//!    exactly those objects. No area or `below` names a dead object; arena free lists are
//!    exact.
//! 2. **Acyclic.** Every chain ends; `Shadow` objects have a `below`, `Anon` ones do not.
//! 3. **Tops.** An object with shadows above it is named by no area. A private area's top
//!    is named only by private areas of a single space, with pairwise disjoint windows; a
//!    shared area's object is named only by shared areas and is never shadowed.
//! 4. **Binary and collapsed.** Every anonymous object with shadows above it has exactly
//!    two: fork creates them in pairs, losing one triggers the collapse rule above, losing
//!    both frees the object. Hence `refs == 1` never holds below a shadow.
//! 5. **Sides.** Each space's areas reaching a non-top object `O` all lie on the same side
//!    of `O` (in the subtree of one of its two shadows): fork puts the parent's areas on
//!    one side and the child's on the other, a forked space inherits its parent's side,
//!    and merges/splits never move an area to another subtree.
//!
//! # Chain-length bound
//!
//! For every area, with chain `O_0 (top) → O_1 → ... → O_k`:
//!
//! ```text
//! chain_len(O_0) = k + 1  <=  |{ live spaces with an area whose chain reaches O_k }|
//! ```
//!
//! Proof: for `i >= 1`, `O_i` has exactly two shadows (4); one leads to `O_{i-1}`, the
//! other subtree is non-empty and, since every live object is referenced, reaches at least
//! one area, whose space is not among those reaching `O_{i-1}` (5). So each step down the
//! chain adds at least one new space: `|spaces(O_i)| >= |spaces(O_{i-1})| + 1 >= i + 1`.
//! In particular `max_chain_len() <= live spaces`, which is stronger than the required
//! `live spaces + 1`, and a process that forks and lets the child exit (or exec) any
//! number of times keeps chain length 1: when the child's shadow dies the old object
//! drops to one reference and is merged into the parent's shadow. `check()` verifies the
//! bound for every area.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod arena;
mod check;
mod fault;
mod file;
mod fork;
mod obj;
mod space;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Size of a page in bytes.
pub const PAGE: u64 = 4096;

/// What the kernel supplies: allocation and copying of page contents. `P` is an owned
/// page (the kernel's `Frame`, freed on drop).
pub trait Pages {
    /// The owned page type.
    type P;
    /// A new page filled with zeroes, or `None` when out of memory.
    fn zeroed(&mut self) -> Option<Self::P>;
    /// A new page with the contents of `from`, or `None` when out of memory.
    fn copy(&mut self, from: &Self::P) -> Option<Self::P>;
    /// A handle on physical page `pa` (device memory) for a `Phys` object: dropping it frees
    /// nothing. `None` where the kernel allows no such mapping.
    fn device(&mut self, pa: u64) -> Option<Self::P>;
}

/// Identifies a memory object (an index into the arena; reused after the object dies).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ObjId(u32);

impl ObjId {
    /// The arena index.
    pub fn index(self) -> u32 {
        self.0
    }

    /// The id with arena index `i` (for callers that keep ids as numbers, like the file
    /// system's storage handle). An index naming no live object makes every call fail.
    pub fn from_index(i: u32) -> ObjId {
        ObjId(i)
    }
}

/// Identifies an address space (reused after the space is destroyed).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct SpaceId(u32);

impl SpaceId {
    /// The arena index.
    pub fn index(self) -> u32 {
        self.0
    }
}

/// What an object is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ObjKind {
    /// Anonymous memory, missing pages read as zero.
    Anon,
    /// Private copy-on-write overlay over `below`.
    Shadow,
    /// The pages of a file (tmpfs keeps file data here, so a shared mapping and `write`
    /// see the same pages). Created by [`Vm::new_file`]; never absorbed by a collapse.
    File {
        /// File identifier.
        file: u64,
    },
    /// A window on physical memory (device or firmware pages, `/dev/mem`): page index `i`
    /// is physical page `i`. Its pages are handles made on first touch by
    /// [`Pages::device`]; they are never moved into or absorbed by another object, so a
    /// private mapping copies on write. Created by [`Vm::map_phys`].
    Phys {
        /// Physical base address.
        base: u64,
    },
}

impl ObjKind {
    /// Anonymous objects (`Anon`, `Shadow`) take part in collapse.
    fn anonymous(self) -> bool {
        matches!(self, ObjKind::Anon | ObjKind::Shadow)
    }
}

/// Access permissions of an area.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Prot {
    /// Readable.
    pub read: bool,
    /// Writable.
    pub write: bool,
    /// Executable.
    pub exec: bool,
}

impl Prot {
    /// No access.
    pub const NONE: Prot = Prot::new(false, false, false);
    /// Read only.
    pub const R: Prot = Prot::new(true, false, false);
    /// Read and write.
    pub const RW: Prot = Prot::new(true, true, false);
    /// Read and execute.
    pub const RX: Prot = Prot::new(true, false, true);

    /// Builds a protection.
    pub const fn new(read: bool, write: bool, exec: bool) -> Prot {
        Prot { read, write, exec }
    }

    /// Whether a non-write access is allowed. As on x86, any of the three permissions
    /// makes a page readable (write-only or execute-only mappings still read).
    pub fn readable(self) -> bool {
        self.read || self.write || self.exec
    }

    /// Whether an access of the given kind is allowed.
    pub fn allows(self, write: bool) -> bool {
        if write { self.write } else { self.readable() }
    }
}

/// A mapped range of an address space.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Area {
    /// First address (page aligned).
    pub start: u64,
    /// End address, exclusive (page aligned, `> start`).
    pub end: u64,
    /// Permissions.
    pub prot: Prot,
    /// `MAP_SHARED`: writes are seen by every space mapping the object.
    pub shared: bool,
    /// Top object of the area's chain.
    pub object: ObjId,
    /// Page index in `object` of `start`.
    pub offset: u64,
    /// `MAP_GROWSDOWN`: a fault just below the area extends it down ([`Vm::grow_down`]).
    pub grows_down: bool,
}

impl Area {
    /// Whether `addr` lies inside the area.
    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }

    /// Number of pages covered.
    pub fn pages(&self) -> u64 {
        (self.end - self.start) / PAGE
    }

    /// Page index in the object of the page containing `addr` (which must be inside).
    pub fn page_index(&self, addr: u64) -> u64 {
        self.offset + (addr - self.start) / PAGE
    }

    /// Address of object page index `idx` (which must be inside the window).
    fn addr_of(&self, idx: u64) -> u64 {
        self.start + (idx - self.offset) * PAGE
    }
}

/// Why a fault or a mapping operation failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fault {
    /// No area at the address, an overlap, a hole, a bad range, or an unknown space.
    MapErr,
    /// The area's protection forbids the access.
    AccErr,
    /// Page (or arena) allocation failed; nothing was changed.
    NoMemory,
}

/// What the kernel must install in the page table after a fault.
#[derive(Debug)]
pub struct Resolved<'a, P> {
    /// The page to map.
    pub page: &'a P,
    /// Map it read-write (the page is owned by the top object and the area is writable)
    /// rather than read-only (shared through the chain, or a read-only area).
    pub writable: bool,
    /// The page was copied from a lower object.
    pub copied: bool,
    /// The page was freshly allocated and zeroed.
    pub zero_filled: bool,
}

/// Read-only view of an object, for inspection and tests.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ObjInfo {
    /// Kind.
    pub kind: ObjKind,
    /// The object this one shadows.
    pub below: Option<ObjId>,
    /// Areas naming it plus shadows over it.
    pub refs: u32,
    /// Pages it owns.
    pub pages: usize,
}

struct Obj<P> {
    kind: ObjKind,
    below: Option<ObjId>,
    pages: BTreeMap<u64, P>,
    refs: u32,
    /// The shadows whose `below` is this object (at most two for anonymous objects).
    above: Vec<ObjId>,
    /// References from outside the model, counted in `refs`: a file object's file.
    external: u32,
}

struct Space {
    /// Areas keyed by start address; sorted and non-overlapping.
    areas: BTreeMap<u64, Area>,
}

/// All memory objects and address spaces.
pub struct Vm<P> {
    objs: arena::Arena<Obj<P>>,
    spaces: arena::Arena<Space>,
    /// Live `Phys` objects: while there are none, faults skip looking for one.
    phys_objects: usize,
}

impl<P> Default for Vm<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P> Vm<P> {
    /// An empty VM with no spaces and no objects.
    pub fn new() -> Self {
        Vm {
            objs: arena::Arena::new(),
            spaces: arena::Arena::new(),
            phys_objects: 0,
        }
    }

    /// The areas of `s`, sorted by address (empty for an unknown space).
    pub fn areas(&self, s: SpaceId) -> impl Iterator<Item = &Area> {
        self.space(s).into_iter().flat_map(|sp| sp.areas.values())
    }

    /// The area of `s` containing `addr`.
    pub fn area_at(&self, s: SpaceId, addr: u64) -> Option<&Area> {
        let sp = self.space(s)?;
        let (_, a) = sp.areas.range(..=addr).next_back()?;
        a.contains(addr).then_some(a)
    }

    fn space(&self, s: SpaceId) -> Option<&Space> {
        self.spaces.get(s.0)
    }

    fn space_mut(&mut self, s: SpaceId) -> Option<&mut Space> {
        self.spaces.get_mut(s.0)
    }
}
