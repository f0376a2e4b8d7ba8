//! Deleting a stage (API Gateway's `DeleteStage`): the record goes, and a tombstone with
//! the time of the delete stays in `stages.json`, so that a peer replaying an older copy
//! of the stage (a node that was down when it was deleted) does not bring it back, while
//! a change made after the delete (a new deploy) does.

use serde::{Deserialize, Serialize};

use crate::{StageRecord, Store, StoreError};

/// A deleted stage, as `stages.json` keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletedStage {
    pub api_id: String,
    pub stage: String,
    /// Milliseconds since the Unix epoch.
    pub deleted_at_ms: u64,
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq)]
pub enum StageDeletion {
    /// The stage was deleted; this is what it was.
    Removed(StageRecord),
    /// The stage was changed after the delete's time: it stays.
    NewerKept(StageRecord),
    /// No such stage (the delete is remembered all the same).
    Absent,
}

impl Store {
    /// Delete stage `api_id`/`stage` as of `at_ms` (a peer's delete carries its own
    /// time): gone unless changed after `at_ms`; remembered either way.
    pub fn delete_stage(
        &mut self,
        api_id: &str,
        stage: &str,
        at_ms: u64,
    ) -> Result<StageDeletion, StoreError> {
        // A name no stage can have is refused, not remembered (a peer's garbage).
        crate::names::check_api_id(api_id)?;
        crate::names::check_stage(stage)?;
        let key = (api_id.to_owned(), stage.to_owned());
        if let Some(current) = self.stages.get(&key)
            && current.updated_at_ms > at_ms
        {
            return Ok(StageDeletion::NewerKept(current.clone()));
        }
        let previous_tombstone = self.deleted.get(&key).copied();
        let removed = self.stages.remove(&key);
        let when = previous_tombstone.map_or(at_ms, |t| t.max(at_ms));
        self.deleted.insert(key.clone(), when);
        if let Err(e) = self.write_stages(&[]) {
            // Nothing changes unless it is on disk.
            if let Some(r) = removed {
                self.stages.insert(key.clone(), r);
            }
            match previous_tombstone {
                Some(t) => self.deleted.insert(key, t),
                None => self.deleted.remove(&key),
            };
            return Err(e);
        }
        Ok(removed.map_or(StageDeletion::Absent, StageDeletion::Removed))
    }

    /// When stage `api_id`/`stage` was deleted, if it is deleted.
    pub fn deleted_stage(&self, api_id: &str, stage: &str) -> Option<u64> {
        self.deleted
            .get(&(api_id.to_owned(), stage.to_owned()))
            .copied()
    }

    /// Every deleted stage.
    pub fn deleted_stages(&self) -> Vec<DeletedStage> {
        self.deleted_list()
    }

    pub(crate) fn deleted_list(&self) -> Vec<DeletedStage> {
        self.deleted
            .iter()
            .map(|((api_id, stage), at)| DeletedStage {
                api_id: api_id.clone(),
                stage: stage.clone(),
                deleted_at_ms: *at,
            })
            .collect()
    }

    /// Stages written again after their delete are no longer deleted.
    pub(crate) fn revive(&mut self, records: &[StageRecord]) {
        for r in records {
            let key = (r.api_id.clone(), r.stage.clone());
            if self
                .deleted
                .get(&key)
                .is_some_and(|t| r.updated_at_ms >= *t)
            {
                self.deleted.remove(&key);
            }
        }
    }
}
