//! A stock spin-sdk HTTP component as a `WASI_HTTP` integration on the real binary:
//! `causeway plugin check` accepts it, `causeway serve` loads it from the config directory
//! and serves it, and its Spin-only API call is contained.

use std::path::Path;

use crate::harness::{ConfigDir, Node, get, text};

const API: &str = r#"version = 1
id = "spin"
name = "Spin component"
type = "HTTP"
[[stages]]
name = "prod"
[[plugins]]
name = "hello"
file = "spin_hello.wasm"
world = "wasi-http"
[[routes]]
key = "ANY /{proxy+}"
integration = { type = "WASI_HTTP", plugin = "hello", timeout_ms = 3000 }
"#;

const HOST: &str = "spin.execute-api.localhost";

#[test]
fn spin_component_served_by_the_binary() {
    let cfg = ConfigDir::new(&[("spin", API)]);
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("plugins/target/wasm32-wasip2/release/spin_hello.wasm");
    let wasm = cfg.path().join("spin_hello.wasm");
    std::fs::copy(&from, &wasm).unwrap_or_else(|e| panic!("fixture {}: {e}", from.display()));

    let node = Node::start(cfg.path());
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_causeway"))
        .args(["plugin", "check", "--world", "wasi-http"])
        .arg(&wasm)
        .output()
        .expect("run causeway plugin check");
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        text(&check).contains("wasi:http/incoming-handler"),
        "{}",
        text(&check)
    );

    let (status, body) = get(node.addr, HOST, "/prod/hello").expect("request");
    assert_eq!((status, body.as_str()), (200, "hello from spin-sdk"));
    let (status, body) = get(node.addr, HOST, "/prod/variable").expect("request");
    assert_eq!(
        (status, body.as_str()),
        (502, r#"{"message":"Internal server error"}"#)
    );
    let (status, _) = get(node.addr, HOST, "/prod/hello").expect("request");
    assert_eq!(status, 200, "the node keeps serving");
}
