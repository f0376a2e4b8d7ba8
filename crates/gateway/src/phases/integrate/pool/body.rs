//! The response body of a pooled exchange: decoded from the connection's read buffer as
//! the client takes it (a request body still being sent goes on alongside), and the
//! connection back to the pool when the body ends.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use http_body::{Frame, SizeHint};

use super::conn::{Conn, ExchangeError};
use super::h1::{Decoder, Head, Step};
use super::{Host, PoolError};
use crate::body::{Body, BoxError};

/// An upstream response body that gives its connection back to the pool at its end.
#[derive(Debug)]
pub struct UpstreamBody {
    decoder: Decoder,
    /// The connection (read as the body streams) and where it goes back; `None` once the
    /// body has ended, or broke.
    conn: Option<(Arc<Host>, Box<Conn>)>,
    /// False when the connection cannot carry another request after this response.
    reusable: bool,
}

/// The response of an exchange on `conn`.
/// Hop-by-hop headers are dropped from it (RFC 9110 §7.6.1): they were about this
/// connection, not the one the response goes on.
///
/// A body already seen broken in what came with the head (a bad first chunk size) fails
/// the exchange, which the pipeline answers as a 502 and counts and logs as one, instead
/// of passing a 2xx head on and then dropping the client's connection.
pub(super) fn wrap(
    mut head: Head,
    host: Arc<Host>,
    conn: Box<Conn>,
) -> Result<Response<Body>, PoolError> {
    if head.hop_by_hop {
        super::super::forward::strip_hop_by_hop(&mut head.parts.headers);
    }
    head.body
        .check_start(&conn.rbuf)
        .map_err(|e| PoolError::Http(ExchangeError::H1(e)))?;
    let mut body = UpstreamBody {
        decoder: head.body,
        conn: Some((host, conn)),
        reusable: head.reusable,
    };
    if body.decoder.is_done() {
        // No body at all (204, 304, HEAD, `content-length: 0`): the connection is free now.
        body.finish();
    }
    Ok(Response::from_parts(head.parts, Body::Upstream(body)))
}

impl UpstreamBody {
    /// The body is complete: the connection goes back if it can carry another request.
    fn finish(&mut self) {
        if let Some((host, conn)) = self.conn.take()
            && self.reusable
            && !conn.is_sending()
            && conn.rbuf.is_empty()
        {
            host.checkin(conn);
        }
    }

    fn fail(&mut self, e: impl Into<BoxError>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        // A broken exchange: the connection is closed, not reused.
        self.conn = None;
        Poll::Ready(Some(Err(e.into())))
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
        loop {
            let Some((_, conn)) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            if conn.is_sending()
                && let Poll::Ready(Err(e)) = conn.poll_send(cx)
            {
                return this.fail(e);
            }
            match this.decoder.step(&mut conn.rbuf) {
                Err(e) => return this.fail(e),
                Ok(Step::Data(data)) => {
                    if this.decoder.is_done() {
                        this.finish();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Ok(Step::End) => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Ok(Step::More) => match conn.poll_body_fill(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => return this.fail(e),
                    Poll::Ready(Ok(0)) => {
                        // The upstream closed: the end of a body delimited by the close,
                        // else a body cut short.
                        if let Err(e) = this.decoder.at_eof() {
                            return this.fail(e);
                        }
                        this.reusable = false;
                        this.finish();
                        return Poll::Ready(None);
                    }
                    Poll::Ready(Ok(_)) => {}
                },
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.conn.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.conn, self.decoder) {
            (None, _) => SizeHint::with_exact(0),
            (Some(_), Decoder::Length(n)) => SizeHint::with_exact(n),
            (Some(_), _) => SizeHint::default(),
        }
    }
}
