//! Stage and route settings that live with a stage rather than in a deployment: access
//! logging, response caching, throttling (API Gateway's "stage settings" and "method
//! settings").

use serde::{Deserialize, Serialize};

/// What a stage carries besides its deployment and variables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSettings {
    /// Access logging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_log: Option<AccessLogSpec>,
    /// Response cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<StageCacheSpec>,
    /// Stage-wide throttle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleSpec>,
}

impl StageSettings {
    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self == &StageSettings::default()
    }
}

/// One JSON (or custom) line per request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessLogSpec {
    /// `stdout`, `stderr`, or a file path (relative to the working directory).
    #[serde(default = "default_destination")]
    pub destination: String,
    /// A template over `$context` variables; absent = the default JSON line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

fn default_destination() -> String {
    "stdout".into()
}

/// A token bucket: steady `rate` per second, bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSpec {
    /// Requests per second.
    pub rate: f64,
    /// Bucket size.
    pub burst: u32,
}

/// How a client's `Cache-Control: max-age=0` is treated (API Gateway's
/// `unauthorizedCacheControlHeaderStrategy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CacheInvalidation {
    /// An unauthorized invalidation request is refused with 403.
    #[default]
    #[serde(rename = "FAIL_WITH_403")]
    FailWith403,
    /// Served from the cache, with a header saying the invalidation was ignored.
    SucceedWithResponseHeader,
    /// Served from the cache silently.
    SucceedWithoutResponseHeader,
}

/// A stage's response cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageCacheSpec {
    /// Whether the stage caches at all.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Memory bound, in bytes (default 0.5 GiB, API Gateway's smallest cache).
    #[serde(default = "default_capacity")]
    pub capacity_bytes: u64,
    /// Default entry lifetime, 0..=3600 s (default 300).
    #[serde(default = "default_ttl")]
    pub ttl_seconds: u32,
    /// Whether invalidating needs authorization (API Gateway's "require authorization").
    #[serde(default = "yes")]
    pub require_authorization: bool,
    /// What happens to an unauthorized invalidation request.
    #[serde(default)]
    pub invalidation: CacheInvalidation,
}

fn yes() -> bool {
    true
}
fn default_capacity() -> u64 {
    512 * 1024 * 1024
}
fn default_ttl() -> u32 {
    300
}

/// Per-route cache overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteCacheSpec {
    /// Override: cache this route (GET routes are cached by default when the stage caches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Override of the stage TTL, 0..=3600 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u32>,
    /// Extra key parts: `method.request.{path|querystring|header}.NAME`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_parameters: Vec<String>,
    /// Serve one principal's cached response to another (off by default: safe).
    #[serde(default)]
    pub share_across_principals: bool,
}

/// A usage-plan quota: at most `limit` requests per `period`, the first period shortened
/// by `offset` (API Gateway's quota settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSpec {
    /// Requests allowed per period.
    pub limit: u64,
    /// `DAY`, `WEEK` (from Monday, UTC) or `MONTH`.
    pub period: QuotaPeriodSpec,
    /// Days (for WEEK: 0..=6; MONTH: 0..=27) taken off the first period.
    #[serde(default)]
    pub offset: u64,
}

/// Quota periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum QuotaPeriodSpec {
    /// A UTC day.
    Day,
    /// A UTC week starting Monday.
    Week,
    /// A calendar month.
    Month,
}
