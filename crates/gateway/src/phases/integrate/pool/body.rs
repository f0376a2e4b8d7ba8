//! The response body of a pooled exchange: streams the upstream's body, driving the
//! connection as it goes, and returns the connection to the pool when the body ends.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Response, Version, header};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;

use super::Host;
use super::conn::Conn;
use crate::body::{Body, BoxError};

/// An upstream response body that gives its connection back to the pool at its end.
#[derive(Debug)]
pub struct UpstreamBody {
    inner: Incoming,
    /// The connection (driven while the body streams) and where it goes back; `None` once
    /// returned or broken.
    conn: Option<(Arc<Host>, Box<Conn>)>,
    /// False when the upstream said it closes the connection after this response.
    reusable: bool,
}

/// Wrap the response of an exchange on `conn`.
pub(super) fn wrap(resp: Response<Incoming>, host: Arc<Host>, conn: Box<Conn>) -> Response<Body> {
    let reusable = resp.version() == Version::HTTP_11
        && !resp
            .headers()
            .get_all(header::CONNECTION)
            .iter()
            .any(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    let (parts, inner) = resp.into_parts();
    let mut body = UpstreamBody {
        inner,
        conn: Some((host, conn)),
        reusable,
    };
    if http_body::Body::is_end_stream(&body.inner) {
        // No body at all (204, 304, HEAD, `content-length: 0`): the connection is free now.
        body.finish();
    }
    Response::from_parts(parts, Body::Upstream(body))
}

impl UpstreamBody {
    fn finish(&mut self) {
        if let Some((host, conn)) = self.conn.take()
            && self.reusable
        {
            host.checkin(conn);
        }
    }
}

impl http_body::Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let mut polled = Pin::new(&mut this.inner).poll_frame(cx);
        if polled.is_pending()
            && let Some((_, conn)) = this.conn.as_mut()
        {
            // Read from the upstream (this task drives the connection), then look again.
            conn.poll_io(cx);
            polled = Pin::new(&mut this.inner).poll_frame(cx);
        }
        match &polled {
            Poll::Ready(None) => this.finish(),
            Poll::Ready(Some(Ok(_))) if this.inner.is_end_stream() => this.finish(),
            // A broken exchange: the connection is closed, not reused.
            Poll::Ready(Some(Err(_))) => this.conn = None,
            _ => {}
        }
        polled.map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for UpstreamBody {
    fn drop(&mut self) {
        // Dropped unread (a client gone mid-response): the connection still carries the
        // rest of this body, so it is closed rather than returned.
        if http_body::Body::is_end_stream(&self.inner) {
            self.finish();
        }
    }
}
