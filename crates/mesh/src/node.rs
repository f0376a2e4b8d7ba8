//! [`Node`]: membership (pings, up/down, smoothed round-trip time) and the replica, driven
//! by the caller's clock and frames.

mod replica;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::frame::{Entry, Frame};
use replica::Replica;

/// Timings and bounds of a [`Node`].
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// How often each peer is pinged (and sent this node's digest).
    pub ping_interval: Duration,
    /// A peer not heard from for this long is down.
    pub down_after: Duration,
    /// Most entries in one delta frame (the rest follow on the next ping).
    pub max_delta_entries: usize,
}

impl Default for NodeConfig {
    fn default() -> NodeConfig {
        NodeConfig {
            ping_interval: Duration::from_secs(1),
            down_after: Duration::from_secs(3),
            max_delta_entries: 512,
        }
    }
}

/// Something the node's owner should act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A peer was heard from after being down (or for the first time).
    PeerUp(String),
    /// A peer was not heard from for [`NodeConfig::down_after`].
    PeerDown(String),
    /// A peer's write won over what this node held for `entry.key`.
    Applied(Entry),
}

/// A frame to send to peer `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub to: String,
    pub frame: Frame,
}

/// What this node knows of one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    pub id: String,
    pub up: bool,
    /// Smoothed round-trip time (RFC 6298's 7/8 average), once a pong came back.
    pub srtt: Option<Duration>,
}

#[derive(Debug)]
struct Peer {
    info: PeerInfo,
    /// When a frame from the peer last arrived (or the node started).
    last_heard: Instant,
    next_seq: u64,
    /// The newest ping sent and when: a pong for an older one is ignored.
    outstanding: Option<(u64, Instant)>,
}

/// One member of the mesh. See the crate documentation.
#[derive(Debug)]
pub struct Node {
    id: String,
    config: NodeConfig,
    peers: Vec<Peer>,
    replica: Replica,
    started: Instant,
    wall_at_start: u64,
    next_ping: Instant,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
}

impl Node {
    /// A node named `id` meshing with `peers` (itself and duplicates are skipped).
    /// `wall_at_now`: the wall clock at `now`, in microseconds since the Unix epoch (a
    /// simulator passes its virtual time); write versions follow it, so a later write wins
    /// and a restarted node's writes are newer than the ones it made before.
    pub fn new(
        id: &str,
        peers: impl IntoIterator<Item = String>,
        config: NodeConfig,
        now: Instant,
        wall_at_now: u64,
    ) -> Node {
        let mut ids: Vec<String> = peers.into_iter().filter(|p| p != id).collect();
        ids.sort_unstable();
        ids.dedup();
        Node {
            id: id.to_owned(),
            peers: ids
                .into_iter()
                .map(|id| Peer {
                    info: PeerInfo {
                        id,
                        up: false,
                        srtt: None,
                    },
                    last_heard: now,
                    next_seq: 0,
                    outstanding: None,
                })
                .collect(),
            config,
            replica: Replica::new(),
            started: now,
            wall_at_start: wall_at_now,
            next_ping: now,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// This node's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Every peer, by id.
    pub fn peers(&self) -> impl Iterator<Item = &PeerInfo> {
        self.peers.iter().map(|p| &p.info)
    }

    /// One peer.
    pub fn peer(&self, id: &str) -> Option<&PeerInfo> {
        self.peers.iter().map(|p| &p.info).find(|p| p.id == id)
    }

    /// The value of `key` (`None` when absent or deleted).
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.replica.get(key)?.value.as_deref()
    }

    /// The entry of `key`, tombstones included.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.replica.get(key)
    }

    /// Every entry, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.replica.entries()
    }

    /// Writes `key` (`None` deletes it) and pushes the write to the peers that are up;
    /// the others catch up by anti-entropy.
    pub fn write(&mut self, now: Instant, key: &str, value: Option<Vec<u8>>) -> Entry {
        let elapsed = now.saturating_duration_since(self.started).as_micros();
        let wall = self
            .wall_at_start
            .saturating_add(u64::try_from(elapsed).unwrap_or(u64::MAX));
        let (entry, prev) = self.replica.write(&self.id, key.to_owned(), value, wall);
        for peer in self.peers.iter().filter(|p| p.info.up) {
            self.transmits.push_back(Transmit {
                to: peer.info.id.clone(),
                frame: Frame::Push {
                    prev,
                    entry: entry.clone(),
                },
            });
        }
        entry
    }

    /// A frame from peer `from`. Frames from ids that are not peers are ignored (the
    /// transport authenticates ids; this is the membership check).
    pub fn handle(&mut self, now: Instant, from: &str, frame: Frame) {
        let Some(at) = self.peers.iter().position(|p| p.info.id == from) else {
            return;
        };
        let peer = &mut self.peers[at];
        peer.last_heard = now;
        if !peer.info.up {
            peer.info.up = true;
            self.events.push_back(Event::PeerUp(from.to_owned()));
        }
        match frame {
            Frame::Ping { seq, digest } => {
                self.send(from, Frame::Pong { seq });
                if let Some((upto, entries)) = self
                    .replica
                    .delta_for(&digest, self.config.max_delta_entries)
                {
                    self.send(from, Frame::Delta { upto, entries });
                }
            }
            Frame::Pong { seq } => {
                if let Some((sent_seq, sent_at)) = peer.outstanding
                    && sent_seq == seq
                {
                    peer.outstanding = None;
                    let sample = now.saturating_duration_since(sent_at);
                    peer.info.srtt = Some(match peer.info.srtt {
                        None => sample,
                        Some(srtt) => (srtt * 7 + sample) / 8,
                    });
                }
            }
            Frame::Delta { upto, entries } => {
                for entry in entries {
                    self.apply(entry);
                }
                for (origin, version) in upto {
                    self.replica.note_upto(&origin, version);
                }
            }
            Frame::Push { prev, entry } => {
                if entry.origin == from {
                    self.replica.note_push(prev, &entry);
                }
                self.apply(entry);
            }
        }
    }

    /// Sends due pings and marks silent peers down.
    pub fn handle_timeout(&mut self, now: Instant) {
        for peer in &mut self.peers {
            if peer.info.up
                && now.saturating_duration_since(peer.last_heard) >= self.config.down_after
            {
                peer.info.up = false;
                peer.outstanding = None;
                self.events.push_back(Event::PeerDown(peer.info.id.clone()));
            }
        }
        if now >= self.next_ping {
            self.next_ping = now + self.config.ping_interval;
            let digest = self.replica.digest();
            for peer in &mut self.peers {
                peer.next_seq += 1;
                peer.outstanding = Some((peer.next_seq, now));
                self.transmits.push_back(Transmit {
                    to: peer.info.id.clone(),
                    frame: Frame::Ping {
                        seq: peer.next_seq,
                        digest: digest.clone(),
                    },
                });
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Instant {
        self.peers
            .iter()
            .filter(|p| p.info.up)
            .map(|p| p.last_heard + self.config.down_after)
            .fold(self.next_ping, Instant::min)
    }

    /// The next frame to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn apply(&mut self, entry: Entry) {
        if self.replica.apply(&self.id, &entry) {
            self.events.push_back(Event::Applied(entry));
        }
    }

    fn send(&mut self, to: &str, frame: Frame) {
        self.transmits.push_back(Transmit {
            to: to.to_owned(),
            frame,
        });
    }
}
