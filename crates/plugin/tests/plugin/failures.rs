//! Every way a guest can misbehave ends in a typed error, and the same plugin serves the
//! next call.

use std::time::{Duration, Instant};

use causeway_plugin::{
    EngineConfig, PluginEngine, PluginErrorKind, PluginLimits, PluginOptions, World,
};

use crate::support::{self, token_request, with_header};

fn authorizer_options(deadline: Duration) -> PluginOptions {
    PluginOptions::new(World::Authorizer).with_limits(PluginLimits {
        deadline,
        ..PluginLimits::for_world(World::Authorizer)
    })
}

#[tokio::test]
async fn trap_is_contained() {
    let plugin = support::load(
        "trap",
        env!("CAUSEWAY_FIXTURE_TRAP"),
        World::Authorizer,
        PluginOptions::new(World::Authorizer),
    );
    let err = plugin
        .authorize(with_header(token_request(""), "x-fail", "trap"))
        .await
        .expect_err("must trap");
    assert_eq!(err.kind, PluginErrorKind::Trap, "{err}");
    assert_eq!(err.plugin, "trap");
    assert!(err.message.contains("unreachable"), "{err}");
    let d = plugin
        .authorize(token_request(""))
        .await
        .expect("next call");
    assert_eq!(d.principal_id, "survivor");
    assert_eq!(plugin.metrics().discarded.trap, 1);
}

#[tokio::test]
async fn infinite_loop_times_out_within_the_deadline() {
    let deadline = Duration::from_millis(200);
    let plugin = support::load(
        "spin",
        env!("CAUSEWAY_FIXTURE_INFINITE_LOOP"),
        World::Authorizer,
        authorizer_options(deadline),
    );
    let started = Instant::now();
    let err = plugin
        .authorize(with_header(token_request(""), "x-loop", "1"))
        .await
        .expect_err("must time out");
    let took = started.elapsed();
    assert_eq!(err.kind, PluginErrorKind::Timeout, "{err}");
    assert!(err.message.contains("200ms"), "{err}");
    assert!(took >= deadline, "stopped early: {took:?}");
    assert!(
        took < deadline + Duration::from_millis(500),
        "stopped late: {took:?}"
    );
    let d = plugin
        .authorize(token_request(""))
        .await
        .expect("next call");
    assert_eq!(d.principal_id, "survivor");
    assert_eq!(plugin.metrics().discarded.timeout, 1);
}

