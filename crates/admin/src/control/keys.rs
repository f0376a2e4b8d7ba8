//! API keys and usage plans: create, import, enable/disable, attach to plans; every change
//! is persisted, then the key table is re-published to the gateway.

use std::sync::{Arc, MutexGuard, PoisonError};

use causeway_gateway::{KeyBinding, PlanBinding};
use causeway_store::{ApiKeyRecord, KeyStore, UsagePlanRecord};

use super::Control;
use crate::wire::{CreatedKey, KeyPatch, KeyUsage, NewKey, NewPlan, PlanPatch};
use crate::{AdminError, now_ms};

impl Control {
    fn keys(&self) -> MutexGuard<'_, KeyStore> {
        // Changes are applied in memory only after they are persisted.
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Publish every key with its plans to the gateway.
    pub(super) fn publish_keys(&self, ks: &KeyStore) {
        let plans: std::collections::HashMap<&str, Arc<PlanBinding>> = ks
            .plans()
            .into_iter()
            .map(|p| {
                let binding = PlanBinding {
                    id: p.id.clone(),
                    throttle: p.throttle,
                    quota: p.quota,
                    stages: p
                        .stages
                        .iter()
                        .map(|s| (s.api.clone(), s.stage.clone()))
                        .collect(),
                    method_throttles: p
                        .method_throttles
                        .iter()
                        .map(|(k, v)| (k.clone(), *v))
                        .collect(),
                    created_at_ms: p.created_at_ms,
                };
                (p.id.as_str(), Arc::new(binding))
            })
            .collect();
        let keys = ks
            .keys()
            .into_iter()
            .map(|k| KeyBinding {
                id: k.id.clone(),
                hash: k.hash.clone(),
                enabled: k.enabled,
                plans: k
                    .usage_plans
                    .iter()
                    .filter_map(|p| plans.get(p.as_str()).cloned())
                    .collect(),
            })
            .collect();
        self.gateway.publish_keys(keys);
    }

    /// Create a key (or import one with `value`); the value is returned only here.
    pub fn create_key(&self, req: NewKey) -> Result<CreatedKey, AdminError> {
        let mut ks = self.keys();
        let (key, value) =
            ks.create_key(&req.name, req.value, req.enabled, req.usage_plans, now_ms())?;
        self.publish_keys(&ks);
        self.share("key", &key.id, &key);
        Ok(CreatedKey { key, value })
    }

    /// Enable/disable a key or change its plans.
    pub fn update_key(&self, id: &str, patch: KeyPatch) -> Result<ApiKeyRecord, AdminError> {
        let mut ks = self.keys();
        let key = ks.update_key(id, patch.enabled, patch.usage_plans)?;
        self.publish_keys(&ks);
        self.share("key", &key.id, &key);
        Ok(key)
    }

    /// Delete a key: refused from now on, here and (through the mesh) on every node.
    pub fn delete_key(&self, id: &str) -> Result<ApiKeyRecord, AdminError> {
        let mut ks = self.keys();
        let key = ks.delete_key(id)?;
        self.publish_keys(&ks);
        self.unshare("key", &key.id);
        Ok(key)
    }

    /// Change a plan's name, throttle, quota or stages.
    pub fn update_plan(&self, id: &str, patch: PlanPatch) -> Result<UsagePlanRecord, AdminError> {
        let mut ks = self.keys();
        let change = causeway_store::PlanChange {
            name: patch.name,
            throttle: patch.throttle,
            quota: patch.quota,
            stages: patch.stages,
            method_throttles: patch.method_throttles,
        };
        let plan = ks.update_plan(id, change)?;
        self.publish_keys(&ks);
        self.share("plan", &plan.id, &plan);
        Ok(plan)
    }

    /// Delete a plan; its keys stay, without it.
    pub fn delete_plan(&self, id: &str) -> Result<UsagePlanRecord, AdminError> {
        let mut ks = self.keys();
        let (plan, keys) = ks.delete_plan(id)?;
        self.publish_keys(&ks);
        for key in &keys {
            self.share("key", &key.id, key);
        }
        self.unshare("plan", &plan.id);
        Ok(plan)
    }

