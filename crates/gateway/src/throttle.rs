//! The I/O shell around `causeway-throttle`: builds its limits from what is published
//! (node, stage and route throttles, usage plans and their keys), feeds it wall-clock time
//! and exposes quota usage for the control plane to read and persist.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use causeway_model::{QuotaPeriodSpec, ThrottleSpec};
use causeway_throttle::{
    Limits, NodeId, Quota, QuotaLedger, QuotaPeriod, Rate, Throttler, ThrottlerConfig, UsagePlan,
};

use crate::keys::KeyTable;
use crate::table::Table;

/// Milliseconds since the Unix epoch (quota periods are calendar periods).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Milliseconds since the Unix epoch at `at`, a recent `Instant` (a request's arrival):
/// from a per-thread anchor that reads the wall clock again once it is a second old, so a
/// request reads one clock instead of two. A step of the wall clock shows within a second.
pub(crate) fn epoch_ms_at(at: std::time::Instant) -> u64 {
    thread_local! {
        static ANCHOR: std::cell::Cell<Option<(std::time::Instant, u64)>> =
            const { std::cell::Cell::new(None) };
    }
    ANCHOR.with(|anchor| {
        if let Some((then, ms)) = anchor.get()
            && let Some(since) = at.checked_duration_since(then)
            && since < std::time::Duration::from_secs(1)
        {
            return ms + u64::try_from(since.as_millis()).unwrap_or(0);
        }
        let ms = now_ms();
        anchor.set(Some((at, ms)));
        ms
    })
}

/// The throttle key of a stage: stages are named per API.
pub(crate) fn stage_key(api: &str, stage: &str) -> String {
    format!("{api}/{stage}")
}

/// The throttle key of a client: a key charged through one plan.
pub(crate) fn client_key(key_id: &str, plan_id: &str) -> String {
    format!("{key_id}/{plan_id}")
}

fn rate(t: ThrottleSpec) -> Option<Rate> {
    match Rate::new(t.rate, u64::from(t.burst)) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(error = %e, "throttle setting ignored");
            None
        }
    }
}

/// A mesh node's slot in the shared quota counters: the first 8 bytes of the SHA-256 of
/// its mesh id (stable across restarts and builds; 0 is the node without a mesh).
pub(crate) fn node_id(mesh_id: &str) -> u64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(mesh_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first).max(1)
}

/// The node's throttler.
#[derive(Debug)]
pub(crate) struct Throttle {
    node: ThrottleSpec,
    inner: Mutex<Throttler>,
}

impl Throttle {
    /// `node_id`: this node's contribution slot in the quota counters it shares.
    pub(crate) fn new(node: ThrottleSpec, node_id: u64) -> Throttle {
        let limits = Limits {
            node: rate(node).unwrap_or(Rate::ACCOUNT_DEFAULT),
            ..Limits::default()
        };
        // Limits without API keys always validate.
        #[allow(clippy::expect_used)]
        let throttler = Throttler::new(
            limits,
            ThrottlerConfig {
                node_id: NodeId(node_id),
                ..ThrottlerConfig::default()
            },
        )
        .expect("limits without keys validate");
        Throttle {
            node,
            inner: Mutex::new(throttler),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Throttler> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Rebuild the limits from the published table and keys.
    pub(crate) fn configure(&self, table: &Table, keys: &KeyTable) {
        let mut limits = Limits {
            node: rate(self.node).unwrap_or(Rate::ACCOUNT_DEFAULT),
            ..Limits::default()
        };
        // A canary shares its stage's limits; its deployment's route limits join them.
        for rt in table.runtimes() {
            let mut sl = limits.stages.remove(&rt.throttle_key).unwrap_or_default();
            if sl.rate.is_none() {
                sl.rate = rt.throttle.and_then(rate);
            }
            for r in &rt.deployment.spec().routes {
                if let Some(t) = r.throttle.and_then(rate) {
                    sl.routes.entry(r.key.clone()).or_insert(t);
                }
            }
            if sl.rate.is_some() || !sl.routes.is_empty() {
                limits.stages.insert(rt.throttle_key.clone(), sl);
            }
        }
        for key in keys.keys() {
            for plan in &key.plans {
                let quota = plan.quota.and_then(|q| {
                    let period = match q.period {
                        QuotaPeriodSpec::Day => QuotaPeriod::Day,
                        QuotaPeriodSpec::Week => QuotaPeriod::Week,
                        QuotaPeriodSpec::Month => QuotaPeriod::Month,
                    };
                    Quota::new(q.limit, period)
                        .with_offset(q.offset, plan.created_at_ms)
                        .ok()
                });
                let up = UsagePlan {
                    throttle: plan.throttle.and_then(rate),
                    quota,
                    routes: plan
                        .method_throttles
                        .iter()
                        .filter_map(|(route, t)| Some((route.clone(), rate(*t)?)))
                        .collect(),
                };
                limits.plans.insert(plan.id.clone(), up);
                limits
                    .api_keys
                    .insert(client_key(&key.id, &plan.id), plan.id.clone());
            }
        }
        if let Err(e) = self.lock().set_limits(limits) {
            tracing::error!(error = %e, "throttle limits rejected; keeping the previous ones");
        }
    }

    /// Quota counters as JSON, to persist.
    pub(crate) fn ledger_json(&self) -> serde_json::Value {
        serde_json::to_value(self.lock().ledger()).unwrap_or_default()
    }

    /// Fold in persisted quota counters.
    pub(crate) fn merge_ledger_json(&self, value: &serde_json::Value) -> Result<(), String> {
        let ledger: QuotaLedger =
            serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
        self.lock().merge_ledger(&ledger);
        Ok(())
    }
}

#[cfg(test)]
mod clock_tests {
    use std::time::{Duration, Instant};

    #[test]
    fn epoch_ms_follows_the_instant_and_re_anchors_after_a_second() {
        // Clock reads a moment apart agree within this (a busy machine may preempt the
        // test between them); a wrong anchor would be off by 400 ms or 3 s.
        const SLACK: u64 = 100;
        let t0 = Instant::now();
        let before = super::now_ms();
        let ms0 = super::epoch_ms_at(t0);
        assert!(ms0.abs_diff(before) <= SLACK, "{ms0} vs {before}");
        // Within the second: offset from the anchor, no clock read.
        assert_eq!(
            super::epoch_ms_at(t0 + Duration::from_millis(400)),
            ms0 + 400
        );
        // A second on (or an instant before the anchor): the wall clock again.
        let later = t0 + Duration::from_secs(3);
        let now = super::now_ms();
        assert!(super::epoch_ms_at(later).abs_diff(now) <= SLACK);
        assert!(super::epoch_ms_at(t0).abs_diff(super::now_ms()) <= SLACK);
    }
}
