//! Warm-up at deploy on the real binary: a JavaScript authorizer (seconds to compile) is
//! compiled and its pool warmed before `causeway deploy` returns and the stage switches,
//! so the first request neither compiles nor instantiates; a plugin that cannot be
//! instantiated refuses the deployment and the old one keeps serving. Observed through
//! the admin `/metrics` scrape.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::harness::{ConfigDir, Node, get, sign, text};

const HOST: &str = "warm.execute-api.localhost";

/// `plugins/target/polyglot/js-authorizer.wasm`, built once per test process with
/// `plugins/build-polyglot.sh` (it locks, so parallel test processes do not race).
fn js_authorizer() -> Vec<u8> {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins");
    let built = BUILT.get_or_init(|| {
        let out = std::process::Command::new("bash")
            .arg(plugins.join("build-polyglot.sh"))
            .output()
            .map_err(|e| format!("cannot run build-polyglot.sh: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(text(&out))
        }
    });
    if let Err(e) = built {
        panic!("the JavaScript plugin could not be built (node + npm needed):\n{e}");
    }
    let path = plugins.join("target/polyglot/js-authorizer.wasm");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn api(memory_mb: u32) -> String {
    format!(
        r#"version = 1
id = "warm"
name = "Warm"
type = "REST"
[[stages]]
name = "prod"
[[plugins]]
name = "js"
file = "js.wasm"
world = "authorizer"
instance = "reuse"
memory_mb = {memory_mb}
config = {{ secret = "s3cret" }}
[[authorizers]]
name = "tokens"
type = "TOKEN"
plugin = "js"
identity_sources = ["method.request.header.Authorization"]
result_ttl_seconds = 0
[[routes]]
key = "GET /private"
authorizer = "tokens"
integration = {{ type = "MOCK", body = "hello $context.authorizer.principalId" }}
"#
    )
}

const PLACEHOLDER: &str = r#"version = 1
id = "warm"
name = "Warm"
type = "REST"
[[stages]]
name = "prod"
[[routes]]
key = "GET /private"
integration = { type = "MOCK", body = "not yet" }
"#;

fn token() -> String {
    sign(
        "s3cret",
        &serde_json::json!({ "sub": "alice", "exp": 4_102_444_800_u64 }),
    )
}

fn private(addr: std::net::SocketAddr) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET /prod/private HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        token()
    )
    .expect("write");
    let mut buf = String::new();
    s.read_to_string(&mut buf).expect("read");
    let status = buf.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = buf.split_once("\r\n\r\n").map(|(_, b)| b.to_owned());
    (status, body.unwrap_or_default())
}

/// The value of `causeway_{family}{api="warm",plugin="js",...}` in a `/metrics` scrape.
fn js_metric(node: &Node, family: &str) -> f64 {
    let (status, body) = get(node.admin, "127.0.0.1", "/metrics").expect("scrape");
    assert_eq!(status, 200, "{body}");
    let prefix = format!("causeway_{family}{{api=\"warm\",plugin=\"js\",");
    body.lines()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no `{prefix}` sample in:\n{body}"))
}

