//! WASI_HTTP integrations: a stock spin-sdk HTTP component (`plugins/examples/spin-hello`)
//! and a plain `wasip2` handler (`plugins/examples/wasi-http-handler`) served unmodified
//! through the gateway: what they are given, outbound HTTP only to allowed hosts, and
//! failures (a Spin API call that traps, a spinning handler) contained.

use bytes::Bytes;

use crate::support::{self, get, send};

const HOST: &str = "edge.execute-api.localhost";

fn api(allowed: &str) -> String {
    format!(
        r#"
version = 1
id = "edge"
name = "WASI HTTP"
type = "HTTP"
[[stages]]
name = "prod"

[[plugins]]
name = "spin"
file = "spin_hello.wasm"
world = "wasi-http"
allowed_outbound_hosts = [{allowed}]

[[plugins]]
name = "plain"
file = "wasi_http_handler.wasm"
world = "wasi-http"

[[routes]]
key = "ANY /spin/{{proxy+}}"
integration = {{ type = "WASI_HTTP", plugin = "spin" }}

[[routes]]
key = "ANY /{{proxy+}}"
integration = {{ type = "WASI_HTTP", plugin = "plain", timeout_ms = 1500 }}
"#
    )
}

#[tokio::test]
async fn spin_component_serves_get_and_post() {
    let client = support::client();
    // The component is given the whole route path after the stage: under `/spin/` it
    // sees `/spin/hello`, which it does not serve (its own 404, not the gateway's).
    let gw = support::gateway_with_plugins(&[&api("")]).await;
    let r = get(&client, gw.addr, HOST, "/prod/spin/hello").await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.text(), "not found");
    assert_eq!(r.header("x-handler"), Some("spin-hello"));

    // Mounted at the root, it gets the paths it serves.
    let gw2 = support::gateway_with_plugins(&[&root_api("spin_hello.wasm", "")]).await;
    let r = get(&client, gw2.addr, ROOT_HOST, "/prod/hello").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "hello from spin-sdk");
    assert_eq!(r.header("x-handler"), Some("spin-hello"));
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert!(r.header("x-amzn-requestid").is_some());

    let r = send(
        &client,
        gw2.addr,
        "POST",
        ROOT_HOST,
        "/prod/echo?a=1&b=two",
        &[
            ("content-type", "application/json"),
            ("x-forwarded-for", "203.0.113.9"),
            ("spin-path-info", "/spoofed"),
        ],
        Bytes::from_static(br#"{"items":["milk"]}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), r#"{"items":["milk"]}"#);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-seen-method"), Some("POST"));
    assert_eq!(r.header("x-seen-path"), Some("/echo"));
    assert_eq!(r.header("x-seen-query"), Some("a=1&b=two"));
    assert_eq!(
        r.header("x-seen-forwarded-for"),
        Some("203.0.113.9, 127.0.0.1")
    );
    // Spin's `spin-path-info`: the greedy part of the route, never the client's.
    assert_eq!(r.header("x-seen-path-info"), Some("/echo"));
}

const ROOT_HOST: &str = "root.execute-api.localhost";

/// An API whose only route hands every path to `file`.
fn root_api(file: &str, allowed: &str) -> String {
    format!(
        r#"
version = 1
id = "root"
name = "WASI HTTP at the root"
type = "REST"
[[stages]]
name = "prod"

[[plugins]]
name = "component"
file = "{file}"
world = "wasi-http"
allowed_outbound_hosts = [{allowed}]

[[routes]]
key = "ANY /{{proxy+}}"
integration = {{ type = "WASI_HTTP", plugin = "component", timeout_ms = 2000 }}
"#
    )
}

#[tokio::test]
async fn wasip2_handler_serves_get_and_post_with_the_route_path() {
    let gw = support::gateway_with_plugins(&[&api("")]).await;
    let client = support::client();
    let r = get(&client, gw.addr, HOST, "/prod/hello").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "hello from wasi:http");
    assert_eq!(r.header("x-handler"), Some("wasi-http-handler"));

    let body = vec![b'z'; 200_000];
    let r = send(
        &client,
        gw.addr,
        "POST",
        HOST,
        "/prod/echo",
        &[("content-type", "application/octet-stream")],
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(r.body.len(), body.len());
    assert!(r.body.iter().all(|b| *b == b'z'));

    // Its own 404 passes through as the integration's answer.
    let r = get(&client, gw.addr, HOST, "/prod/nothing-here").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "not found");
}

