//! What the host accepts from a guest. Every check is on sizes and shapes the gateway
//! relies on later; a failure is [`BadOutput`](crate::PluginErrorKind::BadOutput).

use crate::bindings::{AuthorizerDecision, Effect, HttpRequest, HttpResponse, MappingError};
use crate::proxy_response::ProxyAnswer;

/// API Gateway caches authorizer results for at most an hour.
pub(crate) const MAX_TTL_SECONDS: u32 = 3600;

fn fields_len(fields: &[(String, String)]) -> usize {
    fields.iter().map(|(k, v)| k.len() + v.len()).sum()
}

fn within(what: &str, len: usize, max: usize) -> Result<(), String> {
    if len > max {
        return Err(format!(
            "{what} is {len} bytes, over the {max}-byte output limit"
        ));
    }
    Ok(())
}

/// Cut an error message coming from the guest down to `max` bytes.
pub(crate) fn cap(message: &mut String, max: usize) {
    crate::error::truncate(message, max.min(64 << 10));
}

pub(crate) fn decision(
    mut d: AuthorizerDecision,
    max: usize,
) -> Result<AuthorizerDecision, String> {
    let len = d.principal_id.len()
        + fields_len(&d.context)
        + d.routes.iter().map(String::len).sum::<usize>()
        + d.message.as_ref().map_or(0, String::len)
        + d.usage_identifier_key.as_ref().map_or(0, String::len);
    within("the decision", len, max)?;
    if d.effect == Effect::Allow && d.principal_id.is_empty() {
        return Err("an allow decision needs a principal-id".to_owned());
    }
    if let Some((k, _)) = d.context.iter().find(|(k, _)| k.is_empty()) {
        return Err(format!("context key `{k}` is empty"));
    }
    if d.routes.iter().any(String::is_empty) {
        return Err("a route pattern is empty".to_owned());
    }
    d.ttl_seconds = d.ttl_seconds.min(MAX_TTL_SECONDS);
    Ok(d)
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn headers_ok(headers: &[(String, String)]) -> Result<(), String> {
    for (name, value) in headers {
        if !is_token(name) {
            return Err(format!("invalid header name `{name}`"));
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(format!(
                "header `{name}` has a control character in its value"
            ));
        }
    }
    Ok(())
}

fn refusal_ok(e: &MappingError) -> Result<(), String> {
    if !(400..=599).contains(&e.status) {
        return Err(format!(
            "mapping-error status {} is not 4xx or 5xx",
            e.status
        ));
    }
    Ok(())
}

pub(crate) fn mapped_request(
    r: Result<HttpRequest, MappingError>,
    max: usize,
) -> Result<Result<HttpRequest, MappingError>, String> {
    let req = match r {
        Ok(req) => req,
        Err(e) => {
            within("the mapping error", e.message.len(), max)?;
            refusal_ok(&e)?;
            return Ok(Err(e));
        }
    };
    let len = req.method.len()
        + req.path.len()
        + fields_len(&req.query)
        + fields_len(&req.headers)
        + req.body.len();
    within("the mapped request", len, max)?;
    if !is_token(&req.method) {
        return Err(format!("invalid method `{}`", req.method));
    }
    if !req.path.starts_with('/') || req.path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(format!("invalid path `{}`", req.path));
    }
    headers_ok(&req.headers)?;
    Ok(Ok(req))
}

pub(crate) fn mapped_response(
    r: Result<HttpResponse, MappingError>,
    max: usize,
) -> Result<Result<HttpResponse, MappingError>, String> {
    let resp = match r {
        Ok(resp) => resp,
        Err(e) => {
            within("the mapping error", e.message.len(), max)?;
            refusal_ok(&e)?;
            return Ok(Err(e));
        }
    };
    within(
        "the mapped response",
        fields_len(&resp.headers) + resp.body.len(),
        max,
    )?;
    if !(100..=599).contains(&resp.status) {
        return Err(format!("invalid status {}", resp.status));
    }
    headers_ok(&resp.headers)?;
    Ok(Ok(resp))
}

/// A function's output must be JSON; if it is an object with a `statusCode`, the
/// proxy-response fields must have their types (API Gateway answers 502 "Malformed
/// Lambda proxy response" otherwise). Payload 2.0 lets other JSON stand for a 200 body.
///
/// Returns what was read, so that the caller does not parse the JSON again.
pub(crate) fn proxy_response(json: &str, max: usize) -> Result<ProxyAnswer, String> {
    within("the function response", json.len(), max)?;
    crate::proxy_response::parse(json)
}
