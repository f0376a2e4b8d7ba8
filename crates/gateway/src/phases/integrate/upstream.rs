//! HTTP and HTTP_PROXY integrations over a pooled hyper client. Bodies stream both ways.
//!
//! HTTP_PROXY passes the request through (headers minus hop-by-hop ones, the query string,
//! the body) and the response back. HTTP (non-proxy) sends only what the route's
//! `request_parameters` map, plus the body and its content type, and returns the status,
//! body, content type and the mapped `response_parameters`.

use std::fmt::Write;
use std::time::Instant;

use super::forward::{
    self, HOP_BY_HOP, TRACEPARENT, X_FORWARDED_FOR, X_FORWARDED_PROTO, connection_listed,
    forwarded_for,
};
use super::pool::{self, Pool, PoolError};
use crate::body::Body;
use crate::compile::{Loc, Source, Upstream};
use crate::context::RequestCtx;
use crate::error::{ErrorKind, GatewayError};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response};

/// The pooled upstream client.
pub(crate) type HttpClient = Pool;

/// A client with the default pool settings (60 s idle timeout, 1024 idle connections per
/// upstream, 10 s connect timeout) trusting the public web PKI and the CAs in
/// `extra_ca_file` for `https://` upstreams. A CA file that cannot be used is logged and
/// left out (the config loader has checked it exists and holds certificates).
pub(crate) fn new_client(extra_ca_file: Option<&std::path::Path>) -> HttpClient {
    let tls = pool::client_config(extra_ca_file).unwrap_or_else(|e| {
        tracing::error!(error = %e, "upstream CA file not used; https upstreams are checked against the public roots only");
        pool::client_config(None)
            .expect("the public roots and ring's default protocol versions make a configuration")
    });
    Pool::new(pool::Config::default(), tls)
}

/// Remove the hop-by-hop headers: the fixed list and whatever `Connection` names. Usually
/// none is present: then this is one scan of the (small) map's names, no hashing, no
/// allocation.
fn strip_hop_by_hop(h: &mut HeaderMap) {
    if !h.keys().any(|n| HOP_BY_HOP.contains(n)) {
        return;
    }
    for n in &connection_listed(h) {
        h.remove(n);
    }
    for n in &HOP_BY_HOP {
        h.remove(n);
    }
}

fn source_value<'a>(
    ctx: &'a RequestCtx,
    src: &'a Source,
    scratch: &'a mut String,
) -> Option<&'a str> {
    match src {
        Source::Static(s) => Some(s),
        Source::Method(loc, name) => ctx.method_param(*loc, name),
        Source::StageVariable(n) => ctx.stage_variable(n),
        // An absent value (e.g. an authorizer context key the decision did not set) maps
        // to nothing rather than to an empty header or parameter, as in API Gateway.
        Source::Context(n) => {
            ctx.context_value(n, scratch);
            (!scratch.is_empty()).then_some(scratch.as_str())
        }
    }
}

fn build_uri(ctx: &RequestCtx, u: &Upstream) -> String {
    use causeway_model::TemplatePart as P;
    let mut uri = String::with_capacity(128);
    let mut scratch = String::new();
    u.uri.render(&mut uri, |part, out| match part {
        P::PathParam(n) => {
            // An explicit `integration.request.path.NAME` mapping wins over the route's value.
            let mapped = u
                .request_params
                .iter()
                .find(|(l, name, _)| *l == Loc::Path && name == n);
            let v = match mapped {
                Some((_, _, src)) => source_value(ctx, src, &mut scratch),
                None => ctx.path_param(n),
            };
            out.push_str(v.unwrap_or(""));
        }
        P::StageVariable(n) => out.push_str(ctx.stage_variable(n).unwrap_or("")),
        P::Context(n) => ctx.context_value(n, out),
        P::Literal(s) => out.push_str(s),
    });
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    if u.proxy
        && let Some(q) = ctx.parts.uri.query()
        && !q.is_empty()
    {
        uri.push(sep);
        uri.push_str(q);
        sep = '&';
    }
    for (loc, name, src) in &u.request_params {
        if *loc != Loc::Query {
            continue;
        }
        scratch.clear();
        if let Some(v) = source_value(ctx, src, &mut scratch) {
            let _ = write!(uri, "{sep}{name}={v}");
            sep = '&';
        }
    }
    uri
}

