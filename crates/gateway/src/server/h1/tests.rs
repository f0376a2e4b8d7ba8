use bytes::BytesMut;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};

use super::*;

fn parse(text: &str) -> (Parsed, BytesMut) {
    let mut buf = BytesMut::from(text);
    let parsed = parse_request(&mut buf);
    (parsed, buf)
}

fn request(text: &str) -> (Request, BytesMut) {
    match parse(text) {
        (Parsed::Request(req), rest) => (req, rest),
        (other, _) => panic!("{text:?}: {other:?}"),
    }
}

fn hyper_reason_of(buf: &mut BytesMut) -> &'static str {
    match parse_request(buf) {
        Parsed::Hyper(why) => why,
        other => panic!("stayed on the fast path: {other:?}"),
    }
}

fn hyper_reason(text: &str) -> &'static str {
    match parse(text).0 {
        Parsed::Hyper(why) => why,
        other => panic!("{text:?} stayed on the fast path: {other:?}"),
    }
}

#[test]
fn a_head_is_consumed_and_what_follows_stays() {
    let (req, rest) = request(
        "POST /dev/pets?x=1 HTTP/1.1\r\nHost: A.example\r\nX-Api-Key: k\r\nX-Custom: v\r\ncontent-length: 4\r\n\r\nbodyGET",
    );
    assert_eq!(req.parts.method, Method::POST);
    assert_eq!(req.parts.uri.path(), "/dev/pets");
    assert_eq!(req.parts.uri.query(), Some("x=1"));
    assert_eq!(req.parts.headers["host"], "A.example");
    assert_eq!(req.parts.headers["x-api-key"], "k");
    assert_eq!(req.parts.headers["x-custom"], "v");
    assert_eq!(req.body, 4);
    assert!(!req.close);
    assert_eq!(&rest[..], b"bodyGET");
}

#[test]
fn partial_heads_wait_for_more() {
    for cut in [
        "",
        "GET",
        "GET / HTTP/1.1\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n",
    ] {
        assert!(matches!(parse(cut).0, Parsed::Partial), "{cut:?}");
    }
    let long = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD));
    assert_eq!(hyper_reason(&long), "large head");
}

#[test]
fn what_the_fast_path_does_not_serve_goes_to_hyper() {
    for text in [
        "GET / HTTP/1.0\r\n\r\n",
        "CONNECT a:443 HTTP/1.1\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nExpect: 100-continue\r\ncontent-length: 1\r\n\r\n",
        "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        "GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n",
        "POST / HTTP/1.1\r\ncontent-length: 65537\r\n\r\n",
        "POST / HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
        "POST / HTTP/1.1\r\ncontent-length: -1\r\n\r\n",
        "POST / HTTP/1.1\r\ncontent-length: 99999999999999999999\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        "GET /\x01 HTTP/1.1\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ] {
        hyper_reason(text);
    }
    // Equal repeated lengths are one length.
    let (req, _) = request("POST / HTTP/1.1\r\ncontent-length: 2\r\nContent-Length: 2\r\n\r\nab");
    assert_eq!(req.body, 2);
}

#[test]
fn an_edge_assertion_among_the_fields_is_noted() {
    let (plain, _) = request("GET / HTTP/1.1\r\nHost: a\r\nX-Other: 1\r\n\r\n");
    assert!(!plain.edge_assertion);
    let (vouched, _) = request("GET / HTTP/1.1\r\nHost: a\r\nX-Causeway-Edge-Auth: v1.x\r\n\r\n");
    assert!(vouched.edge_assertion);
    assert!(
        vouched
            .parts
            .headers
            .contains_key(&crate::edge_trust::HEADER)
    );
}

