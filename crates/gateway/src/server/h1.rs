//! HTTP/1.1 requests and responses on the wire for the listener's fast path, without I/O:
//! a request head parsed from the front of a buffer (httparse), a response head written
//! into one.
//!
//! Only what the fast path serves is parsed here: HTTP/1.1 requests with no body or a
//! `content-length` body of at most [`MAX_FAST_BODY`] bytes, not asking for an upgrade or
//! `100-continue`. Anything else (HTTP/1.0, chunked or large bodies, upgrades, heads
//! httparse rejects or that are too large) is [`Parsed::Hyper`]: the connection, those
//! bytes included, is handed to hyper, which serves it from there on with its own
//! answers for malformed input. So this code never has to answer a malformed request,
//! but for one kind hyper would serve: a head with both `content-length` and
//! `transfer-encoding`, which is refused ([`Parsed::Refuse`]).

use std::mem::MaybeUninit;

use bytes::BytesMut;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Uri, Version};

use crate::pipeline::REQUEST_ID;
use crate::wire;

mod date;
mod names;

/// Bound on a request head buffered before hyper takes over (hyper's own bound is the
/// listener's `max_buf_size`, 64 KiB, beyond which it answers 431).
pub(super) const MAX_HEAD: usize = 64 * 1024;
/// Bound on a request body read whole before the pipeline runs.
pub(super) const MAX_FAST_BODY: usize = 64 * 1024;
/// Header fields per request (hyper's default is 100).
const MAX_HEADERS: usize = 100;

/// What the front of the read buffer holds.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "made and matched once per request, never stored: boxing would cost an allocation"
)]
pub(super) enum Parsed {
    /// A request head (consumed from the buffer); `body` bytes of body follow it.
    Request(Request),
    /// Not a complete head yet.
    Partial,
    /// Not for the fast path (the reason, for the debug log): hyper serves the
    /// connection from these bytes on.
    Hyper(&'static str),
    /// A head framed two ways (`content-length` and `transfer-encoding`): answered 400
    /// with this message and the connection closed, as Envoy and nginx do. RFC 9112 §6.1
    /// lets a server read it as chunked instead (hyper does), but a proxy in front that
    /// went by the length would see another request boundary (request smuggling).
    Refuse(&'static str),
}

/// A request head the fast path serves.
#[derive(Debug)]
pub(super) struct Request {
    pub(super) parts: http::request::Parts,
    /// The `content-length`.
    pub(super) body: usize,
    /// The client asked for the connection to close after this answer.
    pub(super) close: bool,
    /// It carries an edge's assertion (`x-causeway-edge-auth`), which the request
    /// context takes off its fields; a request without one is spared the lookup.
    pub(super) edge_assertion: bool,
}

/// Parse a request head from the front of `buf`, consuming it when complete.
pub(super) fn parse_request(buf: &mut BytesMut) -> Parsed {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match httparse::ParserConfig::default()
        .parse_request_with_uninit_headers(&mut req, buf, &mut slots)
    {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Parsed::Hyper("large head");
        }
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Hyper("head httparse rejects"),
    };
    if req.version != Some(1) {
        return Parsed::Hyper("HTTP/1.0");
    }
    let method = match req.method.unwrap_or_default().as_bytes() {
        b"GET" => Method::GET,
        b"POST" => Method::POST,
        b"PUT" => Method::PUT,
        b"DELETE" => Method::DELETE,
        b"HEAD" => Method::HEAD,
        b"PATCH" => Method::PATCH,
        b"OPTIONS" => Method::OPTIONS,
        b"CONNECT" => return Parsed::Hyper("CONNECT"),
        other => match Method::from_bytes(other) {
            Ok(m) => m,
            Err(_) => return Parsed::Hyper("method"),
        },
    };
    let base = buf.as_ptr() as usize;
    let path = req.path.unwrap_or_default();
    let path_at = path.as_ptr() as usize - base;
    let path_range = path_at..path_at + path.len();
    // Names made once, values kept as ranges into the head until it is split off.
    let mut fields: smallvec::SmallVec<[(HeaderName, usize, usize); 16]> =
        smallvec::SmallVec::new();
    let mut body = None;
    let mut close = false;
    // Framing other than a plain length, and other reasons to hand the connection to
    // hyper, are noted and acted on once every field was seen: a head framed two ways is
    // refused whatever order its fields come in.
    let mut transfer_encoding = false;
    let mut has_length = false;
    let mut to_hyper = None;
    let mut edge_assertion = false;
    for h in req.headers.iter() {
        let value = h.value;
        let name = match names::common_name(h.name.as_bytes()) {
            Some(name) => name,
            None => match HeaderName::from_bytes(h.name.as_bytes()) {
                Ok(name) => {
                    // Not a common name: the one place it can be.
                    edge_assertion |= name == crate::edge_trust::HEADER;
                    name
                }
                Err(_) => return Parsed::Hyper("header name"),
            },
        };
        if name == header::CONTENT_LENGTH {
            has_length = true;
            match wire::parse_length(value).and_then(|n| usize::try_from(n).ok()) {
                None => to_hyper = Some("content-length"),
                Some(n) if body.is_some_and(|b| b != n) => {
                    to_hyper = Some("conflicting content-length");
                }
                Some(n) => body = Some(n),
            }
        } else if name == header::CONNECTION {
            for token in wire::tokens(value) {
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"upgrade") {
                    to_hyper = Some("upgrade");
                }
            }
        } else if name == header::TRANSFER_ENCODING {
            transfer_encoding = true;
        } else if name == header::EXPECT || name == header::UPGRADE {
            to_hyper = Some("expect or upgrade");
        }
        let start = value.as_ptr() as usize - base;
        fields.push((name, start, start + value.len()));
    }
    if transfer_encoding && has_length {
        return Parsed::Refuse(
            "Content-Length and Transfer-Encoding both present: send one (Transfer-Encoding: chunked for a body of unknown length)",
        );
    }
    if let Some(why) = to_hyper {
        return Parsed::Hyper(why);
    }
    if transfer_encoding {
        return Parsed::Hyper("transfer-encoding");
    }
    let body = body.unwrap_or(0);
    if body > MAX_FAST_BODY {
        return Parsed::Hyper("large body");
    }
    let head = buf.split_to(len).freeze();
    let Ok(uri) = Uri::from_maybe_shared(head.slice(path_range)) else {
        // httparse takes `<`, `>` and `` ` `` in a target; `http` does not. hyper answers
        // 400 for it, from the whole head.
        return put_back(buf, &head, "request target");
    };
    let mut headers = HeaderMap::with_capacity(fields.len());
    for (name, start, end) in fields {
        let Ok(value) = HeaderValue::from_maybe_shared(head.slice(start..end)) else {
            return put_back(buf, &head, "header value");
        };
        headers.append(name, value);
    }
    let mut parts = http::Request::new(()).into_parts().0;
    parts.method = method;
    parts.uri = uri;
    parts.version = Version::HTTP_11;
    parts.headers = headers;
    Parsed::Request(Request {
        parts,
        body,
        close,
        edge_assertion,
    })
}

