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
