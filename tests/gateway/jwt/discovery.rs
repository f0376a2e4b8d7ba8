//! OIDC discovery: with neither `jwks_file` nor `jwks_url`, the keys of an `http(s)://`
//! issuer are found at the `jwks_uri` of `{issuer}/.well-known/openid-configuration`, as
//! API Gateway's JWT authorizers find them.

use super::*;

/// An identity provider on loopback: its discovery document (naming `doc_issuer`, or its
/// own URL when `None`) and its key set, counting hits on each.
struct Idp {
    issuer: String,
    document_hits: Arc<AtomicUsize>,
    jwks_hits: Arc<AtomicUsize>,
}

async fn idp(doc_issuer: Option<&str>) -> Idp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let issuer = format!("http://{}/tenant-1", listener.local_addr().expect("addr"));
    let document = json!({
        "issuer": doc_issuer.unwrap_or(&issuer),
        "jwks_uri": format!("{issuer}/keys"),
        "id_token_signing_alg_values_supported": ["RS256"],
    })
    .to_string();
    let jwks = jwks_with(&["rsa-1"]);
    let document_hits = Arc::new(AtomicUsize::new(0));
    let jwks_hits = Arc::new(AtomicUsize::new(0));
    let (d, j) = (document_hits.clone(), jwks_hits.clone());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (document, jwks, d, j) = (document.clone(), jwks.clone(), d.clone(), j.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (status, body) = match req.uri().path() {
                        "/tenant-1/.well-known/openid-configuration" => {
                            d.fetch_add(1, Ordering::SeqCst);
                            (200, document.clone())
                        }
                        "/tenant-1/keys" => {
                            j.fetch_add(1, Ordering::SeqCst);
                            (200, jwks.clone())
                        }
                        _ => (404, String::new()),
                    };
                    let mut resp = hyper::Response::new(Full::new(Bytes::from(body)));
                    *resp.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
                    async move { Ok::<_, Infallible>(resp) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Idp {
        issuer,
        document_hits,
        jwks_hits,
    }
}

/// A gateway whose JWT authorizer names only `issuer` (no `jwks_file`, no `jwks_url`).
async fn discovering_gateway(issuer: &str) -> TestGateway {
    let spec = support::parse_api(&api("jwks_refresh_seconds = 3600").replace(ISSUER, issuer));
    let jwt = spec.authorizers[0].jwt.as_ref().expect("jwt");
    assert!(jwt.discovers(), "{jwt:?}");
    let gw = support::gateway(&[]).await;
    gw.gateway.publish(support::bindings(&spec), &[]);
    gw
}

#[tokio::test]
async fn keys_are_found_through_the_issuers_discovery_document() {
    let idp = idp(None).await;
    let gw = discovering_gateway(&idp.issuer).await;
    let ok = token("rsa-1", json!({ "iss": idp.issuer }));
    let r = call(&gw, "GET", Some(&ok)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["sub"], "user-42");
    assert_eq!(idp.document_hits.load(Ordering::SeqCst), 1);
    assert_eq!(idp.jwks_hits.load(Ordering::SeqCst), 1);
    // Served from the fetched set from then on.
    assert_eq!(call(&gw, "GET", Some(&ok)).await.status, 200);
    assert_eq!(idp.jwks_hits.load(Ordering::SeqCst), 1);
    // The issuer check still applies to the token.
    let other = token("rsa-1", json!({ "iss": "https://someone.else" }));
    assert_unauthorized(&call(&gw, "GET", Some(&other)).await, "foreign iss");
}

/// OIDC Discovery 1.0 §4.3: a document naming another issuer is not trusted, so its keys
/// are never fetched and tokens are refused.
#[tokio::test]
async fn a_discovery_document_for_another_issuer_is_refused() {
    let idp = idp(Some("https://impostor.example")).await;
    let gw = discovering_gateway(&idp.issuer).await;
    let ok = token("rsa-1", json!({ "iss": idp.issuer }));
    assert_unauthorized(&call(&gw, "GET", Some(&ok)).await, "untrusted document");
    assert_eq!(idp.document_hits.load(Ordering::SeqCst), 1);
    assert_eq!(idp.jwks_hits.load(Ordering::SeqCst), 0);
}
