//! The I/O shell around [`Node`]: QUIC (quinn) with mutual TLS between regional nodes.
//!
//! Each node dials each peer once and sends its frames on one unidirectional stream,
//! length-prefixed (4 bytes, big-endian) MessagePack; it accepts the peers' connections
//! the same way. A connection is admitted only if its certificate chains to the mesh CA
//! *and* names one of the configured peers. A full outbound queue or a broken connection
//! drops frames rather than blocking: the node's anti-entropy resends what matters.

mod tls;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::frame::{Frame, MAX_FRAME_BYTES};
use crate::node::{Event, Node, NodeConfig, PeerInfo};
pub use tls::{MeshTls, Minted, mint, valid_node_id};

/// Frames queued per peer before new ones are dropped.
const OUTBOUND_QUEUE: usize = 1024;
/// A dial whose handshake has not finished by then is given up and begun anew. A peer
/// that crashed mid-handshake and restarted cannot read the rest of that handshake (its
/// Initial keys came from the connection id the dead process chose), so without this the
/// dial would wait for QUIC's idle timeout (30 s); a new one is answered at once.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Frames from all peers queued for the node before readers wait.
const INBOUND_QUEUE: usize = 4096;

/// Why the mesh could not start.
#[derive(Debug, thiserror::Error)]
pub enum MeshError {
    #[error("mesh TLS: {0}")]
    Tls(String),
    #[error("mesh socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("mesh: {0}")]
    Config(String),
}

/// Who this node is and whom it meshes with.
#[derive(Debug, Clone)]
pub struct MeshOptions {
    /// This node's id (the DNS name its certificate carries).
    pub id: String,
    /// Every other node: id and QUIC address.
    pub peers: Vec<(String, SocketAddr)>,
    pub node: NodeConfig,
}

enum Command {
    Write(String, Option<Vec<u8>>),
}

/// A running mesh member. Dropping it closes its connections and stops its tasks.
#[derive(Debug)]
pub struct Mesh {
    endpoint: quinn::Endpoint,
    commands: mpsc::UnboundedSender<Command>,
    peers: Arc<Mutex<Vec<PeerInfo>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Write(key, _) => write!(f, "Write({key})"),
        }
    }
}

impl Mesh {
    /// Starts the member on `socket` (already bound, so callers choose the port) inside
    /// the current tokio runtime. Events (peers up and down, replicated writes) arrive on
    /// the returned receiver, which is unbounded: every replicated write must reach it.
    pub fn start(
        socket: std::net::UdpSocket,
        tls: &MeshTls,
        options: MeshOptions,
    ) -> Result<(Mesh, mpsc::UnboundedReceiver<Event>), MeshError> {
        for id in std::iter::once(&options.id).chain(options.peers.iter().map(|(id, _)| id)) {
            if !valid_node_id(id) {
                return Err(MeshError::Config(format!(
                    "node id {id:?} is not a DNS name (letters, digits, '-' and '.')"
                )));
            }
        }
        let mut endpoint = quinn::Endpoint::new(
            tls.endpoint_config(),
            Some(tls.server_config()?),
            socket,
            Arc::new(quinn::TokioRuntime),
        )?;
        endpoint.set_default_client_config(tls.client_config()?);

        let now = Instant::now();
        let node = Node::new(
            &options.id,
            options.peers.iter().map(|(id, _)| id.clone()),
            options.node.clone(),
            now,
            wall_micros(),
        );
        let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_QUEUE);
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (events_tx, events) = mpsc::unbounded_channel();
        let peers = Arc::new(Mutex::new(node.peers().cloned().collect()));
        let mut outbound = HashMap::new();
        for (id, addr) in &options.peers {
            if *id == options.id {
                continue;
            }
            let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
            outbound.insert(id.clone(), tx);
            tokio::spawn(dial(endpoint.clone(), *addr, id.clone(), rx));
        }
        let ids: Arc<[String]> = options
            .peers
            .iter()
            .map(|(id, _)| id.clone())
            .filter(|id| *id != options.id)
            .collect();
        let tasks = vec![
            tokio::spawn(accept(endpoint.clone(), ids, inbound_tx)),
            tokio::spawn(drive(
                node,
                inbound_rx,
                commands_rx,
                outbound,
                events_tx,
                peers.clone(),
            )),
        ];
        Ok((
            Mesh {
                endpoint,
                commands,
                peers,
                tasks,
            },
            events,
        ))
    }

    /// Starts the member a node file's `[mesh]` describes (PEM paths relative to `dir`):
    /// reads the credentials, binds `mesh.listen`, then [`start`](Self::start). Errors say
    /// which setting to fix.
    pub fn start_configured(
        dir: &std::path::Path,
        section: &causeway_model::MeshSection,
    ) -> Result<(Mesh, mpsc::UnboundedReceiver<Event>), MeshError> {
        let tls = MeshTls::from_pem_files(
            &dir.join(&section.ca_file),
            &dir.join(&section.cert_file),
            &dir.join(&section.key_file),
        )
        .map_err(|e| {
            MeshError::Tls(format!(
                "{e} (mesh.ca_file / cert_file / key_file, relative to the config directory; `causeway mesh certs` mints them)"
            ))
        })?;
        let socket = std::net::UdpSocket::bind(section.listen).map_err(|e| {
            MeshError::Config(format!(
                "cannot listen on UDP {} (mesh.listen): {e}",
                section.listen
            ))
        })?;
        let options = MeshOptions {
            id: section.id.clone(),
            peers: section
                .peers
                .iter()
                .map(|p| (p.id.clone(), p.address))
                .collect(),
            node: NodeConfig {
                ping_interval: Duration::from_millis(section.ping_interval_ms),
                down_after: Duration::from_millis(section.down_after_ms),
                ..NodeConfig::default()
            },
        };
        Mesh::start(socket, &tls, options)
    }

    /// The UDP address the member listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, MeshError> {
        Ok(self.endpoint.local_addr()?)
    }

    /// Writes `key` (`None` deletes it) and replicates it to every peer.
    pub fn write(&self, key: &str, value: Option<Vec<u8>>) {
        let _ = self.commands.send(Command::Write(key.to_owned(), value));
    }

    /// What this member knows of each peer (up, smoothed round-trip time).
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Mesh {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        self.endpoint.close(0u32.into(), b"shutting down");
    }
}

