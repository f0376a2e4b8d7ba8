//! Loading an API's plugins into the node's engine, so a deployment compiles against
//! ready `InstancePre`s: a plugin that does not compile or does not export its declared
//! world refuses the deployment, with the plugin named, and the old one keeps serving.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use causeway_model::{
    ApiSpec, ConfigError, ConfigErrors, InstancePolicySpec, PluginSpec, PluginWorld,
};
use causeway_plugin::{InstancePolicy, Plugin, PluginEngine, PluginOptions, ReusePolicy, World};

/// An API's loaded plugins, by the name the API gives them.
pub type Plugins = HashMap<String, Arc<Plugin>>;

/// The engine world of a configured plugin.
pub fn world_of(w: PluginWorld) -> World {
    match w {
        PluginWorld::Authorizer => World::Authorizer,
        PluginWorld::Mapper => World::Mapper,
        PluginWorld::Function => World::Function,
        PluginWorld::WasiHttp => World::HttpHandler,
    }
}

/// The engine options a plugin's config asks for.
pub fn options_of(p: &PluginSpec) -> PluginOptions {
    let world = world_of(p.world);
    let mut options = PluginOptions::new(world);
    if world == World::Mapper {
        // A mapper hands back whole bodies: allow what the gateway buffers for it.
        options.limits.max_output_bytes = crate::phases::integrate::MAX_MAPPED_BODY_BYTES;
    }
    if let Some(mb) = p.memory_mb {
        options.limits.memory_bytes = usize::try_from(mb).unwrap_or(64) << 20;
    }
    if let Some(ms) = p.timeout_ms {
        options.limits.deadline = Duration::from_millis(ms);
    }
    if p.instance == InstancePolicySpec::Reuse {
        options.policy = InstancePolicy::Reuse(ReusePolicy::default());
    }
    for (k, v) in &p.config {
        options = options.with_config(k.clone(), v.clone());
    }
    for host in &p.allowed_outbound_hosts {
        options = options.allow_host(host.clone());
    }
    options
}

/// Load every plugin of `api`, getting each component's bytes from `bytes_of` (by
/// SHA-256). Every failure is reported, located at `plugins[i]` of `file`. CPU-heavy on
/// first load: call it from a blocking context.
pub fn load_plugins(
    engine: &PluginEngine,
    file: &str,
    api: &ApiSpec,
    bytes_of: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<Plugins, ConfigErrors> {
    let mut loaded = Plugins::new();
    let mut errors = Vec::new();
    for (i, p) in api.plugins.iter().enumerate() {
        let at = format!("plugins[{i}]");
        let Some(sha) = &p.sha256 else {
            errors.push(ConfigError::new(
                file,
                format!("{at}.sha256"),
                "the plugin was not hashed; deploy it with `causeway deploy`",
            ));
            continue;
        };
        let bytes = match bytes_of(sha) {
            Ok(b) => b,
            Err(e) => {
                errors.push(ConfigError::new(file, format!("{at}.file"), e));
                continue;
            }
        };
        match engine.load(&p.name, &bytes, world_of(p.world), options_of(p)) {
            Ok(plugin) => {
                loaded.insert(p.name.clone(), plugin);
            }
            Err(e) => errors.push(ConfigError::new(
                file,
                at,
                format!("plugin `{}` ({}) cannot be used: {e}", p.name, p.file),
            )),
        }
    }
    ConfigErrors(errors).into_result()?;
    Ok(loaded)
}
