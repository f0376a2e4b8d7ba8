//! A key set fetched from a `jwks_url`: fetched on first use, refreshed in the background
//! every `jwks_refresh_seconds` and in the foreground on an unknown `kid` (at most once per
//! [`REFETCH_COOLDOWN`]), one fetch at a time. A fetch is bounded in time (the configured
//! timeout, connect to last byte) and size ([`MAX_JWKS_BYTES`]); a failed one keeps the last
//! good set and is logged. Until a first fetch succeeds, tokens are refused (401), as API
//! Gateway refuses them while it cannot reach the issuer's keys.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use causeway_model::jwt::MAX_JWKS_BYTES;
use http::{Request, Uri};
use http_body_util::BodyExt;
use tokio_rustls::rustls::ClientConfig;

use super::keys::{Key, KeySet};
use crate::body::Body;
use crate::phases::integrate::{Pool, PoolConfig, PoolError};

/// Fetches on an unknown `kid` (or after a failure) are at least this far apart.
pub(crate) const REFETCH_COOLDOWN: Duration = Duration::from_secs(5);

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No complete answer within the deadline.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The body is over the cap.
    #[error("the key set is over {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    /// Connecting or the exchange failed.
    #[error("{0}")]
    Io(String),
    /// A status other than 2xx.
    #[error("the server answered {0}")]
    Status(u16),
    /// Not a usable key set.
    #[error("{0}")]
    Invalid(String),
}

/// GET `url` through `client` within `timeout`, reading at most [`MAX_JWKS_BYTES`].
pub(crate) async fn fetch(
    url: &Uri,
    timeout: Duration,
    client: &Pool,
) -> Result<Bytes, FetchError> {
    let deadline = tokio::time::Instant::now() + timeout;
    tokio::time::timeout_at(deadline, fetch_unbounded(url, client, deadline, timeout))
        .await
        .map_err(|_| FetchError::Timeout(timeout))?
}

async fn fetch_unbounded(
    url: &Uri,
    client: &Pool,
    deadline: tokio::time::Instant,
    timeout: Duration,
) -> Result<Bytes, FetchError> {
    let io = |e: &dyn std::fmt::Display| FetchError::Io(e.to_string());
    let (host, target) = client.target(&url.to_string()).map_err(|e| io(&e))?;
    let req = Request::get(target)
        .header(http::header::ACCEPT, "application/json")
        .header(http::header::USER_AGENT, "causeway-jwks")
        .body(Body::Empty)
        .map_err(|e| io(&e))?;
    let resp = client
        .send(host, req, deadline)
        .await
        .map_err(|e| match e {
            PoolError::Timeout => FetchError::Timeout(timeout),
            e => io(&e),
        })?;
    if !resp.status().is_success() {
        return Err(FetchError::Status(resp.status().as_u16()));
    }
    let declared = resp
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_JWKS_BYTES as u64) {
        return Err(FetchError::TooLarge);
    }
    let mut body = resp.into_body();
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| io(&e))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > MAX_JWKS_BYTES {
                return Err(FetchError::TooLarge);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(out))
}

/// Where the key set is.
#[derive(Debug)]
pub(crate) enum Source {
    /// At this URL (`jwks_url`).
    Jwks(Uri),
    /// At the `jwks_uri` of this OIDC discovery document, which must name `issuer`.
    Discovery { document: Uri, issuer: String },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Jwks(url) => write!(f, "{url}"),
            Source::Discovery { document, .. } => write!(f, "{document}"),
        }
    }
}

