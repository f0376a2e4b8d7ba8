#![forbid(unsafe_code)]
//! `causeway-cache` owns response caching with Amazon API Gateway's semantics: how a
//! request's [`CacheKey`] is built (API, stage, method, resource and the method's key
//! parameters in a canonical order, plus the authorizer principal unless the method opts
//! into sharing), a byte-bounded [`Cache`] with per-entry [`Ttl`]s (0–3600 s, default 300;
//! entries over 1 MiB refused), single-flight bookkeeping ([`InFlight`]) against stampedes,
//! and the [`InvalidationPolicy`] for `Cache-Control: max-age=0`.
//!
//! It is sans-IO and must stay that way: no tokio, hyper or http types, no clock reads, no
//! file or network access, and no dependency on other Causeway crates. Every call takes
//! `now_ms` (milliseconds since any fixed epoch) and returns data or decisions; the I/O shell
//! parses requests, calls integrations and wakes waiters.
//!
//! # Capacity
//! The capacity bounds the bytes of keys, header names and values, and bodies, and it holds
//! after every call. Bookkeeping outside that budget is small and bounded: per entry about
//! 100 bytes of table and queue slots, plus up to one 24-byte ghost record per entry the
//! main queue can hold.
//!
//! # Eviction: S3-FIFO
//! The cache uses S3-FIFO (Yang et al., SOSP 2023), weighted by bytes and written here in a
//! couple of hundred lines: a small FIFO (10% of the bytes) on probation, a main FIFO (90%),
//! and a ghost FIFO of hashes recently evicted from the small one.
//! - New entries enter the small queue; an entry whose hash is in the ghost queue (it was
//!   evicted recently and came back) enters the main queue directly.
//! - A hit only bumps a 2-bit counter: no list surgery, so hits are a hash lookup.
//! - At the small queue's head, an entry hit since insertion moves to the main queue; the
//!   rest are evicted. Most API responses that are fetched once (one-hit wonders: a query
//!   nobody repeats) leave after using only the 10% probation space.
//! - At the main queue's head, an entry hit since its last pass is reinserted with its
//!   counter decremented (a CLOCK-like second chance); otherwise it is evicted.
//!
//! Why S3-FIFO rather than LRU or W-TinyLFU: on skewed (Zipf-like) traffic with one-hit
//! wonders, it matches or beats W-TinyLFU's hit ratio and clearly beats LRU (the tests show
//! it beating both LRU and FIFO on a deterministic Zipf workload), it is scan-resistant,
//! byte weighting falls out naturally (queues are budgets in bytes), and it needs no
//! frequency sketch, no admission window tuning and no pointer juggling on hits. No
//! well-kept crate fits sans-IO, byte weights and per-entry TTLs together (`moka` reads its
//! own clock and does housekeeping behind the caller's back, `quick_cache` weighs entries but
//! has no per-entry TTL, `lru` has neither), hence our own.
//!
//! Expired entries are removed when looked up or when they reach a queue's head.

mod cache;
mod error;
mod inflight;
mod invalidation;
mod key;
mod response;

#[cfg(test)]
mod tests;

pub use cache::{Cache, MAX_ENTRY_BYTES, Stats};
pub use error::CacheError;
pub use inflight::{InFlight, Role, Ticket};
pub use invalidation::{InvalidationOutcome, InvalidationPolicy, requests_invalidation};
pub use key::{CacheKey, KeyParam, KeySpec, Target};
pub use response::{CachedResponse, Ttl};
