//! Control-plane observability: the audit log and the metrics endpoint of a real node.

use crate::harness::{ConfigDir, HOST, Node, get, text, versioned_api};

#[test]
fn every_control_action_is_audited() {
    let cfg = ConfigDir::new(&[("svc", &versioned_api("v1"))]);
    let node = Node::start(cfg.path());
    cfg.write_api("svc", &versioned_api("v2"));
    assert!(node.cli(&["deploy", "--api", "svc"]).status.success());
    let bad = node.cli(&[
        "rollback",
        "--api",
        "svc",
        "--stage",
        "prod",
        "--to",
        "ffffffffffffffff",
    ]);
    assert!(!bad.status.success(), "{}", text(&bad));

    let log = std::fs::read_to_string(cfg.path().join("data/audit.log")).expect("audit.log");
    let entries: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
        .collect();
    let deploy = entries
        .iter()
        .find(|e| e["action"] == "POST /v1/apis/svc/deployments")
        .unwrap_or_else(|| panic!("no deploy entry in {log}"));
    assert_eq!(deploy["result"], "ok");
    assert!(
        deploy["who"]
            .as_str()
            .is_some_and(|w| w.starts_with("token:")),
        "{deploy}"
    );
    assert!(
        !log.contains("test-token"),
        "the secret never reaches the log"
    );
    assert!(deploy["time_ms"].as_u64().is_some_and(|t| t > 0));
    let failed = entries
        .iter()
        .find(|e| e["action"] == "POST /v1/apis/svc/stages/prod/rollback")
        .unwrap_or_else(|| panic!("no rollback entry in {log}"));
    assert_eq!(failed["result"], "error");
}

#[test]
fn metrics_are_served_on_the_admin_listener() {
    let cfg = ConfigDir::new(&[("svc", &versioned_api("v1"))]);
    let node = Node::start(cfg.path());
    for _ in 0..2 {
        assert_eq!(get(node.addr, HOST, "/prod/v").expect("get").0, 200);
    }
    let (status, body) = get(node.admin, "localhost", "/metrics").expect("metrics");
    assert_eq!(status, 200);
    assert!(
        body.contains(
            r#"causeway_Count_total{api="svc",stage="prod",method="GET",resource="/v"} 2"#
        ),
        "{body}"
    );
}

#[test]
fn flush_cache_from_the_cli() {
    let api = r#"version = 1
id = "svc"
name = "Service"
type = "REST"
[[stages]]
name = "prod"
cache = { capacity_bytes = 1048576 }
[[routes]]
key = "GET /v"
integration = { type = "MOCK", body = "cached" }
"#;
    let cfg = ConfigDir::new(&[("svc", api)]);
    let node = Node::start(cfg.path());
    let cache_header = |addr| {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        write!(
            s,
            "GET /prod/v HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
        )
        .expect("write");
        let mut buf = String::new();
        s.read_to_string(&mut buf).expect("read");
        buf.lines()
            .find_map(|l| l.strip_prefix("x-causeway-cache: ").map(str::to_owned))
            .unwrap_or_default()
    };
    assert_eq!(cache_header(node.addr), "miss");
    assert_eq!(cache_header(node.addr), "hit");
    let out = node.cli(&["flush-cache", "--api", "svc", "--stage", "prod"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(cache_header(node.addr), "miss");
    let bad = node.cli(&["flush-cache", "--api", "svc", "--stage", "nope"]);
    assert!(
        !bad.status.success() && text(&bad).contains("has no cache"),
        "{}",
        text(&bad)
    );
    let log = std::fs::read_to_string(cfg.path().join("data/audit.log")).expect("audit.log");
    assert!(
        log.contains("DELETE /v1/apis/svc/stages/prod/cache"),
        "{log}"
    );
}