/// The `jwks_uri` of the discovery document at `document` (OpenID Connect Discovery 1.0):
/// its `issuer` must be the configured one, and an `https://` issuer's keys are not taken
/// over plain HTTP.
pub(crate) async fn discover(
    document: &Uri,
    issuer: &str,
    timeout: Duration,
    client: &Pool,
) -> Result<Uri, FetchError> {
    let body = fetch(document, timeout, client).await?;
    let doc: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| FetchError::Invalid(format!("the discovery document is not JSON: {e}")))?;
    let named = doc
        .get("issuer")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    if named != issuer {
        return Err(FetchError::Invalid(format!(
            "the discovery document names issuer `{named}`, not the configured `{issuer}`"
        )));
    }
    let jwks = doc
        .get("jwks_uri")
        .and_then(|v| v.as_str())
        .ok_or_else(|| {
            FetchError::Invalid("the discovery document has no `jwks_uri`".to_owned())
        })?;
    let uri: Uri = jwks
        .parse()
        .map_err(|e| FetchError::Invalid(format!("`jwks_uri` `{jwks}`: {e}")))?;
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if !issuer.starts_with("https://") => Ok(uri),
        _ => Err(FetchError::Invalid(format!(
            "`jwks_uri` `{jwks}` must be an {} URL",
            if issuer.starts_with("https://") {
                "https://"
            } else {
                "http(s)://"
            }
        ))),
    }
}

#[derive(Debug, Default)]
struct State {
    /// When the last fetch started.
    last_attempt: Option<Instant>,
    /// Whether a background refresh is running.
    refreshing: bool,
}

/// Keys behind a URL.
#[derive(Debug)]
pub(crate) struct RemoteKeys {
    /// Who they belong to, for logs.
    pub(crate) label: String,
    pub(crate) source: Source,
    pub(crate) refresh: Duration,
    pub(crate) timeout: Duration,
    /// The upstream client (pooled connections; trust for an `https://` URL).
    client: Pool,
    keys: ArcSwap<Option<KeySet>>,
    state: Mutex<State>,
    /// One fetch at a time.
    fetching: tokio::sync::Mutex<()>,
}

