//! A grow-only counter (G-counter) CRDT for quota usage replicated across nodes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Identifies one gateway node (or region) that counts requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u64);

/// A grow-only counter: each node only ever raises its own contribution, and replicas merge
/// by taking the maximum per node, so [`merge`](Self::merge) is commutative, associative and
/// idempotent, and the [`total`](Self::total) never goes down.
///
/// Serialized as a map from node id to that node's count: `{ "1": 40, "2": 2 }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GCounter {
    counts: BTreeMap<NodeId, u64>,
}

impl GCounter {
    /// An empty counter (total 0).
    pub fn new() -> GCounter {
        GCounter::default()
    }

    /// Adds `n` to `node`'s contribution (saturating).
    pub fn increment(&mut self, node: NodeId, n: u64) {
        let count = self.counts.entry(node).or_insert(0);
        *count = count.saturating_add(n);
    }

    /// `node`'s contribution.
    pub fn get(&self, node: NodeId) -> u64 {
        self.counts.get(&node).copied().unwrap_or(0)
    }

    /// The sum of all contributions (saturating).
    pub fn total(&self) -> u64 {
        self.counts
            .values()
            .fold(0u64, |sum, &count| sum.saturating_add(count))
    }

    /// Folds `other` in: per node, the larger of the two contributions.
    pub fn merge(&mut self, other: &GCounter) {
        for (&node, &count) in &other.counts {
            let mine = self.counts.entry(node).or_insert(0);
            *mine = (*mine).max(count);
        }
    }

    /// Per-node contributions, by node id.
    pub fn contributions(&self) -> impl Iterator<Item = (NodeId, u64)> + '_ {
        self.counts.iter().map(|(&node, &count)| (node, count))
    }
}
