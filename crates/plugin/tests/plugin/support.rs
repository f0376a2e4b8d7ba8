//! Shared helpers: the engine, fixture bytes, signed tokens, requests.

use std::path::Path;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use causeway_plugin::{
    AuthorizerKind, AuthorizerRequest, EngineConfig, InstancePolicy, Plugin, PluginEngine,
    PluginOptions, World,
};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;

pub const SECRET: &str = "s3cr3t-shopping-key";

/// One engine for the whole test binary, caching artifacts under the target dir so that
/// big components (JavaScript, Python) compile once per machine, not once per run.
pub fn engine() -> &'static PluginEngine {
    static ENGINE: OnceLock<PluginEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let config = EngineConfig {
            cache_dir: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("causeway-plugin-cache")),
            ..EngineConfig::default()
        };
        PluginEngine::new(config).expect("engine")
    })
}

/// The bytes of a Rust fixture, by the path `build.rs` exported.
pub fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| {
        panic!("cannot read fixture {path}: {e} (built with CAUSEWAY_PLUGIN_FIXTURES=skip?)")
    })
}

/// Load `path` as `world` with `options` on the shared engine.
pub fn load(name: &str, path: &str, world: World, options: PluginOptions) -> Arc<Plugin> {
    engine()
        .load(name, &fixture(path), world, options)
        .unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

/// `<base64url(claims)>.<base64url(hmac-sha256(secret, payload))>`.
pub fn sign(secret: &str, claims: &serde_json::Value) -> String {
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(payload.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{payload}.{sig}")
}

/// A TOKEN authorizer request carrying `token` as its identity source.
pub fn token_request(token: &str) -> AuthorizerRequest {
    AuthorizerRequest {
        kind: AuthorizerKind::Token,
        identity_source: vec![token.to_owned()],
        route_id: "shop1/prod/GET/lists/weekly".to_owned(),
        api_id: "shop1".to_owned(),
        stage: "prod".to_owned(),
        http_method: "GET".to_owned(),
        route_key: "GET /lists/{name}".to_owned(),
        resource_path: "/lists/{name}".to_owned(),
        path: "/lists/weekly".to_owned(),
        path_parameters: vec![("name".to_owned(), "weekly".to_owned())],
        query: Vec::new(),
        headers: vec![("authorization".to_owned(), token.to_owned())],
        stage_variables: Vec::new(),
        source_ip: "203.0.113.7".to_owned(),
        request_id: "c0ffee00-0000-4000-8000-000000000001".to_owned(),
    }
}

/// A request with one extra header (how the failure fixtures are triggered).
pub fn with_header(mut req: AuthorizerRequest, name: &str, value: &str) -> AuthorizerRequest {
    req.headers.push((name.to_owned(), value.to_owned()));
    req
}

/// Far in the future (Unix seconds).
pub const LATER: u64 = 4_102_444_800;

/// A context value of a decision.
pub fn ctx<'a>(d: &'a causeway_plugin::AuthorizerDecision, key: &str) -> Option<&'a str> {
    d.context
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Options for an authorizer plugin with the shared secret configured.
pub fn hmac_options() -> PluginOptions {
    PluginOptions::new(World::Authorizer)
        .with_config("secret", SECRET)
        .with_config("ttl", "120")
}

/// The bytes of a JavaScript or Python component (`js-authorizer.wasm`,
/// `python-authorizer.wasm`), building them once per test run with
/// `plugins/build-polyglot.sh`. Fails (never skips) when they cannot be built.
pub fn polyglot(file: &str) -> Vec<u8> {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let script = env!("CAUSEWAY_POLYGLOT_SCRIPT");
        let output = std::process::Command::new("bash")
            .arg(script)
            .output()
            .map_err(|e| format!("cannot run {script}: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{script} failed ({}):\n{}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    });
    if let Err(e) = built {
        panic!(
            "the JavaScript/Python plugins could not be built (they need node + npm and \
             python3 + pip with access to their registries):\n{e}"
        );
    }
    let path = Path::new(env!("CAUSEWAY_POLYGLOT_DIR")).join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The `counter-authorizer` fixture (counts calls in a global, returned as context
/// `count`), loaded as `name` with `policy`.
pub fn counter(name: &str, policy: InstancePolicy) -> Arc<causeway_plugin::Plugin> {
    load(
        name,
        env!("CAUSEWAY_FIXTURE_COUNTER_AUTHORIZER"),
        World::Authorizer,
        PluginOptions::new(World::Authorizer).with_policy(policy),
    )
}

/// One call of a [`counter`]: the count its instance has reached.
pub async fn count(plugin: &causeway_plugin::Plugin) -> String {
    let d = plugin.authorize(token_request("")).await.expect("call");
    ctx(&d, "count").expect("count").to_owned()
}
