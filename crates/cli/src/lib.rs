//! `causeway-cli` owns the `causeway` command line: `serve` (run a node: gateway plus admin
//! API), `validate` (check a config directory as a deploy would), and the client verbs
//! `deploy`, `stages`, `deployments` and `rollback`, which talk to a running node's admin
//! API over HTTP. The binary `crates/cli/main.rs` only calls [`main`].
//!
//! It is the only crate that may use `anyhow`, print to the terminal or choose exit codes
//! (0 ok, 1 failure, 2 invalid configuration). It must hold no gateway, store or
//! control-plane logic of its own: those live in `causeway-gateway`, `causeway-store` and
//! `causeway-admin`, and the client verbs go through the admin API, never the data files.
#![forbid(unsafe_code)]

mod canary;
mod client;
mod config;
mod edge;
mod hangup;
mod keys;
mod mesh;
mod openapi;
mod plugin;
mod serve;
mod table;
mod verbs;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Exit code for invalid configuration.
pub const EXIT_CONFIG: u8 = 2;

/// Self-hostable API gateway.
#[derive(Debug, Parser)]
#[command(name = "causeway", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a node: the gateway and the admin API, until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// Check a config directory as `deploy` would; print `ok: ...` or every error.
    Validate(ConfigArg),
    /// Validate the config locally, then deploy its APIs through the admin API.
    Deploy(DeployArgs),
    /// List the APIs the node serves or has deployments of.
    Apis(AdminArgs),
    /// List stages and the deployments they serve.
    Stages(StagesArgs),
    /// List the deployments of an API.
    Deployments(DeploymentsArgs),
    /// Point a stage back at its previous deployment, or at the one given.
    Rollback(RollbackArgs),
    /// Canary releases: a share of a stage's requests served by another deployment.
    #[command(subcommand)]
    Canary(canary::CanaryCommand),
    /// Drop every cached response of a stage.
    FlushCache(StageArgs),
    /// Delete a stage: it stops serving, on every node of the mesh (its deployments stay).
    DeleteStage(StageArgs),
    /// Delete every stage of an API: it stops serving everywhere (its deployments stay).
    DeleteApi(DeploymentsArgs),
    /// Check or run a WebAssembly plugin locally.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// API keys: create, import, list, enable, disable, delete.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Usage plans: per-key throttles and quotas over API stages (create, list, update, delete, usage, add-key, remove-key).
    #[command(subcommand, name = "usage-plans")]
    UsagePlans(keys::PlansCommand),
    /// OpenAPI 3 documents: export an API (or what a stage serves), import one as an API
    /// file.
    #[command(subcommand)]
    Openapi(openapi::OpenapiCommand),
    /// Run an edge node: forward each request to the nearest regional node that is up
    /// (`[mesh]` and `[edge]` in causeway.toml).
    Edge(edge::EdgeArgs),
    /// The QUIC mesh between regional nodes: mint its certificates.
    #[command(subcommand)]
    Mesh(mesh::MeshCommand),
}

#[derive(Debug, Clone, Args)]
struct ConfigArg {
    /// Config directory (`causeway.toml` and `apis/*.toml`).
    #[arg(long, value_name = "DIR", default_value = "edge-config")]
    config: PathBuf,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Gateway listener, overriding `node.listen` (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Admin listener, overriding `admin.listen`.
    #[arg(long, value_name = "ADDR")]
    admin_listen: Option<SocketAddr>,
    /// Private listener for PRIVATE APIs, overriding `node.private_listen`.
    #[arg(long, value_name = "ADDR")]
    private_listen: Option<SocketAddr>,
}

/// How client verbs reach the admin API.
#[derive(Debug, Clone, Args)]
struct AdminArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Admin API base URL [default: http://<admin.listen of the config>].
    #[arg(long, value_name = "URL", env = "CAUSEWAY_ADMIN_URL")]
    admin: Option<String>,
    /// Admin bearer token [default: the config's token, or `<data_dir>/admin.token`].
    #[arg(
        long,
        value_name = "TOKEN",
        env = "CAUSEWAY_ADMIN_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
}

#[derive(Debug, Args)]
struct DeployArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// Deploy only this API [default: every API of the config].
    #[arg(long, value_name = "ID")]
    api: Option<String>,
    /// Stage to point at the new deployment; repeat for several [default: every stage the
    /// API declares].
    #[arg(long = "stage", value_name = "NAME")]
    stages: Vec<String>,
    /// Free text stored with the deployment.
    #[arg(long, value_name = "TEXT", default_value = "")]
    description: String,
    /// Release as a canary: each stage keeps its deployment and sends PERCENT of its
    /// requests to the new one (`causeway canary promote` to finish).
    #[arg(long, value_name = "PERCENT")]
    canary: Option<f64>,
    /// Make the node match the config: delete the stages of the deployed APIs that their
    /// files no longer declare and (deploying every API) every stage of the APIs the
    /// config no longer has. Their deployments stay, to deploy again from.
    #[arg(long, conflicts_with_all = ["stages", "canary"])]
    prune: bool,
}

