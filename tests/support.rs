//! Test support: an upstream HTTP server (the only test double: it stands for a user's
//! backend), an in-process gateway, and a small client.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use causeway_gateway::{Gateway, StageBinding, compile};
use causeway_model::{ApiSpec, Deployment, NodeConfig};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// A running upstream: echoes the request as JSON; `/slow?ms=N` waits, `/big?bytes=N`
/// streams N bytes, `/close` drops the connection without answering.
pub struct Upstream {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
}

impl Upstream {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Where the test certificates are: `ca.pem` (a test CA) signed `server.pem` / `server.key`
/// for `localhost` and `127.0.0.1`.
pub fn tls_fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls")
}

/// The echo upstream of [`upstream`] behind TLS (the test CA's certificate for
/// `localhost` and `127.0.0.1`), listening on `ip` (a loopback address); also the count of
/// TCP connections it accepted (whether or not their TLS handshake succeeded).
pub async fn tls_upstream(ip: &str) -> (Upstream, Arc<AtomicUsize>) {
    let plain = upstream().await;
    let (addr, accepted) = tls_front(test_acceptor(), ip, plain.addr).await;
    (
        Upstream {
            addr,
            hits: plain.hits,
        },
        accepted,
    )
}

/// [`tls_upstream`] that also requires a client certificate from the CAs in
/// `client_ca_pem` (an upstream that authenticates the gateway).
pub async fn mtls_upstream(ip: &str, client_ca_pem: &str) -> (Upstream, Arc<AtomicUsize>) {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = tls_fixtures();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .expect("server.pem")
        .collect::<Result<_, _>>()
        .expect("certificates");
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).expect("server.key");
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(client_ca_pem.as_bytes()) {
        roots.add(c.expect("client CA PEM")).expect("client CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .expect("verifier");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .expect("server config");
    let plain = upstream().await;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let (addr, accepted) = tls_front(acceptor, ip, plain.addr).await;
    (
        Upstream {
            addr,
            hits: plain.hits,
        },
        accepted,
    )
}

/// A TLS server side with the test CA's certificate for `localhost` and `127.0.0.1`.
fn test_acceptor() -> tokio_rustls::TlsAcceptor {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = tls_fixtures();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .expect("server.pem")
        .collect::<Result<_, _>>()
        .expect("certificates");
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).expect("server.key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// A TLS front on `ip` (port chosen) relaying each connection's bytes to `target`; counts
/// the TCP connections it accepted.
async fn tls_front(
    acceptor: tokio_rustls::TlsAcceptor,
    ip: &str,
    target: SocketAddr,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind((ip, 0))
        .await
        .expect("bind tls front");
    let addr = listener.local_addr().expect("addr");
    let accepted = Arc::new(AtomicUsize::new(0));
    let accepts = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            accepts.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(mut inner) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut inner).await;
            });
        }
    });
    (addr, accepted)
}

/// A TLS front (the test CA's `localhost` certificate) on 127.0.0.1 for a plain server.
pub async fn tls_in_front_of(target: SocketAddr) -> SocketAddr {
    tls_front(test_acceptor(), "127.0.0.1", target).await.0
}

async fn upstream_handler(
    req: Request<hyper::body::Incoming>,
) -> Result<Response<http_body_util::combinators::BoxBody<Bytes, Infallible>>, Infallible> {
    let (parts, body) = req.into_parts();
    let query: BTreeMap<String, String> = parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let path = parts.uri.path().to_owned();
    if path == "/slow" {
        let ms = query.get("ms").and_then(|v| v.parse().ok()).unwrap_or(1000);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if path.starts_with("/big") {
        // Read the request body first, as a well-behaved server does: one that answers
        // and closes with request bytes unread makes its kernel reset the connection,
        // and the reset can destroy response bytes the gateway has not read yet (a test
        // flake under load, not something a proxy can recover).
        let _ = body.collect().await;
        let n: usize = query
            .get("bytes")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1 << 20);
        let body = Full::new(Bytes::from(vec![b'x'; n])).boxed();
        return Ok(Response::builder()
            .header("content-type", "application/octet-stream")
            .body(body)
            .unwrap_or_default());
    }
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    // A field sent more than once shows as its values joined with ", ".
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in &parts.headers {
        let v = v.to_str().unwrap_or("");
        headers
            .entry(k.as_str().to_owned())
            .and_modify(|all| {
                all.push_str(", ");
                all.push_str(v);
            })
            .or_insert_with(|| v.to_owned());
    }
    let echo = serde_json::json!({
        "method": parts.method.as_str(),
        "path": path,
        "query": query,
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    });
    let mut resp = Response::builder();
    if path == "/hop" {
        // Fields about this connection only, which a proxy must not pass on.
        resp = resp
            .header("keep-alive", "timeout=5")
            .header("trailer", "x-checksum")
            .header("proxy-authenticate", "Basic")
            .header("connection", "x-private")
            .header("x-private", "hop");
    }
    let resp = resp
        .status(if path == "/teapot" { 418 } else { 200 })
        .header("content-type", "application/json")
        .header("x-version", "v7")
        .header("x-upstream-only", "secret")
        .body(Full::new(Bytes::from(echo.to_string())).boxed());
    Ok(resp.unwrap_or_default())
}

