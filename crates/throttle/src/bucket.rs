//! The token bucket: a steady rate plus a burst capacity, refilled lazily from `now`.
//!
//! Tokens are kept in fixed point (one token = 1,000,000 micro-tokens) and rates in
//! milli-requests per second, so one millisecond refills exactly `milli_per_second`
//! micro-tokens: no floating point and no rounding drift, whatever the call pattern.

use serde::{Deserialize, Serialize};

use crate::LimitsError;

/// Micro-tokens per token.
const SCALE: u64 = 1_000_000;

/// `retry_after_ms` of a request that can never be allowed (more than the burst, or rate 0).
pub const NEVER: u64 = u64::MAX;

/// A steady-state rate (requests per second, resolution 0.001) and a burst capacity
/// (requests), as in API Gateway's `throttlingRateLimit` / `throttlingBurstLimit`.
///
/// Serialized as `{ "rate": 100.0, "burst": 200 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RateConfig", into = "RateConfig")]
pub struct Rate {
    milli_per_second: u64,
    burst: u64,
}

/// The serialized form of a [`Rate`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateConfig {
    rate: f64,
    burst: u64,
}

impl TryFrom<RateConfig> for Rate {
    type Error = LimitsError;
    fn try_from(c: RateConfig) -> Result<Rate, LimitsError> {
        Rate::new(c.rate, c.burst)
    }
}

impl From<Rate> for RateConfig {
    fn from(r: Rate) -> RateConfig {
        RateConfig {
            rate: r.per_second(),
            burst: r.burst,
        }
    }
}

impl Rate {
    /// Largest accepted rate, in requests per second.
    pub const MAX_PER_SECOND: f64 = 1e9;
    /// Largest accepted burst, in requests.
    pub const MAX_BURST: u64 = 1_000_000_000_000;
    /// API Gateway's default account-level limit: 10,000 requests/s, burst 5,000.
    pub const ACCOUNT_DEFAULT: Rate = Rate {
        milli_per_second: 10_000_000,
        burst: 5_000,
    };

    /// A rate of `per_second` requests per second (rounded to 0.001) with a burst of `burst`.
    /// A burst of 0 allows nothing; a rate of 0 allows the burst once and never refills.
    pub fn new(per_second: f64, burst: u64) -> Result<Rate, LimitsError> {
        if !per_second.is_finite() || !(0.0..=Self::MAX_PER_SECOND).contains(&per_second) {
            return Err(LimitsError::InvalidRate { rate: per_second });
        }
        if burst > Self::MAX_BURST {
            return Err(LimitsError::BurstTooLarge { burst });
        }
        // In range by the check above: at most 1e12, exactly representable.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let milli_per_second = (per_second * 1000.0).round() as u64;
        Ok(Rate {
            milli_per_second,
            burst,
        })
    }

    /// The steady-state rate in requests per second.
    pub fn per_second(&self) -> f64 {
        // At most 1e12: exact in an f64.
        #[allow(clippy::cast_precision_loss)]
        let milli = self.milli_per_second as f64;
        milli / 1000.0
    }

    /// The burst capacity in requests.
    pub fn burst(&self) -> u64 {
        self.burst
    }

    fn capacity(&self) -> u64 {
        self.burst * SCALE
    }
}

/// The outcome of [`TokenBucket::try_acquire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The tokens were taken.
    Allowed,
    /// Not enough tokens; none were taken. Asking again `retry_after_ms` later (with no other
    /// acquisitions in between) succeeds; [`NEVER`] if it never can.
    Limited {
        /// Milliseconds until enough tokens have accumulated.
        retry_after_ms: u64,
    },
}

impl Decision {
    /// Whether the request was allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed)
    }
}

/// A token bucket that starts full and refills lazily from the `now_ms` handed to it.
///
/// Monotonic-safe: a `now_ms` earlier than one already seen refills nothing, and the bucket
/// keeps measuring from the latest time it has seen, so a clock that steps back never grants
/// extra tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBucket {
    rate: Rate,
    /// Micro-tokens available as of `last_ms`.
    tokens: u64,
    /// Latest time seen, in milliseconds since the caller's epoch.
    last_ms: u64,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: Rate) -> TokenBucket {
        TokenBucket {
            rate,
            tokens: rate.capacity(),
            last_ms: 0,
        }
    }

    /// The bucket's rate and burst.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Takes `n` tokens if all of them are available at `now_ms`; otherwise takes none.
    pub fn try_acquire(&mut self, now_ms: u64, n: u64) -> Decision {
        let decision = self.check(now_ms, n);
        if decision.is_allowed() {
            self.take(n);
        }
        decision
    }

    /// Whole tokens available at `now_ms` (no state change).
    pub fn available(&self, now_ms: u64) -> u64 {
        self.tokens_at(now_ms) / SCALE
    }

    /// Whether the bucket is (or by `now_ms` will have refilled to) full; dropping a full
    /// bucket and recreating it later loses nothing.
    pub fn is_full_at(&self, now_ms: u64) -> bool {
        self.tokens_at(now_ms) >= self.rate.capacity()
    }

    /// Refills up to `now_ms` and says whether `n` tokens are there, taking none.
    pub(crate) fn check(&mut self, now_ms: u64, n: u64) -> Decision {
        self.refill(now_ms);
        let need = n.saturating_mul(SCALE);
        if self.tokens >= need {
            return Decision::Allowed;
        }
        if need > self.rate.capacity() || self.rate.milli_per_second == 0 {
            return Decision::Limited {
                retry_after_ms: NEVER,
            };
        }
        // One millisecond refills exactly `milli_per_second` micro-tokens.
        let wait = (need - self.tokens).div_ceil(self.rate.milli_per_second);
        // `last_ms >= now_ms` after a refill, even if the clock stepped back.
        let retry_after_ms = self.last_ms.saturating_add(wait).saturating_sub(now_ms);
        Decision::Limited { retry_after_ms }
    }

    /// Takes `n` tokens after [`check`](Self::check) allowed them.
    pub(crate) fn take(&mut self, n: u64) {
        self.tokens = self.tokens.saturating_sub(n.saturating_mul(SCALE));
    }

    fn tokens_at(&self, now_ms: u64) -> u64 {
        let elapsed = now_ms.saturating_sub(self.last_ms);
        let added = elapsed.saturating_mul(self.rate.milli_per_second);
        self.tokens.saturating_add(added).min(self.rate.capacity())
    }

    fn refill(&mut self, now_ms: u64) {
        if now_ms > self.last_ms {
            self.tokens = self.tokens_at(now_ms);
            self.last_ms = now_ms;
        }
    }
}
