//! `mapper` plugins around an integration: API Gateway's integration request and response
//! mapping templates, in code.
//!
//! The request mapping runs after every gate (authorizer, validation, API key, throttle,
//! cache lookup), just before the integration; the response mapping runs on the
//! integration's answer before any phase sees it on the way out, so the cache stores the
//! mapped response (API Gateway caches the method response, not the integration's).
//!
//! It lives inside the integration phase rather than in a phase of its own because a
//! phase's response hook is synchronous and sees a streaming body: mapping a response
//! needs the whole body and an async plugin call. Wrapping the integration keeps both
//! directions in one place, with the pipeline's continue / respond / fail outcomes.
//!
//! Both bodies are buffered: the request's up to the node's body limit (the route phase
//! already capped it), the response's up to [`MAX_MAPPED_BODY_BYTES`] (then 502). A mapper
//! that refuses answers its status with `{"message": …}`; one that fails (trap, timeout,
//! memory, malformed output) answers 500 `Internal server error`, counted in
//! `PluginErrorCount`.

use bytes::Bytes;
use causeway_plugin::{HttpRequest, HttpResponse, MappingError, Plugin, PluginError};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::PathAndQuery;
use http::{Method, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Limited};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

use crate::body::Body;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, ErrorSource, GatewayError};
use crate::metrics::Metrics;
use crate::pipeline::Flow;

use super::upstream::is_length_limit;

/// The largest integration response a mapper is given (API Gateway's payload limit); a
/// larger one answers 502. Also the mapper's output limit.
pub(crate) const MAX_MAPPED_BODY_BYTES: usize = 10 << 20;

/// Query-string bytes re-encoded after mapping: all but RFC 3986's unreserved ones.
const QUERY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn header_pairs(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| (k.as_str().to_owned(), lossy(v.as_bytes())))
        .collect()
}

/// The mapper's header list as a map; `Content-Length` / `Transfer-Encoding` are the
/// gateway's to set for the mapped body.
fn header_map(fields: &[(String, String)]) -> Result<HeaderMap, String> {
    let mut h = HeaderMap::with_capacity(fields.len());
    for (name, value) in fields {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name `{name}`"))?;
        let v = HeaderValue::from_str(value)
            .map_err(|_| format!("invalid value for header `{name}`"))?;
        h.append(n, v);
    }
    h.remove(header::CONTENT_LENGTH);
    h.remove(header::TRANSFER_ENCODING);
    Ok(h)
}

