//! The HMAC authorizer contract, shared by the Rust, JavaScript and Python authorizers.

use causeway_plugin::{Effect, Plugin, PluginOptions, World};
use serde_json::json;

use crate::support::{self, LATER, SECRET, ctx, sign, token_request};

/// The behaviour every HMAC authorizer implementation must show (`plugin` was loaded
/// with [`support::hmac_options`]).
pub async fn contract(plugin: &Plugin) {
    // Allow: principal, context, ttl, routes.
    let token = sign(
        SECRET,
        &json!({"sub": "user-1", "exp": LATER, "scope": "lists:read",
                "routes": ["shop1/prod/GET/lists/*"], "ctx": {"tier": "gold"}}),
    );
    let d = plugin
        .authorize(token_request(&format!("Bearer {token}")))
        .await
        .expect("allow call");
    assert_eq!(d.effect, Effect::Allow, "{d:?}");
    assert_eq!(d.principal_id, "user-1");
    assert_eq!(ctx(&d, "sub"), Some("user-1"));
    assert_eq!(ctx(&d, "scope"), Some("lists:read"));
    assert_eq!(ctx(&d, "tier"), Some("gold"));
    assert_eq!(ctx(&d, "authorizer"), Some("hmac"));
    assert_eq!(d.ttl_seconds, 120);
    assert_eq!(d.routes, vec!["shop1/prod/GET/lists/*".to_owned()]);
    let asked = "shop1/prod/GET/lists/weekly";
    assert!(d.covers(asked, "shop1/prod/GET/lists/monthly"));
    assert!(!d.covers(asked, "shop1/prod/DELETE/lists/weekly"));

    // No routes: only the route asked for.
    let token = sign(SECRET, &json!({"sub": "user-2"}));
    let d = plugin
        .authorize(token_request(&format!("Bearer {token}")))
        .await
        .expect("allow call");
    assert_eq!(d.effect, Effect::Allow, "{d:?}");
    assert_eq!(d.principal_id, "user-2");
    assert!(d.routes.is_empty());
    assert!(d.covers(asked, asked));
    assert!(!d.covers(asked, "shop1/prod/GET/lists/monthly"));

    // Wrong secret: deny with a message.
    let forged = sign("not-the-secret", &json!({"sub": "mallory"}));
    let d = plugin
        .authorize(token_request(&format!("Bearer {forged}")))
        .await
        .expect("deny call");
    assert_eq!(d.effect, Effect::Deny, "{d:?}");
    assert_eq!(d.message.as_deref(), Some("invalid token signature"));

    // Expired: deny.
    let expired = sign(SECRET, &json!({"sub": "user-1", "exp": 1_000_000_000u64}));
    let d = plugin
        .authorize(token_request(&format!("Bearer {expired}")))
        .await
        .expect("expired call");
    assert_eq!(d.effect, Effect::Deny, "{d:?}");
    assert_eq!(d.message.as_deref(), Some("token expired"));

    // No or malformed token: unauthorized (401).
    for token in ["", "Basic dXNlcjpwdw==", "Bearer no-dot-here"] {
        let d = plugin
            .authorize(token_request(token))
            .await
            .expect("unauthorized call");
        assert_eq!(d.effect, Effect::Unauthorized, "token {token:?}: {d:?}");
    }
}

#[tokio::test]
async fn rust_hmac_authorizer_contract() {
    let plugin = support::load(
        "hmac",
        env!("CAUSEWAY_FIXTURE_HMAC_AUTHORIZER"),
        World::Authorizer,
        support::hmac_options(),
    );
    contract(&plugin).await;
    let m = plugin.metrics();
    assert_eq!(m.calls, 7);
    assert_eq!(m.instantiations, 7, "fresh policy: one instance per call");
}

#[tokio::test]
async fn secret_can_come_from_stage_variables_and_ttl_is_capped() {
    let options = PluginOptions::new(World::Authorizer).with_config("ttl", "99999");
    let plugin = support::load(
        "hmac-stage",
        env!("CAUSEWAY_FIXTURE_HMAC_AUTHORIZER"),
        World::Authorizer,
        options,
    );
    let token = sign("stage-secret", &json!({"sub": "user-3"}));
    let mut req = token_request(&format!("Bearer {token}"));
    // REQUEST authorizer: the token arrives as a header.
    req.kind = causeway_plugin::AuthorizerKind::Request;
    req.identity_source.clear();
    req.stage_variables = vec![("secret".to_owned(), "stage-secret".to_owned())];
    let d = plugin.authorize(req.clone()).await.expect("call");
    assert_eq!(d.effect, Effect::Allow, "{d:?}");
    assert_eq!(
        d.ttl_seconds, 3600,
        "API Gateway caps authorizer TTLs at an hour"
    );

    // Without the stage variable there is no secret: deny.
    req.stage_variables.clear();
    let d = plugin.authorize(req).await.expect("call");
    assert_eq!(d.effect, Effect::Deny, "{d:?}");
}

#[tokio::test]
async fn concurrent_calls_each_get_an_instance() {
    let plugin = support::load(
        "hmac-concurrent",
        env!("CAUSEWAY_FIXTURE_HMAC_AUTHORIZER"),
        World::Authorizer,
        support::hmac_options(),
    );
    let token = format!("Bearer {}", sign(SECRET, &json!({"sub": "many"})));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let plugin = plugin.clone();
        let req = token_request(&token);
        tasks.push(tokio::spawn(async move { plugin.authorize(req).await }));
    }
    for task in tasks {
        let d = task.await.expect("join").expect("call");
        assert_eq!(d.principal_id, "many");
    }
}
