//! WEBSOCKET APIs end to end: a real WebSocket client (tokio-tungstenite) against an
//! in-process gateway, backends the tests start, the `@connections` callback API over HTTP.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use http_body_util::{BodyExt as _, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::support::{self, send};

#[path = "websocket/callbacks.rs"]
mod callbacks;
#[path = "websocket/garbage.rs"]
mod garbage;
#[path = "websocket/operations.rs"]
mod operations;

pub(super) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One request a backend received.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    method: String,
    path: String,
    headers: http::HeaderMap,
    body: String,
}

/// A backend that records what it is sent and answers `{"echo": BODY}` (path `/refuse`:
/// 403 `no entry`).
pub(super) async fn backend() -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let body = String::from_utf8_lossy(&body).into_owned();
                        let answer = if parts.uri.path() == "/refuse" {
                            (403, "no entry".to_owned())
                        } else {
                            (200, serde_json::json!({ "echo": body }).to_string())
                        };
                        log.lock().expect("log").push(Seen {
                            method: parts.method.to_string(),
                            path: parts.uri.to_string(),
                            headers: parts.headers,
                            body,
                        });
                        Ok::<_, std::convert::Infallible>(
                            http::Response::builder()
                                .status(answer.0)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(answer.1)))
                                .unwrap_or_default(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, seen)
}

pub(super) fn chat_api(backend: SocketAddr, extra: &str) -> String {
    format!(
        r#"
version = 1
id = "chat"
name = "Chat"
type = "WEBSOCKET"
{extra}
[[stages]]
name = "prod"
variables = {{ backend = "http://{backend}", env = "production" }}

[[routes]]
key = "$connect"
integration = {{ type = "HTTP_PROXY", uri = "${{stageVariables.backend}}/connect" }}

[[routes]]
key = "$disconnect"
integration = {{ type = "HTTP_PROXY", uri = "${{stageVariables.backend}}/disconnect" }}

[[routes]]
key = "whoami"
route_response = true
[routes.integration]
type = "MOCK"
body = '{{"route":"$context.routeKey","connectionId":"$context.connectionId","env":"${{stageVariables.env}}","event":"$context.eventType"}}'

[[routes]]
key = "quiet"
integration = {{ type = "MOCK", body = "never sent" }}

[[routes]]
key = "$default"
route_response = true
integration = {{ type = "HTTP_PROXY", uri = "${{stageVariables.backend}}/messages" }}
"#
    )
}

pub(super) const HOST: &str = "chat.execute-api.localhost";

pub(super) async fn connect(
    addr: SocketAddr,
    path: &str,
    query: &str,
) -> Result<Ws, tungstenite::Error> {
    let mut req = format!("ws://{addr}{path}{query}")
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("host", HOST.parse().expect("host"));
    req.headers_mut()
        .insert("x-client-token", "t0k3n".parse().expect("header"));
    let (ws, resp) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(req),
    )
    .await
    .expect("handshake within 10 s")?;
    assert!(
        resp.headers().contains_key("x-amzn-requestid"),
        "the 101 carries a request id"
    );
    Ok(ws)
}

