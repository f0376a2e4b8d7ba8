//! Lambda-style authorizers: a route with an authorizer needs its identity sources (else
//! 401 without calling the plugin), then an allow from the plugin — or from a cached
//! decision that covers this route (a decision made for one route never answers for
//! another it does not name). Deny → 403, failure → 500 `{"message": null}`. Routes with a
//! built-in JWT authorizer are handed to [`crate::jwt::authorize`].

use std::borrow::Cow;
use std::sync::Arc;

use causeway_plugin::Effect;
use smallvec::SmallVec;

use crate::authorizer::{Authorizer, Decision, Granted, IdentitySource, RouteOf};
use crate::context::RequestCtx;
use crate::error::{ErrorKind, ErrorSource, GatewayError};
use crate::phases::decode;
use crate::pipeline::{Flow, Phase, Step};

mod facts;

use facts::Asked;

pub(crate) struct Authorize {
    /// Where authorizer failures are counted (`PluginErrorCount`).
    pub(crate) metrics: Arc<crate::metrics::Metrics>,
}

/// One identity value as the request carries it. A header's value is checked to be text
/// only when the plugin is called: a cache hit compares its bytes with keys that were text
/// when they were stored, so a value that is not text never hits and then gets a 401.
#[derive(Clone, Copy)]
enum Value<'a> {
    Header(&'a http::HeaderValue),
    /// A query parameter's raw value (the plugin gets it decoded; the decision cache is
    /// keyed by the raw bytes).
    Query(&'a str),
    Text(&'a str),
}

impl<'a> Value<'a> {
    fn bytes(self) -> &'a [u8] {
        match self {
            Value::Header(v) => v.as_bytes(),
            Value::Query(t) | Value::Text(t) => t.as_bytes(),
        }
    }

    /// The value as the plugin gets it (`None`: a header value that is not visible ASCII,
    /// a 401 as if it were missing).
    fn text(self) -> Option<Cow<'a, str>> {
        match self {
            Value::Header(v) => v.to_str().ok().map(Cow::Borrowed),
            Value::Query(q) => Some(decode::query(q)),
            Value::Text(t) => Some(Cow::Borrowed(t)),
        }
    }
}

/// The identity source values, in the authorizer's order (`None`: one is missing or
/// blank, a 401 without calling the plugin).
fn identity<'a>(ctx: &'a RequestCtx, auth: &Authorizer) -> Option<SmallVec<[Value<'a>; 2]>> {
    match auth.sources.as_slice() {
        // A TOKEN authorizer's single source, without collecting through `Option`.
        [one] => source(ctx, one).map(|v| smallvec::smallvec![v]),
        many => many.iter().map(|s| source(ctx, s)).collect(),
    }
}

fn source<'a>(ctx: &'a RequestCtx, source: &IdentitySource) -> Option<Value<'a>> {
    match source {
        IdentitySource::Header(n) => ctx
            .parts
            .headers
            .get(n)
            .filter(|v| !v.as_bytes().trim_ascii().is_empty())
            .map(Value::Header),
        IdentitySource::Query(n) => ctx
            .query_param(n)
            .filter(|v| !decode::query(v).trim().is_empty())
            .map(Value::Query),
        IdentitySource::StageVariable(n) => ctx
            .stage_variable(n)
            .filter(|v| !v.trim().is_empty())
            .map(Value::Text),
    }
}

