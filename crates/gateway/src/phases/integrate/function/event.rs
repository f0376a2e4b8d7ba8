//! The proxy event, written as compact JSON straight into one `String`: no
//! `serde_json::Value` tree, values borrowed from the request wherever they can be.
//!
//! Fields come in API Gateway's documented order; inside `requestContext` alphabetically,
//! as in API Gateway's examples. Payload 1.0 sends empty maps and an empty body as `null`;
//! payload 2.0 leaves out empty `cookies`, `queryStringParameters`, `pathParameters`,
//! `stageVariables` and `body` (but always sends `headers`).

use std::borrow::Cow;

use http::HeaderMap;
use smallvec::SmallVec;

use super::json::Json;
use crate::context::{ContextVar as V, RequestCtx};
use crate::jwt::JwtIdentity;

/// Query-string parameters, decoded, sorted by name; a name's values keep their order.
type Query<'a> = SmallVec<[(Cow<'a, str>, Cow<'a, str>); 8]>;

/// What both payload versions need, worked out once.
struct Request<'a> {
    ctx: &'a RequestCtx,
    query: Query<'a>,
    /// Path parameters (decoded), in route order.
    params: SmallVec<[(&'a str, Cow<'a, str>); 4]>,
    stage_vars: Option<&'a std::collections::BTreeMap<String, String>>,
    body: EventBody<'a>,
}

