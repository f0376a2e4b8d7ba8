//! Canary releases through the real binary: `deploy --canary`, `canary set`, the share of
//! requests each side gets, overridden stage variables, canary metrics, persistence
//! across a restart, promotion, and refusals.

use crate::harness::{ConfigDir, HOST, Node, get, get_raw, text};

fn api(version: &str, color: &str) -> String {
    format!(
        r#"version = 1
id = "svc"
name = "Service"
type = "REST"
[[stages]]
name = "prod"
variables = {{ color = "{color}" }}
[[routes]]
key = "GET /v"
integration = {{ type = "MOCK", body = "{version} ${{stageVariables.color}}" }}
"#
    )
}

/// `n` requests: how many the canary (`v2 ...`) answered, and every distinct answer.
fn sample(node: &Node, n: usize) -> (usize, Vec<String>) {
    let mut canary = 0;
    let mut seen = Vec::new();
    for _ in 0..n {
        let (status, body) = get(node.addr, HOST, "/prod/v").expect("get");
        assert_eq!(status, 200, "{body}");
        if body.starts_with("v2") {
            canary += 1;
        }
        if !seen.contains(&body) {
            seen.push(body);
        }
    }
    seen.sort();
    (canary, seen)
}

/// The deployment id `causeway deploy` printed.
fn deployed_id(out: &std::process::Output) -> String {
    text(out)
        .split("deployment ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap_or_default()
        .to_owned()
}

/// `causeway canary set` on stage prod of svc, up to its deployment.
const SET: [&str; 7] = [
    "canary",
    "set",
    "--api",
    "svc",
    "--stage",
    "prod",
    "--deployment",
];

/// `causeway canary set` on stage prod of svc, with `extra` arguments.
fn set_canary(node: &Node, deployment: &str, percent: &str, extra: &[&str]) {
    let out = node.cli(&[&SET[..], &[deployment, "--percent", percent], extra].concat());
    assert!(out.status.success(), "{}", text(&out));
}

fn stage_line(node: &Node) -> String {
    let out = node.cli(&["stages", "--api", "svc"]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("svc"))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_canary_takes_its_share_until_promoted() {
    let cfg = ConfigDir::new(&[("svc", &api("v1", "green"))]);
    let mut node = Node::start(cfg.path());
    assert_eq!(sample(&node, 5).1, ["v1 green"]);
    let v1 = stage_line(&node);

    // The new definition goes out as a canary taking every request: the stage still
    // points at v1, and the canary sees the file's variables for the stage.
    cfg.write_api("svc", &api("v2", "blue"));
    let out = node.cli(&["deploy", "--api", "svc", "--canary", "100"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("canary taking 100% of prod"),
        "{}",
        text(&out)
    );
    let v2_id = deployed_id(&out);
    assert_eq!(v2_id.len(), 16, "{}", text(&out));
    assert_eq!(sample(&node, 5).1, ["v2 blue"]);
    let line = stage_line(&node);
    assert!(line.contains(&format!("100% {v2_id}")), "{line}");
    assert_eq!(
        line.split_whitespace().nth(2),
        v1.split_whitespace().nth(2),
        "the stage itself still serves v1: {line}"
    );

    // None, then about a third.
    let set = |percent: &str| set_canary(&node, &v2_id[..8], percent, &["--variable", "color=red"]);
    set("0");
    assert_eq!(sample(&node, 20).1, ["v1 green"]);
    set("30");
    let (canary, seen) = sample(&node, 1000);
    assert_eq!(seen, ["v1 green", "v2 red"]);
    // Binomial(1000, 0.3): mean 300, standard deviation 14.5.
    assert!(
        (200..=400).contains(&canary),
        "{canary} of 1000 went to the canary"
    );

    // Canary requests are counted under the stage `prod/Canary`, as API Gateway's.
    let (_, metrics) = get(node.admin, "localhost", "/metrics").expect("metrics");
    let count = |stage: &str| -> f64 {
        let prefix = format!(
            r#"causeway_Count_total{{api="svc",stage="{stage}",method="GET",resource="/v"}} "#
        );
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    assert!(count("prod/Canary") >= canary as f64, "{metrics}");
    assert!(count("prod") >= (1000 - canary) as f64, "{metrics}");

    // The canary is stored with the stage: a restart keeps it.
    node.stop();
    let node = Node::start(cfg.path());
    assert_eq!(sample(&node, 200).1, ["v1 green", "v2 red"]);

    // Promotion: the stage serves v2 with the canary's variables; v1 is in its history.
    let out = node.cli(&["canary", "promote", "--api", "svc", "--stage", "prod"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("no canary"), "{}", text(&out));
    assert_eq!(sample(&node, 20).1, ["v2 red"]);
    let line = stage_line(&node);
    assert!(
        line.contains(&v2_id) && line.trim_end().ends_with('-'),
        "{line}"
    );
    let out = node.cli(&["rollback", "--api", "svc", "--stage", "prod"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(sample(&node, 5).1, ["v1 red"]);
}

#[test]
fn bad_canaries_are_refused_and_change_nothing() {
    let cfg = ConfigDir::new(&[("svc", &api("v1", "green"))]);
    let node = Node::start(cfg.path());
    let deployments = node.cli(&["deployments", "--api", "svc"]);
    let v1_id = String::from_utf8_lossy(&deployments.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_default()
        .to_owned();
    let refused = |args: &[&str], says: &str| {
        let out = node.cli(args);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
    };
    refused(
        &[&SET[..], &[&v1_id, "--percent", "150"]].concat(),
        "0.0 to 100.0",
    );
    refused(
        &[&SET[..], &["ffffffffffffffff", "--percent", "10"]].concat(),
        "ffffffffffffffff",
    );
    refused(
        &[
            "canary",
            "set",
            "--api",
            "svc",
            "--stage",
            "qa",
            "--deployment",
            &v1_id,
            "--percent",
            "10",
        ],
        "qa",
    );
    refused(
        &["canary", "delete", "--api", "svc", "--stage", "prod"],
        "has no canary",
    );
    refused(
        &["canary", "promote", "--api", "svc", "--stage", "prod"],
        "has no canary",
    );
    cfg.write_api("svc", &api("v2", "blue"));
    refused(
        &["deploy", "--api", "svc", "--stage", "qa", "--canary", "10"],
        "does not exist yet",
    );
    refused(&["deploy", "--api", "svc", "--canary=-1"], "0.0 to 100.0");
    // Nothing changed: every request is still v1's, and the stage has no canary.
    assert_eq!(sample(&node, 20).1, ["v1 green"]);
    assert!(stage_line(&node).trim_end().ends_with('-'));
}

#[test]
fn a_canary_bypasses_the_stage_cache_unless_told_to_share_it() {
    let cached = |version: &str| {
        api(version, "green").replace(
            "variables = { color = \"green\" }",
            "variables = { color = \"green\" }\ncache = { capacity_bytes = 1048576 }",
        )
    };
    let cfg = ConfigDir::new(&[("svc", &cached("v1"))]);
    let node = Node::start(cfg.path());
    let cache_of = |answer: &str| -> Option<String> {
        answer
            .to_ascii_lowercase()
            .lines()
            .find_map(|l| l.strip_prefix("x-causeway-cache: ").map(str::to_owned))
    };
    let first = get_raw(node.addr, HOST, "/prod/v");
    assert_eq!(cache_of(&first).as_deref(), Some("miss"), "{first}");
    let second = get_raw(node.addr, HOST, "/prod/v");
    assert_eq!(cache_of(&second).as_deref(), Some("hit"), "{second}");

    cfg.write_api("svc", &cached("v2"));
    let out = node.cli(&["deploy", "--api", "svc", "--canary", "100"]);
    assert!(out.status.success(), "{}", text(&out));
    for _ in 0..3 {
        let answer = get_raw(node.addr, HOST, "/prod/v");
        assert!(answer.ends_with("v2 green"), "{answer}");
        assert_eq!(
            cache_of(&answer),
            None,
            "the canary does not touch the cache: {answer}"
        );
    }

    set_canary(&node, &deployed_id(&out), "100", &["--use-stage-cache"]);
    let shared = get_raw(node.addr, HOST, "/prod/v");
    assert_eq!(cache_of(&shared).as_deref(), Some("hit"), "{shared}");
    assert!(
        shared.ends_with("v1 green"),
        "the stage's cached answer: {shared}"
    );
}
