//! HTTP/1.1 on the wire for the upstream client, without I/O: the request head written
//! into a buffer, the response head parsed from one (httparse), and the response body's
//! framing (a length, chunked, or until the upstream closes) decoded from buffered bytes.
//!
//! Everything here works on what has arrived so far and says when it needs more, so the
//! connection ([`super::conn`]) only moves bytes.

use std::mem::MaybeUninit;

use bytes::{Buf, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Uri, Version};

mod names;

use names::{common_name, is_hop_by_hop};

use crate::wire;

/// Bound on a response head (status line and headers).
pub(super) const MAX_HEAD: usize = 64 * 1024;
/// Bound on the headers of one response head.
const MAX_HEADERS: usize = 128;
/// Bound on one chunk-size line and on the trailers of a chunked body.
const MAX_LINE: usize = 4 * 1024;
const MAX_TRAILERS: usize = 16 * 1024;

/// An upstream answer that is not HTTP/1.1 as we can pass it on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum H1Error {
    #[error("the response head is over {MAX_HEAD} bytes")]
    HeadTooLarge,
    #[error("malformed response head: {0}")]
    Malformed(&'static str),
    #[error("invalid content-length in the response")]
    BadLength,
    #[error("malformed chunked response body")]
    BadChunk,
    #[error("the upstream switched protocols (101), which HTTP integrations do not pass on")]
    Upgrade,
}

/// How the request body is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Send {
    /// No body.
    Empty,
    /// `content-length: n`.
    Length(u64),
    /// `transfer-encoding: chunked`.
    Chunked,
}

/// A request head being built: the request line, then fields as the caller writes them.
/// The framing fields and the blank line are added by [`RequestHead::write`], once the
/// connection knows how the body goes; `content-length` / `transfer-encoding` fields
/// written here are dropped (the body's real framing replaces them).
#[derive(Debug)]
pub(crate) struct RequestHead {
    method: Method,
    buf: Vec<u8>,
}

impl RequestHead {
    /// `METHOD target HTTP/1.1` for `target` in origin form.
    pub(crate) fn new(method: Method, target: &Uri) -> RequestHead {
        RequestHead::with_target(method, target.path_and_query().map_or("/", |p| p.as_str()))
    }

    /// A head for `method` and an origin-form request target the caller checked
    /// ([`Pool::origin`](super::Pool::origin): no space or control character).
    pub(crate) fn with_target(method: Method, path: &str) -> RequestHead {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(method.as_str().as_bytes());
        buf.push(b' ');
        buf.extend_from_slice(path.as_bytes());
        buf.extend_from_slice(b" HTTP/1.1\r\n");
        RequestHead { method, buf }
    }

    pub(crate) fn method(&self) -> &Method {
        &self.method
    }