/// The request body as the event carries it.
enum EventBody<'a> {
    Empty,
    Text(&'a str),
    Binary(&'a [u8]),
}

/// The proxy event for this request: payload 2.0 when `v2`, else 1.0.
pub(super) fn event(ctx: &RequestCtx, v2: bool, body: &[u8]) -> String {
    let headers = &ctx.parts.headers;
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let body = match body {
        [] => EventBody::Empty,
        _ if !is_text(content_type) => EventBody::Binary(body),
        _ => std::str::from_utf8(body).map_or(EventBody::Binary(body), EventBody::Text),
    };
    let params = ctx
        .compiled_route()
        .map(|route| {
            route
                .param_names
                .iter()
                .filter_map(|n| Some((n.as_str(), crate::phases::decode::path(ctx.path_param(n)?))))
                .collect()
        })
        .unwrap_or_default();
    let req = Request {
        ctx,
        query: query(ctx.parts.uri.query()),
        params,
        stage_vars: ctx
            .stage
            .as_deref()
            .map(|s| &s.variables)
            .filter(|v| !v.is_empty()),
        body,
    };
    let mut j = Json::with_capacity(capacity(ctx, req.body_len()));
    if v2 {
        payload_2(&mut j, &req);
    } else {
        payload_1(&mut j, &req);
    }
    j.finish()
}

/// Payload 1.0 (REST APIs): a repeated header or query parameter keeps its last value in
/// `headers` / `queryStringParameters`, and all of them in the `multiValue…` maps.
fn payload_1(j: &mut Json, r: &Request<'_>) {
    let ctx = r.ctx;
    let headers = &ctx.parts.headers;
    let method = ctx.parts.method.as_str();
    j.begin('{');
    j.var(ctx, "resource", V::ResourcePath);
    j.field("path", ctx.route_path());
    j.field("httpMethod", method);
    j.key("headers");
    j.object_or_null(headers.is_empty(), |j| {
        for (name, mut values) in header_groups(headers) {
            if let Some(last) = values.next_back() {
                j.entry(name, &last);
            }
        }
    });
    j.key("multiValueHeaders");
    j.object_or_null(headers.is_empty(), |j| {
        for (name, values) in header_groups(headers) {
            j.name(name);
            j.strs(values);
        }
    });
    j.key("queryStringParameters");
    j.object_or_null(r.query.is_empty(), |j| {
        for (name, mut values) in query_groups(&r.query) {
            if let Some(last) = values.next_back() {
                j.entry(name, last);
            }
        }
    });
    j.key("multiValueQueryStringParameters");
    j.object_or_null(r.query.is_empty(), |j| {
        for (name, values) in query_groups(&r.query) {
            j.name(name);
            j.strs(values);
        }
    });
    j.key("pathParameters");
    j.object_or_null(r.params.is_empty(), |j| {
        for (name, value) in &r.params {
            j.entry(name, value);
        }
    });
    j.key("stageVariables");
    match r.stage_vars {
        Some(vars) => j.strings(vars),
        None => j.null(),
    }

    j.key("requestContext");
    j.begin('{');
    j.field("accountId", "000000000000");
    j.var(ctx, "apiId", V::ApiId);
    if let Some(jwt) = &ctx.jwt {
        // Payload 1.0 of an HTTP API with a JWT authorizer.
        j.key("authorizer");
        jwt_authorizer(j, jwt);
    } else if let Some(principal) = &ctx.principal_id {
        j.key("authorizer");
        lambda_authorizer(j, ctx, principal);
    }
    j.var(ctx, "domainName", V::DomainName);
    j.var(ctx, "domainPrefix", V::DomainPrefix);
    j.field("extendedRequestId", &ctx.request_id);
    j.field("httpMethod", method);
    j.key("identity");
    j.begin('{');
    j.var(ctx, "sourceIp", V::SourceIp);
    j.var(ctx, "userAgent", V::UserAgent);
    if let Some(c) = &ctx.tls_client {
        client_cert(j, &c.cert);
    }
    j.end('}');
    j.field("path", ctx.parts.uri.path());
    j.var(ctx, "protocol", V::Protocol);
    j.field("requestId", &ctx.request_id);
    j.var(ctx, "requestTime", V::RequestTime);
    j.key("requestTimeEpoch");
    j.u64(ctx.received_at_ms);
    j.var(ctx, "resourceId", V::ResourcePath);
    j.var(ctx, "resourcePath", V::ResourcePath);
    j.var(ctx, "stage", V::Stage);
    j.end('}');

    j.key("body");
    j.body(&r.body);
    j.key("isBase64Encoded");
    j.bool(matches!(r.body, EventBody::Binary(_)));
    j.end('}');
}

/// Payload 2.0 (HTTP APIs): a repeated header or query parameter has its values joined
/// with `,`.
fn payload_2(j: &mut Json, r: &Request<'_>) {
    let ctx = r.ctx;
    let headers = &ctx.parts.headers;
    j.begin('{');
    j.field("version", "2.0");
    j.var(ctx, "routeKey", V::RouteKey);
    j.field("rawPath", ctx.parts.uri.path());
    j.field("rawQueryString", ctx.parts.uri.query().unwrap_or(""));
    let mut cookies = headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        // `a=1; b=2` as browsers send it, `a=1;b=2` as some clients do.
        .flat_map(|v| v.split(';').map(str::trim).filter(|c| !c.is_empty()))
        .peekable();
    if cookies.peek().is_some() {
        j.key("cookies");
        j.strs(cookies);
    }
    j.key("headers");
    j.begin('{');
    for (name, values) in header_groups(headers) {
        j.name(name);
        j.joined(values);
    }
    j.end('}');
    if !r.query.is_empty() {
        j.key("queryStringParameters");
        j.begin('{');
        for (name, values) in query_groups(&r.query) {
            j.name(name);
            j.joined(values);
        }
        j.end('}');
    }

    j.key("requestContext");
    j.begin('{');
    j.field("accountId", "000000000000");
    j.var(ctx, "apiId", V::ApiId);
    if let Some(c) = &ctx.tls_client {
        j.key("authentication");
        j.begin('{');
        client_cert(j, &c.cert);
        j.end('}');
    }
    if let Some(jwt) = &ctx.jwt {
        j.key("authorizer");
        j.begin('{');
        j.key("jwt");
        jwt_authorizer(j, jwt);
        j.end('}');
    } else if let Some(principal) = &ctx.principal_id {
        j.key("authorizer");
        j.begin('{');
        j.key("lambda");
        lambda_authorizer(j, ctx, principal);
        j.end('}');
    }
    j.var(ctx, "domainName", V::DomainName);
    j.var(ctx, "domainPrefix", V::DomainPrefix);
    j.key("http");
    j.begin('{');
    j.field("method", ctx.parts.method.as_str());
    j.field("path", ctx.parts.uri.path());
    j.var(ctx, "protocol", V::Protocol);
    j.var(ctx, "sourceIp", V::SourceIp);
    j.var(ctx, "userAgent", V::UserAgent);
    j.end('}');
    j.field("requestId", &ctx.request_id);
    j.var(ctx, "routeKey", V::RouteKey);
    j.var(ctx, "stage", V::Stage);
    j.var(ctx, "time", V::RequestTime);
    j.key("timeEpoch");
    j.u64(ctx.received_at_ms);
    j.end('}');

    if !matches!(r.body, EventBody::Empty) {
        j.key("body");
        j.body(&r.body);
    }
    if !r.params.is_empty() {
        j.key("pathParameters");
        j.strings(r.params.iter().map(|(k, v)| (*k, v)));
    }
    j.key("isBase64Encoded");
    j.bool(matches!(r.body, EventBody::Binary(_)));
    if let Some(vars) = r.stage_vars {
        j.key("stageVariables");
        j.strings(vars);
    }
    j.end('}');
}

/// Each header name once, with its values (lossily UTF-8) in order. Values are checked
/// with `str::from_utf8` first (ASCII a word at a time; `from_utf8_lossy` walks them in
/// chunks: ≈ 0.7 % of the node's samples on the FUNCTION route).
fn header_groups(
    headers: &HeaderMap,
) -> impl Iterator<Item = (&str, impl DoubleEndedIterator<Item = Cow<'_, str>>)> {
    headers.keys().map(|name| {
        let values = headers.get_all(name).iter();
        (
            name.as_str(),
            values.map(|v| {
                std::str::from_utf8(v.as_bytes())
                    .map_or_else(|_| String::from_utf8_lossy(v.as_bytes()), Cow::Borrowed)
            }),
        )
    })
}

/// Each query parameter name once, with its values in order.
fn query_groups<'q>(
    query: &'q Query<'_>,
) -> impl Iterator<Item = (&'q str, impl DoubleEndedIterator<Item = &'q str>)> {
    query
        .chunk_by(|a, b| a.0 == b.0)
        .filter_map(|group| Some((&*group.first()?.0, group.iter().map(|(_, v)| &**v))))
}

