//! Instance policies: fresh instances never share state; reused ones do, one call at a
//! time, and are retired by use count and discarded after a failure.

use std::time::Duration;

use causeway_plugin::{InstancePolicy, PluginErrorKind, ReusePolicy};

use crate::support::{self, count, token_request, with_header};

fn counter(policy: InstancePolicy) -> std::sync::Arc<causeway_plugin::Plugin> {
    support::counter("counter", policy)
}

#[tokio::test]
async fn fresh_instances_always_see_a_clean_counter() {
    let plugin = counter(InstancePolicy::Fresh);
    for _ in 0..3 {
        assert_eq!(count(&plugin).await, "1");
    }
    let m = plugin.metrics();
    assert_eq!((m.instantiations, m.reuses, m.pool_idle), (3, 0, 0));
}

#[tokio::test]
async fn reused_instance_serves_sequential_calls() {
    let plugin = counter(InstancePolicy::Reuse(ReusePolicy::default()));
    for expected in ["1", "2", "3", "4"] {
        assert_eq!(count(&plugin).await, expected);
    }
    let m = plugin.metrics();
    assert_eq!((m.instantiations, m.reuses, m.pool_idle), (1, 3, 1));
}

#[tokio::test]
async fn a_trap_retires_the_reused_instance() {
    let plugin = counter(InstancePolicy::Reuse(ReusePolicy::default()));
    assert_eq!(count(&plugin).await, "1");
    assert_eq!(count(&plugin).await, "2");
    let err = plugin
        .authorize(with_header(token_request(""), "x-trap", "1"))
        .await
        .expect_err("trap");
    assert_eq!(err.kind, PluginErrorKind::Trap, "{err}");
    assert_eq!(
        plugin.metrics().pool_idle,
        0,
        "the trapped instance is gone"
    );
    assert_eq!(count(&plugin).await, "1", "a new instance, clean state");
    assert_eq!(count(&plugin).await, "2");
    assert_eq!(plugin.metrics().discarded.trap, 1);
}

#[tokio::test]
async fn instances_retire_after_max_uses() {
    let plugin = counter(InstancePolicy::Reuse(ReusePolicy {
        max_uses: 2,
        ..ReusePolicy::default()
    }));
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(count(&plugin).await);
    }
    assert_eq!(seen, ["1", "2", "1", "2", "1"]);
    assert_eq!(plugin.metrics().retired, 2);
}

#[tokio::test]
async fn instances_retire_after_max_age() {
    let plugin = counter(InstancePolicy::Reuse(ReusePolicy {
        max_age: Duration::from_millis(50),
        ..ReusePolicy::default()
    }));
    assert_eq!(count(&plugin).await, "1");
    assert_eq!(count(&plugin).await, "2");
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(count(&plugin).await, "1", "the old instance was retired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_get_separate_instances_and_the_pool_stays_bounded() {
    let plugin = counter(InstancePolicy::Reuse(ReusePolicy {
        max_idle: 2,
        ..ReusePolicy::default()
    }));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let plugin = plugin.clone();
            tokio::spawn(async move { count(&plugin).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("join");
    }
    let m = plugin.metrics();
    assert!(m.pool_idle <= 2, "{m:?}");
    assert_eq!(m.instantiations + m.reuses, 8, "{m:?}");
}
