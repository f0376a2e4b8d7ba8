//! What nodes say to each other, encoded as MessagePack (named fields, so a node one
//! version ahead can add fields an older one ignores).

use serde::{Deserialize, Serialize};

/// The largest frame a node accepts (and produces: deltas are cut to fit).
pub const MAX_FRAME_BYTES: usize = 4 << 20;

/// One message between two nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t")]
pub enum Frame {
    /// Liveness probe and anti-entropy request. `digest`: per origin node, the version up
    /// to which the sender has seen every entry that origin wrote.
    Ping {
        seq: u64,
        digest: Vec<(String, u64)>,
    },
    /// The answer to the ping numbered `seq` (a round-trip sample).
    Pong { seq: u64 },
    /// What the receiver of a ping lacked. `upto`: per origin, the version up to which the
    /// sender vouches these entries complete the receiver's knowledge.
    Delta {
        upto: Vec<(String, u64)>,
        entries: Vec<Entry>,
    },
    /// A write pushed by its origin as it happens; `prev` is the origin's previous write's
    /// version, so a receiver knows whether it missed one.
    Push { prev: u64, entry: Entry },
}

/// One replicated entry: the newest write of `key`, by (`version`, `origin`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub key: String,
    pub origin: String,
    pub version: u64,
    /// `None`: the key was deleted (a tombstone, kept so the delete replicates).
    #[serde(with = "serde_bytes")]
    pub value: Option<Vec<u8>>,
}

impl Entry {
    /// Whether this entry wins over `other` for the same key.
    pub fn supersedes(&self, other: &Entry) -> bool {
        (self.version, self.origin.as_str()) > (other.version, other.origin.as_str())
    }
}

/// A frame that could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {0} bytes is over the {MAX_FRAME_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("malformed frame: {0}")]
    Malformed(#[from] rmp_serde::decode::Error),
    #[error("cannot encode frame: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
}

impl Frame {
    /// MessagePack bytes of the frame.
    pub fn encode(&self) -> Result<Vec<u8>, FrameError> {
        let bytes = rmp_serde::to_vec_named(self)?;
        if bytes.len() > MAX_FRAME_BYTES {
            return Err(FrameError::TooLarge(bytes.len()));
        }
        Ok(bytes)
    }

    /// Decodes a frame; anything but a well-formed frame under the limit is an error.
    pub fn decode(bytes: &[u8]) -> Result<Frame, FrameError> {
        if bytes.len() > MAX_FRAME_BYTES {
            return Err(FrameError::TooLarge(bytes.len()));
        }
        Ok(rmp_serde::from_slice(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let frame = Frame::Delta {
            upto: vec![("a".into(), 7)],
            entries: vec![Entry {
                key: "flush/petstore/prod".into(),
                origin: "a".into(),
                version: 7,
                value: Some(b"\x00\x01".to_vec()),
            }],
        };
        let bytes = frame.encode().expect("encodes");
        assert_eq!(Frame::decode(&bytes).expect("decodes"), frame);
        for cut in 0..bytes.len() {
            assert!(
                Frame::decode(&bytes[..cut]).is_err(),
                "prefix of {cut} bytes"
            );
        }
        assert!(matches!(
            Frame::decode(&vec![0u8; MAX_FRAME_BYTES + 1]),
            Err(FrameError::TooLarge(_))
        ));
        assert!(Frame::decode(b"\xc1").is_err());
    }

    #[test]
    fn newest_version_then_origin_wins() {
        let e = |origin: &str, version| Entry {
            key: "k".into(),
            origin: origin.into(),
            version,
            value: None,
        };
        assert!(e("a", 2).supersedes(&e("b", 1)));
        assert!(e("b", 2).supersedes(&e("a", 2)));
        assert!(!e("a", 2).supersedes(&e("a", 2)));
    }
}
