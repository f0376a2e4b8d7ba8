//! Loading real config directories: the shipped `edge-config/` and broken ones.

use std::path::Path;

#[test]
fn shipped_edge_config_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../edge-config");
    let set = causeway_model::load_dir(&dir).expect("edge-config/ is valid");
    let api = set.api("petstore").expect("petstore API");
    assert_eq!(api.routes.len(), 5);
    assert_eq!(set.node.domains[0].mappings[0].stage, "prod");
    let chat = set.api("chat").expect("chat API");
    assert_eq!(chat.kind, causeway_model::ApiType::WebSocket);
    assert_eq!(chat.routes.len(), 3);
}

#[test]
fn every_error_is_reported_with_its_location() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("apis")).expect("mkdir");
    std::fs::write(
        dir.path().join("apis/bad.toml"),
        r#"version = 1
id = "Bad_Id"
name = "x"
type = "HTTP"
[[routes]]
key = "GET /a"
integration = { type = "HTTP_PROXY", uri = "ftp://x", timeout_ms = 40000 }
[[routes]]
key = "GET /a"
integration = { type = "MOCK", status = 700 }
[[routes]]
key = "GET /b"
integration = { type = "HTTP_PROXY", uri = "http://127.0.0.1:1/b", request_parameters = { "integration.request.header.x bad" = "'v'", "integration.request.header.x-good" = "'v'" } }
"#,
    )
    .expect("write");
    std::fs::write(
        dir.path().join("apis/typo.toml"),
        "version = 1\nid = \"t\"\nname = \"t\"\ntype = \"HTTP\"\nroutez = []\n",
    )
    .expect("write");
    let errs = causeway_model::load_dir(dir.path()).expect_err("invalid").0;
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    for f in [
        "id",
        "routes[0].integration.uri",
        "routes[0].integration.timeout_ms",
        "routes[1].key",
        "routes[1].integration.status",
    ] {
        assert!(fields.contains(&f), "missing error for {f}: {errs:?}");
    }
    let params: Vec<_> = errs
        .iter()
        .filter(|e| {
            e.field
                .starts_with("routes[2].integration.request_parameters")
        })
        .collect();
    assert_eq!(params.len(), 1, "only the bad header name: {params:?}");
    assert!(params[0].field.ends_with("header.x bad"), "{}", params[0]);
    assert!(
        params[0].message.contains("not a valid header name"),
        "{}",
        params[0]
    );
    let typo = errs
        .iter()
        .find(|e| e.file.ends_with("typo.toml"))
        .expect("typo.toml error");
    assert_eq!(typo.line, Some(5), "{typo}");
    assert!(typo.message.contains("routez"), "{typo}");
}

#[test]
fn plugins_are_hashed_and_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("apis")).expect("mkdir");
    std::fs::write(dir.path().join("auth.wasm"), b"component bytes").expect("write");
    let api = r#"version = 1
id = "p"
name = "p"
type = "REST"
[[plugins]]
name = "auth"
file = "auth.wasm"
world = "authorizer"
[[plugins]]
name = "gone"
file = "missing.wasm"
world = "function"
[[authorizers]]
name = "tokens"
type = "TOKEN"
plugin = "auth"
identity_sources = ["method.request.header.Authorization"]
[[authorizers]]
name = "bad"
type = "TOKEN"
plugin = "nope"
identity_sources = ["a", "b"]
[[authorizers]]
name = "spaced"
type = "REQUEST"
plugin = "auth"
identity_sources = ["method.request.header.X-Api-Key", "method.request.header.X Key"]
[[routes]]
key = "GET /a"
authorizer = "tokens"
integration = { type = "FUNCTION", plugin = "auth" }
[[routes]]
key = "GET /b"
authorizer = "ghost"
integration = { type = "MOCK" }
"#;
    std::fs::write(dir.path().join("apis/p.toml"), api).expect("write");
    let errs = causeway_model::load_dir(dir.path()).expect_err("invalid").0;
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert!(
        !fields.contains(&"authorizers[2].identity_sources[0]"),
        "a valid header name is accepted: {errs:#?}"
    );
    let spaced = errs
        .iter()
        .find(|e| e.field == "authorizers[2].identity_sources[1]")
        .expect("the header name with a space is refused");
    assert!(
        spaced.message.contains("`X Key` is not a header name"),
        "{spaced:?}"
    );
    for f in [
        "authorizers[1].plugin",
        "authorizers[1].identity_sources",
        "authorizers[1].identity_sources[0]",
        "authorizers[2].identity_sources[1]",
        "routes[0].integration.plugin",
        "routes[1].authorizer",
    ] {
        assert!(fields.contains(&f), "missing error for {f}: {errs:#?}");
    }

    let good = api
        .replace("[[plugins]]\nname = \"gone\"\nfile = \"missing.wasm\"\nworld = \"function\"\n", "")
        .replace("[[authorizers]]\nname = \"bad\"\ntype = \"TOKEN\"\nplugin = \"nope\"\nidentity_sources = [\"a\", \"b\"]\n", "")
        .replace(", \"method.request.header.X Key\"", "")
        .replace("integration = { type = \"FUNCTION\", plugin = \"auth\" }", "integration = { type = \"MOCK\" }")
        .replace("authorizer = \"ghost\"\n", "");
    std::fs::write(dir.path().join("apis/p.toml"), &good).expect("write");
    let set = causeway_model::load_dir(dir.path()).expect("valid");
    let sha = set
        .api("p")
        .and_then(|a| a.plugins[0].sha256.clone())
        .expect("hashed");
    assert_eq!(sha.len(), 64);
    // A new plugin version is a new deployment.
    let before = causeway_model::Deployment::snapshot(set.api("p").expect("api"), "", 0).id;
    std::fs::write(dir.path().join("auth.wasm"), b"component bytes v2").expect("write");
    let set = causeway_model::load_dir(dir.path()).expect("valid");
    assert_ne!(
        causeway_model::Deployment::snapshot(set.api("p").expect("api"), "", 0).id,
        before
    );
}