#[derive(Debug, Args)]
struct StagesArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// Only this API's stages.
    #[arg(long, value_name = "ID")]
    api: Option<String>,
}

/// One API on the node (`deployments`, `delete-api`).
#[derive(Debug, Args)]
struct DeploymentsArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// The API.
    #[arg(long, value_name = "ID")]
    api: String,
}

/// One stage of one API on the node (`flush-cache`, `canary promote | delete`).
#[derive(Debug, Args)]
struct StageArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// The API.
    #[arg(long, value_name = "ID")]
    api: String,
    /// The stage.
    #[arg(long, value_name = "NAME")]
    stage: String,
}

#[derive(Debug, Args)]
struct RollbackArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// The API.
    #[arg(long, value_name = "ID")]
    api: String,
    /// The stage.
    #[arg(long, value_name = "NAME")]
    stage: String,
    /// Deployment id (or an unambiguous prefix) [default: the stage's previous deployment].
    #[arg(long, value_name = "DEPLOYMENT_ID")]
    to: Option<String>,
}

/// Run `causeway` with the process's arguments.
pub fn main() -> ExitCode {
    run(std::env::args_os())
}

/// Run `causeway` with `args` (the first is the program name).
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::parse_from(args);
    let result = match cli.command {
        Command::Serve(a) => serve::run(&a),
        Command::Validate(a) => config::validate(&a),
        Command::Deploy(a) => verbs::deploy(&a),
        Command::Apis(a) => verbs::apis(&a),
        Command::Stages(a) => verbs::stages(&a),
        Command::Deployments(a) => verbs::deployments(&a),
        Command::Rollback(a) => verbs::rollback(&a),
        Command::Canary(c) => canary::run(&c),
        Command::FlushCache(a) => verbs::flush_cache(&a),
        Command::DeleteStage(a) => verbs::delete_stage(&a),
        Command::DeleteApi(a) => verbs::delete_api(&a),
        Command::Plugin(c) => plugin::run(&c),
        Command::Keys(c) => keys::keys(&c),
        Command::UsagePlans(c) => keys::plans(&c),
        Command::Openapi(c) => openapi::run(&c),
        Command::Mesh(c) => mesh::run(&c),
        Command::Edge(a) => edge::run(&a),
    };
    result.unwrap_or_else(|e| report(&e))
}

/// Print a failure; a definition the server refused as invalid exits like `validate`.
fn report(e: &anyhow::Error) -> ExitCode {
    let Some(api) = e.downcast_ref::<client::ApiError>() else {
        eprintln!("error: {e:#}");
        return ExitCode::FAILURE;
    };
    eprintln!("error: {} (HTTP {})", api.body.message, api.status);
    config::print_errors(&api.body.errors);
    if api.status == 401 {
        eprintln!(
            "hint: pass the node's token with --token or CAUSEWAY_ADMIN_TOKEN (a node without a configured token writes one to <data_dir>/admin.token)"
        );
    }
    if api.status == 400 && !api.body.errors.is_empty() {
        ExitCode::from(EXIT_CONFIG)
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
