//! The CMOS real-time clock: read once at boot for CLOCK_REALTIME's starting point.

use crate::arch::{inb, outb};

fn reg(r: u8) -> u8 {
    outb(0x70, r | 0x80); // keep NMIs masked while selecting (bit 7)
    inb(0x71)
}

/// Date and time from the RTC: (year, month, day, hour, minute, second), in UTC as QEMU keeps it.
/// `century_reg` is the FADT's CENTURY register (0 if none).
pub fn read(century_reg: u8) -> (u32, u32, u32, u32, u32, u32) {
    // Wait out an update in progress, then read until two reads agree.
    let snapshot = || {
        while reg(0x0A) & 0x80 != 0 {
            crate::arch::pause();
        }
        [
            reg(0x00),
            reg(0x02),
            reg(0x04),
            reg(0x07),
            reg(0x08),
            reg(0x09),
            if century_reg != 0 {
                reg(century_reg)
            } else {
                0
            },
        ]
    };
    let mut a = snapshot();
    loop {
        let b = snapshot();
        if a == b {
            break;
        }
        a = b;
    }
    let status_b = reg(0x0B);
    let bcd = status_b & 0x04 == 0;
    let conv = |v: u8| {
        if bcd {
            u32::from((v & 0x0F) + (v >> 4) * 10)
        } else {
            u32::from(v)
        }
    };
    let [s, mi, h, d, mo, y, c] = a;
    let mut hour = conv(h & 0x7F);
    if status_b & 0x02 == 0 && h & 0x80 != 0 {
        hour = (hour % 12) + 12; // 12-hour mode, PM
    }
    let century = if century_reg != 0 && c != 0 {
        conv(c)
    } else {
        20
    };
    (
        century * 100 + conv(y),
        conv(mo),
        conv(d),
        hour,
        conv(mi),
        conv(s),
    )
}