/// `identity_validation_expression` (API Gateway's `identityValidationExpression`): a
/// TOKEN authorizer's only, and a valid regular expression, each refused with its place.
#[test]
fn token_validation_expressions_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("apis")).expect("mkdir");
    std::fs::write(dir.path().join("auth.wasm"), b"component bytes").expect("write");
    let api = |token_expr: &str, request_expr: &str| {
        format!(
            r#"version = 1
id = "v"
name = "v"
type = "REST"
[[plugins]]
name = "auth"
file = "auth.wasm"
world = "authorizer"
[[authorizers]]
name = "tokens"
type = "TOKEN"
plugin = "auth"
identity_sources = ["method.request.header.Authorization"]
{token_expr}
[[authorizers]]
name = "requests"
type = "REQUEST"
plugin = "auth"
identity_sources = ["method.request.header.X-Key"]
{request_expr}
[[routes]]
key = "GET /a"
authorizer = "tokens"
integration = {{ type = "MOCK" }}
"#
        )
    };
    let write = |text: String| std::fs::write(dir.path().join("apis/v.toml"), text).expect("write");
    write(api(
        r#"identity_validation_expression = "^Bearer [(+$""#,
        r#"identity_validation_expression = ".+""#,
    ));
    let errs = causeway_model::load_dir(dir.path()).expect_err("invalid").0;
    let at = |f: &str| {
        errs.iter()
            .find(|e| e.field == f)
            .unwrap_or_else(|| panic!("no error for {f}: {errs:#?}"))
    };
    assert!(
        at("authorizers[0].identity_validation_expression")
            .message
            .contains("is not a valid regular expression"),
        "{errs:#?}"
    );
    assert!(
        at("authorizers[1].identity_validation_expression")
            .message
            .contains("TOKEN authorizers only"),
        "{errs:#?}"
    );
    write(api(
        r#"identity_validation_expression = "Bearer [-0-9A-Za-z_.]+""#,
        "",
    ));
    let set = causeway_model::load_dir(dir.path()).expect("valid");
    let expr = set.api("v").expect("api").authorizers[0]
        .identity_validation_expression
        .clone()
        .expect("kept");
    // The whole token must match, as in API Gateway.
    let pattern = causeway_model::plugin::token_pattern(&expr).expect("compiles");
    assert!(pattern.is_match("Bearer abc.def"));
    assert!(!pattern.is_match("xBearer abc"));
    assert!(!pattern.is_match("Bearer abc def"));
}

