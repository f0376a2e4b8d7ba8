//! [`Plugin`]: a loaded component and how its calls get an instance, run under limits,
//! and give the instance back (or throw it away).

mod calls;
mod check;
mod pool;
mod validate;

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::InstancePre;
use wasmtime::{Store, UpdateDeadline};

use crate::cache::ArtifactSource;
use crate::engine::{EngineShared, Exports, Prepared};
use crate::error::{PluginError, PluginErrorKind};
use crate::http::{HttpHandler, OutboundPolicy};
use crate::metrics::{Counters, PluginMetrics};
use crate::options::{InstancePolicy, PluginOptions, World};
use crate::state::{DeadlineExceeded, HostState, Limiter, PluginShared};

pub use calls::FunctionOutput;
pub use check::{CheckReport, Probe, local_token_request};
pub(crate) use pool::IdlePools;
use pool::{Lease, Pool};

/// A loaded plugin. Share it (`Arc<Plugin>`) between tasks: calls may run concurrently,
/// each on its own instance.
pub struct Plugin {
    shared: Arc<PluginShared>,
    world: World,
    options: PluginOptions,
    engine: Arc<EngineShared>,
    pre: InstancePre<HostState>,
    exports: Exports,
    export_names: Vec<String>,
    import_names: Vec<String>,
    pool: Option<Pool>,
    counters: Arc<Counters>,
    artifact: ArtifactSource,
    artifact_file: Option<std::path::PathBuf>,
    load_time: Duration,
    /// Itself, for the background task that tops a `reuse` pool back up.
    me: std::sync::Weak<Plugin>,
    /// Whether that task is running.
    topping_up: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.shared.name)
            .field("world", &self.world)
            .field("policy", &self.options.policy)
            .finish_non_exhaustive()
    }
}

/// Idle instances a call may take back, one at a time, before it gives up on finding a
/// free instance slot (others' calls may take the freed slots first).
const MAX_RECLAIMS: usize = 4;

/// Why an instance is created: for a call (on the request path) or ahead of calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Call,
    Warm,
}

/// Why a call failed before it was classified.
pub(crate) enum CallError {
    /// Wasmtime failed (trap, deadline, limits, ABI violation).
    Wasm(wasmtime::Error),
    /// The guest's output was refused.
    BadOutput(String),
    /// A function returned `err(message)`.
    Function(String),
}

impl From<wasmtime::Error> for CallError {
    fn from(e: wasmtime::Error) -> Self {
        CallError::Wasm(e)
    }
}