#[test]
fn a_head_framed_two_ways_is_refused_whatever_the_order() {
    for text in [
        "POST / HTTP/1.1\r\ncontent-length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\ncontent-length: 5\r\n\r\n",
        // Whatever else would hand it to hyper, or a length that does not parse.
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nUpgrade: h2c\r\ncontent-length: 5\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    ] {
        match parse(text).0 {
            Parsed::Refuse(why) => assert!(why.starts_with("Content-Length and Transfer-Encoding")),
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn connection_close_is_noted() {
    let (req, _) = request("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n");
    assert!(req.close);
}

#[test]
fn common_names_match_in_any_case_and_only_themselves() {
    for name in [
        "host",
        "accept",
        "cookie",
        "origin",
        "referer",
        "x-api-key",
        "connection",
        "user-agent",
        "content-type",
        "x-request-id",
        "authorization",
        "cache-control",
        "if-none-match",
        "content-length",
        "accept-encoding",
        "accept-language",
        "x-forwarded-for",
        "x-amzn-trace-id",
        "if-modified-since",
        "x-forwarded-proto",
    ] {
        let upper = name.to_ascii_uppercase();
        for given in [name, upper.as_str()] {
            let made = names::common_name(given.as_bytes()).expect(name);
            assert_eq!(made.as_str(), name);
        }
    }
    for other in [
        "hosts",
        "hist",
        "x-api-kex",
        "accept-encodinx",
        "x-forwarded-fox",
        "",
    ] {
        assert!(names::common_name(other.as_bytes()).is_none(), "{other}");
    }
}

fn head(status: StatusCode, headers: &HeaderMap, framing: Framing, close: bool) -> String {
    let mut out = Vec::new();
    let head = Head {
        status,
        headers,
        request_id: b"c0ffee00-1234-4abc-8def-0123456789ab",
        framing,
        close,
    };
    let _ = head.write(&mut out);
    String::from_utf8(out).expect("text")
}

#[test]
fn heads_carry_the_framing_date_and_close() {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("99"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
    // A request id in the handler's fields (a MOCK answer's empty slot) is replaced.
    headers.insert("x-amzn-requestid", HeaderValue::from_static(""));
    let text = head(StatusCode::OK, &headers, Framing::Length(5), true);
    assert!(
        text.starts_with(
            "HTTP/1.1 200 OK\r\nx-amzn-requestid: c0ffee00-1234-4abc-8def-0123456789ab\r\ncontent-type: text/plain\r\n"
        ),
        "{text}"
    );
    assert_eq!(text.matches("x-amzn-requestid").count(), 1, "{text}");
    assert!(text.contains("\r\ncontent-length: 5\r\n"), "{text}");
    assert!(!text.contains("99"), "{text}");
    assert!(!text.contains("keep-alive"), "{text}");
    assert!(text.contains("\r\nconnection: close\r\n"), "{text}");
    let date = text
        .split("\r\ndate: ")
        .nth(1)
        .expect("date")
        .split("\r\n")
        .next();
    assert_eq!(date.map(str::len), Some(29), "{text}");
    assert!(text.ends_with("\r\n\r\n"));

    let chunked = head(
        StatusCode::NOT_FOUND,
        &HeaderMap::new(),
        Framing::Chunked,
        false,
    );
    assert!(
        chunked.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{chunked}"
    );
    assert!(
        chunked.contains("\r\ntransfer-encoding: chunked\r\n"),
        "{chunked}"
    );
    // A HEAD answer keeps the handler's length.
    let head_only = head(StatusCode::OK, &headers, Framing::None, false);
    assert!(head_only.contains("content-length: 99\r\n"), "{head_only}");
}

#[test]
fn framing_follows_the_status_method_and_body() {
    let none = HeaderMap::new();
    let mut stated = HeaderMap::new();
    stated.insert(header::CONTENT_LENGTH, HeaderValue::from_static("12"));
    assert_eq!(framing(true, StatusCode::OK, &none, Some(3)), Framing::None);
    assert_eq!(
        framing(false, StatusCode::NO_CONTENT, &none, Some(3)),
        Framing::None
    );
    assert_eq!(
        framing(false, StatusCode::NOT_MODIFIED, &none, None),
        Framing::None
    );
    assert_eq!(
        framing(false, StatusCode::OK, &stated, Some(3)),
        Framing::Length(3)
    );
    assert_eq!(
        framing(false, StatusCode::OK, &stated, None),
        Framing::Length(12)
    );
    assert_eq!(
        framing(false, StatusCode::OK, &none, None),
        Framing::Chunked
    );
}

/// Mutated and cut requests never panic the parser, and a head it takes is a prefix of
/// what was buffered, with the rest left in place.
#[test]
fn mangled_input_is_taken_handed_over_or_waited_for_never_a_panic() {
    let seeds: [&[u8]; 3] = [
        b"GET /prod/pets?x=1 HTTP/1.1\r\nHost: a.example\r\nX-Api-Key: k\r\n\r\n",
        b"POST /p HTTP/1.1\r\nhost: b\r\ncontent-length: 3\r\nconnection: close\r\n\r\nabc",
        b"DELETE http://h/x HTTP/1.1\r\nContent-Length: 0\r\nAccept: */*\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    ];
    let mut rng = crate::mutate::SplitMix::new(0x5eed);
    let mut taken = 0;
    for round in 0..30_000_usize {
        let bytes = crate::mutate::mutate(seeds[round % seeds.len()], &mut rng);
        let mut buf = BytesMut::from(&bytes[..]);
        match parse_request(&mut buf) {
            Parsed::Request(req) => {
                taken += 1;
                assert!(bytes.ends_with(&buf), "{bytes:?}");
                assert!(req.body <= MAX_FAST_BODY);
                assert_eq!(req.parts.version, http::Version::HTTP_11);
            }
            // hyper reads the connection from its first byte; a partial head is read on.
            Parsed::Hyper(why) => assert_eq!(&buf[..], &bytes[..], "{why}: {bytes:?}"),
            Parsed::Partial | Parsed::Refuse(_) => assert_eq!(&buf[..], &bytes[..], "{bytes:?}"),
        }
    }
    assert!(
        taken > 1_000,
        "mutations left few parseable requests: {taken}"
    );
}

#[test]
fn a_handler_field_saying_close_is_reported() {
    let mut out = Vec::new();
    let mut headers = HeaderMap::new();
    for (value, says_close) in [("keep-alive", false), ("foo, Close", true)] {
        headers.insert(header::CONNECTION, HeaderValue::from_static(value));
        let head = Head {
            status: StatusCode::OK,
            headers: &headers,
            request_id: b"id",
            framing: Framing::Length(0),
            close: false,
        };
        out.clear();
        assert_eq!(head.write(&mut out), says_close, "{value}");
    }
}

#[test]
fn what_goes_to_hyper_goes_whole() {
    // httparse takes these targets, `http` refuses them: found after the head was split
    // off the buffer, which has to be whole again for hyper (and its 400).
    for text in [
        "POST /a<b HTTP/1.1\r\nHost: a\r\ncontent-length: 20\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        "GET /a>b HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /a`b HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    ] {
        let mut buf = BytesMut::from(text);
        assert_eq!(hyper_reason_of(&mut buf), "request target", "{text:?}");
        assert_eq!(&buf[..], text.as_bytes(), "hyper must get every byte");
    }
}
