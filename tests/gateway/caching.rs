//! The response cache: hits, misses, TTL, key parameters, invalidation, capacity, stampede.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::support::{self, get, send};

fn api(upstream: &str, invalidation: &str, require_auth: bool) -> String {
    format!(
        r#"
version = 1
id = "c"
name = "Cached"
type = "REST"
[[stages]]
name = "prod"
cache = {{ capacity_bytes = 1048576, ttl_seconds = 300, invalidation = "{invalidation}", require_authorization = {require_auth} }}
[[routes]]
key = "GET /items"
cache = {{ key_parameters = ["method.request.querystring.page"] }}
integration = {{ type = "HTTP_PROXY", uri = "{upstream}/items" }}
[[routes]]
key = "GET /short"
cache = {{ ttl_seconds = 1 }}
integration = {{ type = "HTTP_PROXY", uri = "{upstream}/short" }}
[[routes]]
key = "ANY /{{proxy+}}"
integration = {{ type = "HTTP_PROXY", uri = "{upstream}/{{proxy}}" }}
"#
    )
}

const HOST: &str = "c.execute-api.localhost";

#[tokio::test]
async fn hits_misses_key_parameters_and_ttl() {
    let up = support::upstream().await;
    let gw = support::gateway(&[&api(&up.url(), "FAIL_WITH_403", true)]).await;
    let c = support::client();
    let hits = || up.hits.load(Ordering::SeqCst);

    let first = get(&c, gw.addr, HOST, "/prod/items?page=1&noise=a").await;
    assert_eq!(first.header("x-causeway-cache"), Some("miss"));
    let second = get(&c, gw.addr, HOST, "/prod/items?page=1&noise=b").await;
    assert_eq!(
        second.header("x-causeway-cache"),
        Some("hit"),
        "unlisted query parameters are not in the key"
    );
    assert_eq!(second.body, first.body);
    assert_ne!(
        second.header("x-amzn-requestid"),
        first.header("x-amzn-requestid")
    );
    assert_eq!(hits(), 1);
    assert_eq!(
        get(&c, gw.addr, HOST, "/prod/items?page=2")
            .await
            .header("x-causeway-cache"),
        Some("miss")
    );
    assert_eq!(hits(), 2);
    // Not GET: not cached by default.
    for _ in 0..2 {
        let r = send(&c, gw.addr, "POST", HOST, "/prod/other", &[], "x").await;
        assert_eq!(r.header("x-causeway-cache"), None);
    }
    assert_eq!(hits(), 4);
    // TTL: one second on /short.
    get(&c, gw.addr, HOST, "/prod/short").await;
    assert_eq!(
        get(&c, gw.addr, HOST, "/prod/short")
            .await
            .header("x-causeway-cache"),
        Some("hit")
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if get(&c, gw.addr, HOST, "/prod/short")
            .await
            .header("x-causeway-cache")
            == Some("miss")
        {
            break;
        }
        assert!(Instant::now() < deadline, "entry never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let metrics = gw.gateway.metrics().encode();
    assert!(
        metrics.contains(
            r#"causeway_CacheHitCount_total{api="c",stage="prod",method="GET",resource="/items"} 1"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains(r#"causeway_CacheMissCount_total{api="c",stage="prod",method="GET",resource="/items"} 2"#), "{metrics}");
}

#[tokio::test]
async fn invalidation_needs_authorization() {
    let up = support::upstream().await;
    let c = support::client();
    let max_age_0 = [("cache-control", "max-age=0")];

    let strict = support::gateway(&[&api(&up.url(), "FAIL_WITH_403", true)]).await;
    get(&c, strict.addr, HOST, "/prod/items").await;
    let r = send(&c, strict.addr, "GET", HOST, "/prod/items", &max_age_0, "").await;
    assert_eq!(r.status, 403, "unauthorized invalidation refused");

    let header = support::gateway(&[&api(&up.url(), "SUCCEED_WITH_RESPONSE_HEADER", true)]).await;
    get(&c, header.addr, HOST, "/prod/items").await;
    let r = send(&c, header.addr, "GET", HOST, "/prod/items", &max_age_0, "").await;
    assert_eq!(
        (r.status, r.header("x-causeway-cache")),
        (200, Some("invalidation-ignored"))
    );

    let open = support::gateway(&[&api(&up.url(), "FAIL_WITH_403", false)]).await;
    get(&c, open.addr, HOST, "/prod/items").await;
    let before = up.hits.load(Ordering::SeqCst);
    let r = send(&c, open.addr, "GET", HOST, "/prod/items", &max_age_0, "").await;
    assert_eq!(
        r.header("x-causeway-cache"),
        Some("miss"),
        "authorized invalidation refetches"
    );
    assert_eq!(up.hits.load(Ordering::SeqCst), before + 1);
    assert_eq!(
        get(&c, open.addr, HOST, "/prod/items")
            .await
            .header("x-causeway-cache"),
        Some("hit")
    );
    // An operator flush empties the stage.
    assert!(open.gateway.flush_cache("c", "prod"));
    assert_eq!(
        get(&c, open.addr, HOST, "/prod/items")
            .await
            .header("x-causeway-cache"),
        Some("miss")
    );
}

#[tokio::test]
async fn concurrent_misses_call_the_integration_once() {
    let up = support::upstream().await;
    let text = api(&up.url(), "FAIL_WITH_403", true).replace("/short\" }", "/slow?ms=300\" }");
    let gw = support::gateway(&[&text]).await;
    let c = support::client();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let c = c.clone();
            let addr = gw.addr;
            tokio::spawn(async move { get(&c, addr, HOST, "/prod/short").await })
        })
        .collect();
    for call in calls {
        let r = call.await.expect("task");
        assert_eq!(r.status, 200);
    }
    assert_eq!(
        up.hits.load(Ordering::SeqCst),
        1,
        "one integration call for 20 concurrent misses"
    );
}

#[tokio::test]
async fn memory_stays_under_capacity_and_big_bodies_are_not_cached() {
    let up = support::upstream().await;
    let gw = support::gateway(&[&api(&up.url(), "FAIL_WITH_403", true)]).await;
    let c = support::client();
    for i in 0..12 {
        let r = get(&c, gw.addr, HOST, &format!("/prod/big{i}?bytes=300000")).await;
        assert_eq!(r.body.len(), 300_000);
        let (entries, bytes, capacity) = gw.gateway.cache_stats("c", "prod").expect("stage cache");
        assert!(
            bytes <= capacity,
            "{bytes} bytes in a {capacity}-byte cache"
        );
        assert!(entries <= 3);
    }
    let before = up.hits.load(Ordering::SeqCst);
    for _ in 0..2 {
        let r = get(&c, gw.addr, HOST, "/prod/big?bytes=2000000").await;
        assert_eq!(r.body.len(), 2_000_000, "big bodies still stream through");
    }
    assert_eq!(
        up.hits.load(Ordering::SeqCst),
        before + 2,
        "entries over 1 MB are not cached"
    );
}

/// A stage that is no longer published (deleted) lets its cache go; republished, it
/// starts empty. A publish that keeps the stage keeps its entries.
#[tokio::test]
async fn a_stage_no_longer_published_lets_its_cache_go() {
    let up = support::upstream().await;
    let text = api(&up.url(), "FAIL_WITH_403", true);
    let gw = support::gateway(&[&text]).await;
    let c = support::client();
    get(&c, gw.addr, HOST, "/prod/items?page=1").await;
    assert_eq!(gw.gateway.cache_stats("c", "prod").map(|s| s.0), Some(1));
    let spec = support::parse_api(&text);
    gw.gateway.publish(support::bindings(&spec), &[]);
    assert_eq!(
        gw.gateway.cache_stats("c", "prod").map(|s| s.0),
        Some(1),
        "the same stage republished keeps its entries"
    );
    gw.gateway.publish(Vec::new(), &[]);
    assert_eq!(gw.gateway.cache_stats("c", "prod"), None);
    gw.gateway.publish(support::bindings(&spec), &[]);
    assert_eq!(gw.gateway.cache_stats("c", "prod").map(|s| s.0), Some(0));
    let r = get(&c, gw.addr, HOST, "/prod/items?page=1").await;
    assert_eq!(r.header("x-causeway-cache"), Some("miss"));
}
