//! API keys and usage plans on disk.

use causeway_model::{QuotaPeriodSpec, QuotaSpec, ThrottleSpec};
use causeway_store::{KeyStore, PlanChange, PlanStage, hash_key};

#[test]
fn keys_are_stored_hashed_and_survive_reopen() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut ks = KeyStore::open(tmp.path()).expect("open");
    let plan = ks
        .create_plan(
            "gold",
            Some(ThrottleSpec {
                rate: 10.0,
                burst: 20,
            }),
            Some(QuotaSpec {
                limit: 1000,
                period: QuotaPeriodSpec::Day,
                offset: 0,
            }),
            vec![PlanStage {
                api: "petstore".into(),
                stage: "prod".into(),
            }],
            1,
        )
        .expect("plan");
    let (generated, value) = ks
        .create_key("alice", None, true, vec![plan.id.clone()], 2)
        .expect("key");
    assert_eq!(value.len(), 40);
    assert_eq!(generated.hash, hash_key(&value));
    let imported = "imported-key-value-0123456789";
    let (bob, _) = ks
        .create_key("bob", Some(imported.into()), true, vec![], 3)
        .expect("import");
    assert!(
        ks.create_key("again", Some(imported.into()), true, vec![], 4)
            .is_err(),
        "duplicate value"
    );
    assert!(
        ks.create_key("short", Some("tiny".into()), true, vec![], 4)
            .is_err(),
        "too short"
    );
    assert!(
        ks.create_key("x", None, true, vec!["p-nope".into()], 4)
            .is_err(),
        "unknown plan"
    );
    ks.update_key(&bob.id, Some(false), None).expect("disable");

    let text = std::fs::read_to_string(tmp.path().join("api_keys.json")).expect("file");
    assert!(
        !text.contains(imported) && !text.contains(&value),
        "values are never written"
    );

    let ks = KeyStore::open(tmp.path()).expect("reopen");
    assert_eq!(ks.keys().len(), 2);
    assert!(!ks.key(&bob.id).expect("bob").enabled);
    assert_eq!(
        ks.key(&generated.id).expect("alice").usage_plans,
        vec![plan.id.clone()]
    );
    assert_eq!(
        ks.plan(&plan.id).expect("plan").quota.map(|q| q.limit),
        Some(1000)
    );
}

#[test]
fn invalid_plans_are_refused_and_usage_round_trips() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut ks = KeyStore::open(tmp.path()).expect("open");
    let bad_quota = QuotaSpec {
        limit: 5,
        period: QuotaPeriodSpec::Week,
        offset: 9,
    };
    assert!(
        ks.create_plan("p", None, Some(bad_quota), vec![], 0)
            .is_err()
    );
    assert!(
        ks.create_plan(
            "p",
            Some(ThrottleSpec {
                rate: 0.0,
                burst: 1
            }),
            None,
            vec![],
            0
        )
        .is_err()
    );
    assert!(ks.plans().is_empty(), "a refused plan changes nothing");
    assert_eq!(ks.load_usage().expect("load"), None);
    let usage = serde_json::json!({ "k-1": 5 });
    ks.save_usage(&usage).expect("save");
    assert_eq!(
        KeyStore::open(tmp.path())
            .expect("reopen")
            .load_usage()
            .expect("load"),
        Some(usage)
    );
}

#[test]
fn plugin_blobs_are_content_addressed_and_verified() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = causeway_store::Store::open(tmp.path()).expect("open");
    let sha = store.put_blob(b"\0asm fake component").expect("put");
    assert_eq!(sha, hash_key("\0asm fake component"));
    assert!(store.has_blob(&sha));
    assert_eq!(store.put_blob(b"\0asm fake component").expect("again"), sha);
    assert_eq!(store.blob(&sha).expect("get"), b"\0asm fake component");
    assert!(
        store.blob("../../etc/passwd").is_err(),
        "only hashes name blobs"
    );
    std::fs::write(
        tmp.path().join("plugins").join(format!("{sha}.wasm")),
        b"tampered",
    )
    .expect("tamper");
    assert!(store.blob(&sha).is_err(), "a tampered blob is refused");
}

#[test]
fn plans_change_and_deletes_stick_across_reopen() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut ks = KeyStore::open(tmp.path()).expect("open");
    let gold = ks.create_plan("gold", None, None, vec![], 1).expect("gold");
    let silver = ks
        .create_plan("silver", None, None, vec![], 1)
        .expect("silver");
    let value = "alice-key-value-0123456789";
    let (alice, _) = ks
        .create_key(
            "alice",
            Some(value.into()),
            true,
            vec![gold.id.clone(), silver.id.clone()],
            2,
        )
        .expect("alice");
    let (bob, _) = ks
        .create_key("bob", None, true, vec![silver.id.clone()], 2)
        .expect("bob");

    let throttle = ThrottleSpec {
        rate: 5.0,
        burst: 10,
    };
    let changed = ks
        .update_plan(
            &gold.id,
            PlanChange {
                name: Some("platinum".into()),
                throttle: Some(Some(throttle)),
                ..PlanChange::default()
            },
        )
        .expect("update");
    assert_eq!(
        (changed.name.as_str(), changed.throttle),
        ("platinum", Some(throttle))
    );
    let bad = ThrottleSpec {
        rate: 0.0,
        burst: 1,
    };
    assert!(
        ks.update_plan(
            &gold.id,
            PlanChange {
                throttle: Some(Some(bad)),
                ..PlanChange::default()
            }
        )
        .is_err()
    );
    assert_eq!(
        ks.plan(&gold.id).expect("gold").throttle,
        Some(throttle),
        "a refused change changes nothing"
    );
    let cleared = ks
        .update_plan(
            &gold.id,
            PlanChange {
                throttle: Some(None),
                ..PlanChange::default()
            },
        )
        .expect("clear");
    assert_eq!(
        (cleared.name.as_str(), cleared.throttle),
        ("platinum", None)
    );

    // Deleting a plan takes it off its keys; deleting a key frees its value.
    let (deleted, keys) = ks.delete_plan(&silver.id).expect("delete plan");
    assert_eq!(deleted.id, silver.id);
    let mut ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
    ids.sort_unstable();
    let mut want = vec![alice.id.as_str(), bob.id.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    assert!(ks.delete_plan(&silver.id).is_err(), "already gone");
    ks.delete_key(&alice.id).expect("delete key");
    assert!(ks.delete_key(&alice.id).is_err(), "already gone");
    ks.create_key("alice again", Some(value.into()), true, vec![], 3)
        .expect("a deleted key's value can be imported again");

    let ks = KeyStore::open(tmp.path()).expect("reopen");
    assert!(ks.plan(&silver.id).is_err());
    assert!(ks.key(&alice.id).is_err());
    assert!(ks.key(&bob.id).expect("bob").usage_plans.is_empty());
    assert_eq!(ks.plan(&gold.id).expect("gold").name, "platinum");
    assert_eq!(ks.keys().len(), 2);
}