#[test]
fn reuse_pools_are_sized_in_range() {
    let text = r#"version = 1
id = "pools"
name = "Pools"
type = "REST"
[[plugins]]
name = "ok"
file = "a.wasm"
world = "authorizer"
instance = "reuse"
pool = { min_idle = 2, max_idle = 4, max_uses = 100, max_age_seconds = 60 }
[[plugins]]
name = "fresh"
file = "a.wasm"
world = "authorizer"
pool = { min_idle = 2 }
[[plugins]]
name = "bad"
file = "a.wasm"
world = "authorizer"
instance = "reuse"
pool = { min_idle = 9, max_uses = 0, max_age_seconds = 0 }
[[plugins]]
name = "huge"
file = "a.wasm"
world = "authorizer"
instance = "reuse"
pool = { max_idle = 100000 }
"#;
    let errs = causeway_model::parse_api("pools.toml", text)
        .expect_err("invalid")
        .0;
    let at = |field: &str| {
        errs.iter()
            .find(|e| e.field == field)
            .unwrap_or_else(|| panic!("no error at {field}: {errs:?}"))
            .message
            .clone()
    };
    assert!(
        !errs.iter().any(|e| e.field.starts_with("plugins[0]")),
        "{errs:?}"
    );
    assert!(at("plugins[1].pool").contains("reuse"));
    assert!(at("plugins[2].pool.min_idle").contains("max_idle = 8"));
    assert!(at("plugins[2].pool.max_uses").contains("at least 1"));
    assert!(at("plugins[2].pool.max_age_seconds").contains("1..=86400"));
    assert!(at("plugins[3].pool.max_idle").contains("1..=256"));
    let unknown = causeway_model::parse_api(
        "pools.toml",
        &text.replace("max_uses = 100,", "max_uses = 100, size = 3,"),
    )
    .expect_err("unknown field")
    .0;
    assert!(
        unknown.iter().any(|e| e.message.contains("size")),
        "{unknown:?}"
    );
}

#[test]
fn upstream_ca_file_is_resolved_and_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = "version = 1\n[node]\nupstream_ca_file = \"certs/ca.pem\"\n";
    std::fs::write(dir.path().join("causeway.toml"), node).expect("write");
    let errs = causeway_model::load_dir(dir.path())
        .expect_err("missing file")
        .0;
    let err = errs
        .iter()
        .find(|e| e.field == "node.upstream_ca_file")
        .unwrap_or_else(|| panic!("no upstream_ca_file error: {errs:?}"));
    assert!(err.message.contains("cannot read"), "{err}");

    std::fs::create_dir(dir.path().join("certs")).expect("mkdir");
    std::fs::write(dir.path().join("certs/ca.pem"), "not a certificate").expect("write");
    let errs = causeway_model::load_dir(dir.path()).expect_err("not PEM").0;
    assert!(
        errs.iter()
            .any(|e| e.field == "node.upstream_ca_file" && e.message.contains("no PEM")),
        "{errs:?}"
    );

    let pem = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tls/ca.pem"),
    )
    .expect("test CA");
    std::fs::write(dir.path().join("certs/ca.pem"), pem).expect("write");
    let set = causeway_model::load_dir(dir.path()).expect("valid");
    // Relative to the config directory, as `data_dir`.
    assert_eq!(
        set.node.node.upstream_ca_file.as_deref().map(Path::new),
        Some(dir.path().join("certs/ca.pem").as_path())
    );
}

#[test]
fn worker_threads_are_bounded() {
    let node = |n: usize| format!("version = 1\n[node]\nworker_threads = {n}\n");
    for ok in [0, 1, 2, 1024] {
        let parsed = causeway_model::parse_node("causeway.toml", &node(ok)).expect("valid");
        assert_eq!(parsed.node.worker_threads, ok);
    }
    let errs = causeway_model::parse_node("causeway.toml", &node(5000))
        .expect_err("too many")
        .0;
    assert!(
        errs.iter()
            .any(|e| e.field == "node.worker_threads" && e.message.contains("1..=1024")),
        "{errs:?}"
    );
}

/// A boolean `[node]` setting: its default, the opposite value set in the file, and a
/// value that is not a boolean refused at its line.
fn boolean_node_setting(key: &str, default: bool, get: fn(&causeway_model::NodeSection) -> bool) {
    let parse = |text: &str| causeway_model::parse_node("causeway.toml", text);
    let node = parse("version = 1\n").expect("valid");
    assert_eq!(get(&node.node), default, "default of {key}");
    let flipped = parse(&format!("version = 1\n[node]\n{key} = {}\n", !default)).expect("valid");
    assert_eq!(get(&flipped.node), !default, "{key} = {}", !default);
    let errs = parse(&format!("version = 1\n[node]\n{key} = \"yes\"\n"))
        .expect_err("not a boolean")
        .0;
    assert!(
        errs.iter()
            .any(|e| e.line == Some(3) && e.message.contains("expected a boolean")),
        "{key}: {errs:?}"
    );
}

#[test]
fn connections_stay_on_their_worker_unless_work_stealing_is_on() {
    boolean_node_setting("work_stealing", false, |n| n.work_stealing);
}

#[test]
fn workers_yield_when_idle_only_when_asked() {
    boolean_node_setting("yield_when_idle", false, |n| n.yield_when_idle);
}