/// Hand a head that was split off `buf` and then refused to hyper after all: hyper
/// reads the connection from its first byte, so the head goes back in front of what
/// followed it (else hyper would never answer it and would read its body as a request).
fn put_back(buf: &mut BytesMut, head: &[u8], why: &'static str) -> Parsed {
    let mut whole = BytesMut::with_capacity(head.len() + buf.len());
    whole.extend_from_slice(head);
    whole.extend_from_slice(buf);
    *buf = whole;
    Parsed::Hyper(why)
}

/// How a response body goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body bytes follow the head (HEAD, 204, 304, 1xx); the head's
    /// `content-length`, if any, is the handler's.
    None,
    /// `content-length: n`.
    Length(u64),
    /// `transfer-encoding: chunked`.
    Chunked,
}

/// The framing of an answer to a `head_request` with `status`, fields `headers` and a
/// body whose exact length, if known, is `exact`.
pub(super) fn framing(
    head_request: bool,
    status: StatusCode,
    headers: &HeaderMap,
    exact: Option<u64>,
) -> Framing {
    if head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Framing::None;
    }
    if let Some(n) = exact {
        return Framing::Length(n);
    }
    // A streamed body of a stated length (as hyper: the handler's field is trusted).
    match headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| wire::parse_length(v.as_bytes()))
    {
        Some(n) => Framing::Length(n),
        None => Framing::Chunked,
    }
}

/// An answer's head as the fast path writes it.
#[derive(Debug)]
pub(super) struct Head<'a> {
    pub(super) status: StatusCode,
    /// The handler's fields: its framing fields are replaced by `framing`'s, its request
    /// id (if any) by `request_id`.
    pub(super) headers: &'a HeaderMap,
    pub(super) request_id: &'a [u8],
    pub(super) framing: Framing,
    /// The connection closes after this answer: `connection: close` is sent.
    pub(super) close: bool,
}

impl Head<'_> {
    /// Write the head into `out`: the status line, the request id, the handler's fields,
    /// the framing, `date` unless the handler gave one, and `connection: close` when the
    /// connection closes after this answer. True when the handler's own fields said
    /// `connection: close` (the connection then closes after this answer too).
    pub(super) fn write(&self, out: &mut Vec<u8>) -> bool {
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(self.status.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.status.canonical_reason().unwrap_or("").as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(REQUEST_ID.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(self.request_id);
        out.extend_from_slice(b"\r\n");
        let mut has_date = false;
        let mut handler_close = false;
        for (name, value) in self.headers {
            if self.framing != Framing::None
                && (*name == header::CONTENT_LENGTH || *name == header::TRANSFER_ENCODING)
            {
                continue;
            }
            if *name == header::CONNECTION {
                if self.close {
                    continue;
                }
                handler_close |= wire::has_token(value.as_bytes(), b"close");
            }
            if *name == REQUEST_ID {
                continue;
            }
            has_date |= *name == header::DATE;
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        match self.framing {
            Framing::None => {}
            Framing::Length(n) => wire::content_length(n, out),
            Framing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        }
        if self.close {
            out.extend_from_slice(b"connection: close\r\n");
        }
        if !has_date {
            out.extend_from_slice(b"date: ");
            date::with_now(|d| out.extend_from_slice(d));
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        handler_close
    }
}

/// The start of an h2 connection (RFC 9113 §3.4).
pub(super) const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#[cfg(test)]
mod tests;
