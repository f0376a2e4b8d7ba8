//! Instance slots (`max_instances`, warm pools included): a call that finds none free
//! takes one back from an idle pooled instance, of any plugin, instead of failing; only
//! slots busy in calls make it fail.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use causeway_plugin::{
    EngineConfig, InstancePolicy, Plugin, PluginEngine, PluginErrorKind, PluginLimits,
    PluginOptions, ReusePolicy, World,
};

use crate::support::{self, count, token_request, with_header};

/// An engine of its own with `slots` instance slots.
fn engine(slots: u32) -> PluginEngine {
    PluginEngine::new(EngineConfig {
        max_instances: slots,
        cache_dir: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("causeway-plugin-cache")),
        ..EngineConfig::default()
    })
    .expect("engine")
}

fn load(
    engine: &PluginEngine,
    name: &str,
    path: &str,
    world: World,
    o: PluginOptions,
) -> Arc<Plugin> {
    engine
        .load(name, &support::fixture(path), world, o)
        .unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

fn counter(engine: &PluginEngine, name: &str, policy: InstancePolicy) -> Arc<Plugin> {
    let options = PluginOptions::new(World::Authorizer).with_policy(policy);
    let fixture = env!("CAUSEWAY_FIXTURE_COUNTER_AUTHORIZER");
    load(engine, name, fixture, World::Authorizer, options)
}

fn keep(idle: usize) -> InstancePolicy {
    InstancePolicy::Reuse(ReusePolicy {
        min_idle: idle,
        max_idle: idle,
        ..ReusePolicy::default()
    })
}

/// A counter plugin keeping `idle` warm instances, warmed: they hold `idle` slots.
async fn warmed(engine: &PluginEngine, name: &str, idle: usize) -> Arc<Plugin> {
    let plugin = counter(engine, name, keep(idle));
    assert_eq!(plugin.prewarm().await.expect("prewarm"), idle);
    plugin
}

#[tokio::test]
async fn a_call_takes_a_slot_back_from_another_plugins_idle_instance() {
    let engine = engine(2);
    let warm = warmed(&engine, "warm", 2).await;
    assert_eq!(warm.metrics().pool_idle, 2, "both slots idle in its pool");

    let fresh = counter(&engine, "fresh", InstancePolicy::Fresh);
    assert_eq!(count(&fresh).await, "1", "served on a reclaimed slot");
    let m = warm.metrics();
    assert_eq!(
        (m.reclaimed, m.pool_idle),
        (1, 1),
        "one idle instance given up"
    );
}

#[tokio::test]
async fn pools_take_the_only_slot_from_each_other_and_keep_clean_state() {
    let engine = engine(1);
    let first = warmed(&engine, "first", 1).await;
    let second = counter(&engine, "second", keep(1));
    assert_eq!(count(&second).await, "1", "on the slot taken from `first`");
    assert_eq!(count(&second).await, "2", "its instance is kept and reused");
    assert_eq!(
        (first.metrics().reclaimed, first.metrics().pool_idle),
        (1, 0)
    );
    assert_eq!(count(&first).await, "1", "a new instance: clean state");
    assert_eq!(
        (second.metrics().reclaimed, second.metrics().pool_idle),
        (1, 0)
    );
    assert_eq!(first.metrics().pool_idle, 1);
}

#[tokio::test]
async fn warming_up_never_takes_slots_from_other_pools() {
    let engine = engine(1);
    let serving = warmed(&engine, "serving", 1).await;
    let next = counter(&engine, "next", keep(1));
    let err = next.prewarm().await.expect_err("no free slot");
    assert_eq!(err.kind, PluginErrorKind::Capacity, "{err}");
    assert_eq!(
        serving.metrics().pool_idle,
        1,
        "the serving pool keeps its instance"
    );
    assert_eq!(serving.metrics().reclaimed, 0);
}

#[tokio::test]
async fn slots_busy_in_calls_are_not_taken_the_call_fails_with_capacity() {
    let engine = engine(1);
    let options = PluginOptions::new(World::Authorizer).with_limits(PluginLimits {
        deadline: Duration::from_millis(500),
        ..PluginLimits::for_world(World::Authorizer)
    });
    let spin = load(
        &engine,
        "spin",
        env!("CAUSEWAY_FIXTURE_INFINITE_LOOP"),
        World::Authorizer,
        options,
    );
    let fresh = counter(&engine, "fresh", InstancePolicy::Fresh);
    // The spinning call must take the only slot first: on a busy machine a fresh call can
    // yield mid-call (an epoch tick) while it holds the slot, and the spinning call then
    // finds none and fails at once. That ordering is retried, not the assertions.
    for attempt in 1..=5 {
        let busy = {
            let spin = spin.clone();
            tokio::spawn(async move {
                spin.authorize(with_header(token_request(""), "x-loop", "1"))
                    .await
            })
        };
        // Poll until the spinning call holds the slot (then every call fails); it keeps it
        // for its 500 ms deadline.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let err = loop {
            if busy.is_finished() {
                break None;
            }
            match fresh.authorize(token_request("")).await {
                Err(e) => break Some(e),
                Ok(_) => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "the spinning call neither held the slot nor ended"
                    );
                    tokio::task::yield_now().await;
                }
            }
        };
        let Some(err) = err else {
            let lost = busy.await.expect("task").expect_err("cannot succeed");
            assert!(
                matches!(
                    lost.kind,
                    PluginErrorKind::Capacity | PluginErrorKind::Timeout
                ),
                "attempt {attempt}: {lost}"
            );
            continue;
        };
        assert_eq!(err.kind, PluginErrorKind::Capacity, "{err}");
        let spun = busy.await.expect("task").expect_err("times out");
        assert_eq!(spun.kind, PluginErrorKind::Timeout, "{spun}");
        assert_eq!(count(&fresh).await, "1", "the slot is free again");
        return;
    }
    panic!("the spinning call never held the slot in 5 attempts");
}

#[tokio::test]
async fn a_wasi_http_call_takes_a_slot_back_too() {
    let engine = engine(1);
    let warm = warmed(&engine, "warm", 1).await;
    let handler = load(
        &engine,
        "wasi-http",
        env!("CAUSEWAY_FIXTURE_WASI_HTTP_HANDLER"),
        World::HttpHandler,
        PluginOptions::new(World::HttpHandler),
    );
    let request = http::Request::get("http://gateway.local/hello")
        .body(bytes::Bytes::new())
        .expect("request");
    let resp = handler.handle_http(request).await.expect("served");
    assert_eq!(resp.status(), 200);
    assert_eq!(warm.metrics().reclaimed, 1);
}