impl Plugin {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        name: &str,
        world: World,
        options: PluginOptions,
        engine: Arc<EngineShared>,
        prepared: Prepared,
        artifact: (ArtifactSource, Option<std::path::PathBuf>),
        load_time: Duration,
        me: std::sync::Weak<Plugin>,
    ) -> Plugin {
        let (artifact, artifact_file) = artifact;
        let counters = Arc::new(Counters::default());
        let pool = match options.policy {
            InstancePolicy::Fresh => None,
            InstancePolicy::Reuse(policy) => {
                Some(Pool::new(policy, counters.clone(), &engine.idle_pools))
            }
        };
        Plugin {
            shared: Arc::new(PluginShared {
                name: name.to_owned(),
                config: options.config.clone(),
                outbound: OutboundPolicy::new(&options.allowed_hosts),
            }),
            world,
            options,
            engine,
            pre: prepared.pre,
            exports: prepared.exports,
            export_names: prepared.export_names,
            import_names: prepared.import_names,
            pool,
            counters,
            artifact,
            artifact_file,
            load_time,
            me,
            topping_up: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// After a `reuse` pool lost an instance (retired, or discarded after a failure): when
    /// it holds fewer than `min_idle`, warm instances back up in a background task on the
    /// current tokio runtime (one task at a time), so the next requests do not pay for a
    /// cold instantiation. Outside a runtime nothing happens: calls instantiate on demand.
    fn top_up(&self) {
        use std::sync::atomic::Ordering;
        let (Some(pool), InstancePolicy::Reuse(policy)) = (&self.pool, self.options.policy) else {
            return;
        };
        if pool.idle() >= policy.min_idle.min(policy.max_idle) {
            return;
        }
        let (Ok(rt), Some(me)) = (tokio::runtime::Handle::try_current(), self.me.upgrade()) else {
            return;
        };
        if self.topping_up.swap(true, Ordering::AcqRel) {
            return;
        }
        rt.spawn(async move {
            if let Err(e) = me.prewarm().await {
                tracing::warn!(plugin = %me.name(), error = %e, "cannot top the warm pool up");
            }
            me.topping_up.store(false, Ordering::Release);
        });
    }

    /// The name given at load.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The world it implements.
    pub fn world(&self) -> World {
        self.world
    }

    /// The options it was loaded with.
    pub fn options(&self) -> &PluginOptions {
        &self.options
    }

    /// Where its compiled code came from (compiled, cache hit, rebuilt...).
    pub fn artifact(&self) -> &ArtifactSource {
        &self.artifact
    }

    /// The file in the engine's artifact cache that holds its compiled code (`None`
    /// without a cache). [`PluginEngine::prune_artifacts`](crate::PluginEngine::prune_artifacts)
    /// never deletes the file of a plugin it is told to keep.
    pub fn artifact_file(&self) -> Option<&std::path::Path> {
        self.artifact_file.as_deref()
    }

    /// A snapshot of its counters.
    pub fn metrics(&self) -> PluginMetrics {
        self.counters
            .snapshot(self.pool.as_ref().map_or(0, Pool::idle))
    }

    pub(crate) fn error(&self, kind: PluginErrorKind, message: impl Into<String>) -> PluginError {
        PluginError::new(kind, &self.shared.name, message)
    }

    /// A store with this plugin's limits, deadline callback and (optional) fuel.
    fn new_store(&self, now: Instant) -> Store<HostState> {
        let limits = &self.options.limits;
        let limiter = Limiter::new(limits.memory_bytes, self.engine.config.max_table_elements);
        let mut store = Store::new(
            &self.engine.engine,
            HostState::new(self.shared.clone(), limiter, now),
        );
        store.limiter(|s| &mut s.limiter);
        // Checked every epoch tick while the guest runs: yield to the executor (so a busy
        // guest never monopolizes a worker thread) until the call's deadline, then trap.
        store.epoch_deadline_callback(|ctx| {
            if Instant::now() >= ctx.data().call.deadline {
                Err(wasmtime::Error::new(DeadlineExceeded))
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store
    }

    /// Arm `store` for a call starting at `now`.
    fn begin(&self, store: &mut Store<HostState>, now: Instant) -> Result<(), PluginError> {
        let limits = &self.options.limits;
        store
            .data_mut()
            .begin_call(now + limits.deadline, limits.max_log_lines);
        store.set_epoch_deadline(1);
        if let Some(fuel) = limits.fuel {
            store
                .set_fuel(fuel)
                .map_err(|e| self.error(PluginErrorKind::Host, e.to_string()))?;
        }
        Ok(())
    }

    /// An instance for one call: a warm one from the pool, else a new one.
    async fn acquire(&self) -> Result<Lease, PluginError> {
        let started = Instant::now();
        self.counters.call();
        if let Some(mut lease) = self.pool.as_ref().and_then(|p| p.take(started)) {
            if let Err(e) = self.begin(&mut lease.store, started) {
                self.counters.observe(started.elapsed());
                return Err(e);
            }
            lease.uses += 1;
            lease.started = started;
            self.counters.reused();
            return Ok(lease);
        }
        // Boxed: instantiation's future is large (a function call's future is 568 bytes
        // with it boxed, 1,528 inline), and warm calls, which never instantiate, would
        // carry it too. A fresh call pays one allocation for it.
        Box::pin(self.instantiate(Purpose::Call, started))
            .await
            .inspect_err(|_| self.counters.observe(started.elapsed()))
    }

    /// Create instances ahead of calls, so that the first calls after a deploy pay
    /// neither for instantiation nor for the engine's first-use work (memory images):
    /// for [`InstancePolicy::Reuse`], fill the pool up to
    /// [`ReusePolicy::min_idle`](crate::ReusePolicy::min_idle); otherwise create one
    /// instance and drop it, which also proves that the component instantiates under
    /// its limits. Returns how many instances were created (counted as
    /// [`PluginMetrics::warmups`]); an error is the instantiation's.
    pub async fn prewarm(&self) -> Result<usize, PluginError> {
        let Some(pool) = &self.pool else {
            // Once is enough: the engine's first-use work is done, and the component is
            // known to instantiate under its limits.
            if self.counters.warmups() > 0 {
                return Ok(0);
            }
            self.instantiate(Purpose::Warm, Instant::now()).await?;
            return Ok(1);
        };
        let target = match self.options.policy {
            InstancePolicy::Reuse(p) => p.min_idle.min(p.max_idle),
            InstancePolicy::Fresh => 0,
        };
        let mut created = 0;
        // Bounded: a pool that retires what it is given (zero age) cannot loop forever.
        while created < target && pool.idle() < target {
            let mut lease = self.instantiate(Purpose::Warm, Instant::now()).await?;
            lease.uses = 0;
            pool.put(lease, Instant::now());
            created += 1;
        }
        Ok(created)
    }

    /// [`Plugin::prewarm`] from synchronous code (the deploy path), on a thread of its
    /// own with a private runtime, so it may be called from anywhere, an async task
    /// included (it blocks that task's thread meanwhile).
    pub fn prewarm_blocking(&self) -> Result<usize, PluginError> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| {
                            self.error(
                                PluginErrorKind::Host,
                                format!("cannot start a warm-up runtime: {e}"),
                            )
                        })?
                        .block_on(self.prewarm())
                })
                .join()
                .unwrap_or_else(|_| {
                    Err(self.error(PluginErrorKind::Host, "the warm-up thread panicked"))
                })
        })
    }

    /// The `wasi:http` entry point, for plugins loaded as [`World::HttpHandler`].
    pub(crate) fn http_handler(&self) -> Option<&HttpHandler> {
        match &self.exports {
            Exports::Http(handler) => Some(handler),
            _ => None,
        }
    }

    /// A new store armed for a call, counted as an instantiation for `purpose`.
    fn armed_store(&self, purpose: Purpose, now: Instant) -> Result<Store<HostState>, PluginError> {
        let mut store = self.new_store(now);
        self.begin(&mut store, now)?;
        match purpose {
            Purpose::Call => self.counters.instantiated(),
            Purpose::Warm => self.counters.warmed(),
        }
        Ok(store)
    }

    /// A store for a call that instantiates by itself (`wasi:http`).
    pub(crate) fn fresh_store(&self) -> Result<Store<HostState>, PluginError> {
        self.counters.call();
        self.armed_store(Purpose::Call, Instant::now())
    }

    /// Count a finished call that took `took` (calls that do not go through
    /// [`Plugin::finish`]).
    pub(crate) fn note_latency(&self, took: Duration) {
        self.counters.observe(took);
    }

    /// Count an instance thrown away after a failure.
    pub(crate) fn note_discard(&self, kind: PluginErrorKind) {
        self.counters.discarded(kind);
    }

    /// A new instance, armed for a call.
    /// (`now`: when the call started, for its deadline and latency.)
    ///
    /// A call that finds the engine out of instance slots takes one back from an idle
    /// pooled instance (any plugin's) and tries again; warming up never does (a
    /// deployment's warm-up must not empty the pools of the one serving).
    async fn instantiate(&self, purpose: Purpose, now: Instant) -> Result<Lease, PluginError> {
        let mut store = self.armed_store(purpose, now)?;
        let mut reclaimed = 0;
        loop {
            match self.pre.instantiate_async(&mut store).await {
                Ok(instance) => {
                    return Ok(Lease {
                        store,
                        instance,
                        uses: 1,
                        born: now,
                        started: now,
                        exports: pool::TypedExports::default(),
                        home: pool::NO_HOME,
                    });
                }
                Err(e) if purpose == Purpose::Call && self.slot_freed(&e, &mut reclaimed) => {
                    // A new store: a refused instantiation may have left some of the
                    // component's core instances in the old one, holding their slots.
                    store = self.new_store(now);
                    self.begin(&mut store, now)?;
                }
                Err(e) => {
                    let hit = store.data().limiter.hit;
                    let err = PluginError::from_instantiation(self.name(), &e, hit);
                    let err = self.described(err, &store);
                    self.counters.discarded(err.kind);
                    return Err(err);
                }
            }
        }
    }

    /// After a call's instantiation failed with `err`: when the engine was out of
    /// instance slots, take one back from an idle pooled instance ([`IdlePools::reclaim`])
    /// unless this call already took [`MAX_RECLAIMS`] (counted in `reclaimed`). True when
    /// a slot was freed: try again.
    pub(crate) fn slot_freed(&self, err: &wasmtime::Error, reclaimed: &mut usize) -> bool {
        let freed = *reclaimed < MAX_RECLAIMS
            && crate::error::out_of_slots(err)
            && self.engine.idle_pools.reclaim();
        *reclaimed += usize::from(freed);
        freed
    }

    pub(crate) fn wasm_error(&self, e: &wasmtime::Error, store: &Store<HostState>) -> PluginError {
        let err = PluginError::from_wasm(self.name(), e, store.data().limiter.hit);
        self.described(err, store)
    }

    /// `err` with what the guest wrote to stderr and, for a timeout, the deadline.
    fn described(&self, mut err: PluginError, store: &Store<HostState>) -> PluginError {
        let stderr = store.data().stderr.take();
        if !stderr.is_empty() {
            err.message = format!("{} (guest stderr: {stderr})", err.message);
        }
        if err.kind == PluginErrorKind::Timeout {
            err.message = format!(
                "call exceeded its {:?} deadline ({})",
                self.options.limits.deadline, err.message
            );
        }
        err
    }

    /// Settle a call: keep the instance (pool) after a clean result or a function error,
    /// throw it away after anything else.
    fn finish<T>(&self, mut lease: Lease, outcome: Result<T, CallError>) -> Result<T, PluginError> {
        lease.home = pool::here();
        let now = Instant::now();
        self.counters
            .observe(now.saturating_duration_since(lease.started));
        let (keep, result) = match outcome {
            Ok(v) => (true, Ok(v)),
            Err(CallError::Function(m)) => {
                (true, Err(self.error(PluginErrorKind::FunctionError, m)))
            }
            Err(CallError::BadOutput(m)) => (false, Err(self.error(PluginErrorKind::BadOutput, m))),
            Err(CallError::Wasm(e)) => (false, Err(self.wasm_error(&e, &lease.store))),
        };
        let lost = match (&self.pool, keep) {
            (Some(pool), true) => !pool.put(lease, now),
            (None, true) => false,
            (_, false) => {
                if let Err(e) = &result {
                    self.counters.discarded(e.kind);
                }
                true
            }
        };
        if lost {
            self.top_up();
        }
        result
    }
}
