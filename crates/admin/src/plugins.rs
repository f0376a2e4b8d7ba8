//! The node's WebAssembly engine, created on first use (an API without plugins never pays
//! for it), with compiled artifacts cached under `<data_dir>/artifacts` (bounded, least
//! recently used first, never those of served plugins), and loaded plugins reused across
//! deployments of an API while their component and options are unchanged.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use causeway_gateway::{CompiledDeployment, Plugins, load_plugins, options_of, prewarm};
use causeway_model::{ApiSpec, ConfigError, ConfigErrors};
use causeway_plugin::{EngineConfig, Plugin, PluginEngine};

/// Engine plus loaded-plugin cache.
pub struct PluginHost {
    cache_dir: Option<PathBuf>,
    /// Bound of the artifact cache in bytes (`None`: unbounded).
    cache_bound: Option<u64>,
    /// [`EngineConfig::perf_map`].
    perf_map: bool,
    /// [`EngineConfig::max_instances`] (`None`: the engine's default).
    max_instances: Option<u32>,
    engine: OnceLock<Result<PluginEngine, String>>,
    loaded: Mutex<HashMap<String, Arc<Plugin>>>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("cache_dir", &self.cache_dir)
            .finish()
    }
}

impl PluginHost {
    /// A host whose compiled artifacts go to `cache_dir` (none: compile every time).
    pub fn new(cache_dir: Option<PathBuf>) -> PluginHost {
        PluginHost {
            cache_dir,
            cache_bound: None,
            perf_map: false,
            max_instances: None,
            engine: OnceLock::new(),
            loaded: Mutex::new(HashMap::new()),
        }
    }

    /// Keep the artifact cache under `bytes` (see [`PluginHost::retain_live`]).
    pub fn with_cache_bound(mut self, bytes: u64) -> PluginHost {
        self.cache_bound = Some(bytes);
        self
    }

    /// Name guest functions for `perf` ([`EngineConfig::perf_map`]).
    pub fn with_perf_map(mut self, on: bool) -> PluginHost {
        self.perf_map = on;
        self
    }

    /// Plugin instances alive at once ([`EngineConfig::max_instances`]).
    pub fn with_max_instances(mut self, instances: u32) -> PluginHost {
        self.max_instances = Some(instances);
        self
    }

    fn engine(&self) -> Result<&PluginEngine, String> {
        self.engine
            .get_or_init(|| {
                let defaults = EngineConfig::default();
                let config = EngineConfig {
                    cache_dir: self.cache_dir.clone(),
                    perf_map: self.perf_map,
                    max_instances: self.max_instances.unwrap_or(defaults.max_instances),
                    ..defaults
                };
                PluginEngine::new(config)
                    .map_err(|e| format!("cannot start the WebAssembly engine: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Load the plugins of `api`, component bytes from `bytes_of(sha256)`; every error is
    /// located in `file`.
    pub fn load(
        &self,
        file: &str,
        api: &ApiSpec,
        bytes_of: &dyn Fn(&str) -> Result<Vec<u8>, String>,
    ) -> Result<Plugins, ConfigErrors> {
        if api.plugins.is_empty() {
            return Ok(Plugins::new());
        }
        let engine = self
            .engine()
            .map_err(|e| ConfigErrors(vec![ConfigError::new(file, "plugins", e)]))?;
        let mut ready = Plugins::new();
        let mut todo = api.clone();
        {
            let loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
            todo.plugins
                .retain(|p| match loaded.get(&cache_key(&api.id, p)) {
                    Some(plugin) => {
                        ready.insert(p.name.clone(), plugin.clone());
                        false
                    }
                    None => true,
                });
        }
        // Already loaded: top their pools up again (instances retire with age).
        let mut errors = Vec::new();
        for (i, p) in api.plugins.iter().enumerate() {
            if let Some(plugin) = ready.get(&p.name)
                && let Err(e) = prewarm(plugin)
            {
                let message = format!("plugin `{}` ({}) {e}", p.name, p.file);
                errors.push(ConfigError::new(file, format!("plugins[{i}]"), message));
            }
        }
        ConfigErrors(errors).into_result()?;
        let fresh = load_plugins(engine, file, &todo, bytes_of)?;
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        for p in &todo.plugins {
            if let Some(plugin) = fresh.get(&p.name) {
                loaded.insert(cache_key(&api.id, p), plugin.clone());
                ready.insert(p.name.clone(), plugin.clone());
            }
        }
        Ok(ready)
    }

    /// Forget loaded plugins that none of `live` (the deployments being served) uses,
    /// and bound the artifact cache, never deleting the artifact of a live plugin.
    pub fn retain_live<'a>(&self, live: impl IntoIterator<Item = &'a CompiledDeployment>) {
        let live: Vec<&Arc<Plugin>> = live
            .into_iter()
            .flat_map(|d| d.plugins().map(|(_, p)| p))
            .collect();
        self.loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, p| live.iter().any(|l| Arc::ptr_eq(l, p)));
        let (Some(bound), Some(Ok(engine))) = (self.cache_bound, self.engine.get()) else {
            return;
        };
        match engine.prune_artifacts(bound, live.iter().map(|p| p.as_ref())) {
            Some(Ok(report)) if report.evicted > 0 => tracing::info!(
                evicted = report.evicted,
                evicted_bytes = report.evicted_bytes,
                kept_bytes = report.kept_bytes,
                "plugin artifact cache pruned"
            ),
            Some(Err(e)) => tracing::warn!(error = %e, "cannot prune the plugin artifact cache"),
            _ => {}
        }
    }
}

/// Plugins are shared between deployments of one API only: a `reuse` instance's state
/// never crosses APIs.
fn cache_key(api_id: &str, p: &causeway_model::PluginSpec) -> String {
    format!(
        "{api_id}\u{1f}{}\u{1f}{}\u{1f}{:?}",
        p.name,
        p.sha256.as_deref().unwrap_or(""),
        options_of(p)
    )
}
