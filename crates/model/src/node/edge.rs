//! `[edge]` of the node file: this node is an edge node (`causeway edge`), forwarding each
//! request to the nearest regional node that is up.

use serde::{Deserialize, Serialize};

/// The regional nodes an edge forwards to. The edge is a member of the `[mesh]` (so it
/// knows which regions are up and how far each is); each region here names a mesh peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeSection {
    /// Regional nodes, by mesh id, with their public HTTP listener.
    pub regions: Vec<EdgeRegion>,
    /// Per-attempt time to connect to a region before trying the next, 10..=10000 ms.
    #[serde(default = "connect_timeout_ms")]
    pub connect_timeout_ms: u64,
}

/// One regional node an edge forwards to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeRegion {
    /// The node's mesh id (one of `mesh.peers`).
    pub node: String,
    /// Its public listener, `http://host:port`.
    pub url: String,
}

fn connect_timeout_ms() -> u64 {
    1000
}
