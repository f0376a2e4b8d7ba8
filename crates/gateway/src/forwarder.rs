//! Forwarding whole requests to one of a few known origins (an edge node's regions) on
//! the integrations' upstream pool: our HTTP/1.1 codec, the request's task driving its
//! connection, idle connections reused LIFO (see [`pool`]).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap};
use http::uri::PathAndQuery;
use http::{Method, Response};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::body::Body;
use crate::phases::integrate::pool::{self, Host, Outgoing, Pool, PoolError, RequestHead};

/// A client forwarding to [`Origin`]s; cheap to clone.
#[derive(Debug, Clone)]
pub struct Forwarder {
    pool: Pool,
}

/// One origin (`http://host:port`) requests are forwarded to.
#[derive(Debug, Clone)]
pub struct Origin {
    host: Arc<Host>,
}

/// Why a forward failed.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// Nothing was sent (the origin refused or did not take the connection in time, or
    /// its name does not resolve): another origin may be tried.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The exchange failed after (maybe) writing the request: not to be repeated.
    #[error("{0}")]
    Failed(String),
    /// The origin's URL is not `http://host[:port]`.
    #[error("{0}")]
    Url(String),
}

impl Forwarder {
    /// A forwarder whose connects give up after `connect_timeout`; plain HTTP origins, or
    /// `https://` ones trusted by the public web PKI.
    pub fn new(connect_timeout: Duration) -> Forwarder {
        let config = pool::Config {
            connect_timeout,
            ..pool::Config::default()
        };
        let tls = pool::client_config(None).unwrap_or_else(|e| {
            tracing::error!(error = %e, "no TLS client settings: https origins will fail");
            Arc::new(
                tokio_rustls::rustls::ClientConfig::builder()
                    .with_root_certificates(tokio_rustls::rustls::RootCertStore::empty())
                    .with_no_client_auth(),
            )
        });
        Forwarder {
            pool: Pool::new(config, tls),
        }
    }

    /// The origin at `url` (`http://host:port`, or `https://`).
    pub fn origin(&self, url: &str) -> Result<Origin, ForwardError> {
        let (host, _) = self
            .pool
            .target(url)
            .map_err(|e| ForwardError::Url(e.to_string()))?;
        Ok(Origin { host })
    }

    /// Sends `method target` (a parsed target: no space or control character) with `headers` (hop-by-hop ones already removed; `Host` as the
    /// client sent it) and `body` to `origin`; the response head by `timeout`, its body
    /// streaming after.
    pub async fn forward(
        &self,
        origin: &Origin,
        method: Method,
        target: &PathAndQuery,
        headers: &HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Response<Body>, ForwardError> {
        let mut head = RequestHead::with_target(method, target.as_str());
        if !headers.contains_key(header::HOST) {
            head.field("host", &[origin.host.host_header().as_bytes()]);
        }
        head.fields(headers);
        let body = if body.is_empty() {
            Body::Empty
        } else {
            Body::Full(Some(body))
        };
        let deadline = tokio::time::Instant::now() + timeout;
        self.pool
            .send_head(origin.host.clone(), Outgoing { head, body }, deadline)
            .await
            .map_err(ForwardError::from)
    }

    /// A connection of its own to `origin`, not pooled (a WebSocket tunnel's): the caller
    /// writes the request and owns the bytes both ways.
    pub async fn open(
        &self,
        origin: &Origin,
    ) -> Result<impl AsyncRead + AsyncWrite + Unpin + Send + 'static, ForwardError> {
        self.pool
            .open(&origin.host)
            .await
            .map_err(ForwardError::from)
    }
}

impl From<PoolError> for ForwardError {
    /// Nothing sent (connect refused or timed out, name not resolved) is `Unreachable`.
    fn from(e: PoolError) -> ForwardError {
        match e {
            PoolError::Connect { .. }
            | PoolError::ConnectTimeout(_)
            | PoolError::Resolve { .. } => ForwardError::Unreachable(e.to_string()),
            e => ForwardError::Failed(e.to_string()),
        }
    }
}
