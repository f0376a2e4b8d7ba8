//! The on-disk artifact cache: a second load skips compilation, a damaged artifact is
//! refused and rebuilt, never loaded.

use std::time::Instant;

use causeway_plugin::{ArtifactSource, EngineConfig, PluginEngine, PluginOptions, World};

use crate::support::{self, token_request};

fn engine(dir: &std::path::Path) -> PluginEngine {
    PluginEngine::new(EngineConfig {
        cache_dir: Some(dir.to_path_buf()),
        ..EngineConfig::default()
    })
    .expect("engine")
}

fn artifacts(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .expect("cache dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect()
}

#[tokio::test]
async fn second_load_hits_the_cache_and_tampering_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = support::fixture(env!("CAUSEWAY_FIXTURE_SHOPPING_LIST_FUNCTION"));
    let load = |engine: &PluginEngine| {
        let started = Instant::now();
        let plugin = engine
            .load(
                "cached",
                &bytes,
                World::Function,
                PluginOptions::new(World::Function),
            )
            .expect("load");
        (plugin, started.elapsed())
    };

    let (first, compile_time) = load(&engine(dir.path()));
    assert_eq!(first.artifact(), &ArtifactSource::CacheMiss);
    let files = artifacts(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");

    // A new engine (a restarted gateway) loads the artifact instead of compiling.
    let (second, cached_time) = load(&engine(dir.path()));
    assert_eq!(second.artifact(), &ArtifactSource::CacheHit);
    // No timing assertion (timings belong in benches/): the artifact source proves the
    // second load deserialized instead of compiling.
    tracing::debug!(?cached_time, ?compile_time, "artifact cache");
    let event = r#"{"version":"2.0","rawPath":"/","requestContext":{"http":{"method":"GET"}}}"#;
    second
        .invoke_function(event)
        .await
        .expect("cached plugin works");

    // Flip one byte of the compiled code: refused by the checksum, deleted, rebuilt.
    let mut file = std::fs::read(&files[0]).expect("read");
    let at = file.len() / 2;
    file[at] ^= 0xff;
    std::fs::write(&files[0], &file).expect("tamper");
    let (third, _) = load(&engine(dir.path()));
    match third.artifact() {
        ArtifactSource::CacheRejected { reason } => {
            assert!(reason.contains("checksum"), "{reason}")
        }
        other => panic!("tampered artifact was not rejected: {other:?}"),
    }
    third
        .invoke_function(event)
        .await
        .expect("rebuilt plugin works");
    let (fourth, _) = load(&engine(dir.path()));
    assert_eq!(
        fourth.artifact(),
        &ArtifactSource::CacheHit,
        "the rebuilt artifact was stored"
    );

    // A truncated file is refused too.
    std::fs::write(&files[0], b"CWYART01").expect("truncate");
    let (fifth, _) = load(&engine(dir.path()));
    assert!(matches!(
        fifth.artifact(),
        ArtifactSource::CacheRejected { .. }
    ));
}

#[tokio::test]
async fn check_report_measures_and_recommends() {
    let plugin = support::load(
        "hmac-report",
        env!("CAUSEWAY_FIXTURE_HMAC_AUTHORIZER"),
        World::Authorizer,
        support::hmac_options(),
    );
    let report = plugin.check_report().await;
    assert_eq!(report.plugin, "hmac-report");
    assert_eq!(report.exports, vec!["authorize".to_owned()]);
    assert!(
        report
            .imports
            .iter()
            .any(|i| i.starts_with("causeway:plugin/host@0.2.0")),
        "{:?}",
        report.imports
    );
    assert!(
        report.contract.starts_with("causeway:plugin@0.2.0"),
        "{}",
        report.contract
    );
    // The SDK's authorizer is 0.2.0's: the request is a resource of 0.2.0's `types`.
    assert!(
        report
            .imports
            .iter()
            .any(|i| i == "causeway:plugin/types@0.2.0"),
        "{:?}",
        report.imports
    );
    assert!(
        report.fresh_call.is_some() && report.warm_call.is_some(),
        "{report:?}"
    );
    assert!(
        report.probe_error.is_none(),
        "an empty bearer token is a clean 401: {report:?}"
    );
    assert!(!report.reason.is_empty());
    // A probe runs the plugin for real, so it shows in the metrics.
    assert!(plugin.metrics().instantiations >= 7);
    let _ = token_request("");
}

/// With `perf_map` the engine names the code it loads in `/tmp/perf-<pid>.map`, the file
/// `perf report` reads for JIT code (the node's `CAUSEWAY_PERF_MAP=1`).
#[tokio::test]
async fn perf_map_names_loaded_guest_code() {
    let map = std::path::PathBuf::from(format!("/tmp/perf-{}.map", std::process::id()));
    let before = std::fs::read_to_string(&map).unwrap_or_default().len();
    let engine = PluginEngine::new(EngineConfig {
        perf_map: true,
        ..EngineConfig::default()
    })
    .expect("engine");
    let plugin = engine
        .load(
            "mapped",
            &support::fixture(env!("CAUSEWAY_FIXTURE_COUNTER_AUTHORIZER")),
            World::Authorizer,
            PluginOptions::new(World::Authorizer),
        )
        .expect("load");
    plugin
        .authorize(token_request(""))
        .await
        .expect("the plugin still runs");
    let text = std::fs::read_to_string(&map).expect("perf map written");
    let _ = std::fs::remove_file(&map);
    let added = text.get(before..).unwrap_or_default();
    // Lines of `0xSTART SIZE NAME` (hex), one per function, named from the guest's name
    // section: the guest's export is among them.
    let line = added
        .lines()
        .find(|l| l.contains("authorize"))
        .unwrap_or_else(|| panic!("the guest's export is not in the perf map: {added:.400}"));
    let fields: Vec<&str> = line.splitn(3, ' ').collect();
    assert_eq!(fields.len(), 3, "{line}");
    let hex = |f: &str| u64::from_str_radix(f.trim_start_matches("0x"), 16);
    assert!(hex(fields[0]).is_ok_and(|a| a > 0), "{line}");
    assert!(hex(fields[1]).is_ok_and(|n| n > 0), "{line}");
}
