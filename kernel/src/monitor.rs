//! The boot monitor: when the initramfs has no init, the serial console offers a
//! few commands to inspect the kernel and to exercise its failure paths. Input arrives through
//! the UART's receive interrupt; the monitor sleeps on the console's wait queue between keys.

use alloc::string::String;

use hal::{kprint, kprintln, mem::frames, power, time};

const HELP: &str =
    "commands: help, mem, cpu, uptime, initrd, sym ADDR, poweroff, reboot, panic, fault, overflow";

/// Block until a byte arrives on the console.
/// Block until a byte arrives on the console (sleeping: other threads keep running).
fn getc() -> u8 {
    let mut b = [0u8; 1];
    // A kernel thread is never interrupted by signals: the read ends with a byte.
    let _ = crate::console::read(&mut b);
    b[0]
}

fn read_line(buf: &mut String) {
    buf.clear();
    loop {
        match getc() {
            b'\r' | b'\n' => {
                kprintln!();
                return;
            }
            0x7f | 0x08 if buf.pop().is_some() => {
                kprint!("\x08 \x08");
            }
            b if (0x20..0x7f).contains(&b) && buf.len() < 256 => {
                buf.push(b as char);
                kprint!("{}", b as char);
            }
            _ => {}
        }
    }
}

pub fn run() -> ! {
    // The monitor reads single bytes and echoes them itself.
    crate::console::set_raw();
    kprintln!("{HELP}");
    let mut line = String::new();
    loop {
        kprint!("tine> ");
        read_line(&mut line);
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (None, _) => {}
            (Some("help"), _) => kprintln!("{HELP}"),
            (Some("mem"), _) => mem(),
            (Some("cpu"), _) => kprintln!("{:?}", hal::arch::cpuid::Features::detect()),
            (Some("uptime"), _) => {
                let ns = time::uptime_ns();
                kprintln!(
                    "up {}.{:03} s, {} ticks at {} Hz",
                    ns / 1_000_000_000,
                    (ns / 1_000_000) % 1000,
                    time::ticks(),
                    time::tick_hz()
                );
            }
            (Some("sym"), Some(a)) => sym(a),
            (Some("initrd"), _) => initrd(),
            (Some(cmd), _) => {
                if !selftest_action(cmd) {
                    kprintln!("unknown command '{cmd}'; {HELP}");
                }
            }
        }
    }
}

fn mem() {
    let s = frames::stats();
    let h = hal::mem::heap::stats();
    kprintln!(
        "frames: {} total, {} free, {} used (KiB: {} / {} / {})",
        s.total,
        s.free,
        s.total - s.free,
        s.total * 4,
        s.free * 4,
        (s.total - s.free) * 4
    );
    kprintln!(
        "heap: {} KiB claimed in {} growths, {} bytes in use",
        h.claimed / 1024,
        h.growths,
        h.in_use
    );
}

/// Size, location and FNV-1a hash of the initrd: shows it survived boot intact.
fn initrd() {
    let Some((pa, size)) = hal::boot::info().and_then(|i| i.initrd) else {
        kprintln!("initrd: none");
        return;
    };
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut buf = [0u8; 4096];
    let mut off = 0;
    while off < size {
        let n = (size - off).min(buf.len() as u64) as usize;
        if !hal::mem::read_phys(pa + off, &mut buf[..n]) {
            kprintln!("initrd: unreadable at {:#x}", pa + off);
            return;
        }
        for &b in &buf[..n] {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        off += n as u64;
    }
    kprintln!("initrd: {size} bytes at {pa:#x}, fnv1a64 {hash:#018x}");
}

fn sym(a: &str) {
    let a = a.trim_start_matches("0x");
    match u64::from_str_radix(a, 16) {
        Ok(addr) => {
            let mut out = String::new();
            hal::backtrace::write_symbol(addr, &mut out);
            kprintln!("{addr:#x} = {out}");
        }
        Err(_) => kprintln!("usage: sym HEXADDR"),
    }
}

/// Failure paths on demand (also `tine.selftest=NAME` on the command line, for xtask's boot
/// tests). Returns false for an unknown name.
fn selftest_action(name: &str) -> bool {
    match name {
        "poweroff" => power::power_off(),
        "reboot" => power::reboot(),
        "panic" => panic!("panic requested from the console"),
        "fault" => hal::arch::debug::touch_address(0xdead_0000),
        "overflow" => {
            kprintln!("recursing until the stack guard page is hit");
            let depth = recurse(0, &[0; 64]);
            kprintln!("returned from recursion at depth {depth}?");
        }
        _ => return false,
    }
    true
}

pub fn selftest(name: &str) {
    if !selftest_action(name) {
        log::warn!("tine.selftest={name}: unknown self-test");
    }
}

#[inline(never)]
#[allow(unconditional_recursion)] // deliberately overflows the stack
fn recurse(depth: u64, pad: &[u8; 64]) -> u64 {
    let local = core::hint::black_box([depth as u8; 64]);
    core::hint::black_box(recurse(depth + 1, &local)) + u64::from(pad[0])
}