    /// One field, its value in `parts` (written one after the other). The caller vouches
    /// for the bytes: a [`HeaderName`]'s text and [`HeaderValue`]s' bytes.
    pub(crate) fn field(&mut self, name: &str, parts: &[&[u8]]) {
        if name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            return;
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(b": ");
        for p in parts {
            self.buf.extend_from_slice(p);
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    /// Every field of `headers`.
    pub(crate) fn fields(&mut self, headers: &HeaderMap) {
        for (name, value) in headers {
            self.field(name.as_str(), &[value.as_bytes()]);
        }
    }

    /// The head, with the framing fields `send` calls for and the blank line, into `out`.
    pub(super) fn write(&self, send: Send, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.buf);
        match send {
            // Methods that carry a body say it is empty (as hyper and curl do).
            Send::Empty
                if !matches!(
                    self.method,
                    Method::GET
                        | Method::HEAD
                        | Method::DELETE
                        | Method::OPTIONS
                        | Method::TRACE
                        | Method::CONNECT
                ) =>
            {
                out.extend_from_slice(b"content-length: 0\r\n");
            }
            Send::Empty => {}
            Send::Length(n) => wire::content_length(n, out),
            Send::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Append one chunk of a chunked request body.
pub(super) fn encode_chunk(data: &[u8], out: &mut Vec<u8>) {
    if data.is_empty() {
        return;
    }
    wire::chunk_head(data.len(), out);
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// A parsed response head.
#[derive(Debug)]
pub(super) struct Head {
    pub(super) parts: http::response::Parts,
    pub(super) body: Decoder,
    /// False when the connection cannot carry another request after this response.
    pub(super) reusable: bool,
    /// A hop-by-hop field ([`is_hop_by_hop`]) is among the headers.
    pub(super) hop_by_hop: bool,
}

/// Parse a response head from the front of `buf` (consuming it), skipping interim 1xx
/// answers; `None` until the head is complete.
pub(super) fn parse_response(
    buf: &mut BytesMut,
    head_request: bool,
) -> Result<Option<Head>, H1Error> {
    loop {
        // Slots httparse fills, left uninitialised until then (128 of them, 4 KiB).
        let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut []);
        let parsed = httparse::ParserConfig::default()
            .parse_response_with_uninit_headers(&mut resp, buf, &mut slots);
        let len = match parsed {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
                return Err(H1Error::HeadTooLarge);
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(H1Error::Malformed("too many headers"));
            }
            Err(_) => return Err(H1Error::Malformed("not an HTTP/1.x response head")),
        };
        let code = resp.code.unwrap_or(0);
        if code == 101 {
            return Err(H1Error::Upgrade);
        }
        if (100..200).contains(&code) {
            // 100 Continue, 103 Early Hints: the final answer follows.
            buf.advance(len);
            continue;
        }
        let status = StatusCode::from_u16(code).map_err(|_| H1Error::Malformed("status code"))?;
        let version = if resp.version == Some(0) {
            Version::HTTP_10
        } else {
            Version::HTTP_11
        };
        // One pass over the fields: names made once, values kept as ranges into the head,
        // and what decides the framing noted on the way.
        let base = buf.as_ptr() as usize;
        let mut fields = Vec::with_capacity(resp.headers.len());
        let mut facts = Facts::default();
        let mut hop_by_hop = false;
        for h in resp.headers.iter() {
            hop_by_hop |= is_hop_by_hop(h.name.as_bytes());
            let name = match common_name(h.name.as_bytes()) {
                Some(name) => name,
                None => HeaderName::from_bytes(h.name.as_bytes())
                    .map_err(|_| H1Error::Malformed("header name"))?,
            };
            facts.note(&name, h.value);
            let start = h.value.as_ptr() as usize - base;
            fields.push((name, start, start + h.value.len()));
        }
        let head = buf.split_to(len).freeze();
        // Room for the request id and another field added on the way back, without growing.
        let mut headers = HeaderMap::with_capacity(fields.len() + 2);
        for (name, start, end) in fields {
            let value = HeaderValue::from_maybe_shared(head.slice(start..end))
                .map_err(|_| H1Error::Malformed("header value"))?;
            headers.append(name, value);
        }
        let (body, framed) = facts.framing(&mut headers, status, head_request)?;
        let reusable = framed && version == Version::HTTP_11 && !facts.close;
        let mut parts = http::Response::new(()).into_parts().0;
        parts.status = status;
        parts.version = version;
        parts.headers = headers;
        return Ok(Some(Head {
            parts,
            body,
            reusable,
            hop_by_hop,
        }));
    }
}

/// What a response head's fields say about its framing.
#[derive(Debug, Default)]
struct Facts {
    /// `transfer-encoding` seen: whether its last coding is `chunked`.
    chunked: Option<bool>,
    /// `content-length` seen: the length, or `Err` when invalid or contradictory.
    length: Option<Result<u64, ()>>,
    /// `connection: close`.
    close: bool,
}

impl Facts {
    fn note(&mut self, name: &HeaderName, value: &[u8]) {
        if *name == header::TRANSFER_ENCODING {
            let last = wire::tokens(value).next_back();
            self.chunked = Some(last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked")));
        } else if *name == header::CONTENT_LENGTH {
            for part in wire::tokens(value) {
                let n = wire::parse_length(part).ok_or(());
                self.length = match (self.length, n) {
                    (None, n) => Some(n),
                    (Some(Ok(l)), Ok(n)) if l == n => Some(Ok(n)),
                    _ => Some(Err(())),
                };
            }
        } else if *name == header::CONNECTION {
            self.close |= wire::has_token(value, b"close");
        }
    }

    /// The body's decoder, and whether its end is known without the connection closing
    /// (and the framing unambiguous).
    fn framing(
        &self,
        headers: &mut HeaderMap,
        status: StatusCode,
        head_request: bool,
    ) -> Result<(Decoder, bool), H1Error> {
        if head_request || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
            return Ok((Decoder::Length(0), true));
        }
        if let Some(chunked) = self.chunked {
            // Both framings: the transfer coding wins, and the connection is not trusted
            // after (RFC 9112 §6.3). The stale length must not reach the client either.
            let ambiguous = self.length.is_some();
            if ambiguous {
                headers.remove(header::CONTENT_LENGTH);
            }
            return Ok(if chunked {
                (Decoder::Chunked(Chunked::Size), !ambiguous)
            } else {
                (Decoder::Close, false)
            });
        }
        match self.length {
            Some(Ok(n)) => Ok((Decoder::Length(n), true)),
            Some(Err(())) => Err(H1Error::BadLength),
            None => Ok((Decoder::Close, false)),
        }
    }
}

/// What the body decoder made of the buffered bytes.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// The next piece of the body.
    Data(Bytes),
    /// Nothing decodable buffered: read more.
    More,
    /// The body is complete.
    End,
}

/// A response body's framing, and where in it the decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decoder {
    /// This many bytes still to come.
    Length(u64),
    /// Chunked transfer coding.
    Chunked(Chunked),
    /// Everything until the upstream closes.
    Close,
}

/// Position in a chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunked {
    /// At a chunk-size line.
    Size,
    /// Inside a chunk: bytes left.
    Data(u64),
    /// After a chunk's data: its CRLF.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one (bytes seen so far).
    Trailers(usize),
    /// Done.
    Done,
}