/// The next text message (pings and pongs skipped), within 10 s.
pub(super) async fn next_text(ws: &mut Ws) -> String {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s")
            .expect("connection open")
            .expect("a frame");
        match msg {
            Message::Text(t) => return t.as_str().to_owned(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// The code of the close frame the gateway sends (messages before it skipped), within
/// 10 s; `None` when the connection ends without one.
pub(super) async fn close_code(ws: &mut Ws) -> Option<u16> {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .expect("closed within 10 s")
}

pub(super) async fn next_json(ws: &mut Ws) -> serde_json::Value {
    let text = next_text(ws).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Wait (bounded) until the backend saw a request to `path`.
pub(super) async fn wait_for(seen: &Mutex<Vec<Seen>>, path: &str) -> Seen {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(s) = seen
            .lock()
            .expect("log")
            .iter()
            .find(|s| s.path.starts_with(path))
        {
            return s.clone();
        }
        assert!(Instant::now() < deadline, "the backend never saw {path}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub(super) async fn whoami(ws: &mut Ws) -> String {
    ws.send(Message::text(r#"{"action":"whoami"}"#))
        .await
        .expect("send");
    let me = next_json(ws).await;
    me["connectionId"]
        .as_str()
        .expect("connection id")
        .to_owned()
}

#[tokio::test]
async fn messages_go_to_the_route_their_action_names_and_two_way_routes_answer() {
    let (backend, seen) = backend().await;
    let gw = support::gateway(&[&chat_api(backend, "")]).await;
    let mut ws = connect(gw.addr, "/prod", "?room=blue")
        .await
        .expect("connected");

    // $connect saw the handshake's headers and query string, and the connection id.
    let hello = wait_for(&seen, "/connect").await;
    assert_eq!(hello.method, "POST");
    assert_eq!(hello.path, "/connect?room=blue");
    assert_eq!(hello.headers["x-client-token"], "t0k3n");
    assert_eq!(hello.headers["x-causeway-event-type"], "CONNECT");
    assert!(!hello.headers.contains_key("sec-websocket-key"));
    let id = hello.headers["connectionid"]
        .to_str()
        .expect("text")
        .to_owned();
    assert_eq!(id.len(), 16);

    // A MOCK two-way route, rendered with the connection's $context.
    ws.send(Message::text(r#"{"action":"whoami","x":1}"#))
        .await
        .expect("send");
    let me = next_json(&mut ws).await;
    assert_eq!(me["route"], "whoami");
    assert_eq!(me["connectionId"], id.as_str());
    assert_eq!(me["env"], "production");
    assert_eq!(me["event"], "MESSAGE");

    // A one-way route answers nothing: the next message's answer is the next one seen.
    ws.send(Message::text(r#"{"action":"quiet"}"#))
        .await
        .expect("send");
    // Not JSON, or an action no route has: `$default` (an HTTP_PROXY POST).
    ws.send(Message::text("plain words")).await.expect("send");
    assert_eq!(next_json(&mut ws).await["echo"], "plain words");
    ws.send(Message::text(r#"{"action":"dance","n":2}"#))
        .await
        .expect("send");
    assert_eq!(
        next_json(&mut ws).await["echo"],
        r#"{"action":"dance","n":2}"#
    );
    let posted = wait_for(&seen, "/messages").await;
    assert_eq!(posted.method, "POST");
    assert_eq!(posted.body, "plain words");
    assert_eq!(posted.headers["connectionid"], id.as_str());
    assert_eq!(posted.headers["x-causeway-route-key"], "$default");
    assert_eq!(posted.headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(
        seen.lock()
            .expect("log")
            .iter()
            .filter(|s| s.path == "/messages")
            .count(),
        2,
        "the quiet route's message never reached $default"
    );

    // The client closes: $disconnect runs with the close code.
    ws.close(None).await.expect("close");
    let bye = wait_for(&seen, "/disconnect").await;
    assert_eq!(bye.headers["connectionid"], id.as_str());
    assert_eq!(bye.headers["x-causeway-event-type"], "DISCONNECT");
}

#[tokio::test]
async fn connect_decides_and_bad_handshakes_are_refused_with_reasons() {
    let (refuser, _) = backend().await;
    let refusing = chat_api(refuser, "").replace("/connect\"", "/refuse\"");
    let gw = support::gateway(&[&refusing]).await;
    match connect(gw.addr, "/prod", "").await {
        Err(tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 403);
            assert_eq!(resp.body().as_deref(), Some(&b"no entry"[..]));
        }
        other => panic!("expected $connect's 403, got {other:?}"),
    }

    let (backend, _) = backend().await;
    let gw = support::gateway(&[&chat_api(backend, "")]).await;
    for (path, status) in [("/prod/extra", 403), ("/staging", 403)] {
        match connect(gw.addr, path, "").await {
            Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), status, "{path}"),
            other => panic!("{path}: expected {status}, got {other:?}"),
        }
    }
    // A handshake's path is normalized as the pipeline's are: placed by what it resolves
    // to, refused when it climbs above the root.
    let ws = connect(gw.addr, "/x/%2e%2e//prod", "").await;
    assert!(ws.is_ok(), "{ws:?}");
    match connect(gw.addr, "/../prod", "").await {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 400),
        other => panic!("expected a 400, got {other:?}"),
    }
    // A plain HTTP request: told to upgrade.
    let r = send(&support::client(), gw.addr, "GET", HOST, "/prod", &[], "").await;
    assert_eq!(r.status, 426);
    assert_eq!(r.header("upgrade"), Some("websocket"));
    assert!(
        r.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("WebSocket"))
    );
}

#[tokio::test]
async fn failures_and_unroutable_messages_are_told_to_the_client_which_stays_connected() {
    // No `$default`, and a route whose backend is not listening.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let api = r#"
version = 1
id = "chat"
name = "Chat"
type = "WEBSOCKET"
route_selection_expression = "$request.body.meta.kind"
[[stages]]
name = "prod"
[[routes]]
key = "whoami"
route_response = true
integration = { type = "MOCK", body = '{"connectionId":"$context.connectionId"}' }
[[routes]]
key = "down"
route_response = true
integration = { type = "HTTP_PROXY", uri = "http://CLOSED/x", timeout_ms = 2000 }
"#
    .replace("CLOSED", &closed.to_string());
    let gw = support::gateway(&[&api]).await;
    let mut ws = connect(gw.addr, "/prod", "").await.expect("connected");
    ws.send(Message::text(r#"{"meta":{"kind":"whoami"}}"#))
        .await
        .expect("send");
    let id = next_json(&mut ws).await["connectionId"]
        .as_str()
        .expect("id")
        .to_owned();

    ws.send(Message::text(r#"{"meta":{"kind":"nothing"}}"#))
        .await
        .expect("send");
    let refused = next_json(&mut ws).await;
    assert_eq!(refused["message"], "Forbidden");
    assert_eq!(refused["connectionId"], id.as_str());
    assert!(refused["requestId"].as_str().is_some_and(|r| !r.is_empty()));

    ws.send(Message::text(r#"{"meta":{"kind":"down"}}"#))
        .await
        .expect("send");
    assert_eq!(next_json(&mut ws).await["message"], "Internal server error");

    // Still connected and routed.
    ws.send(Message::text(r#"{"meta":{"kind":"whoami"}}"#))
        .await
        .expect("send");
    assert_eq!(next_json(&mut ws).await["connectionId"], id.as_str());

    // Counted under API Gateway's WebSocket metric names, per route.
    let text = gw.gateway.metrics().encode();
    let at = |route: &str| format!(r#"{{api="chat",stage="prod",route="{route}"}}"#);
    let metric = |name: &str, route: &str| {
        support::sample(&text, &format!("causeway_{name}_total{}", at(route)))
    };
    assert_eq!(metric("ConnectCount", "$connect"), 1.0);
    assert_eq!(metric("MessageCount", "whoami"), 2.0);
    assert_eq!(metric("ClientError", "$default"), 1.0, "{text}");
    assert_eq!(metric("ExecutionError", "down"), 1.0, "{text}");

    // A message over 128 KiB closes the connection with 1009 (message too big).
    let big = format!(
        r#"{{"meta":{{"kind":"whoami"}},"pad":"{}"}}"#,
        "x".repeat(130 << 10)
    );
    let _ = ws.send(Message::text(big)).await;
    assert_eq!(close_code(&mut ws).await, Some(1009));
}

#[tokio::test]
async fn a_function_route_gets_api_gateways_websocket_event() {
    let api = r#"
version = 1
id = "chat"
name = "Chat"
type = "WEBSOCKET"
[[stages]]
name = "prod"
[[plugins]]
name = "shop"
file = "shopping_list_function.wasm"
world = "function"
[[routes]]
key = "$default"
route_response = true
integration = { type = "FUNCTION", plugin = "shop" }
"#;
    let gw = support::gateway_with_plugins(&[api]).await;
    let mut ws = connect(gw.addr, "/prod", "").await.expect("connected");
    ws.send(Message::text(r#"{"items":["milk","eggs","milk"]}"#))
        .await
        .expect("send");
    // The shopping-list function read the event's `body` and `requestContext.requestId`.
    let list = next_json(&mut ws).await;
    assert_eq!(list["items"], serde_json::json!({ "eggs": 1, "milk": 2 }));
    assert_eq!(list["total"], 3);
    assert!(
        list["requestId"].as_str().is_some_and(|r| r.len() > 8),
        "{list}"
    );
    // A binary frame reaches the function base64-encoded (`isBase64Encoded`).
    ws.send(Message::binary(Bytes::from_static(br#"{"items":["tea"]}"#)))
        .await
        .expect("send");
    assert_eq!(
        next_json(&mut ws).await["items"],
        serde_json::json!({ "tea": 1 })
    );
}
