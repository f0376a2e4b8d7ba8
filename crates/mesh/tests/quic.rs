//! Real mesh members on loopback: QUIC with mutual TLS, minted certificates, real frames.
#![allow(clippy::unwrap_used)]

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use causeway_mesh::transport::{Mesh, MeshOptions, MeshTls, Minted, mint};
use causeway_mesh::{Event, NodeConfig};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{Instant, timeout_at};

const IDS: [&str; 3] = ["node-a.mesh", "node-b.mesh", "node-c.mesh"];

fn fast() -> NodeConfig {
    NodeConfig {
        ping_interval: Duration::from_millis(100),
        down_after: Duration::from_millis(600),
        ..NodeConfig::default()
    }
}

fn tls(minted: &Minted, id: &str) -> MeshTls {
    let (_, cert, key) = minted.nodes.iter().find(|(n, _, _)| n == id).unwrap();
    MeshTls::from_pem(&minted.ca_cert, cert, key).unwrap()
}

fn sockets(n: usize) -> (Vec<UdpSocket>, Vec<SocketAddr>) {
    let sockets: Vec<UdpSocket> = (0..n)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    let addrs = sockets.iter().map(|s| s.local_addr().unwrap()).collect();
    (sockets, addrs)
}

fn options(me: usize, addrs: &[SocketAddr]) -> MeshOptions {
    MeshOptions {
        id: IDS[me].to_owned(),
        peers: IDS
            .iter()
            .map(|id| id.to_string())
            .zip(addrs.iter().copied())
            .collect(),
        node: fast(),
    }
}

/// Waits (bounded) for an event matching `want`.
async fn expect(events: &mut UnboundedReceiver<Event>, want: impl Fn(&Event) -> bool) -> Event {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) if want(&event) => return event,
            Ok(Some(_)) => {}
            Ok(None) => panic!("mesh stopped"),
            Err(_) => panic!("no such event within 10 s"),
        }
    }
}

fn applied(key: &'static str, value: &'static [u8]) -> impl Fn(&Event) -> bool {
    move |e| matches!(e, Event::Applied(entry) if entry.key == key && entry.value.as_deref() == Some(value))
}

