//! WebAssembly plugins end to end on the real binary: a Rust HMAC authorizer (allow, deny,
//! 401, decision cache per route, context into the integration), a function integration
//! with API Gateway's proxy event, failures contained, and a new plugin version deployed
//! without a restart.

use std::path::Path;

use crate::harness::{ConfigDir, Node, sign, text};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/plugins/target/wasm32-wasip2/release"
);

fn copy_fixture(cfg: &ConfigDir, name: &str, as_name: &str) {
    let from = Path::new(FIXTURES).join(format!("{name}.wasm"));
    std::fs::copy(&from, cfg.path().join(as_name))
        .unwrap_or_else(|e| panic!("fixture {}: {e}", from.display()));
}

const API: &str = r#"version = 1
id = "wasm"
name = "Plugins"
type = "REST"
[[stages]]
name = "prod"
[[plugins]]
name = "hmac"
file = "hmac.wasm"
world = "authorizer"
config = { secret = "s3cret" }
[[plugins]]
name = "shop"
file = "shop.wasm"
world = "function"
[[plugins]]
name = "trap"
file = "trap.wasm"
world = "authorizer"
[[authorizers]]
name = "tokens"
type = "TOKEN"
plugin = "hmac"
identity_sources = ["method.request.header.Authorization"]
[[authorizers]]
name = "broken"
type = "TOKEN"
plugin = "trap"
identity_sources = ["method.request.header.Authorization"]
[[routes]]
key = "GET /private"
authorizer = "tokens"
integration = { type = "MOCK", body = "hello $context.authorizer.principalId ($context.authorizer.scope)" }
[[routes]]
key = "GET /other"
authorizer = "tokens"
integration = { type = "MOCK", body = "other" }
[[routes]]
key = "GET /broken"
authorizer = "broken"
integration = { type = "MOCK", body = "never" }
[[routes]]
key = "ANY /lists/{name}"
integration = { type = "FUNCTION", plugin = "shop" }
[[routes]]
key = "GET /open"
integration = { type = "MOCK", body = "open" }
"#;

const HOST: &str = "wasm.execute-api.localhost";

fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> (u16, String, String) {
    request_with(addr, method, path, auth, "", body)
}

fn request_with(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    auth: Option<&str>,
    extra_headers: &str,
    body: &str,
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    let auth = auth
        .map(|a| format!("Authorization: Bearer {a}\r\n"))
        .unwrap_or_default()
        + extra_headers;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {HOST}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut buf = String::new();
    s.read_to_string(&mut buf).expect("read");
    let status = buf.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (head, body) = buf.split_once("\r\n\r\n").unwrap_or((&buf, ""));
    (status, head.to_owned(), body.to_owned())
}

fn setup() -> (ConfigDir, Node) {
    let cfg = ConfigDir::new(&[("wasm", API)]);
    copy_fixture(&cfg, "hmac_authorizer", "hmac.wasm");
    copy_fixture(&cfg, "shopping_list_function", "shop.wasm");
    copy_fixture(&cfg, "trap", "trap.wasm");
    let node = Node::start(cfg.path());
    (cfg, node)
}

