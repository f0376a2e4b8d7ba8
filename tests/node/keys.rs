//! API keys end to end: created and disabled with the CLI, enforced by the data plane.

use std::time::Duration;

use crate::harness::{ConfigDir, Node, eventually, get_with, text};

const API: &str = r#"version = 1
id = "keyed"
name = "Keyed"
type = "REST"
[[stages]]
name = "prod"
[[stages]]
name = "beta"
[[routes]]
key = "GET /open"
integration = { type = "MOCK", body = "open" }
[[routes]]
key = "GET /secret"
api_key_required = true
integration = { type = "MOCK", body = "secret" }
"#;

const HOST: &str = "keyed.execute-api.localhost";

fn get_with_key(addr: std::net::SocketAddr, path: &str, key: Option<&str>) -> (u16, String) {
    let header = key
        .map(|k| format!("x-api-key: {k}\r\n"))
        .unwrap_or_default();
    get_with(addr, HOST, path, &header).expect("request")
}

#[test]
fn keys_are_required_checked_and_disabled() {
    let cfg = ConfigDir::new(&[("keyed", API)]);
    let node = Node::start(cfg.path());
    let out = node.cli(&[
        "usage-plans",
        "create",
        "--name",
        "basic",
        "--stage",
        "keyed:prod",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let plan = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let out = node.cli(&["keys", "create", "--name", "alice", "--plan", &plan]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (id, value) = stdout.trim().split_once(' ').expect("`ID VALUE`");
    let imported = "imported-value-0123456789abcdef";
    let out = node.cli(&[
        "keys", "create", "--name", "bob", "--value", imported, "--plan", &plan,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = node.cli(&[
        "keys",
        "create",
        "--name",
        "carol",
        "--value",
        "no-plan-key-0123456789",
    ]);
    assert!(out.status.success(), "{}", text(&out));

    let forbidden = (403, r#"{"message":"Forbidden"}"#.to_owned());
    assert_eq!(
        get_with_key(node.addr, "/prod/open", None).0,
        200,
        "routes without the flag need no key"
    );
    assert_eq!(
        get_with_key(node.addr, "/prod/secret", None),
        forbidden,
        "missing key"
    );
    assert_eq!(
        get_with_key(node.addr, "/prod/secret", Some("wrong-key-0123456789")),
        forbidden,
        "unknown key"
    );
    assert_eq!(get_with_key(node.addr, "/prod/secret", Some(value)).0, 200);
    assert_eq!(
        get_with_key(node.addr, "/prod/secret", Some(imported)).0,
        200,
        "imported key"
    );
    assert_eq!(
        get_with_key(node.addr, "/beta/secret", Some(value)),
        forbidden,
        "plan does not cover beta"
    );
    assert_eq!(
        get_with_key(node.addr, "/prod/secret", Some("no-plan-key-0123456789")),
        forbidden,
        "key in no plan"
    );

    let out = node.cli(&["keys", "disable", id]);
    assert!(out.status.success(), "{}", text(&out));
    eventually("disabled key refused", Duration::from_secs(5), || {
        get_with_key(node.addr, "/prod/secret", Some(value)) == forbidden
    });
    let out = node.cli(&["keys", "list"]);
    assert!(
        text(&out).contains("disabled") && !text(&out).contains(value),
        "{}",
        text(&out)
    );

    // Keys survive a restart.
    drop(node);
    let node = Node::start(cfg.path());
    assert_eq!(
        get_with_key(node.addr, "/prod/secret", Some(imported)).0,
        200
    );
    assert_eq!(
        get_with_key(node.addr, "/prod/secret", Some(value)),
        forbidden
    );
}

#[test]
fn quota_usage_survives_a_restart() {
    let cfg = ConfigDir::new(&[("keyed", API)]);
    let mut node = Node::start(cfg.path());
    let out = node.cli(&[
        "usage-plans",
        "create",
        "--name",
        "trial",
        "--stage",
        "keyed:prod",
        "--quota-limit",
        "3",
        "--quota-period",
        "MONTH",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let plan = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let value = "quota-key-value-0123456789";
    assert!(
        node.cli(&[
            "keys", "create", "--name", "q", "--value", value, "--plan", &plan
        ])
        .status
        .success()
    );
    for _ in 0..2 {
        assert_eq!(get_with_key(node.addr, "/prod/secret", Some(value)).0, 200);
    }
    node.stop();
    let node = Node::start(cfg.path());
    assert_eq!(
        get_with_key(node.addr, "/prod/secret", Some(value)).0,
        200,
        "third of three"
    );
    assert_eq!(
        get_with_key(node.addr, "/prod/secret", Some(value)),
        (429, r#"{"message":"Limit Exceeded"}"#.to_owned()),
        "the quota counted the requests before the restart"
    );
    let out = node.cli(&["usage-plans", "usage", &plan]);
    assert!(out.status.success(), "{}", text(&out));
    let row = String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap_or("")
        .to_owned();
    assert!(
        row.contains(" 3 ") && row.trim_end().ends_with('3'),
        "used 3 of 3: {row}"
    );
}

/// Runs a CLI verb against `node` that must succeed: its standard output, trimmed.
fn cli_ok(node: &Node, args: &[&str]) -> String {
    let out = node.cli(args);
    assert!(out.status.success(), "{args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Plans change and keys and plans are deleted with the CLI; the data plane follows at
/// once, bad changes are refused with what to fix, and deletes survive a restart.
#[test]
fn plans_change_and_keys_and_plans_are_deleted() {
    let cfg = ConfigDir::new(&[("keyed", API)]);
    let node = Node::start(cfg.path());
    let cli_ok = |args: &[&str]| cli_ok(&node, args);
    let plan = cli_ok(&[
        "usage-plans",
        "create",
        "--name",
        "basic",
        "--stage",
        "keyed:prod",
    ]);
    let (alice, bob) = ("alice-value-0123456789abc", "bob-value-0123456789abcde");
    let alice_id = cli_ok(&[
        "keys", "create", "--name", "a", "--value", alice, "--plan", &plan,
    ]);
    let alice_id = alice_id.split(' ').next().unwrap_or_default().to_owned();
    cli_ok(&[
        "keys", "create", "--name", "b", "--value", bob, "--plan", &plan,
    ]);
    let forbidden = (403, r#"{"message":"Forbidden"}"#.to_owned());
    assert_eq!(
        get_with_key(node.addr, "/beta/secret", Some(bob)),
        forbidden
    );

    // The plan now covers beta as well, then a throttle of 1 request/s with a burst of 1.
    cli_ok(&[
        "usage-plans",
        "update",
        &plan,
        "--stage",
        "keyed:prod",
        "--stage",
        "keyed:beta",
    ]);
    assert_eq!(get_with_key(node.addr, "/beta/secret", Some(bob)).0, 200);
    cli_ok(&[
        "usage-plans",
        "update",
        &plan,
        "--rate",
        "1",
        "--burst",
        "1",
    ]);
    let statuses: Vec<u16> = (0..5)
        .map(|_| get_with_key(node.addr, "/beta/secret", Some(bob)).0)
        .collect();
    assert!(
        statuses.contains(&429),
        "throttled after the change: {statuses:?}"
    );
    cli_ok(&["usage-plans", "update", &plan, "--no-throttle"]);
    let statuses: Vec<u16> = (0..5)
        .map(|_| get_with_key(node.addr, "/beta/secret", Some(bob)).0)
        .collect();
    assert_eq!(statuses, [200; 5], "the throttle removed");
    let list = cli_ok(&["usage-plans", "list"]);
    assert!(list.contains("keyed:beta"), "{list}");

    // Refusals name what to fix and change nothing.
    let out = node.cli(&[
        "usage-plans",
        "update",
        &plan,
        "--rate",
        "0",
        "--burst",
        "1",
    ]);
    assert!(
        !out.status.success() && text(&out).contains("rate"),
        "{}",
        text(&out)
    );
    let out = node.cli(&["usage-plans", "update", &plan]);
    assert!(
        !out.status.success() && text(&out).contains("nothing to change"),
        "{}",
        text(&out)
    );
    for (args, what) in [
        (
            &["usage-plans", "delete", "p-0000000000"][..],
            "p-0000000000",
        ),
        (&["keys", "delete", "k-0000000000"][..], "k-0000000000"),
    ] {
        let out = node.cli(args);
        assert!(
            !out.status.success() && text(&out).contains(what),
            "{}",
            text(&out)
        );
    }
    assert_eq!(get_with_key(node.addr, "/prod/secret", Some(alice)).0, 200);

    // A deleted key is refused; a deleted plan leaves its keys in no plan (refused too).
    cli_ok(&["keys", "delete", &alice_id]);
    assert_eq!(
        get_with_key(node.addr, "/prod/secret", Some(alice)),
        forbidden
    );
    assert!(!cli_ok(&["keys", "list"]).contains(&alice_id));
    cli_ok(&["usage-plans", "delete", &plan]);
    assert_eq!(
        get_with_key(node.addr, "/prod/secret", Some(bob)),
        forbidden
    );
    assert!(!cli_ok(&["usage-plans", "list"]).contains(&plan));

    drop(node);
    let node = Node::start(cfg.path());
    assert_eq!(
        get_with_key(node.addr, "/prod/secret", Some(alice)),
        forbidden
    );
    assert_eq!(
        get_with_key(node.addr, "/prod/secret", Some(bob)),
        forbidden
    );
    let keys = String::from_utf8_lossy(&node.cli(&["keys", "list"]).stdout).into_owned();
    assert!(!keys.contains(&alice_id) && keys.contains(" b "), "{keys}");
    // The deleted key's value can be imported again.
    let out = node.cli(&["keys", "create", "--name", "a2", "--value", alice]);
    assert!(out.status.success(), "{}", text(&out));
}

/// A key put in a plan and taken out again with the CLI (API Gateway's usage plan keys).
#[test]
fn keys_join_and_leave_plans() {
    let cfg = ConfigDir::new(&[("keyed", API)]);
    let node = Node::start(cfg.path());
    let cli_ok = |args: &[&str]| cli_ok(&node, args);
    let plan = cli_ok(&[
        "usage-plans",
        "create",
        "--name",
        "p",
        "--stage",
        "keyed:prod",
    ]);
    let value = "loose-key-value-0123456789";
    let created = cli_ok(&["keys", "create", "--name", "k", "--value", value]);
    let id = created.split(' ').next().unwrap_or_default().to_owned();
    let forbidden = (403, r#"{"message":"Forbidden"}"#.to_owned());
    assert_eq!(
        get_with_key(node.addr, "/prod/secret", Some(value)),
        forbidden
    );
    cli_ok(&["usage-plans", "add-key", &plan, &id]);
    assert_eq!(get_with_key(node.addr, "/prod/secret", Some(value)).0, 200);
    cli_ok(&["usage-plans", "remove-key", &plan, &id]);
    assert_eq!(
        get_with_key(node.addr, "/prod/secret", Some(value)),
        forbidden
    );
    let out = node.cli(&["usage-plans", "remove-key", &plan, &id]);
    assert!(
        !out.status.success() && text(&out).contains("is not in plan"),
        "{}",
        text(&out)
    );
    let out = node.cli(&["usage-plans", "add-key", "p-0000000000", &id]);
    assert!(
        !out.status.success() && text(&out).contains("p-0000000000"),
        "{}",
        text(&out)
    );
}

/// A plan's method throttle (API Gateway's usage plan method throttling): each key gets
/// its own bucket on that route; removed, the route is the plan's again. Bad ones are
/// refused with what to write.
#[test]
fn a_plans_method_throttle_limits_its_keys_on_that_route() {
    let cfg = ConfigDir::new(&[("keyed", API)]);
    let node = Node::start(cfg.path());
    let plan = cli_ok(
        &node,
        &[
            "usage-plans",
            "create",
            "--name",
            "m",
            "--stage",
            "keyed:prod",
            "--method-throttle",
            "GET /secret=0.001/1",
        ],
    );
    let value = "method-key-value-0123456789";
    cli_ok(
        &node,
        &[
            "keys", "create", "--name", "k", "--value", value, "--plan", &plan,
        ],
    );
    assert_eq!(get_with_key(node.addr, "/prod/secret", Some(value)).0, 200);
    let limited = get_with_key(node.addr, "/prod/secret", Some(value));
    assert_eq!(limited.0, 429, "{limited:?}");
    let list = cli_ok(&node, &["usage-plans", "list"]);
    assert!(list.contains(&plan), "{list}");

    cli_ok(
        &node,
        &["usage-plans", "update", &plan, "--no-method-throttles"],
    );
    assert_eq!(get_with_key(node.addr, "/prod/secret", Some(value)).0, 200);

    for (bad, says) in [
        ("nonsense", "ROUTE=RATE/BURST"),
        ("get /secret=1/1", "not a route key"),
        ("GET /secret=0/1", "rate"),
    ] {
        let out = node.cli(&["usage-plans", "update", &plan, "--method-throttle", bad]);
        assert!(
            !out.status.success() && text(&out).contains(says),
            "{bad}: {}",
            text(&out)
        );
    }
    assert_eq!(
        get_with_key(node.addr, "/prod/secret", Some(value)).0,
        200,
        "refusals changed nothing"
    );
}
