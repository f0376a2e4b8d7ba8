//! The HTTPS listener (`[node.tls]`): TLS termination with the listener's certificate, a
//! custom domain's own certificate chosen by SNI, HTTP/1.1 and h2 by ALPN, the same
//! pipeline behind it (base-path mappings, `X-Forwarded-Proto: https` to integrations),
//! and a client that does not speak TLS costs nothing but its own connection.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use causeway_model::{BasePathMapping, DomainSpec, NodeConfig, TlsListenSpec};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use crate::support;

const DOMAIN: &str = "pets.example.test";

fn api(upstream: &str) -> String {
    format!(
        r#"
version = 1
id = "svc"
name = "Service"
type = "REST"
[[stages]]
name = "prod"
[[routes]]
key = "GET /hello"
integration = {{ type = "MOCK", body = "hello over $context.protocol" }}
[[routes]]
key = "GET /echo"
integration = {{ type = "HTTP_PROXY", uri = "{upstream}/echo" }}
"#
    )
}

struct Certs {
    _dir: tempfile::TempDir,
    ca: String,
    /// The listener's leaf (for `localhost`) and the domain's, DER.
    default_leaf: CertificateDer<'static>,
    domain_leaf: CertificateDer<'static>,
    node: NodeConfig,
}

/// A CA, a certificate for `localhost` (the listener's) and one for [`DOMAIN`], and a node
/// config with the HTTPS listener and the domain (mapped to `svc` at `prod`).
fn certs() -> Certs {
    let minted = causeway_mesh::transport::mint("test CA", &["localhost", DOMAIN]).expect("mint");
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p.display().to_string()
    };
    let leaf = |pem: &str| {
        CertificateDer::pem_slice_iter(pem.as_bytes())
            .next()
            .expect("a certificate")
            .expect("PEM")
    };
    let (_, cert, key) = &minted.nodes[0];
    let (_, dcert, dkey) = &minted.nodes[1];
    let mut node = NodeConfig::default();
    node.node.tls = Some(TlsListenSpec {
        listen: "127.0.0.1:0".parse().expect("addr"),
        cert_file: write("server.pem", cert),
        key_file: write("server-key.pem", key),
    });
    node.domains.push(DomainSpec {
        name: DOMAIN.into(),
        mappings: vec![BasePathMapping {
            base_path: String::new(),
            api: "svc".into(),
            stage: "prod".into(),
        }],
        cert_file: Some(write("domain.pem", dcert)),
        key_file: Some(write("domain-key.pem", dkey)),
        truststore_file: None,
    });
    Certs {
        ca: minted.ca_cert.clone(),
        default_leaf: leaf(cert),
        domain_leaf: leaf(dcert),
        node,
        _dir: dir,
    }
}

pub(crate) async fn serve_https(
    node: &NodeConfig,
    apis: &[&str],
) -> (
    SocketAddr,
    support::TestGateway,
    causeway_gateway::HttpsConfig,
) {
    let gw = support::gateway_with(node.clone(), apis).await;
    let config = causeway_gateway::https_config(node)
        .expect("TLS settings")
        .expect("an HTTPS listener");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        gw.gateway
            .clone()
            .serve_https(listener, config.clone(), std::future::pending()),
    );
    (addr, gw, config)
}

/// A TLS connection to `addr` naming `sni`, offering `alpn`.
async fn connect(
    addr: SocketAddr,
    ca: &str,
    sni: &str,
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(c.expect("CA PEM")).expect("CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from(sni.to_owned()).expect("server name");
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake (the certificate checks out for the name)")
}

/// `GET path` with `Host: host` over HTTP/1.1 on `tls`: (status, headers and body text).
async fn get_h1<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    tls: &mut S,
    host: &str,
    path: &str,
) -> (u16, String) {
    let req = format!("GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n");
    tls.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

fn peer_leaf(
    tls: &tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
) -> CertificateDer<'static> {
    tls.get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .expect("a certificate")
        .clone()
        .into_owned()
}

