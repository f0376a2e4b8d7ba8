//! Lambda-style authorizers backed by `authorizer` plugins: identity sources, the decision
//! cache (per identity, TTL-bounded, and only for the routes a decision covers), and the
//! mapping of decisions to API Gateway's answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use causeway_model::{AuthorizerSpec, AuthorizerType};
use causeway_plugin::{AuthorizerDecision, AuthorizerKind, Plugin};

/// Decisions kept per authorizer at most; beyond that expired ones are dropped first.
const MAX_CACHED: usize = 10_000;

/// Where an identity value comes from.
#[derive(Debug, Clone)]
pub(crate) enum IdentitySource {
    Header(String),
    Query(String),
    StageVariable(String),
}

#[derive(Debug)]
struct Cached {
    expires: Instant,
    asked: String,
    granted: Granted,
}

/// A decision as the request path uses it: its context already shared, so that a cached
/// allow costs a reference count per request rather than a copy of every entry.
#[derive(Debug, Clone)]
pub(crate) struct Granted {
    pub(crate) decision: Arc<AuthorizerDecision>,
    pub(crate) context: Arc<[(String, String)]>,
}

impl Granted {
    /// The context entries are moved out of `decision` (its own `context` is left empty:
    /// read [`Granted::context`]).
    pub(crate) fn new(mut decision: AuthorizerDecision) -> Granted {
        Granted {
            context: std::mem::take(&mut decision.context).into(),
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
    cache: Mutex<HashMap<String, Cached>>,
}

impl Authorizer {
    pub(crate) fn new(spec: &AuthorizerSpec, plugin: Arc<Plugin>) -> Authorizer {
        let sources = spec
            .identity_sources
            .iter()
            .filter_map(|s| {
                if let Some(n) = s.strip_prefix("method.request.header.") {
                    Some(IdentitySource::Header(n.to_ascii_lowercase()))
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
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Whether decisions are cached at all (`result_ttl_seconds` > 0).
    pub(crate) fn caches(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// A decision cached for these identity values that covers `route_id` and is still
    /// fresh at `now` (the request's arrival).
    pub(crate) fn cached(&self, identity: &str, route_id: &str, now: Instant) -> Option<Granted> {
        if self.ttl.is_zero() {
            return None;
        }
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let hit = cache.get(identity)?;
        (hit.expires > now && hit.granted.decision.covers(&hit.asked, route_id))
            .then(|| hit.granted.clone())
    }

    /// Remember `decision`, made for `route_id`, for the shorter of the authorizer's TTL and
    /// the decision's own.
    pub(crate) fn remember(&self, identity: String, route_id: String, granted: Granted) {
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
            identity,
            Cached {
                expires: now + ttl,
                asked: route_id,
                granted,
            },
        );
    }
}
