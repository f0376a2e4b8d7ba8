//! The mesh's costs: frames encoded and decoded, a delta computed for a peer, and a write
//! replicated between two real members over QUIC on loopback (write → applied).
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use causeway_mesh::transport::{Mesh, MeshOptions, MeshTls, mint};
use causeway_mesh::{Entry, Event, Frame, Node, NodeConfig};
use criterion::{Criterion, criterion_group, criterion_main};

fn entries(n: usize) -> Vec<Entry> {
    (0..n)
        .map(|i| Entry {
            key: format!("stage/api-{}/prod", i),
            origin: format!("node-{}", i % 3),
            version: 1_700_000_000_000_000 + i as u64,
            value: Some(vec![7u8; 200]),
        })
        .collect()
}

fn frames(c: &mut Criterion) {
    let delta = Frame::Delta {
        upto: vec![
            ("node-0".into(), 1),
            ("node-1".into(), 2),
            ("node-2".into(), 3),
        ],
        entries: entries(512),
    };
    let bytes = delta.encode().unwrap();
    c.bench_function("frame/encode delta of 512 entries", |b| {
        b.iter(|| black_box(&delta).encode().unwrap())
    });
    c.bench_function("frame/decode delta of 512 entries", |b| {
        b.iter(|| Frame::decode(black_box(&bytes)).unwrap())
    });
    let ping = Frame::Ping {
        seq: 9,
        digest: vec![("node-0".into(), 1), ("node-1".into(), 2)],
    };
    let ping_bytes = ping.encode().unwrap();
    c.bench_function("frame/decode ping", |b| {
        b.iter(|| Frame::decode(black_box(&ping_bytes)).unwrap())
    });
}

/// A node holding 10,000 entries answers the ping of a peer that has none (a delta cut
/// to 512) and of a peer that has them all (nothing to send).
fn anti_entropy(c: &mut Criterion) {
    let now = Instant::now();
    let mut node = Node::new(
        "node-a",
        ["node-b".to_owned()],
        NodeConfig::default(),
        now,
        0,
    );
    for i in 0..10_000 {
        node.write(now, &format!("quota/key-{i}"), Some(vec![1u8; 64]));
    }
    while node.poll_transmit().is_some() {}
    let digest_all = vec![("node-a".to_owned(), u64::MAX)];
    c.bench_function("node/ping from an empty peer (10k entries held)", |b| {
        b.iter(|| {
            node.handle(
                now,
                "node-b",
                Frame::Ping {
                    seq: 1,
                    digest: vec![],
                },
            );
            while let Some(t) = node.poll_transmit() {
                black_box(t);
            }
        })
    });
    c.bench_function(
        "node/ping from an up-to-date peer (10k entries held)",
        |b| {
            b.iter(|| {
                node.handle(
                    now,
                    "node-b",
                    Frame::Ping {
                        seq: 1,
                        digest: digest_all.clone(),
                    },
                );
                while let Some(t) = node.poll_transmit() {
                    black_box(t);
                }
            })
        },
    );
}

/// Write on one member, wait for the other's `Applied` event: the replication latency of
/// the whole stack (node, MessagePack, QUIC + TLS, loopback UDP, tokio) one way.
fn replication(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ids = ["bench-a.mesh", "bench-b.mesh"];
    let minted = mint("bench", &ids).unwrap();
    let sockets = [(); 2].map(|()| UdpSocket::bind("127.0.0.1:0").unwrap());
    let addrs: Vec<_> = sockets.iter().map(|s| s.local_addr().unwrap()).collect();
    let peers: Vec<_> = ids
        .iter()
        .map(|s| s.to_string())
        .zip(addrs.iter().copied())
        .collect();
    let mut members = Vec::new();
    runtime.block_on(async {
        for (i, socket) in sockets.into_iter().enumerate() {
            let (_, cert, key) = &minted.nodes[i];
            let tls = MeshTls::from_pem(&minted.ca_cert, cert, key).unwrap();
            let options = MeshOptions {
                id: ids[i].to_owned(),
                peers: peers.clone(),
                node: NodeConfig::default(),
            };
            members.push(Mesh::start(socket, &tls, options).unwrap());
        }
        // Both up.
        for (_, events) in &mut members {
            while !matches!(events.recv().await, Some(Event::PeerUp(_))) {}
        }
    });
    let (_b, mut b_events) = members.pop().unwrap();
    let (a, _) = &members[0];
    let mut n = 0u64;
    c.bench_function("quic/write on a, applied on b (loopback)", |bench| {
        bench.iter_custom(|iters| {
            runtime.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    n += 1;
                    let key = format!("flush/api/{n}");
                    a.write(&key, Some(n.to_be_bytes().to_vec()));
                    loop {
                        match tokio::time::timeout(Duration::from_secs(5), b_events.recv()).await {
                            Ok(Some(Event::Applied(e))) if e.key == key => break,
                            Ok(Some(_)) => {}
                            other => panic!("no replication: {other:?}"),
                        }
                    }
                }
                start.elapsed()
            })
        })
    });
}

criterion_group!(benches, frames, anti_entropy, replication);
criterion_main!(benches);
