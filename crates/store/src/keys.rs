//! API keys and usage plans, kept beside the deployments:
//!
//! ```text
//! <dir>/api_keys.json      every key: id, name, SHA-256 of its value, enabled, plans
//! <dir>/usage_plans.json   every usage plan: throttle, quota, the API stages it covers
//! <dir>/usage.json         quota counters (opaque JSON owned by the caller)
//! ```
//!
//! Key values are never stored: only their SHA-256, so a leaked data directory does not
//! leak keys. A generated key is returned once, at creation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use causeway_model::{QuotaSpec, ThrottleSpec};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{StoreError, fsio};

/// One API key (without its value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRecord {
    /// Stable id (`k-` + 10 hex digits).
    pub id: String,
    /// Human name.
    pub name: String,
    /// SHA-256 of the key value, hex.
    pub hash: String,
    /// First four characters of the value, to recognise it in lists.
    pub prefix: String,
    /// Disabled keys are refused with 403.
    pub enabled: bool,
    /// Usage plans the key is in.
    #[serde(default)]
    pub usage_plans: Vec<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at_ms: u64,
}

/// An API stage a usage plan covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanStage {
    /// API id.
    pub api: String,
    /// Stage name.
    pub stage: String,
}

/// One usage plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsagePlanRecord {
    /// Stable id (`p-` + 10 hex digits).
    pub id: String,
    /// Human name.
    pub name: String,
    /// Per-key rate and burst.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleSpec>,
    /// Per-key quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaSpec>,
    /// API stages the plan applies to.
    #[serde(default)]
    pub stages: Vec<PlanStage>,
    /// Per-key rate and burst on single routes (by route key, `GET /pets/{id}`, in every
    /// stage the plan covers): API Gateway's usage plan method throttling.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub method_throttles: BTreeMap<String, ThrottleSpec>,
    /// Milliseconds since the Unix epoch.
    pub created_at_ms: u64,
}

/// A change to a usage plan; `None` fields keep their value (`Some(None)` removes a
/// throttle or quota).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanChange {
    pub name: Option<String>,
    pub throttle: Option<Option<ThrottleSpec>>,
    pub quota: Option<Option<QuotaSpec>>,
    pub stages: Option<Vec<PlanStage>>,
    /// Route key → rate and burst, replacing them all.
    pub method_throttles: Option<BTreeMap<String, ThrottleSpec>>,
}

/// The keys and plans of one data directory.
#[derive(Debug)]
pub struct KeyStore {
    dir: PathBuf,
    keys: BTreeMap<String, ApiKeyRecord>,
    plans: BTreeMap<String, UsagePlanRecord>,
}

/// SHA-256 of a key value, hex.
pub fn hash_key(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

fn new_id(prefix: &str) -> String {
    let bytes: [u8; 5] = rand::random();
    format!("{prefix}{}", hex::encode(bytes))
}

fn load<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Invalid {
            field: "data file",
            reason: format!(
                "`{}` is unreadable ({e}); restore it from a backup",
                path.display()
            ),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(StoreError::io("read", path, e)),
    }
}

impl KeyStore {
    /// Open the keys and plans of data directory `dir` (created if needed).
    pub fn open(dir: &Path) -> Result<KeyStore, StoreError> {
        fsio::create_dir(dir)?;
        let keys = load::<ApiKeyRecord>(&dir.join("api_keys.json"))?;
        let plans = load::<UsagePlanRecord>(&dir.join("usage_plans.json"))?;
        Ok(KeyStore {
            dir: dir.to_owned(),
            keys: keys.into_iter().map(|k| (k.id.clone(), k)).collect(),
            plans: plans.into_iter().map(|p| (p.id.clone(), p)).collect(),
        })
    }

    fn save_keys(&self, keys: &BTreeMap<String, ApiKeyRecord>) -> Result<(), StoreError> {
        let path = self.dir.join("api_keys.json");
        let list: Vec<&ApiKeyRecord> = keys.values().collect();
        fsio::write_atomic(&path, &fsio::to_json(&list, &path)?)
    }

    fn save_plans(&self, plans: &BTreeMap<String, UsagePlanRecord>) -> Result<(), StoreError> {
        let path = self.dir.join("usage_plans.json");
        let list: Vec<&UsagePlanRecord> = plans.values().collect();
        fsio::write_atomic(&path, &fsio::to_json(&list, &path)?)
    }

