//! Lambda-style authorizers: a route with an authorizer needs its identity sources (else
//! 401 without calling the plugin), then an allow from the plugin — or from a cached
//! decision that covers this route (a decision made for one route never answers for
//! another it does not name). Deny → 403, failure → 500 `{"message": null}`. Routes with a
//! built-in JWT authorizer are handed to [`crate::jwt::authorize`].

use std::sync::Arc;

use causeway_plugin::{AuthorizerRequest, Effect};

use crate::authorizer::{Authorizer, IdentitySource};
use crate::context::RequestCtx;
use crate::error::{ErrorKind, ErrorSource, GatewayError};
use crate::pipeline::{Flow, Phase, Step};

pub(crate) struct Authorize {
    /// Where authorizer failures are counted (`PluginErrorCount`).
    pub(crate) metrics: Arc<crate::metrics::Metrics>,
}

fn identity(ctx: &RequestCtx, auth: &Authorizer) -> Option<Vec<String>> {
    auth.sources
        .iter()
        .map(|s| {
            let v = match s {
                IdentitySource::Header(n) => ctx
                    .parts
                    .headers
                    .get(n.as_str())
                    .and_then(|v| v.to_str().ok()),
                IdentitySource::Query(n) => ctx.query_param(n),
                IdentitySource::StageVariable(n) => ctx.stage_variable(n),
            };
            v.filter(|v| !v.trim().is_empty()).map(str::to_owned)
        })
        .collect()
}

fn pairs<'a>(it: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    it.map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

fn request(
    ctx: &RequestCtx,
    auth: &Authorizer,
    identity: Vec<String>,
    route_id: &str,
) -> AuthorizerRequest {
    let mut scratch = String::new();
    let mut value = |name: &str| {
        scratch.clear();
        ctx.context_value(name, &mut scratch);
        scratch.clone()
    };
    let route = ctx.compiled_route();
    AuthorizerRequest {
        kind: auth.kind,
        identity_source: identity,
        route_id: route_id.to_owned(),
        api_id: value("apiId"),
        stage: value("stage"),
        http_method: ctx.parts.method.as_str().to_owned(),
        route_key: value("routeKey"),
        resource_path: value("resourcePath"),
        path: ctx.parts.uri.path().to_owned(),
        path_parameters: route
            .map(|r| {
                r.param_names
                    .iter()
                    .filter_map(|n| Some((n.clone(), ctx.path_param(n)?.to_owned())))
                    .collect()
            })
            .unwrap_or_default(),
        query: pairs(
            ctx.parts
                .uri
                .query()
                .unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| p.split_once('=').unwrap_or((p, ""))),
        ),
        headers: pairs(
            ctx.parts
                .headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?))),
        ),
        stage_variables: ctx
            .stage
            .as_ref()
            .map(|s| pairs(s.variables.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
            .unwrap_or_default(),
        source_ip: value("identity.sourceIp"),
        request_id: ctx.request_id.clone(),
    }
}

impl Phase for Authorize {
    fn name(&self) -> &'static str {
        "authorizer"
    }

    fn request<'a>(&'a self, ctx: &'a mut RequestCtx) -> Step<'a> {
        match ctx.compiled_route() {
            Some(r) if r.jwt.is_some() || r.authorizer.is_some() => {
                Step::Later(Box::pin(self.authorize(ctx)))
            }
            _ => Step::Now(Flow::Continue),
        }
    }
}

impl Authorize {
    async fn authorize(&self, ctx: &mut RequestCtx) -> Flow {
        if let Some(jwt) = ctx.compiled_route().and_then(|r| r.jwt.clone()) {
            return crate::jwt::authorize(ctx, &jwt).await;
        }
        let Some(auth) = ctx.compiled_route().and_then(|r| r.authorizer.clone()) else {
            return Flow::Continue;
        };
        let Some(identity) = identity(ctx, &auth) else {
            return Flow::Fail(GatewayError::new(ErrorKind::Unauthorized));
        };
        let (api, stage) = match ctx.stage.as_deref() {
            Some(s) => (s.deployment.api_id().to_owned(), s.stage.clone()),
            None => return Flow::Continue,
        };
        let route_id =
            causeway_plugin::route_id(&api, &stage, ctx.parts.method.as_str(), ctx.route_path());
        let cache_key = identity.join("\u{1f}");
        let decision = match auth.cached(&cache_key, &route_id) {
            Some(d) => d,
            None => {
                let req = request(ctx, &auth, identity, &route_id);
                match auth.plugin.authorize(&req).await {
                    Ok(d) => {
                        let d = Arc::new(d);
                        if d.effect != Effect::Unauthorized {
                            auth.remember(cache_key, route_id, d.clone());
                        }
                        d
                    }
                    Err(e) => {
                        crate::phases::integrate::count_plugin_error(
                            ctx,
                            &self.metrics,
                            auth.plugin.name(),
                            "authorize",
                            e.kind.as_str(),
                        );
                        let mut err = GatewayError::new(ErrorKind::AuthorizerFailure).with_cause(e);
                        err.source = ErrorSource::Plugin;
                        return Flow::Fail(err);
                    }
                }
            }
        };
        match decision.effect {
            Effect::Allow => {
                ctx.principal_id = Some(decision.principal_id.clone());
                ctx.authorizer_context = decision.context.clone();
                ctx.usage_key = decision.usage_identifier_key.clone();
                Flow::Continue
            }
            Effect::Deny => {
                let e = GatewayError::new(ErrorKind::AccessDenied);
                Flow::Fail(match &decision.message {
                    Some(m) => e.with_message(m.clone()),
                    None => e,
                })
            }
            Effect::Unauthorized => {
                let e = GatewayError::new(ErrorKind::Unauthorized);
                Flow::Fail(match &decision.message {
                    Some(m) => e.with_message(m.clone()),
                    None => e,
                })
            }
        }
    }
}
