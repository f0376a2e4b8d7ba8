//! Warm-up ahead of calls (`Plugin::prewarm`), call-latency counts, and the artifact
//! cache's bound.

use std::time::{Duration, SystemTime};

use causeway_plugin::{
    EngineConfig, InstancePolicy, PluginEngine, PluginErrorKind, PluginLimits, PluginOptions,
    ReusePolicy, World,
};

use crate::support::{self, count, token_request};

fn counter(policy: InstancePolicy) -> std::sync::Arc<causeway_plugin::Plugin> {
    support::counter("counter-warm", policy)
}

#[tokio::test]
async fn a_prewarmed_pool_serves_the_first_call_without_instantiating() {
    let plugin = counter(InstancePolicy::Reuse(ReusePolicy::default()));
    assert_eq!(plugin.prewarm().await.expect("prewarm"), 1);
    let m = plugin.metrics();
    assert_eq!(
        (m.warmups, m.instantiations, m.pool_idle),
        (1, 0, 1),
        "{m:?}"
    );
    // Topping up a full pool does nothing.
    assert_eq!(plugin.prewarm().await.expect("prewarm"), 0);

    assert_eq!(
        count(&plugin).await,
        "1",
        "the warm instance was never called"
    );
    assert_eq!(count(&plugin).await, "2");
    let m = plugin.metrics();
    assert_eq!(
        (m.calls, m.instantiations, m.reuses, m.warmups),
        (2, 0, 2, 1),
        "{m:?}"
    );
}

#[tokio::test]
async fn min_idle_sets_how_many_instances_are_warmed_capped_by_max_idle() {
    let plugin = counter(InstancePolicy::Reuse(ReusePolicy {
        min_idle: 3,
        ..ReusePolicy::default()
    }));
    assert_eq!(plugin.prewarm().await.expect("prewarm"), 3);
    assert_eq!(plugin.metrics().pool_idle, 3);

    let capped = counter(InstancePolicy::Reuse(ReusePolicy {
        min_idle: 5,
        max_idle: 2,
        ..ReusePolicy::default()
    }));
    assert_eq!(capped.prewarm_blocking().expect("prewarm"), 2);
    assert_eq!(capped.metrics().pool_idle, 2);
}

#[tokio::test]
async fn a_fresh_plugin_is_instantiated_once_at_warm_up_and_never_pooled() {
    let plugin = counter(InstancePolicy::Fresh);
    assert_eq!(plugin.prewarm().await.expect("prewarm"), 1);
    assert_eq!(
        plugin.prewarm().await.expect("prewarm"),
        0,
        "once is enough"
    );
    assert_eq!(count(&plugin).await, "1");
    let m = plugin.metrics();
    assert_eq!(
        (m.warmups, m.instantiations, m.pool_idle),
        (1, 1, 0),
        "{m:?}"
    );
}

#[test]
fn warm_up_reports_a_component_that_cannot_instantiate_under_its_limits() {
    // Rust guests start with at least one 64 KiB page of linear memory.
    let plugin = support::load(
        "too-small",
        env!("CAUSEWAY_FIXTURE_HMAC_AUTHORIZER"),
        World::Authorizer,
        support::hmac_options()
            .with_policy(InstancePolicy::Reuse(ReusePolicy::default()))
            .with_limits(PluginLimits {
                memory_bytes: 32 << 10,
                ..PluginLimits::for_world(World::Authorizer)
            }),
    );
    let err = plugin.prewarm_blocking().expect_err("cannot instantiate");
    assert_eq!(err.kind, PluginErrorKind::MemoryLimit, "{err}");
    let m = plugin.metrics();
    assert_eq!((m.pool_idle, m.discarded.memory_limit), (0, 1), "{m:?}");
}

#[tokio::test]
async fn every_call_is_counted_in_the_latency_histogram() {
    let plugin = counter(InstancePolicy::Reuse(ReusePolicy::default()));
    for _ in 0..5 {
        count(&plugin).await;
    }
    let trap = support::with_header(token_request(""), "x-trap", "1");
    plugin.authorize(trap).await.expect_err("trap");
    let h = plugin.metrics().latency;
    assert_eq!(h.count(), 6, "{h:?}");
    assert!(h.sum > Duration::ZERO);
    assert_eq!(
        h.counts[causeway_plugin::LATENCY_BUCKETS],
        0,
        "none over 33 s"
    );
}

