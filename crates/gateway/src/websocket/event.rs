//! One WebSocket event (`CONNECT`, `MESSAGE`, `DISCONNECT`) given to its route's
//! integration: a MOCK answer rendered with the connection's `$context`, a POST to an
//! HTTP_PROXY backend, or a FUNCTION called with API Gateway's WebSocket event.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::{Map, Value, json};

use super::{Data, Hub, Info, MAX_MESSAGE};
use crate::body::Body;
use crate::compile::{CompiledRoute, Integration, Mock, Upstream};
use crate::context::RequestId;
use crate::error::{ErrorKind, GatewayError};
use crate::phases::integrate::{Outgoing, PoolError, RequestHead};
use crate::table::StageRuntime;

/// API Gateway's `eventType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    Connect,
    Message,
    Disconnect,
}

impl EventType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EventType::Connect => "CONNECT",
            EventType::Message => "MESSAGE",
            EventType::Disconnect => "DISCONNECT",
        }
    }
}

/// What an integration is given.
#[derive(Debug)]
pub(super) struct Event<'a> {
    pub(super) kind: EventType,
    pub(super) route_key: &'a str,
    pub(super) info: &'a Info,
    pub(super) request_id: RequestId,
    pub(super) body: Option<&'a Data>,
    /// `$connect`: the handshake's headers and query string.
    pub(super) handshake: Option<(&'a HeaderMap, Option<&'a str>)>,
    /// `$disconnect`: the close code and reason.
    pub(super) disconnect: Option<(u16, &'a str)>,
}

/// What an integration answered.
#[derive(Debug)]
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) body: Bytes,
    /// A FUNCTION's `isBase64Encoded` body, or a backend's non-text body: sent as a
    /// binary frame.
    pub(super) binary: bool,
}

/// Headers of the handshake that are the connection's, not the client's to pass on.
static NOT_PASSED: [HeaderName; 7] = [
    header::HOST,
    header::CONNECTION,
    header::UPGRADE,
    header::SEC_WEBSOCKET_KEY,
    header::SEC_WEBSOCKET_VERSION,
    header::SEC_WEBSOCKET_EXTENSIONS,
    header::CONTENT_LENGTH,
];

/// Call `route`'s integration with `ev`; counted as an `IntegrationError` (a 4xx or 5xx
/// answer) or an `ExecutionError` (no answer).
pub(super) async fn call(
    hub: &Hub,
    stage: &StageRuntime,
    route: &CompiledRoute,
    ev: &Event<'_>,
) -> Result<Answer, GatewayError> {
    let started = std::time::Instant::now();
    let result = integrate(hub, stage, route, ev).await;
    let latency = Some(started.elapsed());
    let failure = match &result {
        Ok(a) => {
            log(stage, ev, a.status.as_u16(), latency, None);
            (a.status.as_u16() >= 400).then_some(crate::WebSocketEvent::IntegrationError)
        }
        Err(e) => {
            log(stage, ev, e.status().as_u16(), latency, Some(&e.message));
            Some(crate::WebSocketEvent::ExecutionError)
        }
    };
    if let Some(event) = failure {
        hub.count(ev.info, ev.route_key, event);
    }
    result
}

