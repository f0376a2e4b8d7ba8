//! The upstream client: HTTP/1.1 connections (our own codec, [`h1`]), plain or over TLS
//! (`https://`, rustls), pooled per scheme and authority.
//!
//! - Checkout pops the most recently used idle connection of the authority (LIFO, so the
//!   least used ones age out), skipping expired ones; otherwise it connects (DNS through
//!   tokio only for host names, a connect timeout, `TCP_NODELAY`).
//! - The request's task drives the connection itself ([`conn::Conn`]): no connection task,
//!   no channel between the request and its connection. The request head (and a small
//!   body) goes out in one write; the response head is parsed from the first read, and the
//!   body is handed on as it is read, without copies ([`UpstreamBody`]).
//! - A connection goes back to the pool when the response body ends and both sides of the
//!   exchange are complete. Broken, abandoned or close-delimited exchanges drop (close) it.
//! - A reused connection can turn out closed by the upstream while idle: that is looked at
//!   before anything is written, and the request then goes on a fresh connection. A request
//!   that was (maybe) written is never retried.
//! - Idle connections are closed after `idle_timeout` (checked at checkout, and by a
//!   reaper task started with the first connection, which also closes the ones the
//!   upstream closed); at most `max_idle_per_host` are kept.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::header::{self, HeaderValue};
use http::uri::Authority;
use http::{Request, Response, Uri};

use crate::body::Body;
use crate::tls::{self, Stream};
use conn::{Conn, ExchangeError, Failed};

mod body;
mod conn;
mod connect;
mod h1;
mod origin;
#[cfg(test)]
mod tests;

pub(crate) use crate::tls::client_config;
pub use body::UpstreamBody;
pub(crate) use h1::RequestHead;
pub(crate) use origin::KnownOrigin;

/// A request for [`Pool::send_head`]: its head (request line and fields, the framing
/// fields come from the body) and its body.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) head: RequestHead,
    pub(crate) body: Body,
}

/// Why an upstream exchange failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PoolError {
    /// The integration URI is not a valid absolute URI.
    #[error("{0}")]
    InvalidUri(String),
    /// The integration URI has no `http://host`.
    #[error("the integration URI has no host")]
    NoHost,
    /// Only HTTP and HTTPS upstreams are supported.
    #[error("unsupported scheme `{0}`: integration URIs must be http:// or https://")]
    Scheme(String),
    /// The TLS handshake with an `https://` upstream failed (untrusted or mismatched
    /// certificate, no common protocol...).
    #[error("TLS with `{authority}`: {message}")]
    Tls { authority: String, message: String },
    /// DNS failed.
    #[error("resolving `{host}`: {source}")]
    Resolve {
        host: String,
        #[source]
        source: std::io::Error,
    },
    /// Nothing answered the TCP connect.
    #[error("connecting to `{authority}`: {source}")]
    Connect {
        authority: String,
        #[source]
        source: std::io::Error,
    },
    /// The TCP connect took longer than the connect timeout.
    #[error("connecting to `{0}` timed out")]
    ConnectTimeout(String),
    /// The HTTP exchange failed.
    #[error("upstream HTTP exchange: {0}")]
    Http(#[source] ExchangeError),
    /// No response head by the deadline (connecting included).
    #[error("no answer from the upstream in time")]
    Timeout,
}

impl From<ExchangeError> for PoolError {
    fn from(e: ExchangeError) -> Self {
        match e {
            ExchangeError::TimedOut => PoolError::Timeout,
            e => PoolError::Http(e),
        }
    }
}

/// Pool settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    /// Idle connections are closed after this long.
    pub(crate) idle_timeout: Duration,
    /// Idle connections kept per authority.
    pub(crate) max_idle_per_host: usize,
    /// Bound on DNS + TCP connect.
    pub(crate) connect_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            idle_timeout: Duration::from_secs(60),
            max_idle_per_host: 1024,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Counters, for tests and debugging (incremented off the hot path only).
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Connections opened.
    pub(crate) connects: AtomicU64,
    /// Requests sent on a fresh connection after a reused one turned out closed.
    pub(crate) retries: AtomicU64,
}

/// The connection pool; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    /// TLS settings of `https://` upstreams.
    tls: Arc<tokio_rustls::rustls::ClientConfig>,
    /// By authority: `[http://, https://]` (the same authority over TLS is another
    /// upstream), so a lookup needs no key built per request.
    hosts: Mutex<[HostMap; 2]>,
    reaper_started: AtomicBool,
    stats: Stats,
}

