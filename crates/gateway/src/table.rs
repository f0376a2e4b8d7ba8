//! The routing table: which stage of which deployment serves a host + path. Built by
//! [`crate::Gateway::publish`] and swapped atomically; a request keeps the table it started
//! with until it finishes.

use std::collections::BTreeMap;
use std::sync::Arc;

use ahash::RandomState;
use causeway_model::{ApiType, DomainSpec, StageSettings};
use hashbrown::HashMap;

use crate::CompiledDeployment;
use crate::access_log::{AccessLogger, Sinks};
use crate::cache::{Caches, StageCache};
use crate::metrics::{Metrics, RouteLabels, RouteMetrics};

/// Host suffix of invoke URLs: `{api-id}.execute-api.localhost`.
pub const EXECUTE_API_SUFFIX: &str = ".execute-api.localhost";

/// A stage to publish: an API's stage pointing at a compiled deployment.
#[derive(Debug, Clone)]
pub struct StageBinding {
    /// API id.
    pub api_id: String,
    /// Stage name.
    pub stage: String,
    /// The deployment the stage points at.
    pub deployment: Arc<CompiledDeployment>,
    /// Stage variables.
    pub variables: BTreeMap<String, String>,
    /// Access log, cache and throttle settings.
    pub settings: StageSettings,
}

/// A published stage, shared by every request that uses it.
#[derive(Debug)]
pub(crate) struct StageRuntime {
    pub(crate) stage: String,
    pub(crate) deployment: Arc<CompiledDeployment>,
    pub(crate) variables: BTreeMap<String, String>,
    /// Metric handles per route (same order as the deployment's routes).
    pub(crate) route_metrics: Vec<RouteMetrics>,
    /// Metric handles for requests that matched no route of this stage.
    pub(crate) unmatched_metrics: RouteMetrics,
    pub(crate) access_log: Option<AccessLogger>,
    pub(crate) throttle: Option<causeway_model::ThrottleSpec>,
    /// `api/stage`: this stage's name in the throttler.
    pub(crate) throttle_key: String,
    pub(crate) cache: Option<Arc<StageCache>>,
}

/// A base path and the stage it maps to.
type Mapping = (String, Arc<StageRuntime>);

#[derive(Debug, Default)]
struct ApiEntry {
    kind: Option<ApiType>,
    stages: HashMap<Box<str>, Arc<StageRuntime>, RandomState>,
}

/// Everything the data plane needs to pick a stage.
#[derive(Debug, Default)]
pub(crate) struct Table {
    apis: HashMap<Box<str>, ApiEntry, RandomState>,
    /// Domain → (base path, stage), longest base path first.
    domains: HashMap<Box<str>, Vec<Mapping>, RandomState>,
}

/// What a host + path resolved to.
#[derive(Debug)]
pub(crate) enum Resolved {
    /// A stage, and the byte offset in the path where the route path starts (`None`: the
    /// route path is `/`).
    Stage(Arc<StageRuntime>, Option<usize>),
    /// A known API but no such stage.
    NoStage(ApiType),
    /// A custom domain with no mapping for this base path.
    NoMapping,
    /// Nothing is served at this host.
    NoHost,
}

impl Table {
    pub(crate) fn build(
        stages: Vec<StageBinding>,
        domains: &[DomainSpec],
        metrics: &Metrics,
        sinks: &Sinks,
        caches: &Caches,
    ) -> Table {
        let mut t = Table::default();
        for b in stages {
            let entry = t.apis.entry(b.api_id.as_str().into()).or_default();
            entry.kind = Some(b.deployment.kind());
            let labels = |method: &str, resource: &str| RouteLabels {
                api: b.api_id.clone(),
                stage: b.stage.clone(),
                method: method.to_owned(),
                resource: resource.to_owned(),
            };
            let route_metrics = b
                .deployment
                .spec()
                .routes
                .iter()
                .map(|r| metrics.route(&labels(r.method(), r.path())))
                .collect();
            let unmatched_metrics = metrics.route(&labels("", ""));
            let cache = b
                .settings
                .cache
                .as_ref()
                .filter(|c| c.enabled)
                .map(|c| caches.for_stage(&b.api_id, &b.stage, &b.deployment.id().0, c));
            let rt = Arc::new(StageRuntime {
                stage: b.stage.clone(),
                deployment: b.deployment,
                variables: b.variables,
                route_metrics,
                unmatched_metrics,
                throttle: b.settings.throttle,
                throttle_key: crate::throttle::stage_key(&b.api_id, &b.stage),
                cache,
                access_log: b
                    .settings
                    .access_log
                    .as_ref()
                    .map(|spec| AccessLogger::new(spec, sinks)),
            });
            entry.stages.insert(b.stage.into(), rt);
        }
        for d in domains {
            let mut maps: Vec<(String, Arc<StageRuntime>)> = d
                .mappings
                .iter()
                .filter_map(|m| {
                    let rt = t.apis.get(m.api.as_str())?.stages.get(m.stage.as_str())?;
                    Some((m.base_path.clone(), rt.clone()))
                })
                .collect();
            maps.sort_by_key(|(b, _)| std::cmp::Reverse(b.len()));
            t.domains.insert(d.name.to_ascii_lowercase().into(), maps);
        }
        t
    }

    /// Every published stage.
    pub(crate) fn stages(&self) -> impl Iterator<Item = &Arc<StageRuntime>> {
        self.apis.values().flat_map(|e| e.stages.values())
    }

    /// Resolve `host` (without port, lowercase) and `path`.
    pub(crate) fn resolve(&self, host: &str, path: &str) -> Resolved {
        if let Some(api_id) = host.strip_suffix(EXECUTE_API_SUFFIX) {
            let Some(api) = self.apis.get(api_id) else {
                return Resolved::NoHost;
            };
            let rest = path.strip_prefix('/').unwrap_or(path);
            let (stage, route_at) = match rest.find('/') {
                Some(i) => (&rest[..i], Some(i + 1)),
                None => (rest, None),
            };
            if let Some(rt) = api.stages.get(stage) {
                return Resolved::Stage(rt.clone(), route_at);
            }
            // HTTP APIs' `$default` stage is served without a stage prefix.
            if let Some(rt) = api.stages.get("$default") {
                return Resolved::Stage(rt.clone(), (path.len() > 1).then_some(0));
            }
            return api.kind.map_or(Resolved::NoHost, Resolved::NoStage);
        }
        let Some(maps) = self.domains.get(host) else {
            return Resolved::NoHost;
        };
        for (base, rt) in maps {
            if base.is_empty() {
                return Resolved::Stage(rt.clone(), (path.len() > 1).then_some(0));
            }
            let Some(after) = path
                .strip_prefix('/')
                .and_then(|p| p.strip_prefix(base.as_str()))
            else {
                continue;
            };
            if after.is_empty() || after == "/" {
                return Resolved::Stage(rt.clone(), None);
            }
            if after.starts_with('/') {
                return Resolved::Stage(rt.clone(), Some(path.len() - after.len()));
            }
        }
        Resolved::NoMapping
    }
}