async fn integrate(
    hub: &Hub,
    stage: &StageRuntime,
    route: &CompiledRoute,
    ev: &Event<'_>,
) -> Result<Answer, GatewayError> {
    match &route.integration {
        Integration::Mock(m) => Ok(mock(stage, m, ev)),
        Integration::Http(u) => proxy(hub, stage, u, ev).await,
        Integration::Function(f) => {
            let text = function_event(stage, ev).to_string();
            let called = tokio::time::timeout(
                f.timeout,
                f.plugin.invoke_function_for(text, &ev.request_id),
            )
            .await;
            let out = match called {
                Err(_) => return Err(GatewayError::new(ErrorKind::IntegrationTimeout)),
                Ok(Err(e)) => {
                    tracing::warn!(plugin = f.plugin.name(), connection = %ev.info.id, error = %e, "WebSocket function failed");
                    return Err(GatewayError::new(ErrorKind::IntegrationFailure).with_cause(e));
                }
                Ok(Ok(out)) => out,
            };
            let binary = matches!(&out.answer, causeway_plugin::ProxyAnswer::Response(r) if r.is_base64_encoded);
            let resp = crate::phases::integrate::function_response(out, true)?;
            let status = resp.status();
            let body = collect(resp.into_body()).await?;
            Ok(Answer {
                status,
                body,
                binary,
            })
        }
        Integration::WasiHttp(_) => Err(GatewayError::new(ErrorKind::Internal)
            .with_message("WASI_HTTP integrations do not serve WebSocket routes")),
    }
}

/// The event's access-log line, when its stage logs: the stage's format (or the default
/// WebSocket fields) over the event's `$context`, its `status`, `integrationLatency` and
/// `error.message`.
pub(super) fn log(
    stage: &StageRuntime,
    ev: &Event<'_>,
    status: u16,
    latency: Option<Duration>,
    error: Option<&str>,
) {
    let Some(logger) = &stage.access_log else {
        return;
    };
    let vars = |name: &str, out: &mut String| match name {
        "status" => out.push_str(itoa::Buffer::new().format(status)),
        "integrationLatency" => {
            if let Some(l) = latency {
                out.push_str(itoa::Buffer::new().format(l.as_millis()));
            }
        }
        "error.message" => out.push_str(error.unwrap_or("")),
        _ => context(stage, ev, name, out),
    };
    logger.log_event(&vars, &stage.variables);
}

/// `$context.NAME` of an event.
fn context(stage: &StageRuntime, ev: &Event<'_>, name: &str, out: &mut String) {
    let info = ev.info;
    match name {
        "connectionId" => out.push_str(&info.id),
        "connectedAt" => out.push_str(itoa::Buffer::new().format(info.connected_at_ms)),
        "eventType" => out.push_str(ev.kind.as_str()),
        "routeKey" => out.push_str(ev.route_key),
        "requestId" | "extendedRequestId" | "messageId" => out.push_str(ev.request_id.as_str()),
        "apiId" => out.push_str(&info.api_id),
        "stage" => out.push_str(&stage.stage),
        "deploymentId" => out.push_str(&stage.deployment.id().0),
        "domainName" => out.push_str(&info.host),
        "identity.sourceIp" => out.push_str(&info.source_ip),
        "identity.userAgent" => out.push_str(&info.user_agent),
        "requestTime" => crate::context::clf_time(out, crate::throttle::now_ms() / 1000),
        "requestTimeEpoch" => out.push_str(itoa::Buffer::new().format(crate::throttle::now_ms())),
        "authorizer.principalId" => out.push_str(info.principal_id.as_deref().unwrap_or("")),
        _ => {
            if let Some(key) = name.strip_prefix("authorizer.")
                && let Some((_, v)) = info
                    .authorizer_context
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .find(|(k, _)| k == key)
            {
                out.push_str(v);
            }
        }
    }
}

/// `t` rendered for `ev`: stage variables, the event's `$context` (an event has no path
/// parameters).
fn render(stage: &StageRuntime, ev: &Event<'_>, t: &causeway_model::Template, out: &mut String) {
    use causeway_model::TemplatePart as P;
    t.render(out, |part, out| match part {
        P::StageVariable(n) => out.push_str(stage.variables.get(n).map_or("", String::as_str)),
        P::Context(n) => context(stage, ev, n, out),
        P::PathParam(_) => {}
        P::Literal(s) => out.push_str(s),
    });
}

fn mock(stage: &StageRuntime, m: &Mock, ev: &Event<'_>) -> Answer {
    let mut body = String::new();
    render(stage, ev, &m.body, &mut body);
    Answer {
        status: m.status,
        body: Bytes::from(body),
        binary: false,
    }
}

