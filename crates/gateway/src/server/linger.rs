//! Lingering close (nginx's `lingering_close`).
//!
//! When the gateway answers before reading all the client sent (413 for a body over the
//! limit, an answer saying `connection: close` with more requests pipelined behind it)
//! and then closes, the kernel resets the connection if unread bytes are waiting, and a
//! client still sending may lose the answer it was already sent. So a connection is not
//! closed at once: its write side is shut (FIN) and [`linger`] reads and discards what
//! the client still sends until it closes its side, for at most [`LINGER_FOR`]
//! ([`LINGER_IDLE`] without a byte). The fast path does this itself; a connection hyper
//! serves is handed back when hyper is done with it ([`Handback`]).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// The longest a closing connection keeps reading.
pub(super) const LINGER_FOR: Duration = Duration::from_secs(5);
/// The longest it waits for a byte.
pub(super) const LINGER_IDLE: Duration = Duration::from_secs(1);

/// Where a [`Handback`] leaves its stream when dropped.
pub(super) struct Slot<S>(Arc<Mutex<Option<S>>>);

impl<S> Slot<S> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<S>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The stream, once its [`Handback`] was dropped.
    pub(super) fn take(&self) -> Option<S> {
        self.lock().take()
    }
}

/// An I/O stream that, when dropped, goes back into its [`Slot`] instead of closing.
pub(super) struct Handback<S> {
    io: Option<S>,
    slot: Slot<S>,
}

impl<S> Handback<S> {
    pub(super) fn new(io: S) -> (Handback<S>, Slot<S>) {
        let slot = Arc::new(Mutex::new(None));
        let io = Handback {
            io: Some(io),
            slot: Slot(slot.clone()),
        };
        (io, Slot(slot))
    }

    /// `f` on the stream (there until the `Handback` is dropped).
    fn with<R>(
        self: Pin<&mut Self>,
        f: impl FnOnce(Pin<&mut S>) -> Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>>
    where
        S: Unpin,
    {
        match self.get_mut().io.as_mut() {
            Some(io) => f(Pin::new(io)),
            None => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }
}

impl<S> Drop for Handback<S> {
    fn drop(&mut self) {
        *self.slot.lock() = self.io.take();
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Handback<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.with(|io| io.poll_read(cx, buf))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Handback<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.with(|io| io.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.with(|io| io.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.as_ref().is_some_and(S::is_write_vectored)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with(|io| io.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with(|io| io.poll_shutdown(cx))
    }
}

/// Read and discard until the peer closes, an error, [`LINGER_IDLE`] without a byte or
/// [`LINGER_FOR`] in all; then the caller drops (closes) `io`.
pub(super) async fn linger<S: AsyncRead + Unpin>(io: &mut S) {
    let mut sink = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + LINGER_FOR;
    loop {
        let wait = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .min(LINGER_IDLE);
        match tokio::time::timeout(wait, io.read(&mut sink)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return,
        }
    }
}
