//! Mutual TLS on a custom domain (`truststore_file`, API Gateway's
//! `mutualTlsAuthentication`): a client of the domain must present a certificate chaining
//! to its truststore; the certificate reaches `$context.identity.clientCert`; requests for
//! the domain on connections not made to it are refused (421 over TLS, 403 in the clear);
//! other names on the same listener are unaffected.

use std::net::SocketAddr;
use std::sync::Arc;

use causeway_model::{BasePathMapping, DomainSpec, NodeConfig, TlsListenSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use crate::support;

const SECURE: &str = "secure.example.test";
const OPEN: &str = "open.example.test";

/// The API; `{upstream}` is the echo upstream's URL.
const API: &str = r#"
version = 1
id = "svc"
name = "Service"
type = "REST"
[[stages]]
name = "prod"
[[routes]]
key = "GET /whoami"
integration = { type = "MOCK", body = "[$context.identity.clientCert.subjectDN|$context.identity.clientCert.issuerDN|$context.identity.clientCert.serialNumber|$context.identity.clientCert.validity.notAfter]" }
[[routes]]
key = "GET /echo"
integration = { type = "HTTP_PROXY", uri = "{upstream}/echo", request_parameters = { "integration.request.header.x-client-dn" = "context.identity.clientCert.subjectDN" } }
"#;

struct Setup {
    _dir: tempfile::TempDir,
    server_ca: String,
    /// (certificate, key) PEM of a client the truststore's CA signed, and of one another
    /// CA signed.
    alice: (String, String),
    mallory: (String, String),
    node: NodeConfig,
}

fn setup() -> Setup {
    let mint = causeway_mesh::transport::mint;
    let servers = mint("server CA", &["localhost", SECURE, OPEN]).expect("mint");
    let clients = mint("clients CA", &["alice.clients.test"]).expect("mint");
    let rogue = mint("rogue CA", &["mallory.clients.test"]).expect("mint");
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p.display().to_string()
    };
    let (_, cert, key) = &servers.nodes[0];
    let mut node = NodeConfig::default();
    node.node.tls = Some(TlsListenSpec {
        listen: "127.0.0.1:0".parse().expect("addr"),
        cert_file: write("server.pem", cert),
        key_file: write("server-key.pem", key),
    });
    let truststore = write("truststore.pem", &clients.ca_cert);
    for (i, name) in [SECURE, OPEN].into_iter().enumerate() {
        let (_, cert, key) = &servers.nodes[i + 1];
        node.domains.push(DomainSpec {
            name: name.into(),
            mappings: vec![BasePathMapping {
                base_path: String::new(),
                api: "svc".into(),
                stage: "prod".into(),
            }],
            cert_file: Some(write(&format!("{name}.pem"), cert)),
            key_file: Some(write(&format!("{name}-key.pem"), key)),
            truststore_file: (name == SECURE).then(|| truststore.clone()),
        });
    }
    let pair = |m: &causeway_mesh::transport::Minted| (m.nodes[0].1.clone(), m.nodes[0].2.clone());
    Setup {
        server_ca: servers.ca_cert.clone(),
        alice: pair(&clients),
        mallory: pair(&rogue),
        node,
        _dir: dir,
    }
}

/// `GET path` with `Host: host` over a TLS connection naming `sni`, with `client` as the
/// client certificate: (status, response text), or the error that ended the exchange.
async fn get(
    addr: SocketAddr,
    s: &Setup,
    sni: &str,
    client: Option<&(String, String)>,
    host: &str,
) -> Result<(u16, String), String> {
    get_path(addr, s, sni, client, host, "/whoami").await
}

/// [`get`] of `path`.
async fn get_path(
    addr: SocketAddr,
    s: &Setup,
    sni: &str,
    client: Option<&(String, String)>,
    host: &str,
    path: &str,
) -> Result<(u16, String), String> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(s.server_ca.as_bytes()) {
        roots.add(c.expect("CA PEM")).expect("CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .expect("client chain");
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("client key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client auth")
        }
        None => builder.with_no_client_auth(),
    };
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from(sni.to_owned()).expect("server name");
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let req = format!("GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n");
    tls.write_all(req.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    tls.read_to_end(&mut raw)
        .await
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, text))
}