#[test]
fn authorizer_allows_denies_and_caches_per_route() {
    let (_cfg, node) = setup();
    let (status, _, body) = request(node.addr, "GET", "/prod/private", None, "");
    assert_eq!(
        (status, body.as_str()),
        (401, r#"{"message":"Unauthorized"}"#),
        "no token: 401 without a call"
    );
    let forged = sign("wrong-secret", &serde_json::json!({ "sub": "mallory" }));
    let (status, head, body) = request(node.addr, "GET", "/prod/private", Some(&forged), "");
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("invalid token signature") && head.contains("AccessDeniedException"),
        "{head}{body}"
    );

    let token = sign(
        "s3cret",
        &serde_json::json!({ "sub": "alice", "scope": "pets:read" }),
    );
    let (status, _, body) = request(node.addr, "GET", "/prod/private", Some(&token), "");
    assert_eq!((status, body.as_str()), (200, "hello alice (pets:read)"));
    // The cached allow was for /private only: /other asks the plugin again and is allowed too.
    let (status, _, _) = request(node.addr, "GET", "/prod/other", Some(&token), "");
    assert_eq!(status, 200);

    // A trapping authorizer answers 500 {"message": null} and the node keeps serving.
    let (status, head, body) = request_with(
        node.addr,
        "GET",
        "/prod/broken",
        Some(&token),
        "x-fail: trap\r\n",
        "",
    );
    assert_eq!(
        (status, body.as_str()),
        (500, r#"{"message":null}"#),
        "{head}"
    );
    assert!(head.contains("AuthorizerConfigurationException"), "{head}");
    assert_eq!(request(node.addr, "GET", "/prod/open", None, "").0, 200);
}

#[test]
fn function_integration_gets_an_api_gateway_proxy_event() {
    let (_cfg, node) = setup();
    let (status, head, body) = request(
        node.addr,
        "POST",
        "/prod/lists/weekly?item=eggs",
        None,
        r#"{"items":["milk","milk"]}"#,
    );
    assert_eq!(status, 200, "{head}{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(v["payloadVersion"], "1.0");
    assert_eq!(v["method"], "POST");
    assert_eq!(v["path"], "/lists/weekly");
    assert_eq!(v["items"], serde_json::json!({ "milk": 2, "eggs": 1 }));
    assert_eq!(v["total"], 3);
    let request_id = head
        .lines()
        .find_map(|l| l.strip_prefix("x-amzn-requestid: "))
        .expect("request id");
    assert_eq!(
        v["requestId"], request_id,
        "requestContext.requestId is the gateway's"
    );
    assert!(
        head.to_ascii_lowercase().contains("x-item: eggs") && head.contains("x-item: milk"),
        "multiValueHeaders: {head}"
    );
    // A function error is a 502, and the next call works.
    let (status, _, body) = request(node.addr, "GET", "/prod/lists/fail", None, "");
    assert_eq!(
        (status, body.as_str()),
        (502, r#"{"message":"Internal server error"}"#)
    );
    let (status, _, body) = request(node.addr, "POST", "/prod/lists/x", None, "");
    assert_eq!(
        status, 400,
        "the function's own status passes through: {body}"
    );
}

#[test]
fn a_new_plugin_version_deploys_without_restart_and_a_bad_one_is_refused() {
    let (cfg, node) = setup();
    // Wrong world: refused with the plugin named; the old deployment keeps serving.
    copy_fixture(&cfg, "wrong_world", "shop.wasm");
    let out = node.cli(&["deploy", "--api", "wasm"]);
    assert!(
        !out.status.success(),
        "a component without the function world must not deploy"
    );
    assert!(text(&out).contains("shop"), "{}", text(&out));
    let (status, _, _) = request(node.addr, "GET", "/prod/lists/a?item=x", None, "");
    assert_eq!(status, 200, "old deployment still serves");

    // A changed plugin config is a new deployment, live without a restart.
    copy_fixture(&cfg, "shopping_list_function", "shop.wasm");
    let changed = API.replace(
        "name = \"shop\"\nfile = \"shop.wasm\"\nworld = \"function\"",
        "name = \"shop\"\nfile = \"shop.wasm\"\nworld = \"function\"\nconfig = { greeting = \"bonjour\" }",
    );
    cfg.write_api("wasm", &changed);
    let out = node.cli(&["deploy", "--api", "wasm"]);
    assert!(out.status.success(), "{}", text(&out));
    let (_, _, body) = request(node.addr, "GET", "/prod/lists/a?item=x", None, "");
    assert!(body.contains("bonjour"), "{body}");
}

#[test]
fn plugin_check_reports_exports_costs_and_mismatches() {
    let check = |file: &str, world: &str, extra: &[&str]| {
        std::process::Command::new(crate::harness::BIN)
            .args([
                "plugin",
                "check",
                &format!("{FIXTURES}/{file}.wasm"),
                "--world",
                world,
            ])
            .args(extra)
            .output()
            .expect("run causeway plugin check")
    };
    let ok = check("hmac_authorizer", "authorizer", &[]);
    assert!(ok.status.success(), "{}", text(&ok));
    let out = text(&ok);
    assert!(
        out.contains("exports:     authorize") && out.contains("recommended: instance ="),
        "{out}"
    );
    assert!(
        out.contains("contract:    causeway:plugin@0.2.0 (authorizer request read field by field)"),
        "{out}"
    );
    let old = check("echo_authorizer_v0_1", "authorizer", &[]);
    assert!(
        text(&old).contains("contract:    causeway:plugin@0.1.0 (authorizer request as a record)"),
        "{}",
        text(&old)
    );
    // The default probe's token is not a signed one: the authorizer's shortest path.
    assert!(out.contains("probe:       unauthorized"), "{out}");
    // With its config and a signed token, the probe takes the path real requests take.
    let token = sign("s3cret", &serde_json::json!({ "sub": "probe" }));
    let signed = check(
        "hmac_authorizer",
        "authorizer",
        &["--config", "secret=s3cret", "--token", &token],
    );
    assert!(signed.status.success(), "{}", text(&signed));
    assert!(
        text(&signed).contains("probe:       allow"),
        "{}",
        text(&signed)
    );
    let unsigned = check(
        "hmac_authorizer",
        "authorizer",
        &["--config", "secret=s3cret", "--token", "not-a-token"],
    );
    assert!(
        text(&unsigned).contains("probe:       unauthorized"),
        "{}",
        text(&unsigned)
    );
    // A function probed with a proxy event of one's own (a POST without items: 400,
    // where the default probe's GET answers 200).
    let dir = tempfile::tempdir().expect("tempdir");
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"version":"2.0","routeKey":"POST /lists/{name}","rawPath":"/lists/weekly","rawQueryString":"","pathParameters":{"name":"weekly"},"headers":{},"requestContext":{"http":{"method":"POST","path":"/lists/weekly"},"requestId":"r"},"isBase64Encoded":false}"#,
    )
    .expect("write event");
    let event = event.to_string_lossy();
    let fun = check("shopping_list_function", "function", &["--event", &event]);
    assert!(
        text(&fun).contains("probe:       statusCode 400"),
        "{}",
        text(&fun)
    );

    let bad = check("wrong_world", "function", &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad).contains("does not export `handle`"),
        "{}",
        text(&bad)
    );
}

