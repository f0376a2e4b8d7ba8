//! Errors.

/// Why a TTL or an entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// A TTL outside API Gateway's 0–3600 s.
    #[error("cache TTL {secs} s is out of range; use 0 to 3600 seconds (0 disables caching)")]
    TtlOutOfRange {
        /// The TTL as given.
        secs: u64,
    },
    /// The entry (key + headers + body) is over the per-entry limit or the whole capacity.
    #[error("response of {size} bytes is too large to cache; the limit is {max} bytes")]
    EntryTooLarge {
        /// Size of key, headers and body.
        size: usize,
        /// The limit it exceeded.
        max: usize,
    },
    /// The TTL is 0: caching is disabled for this method.
    #[error("cache TTL is 0: caching is disabled for this method")]
    ZeroTtl,
}
