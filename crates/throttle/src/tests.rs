//! Crate-level unit tests, all on a virtual clock.

mod bucket;
mod calendar;
mod crdt;
mod eviction;
mod throttler;

use crate::{Rate, RequestKeys};

/// xorshift64*: tiny, deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Fisher–Yates.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

fn rate(per_second: f64, burst: u64) -> Rate {
    Rate::new(per_second, burst).expect("valid rate")
}

fn keys<'a>(stage: &'a str, route: &'a str, client: Option<&'a str>) -> RequestKeys<'a> {
    RequestKeys {
        stage,
        route,
        client,
    }
}

/// 2024-02-10 12:00:00 UTC (a Saturday), in Unix milliseconds.
const FEB_10_2024_NOON: u64 = 1_707_566_400_000;
