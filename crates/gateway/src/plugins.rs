//! Loading an API's plugins into the node's engine, so a deployment compiles against
//! ready `InstancePre`s and warm instances: a plugin that does not compile, does not
//! export its declared world or cannot be instantiated refuses the deployment, with the
//! plugin named, and the old one keeps serving.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use causeway_model::{
    ApiSpec, ConfigError, ConfigErrors, InstancePolicySpec, PluginSpec, PluginWorld, PoolSpec,
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
        let pool = p.pool.unwrap_or_default();
        let count = |v: u32| usize::try_from(v).unwrap_or(usize::MAX);
        options.policy = InstancePolicy::Reuse(ReusePolicy {
            min_idle: count(pool.min_idle.unwrap_or(PoolSpec::DEFAULT_MIN_IDLE)),
            max_idle: count(pool.max_idle.unwrap_or(PoolSpec::DEFAULT_MAX_IDLE)),
            max_uses: pool.max_uses.unwrap_or(PoolSpec::DEFAULT_MAX_USES),
            max_age: Duration::from_secs(u64::from(
                pool.max_age_seconds
                    .unwrap_or(PoolSpec::DEFAULT_MAX_AGE_SECONDS),
            )),
        });
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
/// SHA-256), and warm each one up ([`Plugin::prewarm`]: a `reuse` pool gets its warm
/// instances, any other plugin one trial instance), so that a deployment built on them
/// serves its first request without compiling or instantiating cold. Components are
/// compiled (or their cached artifacts loaded) in parallel, one thread per core. Every
/// failure is reported, located at `plugins[i]` of `file`. CPU-heavy on first load: call
/// it from a blocking context.
pub fn load_plugins(
    engine: &PluginEngine,
    file: &str,
    api: &ApiSpec,
    bytes_of: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<Plugins, ConfigErrors> {
    let mut errors = Vec::new();
    // Bytes first (store reads, serial), then the CPU work in parallel.
    let mut todo = Vec::with_capacity(api.plugins.len());
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
        match bytes_of(sha) {
            Ok(bytes) => todo.push((at, p, bytes)),
            Err(e) => errors.push(ConfigError::new(file, format!("{at}.file"), e)),
        }
    }
    let results = parallel_map(todo, |(at, p, bytes)| {
        let loaded = load_one(engine, p, &bytes).map_err(|e| ConfigError::new(file, at, e));
        (p.name.clone(), loaded)
    });
    let mut loaded = Plugins::new();
    for (name, result) in results {
        match result {
            Ok(plugin) => {
                loaded.insert(name, plugin);
            }
            Err(e) => errors.push(e),
        }
    }
    ConfigErrors(errors).into_result()?;
    Ok(loaded)
}

/// Compile (or load from the artifact cache) and warm up one plugin.
fn load_one(engine: &PluginEngine, p: &PluginSpec, bytes: &[u8]) -> Result<Arc<Plugin>, String> {
    let plugin = engine
        .load(&p.name, bytes, world_of(p.world), options_of(p))
        .map_err(|e| format!("plugin `{}` ({}) cannot be used: {e}", p.name, p.file))?;
    prewarm(&plugin).map_err(|e| format!("plugin `{}` ({}) {e}", p.name, p.file))?;
    Ok(plugin)
}

/// Warm `plugin` up ([`Plugin::prewarm_blocking`]); the error says why it cannot be
/// instantiated.
pub fn prewarm(plugin: &Plugin) -> Result<usize, String> {
    plugin
        .prewarm_blocking()
        .map_err(|e| format!("cannot be instantiated: {e}"))
}

/// `f` over `items` on up to one scoped thread per core, results in input order.
fn parallel_map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(items.len());
    if workers <= 1 {
        return items.into_iter().map(f).collect();
    }
    let queue = std::sync::Mutex::new(items.into_iter().enumerate());
    let next = || {
        queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .next()
    };
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    while let Some((i, item)) = next() {
                        out.push((i, f(item)));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            // A worker that panicked re-raises here, as the serial loop would have.
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}
