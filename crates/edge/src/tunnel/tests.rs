//! The region's side of an upgrade, played over an in-memory pipe.

use std::time::Duration;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::open;

fn upgrade_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::HOST, HeaderValue::from_static("ws.example"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers
}

/// Reads the request head the edge sent, then writes `answer`.
async fn region_answers(mut region: DuplexStream, answer: &'static [u8]) -> (String, DuplexStream) {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(
            region.read(&mut byte).await.expect("read head"),
            1,
            "head cut short"
        );
        head.push(byte[0]);
    }
    region.write_all(answer).await.expect("write answer");
    (String::from_utf8(head).expect("ascii head"), region)
}

#[tokio::test]
async fn a_chunked_refusal_is_passed_on_whole() {
    let (edge, region) = tokio::io::duplex(4096);
    let region = tokio::spawn(region_answers(
        region,
        b"HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n\
          b\r\n{\"message\":\r\n9\r\n\"denied\"}\r\n0\r\n\r\n",
    ));
    let headers = upgrade_headers();
    let opened = open(
        edge,
        Duration::from_secs(5),
        &Method::GET,
        "/chat?room=1",
        &headers,
    )
    .await
    .expect("answered");
    let (head, _region) = region.await.expect("region task");
    assert!(head.starts_with("GET /chat?room=1 HTTP/1.1\r\n"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("upgrade: websocket"),
        "{head}"
    );
    assert!(opened.upgraded.is_none());
    assert_eq!(opened.response.status(), StatusCode::FORBIDDEN);
    assert!(
        opened
            .response
            .headers()
            .get(header::TRANSFER_ENCODING)
            .is_none()
    );
    let body = opened
        .response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(&body[..], br#"{"message":"denied"}"#);
}

#[tokio::test]
async fn a_101_hands_over_the_connection_with_what_followed_the_head() {
    let (edge, region) = tokio::io::duplex(4096);
    let region = tokio::spawn(region_answers(
        region,
        b"HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\nearly",
    ));
    let headers = upgrade_headers();
    let opened = open(edge, Duration::from_secs(5), &Method::GET, "/", &headers)
        .await
        .expect("answered");
    assert_eq!(opened.response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(opened.response.headers()[header::UPGRADE], "websocket");
    let upgraded = opened.upgraded.expect("a 101 hands over the connection");
    let mut tunnel = hyper_util::rt::TokioIo::new(upgraded.await.expect("upgraded"));
    let mut early = [0u8; 5];
    tunnel.read_exact(&mut early).await.expect("early bytes");
    assert_eq!(&early, b"early");
    let (_, mut region) = region.await.expect("region task");
    tunnel.write_all(b"ping").await.expect("write through");
    let mut got = [0u8; 4];
    region.read_exact(&mut got).await.expect("region reads");
    assert_eq!(&got, b"ping");
}

#[tokio::test]
async fn a_region_that_closes_without_answering_is_an_error() {
    let (edge, region) = tokio::io::duplex(4096);
    drop(region);
    let headers = upgrade_headers();
    assert!(
        open(edge, Duration::from_secs(5), &Method::GET, "/", &headers)
            .await
            .is_err()
    );
}
