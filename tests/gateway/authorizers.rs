//! The decision cache of plugin authorizers over real HTTP, counted by the plugin's own
//! call metric: a cached decision answers only the routes it covers (the route it was
//! asked for, or those its `routes` name), never silently another, and only the identity
//! it was made for (every source's value); a missing, blank or non-text identity is a 401
//! without a call.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::support::{self, TestGateway};

const API: &str = r#"
version = 1
id = "az"
name = "Authorized"
type = "REST"
[[stages]]
name = "prod"
[[plugins]]
name = "hmac"
file = "hmac_authorizer.wasm"
world = "authorizer"
config = { secret = "s3cret", ttl = "300" }
[[authorizers]]
name = "tokens"
type = "TOKEN"
plugin = "hmac"
identity_sources = ["method.request.header.Authorization"]
result_ttl_seconds = 300
[[authorizers]]
name = "tenants"
type = "REQUEST"
plugin = "hmac"
identity_sources = ["method.request.header.Authorization", "method.request.querystring.tenant"]
result_ttl_seconds = 300
[[routes]]
key = "GET /t"
authorizer = "tenants"
integration = { type = "MOCK", body = "t $context.authorizer.principalId" }
[[routes]]
key = "GET /a"
authorizer = "tokens"
integration = { type = "MOCK", body = "a $context.authorizer.principalId" }
[[routes]]
key = "GET /b"
authorizer = "tokens"
integration = { type = "MOCK", body = "b $context.authorizer.principalId" }
[[routes]]
key = "GET /c/{id}"
authorizer = "tokens"
integration = { type = "MOCK", body = "c $context.authorizer.principalId" }
"#;

const HOST: &str = "az.execute-api.localhost";

fn token(claims: &serde_json::Value) -> String {
    signed(b"s3cret", claims)
}

/// `Bearer payload.signature` as the HMAC authorizer fixture checks it.
pub(crate) fn signed(secret: &[u8], claims: &serde_json::Value) -> String {
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(payload.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("Bearer {payload}.{signature}")
}

/// Calls the authorizer plugin has answered so far.
fn plugin_calls(gw: &TestGateway) -> f64 {
    support::sample(
        &gw.gateway.metrics().encode(),
        "causeway_PluginCallCount_total{api=\"az\",plugin=\"hmac\",",
    )
}

/// `GET path` with `Authorization: auth`.
async fn send(gw: &TestGateway, c: &support::TestClient, path: &str, auth: &str) -> support::Reply {
    support::send(
        c,
        gw.addr,
        "GET",
        HOST,
        path,
        &[("authorization", auth)],
        "",
    )
    .await
}

/// `GET path` with `auth`: the body, which must come with a 200.
async fn get(gw: &TestGateway, c: &support::TestClient, path: &str, auth: &str) -> String {
    let r = send(gw, c, path, auth).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.text());
    r.text()
}

#[tokio::test]
async fn a_cached_decision_answers_only_the_routes_it_covers() {
    let gw = support::gateway_with_plugins(&[API]).await;
    let c = support::client();

    // No `routes` in the decision: it covers the route it was asked for, and only that.
    let alice = token(&serde_json::json!({ "sub": "alice" }));
    assert_eq!(get(&gw, &c, "/prod/a", &alice).await, "a alice");
    assert_eq!(plugin_calls(&gw), 1.0);
    assert_eq!(get(&gw, &c, "/prod/a", &alice).await, "a alice");
    assert_eq!(plugin_calls(&gw), 1.0, "the second /a is a cache hit");
    assert_eq!(get(&gw, &c, "/prod/b", &alice).await, "b alice");
    assert_eq!(
        plugin_calls(&gw),
        2.0,
        "/a's decision does not answer for /b"
    );
    assert_eq!(get(&gw, &c, "/prod/c/1", &alice).await, "c alice");
    assert_eq!(get(&gw, &c, "/prod/c/2", &alice).await, "c alice");
    assert_eq!(plugin_calls(&gw), 4.0, "nor /c/1's for /c/2");
    assert_eq!(get(&gw, &c, "/prod/c/2", &alice).await, "c alice");
    assert_eq!(plugin_calls(&gw), 4.0);

    // A decision naming routes answers for each of them from the cache.
    let bob = token(&serde_json::json!({
        "sub": "bob",
        "routes": ["az/prod/GET/a", "az/prod/GET/c/*"],
    }));
    assert_eq!(get(&gw, &c, "/prod/a", &bob).await, "a bob");
    assert_eq!(plugin_calls(&gw), 5.0);
    assert_eq!(get(&gw, &c, "/prod/c/7", &bob).await, "c bob");
    assert_eq!(get(&gw, &c, "/prod/c/8", &bob).await, "c bob");
    assert_eq!(
        plugin_calls(&gw),
        5.0,
        "/c/* is covered by the cached decision"
    );
    assert_eq!(get(&gw, &c, "/prod/b", &bob).await, "b bob");
    assert_eq!(plugin_calls(&gw), 6.0, "/b is not among its routes");
}

