//! `WASI_HTTP` integrations and `wasi-http` plugins in the config: parsed, and every
//! mistake reported at its field.

const VALID: &str = r#"version = 1
id = "edge"
name = "Edge"
type = "HTTP"
[[plugins]]
name = "site"
file = "site.wasm"
world = "wasi-http"
allowed_outbound_hosts = ["api.internal", "127.0.0.1:8081", "[::1]:9000"]
[[routes]]
key = "ANY /{proxy+}"
integration = { type = "WASI_HTTP", plugin = "site", timeout_ms = 5000 }
"#;

#[test]
fn a_wasi_http_integration_parses() {
    let api = causeway_model::parse_api("edge.toml", VALID).expect("valid");
    assert_eq!(api.plugins[0].world, causeway_model::PluginWorld::WasiHttp);
    assert_eq!(api.plugins[0].allowed_outbound_hosts.len(), 3);
    match &api.routes[0].integration {
        causeway_model::IntegrationSpec::WasiHttp(w) => {
            assert_eq!(w.plugin, "site");
            assert_eq!(w.timeout_ms, 5000);
        }
        other => panic!("not WASI_HTTP: {other:?}"),
    }
    // The default timeout is API Gateway's 29 s.
    let text = VALID.replace(", timeout_ms = 5000", "");
    let api = causeway_model::parse_api("edge.toml", &text).expect("valid");
    assert!(matches!(
        &api.routes[0].integration,
        causeway_model::IntegrationSpec::WasiHttp(w) if w.timeout_ms == 29_000
    ));
}

#[test]
fn mistakes_are_located() {
    let text = r#"version = 1
id = "edge"
name = "Edge"
type = "HTTP"
[[plugins]]
name = "site"
file = "site.wasm"
world = "wasi-http"
instance = "reuse"
allowed_outbound_hosts = ["http://api.internal/", "ok.internal:80", "bad:port"]
[[plugins]]
name = "fn"
file = "fn.wasm"
world = "function"
allowed_outbound_hosts = ["api.internal"]
[[routes]]
key = "GET /a"
integration = { type = "WASI_HTTP", plugin = "fn", timeout_ms = 10 }
[[routes]]
key = "GET /b"
integration = { type = "WASI_HTTP", plugin = "missing" }
[[routes]]
key = "GET /c"
integration = { type = "FUNCTION", plugin = "site" }
"#;
    let errs = causeway_model::parse_api("edge.toml", text)
        .expect_err("invalid")
        .0;
    let at = |field: &str| {
        errs.iter()
            .find(|e| e.field == field)
            .unwrap_or_else(|| panic!("no error at {field}: {errs:?}"))
            .message
            .clone()
    };
    assert!(at("plugins[0].instance").contains("fresh instance"));
    assert!(at("plugins[0].allowed_outbound_hosts[0]").contains("host:port"));
    assert!(at("plugins[0].allowed_outbound_hosts[2]").contains("bad:port"));
    assert!(
        !errs
            .iter()
            .any(|e| e.field == "plugins[0].allowed_outbound_hosts[1]")
    );
    assert!(at("plugins[1].allowed_outbound_hosts").contains("wasi-http"));
    assert!(at("routes[0].integration.plugin").contains("Function"));
    assert!(at("routes[0].integration.timeout_ms").contains("50..=29000"));
    assert!(at("routes[1].integration.plugin").contains("no plugin is named `missing`"));
    assert!(at("routes[2].integration.plugin").contains("WasiHttp"));
}
