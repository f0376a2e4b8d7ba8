//! Stages shared over the mesh: what a stage change on this node tells the others, and
//! how a peer's stage change is taken in (its deployments stored, compiled, published).

use causeway_model::Deployment;
use causeway_store::{StageChange, StageRecord};
use serde::{Deserialize, Serialize};

use super::Control;
use crate::AdminError;

/// What became of a peer's stage change.
#[derive(Debug)]
pub(crate) enum Taken {
    /// The stage now serves what the peer set.
    Set(StageRecord),
    /// This node already had that change, or a newer one (`true`: newer, which the mesh
    /// should hear again, so the peer's older record does not stand).
    Kept(StageRecord, bool),
    /// The stage is deleted here (at or after the peer's change, or by the peer's
    /// delete); `true`: this node's delete is the newer word, to be heard again.
    Deleted(String, String, bool),
}

/// A stage as one node last set it, with the deployments it serves (content-addressed,
/// so a peer stores each once and checks its hash).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SharedStage {
    record: StageRecord,
    deployments: Vec<Deployment>,
    /// The stage was deleted then (its last record names it; no deployments travel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deleted_at_ms: Option<u64>,
}

impl Control {
    /// Tells the mesh's other nodes what stage `api_id`/`stage` now serves.
    pub(crate) fn share_stage(&self, api_id: &str, stage: &str) {
        if self.mesh().is_none() {
            return;
        }
        let shared = {
            let inner = self.lock();
            let Some(record) = inner.store.stage(api_id, stage).cloned() else {
                return;
            };
            let ids = std::iter::once(&record.deployment_id)
                .chain(record.canary.as_ref().map(|c| &c.deployment_id));
            let deployments = ids
                .filter_map(|id| inner.store.deployment(api_id, id).cloned())
                .collect();
            SharedStage {
                record,
                deployments,
                deleted_at_ms: None,
            }
        };
        // Components first: a peer applies entries in the order they were written.
        if let Some(link) = self.mesh() {
            let shas = shared
                .deployments
                .iter()
                .flat_map(|d| d.api.plugins.iter().filter_map(|p| p.sha256.clone()));
            for sha in shas {
                link.share_component(&sha, || {
                    self.lock().store.blob(&sha).map_err(|e| e.to_string())
                });
            }
        }
        self.share("stage", &format!("{api_id}/{stage}"), &shared);
    }

    /// Tells the mesh every stage this node has, when its mesh member starts: a node that
    /// joined after a change (a new edge, a region that was down) learns it, and a peer
    /// with a newer change answers with that ([`Taken::Kept`]).
    pub(crate) fn share_all_stages(&self) {
        let stages: Vec<(String, String)> = self
            .lock()
            .store
            .stages()
            .into_iter()
            .map(|r| (r.api_id.clone(), r.stage.clone()))
            .collect();
        for (api_id, stage) in stages {
            self.share_stage(&api_id, &stage);
        }
        let deleted = self.lock().store.deleted_stages();
        for d in deleted {
            self.share_deleted_stage(&d.api_id, &d.stage, d.deleted_at_ms);
        }
    }

    /// Tells the mesh that stage `api_id`/`stage` was deleted at `at_ms`.
    pub(crate) fn share_deleted_stage(&self, api_id: &str, stage: &str, at_ms: u64) {
        if self.mesh().is_none() {
            return;
        }
        // Only the name matters in a delete's record.
        let record = StageRecord {
            api_id: api_id.to_owned(),
            stage: stage.to_owned(),
            deployment_id: causeway_model::DeploymentId(String::new()),
            variables: Default::default(),
            description: String::new(),
            updated_at_ms: at_ms,
            history: Vec::new(),
            settings: Default::default(),
            canary: None,
        };
        let shared = SharedStage {
            record,
            deployments: Vec::new(),
            deleted_at_ms: Some(at_ms),
        };
        self.share("stage", &format!("{api_id}/{stage}"), &shared);
    }

    /// A stage a peer shared: its deployments are stored (hash-checked), compiled, and the
    /// stage is set as the peer set it, unless this node's record is as new or newer (the
    /// last change wins, by its time). Refused, with nothing changed, when a deployment
    /// does not compile here (a plugin not uploaded to this node, say).
    pub(crate) fn apply_shared_stage(&self, json: &[u8]) -> Result<Taken, AdminError> {
        let shared: SharedStage = serde_json::from_slice(json)
            .map_err(|e| AdminError::BadRequest(format!("unreadable shared stage: {e}")))?;
        let record = shared.record;
        let api_id = record.api_id.as_str();
        if let Some(at) = shared.deleted_at_ms {
            let mut inner = self.lock();
            let done = inner.store.delete_stage(api_id, &record.stage, at)?;
            return Ok(match done {
                causeway_store::StageDeletion::NewerKept(ours) => Taken::Kept(ours, true),
                causeway_store::StageDeletion::Removed(_) => {
                    self.publish(&mut inner);
                    Taken::Deleted(record.api_id.clone(), record.stage.clone(), false)
                }
                causeway_store::StageDeletion::Absent => {
                    Taken::Deleted(record.api_id.clone(), record.stage.clone(), false)
                }
            });
        }
        // Deleted here after the peer's change: the delete stands, and is said again.
        if let Some(at) = self.lock().store.deleted_stage(api_id, &record.stage)
            && at >= record.updated_at_ms
        {
            return Ok(Taken::Deleted(
                record.api_id.clone(),
                record.stage.clone(),
                true,
            ));
        }
        if let Some(ours) = self.lock().store.stage(api_id, &record.stage)
            && (ours.updated_at_ms > record.updated_at_ms
                || (ours.updated_at_ms == record.updated_at_ms
                    && ours.deployment_id == record.deployment_id))
        {
            let newer = ours.updated_at_ms > record.updated_at_ms;
            return Ok(Taken::Kept(ours.clone(), newer));
        }
        for d in shared.deployments {
            if d.api.id != api_id {
                return Err(AdminError::BadRequest(format!(
                    "shared stage of API `{api_id}` carries a deployment of API `{}`",
                    d.api.id
                )));
            }
            let mut inner = self.lock();
            if inner.store.deployment(api_id, &d.id).is_none() {
                inner.store.put_deployment(d)?;
            }
        }
        let serving = self.compile_stored(api_id, &record.deployment_id)?;
        let canary = record
            .canary
            .as_ref()
            .map(|c| {
                self.compile_stored(api_id, &c.deployment_id)
                    .map(|compiled| (c.deployment_id.clone(), compiled))
            })
            .transpose()?;
        let mut inner = self.lock();
        inner
            .compiled
            .entry(record.deployment_id.clone())
            .or_insert(serving);
        if let Some((id, compiled)) = canary {
            inner.compiled.entry(id).or_insert(compiled);
        }
        let change = StageChange {
            deployment_id: Some(record.deployment_id.clone()),
            variables: Some(record.variables.clone()),
            description: Some(record.description.clone()),
            settings: Some(record.settings.clone()),
            canary: Some(record.canary.clone()),
        };
        let stored = inner
            .store
            .update_stage(api_id, &record.stage, change, record.updated_at_ms)?
            .clone();
        self.publish(&mut inner);
        Ok(Taken::Set(stored))
    }
}
