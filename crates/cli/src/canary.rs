//! `causeway canary set | promote | delete`: a stage's canary release.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::bail;
use causeway_admin::wire::{CanaryRequest, StageRecord};
use clap::{Args, Subcommand};
use http::Method;

use crate::StageArgs;
use crate::client::Admin;

/// `causeway canary`.
#[derive(Debug, Subcommand)]
pub(crate) enum CanaryCommand {
    /// Send a share of a stage's requests to another deployment.
    Set(SetArgs),
    /// Make the canary the stage (its deployment and variables), ending the canary.
    Promote(StageArgs),
    /// End the canary; the stage's deployment serves every request again.
    Delete(StageArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SetArgs {
    #[command(flatten)]
    stage: StageArgs,
    /// The deployment the canary serves (an id or an unambiguous prefix).
    #[arg(long, value_name = "DEPLOYMENT_ID")]
    deployment: String,
    /// Share of the stage's requests, 0 to 100 percent.
    #[arg(long, value_name = "PERCENT")]
    percent: f64,
    /// A stage variable the canary sees instead of the stage's, NAME=VALUE (repeatable).
    #[arg(long = "variable", value_name = "NAME=VALUE")]
    variables: Vec<String>,
    /// Let canary requests use the stage's response cache.
    #[arg(long)]
    use_stage_cache: bool,
}

pub(crate) fn run(command: &CanaryCommand) -> anyhow::Result<ExitCode> {
    let (args, record) = match command {
        CanaryCommand::Set(a) => {
            let mut overrides = BTreeMap::new();
            for v in &a.variables {
                let Some((k, val)) = v.split_once('=') else {
                    bail!("--variable `{v}`: write NAME=VALUE");
                };
                overrides.insert(k.to_owned(), val.to_owned());
            }
            let request = CanaryRequest {
                deployment_id: a.deployment.clone(),
                percent_traffic: a.percent,
                stage_variable_overrides: overrides,
                use_stage_cache: a.use_stage_cache,
            };
            let admin = Admin::connect(&a.stage.admin)?;
            let record: StageRecord = admin.send(Method::PUT, &path(&a.stage), &request)?;
            (&a.stage, record)
        }
        CanaryCommand::Promote(a) => {
            let admin = Admin::connect(&a.admin)?;
            let record: StageRecord = admin.send(
                Method::POST,
                &format!("{}/promote", path(a)),
                &serde_json::json!({}),
            )?;
            (a, record)
        }
        CanaryCommand::Delete(a) => {
            let admin = Admin::connect(&a.admin)?;
            let record: StageRecord =
                admin.send(Method::DELETE, &path(a), &serde_json::json!({}))?;
            (a, record)
        }
    };
    println!(
        "{}/{}: deployment {}, {}",
        args.api,
        args.stage,
        record.deployment_id,
        describe(&record)
    );
    Ok(ExitCode::SUCCESS)
}

fn path(a: &StageArgs) -> String {
    format!("/v1/apis/{}/stages/{}/canary", a.api, a.stage)
}

/// `canary 10% → 0123456789abcdef` or `no canary`.
pub(crate) fn describe(record: &StageRecord) -> String {
    match &record.canary {
        Some(c) => format!("canary {}% → {}", c.percent_traffic, c.deployment_id),
        None => "no canary".to_owned(),
    }
}
