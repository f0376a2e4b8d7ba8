//! Bounding the artifact cache: least recently used first (by file modification time,
//! which a cache hit refreshes), never a file a live plugin was loaded from.
//!
//! [`plan`] decides (sans-IO, deterministic); [`ArtifactCache::prune`] lists the
//! directory, asks it, and deletes.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::ArtifactCache;

/// One cached artifact, as [`plan`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) bytes: u64,
    pub(crate) used: SystemTime,
}

/// What [`PluginEngine::prune_artifacts`](crate::PluginEngine::prune_artifacts) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Artifacts deleted.
    pub evicted: usize,
    /// Bytes they held.
    pub evicted_bytes: u64,
    /// Artifacts left, and their bytes.
    pub kept: usize,
    /// Bytes left in the cache.
    pub kept_bytes: u64,
    /// Bytes held by pinned artifacts alone (the bound cannot go below them).
    pub pinned_bytes: u64,
}

/// The names to delete so that the entries total at most `max_bytes`: oldest `used`
/// first (ties by name, for determinism), skipping every name in `pinned`. Pinned
/// entries still count towards the total; when they alone exceed the bound, every
/// unpinned entry goes and the bound is left exceeded.
pub(crate) fn plan(
    mut entries: Vec<Entry>,
    pinned: &HashSet<String>,
    max_bytes: u64,
) -> Vec<String> {
    let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
    entries.sort_by(|a, b| a.used.cmp(&b.used).then_with(|| a.name.cmp(&b.name)));
    let mut evict = Vec::new();
    for e in entries {
        if total <= max_bytes {
            break;
        }
        if pinned.contains(&e.name) {
            continue;
        }
        total = total.saturating_sub(e.bytes);
        evict.push(e.name);
    }
    evict
}

impl ArtifactCache {
    /// Delete least recently used artifacts until the cache holds at most `max_bytes`,
    /// never one of `keep`. Files that vanish or cannot be read meanwhile are skipped;
    /// temporary files of writes in progress are not artifacts and are left alone.
    pub(crate) fn prune(&self, max_bytes: u64, keep: &[PathBuf]) -> std::io::Result<PruneReport> {
        let pinned: HashSet<String> = keep
            .iter()
            .filter(|p| p.parent() == Some(self.dir.as_path()))
            .filter_map(|p| file_name(p))
            .collect();
        let mut entries = Vec::new();
        for item in fs::read_dir(&self.dir)? {
            let Ok(item) = item else { continue };
            let path = item.path();
            let Some(name) = file_name(&path) else {
                continue;
            };
            if !name.ends_with(".cwasm") {
                continue;
            }
            let Ok(meta) = item.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            entries.push(Entry {
                name,
                bytes: meta.len(),
                used: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            });
        }
        let total: u64 = entries.iter().map(|e| e.bytes).sum();
        let pinned_bytes = entries
            .iter()
            .filter(|e| pinned.contains(&e.name))
            .map(|e| e.bytes)
            .sum();
        let sizes: std::collections::HashMap<String, u64> =
            entries.iter().map(|e| (e.name.clone(), e.bytes)).collect();
        let count = entries.len();
        let mut report = PruneReport {
            pinned_bytes,
            ..PruneReport::default()
        };
        for name in plan(entries, &pinned, max_bytes) {
            let path = self.dir.join(&name);
            match fs::remove_file(&path) {
                Ok(()) => {
                    report.evicted += 1;
                    report.evicted_bytes += sizes.get(&name).copied().unwrap_or(0);
                    tracing::info!(path = %path.display(), "evicted a plugin artifact (cache over its bound)");
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot evict plugin artifact")
                }
            }
        }
        report.kept = count - report.evicted;
        report.kept_bytes = total.saturating_sub(report.evicted_bytes);
        if report.kept_bytes > max_bytes {
            tracing::warn!(
                max_bytes,
                kept_bytes = report.kept_bytes,
                pinned_bytes,
                "the plugin artifact cache stays over its bound: the live plugins' artifacts alone need more"
            );
        }
        Ok(report)
    }
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name()?.to_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn entry(name: &str, bytes: u64, age_s: u64) -> Entry {
        Entry {
            name: name.to_owned(),
            bytes,
            used: SystemTime::UNIX_EPOCH + Duration::from_secs(1_000 - age_s),
        }
    }

    fn pinned(names: &[&str]) -> HashSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn under_the_bound_nothing_goes() {
        let entries = vec![entry("a", 10, 5), entry("b", 10, 1)];
        assert!(plan(entries, &pinned(&[]), 20).is_empty());
    }

    #[test]
    fn least_recently_used_go_first_until_under_the_bound() {
        let entries = vec![
            entry("new", 10, 1),
            entry("oldest", 10, 30),
            entry("old", 10, 20),
            entry("mid", 10, 10),
        ];
        assert_eq!(plan(entries, &pinned(&[]), 25), ["oldest", "old"]);
    }

    #[test]
    fn pinned_entries_are_never_evicted_even_when_oldest() {
        let entries = vec![entry("live", 50, 100), entry("a", 10, 5), entry("b", 10, 1)];
        assert_eq!(plan(entries.clone(), &pinned(&["live"]), 60), ["a"]);
        // Pinned alone over the bound: everything else goes, the pinned one stays.
        assert_eq!(plan(entries, &pinned(&["live"]), 10), ["a", "b"]);
    }
}
