//! Fuzzing the initramfs unpacker and the path walk (see the `fuzz` crate).
//!
//! `unpack`: images from `fuzz/corpus/unpack/` and the cpio crate's corpus, then mutations.
//! Beyond "never panics": an image the cpio reader finds malformed leaves a reason in
//! `Stats::errors`; the bytes written are bounded by the entries' data (so by the input, or by
//! the decompression limit), the files' sizes and pages by the bytes written, the inodes by the
//! entries; unpacking the same image into two fresh trees gives the same tree; and an image
//! that unpacked without errors or skips unpacks again on top of itself to the same tree.
//!
//! `walk`: scripts from `fuzz/corpus/walk/`, one command per line, that build a small tree
//! (directories, files, symbolic links, mounts, permissions, a changed root or working
//! directory) and walk paths in it; every path is resolved by the crate and by the reference
//! resolver below, written from Linux's rules, and the answers must agree: the node, or the
//! error (`ENOENT`, `ENOTDIR`, `ENAMETOOLONG`, `ELOOP`, `EACCES`).

mod unpack {
    use std::collections::BTreeMap;
    use vfs::unpack::unpack;
    use vfs::{Cred, NoExt, Timespec, Vfs, Walk, mode};

    const LIMIT: usize = 1 << 20;

    fn clock() -> Timespec {
        Timespec { sec: 0, nsec: 0 }
    }

    /// One node of a tree, described without inode numbers: hard links name the first path
    /// of their inode.
    #[derive(Debug, PartialEq)]
    pub struct Item {
        path: Vec<u8>,
        mode: u32,
        uid: u32,
        gid: u32,
        nlink: u32,
        size: u64,
        rdev: u64,
        mtime: i64,
        same_as: Option<usize>,
        /// File contents or link target.
        data: Vec<u8>,
    }

    /// The whole tree, in path order.
    pub fn describe(v: &mut Vfs) -> Vec<Item> {
        let mut out: Vec<Item> = Vec::new();
        let mut first: BTreeMap<u64, usize> = BTreeMap::new();
        let mut stack = vec![(b"/".to_vec(), v.root())];
        while let Some((path, node)) = stack.pop() {
            let a = v.attr(node, &NoExt).expect("a listed node has attributes");
            let mut data = Vec::new();
            if mode::is_reg(a.mode) {
                data = vec![0; a.size as usize];
                let n = v.read(node, 0, &mut data).expect("read a file");
                assert_eq!(n as u64, a.size);
            } else if mode::is_lnk(a.mode) {
                data = v.readlink(node, &NoExt).expect("readlink");
            }
            let same_as = first.get(&a.ino).copied();
            first.entry(a.ino).or_insert(out.len());
            out.push(Item {
                path: path.clone(),
                mode: a.mode,
                uid: a.uid,
                gid: a.gid,
                nlink: a.nlink,
                size: a.size,
                rdev: a.rdev,
                mtime: a.mtime.sec,
                same_as,
                data,
            });
            if mode::is_dir(a.mode) {
                let list = v.readdir(node, &NoExt).expect("readdir");
                for e in list.iter().rev() {
                    if e.name == b"." || e.name == b".." {
                        continue;
                    }
                    let child = v.child(node, &e.name, &NoExt).expect("listed child");
                    let mut p = path.clone();
                    if p.len() > 1 {
                        p.push(b'/');
                    }
                    p.extend_from_slice(&e.name);
                    stack.push((p, child));
                }
            }
        }
        out
    }

    /// What the cpio reader says about an image: whether it is well formed, the bytes of all
    /// its pieces, the data bytes and the number of its entries (up to the first error).
    fn survey(data: &[u8]) -> (bool, usize, usize, usize) {
        let Ok(pieces) = cpio::split_initramfs(data, LIMIT) else {
            return (false, 0, 0, 0);
        };
        let (mut ok, mut piece_bytes, mut bytes, mut count) = (true, 0, 0, 0);
        for p in &pieces {
            piece_bytes += p.bytes().len();
            for e in cpio::read(p.bytes()) {
                match e {
                    Ok(e) => {
                        bytes += e.data.len();
                        count += 1;
                    }
                    Err(_) => {
                        ok = false;
                        break;
                    }
                }
            }
        }
        (ok, piece_bytes, bytes, count)
    }

