//! The built-in JWT authorizer over real HTTP: tokens signed here with the fixture keys
//! (RS256, ES256, EdDSA), keys from a JWKS file embedded in the deployment or served by a
//! test HTTP server (rotation, rate-limited refetch, oversized and silent servers).

use std::convert::Infallible;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::support::{self, Reply, TestGateway, send};

#[path = "jwt/discovery.rs"]
mod discovery;
#[path = "jwt/remote.rs"]
mod remote;

const HOST: &str = "pets.execute-api.localhost";
const ISSUER: &str = "https://idp.causeway.test";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwt");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(name)).expect("fixture")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// A token for `kid` (its algorithm from the fixture's key type) with `claims` over
/// defaults that pass (issuer, audience, an hour of life, `sub`).
fn token(kid: &str, claims: Value) -> String {
    let (alg, key) = match kid {
        k if k.starts_with("rsa") => (
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(&fixture(&format!("{k}.pem"))),
        ),
        "ec-1" => (
            Algorithm::ES256,
            EncodingKey::from_ec_pem(&fixture("ec-1.pem")),
        ),
        _ => (
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(&fixture("ed-1.pem")),
        ),
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    let mut body =
        json!({ "iss": ISSUER, "aud": "pets-api", "sub": "user-42", "exp": now() + 3600 });
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), claims) {
        for (k, v) in extra {
            if v.is_null() {
                b.remove(&k);
            } else {
                b.insert(k, v);
            }
        }
    }
    jsonwebtoken::encode(&header, &body, &key.expect("fixture key")).expect("sign")
}

fn api(jwks: &str) -> String {
    format!(
        r#"
version = 1
id = "pets"
name = "Pets"
type = "HTTP"
[[stages]]
name = "prod"

[[authorizers]]
name = "idp"
type = "JWT"
jwt = {{ issuer = "{ISSUER}", audiences = ["pets-api", "mobile"], {jwks} }}

[[routes]]
key = "GET /pets"
authorizer = "idp"
[routes.integration]
type = "MOCK"
headers = {{ "content-type" = "application/json" }}
body = '{{"sub": "$context.authorizer.claims.sub", "principal": "$context.authorizer.principalId", "groups": "${{context.authorizer.claims.cognito:groups}}"}}'

[[routes]]
key = "POST /pets"
authorizer = "idp"
authorization_scopes = ["pets:write", "admin"]
integration = {{ type = "MOCK", status = 201 }}
"#
    )
}

/// A gateway serving [`api`] with its `jwks_file` resolved against the fixtures.
async fn gateway(jwks: &str) -> TestGateway {
    let mut spec = support::parse_api(&api(jwks));
    let errors = causeway_model::resolve_jwks(Path::new(FIXTURES), "test.toml", &mut spec);
    assert!(errors.is_empty(), "{errors:?}");
    let gw = support::gateway(&[]).await;
    gw.gateway.publish(support::bindings(&spec), &[]);
    gw
}

async fn call(gw: &TestGateway, method: &str, auth: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
    send(
        &support::client(),
        gw.addr,
        method,
        HOST,
        "/prod/pets",
        &headers,
        Bytes::new(),
    )
    .await
}

fn assert_unauthorized(r: &Reply, why: &str) {
    assert_eq!(r.status, 401, "{why}: {}", r.text());
    assert_eq!(r.json(), json!({ "message": "Unauthorized" }), "{why}");
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("UnauthorizedException"),
        "{why}"
    );
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.contains("error=\"invalid_token\""),
        "{why}: {challenge}"
    );
}

#[tokio::test]
async fn rs256_es256_and_eddsa_tokens_pass_and_their_claims_reach_the_integration() {
    let gw = gateway("jwks_file = \"jwks.json\"").await;
    for kid in ["rsa-1", "ec-1", "ed-1"] {
        let t = token(kid, json!({ "cognito:groups": ["admin", "ops"] }));
        for auth in [format!("Bearer {t}"), t.clone(), format!("bearer  {t}")] {
            let r = call(&gw, "GET", Some(&auth)).await;
            assert_eq!(r.status, 200, "{kid}: {}", r.text());
            assert_eq!(
                r.json(),
                json!({ "sub": "user-42", "principal": "user-42", "groups": "[admin ops]" }),
                "{kid}"
            );
        }
    }
}