/// `causeway plugin invoke`: one call of a component, an authorizer with a token (with or
/// without `Bearer `) or a function with a proxy event, and what it answered.
#[test]
fn plugin_invoke_runs_a_component_once() {
    let invoke = |file: &str, extra: &[&str]| {
        let out = std::process::Command::new(crate::harness::BIN)
            .args(["plugin", "invoke", &format!("{FIXTURES}/{file}.wasm")])
            .args(extra)
            .output()
            .expect("run causeway plugin invoke");
        assert!(out.status.success(), "{}", text(&out));
        text(&out)
    };
    let token = sign("s3cret", &serde_json::json!({ "sub": "alice" }));
    for given in [token.clone(), format!("Bearer {token}")] {
        let out = invoke(
            "hmac_authorizer",
            &["--config", "secret=s3cret", "--token", &given],
        );
        assert!(
            out.contains("Effect::Allow") && out.contains("\"alice\""),
            "{out}"
        );
    }
    let forged = sign("other", &serde_json::json!({ "sub": "alice" }));
    let out = invoke(
        "hmac_authorizer",
        &["--config", "secret=s3cret", "--token", &forged],
    );
    assert!(out.contains("Effect::Deny"), "{out}");

    let dir = tempfile::tempdir().expect("tempdir");
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"version":"2.0","routeKey":"GET /lists/{name}","rawPath":"/lists/weekly","rawQueryString":"item=milk&item=eggs","queryStringParameters":{"item":"milk,eggs"},"pathParameters":{"name":"weekly"},"headers":{},"requestContext":{"http":{"method":"GET","path":"/lists/weekly"},"requestId":"r"},"isBase64Encoded":false}"#,
    )
    .expect("write event");
    let out = invoke(
        "shopping_list_function",
        &["--event", &event.to_string_lossy()],
    );
    assert!(
        out.contains("\"statusCode\":200") && out.contains("milk"),
        "{out}"
    );
}
