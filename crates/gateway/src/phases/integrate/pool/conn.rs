//! One upstream HTTP/1.1 connection, driven by whoever uses it: the request's own task
//! writes the request and reads the response head ([`Conn::exchange`]), then the response
//! body ([`super::UpstreamBody`]) reads on; idle, nobody does (the reaper looks at it now
//! and then). No task per connection, no channel between the request and its connection:
//! bytes go from the socket into one read buffer and out as the body's frames.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::BytesMut;
use http::Method;
use http_body::Body as _;
use tokio::io::AsyncWrite;

use super::Outgoing;
use super::h1::{self, H1Error, Head};
use crate::body::{Body, BoxError};
use crate::tls::Stream;

/// Read buffer reserve per read.
const READ_CHUNK: usize = 16 * 1024;
/// Write buffer capacity a connection keeps between requests.
const KEEP_WBUF: usize = 64 * 1024;

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExchangeError {
    /// Reading or writing the socket failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The upstream's answer is not HTTP/1.1 we can pass on.
    #[error("{0}")]
    H1(#[from] H1Error),
    /// The upstream closed the connection without answering.
    #[error("the upstream closed the connection before answering")]
    Closed,
    /// No response head by the deadline.
    #[error("no answer from the upstream in time")]
    TimedOut,
    /// The request body failed while it was being sent (the client went away, or sent
    /// more than allowed).
    #[error("request body: {0}")]
    RequestBody(#[source] BoxError),
}

/// An exchange that did not happen: the request comes back unsent when the connection
/// turned out closed before any of it was written.
#[derive(Debug)]
pub(super) enum Failed {
    Unsent(Box<Outgoing>),
    Error(ExchangeError),
}

/// A request body still being written.
#[derive(Debug)]
struct Sending {
    body: Body,
    chunked: bool,
}

/// A connection: the socket, what was read and not used yet, what is left to write.
#[derive(Debug)]
pub(crate) struct Conn {
    io: Stream,
    pub(super) rbuf: BytesMut,
    wbuf: Vec<u8>,
    /// How much of `wbuf` is written.
    written: usize,
    /// Written to the socket since the last flush (TLS buffers records).
    unflushed: bool,
    /// Some of the current request has reached the socket.
    started: bool,
    sending: Option<Sending>,
    /// The current exchange's deadline: one timer per connection, moved for each request
    /// (moving a registered tokio timer later takes no lock), not one made per request.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// How long a response body may go without a byte: the exchange's time to its
    /// deadline when it was sent (the integration timeout).
    idle: std::time::Duration,
    /// The timer runs for the current wait for body bytes.
    waiting: bool,
    /// False once the connection has ended (closed by either side, or broken).
    open: bool,
    /// The connection worker whose runtime drives the socket (where it was opened).
    pub(super) worker: usize,
}

impl Conn {
    /// HTTP/1.1 over `stream`.
    pub(super) fn new(stream: Stream) -> Box<Conn> {
        Box::new(Conn {
            io: stream,
            rbuf: BytesMut::new(),
            wbuf: Vec::with_capacity(1024),
            written: 0,
            unflushed: false,
            started: false,
            sending: None,
            timer: None,
            idle: std::time::Duration::ZERO,
            waiting: false,
            open: true,
            worker: crate::server::workers::current(),
        })
    }

    /// For an idle connection: whether it is still open. Bytes or an EOF from the upstream
    /// while nothing was asked end it. `cx` is woken when the upstream closes it.
    pub(super) fn poll_idle(&mut self, cx: &mut Context<'_>) -> bool {
        if self.open && !self.rbuf.is_empty() {
            self.open = false;
        }
        if self.open && !matches!(self.poll_fill(cx), Poll::Pending) {
            self.open = false;
        }
        self.open
    }

    /// Catch up on what happened while nobody looked; true when it is open.
    pub(super) async fn refresh(&mut self) -> bool {
        poll_fn(|cx| Poll::Ready(self.poll_idle(cx))).await
    }

    /// The write buffer's capacity (tests: an idle connection does not keep a big one).
    #[cfg(test)]
    pub(super) fn write_capacity(&self) -> usize {
        self.wbuf.capacity()
    }

    /// Whether the connection has not ended (as far as it knows).
    pub(super) fn is_open(&self) -> bool {
        self.open
    }

    /// Whether the request (body, or bytes a TLS stream still buffers) is still going out.
    pub(super) fn is_sending(&self) -> bool {
        self.sending.is_some() || self.written < self.wbuf.len() || self.unflushed
    }

    /// Send `req` and read until the response head has arrived, by `deadline`; a request
    /// body still being sent then goes on with the response body's reads.
    pub(super) async fn exchange(
        &mut self,
        req: Outgoing,
        deadline: tokio::time::Instant,
    ) -> Result<Head, Failed> {
        let head_request = req.head.method() == Method::HEAD;
        // A connection the upstream closed while idle is seen before anything is written.
        if !self.refresh().await {
            return Err(Failed::Unsent(Box::new(req)));
        }
        let Outgoing { head, body } = req;
        let send = if body.is_end_stream() {
            h1::Send::Empty
        } else {
            match body.size_hint().exact() {
                Some(n) => h1::Send::Length(n),
                None => h1::Send::Chunked,
            }
        };
        self.wbuf.clear();
        self.written = 0;
        self.started = false;
        head.write(send, &mut self.wbuf);
        let mut body = Some(body);
        if send != h1::Send::Empty {
            self.sending = body.take().map(|body| Sending {
                body,
                chunked: send == h1::Send::Chunked,
            });
        }
        match self.timer.as_mut() {
            Some(t) => t.as_mut().reset(deadline),
            None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
        }
        self.idle = deadline.saturating_duration_since(tokio::time::Instant::now());
        self.waiting = false;
        let result = poll_fn(|cx| self.poll_exchange(cx, head_request)).await;
        match result {
            Ok(head) => Ok(head),
            Err(e) => {
                self.open = false;
                let unsent = !self.started && matches!(e, ExchangeError::Io(_));
                match (unsent, body.or_else(|| self.sending.take().map(|s| s.body))) {
                    (true, Some(body)) => Err(Failed::Unsent(Box::new(Outgoing { head, body }))),
                    _ => Err(Failed::Error(e)),
                }
            }
        }
    }

    fn poll_exchange(
        &mut self,
        cx: &mut Context<'_>,
        head_request: bool,
    ) -> Poll<Result<Head, ExchangeError>> {
        if let Some(t) = self.timer.as_mut()
            && t.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(ExchangeError::TimedOut));
        }
        if let Poll::Ready(Err(e)) = self.poll_send(cx) {
            return Poll::Ready(Err(e));
        }
        loop {
            if !self.rbuf.is_empty()
                && let Some(head) = h1::parse_response(&mut self.rbuf, head_request)?
            {
                return Poll::Ready(Ok(head));
            }
            if ready!(self.poll_fill(cx))? == 0 {
                return Poll::Ready(Err(ExchangeError::Closed));
            }
        }
    }

    /// Write what is buffered and as much of the request body as is ready.
    pub(super) fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ExchangeError>> {
        loop {
            while self.written < self.wbuf.len() {
                let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.wbuf[self.written..]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero).into()));
                }
                self.written += n;
                self.unflushed = true;
                self.started = true;
            }
            if self.unflushed {
                ready!(Pin::new(&mut self.io).poll_flush(cx))?;
                self.unflushed = false;
            }
            let Some(sending) = self.sending.as_mut() else {
                if self.wbuf.capacity() > KEEP_WBUF {
                    // A large body went out: an idle connection does not keep its buffer.
                    self.wbuf = Vec::with_capacity(1024);
                    self.written = 0;
                }
                return Poll::Ready(Ok(()));
            };
            self.wbuf.clear();
            self.written = 0;
            match ready!(Pin::new(&mut sending.body).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    // Trailers of a client's body are not passed on.
                    if let Ok(data) = frame.into_data() {
                        if sending.chunked {
                            h1::encode_chunk(&data, &mut self.wbuf);
                        } else {
                            self.wbuf.extend_from_slice(&data);
                        }
                    }
                }
                None => {
                    if sending.chunked {
                        self.wbuf.extend_from_slice(crate::wire::LAST_CHUNK);
                    }
                    self.sending = None;
                }
                Some(Err(e)) => {
                    self.sending = None;
                    self.open = false;
                    return Poll::Ready(Err(ExchangeError::RequestBody(e)));
                }
            }
        }
    }

    /// [`Conn::poll_fill`] for a response body: an upstream that sends no byte of it for
    /// the exchange's timeout fails it (as nginx's `proxy_read_timeout`), instead of
    /// holding the client's connection until it closes. The timer is armed only when a
    /// read has to wait.
    pub(super) fn poll_body_fill(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<usize, ExchangeError>> {
        if let Poll::Ready(read) = self.poll_fill(cx) {
            self.waiting = false;
            return Poll::Ready(read.map_err(ExchangeError::Io));
        }
        let idle = self.idle;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
        if !self.waiting {
            self.waiting = true;
            timer.as_mut().reset(tokio::time::Instant::now() + idle);
        }
        if timer.as_mut().poll(cx).is_ready() {
            self.open = false;
            return Poll::Ready(Err(ExchangeError::TimedOut));
        }
        Poll::Pending
    }

    /// Read more into the read buffer: the byte count, 0 at EOF.
    pub(super) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.rbuf.capacity() - self.rbuf.len() < READ_CHUNK / 4 {
            self.rbuf.reserve(READ_CHUNK);
        }
        tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.rbuf)
    }
}
