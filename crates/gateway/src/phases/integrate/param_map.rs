//! HTTP APIs' parameter mapping on an HTTP_PROXY integration, compiled once per
//! deployment ([`causeway_model::param_mapping`] parses it): header fields appended,
//! overwritten or removed, query parameters likewise, the path overwritten; per
//! integration status, the response's header fields and status. A route without any
//! pays one `None` check.

use std::fmt::Write;

use causeway_model::HttpProxyIntegration;
use causeway_model::param_mapping::{
    MapOp, MapPart, MapTarget, is_http_api_key, parse_key, parse_value,
};
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};

use crate::context::RequestCtx;

type Value = Vec<MapPart>;

/// One route's mappings.
#[derive(Debug, Default)]
pub(crate) struct HttpMapping {
    headers: Vec<(MapOp, HeaderName, Value)>,
    query: Vec<(MapOp, String, Value)>,
    path: Option<Value>,
    responses: Vec<(u16, ResponseMapping)>,
}

#[derive(Debug, Default)]
struct ResponseMapping {
    status: Option<Value>,
    headers: Vec<(MapOp, HeaderName, Value)>,
    /// Whether a value reads the integration's headers (`$response.header.*`): only then
    /// are they kept aside before the mappings change them.
    reads_response: bool,
}

impl HttpMapping {
    /// The HTTP API-form mappings of `h` (`None`: it has none). Errors cannot happen
    /// after validation; they are returned, not ignored.
    pub(crate) fn compile(h: &HttpProxyIntegration) -> Result<Option<Box<HttpMapping>>, String> {
        let mut m = HttpMapping::default();
        for (k, v) in h
            .request_parameters
            .iter()
            .filter(|(k, _)| is_http_api_key(k))
        {
            let (op, target) = parse_key(k, false)?;
            let value = if op == MapOp::Remove {
                Vec::new()
            } else {
                parse_value(v, false)?
            };
            match target {
                MapTarget::Header(name) => m.headers.push((op, header_name(&name)?, value)),
                MapTarget::Query(name) => m.query.push((op, name, value)),
                MapTarget::Path => m.path = Some(value),
                MapTarget::StatusCode => return Err("a request has no status code".into()),
            }
        }
        for (status, mappings) in &h.response_parameters {
            let status: u16 = status
                .parse()
                .map_err(|_| format!("`{status}` is not a status code"))?;
            let mut r = ResponseMapping::default();
            for (k, v) in mappings {
                let (op, target) = parse_key(k, true)?;
                let value = if op == MapOp::Remove {
                    Vec::new()
                } else {
                    parse_value(v, true)?
                };
                match target {
                    MapTarget::Header(name) => r.headers.push((op, header_name(&name)?, value)),
                    MapTarget::StatusCode => r.status = Some(value),
                    _ => return Err(format!("`{k}` cannot be mapped on a response")),
                }
            }
            r.reads_response = r
                .headers
                .iter()
                .map(|(_, _, v)| v)
                .chain(&r.status)
                .flatten()
                .any(|p| matches!(p, MapPart::ResponseHeader(_)));
            m.responses.push((status, r));
        }
        let empty = m.headers.is_empty()
            && m.query.is_empty()
            && m.path.is_none()
            && m.responses.is_empty();
        Ok((!empty).then(|| Box::new(m)))
    }

    /// Whether the client's `name` field is not passed on (removed or overwritten).
    pub(crate) fn replaces(&self, name: &HeaderName) -> bool {
        self.headers
            .iter()
            .any(|(op, n, _)| n == name && *op != MapOp::Append)
    }

    /// The overwritten and appended header fields, rendered (`write` gets each).
    pub(crate) fn write_headers(&self, ctx: &RequestCtx, mut write: impl FnMut(&str, &[u8])) {
        let mut out = String::new();
        for (op, name, value) in &self.headers {
            if *op == MapOp::Remove {
                continue;
            }
            out.clear();
            render(value, ctx, None, &mut out);
            // An empty value (a header the client did not send, say) maps to no field.
            if !out.is_empty() && HeaderValue::from_str(&out).is_ok() {
                write(name.as_str(), out.as_bytes());
            }
        }
    }

    /// Overwrites the path of `uri` (`scheme://authority/path[?query]`); a query the
    /// integration URI names stays.
    pub(crate) fn apply_path(&self, ctx: &RequestCtx, uri: &mut String) {
        let Some(value) = &self.path else { return };
        let authority_at = uri.find("://").map_or(0, |i| i + 3);
        let path_at = uri[authority_at..]
            .find(['/', '?'])
            .map_or(uri.len(), |i| authority_at + i);
        let path_end = uri[path_at..].find('?').map_or(uri.len(), |i| path_at + i);
        let mut path = String::new();
        render(value, ctx, None, &mut path);
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        uri.replace_range(path_at..path_end, &path);
    }

