use std::io::Read;

use http::HeaderValue;
use http_body_util::BodyExt;

use super::*;

fn accept(values: &[&str]) -> Option<Coding> {
    let mut headers = HeaderMap::new();
    for v in values {
        headers.append(
            http::header::ACCEPT_ENCODING,
            HeaderValue::from_bytes(v.as_bytes()).expect("value"),
        );
    }
    accepted(&headers)
}

#[test]
fn accept_encoding_picks_gzip_then_deflate_and_honours_q_zero() {
    assert_eq!(accept(&[]), None);
    assert_eq!(accept(&["gzip, deflate, br"]), Some(Coding::Gzip));
    assert_eq!(accept(&["deflate"]), Some(Coding::Deflate));
    assert_eq!(accept(&["br", "DEFLATE;q=0.5"]), Some(Coding::Deflate));
    assert_eq!(accept(&["gzip;q=0, deflate"]), Some(Coding::Deflate));
    assert_eq!(accept(&["gzip; q=0.0, deflate;q=0"]), None);
    assert_eq!(accept(&["identity"]), None);
    assert_eq!(accept(&["br"]), None);
    assert_eq!(accept(&["*"]), Some(Coding::Gzip));
    assert_eq!(accept(&["*;q=0"]), None);
    // A coding named outright wins over `*`.
    assert_eq!(accept(&["gzip;q=0, *"]), Some(Coding::Deflate));
    assert_eq!(accept(&["x-gzip"]), Some(Coding::Gzip));
    // A q-value that does not parse counts as acceptable; garbage is ignored.
    assert_eq!(accept(&["gzip;q=abc"]), Some(Coding::Gzip));
    assert_eq!(accept(&[";;,,;q=", "\u{ff}"]), None);
}

async fn encode(body: Body, coding: Coding) -> (Vec<u8>, usize) {
    let mut encoded = Body::Compressed(Box::new(Encoded::new(body, coding)));
    let mut out = Vec::new();
    let mut frames = 0;
    while let Some(frame) = encoded.frame().await {
        let data = frame.expect("frame").into_data().expect("data");
        assert!(!data.is_empty(), "no empty frames");
        out.extend_from_slice(&data);
        frames += 1;
    }
    assert!(http_body::Body::is_end_stream(&encoded));
    (out, frames)
}

#[tokio::test]
async fn bodies_round_trip_in_both_codings() {
    let text: Vec<u8> = (0..300_000_u32)
        .flat_map(|i| format!("line {i} of a long answer\n").into_bytes())
        .take(1_000_000)
        .collect();
    let (gz, frames) = encode(Body::from(Bytes::from(text.clone())), Coding::Gzip).await;
    // A large buffered body goes out in several pieces, not one long poll.
    assert!(frames > 1, "{frames}");
    assert!(gz.len() < text.len() / 4, "{} of {}", gz.len(), text.len());
    let mut back = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut back)
        .expect("gzip");
    assert_eq!(back, text);

    let (z, _) = encode(Body::from("hello, hello, hello"), Coding::Deflate).await;
    let mut back = String::new();
    flate2::read::ZlibDecoder::new(&z[..])
        .read_to_string(&mut back)
        .expect("zlib");
    assert_eq!(back, "hello, hello, hello");

    // An empty body still encodes to a valid (empty) stream.
    let (gz, _) = encode(Body::Empty, Coding::Gzip).await;
    let mut back = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut back)
        .expect("gzip");
    assert!(back.is_empty());
}
