//! AF_UNIX stream sockets from socketpair(2): two pipes crossed, one per direction. Each end
//! reads from one and writes to the other; `shutdown(SHUT_WR)` closes its write side early so
//! the peer reads end-of-file while the other direction keeps working.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};

use super::pipe::{POLLHUP, POLLIN, POLLOUT, Pipe};

pub struct SocketEnd {
    pub rx: Arc<Pipe>,
    pub tx: Arc<Pipe>,
    write_shut: AtomicBool,
    read_shut: AtomicBool,
}

impl SocketEnd {
    /// A connected pair.
    pub fn pair() -> (SocketEnd, SocketEnd) {
        let (a, b) = (Pipe::new(), Pipe::new());
        (SocketEnd::new(a.clone(), b.clone()), SocketEnd::new(b, a))
    }

    fn new(rx: Arc<Pipe>, tx: Arc<Pipe>) -> SocketEnd {
        rx.add_end(false);
        tx.add_end(true);
        SocketEnd {
            rx,
            tx,
            write_shut: AtomicBool::new(false),
            read_shut: AtomicBool::new(false),
        }
    }

    /// shutdown(2): `how` 0 = read, 1 = write, 2 = both.
    pub fn shutdown(&self, how: u32) {
        if how != 1 && !self.read_shut.swap(true, Ordering::Relaxed) {
            self.rx.drop_end(false);
        }
        if how != 0 && !self.write_shut.swap(true, Ordering::Relaxed) {
            self.tx.drop_end(true);
        }
    }

    pub fn read_closed(&self) -> bool {
        self.read_shut.load(Ordering::Relaxed)
    }

    pub fn write_closed(&self) -> bool {
        self.write_shut.load(Ordering::Relaxed)
    }

    pub fn poll(&self) -> i16 {
        let mut r = self.rx.poll(false) & POLLIN;
        let peer_gone = self.rx.buf.lock().writers == 0;
        if peer_gone {
            // End of file to read: readable, and hung up once both directions are done.
            r |= POLLIN;
        }
        let tx = self.tx.poll(true);
        if !self.write_closed() {
            r |= tx & POLLOUT;
        }
        if peer_gone && (self.write_closed() || self.tx.buf.lock().readers == 0) {
            r |= POLLHUP;
        }
        r
    }
}

impl Drop for SocketEnd {
    fn drop(&mut self) {
        self.shutdown(2);
    }
}