    /// Whether the query string is rebuilt ([`query`](Self::query)).
    pub(crate) fn maps_query(&self) -> bool {
        !self.query.is_empty()
    }

    /// The client's query string (`raw`) with the query mappings applied: the client's
    /// pairs as sent, but those a later overwrite or remove names; then each appended or
    /// overwritten value, encoded, unless a later mapping of its name replaces it too.
    pub(crate) fn query(&self, ctx: &RequestCtx, raw: Option<&str>) -> String {
        let replaced_after = |from: usize, name: &str| {
            self.query[from..]
                .iter()
                .any(|(op, n, _)| *op != MapOp::Append && n == name)
        };
        let mut out = String::new();
        let sep = |out: &mut String| {
            if !out.is_empty() {
                out.push('&');
            }
        };
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let name = pair.split_once('=').map_or(pair, |(k, _)| k);
            if !replaced_after(0, &crate::phases::decode::query(name)) {
                sep(&mut out);
                out.push_str(pair);
            }
        }
        let mut value = String::new();
        for (i, (op, name, v)) in self.query.iter().enumerate() {
            if *op == MapOp::Remove || replaced_after(i + 1, name) {
                continue;
            }
            value.clear();
            render(v, ctx, None, &mut value);
            sep(&mut out);
            encode(name, &mut out);
            out.push('=');
            encode(&value, &mut out);
        }
        out
    }

    /// The response mappings for the integration's status `status`, applied.
    pub(crate) fn apply_response(
        &self,
        ctx: &RequestCtx,
        status: &mut StatusCode,
        headers: &mut HeaderMap,
    ) {
        let Some((_, r)) = self.responses.iter().find(|(s, _)| *s == status.as_u16()) else {
            return;
        };
        let upstream = r.reads_response.then(|| headers.clone());
        let mut out = String::new();
        for (op, name, value) in &r.headers {
            if *op == MapOp::Remove {
                headers.remove(name);
                continue;
            }
            out.clear();
            render(value, ctx, upstream.as_ref(), &mut out);
            let Ok(v) = HeaderValue::from_str(&out) else {
                continue;
            };
            match op {
                MapOp::Overwrite => {
                    headers.insert(name.clone(), v);
                }
                _ => {
                    headers.append(name.clone(), v);
                }
            }
        }
        if let Some(value) = &r.status {
            out.clear();
            render(value, ctx, upstream.as_ref(), &mut out);
            match out
                .trim()
                .parse::<u16>()
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
            {
                Some(s) if (100..=599).contains(&s.as_u16()) => *status = s,
                _ => {
                    tracing::warn!(value = %out, "a response mapping's status code is not one; the integration's is kept")
                }
            }
        }
    }
}

fn header_name(name: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("`{name}`: {e}"))
}

/// Renders a mapping's value for this request (and the integration's response headers).
fn render(value: &[MapPart], ctx: &RequestCtx, response: Option<&HeaderMap>, out: &mut String) {
    let joined = |out: &mut String, values: &mut dyn Iterator<Item = &HeaderValue>| {
        for (i, v) in values.enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(v.to_str().unwrap_or(""));
        }
    };
    for part in value {
        match part {
            MapPart::Text(t) => out.push_str(t),
            MapPart::RequestHeader(n) => {
                joined(out, &mut ctx.parts.headers.get_all(n.as_str()).iter())
            }
            MapPart::ResponseHeader(n) => {
                if let Some(h) = response {
                    joined(out, &mut h.get_all(n.as_str()).iter());
                }
            }
            MapPart::RequestQuery(n) => {
                let mut first = true;
                for (k, v) in crate::phases::decode::query_pairs(ctx.parts.uri.query()) {
                    if k == n.as_str() {
                        if !first {
                            out.push(',');
                        }
                        out.push_str(&v);
                        first = false;
                    }
                }
            }
            MapPart::RequestPath => out.push_str(ctx.route_path()),
            MapPart::PathParam(n) => out.push_str(ctx.path_param(n).unwrap_or("")),
            MapPart::Context(n) => ctx.context_value(n, out),
            MapPart::StageVariable(n) => out.push_str(ctx.stage_variable(n).unwrap_or("")),
        }
    }
}

/// Percent-encodes a query name or value onto `out` (RFC 3986 unreserved characters
/// pass).
fn encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}
