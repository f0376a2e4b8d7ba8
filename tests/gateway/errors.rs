//! Error shapes: every failure answers as API Gateway does, with a request id.

use std::time::Duration;

use crate::support::{self, get, send};

fn api(upstream: &str, kind: &str) -> String {
    format!(
        r#"
version = 1
id = "errs"
name = "Errors"
type = "{kind}"
[[stages]]
name = "prod"
[[routes]]
key = "GET /slow"
integration = {{ type = "HTTP_PROXY", uri = "{upstream}/slow", timeout_ms = 100 }}
[[routes]]
key = "ANY /up/{{proxy+}}"
integration = {{ type = "HTTP_PROXY", uri = "{upstream}/{{proxy}}" }}
"#
    )
}

const HOST: &str = "errs.execute-api.localhost";

fn assert_error(r: &support::Reply, status: u16, message: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.json()["message"], message);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(
        r.header("x-amzn-requestid").is_some(),
        "every response carries a request id"
    );
    assert!(r.header("x-amzn-errortype").is_some());
}

/// Read from `s` until a whole response head has arrived (and whatever came with it),
/// within `within`.
async fn read_head(s: &mut (impl tokio::io::AsyncRead + Unpin), within: Duration) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 4096];
    let read = async {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut chunk).await.expect("read");
            assert!(n > 0, "closed before the head: {buf:?}");
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(within, read)
        .await
        .expect("the head in time");
    buf
}