/// The status of a request written by hand, so that a header value may hold bytes no HTTP
/// library would send (obs-text).
async fn raw_status(gw: &TestGateway, head: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(gw.addr)
        .await
        .expect("connect");
    s.write_all(head).await.expect("write");
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(std::time::Duration::from_secs(30), s.read(&mut buf))
        .await
        .expect("answered within 30 s")
        .expect("read");
    let line = String::from_utf8_lossy(&buf[..n]).into_owned();
    line.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {line:?}"))
}

#[tokio::test]
async fn a_decision_answers_only_the_identity_it_was_made_for() {
    let gw = support::gateway_with_plugins(&[API]).await;
    let c = support::client();
    let alice = token(&serde_json::json!({ "sub": "alice" }));

    // REQUEST authorizer: the key is every source's value, so another tenant with the same
    // token is another decision, and the same pair a hit.
    assert_eq!(get(&gw, &c, "/prod/t?tenant=a", &alice).await, "t alice");
    assert_eq!(get(&gw, &c, "/prod/t?tenant=b", &alice).await, "t alice");
    assert_eq!(
        plugin_calls(&gw),
        2.0,
        "tenant b is not tenant a's decision"
    );
    assert_eq!(get(&gw, &c, "/prod/t?tenant=a", &alice).await, "t alice");
    assert_eq!(plugin_calls(&gw), 2.0, "the same token and tenant hit");

    // A missing or blank source: 401 without asking the plugin.
    for (path, auth) in [
        ("/prod/t", alice.as_str()),
        ("/prod/t?tenant=", &alice),
        ("/prod/a", "   "),
    ] {
        let r = send(&gw, &c, path, auth).await;
        assert_eq!(r.status, 401, "GET {path} with {auth:?}: {}", r.text());
    }
    // A header value that is not text (obs-text bytes) is never a cached identity: 401.
    let mut head =
        format!("GET /prod/a HTTP/1.1\r\nhost: {HOST}\r\nauthorization: Bearer ").into_bytes();
    head.extend_from_slice(b"\xe9\xe9\r\nconnection: close\r\n\r\n");
    assert_eq!(raw_status(&gw, &head).await, 401);
    assert_eq!(
        plugin_calls(&gw),
        2.0,
        "no call for a missing, blank or non-text identity"
    );
}

