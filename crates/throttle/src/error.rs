//! Configuration errors.

/// Invalid throttling configuration, reported by [`Rate::new`](crate::Rate::new),
/// [`Quota::new`](crate::Quota::new) and [`Throttler::new`](crate::Throttler::new).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LimitsError {
    /// The steady-state rate is negative, not a number, or absurdly large.
    #[error(
        "rate {rate} requests/s is invalid; use a finite number from 0 to {max}",
        max = crate::Rate::MAX_PER_SECOND
    )]
    InvalidRate {
        /// The rate as written.
        rate: f64,
    },
    /// The burst is larger than a bucket can hold.
    #[error("burst {burst} is too large; use at most {max}", max = crate::Rate::MAX_BURST)]
    BurstTooLarge {
        /// The burst as written.
        burst: u64,
    },
    /// A quota's `offset` is larger than its `limit`.
    #[error(
        "quota offset {offset} exceeds its limit {limit}; the offset is subtracted from the limit in the first period"
    )]
    OffsetExceedsLimit {
        /// The quota's limit.
        limit: u64,
        /// The offset as written.
        offset: u64,
    },
    /// An API key names a usage plan that does not exist.
    #[error("API key `{key}` refers to unknown usage plan `{plan}`; define the plan under `plans`")]
    UnknownPlan {
        /// The API key.
        key: String,
        /// The plan name it refers to.
        plan: String,
    },
}