    fn check(data: &[u8], cov: &mut fuzz::Cov) {
        let mut a = Vfs::new(clock);
        let st = unpack(&mut a, data, LIMIT);
        let (well_formed, piece_bytes, entry_bytes, entries) = survey(data);
        if !well_formed {
            assert!(
                !st.errors.is_empty(),
                "a malformed image unpacked without a reason"
            );
        }
        assert!(st.errors.iter().all(|e| !e.trim().is_empty()));
        assert!(
            st.bytes <= entry_bytes && entry_bytes <= piece_bytes,
            "{} bytes written from entries holding {entry_bytes}",
            st.bytes
        );
        assert!(piece_bytes <= data.len() + LIMIT);
        assert!(st.files + st.dirs + st.symlinks <= entries);
        assert!(a.inode_count() <= entries + 1, "more inodes than entries");
        let tree = describe(&mut a);
        let mut sizes = 0;
        let mut pages = 0;
        for it in tree.iter().filter(|it| it.same_as.is_none()) {
            if mode::is_reg(it.mode) {
                sizes += it.size as usize;
                pages += it.size.div_ceil(4096) as usize;
            }
        }
        assert!(
            sizes <= st.bytes,
            "{sizes} bytes in files, {} written",
            st.bytes
        );
        assert!(a.pages() <= pages);
        // Every node is found again by its path.
        let w = Walk {
            root: a.root(),
            start: a.root(),
            cred: Cred::ROOT,
            ext: &NoExt,
        };
        for it in &tree {
            let n = a
                .resolve(&w, &it.path, false)
                .expect("a listed path resolves");
            assert_eq!(a.attr(n, &NoExt).map(|x| x.mode), Ok(it.mode));
        }

        let mut b = Vfs::new(clock);
        let again = unpack(&mut b, data, LIMIT);
        assert_eq!(again.errors, st.errors, "unpacking is not deterministic");
        assert!(describe(&mut b) == tree, "unpacking is not deterministic");

        let clean = st.errors.is_empty() && st.skipped == 0;
        if clean {
            let twice = unpack(&mut a, data, LIMIT);
            assert!(
                describe(&mut a) == tree,
                "a clean image unpacked on top of itself changed the tree ({:?})",
                twice.errors
            );
        }
        cov.hit((
            clean,
            fuzz::bucket(st.files),
            fuzz::bucket(st.dirs),
            fuzz::bucket(st.symlinks),
            fuzz::bucket(st.skipped),
            fuzz::bucket(tree.len()),
        ));
        for e in &st.errors {
            // The kind of error, without names and sizes.
            cov.hit(e.split([' ', '(']).next());
        }
    }

    #[test]
    fn fuzz_unpack() {
        let cpio_corpus =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../cpio/fuzz/corpus/initramfs");
        fuzz::target("unpack", env!("CARGO_MANIFEST_DIR"))
            .corpus_dir(cpio_corpus)
            .max_len(1 << 15)
            .iterations(6_000)
            .dict([
                &b"070701"[..],
                b"TRAILER!!!\0",
                b"00000000",
                b"00000002",
                b"ffffffff",
                b"000081a4",
                b"000041ed",
                b"0000a1ff",
                b"000021b6",
                b"000011a4",
                b"./",
                b"../",
                b"/",
                b"a/b",
            ])
            .run(check);
    }
}

mod walk {
    use std::collections::BTreeMap;
    use vfs::{Cred, Errno, NewKind, NoExt, Node, Parent, Timespec, Vfs, Walk, mode};

