//! [`Plugin::check_report`]: what a plugin exports and imports, what it costs, and which
//! instance policy suits it.

use std::time::{Duration, Instant};

use crate::bindings::{AuthorizerKind, AuthorizerRequest};
use crate::cache::ArtifactSource;
use crate::engine::{AuthorizerAbi, Exports};
use crate::error::PluginError;
use crate::options::{InstancePolicy, ReusePolicy, World};
use crate::plugin::{CallError, Plugin};

/// The input [`Plugin::check_report_with`] calls the plugin with; `Default`: a synthetic
/// empty one (a TOKEN request with `Bearer probe`, `GET /`, a minimal 2.0 event).
#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// An authorizer's identity token (TOKEN style, as `causeway plugin invoke --token`).
    pub token: Option<String>,
    /// A function's proxy event JSON.
    pub event: Option<String>,
}

/// A TOKEN authorizer request for `GET /` of a local `probe` API, as a request with
/// `Authorization: Bearer <token>` brings it: the identity source is the header's whole
/// value. `token` may carry the `Bearer ` prefix itself. For `causeway plugin check` and
/// `causeway plugin invoke`.
pub fn local_token_request(token: &str) -> AuthorizerRequest {
    let t = token.trim();
    let bare = match t.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => t[7..].trim_start(),
        _ => t,
    };
    let header = format!("Bearer {bare}");
    AuthorizerRequest {
        kind: AuthorizerKind::Token,
        identity_source: vec![header.clone()],
        route_id: "probe/check/GET/".to_owned(),
        api_id: "probe".to_owned(),
        stage: "check".to_owned(),
        http_method: "GET".to_owned(),
        route_key: "GET /".to_owned(),
        resource_path: "/".to_owned(),
        path: "/".to_owned(),
        path_parameters: Vec::new(),
        query: Vec::new(),
        headers: vec![("authorization".to_owned(), header)],
        stage_variables: Vec::new(),
        source_ip: "127.0.0.1".to_owned(),
        request_id: "check-report".to_owned(),
    }
}

/// Reusing warm instances is recommended when it saves at least this much per call.
const REUSE_SAVES: Duration = Duration::from_micros(100);

/// Measurements taken by [`Plugin::check_report`].
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// The plugin's name.
    pub plugin: String,
    /// The world it was loaded as.
    pub world: World,
    /// The contract the component was built against, e.g. `causeway:plugin@0.2.0
    /// (authorizer request read field by field)`.
    pub contract: &'static str,
    /// The component's export names.
    pub exports: Vec<String>,
    /// The component's import names.
    pub imports: Vec<String>,
    /// Where its compiled code came from.
    pub artifact: ArtifactSource,
    /// Time [`PluginEngine::load`](crate::PluginEngine::load) took.
    pub load_time: Duration,
    /// Median time to create an instance (store included).
    pub instantiate: Duration,
    /// Median time of a call on a new instance, instantiation included: the cost of
    /// [`InstancePolicy::Fresh`]. `None` if the probe call failed.
    pub fresh_call: Option<Duration>,
    /// Median time of a call on a warm instance: the cost of [`InstancePolicy::Reuse`].
    /// `None` if the probe call failed.
    pub warm_call: Option<Duration>,
    /// Why the probe failed, if it did (a plugin may well reject an empty input: that
    /// is reported here, and times are still measured when the guest returned).
    pub probe_error: Option<PluginError>,
    /// What the last probe call answered: an authorizer's effect (`allow`, `deny`,
    /// `unauthorized`), a function's `statusCode`, a mapper's `mapped` or `refused`.
    /// The times are those of this path through the guest.
    pub probe_answer: Option<String>,
    /// The instance policy the measurements suggest.
    pub recommended_policy: InstancePolicy,
    /// Why.
    pub reason: String,
}

fn median(mut samples: Vec<Duration>) -> Option<Duration> {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied()
}

