//! Replication between regional nodes over the QUIC mesh (`[mesh]` in `causeway.toml`):
//! what this node shares and what it does with what its peers share.
//!
//! | key | value | applied as |
//! | --- | --- | --- |
//! | `flush/{api}/{stage}` | a nonce | the stage's response cache flushed |
//! | `quota/{node}` | the node's quota counters (JSON) | merged (G-counters: per node, max) |
//! | `stage/{api}/{stage}` | the stage record and the deployments it serves | stored, compiled, published, unless this node's record is as new (when newer: shared again) |
//! | `plugin/{sha}` | a plugin component (≤ 3 MiB), written before the stage using it | stored (hash checked); waiting stages retried |
//! | `key/{id}`, `plan/{id}` | an API key's record (its value's hash) or a usage plan | stored and published |
//! | `edge/{node}` | an edge node's signing key (random, made at its start) | its signed allows trusted in place of the authorizer |
//!
//! When its mesh member starts a node shares every stage it has, so a node that joined
//! after a change (a new edge, a region back from down) learns it; the last change wins by
//! its time, and a node holding a newer one answers with it.
//!
//! Every node counts its own requests in its own slot of each quota counter and shares
//! the whole ledger every `mesh.quota_sync_ms`, so a usage plan's quota holds across
//! regions to within one sync interval of traffic.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use causeway_mesh::transport::Mesh;
use causeway_mesh::{Entry, Event, PeerInfo};
use causeway_model::{ConfigSet, MeshSection};
use serde::{Deserialize, Serialize};

use crate::control::replica::Taken;
use crate::{AdminError, Control};

/// This node's view of the mesh, for `GET /v1/mesh`.
#[derive(Debug, Serialize, Deserialize)]
pub struct MeshStatus {
    pub id: String,
    pub region: Option<String>,
    pub peers: Vec<PeerStatus>,
}

/// One peer as this node sees it.
#[derive(Debug, Serialize, Deserialize)]
pub struct PeerStatus {
    pub id: String,
    pub up: bool,
    /// Smoothed round-trip time in milliseconds, once measured.
    pub rtt_ms: Option<f64>,
}

/// Plugin components up to this size travel with the stages that use them; larger ones
/// (an interpreter-based JavaScript or Python plugin) are uploaded to each node.
const MAX_SHARED_COMPONENT: usize = 3 << 20;

