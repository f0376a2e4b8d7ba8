//! Test input: byte strings mutated at random, deterministically (SplitMix64, no
//! dependency), for the codecs' "never a panic" tests.

/// A deterministic stream of pseudo-random numbers.
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (> 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `seed` with one to four edits: a byte replaced, a delimiter-ish byte inserted, a byte
/// removed, or the tail cut off.
pub(crate) fn mutate(seed: &[u8], rng: &mut SplitMix) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..=rng.below(4) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.below(bytes.len());
        match rng.below(4) {
            0 => bytes[at] = rng.next() as u8,
            // Delimiters, bytes the codecs refuse, and target bytes httparse takes but
            // the `http` crate does not.
            1 => bytes.insert(at, b"\r\n: \x00\x7f\xff,<>`\"{"[rng.below(13)]),
            2 => {
                bytes.remove(at);
            }
            _ => bytes.truncate(at.max(1)),
        }
    }
    bytes
}
