//! `https://` upstreams: TLS to the upstream, checked against the public roots plus the
//! node's `upstream_ca_file`.

use std::sync::atomic::Ordering;

use causeway_model::NodeConfig;

use crate::support::{self, get};

fn api(backend: &str) -> String {
    format!(
        r#"
version = 1
id = "secure"
name = "Secure"
type = "REST"
[[stages]]
name = "prod"
variables = {{ backend = "{backend}" }}
[[routes]]
key = "ANY /{{proxy+}}"
integration = {{ type = "HTTP_PROXY", uri = "${{stageVariables.backend}}/{{proxy}}" }}
"#
    )
}

const HOST: &str = "secure.execute-api.localhost";

#[tokio::test]
async fn https_upstream_signed_by_the_configured_ca_is_proxied() {
    let (up, accepted) = support::tls_upstream("127.0.0.1").await;
    let mut node = NodeConfig::default();
    node.node.upstream_ca_file = Some(support::tls_fixtures().join("ca.pem").display().to_string());
    // `localhost`: the certificate's DNS name, checked and sent as SNI.
    let backend = format!("https://localhost:{}", up.addr.port());
    let gw = support::gateway_with(node, &[&api(&backend)]).await;
    let c = support::client();
    for i in 0..3 {
        let r = get(&c, gw.addr, HOST, &format!("/prod/pets/{i}?x=1")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let echo = r.json();
        assert_eq!(echo["path"], format!("/pets/{i}"));
        assert_eq!(echo["query"]["x"], "1");
        // The Host header names the upstream, without the scheme's default port.
        assert_eq!(
            echo["headers"]["host"],
            format!("localhost:{}", up.addr.port())
        );
    }
    assert_eq!(up.hits.load(Ordering::SeqCst), 3);
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one pooled TLS connection served the three requests"
    );
}

#[tokio::test]
async fn https_upstream_with_an_untrusted_or_mismatched_certificate_is_a_502() {
    let (up, accepted) = support::tls_upstream("127.0.0.1").await;
    let c = support::client();
    // Trusted roots only: the test CA is unknown.
    let backend = format!("https://localhost:{}", up.addr.port());
    let gw = support::gateway(&[&api(&backend)]).await;
    let r = get(&c, gw.addr, HOST, "/prod/pets").await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(accepted.load(Ordering::SeqCst) >= 1, "TCP got through");
    assert_eq!(up.hits.load(Ordering::SeqCst), 0, "no request after TLS");

    // The CA is trusted, but the name is not the certificate's.
    let mut node = NodeConfig::default();
    node.node.upstream_ca_file = Some(support::tls_fixtures().join("ca.pem").display().to_string());
    // 127.0.0.2 is loopback too, but not a name in the certificate.
    let (other, accepted) = support::tls_upstream("127.0.0.2").await;
    let wrong_name = format!("https://127.0.0.2:{}", other.addr.port());
    let gw = support::gateway_with(node, &[&api(&wrong_name)]).await;
    let r = get(&c, gw.addr, HOST, "/prod/pets").await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(accepted.load(Ordering::SeqCst) >= 1, "TCP got through");
    assert_eq!(other.hits.load(Ordering::SeqCst), 0, "no request after TLS");
}

/// `[node] upstream_client_cert_file` / `upstream_client_key_file`: the node presents its
/// certificate to an upstream that requires one (mutual TLS to backends); without it, or
/// with one the upstream's CA did not sign, the upstream refuses the handshake: a 502.
#[tokio::test]
async fn the_node_presents_its_client_certificate_to_upstreams_that_ask() {
    let clients =
        causeway_mesh::transport::mint("gateways CA", &["gateway.clients.test"]).expect("mint");
    let rogue =
        causeway_mesh::transport::mint("rogue CA", &["gateway.clients.test"]).expect("mint");
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        Some(p.display().to_string())
    };
    let (up, _) = support::mtls_upstream("127.0.0.1", &clients.ca_cert).await;
    let backend = format!("https://localhost:{}", up.addr.port());
    let node = |identity: Option<&causeway_mesh::transport::Minted>| {
        let mut node = NodeConfig::default();
        node.node.upstream_ca_file =
            Some(support::tls_fixtures().join("ca.pem").display().to_string());
        if let Some(m) = identity {
            let (_, cert, key) = &m.nodes[0];
            node.node.upstream_client_cert_file =
                write(&format!("{}-cert.pem", m.ca_cert.len()), cert);
            node.node.upstream_client_key_file =
                write(&format!("{}-key.pem", m.ca_cert.len()), key);
        }
        node
    };
    let c = support::client();
    let gw = support::gateway_with(node(Some(&clients)), &[&api(&backend)]).await;
    let r = get(&c, gw.addr, HOST, "/prod/pets/1").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["path"], "/pets/1");
    assert_eq!(up.hits.load(Ordering::SeqCst), 1);
    for identity in [None, Some(&rogue)] {
        let gw = support::gateway_with(node(identity), &[&api(&backend)]).await;
        let r = get(&c, gw.addr, HOST, "/prod/pets/1").await;
        assert_eq!(r.status, 502, "{}", r.text());
    }
    assert_eq!(
        up.hits.load(Ordering::SeqCst),
        1,
        "no request got through without the certificate"
    );

    // A key that is not the certificate's is the config's error, named.
    let mut mismatched = node(Some(&clients));
    mismatched.node.upstream_client_key_file = write("other-key.pem", &rogue.nodes[0].2);
    let err = causeway_gateway::upstream_tls(&mismatched).expect_err("refused");
    assert_eq!(err.field, "node.upstream_client_cert_file", "{err}");
    assert!(err.message.contains("does not go with"), "{err}");
}
