//! The request as an authorizer plugin sees it: [`AuthorizerFacts`] over the request's own
//! URI and headers, lent to the plugin call (moved out of the request context and back,
//! not copied). A guest reads only the fields it asks for, so an authorizer that looks at
//! its token costs the gateway no copy of the other headers, the query or the path.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use causeway_plugin::{AuthorizerFacts, AuthorizerKind, FactPairs, FactText};
use causeway_router::RouteId;
use smallvec::SmallVec;

use crate::compile::CompiledRoute;
use crate::context::{RequestCtx, RequestId};
use crate::phases::decode;
use crate::table::StageRuntime;

/// What one authorizer call is asked.
pub(super) struct Asked {
    kind: AuthorizerKind,
    identity: Vec<String>,
    route_id: String,
    stage: Arc<StageRuntime>,
    route: Option<RouteId>,
    method: http::Method,
    /// Lent by the request context for the call.
    uri: http::Uri,
    /// Lent by the request context for the call.
    headers: http::HeaderMap,
    /// The path the route matched, when a mapper rewrote the URI (lent too).
    matched_path: Option<String>,
    params: SmallVec<[Range<usize>; 4]>,
    client_ip: http::HeaderValue,
    request_id: RequestId,
}

impl Asked {
    /// Borrow `ctx`'s URI and headers for a call (`None`: the request has no stage, so
    /// no authorizer either). [`give_back`](Self::give_back) returns them.
    pub(super) fn lend(
        ctx: &mut RequestCtx,
        kind: AuthorizerKind,
        identity: Vec<String>,
        route_id: String,
    ) -> Option<Self> {
        let stage = ctx.stage.clone()?;
        Some(Asked {
            kind,
            identity,
            route_id,
            stage,
            route: ctx.route,
            method: ctx.parts.method.clone(),
            uri: std::mem::take(&mut ctx.parts.uri),
            headers: std::mem::take(&mut ctx.parts.headers),
            matched_path: ctx.matched_path.take(),
            params: ctx.params.clone(),
            client_ip: ctx.source_ip().clone(),
            request_id: ctx.request_id,
        })
    }

    /// Put the URI and headers back where they were lent from; the route id asked about
    /// is the caller's again.
    pub(super) fn give_back(self, ctx: &mut RequestCtx) -> String {
        ctx.parts.uri = self.uri;
        ctx.parts.headers = self.headers;
        ctx.matched_path = self.matched_path;
        self.route_id
    }

    fn route(&self) -> Option<&CompiledRoute> {
        self.stage.deployment.routes.get(self.route?)
    }

    /// Raw path parameter `i`.
    fn param(&self, i: usize) -> Option<&str> {
        let path = self.matched_path.as_deref().unwrap_or(self.uri.path());
        path.get(self.params.get(i)?.clone())
    }
}

impl AuthorizerFacts for Asked {
    fn kind(&self) -> AuthorizerKind {
        self.kind
    }

    fn identity_source(&self) -> &[String] {
        &self.identity
    }

    fn text(&self, field: FactText) -> Cow<'_, str> {
        Cow::Borrowed(match field {
            FactText::RouteId => &self.route_id,
            FactText::ApiId => self.stage.deployment.api_id(),
            FactText::Stage => &self.stage.stage,
            FactText::HttpMethod => self.method.as_str(),
            FactText::RouteKey => self.route().map_or("", |r| r.key.as_str()),
            FactText::ResourcePath => self.route().map_or("", |r| r.resource_path.as_str()),
            FactText::Path => self.uri.path(),
            FactText::SourceIp => self.client_ip.to_str().unwrap_or_default(),
            FactText::RequestId => &self.request_id,
        })
    }

    fn find(&self, pairs: FactPairs, name: &str) -> Option<Cow<'_, str>> {
        match pairs {
            FactPairs::Headers => self
                .headers
                .get_all(name)
                .iter()
                .find_map(|v| v.to_str().ok())
                .map(Cow::Borrowed),
            FactPairs::Query => {
                decode::query_pairs(self.uri.query()).find_map(|(k, v)| (k == name).then_some(v))
            }
            FactPairs::PathParameters => {
                let i = self.route()?.param_names.iter().position(|n| n == name)?;
                Some(decode::path(self.param(i)?))
            }
            FactPairs::StageVariables => self
                .stage
                .variables
                .get(name)
                .map(|v| Cow::Borrowed(v.as_str())),
        }
    }

    fn for_each(&self, pairs: FactPairs, f: &mut dyn FnMut(&str, &str)) {
        match pairs {
            FactPairs::Headers => {
                for (k, v) in &self.headers {
                    if let Ok(v) = v.to_str() {
                        f(k.as_str(), v);
                    }
                }
            }
            FactPairs::Query => {
                for (k, v) in decode::query_pairs(self.uri.query()) {
                    f(&k, &v);
                }
            }
            FactPairs::PathParameters => {
                let Some(route) = self.route() else { return };
                for (i, name) in route.param_names.iter().enumerate() {
                    if let Some(raw) = self.param(i) {
                        f(name, &decode::path(raw));
                    }
                }
            }
            FactPairs::StageVariables => {
                for (k, v) in &self.stage.variables {
                    f(k, v);
                }
            }
        }
    }
}
