//! `causeway keys …` and `causeway usage-plans …`: API keys and usage plans through the
//! admin API.

use std::process::ExitCode;

use anyhow::{Context, bail};
use causeway_admin::wire::{
    ApiKeyRecord, CreatedKey, Items, KeyPatch, KeyUsage, NewKey, NewPlan, PlanPatch, PlanStage,
    UsagePlanRecord,
};
use causeway_model::{QuotaPeriodSpec, QuotaSpec, ThrottleSpec};
use clap::{Args, Subcommand};
use http::Method;

use crate::AdminArgs;
use crate::client::Admin;
use crate::table::{render, time};

/// `causeway keys`.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Create a key (printed once), or import one with --value.
    Create {
        #[command(flatten)]
        admin: AdminArgs,
        /// Human name.
        #[arg(long)]
        name: String,
        /// Import this value instead of generating one (20-128 printable characters).
        #[arg(long, value_name = "VALUE")]
        value: Option<String>,
        /// Usage plan ids to put the key in.
        #[arg(long = "plan", value_name = "PLAN_ID")]
        plans: Vec<String>,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// List keys (never their values).
    List {
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Refuse a key from now on.
    Disable {
        #[command(flatten)]
        admin: AdminArgs,
        /// Key id.
        id: String,
    },
    /// Accept a disabled key again.
    Enable {
        #[command(flatten)]
        admin: AdminArgs,
        /// Key id.
        id: String,
    },
    /// Delete a key, on every node of the mesh (its value can then be imported again).
    Delete {
        #[command(flatten)]
        admin: AdminArgs,
        /// Key id.
        id: String,
    },
}

/// `causeway usage-plans`.
#[derive(Debug, Subcommand)]
pub(crate) enum PlansCommand {
    /// Create a usage plan.
    Create(NewPlanArgs),
    /// List usage plans.
    List {
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Change a plan: only what is named changes.
    Update(PlanUpdateArgs),
    /// Put a key in a plan (API Gateway's CreateUsagePlanKey).
    AddKey {
        #[command(flatten)]
        admin: AdminArgs,
        /// Plan id.
        plan: String,
        /// Key id.
        key: String,
    },
    /// Take a key out of a plan (DeleteUsagePlanKey); the key stays.
    RemoveKey {
        #[command(flatten)]
        admin: AdminArgs,
        /// Plan id.
        plan: String,
        /// Key id.
        key: String,
    },
    /// Delete a plan; its keys stay, without it.
    Delete {
        #[command(flatten)]
        admin: AdminArgs,
        /// Plan id.
        id: String,
    },
    /// Quota use of each key of a plan in the current period.
    Usage {
        #[command(flatten)]
        admin: AdminArgs,
        /// Plan id.
        id: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct NewPlanArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// Human name.
    #[arg(long)]
    name: String,
    /// Requests per second per key.
    #[arg(long, requires = "burst")]
    rate: Option<f64>,
    /// Burst per key.
    #[arg(long, requires = "rate")]
    burst: Option<u32>,
    /// Requests per quota period per key.
    #[arg(long, requires = "quota_period")]
    quota_limit: Option<u64>,
    /// DAY, WEEK or MONTH.
    #[arg(long, value_parser = ["DAY", "WEEK", "MONTH"], requires = "quota_limit")]
    quota_period: Option<String>,
    /// Days taken off the first period.
    #[arg(long, default_value_t = 0)]
    quota_offset: u64,
    /// API stages covered, as API:STAGE (repeatable).
    #[arg(long = "stage", value_name = "API:STAGE")]
    stages: Vec<String>,
    /// A per-key throttle on one route, as `ROUTE=RATE/BURST` (e.g. `GET /pets=5/10`;
    /// repeatable).
    #[arg(long = "method-throttle", value_name = "ROUTE=RATE/BURST")]
    method_throttles: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct PlanUpdateArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// Plan id.
    id: String,
    /// New name.
    #[arg(long)]
    name: Option<String>,
    /// Requests per second per key.
    #[arg(long, requires = "burst", conflicts_with = "no_throttle")]
    rate: Option<f64>,
    /// Burst per key.
    #[arg(long, requires = "rate")]
    burst: Option<u32>,
    /// Remove the plan's throttle.
    #[arg(long)]
    no_throttle: bool,
    /// Requests per quota period per key.
    #[arg(long, requires = "quota_period", conflicts_with = "no_quota")]
    quota_limit: Option<u64>,
    /// DAY, WEEK or MONTH.
    #[arg(long, value_parser = ["DAY", "WEEK", "MONTH"], requires = "quota_limit")]
    quota_period: Option<String>,
    /// Days taken off the first period.
    #[arg(long, default_value_t = 0)]
    quota_offset: u64,
    /// Remove the plan's quota.
    #[arg(long)]
    no_quota: bool,
    /// The API stages covered from now on, as API:STAGE (repeatable; replaces the list).
    #[arg(long = "stage", value_name = "API:STAGE", conflicts_with = "no_stages")]
    stages: Vec<String>,
    /// Cover no stage any more.
    #[arg(long)]
    no_stages: bool,
    /// The per-key route throttles from now on, as `ROUTE=RATE/BURST` (repeatable;
    /// replaces them all).
    #[arg(
        long = "method-throttle",
        value_name = "ROUTE=RATE/BURST",
        conflicts_with = "no_method_throttles"
    )]
    method_throttles: Vec<String>,
    /// Remove every per-key route throttle.
    #[arg(long)]
    no_method_throttles: bool,
}

fn throttle(rate: Option<f64>, burst: Option<u32>) -> Option<ThrottleSpec> {
    match (rate, burst) {
        (Some(rate), Some(burst)) => Some(ThrottleSpec { rate, burst }),
        _ => None,
    }
}

fn quota(limit: Option<u64>, period: Option<&str>, offset: u64) -> Option<QuotaSpec> {
    let (limit, period) = (limit?, period?);
    let period = match period {
        "DAY" => QuotaPeriodSpec::Day,
        "WEEK" => QuotaPeriodSpec::Week,
        _ => QuotaPeriodSpec::Month,
    };
    Some(QuotaSpec {
        limit,
        period,
        offset,
    })
}

/// `ROUTE=RATE/BURST` (e.g. `GET /pets/{id}=5/10`), each.
fn method_throttles(
    list: &[String],
) -> anyhow::Result<std::collections::BTreeMap<String, ThrottleSpec>> {
    let mut out = std::collections::BTreeMap::new();
    for item in list {
        let parsed = item.rsplit_once('=').and_then(|(route, limits)| {
            let (rate, burst) = limits.split_once('/')?;
            Some((
                route.trim(),
                rate.trim().parse().ok()?,
                burst.trim().parse().ok()?,
            ))
        });
        let Some((route, rate, burst)) = parsed else {
            bail!("`{item}`: write ROUTE=RATE/BURST, e.g. `GET /pets/{{id}}=5/10`");
        };
        out.insert(route.to_owned(), ThrottleSpec { rate, burst });
    }
    Ok(out)
}

fn plan_stages(list: &[String]) -> anyhow::Result<Vec<PlanStage>> {
    let mut stages = Vec::new();
    for s in list {
        let (api, stage) = s
            .split_once(':')
            .with_context(|| format!("`{s}`: write API:STAGE"))?;
        if api.is_empty() || stage.is_empty() {
            bail!("`{s}`: write API:STAGE");
        }
        stages.push(PlanStage {
            api: api.to_owned(),
            stage: stage.to_owned(),
        });
    }
    Ok(stages)
}

pub(crate) fn keys(cmd: &KeysCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KeysCommand::Create {
            admin,
            name,
            value,
            plans,
            disabled,
        } => {
            let req = NewKey {
                name: name.clone(),
                value: value.clone(),
                enabled: !disabled,
                usage_plans: plans.clone(),
            };
            let created: CreatedKey =
                Admin::connect(admin)?.send(Method::POST, "/v1/apikeys", &req)?;
            println!("{} {}", created.key.id, created.value);
            eprintln!(
                "the key value is shown only now; give it to the client as the `x-api-key` header"
            );
        }
        KeysCommand::List { admin } => {
            let list: Items<ApiKeyRecord> = Admin::connect(admin)?.get("/v1/apikeys")?;
            let rows: Vec<Vec<String>> = list
                .items
                .iter()
                .map(|k| {
                    vec![
                        k.id.clone(),
                        k.name.clone(),
                        format!("{}…", k.prefix),
                        if k.enabled { "enabled" } else { "disabled" }.to_owned(),
                        k.usage_plans.join(","),
                        time(k.created_at_ms),
                    ]
                })
                .collect();
            print!(
                "{}",
                render(&["ID", "NAME", "VALUE", "STATE", "PLANS", "CREATED"], &rows)
            );
        }
        KeysCommand::Delete { admin, id } => {
            let key: ApiKeyRecord = Admin::connect(admin)?.send(
                Method::DELETE,
                &format!("/v1/apikeys/{id}"),
                &serde_json::json!({}),
            )?;
            println!("{}: deleted", key.id);
        }
        KeysCommand::Disable { admin, id } | KeysCommand::Enable { admin, id } => {
            let enabled = matches!(cmd, KeysCommand::Enable { .. });
            let patch = KeyPatch {
                enabled: Some(enabled),
                usage_plans: None,
            };
            let key: ApiKeyRecord =
                Admin::connect(admin)?.send(Method::PATCH, &format!("/v1/apikeys/{id}"), &patch)?;
            println!(
                "{}: {}",
                key.id,
                if key.enabled { "enabled" } else { "disabled" }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn plans(cmd: &PlansCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PlansCommand::Create(a) => {
            let req = NewPlan {
                name: a.name.clone(),
                throttle: throttle(a.rate, a.burst),
                quota: quota(a.quota_limit, a.quota_period.as_deref(), a.quota_offset),
                stages: plan_stages(&a.stages)?,
                method_throttles: method_throttles(&a.method_throttles)?,
            };
            let plan: UsagePlanRecord =
                Admin::connect(&a.admin)?.send(Method::POST, "/v1/usageplans", &req)?;
            println!("{}", plan.id);
        }
        PlansCommand::Update(a) => {
            let patch = PlanPatch {
                name: a.name.clone(),
                throttle: if a.no_throttle {
                    Some(None)
                } else {
                    throttle(a.rate, a.burst).map(Some)
                },
                quota: if a.no_quota {
                    Some(None)
                } else {
                    quota(a.quota_limit, a.quota_period.as_deref(), a.quota_offset).map(Some)
                },
                stages: if a.no_stages || !a.stages.is_empty() {
                    Some(plan_stages(&a.stages)?)
                } else {
                    None
                },
                method_throttles: if a.no_method_throttles || !a.method_throttles.is_empty() {
                    Some(method_throttles(&a.method_throttles)?)
                } else {
                    None
                },
            };
            if patch == PlanPatch::default() {
                bail!(
                    "nothing to change: name --name, --rate/--burst, --quota-limit/--quota-period, --stage, or a --no-… flag"
                );
            }
            let plan: UsagePlanRecord = Admin::connect(&a.admin)?.send(
                Method::PATCH,
                &format!("/v1/usageplans/{}", a.id),
                &patch,
            )?;
            println!("{}: updated", plan.id);
        }
        PlansCommand::AddKey { admin, plan, key }
        | PlansCommand::RemoveKey { admin, plan, key } => {
            let admin = Admin::connect(admin)?;
            let path = format!("/v1/apikeys/{key}");
            let current: ApiKeyRecord = admin.get(&path)?;
            let adding = matches!(cmd, PlansCommand::AddKey { .. });
            let mut plans = current.usage_plans.clone();
            plans.retain(|p| p != plan);
            if adding {
                plans.push(plan.clone());
            } else if plans.len() == current.usage_plans.len() {
                bail!(
                    "key {key} is not in plan {plan} (its plans: {})",
                    current.usage_plans.join(", ")
                );
            }
            let patch = KeyPatch {
                enabled: None,
                usage_plans: Some(plans),
            };
            let updated: ApiKeyRecord = admin.send(Method::PATCH, &path, &patch)?;
            println!("{}: plans {}", updated.id, updated.usage_plans.join(","));
        }
        PlansCommand::Delete { admin, id } => {
            let plan: UsagePlanRecord = Admin::connect(admin)?.send(
                Method::DELETE,
                &format!("/v1/usageplans/{id}"),
                &serde_json::json!({}),
            )?;
            println!("{}: deleted", plan.id);
        }
        PlansCommand::List { admin } => {
            let list: Items<UsagePlanRecord> = Admin::connect(admin)?.get("/v1/usageplans")?;
            let rows: Vec<Vec<String>> = list
                .items
                .iter()
                .map(|p| {
                    let stages: Vec<String> = p
                        .stages
                        .iter()
                        .map(|s| format!("{}:{}", s.api, s.stage))
                        .collect();
                    vec![
                        p.id.clone(),
                        p.name.clone(),
                        p.throttle
                            .map_or("-".into(), |t| format!("{}/s burst {}", t.rate, t.burst)),
                        p.quota
                            .map_or("-".into(), |q| format!("{} per {:?}", q.limit, q.period)),
                        stages.join(","),
                    ]
                })
                .collect();
            print!(
                "{}",
                render(&["ID", "NAME", "THROTTLE", "QUOTA", "STAGES"], &rows)
            );
        }
        PlansCommand::Usage { admin, id } => {
            let list: Items<KeyUsage> =
                Admin::connect(admin)?.get(&format!("/v1/usageplans/{id}/usage"))?;
            let rows: Vec<Vec<String>> = list
                .items
                .iter()
                .map(|u| {
                    vec![
                        u.key_id.clone(),
                        u.key_name.clone(),
                        u.period_start.clone().unwrap_or_else(|| "-".into()),
                        u.used.to_string(),
                        u.allowance.map_or("-".into(), |a| a.to_string()),
                    ]
                })
                .collect();
            print!(
                "{}",
                render(&["KEY", "NAME", "PERIOD", "USED", "ALLOWANCE"], &rows)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