/// Start an upstream on a loopback port.
pub async fn upstream() -> Upstream {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let addr = listener.local_addr().expect("addr");
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let close = req.uri().path() == "/close";
                    async move {
                        if close {
                            // Simulate a backend that resets: never answer.
                            return Err::<Response<_>, std::io::Error>(std::io::Error::other(
                                "reset",
                            ));
                        }
                        upstream_handler(req).await.map_err(|e| match e {})
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Upstream { addr, hits }
}

/// A gateway serving `apis` (TOML texts, each deployed to all its declared stages).
pub struct TestGateway {
    pub addr: SocketAddr,
    pub gateway: Gateway,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn parse_api(toml: &str) -> ApiSpec {
    causeway_model::parse_api("test.toml", toml)
        .unwrap_or_else(|e| panic!("test API is invalid: {e}"))
}

pub fn bindings(api: &ApiSpec) -> Vec<StageBinding> {
    let dep = Deployment::snapshot(api, "test", 0);
    let compiled =
        Arc::new(compile(&dep, &Default::default()).unwrap_or_else(|e| panic!("compile: {e}")));
    StageBinding::every_stage_of(api, &compiled)
}

pub async fn gateway_with(node: NodeConfig, apis: &[&str]) -> TestGateway {
    let gateway = Gateway::new(&node);
    let mut all = Vec::new();
    for text in apis {
        all.extend(bindings(&parse_api(text)));
    }
    gateway.publish(all, &node.domains);
    let served = serve(&gateway).await;
    TestGateway {
        addr: served.addr,
        gateway,
        shutdown: Some(served.stop),
    }
}

/// A gateway listening on a loopback port.
pub struct Served {
    pub addr: SocketAddr,
    /// Sending (or dropping) it starts the drain.
    pub stop: tokio::sync::oneshot::Sender<()>,
    /// Ends when the listener has stopped and every connection has drained.
    pub done: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Serve `gateway` on a free loopback port until `stop` is sent.
pub async fn serve(gateway: &Gateway) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind gateway");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let done = tokio::spawn(gateway.clone().serve(listener, async move {
        let _ = stopped.await;
    }));
    Served { addr, stop, done }
}

pub async fn gateway(apis: &[&str]) -> TestGateway {
    gateway_with(NodeConfig::default(), apis).await
}

/// A response, fully read.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub type TestClient = Client<HttpConnector, Full<Bytes>>;

pub fn client() -> TestClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Send one request to `addr` with `Host: host`.
pub async fn send(
    client: &TestClient,
    addr: SocketAddr,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("host", host);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(body.into())).expect("request");
    let resp = tokio::time::timeout(Duration::from_secs(30), client.request(req))
        .await
        .expect("gateway answered within 30 s")
        .expect("request sent");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn get(client: &TestClient, addr: SocketAddr, host: &str, path: &str) -> Reply {
    send(client, addr, "GET", host, path, &[], Bytes::new()).await
}

/// Where the example and fixture plugins are built (by `crates/plugin/build.rs`).
pub const PLUGINS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/plugins/target/wasm32-wasip2/release"
);

/// A plugin engine for in-process tests; compiled components are cached across test runs.
pub fn plugin_engine() -> causeway_plugin::PluginEngine {
    let config = causeway_plugin::EngineConfig {
        cache_dir: Some(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-cache")),
        ..Default::default()
    };
    causeway_plugin::PluginEngine::new(config).expect("plugin engine")
}

/// Stage bindings of `api` with its plugins loaded into `engine`; plugin `file`s are
/// relative to [`PLUGINS`] (e.g. `query_to_json_mapper.wasm`). Panics on any error.
pub fn bindings_with_plugins(
    engine: &causeway_plugin::PluginEngine,
    api: &ApiSpec,
) -> Vec<StageBinding> {
    let mut api = api.clone();
    let dir = std::path::Path::new(PLUGINS);
    causeway_model::load::resolve_plugins(dir, "test.toml", &mut api)
        .unwrap_or_else(|e| panic!("plugin files: {e:?}"));
    let bytes_of = |sha: &str| {
        api.plugins
            .iter()
            .find(|p| p.sha256.as_deref() == Some(sha))
            .map(|p| std::fs::read(dir.join(&p.file)).map_err(|e| e.to_string()))
            .unwrap_or_else(|| Err(format!("no plugin has SHA-256 {sha}")))
    };
    let plugins = causeway_gateway::load_plugins(engine, "test.toml", &api, &bytes_of)
        .unwrap_or_else(|e| panic!("load plugins: {e}"));
    let dep = Deployment::snapshot(&api, "test", 0);
    let compiled = Arc::new(compile(&dep, &plugins).unwrap_or_else(|e| panic!("compile: {e}")));
    StageBinding::every_stage_of(&api, &compiled)
}

/// A gateway serving `apis` (TOML texts) with their plugins loaded (see
/// [`bindings_with_plugins`]).
pub async fn gateway_with_plugins(apis: &[&str]) -> TestGateway {
    let node = NodeConfig::default();
    let engine = plugin_engine();
    let mut all = Vec::new();
    for text in apis {
        all.extend(bindings_with_plugins(&engine, &parse_api(text)));
    }
    let gw = gateway_with(node, &[]).await;
    gw.gateway.publish(all, &[]);
    gw
}

/// The value of the first metrics sample line in `text` starting with `prefix`.
pub fn sample(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no sample `{prefix}` in:\n{text}"))
}
