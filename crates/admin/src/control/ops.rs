//! The operations of the control plane and its listings.

use std::collections::BTreeMap;
use std::sync::Arc;

use causeway_model::{ApiSpec, CanarySpec, ConfigError, ConfigErrors, Deployment};
use causeway_store::{StageChange, StageRecord, StoreError};

use super::Control;
use crate::check::{check_api, check_stage_names, check_variables};
use crate::wire::{ApiSummary, DeployOutcome, DeploymentSummary};
use crate::{AdminError, now_ms};

impl Control {
    /// Store a deployment of `api` and point `stages` at it (`None` = every stage the
    /// definition declares). Each stage declared in the definition takes its variables and
    /// description from there; other stages keep theirs.
    pub fn deploy(
        &self,
        api: ApiSpec,
        stages: Option<Vec<String>>,
        description: String,
    ) -> Result<DeployOutcome, AdminError> {
        self.deploy_with(api, stages, description, None)
    }

    /// [`deploy`](Self::deploy), or with `canary: Some(percent)` a canary release: each
    /// stage (which must exist) keeps serving its deployment and sends `percent` of its
    /// requests to the new one, with the definition's variables for the stage as the
    /// canary's overrides.
    pub fn deploy_with(
        &self,
        api: ApiSpec,
        stages: Option<Vec<String>>,
        description: String,
        canary: Option<f64>,
    ) -> Result<DeployOutcome, AdminError> {
        let file = format!("<api:{}>", api.id);
        if let Some(percent) = canary {
            CanarySpec::check_percent(percent).map_err(AdminError::BadRequest)?;
        }
        let now = now_ms();
        let deployment = Deployment::snapshot(&api, description, now);
        // The control lock is taken for each component read only, not held while the
        // components compile and warm up (seconds for a JavaScript or Python runtime), so
        // other control actions and reads go on meanwhile.
        let plugins = self.plugins.load(&file, &api, &|sha| {
            self.lock().store.blob(sha).map_err(|e| {
                format!("{e}; upload the component first (`causeway deploy` does) with PUT /v1/plugins/{sha}")
            })
        })?;
        let compiled = check_api(&file, &api, &deployment, &plugins)?;
        let mut names =
            stages.unwrap_or_else(|| api.stages.iter().map(|s| s.name.clone()).collect());
        if names.is_empty() {
            return Err(ConfigErrors(vec![ConfigError::new(
                &file,
                "stages",
                "the API declares no stages and none were named: add a `[[stages]]` table or name one (`--stage prod`)",
            )])
            .into());
        }
        check_stage_names(&file, &names)?;
        let mut seen = std::collections::BTreeSet::new();
        names.retain(|n| seen.insert(n.clone()));

        let id = deployment.id.clone();
        let changes = names
            .iter()
            .map(|name| {
                let spec = api.stages.iter().find(|s| &s.name == name);
                let change = match canary {
                    Some(percent) => StageChange {
                        canary: Some(Some(CanarySpec {
                            deployment_id: id.clone(),
                            percent_traffic: percent,
                            stage_variable_overrides: spec
                                .map(|s| s.variables.clone())
                                .unwrap_or_default(),
                            use_stage_cache: false,
                        })),
                        ..StageChange::default()
                    },
                    None => StageChange {
                        deployment_id: Some(id.clone()),
                        variables: spec.map(|s| s.variables.clone()),
                        description: spec.map(|s| s.description.clone()),
                        settings: spec.map(|s| s.settings()),
                        canary: None,
                    },
                };
                (name.clone(), change)
            })
            .collect();
        let mut inner = self.lock();
        if canary.is_some()
            && let Some(missing) = names
                .iter()
                .find(|n| inner.store.stage(&api.id, n).is_none())
        {
            return Err(AdminError::BadRequest(format!(
                "stage `{missing}` of API `{}` does not exist yet, so it has no traffic to share with a canary: deploy it without a canary first",
                api.id
            )));
        }
        let created = inner.store.put_deployment(deployment)?;
        inner.store.update_stages(&api.id, changes, now)?;
        inner.compiled.insert(id.clone(), Arc::new(compiled));
        self.publish(&mut inner);
        drop(inner);
        for name in &names {
            self.share_stage(&api.id, name);
        }
        tracing::info!(api = %api.id, deployment = %id, created, stages = ?names, "deployed");
        Ok(DeployOutcome {
            deployment_id: id,
            created,
            stages: names,
        })
    }

