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
    /// A share of the stage's traffic served by another deployment.
    pub canary: Option<CanaryBinding>,
}

impl StageBinding {
    /// Every stage `api` declares, bound to `deployment` with the stage's own variables
    /// and settings and no canary: an API file served as it is read (tests, benches,
    /// embedders without a control plane).
    pub fn every_stage_of(
        api: &causeway_model::ApiSpec,
        deployment: &Arc<CompiledDeployment>,
    ) -> Vec<StageBinding> {
        api.stages
            .iter()
            .map(|s| StageBinding {
                api_id: api.id.clone(),
                stage: s.name.clone(),
                deployment: deployment.clone(),
                variables: s.variables.clone(),
                settings: s.settings(),
                canary: None,
            })
            .collect()
    }
}

/// A stage's canary, ready to publish.
#[derive(Debug, Clone)]
pub struct CanaryBinding {
    /// The deployment the canary serves.
    pub deployment: Arc<CompiledDeployment>,
    /// Share of the stage's requests, 0.0..=100.0 percent.
    pub percent_traffic: f64,
    /// The stage variables the canary sees (the stage's, with the overrides).
    pub variables: BTreeMap<String, String>,
    /// Whether canary requests use the stage's response cache.
    pub use_stage_cache: bool,
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
    /// The stage's canary, if it has one.
    pub(crate) canary: Option<Canary>,
}

/// A published canary: the runtime its requests use (metrics labelled with stage
/// `{stage}/Canary`, as API Gateway names canary metrics) and its share of requests.
#[derive(Debug)]
pub(crate) struct Canary {
    pub(crate) runtime: Arc<StageRuntime>,
    /// A request goes to the canary when a random `u32` is below this (2^32: always).
    threshold: u64,
}

impl StageRuntime {
    /// The runtime serving one request of this stage: the canary's for its share of
    /// requests, else this one.
    pub(crate) fn pick(self: &Arc<Self>) -> Arc<StageRuntime> {
        match &self.canary {
            Some(c) if u64::from(rand::random::<u32>()) < c.threshold => c.runtime.clone(),
            _ => self.clone(),
        }
    }
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
    /// Domains served only to clients that proved a certificate to them (mutual TLS).
    mutual: hashbrown::HashSet<Box<str>, RandomState>,
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
        let parts = Parts {
            metrics,
            sinks,
            caches,
        };
        for b in stages {
            let entry = t.apis.entry(b.api_id.as_str().into()).or_default();
            entry.kind = Some(b.deployment.kind());
            let mut rt = parts.runtime(&b, &b.stage, &b.deployment, b.variables.clone(), None);
            if let Some(c) = &b.canary {
                let cache = if c.use_stage_cache {
                    Some(rt.cache.clone())
                } else {
                    Some(None)
                };
                let label = format!("{}/Canary", b.stage);
                let runtime = parts.runtime(&b, &label, &c.deployment, c.variables.clone(), cache);
                rt.canary = Some(Canary {
                    runtime: Arc::new(runtime),
                    // f64 → u64 saturates; 100 % is 2^32, above every u32.
                    threshold: (c.percent_traffic.clamp(0.0, 100.0) / 100.0 * 4_294_967_296.0)
                        as u64,
                });
            }
            entry.stages.insert(b.stage.into(), Arc::new(rt));
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
            if d.truststore_file.is_some() {
                t.mutual.insert(d.name.to_ascii_lowercase().into());
            }
        }
        t
    }

    /// Why a request for `host` may not be served on this connection: `host` is a
    /// mutual-TLS domain and the connection's client did not prove a certificate to it
    /// (the plain listener: 403; a TLS connection made to another name: 421, so that the
    /// client opens one naming `host`, as h2 clients that share connections do).
    #[inline]
    pub(crate) fn client_cert_problem(
        &self,
        host: &str,
        https: bool,
        client: Option<&crate::peer::TlsClient>,
    ) -> Option<crate::GatewayError> {
        if self.mutual.is_empty() {
            return None;
        }
        self.mutual_problem(host, https, client)
    }

    #[cold]
    fn mutual_problem(
        &self,
        host: &str,
        https: bool,
        client: Option<&crate::peer::TlsClient>,
    ) -> Option<crate::GatewayError> {
        use crate::{ErrorKind, GatewayError};
        if !self.mutual.contains(host) {
            return None;
        }
        match client {
            Some(c) if *c.domain == *host => None,
            _ if https => Some(GatewayError::new(ErrorKind::Misdirected).with_message(format!(
                "Misdirected Request: {host} requires a client certificate, and this connection was not made to it; open a new TLS connection naming {host} in SNI"
            ))),
            _ => Some(GatewayError::new(ErrorKind::Forbidden).with_message(format!(
                "Forbidden: {host} requires a client certificate (mutual TLS); call it on the HTTPS listener"
            ))),
        }
    }

    /// Every published stage (canaries included).
    pub(crate) fn runtimes(&self) -> impl Iterator<Item = &Arc<StageRuntime>> {
        self.stages()
            .flat_map(|rt| std::iter::once(rt).chain(rt.canary.as_ref().map(|c| &c.runtime)))
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
                return Resolved::Stage(rt.pick(), route_at);
            }
            // HTTP APIs' `$default` stage is served without a stage prefix.
            if let Some(rt) = api.stages.get("$default") {
                return Resolved::Stage(rt.pick(), (path.len() > 1).then_some(0));
            }
            return api.kind.map_or(Resolved::NoHost, Resolved::NoStage);
        }
        let Some(maps) = self.domains.get(host) else {
            return Resolved::NoHost;
        };
        for (base, rt) in maps {
            if base.is_empty() {
                return Resolved::Stage(rt.pick(), (path.len() > 1).then_some(0));
            }
            let Some(after) = path
                .strip_prefix('/')
                .and_then(|p| p.strip_prefix(base.as_str()))
            else {
                continue;
            };
            if after.is_empty() || after == "/" {
                return Resolved::Stage(rt.pick(), None);
            }
            if after.starts_with('/') {
                return Resolved::Stage(rt.pick(), Some(path.len() - after.len()));
            }
        }
        Resolved::NoMapping
    }
}