#[tokio::test]
async fn outbound_http_only_to_allowed_hosts() {
    let upstream = support::upstream().await;
    let allowed = format!("\"{}\"", upstream.addr);
    let client = support::client();
    for file in ["spin_hello.wasm", "wasi_http_handler.wasm"] {
        let gw = support::gateway_with_plugins(&[&root_api(file, &allowed)]).await;
        let path = format!("/prod/fetch?url=http://{}/from-{file}", upstream.addr);
        let r = get(&client, gw.addr, ROOT_HOST, &path).await;
        assert_eq!(r.status, 200, "{file}: {}", r.text());
        assert!(
            r.text().starts_with("upstream 200: "),
            "{file}: {}",
            r.text()
        );
        assert!(r.text().contains(&format!("/from-{file}")), "{}", r.text());

        // Same host by another name, and another port: both refused by the host.
        for other in ["localhost:1", "127.0.0.1:9"] {
            let path = format!("/prod/fetch?url=http://{other}/x");
            let r = get(&client, gw.addr, ROOT_HOST, &path).await;
            assert_eq!(r.status, 502, "{file}: {}", r.text());
            assert!(
                r.text().contains("HttpRequestDenied"),
                "{file}: the component is told it was denied: {}",
                r.text()
            );
        }
    }
    assert_eq!(
        upstream.hits.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "only the allowed requests reached the upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_contained() {
    let gw = support::gateway_with_plugins(&[&api(""), &root_api("spin_hello.wasm", "")]).await;
    let client = support::client();

    // A Spin platform API the gateway does not provide traps: 502, counted.
    let r = get(&client, gw.addr, ROOT_HOST, "/prod/variable").await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(r.json()["message"], "Internal server error");
    assert_eq!(r.header("x-amzn-errortype"), Some("IntegrationFailure"));

    // A handler that spins forever: 504 at the route's 1.5 s timeout, while other
    // requests keep being served.
    let spinning = {
        let client = client.clone();
        let addr = gw.addr;
        tokio::spawn(async move { get(&client, addr, HOST, "/prod/loop").await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let r = get(&client, gw.addr, HOST, "/prod/hello").await;
    assert_eq!(r.status, 200);
    assert!(!spinning.is_finished(), "served while the other call spins");
    let r = spinning.await.expect("joined");
    assert_eq!(r.status, 504, "{}", r.text());
    assert_eq!(r.json()["message"], "Endpoint request timed out");
    assert_eq!(r.header("x-amzn-errortype"), Some("IntegrationTimeout"));

    let r = get(&client, gw.addr, ROOT_HOST, "/prod/hello").await;
    assert_eq!(r.status, 200, "the spin component still serves");

    let metrics = gw.gateway.metrics().encode();
    for (plugin, kind) in [("component", "trap"), ("plain", "timeout")] {
        let line = metrics
            .lines()
            .find(|l| {
                l.starts_with("causeway_PluginErrorCount")
                    && l.contains(&format!("plugin=\"{plugin}\""))
                    && l.contains(&format!("kind=\"{kind}\""))
            })
            .unwrap_or_else(|| panic!("no {plugin}/{kind} error counted:\n{metrics}"));
        assert!(line.ends_with(" 1"), "{line}");
    }
}

/// GET `path` on a raw HTTP/1.1 connection: (milliseconds from the request until
/// `first` appeared, until the connection closed, everything read).
async fn timed(addr: std::net::SocketAddr, path: &str, first: &str) -> (u128, u128, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let started = std::time::Instant::now();
    let req = format!("GET {path} HTTP/1.1\r\nhost: {HOST}\r\nconnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let (mut text, mut seen) = (String::new(), None);
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    text.push_str(&String::from_utf8_lossy(&buf[..n]));
                    if seen.is_none() && text.contains(first) {
                        seen = Some(started.elapsed().as_millis());
                    }
                }
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .expect("the answer ends");
    let closed = started.elapsed().as_millis();
    (seen.unwrap_or(u128::MAX), closed, text)
}

/// The component's body reaches the client as it writes it: the first line long before
/// the last (written 2 × 400 ms later), in one chunked answer that ends cleanly.
#[tokio::test]
async fn responses_stream_as_the_component_writes() {
    let gw = support::gateway_with_plugins(&[&api("")]).await;
    let (first, closed, text) = timed(gw.addr, "/prod/stream?n=3&ms=400", "chunk 1").await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{text}"
    );
    assert!(
        text.contains("chunk 3\n") && text.ends_with("0\r\n\r\n"),
        "{text}"
    );
    // The last line is written ≥ 800 ms after the first; buffered, both would arrive at
    // once. (Half of that, for slow CI machines.)
    assert!(
        closed >= first + 400,
        "chunk 1 came at {first} ms, the end at {closed} ms: buffered, not streamed"
    );
}

/// After the status is sent, a trap or the route's timeout cut the answer: the client
/// sees it cut (no final chunk), never a complete-looking shorter body.
#[tokio::test]
async fn a_failure_mid_body_aborts_the_answer() {
    let gw = support::gateway_with_plugins(&[&api("")]).await;
    // (hyper had not flushed the head and first line when the trap came right after
    // them: the connection closes without them; either way, no clean end.)
    let (_, _, text) = timed(gw.addr, "/prod/stream-trap", "chunk 1").await;
    assert!(
        !text.ends_with("0\r\n\r\n"),
        "a trapped stream ended cleanly: {text}"
    );

    // 400 ms apart against the route's 1.5 s timeout: cut after chunk 4.
    let (_, closed, text) = timed(gw.addr, "/prod/stream?n=10&ms=400", "chunk 1").await;
    assert!(
        text.contains("chunk 3\n") && !text.contains("chunk 5"),
        "{text}"
    );
    assert!(
        !text.ends_with("0\r\n\r\n"),
        "a timed-out stream ended cleanly: {text}"
    );
    assert!(
        closed < 3_000,
        "cut at the timeout, not at the end: {closed} ms"
    );
    // The node goes on.
    let r = get(&support::client(), gw.addr, HOST, "/prod/hello").await;
    assert_eq!(r.status, 200);
}
