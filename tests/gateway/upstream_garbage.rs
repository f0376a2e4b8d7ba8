//! An upstream that answers garbage: mangled HTTP/1.1 responses (bad framing, truncated
//! or surplus bodies, broken chunking, odd headers) from a raw TCP upstream, through
//! HTTP_PROXY and HTTP integrations. The client always gets an HTTP/1.1 answer (the
//! upstream's when it is well formed, else 502 or 504), no thread panics, and the pooled
//! upstream connections are never left in a state that corrupts the next answer: after
//! every mangled round a well-formed one must come through byte for byte.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::{seeded, support};

const HOST: &str = "raw.execute-api.localhost";

/// Responses the upstream sends, one per request, well formed.
const SEEDS: [&[u8]; 5] = [
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nx-version: v1\r\n\r\n{\"ok\":true}",
    b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\nx-version: v2\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: t\r\n\r\n",
    b"HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\nconnection: keep-alive\r\n\r\nnot found",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
    b"HTTP/1.1 204 No Content\r\nx-version: v3\r\n\r\n",
];

/// The well-formed answer every control round expects.
const CONTROL: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\ncontrol";

/// A raw upstream: reads a request head, writes `next` (then closes the connection if
/// `close` is set), and serves the connection's next request the same way.
#[derive(Clone, Default)]
struct Raw {
    next: Arc<Mutex<(Vec<u8>, bool)>>,
}

impl Raw {
    fn set(&self, answer: &[u8], close: bool) {
        *self.next.lock().expect("lock") = (answer.to_vec(), close);
    }

    async fn start(&self) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let raw = self.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                tokio::spawn(raw.clone().serve(s));
            }
        });
        addr
    }

    async fn serve(self, mut s: TcpStream) {
        let mut buf = Vec::new();
        loop {
            // A request head (the gateway's requests here have no body).
            let head_end = loop {
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
                let mut chunk = [0u8; 4096];
                match s.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            };
            buf.drain(..head_end);
            let (answer, close) = self.next.lock().expect("lock").clone();
            if s.write_all(&answer).await.is_err() || close {
                return;
            }
        }
    }
}

/// One to three edits: a byte replaced by or inserted as a framing-significant one, a byte
/// removed, a line repeated, surplus bytes appended, or the tail cut off.
fn mangle(seed: &[u8], rng: &mut seeded::Rng) -> Vec<u8> {
    const BITS: &[u8] = b"\r\n: 0123456789abcdefxX;,\x00\xff";
    let mut bytes = seed.to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(bytes.len());
        let bit = BITS[rng.below(BITS.len())];
        match rng.below(6) {
            0 => bytes[at] = bit,
            1 => bytes.insert(at, bit),
            2 => {
                bytes.remove(at);
            }
            3 => {
                seeded::repeat_line(&mut bytes, at);
            }
            4 => bytes.extend_from_slice(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nextra"),
            _ => bytes.truncate(at.max(1)),
        }
    }
    bytes
}

/// `GET path` with `connection: close`; the whole answer.
async fn get(gateway: std::net::SocketAddr, path: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(gateway).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer))
        .await
        .expect("the gateway answers within 10 s")
        .expect("read");
    answer
}

fn status(answer: &[u8]) -> Option<u16> {
    std::str::from_utf8(answer.strip_prefix(b"HTTP/1.1 ")?.get(..3)?)
        .ok()?
        .parse()
        .ok()
}

