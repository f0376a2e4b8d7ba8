//! The listener: accept, serve HTTP/1.1 or h2 per connection, drain on shutdown.

use std::convert::Infallible;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;

use crate::Gateway;

mod canned;
mod drain;
mod header_timeout;

pub(crate) async fn serve(
    gw: Gateway,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_timeout = gw.inner.header_read_timeout;
    let tick = header_timeout::tick_for(header_timeout);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        // Slow-header clients and idle keep-alive connections: see `header_timeout`.
        .timer(header_timeout::HeaderTimer)
        .header_read_timeout(header_timeout)
        // Without this, hyper polls the socket for EOF while each request is in flight:
        // a read syscall that finds nothing, and (the request head still borrowing the
        // read buffer) a fresh 8 KiB buffer per request. A client that goes away is seen
        // when the response is written instead, and, as in API Gateway, an integration
        // already called runs to completion (bounded by the integration timeout). A
        // client that half-closes after its request now gets the answer too.
        .half_close(true)
        .max_buf_size(64 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(64 * 1024);
    let drain = drain::Drain::default();
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
        // One reference count per request for the gateway and the peer together.
        let shared = std::sync::Arc::new((gw.clone(), crate::context::Peer::new(peer)));
        let svc = service_fn(move |req| {
            let shared = shared.clone();
            async move {
                let (gw, client) = &*shared;
                Ok::<_, Infallible>(gw.handle(req, client).await)
            }
        });
        let conn = builder
            .serve_connection_with_upgrades(
                TokioIo::new(canned::WithRequestIds::new(header_timeout::Ticking::new(
                    stream, tick,
                ))),
                svc,
            )
            .into_owned();
        let conn = drain.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(10), drain.drained())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 10 s of draining; closing them");
    }
    gw.flush_traces();
    Ok(())
}
