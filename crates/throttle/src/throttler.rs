//! The [`Throttler`]: every level's buckets plus the quota ledger, checked as one decision.

mod slots;

use crate::{
    Level, Limits, LimitsError, NodeId, Period, QuotaLedger, Rate, TokenBucket, bucket::Decision,
};
use slots::{Slot, SlotRef, Slots};

/// What a request is throttled by: its stage, its route key (as the router names it, e.g.
/// `"GET /pets/{id}"`) and, if it presented one, its API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestKeys<'a> {
    /// Stage name.
    pub stage: &'a str,
    /// Route key within the stage.
    pub route: &'a str,
    /// API key, if any.
    pub client: Option<&'a str>,
}

/// The outcome of [`Throttler::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed: one token was taken from every applicable bucket and one request counted
    /// against the key's quota.
    Allowed,
    /// Some bucket is empty; nothing was taken. `level` is the one with the longest wait
    /// (the most specific on a tie). Respond 429 "Too Many Requests".
    Throttled {
        /// The level that limited the request.
        level: Level,
        /// Milliseconds until that level would allow it ([`NEVER`](crate::NEVER) if never).
        retry_after_ms: u64,
    },
    /// The API key's quota for the current period is used up; nothing was taken. Respond 429
    /// "Limit Exceeded".
    QuotaExceeded {
        /// Milliseconds until the period ends.
        retry_after_ms: u64,
    },
}

impl Verdict {
    /// Whether the request may proceed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Verdict::Allowed)
    }

    /// The HTTP status and API Gateway's message for a rejection; `None` if allowed.
    pub fn rejection(&self) -> Option<(u16, &'static str)> {
        match self {
            Verdict::Allowed => None,
            Verdict::Throttled { .. } => Some((429, "Too Many Requests")),
            Verdict::QuotaExceeded { .. } => Some((429, "Limit Exceeded")),
        }
    }
}

/// An API key's quota use in one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// The period.
    pub period: Period,
    /// Requests counted in it, over all nodes merged so far.
    pub used: u64,
    /// Requests allowed in it.
    pub allowance: u64,
}

impl Usage {
    /// Requests left in the period.
    pub fn remaining(&self) -> u64 {
        self.allowance.saturating_sub(self.used)
    }
}

/// Tuning of a [`Throttler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlerConfig {
    /// This node's id in the quota counters.
    pub node_id: NodeId,
    /// A bucket untouched this long, and full again, is dropped (losslessly).
    pub idle_ms: u64,
    /// Hard cap on stage, route and client slots; past it the least recently used half is
    /// dropped (lossy, lenient: they come back full). At least 3.
    pub max_buckets: usize,
    /// Quota periods that ended longer ago than this are pruned by [`Throttler::sweep`].
    pub usage_retention_ms: u64,
}

impl Default for ThrottlerConfig {
    fn default() -> ThrottlerConfig {
        ThrottlerConfig {
            node_id: NodeId(0),
            idle_ms: 60_000,
            max_buckets: 1 << 20,
            usage_retention_ms: 90 * crate::MS_PER_DAY,
        }
    }
}

/// Throttling and quotas for one node, sans-IO: the caller passes `now_ms`, **milliseconds
/// since the Unix epoch (UTC)**, since quota periods follow the calendar. Buckets are
/// monotonic-safe, so wall-clock steps backwards grant nothing.
#[derive(Debug)]
pub struct Throttler {
    limits: Limits,
    config: ThrottlerConfig,
    node: TokenBucket,
    slots: Slots,
    ledger: QuotaLedger,
    next_sweep_ms: u64,
    /// Whether any plan has a method throttle (else a keyed request looks none up).
    method_throttles: bool,
}

fn has_method_throttles(limits: &Limits) -> bool {
    limits.plans.values().any(|p| !p.routes.is_empty())
}

impl Throttler {
    /// A throttler with full buckets and an empty ledger.
    pub fn new(limits: Limits, config: ThrottlerConfig) -> Result<Throttler, LimitsError> {
        limits.validate()?;
        Ok(Throttler {
            method_throttles: has_method_throttles(&limits),
            node: TokenBucket::new(limits.node),
            limits,
            slots: Slots::new(config.max_buckets.max(3)),
            config,
            ledger: QuotaLedger::new(),
            next_sweep_ms: 0,
        })
    }

