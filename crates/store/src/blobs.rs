//! Plugin components, content-addressed: `<dir>/plugins/<sha256>.wasm`. A deployment names
//! its plugins by SHA-256, so a stored deployment can always be served again.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::{Store, StoreError, fsio};

fn check_sha(sha: &str) -> Result<(), StoreError> {
    if sha.len() == 64
        && sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(StoreError::Invalid {
            field: "sha256",
            reason: format!("`{sha}` is not 64 lowercase hex digits"),
        })
    }
}

impl Store {
    fn blob_path(&self, sha: &str) -> PathBuf {
        self.dir().join("plugins").join(format!("{sha}.wasm"))
    }

    /// Store a component; returns its SHA-256 (hex). Storing the same bytes again is a no-op.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let sha = hex::encode(Sha256::digest(bytes));
        let path = self.blob_path(&sha);
        if path.is_file() {
            return Ok(sha);
        }
        fsio::create_dir(&self.dir().join("plugins"))?;
        fsio::write_atomic(&path, bytes)?;
        Ok(sha)
    }

    /// Whether the component with this SHA-256 is stored.
    pub fn has_blob(&self, sha: &str) -> bool {
        check_sha(sha).is_ok() && self.blob_path(sha).is_file()
    }

    /// The component with this SHA-256, verified.
    pub fn blob(&self, sha: &str) -> Result<Vec<u8>, StoreError> {
        check_sha(sha)?;
        let path = self.blob_path(sha);
        let bytes = std::fs::read(&path).map_err(|e| StoreError::io("read", &path, e))?;
        if hex::encode(Sha256::digest(&bytes)) != sha {
            return Err(StoreError::Invalid {
                field: "plugin",
                reason: format!(
                    "`{}` does not match its SHA-256; deploy the plugin again",
                    path.display()
                ),
            });
        }
        Ok(bytes)
    }
}
