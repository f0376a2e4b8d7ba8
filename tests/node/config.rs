//! Invalid configuration is refused with its location, and never replaces what is served.

use std::process::Command;

use crate::harness::{BIN, ConfigDir, HOST, Node, get, text, versioned_api};

const BROKEN: &str = r#"version = 1
id = "svc"
name = "Service"
type = "REST"
[[stages]]
name = "prod"
[[routes]]
key = "GET /v"
integration = { type = "HTTP_PROXY", uri = "http://127.0.0.1:1/x", timeout_ms = 30000 }
[[routes]]
key = "GET /v/{a"
integration = { type = "MOCK" }
"#;

#[test]
fn validate_reports_every_error_with_its_location() {
    let cfg = ConfigDir::new(&[("svc", BROKEN)]);
    let out = cfg.validate();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("svc.toml") && t.contains("routes[0].integration.timeout_ms"),
        "{t}"
    );
    assert!(t.contains("routes[1].key"), "{t}");

    let cfg = ConfigDir::new(&[("svc", "version = 1\nid = \"svc\"\nname = 1\n")]);
    let out = cfg.validate();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("svc.toml:3"),
        "parse errors carry the line: {}",
        text(&out)
    );
}

#[test]
fn serve_refuses_an_invalid_config() {
    let cfg = ConfigDir::new(&[("svc", BROKEN)]);
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(cfg.path())
        .args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("timeout_ms"), "{}", text(&out));
}

#[test]
fn invalid_deploy_is_refused_and_the_old_deployment_keeps_serving() {
    let cfg = ConfigDir::new(&[("svc", &versioned_api("v1"))]);
    let node = Node::start(cfg.path());
    cfg.write_api("svc", BROKEN);
    let out = node.cli(&["deploy", "--api", "svc"]);
    assert!(!out.status.success(), "an invalid config must not deploy");
    assert!(text(&out).contains("timeout_ms"), "{}", text(&out));
    assert_eq!(
        get(node.addr, HOST, "/prod/v").expect("get"),
        (200, "v1".into())
    );
}

#[test]
fn admin_api_requires_the_token() {
    let cfg = ConfigDir::new(&[("svc", &versioned_api("v1"))]);
    let node = Node::start(cfg.path());
    let out = Command::new(BIN)
        .args(["stages", "--config"])
        .arg(cfg.path())
        .args([
            "--admin",
            &format!("http://{}", node.admin),
            "--token",
            "wrong",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(text(&out).contains("Unauthorized"), "{}", text(&out));
}

#[test]
fn an_admin_listener_off_loopback_is_refused_unless_allowed() {
    let cfg = ConfigDir::new(&[]);
    let out = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "0.0.0.0:0",
            "--config",
        ])
        .arg(cfg.path())
        .output()
        .expect("run causeway serve");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("admin.listen") && t.contains("admin.allow_remote = true"),
        "{t}"
    );
}