/// One reused instance serves two stages whose variables hold different secrets (the
/// plugin's `config("secret")` falls back to them): what the instance keeps between calls
/// (the HMAC example keeps its keyed MAC) never answers for the other stage's secret.
#[tokio::test]
async fn a_reused_instance_checks_each_stage_with_its_own_secret() {
    let api = r#"
version = 1
id = "two"
name = "Two secrets"
type = "REST"
[[stages]]
name = "a"
variables = { secret = "alpha" }
[[stages]]
name = "b"
variables = { secret = "beta" }
[[plugins]]
name = "hmac"
file = "hmac_authorizer.wasm"
world = "authorizer"
instance = "reuse"
pool = { min_idle = 1, max_idle = 1 }
[[authorizers]]
name = "tokens"
type = "TOKEN"
plugin = "hmac"
identity_sources = ["method.request.header.Authorization"]
result_ttl_seconds = 0
[[routes]]
key = "GET /who"
authorizer = "tokens"
integration = { type = "MOCK", body = "$context.authorizer.principalId" }
"#;
    let gw = support::gateway_with_plugins(&[api]).await;
    let c = support::client();
    let alpha = signed(b"alpha", &serde_json::json!({ "sub": "ann" }));
    let beta = signed(b"beta", &serde_json::json!({ "sub": "ben" }));
    for _ in 0..3 {
        for (stage, auth, status) in [
            ("a", &alpha, 200),
            ("b", &alpha, 403),
            ("b", &beta, 200),
            ("a", &beta, 403),
        ] {
            let r = support::send(
                &c,
                gw.addr,
                "GET",
                "two.execute-api.localhost",
                &format!("/{stage}/who"),
                &[("authorization", auth)],
                "",
            )
            .await;
            assert_eq!(r.status, status, "stage {stage}: {}", r.text());
        }
    }
    let reused = support::sample(
        &gw.gateway.metrics().encode(),
        "causeway_PluginReuseCount_total{api=\"two\"",
    );
    assert!(
        reused >= 10.0,
        "one warm instance served the calls: {reused}"
    );
}

/// A REQUEST authorizer gets query and path parameters decoded, as a Lambda authorizer's
/// `queryStringParameters` and `pathParameters` are (the echo fixture copies every field
/// it reads into its context, which the MOCK answer shows); its query identity source too.
#[tokio::test]
async fn a_request_authorizer_gets_parameters_decoded() {
    let api = r#"
version = 1
id = "echo"
name = "Echo"
type = "REST"
[[stages]]
name = "prod"
variables = { env = "prod" }
[[plugins]]
name = "echo"
file = "echo_authorizer.wasm"
world = "authorizer"
[[authorizers]]
name = "echo"
type = "REQUEST"
plugin = "echo"
identity_sources = ["method.request.querystring.tenant"]
result_ttl_seconds = 0
[[routes]]
key = "GET /items/{id}"
authorizer = "echo"
integration = { type = "MOCK", body = "$context.authorizer.identity|$context.authorizer.query|$context.authorizer.path-parameters|$context.authorizer.lookups" }
"#;
    let gw = support::gateway_with_plugins(&[api]).await;
    let c = support::client();
    let r = support::send(
        &c,
        gw.addr,
        "GET",
        "echo.execute-api.localhost",
        "/prod/items/caf%C3%A9?tenant=acme+corp&q=a%20b%2Bc",
        &[("x-echo", "hi")],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        "acme corp|tenant=acme corp&q=a b+c|id=café|hi,a b+c,café,prod"
    );
}

/// A TOKEN authorizer's `identity_validation_expression`: a token it does not match is a
/// 401 without a plugin call (and without caching anything); one it matches is asked.
#[tokio::test]
async fn a_token_the_validation_expression_refuses_never_reaches_the_plugin() {
    let api = API.replace(
        "identity_sources = [\"method.request.header.Authorization\"]\nresult_ttl_seconds = 300\n[[authorizers]]\nname = \"tenants\"",
        "identity_sources = [\"method.request.header.Authorization\"]\nidentity_validation_expression = \"Bearer [-0-9A-Za-z_]+\\\\.[-0-9A-Za-z_]+\"\nresult_ttl_seconds = 300\n[[authorizers]]\nname = \"tenants\"",
    );
    assert_ne!(api, API, "the expression was added");
    let gw = support::gateway_with_plugins(&[&api]).await;
    let c = support::client();
    for bad in [
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-token",
        "Bearer a.b extra",
    ] {
        let r = send(&gw, &c, "/prod/a", bad).await;
        assert_eq!(r.status, 401, "{bad}: {}", r.text());
        assert_eq!(r.text(), r#"{"message":"Unauthorized"}"#);
    }
    assert_eq!(plugin_calls(&gw), 0.0, "refused before the plugin");
    let good = token(&serde_json::json!({ "sub": "ann" }));
    assert_eq!(get(&gw, &c, "/prod/a", &good).await, "a ann");
    assert_eq!(plugin_calls(&gw), 1.0);
}