#[test]
fn a_slow_compiling_plugin_is_warm_before_the_deploy_returns() {
    let cfg = ConfigDir::new(&[("warm", PLACEHOLDER)]);
    std::fs::write(cfg.path().join("js.wasm"), js_authorizer()).expect("copy plugin");
    let node = Node::start(cfg.path());
    assert_eq!(private(node.addr), (200, "not yet".to_owned()));

    // The node has never compiled this component (a fresh data dir): the deploy compiles
    // it for seconds and warms an instance before it returns.
    cfg.write_api("warm", &api(256));
    let out = node.cli(&["deploy", "--api", "warm"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(js_metric(&node, "PluginWarmupCount_total"), 1.0);
    assert_eq!(js_metric(&node, "PluginPoolIdle"), 1.0);
    assert_eq!(js_metric(&node, "PluginCallCount_total"), 0.0);

    // The first request through the new deployment runs on the warm instance.
    assert_eq!(private(node.addr), (200, "hello alice".to_owned()));
    assert_eq!(js_metric(&node, "PluginCallCount_total"), 1.0);
    assert_eq!(js_metric(&node, "PluginReuseCount_total"), 1.0);
    assert_eq!(
        js_metric(&node, "PluginInstantiationCount_total"),
        0.0,
        "no instance was created on the request path"
    );

    // 1 MiB cannot hold the JavaScript runtime: the component compiles (from the
    // artifact cache) but cannot be instantiated, so the deployment is refused, naming
    // the plugin, and the warm one keeps serving.
    cfg.write_api("warm", &api(1));
    let out = node.cli(&["deploy", "--api", "warm"]);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("plugin `js`") && said.contains("cannot be instantiated"),
        "{said}"
    );
    assert_eq!(private(node.addr), (200, "hello alice".to_owned()));
    assert_eq!(js_metric(&node, "PluginReuseCount_total"), 2.0);
}

/// While a deployment compiles its plugins (seconds for a JavaScript component the node
/// has no artifact for), the control plane keeps answering: components compile outside
/// the control lock, for a deploy and for a rollback to a deployment no longer compiled.
#[test]
fn the_control_plane_answers_while_a_deployment_compiles() {
    let cfg = ConfigDir::new(&[("warm", PLACEHOLDER)]);
    std::fs::write(cfg.path().join("js.wasm"), js_authorizer()).expect("copy plugin");
    let node = Node::start(cfg.path());
    cfg.write_api("warm", &api(256));
    answered_during(&node, &["deploy", "--api", "warm"]);
    assert_eq!(private(node.addr), (200, "hello alice".to_owned()));

    // Back to the placeholder: the JavaScript deployment is no longer compiled, and with
    // its artifact gone a rollback to it compiles the component again.
    cfg.write_api("warm", PLACEHOLDER);
    let out = node.cli(&["deploy", "--api", "warm"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(private(node.addr), (200, "not yet".to_owned()));
    for name in artifacts(&cfg) {
        std::fs::remove_file(cfg.path().join("data/artifacts").join(name)).expect("rm");
    }
    answered_during(&node, &["rollback", "--api", "warm", "--stage", "prod"]);
    assert_eq!(private(node.addr), (200, "hello alice".to_owned()));
}

/// Run the CLI `verb` and meanwhile list the stages over and over: no listing may wait
/// for the compile, that is, the slowest one must take well under the verb's own time
/// (with the lock held through the compile it took all of it).
fn answered_during(node: &Node, verb: &[&str]) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let running = s.spawn(|| {
            let started = Instant::now();
            let out = node.cli(verb);
            done.store(true, Ordering::SeqCst);
            (out, started.elapsed())
        });
        let mut slowest = Duration::ZERO;
        while !done.load(Ordering::SeqCst) {
            let started = Instant::now();
            let out = node.cli(&["stages", "--api", "warm"]);
            slowest = slowest.max(started.elapsed());
            assert!(out.status.success(), "{}", text(&out));
        }
        let (out, took) = running.join().expect("verb thread");
        assert!(out.status.success(), "{verb:?}: {}", text(&out));
        assert!(
            slowest * 2 < took,
            "a listing waited {slowest:?} during {verb:?}, which took {took:?}"
        );
    });
}

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/plugins/target/wasm32-wasip2/release"
);

fn function_api(file: &str) -> String {
    format!(
        r#"version = 1
id = "fn"
name = "Functions"
type = "REST"
[[stages]]
name = "prod"
[[plugins]]
name = "f"
file = "{file}"
world = "function"
[[routes]]
key = "ANY /lists/{{name}}"
integration = {{ type = "FUNCTION", plugin = "f" }}
"#
    )
}

fn artifacts(cfg: &ConfigDir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cfg.path().join("data/artifacts"))
        .expect("artifact dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".cwasm"))
        .collect();
    names.sort();
    names
}

