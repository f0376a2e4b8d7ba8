//! Compressed request bodies: a REST API decodes `gzip` and `deflate` bodies before
//! validation and the integration (API Gateway's "call an API method with a compressed
//! payload"), refuses other codings and undecodable bodies with 415, and bounds what a
//! body inflates to; an HTTP API passes the body on as sent.

use std::io::Write;

use crate::support::{self, send};

fn apis(upstream: &str) -> [String; 2] {
    let rest = format!(
        r#"
version = 1
id = "zip"
name = "Zip"
type = "REST"
[[stages]]
name = "prod"
[[models]]
name = "Order"
schema = '{{"type": "object", "required": ["items"], "properties": {{"items": {{"type": "array"}}}}}}'
[[routes]]
key = "POST /orders"
request_model = "Order"
integration = {{ type = "HTTP_PROXY", uri = "{upstream}/orders" }}
[[routes]]
key = "ANY /up/{{proxy+}}"
integration = {{ type = "HTTP_PROXY", uri = "{upstream}/{{proxy}}" }}
"#
    );
    let http = format!(
        r#"
version = 1
id = "raw"
name = "Raw"
type = "HTTP"
[[stages]]
name = "$default"
[[routes]]
key = "POST /up"
integration = {{ type = "HTTP_PROXY", uri = "{upstream}/up" }}
"#
    );
    [rest, http]
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("write");
    e.finish().expect("finish")
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("write");
    e.finish().expect("finish")
}

#[tokio::test]
async fn rest_apis_decode_compressed_request_bodies() {
    let upstream = support::upstream().await;
    let [rest, http] = apis(&upstream.url());
    let mut node = causeway_model::NodeConfig::default();
    node.node.max_body_bytes = 1 << 20;
    let gw = support::gateway_with(node, &[&rest, &http]).await;
    let c = support::client();
    let post = |host: &'static str, path: &'static str, coding: &'static str, body: Vec<u8>| {
        let c = c.clone();
        let addr = gw.addr;
        async move {
            send(
                &c,
                addr,
                "POST",
                host,
                path,
                &[("content-encoding", coding)],
                body,
            )
            .await
        }
    };
    let rest_host = "zip.execute-api.localhost";
    let order = br#"{"items": ["milk", "eggs"]}"#;

    // Decoded for the upstream, whichever supported coding (and case) it came in.
    for (coding, body) in [
        ("gzip", gzip(order)),
        ("x-gzip", gzip(order)),
        ("Deflate", deflate(order)),
        ("identity", order.to_vec()),
        ("gzip, deflate", deflate(&gzip(order))),
    ] {
        let r = post(rest_host, "/prod/up/orders", coding, body).await;
        assert_eq!(r.status, 200, "{coding}: {}", r.text());
        let echo = r.json();
        assert_eq!(
            echo["body"].as_str(),
            std::str::from_utf8(order).ok(),
            "{coding}"
        );
        assert!(
            echo["headers"].get("content-encoding").is_none(),
            "{coding}: {echo}"
        );
        assert_eq!(
            echo["headers"]["content-length"],
            order.len().to_string(),
            "{coding}"
        );
    }
    // Validated as decoded: a valid order passes, an invalid one is the model's 400.
    let r = post(rest_host, "/prod/orders", "gzip", gzip(order)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = post(
        rest_host,
        "/prod/orders",
        "gzip",
        gzip(br#"{"note": "no items"}"#),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());

    // Codings it cannot decode, and bodies not in the coding they name: 415.
    for (coding, body) in [
        ("br", order.to_vec()),
        ("gzip, zstd", gzip(order)),
        ("gzip", order.to_vec()),
        ("deflate", b"\x78\x9c garbage".to_vec()),
    ] {
        let r = post(rest_host, "/prod/up/orders", coding, body).await;
        assert_eq!(r.status, 415, "{coding}: {}", r.text());
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("UnsupportedMediaTypeException")
        );
        assert!(r.text().contains("Unsupported Media Type"), "{}", r.text());
    }
    // A body that inflates past the node's limit: 413, not a node that grows.
    let bomb = gzip(&vec![b'a'; 8 << 20]);
    assert!(bomb.len() < 1 << 20);
    let r = post(rest_host, "/prod/up/orders", "gzip", bomb).await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(upstream.hits.load(std::sync::atomic::Ordering::SeqCst), 6);

    // HTTP APIs pass the body on as sent, coding and all.
    let zipped = gzip(order);
    let r = post("raw.execute-api.localhost", "/up", "gzip", zipped.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let echo = r.json();
    assert_eq!(echo["headers"]["content-encoding"], "gzip");
    assert_eq!(echo["headers"]["content-length"], zipped.len().to_string());
}
