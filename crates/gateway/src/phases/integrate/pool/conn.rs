//! One upstream HTTP/1.1 connection, driven by whoever uses it: the request's own task
//! polls the connection while it waits for the response head ([`Conn::exchange`]) and
//! while the response body streams ([`super::UpstreamBody`]); idle, nobody does (the
//! reaper looks at it now and then). No task per connection, no task switch per request.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::TrySendError;
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper_util::rt::TokioIo;

use crate::body::Body;
use crate::tls::Stream;

/// A connection: the request handle and the connection's state machine.
#[derive(Debug)]
pub(crate) struct Conn {
    sender: SendRequest<Body>,
    /// `None` once the connection has ended (closed by either side, or broken).
    io: Option<Connection<TokioIo<Stream>, Body>>,
}

impl Conn {
    /// HTTP/1.1 over `stream`.
    pub(super) async fn handshake(stream: Stream) -> hyper::Result<Box<Conn>> {
        let (sender, io) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await?;
        Ok(Box::new(Conn {
            sender,
            io: Some(io),
        }))
    }

    /// Let the connection do the reading and writing it can; false once it has ended.
    pub(super) fn poll_io(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(io) = self.io.as_mut() else {
            return false;
        };
        match Pin::new(io).poll(cx) {
            Poll::Pending => true,
            Poll::Ready(result) => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "upstream connection ended");
                }
                // Dropping the state machine also answers requests still queued on it.
                self.io = None;
                false
            }
        }
    }

    /// For an idle connection: catch up on what happened while nobody looked (the upstream
    /// may have closed it); true when it is open and ready for a request.
    pub(super) async fn refresh(&mut self) -> bool {
        poll_fn(|cx| Poll::Ready(self.poll_io(cx) && self.sender.is_ready())).await
    }

    /// Send `req` and drive the connection until the response head arrives. hyper hands
    /// the request back (in the error) when the connection ended before writing it.
    pub(super) async fn exchange(
        &mut self,
        req: Request<Body>,
    ) -> Result<Response<Incoming>, TrySendError<Request<Body>>> {
        let mut response = pin!(self.sender.try_send_request(req));
        poll_fn(|cx| {
            if let Poll::Ready(r) = response.as_mut().poll(cx) {
                return Poll::Ready(r);
            }
            // Write the request, read the response; if the connection ends, its queue is
            // dropped, which answers the response future.
            self.poll_io(cx);
            response.as_mut().poll(cx)
        })
        .await
    }

    /// Whether the connection has not ended (as far as it knows).
    pub(super) fn is_open(&self) -> bool {
        self.io.is_some()
    }
}
