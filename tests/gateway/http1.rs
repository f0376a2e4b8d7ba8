//! The listener's HTTP/1.1, spoken raw over TCP: pipelining, framing, `connection:
//! close`, HEAD, requests split into pieces, and the requests the listener's fast path
//! hands to hyper (HTTP/1.0, chunked bodies) on a connection it started serving.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{self, TestGateway};

const HOST: &str = "wire.execute-api.localhost";

fn api(upstream: &str) -> String {
    format!(
        r#"
version = 1
id = "wire"
name = "Wire"
type = "REST"
[[stages]]
name = "prod"
[[routes]]
key = "GET /a"
integration = {{ type = "MOCK", status = 200, body = "first" }}
[[routes]]
key = "GET /b"
integration = {{ type = "MOCK", status = 201, body = "second!" }}
[[routes]]
key = "GET /bye"
integration = {{ type = "MOCK", status = 200, body = "bye", headers = {{ "connection" = "close" }} }}
[[routes]]
key = "GET /large"
integration = {{ type = "MOCK", status = 200, body = "{large}" }}
[[routes]]
key = "ANY /up/{{proxy+}}"
integration = {{ type = "HTTP_PROXY", uri = "{upstream}/{{proxy}}" }}
"#,
        large = "y".repeat(LARGE)
    )
}

/// A MOCK body longer than what the listener gathers before writing (64 KiB).
const LARGE: usize = 70_000;

async fn wire(node: Option<causeway_model::NodeConfig>) -> (TestGateway, support::Upstream) {
    let up = support::upstream().await;
    let api = api(&up.url());
    let gw = match node {
        Some(node) => support::gateway_with(node, &[&api]).await,
        None => support::gateway(&[&api]).await,
    };
    (gw, up)
}

/// Send `pieces` (with `pause` between them) on one connection and read until it closes.
async fn exchange(gw: &TestGateway, pieces: &[&[u8]], pause: Duration) -> String {
    let mut s = TcpStream::connect(gw.addr).await.expect("connect");
    for piece in pieces {
        s.write_all(piece).await.expect("write");
        tokio::time::sleep(pause).await;
    }
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .expect("the connection closes after `connection: close`")
        .expect("read");
    String::from_utf8_lossy(&buf).into_owned()
}

