//! The on-disk cache of compiled components: `<cache_dir>/<key>.cwasm`, where the key
//! hashes the component bytes, the engine's compatibility hash (target, compiler flags,
//! tunables, wasm features and the Wasmtime version) and the artifact format. The file
//! format and its checksum live in `causeway-plugin-cache`; this module does the I/O.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

mod evict;

pub use evict::PruneReport;

use causeway_plugin_cache::{Artifact, encode};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where a plugin's compiled code came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactSource {
    /// Compiled; no cache is configured.
    Compiled,
    /// Compiled and written to the cache.
    CacheMiss,
    /// Loaded from the cache without compiling.
    CacheHit,
    /// A cached artifact was refused (`reason`), deleted, and replaced by a fresh
    /// compile.
    CacheRejected {
        /// Why the cached file was refused.
        reason: String,
    },
}

/// An artifact cache rooted at one directory.
#[derive(Debug, Clone)]
pub(crate) struct ArtifactCache {
    dir: PathBuf,
}

/// Feeds `Hash` output into SHA-256 (std's hashers are seeded per process).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl ArtifactCache {
    /// Create (mode 0700) or open the cache directory.
    pub(crate) fn open(dir: &Path) -> std::io::Result<Self> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)?;
        Ok(ArtifactCache {
            dir: dir.to_path_buf(),
        })
    }

    /// The cache file for `bytes` compiled by `engine`.
    pub(crate) fn path_for(&self, engine: &Engine, bytes: &[u8]) -> PathBuf {
        let mut hasher = Sha256Hasher(Sha256::new());
        hasher.write(causeway_plugin_cache::MAGIC);
        engine.precompile_compatibility_hash().hash(&mut hasher);
        hasher.write(&Sha256::digest(bytes));
        let key = hex::encode(hasher.0.finalize());
        self.dir.join(format!("{key}.cwasm"))
    }

    /// Load `bytes`' component from the cache, or compile and store it. Cache I/O
    /// problems never fail the load: they are logged and the component is compiled.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, ArtifactSource, PathBuf)> {
        let path = self.path_for(engine, bytes);
        let mut source = ArtifactSource::CacheMiss;
        match fs::read(&path) {
            Ok(file) => match Artifact::verify(file).and_then(|a| a.deserialize(engine)) {
                Ok(component) => {
                    touch(&path);
                    return Ok((component, ArtifactSource::CacheHit, path));
                }
                Err(reason) => {
                    tracing::warn!(path = %path.display(), %reason, "discarding cached plugin artifact");
                    if let Err(e) = fs::remove_file(&path) {
                        tracing::warn!(path = %path.display(), error = %e, "cannot delete cached artifact");
                    }
                    source = ArtifactSource::CacheRejected {
                        reason: reason.to_string(),
                    };
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read cached artifact");
            }
        }
        let component = Component::new(engine, bytes)?;
        match component.serialize() {
            Ok(payload) => {
                if let Err(e) = write_atomically(&path, &encode(&payload)) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot write plugin artifact");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot serialize compiled plugin"),
        }
        Ok((component, source, path))
    }
}

/// Mark a cached artifact as just used (its mtime is the LRU clock of
/// [`evict`](crate::cache::evict); atime is unreliable under `noatime`/`relatime`).
fn touch(path: &Path) {
    let now = std::time::SystemTime::now();
    if let Err(e) = fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(now))
    {
        tracing::debug!(path = %path.display(), error = %e, "cannot touch cached artifact");
    }
}

/// Write to a temporary file beside `path`, then rename: readers see the whole file or
/// none of it.
fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp.{}.{n}", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