/// `artifact_cache_mb = 0`: after every publish only the served plugins' artifacts stay.
#[test]
fn the_artifact_cache_keeps_only_what_is_served_under_a_zero_bound() {
    let cfg = ConfigDir::new(&[("fn", &function_api("a.wasm"))]);
    std::fs::write(
        cfg.path().join("causeway.toml"),
        "version = 1\n[node]\ndata_dir = \"data\"\nartifact_cache_mb = 0\nworker_threads = 1\n[admin]\ntoken = \"test-token\"\n",
    )
    .expect("node file");
    for (fixture, name) in [("shopping_list_function", "a.wasm"), ("trap", "b.wasm")] {
        std::fs::copy(
            Path::new(FIXTURES).join(format!("{fixture}.wasm")),
            cfg.path().join(name),
        )
        .expect("fixture");
    }
    let node = Node::start(cfg.path());
    let first = artifacts(&cfg);
    assert_eq!(
        first.len(),
        1,
        "the served plugin's artifact stays: {first:?}"
    );

    // The trap fixture is an authorizer, not a function: refused, and nothing changes.
    cfg.write_api("fn", &function_api("b.wasm"));
    let out = node.cli(&["deploy", "--api", "fn"]);
    assert!(!out.status.success(), "{}", text(&out));

    // A new version of the function: the old artifact is no longer served and goes.
    let v2 = std::fs::read(cfg.path().join("a.wasm")).map(|mut b| {
        // A trailing custom section: another component with the same code.
        b.extend_from_slice(&[0, 4, 3, b'v', b'-', b'2']);
        b
    });
    std::fs::write(cfg.path().join("c.wasm"), v2.expect("read a.wasm")).expect("write");
    cfg.write_api("fn", &function_api("c.wasm"));
    let out = node.cli(&["deploy", "--api", "fn"]);
    assert!(out.status.success(), "{}", text(&out));
    let second = artifacts(&cfg);
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(
        second, first,
        "the new version's artifact replaced the old one"
    );
}

/// `node.plugin_instances` bounds the instances alive at once: a pool asked to keep three
/// warm cannot be filled under a bound of two, so the first deployment is refused with the
/// plugin named and the node does not start; under three it starts and serves.
#[test]
fn plugin_instances_bound_what_a_pool_can_hold() {
    let api = function_api("a.wasm").replace(
        "world = \"function\"",
        "world = \"function\"\ninstance = \"reuse\"\npool = { min_idle = 3, max_idle = 3 }",
    );
    let cfg = ConfigDir::new(&[("fn", &api)]);
    std::fs::copy(
        Path::new(FIXTURES).join("shopping_list_function.wasm"),
        cfg.path().join("a.wasm"),
    )
    .expect("fixture");
    let node_file = |instances: u32| {
        std::fs::write(
            cfg.path().join("causeway.toml"),
            format!("version = 1\n[node]\ndata_dir = \"data\"\nplugin_instances = {instances}\nworker_threads = 1\n[admin]\ntoken = \"test-token\"\n"),
        )
        .expect("node file");
    };

    node_file(2);
    let mut serve = std::process::Command::new(crate::harness::BIN)
        .args(["serve", "--config"])
        .arg(cfg.path())
        .args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run causeway serve");
    // It must give up on its own; a node that started instead is stopped and fails the test.
    let deadline = Instant::now() + Duration::from_secs(60);
    while serve.try_wait().expect("wait").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let exited = serve.try_wait().expect("wait").is_some();
    if !exited {
        let _ = serve.kill();
    }
    let out = serve.wait_with_output().expect("output");
    assert!(
        exited,
        "the node started past its instance bound: {}",
        text(&out)
    );
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("`f`"),
        "the plugin is named: {}",
        text(&out)
    );

    node_file(3);
    let node = Node::start(cfg.path());
    let (status, body) = get(
        node.addr,
        "fn.execute-api.localhost",
        "/prod/lists/weekly?item=milk",
    )
    .expect("request");
    assert_eq!(status, 200, "{body}");
}
