//! Deterministic multi-node runs of the mesh's sans-IO core: a virtual clock, injected
//! latency, jitter, loss and partitions, several seeds.
#![allow(clippy::unwrap_used)]

#[path = "sim/cluster.rs"]
mod cluster;

use std::collections::HashMap;
use std::time::Duration;

use causeway_mesh::{Entry, Event, NodeConfig};
use cluster::{Cluster, name};

const MS: Duration = Duration::from_millis(1);
const S: Duration = Duration::from_secs(1);

/// Random writes and deletes from every node over 20% loss and 5–80 ms links: once the
/// writes stop, every node holds the same map, and each key's value is its last write's
/// (highest version, then origin).
#[test]
fn converges_under_loss_and_latency() {
    for seed in 1..=8 {
        let mut c = Cluster::new(4, &NodeConfig::default(), seed);
        for i in 0..4 {
            for j in 0..4 {
                c.latency[i][j] = MS * (5 + c.rng.below(76) as u32);
            }
        }
        c.jitter = 5 * MS;
        c.loss = 0.2;
        let mut winners: HashMap<String, Entry> = HashMap::new();
        for step in 0..600u32 {
            c.run_until(step * 50 * MS);
            let node = c.rng.below(4) as usize;
            let key = format!("k{}", c.rng.below(40));
            let value = (!c.rng.chance(0.1)).then(|| step.to_be_bytes().to_vec());
            let entry = c.write(node, &key, value);
            match winners.get(&key) {
                Some(w) if !entry.supersedes(w) => {}
                _ => {
                    winners.insert(key, entry);
                }
            }
        }
        let took = c.run_until_true(30 * S, |c| c.agreed().is_some());
        assert!(
            took.is_some(),
            "seed {seed}: no agreement 30 s after the writes"
        );
        let mut expected: Vec<Entry> = winners.into_values().collect();
        expected.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(c.agreed().unwrap(), expected, "seed {seed}");
    }
}

/// A node cut off from the others is marked down within `down_after` plus a ping
/// interval, the two sides keep writing, and after the partition heals they see each other
/// up again and agree, the later write winning.
#[test]
fn partition_marks_down_then_heals() {
    let config = NodeConfig::default();
    let mut c = Cluster::new(3, &config, 7);
    c.run_until(5 * S);
    for i in 0..3 {
        assert!(c.nodes[i].peers().all(|p| p.up), "{i} sees everyone up");
    }
    c.isolate(2, true);
    let cut_at = c.now;
    c.write(2, "flush/petstore/prod", Some(b"from the island".to_vec()));
    c.run_until(cut_at + 2 * S);
    c.write(
        0,
        "flush/petstore/prod",
        Some(b"from the mainland".to_vec()),
    );
    c.write(1, "quota/node-1", Some(b"41".to_vec()));
    c.run_until(cut_at + 10 * S);
    for i in 0..2 {
        let down = c.events[i]
            .iter()
            .find(|(_, e)| *e == Event::PeerDown(name(2)))
            .map(|(at, _)| *at - cut_at);
        let down = down.expect("node 2 marked down");
        assert!(
            down <= config.down_after + config.ping_interval + S,
            "{down:?}"
        );
    }
    assert!(c.nodes[2].peers().all(|p| !p.up));
    assert_eq!(
        c.nodes[2].get("flush/petstore/prod"),
        Some(&b"from the island"[..])
    );
    assert!(c.agreed().is_none());

    c.isolate(2, false);
    let healed = c.now;
    let took = c.run_until_true(5 * S, |c| c.agreed().is_some());
    assert!(took.is_some(), "agreement after healing");
    assert_eq!(
        c.nodes[2].get("flush/petstore/prod"),
        Some(&b"from the mainland"[..])
    );
    assert_eq!(c.nodes[2].get("quota/node-1"), Some(&b"41"[..]));
    assert!(
        c.events[0]
            .iter()
            .any(|(at, e)| *at >= healed && *e == Event::PeerUp(name(2)))
    );
}

/// Smoothed round-trip times follow each link's latency, so the nearest peer is the one
/// with the shortest link.
#[test]
fn rtt_tracks_each_link() {
    let mut c = Cluster::new(3, &NodeConfig::default(), 3);
    for (i, j, ms) in [(0, 1, 10), (0, 2, 60), (1, 2, 30)] {
        c.latency[i][j] = MS * ms;
        c.latency[j][i] = MS * ms;
    }
    c.run_until(10 * S);
    let rtt = |c: &Cluster, i: usize, j: usize| c.nodes[i].peer(&name(j)).unwrap().srtt.unwrap();
    assert_eq!(rtt(&c, 0, 1), 20 * MS);
    assert_eq!(rtt(&c, 0, 2), 120 * MS);
    assert_eq!(rtt(&c, 2, 1), 60 * MS);
    let nearest = c.nodes[0]
        .peers()
        .filter(|p| p.up)
        .min_by_key(|p| p.srtt)
        .unwrap();
    assert_eq!(nearest.id, name(1));
}

/// A node that missed many writes catches up in deltas cut to `max_delta_entries`,
/// without losing any entry at the cuts.
#[test]
fn large_catch_up_in_capped_deltas() {
    let config = NodeConfig {
        max_delta_entries: 7,
        ..NodeConfig::default()
    };
    for seed in 1..=4 {
        let mut c = Cluster::new(3, &config, seed);
        c.loss = 0.1;
        c.run_until(3 * S);
        c.isolate(2, true);
        for n in 0..100 {
            let node = (n % 2) as usize;
            c.write(node, &format!("k{n}"), Some(vec![n as u8]));
            if n % 10 == 0 {
                let now = c.now;
                c.run_until(now + 10 * MS);
            }
        }
        let now = c.now;
        c.run_until(now + S);
        c.isolate(2, false);
        let took = c.run_until_true(60 * S, |c| c.agreed().is_some());
        assert!(took.is_some(), "seed {seed}: caught up");
        assert_eq!(c.agreed().unwrap().len(), 100);
        assert!(c.largest_delta <= 7, "{}", c.largest_delta);
    }
}

/// A restarted node (empty state, clock seeded past its old versions, as the wall clock
/// does in production) writes again and its new writes win everywhere.
#[test]
fn restarted_node_writes_win() {
    let config = NodeConfig::default();
    let mut c = Cluster::new(3, &config, 11);
    c.run_until(2 * S);
    c.write(0, "stage/petstore/prod", Some(b"d1".to_vec()));
    c.run_until(4 * S);
    assert_eq!(c.nodes[2].get("stage/petstore/prod"), Some(&b"d1"[..]));
    let names: Vec<String> = (0..3).map(name).collect();
    let now = c.instant();
    let wall = c.now.as_micros() as u64;
    c.nodes[0] = causeway_mesh::Node::new(&name(0), names, config, now, wall);
    c.write(0, "stage/petstore/prod", Some(b"d2".to_vec()));
    let took = c.run_until_true(5 * S, |c| {
        (0..3).all(|i| c.nodes[i].get("stage/petstore/prod") == Some(&b"d2"[..]))
    });
    assert!(took.is_some());
    // The restarted node learns the other nodes' entries again.
    c.write(1, "quota/node-1", Some(b"7".to_vec()));
    assert!(c.run_until_true(5 * S, |c| c.agreed().is_some()).is_some());
}
