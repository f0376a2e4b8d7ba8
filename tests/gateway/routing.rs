//! Route selection: path parameters, greedy paths, ANY, literal-over-parameter precedence,
//! stages, custom domains.

use crate::support::{self, get, send};

const REST: &str = r#"
version = 1
id = "shop"
name = "Shop"
type = "REST"
[[stages]]
name = "prod"
variables = { who = "production" }
[[stages]]
name = "beta"
variables = { who = "beta" }

[[routes]]
key = "GET /"
integration = { type = "MOCK", body = "root of $context.stage for ${stageVariables.who}" }
[[routes]]
key = "GET /pets/{petId}"
integration = { type = "MOCK", body = "pet $context.resourcePath" }
[[routes]]
key = "GET /pets/special"
integration = { type = "MOCK", body = "special" }
[[routes]]
key = "ANY /pets/{petId}/toys"
integration = { type = "MOCK", body = "toys via $context.httpMethod" }
[[routes]]
key = "DELETE /pets/{petId}/toys"
integration = { type = "MOCK", status = 202, body = "deleted" }
[[routes]]
key = "GET /files/{path+}"
integration = { type = "MOCK", body = "file" }
"#;

const HOST: &str = "shop.execute-api.localhost";

#[tokio::test]
async fn literal_beats_parameter_and_parameters_bind() {
    let gw = support::gateway(&[REST]).await;
    let c = support::client();
    let r = get(&c, gw.addr, HOST, "/prod/pets/special").await;
    assert_eq!((r.status, r.text().as_str()), (200, "special"));
    let r = get(&c, gw.addr, HOST, "/prod/pets/42").await;
    assert_eq!((r.status, r.text().as_str()), (200, "pet /pets/{petId}"));
    // Trailing slash is the same resource.
    assert_eq!(
        get(&c, gw.addr, HOST, "/prod/pets/42/").await.text(),
        "pet /pets/{petId}"
    );
}

#[tokio::test]
async fn any_and_explicit_methods() {
    let gw = support::gateway(&[REST]).await;
    let c = support::client();
    let r = send(&c, gw.addr, "PATCH", HOST, "/prod/pets/1/toys", &[], "").await;
    assert_eq!(r.text(), "toys via PATCH");
    let r = send(&c, gw.addr, "DELETE", HOST, "/prod/pets/1/toys", &[], "").await;
    assert_eq!((r.status, r.text().as_str()), (202, "deleted"));
}

#[tokio::test]
async fn greedy_path_needs_a_segment() {
    let gw = support::gateway(&[REST]).await;
    let c = support::client();
    assert_eq!(
        get(&c, gw.addr, HOST, "/prod/files/a/b/c.txt").await.text(),
        "file"
    );
    let r = get(&c, gw.addr, HOST, "/prod/files").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["message"], "Missing Authentication Token");
}

#[tokio::test]
async fn stages_select_variables_and_root() {
    let gw = support::gateway(&[REST]).await;
    let c = support::client();
    assert_eq!(
        get(&c, gw.addr, HOST, "/prod/").await.text(),
        "root of prod for production"
    );
    assert_eq!(
        get(&c, gw.addr, HOST, "/beta").await.text(),
        "root of beta for beta"
    );
    let r = get(&c, gw.addr, HOST, "/gamma/pets/1").await;
    assert_eq!(r.status, 403, "unknown stage on a REST API");
}

#[tokio::test]
async fn custom_domain_base_path_mappings() {
    let mut node = causeway_model::NodeConfig::default();
    node.domains.push(causeway_model::DomainSpec {
        cert_file: None,
        key_file: None,
        truststore_file: None,
        name: "api.example.test".into(),
        mappings: vec![
            causeway_model::BasePathMapping {
                base_path: "v1".into(),
                api: "shop".into(),
                stage: "prod".into(),
            },
            causeway_model::BasePathMapping {
                base_path: "".into(),
                api: "shop".into(),
                stage: "beta".into(),
            },
        ],
    });
    let gw = support::gateway_with(node, &[REST]).await;
    let c = support::client();
    assert_eq!(
        get(&c, gw.addr, "api.example.test", "/v1/pets/9")
            .await
            .text(),
        "pet /pets/{petId}"
    );
    assert_eq!(
        get(&c, gw.addr, "API.example.test:443", "/v1").await.text(),
        "root of prod for production"
    );
    assert_eq!(
        get(&c, gw.addr, "api.example.test", "/").await.text(),
        "root of beta for beta"
    );
    assert_eq!(
        get(&c, gw.addr, "api.example.test", "/pets/special")
            .await
            .text(),
        "special"
    );
}