impl Plugin {
    /// Which published contract the component implements, as far as it tells.
    pub fn contract(&self) -> &'static str {
        match &self.exports {
            Exports::Authorizer {
                abi: AuthorizerAbi::Resource,
                ..
            } => "causeway:plugin@0.2.0 (authorizer request read field by field)",
            Exports::Authorizer {
                abi: AuthorizerAbi::Record,
                ..
            } => "causeway:plugin@0.1.0 (authorizer request as a record)",
            Exports::Mapper { .. } | Exports::Function { .. } => {
                "causeway:plugin@0.1.0 or later (the same in every version)"
            }
            Exports::Http(_) => "wasi:http/proxy@0.2",
        }
    }

    /// Instantiate the plugin a few times and call it with a synthetic empty input
    /// (an empty TOKEN request, `GET /`, a minimal 2.0 event), on new instances and on a
    /// warm one, to measure what each [`InstancePolicy`] costs. The probe runs the guest
    /// for real, under the plugin's limits.
    pub async fn check_report(&self) -> CheckReport {
        self.check_report_with(&Probe::default()).await
    }

    /// [`Plugin::check_report`] with a chosen input: an empty token usually takes an
    /// authorizer's shortest path (`unauthorized` before any signature check), a real
    /// one the path requests take.
    pub async fn check_report_with(&self, probe: &Probe) -> CheckReport {
        const ROUNDS: usize = 7;
        let probe_calls = self.world != World::HttpHandler;
        let mut instantiate = Vec::with_capacity(ROUNDS);
        let mut fresh = Vec::with_capacity(ROUNDS);
        let mut warm = Vec::with_capacity(ROUNDS);
        let mut probe_error = None;
        let mut probe_answer = None;
        let mut last = None;
        for round in 0..2 * ROUNDS {
            // First rounds: a new instance each; then calls on the last one, warm.
            let started = Instant::now();
            let mut lease = match last.take() {
                Some(lease) if round >= ROUNDS => lease,
                _ => match self
                    .instantiate(crate::plugin::Purpose::Call, started)
                    .await
                {
                    Ok(lease) => {
                        instantiate.push(started.elapsed());
                        lease
                    }
                    Err(e) => {
                        probe_error = Some(e);
                        break;
                    }
                },
            };
            if !probe_calls {
                last = Some(lease);
                continue;
            }
            if let Err(e) = self.begin(&mut lease.store, started) {
                probe_error = Some(e);
                break;
            }
            let failed = match self.run_probe(&mut lease, probe).await {
                Ok(answer) => {
                    probe_answer = Some(answer);
                    None
                }
                Err(CallError::Function(m)) => {
                    Some(self.error(crate::PluginErrorKind::FunctionError, m))
                }
                Err(CallError::BadOutput(m)) => {
                    Some(self.error(crate::PluginErrorKind::BadOutput, m))
                }
                Err(CallError::Wasm(e)) => {
                    probe_error = Some(self.wasm_error(&e, &lease.store));
                    break;
                }
            };
            let took = started.elapsed();
            if round < ROUNDS {
                fresh.push(took);
            } else {
                warm.push(took);
            }
            probe_error = probe_error.or(failed);
            last = Some(lease);
        }
        let instantiate = median(instantiate).unwrap_or_default();
        let fresh_call = median(fresh);
        let warm_call = median(warm);
        let (recommended_policy, reason) = match (fresh_call, warm_call) {
            _ if self.world == World::HttpHandler => (
                InstancePolicy::Fresh,
                "wasi:http handlers get a fresh instance per request".to_owned(),
            ),
            (Some(fresh), Some(warm)) if fresh >= warm + REUSE_SAVES => (
                InstancePolicy::Reuse(ReusePolicy::default()),
                format!(
                    "a call costs {fresh:?} on a new instance but {warm:?} on a warm one: \
                     keep warm instances"
                ),
            ),
            (Some(fresh), Some(warm)) => (
                InstancePolicy::Fresh,
                format!(
                    "a call costs {fresh:?} on a new instance ({warm:?} warm): a fresh \
                     instance per call keeps calls isolated for little"
                ),
            ),
            _ => (
                InstancePolicy::Fresh,
                "the probe failed; fresh instances keep failures contained".to_owned(),
            ),
        };
        CheckReport {
            plugin: self.name().to_owned(),
            world: self.world,
            contract: self.contract(),
            exports: self.export_names.clone(),
            imports: self.import_names.clone(),
            artifact: self.artifact.clone(),
            load_time: self.load_time,
            instantiate,
            fresh_call,
            warm_call,
            probe_error,
            probe_answer,
            recommended_policy,
            reason,
        }
    }
}
