//! Deploy, switch and roll back under load; persistence across `kill -9`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::harness::{ConfigDir, HOST, Node, eventually, get, text, versioned_api};

#[test]
fn deploy_and_rollback_under_load_fail_no_request() {
    let cfg = ConfigDir::new(&[("svc", &versioned_api("v1"))]);
    let node = Node::start(cfg.path());
    assert_eq!(
        get(node.addr, HOST, "/prod/v").expect("get"),
        (200, "v1".into())
    );

    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (stop, ok, failures, addr) =
                (stop.clone(), ok.clone(), failures.clone(), node.addr);
            std::thread::spawn(move || {
                // Bounded: at most 20,000 requests per worker, and stopped by the test.
                for _ in 0..20_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    match get(addr, HOST, "/prod/v") {
                        Ok((200, body)) if body == "v1" || body == "v2" => {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        other => failures.lock().expect("lock").push(format!("{other:?}")),
                    }
                }
            })
        })
        .collect();

    cfg.write_api("svc", &versioned_api("v2"));
    let out = node.cli(&[
        "deploy",
        "--api",
        "svc",
        "--stage",
        "prod",
        "--description",
        "second",
    ]);
    assert!(out.status.success(), "deploy failed: {}", text(&out));
    eventually("v2 served after deploy", Duration::from_secs(10), || {
        get(node.addr, HOST, "/prod/v").is_ok_and(|r| r.1 == "v2")
    });

    let out = node.cli(&["rollback", "--api", "svc", "--stage", "prod"]);
    assert!(out.status.success(), "rollback failed: {}", text(&out));
    eventually("v1 served after rollback", Duration::from_secs(10), || {
        get(node.addr, HOST, "/prod/v").is_ok_and(|r| r.1 == "v1")
    });

    // Switch the stage straight to the v2 deployment by id, as `update stage` would.
    let out = node.cli(&["deployments", "--api", "svc"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("second"),
        "deployments list shows the description: {}",
        text(&out)
    );

    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("worker");
    }
    let failures = failures.lock().expect("lock");
    assert!(
        failures.is_empty(),
        "{} failed requests, first: {:?}",
        failures.len(),
        failures.first()
    );
    assert!(ok.load(Ordering::Relaxed) > 100, "the load actually ran");
}

