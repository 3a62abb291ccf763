//! 16550 UART on COM1: polled output, interrupt-driven input into a ring buffer.

use crate::arch::{inb, outb};
use crate::sync::SpinLock;

const COM1: u16 = 0x3F8;
const DATA: u16 = 0;
const IER: u16 = 1;
const FCR: u16 = 2;
const LCR: u16 = 3;
const MCR: u16 = 4;
const LSR: u16 = 5;
const LSR_DATA_READY: u8 = 1;
const LSR_THR_EMPTY: u8 = 1 << 5;

/// Set the line to 115200 8N1 with FIFOs on and interrupts off.
pub fn init() {
    outb(COM1 + IER, 0x00);
    outb(COM1 + LCR, 0x80); // divisor latch
    outb(COM1 + DATA, 0x01); // 115200 baud
    outb(COM1 + IER, 0x00);
    outb(COM1 + LCR, 0x03); // 8 bits, no parity, one stop bit
    outb(COM1 + FCR, 0xC7); // FIFO on, cleared, 14-byte threshold
    outb(COM1 + MCR, 0x0B); // DTR, RTS, OUT2 (OUT2 gates the IRQ line)
}

/// Ask the UART to interrupt when a byte arrives (IRQ 4 must be routed first).
pub fn enable_rx_interrupt() {
    outb(COM1 + IER, 0x01);
}

fn put(byte: u8) {
    let mut spins = 0u32;
    while inb(COM1 + LSR) & LSR_THR_EMPTY == 0 && spins < 100_000 {
        spins += 1;
        crate::arch::pause();
    }
    outb(COM1 + DATA, byte);
}

/// Write bytes, turning "\n" into "\r\n" for terminals.
/// Bytes exactly as given (the console TTY does its own output processing).
pub fn write_raw(bytes: &[u8]) {
    for &b in bytes {
        put(b);
    }
}

pub fn write_bytes(bytes: &[u8]) {
    for &b in bytes {
        if b == b'\n' {
            put(b'\r');
        }
        put(b);
    }
}

const RX_SIZE: usize = 1024;

struct Rx {
    buf: [u8; RX_SIZE],
    head: usize,
    len: usize,
    dropped: u64,
}

static RX: SpinLock<Rx> = SpinLock::new(Rx {
    buf: [0; RX_SIZE],
    head: 0,
    len: 0,
    dropped: 0,
});

/// IRQ 4 handler body: drain the UART FIFO into the ring buffer.
pub fn handle_irq() {
    let mut rx = RX.lock();
    while inb(COM1 + LSR) & LSR_DATA_READY != 0 {
        let b = inb(COM1 + DATA);
        if rx.len == RX_SIZE {
            rx.dropped += 1;
            continue;
        }
        let at = (rx.head + rx.len) % RX_SIZE;
        rx.buf[at] = b;
        rx.len += 1;
    }
}

/// Take one received byte, if any.
pub fn read_byte() -> Option<u8> {
    let mut rx = RX.lock();
    if rx.len == 0 {
        return None;
    }
    let b = rx.buf[rx.head];
    rx.head = (rx.head + 1) % RX_SIZE;
    rx.len -= 1;
    Some(b)
}

pub fn has_input() -> bool {
    RX.lock().len > 0
}

/// Bytes lost because the ring was full.
pub fn dropped() -> u64 {
    RX.lock().dropped
}
