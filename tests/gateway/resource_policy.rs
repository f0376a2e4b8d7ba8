//! Who may invoke an API: its resource policy by source address (`[resource_policy]`,
//! the `aws:SourceIp` conditions of an API Gateway resource policy), judged on the
//! connection's address or the one an edge vouches for, WebSocket handshakes included;
//! and an API served only through its custom domains (`disable_execute_api_endpoint`).

use std::net::{IpAddr, SocketAddr};

use causeway_gateway::Peer;
use causeway_model::{BasePathMapping, DomainSpec, NodeConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support;

const API: &str = r#"
version = 1
id = "fenced"
name = "Fenced"
type = "REST"
[[stages]]
name = "prod"
[resource_policy]
allow_source_networks = ["127.0.0.0/24", "203.0.113.0/24"]
deny_source_networks = ["127.0.0.2", "203.0.113.66"]
[[routes]]
key = "GET /who"
integration = { type = "MOCK", body = "$context.identity.sourceIp" }
"#;

const CHAT: &str = r#"
version = 1
id = "chat"
name = "Chat"
type = "WEBSOCKET"
[[stages]]
name = "prod"
[resource_policy]
deny_source_networks = ["127.0.0.3"]
[[routes]]
key = "$connect"
integration = { type = "MOCK", body = "" }
"#;

const DOMAIN_ONLY: &str = r#"
version = 1
id = "branded"
name = "Branded"
type = "REST"
[[stages]]
name = "prod"
[endpoint]
disable_execute_api_endpoint = true
[[routes]]
key = "GET /hi"
integration = { type = "MOCK", body = "hi" }
"#;

/// `GET path` from source address `from` (a loopback address), with `extra` header
/// lines: (status, response text).
async fn get_from(
    addr: SocketAddr,
    from: &str,
    host: &str,
    path: &str,
    extra: &str,
) -> (u16, String) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    let src: IpAddr = from.parse().expect("source address");
    socket
        .bind(SocketAddr::new(src, 0))
        .expect("bind the source address");
    let mut tcp = socket.connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nhost: {host}\r\n{extra}connection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.expect("write");
    // To the end, or (a 101: the connection stays open) to the end of the head.
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while let Ok(Ok(n @ 1..)) = tokio::time::timeout_at(deadline, tcp.read(&mut chunk)).await {
        raw.extend_from_slice(&chunk[..n]);
        if raw.starts_with(b"HTTP/1.1 101") && raw.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn a_resource_policy_admits_clients_by_source_address() {
    let gw = support::gateway_with(NodeConfig::default(), &[API]).await;
    let host = "fenced.execute-api.localhost";
    let (status, text) = get_from(gw.addr, "127.0.0.1", host, "/prod/who", "").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("127.0.0.1"), "{text}");
    // Denied by name (inside the allowed network: the deny wins), and outside every
    // allowed network.
    for from in ["127.0.0.2", "127.0.1.1"] {
        let (status, text) = get_from(gw.addr, from, host, "/prod/who", "").await;
        assert_eq!(status, 403, "{from}: {text}");
        assert!(
            text.contains(
                "User: anonymous is not authorized to perform: execute-api:Invoke on resource: fenced/prod/GET/who"
            ),
            "{from}: {text}"
        );
        assert!(text.contains("AccessDeniedException"), "{from}: {text}");
    }
}

#[tokio::test]
async fn an_edges_client_is_judged_by_the_address_the_edge_vouches_for() {
    const EDGE: &str = "edge-1";
    const KEY: &[u8] = b"an edge key of thirty-two bytes!";
    let edge = support::gateway_with(NodeConfig::default(), &[API]).await;
    let region = support::gateway_with(NodeConfig::default(), &[API]).await;
    edge.gateway.sign_as_edge(EDGE, KEY);
    region.gateway.trust_edge(EDGE, KEY);
    let host = "fenced.execute-api.localhost";
    for (client, want) in [
        ("203.0.113.9", 200),
        ("203.0.113.66", 403),
        ("198.51.100.1", 403),
    ] {
        let req = http::Request::get("/prod/who")
            .header("host", host)
            .body(())
            .expect("request");
        let peer = Peer::new(SocketAddr::new(client.parse().expect("ip"), 40_000));
        let parts = match edge.gateway.check_at_edge(req.into_parts().0, &peer).await {
            Ok(parts) => parts,
            // The edge refuses by the policy itself when it can.
            Err(resp) => {
                assert_eq!((resp.status().as_u16(), want), (403, 403), "{client}");
                continue;
            }
        };
        let assertion = parts
            .headers
            .get("x-causeway-edge-auth")
            .and_then(|v| v.to_str().ok())
            .expect("the edge's assertion")
            .to_owned();
        // The region's own peer is 127.0.0.1, which the policy admits: only the vouched
        // address can refuse it.
        let extra = format!("x-causeway-edge-auth: {assertion}\r\n");
        let (status, text) = get_from(region.addr, "127.0.0.1", host, "/prod/who", &extra).await;
        assert_eq!(status, want, "{client}: {text}");
        if want == 200 {
            assert!(text.ends_with(client), "{text}");
        }
    }
}

#[tokio::test]
async fn a_websocket_handshake_from_a_refused_address_is_not_upgraded() {
    let gw = support::gateway_with(NodeConfig::default(), &[CHAT]).await;
    let host = "chat.execute-api.localhost";
    let upgrade = "upgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    // (`connection: close` follows the handshake's own fields; the upgrade is what counts.)
    let (status, text) = get_from(gw.addr, "127.0.0.1", host, "/prod", upgrade).await;
    assert_eq!(status, 101, "{text}");
    let (status, text) = get_from(gw.addr, "127.0.0.3", host, "/prod", upgrade).await;
    assert_eq!(status, 403, "{text}");
    assert!(
        text.contains("not authorized to perform: execute-api:Invoke"),
        "{text}"
    );
}

#[tokio::test]
async fn an_api_may_be_served_only_through_its_custom_domains() {
    let mut node = NodeConfig::default();
    node.domains.push(DomainSpec {
        name: "api.brand.test".into(),
        mappings: vec![BasePathMapping {
            base_path: String::new(),
            api: "branded".into(),
            stage: "prod".into(),
        }],
        cert_file: None,
        key_file: None,
        truststore_file: None,
    });
    let gw = support::gateway_with(node, &[DOMAIN_ONLY]).await;
    let c = support::client();
    let r = support::get(&c, gw.addr, "branded.execute-api.localhost", "/prod/hi").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (403, r#"{"message":"Forbidden"}"#)
    );
    let r = support::get(&c, gw.addr, "api.brand.test", "/hi").await;
    assert_eq!((r.status, r.text().as_str()), (200, "hi"));
}