    /// Point a stage at another stored deployment and/or replace its variables. A stage
    /// that does not exist yet is created when a deployment is named.
    pub fn update_stage(
        &self,
        api_id: &str,
        stage: &str,
        deployment_id: Option<&str>,
        variables: Option<BTreeMap<String, String>>,
    ) -> Result<StageRecord, AdminError> {
        let file = format!("<api:{api_id}>");
        check_stage_names(&file, &[stage.to_owned()])?;
        if let Some(v) = &variables {
            check_variables(&file, v)?;
        }
        let target = deployment_id
            .map(|given| self.lock().resolve(api_id, given))
            .transpose()?;
        let compiled = target
            .as_ref()
            .map(|id| self.compile_stored(api_id, id))
            .transpose()?;
        let mut inner = self.lock();
        if let (Some(id), Some(c)) = (&target, compiled) {
            inner.compiled.entry(id.clone()).or_insert(c);
        }
        let change = StageChange {
            deployment_id: target,
            variables,
            description: None,
            settings: None,
            canary: None,
        };
        let record = inner
            .store
            .update_stage(api_id, stage, change, now_ms())?
            .clone();
        self.publish(&mut inner);
        drop(inner);
        self.share_stage(api_id, stage);
        tracing::info!(api = %api_id, stage, deployment = %record.deployment_id, "stage updated");
        Ok(record)
    }

    /// Point a stage back at its previous deployment (`to: None`) or at any stored
    /// deployment of the API.
    pub fn rollback(
        &self,
        api_id: &str,
        stage: &str,
        to: Option<&str>,
    ) -> Result<StageRecord, AdminError> {
        let (current, to, target) = {
            let inner = self.lock();
            let current = inner.store.stage(api_id, stage).cloned().ok_or_else(|| {
                StoreError::UnknownStage {
                    api_id: api_id.to_owned(),
                    stage: stage.to_owned(),
                }
            })?;
            let to = to.map(|given| inner.resolve(api_id, given)).transpose()?;
            let target = match (&to, current.history.last()) {
                (Some(id), _) | (None, Some(id)) => id.clone(),
                (None, None) => {
                    return Err(StoreError::NoHistory {
                        api_id: api_id.to_owned(),
                        stage: stage.to_owned(),
                    }
                    .into());
                }
            };
            (current, to, target)
        };
        let compiled = self.compile_stored(api_id, &target)?;
        let mut inner = self.lock();
        inner.compiled.entry(target).or_insert(compiled);
        // (Were the stage rolled back meanwhile, `publish` compiles what it now points at.)
        let record = inner
            .store
            .rollback(api_id, stage, to.as_ref(), now_ms())?
            .clone();
        self.publish(&mut inner);
        drop(inner);
        self.share_stage(api_id, stage);
        tracing::info!(
            api = %api_id, stage, from = %current.deployment_id, to = %record.deployment_id,
            "stage rolled back"
        );
        Ok(record)
    }

    /// Delete a stage (API Gateway's `DeleteStage`): it stops serving here and, through
    /// the mesh, everywhere; its deployments stay. Deploying it again brings it back.
    pub fn delete_stage(&self, api_id: &str, stage: &str) -> Result<StageRecord, AdminError> {
        let now = now_ms();
        let mut inner = self.lock();
        let record = match inner.store.delete_stage(api_id, stage, now)? {
            causeway_store::StageDeletion::Removed(r) => r,
            causeway_store::StageDeletion::NewerKept(r) => {
                // A change stamped after this moment (clock skew with a peer): still ours.
                return Err(AdminError::Conflict(format!(
                    "stage `{api_id}/{stage}` was changed at {} ms, after this delete; try again",
                    r.updated_at_ms
                )));
            }
            causeway_store::StageDeletion::Absent => {
                return Err(StoreError::UnknownStage {
                    api_id: api_id.to_owned(),
                    stage: stage.to_owned(),
                }
                .into());
            }
        };
        self.publish(&mut inner);
        drop(inner);
        self.share_deleted_stage(api_id, stage, now);
        tracing::info!(api = %api_id, stage, deployment = %record.deployment_id, "stage deleted");
        Ok(record)
    }

