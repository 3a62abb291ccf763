//! The fuzzer's random numbers: splitmix64 to derive seeds, xorshift64* to draw. Small, fast and
//! the same on every machine, so a seed names a run.

/// One splitmix64 step: a well-mixed function of `x` (used to derive worker seeds).
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The state sits in a `Cell`, so that drawing needs only `&self` and draws can nest
/// (`rng.pick(&[a, rng.next()])`).
#[derive(Clone)]
pub struct Rng(std::cell::Cell<u64>);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(std::cell::Cell::new(mix(seed) | 1))
    }

    pub fn next(&self) -> u64 {
        let mut x = self.0.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    /// True with probability `num`/`den`.
    pub fn chance(&self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    pub fn pick<T: Copy>(&self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }

    /// A new generator for a child process or thread, independent of this one's future.
    pub fn split(&self) -> Rng {
        Rng::new(self.next())
    }
}