/// What building a stage's runtime needs from the node.
struct Parts<'a> {
    metrics: &'a Metrics,
    sinks: &'a Sinks,
    caches: &'a Caches,
}

impl Parts<'_> {
    /// The runtime of stage `b` serving `deployment` with `variables`; metrics labelled
    /// with stage `label`. `cache`: the stage's cache to use instead of its own (`Some`).
    fn runtime(
        &self,
        b: &StageBinding,
        label: &str,
        deployment: &Arc<CompiledDeployment>,
        variables: BTreeMap<String, String>,
        cache: Option<Option<Arc<StageCache>>>,
    ) -> StageRuntime {
        let labels = |method: &str, resource: &str| RouteLabels {
            api: b.api_id.clone(),
            stage: label.to_owned(),
            method: method.to_owned(),
            resource: resource.to_owned(),
        };
        let route_metrics = deployment
            .spec()
            .routes
            .iter()
            .map(|r| self.metrics.route(&labels(r.method(), r.path())))
            .collect();
        let unmatched_metrics = self.metrics.route(&labels("", ""));
        let cache = cache.unwrap_or_else(|| {
            b.settings.cache.as_ref().filter(|c| c.enabled).map(|c| {
                self.caches
                    .for_stage(&b.api_id, &b.stage, &deployment.id().0, c)
            })
        });
        StageRuntime {
            stage: b.stage.clone(),
            deployment: deployment.clone(),
            variables,
            route_metrics,
            unmatched_metrics,
            throttle: b.settings.throttle,
            throttle_key: crate::throttle::stage_key(&b.api_id, &b.stage),
            cache,
            access_log: b
                .settings
                .access_log
                .as_ref()
                .map(|spec| AccessLogger::new(spec, self.sinks)),
            canary: None,
        }
    }
}
