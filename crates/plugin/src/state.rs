//! What a `Store` carries: the minimal WASI context, the resource limiter, the state of
//! the current call, and the `causeway:plugin/host` imports implemented over it.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use wasmtime::ResourceLimiter;
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::{Host, LogLevel};
use crate::error::truncate;
use crate::facts::{AuthorizerFacts, FactPairs};
use crate::http::OutboundPolicy;

mod facts;
mod stderr;

pub use facts::RequestFacts;
pub(crate) use stderr::StderrTail;

/// Returned by the epoch callback when a call is past its deadline.
#[derive(Debug, thiserror::Error)]
#[error("call exceeded its deadline")]
pub(crate) struct DeadlineExceeded;

/// Returned by the limiter when the guest asks for more memory than it may have.
#[derive(Debug, thiserror::Error)]
#[error("memory limit of {limit} bytes exceeded: the guest asked for {asked} bytes")]
pub(crate) struct MemoryLimitExceeded {
    limit: usize,
    asked: usize,
}

/// What every store of one plugin shares.
#[derive(Debug)]
pub(crate) struct PluginShared {
    pub(crate) name: String,
    pub(crate) config: Vec<(String, String)>,
    pub(crate) outbound: OutboundPolicy,
}

/// Per-call state, reset by [`HostState::begin_call`].
#[derive(Debug)]
pub(crate) struct CallState {
    pub(crate) deadline: Instant,
    /// What an authorizer call is asked (its stage variables are `config`'s fallback).
    pub(crate) facts: Option<Lent>,
    /// The request the call is for, when the caller says (authorizers): attached to the
    /// guest's log lines.
    pub(crate) request_id: String,
    pub(crate) logs_left: u32,
}

/// Facts lent to the store for one authorizer call, taken back when it returns.
pub(crate) struct Lent(pub(crate) Box<dyn AuthorizerFacts>);

impl std::fmt::Debug for Lent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lent(..)")
    }
}

/// Counts memory across all of an instance's memories and refuses growth past the cap.
#[derive(Debug)]
pub(crate) struct Limiter {
    memory_cap: usize,
    table_elements_cap: usize,
    memory_total: usize,
    last_grow: usize,
    /// Set once the cap refused a growth: a later trap is then a memory-limit failure.
    pub(crate) hit: bool,
}

impl Limiter {
    pub(crate) fn new(memory_cap: usize, table_elements_cap: usize) -> Self {
        Limiter {
            memory_cap,
            table_elements_cap,
            memory_total: 0,
            last_grow: 0,
            hit: false,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let grow = desired.saturating_sub(current);
        let total = self.memory_total.saturating_add(grow);
        if total > self.memory_cap {
            self.hit = true;
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                limit: self.memory_cap,
                asked: total,
            }));
        }
        self.memory_total = total;
        self.last_grow = grow;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.memory_total = self.memory_total.saturating_sub(self.last_grow);
        self.last_grow = 0;
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements_cap {
            self.hit = true;
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                limit: self.table_elements_cap,
                asked: desired,
            }));
        }
        Ok(true)
    }
}

/// The data of every plugin `Store`.
pub(crate) struct HostState {
    /// Built on the guest's first WASI call, not with the store: most calls of most
    /// plugins make none (a Rust authorizer only uses `causeway:plugin/host`), and a
    /// default context (boxed clocks and stdio, random generators seeded from the
    /// thread's RNG, built twice by `WasiCtxBuilder::build`) costs about as much as a
    /// whole small authorizer call on a fresh instance.
    wasi: Option<WasiCtx>,
    table: ResourceTable,
    pub(crate) limiter: Limiter,
    plugin: Arc<PluginShared>,
    pub(crate) call: CallState,
    /// `authorizer-request` handles the guest holds: given minus dropped (a guest whose
    /// bindings drop them only when collected, as componentize-js's, keeps one per call).
    pub(crate) held_requests: u32,
    /// The tail of what the guest wrote to stderr.
    pub(crate) stderr: StderrTail,
    http: WasiHttpCtx,
    outbound: OutboundPolicy,
}

