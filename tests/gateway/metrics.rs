//! API Gateway metric names and values after a scripted request mix.

use crate::support::{self, get, sample};

const API: &str = r#"
version = 1
id = "m"
name = "Metered"
type = "REST"
[[stages]]
name = "prod"
[[routes]]
key = "GET /ok"
integration = { type = "MOCK", body = "ok" }
[[routes]]
key = "GET /boom"
integration = { type = "MOCK", status = 503 }
[[routes]]
key = "GET /pets/{id}"
integration = { type = "MOCK", status = 404 }
"#;

#[tokio::test]
async fn counts_errors_and_latency_by_route() {
    let gw = support::gateway(&[API]).await;
    let c = support::client();
    let h = "m.execute-api.localhost";
    for _ in 0..3 {
        assert_eq!(get(&c, gw.addr, h, "/prod/ok").await.status, 200);
    }
    assert_eq!(get(&c, gw.addr, h, "/prod/boom").await.status, 503);
    assert_eq!(get(&c, gw.addr, h, "/prod/pets/1").await.status, 404);
    assert_eq!(get(&c, gw.addr, h, "/prod/pets/2").await.status, 404);
    assert_eq!(get(&c, gw.addr, h, "/prod/nope").await.status, 403);

    let text = gw.gateway.metrics().encode();
    let ok = r#"{api="m",stage="prod",method="GET",resource="/ok"}"#;
    let boom = r#"{api="m",stage="prod",method="GET",resource="/boom"}"#;
    let pets = r#"{api="m",stage="prod",method="GET",resource="/pets/{id}"}"#;
    let none = r#"{api="m",stage="prod",method="",resource=""}"#;
    assert_eq!(sample(&text, &format!("causeway_Count_total{ok}")), 3.0);
    assert_eq!(
        sample(&text, &format!("causeway_5XXError_total{boom}")),
        1.0
    );
    assert_eq!(
        sample(&text, &format!("causeway_4XXError_total{pets}")),
        2.0
    );
    assert_eq!(sample(&text, &format!("causeway_4XXError_total{ok}")), 0.0);
    assert_eq!(
        sample(&text, &format!("causeway_4XXError_total{none}")),
        1.0
    );
    assert_eq!(sample(&text, &format!("causeway_Latency_count{ok}")), 3.0);
}

const PLUGGED: &str = r#"
version = 1
id = "pm"
name = "Plugin metrics"
type = "REST"
[[stages]]
name = "prod"
[[plugins]]
name = "counter"
file = "counter_authorizer.wasm"
world = "authorizer"
instance = "reuse"
[[plugins]]
name = "shop"
file = "shopping_list_function.wasm"
world = "function"
[[authorizers]]
name = "count"
type = "REQUEST"
plugin = "counter"
identity_sources = ["method.request.header.Authorization"]
result_ttl_seconds = 0
[[routes]]
key = "GET /guarded"
authorizer = "count"
integration = { type = "MOCK", body = "in" }
[[routes]]
key = "ANY /lists/{name}"
integration = { type = "FUNCTION", plugin = "shop" }
"#;

