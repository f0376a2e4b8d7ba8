#![forbid(unsafe_code)]
//! `causeway-mesh` owns how regional nodes keep each other informed: who is up, how far
//! away each peer is (smoothed round-trip time), and a replicated key-value map that every
//! node converges on — the cache flushes, quota counters and stage pointers the gateway
//! shares across regions are entries of it.
//!
//! The decisions are sans-IO, as quinn-proto's: a [`Node`] takes `now` and the frames its
//! peers sent and hands back frames to send ([`Node::poll_transmit`]), things that happened
//! ([`Node::poll_event`]) and when to wake it next ([`Node::poll_timeout`]). It reads no
//! clock, opens no socket and spawns nothing, so a whole cluster runs deterministically on a
//! virtual clock with injected latency and loss (`tests/sim.rs`). The I/O shell that carries
//! [`Frame`]s between real nodes, QUIC (quinn) with mutual TLS (rustls), is [`transport`]:
//! the only module that imports tokio or quinn.
//!
//! Replication is anti-entropy over a last-writer-wins map (scuttlebutt): writes are pushed
//! to the peers that are up at once, and every ping carries the sender's knowledge (per
//! origin node, the version up to which it has seen everything), so a peer that missed a
//! push — lost frame, partition, restart — is sent exactly what it lacks on the next ping.
//!
//! It depends on no Causeway crate but the model (for `[mesh]`), never on hyper or the
//! gateway (the gateway side depends on it), and `frame` and `node` must stay free of I/O.

mod frame;
mod node;
pub mod transport;

pub use frame::{Entry, Frame, FrameError, MAX_FRAME_BYTES};
pub use node::{Event, Node, NodeConfig, PeerInfo, Transmit};