/// The running mesh member of a node.
#[derive(Debug)]
pub struct MeshLink {
    mesh: Mesh,
    section: MeshSection,
    /// Components this node has shared (each goes once).
    shared_components: Mutex<HashSet<String>>,
    /// Peers' stage changes that could not be served yet (a component not here yet), by
    /// key: retried when a component arrives.
    pending: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MeshLink {
    /// Shares component `sha` (read by `bytes`) unless it was already, or is too large.
    pub(crate) fn share_component(
        &self,
        sha: &str,
        bytes: impl FnOnce() -> Result<Vec<u8>, String>,
    ) {
        let mut shared = self
            .shared_components
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if shared.contains(sha) {
            return;
        }
        match bytes() {
            Ok(b) if b.len() <= MAX_SHARED_COMPONENT => {
                self.mesh.write(&format!("plugin/{sha}"), Some(b));
                shared.insert(sha.to_owned());
            }
            Ok(b) => tracing::warn!(
                sha,
                size = b.len(),
                "plugin component too large to share over the mesh: upload it to each node (`causeway deploy --admin URL`)"
            ),
            Err(e) => tracing::error!(sha, error = %e, "cannot read a plugin component to share"),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn flush(&self, api: &str, stage: &str) {
        let nonce: u64 = rand::random();
        self.mesh.write(
            &format!("flush/{api}/{stage}"),
            Some(nonce.to_be_bytes().to_vec()),
        );
    }

    pub(crate) fn share(&self, kind: &str, id: &str, record: &impl Serialize) {
        match serde_json::to_vec(record) {
            Ok(json) => self.mesh.write(&format!("{kind}/{id}"), Some(json)),
            Err(e) => tracing::error!(kind, id, error = %e, "cannot share a record with the mesh"),
        }
    }

    pub(crate) fn unshare(&self, kind: &str, id: &str) {
        self.mesh.write(&format!("{kind}/{id}"), None);
    }

    pub(crate) fn peers(&self) -> Vec<PeerInfo> {
        self.mesh.peers()
    }

    pub(crate) fn status(&self) -> MeshStatus {
        MeshStatus {
            id: self.section.id.clone(),
            region: self.section.region.clone(),
            peers: self.mesh.peers().into_iter().map(peer_status).collect(),
        }
    }
}

fn peer_status(p: PeerInfo) -> PeerStatus {
    PeerStatus {
        id: p.id,
        up: p.up,
        rtt_ms: p.srtt.map(|d| d.as_secs_f64() * 1000.0),
    }
}

/// Starts this node's mesh member when `[mesh]` is configured and attaches it to
/// `control`; must run inside the tokio runtime. Errors name the setting to fix.
pub fn start_mesh(set: &ConfigSet, control: &Arc<Control>) -> Result<(), AdminError> {
    let Some(section) = set.node.mesh.clone() else {
        return Ok(());
    };
    let (mesh, mut events) = Mesh::start_configured(&set.dir, &section)
        .map_err(|e| AdminError::BadRequest(e.to_string()))?;
    tracing::info!(id = %section.id, listen = %section.listen, peers = section.peers.len(), "mesh started");
    let sync = Duration::from_millis(section.quota_sync_ms);
    let quota_key = format!("quota/{}", section.id);
    control.attach_mesh(MeshLink {
        mesh,
        section,
        shared_components: Mutex::new(HashSet::new()),
        pending: Mutex::new(BTreeMap::new()),
    });
    // What this node serves, for the peers that started after it last changed.
    control.share_all_stages();
    let control = control.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(sync);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut shared = Vec::new();
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Some(Event::Applied(entry)) => apply(&control, &entry),
                    Some(Event::PeerUp(peer)) => tracing::info!(%peer, "mesh peer up"),
                    Some(Event::PeerDown(peer)) => tracing::warn!(%peer, "mesh peer down"),
                    None => return,
                },
                _ = tick.tick() => {
                    if let Some(link) = control.mesh() {
                        for p in link.mesh.peers() {
                            control.gateway().metrics().set_mesh_peer(&p.id, p.up, p.srtt);
                        }
                    }
                    let usage = serde_json::to_vec(&control.gateway().quota_usage_json())
                        .unwrap_or_default();
                    if usage != shared {
                        if let Some(link) = control.mesh() {
                            link.mesh.write(&quota_key, Some(usage.clone()));
                        }
                        shared = usage;
                    }
                }
            }
        }
    });
    Ok(())
}

/// Length of an edge's signing key (HMAC-SHA256).
const EDGE_KEY_BYTES: usize = 32;

/// As an edge node: makes a fresh signing key, vouches for this node's authorizer allows
/// with it and shares it with the regions (`edge/{node}`), so they do not authorize the
/// same requests again. Nothing without a mesh: regions then authorize every request.
pub fn vouch_as_edge(control: &Control) {
    let Some(link) = control.mesh() else { return };
    let key: [u8; EDGE_KEY_BYTES] = rand::random();
    control.gateway().sign_as_edge(&link.section.id, &key);
    link.mesh
        .write(&format!("edge/{}", link.section.id), Some(key.to_vec()));
}

