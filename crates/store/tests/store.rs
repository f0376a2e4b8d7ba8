//! The store against a real temporary directory.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use causeway_model::{Deployment, DeploymentId, parse_api};
use causeway_store::{HISTORY_LIMIT, StageChange, Store, StoreError};

fn deployment(api_id: &str, body: &str, now_ms: u64) -> Deployment {
    let text = format!(
        r#"
version = 1
id = "{api_id}"
name = "Test"
type = "HTTP"
[[routes]]
key = "GET /"
integration = {{ type = "MOCK", body = "{body}" }}
"#
    );
    let api = parse_api("test.toml", &text).expect("valid API");
    Deployment::snapshot(&api, format!("body {body}"), now_ms)
}

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn persists_across_reopen() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let a = deployment("pets", "a", 10);
    let b = deployment("pets", "b", 20);
    {
        let mut store = Store::open(&dir).expect("open");
        assert!(store.put_deployment(b.clone()).expect("put b"));
        assert!(store.put_deployment(a.clone()).expect("put a"));
        store
            .set_stage("pets", "prod", &a.id, Some(vars(&[("k", "v")])), 100)
            .expect("set prod");
        store
            .update_stage(
                "pets",
                "prod",
                StageChange {
                    deployment_id: Some(b.id.clone()),
                    description: Some("Production".into()),
                    ..StageChange::default()
                },
                200,
            )
            .expect("update prod");
    }
    let store = Store::open(&dir).expect("reopen");
    assert_eq!(store.api_ids(), ["pets"]);
    let ids: Vec<&DeploymentId> = store.deployments("pets").iter().map(|d| &d.id).collect();
    assert_eq!(ids, [&a.id, &b.id], "oldest first");
    assert_eq!(store.deployment("pets", &a.id), Some(&a));
    let prod = store.stage("pets", "prod").expect("prod");
    assert_eq!(prod.deployment_id, b.id);
    assert_eq!(prod.variables, vars(&[("k", "v")]));
    assert_eq!(prod.description, "Production");
    assert_eq!(prod.updated_at_ms, 200);
    assert_eq!(prod.history, vec![a.id.clone()]);
    assert_eq!(store.stages().len(), 1);
    assert!(store.deployments("other").is_empty());
}

#[test]
fn put_is_idempotent() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(tmp.path()).expect("open");
    let a = deployment("pets", "a", 10);
    assert!(store.put_deployment(a.clone()).expect("first put"));
    let later = Deployment {
        created_at_ms: 99,
        ..a.clone()
    };
    assert!(!store.put_deployment(later).expect("second put"));
    assert_eq!(
        store.deployment("pets", &a.id).map(|d| d.created_at_ms),
        Some(10)
    );
    assert_eq!(store.deployments("pets").len(), 1);
}

#[test]
fn history_and_rollback() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(tmp.path()).expect("open");
    let [a, b, c] = ["a", "b", "c"].map(|x| deployment("pets", x, 1));
    for d in [&a, &b, &c] {
        store.put_deployment(d.clone()).expect("put");
    }
    store.set_stage("pets", "prod", &a.id, None, 1).expect("a");
    store
        .set_stage("pets", "prod", &a.id, None, 2)
        .expect("a again");
    store
        .set_stage("pets", "prod", &b.id, Some(vars(&[("x", "1")])), 3)
        .expect("b");
    let rec = store.set_stage("pets", "prod", &c.id, None, 4).expect("c");
    assert_eq!(
        rec.history,
        [a.id.clone(), b.id.clone()],
        "same id is not recorded"
    );
    assert_eq!(rec.variables, vars(&[("x", "1")]), "None keeps variables");

    let rec = store.rollback("pets", "prod", None, 5).expect("back to b");
    assert_eq!((&rec.deployment_id, rec.history.len()), (&b.id, 1));
    let rec = store.rollback("pets", "prod", None, 6).expect("back to a");
    assert_eq!(rec.deployment_id, a.id);
    assert!(rec.history.is_empty());
    assert!(matches!(
        store.rollback("pets", "prod", None, 7),
        Err(StoreError::NoHistory { .. })
    ));
    let rec = store
        .rollback("pets", "prod", Some(&c.id), 8)
        .expect("to c");
    assert_eq!(
        (&rec.deployment_id, &rec.history),
        (&c.id, &vec![a.id.clone()])
    );
    assert_eq!(
        rec.variables,
        vars(&[("x", "1")]),
        "rollback keeps variables"
    );

    let reopened = Store::open(tmp.path()).expect("reopen");
    assert_eq!(reopened.stage("pets", "prod"), store.stage("pets", "prod"));
}

