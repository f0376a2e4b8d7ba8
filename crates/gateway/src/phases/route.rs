//! Limits, then host → stage → route resolution.

use std::sync::Arc;

use arc_swap::ArcSwap;
use causeway_model::ApiType;
use causeway_router::Lookup;

use crate::body::Body;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, GatewayError};
use crate::pipeline::{Flow, Phase, Step};
use crate::table::{Resolved, StageRuntime, Table};

/// Request limits, from the node config.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_body_bytes: u64,
    pub(crate) max_header_bytes: usize,
}

pub(crate) struct Route {
    pub(crate) table: Arc<ArcSwap<Table>>,
    pub(crate) limits: Limits,
    /// Open WebSocket connections (`@connections` requests).
    pub(crate) hub: Arc<crate::websocket::Hub>,
}

fn not_found(kind: ApiType) -> GatewayError {
    match kind {
        ApiType::Rest => GatewayError::new(ErrorKind::MissingAuthenticationToken),
        ApiType::Http => GatewayError::new(ErrorKind::NotFound),
        ApiType::WebSocket => GatewayError::new(ErrorKind::Forbidden),
    }
}

impl Phase for Route {
    fn name(&self) -> &'static str {
        "route"
    }

    fn request<'a>(&'a self, ctx: &'a mut RequestCtx) -> Step<'a> {
        match self.decide(ctx) {
            // A WEBSOCKET API's stage, reached by a plain HTTP request: `@connections`.
            Flow::Continue
                if ctx
                    .stage
                    .as_ref()
                    .is_some_and(|s| s.deployment.kind() == ApiType::WebSocket) =>
            {
                crate::websocket::http_request(&self.hub, ctx)
            }
            flow => flow.into(),
        }
    }
}

/// The request's host and path as it is placed by (the route phase, and an edge's
/// placement alike): a host in doubt ([`crate::host_problem`]) or a path that cannot be
/// normalized ([`crate::path::normalize`], which normalizes it in place) is a 400.
pub(crate) fn settle_target(ctx: &mut RequestCtx) -> Result<(), GatewayError> {
    let bad = |why: &'static str| GatewayError::new(ErrorKind::BadRequest).with_message(why);
    if let Some(problem) = crate::host_problem(&ctx.parts, &ctx.host) {
        return Err(bad(problem));
    }
    crate::path::normalize(&mut ctx.parts).map_err(bad)
}

