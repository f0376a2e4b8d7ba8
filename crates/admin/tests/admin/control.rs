//! `Control` operations without HTTP.

use std::collections::BTreeMap;

use causeway_admin::{AdminError, Control, data_dir, validate_config};
use causeway_gateway::Gateway;
use causeway_model::{ApiType, Deployment, parse_api};
use causeway_store::{Store, StoreError};

use super::{api, config, open};

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn first_boot_deploys_the_config_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let set = config(tmp.path(), &[("pets", "v1")]);
    let (control, _) = open(&set);
    let stages = control.stages(Some("pets")).expect("stages");
    assert_eq!(stages.len(), 2);
    let prod = &stages[1];
    assert_eq!(
        (prod.stage.as_str(), prod.description.as_str()),
        ("prod", "Production")
    );
    assert_eq!(prod.variables, vars(&[("color", "blue")]));
    assert_eq!(stages[0].deployment_id, prod.deployment_id);
    let apis = control.apis();
    assert_eq!(apis.len(), 1);
    assert_eq!(
        (apis[0].name.as_str(), apis[0].kind),
        ("Pets", ApiType::Http)
    );
    assert_eq!(apis[0].stages, ["dev", "prod"]);
    let first = prod.deployment_id.clone();
    drop(control);

    // A changed config does not move existing stages; a new stage is deployed.
    let mut text = super::api_toml("pets", "v2");
    text.push_str("\n[[stages]]\nname = \"qa\"\n");
    std::fs::write(tmp.path().join("apis/pets.toml"), text).expect("rewrite");
    let set = causeway_model::load_dir(tmp.path()).expect("config");
    let (control, _) = open(&set);
    assert_eq!(
        control.stage("pets", "prod").expect("prod").deployment_id,
        first
    );
    let qa = control.stage("pets", "qa").expect("qa");
    assert_ne!(qa.deployment_id, first);
    assert_eq!(control.deployments("pets").expect("deployments").len(), 2);
}

#[test]
fn deploy_is_idempotent_and_keeps_history() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let set = config(tmp.path(), &[("pets", "v1")]);
    let (control, _) = open(&set);
    let v1 = control.stage("pets", "prod").expect("prod").deployment_id;

    let out = control
        .deploy(
            api("pets", "v2"),
            Some(vec!["prod".into()]),
            "second".into(),
        )
        .expect("deploy v2");
    assert!(out.created);
    assert_eq!(out.stages, ["prod"]);
    let again = control
        .deploy(api("pets", "v2"), Some(vec!["prod".into()]), String::new())
        .expect("deploy v2 again");
    assert!(!again.created);
    assert_eq!(again.deployment_id, out.deployment_id);

    let prod = control.stage("pets", "prod").expect("prod");
    assert_eq!(prod.deployment_id, out.deployment_id);
    assert_eq!(prod.history, vec![v1.clone()]);
    assert_eq!(control.stage("pets", "dev").expect("dev").deployment_id, v1);

    let list = control.deployments("pets").expect("list");
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].description, "second");
    assert_eq!(list[1].stages, ["prod"]);
    assert_eq!(list[0].stages, ["dev"]);

    // All declared stages when none are named.
    let out = control
        .deploy(api("pets", "v3"), None, String::new())
        .expect("deploy v3");
    assert_eq!(out.stages, ["prod", "dev"]);
}

#[test]
fn invalid_deploy_changes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let set = config(tmp.path(), &[("pets", "v1")]);
    let (control, _) = open(&set);
    let before = control.stages(None).expect("stages");

    let mut bad = api("pets", "v2");
    bad.routes[1].key = "GET /{proxy+}/tail".into();
    bad.routes[0].integration =
        causeway_model::IntegrationSpec::Mock(causeway_model::MockIntegration {
            status: 700,
            headers: BTreeMap::new(),
            body: String::new(),
        });
    let err = control
        .deploy(bad, None, String::new())
        .expect_err("must be refused");
    assert_eq!(err.status(), 400);
    let AdminError::Invalid(errors) = &err else {
        panic!("expected Invalid, got {err}");
    };
    let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
    assert!(fields.contains(&"routes[1].key"), "{fields:?}");
    assert!(
        fields.contains(&"routes[0].integration.status"),
        "{fields:?}"
    );
    assert!(errors.0.iter().all(|e| e.file == "<api:pets>"), "{errors}");
    assert_eq!(err.body().errors.len(), errors.0.len());

    let err = control
        .deploy(
            api("pets", "v2"),
            Some(vec!["bad/stage".into()]),
            String::new(),
        )
        .expect_err("bad stage name");
    assert_eq!(err.status(), 400);
    assert_eq!(control.stages(None).expect("stages"), before);
    assert_eq!(control.deployments("pets").expect("list").len(), 1);
}