    /// Decides one request. It is allowed only if the key's quota has room and every
    /// applicable bucket (node, stage, route, client) has a token; then, and only then, all
    /// of them are charged. The quota is checked first: an exhausted quota takes nothing.
    pub fn check(&mut self, now_ms: u64, keys: &RequestKeys<'_>) -> Verdict {
        // No client and no stage or route limit for this stage: only the node's bucket
        // applies, and there is no slot to find or keep.
        if keys.client.is_none() && !self.limits.stages.contains_key(keys.stage) {
            return match self.node.check(now_ms, 1) {
                Decision::Limited { retry_after_ms } => Verdict::Throttled {
                    level: Level::Node,
                    retry_after_ms,
                },
                _ => {
                    self.node.take(1);
                    Verdict::Allowed
                }
            };
        }
        let stage = SlotRef {
            level: Level::Stage,
            a: keys.stage,
            b: "",
        };
        let route = SlotRef {
            level: Level::Route,
            a: keys.stage,
            b: keys.route,
        };
        match keys.client {
            Some(client) => {
                let client_ref = SlotRef {
                    level: Level::Client,
                    a: client,
                    b: "",
                };
                let method_throttled = self.method_throttles
                    && self
                        .limits
                        .plan_of(client)
                        .is_some_and(|p| p.routes.contains_key(keys.route));
                if method_throttled {
                    let client_route = SlotRef {
                        level: Level::ClientRoute,
                        a: client,
                        b: keys.route,
                    };
                    return self.check_slots(
                        now_ms,
                        [stage, route, client_ref, client_route],
                        Some(client),
                    );
                }
                self.check_slots(now_ms, [stage, route, client_ref], Some(client))
            }
            None => self.check_slots(now_ms, [stage, route], None),
        }
    }