#[tokio::test]
async fn unknown_route_rest_403_http_404() {
    let rest = support::gateway(&[&api("http://127.0.0.1:9", "REST")]).await;
    let http = support::gateway(&[&api("http://127.0.0.1:9", "HTTP")]).await;
    let c = support::client();
    assert_error(
        &get(&c, rest.addr, HOST, "/prod/nope").await,
        403,
        "Missing Authentication Token",
    );
    assert_error(
        &send(&c, rest.addr, "POST", HOST, "/prod/slow", &[], "").await,
        403,
        "Missing Authentication Token",
    );
    assert_error(
        &get(&c, http.addr, HOST, "/prod/nope").await,
        404,
        "Not Found",
    );
    let r = get(&c, rest.addr, "nobody.example.test", "/prod/x").await;
    assert_eq!(r.status, 404);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap_or("")
            .contains("execute-api.localhost"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn integration_timeout_is_504_and_node_keeps_serving() {
    let up = support::upstream().await;
    let gw = support::gateway(&[&api(&up.url(), "REST")]).await;
    let c = support::client();
    let started = std::time::Instant::now();
    assert_error(
        &get(&c, gw.addr, HOST, "/prod/slow").await,
        504,
        "Endpoint request timed out",
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(get(&c, gw.addr, HOST, "/prod/up/ok").await.status, 200);
}

#[tokio::test]
async fn refused_and_reset_upstreams_are_502() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let gw = support::gateway(&[&api(&dead, "REST")]).await;
    let c = support::client();
    assert_error(
        &get(&c, gw.addr, HOST, "/prod/up/x").await,
        502,
        "Internal server error",
    );

    let up = support::upstream().await;
    let gw = support::gateway(&[&api(&up.url(), "REST")]).await;
    assert_error(
        &get(&c, gw.addr, HOST, "/prod/up/close").await,
        502,
        "Internal server error",
    );
}

#[tokio::test]
async fn body_over_10_mb_is_413() {
    let up = support::upstream().await;
    let gw = support::gateway(&[&api(&up.url(), "REST")]).await;
    let c = support::client();
    let big = vec![b'a'; 10 * 1024 * 1024 + 1];
    assert_error(
        &send(&c, gw.addr, "POST", HOST, "/prod/up/echo", &[], big).await,
        413,
        "Request Too Long",
    );
    let ok = vec![b'a'; 1024 * 1024];
    assert_eq!(
        send(&c, gw.addr, "POST", HOST, "/prod/up/echo", &[], ok)
            .await
            .status,
        200
    );
}

/// A chunked body declares no length: the 10 MB limit is counted as it streams.
#[tokio::test]
async fn chunked_body_over_10_mb_is_413() {
    use tokio::io::AsyncWriteExt;
    let up = support::upstream().await;
    let gw = support::gateway(&[&api(&up.url(), "REST")]).await;
    let conn = tokio::net::TcpStream::connect(gw.addr)
        .await
        .expect("connect");
    let (mut rd, mut wr) = conn.into_split();
    let writer = tokio::spawn(async move {
        let head = format!(
            "POST /prod/up/echo HTTP/1.1\r\nhost: {HOST}\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        wr.write_all(head.as_bytes()).await?;
        let chunk = vec![b'a'; 1024 * 1024];
        for _ in 0..11 {
            wr.write_all(b"100000\r\n").await?;
            wr.write_all(&chunk).await?;
            wr.write_all(b"\r\n").await?;
        }
        wr.write_all(b"0\r\n\r\n").await
    });
    let answer = read_head(&mut rd, Duration::from_secs(30)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413 "), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("x-amzn-requestid:"),
        "{text}"
    );
    // The writer may finish or be cut off when the gateway closes; either is fine.
    let _ = writer.await;
}

#[tokio::test]
async fn header_block_over_limit_is_431() {
    let gw = support::gateway(&[&api("http://127.0.0.1:9", "REST")]).await;
    let c = support::client();
    let big = "v".repeat(11_000);
    assert_error(
        &send(
            &c,
            gw.addr,
            "GET",
            HOST,
            "/prod/up/x",
            &[("x-big", &big)],
            "",
        )
        .await,
        431,
        "Request Header Fields Too Large",
    );
    // The limit is API Gateway's "total combined size of request line and header values":
    // a long query and a long field, each under it, are over it together.
    let (query, field) = ("q".repeat(6_000), "v".repeat(5_000));
    let path = format!("/prod/up/x?q={query}");
    let over = send(&c, gw.addr, "GET", HOST, &path, &[("x-big", &field)], "").await;
    assert_error(&over, 431, "Request Header Fields Too Large");
    // Each alone is served (here: the upstream refuses, 502).
    let line = send(&c, gw.addr, "GET", HOST, &path, &[], "").await;
    assert_eq!(line.status, 502, "{}", line.text());
    let fields = send(
        &c,
        gw.addr,
        "GET",
        HOST,
        "/prod/up/x",
        &[("x-big", &field)],
        "",
    )
    .await;
    assert_eq!(fields.status, 502, "{}", fields.text());
}

#[tokio::test]
async fn malformed_request_line_is_400() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let gw = support::gateway(&[&api("http://127.0.0.1:9", "REST")]).await;
    let mut s = tokio::net::TcpStream::connect(gw.addr)
        .await
        .expect("connect");
    s.write_all(b"GARBAGE\x01 / HTTP/9.9\r\n\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    let head = String::from_utf8_lossy(&buf);
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    // hyper answers this one by itself; it still carries a request id.
    let id = head
        .lines()
        .find_map(|l| l.strip_prefix("x-amzn-requestid: "))
        .unwrap_or_else(|| panic!("no request id in {head}"));
    assert_eq!(id.len(), 36, "{id}");
    // And the body every other error has, framed by its length.
    let body = r#"{"message":"Bad Request"}"#;
    assert!(head.ends_with(&format!("\r\n\r\n{body}")), "{head}");
    assert!(
        head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())),
        "{head}"
    );
    assert!(
        head.contains("\r\ncontent-type: application/json\r\n"),
        "{head}"
    );
    // A header block past hyper's 64 KiB read buffer: hyper's own 431, with an id too.
    let mut s = tokio::net::TcpStream::connect(gw.addr)
        .await
        .expect("connect");
    let big = format!(
        "GET /prod/x HTTP/1.1\r\nhost: {HOST}\r\nx-big: {}\r\n\r\n",
        "b".repeat(70 * 1024)
    );
    let _ = s.write_all(big.as_bytes()).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    let head = String::from_utf8_lossy(&buf);
    assert!(head.starts_with("HTTP/1.1 431"), "{head}");
    assert!(head.contains("\r\nx-amzn-requestid: "), "{head}");
    assert!(
        head.ends_with(r#"{"message":"Request Header Fields Too Large"}"#),
        "{head}"
    );
    // The node is still up.
    let r = get(&support::client(), gw.addr, HOST, "/prod/nope").await;
    assert_eq!(r.status, 403);
}

/// A client may shut down its sending side once the request is out (`shutdown(SHUT_WR)`,
/// `curl --http1.1` behind some proxies, netcat): it still gets its answer, here the
/// 502 of an upstream that refuses.
#[tokio::test]
async fn half_closed_client_still_gets_the_answer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let gw = support::gateway(&[&api("http://127.0.0.1:9", "REST")]).await;
    let mut s = tokio::net::TcpStream::connect(gw.addr)
        .await
        .expect("connect");
    let req = format!("GET /prod/up/x HTTP/1.1\r\nhost: {HOST}\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    s.shutdown().await.expect("half-close");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 502"), "{text:?}");
    assert!(text.contains("\r\nx-amzn-requestid: "), "{text}");
}