impl HostState {
    pub(crate) fn new(plugin: Arc<PluginShared>, limiter: Limiter, now: Instant) -> Self {
        let stderr = StderrTail::default();
        let outbound = plugin.outbound.clone();
        HostState {
            wasi: None,
            table: ResourceTable::new(),
            limiter,
            plugin,
            call: CallState {
                deadline: now,
                facts: None,
                request_id: String::new(),
                logs_left: 0,
            },
            held_requests: 0,
            stderr,
            http: WasiHttpCtx::new(),
            outbound,
        }
    }

    /// Reset per-call state before the store runs guest code for a new call.
    pub(crate) fn begin_call(&mut self, deadline: Instant, logs: u32) {
        self.call.deadline = deadline;
        self.call.facts = None;
        self.call.request_id.clear();
        self.call.logs_left = logs;
        self.stderr.take();
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let stderr = &self.stderr;
        // No args, env, preopens or network; stdin closed, stdout discarded, the tail of
        // stderr kept for error reports.
        let ctx = self
            .wasi
            .get_or_insert_with(|| WasiCtx::builder().stderr(stderr.clone()).build());
        WasiCtxView {
            ctx,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

/// Longest log message kept; the rest is cut.
const MAX_LOG_MESSAGE: usize = 4096;

impl Host for HostState {
    fn log(
        &mut self,
        level: LogLevel,
        message: String,
        fields: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        self.guest_log(level, message, &fields);
        Ok(())
    }

    fn now_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(now_ms())
    }

    fn config(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.config_value(&key))
    }
}

impl HostState {
    /// `host.log`: a line into the gateway's tracing, within the call's budget.
    pub(crate) fn guest_log(
        &mut self,
        level: LogLevel,
        message: String,
        fields: &[(String, String)],
    ) {
        if self.call.logs_left == 0 {
            return;
        }
        self.call.logs_left -= 1;
        let mut message = message;
        truncate(&mut message, MAX_LOG_MESSAGE);
        let mut rendered = String::new();
        for (k, v) in fields {
            if rendered.len() > MAX_LOG_MESSAGE {
                break;
            }
            if !rendered.is_empty() {
                rendered.push(' ');
            }
            rendered.push_str(k);
            rendered.push('=');
            rendered.push_str(v);
        }
        truncate(&mut rendered, MAX_LOG_MESSAGE);
        let plugin = self.plugin.name.as_str();
        let request_id = self.call.request_id.as_str();
        let fields = rendered.as_str();
        match level {
            LogLevel::Trace => {
                tracing::trace!(target: "causeway_plugin::guest", plugin, request_id, fields, "{message}")
            }
            LogLevel::Debug => {
                tracing::debug!(target: "causeway_plugin::guest", plugin, request_id, fields, "{message}")
            }
            LogLevel::Info => {
                tracing::info!(target: "causeway_plugin::guest", plugin, request_id, fields, "{message}")
            }
            LogLevel::Warn => {
                tracing::warn!(target: "causeway_plugin::guest", plugin, request_id, fields, "{message}")
            }
            LogLevel::Error => {
                tracing::error!(target: "causeway_plugin::guest", plugin, request_id, fields, "{message}")
            }
        }
    }

    /// `host.config`: the plugin's own config first, then the call's stage variables.
    pub(crate) fn config_value(&self, key: &str) -> Option<String> {
        if let Some((_, v)) = self.plugin.config.iter().find(|(k, _)| k == key) {
            return Some(v.clone());
        }
        let facts = &self.call.facts.as_ref()?.0;
        Some(facts.find(FactPairs::StageVariables, key)?.into_owned())
    }
}

/// `host.now-ms`: wall-clock milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
