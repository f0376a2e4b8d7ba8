//! `causeway plugin check FILE --world W` and `causeway plugin invoke FILE --event E`:
//! validate a component against its world (exports, imports, measured instantiate and
//! call cost, a recommended instance policy) and run it once locally.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use causeway_plugin::{EngineConfig, PluginEngine, PluginOptions, World};
use clap::{Subcommand, ValueEnum};

/// Worlds a component can be checked against.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum WorldArg {
    Authorizer,
    Mapper,
    Function,
    WasiHttp,
}

impl From<WorldArg> for World {
    fn from(w: WorldArg) -> World {
        match w {
            WorldArg::Authorizer => World::Authorizer,
            WorldArg::Mapper => World::Mapper,
            WorldArg::Function => World::Function,
            WorldArg::WasiHttp => World::HttpHandler,
        }
    }
}

/// `causeway plugin`.
#[derive(Debug, Subcommand)]
pub(crate) enum PluginCommand {
    /// Check a component against a world and measure what a call costs.
    Check {
        /// The `.wasm` component.
        file: PathBuf,
        /// The world it should implement.
        #[arg(long, value_enum)]
        world: WorldArg,
        /// Probe an authorizer with this token instead of an empty one, so that the
        /// times are those of the path real requests take.
        #[arg(long)]
        token: Option<String>,
        /// Probe a function with this proxy event JSON file instead of a minimal one.
        #[arg(long, value_name = "FILE")]
        event: Option<PathBuf>,
        /// Plugin config values, KEY=VALUE (repeatable), as in the API's `config`.
        #[arg(long = "config", value_name = "KEY=VALUE")]
        config: Vec<String>,
    },
    /// Run a component once: a `function` with a proxy event, or an `authorizer` with a
    /// token (`--token`).
    Invoke {
        /// The `.wasm` component.
        file: PathBuf,
        /// Proxy event JSON file (function world).
        #[arg(long, value_name = "FILE", conflicts_with = "token")]
        event: Option<PathBuf>,
        /// Identity token (authorizer world, TOKEN style), with or without `Bearer `: the
        /// authorizer sees `Authorization: Bearer TOKEN`.
        #[arg(long)]
        token: Option<String>,
        /// Plugin config values, KEY=VALUE (repeatable).
        #[arg(long = "config", value_name = "KEY=VALUE")]
        config: Vec<String>,
    },
}

fn load(
    file: &PathBuf,
    world: World,
    config: &[String],
) -> anyhow::Result<std::sync::Arc<causeway_plugin::Plugin>> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read `{}`", file.display()))?;
    let engine = PluginEngine::new(EngineConfig::default())
        .context("cannot start the WebAssembly engine")?;
    let mut options = PluginOptions::new(world);
    for kv in config {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("`{kv}`: write KEY=VALUE"))?;
        options = options.with_config(k, v);
    }
    let name = file
        .file_stem()
        .map_or_else(|| "plugin".into(), |s| s.to_string_lossy().into_owned());
    Ok(engine.load(&name, &bytes, world, options)?)
}

pub(crate) fn run(cmd: &PluginCommand) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cmd {
        PluginCommand::Check {
            file,
            world,
            token,
            event,
            config,
        } => {
            let probe = causeway_plugin::Probe {
                token: token.clone(),
                event: match event {
                    Some(path) => Some(
                        std::fs::read_to_string(path)
                            .with_context(|| format!("cannot read `{}`", path.display()))?,
                    ),
                    None => None,
                },
            };
            let plugin = match load(file, (*world).into(), config) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("{}: not a valid {world:?} plugin: {e:#}", file.display());
                    return Ok(ExitCode::from(crate::EXIT_CONFIG));
                }
            };
            let r = rt.block_on(plugin.check_report_with(&probe));
            println!("plugin:      {} ({:?} world)", r.plugin, r.world);
            println!("contract:    {}", r.contract);
            println!("exports:     {}", r.exports.join(", "));
            println!("imports:     {}", r.imports.join(", "));
            println!("compile:     {:?} ({:?})", r.load_time, r.artifact);
            println!("instantiate: {:?}", r.instantiate);
            if let Some(d) = r.fresh_call {
                println!("fresh call:  {d:?} (new instance per call)");
            }
            if let Some(d) = r.warm_call {
                println!("warm call:   {d:?} (reused instance)");
            }
            if let Some(answer) = &r.probe_answer {
                println!("probe:       {answer}");
            }
            if let Some(e) = &r.probe_error {
                println!("probe call:  failed: {e}");
            }
            println!(
                "recommended: instance = \"{}\" — {}",
                policy_name(&r.recommended_policy),
                r.reason
            );
        }
        PluginCommand::Invoke {
            file,
            event,
            token,
            config,
        } => {
            if let Some(event) = event {
                let plugin = load(file, World::Function, config)?;
                let ev = std::fs::read_to_string(event)
                    .with_context(|| format!("cannot read `{}`", event.display()))?;
                let started = Instant::now();
                let out = rt.block_on(plugin.invoke_function(ev))?;
                println!("{out}");
                eprintln!("took {:?}", started.elapsed());
            } else if let Some(token) = token {
                let plugin = load(file, World::Authorizer, config)?;
                let req = causeway_plugin::local_token_request(token);
                let started = Instant::now();
                let d = rt.block_on(plugin.authorize(req))?;
                println!("{d:#?}");
                eprintln!("took {:?}", started.elapsed());
            } else {
                bail!("give --event FILE (function) or --token TOKEN (authorizer)");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn policy_name(p: &causeway_plugin::InstancePolicy) -> &'static str {
    match p {
        causeway_plugin::InstancePolicy::Fresh => "fresh",
        causeway_plugin::InstancePolicy::Reuse(_) => "reuse",
    }
}