    /// A key or plan a peer deleted: gone here too (already gone is fine).
    pub(crate) fn apply_shared_delete(&self, kind: &str, id: &str) -> Result<(), String> {
        let mut ks = self.keys();
        let gone = match kind {
            "key" => ks.delete_key(id).map(drop),
            _ => ks.delete_plan(id).map(drop),
        };
        match gone {
            Ok(()) => {}
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e.to_string()),
        }
        self.publish_keys(&ks);
        Ok(())
    }

    /// A key or plan a peer shared over the mesh, stored and published here.
    pub(crate) fn apply_shared_key(&self, kind: &str, json: &[u8]) -> Result<(), String> {
        let mut ks = self.keys();
        match kind {
            "key" => {
                let record: ApiKeyRecord =
                    serde_json::from_slice(json).map_err(|e| e.to_string())?;
                ks.put_key(record).map_err(|e| e.to_string())?;
            }
            _ => {
                let record: UsagePlanRecord =
                    serde_json::from_slice(json).map_err(|e| e.to_string())?;
                ks.put_plan(record).map_err(|e| e.to_string())?;
            }
        }
        self.publish_keys(&ks);
        Ok(())
    }

    /// Every key (without values).
    pub fn list_keys(&self) -> Vec<ApiKeyRecord> {
        self.keys().keys().into_iter().cloned().collect()
    }

    /// Create a usage plan.
    pub fn create_plan(&self, req: NewPlan) -> Result<UsagePlanRecord, AdminError> {
        let mut ks = self.keys();
        let plan = ks.create_plan_with(
            &req.name,
            req.throttle,
            req.quota,
            req.stages,
            req.method_throttles,
            now_ms(),
        )?;
        self.publish_keys(&ks);
        self.share("plan", &plan.id, &plan);
        Ok(plan)
    }

    /// Load persisted quota counters into the gateway (at start).
    pub(super) fn restore_usage(&self, ks: &KeyStore) {
        match ks.load_usage() {
            Ok(Some(v)) => {
                if let Err(e) = self.gateway.merge_quota_usage_json(&v) {
                    tracing::error!(error = %e, "stored quota usage is unreadable; counting from zero");
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "cannot read stored quota usage; counting from zero")
            }
        }
    }

    /// Persist the gateway's quota counters.
    pub fn save_usage(&self) -> Result<(), AdminError> {
        let usage = self.gateway.quota_usage_json();
        self.keys().save_usage(&usage)?;
        Ok(())
    }

    /// Quota use of every key of plan `plan_id` in the current period.
    pub fn plan_usage(&self, plan_id: &str) -> Result<Vec<KeyUsage>, AdminError> {
        let ks = self.keys();
        let plan = ks.plan(plan_id)?;
        Ok(ks
            .keys()
            .into_iter()
            .filter(|k| k.usage_plans.iter().any(|p| p == &plan.id))
            .map(|k| {
                let usage = self.gateway.quota_usage(&k.id, &plan.id);
                KeyUsage {
                    key_id: k.id.clone(),
                    key_name: k.name.clone(),
                    period_start: usage.as_ref().map(|u| u.0.clone()),
                    used: usage.as_ref().map_or(0, |u| u.1),
                    allowance: usage.as_ref().map(|u| u.2),
                }
            })
            .collect())
    }

    /// Store a plugin component uploaded as `sha` (refused if the bytes hash otherwise).
    pub fn put_plugin(&self, sha: &str, bytes: &[u8]) -> Result<serde_json::Value, AdminError> {
        // Checked before anything is stored: a refused upload leaves no blob behind.
        let real = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
        if real != sha {
            return Err(AdminError::BadRequest(format!(
                "the uploaded component has SHA-256 {real}, not {sha}; upload it to /v1/plugins/{real}"
            )));
        }
        let stored = self.lock().store.put_blob(bytes)?;
        // A peer's stage may have been waiting for this component.
        crate::mesh::retry_pending(self);
        Ok(serde_json::json!({ "sha256": stored, "size": bytes.len() }))
    }

    /// Whether a plugin component is stored.
    pub fn has_plugin(&self, sha: &str) -> bool {
        self.lock().store.has_blob(sha)
    }

    /// Every usage plan.
    pub fn list_plans(&self) -> Vec<UsagePlanRecord> {
        self.keys().plans().into_iter().cloned().collect()
    }
}
