//! Validation shared by the server and the CLI: the model's checks plus the gateway's
//! compile (route keys, templates), with every error located.

use std::collections::BTreeMap;

use causeway_gateway::{CompiledDeployment, Plugins, compile};
use causeway_model::{ApiSpec, ConfigError, ConfigErrors, ConfigSet, Deployment};

/// What a valid configuration holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigSummary {
    /// Number of APIs.
    pub apis: usize,
    /// Number of routes over all APIs.
    pub routes: usize,
}

/// Check `api` (with its stage list) and compile `deployment`, its snapshot. Every error is
/// labelled `file`; none is reported twice.
pub fn check_api(
    file: &str,
    api: &ApiSpec,
    deployment: &Deployment,
    plugins: &Plugins,
) -> Result<CompiledDeployment, ConfigErrors> {
    let mut errors = causeway_model::validate_api(file, api).0;
    match compile(deployment, plugins) {
        Ok(compiled) if errors.is_empty() => return Ok(compiled),
        Ok(_) => {}
        Err(compile_errors) => {
            for mut e in compile_errors.0 {
                e.file = file.to_owned();
                if !errors.contains(&e) {
                    errors.push(e);
                }
            }
        }
    }
    Err(ConfigErrors(errors))
}

/// Everything `causeway validate` checks beyond [`causeway_model::load_dir`]: each API
/// compiles as the gateway would compile it.
///
/// Plugins go through the node's artifact cache (`<data_dir>/artifacts`) when the data
/// directory exists: `causeway serve` validates before it opens the control plane, and
/// compiling every JavaScript or Python plugin there (seconds each) without the cache
/// made every start as slow as the first.
pub fn validate_config(set: &ConfigSet) -> Result<ConfigSummary, ConfigErrors> {
    let data = crate::data_dir(set);
    let host = crate::PluginHost::new(data.is_dir().then(|| data.join("artifacts")));
    validate_config_with(set, &host)
}

/// [`validate_config`] loading plugins into `host`: give it the host the node will serve
/// with ([`crate::Control::open_with_plugins`]) and the plugins validated here are the
/// ones served, loaded and warmed once.
pub fn validate_config_with(
    set: &ConfigSet,
    host: &crate::PluginHost,
) -> Result<ConfigSummary, ConfigErrors> {
    let mut errors = Vec::new();
    let mut routes = 0;
    for (file, api) in &set.apis {
        routes += api.routes.len();
        let snapshot = Deployment::snapshot(api, "", 0);
        // Plugins are compiled and their exports checked, as a deploy would.
        let plugins = match host.load(file, api, &|sha| config_plugin_bytes(set, api, sha)) {
            Ok(p) => p,
            Err(e) => {
                errors.extend(e.0);
                continue;
            }
        };
        if let Err(e) = check_api(file, api, &snapshot, &plugins) {
            errors.extend(e.0);
        }
    }
    ConfigErrors(errors).into_result()?;
    Ok(ConfigSummary {
        apis: set.apis.len(),
        routes,
    })
}

/// The component of `api` with this SHA-256, read from the config directory.
pub(crate) fn config_plugin_bytes(
    set: &ConfigSet,
    api: &ApiSpec,
    sha: &str,
) -> Result<Vec<u8>, String> {
    let p = api
        .plugins
        .iter()
        .find(|p| p.sha256.as_deref() == Some(sha))
        .ok_or_else(|| format!("no plugin of `{}` has SHA-256 {sha}", api.id))?;
    let path = set.dir.join(&p.file);
    std::fs::read(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
}

/// Stage names as the model accepts them.
pub(crate) fn check_stage_names(file: &str, names: &[String]) -> Result<(), ConfigErrors> {
    let errors = names
        .iter()
        .enumerate()
        .filter(|(_, n)| !valid_stage_name(n))
        .map(|(i, n)| {
            ConfigError::new(
                file,
                format!("stages[{i}]"),
                format!("`{n}` is not a valid stage name: use 1-128 letters, digits, `-` or `_`"),
            )
        })
        .collect();
    ConfigErrors(errors).into_result()
}

/// Stage variable names as the model accepts them.
pub(crate) fn check_variables(
    file: &str,
    variables: &BTreeMap<String, String>,
) -> Result<(), ConfigErrors> {
    let errors = variables
        .keys()
        .filter(|name| {
            name.is_empty()
                || name.len() > 128
                || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
        .map(|name| {
            ConfigError::new(
                file,
                format!("variables.{name}"),
                "stage variable names use 1-128 letters, digits and `_` only",
            )
        })
        .collect();
    ConfigErrors(errors).into_result()
}

fn valid_stage_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