impl Phase for Authorize {
    fn name(&self) -> &'static str {
        "authorizer"
    }

    fn request<'a>(&'a self, ctx: &'a mut RequestCtx) -> Step<'a> {
        // An edge's allow for this deployment stands in for the authorizer's call.
        let guarded = ctx
            .compiled_route()
            .is_some_and(|r| r.jwt.is_some() || r.authorizer.is_some());
        if guarded && crate::edge_trust::take_decision(ctx) {
            return Step::Now(Flow::Continue);
        }
        let Some(route) = ctx.compiled_route() else {
            return Step::Now(Flow::Continue);
        };
        if let Some(jwt) = route.jwt.clone() {
            return Step::Later(Box::pin(
                async move { crate::jwt::authorize(ctx, &jwt).await },
            ));
        }
        let Some(auth) = route.authorizer.clone() else {
            return Step::Now(Flow::Continue);
        };
        let Some(stage) = ctx.stage.as_deref() else {
            return Step::Now(Flow::Continue);
        };
        let Some(identity) = identity(ctx, &auth) else {
            return Step::Now(Flow::Fail(GatewayError::new(ErrorKind::Unauthorized)));
        };
        // A TOKEN authorizer's validation expression: a token it does not match is a 401
        // before the cache and the plugin (a value that is not text matches nothing).
        if let Some(pattern) = &auth.token_pattern
            && !identity
                .iter()
                .all(|v| v.text().is_some_and(|t| pattern.is_match(&t)))
        {
            return Step::Now(Flow::Fail(GatewayError::new(ErrorKind::Unauthorized)));
        }
        // The decision cache's key: the values' bytes joined by a unit separator (a single
        // value as it is; not built for an authorizer that caches nothing).
        let key: Cow<'_, [u8]> = match identity.as_slice() {
            _ if !auth.cache.enabled() => Cow::Borrowed(b""),
            [one] => Cow::Borrowed(one.bytes()),
            many => {
                let len = many.iter().map(|v| v.bytes().len() + 1).sum();
                let mut joined = Vec::with_capacity(len);
                for (i, v) in many.iter().enumerate() {
                    if i > 0 {
                        joined.push(0x1f);
                    }
                    joined.extend_from_slice(v.bytes());
                }
                Cow::Owned(joined)
            }
        };
        let route = RouteOf {
            api_id: stage.deployment.api_id(),
            stage: &stage.stage,
            method: ctx.parts.method.as_str(),
            path: ctx.route_path(),
        };
        // A cached decision answers without a plugin call, and without a future.
        if let Some(hit) = auth.cache.get(&key, &route, ctx.started) {
            // The values borrow from `ctx`, which the answer changes.
            drop((identity, key));
            return Step::Now(apply(ctx, &hit));
        }
        let route_id = route.id();
        let key = key.into_owned();
        let Some(identity) = identity
            .into_iter()
            .map(|v| v.text().map(Cow::into_owned))
            .collect()
        else {
            return Step::Now(Flow::Fail(GatewayError::new(ErrorKind::Unauthorized)));
        };
        Step::Later(Box::pin(self.call(ctx, auth, identity, key, route_id)))
    }
}

/// Hand an allow's principal, context and usage key to the request; a deny or an
/// unauthorized answers with the authorizer's message.
fn apply(ctx: &mut RequestCtx, granted: &Granted) -> Flow {
    let fail = |kind| {
        let e = GatewayError::new(kind);
        Flow::Fail(match &granted.message {
            Some(m) => e.with_message(m.to_string()),
            None => e,
        })
    };
    match granted.effect {
        Effect::Allow => {
            ctx.principal_id = Some(granted.principal_id.clone());
            ctx.authorizer_context = Some(granted.context.clone());
            ctx.usage_key = granted.usage_key.clone();
            Flow::Continue
        }
        Effect::Deny => fail(ErrorKind::AccessDenied),
        Effect::Unauthorized => fail(ErrorKind::Unauthorized),
    }
}

impl Authorize {
    /// Ask the plugin (no cached decision covers this request) and cache what it says.
    async fn call(
        &self,
        ctx: &mut RequestCtx,
        auth: Arc<Authorizer>,
        identity: Vec<String>,
        key: Vec<u8>,
        route_id: String,
    ) -> Flow {
        let Some(asked) = Asked::lend(ctx, auth.kind, identity, route_id) else {
            // No stage: `request` does not call without one. Never let it through.
            return Flow::Fail(GatewayError::new(ErrorKind::Internal));
        };
        let (asked, result) = auth.plugin.authorize_with(asked).await;
        let Some(asked) = asked else {
            // Cannot happen (the plugin hands back what it is lent); the request's URI
            // and headers would be missing, so it must not go on.
            return Flow::Fail(GatewayError::new(ErrorKind::Internal));
        };
        // The route the decision was asked for comes back too, for the cache.
        let asked_route = asked.give_back(ctx);
        match result {
            Ok(d) => {
                let decision = Decision::new(d);
                let flow = apply(ctx, &decision.granted);
                if decision.granted.effect != Effect::Unauthorized && auth.cache.enabled() {
                    // Made for the route it was asked for.
                    auth.cache.put(key, &asked_route, decision);
                }
                flow
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
                Flow::Fail(err)
            }
        }
    }
}