#[tokio::test]
async fn http_api_default_route_and_method_fallback() {
    let http_api = r#"
version = 1
id = "lean"
name = "Lean"
type = "HTTP"
[[stages]]
name = "live"
[[stages]]
name = "$default"
[[routes]]
key = "GET /items/{id}"
integration = { type = "MOCK", body = "item" }
[[routes]]
key = "POST /items/new"
integration = { type = "MOCK", body = "create" }
[[routes]]
key = "$default"
integration = { type = "MOCK", status = 404, body = "fallback $context.routeKey" }
"#;
    let gw = support::gateway(&[http_api]).await;
    let c = support::client();
    let h = "lean.execute-api.localhost";
    // GET /items/new has only POST on the literal; an HTTP API falls back to the parameter.
    assert_eq!(get(&c, gw.addr, h, "/live/items/new").await.text(), "item");
    let r = get(&c, gw.addr, h, "/live/nothing/here").await;
    assert_eq!((r.status, r.text().as_str()), (404, "fallback $default"));
    // The `$default` stage is served without a stage prefix.
    assert_eq!(get(&c, gw.addr, h, "/items/7").await.text(), "item");
}

/// Dot segments are resolved and slashes merged before routing (RFC 3986 §5.2.4, as
/// nginx does): a path that climbs out of an open greedy route reaches the route it
/// resolves to, an upstream never sees a `..` that would take it outside the
/// integration's prefix, and climbing above the root is a 400.
#[tokio::test]
async fn dot_segments_are_resolved_and_slashes_merged_before_routing() {
    let up = support::upstream().await;
    let api = format!(
        r#"
version = 1
id = "dots"
name = "Dots"
type = "REST"
[[stages]]
name = "prod"
[[stages]]
name = "dev"
[[routes]]
key = "GET /admin"
integration = {{ type = "MOCK", body = "admin on $context.stage at $context.path" }}
[[routes]]
key = "ANY /{{proxy+}}"
integration = {{ type = "HTTP_PROXY", uri = "{}/public/{{proxy}}" }}
"#,
        up.url()
    );
    let gw = support::gateway(&[&api]).await;
    let c = support::client();
    let h = "dots.execute-api.localhost";
    for (path, answer) in [
        ("/prod/public/../admin", "admin on prod at /prod/admin"),
        ("/prod/x/%2e%2E/admin", "admin on prod at /prod/admin"),
        ("/prod/./x/.%2e/admin", "admin on prod at /prod/admin"),
        ("/prod/../dev/admin", "admin on dev at /dev/admin"),
        ("//prod//admin", "admin on prod at /prod/admin"),
    ] {
        let r = get(&c, gw.addr, h, path).await;
        assert_eq!((r.status, r.text().as_str()), (200, answer), "{path}");
    }
    // Through the greedy route: the upstream is sent the resolved path, inside `/public/`.
    let r = get(&c, gw.addr, h, "/prod/a/b/../../c/.//d?x=..").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let echo: serde_json::Value = serde_json::from_str(&r.text()).expect("echo JSON");
    assert_eq!(echo["path"], "/public/c/d", "{echo}");
    let hits = &up.hits;
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    for path in [
        "/prod/../../admin",
        "/%2e%2e/prod/admin",
        "/prod/a/../../..",
    ] {
        let r = get(&c, gw.addr, h, path).await;
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        assert!(r.text().contains("climbs above the root"), "{}", r.text());
    }
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "a refused path never reached the upstream"
    );
}