#[tokio::test]
async fn default_authorizer_deadline_is_one_second() {
    let plugin = support::load(
        "spin-default",
        env!("CAUSEWAY_FIXTURE_INFINITE_LOOP"),
        World::Authorizer,
        PluginOptions::new(World::Authorizer),
    );
    let started = Instant::now();
    let err = plugin
        .authorize(with_header(token_request(""), "x-loop", "1"))
        .await
        .expect_err("must time out");
    assert_eq!(err.kind, PluginErrorKind::Timeout, "{err}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}

/// A spinning guest yields at every epoch tick: other tasks on the same single-threaded
/// runtime keep running while it spins.
#[tokio::test(flavor = "current_thread")]
async fn a_spinning_guest_does_not_block_its_worker() {
    let plugin = support::load(
        "spin-yield",
        env!("CAUSEWAY_FIXTURE_INFINITE_LOOP"),
        World::Authorizer,
        authorizer_options(Duration::from_millis(300)),
    );
    let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = ticks.clone();
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let err = plugin
        .authorize(with_header(token_request(""), "x-loop", "1"))
        .await
        .expect_err("must time out");
    ticker.abort();
    assert_eq!(err.kind, PluginErrorKind::Timeout);
    let ticks = ticks.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        ticks >= 10,
        "the other task ran only {ticks} times in 300 ms"
    );
}

#[tokio::test]
async fn memory_bomb_hits_the_memory_limit() {
    let plugin = support::load(
        "bomb",
        env!("CAUSEWAY_FIXTURE_MEMORY_BOMB"),
        World::Authorizer,
        PluginOptions::new(World::Authorizer),
    );
    let err = plugin
        .authorize(with_header(token_request(""), "x-bomb", "1"))
        .await
        .expect_err("must hit the limit");
    assert_eq!(err.kind, PluginErrorKind::MemoryLimit, "{err}");
    assert!(
        err.message.contains("67108864"),
        "names the 64 MiB limit: {err}"
    );
    let d = plugin
        .authorize(token_request(""))
        .await
        .expect("next call");
    assert_eq!(d.principal_id, "survivor");
    assert_eq!(plugin.metrics().discarded.memory_limit, 1);
}

#[tokio::test]
async fn fuel_limits_a_spinning_guest() {
    let engine = PluginEngine::new(EngineConfig {
        fuel: true,
        ..EngineConfig::default()
    })
    .expect("engine");
    let options = PluginOptions::new(World::Authorizer).with_limits(PluginLimits {
        fuel: Some(5_000_000),
        ..PluginLimits::for_world(World::Authorizer)
    });
    let bytes = support::fixture(env!("CAUSEWAY_FIXTURE_INFINITE_LOOP"));
    let plugin = engine
        .load("spin-fuel", &bytes, World::Authorizer, options.clone())
        .expect("load");
    let err = plugin
        .authorize(with_header(token_request(""), "x-loop", "1"))
        .await
        .expect_err("must run out of fuel");
    assert_eq!(err.kind, PluginErrorKind::FuelExhausted, "{err}");
    let d = plugin
        .authorize(token_request(""))
        .await
        .expect("next call");
    assert_eq!(d.principal_id, "survivor");

    // Fuel on an engine without metering is a configuration error.
    let err = support::engine()
        .load("spin-fuel", &bytes, World::Authorizer, options)
        .expect_err("no fuel metering");
    assert_eq!(err.kind, PluginErrorKind::Config, "{err}");
}

#[tokio::test]
async fn huge_and_malformed_outputs_are_refused() {
    let plugin = support::load(
        "huge",
        env!("CAUSEWAY_FIXTURE_HUGE_OUTPUT"),
        World::Function,
        PluginOptions::new(World::Function),
    );
    let err = plugin
        .invoke_function(r#"{"version":"2.0","rawPath":"/huge"}"#)
        .await
        .expect_err("too big");
    assert_eq!(err.kind, PluginErrorKind::BadOutput, "{err}");
    assert!(err.message.contains("16777216 bytes"), "{err}");
    let err = plugin
        .invoke_function(r#"{"version":"2.0","rawPath":"/not-json"}"#)
        .await
        .expect_err("not JSON");
    assert_eq!(err.kind, PluginErrorKind::BadOutput, "{err}");
    assert!(err.message.contains("malformed proxy response"), "{err}");
    let ok = plugin
        .invoke_function(r#"{"version":"2.0","rawPath":"/"}"#)
        .await
        .expect("next call");
    assert!(ok.contains("small"));
    assert_eq!(plugin.metrics().discarded.bad_output, 2);
}

#[tokio::test]
async fn wrong_world_fails_to_load_naming_the_export() {
    let bytes = support::fixture(env!("CAUSEWAY_FIXTURE_WRONG_WORLD"));
    let engine = support::engine();
    let err = engine
        .load(
            "wrong",
            &bytes,
            World::Authorizer,
            PluginOptions::new(World::Authorizer),
        )
        .expect_err("authorize has another type");
    assert_eq!(err.kind, PluginErrorKind::WorldMismatch, "{err}");
    assert!(
        err.message.contains("export `authorize` does not match"),
        "{err}"
    );
    let err = engine
        .load(
            "wrong",
            &bytes,
            World::Mapper,
            PluginOptions::new(World::Mapper),
        )
        .expect_err("no map-request");
    assert_eq!(err.kind, PluginErrorKind::WorldMismatch, "{err}");
    assert!(
        err.message.contains("does not export `map-request`"),
        "{err}"
    );
    assert!(
        err.message.contains("`authorize`"),
        "lists what it exports: {err}"
    );
    let err = engine
        .load(
            "wrong",
            &bytes,
            World::Function,
            PluginOptions::new(World::Function),
        )
        .expect_err("no handle");
    assert!(err.message.contains("does not export `handle`"), "{err}");
}

#[tokio::test]
async fn garbage_and_misuse_are_typed_errors() {
    let engine = support::engine();
    let err = engine
        .load(
            "junk",
            b"\0asm not really",
            World::Authorizer,
            PluginOptions::new(World::Authorizer),
        )
        .expect_err("not wasm");
    assert_eq!(err.kind, PluginErrorKind::Compile, "{err}");

    // A world's call on a plugin of another world.
    let plugin = support::load(
        "trap-as-authorizer",
        env!("CAUSEWAY_FIXTURE_TRAP"),
        World::Authorizer,
        PluginOptions::new(World::Authorizer),
    );
    let err = plugin.invoke_function("{}").await.expect_err("wrong world");
    assert_eq!(err.kind, PluginErrorKind::Config, "{err}");
}
