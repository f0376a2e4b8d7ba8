//! One body type for both directions: empty, a buffered chunk, or a streamed hyper body
//! (optionally length-limited), upstream response or plugin response. Streaming bodies are never buffered here.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::Limited;
use hyper::body::Incoming;

/// Boxed error of a body.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request or response body.
#[derive(Debug, Default)]
pub enum Body {
    /// No bytes.
    #[default]
    Empty,
    /// A buffered chunk, yielded once.
    Full(Option<Bytes>),
    /// A streamed body (from a client or an upstream).
    Stream(Incoming),
    /// A streamed client body with a size cap.
    Limited(Limited<Incoming>),
    /// A response streamed to the client while it fills the cache.
    Tee(Box<crate::cache::Tee>),
    /// An upstream response; its connection returns to the pool when it ends.
    Upstream(crate::phases::integrate::UpstreamBody),
    /// A `wasi-http` plugin's response, as the guest writes it.
    Plugin(causeway_plugin::HttpBody),
    /// Another body, compressed as it streams (REST APIs' `minimum_compression_size`).
    Compressed(Box<crate::compress::Encoded>),
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        if b.is_empty() {
            Body::Empty
        } else {
            Body::Full(Some(b))
        }
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Body::from(Bytes::from(s))
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Body::from(Bytes::from_static(s.as_bytes()))
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut *self {
            Body::Empty => Poll::Ready(None),
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(inc) => Pin::new(inc).poll_frame(cx).map_err(Into::into),
            Body::Limited(l) => Pin::new(l).poll_frame(cx),
            Body::Tee(t) => t.poll(cx),
            Body::Upstream(u) => Pin::new(u).poll_frame(cx),
            Body::Plugin(p) => Pin::new(p).poll_frame(cx).map_err(Into::into),
            Body::Compressed(c) => c.poll(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Empty => true,
            Body::Full(b) => b.is_none(),
            Body::Stream(inc) => inc.is_end_stream(),
            Body::Limited(l) => l.is_end_stream(),
            Body::Tee(t) => t.is_end_stream(),
            Body::Upstream(u) => u.is_end_stream(),
            Body::Plugin(p) => p.is_end_stream(),
            Body::Compressed(c) => c.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Empty => SizeHint::with_exact(0),
            Body::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Body::Stream(inc) => inc.size_hint(),
            Body::Limited(l) => l.size_hint(),
            Body::Tee(t) => t.size_hint(),
            Body::Upstream(u) => u.size_hint(),
            Body::Plugin(p) => p.size_hint(),
            Body::Compressed(c) => c.size_hint(),
        }
    }
}
