//! The mutations: each changes an input a little in a way that tends to reach edge cases of
//! binary and text formats.

use crate::Rng;

/// Integers worth writing into length, offset, count and address fields: zero and one,
/// boundaries of 8, 16, 32 and 64 bits, page sizes, Tine's user address-space top.
pub const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    16,
    32,
    56,
    64,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x200,
    0xfff,
    0x1000,
    0x1001,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x0000_7fff_ffff_f000,
    0x0000_8000_0000_0000,
    1 << 40,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    0xffff_ffff_ffff_f000,
    0xffff_ffff_ffff_fffe,
    0xffff_ffff_ffff_ffff,
];

/// A random position in `0..=len`.
fn pos(rng: &mut Rng, len: usize) -> usize {
    rng.below(len + 1)
}

/// A chunk length in `1..=max(1, limit)`, short ones more likely.
fn chunk(rng: &mut Rng, limit: usize) -> usize {
    1 + rng.len(limit.clamp(1, 1 << 12) - 1)
}

fn interesting(rng: &mut Rng) -> u64 {
    match rng.below(4) {
        0 => rng.next_u64(),
        1 => {
            // A power of two, or one off it.
            let p = 1u64 << rng.below(64);
            match rng.below(3) {
                0 => p,
                1 => p.wrapping_sub(1),
                _ => p.wrapping_add(1),
            }
        }
        _ => INTERESTING[rng.below(INTERESTING.len())],
    }
}

/// Overwrite `bytes` at `at`, growing `data` if they reach past its end.
fn put(data: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    let end = at + bytes.len();
    if data.len() < end {
        data.resize(end, 0);
    }
    data[at..end].copy_from_slice(bytes);
}

/// Apply one random mutation to `data` (never longer than `max_len` afterwards). `dict` holds
/// tokens to write or insert, `other` is another input to splice from.
pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, dict: &[Vec<u8>], other: &[u8], max_len: usize) {
    let len = data.len();
    match rng.below(18) {
        // Flip one bit.
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        // A random byte.
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = rng.next_u64() as u8;
        }
        // An interesting byte (also the path separators and dots of text formats).
        2 if len > 0 => {
            let i = rng.below(len);
            data[i] = *rng
                .pick(&[0u8, 1, 0x7f, 0x80, 0xff, b'/', b'.', b'0', b'\n', b' '])
                .unwrap_or(&0);
        }
        // Add or subtract a little.
        3 if len > 0 => {
            let i = rng.below(len);
            let d = 1 + rng.below(16) as u8;
            data[i] = if rng.one_in(2) {
                data[i].wrapping_add(d)
            } else {
                data[i].wrapping_sub(d)
            };
        }
        // An interesting integer over a 1/2/4/8-byte field, aligned or not.
        4 | 5 => {
            let width = 1 << rng.below(4);
            let mut at = pos(rng, len.saturating_sub(width));
            if rng.one_in(2) {
                at &= !(width - 1);
            }
            let v = interesting(rng).to_le_bytes();
            put(data, at, &v[..width]);
        }
        // Arithmetic on a little-endian field.
        6 if len >= 2 => {
            let width = [2usize, 4, 8][rng.below(3)].min(len);
            let at = rng.below(len - width + 1);
            let mut buf = [0u8; 8];
            buf[..width].copy_from_slice(&data[at..at + width]);
            let v = u64::from_le_bytes(buf);
            let d = 1 + rng.below(64) as u64;
            let v = if rng.one_in(2) {
                v.wrapping_add(d)
            } else {
                v.wrapping_sub(d)
            };
            data[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
        }
        // A dictionary token over the data, or inserted.
        7 if !dict.is_empty() => {
            let tok = &dict[rng.below(dict.len())];
            let at = pos(rng, len);
            put(data, at, tok);
        }
        8 if !dict.is_empty() => {
            let tok = &dict[rng.below(dict.len())];
            let at = pos(rng, len);
            data.splice(at..at, tok.iter().copied());
        }
        // Truncate.
        9 if len > 0 => {
            let n = rng.below(len);
            data.truncate(n);
        }
        // Delete a chunk.
        10 if len > 0 => {
            let at = rng.below(len);
            let n = chunk(rng, len - at);
            data.drain(at..at + n);
        }
        // Duplicate a chunk somewhere.
        11 if len > 0 => {
            let at = rng.below(len);
            let n = chunk(rng, len - at);
            let piece = data[at..at + n].to_vec();
            let to = pos(rng, len);
            data.splice(to..to, piece);
        }
        // Copy a chunk over another place.
        12 if len > 0 => {
            let at = rng.below(len);
            let n = chunk(rng, len - at);
            let piece = data[at..at + n].to_vec();
            let to = pos(rng, len);
            put(data, to, &piece);
        }
        // Splice: our head and the other input's tail.
        13 if !other.is_empty() => {
            let cut = pos(rng, len);
            let from = rng.below(other.len());
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        // Insert a chunk of the other input.
        14 if !other.is_empty() => {
            let at = rng.below(other.len());
            let n = chunk(rng, other.len() - at);
            let to = pos(rng, len);
            data.splice(to..to, other[at..at + n].iter().copied());
        }
        // Append random bytes.
        15 => {
            let n = chunk(rng, 256);
            let extra = rng.bytes(n);
            data.extend_from_slice(&extra);
        }
        // An ASCII number: 8 hex digits (cpio newc fields) or decimal.
        16 => {
            let v = interesting(rng);
            let text = if rng.one_in(2) {
                format!("{:08x}", v as u32)
            } else {
                format!("{v}")
            };
            let at = pos(rng, len);
            put(data, at, text.as_bytes());
        }
        // Repeat a short chunk many times (long names, `../` chains, deep nesting).
        17 if len > 0 => {
            let at = rng.below(len);
            let n = chunk(rng, (len - at).min(16));
            let piece = data[at..at + n].to_vec();
            let times = 1 + rng.len(1024);
            let to = pos(rng, len);
            let rep: Vec<u8> = piece
                .iter()
                .copied()
                .cycle()
                .take(n * times)
                .take(max_len)
                .collect();
            data.splice(to..to, rep);
        }
        // The chosen mutation needs data that is not there: add a byte instead.
        _ => {
            let at = pos(rng, len);
            data.insert(at, rng.next_u64() as u8);
        }
    }
    data.truncate(max_len);
}