fn forwarded_headers(ctx: &RequestCtx, u: &Upstream) -> HeaderMap {
    let src = &ctx.parts.headers;
    let (mut h, xff) = if u.proxy {
        // `Host` comes from the integration URI.
        forward::passed_on(src, |n| n == header::HOST)
    } else {
        let mut h = HeaderMap::new();
        for name in [
            header::CONTENT_TYPE,
            header::CONTENT_LENGTH,
            header::CONTENT_ENCODING,
        ] {
            if let Some(v) = src.get(&name) {
                h.insert(name, v.clone());
            }
        }
        (h, src.get(&X_FORWARDED_FOR))
    };
    if let Some(v) = forwarded_for(xff, &ctx.client_ip) {
        h.insert(X_FORWARDED_FOR.clone(), v);
    }
    h.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static("http"));
    // W3C trace context: our integration span when tracing, else the client's as it came
    // (a proxy route copied it already).
    let client_tp = if u.proxy { None } else { src.get(&TRACEPARENT) };
    if let Some(tp) = ctx.traceparent.as_ref().or(client_tp) {
        h.insert(TRACEPARENT.clone(), tp.clone());
    }
    let mut scratch = String::new();
    for (loc, name, source) in &u.request_params {
        if *loc != Loc::Header {
            continue;
        }
        scratch.clear();
        let value =
            source_value(ctx, source, &mut scratch).and_then(|v| HeaderValue::from_str(v).ok());
        if let (Ok(n), Some(v)) = (HeaderName::from_bytes(name.as_bytes()), value) {
            h.insert(n, v);
        }
    }
    h
}

fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

pub(super) async fn call(
    client: &HttpClient,
    ctx: &mut RequestCtx,
    u: &Upstream,
) -> Result<Response<Body>, GatewayError> {
    let url = build_uri(ctx, u);
    let (host, target) = client.target(&url).map_err(|e| match e {
        PoolError::InvalidUri(_) => GatewayError::new(ErrorKind::Internal).with_cause(format!(
            "integration URI `{url}` is invalid (check the stage variables): {e}"
        )),
        e => GatewayError::new(ErrorKind::IntegrationFailure).with_cause(e),
    })?;
    let method = u.method.clone().unwrap_or_else(|| ctx.parts.method.clone());
    let mut req = Request::new(ctx.body.take().unwrap_or_default());
    *req.method_mut() = method;
    *req.uri_mut() = target;
    *req.headers_mut() = forwarded_headers(ctx, u);

    let sent = Instant::now();
    let result = client
        .send(host, req, tokio::time::Instant::from_std(sent) + u.timeout)
        .await;
    ctx.integration_latency = Some(sent.elapsed());
    let resp = match result {
        Err(PoolError::Timeout) => return Err(GatewayError::new(ErrorKind::IntegrationTimeout)),
        Err(e) if is_length_limit(&e) => {
            return Err(GatewayError::new(ErrorKind::PayloadTooLarge));
        }
        Err(e) => return Err(GatewayError::new(ErrorKind::IntegrationFailure).with_cause(e)),
        Ok(resp) => resp,
    };
    ctx.integration_status = Some(resp.status().as_u16());
    let (mut parts, body) = resp.into_parts();
    if u.proxy {
        strip_hop_by_hop(&mut parts.headers);
    } else {
        let upstream = std::mem::take(&mut parts.headers);
        for name in [
            header::CONTENT_TYPE,
            header::CONTENT_LENGTH,
            header::CONTENT_ENCODING,
        ] {
            if let Some(v) = upstream.get(&name) {
                parts.headers.insert(name, v.clone());
            }
        }
        for (name, src) in &u.response_params {
            let v = match src {
                Source::Static(s) => HeaderValue::from_str(s).ok(),
                Source::Method(_, from) => upstream.get(from.as_str()).cloned(),
                _ => None,
            };
            if let Some(v) = v {
                parts.headers.insert(name.clone(), v);
            }
        }
    }
    Ok(Response::from_parts(parts, body))
}
