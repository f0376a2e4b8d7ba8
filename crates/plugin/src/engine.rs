//! [`PluginEngine`]: the one Wasmtime engine (pooling allocator, copy-on-write memory
//! images, epoch interruption driven by a ticker thread), the linker of what plugins may
//! import, the artifact cache, and [`PluginEngine::load`].

mod images;
mod spin;
mod ticker;
mod world;

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::cache::{ArtifactCache, ArtifactSource};
use crate::error::{PluginError, PluginErrorKind};
use crate::options::{EngineConfig, InstancePolicy, PluginOptions, World};
use crate::plugin::Plugin;
use crate::state::HostState;

pub(crate) use world::{AuthorizerAbi, Exports, Prepared};

/// Compiles and runs plugins. Cheap to clone; plugins keep the engine (and its ticker
/// thread) alive.
#[derive(Clone)]
pub struct PluginEngine {
    shared: Arc<EngineShared>,
}

impl std::fmt::Debug for PluginEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginEngine")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

pub(crate) struct EngineShared {
    pub(crate) engine: wasmtime::Engine,
    /// WASI 0.2 (no ambient authority), `wasi:http` (outbound requests only to a
    /// plugin's allowed hosts) and `causeway:plugin/host`.
    pub(crate) linker: Linker<HostState>,
    pub(crate) config: EngineConfig,
    cache: Option<ArtifactCache>,
    /// The `reuse` pools of the plugins loaded on it.
    pub(crate) idle_pools: crate::plugin::IdlePools,
    _ticker: ticker::Ticker,
}

const ENGINE: &str = "<engine>";

impl PluginEngine {
    /// Build the engine, start its epoch ticker and open the artifact cache.
    pub fn new(config: EngineConfig) -> Result<PluginEngine, PluginError> {
        let fail = |m: String| PluginError::new(PluginErrorKind::Config, ENGINE, m);
        if config.epoch_tick.is_zero() {
            return Err(fail("epoch_tick must be positive".to_owned()));
        }
        let instances = config.max_instances.max(1);
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(instances)
            // Interpreter components (CPython, SpiderMonkey) link several core modules,
            // tables and memories per component.
            .total_core_instances(instances.saturating_mul(16))
            .total_memories(instances.saturating_mul(2))
            .total_tables(instances.saturating_mul(8))
            .total_stacks(instances)
            .max_memory_size(config.max_memory_bytes)
            .table_elements(config.max_table_elements)
            .max_core_instance_size(4 << 20)
            .max_component_instance_size(4 << 20)
            // Dirty pages below this are reset in place (memset / copy from the image) when
            // an instance goes; above it they are decommitted with madvise, a syscall plus
            // a TLB shootdown across cores. 2 MiB covers a Rust guest's stack, data and small
            // heap (even with Rust's default 1 MiB stack; the example guests link with
            // 64 KiB): authorizer/rust-fresh 14.5 -> 13.2 µs over 512 KiB, 25 µs with 0.
            .linear_memory_keep_resident(2 << 20)
            .table_keep_resident(16 << 10);
        let mut wasm = Config::new();
        wasm.wasm_component_model(true)
            .epoch_interruption(true)
            .consume_fuel(config.fuel)
            .memory_init_cow(true)
            .max_wasm_stack(config.max_wasm_stack)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        if config.perf_map {
            wasm.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = wasmtime::Engine::new(&wasm).map_err(|e| fail(format!("{e:?}")))?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .and_then(|()| wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker))
            .and_then(|()| {
                crate::bindings::add_host_to_linker::<HostState, wasmtime::component::HasSelf<_>>(
                    &mut linker,
                    |s| s,
                )
            })
            .and_then(|()| {
                use crate::bindings::v0_2;
                v0_2::add_host_to_linker::<HostState, wasmtime::component::HasSelf<_>>(
                    &mut linker,
                    |s| s,
                )?;
                v0_2::add_types_to_linker::<HostState, wasmtime::component::HasSelf<_>>(
                    &mut linker,
                    |s| s,
                )
            })
            .map_err(|e| fail(format!("cannot build the linker: {e}")))?;

        let cache = match &config.cache_dir {
            Some(dir) => Some(
                ArtifactCache::open(dir)
                    .map_err(|e| fail(format!("cannot open cache dir {}: {e}", dir.display())))?,
            ),
            None => None,
        };
        let ticker = ticker::Ticker::start(engine.clone(), config.epoch_tick)
            .map_err(|e| fail(format!("cannot start the epoch ticker: {e}")))?;
        Ok(PluginEngine {
            shared: Arc::new(EngineShared {
                engine,
                linker,
                config,
                cache,
                idle_pools: crate::plugin::IdlePools::default(),
                _ticker: ticker,
            }),
        })
    }