    fn check_slots<const N: usize>(
        &mut self,
        now_ms: u64,
        refs: [SlotRef<'_>; N],
        client: Option<&str>,
    ) -> Verdict {
        if let Some(verdict) = self.try_decide(now_ms, &refs, client) {
            return verdict;
        }
        let missing = refs
            .iter()
            .filter(|key| !self.slots.map.contains_key(*key))
            .count();
        // Room first, so that nothing inserted below is evicted before it is used.
        self.slots.reserve(missing, now_ms, self.config.idle_ms);
        for key in refs {
            if !self.slots.map.contains_key(&key) {
                let slot = self.new_slot(key, now_ms);
                self.slots.insert(key, slot);
            }
        }
        // Every slot exists now, so this is always `Some`.
        self.try_decide(now_ms, &refs, client)
            .unwrap_or(Verdict::Allowed)
    }

    /// The decision, or `None` if some slot is missing.
    fn try_decide<const N: usize>(
        &mut self,
        now_ms: u64,
        refs: &[SlotRef<'_>; N],
        client: Option<&str>,
    ) -> Option<Verdict> {
        // The keys differ in level, so they never overlap (which would panic).
        let mut slots = self.slots.map.get_disjoint_mut(refs.each_ref());
        if slots.iter().any(Option::is_none) {
            return None;
        }
        for slot in slots.iter_mut().flatten() {
            slot.touched_ms = slot.touched_ms.max(now_ms);
        }

        // Quota first: only the client slot carries one.
        let client_slot = refs
            .iter()
            .position(|r| r.level == Level::Client)
            .and_then(|i| slots.get(i)?.as_ref()?.quota);
        let quota = match (client, client_slot) {
            (Some(key), Some(quota)) => Some((key, quota)),
            _ => None,
        };
        let counters = quota.map(|(key, quota)| {
            let period = quota.period_at(now_ms);
            let counters = self.ledger.periods_mut(key);
            let used = counters.get(&period).map_or(0, |c| c.total());
            (counters, period, used, quota.allowance(period))
        });
        if let Some((_, period, used, allowance)) = &counters
            && *used >= *allowance
        {
            return Some(Verdict::QuotaExceeded {
                retry_after_ms: period.ms_until_end(now_ms),
            });
        }

        // Then every bucket, without taking anything yet.
        let mut worst: Option<(Level, u64)> = None;
        let mut consider = |level: Level, decision: Decision| {
            if let Decision::Limited { retry_after_ms } = decision
                && worst.is_none_or(|(_, w)| retry_after_ms >= w)
            {
                worst = Some((level, retry_after_ms));
            }
        };
        consider(Level::Node, self.node.check(now_ms, 1));
        for (key, slot) in refs.iter().zip(slots.iter_mut().flatten()) {
            if let Some(bucket) = &mut slot.bucket {
                consider(key.level, bucket.check(now_ms, 1));
            }
        }
        if let Some((level, retry_after_ms)) = worst {
            return Some(Verdict::Throttled {
                level,
                retry_after_ms,
            });
        }

        // All allow: charge all.
        self.node.take(1);
        for slot in slots.iter_mut().flatten() {
            if let Some(bucket) = &mut slot.bucket {
                bucket.take(1);
            }
        }
        if let Some((counters, period, _, _)) = counters {
            counters
                .entry(period)
                .or_default()
                .increment(self.config.node_id, 1);
        }
        Some(Verdict::Allowed)
    }

    fn new_slot(&self, key: SlotRef<'_>, now_ms: u64) -> Slot {
        let (rate, quota): (Option<Rate>, _) = match key.level {
            Level::Node => (None, None),
            Level::Stage => (self.limits.stage_rate(key.a), None),
            Level::Route => (self.limits.route_rate(key.a, key.b), None),
            Level::Client => match self.limits.plan_of(key.a) {
                Some(plan) => (plan.throttle, plan.quota),
                None => (None, None),
            },
            Level::ClientRoute => (
                self.limits
                    .plan_of(key.a)
                    .and_then(|p| p.routes.get(key.b).copied()),
                None,
            ),
        };
        Slot {
            bucket: rate.map(TokenBucket::new),
            quota,
            touched_ms: now_ms,
        }
    }

    /// `key`'s quota use in the period containing `now_ms`; `None` if its plan has no quota.
    pub fn usage(&self, key: &str, now_ms: u64) -> Option<Usage> {
        let quota = self.limits.plan_of(key)?.quota?;
        let period = quota.period_at(now_ms);
        Some(Usage {
            period,
            used: self.ledger.usage(key, period),
            allowance: quota.allowance(period),
        })
    }

    /// The quota counters: what to persist or ship to other replicas.
    pub fn ledger(&self) -> &QuotaLedger {
        &self.ledger
    }

    /// Folds in counters loaded from disk or received from another replica.
    pub fn merge_ledger(&mut self, other: &QuotaLedger) {
        self.ledger.merge(other);
    }

    /// Replaces the limits. Stage, route and client buckets restart full (lenient for one
    /// burst); the node bucket keeps its tokens if its rate is unchanged. Quota use is kept.
    pub fn set_limits(&mut self, limits: Limits) -> Result<(), LimitsError> {
        limits.validate()?;
        if limits.node != self.limits.node {
            self.node = TokenBucket::new(limits.node);
        }
        self.method_throttles = has_method_throttles(&limits);
        self.limits = limits;
        self.slots.clear();
        Ok(())
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Drops idle, full buckets (losslessly) and prunes quota periods past retention;
    /// returns how many buckets were dropped. Call it when [`next_sweep_ms`](Self::next_sweep_ms)
    /// is due; the table also sweeps itself as it grows.
    pub fn sweep(&mut self, now_ms: u64) -> usize {
        self.next_sweep_ms = now_ms.saturating_add(self.config.idle_ms);
        self.ledger
            .prune(now_ms.saturating_sub(self.config.usage_retention_ms));
        self.slots.sweep(now_ms, self.config.idle_ms)
    }

    /// When the next periodic [`sweep`](Self::sweep) is due.
    pub fn next_sweep_ms(&self) -> u64 {
        self.next_sweep_ms
    }

    /// Number of stage, route and client slots held (the node bucket not included).
    pub fn bucket_count(&self) -> usize {
        self.slots.map.len()
    }
}
