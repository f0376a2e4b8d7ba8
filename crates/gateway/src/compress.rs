//! Response compression for REST APIs (API Gateway's `minimumCompressionSize`): which
//! coding a client accepts, and a body that encodes another as it streams.
//!
//! The encoder works frame by frame: a buffered answer (MOCK, a cached one) is encoded in
//! pieces of at most [`PIECE`] bytes per poll, so a large one never holds the worker for
//! long, and a streamed one (HTTP_PROXY) is flushed after each upstream frame, so what the
//! upstream sent reaches the client without waiting for the rest (a streamed answer stays
//! streamed). Compression uses `flate2` (its pure-Rust backend) at level 1, the
//! throughput end nginx's `gzip_comp_level` defaults to.

use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::{GzEncoder, ZlibEncoder};
use http::HeaderMap;
use http_body::{Body as _, Frame, SizeHint};

use crate::body::{Body, BoxError};

/// Input encoded per poll at most.
const PIECE: usize = 64 * 1024;

/// A content coding this gateway writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    /// HTTP's `deflate`: the zlib format (RFC 9110 §8.4.1.2).
    Deflate,
}

impl Coding {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
        }
    }
}

/// The coding to answer with, from the request's `Accept-Encoding`: `gzip` if it is
/// acceptable (named, or `*`, with a q-value above 0), else `deflate`, else none.
pub(crate) fn accepted(headers: &HeaderMap) -> Option<Coding> {
    let (mut gzip, mut deflate, mut any) = (None, None, None);
    for value in headers.get_all(http::header::ACCEPT_ENCODING) {
        for item in crate::wire::tokens(value.as_bytes()) {
            let mut params = item.split(|&b| b == b';').map(<[u8]>::trim_ascii);
            let name = params.next().unwrap_or_default();
            // `q=0` refuses a coding; a q-value that does not parse counts as 1.
            let wanted = params
                .filter_map(|p| p.strip_prefix(b"q=").or(p.strip_prefix(b"Q=")))
                .all(|q| {
                    std::str::from_utf8(q)
                        .ok()
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_none_or(|q| q > 0.0)
                });
            let slot = if name.eq_ignore_ascii_case(b"gzip") || name.eq_ignore_ascii_case(b"x-gzip")
            {
                &mut gzip
            } else if name.eq_ignore_ascii_case(b"deflate") {
                &mut deflate
            } else if name == b"*" {
                &mut any
            } else {
                continue;
            };
            *slot = Some(wanted);
        }
    }
    match (gzip.or(any), deflate.or(any)) {
        (Some(true), _) => Some(Coding::Gzip),
        (_, Some(true)) => Some(Coding::Deflate),
        _ => None,
    }
}

enum Encoder {
    Gzip(GzEncoder<Vec<u8>>),
    Deflate(ZlibEncoder<Vec<u8>>),
}

impl Encoder {
    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Encoder::Gzip(e) => e.write_all(data),
            Encoder::Deflate(e) => e.write_all(data),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Encoder::Gzip(e) => e.flush(),
            Encoder::Deflate(e) => e.flush(),
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        match self {
            Encoder::Gzip(e) => e.try_finish(),
            Encoder::Deflate(e) => e.try_finish(),
        }
    }

    /// What the encoder has written so far, taken.
    fn take(&mut self) -> Bytes {
        let out = match self {
            Encoder::Gzip(e) => e.get_mut(),
            Encoder::Deflate(e) => e.get_mut(),
        };
        Bytes::from(std::mem::take(out))
    }
}

/// `inner`, encoded with a [`Coding`] as it is polled.
pub struct Encoded {
    inner: Body,
    encoder: Encoder,
    /// Input taken from `inner` and not encoded yet.
    pending: Bytes,
    /// Trailers seen after the last data frame, sent once the encoding is finished.
    trailers: Option<HeaderMap>,
    done: bool,
}

impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoded").field("done", &self.done).finish()
    }
}

impl Encoded {
    pub(crate) fn new(inner: Body, coding: Coding) -> Encoded {
        let out = Vec::with_capacity(8 * 1024);
        let level = Compression::fast();
        Encoded {
            inner,
            encoder: match coding {
                Coding::Gzip => Encoder::Gzip(GzEncoder::new(out, level)),
                Coding::Deflate => Encoder::Deflate(ZlibEncoder::new(out, level)),
            },
            pending: Bytes::new(),
            trailers: None,
            done: false,
        }
    }

    pub(crate) fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        loop {
            if self.done {
                return Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))));
            }
            if !self.pending.is_empty() {
                let piece = self.pending.split_to(self.pending.len().min(PIECE));
                self.encoder.write(&piece)?;
                // The end of what the inner body had ready: sent on now, so a streamed
                // answer is not held back for the rest.
                if self.pending.is_empty() && !self.inner.is_end_stream() {
                    self.encoder.flush()?;
                }
                let out = self.encoder.take();
                if !out.is_empty() {
                    return Poll::Ready(Some(Ok(Frame::data(out))));
                }
                continue;
            }
            match ready!(Pin::new(&mut self.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => self.pending = data,
                    Err(frame) => self.trailers = frame.into_trailers().ok(),
                },
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {
                    self.encoder.finish()?;
                    self.done = true;
                    let out = self.encoder.take();
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(out))));
                    }
                }
            }
        }
    }

    pub(crate) fn is_end_stream(&self) -> bool {
        self.done && self.trailers.is_none()
    }

    pub(crate) fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests;