    /// Delete every stage of an API (API Gateway's `DeleteRestApi`, for serving): it is
    /// served nowhere in the mesh; its deployments stay, listed, to deploy again from.
    pub fn delete_api(&self, api_id: &str) -> Result<Vec<StageRecord>, AdminError> {
        let stages: Vec<String> = {
            let inner = self.lock();
            if inner.store.deployments(api_id).is_empty() {
                return Err(StoreError::UnknownApi {
                    api_id: api_id.to_owned(),
                }
                .into());
            }
            inner
                .store
                .stages()
                .into_iter()
                .filter(|s| s.api_id == api_id)
                .map(|s| s.stage.clone())
                .collect()
        };
        stages
            .iter()
            .map(|stage| self.delete_stage(api_id, stage))
            .collect()
    }

    /// When a stage was deleted, if it is.
    pub(crate) fn stage_deleted_at(&self, api_id: &str, stage: &str) -> Option<u64> {
        self.lock().store.deleted_stage(api_id, stage)
    }

    /// Every API that has deployments or stages.
    pub fn apis(&self) -> Vec<ApiSummary> {
        let inner = self.lock();
        let stages = inner.store.stages();
        inner
            .store
            .api_ids()
            .into_iter()
            .filter_map(|id| {
                let deployments = inner.store.deployments(id);
                let newest = deployments.last()?;
                Some(ApiSummary {
                    id: id.to_owned(),
                    name: newest.api.name.clone(),
                    kind: newest.api.kind,
                    stages: stages
                        .iter()
                        .filter(|s| s.api_id == id)
                        .map(|s| s.stage.clone())
                        .collect(),
                    deployments: deployments.len(),
                })
            })
            .collect()
    }

    /// The stages of one API, or of every API; an API without any is not found.
    pub fn stages(&self, api_id: Option<&str>) -> Result<Vec<StageRecord>, AdminError> {
        let inner = self.lock();
        let all = inner.store.stages().into_iter();
        let Some(api_id) = api_id else {
            return Ok(all.cloned().collect());
        };
        let found: Vec<StageRecord> = all.filter(|s| s.api_id == api_id).cloned().collect();
        if found.is_empty() && inner.store.deployments(api_id).is_empty() {
            return Err(unknown_api(api_id));
        }
        Ok(found)
    }

    /// One stage.
    pub fn stage(&self, api_id: &str, stage: &str) -> Result<StageRecord, AdminError> {
        self.lock()
            .store
            .stage(api_id, stage)
            .cloned()
            .ok_or_else(|| {
                StoreError::UnknownStage {
                    api_id: api_id.to_owned(),
                    stage: stage.to_owned(),
                }
                .into()
            })
    }

    /// The deployments of an API, oldest first.
    pub fn deployments(&self, api_id: &str) -> Result<Vec<DeploymentSummary>, AdminError> {
        let inner = self.lock();
        let stages = inner.store.stages();
        let list: Vec<DeploymentSummary> = inner
            .store
            .deployments(api_id)
            .into_iter()
            .map(|d| DeploymentSummary {
                id: d.id.clone(),
                created_at_ms: d.created_at_ms,
                description: d.description.clone(),
                routes: d.api.routes.len(),
                stages: stages
                    .iter()
                    .filter(|s| s.api_id == api_id && s.deployment_id == d.id)
                    .map(|s| s.stage.clone())
                    .collect(),
            })
            .collect();
        if list.is_empty() {
            return Err(unknown_api(api_id));
        }
        Ok(list)
    }

    /// One stored deployment, named by its id or an unambiguous prefix.
    pub fn deployment(&self, api_id: &str, id: &str) -> Result<Deployment, AdminError> {
        let inner = self.lock();
        let id = inner.resolve(api_id, id)?;
        inner.store.deployment(api_id, &id).cloned().ok_or_else(|| {
            StoreError::UnknownDeployment {
                api_id: api_id.to_owned(),
                id,
            }
            .into()
        })
    }
}

fn unknown_api(api_id: &str) -> AdminError {
    StoreError::UnknownApi {
        api_id: api_id.to_owned(),
    }
    .into()
}
