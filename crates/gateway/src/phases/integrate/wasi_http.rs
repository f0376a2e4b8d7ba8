//! WASI_HTTP integrations: the route is served by a `wasi-http` plugin, any component
//! exporting `wasi:http/incoming-handler` (a spin-sdk `#[http_component]`, a `wasmtime
//! serve` component), run unmodified on a fresh instance per request.
//!
//! The component is given the request as an HTTP_PROXY backend would be:
//!
//! - the client's method;
//! - the path *after* the stage (or the custom domain's base path) — the route path, the
//!   greedy `{proxy+}` part included — and the query string as the client sent it: on
//!   `https://{api}.execute-api…/prod/pets/7?x=1` the component sees `/pets/7?x=1`;
//! - the authority the client used (`Host`), scheme `http`;
//! - the client's headers minus hop-by-hop ones, with `X-Forwarded-For` (the client's
//!   address appended), `X-Forwarded-Proto` and, when traced, `traceparent`;
//! - the request headers Spin gives its components (`spin-full-url`, `spin-path-info`:
//!   the greedy `{proxy+}` part of the path, as spin-sdk's `Router::suffix` reads it,
//!   `spin-matched-route`: the route's resource path, `spin-client-addr`), replacing any
//!   the client sent;
//! - the body, read whole (the route phase caps it at the gateway's body limit).
//!
//! The response is streamed: the gateway answers as soon as the component sets its
//! response, and passes the body on as the component writes it (server-sent events, a
//! long export), up to the plugin's output cap (6 MiB by default — Lambda's synchronous
//! response limit). The integration timeout covers the whole exchange, outbound requests
//! and body included. Before the response is set, a trap or a component that never
//! answers is a 502 `Internal server error`, a timeout a 504, each counted in
//! `PluginErrorCount`; after it (the status is sent), a trap, the timeout or a body over
//! the cap aborts the response instead of ending it, so the client sees a cut answer as
//! cut (HTTP/1.1: no final chunk; h2: a reset stream).

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, Uri, header};
use http_body_util::BodyExt;

use super::forward::{self, TRACEPARENT, X_FORWARDED_FOR, X_FORWARDED_PROTO};
use crate::body::Body;
use crate::compile::WasiHttpTarget;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, ErrorSource, GatewayError};
use crate::metrics::Metrics;

static SPIN_FULL_URL: HeaderName = HeaderName::from_static("spin-full-url");
static SPIN_PATH_INFO: HeaderName = HeaderName::from_static("spin-path-info");
static SPIN_MATCHED_ROUTE: HeaderName = HeaderName::from_static("spin-matched-route");
static SPIN_CLIENT_ADDR: HeaderName = HeaderName::from_static("spin-client-addr");

/// The URI the component sees: `http://{authority}{route path}?{query}`.
fn target(ctx: &RequestCtx) -> Result<Uri, GatewayError> {
    let authority = ctx
        .parts
        .uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| {
            ctx.parts
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
        })
        .unwrap_or(&ctx.host);
    let path = ctx.route_path();
    let path_and_query = match ctx.parts.uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    Uri::builder()
        .scheme("http")
        .authority(authority)
        .path_and_query(path_and_query)
        .build()
        .map_err(|e| GatewayError::new(ErrorKind::BadRequest).with_cause(e))
}

/// The client's headers for the component: hop-by-hop ones (and those `Connection`
/// names) removed, `X-Forwarded-*` set, the trace context passed on.
fn headers(ctx: &RequestCtx, uri: &Uri) -> HeaderMap {
    let (mut h, xff) = forward::passed_on(&ctx.parts.headers, |n| n.as_str().starts_with("spin-"));
    if let Some(v) = forward::forwarded_for(xff, &ctx.client_ip) {
        h.insert(X_FORWARDED_FOR.clone(), v);
    }
    let proto = if ctx.https { "https" } else { "http" };
    h.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(proto));
    if let Some(tp) = &ctx.traceparent {
        h.insert(TRACEPARENT.clone(), tp.clone());
    }
    let route = ctx.compiled_route();
    let path_info = route
        .and_then(|r| {
            let greedy = r.key.split('{').find_map(|p| p.split_once("+}"))?.0;
            ctx.path_param(greedy)
        })
        .map_or(String::new(), |rest| format!("/{rest}"));
    for (name, value) in [
        (&SPIN_FULL_URL, uri.to_string()),
        (&SPIN_PATH_INFO, path_info),
        (
            &SPIN_MATCHED_ROUTE,
            route.map_or(String::new(), |r| r.resource_path.clone()),
        ),
        (&SPIN_CLIENT_ADDR, ctx.client.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name.clone(), v);
        }
    }
    h
}

/// A failed call: counted per plugin, logged with its cause, answered 502 or 504.
fn failure(
    ctx: &RequestCtx,
    metrics: &Metrics,
    w: &WasiHttpTarget,
    kind: &str,
    err: GatewayError,
) -> GatewayError {
    super::count_plugin_error(ctx, metrics, w.plugin.name(), "handle_http", kind);
    let mut err = err;
    err.source = ErrorSource::Plugin;
    err
}

pub(super) async fn call(
    ctx: &mut RequestCtx,
    w: &WasiHttpTarget,
    metrics: &Metrics,
) -> Result<Response<Body>, GatewayError> {
    let body = match ctx.body.take() {
        Some(b) => b
            .collect()
            .await
            .map(|c| c.to_bytes())
            .map_err(|_| GatewayError::new(ErrorKind::PayloadTooLarge))?,
        None => Bytes::new(),
    };
    let mut req = Request::new(body);
    *req.method_mut() = ctx.parts.method.clone();
    let uri = target(ctx)?;
    *req.headers_mut() = headers(ctx, &uri);
    *req.uri_mut() = uri;

    let started = std::time::Instant::now();
    let call = w.plugin.handle_http_streaming(req, w.timeout);
    let result = tokio::time::timeout(w.timeout, call).await;
    ctx.integration_latency = Some(started.elapsed());
    let resp = match result {
        Err(_) => {
            let e = GatewayError::new(ErrorKind::IntegrationTimeout).with_cause(format!(
                "plugin `{}` did not answer within {:?}",
                w.plugin.name(),
                w.timeout
            ));
            return Err(failure(ctx, metrics, w, "timeout", e));
        }
        Ok(Err(e)) => {
            let kind = e.kind;
            let gateway_kind = match kind {
                causeway_plugin::PluginErrorKind::Timeout => ErrorKind::IntegrationTimeout,
                _ => ErrorKind::IntegrationFailure,
            };
            let err = GatewayError::new(gateway_kind).with_cause(e);
            return Err(failure(ctx, metrics, w, kind.as_str(), err));
        }
        Ok(Ok(resp)) => resp,
    };
    ctx.integration_status = Some(resp.status().as_u16());
    let (mut parts, body) = resp.into_parts();
    // Framing is hyper's: chunked unless the component declared a length (which the host
    // holds it to).
    parts.headers.remove(header::TRANSFER_ENCODING);
    Ok(Response::from_parts(parts, Body::Plugin(body)))
}