/// A gateway whose routes go to `raw`: HTTP_PROXY under `/up/`, an HTTP integration at
/// `/mapped` (response parameters read the upstream's headers), 150 ms timeouts.
async fn raw_gateway(raw: &Raw) -> support::TestGateway {
    let up = raw.start().await;
    let api = format!(
        r#"
version = 1
id = "raw"
name = "Raw"
type = "REST"
[[stages]]
name = "prod"
[[routes]]
key = "ANY /up/{{proxy+}}"
integration = {{ type = "HTTP_PROXY", uri = "http://{up}/{{proxy}}", timeout_ms = 150 }}
[[routes]]
key = "GET /mapped"
[routes.integration]
type = "HTTP"
uri = "http://{up}/mapped"
timeout_ms = 150
response_parameters = {{ "method.response.header.x-version" = "integration.response.header.x-version" }}
"#
    );
    support::gateway(&[&api]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_from_an_upstream_is_a_502_or_passes_and_never_poisons_the_pool() {
    let panics = seeded::count_panics();

    let raw = Raw::default();
    let gw = raw_gateway(&raw).await;

    let mut rng = seeded::Rng(0xbad_5eed);
    let mut codes = std::collections::BTreeMap::<u16, usize>::new();
    for round in 0..400 {
        let answer = mangle(SEEDS[round % SEEDS.len()], &mut rng);
        raw.set(&answer, rng.below(4) == 0);
        let path = if round % 3 == 0 {
            "/prod/mapped"
        } else {
            "/prod/up/x"
        };
        let got = get(gw.addr, path).await;
        let code = status(&got).unwrap_or_else(|| {
            panic!(
                "round {round}: no HTTP/1.1 answer for upstream {:?}: {:?}",
                String::from_utf8_lossy(&answer),
                String::from_utf8_lossy(&got)
            )
        });
        *codes.entry(code).or_default() += 1;
        assert!(
            code != 500 && code != 503,
            "round {round}: {code} for upstream {:?}: {}",
            String::from_utf8_lossy(&answer),
            String::from_utf8_lossy(&got)
        );

        // Whatever the mangled answer left on a pooled connection, the next well-formed
        // one comes through whole.
        raw.set(CONTROL, false);
        let control = get(gw.addr, "/prod/up/control").await;
        assert!(
            control.starts_with(b"HTTP/1.1 200 OK\r\n") && control.ends_with(b"\r\n\r\ncontrol"),
            "round {round}: after upstream {:?} the next answer is {:?}",
            String::from_utf8_lossy(&answer),
            String::from_utf8_lossy(&control)
        );
    }
    assert_eq!(
        panics.load(Ordering::SeqCst),
        0,
        "an answer panicked a thread"
    );
    // Both kinds of outcome happened: answers passed on, and garbage refused.
    assert!(codes.get(&502).copied().unwrap_or(0) > 50, "{codes:?}");
    assert!(
        codes.range(200..300).map(|(_, n)| n).sum::<usize>() > 50,
        "{codes:?}"
    );
}

#[tokio::test]
async fn a_body_broken_before_a_byte_went_out_is_a_502_with_a_request_id() {
    let raw = Raw::default();
    let gw = raw_gateway(&raw).await;
    // The head is fine, the first chunk size is not (or the second chunk breaks while
    // the first is still gathered with the head): nothing had reached the client yet.
    for answer in [
        &b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"[..],
        b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nworld!!\r\n0\r\n\r\n",
    ] {
        raw.set(answer, false);
        let got = String::from_utf8(get(gw.addr, "/prod/up/x").await).expect("utf-8");
        assert!(got.starts_with("HTTP/1.1 502 Bad Gateway\r\n"), "{got}");
        assert!(got.contains("\r\nx-amzn-requestid: "), "{got}");
        assert!(got.contains("\r\nx-amzn-errortype: IntegrationFailure\r\n"), "{got}");
        assert!(got.ends_with("\r\n\r\n{\"message\":\"Internal server error\"}"), "{got}");
    }
}

#[tokio::test]
async fn an_upstream_that_stalls_mid_body_is_cut_off_after_the_timeout() {
    let raw = Raw::default();
    let gw = raw_gateway(&raw).await;
    // Three bytes of ten, and the upstream keeps the connection open without another.
    raw.set(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc", false);
    let mut s = TcpStream::connect(gw.addr).await.expect("connect");
    let request = format!("GET /prod/up/x HTTP/1.1\r\nHost: {HOST}\r\n\r\n");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut got = Vec::new();
    // Without the body timeout this read would wait as long as the upstream does.
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut got))
        .await
        .expect("the gateway gives up on the stalled body within 5 s");
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
    assert!(
        got.ends_with("\r\n\r\nabc"),
        "what arrived was passed on: {got}"
    );
}