impl RemoteKeys {
    pub(crate) fn new(
        label: String,
        source: Source,
        refresh: Duration,
        timeout: Duration,
        tls: Arc<ClientConfig>,
    ) -> Self {
        RemoteKeys {
            label,
            source,
            refresh,
            timeout,
            client: Pool::new(PoolConfig::default(), tls),
            keys: ArcSwap::from_pointee(None),
            state: Mutex::new(State::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The key with this `kid`: from the current set, else after a fetch when one is
    /// allowed (no set yet, or an unknown `kid`, past the cooldown). Starts a background
    /// refresh when the set is older than the refresh period.
    pub(crate) async fn key(self: &Arc<Self>, kid: &str) -> Option<Arc<Key>> {
        let current = self.keys.load();
        if let Some(set) = current.as_ref() {
            self.refresh_if_due();
            if let Some(k) = set.get(kid) {
                return Some(k.clone());
            }
        }
        if !self.may_fetch_now() {
            return None;
        }
        self.fetch_once().await;
        self.keys.load().as_ref().as_ref()?.get(kid).cloned()
    }

    fn may_fetch_now(&self) -> bool {
        self.state()
            .last_attempt
            .is_none_or(|t| t.elapsed() >= REFETCH_COOLDOWN)
    }

    fn refresh_if_due(self: &Arc<Self>) {
        {
            let mut st = self.state();
            let due = st.last_attempt.is_none_or(|t| t.elapsed() >= self.refresh);
            if !due || st.refreshing {
                return;
            }
            st.refreshing = true;
        }
        let me = self.clone();
        tokio::spawn(async move {
            me.fetch_once().await;
            me.state().refreshing = false;
        });
    }

    /// Fetch and swap in the set, unless another fetch ran while this one waited its turn.
    async fn fetch_once(&self) {
        let asked = Instant::now();
        let _turn = self.fetching.lock().await;
        {
            let mut st = self.state();
            if st.last_attempt.is_some_and(|t| t >= asked) {
                return;
            }
            st.last_attempt = Some(Instant::now());
        }
        let url = match &self.source {
            Source::Jwks(url) => Ok(url.clone()),
            Source::Discovery { document, issuer } => {
                discover(document, issuer, self.timeout, &self.client).await
            }
        };
        let result = match url {
            Ok(url) => match fetch(&url, self.timeout, &self.client).await {
                Ok(body) => KeySet::parse(&body).map_err(FetchError::Invalid),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        let had = self.keys.load().is_some();
        match result {
            Ok((set, skipped)) if !set.is_empty() => {
                for why in &skipped {
                    tracing::warn!(authorizer = %self.label, url = %self.source, "JWKS key skipped: {why}");
                }
                tracing::debug!(authorizer = %self.label, url = %self.source, keys = set.len(), "JWKS fetched");
                self.keys.store(Arc::new(Some(set)));
            }
            Ok((_, skipped)) => tracing::warn!(
                authorizer = %self.label, url = %self.source,
                "JWKS fetch gave no usable signing key ({}); {}",
                skipped.join("; "),
                if had { "keeping the last good key set" } else { "tokens are refused until a fetch succeeds" }
            ),
            Err(e) => tracing::warn!(
                authorizer = %self.label, url = %self.source,
                "JWKS fetch failed: {e}; {}",
                if had { "keeping the last good key set" } else { "tokens are refused until a fetch succeeds" }
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn tls() -> Pool {
        Pool::new(
            PoolConfig::default(),
            crate::tls::client_config(None).expect("public roots"),
        )
    }

    /// A server that answers every connection with `reply` (or never, when `None`).
    async fn server(reply: Option<Vec<u8>>) -> Uri {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let reply = reply.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    match reply {
                        Some(r) => {
                            let _ = s.write_all(&r).await;
                        }
                        None => tokio::time::sleep(Duration::from_secs(60)).await,
                    }
                });
            }
        });
        format!("http://{addr}/keys").parse().expect("uri")
    }

    #[tokio::test]
    async fn a_silent_server_times_out_in_bounded_time() {
        let url = server(None).await;
        let started = Instant::now();
        let err = fetch(&url, Duration::from_millis(300), &tls())
            .await
            .expect_err("timeout");
        assert!(matches!(err, FetchError::Timeout(_)), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(err.to_string(), "no answer within 300ms");
    }

    #[tokio::test]
    async fn an_oversized_body_is_cut_off() {
        // Declared too big: refused before reading.
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
            MAX_JWKS_BYTES + 1
        );
        let err = fetch(
            &server(Some(head.into_bytes())).await,
            Duration::from_secs(5),
            &tls(),
        )
        .await
        .expect_err("too large");
        assert!(matches!(err, FetchError::TooLarge), "{err}");
        // Streamed without a length: cut off at the cap.
        let mut body = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_vec();
        body.extend(std::iter::repeat_n(b' ', MAX_JWKS_BYTES + 10));
        let err = fetch(&server(Some(body)).await, Duration::from_secs(5), &tls())
            .await
            .expect_err("too large");
        assert!(matches!(err, FetchError::TooLarge), "{err}");
        let err = fetch(
            &server(Some(
                b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_vec(),
            ))
            .await,
            Duration::from_secs(5),
            &tls(),
        )
        .await
        .expect_err("status");
        assert!(matches!(err, FetchError::Status(404)), "{err}");
    }

    #[tokio::test]
    async fn discovery_documents_are_checked() {
        let ok = |body: &str| {
            format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        };
        let issuer = "https://idp.example";
        let cases = [
            (
                r#"{"issuer":"https://idp.example","jwks_uri":"https://idp.example/keys"}"#,
                Ok("https://idp.example/keys"),
            ),
            // An https issuer's keys are not taken over plain HTTP.
            (
                r#"{"issuer":"https://idp.example","jwks_uri":"http://idp.example/keys"}"#,
                Err("must be an https:// URL"),
            ),
            (
                r#"{"issuer":"https://idp.example"}"#,
                Err("has no `jwks_uri`"),
            ),
            (
                r#"{"issuer":"https://idp.example/","jwks_uri":"https://idp.example/keys"}"#,
                Err("names issuer `https://idp.example/`"),
            ),
            ("<html>", Err("not JSON")),
        ];
        for (body, want) in cases {
            let doc = server(Some(ok(body))).await;
            let got = discover(&doc, issuer, Duration::from_secs(5), &tls()).await;
            match (got, want) {
                (Ok(uri), Ok(w)) => assert_eq!(uri.to_string(), w),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{body}: {e}"),
                (got, want) => panic!("{body}: got {got:?}, want {want:?}"),
            }
        }
    }
}
