//! The codec on byte strings: every split of the input decodes the same.
#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Uri, Version};

use super::{Chunked, Decoder, H1Error, Head, RequestHead, Send, Step, parse_response};

fn head(method: Method, send: Send, headers: &[(&'static str, &'static str)]) -> String {
    let mut map = HeaderMap::new();
    for (n, v) in headers {
        map.append(*n, HeaderValue::from_static(v));
    }
    let mut req = RequestHead::new(method, &Uri::from_static("/a/b?x=1"));
    req.fields(&map);
    let mut out = Vec::new();
    req.write(send, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn request_heads_carry_our_framing_only() {
    assert_eq!(
        head(Method::GET, Send::Empty, &[("host", "up.example")]),
        "GET /a/b?x=1 HTTP/1.1\r\nhost: up.example\r\n\r\n"
    );
    // A method that carries a body says it is empty.
    assert_eq!(
        head(Method::POST, Send::Empty, &[]),
        "POST /a/b?x=1 HTTP/1.1\r\ncontent-length: 0\r\n\r\n"
    );
    // The client's framing headers are replaced by the body's real framing.
    assert_eq!(
        head(
            Method::PUT,
            Send::Length(12),
            &[
                ("content-length", "99"),
                ("transfer-encoding", "chunked"),
                ("x-a", "1")
            ]
        ),
        "PUT /a/b?x=1 HTTP/1.1\r\nx-a: 1\r\ncontent-length: 12\r\n\r\n"
    );
    assert_eq!(
        head(Method::POST, Send::Chunked, &[]),
        "POST /a/b?x=1 HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    // Fields written piecewise; framing fields in any case are dropped.
    let mut req = RequestHead::new(Method::GET, &Uri::from_static("/"));
    req.field("x-forwarded-for", &[b"10.0.0.1", b", ", b"127.0.0.1"]);
    req.field("Content-Length", &[b"5"]);
    let mut out = Vec::new();
    req.write(Send::Empty, &mut out);
    assert_eq!(
        out,
        b"GET / HTTP/1.1\r\nx-forwarded-for: 10.0.0.1, 127.0.0.1\r\n\r\n"
    );
    let mut chunk = Vec::new();
    super::encode_chunk(b"hello world!", &mut chunk);
    super::encode_chunk(b"", &mut chunk);
    assert_eq!(chunk, b"c\r\nhello world!\r\n");
}

/// Parse `text` fed in pieces of `step` bytes: `None` until the head is complete.
fn parse_in_steps(
    text: &[u8],
    step: usize,
    head_request: bool,
) -> (Result<Head, H1Error>, BytesMut) {
    let mut buf = BytesMut::new();
    for piece in text.chunks(step) {
        buf.extend_from_slice(piece);
        match parse_response(&mut buf, head_request) {
            Ok(None) => {}
            Ok(Some(h)) => return (Ok(h), buf),
            Err(e) => return (Err(e), buf),
        }
    }
    panic!("incomplete: {}", String::from_utf8_lossy(text));
}

fn parse(text: &[u8]) -> Head {
    parse_in_steps(text, text.len(), false).0.unwrap()
}

#[test]
fn response_heads_parse_from_any_split() {
    let text = b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nset-cookie: a=1\r\nset-cookie: b=2\r\ncontent-length: 5\r\n\r\nhello";
    for step in 1..=text.len() {
        let (head, rest) = parse_in_steps(text, step, false);
        let head = head.unwrap();
        assert_eq!(head.parts.status, 200);
        assert_eq!(head.parts.version, Version::HTTP_11);
        assert_eq!(head.parts.headers["content-type"], "text/plain");
        assert_eq!(head.parts.headers.get_all("set-cookie").iter().count(), 2);
        assert!(
            head.parts.headers.get("link").is_none(),
            "the interim answer is skipped"
        );
        assert_eq!(head.body, Decoder::Length(5));
        assert!(head.reusable);
        assert!(
            b"hello".starts_with(&rest),
            "only the body is left: {rest:?}"
        );
    }
}

#[test]
fn framing_follows_rfc_9112() {
    // No length, no transfer coding: until the upstream closes, and not reusable.
    let h = parse(b"HTTP/1.1 200 OK\r\n\r\n");
    assert_eq!((h.body, h.reusable), (Decoder::Close, false));
    // Chunked; with a length too, the length is dropped and the connection not trusted.
    let h = parse(b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n");
    assert_eq!(
        (h.body, h.reusable),
        (Decoder::Chunked(Chunked::Size), true)
    );
    let h = parse(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n");
    assert_eq!(
        (h.body, h.reusable),
        (Decoder::Chunked(Chunked::Size), false)
    );
    assert!(h.parts.headers.get("content-length").is_none());
    // A transfer coding that does not end in chunked is delimited by the close.
    let h = parse(b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n");
    assert_eq!((h.body, h.reusable), (Decoder::Close, false));
    // No body: HEAD, 204, 304, whatever the headers say.
    let text = b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n";
    assert_eq!(
        parse_in_steps(text, text.len(), true).0.unwrap().body,
        Decoder::Length(0)
    );
    assert_eq!(
        parse(b"HTTP/1.1 204 No Content\r\n\r\n").body,
        Decoder::Length(0)
    );
    assert_eq!(
        parse(b"HTTP/1.1 304 Not Modified\r\ncontent-length: 7\r\n\r\n").body,
        Decoder::Length(0)
    );
    // Equal repeated lengths are one length; different ones are an error.
    assert_eq!(
        parse(b"HTTP/1.1 200 OK\r\ncontent-length: 4, 4\r\ncontent-length: 4\r\n\r\n").body,
        Decoder::Length(4)
    );
    for bad in [
        &b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\ncontent-length: 5\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 99999999999999999999\r\n\r\n",
    ] {
        assert!(matches!(
            parse_in_steps(bad, bad.len(), false).0,
            Err(H1Error::BadLength)
        ));
    }
    // HTTP/1.0 and `connection: close` end the connection after the body.
    assert!(!parse(b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n").reusable);
    assert!(!parse(b"HTTP/1.1 200 OK\r\nconnection: Close\r\ncontent-length: 0\r\n\r\n").reusable);
    assert!(
        !parse(b"HTTP/1.1 200 OK\r\nconnection: keep-alive, close\r\ncontent-length: 0\r\n\r\n")
            .reusable
    );
    assert!(
        parse(b"HTTP/1.1 200 OK\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n").reusable
    );
}

#[test]
fn malformed_heads_are_errors() {
    let cases: [&[u8]; 3] = [
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
    ];
    for text in cases {
        assert!(
            matches!(
                parse_in_steps(text, text.len(), false).0,
                Err(H1Error::Malformed(_))
            ),
            "{text:?}"
        );
    }
    let upgrade = b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n";
    assert!(matches!(
        parse_in_steps(upgrade, upgrade.len(), false).0,
        Err(H1Error::Upgrade)
    ));
    // A head that never ends is cut off at the bound.
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\n"[..]);
    buf.extend_from_slice(format!("x: {}\r\n", "a".repeat(super::MAX_HEAD)).as_bytes());
    assert!(matches!(
        parse_response(&mut buf, false),
        Err(H1Error::HeadTooLarge)
    ));
}

/// Decode `body` fed in pieces of `step` bytes; the data and what is left over.
fn decode(mut decoder: Decoder, body: &[u8], step: usize) -> Result<(Vec<u8>, Vec<u8>), H1Error> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut pieces = body.chunks(step);
    loop {
        match decoder.step(&mut buf)? {
            Step::Data(d) => out.extend_from_slice(&d),
            Step::End => return Ok((out, buf.to_vec())),
            Step::More => match pieces.next() {
                Some(p) => buf.extend_from_slice(p),
                None => {
                    decoder.at_eof()?;
                    return Ok((out, buf.to_vec()));
                }
            },
        }
    }
}

#[test]
fn bodies_decode_from_any_split() {
    let chunked = b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nx-trailer: t\r\n\r\nNEXT";
    for step in 1..=chunked.len() {
        let (data, rest) = decode(Decoder::Chunked(Chunked::Size), chunked, step).unwrap();
        assert_eq!(data, b"hello, world", "step {step}");
        assert!(
            b"NEXT".starts_with(&rest),
            "nothing past the body is taken: {rest:?}"
        );
        let (data, rest) = decode(Decoder::Length(5), b"helloNEXT", step.min(9)).unwrap();
        assert_eq!(data, b"hello");
        assert!(b"NEXT".starts_with(&rest));
    }
    assert_eq!(
        decode(Decoder::Close, b"all of it", 4).unwrap().0,
        b"all of it"
    );
    // Cut short by the close: an error, not a shorter body.
    assert!(matches!(
        decode(Decoder::Length(10), b"short", 5),
        Err(H1Error::BadLength)
    ));
    assert!(matches!(
        decode(Decoder::Chunked(Chunked::Size), b"5\r\nhel", 3),
        Err(H1Error::BadChunk)
    ));
    for bad in [&b"zz\r\n"[..], b"5\r\nhelloXX", b"fffffffffffffffff\r\n"] {
        assert!(
            matches!(
                decode(Decoder::Chunked(Chunked::Size), bad, 64),
                Err(H1Error::BadChunk)
            ),
            "{bad:?}"
        );
    }
    let endless_size_line = Bytes::from(vec![b'1'; 8 * 1024]);
    assert!(matches!(
        decode(Decoder::Chunked(Chunked::Size), &endless_size_line, 1024),
        Err(H1Error::BadChunk)
    ));
}

#[test]
fn hop_by_hop_names_are_the_forwarding_list() {
    for name in &crate::phases::integrate::forward::HOP_BY_HOP {
        assert!(super::is_hop_by_hop(name.as_str().as_bytes()), "{name}");
        let upper = name.as_str().to_ascii_uppercase();
        assert!(super::is_hop_by_hop(upper.as_bytes()), "{upper}");
    }
    for name in ["content-type", "date", "tee", "trailers", "connections", ""] {
        assert!(!super::is_hop_by_hop(name.as_bytes()), "{name}");
    }
    let (head, _) = parse_in_steps(
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nKeep-Alive: timeout=5\r\n\r\n",
        64,
        false,
    );
    assert!(head.unwrap().hop_by_hop);
    let (head, _) = parse_in_steps(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 64, false);
    assert!(!head.unwrap().hop_by_hop);
}

#[test]
fn common_names_agree_with_header_name_parsing() {
    use http::HeaderName;
    let names = [
        "date",
        "etag",
        "vary",
        "server",
        "location",
        "connection",
        "set-cookie",
        "content-type",
        "accept-ranges",
        "cache-control",
        "last-modified",
        "content-length",
        "content-encoding",
        "transfer-encoding",
    ];
    for name in names {
        for text in [
            name.to_owned(),
            name.to_ascii_uppercase(),
            // Go's and nginx's spelling: `Content-Type`.
            name.split('-')
                .map(|w| w[..1].to_ascii_uppercase() + &w[1..])
                .collect::<Vec<_>>()
                .join("-"),
        ] {
            let known = super::common_name(text.as_bytes());
            assert_eq!(
                known,
                HeaderName::from_bytes(text.as_bytes()).ok(),
                "{text}"
            );
            assert!(known.is_some(), "{text}");
        }
    }
    // Same length and first letter, other tokens: left to `HeaderName::from_bytes`.
    for other in [
        "dat_",
        "dat3",
        "date!",
        "etaq",
        "content_type",
        "content-typf",
        "x-date",
        "servex",
        "set-cookie2",
        "contentxlength",
        "",
    ] {
        assert_eq!(super::common_name(other.as_bytes()), None, "{other}");
    }
    // A response using each still parses to the same fields.
    let head = parse(
        b"HTTP/1.1 200 OK\r\nDate: x\r\nContent-Type: a/b\r\nX-Other: 1\r\nContent-Length: 0\r\n\r\n",
    );
    let names: Vec<&str> = head.parts.headers.keys().map(HeaderName::as_str).collect();
    assert_eq!(names, ["date", "content-type", "x-other", "content-length"]);
}

/// Mutated and cut upstream answers never panic the codec: a head is parsed, refused or
/// waited for; its body then decodes to no more than the bytes that followed it (with
/// what it did not take left in place) or fails.
#[test]
fn mangled_answers_are_parsed_refused_or_waited_for_never_a_panic() {
    let seeds: [&[u8]; 3] = [
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhelloNEXT",
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nt: 1\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 404 Not Found\r\nConnection: close\r\n\r\ngone",
    ];
    let mut rng = crate::mutate::SplitMix::new(0xface);
    let (mut heads, mut bodies) = (0, 0);
    for round in 0..30_000_usize {
        let bytes = crate::mutate::mutate(seeds[round % seeds.len()], &mut rng);
        let mut buf = BytesMut::from(&bytes[..]);
        let Ok(Some(head)) = parse_response(&mut buf, round % 7 == 0) else {
            continue;
        };
        heads += 1;
        assert!(bytes.ends_with(&buf), "{bytes:?}");
        let after_head = buf.to_vec();
        let step = 1 + rng.below(after_head.len().max(1));
        let chunked = matches!(head.body, Decoder::Chunked(_));
        if let Ok((data, rest)) = decode(head.body, &after_head, step) {
            bodies += 1;
            assert!(data.len() + rest.len() <= after_head.len(), "{bytes:?}");
            if !chunked {
                // Unframed bytes: the body is what followed the head, the rest what
                // followed the body (as far as it was read).
                assert!(after_head.starts_with(&data), "{bytes:?}");
                assert!(after_head[data.len()..].starts_with(&rest), "{bytes:?}");
            }
        }
    }
    assert!(
        heads > 1_000 && bodies > 1_000,
        "mutations left few parseable answers: {heads} heads, {bodies} bodies"
    );
}

#[test]
fn a_chunked_body_is_seen_broken_from_its_first_size_line_without_consuming_it() {
    let chunked = Decoder::Chunked(Chunked::Size);
    for ok in [
        &b""[..],
        b"5",
        b"5;ext=1\r\nhel",
        b"0\r\n\r\n",
        b"a\nxxxxxxxxxx",
    ] {
        assert!(chunked.check_start(ok).is_ok(), "{ok:?}");
    }
    for bad in [
        &b"zz\r\n"[..],
        b"\r\n",
        b"5\x00ext\r\n",
        b"12345678901234567\r\n",
    ] {
        assert!(
            matches!(chunked.check_start(bad), Err(H1Error::BadChunk)),
            "{bad:?}"
        );
    }
    let long = vec![b'1'; 5000];
    assert!(
        chunked.check_start(&long).is_err(),
        "a size line past the bound"
    );
    // Other framings cannot break before their connection does.
    assert!(Decoder::Length(3).check_start(b"zz\r\n").is_ok());
    assert!(Decoder::Close.check_start(b"zz\r\n").is_ok());
}