#[test]
fn history_is_bounded() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(tmp.path()).expect("open");
    let all: Vec<Deployment> = (0..HISTORY_LIMIT + 5)
        .map(|i| deployment("pets", &i.to_string(), 1))
        .collect();
    for d in &all {
        store.put_deployment(d.clone()).expect("put");
        store
            .set_stage("pets", "prod", &d.id, None, 1)
            .expect("set");
    }
    let rec = store.stage("pets", "prod").expect("prod");
    assert_eq!(rec.history.len(), HISTORY_LIMIT);
    assert_eq!(rec.history.last(), Some(&all[all.len() - 2].id));
    assert_eq!(rec.history.first(), Some(&all[4].id));
}

#[test]
fn tampered_deployment_file_is_skipped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = deployment("pets", "a", 1);
    let b = deployment("pets", "b", 2);
    {
        let mut store = Store::open(tmp.path()).expect("open");
        store.put_deployment(a.clone()).expect("put a");
        store.put_deployment(b.clone()).expect("put b");
    }
    let dir = tmp.path().join("deployments/pets");
    let path_a = dir.join(format!("{}.json", a.id));
    let text = fs::read_to_string(&path_a).expect("read a");
    fs::write(
        &path_a,
        text.replace("body a", "body z")
            .replace("\"a\"", "\"evil\""),
    )
    .expect("tamper");
    let path_b = dir.join(format!("{}.json", b.id));
    let text = fs::read_to_string(&path_b).expect("read b");
    fs::write(&path_b, &text[..text.len() / 2]).expect("tear");
    fs::write(dir.join("notes.txt"), "not a deployment").expect("stray file");

    let mut store = Store::open(tmp.path()).expect("reopen");
    assert!(store.deployment("pets", &a.id).is_none());
    assert!(store.deployment("pets", &b.id).is_none());
    assert!(store.deployments("pets").is_empty());
    // The intact deployment can be stored again, repairing the file.
    assert!(store.put_deployment(a.clone()).expect("put again"));
    let store = Store::open(tmp.path()).expect("reopen again");
    assert_eq!(store.deployment("pets", &a.id), Some(&a));
}

#[test]
fn stray_tmp_files_are_removed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = deployment("pets", "a", 1);
    {
        let mut store = Store::open(tmp.path()).expect("open");
        store.put_deployment(a.clone()).expect("put");
        store
            .set_stage("pets", "prod", &a.id, None, 1)
            .expect("set");
    }
    let dir = tmp.path().join("deployments/pets");
    let b = deployment("pets", "b", 2);
    fs::write(dir.join(format!("{}.json.tmp", b.id)), "{ torn").expect("stray");
    fs::write(tmp.path().join("stages.json.tmp"), "{ torn").expect("stray");

    let store = Store::open(tmp.path()).expect("reopen");
    assert_eq!(file_names(&dir), [format!("{}.json", a.id)]);
    assert_eq!(file_names(tmp.path()), ["deployments", "stages.json"]);
    assert_eq!(store.deployments("pets").len(), 1);
    assert!(store.stage("pets", "prod").is_some());
}

#[test]
fn unknown_ids_are_rejected_without_change() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(tmp.path()).expect("open");
    let a = deployment("pets", "a", 1);
    let other = deployment("cats", "a", 1);
    store.put_deployment(a.clone()).expect("put");
    store.put_deployment(other.clone()).expect("put other");
    store
        .set_stage("pets", "prod", &a.id, None, 1)
        .expect("set");
    let before = store.stage("pets", "prod").cloned();

    let missing = DeploymentId("0123456789abcdef".into());
    let err = store
        .set_stage("pets", "prod", &missing, Some(vars(&[("x", "y")])), 2)
        .expect_err("unknown deployment");
    assert!(matches!(err, StoreError::UnknownDeployment { .. }));
    assert!(err.is_not_found());
    assert!(
        err.to_string().contains("causeway deployments --api pets"),
        "{err}"
    );
    assert!(
        matches!(
            store.set_stage("pets", "prod", &other.id, None, 2),
            Err(StoreError::UnknownDeployment { .. })
        ),
        "another API's deployment"
    );
    assert!(matches!(
        store.rollback("pets", "prod", Some(&missing), 2),
        Err(StoreError::UnknownDeployment { .. })
    ));
    assert!(matches!(
        store.rollback("pets", "dev", None, 2),
        Err(StoreError::UnknownStage { .. })
    ));
    assert!(matches!(
        store.update_stage("pets", "dev", StageChange::default(), 2),
        Err(StoreError::UnknownStage { .. })
    ));
    assert!(matches!(
        store.set_stage("pets", "bad/stage", &a.id, None, 2),
        Err(StoreError::InvalidName { .. })
    ));
    // A batch with one bad change stores nothing.
    let batch = vec![
        (
            "dev".to_owned(),
            StageChange {
                deployment_id: Some(a.id.clone()),
                ..StageChange::default()
            },
        ),
        (
            "prod".to_owned(),
            StageChange {
                deployment_id: Some(missing.clone()),
                ..StageChange::default()
            },
        ),
    ];
    assert!(store.update_stages("pets", batch, 3).is_err());
    assert!(store.stage("pets", "dev").is_none());
    assert_eq!(store.stage("pets", "prod").cloned(), before);
    let reopened = Store::open(tmp.path()).expect("reopen");
    assert_eq!(reopened.stage("pets", "prod").cloned(), before);
    assert_eq!(reopened.stages().len(), 1);
}

