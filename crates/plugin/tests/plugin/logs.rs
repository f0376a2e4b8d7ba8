//! `host.log`: a guest's lines reach the gateway's `tracing` (target
//! `causeway_plugin::guest`) with the plugin's name, the request's id and the guest's
//! fields; a call's lines are capped (`max_log_lines`) and long messages cut.

use std::io::Write;
use std::sync::{Arc, Mutex};

use causeway_plugin::{PluginOptions, World};

use crate::support;

/// Where the subscriber writes: one shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The guest log lines (JSON objects) written while `calls` ran on a runtime of this
/// thread (where the capturing subscriber is the default).
fn guest_lines(calls: impl std::future::Future<Output = ()>) -> Vec<serde_json::Value> {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(calls);
    });
    let bytes = out.0.lock().expect("buffer").clone();
    String::from_utf8(bytes)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
        .filter(|v| v["target"] == "causeway_plugin::guest")
        .collect()
}

#[test]
fn guest_lines_reach_tracing_named_and_bounded() {
    let lines = guest_lines(async {
        let plugin = support::load(
            "echo-logs",
            env!("CAUSEWAY_FIXTURE_ECHO_AUTHORIZER"),
            World::Authorizer,
            PluginOptions::new(World::Authorizer),
        );
        let many = support::with_header(support::token_request("t"), "x-log", "100");
        plugin.authorize(many).await.expect("call");
        let long = support::with_header(support::token_request("t"), "x-log-long", "1");
        plugin.authorize(long).await.expect("call");
    });
    let (numbered, long): (Vec<_>, Vec<_>) = lines.iter().partition(|l| {
        l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("line "))
    });
    // 100 asked for, the per-call budget (64 by default) kept.
    assert_eq!(numbered.len(), 64, "{numbered:?}");
    let first = &numbered[0]["fields"];
    assert_eq!(first["message"], "line 0");
    assert_eq!(first["plugin"], "echo-logs");
    assert_eq!(first["request_id"], "c0ffee00-0000-4000-8000-000000000001");
    assert_eq!(first["fields"], "i=0");
    assert_eq!(numbered[0]["level"], "INFO");
    // The next call has a budget of its own; its long message is cut.
    assert_eq!(long.len(), 1, "{long:?}");
    assert_eq!(long[0]["level"], "WARN");
    let message = long[0]["fields"]["message"].as_str().expect("message");
    assert!(
        message.len() <= 4096 + 16 && message.starts_with("xxxx"),
        "cut to ≈ 4 KiB: {} bytes",
        message.len()
    );
}

/// A function's lines name the request the gateway says the call is for.
#[test]
fn function_lines_name_their_request() {
    let lines = guest_lines(async {
        let plugin = support::load(
            "shop-logs",
            env!("CAUSEWAY_FIXTURE_SHOPPING_LIST_FUNCTION"),
            World::Function,
            PluginOptions::new(World::Function),
        );
        let event = r#"{"httpMethod": "GET", "path": "/lists/fail"}"#;
        plugin
            .invoke_function_for(event, "req-42")
            .await
            .expect_err("the function fails on purpose");
    });
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["level"], "ERROR");
    assert_eq!(lines[0]["fields"]["message"], "failing on purpose");
    assert_eq!(lines[0]["fields"]["plugin"], "shop-logs");
    assert_eq!(lines[0]["fields"]["request_id"], "req-42");
}
