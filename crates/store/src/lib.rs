//! `causeway-store` owns what a node must remember across restarts: the immutable
//! deployments of each API and the stage pointers (which deployment a stage serves, with
//! its variables and the history of what it served before). Everything lives in one data
//! directory as plain JSON files:
//!
//! ```text
//! <dir>/deployments/<api-id>/<deployment-id>.json   one immutable snapshot each
//! <dir>/stages.json                                 every stage pointer
//! ```
//!
//! Every mutation is written with a crash-safe atomic replace (temporary file, `fsync`,
//! rename, directory `fsync`) before it returns, and a failed write leaves the in-memory
//! state unchanged. Deployment files are verified against their content address when
//! loaded; a torn or edited file is skipped with a warning, never served.
//!
//! This crate is synchronous std I/O. It must not depend on an async runtime (tokio,
//! hyper), on the gateway or on the admin API; it knows deployments only through
//! `causeway-model`.
#![forbid(unsafe_code)]

mod blobs;
mod deleted;
mod error;
mod fsio;
mod keys;
mod load;
mod names;

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::path::{Path, PathBuf};

use causeway_model::{CanarySpec, Deployment, DeploymentId, StageSettings};
use serde::{Deserialize, Serialize};

pub use deleted::{DeletedStage, StageDeletion};
pub use error::StoreError;
pub use keys::{ApiKeyRecord, KeyStore, PlanChange, PlanStage, UsagePlanRecord, hash_key};
use names::{check_api_id, check_deployment_id, check_stage};

/// How many previous deployment ids a stage remembers.
pub const HISTORY_LIMIT: usize = 50;

/// Where one stage of one API points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageRecord {
    /// The API.
    pub api_id: String,
    /// The stage name.
    pub stage: String,
    /// The deployment the stage serves.
    pub deployment_id: DeploymentId,
    /// Stage variables.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Milliseconds since the Unix epoch of the last change.
    pub updated_at_ms: u64,
    /// Deployments served before, newest last, at most [`HISTORY_LIMIT`].
    #[serde(default)]
    pub history: Vec<DeploymentId>,
    /// Access log, cache and throttle settings of the stage.
    #[serde(default, skip_serializing_if = "StageSettings::is_empty")]
    pub settings: StageSettings,
    /// A share of the stage's traffic served by another deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanarySpec>,
}

/// A change to one stage; `None` fields keep their current value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageChange {
    /// Point the stage here (required when the stage does not exist yet).
    pub deployment_id: Option<DeploymentId>,
    /// Replace the stage variables.
    pub variables: Option<BTreeMap<String, String>>,
    /// Replace the description.
    pub description: Option<String>,
    /// Replace the stage settings.
    pub settings: Option<StageSettings>,
    /// Set (`Some(Some(_))`) or remove (`Some(None)`) the stage's canary.
    pub canary: Option<Option<CanarySpec>>,
}

/// The deployments and stage pointers of one data directory.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    deployments: load::Deployments,
    stages: BTreeMap<(String, String), StageRecord>,
    /// Deleted stages: when each was deleted ([`Store::delete_stage`]).
    deleted: BTreeMap<(String, String), u64>,
}