#[test]
fn bad_deployments_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(tmp.path()).expect("open");
    let mut edited = deployment("pets", "a", 1);
    edited.api.name = "Edited".into();
    assert!(matches!(
        store.put_deployment(edited),
        Err(StoreError::Tampered { .. })
    ));
    let mut traversal = deployment("pets", "a", 1);
    traversal.id = DeploymentId("../../etc/passwd".into());
    assert!(matches!(
        store.put_deployment(traversal),
        Err(StoreError::InvalidName { .. })
    ));
    assert!(store.api_ids().is_empty());
}

#[test]
fn failed_write_leaves_state_unchanged() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(tmp.path()).expect("open");
    let [a, b] = ["a", "b"].map(|x| deployment("pets", x, 1));
    store.put_deployment(a.clone()).expect("put a");
    store.put_deployment(b.clone()).expect("put b");
    store
        .set_stage("pets", "prod", &a.id, None, 1)
        .expect("set");
    // A directory where the temporary file must go makes the write fail (even as root).
    fs::create_dir(tmp.path().join("stages.json.tmp")).expect("block");
    let err = store
        .set_stage("pets", "prod", &b.id, None, 2)
        .expect_err("write must fail");
    assert!(matches!(err, StoreError::Io { .. }), "{err}");
    let prod = store.stage("pets", "prod").expect("prod");
    assert_eq!((&prod.deployment_id, prod.updated_at_ms), (&a.id, 1));
    assert!(prod.history.is_empty());

    let c = deployment("pets", "c", 1);
    fs::create_dir(
        tmp.path()
            .join("deployments/pets")
            .join(format!("{}.json.tmp", c.id)),
    )
    .expect("block");
    assert!(store.put_deployment(c.clone()).is_err());
    assert!(store.deployment("pets", &c.id).is_none());
}

#[test]
fn corrupt_stage_file_is_an_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("stages.json"), "{ not json").expect("write");
    let err = Store::open(tmp.path()).expect_err("corrupt");
    assert!(matches!(err, StoreError::CorruptStages { .. }), "{err}");
}

#[test]
fn a_deleted_stage_stays_deleted_unless_changed_after() {
    use causeway_store::StageDeletion;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let a = deployment("pets", "a", 10);
    {
        let mut store = Store::open(&dir).expect("open");
        store.put_deployment(a.clone()).expect("put");
        store
            .set_stage("pets", "prod", &a.id, None, 100)
            .expect("prod");
        store
            .set_stage("pets", "beta", &a.id, None, 100)
            .expect("beta");
        // A delete older than the stage's last change keeps it.
        assert!(matches!(
            store.delete_stage("pets", "prod", 50).expect("old delete"),
            StageDeletion::NewerKept(_)
        ));
        assert!(matches!(
            store.delete_stage("pets", "prod", 150).expect("delete"),
            StageDeletion::Removed(r) if r.stage == "prod"
        ));
        assert_eq!(
            store.delete_stage("pets", "nope", 150).expect("absent"),
            StageDeletion::Absent
        );
        assert!(
            store.delete_stage("../x", "prod", 150).is_err(),
            "not a name"
        );
        assert!(store.delete_stage("pets", "", 150).is_err(), "not a name");
    }
    let mut store = Store::open(&dir).expect("reopen");
    assert!(store.stage("pets", "prod").is_none());
    assert_eq!(store.deleted_stage("pets", "prod"), Some(150));
    assert!(store.stage("pets", "beta").is_some());
    // Deployed again after the delete: the stage is back and no longer deleted.
    store
        .set_stage("pets", "prod", &a.id, None, 200)
        .expect("again");
    assert_eq!(store.deleted_stage("pets", "prod"), None);
    let store = Store::open(&dir).expect("reopen");
    assert!(store.stage("pets", "prod").is_some());
    assert_eq!(store.deleted_stages().len(), 1, "only `nope` is remembered");
}
