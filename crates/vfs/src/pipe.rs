//! The buffer inside a pipe or FIFO, without blocking: the kernel decides whether to sleep from
//! what these calls return. POSIX's rule is kept here: a write of at most [`PIPE_BUF`] bytes is
//! all-or-nothing, so records from concurrent writers never interleave; a larger write may be
//! split.

use alloc::collections::VecDeque;

/// Writes up to this size are atomic (Linux and POSIX: 4096).
pub const PIPE_BUF: usize = 4096;
/// Default capacity (Linux: 16 pages).
pub const PIPE_CAPACITY: usize = 65536;

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

pub struct PipeBuf {
    data: VecDeque<u8>,
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
            data: VecDeque::new(),
            capacity,
            readers: 0,
            writers: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn space(&self) -> usize {
        self.capacity - self.data.len()
    }

    pub fn read(&mut self, out: &mut [u8]) -> Read {
        if self.data.is_empty() {
            return if self.writers == 0 {
                Read::Eof
            } else {
                Read::Empty
            };
        }
        if out.is_empty() {
            return Read::Data(0);
        }
        let n = out.len().min(self.data.len());
        for (o, b) in out.iter_mut().zip(self.data.drain(..n)) {
            *o = b;
        }
        if self.data.is_empty() {
            // Give the memory back when a burst is over.
            self.data = VecDeque::new();
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
        if self.data.try_reserve(n).is_err() {
            return Write::Full;
        }
        self.data.extend(&src[..n]);
        Write::Wrote(n)
    }

    /// Change the capacity (`F_SETPIPE_SZ`); it cannot drop below what is buffered.
    pub fn set_capacity(&mut self, capacity: usize) -> bool {
        if capacity < self.data.len() {
            return false;
        }
        self.capacity = capacity;
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
    }
}