#[tokio::test]
async fn https_listener_serves_each_name_its_certificate_over_h1_and_h2() {
    let upstream = support::upstream().await;
    let c = certs();
    let api = api(&upstream.url());
    let (addr, _gw, _) = serve_https(&c.node, &[&api]).await;

    // The listener's certificate for an invoke URL's name; the pipeline behind it.
    let mut tls = connect(addr, &c.ca, "localhost", &[b"http/1.1"]).await;
    assert_eq!(peer_leaf(&tls), c.default_leaf);
    let (status, text) = get_h1(&mut tls, "svc.execute-api.localhost", "/prod/hello").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("hello over HTTP/1.1"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("x-amzn-requestid: "),
        "{text}"
    );

    // The custom domain gets its own certificate, and its base-path mapping.
    let mut tls = connect(addr, &c.ca, DOMAIN, &[b"http/1.1"]).await;
    assert_eq!(peer_leaf(&tls), c.domain_leaf);
    let (status, text) = get_h1(&mut tls, DOMAIN, "/hello").await;
    assert_eq!(status, 200, "{text}");

    // Integrations learn the client came over TLS.
    let mut tls = connect(addr, &c.ca, "localhost", &[]).await;
    let (status, text) = get_h1(&mut tls, "svc.execute-api.localhost", "/prod/echo").await;
    assert_eq!(status, 200, "{text}");
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let echo: serde_json::Value = serde_json::from_str(body).expect("echo JSON");
    assert_eq!(echo["headers"]["x-forwarded-proto"], "https", "{echo}");

    // h2 when the client offers it.
    let tls = connect(addr, &c.ca, "localhost", &[b"h2", b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .expect("h2 handshake");
    tokio::spawn(conn);
    let req = http::Request::get("https://svc.execute-api.localhost/prod/hello")
        .body(Empty::<Bytes>::new())
        .expect("request");
    let resp = send.send_request(req).await.expect("h2 answer");
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(&body[..], b"hello over HTTP/2.0");
}

#[tokio::test]
async fn a_client_that_does_not_speak_tls_is_closed_and_others_are_served() {
    let c = certs();
    let (addr, _gw, _) = serve_https(&c.node, &[&api("http://127.0.0.1:9")]).await;
    // Plain HTTP to the HTTPS port: the handshake fails, the connection closes.
    let mut plain = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (status, _) = get_h1(&mut plain, "svc.execute-api.localhost", "/prod/hello").await;
    assert_eq!(status, 0, "no HTTP answer on a TLS port");
    // A client that trusts another CA refuses the certificate; the server goes on.
    let other = causeway_mesh::transport::mint("another CA", &[]).expect("mint");
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(other.ca_cert.as_bytes()) {
        roots.add(cert.expect("PEM")).expect("CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    assert!(
        TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .is_err()
    );
    let mut tls = connect(addr, &c.ca, "localhost", &[]).await;
    let (status, text) = get_h1(&mut tls, "svc.execute-api.localhost", "/prod/hello").await;
    assert_eq!(status, 200, "{text}");
}

#[tokio::test]
async fn a_reload_swaps_certificates_for_new_connections_and_a_bad_one_changes_nothing() {
    let c = certs();
    let (addr, _gw, config) = serve_https(&c.node, &[&api("http://127.0.0.1:9")]).await;
    // Unusable files: refused, the listener keeps its certificate.
    let mut broken = c.node.clone();
    if let Some(tls) = &mut broken.node.tls {
        tls.cert_file = c._dir.path().join("missing.pem").display().to_string();
    }
    let err = config.reload(&broken).expect_err("missing file");
    assert_eq!(err.field, "node.tls");
    let tls = connect(addr, &c.ca, "localhost", &[]).await;
    assert_eq!(peer_leaf(&tls), c.default_leaf);
    // The domain's certificate as the listener's: new connections get it.
    let mut renewed = c.node.clone();
    if let (Some(tls), Some(cert), Some(key)) = (
        &mut renewed.node.tls,
        &c.node.domains[0].cert_file,
        &c.node.domains[0].key_file,
    ) {
        tls.cert_file = cert.clone();
        tls.key_file = key.clone();
    }
    renewed.domains.clear();
    config.reload(&renewed).expect("reloaded");
    let tls = connect(addr, &c.ca, DOMAIN, &[]).await;
    assert_eq!(peer_leaf(&tls), c.domain_leaf);
}

#[test]
fn https_settings_that_cannot_be_used_are_refused_with_the_file_named() {
    let c = certs();
    let dir = c._dir.path();
    // The domain's key with the listener's certificate.
    let mut node = c.node.clone();
    if let Some(tls) = &mut node.node.tls {
        tls.key_file = dir.join("domain-key.pem").display().to_string();
    }
    let err = causeway_gateway::https_config(&node).expect_err("mismatched key");
    assert_eq!(err.field, "node.tls");
    assert!(err.message.contains("does not go with"), "{err}");
    // A certificate file that is not one.
    let mut node = c.node.clone();
    std::fs::write(dir.join("junk.pem"), "not a certificate").expect("write");
    node.domains[0].cert_file = Some(dir.join("junk.pem").display().to_string());
    let err = causeway_gateway::https_config(&node).expect_err("junk");
    assert_eq!(err.field, "domains[0]");
    assert!(err.message.contains("junk.pem"), "{err}");
}
