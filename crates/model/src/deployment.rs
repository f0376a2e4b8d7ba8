//! Deployments: immutable, content-addressed snapshots of an API definition.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ApiSpec;

/// Content address of a deployment: the first 16 hex digits of the SHA-256 of the
/// snapshot's canonical JSON. The same definition always gets the same id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeploymentId(pub String);

impl fmt::Display for DeploymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl DeploymentId {
    /// Whether `s` has the shape of a deployment id (16 lowercase hex digits).
    pub fn is_well_formed(s: &str) -> bool {
        s.len() == 16
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
}

/// A point-in-time snapshot of one API. Stages are not part of it: a stage points at a
/// deployment and carries its own variables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// Content address of `api`.
    pub id: DeploymentId,
    /// Milliseconds since the Unix epoch when first created.
    pub created_at_ms: u64,
    /// Free text given at deploy time.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The snapshot (with `stages` emptied).
    pub api: ApiSpec,
}

impl Deployment {
    /// Snapshot `api` (its stage list is dropped) and address it by content.
    pub fn snapshot(api: &ApiSpec, description: impl Into<String>, now_ms: u64) -> Deployment {
        let mut api = api.clone();
        api.stages.clear();
        let id = content_id(&api);
        Deployment {
            id,
            created_at_ms: now_ms,
            description: description.into(),
            api,
        }
    }

    /// Whether `id` still matches the content (detects a tampered or torn file).
    pub fn verify(&self) -> bool {
        content_id(&self.api) == self.id
    }
}

fn content_id(api: &ApiSpec) -> DeploymentId {
    // Struct fields serialize in declaration order and maps are BTreeMaps, so this JSON is
    // canonical for a given definition.
    let bytes = serde_json::to_vec(api).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    DeploymentId(hex::encode(&digest[..8]))
}
