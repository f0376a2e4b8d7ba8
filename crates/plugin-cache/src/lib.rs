//! `causeway-plugin-cache` owns the on-disk format of compiled plugin artifacts and the one
//! `unsafe` call of the plugin host: [`wasmtime::component::Component::deserialize`].
//! Wasmtime makes deserialization `unsafe` because the bytes are trusted to be native
//! code it produced; the crate's job is to make that trust checkable. It must not depend
//! on anything but Wasmtime and a hash: no file I/O (the caller reads and writes files),
//! no gateway, no plugin policy.
//!
//! An artifact is `MAGIC (8 bytes) | SHA-256(payload) (32 bytes) | payload`, where the
//! payload is the output of `Component::serialize` / `Engine::precompile_component`.
//! [`Artifact::verify`] is the only way to obtain an [`Artifact`], and
//! [`Artifact::deserialize`] the only way to turn one into a `Component`.
#![deny(unsafe_code)]

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// First bytes of every artifact (format version 1).
pub const MAGIC: &[u8; 8] = b"CWYART01";

const HEADER: usize = MAGIC.len() + 32;

/// Why a cached artifact was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArtifactError {
    /// Shorter than the header.
    #[error("artifact is truncated ({0} bytes)")]
    Truncated(usize),
    /// Not an artifact of this format version.
    #[error("artifact has an unknown header")]
    BadMagic,
    /// The payload does not hash to the recorded checksum.
    #[error("artifact checksum mismatch (corrupt or tampered)")]
    Checksum,
    /// Wasmtime refused the payload (e.g. built by an incompatible engine).
    #[error("artifact rejected by wasmtime: {0}")]
    Incompatible(String),
}

/// Wrap a serialized component into an artifact file's bytes.
pub fn encode(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&Sha256::digest(payload));
    out.extend_from_slice(payload);
    out
}

/// An artifact whose checksum has been verified and whose bytes are owned here, so they
/// cannot change between the check and the use.
#[derive(Debug)]
pub struct Artifact {
    /// The whole file; `bytes[HEADER..]` is the verified payload.
    bytes: Vec<u8>,
}

impl Artifact {
    /// Check an artifact file's bytes (taking ownership: nothing else can mutate them
    /// afterwards, unlike a memory-mapped file).
    pub fn verify(bytes: Vec<u8>) -> Result<Artifact, ArtifactError> {
        if bytes.len() < HEADER {
            return Err(ArtifactError::Truncated(bytes.len()));
        }
        let (magic, rest) = bytes.split_at(MAGIC.len());
        if magic != MAGIC {
            return Err(ArtifactError::BadMagic);
        }
        let (sum, payload) = rest.split_at(32);
        if Sha256::digest(payload).as_slice() != sum {
            return Err(ArtifactError::Checksum);
        }
        Ok(Artifact { bytes })
    }

    /// The verified payload.
    pub fn payload(&self) -> &[u8] {
        self.bytes.get(HEADER..).unwrap_or_default()
    }

    /// Turn the verified payload into a component for `engine`.
    ///
    /// Wasmtime still checks the payload's own header (its version and the engine's
    /// compilation settings) and refuses incompatible ones with an error.
    pub fn deserialize(&self, engine: &Engine) -> Result<Component, ArtifactError> {
        let payload = self.payload();
        // SAFETY: `Component::deserialize` requires bytes that Wasmtime itself produced
        // with `serialize`/`precompile_component` and that nobody altered since; it runs
        // them as native code without validation. Here:
        // - the only producer of artifact files is the plugin host, which writes
        //   `encode(component.serialize())` into a cache directory it creates with mode
        //   0700 and names by the hash of (component bytes, engine compatibility hash,
        //   which includes the Wasmtime version). Whoever can write that directory can
        //   already run code as the gateway (it is the gateway's own state), so the
        //   trust boundary is the directory's ownership, not this check;
        // - `verify` checked the SHA-256 recorded at write time over exactly these bytes,
        //   which catches torn writes, disk corruption and stray files (the checksum is
        //   not a MAC and does not claim to stop a deliberate attacker: see above);
        // - `self.bytes` is an owned `Vec` (not a mapping of the file), so the checked
        //   bytes are the deserialized bytes: no time-of-check/time-of-use window;
        // - Wasmtime re-checks its own header (version, target, tunables) and errors out
        //   instead of loading code built for another configuration.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(engine, payload) };
        component.map_err(|e| ArtifactError::Incompatible(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_round_trips_and_rejects_damage() {
        let file = encode(b"payload");
        let ok = Artifact::verify(file.clone()).map(|a| a.payload().to_vec());
        assert_eq!(ok, Ok(b"payload".to_vec()));

        let mut flipped = file.clone();
        if let Some(last) = flipped.last_mut() {
            *last ^= 1;
        }
        assert_eq!(
            Artifact::verify(flipped).err(),
            Some(ArtifactError::Checksum)
        );
        assert_eq!(
            Artifact::verify(file[..10].to_vec()).err(),
            Some(ArtifactError::Truncated(10))
        );
        let mut magic = file;
        magic[0] = b'X';
        assert_eq!(Artifact::verify(magic).err(), Some(ArtifactError::BadMagic));
    }
}
