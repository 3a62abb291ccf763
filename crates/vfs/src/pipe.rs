//! The buffer inside a pipe or FIFO, without blocking: the kernel decides whether to sleep from
//! what these calls return. POSIX's rule is kept here: a write of at most [`PIPE_BUF`] bytes is
//! all-or-nothing, so records from concurrent writers never interleave; a larger write may be
//! split.

use alloc::vec::Vec;

/// Writes up to this size are atomic (Linux and POSIX: 4096).
pub const PIPE_BUF: usize = 4096;
/// Default capacity (Linux: 16 pages).
pub const PIPE_CAPACITY: usize = 65536;
/// The smallest ring a pipe allocates.
const MIN_RING: usize = 4096;

#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// This many bytes were copied out (at least one).
    Data(usize),
    /// Empty, and no writer is left: end of file.
    Eof,
    /// Empty, but a writer may still write: the reader waits (or gets `EAGAIN`).
    Empty,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Write {
    /// This many bytes were taken (at least one).
    Wrote(usize),
    /// No room for this write now (none at all, or not enough for an atomic one).
    Full,
    /// No reader is left: `EPIPE` (and `SIGPIPE`).
    Broken,
}

/// A ring of bytes: `len` bytes starting at `head` (wrapping). The buffer starts small and
/// grows (doubling, up to the capacity) when a write needs room, and is kept while the pipe
/// lives, so a ping-pong of small messages allocates nothing. Bytes move with slice copies,
/// at most two per operation.
pub struct PipeBuf {
    ring: Vec<u8>,
    head: usize,
    len: usize,
    capacity: usize,
    pub readers: u32,
    pub writers: u32,
}

impl Default for PipeBuf {
    fn default() -> Self {
        Self::new(PIPE_CAPACITY)
    }
}

