//! Draining connections on shutdown without a watch channel polled on every wake-up.
//!
//! hyper-util's `GracefulShutdown` wraps each connection in a future that polls a
//! `tokio::sync::watch` receiver every time the connection's task wakes (≈ 350
//! instructions per proxied request, several wake-ups each). Here a connection checks one
//! atomic flag ([`Signal`]) when polled and hands its task's waker over once: on shutdown
//! the flag is set and every registered waker is woken, so idle keep-alive connections
//! notice at once. Each connection then winds down gracefully (an in-flight request
//! finishes, HTTP/1 stops keep-alive, h2 sends GOAWAY), and [`Drain::drained`] resolves
//! when the last one has ended.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use hyper_util::server::graceful::GracefulConnection;

/// The listener's side: starts the drain and waits for it.
#[derive(Debug, Default)]
pub(crate) struct Drain {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    draining: AtomicBool,
    /// The tasks of live connections, to wake when draining starts.
    wakers: Mutex<HashMap<u64, Waker>>,
    next_id: AtomicU64,
    live: AtomicUsize,
    /// Signalled when `live` drops to zero while draining.
    idle: tokio::sync::Notify,
}

impl Shared {
    fn wakers(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Waker>> {
        self.wakers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drain {
    /// What a connection checks to know the drain has started.
    pub(crate) fn signal(&self) -> Signal {
        Signal(self.shared.clone())
    }

    /// `conn`, counted as live until it ends, its task woken when draining starts (the
    /// connection checks its [`Signal`] and winds down by itself).
    pub(crate) fn watch<C: Future<Output = ()>>(&self, conn: C) -> Watched<C> {
        self.shared.live.fetch_add(1, Ordering::SeqCst);
        Watched {
            conn: Box::pin(conn),
            shared: self.shared.clone(),
            id: self.shared.next_id.fetch_add(1, Ordering::Relaxed),
            waker: None,
        }
    }

    /// Start draining every connection and wait until all have ended.
    pub(crate) async fn drained(&self) {
        self.shared.draining.store(true, Ordering::SeqCst);
        let wakers: Vec<Waker> = self.shared.wakers().drain().map(|(_, w)| w).collect();
        wakers.into_iter().for_each(Waker::wake);
        loop {
            // Created before the check: `notify_waiters` reaches it even if not yet polled.
            let idle = self.shared.idle.notified();
            if self.shared.live.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }
}

/// A connection's view of its [`Drain`].
#[derive(Debug, Clone)]
pub(crate) struct Signal(Arc<Shared>);

impl Signal {
    /// Draining has started: finish the request in flight, take no new one.
    pub(crate) fn is_draining(&self) -> bool {
        self.0.draining.load(Ordering::SeqCst)
    }
}

/// Drive hyper's `conn`, shutting it down gracefully once `signal` says so (an in-flight
/// request finishes, HTTP/1 stops keep-alive, h2 sends GOAWAY).
pub(crate) async fn graceful<C: GracefulConnection>(
    conn: C,
    signal: &Signal,
) -> Result<(), C::Error> {
    graceful_by(conn, signal, |c| c.graceful_shutdown()).await
}

/// [`graceful`] for a connection hyper-util's trait does not cover (an HTTP/1 connection
/// with upgrades), by its own `shutdown`.
pub(crate) async fn graceful_by<C: Future>(
    conn: C,
    signal: &Signal,
    shutdown: impl Fn(Pin<&mut C>),
) -> C::Output {
    let mut conn = std::pin::pin!(conn);
    let mut shutting_down = false;
    std::future::poll_fn(|cx| {
        if !shutting_down && signal.is_draining() {
            shutting_down = true;
            shutdown(conn.as_mut());
        }
        conn.as_mut().poll(cx)
    })
    .await
}

/// A connection whose task is woken when its [`Drain`] starts draining.
pub(crate) struct Watched<C> {
    conn: Pin<Box<C>>,
    shared: Arc<Shared>,
    id: u64,
    /// The waker handed to `shared` (a task's waker does not change between polls).
    waker: Option<Waker>,
}

impl<C: Future<Output = ()>> Future for Watched<C> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let me = &mut *self;
        if !me.shared.draining.load(Ordering::SeqCst)
            && !me.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker()))
        {
            let waker = cx.waker().clone();
            me.shared.wakers().insert(me.id, waker.clone());
            me.waker = Some(waker);
        }
        // A drain that started before the waker was in the map (and so did not wake it)
        // is seen by the connection itself, which checks its signal when polled.
        me.conn.as_mut().poll(cx)
    }
}

impl<C> Drop for Watched<C> {
    fn drop(&mut self) {
        if self.waker.is_some() {
            self.shared.wakers().remove(&self.id);
        }
        if self.shared.live.fetch_sub(1, Ordering::SeqCst) == 1
            && self.shared.draining.load(Ordering::SeqCst)
        {
            self.shared.idle.notify_waiters();
        }
    }
}
