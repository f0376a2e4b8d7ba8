//! A simulated cluster: real [`Node`]s exchanging real encoded frames over a virtual
//! network with per-link latency, jitter, loss and partitions, on a virtual clock.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::time::{Duration, Instant};

use causeway_mesh::{Entry, Event, Frame, Node, NodeConfig};

/// xorshift64*: deterministic per seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

type InFlight = Reverse<(Duration, u64, usize, usize, Vec<u8>)>;

pub struct Cluster {
    pub base: Instant,
    pub now: Duration,
    pub nodes: Vec<Node>,
    /// One-way latency from i to j.
    pub latency: Vec<Vec<Duration>>,
    pub jitter: Duration,
    pub loss: f64,
    /// Links (from, to) that drop everything.
    pub cut: HashSet<(usize, usize)>,
    pub rng: Rng,
    pub events: Vec<Vec<(Duration, Event)>>,
    /// The most entries any delta frame carried.
    pub largest_delta: usize,
    in_flight: BinaryHeap<InFlight>,
    seq: u64,
}

pub fn name(i: usize) -> String {
    format!("node-{i}")
}

impl Cluster {
    pub fn new(n: usize, config: &NodeConfig, seed: u64) -> Cluster {
        let base = Instant::now();
        let names: Vec<String> = (0..n).map(name).collect();
        let nodes = names
            .iter()
            .map(|id| Node::new(id, names.clone(), config.clone(), base, 0))
            .collect();
        Cluster {
            base,
            now: Duration::ZERO,
            nodes,
            latency: vec![vec![Duration::from_millis(10); n]; n],
            jitter: Duration::ZERO,
            loss: 0.0,
            cut: HashSet::new(),
            rng: Rng::new(seed),
            events: vec![Vec::new(); n],
            largest_delta: 0,
            in_flight: BinaryHeap::new(),
            seq: 0,
        }
    }

    pub fn instant(&self) -> Instant {
        self.base + self.now
    }

    pub fn index(id: &str) -> usize {
        id.trim_start_matches("node-")
            .parse()
            .expect("simulated node id")
    }

    /// Isolates node `i` from every other (both directions), or heals it.
    pub fn isolate(&mut self, i: usize, isolated: bool) {
        for j in 0..self.nodes.len() {
            for link in [(i, j), (j, i)] {
                if isolated {
                    self.cut.insert(link);
                } else {
                    self.cut.remove(&link);
                }
            }
        }
    }

    pub fn write(&mut self, i: usize, key: &str, value: Option<Vec<u8>>) -> Entry {
        let now = self.instant();
        let entry = self.nodes[i].write(now, key, value);
        self.flush(i);
        entry
    }

    /// Runs the cluster until `until` (virtual).
    pub fn run_until(&mut self, until: Duration) {
        loop {
            let timer = (0..self.nodes.len())
                .map(|i| (self.nodes[i].poll_timeout() - self.base, i))
                .min()
                .expect("nodes");
            let message = self.in_flight.peek().map(|Reverse(m)| m.0);
            let next = message.map_or(timer.0, |m| m.min(timer.0)).max(self.now);
            if next > until {
                self.now = until;
                return;
            }
            self.now = next;
            if message == Some(next) {
                let Some(Reverse((_, _, to, from, bytes))) = self.in_flight.pop() else {
                    unreachable!()
                };
                let frame = Frame::decode(&bytes).expect("a frame the sender encoded");
                let now = self.instant();
                self.nodes[to].handle(now, &name(from), frame);
                self.flush(to);
            } else {
                let now = self.instant();
                self.nodes[timer.1].handle_timeout(now);
                self.flush(timer.1);
            }
        }
    }

    /// Runs until `done` holds (checked every 10 ms of virtual time) or `within` passes;
    /// returns how long it took.
    pub fn run_until_true(
        &mut self,
        within: Duration,
        mut done: impl FnMut(&Cluster) -> bool,
    ) -> Option<Duration> {
        let start = self.now;
        while self.now - start <= within {
            if done(self) {
                return Some(self.now - start);
            }
            let step = self.now + Duration::from_millis(10);
            self.run_until(step);
        }
        None
    }

    /// Every node's entries, sorted, when they all agree.
    pub fn agreed(&self) -> Option<Vec<Entry>> {
        let sorted = |n: &Node| {
            let mut e: Vec<Entry> = n.entries().cloned().collect();
            e.sort_by(|a, b| a.key.cmp(&b.key));
            e
        };
        let first = sorted(&self.nodes[0]);
        self.nodes[1..]
            .iter()
            .all(|n| sorted(n) == first)
            .then_some(first)
    }

    fn flush(&mut self, from: usize) {
        while let Some(event) = self.nodes[from].poll_event() {
            self.events[from].push((self.now, event));
        }
        while let Some(t) = self.nodes[from].poll_transmit() {
            if let Frame::Delta { entries, .. } = &t.frame {
                self.largest_delta = self.largest_delta.max(entries.len());
            }
            let to = Cluster::index(&t.to);
            let bytes = t.frame.encode().expect("frames encode");
            if self.cut.contains(&(from, to)) || self.rng.chance(self.loss) {
                continue;
            }
            let jitter = if self.jitter.is_zero() {
                Duration::ZERO
            } else {
                Duration::from_micros(self.rng.below(self.jitter.as_micros() as u64))
            };
            self.seq += 1;
            let at = self.now + self.latency[from][to] + jitter;
            self.in_flight
                .push(Reverse((at, self.seq, to, from, bytes)));
        }
    }
}
