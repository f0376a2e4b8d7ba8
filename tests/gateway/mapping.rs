//! Mapper plugins around integrations (request before, response after, the cache storing
//! the mapped answer, refusals and failures contained), and an authorizer's principal
//! and context reaching HTTP integrations as headers. Real plugins, real HTTP.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::support::{client, gateway_with_plugins, get, parse_api, send, upstream};

const HOST: &str = "maps.execute-api.localhost";

fn api(upstream: &str) -> String {
    format!(
        r#"version = 1
id = "maps"
name = "Mappers"
type = "REST"
[[stages]]
name = "prod"
variables = {{ up = "{upstream}" }}
[[stages]]
name = "cached"
variables = {{ up = "{upstream}" }}
cache = {{ capacity_bytes = 1048576, ttl_seconds = 300 }}
[[plugins]]
name = "list-mapper"
file = "query_to_json_mapper.wasm"
world = "mapper"
[[plugins]]
name = "faulty"
file = "faulty_mapper.wasm"
world = "mapper"
timeout_ms = 200
[[plugins]]
name = "shop"
file = "shopping_list_function.wasm"
world = "function"
[[routes]]
key = "GET /list"
mapper = "list-mapper"
cache = {{ key_parameters = ["method.request.querystring.item"] }}
integration = {{ type = "FUNCTION", plugin = "shop" }}
[[routes]]
key = "GET /unmapped"
integration = {{ type = "FUNCTION", plugin = "shop" }}
[[routes]]
key = "GET /plain"
mapper = "list-mapper"
integration = {{ type = "MOCK", body = "not json" }}
[[routes]]
key = "GET /echo"
mapper = "list-mapper"
integration = {{ type = "HTTP_PROXY", uri = "${{stageVariables.up}}/echo" }}
[[routes]]
key = "GET /big"
mapper = "list-mapper"
integration = {{ type = "HTTP_PROXY", uri = "${{stageVariables.up}}/big" }}
[[routes]]
key = "ANY /items/{{id}}"
mapper = "faulty"
integration = {{ type = "HTTP_PROXY", uri = "${{stageVariables.up}}/items/{{id}}" }}
[[routes]]
key = "ANY /fn/{{id}}"
mapper = "faulty"
integration = {{ type = "FUNCTION", plugin = "shop" }}
[[routes]]
key = "GET /mapped-mock"
mapper = "faulty"
integration = {{ type = "MOCK", headers = {{ "x-fail" = "trap" }}, body = "{{}}" }}
"#
    )
}

