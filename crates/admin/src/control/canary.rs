//! Canary releases of a stage: set, promote, remove (API Gateway's `canarySettings` and
//! its promotion).

use causeway_model::CanarySpec;
use causeway_store::{StageChange, StageRecord, StoreError};

use super::Control;
use crate::check::check_variables;
use crate::wire::CanaryRequest;
use crate::{AdminError, now_ms};

impl Control {
    /// Serve `request.percent_traffic` percent of the stage's requests with another
    /// stored deployment (replacing any canary the stage had).
    pub fn set_canary(
        &self,
        api_id: &str,
        stage: &str,
        request: CanaryRequest,
    ) -> Result<StageRecord, AdminError> {
        let file = format!("<api:{api_id}> stage {stage} canary");
        CanarySpec::check_percent(request.percent_traffic).map_err(AdminError::BadRequest)?;
        check_variables(&file, &request.stage_variable_overrides)?;
        self.stage(api_id, stage)?;
        let id = self.lock().resolve(api_id, &request.deployment_id)?;
        let compiled = self.compile_stored(api_id, &id)?;
        let mut inner = self.lock();
        inner.compiled.entry(id.clone()).or_insert(compiled);
        let canary = CanarySpec {
            deployment_id: id,
            percent_traffic: request.percent_traffic,
            stage_variable_overrides: request.stage_variable_overrides,
            use_stage_cache: request.use_stage_cache,
        };
        let change = StageChange {
            canary: Some(Some(canary)),
            ..StageChange::default()
        };
        let record = self.change_stage(&mut inner, api_id, stage, change)?;
        drop(inner);
        self.share_stage(api_id, stage);
        tracing::info!(api = %api_id, stage, canary = ?record.canary, "canary set");
        Ok(record)
    }

    /// Stop the stage's canary; every request goes to the stage's deployment again.
    pub fn delete_canary(&self, api_id: &str, stage: &str) -> Result<StageRecord, AdminError> {
        let mut inner = self.lock();
        let current = inner.store.stage(api_id, stage).cloned();
        if current.as_ref().is_some_and(|s| s.canary.is_none()) {
            return Err(no_canary(api_id, stage));
        }
        let change = StageChange {
            canary: Some(None),
            ..StageChange::default()
        };
        let record = self.change_stage(&mut inner, api_id, stage, change)?;
        drop(inner);
        self.share_stage(api_id, stage);
        tracing::info!(api = %api_id, stage, "canary removed");
        Ok(record)
    }

    /// Make the canary the stage: the stage serves the canary's deployment (the old one
    /// goes to its history, for `rollback`) with the canary's variables, and the canary
    /// is removed — in one stored change.
    pub fn promote_canary(&self, api_id: &str, stage: &str) -> Result<StageRecord, AdminError> {
        let mut inner = self.lock();
        let Some(current) = inner.store.stage(api_id, stage).cloned() else {
            return Err(StoreError::UnknownStage {
                api_id: api_id.to_owned(),
                stage: stage.to_owned(),
            }
            .into());
        };
        let Some(canary) = current.canary else {
            return Err(no_canary(api_id, stage));
        };
        let change = StageChange {
            deployment_id: Some(canary.deployment_id.clone()),
            variables: Some(canary.variables(&current.variables)),
            canary: Some(None),
            ..StageChange::default()
        };
        let record = self.change_stage(&mut inner, api_id, stage, change)?;
        drop(inner);
        self.share_stage(api_id, stage);
        tracing::info!(api = %api_id, stage, deployment = %record.deployment_id, "canary promoted");
        Ok(record)
    }
}

impl Control {
    /// Store `change` to one stage and publish the table that serves it.
    fn change_stage(
        &self,
        inner: &mut super::Inner,
        api_id: &str,
        stage: &str,
        change: StageChange,
    ) -> Result<StageRecord, AdminError> {
        let record = inner
            .store
            .update_stage(api_id, stage, change, now_ms())?
            .clone();
        self.publish(inner);
        Ok(record)
    }
}

fn no_canary(api_id: &str, stage: &str) -> AdminError {
    AdminError::BadRequest(format!(
        "stage `{stage}` of API `{api_id}` has no canary; set one with `causeway canary set` (PUT /v1/apis/{api_id}/stages/{stage}/canary)"
    ))
}