#[test]
fn update_stage_and_rollback() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let set = config(tmp.path(), &[("pets", "v1")]);
    let (control, _) = open(&set);
    let v1 = control.stage("pets", "prod").expect("prod").deployment_id;
    let v2 = control
        .deploy(api("pets", "v2"), Some(vec!["dev".into()]), String::new())
        .expect("v2")
        .deployment_id;

    // By unambiguous prefix; variables kept.
    let rec = control
        .update_stage("pets", "prod", Some(&v2.0[..8]), None)
        .expect("point prod at v2");
    assert_eq!((&rec.deployment_id, &rec.history), (&v2, &vec![v1.clone()]));
    assert_eq!(rec.variables, vars(&[("color", "blue")]));
    let rec = control
        .update_stage("pets", "prod", None, Some(vars(&[("color", "red")])))
        .expect("variables");
    assert_eq!(rec.variables, vars(&[("color", "red")]));

    let err = control
        .update_stage("pets", "prod", Some("0123456789abcdef"), None)
        .expect_err("unknown deployment");
    assert_eq!(err.status(), 404);
    assert!(
        err.to_string().contains("causeway deployments --api pets"),
        "{err}"
    );
    let err = control
        .update_stage("pets", "prod", None, Some(vars(&[("bad-name", "x")])))
        .expect_err("bad variable");
    assert_eq!(err.status(), 400);
    assert_eq!(
        control
            .update_stage("pets", "nope", None, None)
            .map(|_| ())
            .expect_err("no stage")
            .status(),
        404
    );
    assert_eq!(
        control.stage("pets", "prod").expect("prod").deployment_id,
        v2
    );

    let rec = control.rollback("pets", "prod", None).expect("rollback");
    assert_eq!(rec.deployment_id, v1);
    assert!(rec.history.is_empty());
    let err = control
        .rollback("pets", "prod", None)
        .expect_err("no history");
    assert_eq!(err.status(), 409);
    let rec = control
        .rollback("pets", "prod", Some(&v2.0))
        .expect("to v2");
    assert_eq!(rec.deployment_id, v2);
    assert_eq!(
        control
            .rollback("pets", "qa", None)
            .map(|_| ())
            .expect_err("no stage")
            .status(),
        404
    );
    assert_eq!(
        control
            .deployments("cats")
            .map(|_| ())
            .expect_err("no api")
            .status(),
        404
    );
    assert_eq!(
        control
            .stages(Some("cats"))
            .map(|_| ())
            .expect_err("no api")
            .status(),
        404
    );
}

#[test]
fn a_stored_deployment_that_does_not_compile_is_skipped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let set = config(tmp.path(), &[("pets", "v1")]);
    // Store a deployment whose route key the gateway rejects, and point `broken` at it.
    let mut text = super::api_toml("pets", "broken");
    text = text.replace("GET /pets/{petId}", "GET /{proxy+}/tail");
    let bad_api = parse_api("bad.toml", &text).expect("the model alone accepts it");
    let bad = Deployment::snapshot(&bad_api, "", 1);
    {
        let mut store = Store::open(&data_dir(&set)).expect("store");
        store.put_deployment(bad.clone()).expect("put");
        store
            .set_stage("pets", "broken", &bad.id, None, 1)
            .expect("stage");
    }
    let control = Control::open(&set, Gateway::new(&set.node)).expect("open must not fail");
    assert_eq!(control.stages(Some("pets")).expect("stages").len(), 3);
    let prod = control.stage("pets", "prod").expect("prod").deployment_id;
    let err = control
        .update_stage("pets", "prod", Some(&bad.id.0), None)
        .expect_err("cannot point at a broken deployment");
    assert!(matches!(err, AdminError::Invalid(_)), "{err}");
    assert_eq!(
        control.stage("pets", "prod").expect("prod").deployment_id,
        prod
    );
    let rec = control
        .update_stage("pets", "broken", Some(&prod.0), None)
        .expect("repair");
    assert_eq!(rec.history, vec![bad.id.clone()]);
    assert!(matches!(
        control.rollback("pets", "broken", None),
        Err(AdminError::Invalid(_))
    ));
}

#[test]
fn validate_config_compiles_every_api() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let set = config(tmp.path(), &[("pets", "v1"), ("cats", "meow")]);
    let summary = validate_config(&set).expect("valid");
    assert_eq!((summary.apis, summary.routes), (2, 4));

    let text = super::api_toml("cats", "x").replace("GET /pets/{petId}", "GET /{proxy+}/tail");
    std::fs::write(tmp.path().join("apis/cats.toml"), text).expect("write");
    let set = causeway_model::load_dir(tmp.path()).expect("the model alone accepts it");
    let errors = validate_config(&set).expect_err("route key error");
    assert_eq!(errors.0.len(), 1, "{errors}");
    assert!(errors.0[0].file.ends_with("cats.toml"), "{errors}");
    assert_eq!(errors.0[0].field, "routes[1].key");
    assert!(matches!(
        Control::open(&set, Gateway::new(&set.node)),
        Err(AdminError::Invalid(_))
    ));
    let _ = StoreError::UnknownApi { api_id: "x".into() };
}

#[test]
fn a_component_uploaded_under_another_name_is_refused_and_not_stored() {
    use sha2::Digest;
    let tmp = tempfile::tempdir().expect("tempdir");
    let set = config(tmp.path(), &[("pets", "v1")]);
    let control = Control::open(&set, Gateway::new(&set.node)).expect("open");
    let bytes = b"component bytes";
    let real = hex::encode(sha2::Sha256::digest(bytes));
    let err = control
        .put_plugin(&"0".repeat(64), bytes)
        .expect_err("a name that is not its hash");
    assert!(err.to_string().contains(&real), "{err}");
    assert!(
        !control.has_plugin(&real),
        "nothing stored by a refused upload"
    );
    control
        .put_plugin(&real, bytes)
        .expect("under its own hash");
    assert!(control.has_plugin(&real));
}