    const NAME_MAX: usize = 255;
    const PATH_MAX: usize = 4096;
    const MAXSYMLINKS: u32 = 40;
    const USER: Cred<'static> = Cred {
        uid: 1000,
        gid: 1000,
        groups: &[],
    };

    fn clock() -> Timespec {
        Timespec { sec: 0, nsec: 0 }
    }

    type R<T> = Result<T, Errno>;

    enum Kind {
        Dir {
            entries: BTreeMap<Vec<u8>, usize>,
            /// The directory holding this one; a file system's root is its own parent.
            parent: usize,
        },
        File,
        Link(Vec<u8>),
    }

    struct MNode {
        kind: Kind,
        /// Permission bits; every node belongs to root.
        perm: u32,
    }

    /// The reference: a tree of plain nodes and a resolver written from Linux's path walk
    /// (`fs/namei.c`): a total of 40 links per walk, search permission on every directory
    /// passed through (also the one holding the last component), `..` stopping at the walk's
    /// root and leaving mounts, a trailing slash demanding a directory and following a final
    /// link, `NAME_MAX` per component after the permission check, `PATH_MAX` for the path.
    struct Model {
        nodes: Vec<MNode>,
        /// (covered directory, mounted root), in mount order.
        mounts: Vec<(usize, usize)>,
    }

    /// Where a walk starts, in model nodes.
    #[derive(Clone, Copy)]
    struct MWalk {
        root: usize,
        start: usize,
        user: bool,
    }

    fn comps(path: &[u8]) -> Vec<&[u8]> {
        path.split(|&b| b == b'/')
            .filter(|c| !c.is_empty())
            .collect()
    }

    impl Model {
        fn is_dir(&self, n: usize) -> bool {
            matches!(self.nodes[n].kind, Kind::Dir { .. })
        }

        fn searchable(&self, w: MWalk, n: usize) -> bool {
            !w.user || self.nodes[n].perm & 0o001 != 0
        }

        fn covered(&self, mut n: usize) -> usize {
            while let Some(&(_, root)) = self.mounts.iter().rev().find(|m| m.0 == n) {
                n = root;
            }
            n
        }

        fn dotdot(&self, w: MWalk, mut dir: usize) -> usize {
            if dir == w.root {
                return dir;
            }
            while let Some(&(at, _)) = self.mounts.iter().rev().find(|m| m.1 == dir) {
                dir = at;
            }
            match self.nodes[dir].kind {
                Kind::Dir { parent, .. } => self.covered(parent),
                _ => dir,
            }
        }

        /// One component from directory `dir`.
        fn step(
            &self,
            w: MWalk,
            dir: usize,
            name: &[u8],
            follow: bool,
            links: &mut u32,
        ) -> R<usize> {
            let Kind::Dir { entries, .. } = &self.nodes[dir].kind else {
                return Err(Errno::ENOTDIR);
            };
            if !self.searchable(w, dir) {
                return Err(Errno::EACCES);
            }
            match name {
                b"." => return Ok(dir),
                b".." => return Ok(self.dotdot(w, dir)),
                _ => {}
            }
            if name.len() > NAME_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            let child = self.covered(*entries.get(name).ok_or(Errno::ENOENT)?);
            match &self.nodes[child].kind {
                Kind::Link(target) if follow => {
                    *links += 1;
                    if *links > MAXSYMLINKS {
                        return Err(Errno::ELOOP);
                    }
                    self.walk_from(w, dir, target, true, links)
                }
                _ => Ok(child),
            }
        }

        /// Walk `path` from `dir` (or the root for an absolute path), following a final link
        /// if `follow`.
        fn walk_from(
            &self,
            w: MWalk,
            dir: usize,
            path: &[u8],
            follow: bool,
            links: &mut u32,
        ) -> R<usize> {
            if path.is_empty() {
                return Err(Errno::ENOENT);
            }
            let slash = path.ends_with(b"/");
            let cs = comps(path);
            let mut cur = if path[0] == b'/' { w.root } else { dir };
            for (i, c) in cs.iter().enumerate() {
                let last = i + 1 == cs.len();
                cur = self.step(w, cur, c, !last || follow || slash, links)?;
                if (!last || slash) && !self.is_dir(cur) {
                    return Err(Errno::ENOTDIR);
                }
            }
            Ok(cur)
        }

        fn resolve(&self, w: MWalk, path: &[u8], follow: bool) -> (R<usize>, u32) {
            if path.len() >= PATH_MAX {
                return (Err(Errno::ENAMETOOLONG), 0);
            }
            let mut links = 0;
            let r = self.walk_from(w, w.start, path, follow, &mut links);
            (r, links)
        }

        /// All but the last component; the directory holding it must be searchable.
        fn parent(&self, w: MWalk, path: &[u8]) -> R<(usize, Vec<u8>, bool)> {
            if path.is_empty() {
                return Err(Errno::ENOENT);
            }
            if path.len() >= PATH_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            let slash = path.ends_with(b"/");
            let mut cs = comps(path);
            let Some(last) = cs.pop() else {
                return Ok((w.root, b".".to_vec(), slash));
            };
            let mut links = 0;
            let mut cur = if path[0] == b'/' { w.root } else { w.start };
            for c in cs {
                cur = self.step(w, cur, c, true, &mut links)?;
                if !self.is_dir(cur) {
                    return Err(Errno::ENOTDIR);
                }
            }
            if !self.searchable(w, cur) {
                return Err(Errno::EACCES);
            }
            if last.len() > NAME_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            Ok((cur, last.to_vec(), slash))
        }

        /// `create` as the tree does it (the walk target's concern is finding the parent).
        fn create(&mut self, w: MWalk, dir: usize, name: &[u8], kind: Kind) -> R<usize> {
            if name == b"." || name == b".." {
                return Err(Errno::EEXIST);
            }
            if name.len() > NAME_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            if !self.is_dir(dir) {
                return Err(Errno::ENOTDIR);
            }
            if w.user && self.nodes[dir].perm & 0o003 != 0o003 {
                return Err(Errno::EACCES);
            }
            let Kind::Dir { entries, .. } = &self.nodes[dir].kind else {
                return Err(Errno::ENOTDIR);
            };
            if entries.contains_key(name) {
                return Err(Errno::EEXIST);
            }
            if let Kind::Link(t) = &kind {
                if t.is_empty() {
                    return Err(Errno::ENOENT);
                }
                if t.len() >= PATH_MAX {
                    return Err(Errno::ENAMETOOLONG);
                }
            }
            let id = self.nodes.len();
            let kind = match kind {
                Kind::Dir { entries, .. } => Kind::Dir {
                    entries,
                    parent: dir,
                },
                k => k,
            };
            let perm = match kind {
                Kind::Dir { .. } => 0o755,
                Kind::File => 0o644,
                Kind::Link(_) => 0o777,
            };
            self.nodes.push(MNode { kind, perm });
            if let Kind::Dir { entries, .. } = &mut self.nodes[dir].kind {
                entries.insert(name.to_vec(), id);
            }
            Ok(id)
        }
    }

    /// The crate's tree and the model side by side, with the node correspondence.
    struct World {
        v: Vfs,
        m: Model,
        /// Model node -> crate node.
        node: Vec<Node>,
        /// Crate node -> model node.
        index: BTreeMap<Node, usize>,
        w: MWalk,
    }

    impl World {
        fn new() -> World {
            let v = Vfs::new(clock);
            let root = v.root();
            World {
                v,
                m: Model {
                    nodes: vec![MNode {
                        kind: Kind::Dir {
                            entries: BTreeMap::new(),
                            parent: 0,
                        },
                        perm: 0o755,
                    }],
                    mounts: Vec::new(),
                },
                node: vec![root],
                index: BTreeMap::from([(root, 0)]),
                w: MWalk {
                    root: 0,
                    start: 0,
                    user: false,
                },
            }
        }

        fn add(&mut self, id: usize, n: Node) {
            assert_eq!(id, self.node.len());
            self.node.push(n);
            assert!(self.index.insert(n, id).is_none(), "a node created twice");
        }

        fn walk(&self) -> Walk<'static> {
            Walk {
                root: self.node[self.w.root],
                start: self.node[self.w.start],
                cred: if self.w.user { USER } else { Cred::ROOT },
                ext: &NoExt,
            }
        }

        fn to_model(&self, r: R<Node>) -> R<usize> {
            r.map(|n| {
                *self
                    .index
                    .get(&n)
                    .expect("the walk found a node the model lacks")
            })
        }

        /// Resolve with both and compare.
        fn resolve(&self, path: &[u8], follow: bool, cov: &mut fuzz::Cov) -> R<usize> {
            let got = self.to_model(self.v.resolve(&self.walk(), path, follow));
            let (want, links) = self.m.resolve(self.w, path, follow);
            assert_eq!(got, want, "resolve(follow: {follow}) of {:?}", show(path));
            cov.hit(("resolve", follow, want, fuzz::bucket(links as usize)));
            want
        }

        fn parent(&self, path: &[u8], cov: &mut fuzz::Cov) -> R<(usize, Vec<u8>, bool)> {
            let got = self
                .v
                .resolve_parent(&self.walk(), path)
                .map(|Parent { dir, name, slash }| (self.to_model(Ok(dir)).unwrap(), name, slash));
            let want = self.m.parent(self.w, path);
            assert_eq!(got, want, "resolve_parent of {:?}", show(path));
            cov.hit(("parent", want.as_ref().err().copied()));
            want
        }

        /// A path with every check: the parent, the node with and without following, and
        /// `resolve_final` against following.
        fn query(&self, path: &[u8], cov: &mut fuzz::Cov) {
            let _ = self.parent(path, cov);
            let followed = self.resolve(path, true, cov);
            let _ = self.resolve(path, false, cov);
            let fin = self.v.resolve_final(&self.walk(), path);
            if let Ok(n) = followed {
                let (got, p) = fin
                    .as_ref()
                    .expect("resolve_final fails where resolve follows");
                assert_eq!(self.index[got], n, "resolve_final of {:?}", show(path));
                let here = Walk {
                    start: p.dir,
                    ..self.walk()
                };
                // The directory and name it was found by name it, except for the root reached
                // by slashes alone (`/`, or a link to `//`), which has no name to look up.
                if !(p.name == b"." && *got == here.root) {
                    assert_eq!(self.v.resolve(&here, &p.name, false), Ok(*got));
                }
                let a = self.v.attr(*got, &NoExt).unwrap();
                assert!(!mode::is_lnk(a.mode));
            }
            cov.hit(("final", fin.map(|_| ()), followed.map(|_| ())));
        }

        fn create(&mut self, path: &[u8], kind: Kind, cov: &mut fuzz::Cov) {
            let Ok((dir, name, _)) = self.parent(path, cov) else {
                return;
            };
            let new = match &kind {
                Kind::Dir { .. } => NewKind::Dir,
                Kind::File => NewKind::File,
                Kind::Link(t) => NewKind::Symlink(t),
            };
            let perm = match kind {
                Kind::Dir { .. } => 0o755,
                _ => 0o644,
            };
            let cred = self.walk().cred;
            let got = self.v.create(self.node[dir], &name, new, perm, &cred);
            let want = self.m.create(self.w, dir, &name, kind);
            assert_eq!(
                got.as_ref().map(|_| ()),
                want.as_ref().map(|_| ()),
                "create {:?}",
                show(path)
            );
            cov.hit(("create", want.as_ref().err().copied()));
            if let (Ok(n), Ok(id)) = (got, want) {
                self.add(id, n);
            }
        }

        /// The directory a command names, resolved as root (following links).
        fn dir_at(&self, path: &[u8]) -> Option<usize> {
            let w = MWalk {
                user: false,
                ..self.w
            };
            let id = self.m.resolve(w, path, true).0.ok()?;
            self.m.is_dir(id).then_some(id)
        }

        fn line(&mut self, line: &[u8], cov: &mut fuzz::Cov) {
            let (op, arg) = match line.split_first() {
                Some((&op, rest)) => (op, rest.strip_prefix(b" ").unwrap_or(rest)),
                None => (b'?', &b""[..]),
            };
            cov.hit(("op", op));
            match op {
                b'd' => self.create(
                    arg,
                    Kind::Dir {
                        entries: BTreeMap::new(),
                        parent: 0,
                    },
                    cov,
                ),
                b'f' => self.create(arg, Kind::File, cov),
                b'l' => {
                    let (path, target) = match arg.iter().position(|&b| b == b' ') {
                        Some(i) => (&arg[..i], &arg[i + 1..]),
                        None => (arg, &b""[..]),
                    };
                    self.create(path, Kind::Link(target.to_vec()), cov);
                }
                // Toggle search permission for others (0o755 <-> 0o700).
                b'x' => {
                    if let Some(id) = self.dir_at(arg) {
                        let perm = if self.m.nodes[id].perm == 0o755 {
                            0o700
                        } else {
                            0o755
                        };
                        self.v.chmod(self.node[id], perm, &Cred::ROOT).unwrap();
                        self.m.nodes[id].perm = perm;
                    }
                }
                // Mount a fresh tmpfs.
                b'm' => {
                    if let Some(at) = self.dir_at(arg) {
                        let root = self.v.new_tmpfs(0o755);
                        self.v
                            .mount(self.node[at], root, "tmpfs", b"fuzz", &NoExt)
                            .unwrap();
                        let id = self.m.nodes.len();
                        self.m.nodes.push(MNode {
                            kind: Kind::Dir {
                                entries: BTreeMap::new(),
                                parent: id,
                            },
                            perm: 0o755,
                        });
                        self.m.mounts.push((at, id));
                        self.add(id, root);
                    }
                }
                b'u' => self.w.user = true,
                b'r' => self.w.user = false,
                b'c' => {
                    if let Some(id) = self.dir_at(arg) {
                        self.w.start = id;
                    }
                }
                b'C' => {
                    if let Some(id) = self.dir_at(arg) {
                        self.w.root = id;
                    }
                }
                b'R' => {
                    self.w.root = 0;
                    self.w.start = 0;
                }
                // `?` and anything else: the whole line is a path to walk.
                b'?' => self.query(arg, cov),
                _ => self.query(line, cov),
            }
        }
    }

    /// A path for messages: text where it is text, shortened.
    fn show(p: &[u8]) -> String {
        let s = String::from_utf8_lossy(p);
        if s.len() > 200 {
            format!("{}...({} bytes)", &s[..s.floor_char_boundary(200)], p.len())
        } else {
            s.into_owned()
        }
    }

    fn check(data: &[u8], cov: &mut fuzz::Cov) {
        let mut w = World::new();
        for line in data.split(|&b| b == b'\n').take(400) {
            if w.m.nodes.len() > 400 {
                break;
            }
            w.line(line, cov);
        }
    }

    #[test]
    fn fuzz_walk() {
        fuzz::target("walk", env!("CARGO_MANIFEST_DIR"))
            .max_len(1 << 14)
            .iterations(3_000)
            .dict([
                &b"\nd "[..],
                b"\nf ",
                b"\nl ",
                b"\nm ",
                b"\nx ",
                b"\nc ",
                b"\nC ",
                b"\nu\n",
                b"\nr\n",
                b"\nR\n",
                b"\n? ",
                b"../",
                b"./",
                b"/",
                b"//",
                b"..",
                b"\0",
            ])
            .run(check);
    }
}