    /// Create (or, with `value`, import) a key. Returns the record and the key value.
    pub fn create_key(
        &mut self,
        name: &str,
        value: Option<String>,
        enabled: bool,
        usage_plans: Vec<String>,
        now_ms: u64,
    ) -> Result<(ApiKeyRecord, String), StoreError> {
        let value = value.unwrap_or_else(|| {
            let bytes: [u8; 20] = rand::random();
            hex::encode(bytes)
        });
        if value.len() < 20 || value.len() > 128 || !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(StoreError::Invalid {
                field: "value",
                reason: "an API key is 20 to 128 printable ASCII characters".into(),
            });
        }
        for p in &usage_plans {
            self.plan(p)?;
        }
        let hash = hash_key(&value);
        if self.keys.values().any(|k| k.hash == hash) {
            return Err(StoreError::Invalid {
                field: "value",
                reason: "this key value is already imported".into(),
            });
        }
        let record = ApiKeyRecord {
            id: new_id("k-"),
            name: name.to_owned(),
            hash,
            prefix: value.chars().take(4).collect(),
            enabled,
            usage_plans,
            created_at_ms: now_ms,
        };
        let mut keys = self.keys.clone();
        keys.insert(record.id.clone(), record.clone());
        self.save_keys(&keys)?;
        self.keys = keys;
        Ok((record, value))
    }

    /// Enable/disable a key and/or replace its plans.
    pub fn update_key(
        &mut self,
        id: &str,
        enabled: Option<bool>,
        usage_plans: Option<Vec<String>>,
    ) -> Result<ApiKeyRecord, StoreError> {
        let mut record = self.key(id)?.clone();
        if let Some(e) = enabled {
            record.enabled = e;
        }
        if let Some(plans) = usage_plans {
            for p in &plans {
                self.plan(p)?;
            }
            record.usage_plans = plans;
        }
        let mut keys = self.keys.clone();
        keys.insert(record.id.clone(), record.clone());
        self.save_keys(&keys)?;
        self.keys = keys;
        Ok(record)
    }

    /// One key.
    pub fn key(&self, id: &str) -> Result<&ApiKeyRecord, StoreError> {
        self.keys
            .get(id)
            .ok_or_else(|| StoreError::UnknownKey { id: id.to_owned() })
    }

    /// Every key, by id.
    pub fn keys(&self) -> Vec<&ApiKeyRecord> {
        self.keys.values().collect()
    }

    /// Create a usage plan.
    pub fn create_plan(
        &mut self,
        name: &str,
        throttle: Option<ThrottleSpec>,
        quota: Option<QuotaSpec>,
        stages: Vec<PlanStage>,
        now_ms: u64,
    ) -> Result<UsagePlanRecord, StoreError> {
        self.create_plan_with(name, throttle, quota, stages, BTreeMap::new(), now_ms)
    }

    /// [`create_plan`](Self::create_plan) with method throttles (route key → rate and
    /// burst); everything is checked before anything is stored.
    pub fn create_plan_with(
        &mut self,
        name: &str,
        throttle: Option<ThrottleSpec>,
        quota: Option<QuotaSpec>,
        stages: Vec<PlanStage>,
        method_throttles: BTreeMap<String, ThrottleSpec>,
        now_ms: u64,
    ) -> Result<UsagePlanRecord, StoreError> {
        let record = UsagePlanRecord {
            id: new_id("p-"),
            name: name.to_owned(),
            throttle,
            quota,
            stages,
            method_throttles,
            created_at_ms: now_ms,
        };
        self.put_plan(record)
    }

    /// Store a key record as given (a peer's, replicated by the mesh): created or replaced.
    pub fn put_key(&mut self, record: ApiKeyRecord) -> Result<ApiKeyRecord, StoreError> {
        let mut keys = self.keys.clone();
        keys.insert(record.id.clone(), record.clone());
        self.save_keys(&keys)?;
        self.keys = keys;
        Ok(record)
    }

    /// Store a plan record as given (a peer's, replicated by the mesh): created or
    /// replaced, after the same checks as [`create_plan`](Self::create_plan).
    pub fn put_plan(&mut self, record: UsagePlanRecord) -> Result<UsagePlanRecord, StoreError> {
        check_plan(&record)?;
        let mut plans = self.plans.clone();
        plans.insert(record.id.clone(), record.clone());
        self.save_plans(&plans)?;
        self.plans = plans;
        Ok(record)
    }
}