/// POST (or the integration's method) the message to the backend, with the connection's
/// id and the route key in headers; `$connect` passes the handshake's headers and query
/// string on.
async fn proxy(
    hub: &Hub,
    stage: &StageRuntime,
    u: &Upstream,
    ev: &Event<'_>,
) -> Result<Answer, GatewayError> {
    let mut url = String::new();
    render(stage, ev, &u.uri, &mut url);
    if let Some((_, Some(query))) = ev.handshake {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(query);
    }
    // The upstream's pool entry, kept with the integration as the HTTP path keeps it.
    let (host, target) = hub.client.origin_of(&url, &u.origin).map_err(|e| {
        GatewayError::new(ErrorKind::IntegrationFailure)
            .with_message(format!("integration URI `{url}`: {e}"))
    })?;
    // The head written straight from the event's fields, as the HTTP path writes it.
    let mut head =
        RequestHead::with_target(u.method.clone().unwrap_or(http::Method::POST), &target);
    head.field("host", &[host.host_header().as_bytes()]);
    if let Some((headers, _)) = ev.handshake {
        for (name, value) in headers {
            if !NOT_PASSED.contains(name) {
                head.field(name.as_str(), &[value.as_bytes()]);
            }
        }
    }
    let (body, content_type) = match ev.body {
        Some(Data::Text(t)) => {
            let json = serde_json::from_str::<&serde_json::value::RawValue>(t.as_str()).is_ok();
            let ct = if json {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            (Body::from(Bytes::from(t.clone())), Some(ct))
        }
        Some(Data::Binary(b)) => (Body::from(b.clone()), Some("application/octet-stream")),
        None => (Body::Empty, None),
    };
    if let Some(ct) = content_type {
        head.field("content-type", &[ct.as_bytes()]);
    }
    // The principal is the plugin's text: passed on only when it is a valid field value.
    if let Some(p) = ev.info.principal_id.as_deref()
        && let Ok(v) = HeaderValue::from_str(p)
    {
        head.field("x-causeway-principal-id", &[v.as_bytes()]);
    }
    // Ids, a configured route key, an address: field-safe text.
    let facts = [
        ("connectionid", &*ev.info.id),
        ("x-causeway-route-key", ev.route_key),
        ("x-causeway-event-type", ev.kind.as_str()),
        ("x-amzn-requestid", ev.request_id.as_str()),
        ("x-forwarded-for", &ev.info.source_ip),
    ];
    for (name, value) in facts {
        head.field(name, &[value.as_bytes()]);
    }
    // The pool answers by the deadline (connecting included) or says it timed out.
    let deadline = tokio::time::Instant::now() + u.timeout;
    let resp = match hub
        .client
        .send_head(host, Outgoing { head, body }, deadline)
        .await
    {
        Err(PoolError::Timeout) => return Err(GatewayError::new(ErrorKind::IntegrationTimeout)),
        Err(e) => {
            tracing::debug!(connection = %ev.info.id, error = %e, "WebSocket backend failed");
            return Err(GatewayError::new(ErrorKind::IntegrationFailure).with_cause(e));
        }
        Ok(resp) => resp,
    };
    let status = resp.status();
    let binary = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| !is_text(ct));
    let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
    let body = match tokio::time::timeout(
        remaining.max(Duration::from_millis(1)),
        collect(resp.into_body()),
    )
    .await
    {
        Ok(body) => body?,
        Err(_) => return Err(GatewayError::new(ErrorKind::IntegrationTimeout)),
    };
    Ok(Answer {
        status,
        body,
        binary,
    })
}

fn is_text(content_type: &str) -> bool {
    let ct = content_type.trim_start().as_bytes();
    let has = |word: &[u8]| ct.windows(word.len()).any(|w| w.eq_ignore_ascii_case(word));
    ct.get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"text/"))
        || has(b"json")
        || has(b"xml")
}

