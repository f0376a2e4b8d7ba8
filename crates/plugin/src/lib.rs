//! `causeway-plugin` owns Causeway's WebAssembly plugin host: it loads components that
//! implement the `causeway:plugin` worlds (see `wit/`; 0.1.0 and 0.2.0) — Lambda-style
//! **authorizers**, request/response **mappers** and **function** integrations — and
//! runs them in isolation under memory, time and output limits, returning typed
//! results or a typed [`PluginError`], never a panic.
//!
//! It must not depend on the data plane: no hyper server, no `causeway-gateway`, no
//! router, no config model. The gateway calls in with plain values
//! ([`AuthorizerRequest`], [`HttpRequest`], event JSON) and maps [`PluginError`]s to
//! its own responses.
//!
//! # Shape
//! - One [`PluginEngine`] per process: a Wasmtime engine with the pooling instance
//!   allocator and copy-on-write memory images (a fresh instance costs microseconds),
//!   epoch interruption driven by a ticker thread (deadlines), an optional artifact
//!   cache on disk, and the linker of what plugins may import: `causeway:plugin/host`
//!   (`log`, `now-ms`, `config`) and WASI 0.2 without ambient authority (no preopened
//!   directories, no environment, no network addresses, stdio discarded).
//! - [`PluginEngine::load`] compiles once (or loads the checksummed artifact), checks
//!   the component's exports against its [`World`] and its imports against the linker,
//!   and returns an `Arc<`[`Plugin`]`>`. An authorizer built against 0.2.0 (it imports
//!   0.2.0's `types`) gets the request as an `authorizer-request` resource it reads field
//!   by field; one built against 0.1.0 gets the whole record. Callers see no difference.
//! - Each call gets an instance per the plugin's [`InstancePolicy`]: `Fresh` (a new
//!   store per call) or `Reuse` (a bounded pool of warm instances, one call at a time
//!   each, retired after N uses or T seconds and discarded after any failure).
//!
//! # Async, and why
//! Calls are `async` (Wasmtime's `call_async` on a fiber). Every epoch tick a running
//! guest yields to the executor, so a slow or runaway plugin delays only its own
//! request, never the other tasks of a tokio worker, and it is cut off at its deadline
//! wherever it is. A synchronous call is a little cheaper (no fiber switch) but would
//! pin a worker thread for up to the whole deadline (1 s for an authorizer, 29 s for a
//! function), which an API gateway cannot afford. The async path stays cheap: the
//! Rust HMAC authorizer costs about 15 µs per call on a fresh instance and 7 µs on a
//! warm one, everything included (`benches/plugin.rs`). [`PluginEngine::load`] itself is
//! synchronous and CPU-bound: run it on a blocking thread.
//!
//! # Example
//! ```no_run
//! # async fn demo(wasm: &[u8], request: causeway_plugin::AuthorizerRequest) -> Result<(), causeway_plugin::PluginError> {
//! use causeway_plugin::{EngineConfig, PluginEngine, PluginOptions, World};
//!
//! let engine = PluginEngine::new(EngineConfig::default())?;
//! let options = PluginOptions::new(World::Authorizer).with_config("secret", "s3cr3t");
//! let plugin = engine.load("hmac", wasm, World::Authorizer, options)?;
//! let decision = plugin.authorize(request).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod bindings;
mod cache;
mod decision;
mod engine;
mod error;
mod facts;
mod http;
mod metrics;
mod options;
mod plugin;
pub mod proxy_response;
mod state;

pub use bindings::{
    AuthorizerDecision, AuthorizerKind, AuthorizerRequest, Effect, HttpRequest, HttpResponse,
    LogLevel, MappingError,
};
pub use cache::{ArtifactSource, PruneReport};
pub use decision::route_id;
pub use engine::PluginEngine;
pub use error::{PluginError, PluginErrorKind};
pub use facts::{AuthorizerFacts, FactPairs, FactText};
pub use http::HttpBody;
pub use metrics::{Discards, LATENCY_BUCKETS, LatencyHistogram, PluginMetrics};
pub use options::{EngineConfig, InstancePolicy, PluginLimits, PluginOptions, ReusePolicy, World};
pub use plugin::{CheckReport, FunctionOutput, Plugin, Probe, local_token_request};
pub use proxy_response::{ProxyAnswer, ProxyResponse};
