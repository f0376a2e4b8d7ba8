//! Both published versions of the authorizer world: 0.1.0 (the request as a record) and
//! 0.2.0 (a handle the guest reads field by field) answer the same for the same request.

use causeway_plugin::{
    AuthorizerDecision, AuthorizerKind, InstancePolicy, PluginErrorKind, PluginOptions,
    ReusePolicy, World,
};

use crate::support::{self, ctx};

fn request() -> causeway_plugin::AuthorizerRequest {
    let mut req = support::token_request("Bearer abc");
    req.kind = AuthorizerKind::Request;
    req.identity_source = vec!["Bearer abc".to_owned(), "tenant-7".to_owned()];
    req.path_parameters = vec![("id".to_owned(), "42".to_owned())];
    req.query = vec![
        ("q".to_owned(), "first".to_owned()),
        ("q".to_owned(), "second".to_owned()),
    ];
    req.headers.push(("x-echo".to_owned(), "héllo".to_owned()));
    req.stage_variables = vec![("env".to_owned(), "prod".to_owned())];
    req
}

fn echo(fixture: &str, policy: InstancePolicy) -> std::sync::Arc<causeway_plugin::Plugin> {
    support::load(
        "echo",
        fixture,
        World::Authorizer,
        PluginOptions::new(World::Authorizer).with_policy(policy),
    )
}

fn expected(d: &AuthorizerDecision) {
    assert_eq!(d.principal_id, "203.0.113.7");
    for (key, value) in [
        ("kind", "REQUEST"),
        ("identity", "Bearer abc,tenant-7"),
        ("route-id", "shop1/prod/GET/lists/weekly"),
        ("api-id", "shop1"),
        ("stage", "prod"),
        ("method", "GET"),
        ("route-key", "GET /lists/{name}"),
        ("resource-path", "/lists/{name}"),
        ("path", "/lists/weekly"),
        ("request-id", "c0ffee00-0000-4000-8000-000000000001"),
        ("headers", "authorization=Bearer abc&x-echo=héllo"),
        ("query", "q=first&q=second"),
        ("path-parameters", "id=42"),
        ("stage-variables", "env=prod"),
        // Header lookups ignore case; a repeated query parameter answers its first value.
        ("lookups", "héllo,first,42,prod"),
    ] {
        assert_eq!(ctx(d, key), Some(value), "{key} in {d:?}");
    }
}

#[tokio::test]
async fn a_request_reads_the_same_through_either_version() {
    let v2 = echo(
        env!("CAUSEWAY_FIXTURE_ECHO_AUTHORIZER"),
        InstancePolicy::Fresh,
    )
    .authorize(request())
    .await
    .expect("0.2.0 call");
    expected(&v2);
    let v1 = echo(
        env!("CAUSEWAY_FIXTURE_ECHO_AUTHORIZER_V0_1"),
        InstancePolicy::Fresh,
    )
    .authorize(request())
    .await
    .expect("0.1.0 call");
    expected(&v1);
    assert_eq!(v1, v2);
}

/// A guest that keeps its request handle past the call finds it empty: reading it is a
/// trap with a message saying why, the instance is discarded, and the next call is served.
#[tokio::test]
async fn a_request_kept_past_its_call_is_a_trap_not_a_leak() {
    let plugin = echo(
        env!("CAUSEWAY_FIXTURE_ECHO_AUTHORIZER"),
        InstancePolicy::Reuse(ReusePolicy::default()),
    );
    let kept = support::with_header(request(), "x-keep", "1");
    let first = plugin.authorize(kept).await.expect("first call");
    assert_eq!(ctx(&first, "lookups"), Some("héllo,first,42,prod"));
    let err = plugin
        .authorize(request())
        .await
        .expect_err("the kept handle is read");
    assert_eq!(err.kind, PluginErrorKind::Trap, "{err}");
    assert!(
        err.to_string().contains("used after the `authorize` call"),
        "{err}"
    );
    expected(&plugin.authorize(request()).await.expect("a clean instance"));
    assert_eq!(plugin.metrics().discarded.trap, 1);
}

/// A guest that never drops its request handles (componentize-js drops them only when
/// collected) is retired once it holds 1,024, long before Wasmtime's per-store handle
/// limit would make a call trap: every call is served.
#[tokio::test]
async fn an_instance_that_hoards_request_handles_is_retired_not_failed() {
    let plugin = echo(
        env!("CAUSEWAY_FIXTURE_ECHO_AUTHORIZER"),
        InstancePolicy::Reuse(ReusePolicy {
            max_uses: u64::MAX,
            ..ReusePolicy::default()
        }),
    );
    for i in 0..1_100 {
        let leaking = support::with_header(request(), "x-leak", "1");
        let d = plugin.authorize(leaking).await;
        assert!(d.is_ok(), "call {i}: {d:?}");
    }
    let m = plugin.metrics();
    assert_eq!(m.retired, 1, "{m:?}");
    assert_eq!(m.discarded.trap, 0, "{m:?}");
}
