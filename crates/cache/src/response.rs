//! What is cached, and for how long.

use std::time::Duration;

use bytes::Bytes;

use crate::CacheError;

/// A cached integration response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedResponse {
    /// HTTP status code.
    pub status: u16,
    /// Header names and raw values, in order (shared with every hit, not copied).
    pub headers: Vec<(String, Bytes)>,
    /// The body.
    pub body: Bytes,
}

impl CachedResponse {
    /// Bytes counted against the capacity for headers and body (the key is added on insert).
    pub fn size(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.len() + value.len())
            .sum();
        headers + self.body.len()
    }
}

/// A cache TTL: 0 to 3600 seconds, default 300, as in API Gateway. 0 disables caching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ttl(u16);

impl Ttl {
    /// API Gateway's default, 300 s.
    pub const DEFAULT: Ttl = Ttl(300);
    /// The longest TTL, 3600 s.
    pub const MAX: Ttl = Ttl(3600);

    /// A TTL of `secs` seconds, if within 0–3600.
    pub fn from_secs(secs: u64) -> Result<Ttl, CacheError> {
        match u16::try_from(secs) {
            Ok(s) if s <= Ttl::MAX.0 => Ok(Ttl(s)),
            _ => Err(CacheError::TtlOutOfRange { secs }),
        }
    }

    /// The TTL in seconds.
    pub fn secs(self) -> u64 {
        u64::from(self.0)
    }

    /// The TTL in milliseconds.
    pub fn millis(self) -> u64 {
        self.secs() * 1000
    }

    /// The TTL as a `Duration`.
    pub fn duration(self) -> Duration {
        Duration::from_secs(self.secs())
    }
}

impl Default for Ttl {
    fn default() -> Ttl {
        Ttl::DEFAULT
    }
}
