//! `causeway-admin` is the control plane: it owns the [`Control`] object that keeps the
//! durable store, the compiled deployments and the gateway's routing table in step (deploy,
//! update a stage, roll back, list), and the admin HTTP API that exposes those operations
//! to operators and the CLI, with bearer-token auth and loopback-only access by default.
//! It also resolves the admin token and holds the validation the CLI shares with it.
//!
//! Every operation validates first (the model's checks and the gateway's compile), then
//! persists, then re-publishes the whole table atomically; a refused operation changes
//! nothing and the old deployment keeps serving.
//!
//! It depends on the model, the store and the gateway's public surface (`compile`,
//! `Gateway::publish`). It must not depend on the CLI, reach into the gateway's request
//! pipeline, or touch the store's files other than through `causeway-store`.
#![forbid(unsafe_code)]

mod audit;
mod check;
mod control;
mod error;
mod http;
mod mesh;
mod plugins;
mod token;
pub mod wire;

use std::path::PathBuf;

use causeway_model::ConfigSet;

pub use audit::AUDIT_FILE;
pub use check::{ConfigSummary, check_api, validate_config, validate_config_with};
pub use control::Control;
pub use error::{AdminError, ErrorBody, ErrorItem};
pub use http::{MAX_BODY_BYTES, MAX_PLUGIN_BYTES, serve_admin};
pub use mesh::{MeshStatus, PeerStatus, start_mesh, vouch_as_edge};
pub use plugins::PluginHost;
pub use token::{TOKEN_FILE, resolve_token};

/// The data directory of a configuration: `node.data_dir`, relative to the config directory.
pub fn data_dir(set: &ConfigSet) -> PathBuf {
    set.dir.join(&set.node.node.data_dir)
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