#[tokio::test]
async fn a_mutual_tls_domain_takes_only_clients_its_truststore_vouches_for() {
    let s = setup();
    let upstream = support::upstream().await;
    let api = API.replace("{upstream}", &upstream.url());
    let (addr, gw, _) = crate::https_listener::serve_https(&s.node, &[&api]).await;

    // A client the truststore vouches for: served, its certificate in `$context`.
    let (status, text) = get(addr, &s, SECURE, Some(&s.alice), SECURE)
        .await
        .expect("alice is served");
    assert_eq!(status, 200, "{text}");
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let fields: Vec<&str> = body
        .trim_matches(|c| c == '[' || c == ']')
        .split('|')
        .collect();
    assert_eq!(fields.len(), 4, "{body}");
    assert_eq!(fields[0], "CN=alice.clients.test", "{body}");
    assert_eq!(fields[1], "CN=clients CA", "{body}");
    assert!(
        fields[2].len() >= 2 && fields[2].split(':').all(|b| b.len() == 2),
        "serial as hex bytes: {body}"
    );
    assert!(
        fields[3].ends_with(" GMT"),
        "validity as OpenSSL prints it: {body}"
    );

    // An HTTP integration is told who the client is when the route maps it.
    let (status, text) = get_path(addr, &s, SECURE, Some(&s.alice), SECURE, "/echo")
        .await
        .expect("alice is served");
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains(r#""x-client-dn":"CN=alice.clients.test""#),
        "{text}"
    );

    // No certificate, or one another CA signed: no exchange at all, and counted.
    for client in [None, Some(&s.mallory)] {
        let refused = get(addr, &s, SECURE, client, SECURE).await;
        assert!(refused.is_err(), "{refused:?}");
    }
    let refusals = || {
        let text = gw.gateway.metrics().encode();
        text.lines()
            .find(|l| {
                l.starts_with(
                    "causeway_TlsHandshakeErrorCount_total{reason=\"client_certificate\"}",
                )
            })
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // (The server's side of a refused handshake may end just after the client's.)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while refusals() < 2.0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(refusals(), 2.0);

    // The same listener's other names need no certificate and see none.
    let (status, text) = get(addr, &s, OPEN, None, OPEN).await.expect("open");
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("[|||]"), "{text}");

    // A connection made to another name cannot reach the secure domain by its Host.
    let (status, text) = get(addr, &s, OPEN, None, SECURE).await.expect("answered");
    assert_eq!(status, 421, "{text}");
    assert!(text.contains("open a new TLS connection naming"), "{text}");
    assert!(text.contains("MisdirectedRequestException"), "{text}");
    // Nor the plain listener.
    let plain = support::get(&support::client(), gw.addr, SECURE, "/whoami").await;
    assert_eq!(plain.status, 403, "{}", plain.text());
    assert!(
        plain.text().contains("requires a client certificate"),
        "{}",
        plain.text()
    );

    // A verified client may still call other names on its connection.
    let (status, text) = get(addr, &s, SECURE, Some(&s.alice), OPEN)
        .await
        .expect("answered");
    assert_eq!(status, 200, "{text}");
}

/// A truststore rustls cannot use is refused with its setting, before anything serves.
#[test]
fn an_unusable_truststore_is_refused_with_its_place() {
    let mut s = setup();
    let bad = s._dir.path().join("bad-truststore.pem");
    std::fs::write(
        &bad,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    s.node.domains[0].truststore_file = Some(bad.display().to_string());
    let err = causeway_gateway::https_config(&s.node).expect_err("refused");
    assert_eq!(err.field, "domains[0].truststore_file", "{err}");
    assert!(err.message.contains("bad-truststore.pem"), "{err}");
}

/// A reload (SIGHUP) may renew a domain's truststore, but not turn mutual TLS on or off
/// for a domain: the routing table that refuses requests over other names was built at
/// start, so that takes a restart, and the settings in use stay.
#[test]
fn a_reload_does_not_turn_mutual_tls_on_or_off() {
    let s = setup();
    let config = causeway_gateway::https_config(&s.node)
        .expect("TLS settings")
        .expect("an HTTPS listener");
    config.reload(&s.node).expect("the same settings reload");
    let mut off = s.node.clone();
    off.domains[0].truststore_file = None;
    let err = config.reload(&off).expect_err("turned off");
    assert!(err.message.contains("takes a restart"), "{err}");
    let mut on = s.node.clone();
    on.domains[1].truststore_file = on.domains[0].truststore_file.clone();
    let err = config.reload(&on).expect_err("turned on");
    assert_eq!(err.field, "domains[].truststore_file", "{err}");
}

/// Through an edge: the edge vouches for the certificate its client proved (in its signed
/// assertion), and the region serves the mutual-TLS domain with that certificate in
/// `$context`; without the edge's word, the region refuses the domain as before.
#[tokio::test]
async fn an_edge_vouches_for_the_client_certificate_it_verified() {
    use causeway_gateway::{ClientCert, Peer, TlsClient};
    let s = setup();
    let upstream = support::upstream().await;
    let api = API.replace("{upstream}", &upstream.url());
    let edge = support::gateway_with(s.node.clone(), &[&api]).await;
    let region = support::gateway_with(s.node.clone(), &[&api]).await;
    edge.gateway
        .sign_as_edge("edge-1", b"an edge key of thirty-two bytes!");
    region
        .gateway
        .trust_edge("edge-1", b"an edge key of thirty-two bytes!");

    let der = tokio_rustls::rustls::pki_types::CertificateDer::pem_slice_iter(s.alice.0.as_bytes())
        .next()
        .expect("a certificate")
        .expect("PEM");
    let client = TlsClient {
        domain: SECURE.into(),
        cert: ClientCert::from_der(&der).expect("alice's certificate parses"),
    };
    let peer = Peer::new("203.0.113.9:40000".parse().expect("addr"))
        .over_tls(Some(std::sync::Arc::new(client)));
    let req = http::Request::get("/whoami")
        .header("host", SECURE)
        .body(())
        .expect("request");
    let parts = match edge.gateway.check_at_edge(req.into_parts().0, &peer).await {
        Ok(parts) => parts,
        Err(resp) => panic!("the edge refused: {}", resp.status()),
    };
    let assertion = parts
        .headers
        .get("x-causeway-edge-auth")
        .and_then(|v| v.to_str().ok())
        .expect("the edge's assertion")
        .to_owned();
    let c = support::client();
    let r = support::send(
        &c,
        region.addr,
        "GET",
        SECURE,
        "/whoami",
        &[("x-causeway-edge-auth", &assertion)],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text()
            .starts_with("[CN=alice.clients.test|CN=clients CA|"),
        "{}",
        r.text()
    );
    // The same request without the edge's word: refused, as any plain request for it.
    let r = support::send(&c, region.addr, "GET", SECURE, "/whoami", &[], "").await;
    assert_eq!(r.status, 403, "{}", r.text());
}