#[test]
fn deployments_survive_kill_9() {
    let cfg = ConfigDir::new(&[("svc", &versioned_api("v1"))]);
    let mut node = Node::start(cfg.path());
    cfg.write_api("svc", &versioned_api("v2"));
    let out = node.cli(&["deploy", "--api", "svc"]);
    assert!(out.status.success(), "{}", text(&out));
    eventually("v2 served", Duration::from_secs(10), || {
        get(node.addr, HOST, "/prod/v").is_ok_and(|r| r.1 == "v2")
    });
    node.kill9();

    // The config file now says v3, but nothing deployed it: the stage keeps serving v2.
    cfg.write_api("svc", &versioned_api("v3"));
    let node = Node::start(cfg.path());
    assert_eq!(
        get(node.addr, HOST, "/prod/v").expect("get"),
        (200, "v2".into())
    );
    let out = node.cli(&["stages"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("prod"), "{}", text(&out));
    // And the older deployment is still there to roll back to.
    let out = node.cli(&["rollback", "--api", "svc", "--stage", "prod"]);
    assert!(out.status.success(), "{}", text(&out));
    eventually("v1 after rollback", Duration::from_secs(10), || {
        get(node.addr, HOST, "/prod/v").is_ok_and(|r| r.1 == "v1")
    });
}

/// `causeway delete-stage`: the stage stops serving, is not
/// listed, stays deleted over a restart (the config still names it), and `causeway
/// deploy` brings it back; deleting it twice is a 404 with its name.
#[test]
fn a_deleted_stage_stops_serving_and_stays_deleted_until_deployed() {
    let cfg = ConfigDir::new(&[("svc", &versioned_api("v1"))]);
    let mut node = Node::start(cfg.path());
    assert_eq!(
        get(node.addr, HOST, "/prod/v").expect("get"),
        (200, "v1".into())
    );
    let out = node.cli(&["delete-stage", "--api", "svc", "--stage", "prod"]);
    assert!(out.status.success(), "{}", text(&out));
    // (Its only stage: nothing is served at the API's host any more.)
    let gone = get(node.addr, HOST, "/prod/v").expect("get");
    assert_eq!(gone.0, 404, "{gone:?}");
    assert!(gone.1.contains("No API is served"), "{gone:?}");
    assert!(!text(&node.cli(&["stages"])).contains("prod"));
    let out = node.cli(&["delete-stage", "--api", "svc", "--stage", "prod"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("prod"), "{}", text(&out));

    node.stop();
    let node = Node::start(cfg.path());
    assert_eq!(
        get(node.addr, HOST, "/prod/v").expect("get").0,
        404,
        "still deleted"
    );
    let out = node.cli(&["deploy", "--api", "svc"]);
    assert!(out.status.success(), "{}", text(&out));
    eventually("served again", Duration::from_secs(10), || {
        get(node.addr, HOST, "/prod/v").is_ok_and(|r| r == (200, "v1".into()))
    });

    let listed = text(&node.cli(&["apis"]));
    assert!(
        listed.contains("svc") && listed.contains("REST") && listed.contains("prod"),
        "{listed}"
    );

    // The whole API: every stage goes; its deployments stay listed.
    let out = node.cli(&["delete-api", "--api", "svc"]);
    assert!(
        out.status.success() && text(&out).contains("prod"),
        "{}",
        text(&out)
    );
    assert_eq!(get(node.addr, HOST, "/prod/v").expect("get").0, 404);
    let listed = text(&node.cli(&["apis"]));
    assert!(
        listed.contains("svc") && listed.contains("not served"),
        "{listed}"
    );
    let out = node.cli(&["deployments", "--api", "svc"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = node.cli(&["delete-api", "--api", "nope"]);
    assert!(
        !out.status.success() && text(&out).contains("nope"),
        "{}",
        text(&out)
    );
}

/// `causeway deploy --prune` makes the node match the config: a stage the API's file no
/// longer declares, and the stages of an API whose file is gone, are deleted; the rest
/// is deployed as usual.
#[test]
fn deploy_prune_deletes_what_the_config_no_longer_has() {
    let two_stages = versioned_api("v1").replace(
        "[[stages]]\nname = \"prod\"",
        "[[stages]]\nname = \"prod\"\n[[stages]]\nname = \"beta\"",
    );
    let other = versioned_api("other").replace("id = \"svc\"", "id = \"other\"");
    let cfg = ConfigDir::new(&[("svc", &two_stages), ("other", &other)]);
    let node = Node::start(cfg.path());
    let other_host = "other.execute-api.localhost";
    assert_eq!(get(node.addr, HOST, "/beta/v").expect("get").0, 200);
    assert_eq!(get(node.addr, other_host, "/prod/v").expect("get").0, 200);

    cfg.write_api("svc", &versioned_api("v2"));
    std::fs::remove_file(cfg.path().join("apis/other.toml")).expect("remove other.toml");
    let out = node.cli(&["deploy", "--prune"]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("svc/beta: deleted") && said.contains("other/prod: deleted"),
        "{said}"
    );
    assert_eq!(
        get(node.addr, HOST, "/prod/v").expect("get"),
        (200, "v2".into())
    );
    assert_eq!(
        get(node.addr, HOST, "/beta/v").expect("get").0,
        403,
        "svc's unknown stage"
    );
    assert_eq!(get(node.addr, other_host, "/prod/v").expect("get").0, 404);
    let out = node.cli(&["deploy", "--prune", "--stage", "prod"]);
    assert!(
        !out.status.success(),
        "--prune deploys every stage: {}",
        text(&out)
    );
}