    /// The settings the engine was built with.
    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// Compile `bytes` (a WebAssembly component) as plugin `name` implementing `world`,
    /// check that it exports the world's functions with the right types and imports
    /// nothing Causeway does not provide, and prepare it for instantiation.
    ///
    /// CPU-heavy on a cache miss (compiling a language runtime takes seconds): call it
    /// from a blocking context (`tokio::task::spawn_blocking`), not on an async worker.
    pub fn load(
        &self,
        name: &str,
        bytes: &[u8],
        world: World,
        options: PluginOptions,
    ) -> Result<Arc<Plugin>, PluginError> {
        let started = Instant::now();
        let err = |kind, m: String| PluginError::new(kind, name, m);
        self.check_options(world, &options)
            .map_err(|m| err(PluginErrorKind::Config, m))?;
        let engine = &self.shared.engine;
        let (component, artifact, file) = match &self.shared.cache {
            Some(cache) => cache.load(engine, bytes).map(|(c, a, f)| (c, a, Some(f))),
            None => Component::new(engine, bytes).map(|c| (c, ArtifactSource::Compiled, None)),
        }
        .map_err(|e| err(PluginErrorKind::Compile, crate::error::chain(&e)))?;
        images::build(name, &component).map_err(|e| {
            let why = crate::error::chain(&e);
            err(
                PluginErrorKind::Host,
                format!("cannot build its memory image: {why}"),
            )
        })?;
        let loaded = world::prepare(self, &component, world).map_err(|(kind, m)| err(kind, m))?;
        let load_time = started.elapsed();
        Ok(Arc::new_cyclic(|me| {
            Plugin::new(
                name,
                world,
                options,
                self.shared.clone(),
                loaded,
                (artifact, file),
                load_time,
                me.clone(),
            )
        }))
    }

    fn check_options(&self, world: World, options: &PluginOptions) -> Result<(), String> {
        let limits = &options.limits;
        if world == World::HttpHandler && options.policy != InstancePolicy::Fresh {
            return Err("wasi:http handlers run on a fresh instance per request".to_owned());
        }
        if limits.fuel.is_some() && !self.shared.config.fuel {
            return Err("limits.fuel needs an engine built with EngineConfig::fuel".to_owned());
        }
        if limits.memory_bytes > self.shared.config.max_memory_bytes {
            return Err(format!(
                "limits.memory_bytes ({}) is over the engine's max_memory_bytes ({})",
                limits.memory_bytes, self.shared.config.max_memory_bytes
            ));
        }
        if limits.deadline.is_zero() {
            return Err("limits.deadline must be positive".to_owned());
        }
        Ok(())
    }

    /// Bound the artifact cache to `max_bytes`: delete least recently used artifacts
    /// (a cache hit counts as a use), never the file of a plugin in `keep` (the plugins
    /// of the deployments being served). `None` when the engine has no cache. Does file
    /// I/O: call it off the request path.
    pub fn prune_artifacts<'a>(
        &self,
        max_bytes: u64,
        keep: impl IntoIterator<Item = &'a Plugin>,
    ) -> Option<std::io::Result<crate::cache::PruneReport>> {
        let cache = self.shared.cache.as_ref()?;
        let keep: Vec<std::path::PathBuf> = keep
            .into_iter()
            .filter_map(|p| p.artifact_file().map(std::path::Path::to_path_buf))
            .collect();
        Some(cache.prune(max_bytes, &keep))
    }

    pub(crate) fn shared(&self) -> &Arc<EngineShared> {
        &self.shared
    }
}
