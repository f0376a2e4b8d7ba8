//! Per-call cost of plugins, with real components.
//!
//! - `authorizer/rust-fresh`: the Rust HMAC authorizer, a new instance per call
//!   (instantiate + call + drop), the default policy.
//! - `authorizer/rust-reuse`: the same on a warm pooled instance.
//! - `authorizer/js-reuse`, `authorizer/python-reuse`: the JavaScript and Python
//!   authorizers on warm instances (instantiating an interpreter costs milliseconds).
//! - `function/rust-fresh`: the shopping-list function on a small 2.0 event.
//! - `wasi-http/spin-sdk-fresh`, `wasi-http/wasip2-fresh`: `GET /hello` on the spin-sdk
//!   component and on the plain `wasip2` handler, a new instance per request.
//!
//! Every call verifies a real HMAC token and returns an allow decision. More authorizers
//! can be measured beside them with `CAUSEWAY_BENCH_AUTHORIZERS` (see [`extra_authorizers`]).
//! Run: `cargo bench -p causeway-plugin --bench plugin`.

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use causeway_plugin::{
    AuthorizerKind, AuthorizerRequest, Effect, EngineConfig, InstancePolicy, Plugin, PluginEngine,
    PluginLimits, PluginOptions, ReusePolicy, World,
};
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The node's allocator (`crates/cli/main.rs`), so the host's allocations cost what they do there.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SECRET: &str = "bench-secret";

