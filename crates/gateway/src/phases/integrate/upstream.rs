//! HTTP and HTTP_PROXY integrations over the upstream pool ([`super::pool`]). Bodies
//! stream both ways.
//!
//! HTTP_PROXY passes the request through (headers minus hop-by-hop ones, the query string,
//! the body) and the response back. HTTP (non-proxy) sends only what the route's
//! `request_parameters` map, plus the body and its content type, and returns the status,
//! body, content type and the mapped `response_parameters`.

use std::fmt::Write;
use std::time::Instant;

use super::forward::{self, TRACEPARENT, X_FORWARDED_FOR, X_FORWARDED_PROTO};
use super::pool::{self, Outgoing, Pool, PoolError, RequestHead};
use crate::body::Body;
use crate::compile::{Loc, Source, Upstream};
use crate::context::RequestCtx;
use crate::error::{ErrorKind, GatewayError};
use http::Response;
use http::header::{self, HeaderName, HeaderValue};

/// The pooled upstream client.
pub(crate) type HttpClient = Pool;

/// A client with the default pool settings (60 s idle timeout, 1024 idle connections per
/// upstream, 10 s connect timeout) with `[node]`'s TLS settings for `https://` upstreams
/// ([`crate::upstream_tls`]). Settings that cannot be used (`causeway serve` refuses
/// them before this) are logged and left out: the public roots, no client certificate.
pub(crate) fn new_client(node: &causeway_model::NodeConfig) -> HttpClient {
    let tls = crate::upstream_tls(node).unwrap_or_else(|e| {
        tracing::error!(error = %e, "upstream TLS settings not used; https upstreams are checked against the public roots only, with no client certificate");
        pool::client_config(None)
            .expect("the public roots and ring's default protocol versions make a configuration")
    });
    Pool::new(pool::Config::default(), tls)
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
    if let Some(m) = &u.mapping {
        m.apply_path(ctx, &mut uri);
    }
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    // HTTP_PROXY passes the client's query string on (with an HTTP API's mappings, if any).
    let query = match &u.mapping {
        Some(m) if m.maps_query() => {
            Some(std::borrow::Cow::Owned(m.query(ctx, ctx.parts.uri.query())))
        }
        _ if u.proxy => ctx.parts.uri.query().map(std::borrow::Cow::Borrowed),
        _ => None,
    };
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        uri.push(sep);
        uri.push_str(&q);
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

/// The request's header fields, written straight into the upstream request's head (no
/// header map built per request): for HTTP_PROXY the client's fields minus hop-by-hop
/// ones, `Host` (the upstream's is written first) and `X-Forwarded-*`; for HTTP only the
/// body's type and encoding. Then `X-Forwarded-For` (the client's first value with the
/// client's address appended), `X-Forwarded-Proto`, `traceparent` (our integration span
/// when tracing, else the client's as it came) and the route's mapped header
/// parameters, which replace a field of the same name.
fn write_headers(ctx: &RequestCtx, u: &Upstream, head: &mut RequestHead) {
    let src = &ctx.parts.headers;
    let ours_tp = ctx.traceparent.as_ref();
    // Whether a mapped header parameter replaces the field `name`.
    let mapped = |name: &HeaderName| {
        u.request_headers.iter().any(|(n, _)| n == name)
            || u.mapping.as_ref().is_some_and(|m| m.replaces(name))
    };
    let mut write = |name: &HeaderName, value: &HeaderValue| {
        head.field(name.as_str(), &[value.as_bytes()]);
    };
    let xff = if u.proxy {
        forward::each_passed_on(
            src,
            |n| n == header::HOST || (ours_tp.is_some() && n == TRACEPARENT) || mapped(n),
            write,
        )
    } else {
        for name in [
            &header::CONTENT_TYPE,
            &header::CONTENT_ENCODING,
            &TRACEPARENT,
        ] {
            if (*name == TRACEPARENT && ours_tp.is_some()) || mapped(name) {
                continue;
            }
            if let Some(v) = src.get(name) {
                write(name, v);
            }
        }
        src.get(&X_FORWARDED_FOR)
    };
    if !mapped(&X_FORWARDED_FOR) {
        let ip = ctx.client_ip.as_bytes();
        match xff {
            Some(prev) => head.field(X_FORWARDED_FOR.as_str(), &[prev.as_bytes(), b", ", ip]),
            None => head.field(X_FORWARDED_FOR.as_str(), &[ip]),
        }
    }
    if !mapped(&X_FORWARDED_PROTO) {
        let proto: &[u8] = if ctx.https { b"https" } else { b"http" };
        head.field(X_FORWARDED_PROTO.as_str(), &[proto]);
    }
    if let Some(tp) = ours_tp
        && !mapped(&TRACEPARENT)
    {
        head.field(TRACEPARENT.as_str(), &[tp.as_bytes()]);
    }
    let mut scratch = String::new();
    for (name, source) in &u.request_headers {
        scratch.clear();
        if let Some(v) =
            source_value(ctx, source, &mut scratch).and_then(|v| HeaderValue::from_str(v).ok())
        {
            head.field(name.as_str(), &[v.as_bytes()]);
        }
    }
    if let Some(m) = &u.mapping {
        m.write_headers(ctx, |name, value| head.field(name, &[value]));
    }
}

/// `e`, or an error it was caused by, is a body over its `Limited` bound.
pub(super) fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
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
    let (host, target) = client.origin_of(&url, &u.origin).map_err(|e| match e {
        PoolError::InvalidUri(_) => GatewayError::new(ErrorKind::Internal).with_cause(format!(
            "integration URI `{url}` is invalid (check the stage variables): {e}"
        )),
        e => GatewayError::new(ErrorKind::IntegrationFailure).with_cause(e),
    })?;
    let method = u.method.clone().unwrap_or_else(|| ctx.parts.method.clone());
    let mut head = RequestHead::with_target(method, &target);
    head.field("host", &[host.host_header().as_bytes()]);
    write_headers(ctx, u, &mut head);
    let req = Outgoing {
        head,
        body: ctx.body.take().unwrap_or_default(),
    };

    let sent = Instant::now();
    let result = client
        .send_head(host, req, tokio::time::Instant::from_std(sent) + u.timeout)
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
    // The pool has dropped hop-by-hop headers.
    if !u.proxy {
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
    if let Some(m) = &u.mapping {
        m.apply_response(ctx, &mut parts.status, &mut parts.headers);
    }
    Ok(Response::from_parts(parts, body))
}