#[tokio::test]
async fn three_nodes_replicate_over_mutual_tls() {
    let minted = mint("test mesh", &IDS).unwrap();
    let (sockets, addrs) = sockets(3);
    let mut members = Vec::new();
    for (i, socket) in sockets.into_iter().enumerate() {
        members.push(Mesh::start(socket, &tls(&minted, IDS[i]), options(i, &addrs)).unwrap());
    }
    for (_, events) in &mut members {
        for _ in 0..2 {
            expect(events, |e| matches!(e, Event::PeerUp(_))).await;
        }
    }
    members[0]
        .0
        .write("flush/petstore/prod", Some(b"1".to_vec()));
    for (_, events) in &mut members[1..] {
        expect(events, applied("flush/petstore/prod", b"1")).await;
    }
    // Round-trip times are measured on every link.
    let deadline = Instant::now() + Duration::from_secs(10);
    while members[0].0.peers().iter().any(|p| p.srtt.is_none()) {
        assert!(Instant::now() < deadline, "{:?}", members[0].0.peers());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Node c goes away: the others mark it down; writes made meanwhile reach it when it
    // comes back on the same address with empty state.
    let (c, _) = members.pop().unwrap();
    drop(c);
    for (_, events) in &mut members {
        expect(events, |e| *e == Event::PeerDown(IDS[2].to_owned())).await;
    }
    members[1]
        .0
        .write("quota/node-b.mesh", Some(b"42".to_vec()));
    // The old member's tasks let go of its socket as the runtime gets to them.
    let deadline = Instant::now() + Duration::from_secs(10);
    let socket = loop {
        match UdpSocket::bind(addrs[2]) {
            Ok(socket) => break socket,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("c's address is still taken after 10 s: {e}"),
        }
    };
    let (_c, mut c_events) =
        Mesh::start(socket, &tls(&minted, IDS[2]), options(2, &addrs)).unwrap();
    let mut missing = vec!["flush/petstore/prod", "quota/node-b.mesh"];
    while !missing.is_empty() {
        if let Event::Applied(entry) =
            expect(&mut c_events, |e| matches!(e, Event::Applied(_))).await
        {
            missing.retain(|k| *k != entry.key);
        }
    }
    for (_, events) in &mut members {
        expect(events, |e| *e == Event::PeerUp(IDS[2].to_owned())).await;
    }
}

/// A node whose certificate comes from another CA, and one with a valid certificate for an
/// id that is not a configured peer, never get a frame in.
#[tokio::test]
async fn strangers_are_refused() {
    let minted = mint("test mesh", &[IDS[0], IDS[1], IDS[2], "node-x.mesh"]).unwrap();
    let rogue_ca = mint("rogue", &IDS).unwrap();
    let (sockets, addrs) = sockets(3);
    let mut sockets = sockets.into_iter();
    let (a, mut a_events) = Mesh::start(
        sockets.next().unwrap(),
        &tls(&minted, IDS[0]),
        options(0, &addrs),
    )
    .unwrap();
    // "node-b" with a rogue CA's certificate.
    let (b, _) = Mesh::start(
        sockets.next().unwrap(),
        &tls(&rogue_ca, IDS[1]),
        options(1, &addrs),
    )
    .unwrap();
    // "node-x": the mesh's own CA, but not a configured peer.
    let mut outsider = options(2, &addrs);
    outsider.id = "node-x.mesh".to_owned();
    let (c, _) = Mesh::start(
        sockets.next().unwrap(),
        &tls(&minted, "node-x.mesh"),
        outsider,
    )
    .unwrap();
    b.write("stage/petstore/prod", Some(b"evil".to_vec()));
    c.write("stage/petstore/prod", Some(b"evil".to_vec()));
    let deadline = Instant::now() + Duration::from_secs(2);
    if let Ok(event) = timeout_at(deadline, a_events.recv()).await {
        panic!("a stranger got through: {event:?}");
    }
    assert!(a.peers().iter().all(|p| !p.up));
}

#[test]
fn bad_credentials_and_ids_are_clear_errors() {
    let minted = mint("test mesh", &IDS).unwrap();
    let (_, cert, key) = &minted.nodes[0];
    let err = MeshTls::from_pem("not pem", cert, key)
        .unwrap_err()
        .to_string();
    assert!(err.contains("mesh CA"), "{err}");
    let err = MeshTls::from_pem(&minted.ca_cert, cert, "nope")
        .unwrap_err()
        .to_string();
    assert!(err.contains("node key"), "{err}");
    let err = mint("x", &["not a name!"]).unwrap_err().to_string();
    assert!(err.contains("not a DNS name"), "{err}");
}

/// A member that dies without closing anything (its process killed) and comes back on the
/// same address at once: the survivor's old connection to it is dead, and what the
/// survivor writes must still reach the new member within a ping or two, not after QUIC's
/// idle timeout.
#[tokio::test]
async fn a_member_killed_and_restarted_at_once_hears_the_survivor_again() {
    let minted = mint("test mesh", &IDS[..2]).unwrap();
    let (sockets, addrs) = sockets(2);
    let addrs = &addrs[..];
    let two = |me: usize| {
        let mut o = options(me, addrs);
        o.peers.truncate(2);
        o
    };
    let mut sockets = sockets.into_iter();
    let (a, mut a_events) =
        Mesh::start(sockets.next().unwrap(), &tls(&minted, IDS[0]), two(0)).unwrap();
    // b runs on a runtime of its own, so that it can die the way a killed process does:
    // its tasks stop with no CONNECTION_CLOSE sent.
    let b_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (b, mut b_events) = {
        let _in = b_runtime.enter();
        Mesh::start(sockets.next().unwrap(), &tls(&minted, IDS[1]), two(1)).unwrap()
    };
    expect(&mut a_events, |e| *e == Event::PeerUp(IDS[1].to_owned())).await;
    a.write("k/1", Some(b"1".to_vec()));
    expect(&mut b_events, applied("k/1", b"1")).await;

    b_runtime.shutdown_background();
    drop(b);
    drop(b_events);
    let deadline = Instant::now() + Duration::from_secs(10);
    let socket = loop {
        match UdpSocket::bind(addrs[1]) {
            Ok(socket) => break socket,
            Err(e) => {
                assert!(Instant::now() < deadline, "b's address still taken: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    let (_b, mut b_events) = Mesh::start(socket, &tls(&minted, IDS[1]), two(1)).unwrap();
    a.write("k/2", Some(b"2".to_vec()));
    let mut missing = vec!["k/1", "k/2"];
    while !missing.is_empty() {
        if let Event::Applied(entry) =
            expect(&mut b_events, |e| matches!(e, Event::Applied(_))).await
        {
            missing.retain(|k| *k != entry.key);
        }
    }
}

/// A UDP relay in front of a member: forwards both ways, or (`hold`) lets the member's
/// first answer through and then nothing either way, as if the member died right after it.
struct Relay {
    addr: SocketAddr,
    target: std::sync::Arc<std::sync::Mutex<SocketAddr>>,
    holding: std::sync::Arc<std::sync::atomic::AtomicBool>,
    answered: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Relay {
    async fn start(target: SocketAddr, hold: bool) -> Relay {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let relay = Relay {
            addr: socket.local_addr().unwrap(),
            target: Arc::new(Mutex::new(target)),
            holding: Arc::new(AtomicBool::new(hold)),
            answered: Arc::new(AtomicBool::new(false)),
        };
        let (to, holding, answered) = (
            relay.target.clone(),
            relay.holding.clone(),
            relay.answered.clone(),
        );
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            let mut client = None;
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                let target = *to.lock().unwrap();
                let hold = holding.load(Ordering::SeqCst);
                let first = !answered.load(Ordering::SeqCst);
                let dest = if from == target {
                    answered.store(true, Ordering::SeqCst);
                    if hold && first {
                        // Only the Initial packet (ServerHello): the client switches to the
                        // server's connection id but never gets the rest of the handshake.
                        // The rest of the datagram is zeroed rather than cut, so it keeps
                        // the size a client requires of a datagram with an Initial in it.
                        let end = first_packet_len(&buf[..n]).unwrap_or(n);
                        buf[end..n].fill(0);
                    }
                    client.filter(|_| !hold || first)
                } else {
                    client = Some(from);
                    (!hold || first).then_some(target)
                };
                if let Some(dest) = dest {
                    let _ = socket.send_to(&buf[..n], dest).await;
                }
            }
        });
        relay
    }
}

/// The length of the first QUIC packet in a datagram that begins with a long-header
/// Initial packet (RFC 9000 §17.2.2), so a relay can pass it without what is coalesced
/// after it.
fn first_packet_len(d: &[u8]) -> Option<usize> {
    fn varint(d: &[u8], at: usize) -> Option<(u64, usize)> {
        let len = 1usize << (d.get(at)? >> 6);
        let mut v = u64::from(d.get(at)? & 0x3f);
        for b in d.get(at + 1..at + len)? {
            v = (v << 8) | u64::from(*b);
        }
        Some((v, at + len))
    }
    if d.first()? & 0xf0 != 0xc0 {
        return None; // not a long-header Initial
    }
    let mut at = 5;
    at += 1 + usize::from(*d.get(at)?); // destination connection id
    at += 1 + usize::from(*d.get(at)?); // source connection id
    let (token, at) = varint(d, at)?;
    let (len, at) = varint(d, at + usize::try_from(token).ok()?)?;
    let end = at + usize::try_from(len).ok()?;
    (end <= d.len()).then_some(end)
}

/// A member killed in the middle of a peer's handshake with it (its first answer sent, the
/// rest never) and restarted: the peer's half-done dial cannot finish against the new
/// process, so it is given up and a new one made, and the peer's writes arrive. (In about
/// half the runs the dial is caught in that state and the test takes the 5 s handshake
/// timeout; it failed with a 60 s timeout. In the others the write arrives at once: why
/// the dial is not caught then was not traced.)
#[tokio::test]
async fn a_dial_cut_off_mid_handshake_is_made_again() {
    use std::sync::atomic::Ordering;
    let minted = mint("test mesh", &IDS[..2]).unwrap();
    let (sockets, real) = sockets(2);
    let relay = Relay::start(real[1], true).await;
    // a reaches b through the relay; b reaches a directly.
    let addrs = [real[0], relay.addr];
    let two = |me: usize| {
        let mut o = options(me, &addrs);
        o.peers.truncate(2);
        o
    };
    let mut sockets = sockets.into_iter();
    let (a, _a_events) =
        Mesh::start(sockets.next().unwrap(), &tls(&minted, IDS[0]), two(0)).unwrap();
    let b_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let b = {
        let _in = b_runtime.enter();
        Mesh::start(sockets.next().unwrap(), &tls(&minted, IDS[1]), two(1)).unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !relay.answered.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "b never answered a's dial");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    b_runtime.shutdown_background();
    drop(b);

    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    *relay.target.lock().unwrap() = socket.local_addr().unwrap();
    relay.holding.store(false, Ordering::SeqCst);
    let (_b, mut b_events) = Mesh::start(socket, &tls(&minted, IDS[1]), two(1)).unwrap();
    a.write("k/1", Some(b"1".to_vec()));
    expect(&mut b_events, applied("k/1", b"1")).await;
}
