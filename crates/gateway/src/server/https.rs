//! The HTTPS listener: accept, the TLS handshake (bounded by the header-read timeout),
//! then hyper serves the connection, h2 or HTTP/1.1 as ALPN chose. The same pipeline as
//! the plain listener; integrations see `X-Forwarded-Proto: https`.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};

use super::drain::{self, Drain};
use crate::Gateway;
use crate::context::Peer;
use crate::tls::server::HttpsConfig;

pub(crate) async fn serve(
    gw: Gateway,
    listener: tokio::net::TcpListener,
    config: HttpsConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let timeout = gw.inner.header_read_timeout;
    let mut http1 = http1::Builder::new();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .max_buf_size(super::h1::MAX_HEAD);
    let mut http2 = http2::Builder::new(TokioExecutor::new());
    http2
        .timer(TokioTimer::new())
        .max_header_list_size(64 * 1024);
    let builders = Arc::new((http1, http2));
    let drain = Drain::default();
    tokio::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed (HTTPS)");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (gw, config, builders, signal) =
            (gw.clone(), config.clone(), builders.clone(), drain.signal());
        tokio::spawn(drain.watch(async move {
            let (tls, client) = match tokio::time::timeout(timeout, config.accept(stream)).await {
                Ok(Ok(accepted)) => accepted,
                Ok(Err(e)) => {
                    tracing::debug!(peer = %addr, error = %e, "TLS handshake failed");
                    gw.inner
                        .metrics
                        .tls_handshake_error(crate::handshake_error_reason(&e));
                    return;
                }
                Err(_) => {
                    tracing::debug!(peer = %addr, "TLS handshake timed out");
                    gw.inner.metrics.tls_handshake_error("timeout");
                    return;
                }
            };
            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            let peer = Arc::new(Peer::new(addr).over_tls(client));
            let svc = service_fn(move |req| {
                let (gw, peer) = (gw.clone(), peer.clone());
                async move {
                    let resp = gw.handle_upgradable(req, &peer, None).await;
                    Ok::<_, std::convert::Infallible>(resp)
                }
            });
            let io = TokioIo::new(super::canned::WithRequestIds::new(tls));
            let (http1, http2) = &*builders;
            let ended = if h2 {
                drain::graceful(http2.serve_connection(io, svc), &signal).await
            } else {
                let conn = http1.serve_connection(io, svc).with_upgrades();
                drain::graceful_by(conn, &signal, |c| c.graceful_shutdown()).await
            };
            if let Err(e) = ended {
                tracing::debug!(peer = %addr, error = %e, "HTTPS connection ended with an error");
            }
        }));
    }
    drop(listener);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    if tokio::time::timeout_at(deadline, drain.drained())
        .await
        .is_err()
    {
        tracing::warn!("HTTPS connections still open after 10 s of draining; closing them");
    }
    Ok(())
}
