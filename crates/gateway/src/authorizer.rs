//! Lambda-style authorizers backed by `authorizer` plugins: identity sources, the decision
//! cache (per identity, TTL-bounded, and only for the routes a decision covers), and the
//! mapping of decisions to API Gateway's answers.

use std::sync::Arc;
use std::time::Duration;

use causeway_model::{AuthorizerSpec, AuthorizerType};
use causeway_plugin::{AuthorizerKind, Plugin};

mod cache;

pub(crate) use cache::{Decision, DecisionCache, Granted};

/// Where an identity value comes from.
#[derive(Debug, Clone)]
pub(crate) enum IdentitySource {
    /// Parsed once here, so a request looks it up without parsing the name again (the
    /// model refuses names that are not header names).
    Header(http::HeaderName),
    Query(String),
    StageVariable(String),
}

/// One compiled authorizer.
#[derive(Debug)]
pub(crate) struct Authorizer {
    pub(crate) name: String,
    pub(crate) kind: AuthorizerKind,
    pub(crate) plugin: Arc<Plugin>,
    pub(crate) sources: Vec<IdentitySource>,
    /// A TOKEN authorizer's `identity_validation_expression`, matched against the whole
    /// token before anything else (validated by the model, so never refused here).
    pub(crate) token_pattern: Option<regex::Regex>,
    pub(crate) cache: DecisionCache,
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
        let token_pattern = spec
            .identity_validation_expression
            .as_deref()
            .filter(|_| kind == AuthorizerKind::Token)
            .and_then(|e| causeway_model::plugin::token_pattern(e).ok());
        Authorizer {
            name: spec.name.clone(),
            kind,
            plugin,
            sources,
            token_pattern,
            cache: DecisionCache::new(Duration::from_secs(u64::from(spec.result_ttl_seconds))),
        }
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
