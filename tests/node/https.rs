//! The real binary with `[node.tls]`: certificates minted by `causeway mesh certs`, an
//! HTTPS listener beside the plain one serving the same API, and `causeway validate`
//! refusing a missing key or a key that is not the certificate's, naming the setting.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, ClientConnection, RootCertStore};

use std::time::Duration;

use crate::harness::{BIN, ConfigDir, Node, eventually, get, text};

const API: &str = r#"version = 1
id = "svc"
name = "Service"
type = "REST"
[[stages]]
name = "prod"
[[routes]]
key = "GET /hello"
integration = { type = "MOCK", body = "hello over $context.protocol" }
"#;

fn node_file(key: &str) -> String {
    format!(
        "version = 1\n[node]\ndata_dir = \"data\"\n[node.tls]\nlisten = \"127.0.0.1:0\"\ncert_file = \"certs/localhost.pem\"\nkey_file = \"certs/{key}\"\n"
    )
}

/// `GET path` over TLS to `addr` (SNI `localhost`, trusting `ca`): the raw answer.
pub(crate) fn get_tls(addr: SocketAddr, ca: &[u8], host: &str, path: &str) -> String {
    try_get_tls(addr, ca, host, path).expect("TLS handshake and write")
}

/// [`get_tls`], `None` when the handshake fails (a certificate `ca` does not sign).
fn try_get_tls(addr: SocketAddr, ca: &[u8], host: &str, path: &str) -> Option<String> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca) {
        roots.add(c.expect("CA PEM")).expect("CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").expect("name");
    let mut conn = ClientConnection::new(Arc::new(config), name).expect("client");
    let mut sock = TcpStream::connect(addr).expect("connect");
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    let req = format!("GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n");
    tls.write_all(req.as_bytes()).ok()?;
    let mut raw = Vec::new();
    // The answer, then the server closes (with or without close_notify).
    let _ = tls.read_to_end(&mut raw);
    Some(String::from_utf8_lossy(&raw).into_owned())
}

#[test]
fn the_node_serves_https_beside_http_and_refuses_unusable_certificates() {
    let cfg = ConfigDir::new(&[("svc", API)]);
    let out = Command::new(BIN)
        .args(["mesh", "certs", "--out"])
        .arg(cfg.path().join("certs"))
        .args(["localhost", "other"])
        .output()
        .expect("mint");
    assert!(out.status.success(), "{}", text(&out));
    let ca = std::fs::read(cfg.path().join("certs/ca.pem")).expect("CA");
    let write_node = |text: &str| {
        std::fs::write(cfg.path().join("causeway.toml"), text).expect("node file");
    };

    // A key that is missing, and one that is another certificate's: refused, named.
    write_node(&node_file("missing-key.pem"));
    let out = cfg.validate();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("node.tls.key_file"), "{}", text(&out));
    write_node(&node_file("other-key.pem"));
    let out = cfg.validate();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("does not go with"), "{}", text(&out));

    write_node(&node_file("localhost-key.pem"));
    let out = cfg.validate();
    assert!(out.status.success(), "{}", text(&out));
    let node = Node::start(cfg.path());
    let https = node.https.expect("the HTTPS listener's address is printed");
    let raw = get_tls(https, &ca, "svc.execute-api.localhost", "/prod/hello");
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.ends_with("hello over HTTP/1.1"), "{raw}");
    // The plain listener serves the same API.
    let (status, body) = get(node.addr, "svc.execute-api.localhost", "/prod/hello").expect("get");
    assert_eq!((status, body.as_str()), (200, "hello over HTTP/1.1"));

    // A renewed certificate (from another CA here) is served after SIGHUP, no restart.
    let renewed = cfg.path().join("renewed");
    let out = Command::new(BIN)
        .args(["mesh", "certs", "--out"])
        .arg(&renewed)
        .arg("localhost")
        .output()
        .expect("mint");
    assert!(out.status.success(), "{}", text(&out));
    let new_ca = std::fs::read(renewed.join("ca.pem")).expect("CA");
    for f in ["localhost.pem", "localhost-key.pem"] {
        std::fs::copy(renewed.join(f), cfg.path().join("certs").join(f)).expect("copy");
    }
    let hangup = || {
        let out = Command::new("kill")
            .args(["-HUP", &node.child.id().to_string()])
            .output()
            .expect("kill");
        assert!(out.status.success(), "{}", text(&out));
    };
    hangup();
    let served_by = |ca: &[u8]| try_get_tls(https, ca, "svc.execute-api.localhost", "/prod/hello");
    eventually(
        "the renewed certificate is served",
        Duration::from_secs(10),
        || served_by(&new_ca).is_some_and(|raw| raw.starts_with("HTTP/1.1 200")),
    );
    assert!(
        served_by(&ca).is_none(),
        "the old certificate is still served"
    );
}

/// An upstream client certificate whose key is another certificate's is refused by
/// `causeway validate` with its setting; the right pair validates.
#[test]
fn an_unusable_upstream_client_certificate_is_refused_by_validate() {
    let cfg = ConfigDir::new(&[("svc", API)]);
    let out = Command::new(BIN)
        .args(["mesh", "certs", "--out"])
        .arg(cfg.path().join("certs"))
        .args(["gateway", "other"])
        .output()
        .expect("mint");
    assert!(out.status.success(), "{}", text(&out));
    let node = |key: &str| {
        format!(
            "version = 1\n[node]\nupstream_client_cert_file = \"certs/gateway.pem\"\nupstream_client_key_file = \"certs/{key}\"\n"
        )
    };
    std::fs::write(cfg.path().join("causeway.toml"), node("other-key.pem")).expect("node file");
    let out = cfg.validate();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("node.upstream_client_cert_file")
            && text(&out).contains("does not go with"),
        "{}",
        text(&out)
    );
    std::fs::write(cfg.path().join("causeway.toml"), node("gateway-key.pem")).expect("node file");
    let out = cfg.validate();
    assert!(out.status.success(), "{}", text(&out));
}
