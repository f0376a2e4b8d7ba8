//! Usage-plan quotas: a request limit per UTC day, week (starting Monday) or calendar month.

pub(crate) mod civil;

use serde::{Deserialize, Serialize};

use crate::LimitsError;

/// Milliseconds in a day.
pub const MS_PER_DAY: u64 = 86_400_000;

/// The length of a quota period, as API Gateway's `DAY | WEEK | MONTH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum QuotaPeriod {
    /// A UTC day, from 00:00.
    Day,
    /// A UTC week, from Monday 00:00.
    Week,
    /// A UTC calendar month, from the 1st at 00:00.
    Month,
}

/// One concrete quota period, e.g. "the month starting 2024-02-01".
///
/// Periods are identified by their kind and first day (days since 1970-01-01 UTC), so they
/// order by kind, then time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Period {
    /// Day, week or month.
    pub kind: QuotaPeriod,
    /// First day of the period, in days since 1970-01-01 (UTC). Negative only for the week
    /// that contains the epoch.
    pub start_day: i64,
}

impl Period {
    /// The period of `kind` that contains the instant `now_ms` (milliseconds since the Unix
    /// epoch, UTC).
    pub fn containing(kind: QuotaPeriod, now_ms: u64) -> Period {
        // At most u64::MAX / 86.4e6 ≈ 2.1e11: fits.
        let day = i64::try_from(now_ms / MS_PER_DAY).unwrap_or(i64::MAX);
        let start_day = match kind {
            QuotaPeriod::Day => day,
            QuotaPeriod::Week => day - civil::weekday_from_monday(day),
            QuotaPeriod::Month => civil::month_start(day),
        };
        Period { kind, start_day }
    }

    /// First day after the period (exclusive end), in days since the epoch.
    pub fn end_day(&self) -> i64 {
        match self.kind {
            QuotaPeriod::Day => self.start_day + 1,
            QuotaPeriod::Week => self.start_day + 7,
            QuotaPeriod::Month => civil::next_month_start(self.start_day),
        }
    }

    /// Start of the period in milliseconds since the Unix epoch.
    pub fn start_ms(&self) -> i128 {
        i128::from(self.start_day) * i128::from(MS_PER_DAY)
    }

    /// Exclusive end of the period in milliseconds since the Unix epoch.
    pub fn end_ms(&self) -> i128 {
        i128::from(self.end_day()) * i128::from(MS_PER_DAY)
    }

    /// Whether the instant `now_ms` falls inside the period.
    pub fn contains(&self, now_ms: u64) -> bool {
        (self.start_ms()..self.end_ms()).contains(&i128::from(now_ms))
    }

    /// Milliseconds from `now_ms` until the period ends (0 if it already has).
    pub fn ms_until_end(&self, now_ms: u64) -> u64 {
        u64::try_from(self.end_ms() - i128::from(now_ms)).unwrap_or(0)
    }

    /// `(year, month, day)` of the period's first day, for display.
    pub fn start_date(&self) -> (i64, u32, u32) {
        civil::civil_from_days(self.start_day)
    }
}

/// A usage plan's quota: at most `limit` requests per period and API key, with API Gateway's
/// `offset` (requests subtracted from the limit in the *initial* period, the one containing
/// `start_ms`, when the plan took effect).
///
/// Serialized as `{ "limit": 1000, "period": "MONTH", "offset": 0, "start_ms": 0 }`
/// (`offset` and `start_ms` optional).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "QuotaConfig", into = "QuotaConfig")]
pub struct Quota {
    limit: u64,
    period: QuotaPeriod,
    offset: u64,
    start_ms: u64,
}

/// The serialized form of a [`Quota`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuotaConfig {
    limit: u64,
    period: QuotaPeriod,
    #[serde(default)]
    offset: u64,
    #[serde(default)]
    start_ms: u64,
}

impl TryFrom<QuotaConfig> for Quota {
    type Error = LimitsError;
    fn try_from(c: QuotaConfig) -> Result<Quota, LimitsError> {
        Quota::new(c.limit, c.period).with_offset(c.offset, c.start_ms)
    }
}

impl From<Quota> for QuotaConfig {
    fn from(q: Quota) -> QuotaConfig {
        QuotaConfig {
            limit: q.limit,
            period: q.period,
            offset: q.offset,
            start_ms: q.start_ms,
        }
    }
}

impl Quota {
    /// `limit` requests per `period`, no offset.
    pub fn new(limit: u64, period: QuotaPeriod) -> Quota {
        Quota {
            limit,
            period,
            offset: 0,
            start_ms: 0,
        }
    }

    /// Subtracts `offset` requests from the limit in the period containing `start_ms` (the
    /// instant the plan took effect, milliseconds since the Unix epoch).
    pub fn with_offset(self, offset: u64, start_ms: u64) -> Result<Quota, LimitsError> {
        if offset > self.limit {
            return Err(LimitsError::OffsetExceedsLimit {
                limit: self.limit,
                offset,
            });
        }
        Ok(Quota {
            offset,
            start_ms,
            ..self
        })
    }

    /// Requests allowed per period.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The period length.
    pub fn period(&self) -> QuotaPeriod {
        self.period
    }

    /// Requests subtracted from the limit in the initial period.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The instant the plan took effect; its period is the initial one.
    pub fn start_ms(&self) -> u64 {
        self.start_ms
    }

    /// The period that contains `now_ms`.
    pub fn period_at(&self, now_ms: u64) -> Period {
        Period::containing(self.period, now_ms)
    }

    /// Requests allowed in `period`: `limit - offset` in the initial period, else `limit`.
    pub fn allowance(&self, period: Period) -> u64 {
        if period.contains(self.start_ms) {
            self.limit.saturating_sub(self.offset)
        } else {
            self.limit
        }
    }
}
