//! Engine-wide settings and per-plugin options: world, limits, instance policy, config.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Settings of a [`PluginEngine`](crate::PluginEngine), shared by every plugin it loads.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where compiled artifacts are cached (created `0700` if missing); `None`: compile
    /// every load.
    pub cache_dir: Option<PathBuf>,
    /// Period of the epoch ticker: the granularity of deadlines and how often a
    /// running guest yields to the async executor.
    pub epoch_tick: Duration,
    /// Instrument code for fuel metering, so that plugins may set
    /// [`PluginLimits::fuel`]. Costs some speed for every plugin; off by default.
    pub fuel: bool,
    /// Component instances alive at once, across plugins (warm pooled ones included).
    pub max_instances: u32,
    /// The largest linear memory any plugin may be given (per-plugin caps are
    /// [`PluginLimits::memory_bytes`]).
    pub max_memory_bytes: usize,
    /// Elements per table (large interpreters such as CPython need tens of thousands).
    pub max_table_elements: usize,
    /// Native stack a guest may use before it traps with a stack overflow.
    pub max_wasm_stack: usize,
    /// Write `/tmp/perf-<pid>.map` as code is loaded, so that `perf report` names the
    /// guests' functions (`wasm[N]::function[M]` or their names) instead of bare
    /// addresses. A profiling aid (the node sets it from `CAUSEWAY_PERF_MAP=1`); off by
    /// default: the file grows with every component loaded.
    pub perf_map: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            cache_dir: None,
            epoch_tick: Duration::from_millis(5),
            fuel: false,
            max_instances: 1000,
            max_memory_bytes: 1 << 30,
            max_table_elements: 100_000,
            max_wasm_stack: 1 << 20,
            perf_map: false,
        }
    }
}

/// The contract a plugin implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum World {
    /// `causeway:plugin/authorizer`: `authorize(request) -> decision`.
    Authorizer,
    /// `causeway:plugin/mapper`: `map-request` and `map-response`.
    Mapper,
    /// `causeway:plugin/function`: `handle(event-json) -> result<response-json, string>`.
    Function,
    /// `wasi:http/proxy`: exports `wasi:http/incoming-handler` (spin-sdk and
    /// `wasmtime serve` components). Imports of the Spin platform (`fermyon:spin/*`,
    /// `spin:*`, `wasi:keyvalue`, `wasi:config`) are linked to functions that trap: such
    /// a component loads, and only a call into those APIs fails.
    HttpHandler,
}

impl World {
    /// The world's fully qualified WIT name.
    pub fn wit_name(self) -> &'static str {
        match self {
            World::Authorizer => "causeway:plugin/authorizer@0.1.0",
            World::Mapper => "causeway:plugin/mapper@0.1.0",
            World::Function => "causeway:plugin/function@0.1.0",
            World::HttpHandler => "wasi:http/proxy@0.2",
        }
    }

    /// The exports the world requires, with their WIT signatures (for error messages).
    pub(crate) fn exports(self) -> &'static [(&'static str, &'static str)] {
        match self {
            World::Authorizer => &[("authorize", "func(request: authorizer-request) -> decision")],
            World::Mapper => &[
                (
                    "map-request",
                    "func(request: http-request) -> result<http-request, mapping-error>",
                ),
                (
                    "map-response",
                    "func(response: http-response) -> result<http-response, mapping-error>",
                ),
            ],
            World::Function => &[("handle", "func(event: string) -> result<string, string>")],
            World::HttpHandler => &[("wasi:http/incoming-handler@0.2", "interface")],
        }
    }
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wit_name())
    }
}

/// Resource limits of one plugin. Every call gets the full budget again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginLimits {
    /// Linear memory (all memories of the instance together) in bytes.
    pub memory_bytes: usize,
    /// Wall-clock budget of one call, instantiation included (epoch-based: rounded up
    /// to the engine's tick).
    pub deadline: Duration,
    /// Fuel per call (roughly one unit per wasm instruction); needs
    /// [`EngineConfig::fuel`].
    pub fuel: Option<u64>,
    /// Largest output accepted from one call: the decision's strings, the mapped
    /// message's headers and body, or the function's response.
    pub max_output_bytes: usize,
    /// Log lines one call may write through `host.log`; later ones are dropped.
    pub max_log_lines: u32,
}

impl PluginLimits {
    /// Defaults for `world`: 64 MiB of memory, a 6 MiB output cap (Lambda's synchronous
    /// response limit), 64 log lines, no fuel, and a deadline of 1 s for authorizers and
    /// mappers, 29 s (API Gateway's integration timeout) for functions and HTTP handlers.
    pub fn for_world(world: World) -> Self {
        let deadline = match world {
            World::Authorizer | World::Mapper => Duration::from_secs(1),
            World::Function | World::HttpHandler => Duration::from_secs(29),
        };
        PluginLimits {
            memory_bytes: 64 << 20,
            deadline,
            fuel: None,
            max_output_bytes: 6 << 20,
            max_log_lines: 64,
        }
    }
}

/// How instances are allotted to calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InstancePolicy {
    /// A new instance (and `Store`) per call: no state survives a call. Cheap for small
    /// components thanks to the pooling allocator and copy-on-write memory images.
    #[default]
    Fresh,
    /// Warm instances kept in a pool and reused, one call at a time each: for
    /// components whose instantiation is expensive (JavaScript, Python runtimes).
    /// Globals survive between calls of one instance.
    Reuse(ReusePolicy),
}

/// Bounds of the [`InstancePolicy::Reuse`] pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReusePolicy {
    /// Idle instances kept warm; concurrency beyond this instantiates extra instances
    /// that are dropped after their call.
    pub max_idle: usize,
    /// Instances [`Plugin::prewarm`](crate::Plugin::prewarm) creates ahead of the first
    /// call (capped at `max_idle`), so that it never pays for instantiation.
    pub min_idle: usize,
    /// Calls an instance serves before it is retired.
    pub max_uses: u64,
    /// Age after which an instance is retired.
    pub max_age: Duration,
}

impl Default for ReusePolicy {
    fn default() -> Self {
        ReusePolicy {
            max_idle: 8,
            min_idle: 1,
            max_uses: 10_000,
            max_age: Duration::from_secs(300),
        }
    }
}

/// Everything about a plugin besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginOptions {
    /// Resource limits.
    pub limits: PluginLimits,
    /// Fresh or reused instances.
    pub policy: InstancePolicy,
    /// Values the plugin reads with `host.config(key)` (before stage variables).
    pub config: Vec<(String, String)>,
    /// Hosts an [`World::HttpHandler`] plugin may send outbound requests to
    /// (`host` or `host:port`, exact match); empty: no outbound HTTP.
    pub allowed_hosts: Vec<String>,
}

impl PluginOptions {
    /// The defaults for `world`: [`PluginLimits::for_world`], fresh instances, no config.
    pub fn new(world: World) -> Self {
        PluginOptions {
            limits: PluginLimits::for_world(world),
            policy: InstancePolicy::Fresh,
            config: Vec::new(),
            allowed_hosts: Vec::new(),
        }
    }

    /// Set the instance policy.
    pub fn with_policy(mut self, policy: InstancePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Set the limits.
    pub fn with_limits(mut self, limits: PluginLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Add a config value.
    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.push((key.into(), value.into()));
        self
    }

    /// Allow outbound HTTP to `host` (HTTP handlers only).
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.allowed_hosts.push(host.into());
        self
    }
}
