//! Crate-level unit tests, all deterministic and on a virtual clock.

mod eviction;
mod inflight;
mod invalidation;
mod key;
mod store;

use bytes::Bytes;

use crate::{CacheKey, CachedResponse, KeyParam, KeySpec, Target};

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

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const TARGET: Target<'static> = Target {
    api: "api1",
    stage: "prod",
    method: "GET",
    resource: "/items/{id}",
};

/// The key of item `n` (all keys the same length).
fn key(n: u64) -> CacheKey {
    let id = format!("{n:08}");
    KeySpec::new([KeyParam::Path("id".to_owned())])
        .shared_across_principals()
        .key(&TARGET, |_| Some(id.as_bytes()), None)
}

/// A 200 response with a `body_len`-byte body and one short header.
fn response(body_len: usize) -> CachedResponse {
    CachedResponse {
        status: 200,
        headers: vec![("content-type".to_owned(), Bytes::from_static(b"text/plain"))],
        body: Bytes::from(vec![b'x'; body_len]),
    }
}
