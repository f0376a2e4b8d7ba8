//! Loading a config directory, printing its errors, and `causeway validate`.

use std::fmt::Display;
use std::io;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use causeway_admin::{ConfigSummary, validate_config};
use causeway_gateway::HttpsConfig;
use causeway_model::{ConfigSet, NodeConfig, load_dir_with, parse_node};

use crate::{ConfigArg, EXIT_CONFIG};

/// Print configuration errors to stderr, one per line (`file:line: field: message`).
pub(crate) fn print_errors<E: Display>(errors: impl IntoIterator<Item = E>) {
    for e in errors {
        eprintln!("{e}");
    }
}

/// Load and fully validate `dir` (the model's checks and the gateway's compile). On
/// failure every error has been printed and the exit code is returned.
/// Refuses (printed, with the exit code) an admin listener off loopback unless the node
/// allows remote admin access (`causeway serve` and `causeway edge`).
pub(crate) fn check_admin_listen(
    addr: std::net::SocketAddr,
    node: &NodeConfig,
) -> Result<(), ExitCode> {
    if node.admin.allow_remote || addr.ip().is_loopback() {
        return Ok(());
    }
    print_errors([causeway_model::ConfigError::new(
        "--admin-listen",
        "admin.listen",
        format!(
            "{addr} is not a loopback address; set `admin.allow_remote = true` in causeway.toml to expose the admin API"
        ),
    )]);
    Err(ExitCode::from(EXIT_CONFIG))
}

pub(crate) fn load_validated(dir: &Path) -> Result<(ConfigSet, ConfigSummary), ExitCode> {
    let set = load_dir_with(dir, &causeway_gateway::check_routes).map_err(|errors| {
        print_errors(&errors.0);
        ExitCode::from(EXIT_CONFIG)
    })?;
    let summary = validate_config(&set).map_err(|errors| {
        print_errors(&errors.0);
        ExitCode::from(EXIT_CONFIG)
    })?;
    check_tls(&set)?;
    Ok((set, summary))
}

/// [`load_validated`] with plugins loaded into the host the node will serve with
/// ([`Control::plugin_host`](causeway_admin::Control::plugin_host)), returned for
/// [`Control::open_with_plugins`](causeway_admin::Control::open_with_plugins): each
/// plugin is loaded (from the artifact cache) and warmed once per start, not twice.
pub(crate) fn load_validated_for_serving(
    dir: &Path,
) -> Result<
    (
        ConfigSet,
        std::sync::Arc<causeway_admin::PluginHost>,
        Option<HttpsConfig>,
    ),
    ExitCode,
> {
    let set = load_dir_with(dir, &causeway_gateway::check_routes).map_err(|errors| {
        print_errors(&errors.0);
        ExitCode::from(EXIT_CONFIG)
    })?;
    let host = std::sync::Arc::new(causeway_admin::Control::plugin_host(&set));
    causeway_admin::validate_config_with(&set, &host).map_err(|errors| {
        print_errors(&errors.0);
        ExitCode::from(EXIT_CONFIG)
    })?;
    let https = check_tls(&set)?;
    Ok((set, host, https))
}

/// The HTTPS listener's settings (`None`: no `[node.tls]`), its certificates and keys
/// parsed and checked to belong together; the upstreams' TLS settings checked likewise.
fn check_tls(set: &ConfigSet) -> Result<Option<HttpsConfig>, ExitCode> {
    let upstream = causeway_gateway::upstream_tls(&set.node).err();
    match causeway_gateway::https_config(&set.node) {
        Ok(https) if upstream.is_none() => Ok(https),
        listener => {
            print_errors(listener.err().into_iter().chain(upstream));
            Err(ExitCode::from(EXIT_CONFIG))
        }
    }
}

/// `causeway validate`.
pub(crate) fn validate(arg: &ConfigArg) -> anyhow::Result<ExitCode> {
    Ok(match load_validated(&arg.config) {
        Ok((set, s)) => {
            if set.node.node.private_listen.is_none() {
                for (file, api) in private_apis(&set) {
                    eprintln!(
                        "warning: {file}: endpoint.type: PRIVATE API `{api}` is served only on a private listener, and the node file sets no `[node] private_listen` (set it, or pass `causeway serve --private-listen ADDR`)"
                    );
                }
            }
            println!("ok: {} APIs, {} routes", s.apis, s.routes);
            ExitCode::SUCCESS
        }
        Err(code) => code,
    })
}

/// The PRIVATE APIs of `set`: (file, API id).
pub(crate) fn private_apis(set: &ConfigSet) -> impl Iterator<Item = (&str, &str)> {
    set.apis
        .iter()
        .filter(|(_, api)| api.endpoint.kind == causeway_model::EndpointType::Private)
        .map(|(file, api)| (file.as_str(), api.id.as_str()))
}

/// Only the node file of `dir` (client verbs need nothing else); defaults when absent.
pub(crate) fn node_only(dir: &Path) -> anyhow::Result<ConfigSet> {
    let path = dir.join("causeway.toml");
    let node = match std::fs::read_to_string(&path) {
        Ok(text) => parse_node(&path.display().to_string(), &text).map_err(|errors| {
            let lines: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
            anyhow::anyhow!("{}", lines.join("\n"))
        })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => NodeConfig::default(),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read `{}`", path.display()));
        }
    };
    Ok(ConfigSet {
        dir: dir.to_owned(),
        node,
        apis: Vec::new(),
    })
}

/// Why `id` names no API of `set`, with the ids it has.
pub(crate) fn unknown_api(set: &ConfigSet, id: &str) -> String {
    let known: Vec<&str> = set.apis.iter().map(|(_, a)| a.id.as_str()).collect();
    format!(
        "{}: no API has id `{id}` (known: {})",
        set.dir.join("apis").display(),
        if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        }
    )
}