fn token() -> String {
    let payload = URL_SAFE_NO_PAD.encode(r#"{"sub":"bench-user","scope":"lists:read"}"#);
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(payload.as_bytes());
    format!(
        "Bearer {payload}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn request() -> AuthorizerRequest {
    let token = token();
    let mut request = AuthorizerRequest {
        kind: AuthorizerKind::Token,
        identity_source: vec![token.clone()],
        route_id: "shop1/prod/GET/lists/weekly".to_owned(),
        api_id: "shop1".to_owned(),
        stage: "prod".to_owned(),
        http_method: "GET".to_owned(),
        route_key: "GET /lists/{name}".to_owned(),
        resource_path: "/lists/{name}".to_owned(),
        path: "/lists/weekly".to_owned(),
        path_parameters: vec![("name".to_owned(), "weekly".to_owned())],
        query: Vec::new(),
        headers: vec![
            ("authorization".to_owned(), token),
            ("user-agent".to_owned(), "bench/1.0".to_owned()),
        ],
        stage_variables: Vec::new(),
        source_ip: "203.0.113.7".to_owned(),
        request_id: "c0ffee00-0000-4000-8000-000000000001".to_owned(),
    };
    if std::env::var_os("CAUSEWAY_BENCH_BROWSER").is_some_and(|v| v == "1") {
        request.headers.extend(
            BROWSER_HEADERS
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
    }
    request
}

/// `CAUSEWAY_BENCH_BROWSER=1`: the request also carries what a browser sends (14 more
/// headers, ≈ 900 bytes), which a 0.1.0 authorizer is handed whole and a 0.2.0 one only
/// when it asks.
const BROWSER_HEADERS: &[(&str, &str)] = &[
    ("host", "shop1.execute-api.example.com"),
    (
        "accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    ),
    ("accept-language", "en-GB,en;q=0.9,fr;q=0.8"),
    ("accept-encoding", "gzip, deflate, br, zstd"),
    (
        "cookie",
        "session=4f2a9c1e7b3d8a6f; theme=dark; consent=analytics%3Dfalse%26ads%3Dfalse; _ga=GA1.2.1234567890.1700000000",
    ),
    (
        "referer",
        "https://shop.example.com/lists/weekly?sort=recent",
    ),
    (
        "sec-ch-ua",
        "\"Chromium\";v=\"130\", \"Not?A_Brand\";v=\"99\"",
    ),
    ("sec-ch-ua-mobile", "?0"),
    ("sec-ch-ua-platform", "\"Linux\""),
    ("sec-fetch-dest", "empty"),
    ("sec-fetch-mode", "cors"),
    ("sec-fetch-site", "same-site"),
    ("x-forwarded-for", "198.51.100.23, 203.0.113.7"),
    (
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ),
];

fn polyglot(file: &str) -> Vec<u8> {
    let script = env!("CAUSEWAY_POLYGLOT_SCRIPT");
    let status = std::process::Command::new("bash")
        .arg(script)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
    assert!(status.success(), "{script} failed: {status}");
    std::fs::read(Path::new(env!("CAUSEWAY_POLYGLOT_DIR")).join(file)).expect("polyglot wasm")
}

fn load(engine: &PluginEngine, name: &str, bytes: &[u8], policy: InstancePolicy) -> Arc<Plugin> {
    let options = PluginOptions::new(World::Authorizer)
        .with_config("secret", SECRET)
        .with_policy(policy)
        .with_limits(PluginLimits {
            memory_bytes: 256 << 20,
            ..PluginLimits::for_world(World::Authorizer)
        });
    engine
        .load(name, bytes, World::Authorizer, options)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Profiling aid: more authorizers to measure beside the built-in ones, on warm instances,
/// from `CAUSEWAY_BENCH_AUTHORIZERS="name=file.wasm;name2=file2.wasm"` (their decisions
/// are not checked, so a no-op guest shows the cost of the call itself); with
/// `CAUSEWAY_BENCH_EXTRA_FRESH=1` on fresh instances.
fn extra_authorizers(engine: &PluginEngine, policy: InstancePolicy) -> Vec<(String, Arc<Plugin>)> {
    let list = std::env::var("CAUSEWAY_BENCH_AUTHORIZERS").unwrap_or_default();
    list.split(';')
        .filter_map(|entry| entry.split_once('='))
        .map(|(name, file)| {
            let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{file}: {e}"));
            (name.to_owned(), load(engine, name, &bytes, policy))
        })
        .collect()
}

/// `CAUSEWAY_BENCH_VALGRIND=1`: run where address space is scarce (callgrind), with a
/// pool of 4 instances and the Rust guests only, e.g.
/// `CAUSEWAY_BENCH_VALGRIND=1 valgrind --tool=callgrind BENCH --bench authorizer/rust-minimal-fresh --profile-time 5`.
fn under_valgrind() -> bool {
    std::env::var_os("CAUSEWAY_BENCH_VALGRIND").is_some_and(|v| v == "1")
}

/// One authorizer call per iteration, on a copy of `req` made outside the timing (the
/// call takes its request by value).
fn call_each(
    b: &mut criterion::Bencher<'_>,
    rt: &tokio::runtime::Runtime,
    plugin: &Plugin,
    req: &AuthorizerRequest,
) {
    b.iter_batched(
        || req.clone(),
        |r| rt.block_on(plugin.authorize(r)).expect("call"),
        criterion::BatchSize::SmallInput,
    );
}

fn bench(c: &mut Criterion) {
    let engine = PluginEngine::new(EngineConfig {
        cache_dir: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("causeway-plugin-cache")),
        // A few instances at once are all a benchmark needs. Under valgrind, which cannot
        // reserve the address space of many, 4 (and no interpreters, see `under_valgrind`).
        max_instances: if under_valgrind() { 4 } else { 16 },
        // `CAUSEWAY_PERF_MAP=1`, as for the node: `perf report` then names guest functions.
        perf_map: std::env::var_os("CAUSEWAY_PERF_MAP").is_some_and(|v| v == "1"),
        ..EngineConfig::default()
    })
    .expect("engine");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let req = request();
    let reuse = InstancePolicy::Reuse(ReusePolicy {
        max_uses: u64::MAX,
        ..ReusePolicy::default()
    });
    let rust = std::fs::read(env!("CAUSEWAY_FIXTURE_HMAC_AUTHORIZER")).expect("fixture");
    let mut plugins = vec![
        (
            "rust-fresh",
            load(&engine, "rust", &rust, InstancePolicy::Fresh),
        ),
        ("rust-reuse", load(&engine, "rust", &rust, reuse)),
    ];
    // The host's floor for a fresh instance: a guest that only counts and allows.
    let minimal = std::fs::read(env!("CAUSEWAY_FIXTURE_COUNTER_AUTHORIZER")).expect("fixture");
    plugins.push((
        "rust-minimal-fresh",
        load(&engine, "minimal", &minimal, InstancePolicy::Fresh),
    ));
    if under_valgrind() {
        // Only the Rust guests: an interpreter's instance needs more pool slots than 4.
    } else {
        plugins.push((
            "js-reuse",
            load(&engine, "js", &polyglot("js-authorizer.wasm"), reuse),
        ));
        plugins.push((
            "python-reuse",
            load(
                &engine,
                "python",
                &polyglot("python-authorizer.wasm"),
                reuse,
            ),
        ));
    }

    let mut group = c.benchmark_group("authorizer");
    for (name, plugin) in &plugins {
        let d = rt
            .block_on(plugin.authorize(req.clone()))
            .expect("warm-up call");
        assert_eq!(d.effect, Effect::Allow, "{name}: {d:?}");
        group.bench_function(*name, |b| call_each(b, &rt, plugin, &req));
    }
    let extra_policy = match std::env::var("CAUSEWAY_BENCH_EXTRA_FRESH").as_deref() {
        Ok("1") => InstancePolicy::Fresh,
        _ => reuse,
    };
    for (name, plugin) in extra_authorizers(&engine, extra_policy) {
        rt.block_on(plugin.authorize(req.clone()))
            .expect("warm-up call");
        group.bench_function(name, |b| call_each(b, &rt, &plugin, &req));
    }
    group.finish();

    let function = std::fs::read(env!("CAUSEWAY_FIXTURE_SHOPPING_LIST_FUNCTION")).expect("fixture");
    let function = engine
        .load(
            "fn",
            &function,
            World::Function,
            PluginOptions::new(World::Function),
        )
        .expect("load");
    let event = r#"{"version":"2.0","routeKey":"GET /lists/{name}","rawPath":"/lists/weekly","rawQueryString":"item=milk,eggs","queryStringParameters":{"item":"milk,eggs"},"headers":{},"requestContext":{"http":{"method":"GET","path":"/lists/weekly"},"requestId":"r"},"isBase64Encoded":false}"#;
    c.bench_function("function/rust-fresh", |b| {
        b.iter(|| rt.block_on(function.invoke_function(event)).expect("call"))
    });

    // wasi:http handlers: `GET /hello`, fresh instance, request and response buffered.
    let mut group = c.benchmark_group("wasi-http");
    for (name, fixture) in [
        ("spin-sdk-fresh", env!("CAUSEWAY_FIXTURE_SPIN_HELLO")),
        ("wasip2-fresh", env!("CAUSEWAY_FIXTURE_WASI_HTTP_HANDLER")),
    ] {
        let bytes = std::fs::read(fixture).expect("fixture");
        let handler = engine
            .load(
                name,
                &bytes,
                World::HttpHandler,
                PluginOptions::new(World::HttpHandler),
            )
            .expect("load");
        let hello = || {
            http::Request::get("http://bench.local/hello")
                .body(bytes::Bytes::new())
                .expect("request")
        };
        let resp = rt.block_on(handler.handle_http(hello())).expect("warm-up");
        assert_eq!(resp.status(), 200, "{name}");
        group.bench_function(name, |b| {
            b.iter(|| rt.block_on(handler.handle_http(hello())).expect("call"))
        });
    }
    group.finish();

    for (name, plugin) in &plugins {
        let report = rt.block_on(plugin.check_report());
        eprintln!(
            "check_report {name}: instantiate {:?}, fresh call {:?}, warm call {:?}, recommends {:?} ({})",
            report.instantiate,
            report.fresh_call,
            report.warm_call,
            report.recommended_policy,
            report.reason
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
