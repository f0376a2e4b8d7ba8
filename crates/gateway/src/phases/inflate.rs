//! Compressed request bodies on REST APIs, as API Gateway takes them: a body sent with
//! `Content-Encoding: gzip` or `deflate` (or `identity`) is decoded before validation,
//! mappers and the integration see it, and goes on plain (the field removed, its length
//! the decoded one); any other coding, or a body that is not in the coding it names, is
//! a 415 `Unsupported Media Type`. The decoded body is bounded by the node's body limit
//! (a 413 past it, so a small bomb cannot grow into a large one). It runs after the
//! authorizer: on a route with one, a client it refuses makes the node inflate nothing.
//! HTTP APIs pass bodies on as sent.

use std::io::Read;

use bytes::Bytes;
use causeway_model::ApiType;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH};
use http_body_util::BodyExt;

use crate::body::Body;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, GatewayError};
use crate::pipeline::{Flow, Phase, Step};

pub(crate) struct Inflate {
    pub(crate) max_body_bytes: u64,
}

/// A content coding a request body may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Gzip,
    Deflate,
}

impl Phase for Inflate {
    fn name(&self) -> &'static str {
        "inflate"
    }

    fn request<'a>(&'a self, ctx: &'a mut RequestCtx) -> Step<'a> {
        // No body (most requests): nothing to look up.
        if matches!(ctx.body, None | Some(Body::Empty)) {
            return Step::Now(Flow::Continue);
        }
        let rest = ctx
            .stage
            .as_deref()
            .is_some_and(|s| s.deployment.kind() == ApiType::Rest);
        if !rest || !ctx.parts.headers.contains_key(CONTENT_ENCODING) {
            return Step::Now(Flow::Continue);
        }
        let codings = match codings(&ctx.parts.headers) {
            Ok(c) => c,
            Err(e) => return Step::Now(Flow::Fail(e)),
        };
        ctx.parts.headers.remove(CONTENT_ENCODING);
        if codings.is_empty() {
            return Step::Now(Flow::Continue);
        }
        Step::Later(Box::pin(self.decode(ctx, codings)))
    }
}

impl Inflate {
    async fn decode(&self, ctx: &mut RequestCtx, codings: Vec<Coding>) -> Flow {
        let sent = match ctx.body.take() {
            Some(b) => match b.collect().await {
                Ok(c) => c.to_bytes(),
                Err(_) => return Flow::Fail(GatewayError::new(ErrorKind::PayloadTooLarge)),
            },
            None => Bytes::new(),
        };
        // Codings are listed in the order they were applied: undo the last first. No
        // body, nothing to decode (a client may name a coding on every request).
        let mut body = sent;
        if body.is_empty() {
            return Flow::Continue;
        }
        for coding in codings.iter().rev() {
            body = match inflate(&body, *coding, self.max_body_bytes) {
                Ok(b) => b,
                Err(e) => return Flow::Fail(e),
            };
        }
        ctx.parts.headers.remove(CONTENT_LENGTH);
        ctx.body = Some(Body::from(body));
        Flow::Continue
    }
}

/// The codings `Content-Encoding` lists (every field of it), `identity` left out.
fn codings(headers: &http::HeaderMap) -> Result<Vec<Coding>, GatewayError> {
    let mut out = Vec::new();
    for value in headers.get_all(CONTENT_ENCODING) {
        for token in value.as_bytes().split(|&b| b == b',') {
            let token = token.trim_ascii();
            let coding = if token.eq_ignore_ascii_case(b"gzip")
                || token.eq_ignore_ascii_case(b"x-gzip")
            {
                Coding::Gzip
            } else if token.eq_ignore_ascii_case(b"deflate") {
                Coding::Deflate
            } else if token.eq_ignore_ascii_case(b"identity") || token.is_empty() {
                continue;
            } else {
                let name = String::from_utf8_lossy(token);
                return Err(unsupported(format!(
                    "Unsupported Media Type: a request body in Content-Encoding `{name}` cannot be decoded; send it as gzip, deflate or identity"
                )));
            };
            out.push(coding);
        }
    }
    Ok(out)
}

/// `body` decoded, at most `limit` bytes of it.
fn inflate(body: &[u8], coding: Coding, limit: u64) -> Result<Bytes, GatewayError> {
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(1 << 20));
    // One byte past the limit tells a body at the limit from one over it.
    let read = match coding {
        Coding::Gzip => flate2::read::MultiGzDecoder::new(body)
            .take(limit.saturating_add(1))
            .read_to_end(&mut out),
        Coding::Deflate => deflate(body, limit, &mut out),
    };
    let name = match coding {
        Coding::Gzip => "gzip",
        Coding::Deflate => "deflate",
    };
    if let Err(e) = read {
        tracing::debug!(coding = name, error = %e, "request body not decodable");
        return Err(unsupported(format!(
            "Unsupported Media Type: the request body is not valid {name} data, as its Content-Encoding says"
        )));
    }
    if out.len() as u64 > limit {
        return Err(GatewayError::new(ErrorKind::PayloadTooLarge));
    }
    Ok(Bytes::from(out))
}

/// `deflate` is zlib-wrapped (RFC 9110 §8.4.1.2); some clients send raw deflate, which
/// is taken too.
fn deflate(body: &[u8], limit: u64, out: &mut Vec<u8>) -> std::io::Result<usize> {
    let wrapped = flate2::read::ZlibDecoder::new(body)
        .take(limit.saturating_add(1))
        .read_to_end(out);
    if wrapped.is_ok() {
        return wrapped;
    }
    out.clear();
    flate2::read::DeflateDecoder::new(body)
        .take(limit.saturating_add(1))
        .read_to_end(out)
}

fn unsupported(message: String) -> GatewayError {
    GatewayError::new(ErrorKind::UnsupportedMediaType).with_message(message)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::{Coding, inflate};

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).expect("write");
        e.finish().expect("finish")
    }

    #[test]
    fn bodies_decode_within_the_limit_and_garbage_is_refused() {
        let text = b"{\"items\": [\"milk\", \"eggs\"]}".repeat(100);
        let zipped = gzip(&text);
        assert_eq!(
            &inflate(&zipped, Coding::Gzip, 1 << 20).expect("gzip")[..],
            &text[..]
        );
        let exact = text.len() as u64;
        assert!(
            inflate(&zipped, Coding::Gzip, exact).is_ok(),
            "at the limit"
        );
        let over = inflate(&zipped, Coding::Gzip, exact - 1).expect_err("over");
        assert_eq!(over.status(), 413);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&text).expect("write");
        let zlib = z.finish().expect("finish");
        assert_eq!(
            &inflate(&zlib, Coding::Deflate, 1 << 20).expect("zlib")[..],
            &text[..]
        );
        let mut r = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        r.write_all(&text).expect("write");
        let raw = r.finish().expect("finish");
        assert_eq!(
            &inflate(&raw, Coding::Deflate, 1 << 20).expect("raw")[..],
            &text[..]
        );
        for garbage in [&b"not gzip at all"[..], &zipped[..zipped.len() / 2]] {
            let e = inflate(garbage, Coding::Gzip, 1 << 20).expect_err("garbage");
            assert_eq!(e.status(), 415, "{garbage:?}");
        }
        // A bomb: 64 MiB of zeros in well under 1 MiB, refused at a 1 MiB limit without
        // growing past it.
        let bomb = gzip(&vec![0u8; 64 << 20]);
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        assert_eq!(
            inflate(&bomb, Coding::Gzip, 1 << 20)
                .expect_err("bomb")
                .status(),
            413
        );
    }
}