/// `{"claims": …, "scopes": …}`; `scopes` is `null` when the route requires none.
fn jwt_authorizer(j: &mut Json, jwt: &JwtIdentity) {
    j.begin('{');
    j.key("claims");
    j.begin('{');
    for (k, v) in &jwt.claims {
        j.name(k);
        j.value(v);
    }
    j.end('}');
    j.key("scopes");
    match &jwt.scopes {
        Some(scopes) => j.strs(scopes),
        None => j.null(),
    }
    j.end('}');
}

/// The authorizer's context plus `principalId`. As in a map, a later entry of the same
/// name wins, and `principalId` wins over a context key of that name.
fn lambda_authorizer(j: &mut Json, ctx: &RequestCtx, principal: &str) {
    let entries = ctx.authorizer_context();
    j.begin('{');
    for (i, (k, v)) in entries.iter().enumerate() {
        let overridden = k == "principalId" || entries.iter().skip(i + 1).any(|(l, _)| l == k);
        if !overridden {
            j.entry(k, v);
        }
    }
    j.field("principalId", principal);
    j.end('}');
}

/// The event's own kinds of values.
impl Json {
    /// `"k":"$context.var"`.
    fn var(&mut self, ctx: &RequestCtx, k: &'static str, var: V) {
        self.key(k);
        self.str_with(|s| ctx.push_var(var, s));
    }

    /// `null` when `empty`, else the object whose members `members` writes.
    fn object_or_null(&mut self, empty: bool, members: impl FnOnce(&mut Json)) {
        if empty {
            self.null();
        } else {
            self.begin('{');
            members(self);
            self.end('}');
        }
    }

    fn body(&mut self, body: &EventBody<'_>) {
        match body {
            EventBody::Empty => self.null(),
            EventBody::Text(text) => self.str(text),
            EventBody::Binary(bytes) => self.base64(bytes),
        }
    }
}

impl Request<'_> {
    fn body_len(&self) -> usize {
        match self.body {
            EventBody::Empty => 0,
            EventBody::Text(t) => t.len(),
            EventBody::Binary(b) => b.len().div_ceil(3) * 4,
        }
    }
}

/// A guess at the event's size, so that it is written without growing the buffer.
fn capacity(ctx: &RequestCtx, body: usize) -> usize {
    let headers: usize = ctx
        .parts
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 8)
        .sum();
    // Headers appear twice in 1.0; the URI up to four times (path, query, parameters).
    let uri = ctx.parts.uri.path().len() + ctx.parts.uri.query().map_or(0, str::len);
    1024 + 2 * headers + 4 * uri + body + body / 8
}

/// Decoded query-string parameters, sorted by name (stably: each name's values in order).
fn query(raw: Option<&str>) -> Query<'_> {
    let mut pairs: Query<'_> = crate::phases::decode::query_pairs(raw).collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs
}

/// Whether a body of this content type is sent as text (else base64). No type: text.
fn is_text(content_type: Option<&str>) -> bool {
    content_type.is_none_or(|ct| {
        let ct = ct.as_bytes();
        ct.get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"text/"))
            || ["json", "xml", "x-www-form-urlencoded", "javascript"]
                .iter()
                .any(|n| {
                    ct.windows(n.len())
                        .any(|w| w.eq_ignore_ascii_case(n.as_bytes()))
                })
    })
}

/// `"clientCert": {…}`, as API Gateway puts a mutual-TLS client's certificate in an
/// event (`identity` in payload 1.0, `authentication` in 2.0).
fn client_cert(j: &mut Json, c: &crate::peer::ClientCert) {
    j.key("clientCert");
    j.begin('{');
    j.field("clientCertPem", &c.pem);
    j.field("subjectDN", &c.subject_dn);
    j.field("issuerDN", &c.issuer_dn);
    j.field("serialNumber", &c.serial_number);
    j.key("validity");
    j.begin('{');
    j.field("notBefore", &c.not_before);
    j.field("notAfter", &c.not_after);
    j.end('}');
    j.end('}');
}