/// `causeway_PluginErrorCount_total` for one plugin, call and kind (0 when absent).
fn plugin_errors(metrics: &str, plugin: &str, call: &str, kind: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("causeway_PluginErrorCount_total{"))
        .filter(|l| {
            l.contains(&format!("plugin=\"{plugin}\""))
                && l.contains(&format!("call=\"{call}\""))
                && l.contains(&format!("kind=\"{kind}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test]
async fn shopping_list_query_items_become_a_json_body_for_the_function() {
    let up = upstream().await;
    let gw = gateway_with_plugins(&[&api(&up.url())]).await;
    let c = client();
    let r = get(&c, gw.addr, HOST, "/prod/list?item=milk&item=eggs&note=x").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-mapped-by"), Some("query-to-json-mapper"));
    let v = r.json();
    // The response mapper wrapped the function's answer.
    assert_eq!(v["status"], 200, "{v}");
    let f = &v["result"];
    // The request mapper turned GET + query items into POST + JSON body; the function
    // counted the body's items only (the items left the query string, or it would be 4).
    assert_eq!(f["method"], "POST", "{v}");
    assert_eq!(f["path"], "/list", "{v}");
    assert_eq!(
        f["items"],
        serde_json::json!({ "milk": 1, "eggs": 1 }),
        "{v}"
    );
    assert_eq!(f["total"], 2, "{v}");
    assert_eq!(f["requestId"], r.header("x-amzn-requestid").unwrap_or(""));

    // Without the mapper the same function sees the query items as they came.
    let r = get(&c, gw.addr, HOST, "/prod/unmapped?item=milk&item=eggs").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        (r.json()["method"].clone(), r.json()["total"].clone()),
        ("GET".into(), 2.into())
    );
    assert!(r.header("x-mapped-by").is_none());

    // The mapper's refusal is its own answer, and the function is not called.
    let r = get(&c, gw.addr, HOST, "/prod/list").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        serde_json::json!({ "message": "no items in the query string" })
    );
    // A response the mapper refuses (not JSON) answers the mapper's status.
    let r = get(&c, gw.addr, HOST, "/prod/plain?item=a").await;
    assert_eq!(r.status, 502);
    assert_eq!(
        r.json(),
        serde_json::json!({ "message": "integration response is not JSON" })
    );
}

#[tokio::test]
async fn the_mapped_request_reaches_an_http_upstream_and_its_answer_is_mapped_back() {
    let up = upstream().await;
    let gw = gateway_with_plugins(&[&api(&up.url())]).await;
    let c = client();
    let r = get(&c, gw.addr, HOST, "/prod/echo?item=tea&note=hot%20please").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = &r.json()["result"];
    assert_eq!(seen["method"], "POST", "{seen}");
    assert_eq!(seen["body"], r#"{"items":["tea"]}"#, "{seen}");
    assert_eq!(
        seen["query"],
        serde_json::json!({ "note": "hot%20please" }),
        "{seen}"
    );
    assert_eq!(
        seen["headers"]["content-type"], "application/json",
        "{seen}"
    );
    assert_eq!(seen["headers"]["content-length"], "17", "{seen}");
    assert_eq!(
        seen["headers"]["x-mapped-by"], "query-to-json-mapper",
        "{seen}"
    );

    // The path a mapper rewrites reaches a function's event; path parameters keep the
    // values the route matched (the upstream URL is built from them).
    let rewrite = [("x-rewrite-path", "/elsewhere/7")];
    let r = send(&c, gw.addr, "GET", HOST, "/prod/fn/42", &rewrite, "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["path"], "/elsewhere/7");
    assert_eq!(r.header("x-response-mapped"), Some("yes"));
    let r = send(&c, gw.addr, "GET", HOST, "/prod/items/42?a=1", &rewrite, "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["path"], "/items/42");
    assert_eq!(r.json()["query"], serde_json::json!({ "a": "1" }));

    // An integration response over the mapper's 10 MB buffer is a 502 that says so.
    let r = get(&c, gw.addr, HOST, "/prod/big?item=a&bytes=11000000").await;
    assert_eq!(r.status, 502);
    assert!(r.text().contains("10 MB"), "{}", r.text());
    assert_eq!(r.header("x-amzn-errortype"), Some("IntegrationFailure"));
}

#[tokio::test]
async fn the_cache_stores_the_mapped_response() {
    let up = upstream().await;
    let gw = gateway_with_plugins(&[&api(&up.url())]).await;
    let c = client();
    let path = "/cached/list?item=milk&item=eggs";
    let first = get(&c, gw.addr, HOST, path).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("x-causeway-cache"), Some("miss"));
    let second = get(&c, gw.addr, HOST, path).await;
    assert_eq!(second.header("x-causeway-cache"), Some("hit"));
    // The hit is the mapped body (the first request's, request id included) and headers.
    assert_eq!(second.body, first.body);
    assert_eq!(second.header("x-mapped-by"), Some("query-to-json-mapper"));
    assert_eq!(second.json()["result"]["total"], 2);
}

#[tokio::test]
async fn mapper_failures_answer_500_are_counted_and_contained() {
    let up = upstream().await;
    let gw = gateway_with_plugins(&[&api(&up.url())]).await;
    let c = client();
    let internal = serde_json::json!({ "message": "Internal server error" });
    for (how, kind) in [
        ("trap", "trap"),
        ("loop", "timeout"),
        ("bad-output", "bad_output"),
    ] {
        let started = std::time::Instant::now();
        let r = send(
            &c,
            gw.addr,
            "GET",
            HOST,
            "/prod/items/1",
            &[("x-fail", how)],
            "",
        )
        .await;
        assert_eq!((r.status, r.json()), (500, internal.clone()), "{how}");
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("InternalServerErrorException"),
            "{how}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{how}: the 200 ms deadline cut the mapper off"
        );
        let metrics = gw.gateway.metrics().encode();
        assert_eq!(
            plugin_errors(&metrics, "faulty", "map_request", kind),
            1,
            "{metrics}"
        );
        // The node keeps serving, the same mapper included.
        assert_eq!(get(&c, gw.addr, HOST, "/prod/items/2").await.status, 200);
    }
    assert_eq!(
        up.hits.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "failed mappings never reach the upstream"
    );

    let r = get(&c, gw.addr, HOST, "/prod/mapped-mock").await;
    assert_eq!((r.status, r.json()), (500, internal));
    let metrics = gw.gateway.metrics().encode();
    assert_eq!(
        plugin_errors(&metrics, "faulty", "map_response", "trap"),
        1,
        "{metrics}"
    );

    let r = send(
        &c,
        gw.addr,
        "GET",
        HOST,
        "/prod/items/1",
        &[("x-fail", "refuse")],
        "",
    )
    .await;
    assert_eq!(
        (r.status, r.json()),
        (418, serde_json::json!({ "message": "no coffee here" }))
    );
}

#[test]
fn a_mapper_must_name_a_mapper_plugin() {
    let text = api("http://127.0.0.1:9")
        .replace(
            "mapper = \"list-mapper\"\ncache",
            "mapper = \"shop\"\ncache",
        )
        .replace(
            "mapper = \"faulty\"\nintegration = { type = \"MOCK\"",
            "mapper = \"ghost\"\nintegration = { type = \"MOCK\"",
        );
    let errs = causeway_model::parse_api("maps.toml", &text)
        .expect_err("invalid")
        .0;
    let at = |field: &str| {
        errs.iter()
            .find(|e| e.field == field)
            .map(|e| e.message.clone())
    };
    let wrong = at("routes[0].mapper").unwrap_or_default();
    assert!(
        wrong.contains("`shop`") && wrong.contains("Mapper"),
        "{errs:?}"
    );
    let ghost = at("routes[7].mapper").unwrap_or_default();
    assert!(ghost.contains("no plugin is named `ghost`"), "{errs:?}");
    assert_eq!(errs.len(), 2, "{errs:?}");
}

fn token(claims: &serde_json::Value) -> String {
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").expect("any key length");
    mac.update(payload.as_bytes());
    format!(
        "Bearer {payload}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn authorized_api(upstream: &str) -> String {
    format!(
        r#"version = 1
id = "auth"
name = "Authorized"
type = "REST"
[[stages]]
name = "prod"
variables = {{ up = "{upstream}" }}
[[plugins]]
name = "hmac"
file = "hmac_authorizer.wasm"
world = "authorizer"
config = {{ secret = "s3cret" }}
[[authorizers]]
name = "tokens"
type = "TOKEN"
plugin = "hmac"
identity_sources = ["method.request.header.Authorization"]
[[routes]]
key = "GET /whoami"
authorizer = "tokens"
[routes.integration]
type = "HTTP"
uri = "${{stageVariables.up}}/whoami"
request_parameters = {{ "integration.request.header.x-user" = "context.authorizer.principalId", "integration.request.header.x-tenant" = "context.authorizer.tenant", "integration.request.header.x-missing" = "context.authorizer.nope", "integration.request.querystring.scope" = "context.authorizer.scope" }}
[[routes]]
key = "ANY /proxy/{{proxy+}}"
authorizer = "tokens"
[routes.integration]
type = "HTTP_PROXY"
uri = "${{stageVariables.up}}/{{proxy}}"
request_parameters = {{ "integration.request.header.x-user" = "context.authorizer.principalId", "integration.request.header.x-tenant" = "context.authorizer.tenant" }}
"#
    )
}

#[tokio::test]
async fn authorizer_principal_and_context_reach_http_integrations_as_headers() {
    let up = upstream().await;
    let gw = gateway_with_plugins(&[&authorized_api(&up.url())]).await;
    let c = client();
    let host = "auth.execute-api.localhost";
    let alice = token(&serde_json::json!({
        "sub": "alice", "scope": "read", "ctx": { "tenant": "acme" }
    }));
    let auth = [("authorization", alice.as_str())];
    let r = send(&c, gw.addr, "GET", host, "/prod/whoami", &auth, "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = r.json();
    assert_eq!(seen["headers"]["x-user"], "alice", "{seen}");
    assert_eq!(seen["headers"]["x-tenant"], "acme", "{seen}");
    assert_eq!(seen["query"]["scope"], "read", "{seen}");
    assert!(
        seen["headers"].get("x-missing").is_none(),
        "a context key the authorizer did not set maps to nothing: {seen}"
    );

    // On a proxy route the mapping overrides what the client claims.
    let spoof = [("authorization", alice.as_str()), ("x-user", "mallory")];
    let r = send(&c, gw.addr, "GET", host, "/prod/proxy/anything", &spoof, "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = r.json();
    assert_eq!(seen["path"], "/anything");
    assert_eq!(seen["headers"]["x-user"], "alice", "{seen}");
    assert_eq!(seen["headers"]["x-tenant"], "acme", "{seen}");

    // No token: the upstream is never asked.
    let before = up.hits.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(get(&c, gw.addr, host, "/prod/whoami").await.status, 401);
    assert_eq!(up.hits.load(std::sync::atomic::Ordering::SeqCst), before);
    // `context.authorizer.KEY` is a valid source; an unknown context variable is not.
    let bad =
        authorized_api("http://127.0.0.1:9").replace("context.authorizer.nope", "context.nope");
    let errs = causeway_model::parse_api("auth.toml", &bad)
        .expect_err("invalid")
        .0;
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].field.contains("x-missing"), "{errs:?}");
    let _ = parse_api(&authorized_api("http://127.0.0.1:9"));
}