/// Per-plugin families after a scripted mix: warm-up at load, reuses, a trap's discard
/// and the cold instance that replaces it, fresh calls, and the latency histogram.
#[tokio::test]
async fn plugin_metrics_come_from_the_plugins_counters() {
    let gw = support::gateway_with_plugins(&[PLUGGED]).await;
    let c = support::client();
    let h = "pm.execute-api.localhost";
    let counter = |text: &str, family: &str| {
        sample(
            text,
            &format!("causeway_{family}{{api=\"pm\",plugin=\"counter\",sha256=\""),
        )
    };

    // Loaded and warmed, nothing called yet.
    let text = gw.gateway.metrics().encode();
    assert_eq!(counter(&text, "PluginWarmupCount_total"), 1.0);
    assert_eq!(counter(&text, "PluginPoolIdle"), 1.0);
    assert_eq!(counter(&text, "PluginInstantiationCount_total"), 0.0);

    let auth = [("authorization", "Bearer x")];
    for _ in 0..3 {
        let r = support::send(&c, gw.addr, "GET", h, "/prod/guarded", &auth, "").await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let trap = [("authorization", "Bearer x"), ("x-trap", "1")];
    let r = support::send(&c, gw.addr, "GET", h, "/prod/guarded", &trap, "").await;
    assert_eq!(r.status, 500, "{}", r.text());
    // The trapped instance is gone; a background task warms a replacement.
    wait_for_idle(&gw, "pm", "counter", 1.0).await;
    let r = support::send(&c, gw.addr, "GET", h, "/prod/guarded", &auth, "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    for _ in 0..2 {
        let r = get(&c, gw.addr, h, "/prod/lists/weekly?item=milk").await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    // The shopping list fails on purpose for a path ending in /fail: a function error.
    let r = get(&c, gw.addr, h, "/prod/lists/fail").await;
    assert_eq!(r.status, 502, "{}", r.text());

    let text = gw.gateway.metrics().encode();
    assert_eq!(counter(&text, "PluginCallCount_total"), 5.0);
    assert_eq!(
        counter(&text, "PluginReuseCount_total"),
        5.0,
        "warm instances served every call"
    );
    assert_eq!(
        counter(&text, "PluginInstantiationCount_total"),
        0.0,
        "no instance was created on the request path"
    );
    assert_eq!(
        counter(&text, "PluginWarmupCount_total"),
        2.0,
        "one at load, one replacing the trapped one"
    );
    assert_eq!(counter(&text, "PluginPoolIdle"), 1.0);
    assert_eq!(counter(&text, "PluginLatency_count"), 5.0);
    let discards = |reason: &str| {
        let needle = format!("reason=\"{reason}\"}}");
        text.lines()
            .find(|l| {
                l.starts_with("causeway_PluginDiscardCount_total{api=\"pm\",plugin=\"counter\"")
                    && l.contains(&needle)
            })
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no discard sample for {reason} in:\n{text}"))
    };
    assert_eq!(discards("trap"), 1.0);
    assert_eq!(discards("timeout"), 0.0);
    // Failed calls by plugin, call and kind, under the request's API and stage.
    let errors = |plugin: &str, call: &str, kind: &str| {
        sample(
            &text,
            &format!(
                "causeway_PluginErrorCount_total{{api=\"pm\",stage=\"prod\",plugin=\"{plugin}\",call=\"{call}\",kind=\"{kind}\"}}"
            ),
        )
    };
    assert_eq!(errors("counter", "authorize", "trap"), 1.0);
    assert_eq!(errors("shop", "handle", "function_error"), 1.0);
    // The fresh function: one trial instance at warm-up, one per call.
    let shop = |family: &str| {
        sample(
            &text,
            &format!("causeway_{family}{{api=\"pm\",plugin=\"shop\","),
        )
    };
    assert_eq!(shop("PluginWarmupCount_total"), 1.0);
    assert_eq!(shop("PluginInstantiationCount_total"), 3.0);
    assert_eq!(shop("PluginReuseCount_total"), 0.0);
    assert!(
        text.contains("# TYPE causeway_PluginLatency histogram")
            && text.lines().any(|l| {
                l.starts_with(
                    r#"causeway_PluginLatency_bucket{le="+Inf",api="pm",plugin="counter""#,
                ) && l.ends_with("} 5")
            }),
        "{text}"
    );
}

/// A `reuse` plugin's `pool`: two instances warmed at load, each retired after two calls
/// (the counter fixture counts calls in a global, echoed by the MOCK body) and replaced in
/// the background.
#[tokio::test]
async fn reuse_pool_is_sized_and_retired_as_configured() {
    let api = r#"
version = 1
id = "pool"
name = "Pool"
type = "REST"
[[stages]]
name = "prod"
[[plugins]]
name = "counter"
file = "counter_authorizer.wasm"
world = "authorizer"
instance = "reuse"
pool = { min_idle = 2, max_idle = 2, max_uses = 2 }
[[authorizers]]
name = "count"
type = "REQUEST"
plugin = "counter"
identity_sources = ["method.request.header.Authorization"]
result_ttl_seconds = 0
[[routes]]
key = "GET /count"
authorizer = "count"
integration = { type = "MOCK", body = "${context.authorizer.count}" }
"#;
    let gw = support::gateway_with_plugins(&[api]).await;
    let c = support::client();
    let counter = |family: &str| {
        let text = gw.gateway.metrics().encode();
        sample(
            &text,
            &format!("causeway_{family}{{api=\"pool\",plugin=\"counter\","),
        )
    };
    assert_eq!(counter("PluginWarmupCount_total"), 2.0);
    assert_eq!(counter("PluginPoolIdle"), 2.0);

    let auth = [("authorization", "Bearer x")];
    for _ in 0..6 {
        let r = support::send(
            &c,
            gw.addr,
            "GET",
            "pool.execute-api.localhost",
            "/prod/count",
            &auth,
            "",
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        // No instance serves more than two calls: the count restarts on a new one.
        assert!(["1", "2"].contains(&r.text().as_str()), "{}", r.text());
    }
    assert!(counter("PluginRetiredCount_total") >= 2.0);
    // Slots to spare (the default 1,000): no instance was given up to another call.
    assert_eq!(counter("PluginReclaimedCount_total"), 0.0);
    // Retired instances are replaced in the background, up to min_idle.
    wait_for_idle(&gw, "pool", "counter", 2.0).await;
    assert!(counter("PluginWarmupCount_total") >= 3.0);
}

/// Poll `/metrics` until the plugin's pool holds `idle` instances (5 s deadline).
async fn wait_for_idle(gw: &support::TestGateway, api: &str, plugin: &str, idle: f64) {
    let prefix = format!("causeway_PluginPoolIdle{{api=\"{api}\",plugin=\"{plugin}\",");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let text = gw.gateway.metrics().encode();
        if sample(&text, &prefix) == idle {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "pool of {plugin} never got back to {idle} idle:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
