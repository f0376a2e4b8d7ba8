//! `[mesh]` of the node file: this regional node's place in the QUIC mesh that replicates
//! cache flushes, quota counters and deployments between regions.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// The mesh: who this node is, where it listens (UDP), its mutual-TLS credentials and its
/// peers. Absent: the node runs alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshSection {
    /// This node's id: a DNS name, the name its certificate carries (`causeway mesh certs`
    /// mints them), e.g. `eu-west-1a.causeway.internal`.
    pub id: String,
    /// The region the node serves (informational; latency-based routing uses measured
    /// round-trip times).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// UDP address for QUIC.
    pub listen: SocketAddr,
    /// PEM files, relative to the config directory: the mesh CA, this node's certificate
    /// and its private key.
    pub ca_file: String,
    pub cert_file: String,
    pub key_file: String,
    /// How often each peer is pinged (and sent what this node knows), 50..=60000 ms.
    #[serde(default = "ping_interval_ms")]
    pub ping_interval_ms: u64,
    /// A peer silent this long is down, at least two ping intervals, at most 600000 ms.
    #[serde(default = "down_after_ms")]
    pub down_after_ms: u64,
    /// How often this node's quota counters are shared, 100..=60000 ms.
    #[serde(default = "quota_sync_ms")]
    pub quota_sync_ms: u64,
    /// The other nodes.
    #[serde(default)]
    pub peers: Vec<MeshPeer>,
}

/// One other node of the mesh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshPeer {
    /// The peer's id (the DNS name in its certificate).
    pub id: String,
    /// Its QUIC (UDP) address.
    pub address: SocketAddr,
}

fn ping_interval_ms() -> u64 {
    1000
}
fn down_after_ms() -> u64 {
    3000
}
fn quota_sync_ms() -> u64 {
    1000
}

/// Whether `id` is a DNS name: dot-separated labels of ASCII letters, digits and `-`, not
/// starting or ending with `-`, at most 63 bytes each and 253 in all.
pub fn valid_mesh_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 253
        && id.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && !id.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}