/// A plan's throttle, quota and method throttles, checked.
fn check_plan(record: &UsagePlanRecord) -> Result<(), StoreError> {
    check_limits(record.throttle, record.quota)?;
    for (route, t) in &record.method_throttles {
        let key_ok = route == "$default"
            || route.split_once(' ').is_some_and(|(m, p)| {
                !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()) && p.starts_with('/')
            });
        if !key_ok {
            return Err(StoreError::Invalid {
                field: "method_throttles",
                reason: format!(
                    "`{route}` is not a route key: write `METHOD /path` as the route does, e.g. `GET /pets/{{id}}`"
                ),
            });
        }
        check_limits(Some(*t), None)?;
    }
    Ok(())
}

impl KeyStore {
    /// Change a plan: each `Some` of `change` replaces that part, after the same checks
    /// as [`create_plan`](Self::create_plan); a refused change stores nothing.
    pub fn update_plan(
        &mut self,
        id: &str,
        change: PlanChange,
    ) -> Result<UsagePlanRecord, StoreError> {
        let mut record = self.plan(id)?.clone();
        if let Some(name) = change.name {
            record.name = name;
        }
        if let Some(throttle) = change.throttle {
            record.throttle = throttle;
        }
        if let Some(quota) = change.quota {
            record.quota = quota;
        }
        if let Some(stages) = change.stages {
            record.stages = stages;
        }
        if let Some(throttles) = change.method_throttles {
            record.method_throttles = throttles;
        }
        self.put_plan(record)
    }

    /// Delete a key; an unknown id is [`StoreError::UnknownKey`].
    pub fn delete_key(&mut self, id: &str) -> Result<ApiKeyRecord, StoreError> {
        let record = self.key(id)?.clone();
        let mut keys = self.keys.clone();
        keys.remove(id);
        self.save_keys(&keys)?;
        self.keys = keys;
        Ok(record)
    }

    /// Delete a plan and take it off every key in it (as API Gateway's `DeleteUsagePlan`
    /// removes the plan's keys from it). Returns the plan and the keys changed.
    pub fn delete_plan(
        &mut self,
        id: &str,
    ) -> Result<(UsagePlanRecord, Vec<ApiKeyRecord>), StoreError> {
        let record = self.plan(id)?.clone();
        let mut keys = self.keys.clone();
        let mut changed = Vec::new();
        for key in keys.values_mut() {
            if key.usage_plans.iter().any(|p| p == id) {
                key.usage_plans.retain(|p| p != id);
                changed.push(key.clone());
            }
        }
        // Keys first: if the plans file is not written, the plan is still there with
        // fewer keys in it, never a key in a plan that does not exist.
        if !changed.is_empty() {
            self.save_keys(&keys)?;
            self.keys = keys;
        }
        let mut plans = self.plans.clone();
        plans.remove(id);
        self.save_plans(&plans)?;
        self.plans = plans;
        Ok((record, changed))
    }

    /// One plan.
    pub fn plan(&self, id: &str) -> Result<&UsagePlanRecord, StoreError> {
        self.plans
            .get(id)
            .ok_or_else(|| StoreError::UnknownPlan { id: id.to_owned() })
    }

    /// Every plan, by id.
    pub fn plans(&self) -> Vec<&UsagePlanRecord> {
        self.plans.values().collect()
    }

    /// The persisted quota counters, as last saved.
    pub fn load_usage(&self) -> Result<Option<serde_json::Value>, StoreError> {
        let path = self.dir.join("usage.json");
        match std::fs::read(&path) {
            Ok(b) => Ok(serde_json::from_slice(&b).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io("read", &path, e)),
        }
    }

    /// Persist the quota counters.
    pub fn save_usage(&self, usage: &serde_json::Value) -> Result<(), StoreError> {
        let path = self.dir.join("usage.json");
        fsio::write_atomic(&path, &fsio::to_json(usage, &path)?)
    }
}

/// A plan's throttle and quota, checked.
fn check_limits(
    throttle: Option<ThrottleSpec>,
    quota: Option<QuotaSpec>,
) -> Result<(), StoreError> {
    if let Some(t) = throttle
        && !(t.rate.is_finite() && t.rate > 0.0 && t.burst > 0)
    {
        return Err(StoreError::Invalid {
            field: "throttle",
            reason: "rate must be above 0 and burst at least 1".into(),
        });
    }
    if let Some(q) = quota {
        let max_offset = match q.period {
            causeway_model::QuotaPeriodSpec::Day => 0,
            causeway_model::QuotaPeriodSpec::Week => 6,
            causeway_model::QuotaPeriodSpec::Month => 27,
        };
        if q.limit == 0 || q.offset > max_offset {
            return Err(StoreError::Invalid {
                field: "quota",
                reason: format!(
                    "limit must be at least 1 and offset at most {max_offset} for this period"
                ),
            });
        }
    }
    Ok(())
}
