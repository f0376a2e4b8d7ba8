//! The decision cache of plugin authorizers over real HTTP, counted by the plugin's own
//! call metric: a cached decision answers only the routes it covers (the route it was
//! asked for, or those its `routes` name), never silently another.

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
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").expect("any key length");
    mac.update(payload.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("Bearer {payload}.{signature}")
}

/// Calls the authorizer plugin has answered so far.
fn plugin_calls(gw: &TestGateway) -> f64 {
    let text = gw.gateway.metrics().encode();
    let prefix = "causeway_PluginCallCount_total{api=\"az\",plugin=\"hmac\",";
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no `{prefix}` in:\n{text}"))
}

/// `GET path` with `auth`: the body, which must come with a 200.
async fn get(gw: &TestGateway, c: &support::TestClient, path: &str, auth: &str) -> String {
    let r = support::send(
        c,
        gw.addr,
        "GET",
        HOST,
        path,
        &[("authorization", auth)],
        "",
    )
    .await;
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
