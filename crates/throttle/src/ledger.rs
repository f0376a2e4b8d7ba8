//! Quota usage per API key and period, as mergeable G-counters: the state that persists.

use std::collections::BTreeMap;

use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

use crate::{GCounter, NodeId, Period};

/// Quota usage: one [`GCounter`] per (API key, [`Period`]).
///
/// This is the state worth persisting and replicating; token buckets are not (they refill
/// within seconds, and a restarted node simply starts with full buckets). [`merge`](Self::merge)
/// is a per-counter G-counter merge, so ledgers from several nodes or regions converge in any
/// order.
///
/// Serialized as a list sorted by key then period:
/// `[{ "key": "k1", "period": { "kind": "MONTH", "start_day": 19723 }, "counts": { "1": 40 } }]`.
/// Duplicate entries in the input are merged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "Vec<LedgerEntry>")]
pub struct QuotaLedger {
    keys: HashMap<String, BTreeMap<Period, GCounter>, ahash::RandomState>,
}

/// One serialized counter of a [`QuotaLedger`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The API key.
    pub key: String,
    /// The quota period.
    pub period: Period,
    /// Per-node request counts.
    pub counts: GCounter,
}

impl QuotaLedger {
    /// An empty ledger.
    pub fn new() -> QuotaLedger {
        QuotaLedger::default()
    }

    /// Counts `n` requests by `key` in `period`, made on `node`.
    pub fn record(&mut self, key: &str, period: Period, node: NodeId, n: u64) {
        self.periods_mut(key)
            .entry(period)
            .or_default()
            .increment(node, n);
    }

    /// Requests by `key` in `period`, summed over all nodes.
    pub fn usage(&self, key: &str, period: Period) -> u64 {
        self.counter(key, period).map_or(0, GCounter::total)
    }

    /// The counter for `key` in `period`, if anything was recorded.
    pub fn counter(&self, key: &str, period: Period) -> Option<&GCounter> {
        self.keys.get(key)?.get(&period)
    }

    /// Every recorded period of `key` with its total, oldest first within each period kind.
    pub fn periods(&self, key: &str) -> impl Iterator<Item = (Period, u64)> + '_ {
        self.keys
            .get(key)
            .into_iter()
            .flatten()
            .map(|(&period, counter)| (period, counter.total()))
    }

    /// Folds `other` in, counter by counter (commutative, associative, idempotent).
    pub fn merge(&mut self, other: &QuotaLedger) {
        for (key, periods) in &other.keys {
            let mine = self.periods_mut(key);
            for (&period, counter) in periods {
                mine.entry(period).or_default().merge(counter);
            }
        }
    }

    /// Drops every period that ended at or before `before_ms` (milliseconds since the Unix
    /// epoch), and keys left with none. Bounds memory; a later merge from a replica that has
    /// not pruned may bring such periods back until the next prune.
    pub fn prune(&mut self, before_ms: u64) {
        let cutoff = i128::from(before_ms);
        self.keys.retain(|_, periods| {
            periods.retain(|period, _| period.end_ms() > cutoff);
            !periods.is_empty()
        });
    }

    /// Number of (key, period) counters.
    pub fn len(&self) -> usize {
        self.keys.values().map(BTreeMap::len).sum()
    }

    /// Whether no usage is recorded.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// All counters, sorted by key then period.
    pub fn entries(&self) -> Vec<LedgerEntry> {
        let mut keys: Vec<_> = self.keys.iter().collect();
        keys.sort_unstable_by(|a, b| a.0.cmp(b.0));
        keys.into_iter()
            .flat_map(|(key, periods)| {
                periods.iter().map(|(&period, counts)| LedgerEntry {
                    key: key.clone(),
                    period,
                    counts: counts.clone(),
                })
            })
            .collect()
    }

    /// The periods map of `key`, created empty if absent.
    pub(crate) fn periods_mut(&mut self, key: &str) -> &mut BTreeMap<Period, GCounter> {
        self.keys.entry_ref(key).or_default()
    }
}

impl From<Vec<LedgerEntry>> for QuotaLedger {
    fn from(entries: Vec<LedgerEntry>) -> QuotaLedger {
        let mut ledger = QuotaLedger::new();
        for entry in entries {
            ledger
                .periods_mut(&entry.key)
                .entry(entry.period)
                .or_default()
                .merge(&entry.counts);
        }
        ledger
    }
}

impl Serialize for QuotaLedger {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.entries().serialize(serializer)
    }
}
