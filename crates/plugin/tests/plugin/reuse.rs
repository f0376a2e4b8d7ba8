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

/// A thread's call gets back the instance that thread used last (its memory is likely
/// still in that core's caches), not the one another thread just returned: two threads
/// taking turns on a pool of two warm instances each see their own counter climb.
#[test]
fn a_thread_gets_back_the_instance_it_used_last() {
    let plugin = counter(InstancePolicy::Reuse(ReusePolicy {
        min_idle: 2,
        max_idle: 2,
        ..ReusePolicy::default()
    }));
    assert_eq!(plugin.prewarm_blocking().expect("prewarm"), 2);
    // Two callers, each a thread with its own runtime (as the gateway's workers are).
    let callers: Vec<_> = (0..2)
        .map(|_| {
            let (ask, asked) = std::sync::mpsc::channel::<()>();
            let (tell, told) = std::sync::mpsc::channel::<String>();
            let plugin = plugin.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                while asked.recv().is_ok() {
                    tell.send(rt.block_on(count(&plugin))).expect("send");
                }
            });
            (ask, told)
        })
        .collect();
    for round in 1..=3 {
        for (ask, told) in &callers {
            ask.send(()).expect("ask");
            let seen = told
                .recv_timeout(Duration::from_secs(30))
                .expect("an answer");
            assert_eq!(seen, round.to_string(), "round {round}");
        }
    }
    let m = plugin.metrics();
    assert_eq!(
        (m.instantiations, m.reuses, m.pool_idle),
        (0, 6, 2),
        "{m:?}"
    );
}
