//! The listener: accept, serve each connection in its own task on one of the [`workers`]
//! (HTTP/1.1 by the fast path in [`conn`], h2 and what the fast path does not take by
//! hyper), drain on shutdown.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::Gateway;
use crate::context::Peer;

mod canned;
mod conn;
mod drain;
mod h1;
mod header_timeout;
pub(crate) mod https;
mod linger;
pub(crate) mod workers;

pub(crate) async fn serve(
    gw: Gateway,
    listener: tokio::net::TcpListener,
    private: bool,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_timeout = gw.inner.header_read_timeout;
    let tick = header_timeout::tick_for(header_timeout);
    let mut http1 = http1::Builder::new();
    http1
        // Slow-header clients and idle keep-alive connections: see `header_timeout`.
        .timer(header_timeout::HeaderTimer)
        .header_read_timeout(header_timeout)
        // Without this, hyper polls the socket for EOF while each request is in flight:
        // a read syscall that finds nothing, and (the request head still borrowing the
        // read buffer) a fresh 8 KiB buffer per request. A client that goes away is seen
        // when the response is written instead, and, as in API Gateway, an integration
        // already called runs to completion (bounded by the integration timeout). A
        // client that half-closes after its request now gets the answer too. The fast
        // path does the same.
        .half_close(true)
        .max_buf_size(h1::MAX_HEAD);
    let mut http2 = http2::Builder::new(TokioExecutor::new());
    http2
        .timer(TokioTimer::new())
        .max_header_list_size(64 * 1024);
    let shared = Arc::new(conn::Listener {
        gw: gw.clone(),
        http1,
        http2,
        tick,
        timeout_ticks: header_timeout
            .as_nanos()
            .div_ceil(tick.as_nanos())
            .try_into()
            .unwrap_or(u32::MAX),
    });
    let drain = drain::Drain::default();
    // The private listener's connections stay on the main runtime: its traffic is a
    // node's side door, not worth a second set of worker threads.
    let n = if private { 0 } else { gw.inner.workers };
    let workers = workers::Workers::start(n, gw.inner.yield_when_idle)?;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or a reset before accept: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let peer = if private {
            Peer::private(peer)
        } else {
            Peer::new(peer)
        };
        let (shared, signal) = (shared.clone(), drain.signal());
        let Some(worker) = workers.next() else {
            tokio::spawn(drain.watch(conn::serve(shared, stream, peer, signal)));
            continue;
        };
        // The socket leaves this runtime's reactor and joins the worker's.
        let stream = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot hand a connection to a worker; closing it");
                continue;
            }
        };
        drop(worker.spawn(drain.watch(async move {
            match tokio::net::TcpStream::from_std(stream) {
                Ok(stream) => conn::serve(shared, stream, peer, signal).await,
                Err(e) => {
                    tracing::warn!(error = %e, "a worker cannot take a connection; closing it")
                }
            }
        })));
    }
    drop(listener);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    if !private {
        // WebSocket connections (no longer hyper's) close with 1001 and run `$disconnect`.
        let open = gw.inner.hub.close_all(deadline).await;
        if open > 0 {
            tracing::warn!(
                open,
                "WebSocket connections still open after draining; closing them"
            );
        }
    }
    if tokio::time::timeout_at(deadline, drain.drained())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 10 s of draining; closing them");
    }
    drop(workers);
    gw.flush_traces();
    Ok(())
}
