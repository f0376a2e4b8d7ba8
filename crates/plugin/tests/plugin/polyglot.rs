//! The same HMAC authorizer contract, implemented in JavaScript (componentize-js) and
//! Python (componentize-py): language runtimes in a component, run with warm reuse.

use causeway_plugin::{InstancePolicy, PluginLimits, PluginOptions, ReusePolicy, World};

use crate::authorizer::contract;
use crate::support;

/// Interpreters need more room than the 64 MiB default.
fn options() -> PluginOptions {
    support::hmac_options()
        .with_policy(InstancePolicy::Reuse(ReusePolicy::default()))
        .with_limits(PluginLimits {
            memory_bytes: 256 << 20,
            ..PluginLimits::for_world(World::Authorizer)
        })
}

#[tokio::test]
async fn javascript_authorizer_contract() {
    let bytes = support::polyglot("js-authorizer.wasm");
    let plugin = support::engine()
        .load("js-hmac", &bytes, World::Authorizer, options())
        .unwrap_or_else(|e| panic!("{e}"));
    contract(&plugin).await;
    let m = plugin.metrics();
    assert_eq!(
        m.instantiations, 1,
        "one warm instance served every call: {m:?}"
    );
}

#[tokio::test]
async fn python_authorizer_contract() {
    let bytes = support::polyglot("python-authorizer.wasm");
    let plugin = support::engine()
        .load("py-hmac", &bytes, World::Authorizer, options())
        .unwrap_or_else(|e| panic!("{e}"));
    contract(&plugin).await;
    let m = plugin.metrics();
    assert_eq!(
        m.instantiations, 1,
        "one warm instance served every call: {m:?}"
    );
}

#[tokio::test]
async fn check_report_recommends_reuse_for_interpreters() {
    let bytes = support::polyglot("js-authorizer.wasm");
    let plugin = support::engine()
        .load("js-report", &bytes, World::Authorizer, options())
        .unwrap_or_else(|e| panic!("{e}"));
    let report = plugin.check_report().await;
    assert!(
        matches!(report.recommended_policy, InstancePolicy::Reuse(_)),
        "{report:?}"
    );
}
