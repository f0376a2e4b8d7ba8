//! What the mangled-input tests share: a seeded random source, the byte edit that repeats
//! a line, and a count of panics on any thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// xorshift64*: deterministic, so a failure names a reproducible round.
pub struct Rng(pub u64);

impl Rng {
    /// A number below `n` (> 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// Repeat the line `at` falls in (a header twice, or the request or status line).
pub fn repeat_line(bytes: &mut Vec<u8>, at: usize) {
    let start = bytes[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    if let Some(len) = bytes[start..].iter().position(|&b| b == b'\n') {
        let line = bytes[start..=start + len].to_vec();
        bytes.splice(start..start, line);
    }
}

/// Panics on any thread of this process from now on (each still reported as usual).
pub fn count_panics() -> Arc<AtomicUsize> {
    let panics = Arc::new(AtomicUsize::new(0));
    let counted = panics.clone();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        counted.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));
    panics
}
