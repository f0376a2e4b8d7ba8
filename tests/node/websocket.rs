//! A WEBSOCKET API served by the real binary: `causeway validate` checks it, `serve`
//! accepts WebSocket clients, `@connections` pushes to them, the OpenAPI export says why
//! there is none.

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::harness::{ConfigDir, Node, text};

/// The shipped example (`edge-config/apis/chat.toml`), served as it is.
const CHAT: &str = include_str!("../../edge-config/apis/chat.toml");

const HOST: &str = "chat.execute-api.localhost";

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next(ws: &mut Ws) -> String {
    match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => t.as_str().to_owned(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// `method path` with `body` over a fresh connection; the status code.
fn call(addr: SocketAddr, method: &str, path: &str, body: &str) -> u16 {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer}"))
}

#[test]
fn the_binary_serves_a_websocket_api_and_its_callback_api() {
    let config = ConfigDir::new(&[("chat", CHAT)]);
    let out = config.validate();
    assert!(out.status.success(), "{}", text(&out));
    let mut node = Node::start(config.path());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut req = format!("ws://{}/prod", node.addr)
            .into_client_request()
            .expect("request");
        req.headers_mut()
            .insert("host", HOST.parse().expect("host"));
        let (mut ws, _) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(req),
        )
        .await
        .expect("handshake within 10 s")
        .expect("connected");
        ws.send(Message::text(r#"{"action":"whoami"}"#))
            .await
            .expect("send");
        let me: serde_json::Value = serde_json::from_str(&next(&mut ws).await).expect("JSON");
        assert_eq!(me["greeting"], "welcome");
        assert_eq!(me["sourceIp"], "127.0.0.1");
        assert!(
            me["connectedAt"]
                .as_u64()
                .is_some_and(|t| t > 1_700_000_000_000)
        );
        let id = me["connectionId"].as_str().expect("id").to_owned();
        ws.send(Message::text("hello?")).await.expect("send");
        let other: serde_json::Value = serde_json::from_str(&next(&mut ws).await).expect("JSON");
        assert!(
            other["message"]
                .as_str()
                .is_some_and(|m| m.contains("whoami")),
            "{other}"
        );
        let path = format!("/prod/@connections/{id}");
        let addr = node.addr;
        let pushed = tokio::task::spawn_blocking(move || call(addr, "POST", &path, "ping!"))
            .await
            .expect("push");
        assert_eq!(pushed, 200);
        assert_eq!(next(&mut ws).await, "ping!");
    });
    // No OpenAPI form, and the CLI says why.
    let export = node.cli(&["openapi", "export", "--api", "chat"]);
    assert!(!export.status.success());
    assert!(text(&export).contains("WEBSOCKET"), "{}", text(&export));
    node.stop();
}

#[test]
fn validate_names_each_websocket_mistake_with_its_file_and_field() {
    let broken = CHAT
        .replace("key = \"whoami\"", "key = \"$whoami\"")
        .replace(
            "route_selection_expression = \"$request.body.action\"",
            "route_selection_expression = \"action\"",
        );
    let config = ConfigDir::new(&[("chat", &broken)]);
    let out = config.validate();
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains("chat.toml"), "{said}");
    assert!(said.contains("routes[1].key"), "{said}");
    assert!(said.contains("route_selection_expression"), "{said}");
}

/// A WebSocket API through an edge node: the handshake goes to the region (its name on
/// the 101, the edge's client as the connection's source), then messages flow both ways
/// through the edge's tunnel.
#[test]
fn a_websocket_api_is_served_through_an_edge() {
    use crate::edge::{EDGE, NEAR, edge_config, mint, region_config, start_edge, udp_addr};
    let certs = mint(&[NEAR, EDGE]);
    let (region_udp, edge_udp) = (udp_addr(), udp_addr());
    let cfg = region_config(NEAR, region_udp, certs.path(), &[(EDGE, edge_udp)]);
    cfg.write_api("chat", CHAT);
    let region = Node::start(cfg.path());
    let edge_cfg = edge_config(
        edge_udp,
        certs.path(),
        &[(NEAR, region_udp)],
        &[(NEAR, region.addr)],
    );
    let edge = start_edge(edge_cfg.path());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Connected from 127.0.0.7: once the edge's key reached the region, the region names
    // that client as the source (the edge connects from 127.0.0.1).
    let connect = || async {
        let mut req = format!("ws://{}/prod", edge.addr)
            .into_client_request()
            .expect("request");
        req.headers_mut()
            .insert("host", HOST.parse().expect("host"));
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.7:0".parse().expect("addr"))
            .expect("bind 127.0.0.7");
        let stream = socket.connect(edge.addr).await.expect("connect");
        tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::client_async(req, tokio_tungstenite::MaybeTlsStream::Plain(stream)),
        )
        .await
        .expect("handshake within 10 s")
        .expect("connected through the edge")
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    runtime.block_on(async {
        let (mut ws, resp) = loop {
            let (mut ws, resp) = connect().await;
            ws.send(Message::text(r#"{"action":"whoami"}"#))
                .await
                .expect("send");
            let me: serde_json::Value = serde_json::from_str(&next(&mut ws).await).expect("JSON");
            if me["sourceIp"] == "127.0.0.7" {
                break (ws, resp);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the region never named the edge's client: {me}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(
            resp.headers()
                .get("x-causeway-region")
                .and_then(|v| v.to_str().ok()),
            Some(NEAR)
        );
        for _ in 0..3 {
            ws.send(Message::text(r#"{"action":"whoami"}"#))
                .await
                .expect("send");
            let me: serde_json::Value = serde_json::from_str(&next(&mut ws).await).expect("JSON");
            assert_eq!(me["greeting"], "welcome", "{me}");
        }
        ws.close(None).await.expect("close");
    });
    // An upgrade for a host no API serves: the region's refusal, passed on whole.
    let mut s = std::net::TcpStream::connect(edge.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET /prod HTTP/1.1\r\nHost: nowhere.execute-api.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    .expect("send");
    // The whole answer (its head and body may come in separate reads).
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    while !raw.ends_with(b"}") {
        let n = s.read(&mut chunk).expect("read");
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&chunk[..n]);
    }
    let answer = String::from_utf8_lossy(&raw);
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(
        answer.contains(&format!("x-causeway-region: {NEAR}")),
        "{answer}"
    );
    assert!(
        answer.ends_with("or use a configured custom domain.\"}"),
        "{answer}"
    );
}