impl Decoder {
    /// Decode from the front of `buf`.
    pub(super) fn step(&mut self, buf: &mut BytesMut) -> Result<Step, H1Error> {
        match self {
            Decoder::Length(0) => Ok(Step::End),
            Decoder::Length(left) => {
                if buf.is_empty() {
                    return Ok(Step::More);
                }
                let n = (*left).min(buf.len() as u64);
                *left -= n;
                Ok(Step::Data(buf.split_to(n as usize).freeze()))
            }
            Decoder::Close if buf.is_empty() => Ok(Step::More),
            Decoder::Close => Ok(Step::Data(buf.split().freeze())),
            Decoder::Chunked(state) => state.step(buf),
        }
    }

    /// Whether what is buffered of the body already shows it broken, without consuming
    /// anything: a chunked body whose first size line is not one. (A body of known length
    /// or one delimited by the close cannot break before its connection does.)
    pub(super) fn check_start(&self, buf: &[u8]) -> Result<(), H1Error> {
        if let Decoder::Chunked(Chunked::Size) = self {
            match buf.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let line = &buf[..i];
                    chunk_size(line.strip_suffix(b"\r").unwrap_or(line))?;
                }
                None if buf.len() > MAX_LINE => return Err(H1Error::BadChunk),
                None => {}
            }
        }
        Ok(())
    }

    /// The body is complete.
    pub(super) fn is_done(&self) -> bool {
        matches!(self, Decoder::Length(0) | Decoder::Chunked(Chunked::Done))
    }

    /// What the upstream closing the connection now means: the end of a body delimited
    /// by the close, or a body cut short.
    pub(super) fn at_eof(&self) -> Result<Step, H1Error> {
        match self {
            Decoder::Close => Ok(Step::End),
            _ if self.is_done() => Ok(Step::End),
            Decoder::Chunked(_) => Err(H1Error::BadChunk),
            Decoder::Length(_) => Err(H1Error::BadLength),
        }
    }
}

impl Chunked {
    fn step(&mut self, buf: &mut BytesMut) -> Result<Step, H1Error> {
        loop {
            match *self {
                Chunked::Size => {
                    let Some(line) = take_line(buf, MAX_LINE)? else {
                        return Ok(Step::More);
                    };
                    let size = chunk_size(&line)?;
                    *self = if size == 0 {
                        Chunked::Trailers(0)
                    } else {
                        Chunked::Data(size)
                    };
                }
                Chunked::Data(left) => {
                    if buf.is_empty() {
                        return Ok(Step::More);
                    }
                    let n = left.min(buf.len() as u64);
                    *self = if n == left {
                        Chunked::DataEnd
                    } else {
                        Chunked::Data(left - n)
                    };
                    return Ok(Step::Data(buf.split_to(n as usize).freeze()));
                }
                Chunked::DataEnd => {
                    if buf.len() < 2 {
                        return Ok(Step::More);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(H1Error::BadChunk);
                    }
                    buf.advance(2);
                    *self = Chunked::Size;
                }
                Chunked::Trailers(seen) => {
                    let Some(line) = take_line(buf, MAX_LINE)? else {
                        return Ok(Step::More);
                    };
                    // Trailer fields are not passed on (API Gateway has none).
                    let seen = seen + line.len() + 2;
                    if seen > MAX_TRAILERS {
                        return Err(H1Error::BadChunk);
                    }
                    *self = if line.is_empty() {
                        Chunked::Done
                    } else {
                        Chunked::Trailers(seen)
                    };
                }
                Chunked::Done => return Ok(Step::End),
            }
        }
    }
}

/// The next CRLF-terminated line (without the CRLF), if complete.
fn take_line(buf: &mut BytesMut, max: usize) -> Result<Option<Bytes>, H1Error> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(i) => {
            let line = buf.split_to(i + 1).freeze();
            let line = line.slice(..i);
            Ok(Some(match line.last() {
                Some(b'\r') => line.slice(..i - 1),
                _ => line,
            }))
        }
        None if buf.len() > max => Err(H1Error::BadChunk),
        None => Ok(None),
    }
}

/// A chunk-size line (without its line end): the size, then optional `;extensions`
/// (ignored).
fn chunk_size(line: &[u8]) -> Result<u64, H1Error> {
    let digits = line
        .split(|&b| b == b';')
        .next()
        .unwrap_or(&[])
        .trim_ascii();
    parse_hex(digits).ok_or(H1Error::BadChunk)
}

fn parse_hex(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    digits.iter().try_fold(0_u64, |n, &d| {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return None,
        };
        Some(n << 4 | u64::from(v))
    })
}

#[cfg(test)]
mod tests;