type HostMap = hashbrown::HashMap<Box<str>, Arc<Host>, ahash::RandomState>;

/// One authority: where to connect, its `Host` header, its idle connections.
#[derive(Debug)]
pub(crate) struct Host {
    authority: Box<str>,
    /// `https://`: the name its certificate must have.
    tls: Option<tokio_rustls::rustls::pki_types::ServerName<'static>>,
    host_header: HeaderValue,
    config: Config,
    /// Oldest first: push and pop at the end.
    idle: Mutex<Vec<Idle>>,
}

#[derive(Debug)]
struct Idle {
    conn: Box<Conn>,
    since: Instant,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Pool {
    pub(crate) fn new(config: Config, tls: Arc<tokio_rustls::rustls::ClientConfig>) -> Pool {
        Pool {
            inner: Arc::new(Inner {
                config,
                tls,
                hosts: Mutex::default(),
                reaper_started: AtomicBool::new(false),
                stats: Stats::default(),
            }),
        }
    }

    #[cfg(test)]
    pub(crate) fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// Where `url` (an absolute `http://` URL) goes: its authority's pool entry and the
    /// origin-form request target (`/path?query`) as a [`Uri`]. See [`Pool::origin`].
    pub(crate) fn target(&self, url: &str) -> Result<(Arc<Host>, Uri), PoolError> {
        let (host, target) = self.origin(url)?;
        let target = Uri::try_from(&*target).map_err(|e| PoolError::InvalidUri(e.to_string()))?;
        Ok((host, target))
    }

    /// Send `req` (its URI in origin form, from [`Pool::target`]) to `host` and return the
    /// response head, by `deadline` (connecting included); the body streams and returns the
    /// connection to the pool at its end. `Host` is the upstream's unless `req` has one.
    pub(crate) async fn send(
        &self,
        host: Arc<Host>,
        req: Request<Body>,
        deadline: tokio::time::Instant,
    ) -> Result<Response<Body>, PoolError> {
        let (parts, body) = req.into_parts();
        let mut head = RequestHead::new(parts.method, &parts.uri);
        if !parts.headers.contains_key(header::HOST) {
            head.field("host", &[host.host_header.as_bytes()]);
        }
        head.fields(&parts.headers);
        self.send_head(host, Outgoing { head, body }, deadline)
            .await
    }

    /// [`Pool::send`] for a request whose head the caller wrote (`Host` included).
    pub(crate) async fn send_head(
        &self,
        host: Arc<Host>,
        mut req: Outgoing,
        deadline: tokio::time::Instant,
    ) -> Result<Response<Body>, PoolError> {
        if let Some(mut conn) = host.checkout() {
            match conn.exchange(req, deadline).await {
                Ok(head) => return body::wrap(head, host, conn),
                // Closed by the upstream while idle, before the request was written: the
                // others idle as long may be too, so a fresh connection.
                Err(Failed::Unsent(unsent)) => {
                    self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
                    req = *unsent;
                }
                Err(Failed::Error(e)) => return Err(e.into()),
            }
        }
        // Boxed: a TLS connect is a large future, and connecting is the rare case; unboxed,
        // every exchange's future would carry (and move) its size.
        let mut conn = tokio::time::timeout_at(deadline, Box::pin(self.connect(&host)))
            .await
            .map_err(|_| PoolError::Timeout)??;
        match conn.exchange(req, deadline).await {
            Ok(head) => body::wrap(head, host, conn),
            Err(Failed::Unsent(_)) => Err(PoolError::Http(ExchangeError::Closed)),
            Err(Failed::Error(e)) => Err(e.into()),
        }
    }

    /// The pool entry for `authority` (`host[:port]`) over plain HTTP or TLS.
    fn host(&self, authority: &str, https: bool) -> Result<Arc<Host>, PoolError> {
        let mut all = lock(&self.inner.hosts);
        let hosts = &mut all[usize::from(https)];
        if let Some(h) = hosts.get(authority) {
            return Ok(h.clone());
        }
        let authority =
            Authority::try_from(authority).map_err(|e| PoolError::InvalidUri(e.to_string()))?;
        let tls = if https {
            Some(tls::server_name(authority.host()).map_err(PoolError::InvalidUri)?)
        } else {
            None
        };
        let default_port = if https { 443 } else { 80 };
        // hyper-util's rule: the port only when it is not the scheme's default.
        let host_header = if authority.port_u16() == Some(default_port) {
            authority.host()
        } else {
            let text = authority.as_str();
            text.rsplit_once('@')
                .map_or(text, |(_, host_port)| host_port)
        };
        let host = Arc::new(Host {
            authority: authority.as_str().into(),
            tls,
            host_header: HeaderValue::from_str(host_header)
                .map_err(|e| PoolError::InvalidUri(e.to_string()))?,
            config: self.inner.config,
            idle: Mutex::default(),
        });
        hosts.insert(authority.as_str().into(), host.clone());
        Ok(host)
    }

    /// A new connection to `host`.
    async fn connect(&self, host: &Host) -> Result<Box<Conn>, PoolError> {
        self.start_reaper();
        Ok(Conn::new(self.open(host).await?))
    }

    /// A new byte stream to `host` (TCP, and TLS for `https://`), within the connect
    /// timeout: a pooled connection's, or one handed over whole (an edge's WebSocket
    /// tunnel).
    pub(crate) async fn open(&self, host: &Host) -> Result<Stream, PoolError> {
        self.inner.stats.connects.fetch_add(1, Ordering::Relaxed);
        let timeout = || PoolError::ConnectTimeout(host.authority.to_string());
        let connect = async {
            let Some(name) = &host.tls else {
                return connect::tcp(&host.authority, 80).await.map(Stream::Left);
            };
            let tcp = connect::tcp(&host.authority, 443).await?;
            let tls = tokio_rustls::TlsConnector::from(self.inner.tls.clone())
                .connect(name.clone(), tcp)
                .await
                .map_err(|e| PoolError::Tls {
                    authority: host.authority.to_string(),
                    message: e.to_string(),
                })?;
            Ok(Stream::Right(Box::new(tls)))
        };
        tokio::time::timeout(self.inner.config.connect_timeout, connect)
            .await
            .map_err(|_| timeout())?
    }

    /// Close expired idle connections periodically, while the pool lives.
    fn start_reaper(&self) {
        if self.inner.reaper_started.swap(true, Ordering::Relaxed) {
            return;
        }
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let period = (self.inner.config.idle_timeout / 2).max(Duration::from_millis(10));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                // Close expired idle connections and ones the upstream closed; forget
                // authorities nothing uses any more.
                std::future::poll_fn(|cx| {
                    let now = Instant::now();
                    for hosts in lock(&inner.hosts).iter_mut() {
                        hosts.retain(|_, host| {
                            host.sweep(now, cx);
                            Arc::strong_count(host) > 1 || !lock(&host.idle).is_empty()
                        });
                    }
                    Poll::Ready(())
                })
                .await;
            }
        });
    }
}

