//! The node's WebAssembly engine, created on first use (an API without plugins never pays
//! for it), with compiled artifacts cached under `<data_dir>/artifacts`, and loaded plugins
//! reused across deployments while their component and options are unchanged.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use causeway_gateway::{Plugins, load_plugins, options_of};
use causeway_model::{ApiSpec, ConfigError, ConfigErrors};
use causeway_plugin::{EngineConfig, Plugin, PluginEngine};

/// Engine plus loaded-plugin cache.
pub struct PluginHost {
    cache_dir: Option<PathBuf>,
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
            engine: OnceLock::new(),
            loaded: Mutex::new(HashMap::new()),
        }
    }

    fn engine(&self) -> Result<&PluginEngine, String> {
        self.engine
            .get_or_init(|| {
                let config = EngineConfig {
                    cache_dir: self.cache_dir.clone(),
                    ..EngineConfig::default()
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
            todo.plugins.retain(|p| match loaded.get(&cache_key(p)) {
                Some(plugin) => {
                    ready.insert(p.name.clone(), plugin.clone());
                    false
                }
                None => true,
            });
        }
        let fresh = load_plugins(engine, file, &todo, bytes_of)?;
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        for p in &todo.plugins {
            if let Some(plugin) = fresh.get(&p.name) {
                loaded.insert(cache_key(p), plugin.clone());
                ready.insert(p.name.clone(), plugin.clone());
            }
        }
        Ok(ready)
    }
}

fn cache_key(p: &causeway_model::PluginSpec) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{:?}",
        p.name,
        p.sha256.as_deref().unwrap_or(""),
        options_of(p)
    )
}