impl Store {
    /// Open (creating if needed) the data directory `dir` and load what it holds.
    ///
    /// Deployment files that fail verification are skipped with a warning; leftover
    /// temporary files from interrupted writes are removed. An unreadable `stages.json` is
    /// an error: silently dropping stage pointers would undo deploys.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        fsio::create_dir(dir)?;
        let deployments_dir = dir.join("deployments");
        fsio::create_dir(&deployments_dir)?;
        load::remove_leftovers(dir)?;
        let deployments = load::deployments(&deployments_dir)?;
        let mut stages = BTreeMap::new();
        let (records, deleted) = load::stages(&dir.join("stages.json"))?;
        for record in records {
            let known = deployments
                .get(&record.api_id)
                .is_some_and(|d| d.contains_key(&record.deployment_id));
            if !known {
                tracing::warn!(
                    api = %record.api_id,
                    stage = %record.stage,
                    deployment = %record.deployment_id,
                    "stage points at a deployment that is missing or was skipped; \
                     it cannot be served until it is pointed elsewhere"
                );
            }
            stages.insert((record.api_id.clone(), record.stage.clone()), record);
        }
        Ok(Store {
            dir: dir.to_owned(),
            deployments,
            stages,
            deleted: deleted
                .into_iter()
                .map(|d| ((d.api_id, d.stage), d.deleted_at_ms))
                .collect(),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Store a deployment. Deployments are immutable and content-addressed, so storing the
    /// same id again changes nothing and returns `false`.
    pub fn put_deployment(&mut self, d: Deployment) -> Result<bool, StoreError> {
        check_api_id(&d.api.id)?;
        check_deployment_id(&d.id)?;
        if !d.verify() {
            return Err(StoreError::Tampered {
                api_id: d.api.id.clone(),
                id: d.id.clone(),
            });
        }
        if self.deployment(&d.api.id, &d.id).is_some() {
            return Ok(false);
        }
        let dir = self.dir.join("deployments").join(&d.api.id);
        fsio::create_dir(&dir)?;
        let path = dir.join(format!("{}.json", d.id));
        fsio::write_atomic(&path, &fsio::to_json(&d, &path)?)?;
        self.deployments
            .entry(d.api.id.clone())
            .or_default()
            .insert(d.id.clone(), d);
        Ok(true)
    }

    /// One deployment of an API.
    pub fn deployment(&self, api_id: &str, id: &DeploymentId) -> Option<&Deployment> {
        self.deployments.get(api_id)?.get(id)
    }

    /// Every deployment of an API, oldest first.
    pub fn deployments(&self, api_id: &str) -> Vec<&Deployment> {
        let mut all: Vec<&Deployment> = self
            .deployments
            .get(api_id)
            .map(|m| m.values().collect())
            .unwrap_or_default();
        all.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        all
    }

    /// Ids of the APIs that have deployments or stages, sorted.
    pub fn api_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .deployments
            .keys()
            .map(String::as_str)
            .chain(self.stages.keys().map(|(api, _)| api.as_str()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Point a stage at a stored deployment, creating the stage if needed. The previous
    /// deployment id goes to the history when it changes; `variables: None` keeps the
    /// current variables (none for a new stage).
    pub fn set_stage(
        &mut self,
        api_id: &str,
        stage: &str,
        deployment_id: &DeploymentId,
        variables: Option<BTreeMap<String, String>>,
        now_ms: u64,
    ) -> Result<&StageRecord, StoreError> {
        let change = StageChange {
            deployment_id: Some(deployment_id.clone()),
            variables,
            ..StageChange::default()
        };
        self.update_stage(api_id, stage, change, now_ms)
    }

    /// Apply `change` to one stage (creating it when `change.deployment_id` is set).
    pub fn update_stage(
        &mut self,
        api_id: &str,
        stage: &str,
        change: StageChange,
        now_ms: u64,
    ) -> Result<&StageRecord, StoreError> {
        let current = self.stage(api_id, stage).cloned();
        let record = self.apply(api_id, stage, current, change, now_ms)?;
        self.commit_one(record)
    }

    /// Apply several changes to stages of one API with a single write: all of them are
    /// stored, or none.
    pub fn update_stages(
        &mut self,
        api_id: &str,
        changes: Vec<(String, StageChange)>,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let mut updated: BTreeMap<(String, String), StageRecord> = BTreeMap::new();
        for (stage, change) in changes {
            let key = (api_id.to_owned(), stage);
            let current = updated.get(&key).or_else(|| self.stages.get(&key)).cloned();
            let record = self.apply(api_id, &key.1, current, change, now_ms)?;
            updated.insert(key, record);
        }
        self.commit(updated)
    }

    /// Point a stage back at an earlier deployment. `to: None` pops the newest entry of
    /// the stage's history; `Some(id)` may name any stored deployment of the API (the
    /// current one then goes to the history). Variables are kept.
    pub fn rollback(
        &mut self,
        api_id: &str,
        stage: &str,
        to: Option<&DeploymentId>,
        now_ms: u64,
    ) -> Result<&StageRecord, StoreError> {
        let mut record = self
            .stage(api_id, stage)
            .cloned()
            .ok_or_else(|| unknown_stage(api_id, stage))?;
        match to {
            None => {
                let previous = record.history.pop().ok_or_else(|| StoreError::NoHistory {
                    api_id: api_id.to_owned(),
                    stage: stage.to_owned(),
                })?;
                self.require_deployment(api_id, &previous)?;
                record.deployment_id = previous;
            }
            Some(id) => {
                self.require_deployment(api_id, id)?;
                point(&mut record, id.clone());
            }
        }
        record.updated_at_ms = now_ms;
        self.commit_one(record)
    }

    /// One stage.
    pub fn stage(&self, api_id: &str, stage: &str) -> Option<&StageRecord> {
        self.stages.get(&(api_id.to_owned(), stage.to_owned()))
    }

    /// Every stage, sorted by (API, stage).
    pub fn stages(&self) -> Vec<&StageRecord> {
        self.stages.values().collect()
    }

    fn require_deployment(&self, api_id: &str, id: &DeploymentId) -> Result<(), StoreError> {
        match self.deployment(api_id, id) {
            Some(_) => Ok(()),
            None => Err(StoreError::UnknownDeployment {
                api_id: api_id.to_owned(),
                id: id.clone(),
            }),
        }
    }

    /// The record `change` turns `current` into (nothing is stored).
    fn apply(
        &self,
        api_id: &str,
        stage: &str,
        current: Option<StageRecord>,
        change: StageChange,
        now_ms: u64,
    ) -> Result<StageRecord, StoreError> {
        check_api_id(api_id)?;
        check_stage(stage)?;
        if let Some(id) = &change.deployment_id {
            self.require_deployment(api_id, id)?;
        }
        if let Some(Some(canary)) = &change.canary {
            self.require_deployment(api_id, &canary.deployment_id)?;
        }
        let mut record = match (current, &change.deployment_id) {
            (Some(record), _) => record,
            (None, Some(id)) => StageRecord {
                api_id: api_id.to_owned(),
                stage: stage.to_owned(),
                deployment_id: id.clone(),
                variables: BTreeMap::new(),
                description: String::new(),
                updated_at_ms: now_ms,
                history: Vec::new(),
                settings: StageSettings::default(),
                canary: None,
            },
            (None, None) => return Err(unknown_stage(api_id, stage)),
        };
        if let Some(id) = change.deployment_id {
            point(&mut record, id);
        }
        if let Some(variables) = change.variables {
            record.variables = variables;
        }
        if let Some(description) = change.description {
            record.description = description;
        }
        if let Some(settings) = change.settings {
            record.settings = settings;
        }
        if let Some(canary) = change.canary {
            record.canary = canary;
        }
        record.updated_at_ms = now_ms;
        Ok(record)
    }

    fn commit_one(&mut self, record: StageRecord) -> Result<&StageRecord, StoreError> {
        let key = (record.api_id.clone(), record.stage.clone());
        let tombstones = self.deleted.clone();
        self.revive(std::slice::from_ref(&record));
        if let Err(e) = self.write_stages(std::slice::from_ref(&record)) {
            self.deleted = tombstones;
            return Err(e);
        }
        Ok(match self.stages.entry(key) {
            Entry::Occupied(mut slot) => {
                slot.insert(record);
                slot.into_mut()
            }
            Entry::Vacant(slot) => slot.insert(record),
        })
    }

    fn commit(
        &mut self,
        updated: BTreeMap<(String, String), StageRecord>,
    ) -> Result<(), StoreError> {
        if updated.is_empty() {
            return Ok(());
        }
        let records: Vec<StageRecord> = updated.values().cloned().collect();
        let tombstones = self.deleted.clone();
        self.revive(&records);
        if let Err(e) = self.write_stages(&records) {
            self.deleted = tombstones;
            return Err(e);
        }
        self.stages.extend(updated);
        Ok(())
    }

    /// Persist every stage with `replacing` substituted or added.
    fn write_stages(&self, replacing: &[StageRecord]) -> Result<(), StoreError> {
        let mut all: BTreeMap<(&str, &str), &StageRecord> = self
            .stages
            .values()
            .map(|r| ((r.api_id.as_str(), r.stage.as_str()), r))
            .collect();
        for r in replacing {
            all.insert((r.api_id.as_str(), r.stage.as_str()), r);
        }
        let file = load::StagesFile {
            version: load::STAGES_FILE_VERSION,
            stages: all.into_values().cloned().collect(),
            deleted: self.deleted_list(),
        };
        let path = self.dir.join("stages.json");
        fsio::write_atomic(&path, &fsio::to_json(&file, &path)?)
    }
}

/// Point `record` at `id`, remembering the previous deployment when it changes.
fn point(record: &mut StageRecord, id: DeploymentId) {
    if record.deployment_id != id {
        let previous = std::mem::replace(&mut record.deployment_id, id);
        record.history.push(previous);
        if record.history.len() > HISTORY_LIMIT {
            let excess = record.history.len() - HISTORY_LIMIT;
            record.history.drain(..excess);
        }
    }
}

fn unknown_stage(api_id: &str, stage: &str) -> StoreError {
    StoreError::UnknownStage {
        api_id: api_id.to_owned(),
        stage: stage.to_owned(),
    }
}
