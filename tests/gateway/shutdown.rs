//! Stopping the listener drains: a request in flight is answered, an idle keep-alive
//! connection is closed at once, and `serve` returns when the last connection has ended.

use std::sync::atomic::Ordering;
use std::time::Duration;

use causeway_gateway::Gateway;
use causeway_model::NodeConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{self, get};

const HOST: &str = "drain.execute-api.localhost";

fn api(upstream: &str) -> String {
    format!(
        r#"
version = 1
id = "drain"
name = "Drain"
type = "REST"
[[stages]]
name = "prod"

[[routes]]
key = "GET /ping"
integration = {{ type = "MOCK", body = "pong" }}

[[routes]]
key = "ANY /{{proxy+}}"
integration = {{ type = "HTTP_PROXY", uri = "{upstream}/{{proxy}}" }}
"#
    )
}

#[tokio::test]
async fn shutdown_answers_requests_in_flight_and_closes_idle_connections() {
    let upstream = support::upstream().await;
    let gateway = Gateway::new(&NodeConfig::default());
    gateway.publish(
        support::bindings(&support::parse_api(&api(&upstream.url()))),
        &[],
    );
    let served = support::serve(&gateway).await;
    let addr = served.addr;

    // A keep-alive connection that has been answered once and then sends nothing.
    let mut idle = tokio::net::TcpStream::connect(addr).await.expect("connect");
    idle.write_all(format!("GET /prod/ping HTTP/1.1\r\nHost: {HOST}\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.ends_with(b"pong") {
        let n = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut buf))
            .await
            .expect("answer within 5 s")
            .expect("read");
        assert!(
            n > 0,
            "closed before the answer: {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(
        seen.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&seen)
    );

    // A request the upstream takes 1.5 s to answer, in flight when the drain starts.
    let hits = upstream.hits.load(Ordering::SeqCst);
    let mut slow =
        tokio::spawn(
            async move { get(&support::client(), addr, HOST, "/prod/slow?ms=1500").await },
        );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while upstream.hits.load(Ordering::SeqCst) == hits {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slow request never reached the upstream"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    served.stop.send(()).expect("stop");

    // The idle connection is closed first: it does not wait for the slow answer.
    tokio::select! {
        biased;
        read = idle.read(&mut buf) => {
            let n = read.expect("read");
            assert_eq!(n, 0, "{:?}", String::from_utf8_lossy(&buf[..n]));
        }
        _ = &mut slow => panic!("the idle connection was still open after the slow answer"),
    }

    let reply = slow.await.expect("slow request task");
    assert_eq!(reply.status, 200, "{}", reply.text());
    tokio::time::timeout(Duration::from_secs(5), served.done)
        .await
        .expect("serve returns once drained")
        .expect("serve task")
        .expect("serve");
    // Nothing is served any more.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