/// The answers in `text`, each as (head, body), split by their `content-length`.
fn answers(mut text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while !text.is_empty() {
        let (head, rest) = text.split_once("\r\n\r\n").expect("a whole head");
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .map_or(0, |n| n.parse().expect("length"));
        out.push((head.to_owned(), rest[..len].to_owned()));
        text = &rest[len..];
    }
    out
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_and_close_ends_the_connection() {
    let (gw, _up) = wire(None).await;
    let requests = format!(
        "GET /prod/a HTTP/1.1\r\nHost: {HOST}\r\n\r\n\
         POST /prod/up/echo HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 5\r\n\r\nhello\
         GET /prod/b HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
    );
    let text = exchange(&gw, &[requests.as_bytes()], Duration::ZERO).await;
    let got = answers(&text);
    assert_eq!(got.len(), 3, "{text}");
    assert!(got[0].0.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert_eq!(got[0].1, "first");
    assert!(got[1].0.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    let echo: serde_json::Value = serde_json::from_str(&got[1].1).expect("echo");
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["body"], "hello");
    assert!(got[2].0.starts_with("HTTP/1.1 201 Created\r\n"), "{text}");
    assert!(got[2].0.contains("\r\nconnection: close"), "{text}");
    assert_eq!(got[2].1, "second!");
    for (head, _) in &got {
        assert!(head.contains("\r\nx-amzn-requestid: "), "{head}");
        assert!(head.contains("\r\ndate: "), "{head}");
        assert_eq!(head.matches("content-length").count(), 1, "{head}");
    }
}

#[tokio::test]
async fn a_target_the_fast_path_refuses_late_is_a_400_and_its_body_stays_a_body() {
    let (gw, _up) = wire(None).await;
    // httparse takes `<` in a target, the `http` crate does not: the listener finds out
    // after splitting the head off, and hyper answers from the whole connection. The
    // body must not be read as a second request (it would reach `/prod/a`).
    let smuggled = format!("GET /prod/a HTTP/1.1\r\nHost: {HOST}\r\n\r\n");
    let requests = format!(
        "POST /prod/a<b HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {}\r\n\r\n{smuggled}",
        smuggled.len()
    );
    let text = exchange(&gw, &[requests.as_bytes()], Duration::ZERO).await;
    assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
    assert!(
        !text.contains("first"),
        "the body was served as a request: {text}"
    );
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
}

/// The host a request is routed by is the one every proxy in front would agree on: an
/// absolute-form target's authority over `Host` (RFC 9112 §3.2.2), and no guess between
/// two `Host` fields or for an HTTP/1.1 request with none (400, as nginx answers).
#[tokio::test]
async fn the_host_is_the_targets_and_two_or_none_are_refused() {
    let (gw, _up) = wire(None).await;
    let requests = format!(
        "GET http://{HOST}/prod/a HTTP/1.1\r\nHost: other.execute-api.localhost\r\n\r\n\
         GET /prod/a HTTP/1.1\r\nHost: {HOST}\r\nHost: other.execute-api.localhost\r\n\r\n\
         GET /prod/a HTTP/1.1\r\nConnection: close\r\n\r\n"
    );
    let text = exchange(&gw, &[requests.as_bytes()], Duration::ZERO).await;
    let got = answers(&text);
    assert_eq!(got.len(), 3, "{text}");
    assert!(got[0].0.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert_eq!(got[0].1, "first", "routed by the target's authority");
    for ((head, body), why) in got[1..]
        .iter()
        .zip(["Multiple Host headers", "Missing Host header"])
    {
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
        let body: serde_json::Value = serde_json::from_str(body).expect("JSON");
        let message = body["message"].as_str().expect("message");
        assert!(message.starts_with(why), "{message}");
    }
}

/// A request framed two ways (`Content-Length` and `Transfer-Encoding`, in either order)
/// is refused with 400 and its connection closed, as Envoy and nginx do (RFC 9112 §6.1
/// allows reading it as chunked; a proxy in front that went by the length would see
/// another request boundary). Once hyper serves a connection (after a chunked request),
/// it reads such a request as chunked and closes after it: either way, what follows on
/// the connection is never served.
#[tokio::test]
async fn a_request_framed_two_ways_is_refused_and_its_connection_closed() {
    let (gw, _up) = wire(None).await;
    let smuggled = format!("GET /prod/b HTTP/1.1\r\nHost: {HOST}\r\n\r\n");
    for framing in [
        "Content-Length: 5\r\nTransfer-Encoding: chunked",
        "Transfer-Encoding: chunked\r\nContent-Length: 5",
        "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\nContent-Length: 5",
    ] {
        let requests = format!(
            "POST /prod/up/echo HTTP/1.1\r\nHost: {HOST}\r\n{framing}\r\n\r\n\
             5\r\nhello\r\n0\r\n\r\n{smuggled}"
        );
        let text = exchange(&gw, &[requests.as_bytes()], Duration::ZERO).await;
        assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{framing}: {text}");
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
        assert!(text.contains("\r\nconnection: close\r\n"), "{text}");
        assert!(text.contains("\r\nx-amzn-requestid: "), "{text}");
        assert!(
            text.contains("Content-Length and Transfer-Encoding both present"),
            "{text}"
        );
        assert!(
            !text.contains("second!"),
            "the smuggled request was served: {text}"
        );
    }
    // hyper's turn: a chunked request first hands the connection to it.
    let requests = format!(
        "POST /prod/up/echo HTTP/1.1\r\nHost: {HOST}\r\nTransfer-Encoding: chunked\r\n\r\n\
         2\r\nhi\r\n0\r\n\r\n\
         POST /prod/up/echo HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 5\r\n\
         Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n{smuggled}"
    );
    let text = exchange(&gw, &[requests.as_bytes()], Duration::ZERO).await;
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
    assert!(
        text.contains(r#""body":"hello""#),
        "read as chunked: {text}"
    );
    assert!(text.contains("\r\nconnection: close\r\n"), "{text}");
    assert!(
        !text.contains("second!"),
        "the smuggled request was served: {text}"
    );
}

#[tokio::test]
async fn a_head_sent_a_few_bytes_at_a_time_is_served() {
    let (gw, _up) = wire(None).await;
    let request = format!("GET /prod/b HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n");
    let pieces: Vec<&[u8]> = request.as_bytes().chunks(7).collect();
    let text = exchange(&gw, &pieces, Duration::from_millis(5)).await;
    assert!(text.starts_with("HTTP/1.1 201 Created\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nsecond!"), "{text}");
}

#[tokio::test]
async fn head_answers_keep_the_length_and_send_no_body() {
    let (gw, _up) = wire(None).await;
    let requests = format!(
        "HEAD /prod/up/anything HTTP/1.1\r\nHost: {HOST}\r\n\r\n\
         GET /prod/a HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
    );
    let text = exchange(&gw, &[requests.as_bytes()], Duration::ZERO).await;
    let (head, rest) = text.split_once("\r\n\r\n").expect("a head");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "));
    assert!(length.is_some_and(|n| n != "0"), "the GET's length: {text}");
    // The answer to the next request follows the HEAD answer's head directly.
    assert!(rest.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(rest.ends_with("\r\n\r\nfirst"), "{text}");
}

#[tokio::test]
async fn http_1_0_and_chunked_requests_are_served_after_fast_ones_on_one_connection() {
    let (gw, _up) = wire(None).await;
    // A fast-path request, then a chunked body (hyper takes the connection over), then
    // another request that hyper serves.
    let requests = format!(
        "GET /prod/a HTTP/1.1\r\nHost: {HOST}\r\n\r\n\
         POST /prod/up/echo HTTP/1.1\r\nHost: {HOST}\r\nTransfer-Encoding: chunked\r\n\r\n\
         3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n\
         GET /prod/b HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
    );
    let text = exchange(&gw, &[requests.as_bytes()], Duration::ZERO).await;
    let got = answers(&text);
    assert_eq!(got.len(), 3, "{text}");
    assert_eq!(got[0].1, "first");
    let echo: serde_json::Value = serde_json::from_str(&got[1].1).expect("echo");
    assert_eq!(echo["body"], "abcde");
    assert!(got[2].0.starts_with("HTTP/1.1 201 Created\r\n"), "{text}");
    assert_eq!(got[2].1, "second!");

    // HTTP/1.0 (no keep-alive asked for): answered, then closed.
    let text = exchange(
        &gw,
        &[format!("GET /prod/b HTTP/1.0\r\nHost: {HOST}\r\n\r\n").as_bytes()],
        Duration::ZERO,
    )
    .await;
    assert!(text.starts_with("HTTP/1.0 201 Created\r\n"), "{text}");
    assert!(text.ends_with("second!"), "{text}");
}

#[tokio::test]
async fn a_small_body_over_the_node_limit_is_413() {
    let mut node = causeway_model::NodeConfig::default();
    node.node.max_body_bytes = 8;
    let (gw, up) = wire(Some(node)).await;
    let requests = format!(
        "POST /prod/up/echo HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 9\r\n\r\n123456789\
         POST /prod/up/echo HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 8\r\nConnection: close\r\n\r\n12345678"
    );
    let text = exchange(&gw, &[requests.as_bytes()], Duration::ZERO).await;
    let got = answers(&text);
    assert_eq!(got.len(), 2, "{text}");
    assert!(got[0].0.starts_with("HTTP/1.1 413 "), "{text}");
    assert!(got[1].0.starts_with("HTTP/1.1 200 "), "{text}");
    assert_eq!(
        up.hits.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the refused body never reached the upstream"
    );
}

#[tokio::test]
async fn a_large_answer_keeps_its_framing_for_the_next_one() {
    let (gw, _up) = wire(None).await;
    // A streamed upstream answer, then one written whole from a single large piece.
    let requests = format!(
        "GET /prod/up/big?bytes=300000 HTTP/1.1\r\nHost: {HOST}\r\n\r\n\
         GET /prod/large HTTP/1.1\r\nHost: {HOST}\r\n\r\n\
         GET /prod/a HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
    );
    let text = exchange(&gw, &[requests.as_bytes()], Duration::ZERO).await;
    let got = answers(&text);
    assert_eq!(got.len(), 3, "{}", &text[..200.min(text.len())]);
    assert!(got[0].0.starts_with("HTTP/1.1 200 OK\r\n"), "{}", got[0].0);
    assert_eq!(got[0].1.len(), 300_000);
    assert!(got[0].1.bytes().all(|b| b == b'x'));
    assert!(got[1].0.starts_with("HTTP/1.1 200 OK\r\n"), "{}", got[1].0);
    assert_eq!(got[1].1.len(), LARGE);
    assert!(got[1].1.bytes().all(|b| b == b'y'));
    assert_eq!(got[2].1, "first");
}

#[tokio::test]
async fn an_answer_saying_connection_close_ends_the_connection() {
    let (gw, _up) = wire(None).await;
    // No `connection: close` from the client: the answer's own field closes it, and the
    // request after it is never answered.
    let requests = format!(
        "GET /prod/bye HTTP/1.1\r\nHost: {HOST}\r\n\r\n\
         GET /prod/a HTTP/1.1\r\nHost: {HOST}\r\n\r\n"
    );
    let text = exchange(&gw, &[requests.as_bytes()], Duration::ZERO).await;
    let got = answers(&text);
    assert_eq!(got.len(), 1, "{text}");
    assert!(got[0].0.contains("\r\nconnection: close\r\n"), "{text}");
    assert_eq!(got[0].1, "bye");
}

/// An answer that closes the connection is not lost to a reset when the client sent
/// more than the gateway read, even for a client that reads only once it has written
/// everything (as HTTP clients that send a whole body first do): the rest is read and
/// dropped before the socket closes.
#[tokio::test]
async fn a_closing_answer_survives_requests_the_gateway_never_read() {
    let (gw, _up) = wire(None).await;
    let mut s = TcpStream::connect(gw.addr).await.expect("connect");
    let bye = format!("GET /prod/bye HTTP/1.1\r\nHost: {HOST}\r\n\r\n");
    let more = format!("GET /prod/a HTTP/1.1\r\nHost: {HOST}\r\n\r\n").repeat(400_000);
    s.write_all(bye.as_bytes()).await.expect("write");
    tokio::time::timeout(Duration::from_secs(10), s.write_all(more.as_bytes()))
        .await
        .expect("the gateway keeps reading")
        .expect("written in full, not reset");
    s.shutdown().await.expect("shutdown");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .expect("the connection closes");
    let text = String::from_utf8_lossy(&buf);
    assert!(read.is_ok(), "{read:?} after {text:?}");
    let got = answers(&text);
    assert_eq!(got.len(), 1, "{text}");
    assert_eq!(got[0].1, "bye");
}

/// Lingering is bounded: a client that keeps sending after a closing answer still gets
/// that answer, and the connection is closed under it within the lingering time (5 s).
#[tokio::test]
async fn a_client_that_never_stops_sending_is_cut_off_after_lingering() {
    let (gw, _up) = wire(None).await;
    let s = TcpStream::connect(gw.addr).await.expect("connect");
    let (mut r, mut w) = s.into_split();
    let bye = format!("GET /prod/bye HTTP/1.1\r\nHost: {HOST}\r\n\r\n");
    w.write_all(bye.as_bytes()).await.expect("write");
    let trickle = tokio::spawn(async move {
        // Until the gateway closes (a write then fails) or far past the lingering time.
        for _ in 0..300 {
            if w.write_all(b"x").await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    });
    // The answer, then the gateway's FIN (it shuts its side at once, then lingers).
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), r.read_to_end(&mut buf))
        .await
        .expect("the answer and a FIN")
        .expect("read");
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nbye"), "{text}");
    // A write fails once the gateway has closed the socket; 30 s of trickling without a
    // failure would mean it lingers without bound.
    assert!(
        trickle.await.expect("trickle"),
        "still lingering after 30 s"
    );
}

/// A body that stops coming does not hold the connection: after the header-read timeout
/// without a byte the connection closes unanswered; a body sent in pieces with shorter
/// pauses is answered.
#[tokio::test]
async fn a_stalled_body_is_dropped_and_a_slow_one_is_served() {
    let mut node = causeway_model::NodeConfig::default();
    node.node.header_read_timeout_ms = 400;
    let (gw, up) = wire(Some(node)).await;
    let head = format!("POST /prod/up/echo HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 9\r\n\r\n");

    let started = std::time::Instant::now();
    let text = exchange(&gw, &[head.as_bytes(), b"123"], Duration::ZERO).await;
    let waited = started.elapsed();
    assert!(text.is_empty(), "a stalled body is not answered: {text}");
    assert!(
        waited >= Duration::from_millis(400),
        "closed after {waited:?}"
    );
    assert_eq!(up.hits.load(std::sync::atomic::Ordering::SeqCst), 0);

    let head = head.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
    let pieces: [&[u8]; 4] = [head.as_bytes(), b"123", b"456", b"789"];
    let text = exchange(&gw, &pieces, Duration::from_millis(150)).await;
    let got = answers(&text);
    assert_eq!(got.len(), 1, "{text}");
    let echo: serde_json::Value = serde_json::from_str(&got[0].1).expect("echo");
    assert_eq!(echo["body"], "123456789");
}

/// Connections spread over two per-core workers (the default), and over one work-stealing
/// pool (`node.work_stealing`), are all served, proxied requests included.
#[tokio::test]
async fn connections_are_served_by_workers_and_by_a_work_stealing_pool() {
    for (work_stealing, yield_when_idle) in [(false, false), (false, true), (true, false)] {
        let mut node = causeway_model::NodeConfig::default();
        node.node.worker_threads = 2;
        node.node.work_stealing = work_stealing;
        node.node.yield_when_idle = yield_when_idle;
        let (gw, up) = wire(Some(node)).await;
        let requests = format!(
            "GET /prod/a HTTP/1.1\r\nHost: {HOST}\r\n\r\n\
             GET /prod/up/one HTTP/1.1\r\nHost: {HOST}\r\n\r\n\
             GET /prod/up/two HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
        );
        let pieces = [requests.as_bytes()];
        let clients = (0..6).map(|_| exchange(&gw, &pieces, Duration::ZERO));
        for text in futures_util::future::join_all(clients).await {
            let got = answers(&text);
            assert_eq!(
                got.len(),
                3,
                "work_stealing = {work_stealing}, yield_when_idle = {yield_when_idle}: {text}"
            );
            assert_eq!(got[0].1, "first");
            assert!(got[2].1.contains("\"/two\""), "{text}");
        }
        assert_eq!(up.hits.load(std::sync::atomic::Ordering::SeqCst), 12);
    }
}