/// Answers hyper writes by itself get a request id and a JSON body patched in; a proxied body that quotes
/// an HTTP error answer, arriving in its own write, is passed through byte for byte.
#[tokio::test]
async fn a_body_that_looks_like_an_error_answer_is_not_patched() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const QUOTED: &[u8] = b"HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\n\r\n";
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let up_addr = upstream.local_addr().expect("addr");
    // The body is sent once the client has the head: a later, separate write through the
    // gateway. The upstream holds the connection until the client is done.
    let (head_seen, body_due) = tokio::sync::oneshot::channel::<()>();
    let (done, hold) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let Ok((mut s, _)) = upstream.accept().await else {
            return;
        };
        let mut req = vec![0_u8; 4096];
        let _ = s.read(&mut req).await;
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
            QUOTED.len()
        );
        let _ = s.write_all(head.as_bytes()).await;
        let _ = body_due.await;
        let _ = s.write_all(QUOTED).await;
        let _ = s.flush().await;
        let _ = hold.await;
    });
    let gw = support::gateway(&[&api(&format!("http://{up_addr}"), "HTTP")]).await;
    let mut s = tokio::net::TcpStream::connect(gw.addr)
        .await
        .expect("connect");
    let req = format!("GET /prod/up/x HTTP/1.1\r\nhost: {HOST}\r\nconnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = read_head(&mut s, Duration::from_secs(5)).await;
    let _ = head_seen.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    let _ = done.send(());
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert!(
        buf.ends_with(b"\r\n\r\nHTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\n\r\n"),
        "{text:?}"
    );
    assert_eq!(
        text.matches("x-amzn-requestid").count(),
        1,
        "only the gateway's own head has an id: {text:?}"
    );
}

/// A client that does not finish its request head within `header_read_timeout_ms` is
/// disconnected (slow-header attacks, idle keep-alive connections); one that finishes in
/// time is served.
#[tokio::test]
async fn slow_request_heads_time_out() {
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut node = causeway_model::NodeConfig::default();
    node.node.header_read_timeout_ms = 400;
    let gw = support::gateway_with(node, &[&api("http://127.0.0.1:9", "REST")]).await;
    // Half a head, then nothing.
    let started = Instant::now();
    let mut s = tokio::net::TcpStream::connect(gw.addr)
        .await
        .expect("connect");
    s.write_all(format!("GET /prod/nope HTTP/1.1\r\nhost: {HOST}\r\n").as_bytes())
        .await
        .expect("write");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    let waited = started.elapsed();
    assert!(read.is_ok(), "still open after 10 s");
    assert!(
        waited >= Duration::from_millis(400),
        "closed after {waited:?}"
    );
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || (text.starts_with("HTTP/1.1 408") && text.contains("x-amzn-requestid")),
        "{text:?}"
    );
    // An idle keep-alive connection is closed the same way, after its answer.
    let mut s = tokio::net::TcpStream::connect(gw.addr)
        .await
        .expect("connect");
    s.write_all(format!("GET /prod/nope HTTP/1.1\r\nhost: {HOST}\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "idle connection still open after 10 s");
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 403"));
    // A head sent in pieces that completes in time is answered.
    let mut s = tokio::net::TcpStream::connect(gw.addr)
        .await
        .expect("connect");
    s.write_all(b"GET /prod/nope HTTP/1.1\r\n")
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(150)).await;
    s.write_all(format!("host: {HOST}\r\nconnection: close\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 403"), "{text:?}");
}
