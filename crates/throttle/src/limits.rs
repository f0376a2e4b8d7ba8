//! Throttling configuration: limits at four levels, and usage plans bound to API keys.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{LimitsError, Quota, Rate};

/// The level a limit applies at. Every applicable level must allow a request; the strictest
/// one decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The whole node (API Gateway's account-level limit).
    Node,
    /// One stage, all routes together.
    Stage,
    /// One route (method + resource) of one stage.
    Route,
    /// One API key, from its usage plan.
    Client,
    /// One API key on one route, from its usage plan's method throttle.
    ClientRoute,
}

/// All throttling limits of a node.
///
/// ```
/// use causeway_throttle::{Limits, Rate};
///
/// let limits: Limits = serde_json::from_str(r#"{
///     "stages": { "prod": { "rate": { "rate": 1000, "burst": 500 },
///                           "routes": { "GET /pets": { "rate": 50, "burst": 100 } } } },
///     "plans": { "gold": { "throttle": { "rate": 10, "burst": 20 },
///                          "quota": { "limit": 100000, "period": "MONTH" } } },
///     "api_keys": { "key-1": "gold" }
/// }"#).expect("valid limits");
/// assert_eq!(limits.node, Rate::ACCOUNT_DEFAULT);
/// limits.validate().expect("consistent");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Node-wide limit; defaults to API Gateway's account default (10,000/s, burst 5,000).
    #[serde(default = "account_default")]
    pub node: Rate,
    /// Per-stage limits, by stage name. Stages not listed have no stage or route limit.
    #[serde(default)]
    pub stages: BTreeMap<String, StageLimits>,
    /// Usage plans, by name.
    #[serde(default)]
    pub plans: BTreeMap<String, UsagePlan>,
    /// API key → usage plan name. Keys not listed have no client limit.
    #[serde(default)]
    pub api_keys: BTreeMap<String, String>,
}

fn account_default() -> Rate {
    Rate::ACCOUNT_DEFAULT
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            node: Rate::ACCOUNT_DEFAULT,
            stages: BTreeMap::new(),
            plans: BTreeMap::new(),
            api_keys: BTreeMap::new(),
        }
    }
}

/// Limits of one stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageLimits {
    /// Limit on the whole stage (all routes together).
    #[serde(default)]
    pub rate: Option<Rate>,
    /// Limit applied to each route separately, unless `routes` overrides it (API Gateway's
    /// default route/method throttling).
    #[serde(default)]
    pub route_default: Option<Rate>,
    /// Per-route overrides, by route key as the router names it (e.g. `"GET /pets/{id}"`).
    #[serde(default)]
    pub routes: BTreeMap<String, Rate>,
}

/// A usage plan: a per-key throttle and quota. Each API key on the plan gets its own bucket
/// and its own quota counter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsagePlan {
    /// Per-key rate and burst.
    #[serde(default)]
    pub throttle: Option<Rate>,
    /// Per-key quota.
    #[serde(default)]
    pub quota: Option<Quota>,
    /// Per-key rate and burst on one route (by route key, in every stage the plan
    /// covers), on top of `throttle` (API Gateway's usage plan method throttling).
    #[serde(default)]
    pub routes: BTreeMap<String, Rate>,
}

impl Limits {
    /// Checks that every API key names a defined plan. (Rates and quotas are checked when
    /// they are built or deserialized.)
    pub fn validate(&self) -> Result<(), LimitsError> {
        for (key, plan) in &self.api_keys {
            if !self.plans.contains_key(plan) {
                return Err(LimitsError::UnknownPlan {
                    key: key.clone(),
                    plan: plan.clone(),
                });
            }
        }
        Ok(())
    }

    /// The stage-wide limit of `stage`.
    pub fn stage_rate(&self, stage: &str) -> Option<Rate> {
        self.stages.get(stage)?.rate
    }

    /// The limit of `route` in `stage`: its override, else the stage's route default.
    pub fn route_rate(&self, stage: &str, route: &str) -> Option<Rate> {
        let stage = self.stages.get(stage)?;
        stage.routes.get(route).copied().or(stage.route_default)
    }

    /// The usage plan of API key `key`.
    pub fn plan_of(&self, key: &str) -> Option<&UsagePlan> {
        self.plans.get(self.api_keys.get(key)?)
    }
}
