//! The admin HTTP listener: HTTP/1.1 and h2 on hyper, loopback peers only unless
//! `admin.allow_remote`, graceful drain on shutdown. Routes are in [`routes`].

mod keys;
mod plugins;
mod routes;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::Control;
use crate::audit::AuditLog;

pub use plugins::MAX_PLUGIN_BYTES;

/// Largest accepted JSON request body (a deploy carries a whole API definition).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How long in-flight admin requests may take to finish after shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How often quota counters are persisted (and once more at shutdown).
const USAGE_SAVE_INTERVAL: Duration = Duration::from_secs(5);

async fn save_usage_every(control: Arc<Control>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let c = control.clone();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || c.save_usage()).await {
            tracing::warn!(error = %e, "cannot save quota usage; retrying");
        }
    }
}

/// Serve the admin API on `listener` until `shutdown` resolves, then drain. Every `/v1`
/// request needs `Authorization: Bearer <token>`.
pub async fn serve_admin(
    control: Arc<Control>,
    listener: TcpListener,
    token: String,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let allow_remote = control.node().admin.allow_remote;
    let audit = AuditLog::open(control.data_dir())?;
    let shared = Arc::new(routes::Shared {
        control,
        token,
        audit,
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let saver = tokio::spawn(save_usage_every(
        shared.control.clone(),
        USAGE_SAVE_INTERVAL,
    ));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "admin accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let local = allow_remote || peer.ip().to_canonical().is_loopback();
        if !local {
            tracing::warn!(%peer, "admin request from a non-loopback peer refused (admin.allow_remote is false)");
        }
        let shared = shared.clone();
        let svc = service_fn(move |req| {
            let shared = shared.clone();
            async move { Ok::<_, Infallible>(routes::handle(shared, req, peer, local).await) }
        });
        let conn = builder
            .serve_connection(TokioIo::new(stream), svc)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "admin connection ended with an error");
            }
        });
    }
    drop(listener);
    saver.abort();
    let control = shared.control.clone();
    match tokio::task::spawn_blocking(move || control.save_usage()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "cannot save quota usage at shutdown"),
        Err(e) => tracing::error!(error = %e, "saving quota usage crashed"),
    }
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("admin connections still open after draining; closing them");
    }
    Ok(())
}