/// What a mapper's refusal answers: its status, `{"message": …}`.
fn refusal(e: &MappingError) -> Response<Body> {
    let body = serde_json::json!({ "message": e.message }).to_string();
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A failed mapper call: counted, logged with its cause, answered 500.
fn failure(
    ctx: &RequestCtx,
    metrics: &Metrics,
    plugin: &Plugin,
    call: &str,
    e: PluginError,
) -> GatewayError {
    super::count_plugin_error(ctx, metrics, plugin.name(), call, e.kind.as_str());
    let mut err = GatewayError::new(ErrorKind::Internal).with_cause(e);
    err.source = ErrorSource::Plugin;
    err
}

fn bad_output(plugin: &Plugin, message: String) -> PluginError {
    PluginError {
        kind: causeway_plugin::PluginErrorKind::BadOutput,
        plugin: plugin.name().to_owned(),
        message,
    }
}

/// Map the request in `ctx` (method, route path, query, headers, body) before the
/// integration: continue with the mapped request, answer the mapper's refusal, or fail.
pub(super) async fn map_request(ctx: &mut RequestCtx, plugin: &Plugin, metrics: &Metrics) -> Flow {
    let body = match ctx.body.take() {
        Some(b) => match b.collect().await {
            Ok(c) => c.to_bytes(),
            Err(e) if is_length_limit(&*e) => {
                return Flow::Fail(GatewayError::new(ErrorKind::PayloadTooLarge));
            }
            Err(e) => {
                return Flow::Fail(
                    GatewayError::new(ErrorKind::BadRequest)
                        .with_cause(format!("reading the request body: {e}")),
                );
            }
        },
        None => Bytes::new(),
    };
    let query = crate::phases::decode::owned_query_pairs(ctx.parts.uri.query());
    let request = HttpRequest {
        method: ctx.parts.method.as_str().to_owned(),
        path: ctx.route_path().to_owned(),
        query,
        headers: header_pairs(&ctx.parts.headers),
        body: body.into(),
    };
    let mapped = match plugin.map_request_for(&request, &ctx.request_id).await {
        Ok(Ok(mapped)) => mapped,
        Ok(Err(refused)) => return Flow::Respond(Box::new(refusal(&refused))),
        Err(e) => return Flow::Fail(failure(ctx, metrics, plugin, "map_request", e)),
    };
    match apply(ctx, &request, mapped) {
        Ok(()) => Flow::Continue,
        Err(m) => {
            let e = bad_output(plugin, m);
            Flow::Fail(failure(ctx, metrics, plugin, "map_request", e))
        }
    }
}

/// Put the mapped request into `ctx`. The route path is rewritten under the same stage
/// or base path prefix; path parameters keep the values the route matched.
fn apply(ctx: &mut RequestCtx, before: &HttpRequest, mapped: HttpRequest) -> Result<(), String> {
    if mapped.method != before.method {
        ctx.parts.method = Method::from_bytes(mapped.method.as_bytes())
            .map_err(|_| format!("invalid method `{}`", mapped.method))?;
    }
    if mapped.path != before.path || mapped.query != before.query {
        let full = ctx.parts.uri.path();
        let prefix = match ctx.route_path_at {
            Some(at) => full.get(..at).unwrap_or(""),
            None => full,
        };
        let mut target = String::with_capacity(prefix.len() + mapped.path.len() + 64);
        target.push_str(prefix);
        target.push_str(&mapped.path);
        let prefix_len = prefix.len();
        if mapped.query == before.query {
            if let Some(q) = ctx.parts.uri.query() {
                target.push('?');
                target.push_str(q);
            }
        } else {
            for (i, (k, v)) in mapped.query.iter().enumerate() {
                target.push(if i == 0 { '?' } else { '&' });
                target.extend(percent_encoding::utf8_percent_encode(k, QUERY_ENCODE));
                target.push('=');
                target.extend(percent_encoding::utf8_percent_encode(v, QUERY_ENCODE));
            }
        }
        let pq = PathAndQuery::try_from(target).map_err(|e| format!("mapped path: {e}"))?;
        let mut parts = ctx.parts.uri.clone().into_parts();
        parts.path_and_query = Some(pq);
        let uri = Uri::from_parts(parts).map_err(|e| format!("mapped URI: {e}"))?;
        if mapped.path != before.path && ctx.matched_path.is_none() {
            ctx.matched_path = Some(full.to_owned());
        }
        ctx.parts.uri = uri;
        ctx.route_path_at = Some(prefix_len);
    }
    let mut headers = header_map(&mapped.headers)?;
    if !mapped.body.is_empty() {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(mapped.body.len()));
    }
    ctx.parts.headers = headers;
    ctx.body = Some(Body::from(Bytes::from(mapped.body)));
    Ok(())
}

/// Map the integration's response before it leaves the integration phase (so the cache
/// and every response hook see the mapped one).
pub(super) async fn map_response(
    ctx: &RequestCtx,
    plugin: &Plugin,
    metrics: &Metrics,
    resp: Response<Body>,
) -> Result<Response<Body>, GatewayError> {
    let (parts, body) = resp.into_parts();
    let body = match Limited::new(body, MAX_MAPPED_BODY_BYTES).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if is_length_limit(&*e) => {
            return Err(
                GatewayError::new(ErrorKind::IntegrationFailure).with_message(format!(
                    "Integration response is over the mapper's {} MB limit",
                    MAX_MAPPED_BODY_BYTES >> 20
                )),
            );
        }
        Err(e) => {
            return Err(GatewayError::new(ErrorKind::IntegrationFailure)
                .with_cause(format!("reading the integration response: {e}")));
        }
    };
    let response = HttpResponse {
        status: parts.status.as_u16(),
        headers: header_pairs(&parts.headers),
        body: body.into(),
    };
    let mapped = match plugin.map_response_for(&response, &ctx.request_id).await {
        Ok(Ok(mapped)) => mapped,
        Ok(Err(refused)) => return Ok(refusal(&refused)),
        Err(e) => return Err(failure(ctx, metrics, plugin, "map_response", e)),
    };
    let built = StatusCode::from_u16(mapped.status)
        .map_err(|_| format!("invalid status {}", mapped.status))
        .and_then(|status| Ok((status, header_map(&mapped.headers)?)));
    let (status, headers) =
        built.map_err(|m| failure(ctx, metrics, plugin, "map_response", bad_output(plugin, m)))?;
    let mut out = Response::new(Body::from(Bytes::from(mapped.body)));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn mapped_headers_drop_framing() {
        let h = super::header_map(&[
            ("content-length".to_owned(), "3".to_owned()),
            ("x-a".to_owned(), "1".to_owned()),
            ("x-a".to_owned(), "2".to_owned()),
        ])
        .unwrap_or_default();
        assert!(h.get("content-length").is_none());
        assert_eq!(h.get_all("x-a").iter().count(), 2);
        assert!(super::header_map(&[("bad name".to_owned(), String::new())]).is_err());
    }
}
