//! Reading the data directory at open: deployment files (verified one by one) and the
//! stage pointer file.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use causeway_model::{Deployment, DeploymentId};
use serde::{Deserialize, Serialize};

use crate::fsio::{TMP_SUFFIX, remove_leftover};
use crate::{StageRecord, StoreError};

/// Deployments by API id, then by deployment id.
pub(crate) type Deployments = BTreeMap<String, BTreeMap<DeploymentId, Deployment>>;

/// On-disk shape of `stages.json`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StagesFile {
    /// Format version of this file.
    pub(crate) version: u32,
    /// Every stage, sorted by (API, stage).
    pub(crate) stages: Vec<StageRecord>,
    /// Stages deleted, and when: kept so that an older copy a peer replays does not
    /// bring one back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) deleted: Vec<crate::DeletedStage>,
}

/// Current format version of `stages.json`.
pub(crate) const STAGES_FILE_VERSION: u32 = 1;

fn is_tmp(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(TMP_SUFFIX))
}

/// Remove leftover `*.tmp` files directly in `dir`.
pub(crate) fn remove_leftovers(dir: &Path) -> Result<(), StoreError> {
    let entries = fs::read_dir(dir).map_err(|e| StoreError::io("read directory", dir, e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if is_tmp(&path) {
            remove_leftover(&path);
        }
    }
    Ok(())
}

/// Load `<root>/<api>/<id>.json` for every API directory under `root`.
pub(crate) fn deployments(root: &Path) -> Result<Deployments, StoreError> {
    let mut out = Deployments::new();
    let entries = fs::read_dir(root).map_err(|e| StoreError::io("read directory", root, e))?;
    for entry in entries.flatten() {
        let dir = entry.path();
        if is_tmp(&dir) {
            remove_leftover(&dir);
            continue;
        }
        if !dir.is_dir() {
            continue;
        }
        let Some(api_id) = dir.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            tracing::warn!(path = %dir.display(), "skipping a directory whose name is not UTF-8");
            continue;
        };
        let files = fs::read_dir(&dir).map_err(|e| StoreError::io("read directory", &dir, e))?;
        for file in files.flatten() {
            let path = file.path();
            if is_tmp(&path) {
                remove_leftover(&path);
            } else if path.extension().is_some_and(|x| x == "json") {
                match deployment_file(&api_id, &path) {
                    Ok(d) => {
                        out.entry(api_id.clone())
                            .or_default()
                            .insert(d.id.clone(), d);
                    }
                    Err(reason) => tracing::warn!(
                        path = %path.display(),
                        "skipping a deployment file that cannot be trusted: {reason}; \
                         it is not served (move it away to silence this warning)"
                    ),
                }
            }
        }
    }
    Ok(out)
}

/// Read and check one deployment file; `Err` says why it is not loaded.
fn deployment_file(api_id: &str, path: &Path) -> Result<Deployment, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    let d: Deployment =
        serde_json::from_slice(&bytes).map_err(|e| format!("not a deployment: {e}"))?;
    if !d.verify() {
        return Err(format!(
            "its content does not match its id `{}` (torn or edited file)",
            d.id
        ));
    }
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if stem != d.id.0 {
        return Err(format!("it holds deployment `{}`, not `{stem}`", d.id));
    }
    if d.api.id != api_id {
        return Err(format!(
            "it is a deployment of API `{}`, not `{api_id}`",
            d.api.id
        ));
    }
    Ok(d)
}

/// Read `stages.json`: the stages and the deleted ones; a missing file is an empty store.
pub(crate) fn stages(
    path: &Path,
) -> Result<(Vec<StageRecord>, Vec<crate::DeletedStage>), StoreError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(StoreError::io("read", path, e)),
    };
    let corrupt = |reason: String| StoreError::CorruptStages {
        path: path.to_owned(),
        reason,
    };
    let file: StagesFile = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    if file.version != STAGES_FILE_VERSION {
        return Err(corrupt(format!(
            "format version {} is not supported; this build reads version {STAGES_FILE_VERSION}",
            file.version
        )));
    }
    Ok((file.stages, file.deleted))
}
