//! WEBSOCKET APIs in operation: a `$connect` authorizer (its decision in mapping and in a
//! function's event), access logs per event, and a node shutting down with connections
//! open.

use std::time::Duration;

use futures_util::SinkExt as _;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::{self, Message};

use super::{HOST, backend, chat_api, close_code, connect, next_json, whoami};
use crate::support;

#[tokio::test]
async fn connect_is_authorized_once_and_the_decision_reaches_every_message() {
    let api = r#"
version = 1
id = "chat"
name = "Chat"
type = "WEBSOCKET"
[[stages]]
name = "prod"
[[plugins]]
name = "hmac"
file = "hmac_authorizer.wasm"
world = "authorizer"
config = { secret = "s3cret", ttl = "300" }
[[plugins]]
name = "shop"
file = "shopping_list_function.wasm"
world = "function"
[[authorizers]]
name = "tokens"
type = "TOKEN"
plugin = "hmac"
identity_sources = ["method.request.header.Authorization"]
result_ttl_seconds = 300
[[routes]]
key = "$connect"
authorizer = "tokens"
integration = { type = "MOCK" }
[[routes]]
key = "whoami"
route_response = true
integration = { type = "MOCK", body = '{"principal":"$context.authorizer.principalId","team":"$context.authorizer.team"}' }
[[routes]]
key = "shop"
route_response = true
integration = { type = "FUNCTION", plugin = "shop" }
"#;
    let gw = support::gateway_with_plugins(&[api]).await;
    let open = |authorization: Option<String>| {
        let addr = gw.addr;
        async move {
            let mut req = format!("ws://{addr}/prod")
                .into_client_request()
                .expect("request");
            req.headers_mut()
                .insert("host", HOST.parse().expect("host"));
            if let Some(a) = authorization {
                req.headers_mut()
                    .insert("authorization", a.parse().expect("header"));
            }
            tokio::time::timeout(
                Duration::from_secs(10),
                tokio_tungstenite::connect_async(req),
            )
            .await
            .expect("handshake within 10 s")
        }
    };
    let status = |r: Result<_, tungstenite::Error>| match r {
        Err(tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok(_) => 101,
    };
    assert_eq!(status(open(None).await), 401, "no token: no plugin call");
    let claims = serde_json::json!({ "sub": "alice", "ctx": { "team": "blue" } });
    assert_eq!(
        status(open(Some(crate::authorizers::signed(b"wrong", &claims))).await),
        403
    );

    let (mut ws, _) = open(Some(crate::authorizers::signed(b"s3cret", &claims)))
        .await
        .expect("admitted");
    ws.send(Message::text(r#"{"action":"whoami"}"#))
        .await
        .expect("send");
    let me = next_json(&mut ws).await;
    assert_eq!(me["principal"], "alice");
    assert_eq!(me["team"], "blue");
    // A function reads it from the event's `requestContext.authorizer`.
    ws.send(Message::text(r#"{"action":"shop","items":["tea"]}"#))
        .await
        .expect("send");
    let list = next_json(&mut ws).await;
    assert_eq!(list["principal"], "alice", "{list}");
    assert_eq!(list["total"], 1, "{list}");
}

#[tokio::test]
async fn shutdown_closes_connections_with_going_away_after_disconnect_ran() {
    let (backend, seen) = backend().await;
    let node = causeway_model::NodeConfig::default();
    let gateway = causeway_gateway::Gateway::new(&node);
    gateway.publish(
        support::bindings(&support::parse_api(&chat_api(backend, ""))),
        &[],
    );
    let served = support::serve(&gateway).await;
    let mut ws = connect(served.addr, "/prod", "").await.expect("connected");
    let id = whoami(&mut ws).await;

    let _ = served.stop.send(());
    assert_eq!(close_code(&mut ws).await, Some(1001));
    // The drain waited for `$disconnect`: it has run when the server is done.
    tokio::time::timeout(Duration::from_secs(15), served.done)
        .await
        .expect("drained within 15 s")
        .expect("server task")
        .expect("server ended cleanly");
    let bye = seen
        .lock()
        .expect("log")
        .iter()
        .find(|s| s.path == "/disconnect")
        .cloned()
        .expect("$disconnect ran before the drain ended");
    assert_eq!(bye.headers["connectionid"], id.as_str());
}

#[tokio::test]
async fn every_event_of_a_connection_is_access_logged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (default_log, custom_log) = (dir.path().join("prod.log"), dir.path().join("custom.log"));
    let api = format!(
        r#"
version = 1
id = "chat"
name = "Chat"
type = "WEBSOCKET"
[[stages]]
name = "prod"
access_log = {{ destination = "{}" }}
[[stages]]
name = "custom"
variables = {{ tag = "blue" }}
access_log = {{ destination = "{}", format = "${{stageVariables.tag}} $context.eventType $context.routeKey $context.status $context.connectionId" }}
[[routes]]
key = "$connect"
integration = {{ type = "MOCK" }}
[[routes]]
key = "$disconnect"
integration = {{ type = "MOCK" }}
[[routes]]
key = "whoami"
route_response = true
integration = {{ type = "MOCK", body = '{{"connectionId":"$context.connectionId"}}' }}
"#,
        default_log.display(),
        custom_log.display()
    );
    let gw = support::gateway(&[&api]).await;
    let mut ws = connect(gw.addr, "/prod", "").await.expect("connected");
    let id = whoami(&mut ws).await;
    ws.send(Message::text(r#"{"action":"nope"}"#))
        .await
        .expect("send");
    assert_eq!(next_json(&mut ws).await["message"], "Forbidden");
    ws.close(None).await.expect("close");

    let lines = crate::access_log::lines(&default_log, 4);
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let seen: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["eventType"].as_str().unwrap_or_default(),
                e["routeKey"].as_str().unwrap_or_default(),
                e["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("CONNECT", "$connect", "200"),
            ("MESSAGE", "whoami", "200"),
            ("MESSAGE", "$default", "403"),
            ("DISCONNECT", "$disconnect", "200"),
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e["connectionId"] == id.as_str() && e["ip"] == "127.0.0.1")
    );
    assert_eq!(events[2]["errorMessage"], "Forbidden");
    assert!(events[0]["errorMessage"].is_null());

    let mut ws = connect(gw.addr, "/custom", "").await.expect("connected");
    let id = whoami(&mut ws).await;
    ws.close(None).await.expect("close");
    let custom = crate::access_log::lines(&custom_log, 3);
    assert_eq!(custom[0], format!("blue CONNECT $connect 200 {id}"));
    assert_eq!(custom[2], format!("blue DISCONNECT $disconnect 200 {id}"));
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_and_its_pushes_refused() {
    let (backend, _) = backend().await;
    let gw = support::gateway(&[&chat_api(backend, "")]).await;
    let mut ws = connect(gw.addr, "/prod", "").await.expect("connected");
    let id = whoami(&mut ws).await;
    // From now on the client reads nothing.
    let client = support::client();
    let at = format!("/prod/@connections/{id}");
    let big = "x".repeat(100 << 10);
    let mut refused = None;
    for n in 0..2_000 {
        let r = crate::support::send(&client, gw.addr, "POST", HOST, &at, &[], big.clone()).await;
        if r.status != 200 {
            refused = Some((n, r.status));
            break;
        }
    }
    // The socket's buffers fill, then the queue (4 MiB, before its 256 messages): 429.
    let (n, status) = refused.expect("pushes were refused once the client stopped reading");
    assert_eq!(status, 429, "after {n} pushes");
    assert!(
        n < 256,
        "the queue's bytes bound it before its count: {n} pushes of 100 KiB"
    );
    // Within the send timeout (10 s) the connection is dropped: gone.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = crate::support::send(&client, gw.addr, "GET", HOST, &at, &[], "").await;
        if r.status == 410 {
            break;
        }
        assert_eq!(r.status, 200);
        assert!(
            std::time::Instant::now() < deadline,
            "the stuck client was never dropped"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(ws);
}
