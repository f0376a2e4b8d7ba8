//! JSON bodies of the admin API, shared by the server and the CLI client.

use std::collections::BTreeMap;

use causeway_model::{ApiSpec, ApiType, DeploymentId};
use serde::{Deserialize, Serialize};

pub use causeway_store::{ApiKeyRecord, PlanStage, StageRecord, UsagePlanRecord};

/// `POST /v1/apis/{api}/deployments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployRequest {
    /// The definition; its `id` must be the `{api}` of the URL.
    pub api: ApiSpec,
    /// Stages to point at the new deployment; absent = every stage the definition declares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<Vec<String>>,
    /// Free text stored with the deployment.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Release as a canary taking this percentage of each stage's requests instead of
    /// switching the stages (API Gateway's `canarySettings` on `CreateDeployment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_percent: Option<f64>,
}

/// `PATCH /v1/apis/{api}/stages/{stage}`: absent fields are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagePatch {
    /// Point the stage at this deployment (an id or an unambiguous prefix of one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// Replace the stage variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<BTreeMap<String, String>>,
}

/// `PUT /v1/apis/{api}/stages/{stage}/canary`: the stage's canary (API Gateway's
/// `canarySettings`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanaryRequest {
    /// The deployment the canary serves (an id or an unambiguous prefix of one).
    pub deployment_id: String,
    /// Share of the stage's requests, 0.0..=100.0 percent.
    pub percent_traffic: f64,
    /// Stage variables the canary sees instead of the stage's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stage_variable_overrides: BTreeMap<String, String>,
    /// Whether canary requests use the stage's response cache (default: they bypass it).
    #[serde(default)]
    pub use_stage_cache: bool,
}

/// `POST /v1/apis/{api}/stages/{stage}/rollback`; no id = the previous deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    /// Roll back to this deployment (an id or an unambiguous prefix of one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
}

/// What a deploy did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployOutcome {
    /// The deployment (new, or the identical one stored before).
    pub deployment_id: DeploymentId,
    /// Whether the deployment was new.
    pub created: bool,
    /// Stages now pointing at it.
    pub stages: Vec<String>,
}

/// One API, as listed by `GET /v1/apis`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiSummary {
    /// API id.
    pub id: String,
    /// Human name (from its newest deployment).
    pub name: String,
    /// REST or HTTP.
    #[serde(rename = "type")]
    pub kind: ApiType,
    /// Its stages, sorted.
    pub stages: Vec<String>,
    /// How many deployments are stored.
    pub deployments: usize,
}

/// One deployment, as listed by `GET /v1/apis/{api}/deployments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentSummary {
    /// Content address.
    pub id: DeploymentId,
    /// Milliseconds since the Unix epoch when first stored.
    pub created_at_ms: u64,
    /// Free text given at deploy time.
    #[serde(default)]
    pub description: String,
    /// Number of routes.
    pub routes: usize,
    /// Stages serving it now.
    pub stages: Vec<String>,
}

/// A list answer: `{"items": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Items<T> {
    /// The entries.
    pub items: Vec<T>,
}

/// `POST /v1/apikeys`: create a key, or import one with `value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// Human name.
    pub name: String,
    /// The key value to import; absent = generate one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Whether the key works (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Usage plans to put the key in.
    #[serde(default)]
    pub usage_plans: Vec<String>,
}

fn yes() -> bool {
    true
}

/// The answer to a key creation: the only time the value is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedKey {
    /// The stored key.
    pub key: causeway_store::ApiKeyRecord,
    /// Its value.
    pub value: String,
}

/// `PATCH /v1/apikeys/{id}`: absent fields are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPatch {
    /// Enable or disable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Replace the key's plans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_plans: Option<Vec<String>>,
}

/// `PATCH /v1/usageplans/{id}`: absent fields are kept; `"throttle": null` and
/// `"quota": null` remove them; `stages` replaces the list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanPatch {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New per-key rate and burst (`Some(None)`: none).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub throttle: Option<Option<causeway_model::ThrottleSpec>>,
    /// New per-key quota (`Some(None)`: none).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub quota: Option<Option<causeway_model::QuotaSpec>>,
    /// The API stages covered from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<Vec<causeway_store::PlanStage>>,
    /// The method throttles from now on (route key → rate and burst).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method_throttles: Option<BTreeMap<String, causeway_model::ThrottleSpec>>,
}

/// A field that is present, `null` or not: absent fields never reach this (`default`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `POST /v1/usageplans`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPlan {
    /// Human name.
    pub name: String,
    /// Per-key rate and burst.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<causeway_model::ThrottleSpec>,
    /// Per-key quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<causeway_model::QuotaSpec>,
    /// API stages covered.
    #[serde(default)]
    pub stages: Vec<causeway_store::PlanStage>,
    /// Per-key rate and burst on single routes (route key → throttle).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub method_throttles: BTreeMap<String, causeway_model::ThrottleSpec>,
}

/// One key's quota use, from `GET /v1/usageplans/{id}/usage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyUsage {
    /// Key id.
    pub key_id: String,
    /// Key name.
    pub key_name: String,
    /// First day of the current quota period (`YYYY-MM-DD`); absent without a quota.
    pub period_start: Option<String>,
    /// Requests counted in the period.
    pub used: u64,
    /// Requests allowed in the period; absent without a quota.
    pub allowance: Option<u64>,
}