/// A peer's write, applied to this node.
fn apply(control: &Control, entry: &Entry) {
    let (kind, rest) = entry
        .key
        .split_once('/')
        .unwrap_or((entry.key.as_str(), ""));
    let Some(value) = &entry.value else {
        // Deletes: only keys and plans are ever deleted.
        if matches!(kind, "key" | "plan") {
            match control.apply_shared_delete(kind, rest) {
                Ok(()) => {
                    tracing::info!(key = %entry.key, from = %entry.origin, "deleted by a peer")
                }
                Err(e) => {
                    tracing::warn!(key = %entry.key, from = %entry.origin, error = %e, "a peer's delete not applied")
                }
            }
        }
        return;
    };
    match kind {
        "flush" => {
            if let Some((api, stage)) = rest.split_once('/') {
                let flushed = control.gateway().flush_cache(api, stage);
                tracing::info!(api, stage, from = %entry.origin, flushed, "cache flush from the mesh");
            }
        }
        "quota" => {
            let merged = serde_json::from_slice::<serde_json::Value>(value)
                .map_err(|e| e.to_string())
                .and_then(|v| control.gateway().merge_quota_usage_json(&v));
            if let Err(e) = merged {
                tracing::warn!(from = %entry.origin, error = %e, "unreadable quota counters from the mesh");
            }
        }
        "stage" => apply_stage(control, &entry.key, value),
        "plugin" => match control.put_plugin(rest, value) {
            Ok(_) => retry_pending(control),
            Err(e) => {
                tracing::warn!(key = %entry.key, from = %entry.origin, error = %e, "shared plugin component refused")
            }
        },
        // Only the edge itself names its key (a relayed entry keeps its origin).
        "edge" if rest == entry.origin && value.len() == EDGE_KEY_BYTES => {
            control.gateway().trust_edge(rest, value);
            tracing::info!(edge = rest, "edge signing key from the mesh");
        }
        "edge" => {
            tracing::warn!(key = %entry.key, from = %entry.origin, "edge key refused: not the edge's own, or not {EDGE_KEY_BYTES} bytes")
        }
        "key" | "plan" => {
            if let Err(e) = control.apply_shared_key(kind, value) {
                tracing::warn!(key = %entry.key, from = %entry.origin, error = %e, "shared key or plan refused");
            }
        }
        _ => {
            tracing::debug!(key = %entry.key, from = %entry.origin, "mesh entry of an unknown kind ignored")
        }
    }
}

/// A peer's stage change; kept for a retry when it cannot be served yet.
fn apply_stage(control: &Control, key: &str, value: &[u8]) {
    match control.apply_shared_stage(value) {
        Ok(taken) => {
            if let Some(link) = control.mesh() {
                link.pending().remove(key);
            }
            match taken {
                Taken::Set(r) => tracing::info!(
                    api = %r.api_id, stage = %r.stage, deployment = %r.deployment_id,
                    "stage set by a peer"
                ),
                Taken::Kept(r, true) => {
                    tracing::info!(
                        api = %r.api_id, stage = %r.stage, deployment = %r.deployment_id,
                        "a peer shared an older change of a stage: sharing this node's newer one"
                    );
                    control.share_stage(&r.api_id, &r.stage);
                }
                Taken::Kept(_, false) => {}
                Taken::Deleted(api, stage, false) => {
                    tracing::info!(api = %api, stage = %stage, "stage deleted by a peer");
                }
                Taken::Deleted(api, stage, true) => {
                    tracing::info!(
                        api = %api, stage = %stage,
                        "a peer shared an older change of a stage deleted here: sharing the delete"
                    );
                    if let Some(at) = control.stage_deleted_at(&api, &stage) {
                        control.share_deleted_stage(&api, &stage, at);
                    }
                }
            }
        }
        Err(e) => {
            if let Some(link) = control.mesh() {
                link.pending().insert(key.to_owned(), value.to_vec());
            }
            tracing::error!(
                key, error = %e,
                "a peer's stage change is not served here yet (retried when a plugin component arrives)"
            );
        }
    }
}

/// Retries the peers' stage changes that were waiting (a component arrived).
pub(crate) fn retry_pending(control: &Control) {
    let Some(link) = control.mesh() else { return };
    let waiting = std::mem::take(&mut *link.pending());
    for (key, value) in waiting {
        apply_stage(control, &key, &value);
    }
}
