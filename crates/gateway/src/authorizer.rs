//! Lambda-style authorizers backed by `authorizer` plugins: identity sources, the decision
//! cache (per identity, TTL-bounded, and only for the routes a decision covers), and the
//! mapping of decisions to API Gateway's answers.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use causeway_model::{AuthorizerSpec, AuthorizerType};
use causeway_plugin::{AuthorizerDecision, AuthorizerKind, Plugin};
use hashbrown::HashMap;

/// Decisions kept per authorizer at most; beyond that expired ones are dropped first.
const MAX_CACHED: usize = 10_000;

/// Where an identity value comes from.
#[derive(Debug, Clone)]
pub(crate) enum IdentitySource {
    /// Parsed once here, so a request looks it up without parsing the name again (the
    /// model refuses names that are not header names).
    Header(http::HeaderName),
    Query(String),
    StageVariable(String),
}

#[derive(Debug)]
struct Cached {
    expires: Instant,
    asked: String,
    granted: Granted,
}

/// A decision as the request path uses it: what a request takes from it already shared,
/// so that a cached allow costs reference counts per request rather than copies.
#[derive(Debug, Clone)]
pub(crate) struct Granted {
    pub(crate) decision: Arc<AuthorizerDecision>,
    pub(crate) context: Arc<[(String, String)]>,
    pub(crate) principal_id: Arc<str>,
    pub(crate) usage_key: Option<Arc<str>>,
}

impl Granted {
    /// The context entries, principal and usage key are moved out of `decision` (left
    /// empty there: read them here).
    pub(crate) fn new(mut decision: AuthorizerDecision) -> Granted {
        Granted {
            context: std::mem::take(&mut decision.context).into(),
            principal_id: std::mem::take(&mut decision.principal_id).into(),
            usage_key: decision.usage_identifier_key.take().map(Into::into),
            decision: Arc::new(decision),
        }
    }
}

/// One compiled authorizer.
#[derive(Debug)]
pub(crate) struct Authorizer {
    pub(crate) name: String,
    pub(crate) kind: AuthorizerKind,
    pub(crate) plugin: Arc<Plugin>,
    pub(crate) sources: Vec<IdentitySource>,
    ttl: Duration,
    /// Keyed by the identity values' bytes (client-chosen: a randomly keyed hasher).
    cache: Mutex<HashMap<Box<[u8]>, Cached, ahash::RandomState>>,
}

impl Authorizer {
    pub(crate) fn new(spec: &AuthorizerSpec, plugin: Arc<Plugin>) -> Authorizer {
        let sources = spec
            .identity_sources
            .iter()
            .filter_map(|s| {
                if let Some(n) = s.strip_prefix("method.request.header.") {
                    http::HeaderName::from_bytes(n.as_bytes())
                        .ok()
                        .map(IdentitySource::Header)
                } else if let Some(n) = s.strip_prefix("method.request.querystring.") {
                    Some(IdentitySource::Query(n.to_owned()))
                } else {
                    s.strip_prefix("stageVariables.")
                        .map(|n| IdentitySource::StageVariable(n.to_owned()))
                }
            })
            .collect();
        let kind = match spec.kind {
            AuthorizerType::Token => AuthorizerKind::Token,
            // JWT authorizers are compiled by `crate::jwt`, never into a plugin authorizer.
            AuthorizerType::Request | AuthorizerType::Jwt => AuthorizerKind::Request,
        };
        Authorizer {
            name: spec.name.clone(),
            kind,
            plugin,
            sources,
            ttl: Duration::from_secs(u64::from(spec.result_ttl_seconds)),
            cache: Mutex::new(HashMap::default()),
        }
    }

    /// Whether decisions are cached at all (`result_ttl_seconds` > 0).
    pub(crate) fn caches(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// A decision cached for these identity values that covers `route` and is still
    /// fresh at `now` (the request's arrival).
    pub(crate) fn cached(
        &self,
        identity: &[u8],
        route: &RouteOf<'_>,
        now: Instant,
    ) -> Option<Granted> {
        if self.ttl.is_zero() {
            return None;
        }
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let hit = cache.get(identity)?;
        if hit.expires <= now {
            return None;
        }
        let decision = &hit.granted.decision;
        // `covers` without a route id built per request: a decision naming no routes
        // answers only for the route it was asked for.
        let covered = if decision.routes.is_empty() {
            route.is(&hit.asked)
        } else {
            decision.covers(&hit.asked, &route.id())
        };
        covered.then(|| hit.granted.clone())
    }

    /// Remember `decision`, made for `route_id`, for the shorter of the authorizer's TTL and
    /// the decision's own.
    pub(crate) fn remember(&self, identity: Vec<u8>, route_id: String, granted: Granted) {
        let ttl = self.ttl.min(Duration::from_secs(u64::from(
            granted.decision.ttl_seconds.min(3600),
        )));
        if ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= MAX_CACHED {
            cache.retain(|_, c| c.expires > now);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(
            identity.into_boxed_slice(),
            Cached {
                expires: now + ttl,
                asked: route_id,
                granted,
            },
        );
    }
}

/// The parts of a request's route id ([`causeway_plugin::route_id`]), compared with a
/// stored id without building the request's own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteOf<'a> {
    pub(crate) api_id: &'a str,
    pub(crate) stage: &'a str,
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
}

impl RouteOf<'_> {
    /// The route id, as the authorizer is asked with it.
    pub(crate) fn id(&self) -> String {
        causeway_plugin::route_id(self.api_id, self.stage, self.method, self.path)
    }

    /// Whether `id` is this route's id: `self.id() == id`, without the allocation.
    pub(crate) fn is(&self, id: &str) -> bool {
        let path = self.path.strip_prefix('/').unwrap_or(self.path);
        [self.api_id, self.stage, self.method]
            .into_iter()
            .try_fold(id, |rest, part| rest.strip_prefix(part)?.strip_prefix('/'))
            == Some(path)
    }
}

#[cfg(test)]
mod tests {
    use super::RouteOf;

    #[test]
    fn route_ids_compare_as_the_built_id_would() {
        let parts = [
            "", "a", "a/b", "prod", "GET", "/", "/pets/42", "pets/42", "/x/",
        ];
        let mut ids: Vec<String> = Vec::new();
        for api_id in ["a1", "a1/prod", ""] {
            for stage in ["prod", "", "prod/GET"] {
                for path in ["/pets/42", "/", "", "pets", "//x"] {
                    ids.push(causeway_plugin::route_id(api_id, stage, "GET", path));
                }
            }
        }
        ids.extend(parts.iter().map(|p| (*p).to_owned()));
        for api_id in ["a1", "a1/prod", ""] {
            for stage in ["prod", "", "prod/GET"] {
                for method in ["GET", "POST", ""] {
                    for path in ["/pets/42", "/", "", "pets", "//x"] {
                        let route = RouteOf {
                            api_id,
                            stage,
                            method,
                            path,
                        };
                        for id in &ids {
                            assert_eq!(route.is(id), route.id() == *id, "{route:?} vs {id:?}");
                        }
                    }
                }
            }
        }
    }
}