/// The JavaScript authorizer compiles for seconds: after `load` + `prewarm` (what a
/// deploy does), its first call runs on the warm instance.
#[tokio::test]
async fn a_javascript_plugin_warmed_at_load_serves_its_first_call_warm() {
    let bytes = support::polyglot("js-authorizer.wasm");
    let plugin = support::engine()
        .load(
            "js-warm",
            &bytes,
            World::Authorizer,
            support::hmac_options()
                .with_policy(InstancePolicy::Reuse(ReusePolicy::default()))
                .with_limits(PluginLimits {
                    memory_bytes: 256 << 20,
                    ..PluginLimits::for_world(World::Authorizer)
                }),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plugin.prewarm_blocking().expect("prewarm"), 1);
    let token = support::sign(
        support::SECRET,
        &serde_json::json!({ "sub": "alice", "exp": support::LATER }),
    );
    let decision = plugin
        .authorize(token_request(&format!("Bearer {token}")))
        .await
        .expect("call");
    assert_eq!(decision.principal_id, "alice");
    let m = plugin.metrics();
    assert_eq!((m.instantiations, m.reuses, m.warmups), (0, 1, 1), "{m:?}");
}

fn set_used(path: &std::path::Path, secs_ago: u64) {
    let when = SystemTime::now() - Duration::from_secs(secs_ago);
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(when))
        .expect("set mtime");
}

#[test]
fn pruning_evicts_least_recently_used_artifacts_but_never_a_kept_plugins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = PluginEngine::new(EngineConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        ..EngineConfig::default()
    })
    .expect("engine");
    let load = |name: &str, path: &str, world: World| {
        engine
            .load(
                name,
                &support::fixture(path),
                world,
                PluginOptions::new(world),
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let live = load(
        "live",
        env!("CAUSEWAY_FIXTURE_HMAC_AUTHORIZER"),
        World::Authorizer,
    );
    let old = load("old", env!("CAUSEWAY_FIXTURE_TRAP"), World::Authorizer);
    let recent = load(
        "recent",
        env!("CAUSEWAY_FIXTURE_SHOPPING_LIST_FUNCTION"),
        World::Function,
    );
    let file = |p: &causeway_plugin::Plugin| p.artifact_file().expect("cached").to_path_buf();
    let (live_file, old_file, recent_file) = (file(&live), file(&old), file(&recent));
    // The live plugin's artifact is the least recently used of all.
    set_used(&live_file, 3000);
    set_used(&old_file, 2000);
    set_used(&recent_file, 1000);
    let size = |p: &std::path::Path| std::fs::metadata(p).expect("artifact").len();
    let (live_size, recent_size) = (size(&live_file), size(&recent_file));

    // Room for two of the three: the oldest unkept one goes.
    let report = engine
        .prune_artifacts(live_size + recent_size, [live.as_ref()])
        .expect("cache configured")
        .expect("prune");
    assert_eq!(report.evicted, 1, "{report:?}");
    assert!(live_file.exists() && recent_file.exists() && !old_file.exists());

    // No room at all: everything but the kept artifact goes.
    let report = engine
        .prune_artifacts(0, [live.as_ref()])
        .expect("cache configured")
        .expect("prune");
    assert_eq!((report.evicted, report.kept), (1, 1), "{report:?}");
    assert!(live_file.exists() && !recent_file.exists());

    // A cache hit refreshes an artifact's recency, and an evicted one is rebuilt.
    set_used(&live_file, 3000);
    let again = load(
        "live",
        env!("CAUSEWAY_FIXTURE_HMAC_AUTHORIZER"),
        World::Authorizer,
    );
    assert_eq!(again.artifact(), &causeway_plugin::ArtifactSource::CacheHit);
    let touched = std::fs::metadata(&live_file)
        .and_then(|m| m.modified())
        .expect("mtime");
    assert!(touched > SystemTime::now() - Duration::from_secs(600));
    let rebuilt = load("old", env!("CAUSEWAY_FIXTURE_TRAP"), World::Authorizer);
    assert_eq!(
        rebuilt.artifact(),
        &causeway_plugin::ArtifactSource::CacheMiss
    );
}