impl Host {
    /// Its `Host` header: the authority, without the scheme's default port.
    pub(crate) fn host_header(&self) -> &HeaderValue {
        &self.host_header
    }

    /// The most recently used idle connection that has not expired, preferably one the
    /// calling worker drives (its readiness events then wake no other thread).
    fn checkout(&self) -> Option<Box<Conn>> {
        let worker = crate::server::workers::current();
        let mut idle = lock(&self.idle);
        let at = idle
            .iter()
            .rposition(|e| e.conn.worker == worker)
            .or_else(|| idle.len().checked_sub(1))?;
        if idle[at].since.elapsed() >= self.config.idle_timeout {
            // Older ones are expired too.
            idle.drain(..=at);
            return None;
        }
        Some(idle.remove(at).conn)
    }

    /// Return a connection whose exchange finished.
    fn checkin(&self, conn: Box<Conn>) {
        if !conn.is_open() {
            return;
        }
        let mut idle = lock(&self.idle);
        if idle.len() < self.config.max_idle_per_host {
            idle.push(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }

    /// Drop expired idle connections, and the ones that ended (looked at with `cx`, which
    /// is woken when the upstream closes one).
    fn sweep(&self, now: Instant, cx: &mut Context<'_>) {
        let timeout = self.config.idle_timeout;
        lock(&self.idle).retain_mut(|e| {
            now.saturating_duration_since(e.since) < timeout && e.conn.poll_idle(cx)
        });
    }
}
