//! `causeway openapi export` and `causeway openapi import`: an API file (or what a
//! stage serves) as an OpenAPI 3 document with API Gateway's extensions, and back.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use causeway_model::{ApiType, Deployment, load_dir_with};
use causeway_openapi::{ExportOptions, Format, ImportOptions};
use clap::{Args, Subcommand, ValueEnum};

use crate::client::Admin;
use crate::config::print_errors;
use crate::{AdminArgs, EXIT_CONFIG};

/// `causeway openapi`.
#[derive(Debug, Subcommand)]
pub(crate) enum OpenapiCommand {
    /// Write an API as an OpenAPI 3 document (API Gateway's `x-amazon-apigateway-*`
    /// extensions, Causeway's own in `x-causeway*`).
    Export(ExportArgs),
    /// Turn an OpenAPI 3 document (e.g. exported from API Gateway) into an API file for
    /// `edge-config/apis/`.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// The API.
    #[arg(long, value_name = "ID")]
    api: String,
    /// Export for this stage: its invoke URL as the server, only its settings.
    #[arg(long, value_name = "NAME")]
    stage: Option<String>,
    /// Export the deployment the stage serves on the running node (through the admin
    /// API) instead of the API file.
    #[arg(long, requires = "stage")]
    deployed: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: FormatArg,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The OpenAPI 3 document, JSON or YAML (`-`: standard input).
    file: PathBuf,
    /// The API id [default: the document's `x-causeway.id`, else made from `info.title`].
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// The API type [default: the document's `x-causeway.type`, else HTTP when it has
    /// `x-amazon-apigateway-importexport-version`, else REST].
    #[arg(long = "type", value_enum)]
    kind: Option<TypeArg>,
    /// Write the API file here (e.g. `edge-config/apis/pets.toml`) instead of standard
    /// output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Overwrite `--out` if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum FormatArg {
    Json,
    Yaml,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum TypeArg {
    Rest,
    Http,
}

pub(crate) fn run(command: &OpenapiCommand) -> anyhow::Result<ExitCode> {
    match command {
        OpenapiCommand::Export(args) => export(args),
        OpenapiCommand::Import(args) => import(args),
    }
}

fn export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let format = match args.format {
        FormatArg::Json => Format::Json,
        FormatArg::Yaml => Format::Yaml,
    };
    let document = if args.deployed {
        let stage = args.stage.as_deref().unwrap_or_default();
        let admin = Admin::connect(&args.admin)?;
        admin.get::<serde_json::Value>(&format!("/v1/apis/{}/stages/{stage}/export", args.api))?
    } else {
        let dir = &args.admin.config.config;
        let set = match load_dir_with(dir, &causeway_gateway::check_routes) {
            Ok(set) => set,
            Err(errors) => {
                print_errors(&errors.0);
                return Ok(ExitCode::from(EXIT_CONFIG));
            }
        };
        let Some(api) = set.api(&args.api) else {
            bail!("{}", crate::config::unknown_api(&set, &args.api));
        };
        let mut api = api.clone();
        let mut options = ExportOptions {
            server_url: None,
            // The id `causeway deploy` would give this definition.
            version: Some(Deployment::snapshot(&api, "", 0).id.0),
        };
        if let Some(stage) = &args.stage {
            let declared: Vec<String> = api.stages.iter().map(|s| s.name.clone()).collect();
            api.stages.retain(|s| &s.name == stage);
            if api.stages.is_empty() {
                bail!(
                    "API `{}` declares no stage `{stage}` (declared: {}); pass --deployed to export a stage of the running node",
                    args.api,
                    declared.join(", ")
                );
            }
            options.server_url = set.node.node.listener_for(api.endpoint.kind).map(|l| {
                let port = l.port();
                format!("http://{}.execute-api.localhost:{port}/{stage}", api.id)
            });
        }
        causeway_openapi::exportable(&api).map_err(anyhow::Error::msg)?;
        causeway_openapi::export(&api, &options)
    };
    let text = causeway_openapi::render(&document, format);
    match &args.out {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write `{}`", path.display()))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn import(args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let text = if args.file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the document from standard input")?;
        text
    } else {
        std::fs::read_to_string(&args.file)
            .with_context(|| format!("cannot read `{}`", args.file.display()))?
    };
    let options = ImportOptions {
        id: args.id.clone(),
        kind: args.kind.map(|k| match k {
            TypeArg::Rest => ApiType::Rest,
            TypeArg::Http => ApiType::Http,
        }),
    };
    let label = args.file.display();
    let imported = match causeway_openapi::import(&text, &options) {
        Ok(imported) => imported,
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{label}: {e}");
            }
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    for w in &imported.warnings {
        eprintln!("{label}: warning: {w}");
    }
    let toml = toml::to_string(&imported.api).context("cannot write the API as TOML")?;
    let header = format!(
        "# Imported by `causeway openapi import` from {label}.\n# Check it with `causeway validate`; deploy it with `causeway deploy --api {}`.\n",
        imported.api.id
    );
    match &args.out {
        Some(path) => {
            if path.exists() && !args.force {
                bail!("`{}` exists; pass --force to overwrite it", path.display());
            }
            std::fs::write(path, format!("{header}{toml}"))
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            eprintln!(
                "wrote API `{}` ({} routes) to {}",
                imported.api.id,
                imported.api.routes.len(),
                path.display()
            );
        }
        None => print!("{header}{toml}"),
    }
    Ok(ExitCode::SUCCESS)
}
