//! The header-read timeout without a timer per request.
//!
//! hyper bounds the time a client takes to send a request head (slow-header clients,
//! idle keep-alive connections) with a sleep from its `Timer`, made for every request and
//! dropped when the head is complete. With tokio's timer that is a boxed `Sleep`
//! registered in the timer wheel and removed again per request (≈ 6 % of a MOCK request).
//!
//! Here the two halves are split. [`HeaderTimer`]'s sleeps only hold their deadline:
//! polled, they compare it with the clock and register nothing. The wake-up that makes
//! hyper poll them again comes from [`Ticking`], around each connection's socket: when a
//! read finds nothing to read, a per-connection tokio sleep is armed if it is not already,
//! and it fires every `tick` while the connection waits. So a connection's timer is
//! registered once per tick at most instead of once per request, and a head that is late
//! is noticed at most one tick after its deadline. The listener's own HTTP/1.1 path counts
//! the same ticks ([`Ticking::ticks`]) for its header-read timeout, and hands a connection
//! to hyper with the bytes it already read put back in front ([`Ticking::rewind`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The tick for a header-read timeout: a sixth of it, between 50 ms and 5 s.
pub(crate) fn tick_for(timeout: Duration) -> Duration {
    (timeout / 6).clamp(Duration::from_millis(50), Duration::from_secs(5))
}

/// hyper's timer for HTTP/1 connections served over [`Ticking`] streams.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HeaderTimer;

/// A deadline, checked when polled.
#[derive(Debug)]
struct Deadline(Instant);

impl Future for Deadline {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.0 {
            Poll::Ready(())
        } else {
            // No waker kept: the connection's tick polls again.
            Poll::Pending
        }
    }
}

impl hyper::rt::Sleep for Deadline {}

impl hyper::rt::Timer for HeaderTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Deadline(deadline))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<Deadline>() {
            Some(mut d) => d.0 = new_deadline,
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// A connection's stream that wakes its task every `tick` while a read is waiting.
#[derive(Debug)]
pub(crate) struct Ticking<S> {
    inner: S,
    tick: Duration,
    /// Armed on the first read that waits; re-armed when it has fired.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The waker the armed sleep holds: while it is the task's, nothing to do.
    waker: Option<std::task::Waker>,
    /// Ticks seen to have fired (counted when a waiting read re-arms the sleep).
    fired: u32,
    /// Bytes read before, returned by the next reads (see [`Ticking::rewind`]).
    read: bytes::Bytes,
    /// Set once the connection is no longer HTTP (a WebSocket after its `101`): no head
    /// to time, so a waiting read arms nothing (an idle WebSocket is not woken every tick).
    quiet: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl<S> Ticking<S> {
    pub(crate) fn new(inner: S, tick: Duration) -> Self {
        Ticking {
            inner,
            tick,
            sleep: None,
            waker: None,
            fired: 0,
            read: bytes::Bytes::new(),
            quiet: None,
        }
    }

    /// Stop ticking once `quiet` is set (see the field).
    pub(crate) fn quiet_when(
        mut self,
        quiet: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Self {
        self.quiet = Some(quiet);
        self
    }

    /// The stream, with `read` (bytes already taken from it) returned by the next reads:
    /// how a connection the listener started reading is handed to hyper.
    pub(crate) fn rewind(mut self, read: bytes::Bytes) -> Self {
        self.read = read;
        self
    }

    /// Ticks that have fired while reads waited, so far: a clock for the connection's
    /// own header-read timeout that costs no clock read per request.
    pub(crate) fn ticks(&self) -> u32 {
        self.fired
    }

    /// Make sure the task is woken within a tick.
    fn arm(&mut self, cx: &mut Context<'_>) {
        let tick = self.tick;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(tick)));
        let same_waker = self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
        if same_waker && !sleep.is_elapsed() {
            // Armed, and it wakes this task.
            return;
        }
        if !same_waker {
            self.waker = Some(cx.waker().clone());
        }
        if sleep.is_elapsed() {
            sleep.as_mut().reset(tokio::time::Instant::now() + tick);
            self.fired = self.fired.wrapping_add(1);
        }
        if sleep.as_mut().poll(cx).is_ready() {
            // Fired just now: the next tick.
            sleep.as_mut().reset(tokio::time::Instant::now() + tick);
            self.fired = self.fired.wrapping_add(1);
            let _ = sleep.as_mut().poll(cx);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Ticking<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if !me.read.is_empty() {
            let n = me.read.len().min(buf.remaining());
            buf.put_slice(&me.read.split_to(n));
            return Poll::Ready(Ok(()));
        }
        let polled = Pin::new(&mut me.inner).poll_read(cx, buf);
        let quiet = me
            .quiet
            .as_ref()
            .is_some_and(|q| q.load(std::sync::atomic::Ordering::Relaxed));
        if polled.is_pending() && !quiet {
            me.arm(cx);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Ticking<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_a_sixth_of_the_timeout_within_bounds() {
        assert_eq!(tick_for(Duration::from_secs(30)), Duration::from_secs(5));
        assert_eq!(tick_for(Duration::from_secs(600)), Duration::from_secs(5));
        assert_eq!(
            tick_for(Duration::from_millis(600)),
            Duration::from_millis(100)
        );
        assert_eq!(
            tick_for(Duration::from_millis(100)),
            Duration::from_millis(50)
        );
    }

    #[tokio::test]
    async fn a_quiet_stream_arms_no_tick() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let (client, _server) = tokio::io::duplex(64);
        let quiet = Arc::new(AtomicBool::new(false));
        let mut io = Ticking::new(client, Duration::from_millis(50)).quiet_when(quiet.clone());
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut bytes = [0u8; 8];
        let mut buf = ReadBuf::new(&mut bytes);
        assert!(Pin::new(&mut io).poll_read(&mut cx, &mut buf).is_pending());
        assert!(
            io.sleep.is_some(),
            "an HTTP connection waiting for a head ticks"
        );
        let (client, _server) = tokio::io::duplex(64);
        let mut io = Ticking::new(client, Duration::from_millis(50)).quiet_when(quiet.clone());
        quiet.store(true, Ordering::Relaxed);
        assert!(Pin::new(&mut io).poll_read(&mut cx, &mut buf).is_pending());
        assert!(
            io.sleep.is_none(),
            "a WebSocket's waiting read arms nothing"
        );
    }

    #[test]
    fn deadlines_move_in_place() {
        use hyper::rt::Timer;
        let timer = HeaderTimer;
        let past = Instant::now() - Duration::from_secs(1);
        let mut sleep = timer.sleep_until(past);
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(sleep.as_mut().poll(&mut cx).is_ready());
        timer.reset(&mut sleep, Instant::now() + Duration::from_secs(60));
        assert!(sleep.as_mut().poll(&mut cx).is_pending());
        assert!(sleep.as_mut().downcast_mut_pin::<Deadline>().is_some());
    }
}
