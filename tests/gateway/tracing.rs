//! Traces: spans arrive at a real OTLP/HTTP receiver (started here, standing for a
//! collector) as children of the client's `traceparent`, and the integration receives a
//! `traceparent` of the same trace.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use crate::support::{self, send};

/// Every span the receiver got: (traceId, spanId, parentSpanId, name).
type Spans = Arc<Mutex<Vec<(String, String, String, String)>>>;

async fn otlp_receiver() -> (std::net::SocketAddr, Spans) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let spans: Spans = Arc::default();
    let store = spans.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let store = store.clone();
                    async move {
                        let path = req.uri().path().to_owned();
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        if path == "/v1/traces" {
                            let v: serde_json::Value =
                                serde_json::from_slice(&body).unwrap_or_default();
                            let mut out = store.lock().expect("lock");
                            for rs in v["resourceSpans"].as_array().into_iter().flatten() {
                                for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                                    for s in ss["spans"].as_array().into_iter().flatten() {
                                        let f = |k: &str| s[k].as_str().unwrap_or("").to_owned();
                                        out.push((
                                            f("traceId"),
                                            f("spanId"),
                                            f("parentSpanId"),
                                            f("name"),
                                        ));
                                    }
                                }
                            }
                        }
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from_static(b"{}"),
                        )))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, spans)
}

#[tokio::test]
async fn spans_reach_the_collector_with_the_clients_parent() {
    let (collector, spans) = otlp_receiver().await;
    let up = support::upstream().await;
    let mut node = causeway_model::NodeConfig::default();
    node.tracing.otlp_endpoint = Some(format!("http://{collector}"));
    let api = format!(
        r#"
version = 1
id = "traced"
name = "Traced"
type = "REST"
[[stages]]
name = "prod"
[[routes]]
key = "GET /echo"
integration = {{ type = "HTTP", uri = "{}/echo" }}
"#,
        up.url()
    );
    let gw = support::gateway_with(node, &[&api]).await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent = "00f067aa0ba902b7";
    let r = send(
        &support::client(),
        gw.addr,
        "GET",
        "traced.execute-api.localhost",
        "/prod/echo",
        &[("traceparent", &format!("00-{trace_id}-{parent}-01"))],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let upstream_tp = r.json()["headers"]["traceparent"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(
        upstream_tp.starts_with(&format!("00-{trace_id}-")),
        "integration got {upstream_tp}"
    );
    assert!(
        !upstream_tp.contains(parent),
        "the integration's parent is our span, not the client's"
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    let (request, integration) = loop {
        {
            let got = spans.lock().expect("lock");
            let request = got.iter().find(|s| s.3 == "causeway.request").cloned();
            let integration = got.iter().find(|s| s.3 == "integration").cloned();
            if let (Some(r), Some(i)) = (request, integration) {
                break (r, i);
            }
        }
        assert!(
            Instant::now() < deadline,
            "spans did not reach the collector: {:?}",
            spans.lock().expect("lock")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(request.0, trace_id);
    assert_eq!(
        request.2, parent,
        "the request span's parent is the client's span"
    );
    assert_eq!(integration.0, trace_id);
    assert_eq!(
        integration.2, request.1,
        "phase spans are children of the request span"
    );
    assert!(
        upstream_tp.contains(&integration.1),
        "the upstream's parent is the integration span"
    );
}