#[tokio::test]
async fn bad_tokens_are_401_with_the_reason_in_www_authenticate() {
    let gw = gateway("jwks_file = \"jwks.json\"").await;
    let t = now();
    let cases = [
        (
            "expired",
            token("rsa-1", json!({ "exp": t - 120 })),
            "expired",
        ),
        (
            "nbf ahead",
            token("ec-1", json!({ "nbf": t + 600 })),
            "not valid yet",
        ),
        ("no exp", token("ed-1", json!({ "exp": null })), "exp claim"),
        (
            "wrong issuer",
            token("rsa-1", json!({ "iss": "https://evil" })),
            "issuer",
        ),
        (
            "wrong audience",
            token("rsa-1", json!({ "aud": ["other"] })),
            "audience",
        ),
        (
            "client_id that does not match",
            token("rsa-1", json!({ "aud": null, "client_id": "other" })),
            "audience",
        ),
        ("unknown kid", token("rsa-2", json!({})), "no signing key"),
        ("garbage", "not.a.jwt".to_owned(), "malformed"),
        ("empty bearer", String::new(), "no token"),
    ];
    for (why, tok, reason) in &cases {
        let r = call(&gw, "GET", Some(&format!("Bearer {tok}"))).await;
        assert_unauthorized(&r, why);
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(challenge.contains(reason), "{why}: {challenge}");
    }
    assert_unauthorized(&call(&gw, "GET", None).await, "no header");

    // A valid token re-signed by another key under rsa-1's kid: the signature fails.
    let forged = token("rsa-2", json!({}));
    let mut parts: Vec<&str> = forged.split('.').collect();
    let genuine_header = token("rsa-1", json!({}));
    parts[0] = genuine_header.split('.').next().unwrap_or_default();
    let r = call(&gw, "GET", Some(&parts.join("."))).await;
    assert_unauthorized(&r, "forged signature");
    assert!(
        r.header("www-authenticate")
            .unwrap_or_default()
            .contains("signature")
    );

    // `alg: none` and a symmetric algorithm with a public key's kid are refused.
    let b64 = |v: Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let payload = b64(json!({ "iss": ISSUER, "aud": "pets-api", "exp": t + 600 }));
    let none = format!(
        "{}.{payload}.",
        b64(json!({ "alg": "none", "kid": "rsa-1" }))
    );
    assert_unauthorized(&call(&gw, "GET", Some(&none)).await, "alg none");
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("rsa-1".into());
    let claims = json!({ "iss": ISSUER, "aud": "pets-api", "exp": t + 600 });
    let hs = jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(b"guess")).expect("sign");
    assert_unauthorized(&call(&gw, "GET", Some(&hs)).await, "HS256");
}

#[tokio::test]
async fn client_id_stands_in_for_a_missing_aud() {
    let gw = gateway("jwks_file = \"jwks.json\"").await;
    let t = token("ec-1", json!({ "aud": null, "client_id": "mobile" }));
    let r = call(&gw, "GET", Some(&t)).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn route_scopes_need_one_of_them_or_403() {
    let gw = gateway("jwks_file = \"jwks.json\"").await;
    let no_scope = token("rsa-1", json!({ "scope": "pets:read" }));
    let r = call(&gw, "POST", Some(&no_scope)).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json(), json!({ "message": "Forbidden" }));
    assert_eq!(r.header("x-amzn-errortype"), Some("ForbiddenException"));
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("pets:write admin"),
        "{challenge}"
    );
    for claims in [
        json!({ "scope": "pets:read pets:write" }),
        json!({ "scp": ["admin"] }),
    ] {
        let r = call(&gw, "POST", Some(&token("ed-1", claims.clone()))).await;
        assert_eq!(r.status, 201, "{claims}: {}", r.text());
    }
    // A bad token is still 401 on a scoped route.
    let expired = token("rsa-1", json!({ "scope": "admin", "exp": now() - 3600 }));
    assert_unauthorized(&call(&gw, "POST", Some(&expired)).await, "expired, scoped");
}

#[tokio::test]
async fn claims_reach_an_http_integration_as_mapped_headers() {
    let upstream = support::upstream().await;
    let text = api("jwks_file = \"jwks.json\"").replace(
        "[[routes]]\nkey = \"POST /pets\"",
        &format!(
            r#"[[routes]]
key = "GET /profile"
authorizer = "idp"
[routes.integration]
type = "HTTP"
uri = "{}/me"
[routes.integration.request_parameters]
"integration.request.header.x-user" = "context.authorizer.claims.sub"
"integration.request.header.x-scope" = "context.authorizer.claims.scope"

[[routes]]
key = "POST /pets""#,
            upstream.url()
        ),
    );
    let mut spec = support::parse_api(&text);
    assert!(causeway_model::resolve_jwks(Path::new(FIXTURES), "t", &mut spec).is_empty());
    let gw = support::gateway(&[]).await;
    gw.gateway.publish(support::bindings(&spec), &[]);
    let t = token("ed-1", json!({ "scope": "pets:read profile" }));
    let auth = format!("Bearer {t}");
    let r = send(
        &support::client(),
        gw.addr,
        "GET",
        HOST,
        "/prod/profile",
        &[("authorization", auth.as_str())],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let echo = r.json();
    assert_eq!(echo["headers"]["x-user"], "user-42");
    assert_eq!(echo["headers"]["x-scope"], "pets:read profile");
}

fn jwks_with(kids: &[&str]) -> String {
    let mut keys: Vec<Value> = serde_json::from_slice::<Value>(&fixture("jwks.json"))
        .expect("jwks")["keys"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    keys.push(serde_json::from_slice(&fixture("rsa-2.jwk.json")).expect("jwk"));
    keys.retain(|k| kids.contains(&k["kid"].as_str().unwrap_or_default()));
    json!({ "keys": keys }).to_string()
}
