//! Keys from a `jwks_url`: rotation picked up by the periodic refresh, the refetch
//! cooldown for unknown key ids, bounds on oversized and silent servers, and `https://`
//! servers behind a private CA.

use super::*;

/// A JWKS server: answers `GET` with the current body (or never, or with `bytes` of
/// padding), counting requests.
struct JwksServer {
    url: String,
    body: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
}

#[derive(Clone, Copy)]
enum Behaviour {
    Serve,
    Silent,
    Huge,
}

async fn jwks_server(behaviour: Behaviour, initial: &str) -> JwksServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().expect("addr")
    );
    let body = Arc::new(Mutex::new(initial.to_owned()));
    let hits = Arc::new(AtomicUsize::new(0));
    let (b, h) = (body.clone(), hits.clone());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (b, h) = (b.clone(), h.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |_req| {
                    h.fetch_add(1, Ordering::SeqCst);
                    let text = b.lock().map(|s| s.clone()).unwrap_or_default();
                    async move {
                        let payload = match behaviour {
                            Behaviour::Serve => text,
                            Behaviour::Silent => {
                                tokio::time::sleep(Duration::from_secs(60)).await;
                                text
                            }
                            Behaviour::Huge => {
                                format!("{{\"keys\": [], \"pad\": \"{}\"}}", "x".repeat(2 << 20))
                            }
                        };
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(payload))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    JwksServer { url, body, hits }
}

#[tokio::test]
async fn jwks_url_rotation_is_picked_up_by_periodic_refresh() {
    let server = jwks_server(Behaviour::Serve, &jwks_with(&["rsa-1"])).await;
    let gw = gateway(&format!(
        "jwks_url = \"{}\", jwks_refresh_seconds = 1",
        server.url
    ))
    .await;
    let old = token("rsa-1", json!({}));
    let new = token("rsa-2", json!({}));
    assert_eq!(call(&gw, "GET", Some(&old)).await.status, 200);
    // The IdP rotates: rsa-2 in, rsa-1 out.
    *server.body.lock().expect("lock") = jwks_with(&["rsa-2"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (n, o) = (
            call(&gw, "GET", Some(&new)).await,
            call(&gw, "GET", Some(&old)).await,
        );
        if n.status == 200 && o.status == 401 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "rotation not picked up: new {} old {}",
            n.status,
            o.status
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_unknown_kid_refetches_at_most_once_per_cooldown() {
    let server = jwks_server(Behaviour::Serve, &jwks_with(&["rsa-1"])).await;
    let gw = gateway(&format!(
        "jwks_url = \"{}\", jwks_refresh_seconds = 3600",
        server.url
    ))
    .await;
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        0,
        "fetched on first use, not at deploy"
    );
    assert_eq!(
        call(&gw, "GET", Some(&token("ec-1", json!({}))))
            .await
            .status,
        401
    );
    assert_eq!(
        call(&gw, "GET", Some(&token("rsa-1", json!({}))))
            .await
            .status,
        200
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    *server.body.lock().expect("lock") = jwks_with(&["rsa-1", "rsa-2"]);
    let new = token("rsa-2", json!({}));
    for _ in 0..20 {
        assert_eq!(
            call(&gw, "GET", Some(&new)).await.status,
            401,
            "within the cooldown"
        );
    }
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        1,
        "unknown kids do not hammer the IdP"
    );
    // Once the 5 s cooldown is over, the next unknown kid triggers one fetch.
    let deadline = Instant::now() + Duration::from_secs(15);
    while call(&gw, "GET", Some(&new)).await.status != 200 {
        assert!(
            Instant::now() < deadline,
            "the new kid never triggered a fetch"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn oversized_and_silent_jwks_servers_are_bounded() {
    let huge = jwks_server(Behaviour::Huge, "").await;
    let silent = jwks_server(Behaviour::Silent, "").await;
    for (server, bound) in [(&huge, 5), (&silent, 3)] {
        let gw = gateway(&format!(
            "jwks_url = \"{}\", jwks_timeout_ms = 500",
            server.url
        ))
        .await;
        let started = Instant::now();
        let r = call(&gw, "GET", Some(&token("rsa-1", json!({})))).await;
        assert_unauthorized(&r, "no key set");
        assert!(
            started.elapsed() < Duration::from_secs(bound),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(server.hits.load(Ordering::SeqCst), 1);
        // Within the cooldown the next request does not wait on the IdP again.
        let started = Instant::now();
        assert_unauthorized(
            &call(&gw, "GET", Some(&token("rsa-1", json!({})))).await,
            "again",
        );
        assert!(
            started.elapsed() < Duration::from_millis(400),
            "{:?}",
            started.elapsed()
        );
    }
}

/// An `https://` JWKS URL served with a private CA: trusted through `jwks_ca_file`,
/// refused (401, no keys) without it.
#[tokio::test]
async fn jwks_url_over_https_is_trusted_through_jwks_ca_file() {
    let server = jwks_server(Behaviour::Serve, &jwks_with(&["rsa-1"])).await;
    let plain: std::net::SocketAddr = server
        .url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .and_then(|a| a.parse().ok())
        .expect("jwks server address");
    let front = support::tls_in_front_of(plain).await;
    let url = format!("https://localhost:{}/.well-known/jwks.json", front.port());
    let ok = token("rsa-1", json!({}));

    let gw = gateway(&format!(
        "jwks_url = \"{url}\", jwks_ca_file = \"../tls/ca.pem\""
    ))
    .await;
    assert_eq!(call(&gw, "GET", Some(&ok)).await.status, 200);
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);

    // Public roots only: the TLS handshake fails, no key set, the token is refused.
    let gw = gateway(&format!("jwks_url = \"{url}\"")).await;
    assert_eq!(call(&gw, "GET", Some(&ok)).await.status, 401);
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
}
