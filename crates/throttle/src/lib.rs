#![forbid(unsafe_code)]
//! `causeway-throttle` owns request throttling with Amazon API Gateway's semantics: token
//! buckets (steady rate + burst) at five levels — node (account), stage, route, client
//! (an API key's usage plan) and client on one route (the plan's method throttling) —
//! where the strictest wins, plus usage-plan quotas per UTC day,
//! week (from Monday) or calendar month, with API Gateway's `offset` for the initial period.
//! A [`Throttler`] charges every applicable bucket and the quota only when all of them allow
//! the request, and says which level refused it ([`Verdict`]: 429 "Too Many Requests" or
//! 429 "Limit Exceeded").
//!
//! It is sans-IO and must stay that way: no tokio, hyper or http types, no clock reads, no
//! file or network access, and no dependency on other Causeway crates. Every call takes
//! `now_ms` from the caller and returns a decision, so tests run on a virtual clock.
//!
//! # State
//! - Token buckets live in memory only, keyed by (level, key) in a `hashbrown` map with
//!   `ahash`, created on first use and dropped once idle and full again (losslessly), with a
//!   hard cap as a last resort. They are not persisted: a restarted node starts full.
//! - Quota usage is the state that persists: a [`QuotaLedger`] of one [`GCounter`] per
//!   (API key, [`Period`]), each holding per-[`NodeId`] counts. It serializes with serde and
//!   merges as a CRDT (per-node max, summed), so replicas converge in any merge order.

mod bucket;
mod counter;
mod error;
mod ledger;
mod limits;
mod quota;
mod throttler;

#[cfg(test)]
mod tests;

pub use bucket::{Decision, NEVER, Rate, TokenBucket};
pub use counter::{GCounter, NodeId};
pub use error::LimitsError;
pub use ledger::{LedgerEntry, QuotaLedger};
pub use limits::{Level, Limits, StageLimits, UsagePlan};
pub use quota::{MS_PER_DAY, Period, Quota, QuotaPeriod};
pub use throttler::{RequestKeys, Throttler, ThrottlerConfig, Usage, Verdict};