impl PipeBuf {
    /// An empty pipe with no ends open yet.
    pub fn new(capacity: usize) -> PipeBuf {
        PipeBuf {
            ring: Vec::new(),
            head: 0,
            len: 0,
            capacity,
            readers: 0,
            writers: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn space(&self) -> usize {
        self.capacity - self.len
    }

    pub fn read(&mut self, out: &mut [u8]) -> Read {
        if self.len == 0 {
            return if self.writers == 0 {
                Read::Eof
            } else {
                Read::Empty
            };
        }
        if out.is_empty() {
            return Read::Data(0);
        }
        let n = out.len().min(self.len);
        let cap = self.ring.len();
        let first = n.min(cap - self.head);
        out[..first].copy_from_slice(&self.ring[self.head..self.head + first]);
        out[first..n].copy_from_slice(&self.ring[..n - first]);
        self.head = (self.head + n) % cap;
        self.len -= n;
        if self.len == 0 {
            self.head = 0;
        }
        Read::Data(n)
    }

    /// Take as much of `src` as the rules allow. An empty `src` is a successful no-op.
    pub fn write(&mut self, src: &[u8]) -> Write {
        if self.readers == 0 {
            return Write::Broken;
        }
        if src.is_empty() {
            return Write::Wrote(0);
        }
        let room = self.space();
        let n = if src.len() <= PIPE_BUF {
            if room < src.len() {
                return Write::Full;
            }
            src.len()
        } else {
            if room == 0 {
                return Write::Full;
            }
            room.min(src.len())
        };
        if self.len + n > self.ring.len() {
            let want = (self.len + n)
                .next_power_of_two()
                .clamp(MIN_RING, self.capacity.max(MIN_RING));
            if !self.resize_ring(want) {
                return Write::Full;
            }
        }
        let cap = self.ring.len();
        let tail = (self.head + self.len) % cap;
        let first = n.min(cap - tail);
        self.ring[tail..tail + first].copy_from_slice(&src[..first]);
        self.ring[..n - first].copy_from_slice(&src[first..n]);
        self.len += n;
        Write::Wrote(n)
    }

    /// Change the capacity (`F_SETPIPE_SZ`); it cannot drop below what is buffered.
    pub fn set_capacity(&mut self, capacity: usize) -> bool {
        if capacity < self.len {
            return false;
        }
        self.capacity = capacity;
        true
    }

    /// Move the buffered bytes into a ring of `size` bytes, starting at its beginning.
    fn resize_ring(&mut self, size: usize) -> bool {
        let mut v = Vec::new();
        if v.try_reserve_exact(size).is_err() {
            return false;
        }
        v.resize(size, 0);
        let cap = self.ring.len();
        if self.len > 0 {
            let first = self.len.min(cap - self.head);
            v[..first].copy_from_slice(&self.ring[self.head..self.head + first]);
            v[first..self.len].copy_from_slice(&self.ring[..self.len - first]);
        }
        self.ring = v;
        self.head = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn open() -> PipeBuf {
        let mut p = PipeBuf::new(PIPE_CAPACITY);
        p.readers = 1;
        p.writers = 1;
        p
    }

    #[test]
    fn eof_only_without_writers() {
        let mut p = open();
        let mut b = [0u8; 4];
        assert_eq!(p.read(&mut b), Read::Empty);
        assert_eq!(p.write(b"hi"), Write::Wrote(2));
        p.writers = 0;
        assert_eq!(p.read(&mut b), Read::Data(2));
        assert_eq!(&b[..2], b"hi");
        assert_eq!(p.read(&mut b), Read::Eof);
    }

    #[test]
    fn broken_without_readers() {
        let mut p = open();
        p.readers = 0;
        assert_eq!(p.write(b"x"), Write::Broken);
        assert_eq!(p.write(b""), Write::Broken);
    }

    #[test]
    fn small_writes_are_atomic_large_ones_split() {
        let mut p = open();
        let big = vec![1u8; PIPE_CAPACITY - 100];
        assert_eq!(p.write(&big), Write::Wrote(PIPE_CAPACITY - 100));
        // 200 bytes do not fit in the 100 left: nothing is written.
        assert_eq!(p.write(&[2u8; 200]), Write::Full);
        assert_eq!(p.len(), PIPE_CAPACITY - 100);
        // A write above PIPE_BUF takes what fits.
        assert_eq!(p.write(&[3u8; PIPE_BUF + 1]), Write::Wrote(100));
        assert_eq!(p.write(&[3u8; PIPE_BUF + 1]), Write::Full);
        assert_eq!(p.space(), 0);
    }

    proptest! {
        /// Whatever the sequence of reads and writes, bytes come out in the order they went in,
        /// and the buffer never holds more than its capacity.
        #[test]
        fn fifo_order(ops in proptest::collection::vec((any::<bool>(), 0usize..9000), 1..60)) {
            let mut p = PipeBuf::new(16384);
            p.readers = 1;
            p.writers = 1;
            let mut next = 0u8;
            let mut expect = 0u8;
            for (is_write, n) in ops {
                if is_write {
                    let src: Vec<u8> = (0..n).map(|i| next.wrapping_add(i as u8)).collect();
                    if let Write::Wrote(k) = p.write(&src) {
                        if n <= PIPE_BUF {
                            prop_assert_eq!(k, n);
                        }
                        next = next.wrapping_add(k as u8);
                    }
                } else {
                    let mut out = vec![0u8; n];
                    if let Read::Data(k) = p.read(&mut out) {
                        for b in &out[..k] {
                            prop_assert_eq!(*b, expect);
                            expect = expect.wrapping_add(1);
                        }
                    }
                }
                prop_assert!(p.len() <= p.capacity());
            }
        }

        /// Growing the capacity with bytes buffered keeps them in order.
        #[test]
        fn resize_keeps_order(pre in 0usize..9000, reads in 0usize..9000) {
            let mut p = PipeBuf::new(16384);
            p.readers = 1;
            p.writers = 1;
            let src: Vec<u8> = (0..16384u32).map(|i| i as u8).collect();
            let _ = p.write(&src[..pre.min(16384)]);
            let mut out = vec![0u8; reads];
            let got = match p.read(&mut out) { Read::Data(n) => n, _ => 0 };
            let _ = p.write(&src[..pre.min(16384 - p.len())]);
            prop_assert!(p.set_capacity(65536));
            let _ = p.write(&src[..1000]);
            let mut all = vec![0u8; 70000];
            let n = match p.read(&mut all) { Read::Data(n) => n, _ => 0 };
            prop_assert_eq!(n + got, pre.min(16384) + pre.min(16384 - (pre.min(16384) - got)) + 1000);
        }
    }
}