impl Route {
    fn decide(&self, ctx: &mut RequestCtx) -> Flow {
        // API Gateway's quota: the request line and the header fields together
        // ("Total combined size of request line and header values", 10,240 bytes).
        let request_line = ctx.parts.method.as_str().len()
            + ctx
                .parts
                .uri
                .path_and_query()
                .map_or(1, |p| p.as_str().len())
            + "  HTTP/1.1\r\n".len();
        let header_bytes: usize = ctx
            .parts
            .headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum();
        if request_line + header_bytes > self.limits.max_header_bytes {
            return Flow::Fail(GatewayError::new(ErrorKind::HeadersTooLarge));
        }
        // The declared length, as hyper read it from `content-length` (h1 or h2): the
        // body's size hint (no second header lookup and parse). A body of known length
        // within the limit needs no counting wrapper; a chunked one does. A body the
        // listener read whole (`server::h1`, small ones) is checked by its length.
        match ctx.body.take() {
            Some(Body::Stream(inc)) => {
                let hint = http_body::Body::size_hint(&inc);
                if hint.lower() > self.limits.max_body_bytes {
                    return Flow::Fail(GatewayError::new(ErrorKind::PayloadTooLarge));
                }
                ctx.body = Some(match hint.upper() {
                    Some(n) if n <= self.limits.max_body_bytes => Body::Stream(inc),
                    _ => {
                        let limit =
                            usize::try_from(self.limits.max_body_bytes).unwrap_or(usize::MAX);
                        Body::Limited(http_body_util::Limited::new(inc, limit))
                    }
                });
            }
            Some(Body::Full(Some(b))) if b.len() as u64 > self.limits.max_body_bytes => {
                return Flow::Fail(GatewayError::new(ErrorKind::PayloadTooLarge));
            }
            body => ctx.body = body,
        }

        // Origin form (`/path`) or absolute form (`http://host/path`); an authority
        // (`GET host:80`) or `*` names no resource here.
        if !ctx.parts.uri.path().starts_with('/') {
            return Flow::Fail(GatewayError::new(ErrorKind::BadRequest).with_message(
                "Invalid request target: expected a path starting with '/' or an absolute URL",
            ));
        }
        if let Err(e) = settle_target(ctx) {
            return Flow::Fail(e);
        }
        let table = self.table.load();
        if let Some(e) = table.client_cert_problem(&ctx.host, ctx.https, ctx.tls_client.as_deref())
        {
            return Flow::Fail(e);
        }
        let resolved = table.resolve(&ctx.host, ctx.parts.uri.path());
        let (stage, at) = match resolved {
            Resolved::Stage(stage, at) => (stage, at),
            Resolved::NoStage(kind) => return Flow::Fail(not_found(kind)),
            Resolved::NoMapping => return Flow::Fail(GatewayError::new(ErrorKind::Forbidden)),
            Resolved::NoHost => {
                let msg = format!(
                    "No API is served at host '{}'. Invoke URLs look like http://{{api-id}}{}:PORT/{{stage}}/path, or use a configured custom domain.",
                    ctx.host,
                    crate::table::EXECUTE_API_SUFFIX
                );
                return Flow::Fail(GatewayError::new(ErrorKind::NotFound).with_message(msg));
            }
        };
        ctx.route_path_at = at;
        // A refusal names the resource as a route id (`api/stage/METHOD/path`).
        let endpoint = &stage.deployment.endpoint;
        // A resource policy judges the client an edge vouches for.
        let client = if endpoint.has_policy() {
            ctx.source_addr()
        } else {
            ctx.client.ip()
        };
        let admitted = endpoint.serves(&ctx.host, ctx.private, client, || {
            let (api, method) = (stage.deployment.api_id(), ctx.parts.method.as_str());
            causeway_plugin::route_id(api, &stage.stage, method, ctx.route_path())
        });
        if let Err(refused) = admitted {
            // Counted and logged under the stage it was refused for.
            ctx.stage = Some(stage);
            return Flow::Fail(refused);
        }
        let kind = stage.deployment.kind();
        if kind == ApiType::WebSocket {
            ctx.stage = Some(stage);
            return Flow::Continue;
        }
        let matched = locate(ctx, &stage);
        let preflight_ok = stage.deployment.cors.is_some();
        ctx.stage = Some(stage);
        // A CORS preflight is answered by the CORS phase even without an OPTIONS route.
        let preflight = preflight_ok && super::cors::is_preflight(ctx);
        if !matched && !preflight {
            return Flow::Fail(not_found(kind));
        }
        Flow::Continue
    }
}

/// Looks the request up in `stage`'s routes (the route path starting at
/// `ctx.route_path_at`); on a match sets `ctx.route` and the path parameters' ranges.
pub(crate) fn locate(ctx: &mut RequestCtx, stage: &StageRuntime) -> bool {
    let path = ctx.parts.uri.path();
    let route_path = ctx.route_path_at.and_then(|a| path.get(a..)).unwrap_or("/");
    // Where `route_path` starts in `path` (the fallback `/` is not in it, and has no
    // parameters to place).
    let base = path.len().saturating_sub(route_path.len());
    match stage
        .deployment
        .router
        .lookup(ctx.parts.method.as_str(), route_path)
    {
        Lookup::Matched(m) => {
            ctx.route = Some(m.route);
            for (_, value) in m.params.iter() {
                // Values are sub-slices of `route_path`; turn them into ranges of `path`.
                let start = value.as_ptr() as usize - route_path.as_ptr() as usize + base;
                ctx.params.push(start..start + value.len());
            }
            true
        }
        Lookup::MethodNotAllowed | Lookup::NotFound => false,
    }
}
