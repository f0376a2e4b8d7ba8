//! The client verbs: `deploy`, `stages`, `deployments`, `rollback`.

use std::process::ExitCode;

use anyhow::bail;
use causeway_admin::wire::{
    ApiSummary, DeployOutcome, DeployRequest, DeploymentSummary, Items, RollbackRequest,
    StageRecord,
};
use http::Method;

use crate::client::Admin;
use crate::config::load_validated;
use crate::table::{render, time};
use crate::{
    AdminArgs, DeployArgs, DeploymentsArgs, EXIT_CONFIG, RollbackArgs, StageArgs, StagesArgs,
};

/// `causeway deploy`: validate locally (refusing to send an invalid config), then deploy
/// each selected API.
pub(crate) fn deploy(args: &DeployArgs) -> anyhow::Result<ExitCode> {
    let (set, _) = match load_validated(&args.admin.config.config) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let apis: Vec<_> = match &args.api {
        Some(id) => {
            let Some(api) = set.api(id) else {
                eprintln!("{}", crate::config::unknown_api(&set, id));
                return Ok(ExitCode::from(EXIT_CONFIG));
            };
            vec![api.clone()]
        }
        None => set.apis.iter().map(|(_, a)| a.clone()).collect(),
    };
    if apis.is_empty() {
        bail!(
            "nothing to deploy: `{}` holds no API files",
            set.dir.join("apis").display()
        );
    }
    let admin = Admin::connect(&args.admin)?;
    // What the config declares, for `--prune`: (API, its stages).
    let declared: Vec<(String, Vec<String>)> = apis
        .iter()
        .map(|a| {
            (
                a.id.clone(),
                a.stages.iter().map(|s| s.name.clone()).collect(),
            )
        })
        .collect();
    for api in apis {
        let id = api.id.clone();
        upload_plugins(&admin, &set.dir, &api)?;
        let request = DeployRequest {
            api,
            stages: (!args.stages.is_empty()).then(|| args.stages.clone()),
            description: args.description.clone(),
            canary_percent: args.canary,
        };
        let out: DeployOutcome = admin.send(
            Method::POST,
            &format!("/v1/apis/{id}/deployments"),
            &request,
        )?;
        let target = match args.canary {
            Some(p) => format!("canary taking {p}% of {}", out.stages.join(", ")),
            None => out.stages.join(", "),
        };
        println!(
            "{id}: deployment {} ({}) → {target}",
            out.deployment_id,
            if out.created { "new" } else { "unchanged" },
        );
    }
    if args.prune {
        let served: Items<StageRecord> = admin.get("/v1/stages")?;
        for s in &served.items {
            let keep = match declared.iter().find(|(api, _)| *api == s.api_id) {
                Some((_, stages)) => stages.contains(&s.stage),
                // An API the config does not name: kept when only one API was deployed.
                None => args.api.is_some(),
            };
            if keep {
                continue;
            }
            let path = format!("/v1/apis/{}/stages/{}", s.api_id, s.stage);
            let _: serde_json::Value = admin.send(Method::DELETE, &path, &serde_json::json!({}))?;
            println!("{}/{}: deleted (not in the config)", s.api_id, s.stage);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Upload every plugin of `api` the node does not have yet (by SHA-256).
fn upload_plugins(
    admin: &Admin,
    dir: &std::path::Path,
    api: &causeway_model::ApiSpec,
) -> anyhow::Result<()> {
    use anyhow::Context;
    for p in &api.plugins {
        let Some(sha) = &p.sha256 else { continue };
        let path = format!("/v1/plugins/{sha}");
        if admin.exists(&path)? {
            continue;
        }
        let file = dir.join(&p.file);
        let bytes = std::fs::read(&file)
            .with_context(|| format!("cannot read plugin `{}`", file.display()))?;
        let _: serde_json::Value = admin.put_bytes(&path, bytes)?;
        println!("{}: uploaded plugin `{}` ({})", api.id, p.name, &sha[..12]);
    }
    Ok(())
}

/// `causeway stages`.
/// `causeway apis`.
pub(crate) fn apis(args: &AdminArgs) -> anyhow::Result<ExitCode> {
    let list: Items<ApiSummary> = Admin::connect(args)?.get("/v1/apis")?;
    if list.items.is_empty() {
        println!("no APIs; deploy one with `causeway deploy`");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = list
        .items
        .iter()
        .map(|a| {
            vec![
                a.id.clone(),
                a.name.clone(),
                a.kind.as_str().to_owned(),
                if a.stages.is_empty() {
                    "- (not served)".to_owned()
                } else {
                    a.stages.join(",")
                },
                a.deployments.to_string(),
            ]
        })
        .collect();
    print!(
        "{}",
        render(&["ID", "NAME", "TYPE", "STAGES", "DEPLOYMENTS"], &rows)
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn stages(args: &StagesArgs) -> anyhow::Result<ExitCode> {
    let admin = Admin::connect(&args.admin)?;
    let path = match &args.api {
        Some(api) => format!("/v1/apis/{api}/stages"),
        None => "/v1/stages".to_owned(),
    };
    let list: Items<StageRecord> = admin.get(&path)?;
    if list.items.is_empty() {
        println!("no stages; deploy one with `causeway deploy`");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = list
        .items
        .iter()
        .map(|s| {
            let vars: Vec<String> = s
                .variables
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            vec![
                s.api_id.clone(),
                s.stage.clone(),
                s.deployment_id.to_string(),
                time(s.updated_at_ms),
                s.history
                    .last()
                    .map_or_else(|| "-".to_owned(), ToString::to_string),
                vars.join(","),
                s.canary.as_ref().map_or_else(
                    || "-".to_owned(),
                    |c| format!("{}% {}", c.percent_traffic, c.deployment_id),
                ),
            ]
        })
        .collect();
    print!(
        "{}",
        render(
            &[
                "API",
                "STAGE",
                "DEPLOYMENT",
                "UPDATED",
                "PREVIOUS",
                "VARIABLES",
                "CANARY"
            ],
            &rows
        )
    );
    Ok(ExitCode::SUCCESS)
}

/// `causeway deployments`.
pub(crate) fn deployments(args: &DeploymentsArgs) -> anyhow::Result<ExitCode> {
    let admin = Admin::connect(&args.admin)?;
    let list: Items<DeploymentSummary> =
        admin.get(&format!("/v1/apis/{}/deployments", args.api))?;
    let rows: Vec<Vec<String>> = list
        .items
        .iter()
        .map(|d| {
            vec![
                d.id.to_string(),
                time(d.created_at_ms),
                d.routes.to_string(),
                if d.stages.is_empty() {
                    "-".to_owned()
                } else {
                    d.stages.join(",")
                },
                d.description.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        render(&["ID", "CREATED", "ROUTES", "STAGES", "DESCRIPTION"], &rows)
    );
    Ok(ExitCode::SUCCESS)
}

/// `causeway rollback`.
pub(crate) fn rollback(args: &RollbackArgs) -> anyhow::Result<ExitCode> {
    let admin = Admin::connect(&args.admin)?;
    let stage_path = format!("/v1/apis/{}/stages/{}", args.api, args.stage);
    let before: StageRecord = admin.get(&stage_path)?;
    let request = RollbackRequest {
        deployment_id: args.to.clone(),
    };
    let after: StageRecord =
        admin.send(Method::POST, &format!("{stage_path}/rollback"), &request)?;
    println!(
        "{}/{}: deployment {} (was {})",
        after.api_id, after.stage, after.deployment_id, before.deployment_id
    );
    Ok(ExitCode::SUCCESS)
}

/// `causeway flush-cache`.
pub(crate) fn flush_cache(args: &StageArgs) -> anyhow::Result<ExitCode> {
    let admin = Admin::connect(&args.admin)?;
    let path = format!("/v1/apis/{}/stages/{}/cache", args.api, args.stage);
    let _: serde_json::Value = admin.send(Method::DELETE, &path, &serde_json::json!({}))?;
    println!("{}/{}: cache flushed", args.api, args.stage);
    Ok(ExitCode::SUCCESS)
}

/// `causeway delete-stage`.
pub(crate) fn delete_stage(args: &StageArgs) -> anyhow::Result<ExitCode> {
    let admin = Admin::connect(&args.admin)?;
    let path = format!("/v1/apis/{}/stages/{}", args.api, args.stage);
    let _: serde_json::Value = admin.send(Method::DELETE, &path, &serde_json::json!({}))?;
    println!(
        "{}/{}: deleted (its deployments are kept; deploy the stage again to serve it)",
        args.api, args.stage
    );
    Ok(ExitCode::SUCCESS)
}

/// `causeway delete-api`.
pub(crate) fn delete_api(args: &DeploymentsArgs) -> anyhow::Result<ExitCode> {
    let admin = Admin::connect(&args.admin)?;
    let deleted: causeway_admin::wire::Items<causeway_admin::wire::StageRecord> = admin.send(
        Method::DELETE,
        &format!("/v1/apis/{}", args.api),
        &serde_json::json!({}),
    )?;
    let names: Vec<&str> = deleted.items.iter().map(|s| s.stage.as_str()).collect();
    println!(
        "{}: stages deleted: {} (its deployments are kept; `causeway deploy --api {}` serves it again)",
        args.api,
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        },
        args.api
    );
    Ok(ExitCode::SUCCESS)
}