#[test]
fn plugin_instances_are_bounded() {
    let node = |n: u32| format!("version = 1\n[node]\nplugin_instances = {n}\n");
    let default = causeway_model::parse_node("causeway.toml", "version = 1\n").expect("valid");
    assert_eq!(default.node.plugin_instances, 1000);
    for ok in [1, 4, 10_000] {
        let parsed = causeway_model::parse_node("causeway.toml", &node(ok)).expect("valid");
        assert_eq!(parsed.node.plugin_instances, ok);
    }
    for bad in [0, 10_001] {
        let errs = causeway_model::parse_node("causeway.toml", &node(bad))
            .expect_err("out of range")
            .0;
        assert!(
            errs.iter()
                .any(|e| e.field == "node.plugin_instances" && e.message.contains("1..=10000")),
            "{bad}: {errs:?}"
        );
    }
}

#[test]
fn header_read_timeout_is_bounded() {
    let node = |ms: u64| format!("version = 1\n[node]\nheader_read_timeout_ms = {ms}\n");
    let default = causeway_model::parse_node("causeway.toml", "version = 1\n").expect("valid");
    assert_eq!(default.node.header_read_timeout_ms, 30_000);
    for ok in [100, 5_000, 600_000] {
        let parsed = causeway_model::parse_node("causeway.toml", &node(ok)).expect("valid");
        assert_eq!(parsed.node.header_read_timeout_ms, ok);
    }
    for bad in [0, 99, 600_001] {
        let errs = causeway_model::parse_node("causeway.toml", &node(bad))
            .expect_err("out of range")
            .0;
        assert!(
            errs.iter()
                .any(|e| e.field == "node.header_read_timeout_ms"
                    && e.message.contains("100..=600000")),
            "{errs:?}"
        );
    }
}

/// Gateway responses: known types, once each, statuses in range, header names, templates;
/// REST APIs only. Every problem reported with its place.
#[test]
fn gateway_responses_are_checked() {
    let api = |kind: &str, responses: &str| {
        format!(
            r#"version = 1
id = "g"
name = "g"
type = "{kind}"
[[routes]]
key = "GET /a"
integration = {{ type = "MOCK" }}
{responses}
"#
        )
    };
    let bad = r#"
[[gateway_responses]]
type = "UNAUTHORISED"
[[gateway_responses]]
type = "DEFAULT_4XX"
status = 700
headers = { "bad name" = "x", "x-ok" = "${stageVariables" }
[[gateway_responses]]
type = "DEFAULT_4XX"
body = "$context.nope"
"#;
    let errs = causeway_model::parse_api("g.toml", &api("REST", bad))
        .expect_err("invalid")
        .0;
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    for f in [
        "gateway_responses[0].type",
        "gateway_responses[1].status",
        "gateway_responses[1].headers.bad name",
        "gateway_responses[1].headers.x-ok",
        "gateway_responses[2].type",
        "gateway_responses[2].body",
    ] {
        assert!(fields.contains(&f), "missing error for {f}: {errs:#?}");
    }
    assert!(
        errs[0].message.contains("use one of DEFAULT_4XX"),
        "{errs:#?}"
    );
    let good = r#"
[[gateway_responses]]
type = "UNAUTHORIZED"
status = 401
headers = { "www-authenticate" = "Bearer" }
body = '{"error": "$context.error.message"}'
"#;
    causeway_model::parse_api("g.toml", &api("REST", good)).expect("valid");
    let errs = causeway_model::parse_api("g.toml", &api("HTTP", good))
        .expect_err("REST only")
        .0;
    assert!(
        errs.iter()
            .any(|e| e.field == "gateway_responses[0]" && e.message.contains("REST API")),
        "{errs:#?}"
    );
}

#[test]
fn minimum_compression_size_is_for_rest_apis_and_bounded() {
    let api = |kind: &str, size: &str| {
        format!(
            "version = 1\nid = \"z\"\nname = \"z\"\ntype = \"{kind}\"\nminimum_compression_size = {size}\n\
             [[routes]]\nkey = \"GET /a\"\nintegration = {{ type = \"MOCK\" }}\n"
        )
    };
    for size in ["0", "1024", "10485760"] {
        let spec = causeway_model::parse_api("z.toml", &api("REST", size)).expect("valid");
        assert_eq!(
            spec.minimum_compression_size.map(|s| s.to_string()),
            Some(size.to_owned())
        );
    }
    for (kind, size, says) in [
        ("REST", "10485761", "over the largest allowed"),
        ("HTTP", "1024", "only REST APIs compress"),
    ] {
        let err = causeway_model::parse_api("z.toml", &api(kind, size))
            .expect_err("refused")
            .to_string();
        assert!(err.contains("minimum_compression_size"), "{err}");
        assert!(err.contains(says), "{err}");
    }
    // A negative size is not a size at all.
    assert!(causeway_model::parse_api("z.toml", &api("REST", "-1")).is_err());
}
