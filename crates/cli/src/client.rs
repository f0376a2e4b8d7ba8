//! A small blocking client for the admin API (hyper-util's client on a current-thread
//! runtime), with the URL and token worked out from flags, environment and config.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use causeway_admin::{ErrorBody, TOKEN_FILE, data_dir};
use causeway_model::ConfigSet;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::AdminArgs;
use crate::config::node_only;

/// How long a read of the admin API may take.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a change may take: a deploy, rollback or canary compiles the deployment's
/// plugins first, seconds per JavaScript or Python component, far more on a busy machine.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(600);

/// An error answer of the admin API.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) body: ErrorBody,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (HTTP {})", self.body, self.status)
    }
}

impl std::error::Error for ApiError {}

/// A connection to one node's admin API.
pub(crate) struct Admin {
    base: String,
    token: String,
    client: Client<HttpConnector, Full<Bytes>>,
    rt: tokio::runtime::Runtime,
}

impl Admin {
    /// Resolve the URL and token from `args`, reading the config only when needed.
    pub(crate) fn connect(args: &AdminArgs) -> anyhow::Result<Admin> {
        let given_token = args.token.clone().filter(|t| !t.trim().is_empty());
        let set = match (&args.admin, &given_token) {
            (Some(_), Some(_)) => None,
            _ => Some(node_only(&args.config.config)?),
        };
        let base = match (&args.admin, &set) {
            (Some(url), _) => normalize_url(url)?,
            (None, Some(set)) => {
                let mut addr = set.node.admin.listen;
                if addr.ip().is_unspecified() {
                    addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                }
                format!("http://{addr}")
            }
            (None, None) => bail!("no admin URL; pass --admin or set CAUSEWAY_ADMIN_URL"),
        };
        let token = match given_token {
            Some(t) => t.trim().to_owned(),
            None => token_from_config(set.as_ref())?,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let client = Client::builder(TokioExecutor::new()).build_http();
        Ok(Admin {
            base,
            token,
            client,
            rt,
        })
    }

    /// `GET path`.
    pub(crate) fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.call(Method::GET, path, None)
    }

    /// `method path` with a JSON body.
    pub(crate) fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        let body = serde_json::to_vec(body).context("cannot encode the request")?;
        self.call(method, path, Some((Bytes::from(body), "application/json")))
    }

    /// `PUT path` with raw bytes (a plugin component).
    pub(crate) fn put_bytes<T: DeserializeOwned>(
        &self,
        path: &str,
        bytes: Vec<u8>,
    ) -> anyhow::Result<T> {
        self.call(
            Method::PUT,
            path,
            Some((Bytes::from(bytes), "application/wasm")),
        )
    }

    /// Whether `GET path` answers 2xx (false on 404).
    pub(crate) fn exists(&self, path: &str) -> anyhow::Result<bool> {
        match self.get::<serde_json::Value>(path) {
            Ok(_) => Ok(true),
            Err(e)
                if e.downcast_ref::<ApiError>()
                    .is_some_and(|a| a.status == 404) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<(Bytes, &str)>,
    ) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base);
        let mut req = Request::builder()
            .method(method.clone())
            .uri(&url)
            .header("authorization", format!("Bearer {}", self.token))
            .header("accept", "application/json");
        let body = match body {
            Some((bytes, content_type)) => {
                req = req.header("content-type", content_type);
                bytes
            }
            None => Bytes::new(),
        };
        let req = req
            .body(Full::new(body))
            .with_context(|| format!("`{url}` is not a valid URL; check --admin"))?;
        let timeout = if method == Method::GET {
            READ_TIMEOUT
        } else {
            CHANGE_TIMEOUT
        };
        let (status, bytes) = self.rt.block_on(async {
            let exchange = async {
                let resp = self.client.request(req).await?;
                let status = resp.status().as_u16();
                let bytes = resp.into_body().collect().await?.to_bytes();
                Ok::<_, anyhow::Error>((status, bytes))
            };
            tokio::time::timeout(timeout, exchange).await.map_err(|_| {
                anyhow!(
                    "no answer within {} s (a change may still complete: see `causeway stages`)",
                    timeout.as_secs()
                )
            })?
        })
        .with_context(|| {
            format!(
                "cannot reach the admin API at {} ({method} {path}); is `causeway serve` running? (set --admin or CAUSEWAY_ADMIN_URL)",
                self.base
            )
        })?;
        if !(200..300).contains(&status) {
            let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                ErrorBody::new(String::from_utf8_lossy(&bytes).trim().to_owned())
            });
            return Err(ApiError { status, body }.into());
        }
        serde_json::from_slice(&bytes)
            .with_context(|| format!("unexpected answer from {method} {path}"))
    }
}

fn normalize_url(url: &str) -> anyhow::Result<String> {
    let url = url.trim().trim_end_matches('/');
    if url.starts_with("https://") {
        bail!(
            "`{url}`: https admin URLs are not supported yet; use http:// (the admin API is loopback-only by default)"
        );
    }
    Ok(if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    })
}

/// The config's token, else the environment variable it names, else the token file that
/// `causeway serve` writes in the data directory.
fn token_from_config(set: Option<&ConfigSet>) -> anyhow::Result<String> {
    let Some(set) = set else {
        bail!("no admin token; pass --token or set CAUSEWAY_ADMIN_TOKEN");
    };
    let admin = &set.node.admin;
    if let Some(t) = admin
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        return Ok(t.to_owned());
    }
    if !admin.token_env.is_empty()
        && let Ok(t) = std::env::var(&admin.token_env)
        && !t.trim().is_empty()
    {
        return Ok(t.trim().to_owned());
    }
    let path = data_dir(set).join(TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(t) if !t.trim().is_empty() => Ok(t.trim().to_owned()),
        _ => bail!(
            "no admin token: pass --token or set CAUSEWAY_ADMIN_TOKEN; on the node's machine `causeway serve` writes one to `{}`",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_url;

    #[test]
    fn urls() {
        assert_eq!(
            normalize_url("127.0.0.1:9090/").expect("url"),
            "http://127.0.0.1:9090"
        );
        assert_eq!(
            normalize_url("http://[::1]:9090").expect("url"),
            "http://[::1]:9090"
        );
        assert!(normalize_url("https://x").is_err());
    }
}
