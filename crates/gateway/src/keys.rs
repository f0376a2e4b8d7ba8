//! API keys as the data plane sees them: SHA-256 of the value → key, its enabled flag and
//! the usage plans (with the API stages they cover). Published by the control plane and
//! swapped atomically, like the routing table.

use std::sync::Arc;

use ahash::RandomState;
use causeway_model::{QuotaSpec, ThrottleSpec};
use hashbrown::HashMap;

/// A usage plan to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanBinding {
    /// Plan id.
    pub id: String,
    /// Per-key rate and burst.
    pub throttle: Option<ThrottleSpec>,
    /// Per-key quota.
    pub quota: Option<QuotaSpec>,
    /// (API id, stage) pairs the plan covers.
    pub stages: Vec<(String, String)>,
    /// Per-key rate and burst on single routes, by route key.
    pub method_throttles: Vec<(String, ThrottleSpec)>,
    /// When the plan was created (its first quota period starts then).
    pub created_at_ms: u64,
}

/// An API key to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyBinding {
    /// Key id.
    pub id: String,
    /// SHA-256 of the value, hex.
    pub hash: String,
    /// Disabled keys are refused.
    pub enabled: bool,
    /// Plans the key is in.
    pub plans: Vec<Arc<PlanBinding>>,
}

/// Published keys, by value hash.
#[derive(Debug, Default)]
pub(crate) struct KeyTable {
    by_hash: HashMap<String, Arc<KeyBinding>, RandomState>,
}

impl KeyTable {
    pub(crate) fn build(keys: Vec<KeyBinding>) -> KeyTable {
        KeyTable {
            by_hash: keys
                .into_iter()
                .map(|k| (k.hash.clone(), Arc::new(k)))
                .collect(),
        }
    }

    /// Every published key.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &Arc<KeyBinding>> {
        self.by_hash.values()
    }

    /// The key whose value is `value`.
    pub(crate) fn find(&self, value: &str) -> Option<&Arc<KeyBinding>> {
        use sha2::{Digest, Sha256};
        let hash = hex::encode(Sha256::digest(value.as_bytes()));
        self.by_hash.get(&hash)
    }
}

impl KeyBinding {
    /// The first plan of this key that covers `api` at `stage`.
    pub fn plan_for(&self, api: &str, stage: &str) -> Option<&Arc<PlanBinding>> {
        self.plans
            .iter()
            .find(|p| p.stages.iter().any(|(a, s)| a == api && s == stage))
    }
}