/// A backend's or function's answer body, at most a message's size.
async fn collect(body: Body) -> Result<Bytes, GatewayError> {
    let limited = http_body_util::Limited::new(body, MAX_MESSAGE);
    limited
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| {
            GatewayError::new(ErrorKind::IntegrationFailure).with_message(format!(
                "the integration's answer could not be read (at most {MAX_MESSAGE} bytes, a WebSocket message's limit): {e}"
            ))
        })
}

/// API Gateway's WebSocket event for a Lambda (proxy) integration.
pub(super) fn function_event(stage: &StageRuntime, ev: &Event<'_>) -> Value {
    let info = ev.info;
    let now = crate::throttle::now_ms();
    let mut time = String::new();
    crate::context::clf_time(&mut time, now / 1000);
    let mut rc = json!({
        "routeKey": ev.route_key,
        "eventType": ev.kind.as_str(),
        "extendedRequestId": ev.request_id.as_str(),
        "requestTime": time,
        "messageDirection": "IN",
        "stage": stage.stage,
        "connectedAt": info.connected_at_ms,
        "requestTimeEpoch": now,
        "identity": { "sourceIp": info.source_ip, "userAgent": info.user_agent },
        "requestId": ev.request_id.as_str(),
        "domainName": info.host,
        "connectionId": &*info.id,
        "apiId": info.api_id,
    });
    if let Some(obj) = rc.as_object_mut() {
        if ev.kind == EventType::Message {
            obj.insert("messageId".into(), json!(ev.request_id.as_str()));
        }
        if let Some(principal) = &info.principal_id {
            let mut authorizer = Map::new();
            authorizer.insert("principalId".into(), json!(&**principal));
            for (k, v) in info.authorizer_context.as_deref().unwrap_or_default() {
                authorizer.insert(k.clone(), json!(v));
            }
            obj.insert("authorizer".into(), Value::Object(authorizer));
        }
        if let Some((code, reason)) = ev.disconnect {
            obj.insert("disconnectStatusCode".into(), json!(code));
            obj.insert("disconnectReason".into(), json!(reason));
        }
    }
    let mut event = Map::new();
    if let Some((headers, query)) = ev.handshake {
        let (single, multi) = header_maps(headers);
        event.insert("headers".into(), single);
        event.insert("multiValueHeaders".into(), multi);
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            let (single, multi) = query_maps(q);
            event.insert("queryStringParameters".into(), single);
            event.insert("multiValueQueryStringParameters".into(), multi);
        }
    }
    event.insert("requestContext".into(), rc);
    match ev.body {
        Some(Data::Text(t)) => {
            event.insert("body".into(), json!(t.as_str()));
            event.insert("isBase64Encoded".into(), json!(false));
        }
        Some(Data::Binary(b)) => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(b);
            event.insert("body".into(), json!(encoded));
            event.insert("isBase64Encoded".into(), json!(true));
        }
        None => {
            event.insert("isBase64Encoded".into(), json!(false));
        }
    }
    Value::Object(event)
}

/// `headers` (the last value of each, as API Gateway's) and `multiValueHeaders`.
fn header_maps(headers: &HeaderMap) -> (Value, Value) {
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        single.insert(name.as_str().to_owned(), json!(value));
        match multi.get_mut(name.as_str()).and_then(Value::as_array_mut) {
            Some(list) => list.push(json!(value)),
            None => {
                multi.insert(name.as_str().to_owned(), json!([value]));
            }
        }
    }
    (Value::Object(single), Value::Object(multi))
}

fn query_maps(query: &str) -> (Value, Value) {
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        let (k, v) = (decode(k), decode(v));
        single.insert(k.clone(), json!(v));
        match multi.get_mut(&k).and_then(Value::as_array_mut) {
            Some(list) => list.push(json!(v)),
            None => {
                multi.insert(k, json!([v]));
            }
        }
    }
    (Value::Object(single), Value::Object(multi))
}