fn wall_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Owns the node: feeds it time, frames and writes; routes what it emits.
async fn drive(
    mut node: Node,
    mut inbound: mpsc::Receiver<(String, Frame)>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    outbound: HashMap<String, mpsc::Sender<Frame>>,
    events: mpsc::UnboundedSender<Event>,
    peers: Arc<Mutex<Vec<PeerInfo>>>,
) {
    loop {
        let deadline = tokio::time::Instant::from_std(node.poll_timeout());
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => node.handle_timeout(Instant::now()),
            Some((from, frame)) = inbound.recv() => node.handle(Instant::now(), &from, frame),
            command = commands.recv() => match command {
                Some(Command::Write(key, value)) => {
                    node.write(Instant::now(), &key, value);
                }
                None => return,
            },
        }
        while let Some(t) = node.poll_transmit() {
            if let Some(queue) = outbound.get(&t.to)
                && queue.try_send(t.frame).is_err()
            {
                tracing::debug!(peer = %t.to, "mesh outbound queue full: frame dropped");
            }
        }
        while let Some(event) = node.poll_event() {
            match &event {
                Event::PeerUp(id) => tracing::info!(peer = %id, "mesh peer up"),
                Event::PeerDown(id) => tracing::warn!(peer = %id, "mesh peer down"),
                Event::Applied(_) => {}
            }
            let _ = events.send(event);
        }
        let mut snapshot = peers.lock().unwrap_or_else(PoisonError::into_inner);
        // (Up/down and round-trip times are both in `PeerInfo`: one comparison.)
        if snapshot.iter().zip(node.peers()).any(|(a, b)| a != b) {
            snapshot.clear();
            snapshot.extend(node.peers().cloned());
        }
    }
}

/// Keeps a connection to one peer and writes its frames, redialling with backoff.
async fn dial(
    endpoint: quinn::Endpoint,
    addr: SocketAddr,
    id: String,
    mut frames: mpsc::Receiver<Frame>,
) {
    let mut backoff = Duration::from_millis(100);
    while let Some(first) = frames.recv().await {
        let connection = match endpoint.connect(addr, &id) {
            Ok(connecting) => match tokio::time::timeout(HANDSHAKE_TIMEOUT, connecting).await {
                Ok(done) => done.map_err(|e| e.to_string()),
                Err(_) => Err(format!("no handshake within {HANDSHAKE_TIMEOUT:?}")),
            },
            Err(e) => Err(e.to_string()),
        };
        let mut send = match connection {
            Ok(c) => match c.open_uni().await {
                Ok(send) => send,
                Err(e) => {
                    tracing::debug!(peer = %id, error = %e, "mesh stream refused");
                    continue;
                }
            },
            Err(e) => {
                tracing::debug!(peer = %id, %addr, error = %e, "mesh dial failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        let mut next = Some(first);
        while let Some(frame) = next.take().or(frames.recv().await) {
            let bytes = match frame.encode() {
                Ok(bytes) => bytes,
                Err(e) => {
                    tracing::warn!(peer = %id, error = %e, "mesh frame not sent");
                    continue;
                }
            };
            let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes();
            if send.write_all(&len).await.is_err() || send.write_all(&bytes).await.is_err() {
                break;
            }
        }
    }
}

/// Accepts peers' connections: only certificates naming a configured peer.
async fn accept(
    endpoint: quinn::Endpoint,
    ids: Arc<[String]>,
    inbound: mpsc::Sender<(String, Frame)>,
) {
    while let Some(incoming) = endpoint.accept().await {
        let ids = ids.clone();
        let inbound = inbound.clone();
        tokio::spawn(async move {
            let connection = match incoming.await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "mesh handshake refused");
                    return;
                }
            };
            let Some(id) = tls::identify(&connection, ids.iter().map(String::as_str)) else {
                tracing::warn!(
                    remote = %connection.remote_address(),
                    "mesh connection refused: its certificate names no configured peer"
                );
                connection.close(1u32.into(), b"not a configured peer");
                return;
            };
            let id = id.to_owned();
            while let Ok(recv) = connection.accept_uni().await {
                tokio::spawn(read_frames(recv, id.clone(), inbound.clone()));
            }
        });
    }
}

async fn read_frames(
    mut recv: quinn::RecvStream,
    id: String,
    inbound: mpsc::Sender<(String, Frame)>,
) {
    let mut buf = Vec::new();
    loop {
        let mut len = [0u8; 4];
        if recv.read_exact(&mut len).await.is_err() {
            return;
        }
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_FRAME_BYTES {
            tracing::warn!(peer = %id, len, "mesh frame over the limit: stream dropped");
            let _ = recv.stop(1u32.into());
            return;
        }
        buf.resize(len, 0);
        if recv.read_exact(&mut buf).await.is_err() {
            return;
        }
        match Frame::decode(&buf) {
            Ok(frame) => {
                if inbound.send((id.clone(), frame)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(peer = %id, error = %e, "malformed mesh frame: stream dropped");
                let _ = recv.stop(1u32.into());
                return;
            }
        }
    }
}
