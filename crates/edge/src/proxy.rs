//! The edge's HTTP shell: accept, pick regions in [`select::order`](crate::select::order),
//! forward, stream the answer back.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use causeway_gateway::{
    Body, EdgeRegionMetrics, ForwardError, Forwarder, Gateway, HttpsConfig, Origin, Peer, RequestId,
};
use causeway_mesh::PeerInfo;
use causeway_model::NodeConfig;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::select::{Candidate, order};
use crate::tunnel;

/// The response header naming the regional node that answered.
pub const REGION_HEADER: &str = "x-causeway-region";

/// Largest request body an edge forwards (API Gateway's payload limit). Bodies are held
/// until a region accepts the connection, so a failed connect can be retried elsewhere.
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// How long a region has to answer with a response head: API Gateway's longest
/// integration timeout (29 s) and a margin; the region enforces the route's own.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a client has to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an edge could not start.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error("{0}")]
    Config(String),
}

/// Where the edge learns which regions are up and how far each is: the node's mesh member.
pub type PeerSource = Box<dyn Fn() -> Vec<PeerInfo> + Send + Sync>;

struct Region {
    node: String,
    origin: Origin,
    metrics: EdgeRegionMetrics,
    /// `node` as a header value, for [`REGION_HEADER`].
    name: Option<HeaderValue>,
}

impl Region {
    /// Names this region on its answer ([`REGION_HEADER`]).
    fn stamp(&self, headers: &mut HeaderMap) {
        if let Some(name) = &self.name {
            headers.insert(HeaderName::from_static(REGION_HEADER), name.clone());
        }
    }
}

/// How long a computed region order is reused: round-trip times and up/down states move
/// on the mesh's ping interval, not per request.
const ORDER_TTL: Duration = Duration::from_millis(50);

/// A running edge: the regions it forwards to, how it sees them, its upstream client, and
/// the gateway holding the stages the regions replicated here (their authorizers run
/// before forwarding, see [`Gateway::check_at_edge`]).
pub struct Edge {
    regions: Vec<Region>,
    peers: PeerSource,
    gateway: Gateway,
    client: Forwarder,
    order: std::sync::Mutex<(Instant, Arc<[usize]>)>,
}

impl std::fmt::Debug for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edge")
            .field(
                "regions",
                &self.regions.iter().map(|r| &r.node).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Edge {
    /// Prepares to forward to `node`'s `[edge]` regions, ordered by what `peers` (the
    /// node's mesh member) reports, checking requests against what `gateway` serves.
    pub fn new(node: &NodeConfig, gateway: Gateway, peers: PeerSource) -> Result<Edge, EdgeError> {
        let (Some(_), Some(edge)) = (&node.mesh, &node.edge) else {
            return Err(EdgeError::Config(
                "an edge node needs `[mesh]` (the regional nodes as peers) and `[edge]` (their public listeners) in causeway.toml".into(),
            ));
        };
        let client = Forwarder::new(Duration::from_millis(edge.connect_timeout_ms));
        let regions = edge
            .regions
            .iter()
            .map(|r| {
                let origin = client.origin(&r.url).map_err(|e| {
                    EdgeError::Config(format!("edge region {}: `{}`: {e}", r.node, r.url))
                })?;
                Ok(Region {
                    node: r.node.clone(),
                    origin,
                    metrics: gateway.metrics().edge_region(&r.node),
                    name: HeaderValue::from_str(&r.node).ok(),
                })
            })
            .collect::<Result<Vec<_>, EdgeError>>()?;
        let stale = Instant::now()
            .checked_sub(ORDER_TTL * 2)
            .unwrap_or_else(Instant::now);
        Ok(Edge {
            regions,
            peers,
            gateway,
            client,
            order: std::sync::Mutex::new((stale, Arc::from(Vec::new()))),
        })
    }

    /// Serves clients on `listener` until `shutdown` resolves.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        self.run(listener, None, shutdown).await
    }

    /// [`serve`](Self::serve) over TLS (the node's `[node.tls]`): the handshake, bounded by
    /// [`HANDSHAKE_TIMEOUT`], then h2 or HTTP/1.1 as ALPN chose.
    pub async fn serve_https(
        self: Arc<Self>,
        listener: TcpListener,
        tls: &HttpsConfig,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        self.run(listener, Some(tls.clone()), shutdown).await
    }

    async fn run(
        self: Arc<Self>,
        listener: TcpListener,
        tls: Option<HttpsConfig>,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            let (stream, remote) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let edge = self.clone();
            let service = move |peer: Peer| {
                hyper::service::service_fn(move |req| {
                    let (edge, peer) = (edge.clone(), peer.clone());
                    async move { Ok::<_, Infallible>(edge.forward(req, &peer).await) }
                })
            };
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let Some(tls) = &tls else {
                let service = service(Peer::new(remote));
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                let conn = graceful.watch(conn.into_owned());
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                continue;
            };
            let (tls, watcher, gateway) = (tls.clone(), graceful.watcher(), self.gateway.clone());
            tokio::spawn(async move {
                let (stream, client) =
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                        Ok(Ok(accepted)) => accepted,
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %remote, error = %e, "TLS handshake failed");
                            let reason = causeway_gateway::handshake_error_reason(&e);
                            gateway.metrics().tls_handshake_error(reason);
                            return;
                        }
                        Err(_) => {
                            gateway.metrics().tls_handshake_error("timeout");
                            return;
                        }
                    };
                let service = service(Peer::new(remote).over_tls(client));
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                let _ = watcher.watch(conn.into_owned()).await;
            });
        }
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(Duration::from_secs(10)) => {}
        }
        Ok(())
    }

    /// [`compute_order`](Self::compute_order), reused for [`ORDER_TTL`].
    fn order(&self) -> Arc<[usize]> {
        let now = Instant::now();
        let mut cached = self
            .order
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if now.saturating_duration_since(cached.0) >= ORDER_TTL {
            *cached = (now, Arc::from(self.compute_order()));
        }
        cached.1.clone()
    }

    fn compute_order(&self) -> Vec<usize> {
        let peers = (self.peers)();
        let candidates: Vec<Candidate<'_>> = self
            .regions
            .iter()
            .map(|r| {
                let peer = peers.iter().find(|p| p.id == r.node);
                Candidate {
                    node: &r.node,
                    up: peer.is_some_and(|p| p.up),
                    srtt: peer.and_then(|p| p.srtt),
                }
            })
            .collect();
        order(&candidates)
    }

    async fn forward(&self, mut req: Request<Incoming>, peer: &Peer) -> Response<Body> {
        let remote = peer.addr;
        let upgrade = tunnel::is_upgrade(req.headers()).then(|| hyper::upgrade::on(&mut req));
        let (parts, body) = req.into_parts();
        let parts = match self.gateway.check_at_edge(parts, peer).await {
            Ok(parts) => parts,
            Err(answer) => {
                self.gateway
                    .metrics()
                    .edge_answered(answer.status().as_u16());
                return answer;
            }
        };
        let body = if hyper::body::Body::is_end_stream(&body) {
            Bytes::new()
        } else {
            match Limited::new(body, MAX_BODY_BYTES).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(e)
                    if e.downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some() =>
                {
                    return self.error(StatusCode::PAYLOAD_TOO_LARGE, "Request Too Long");
                }
                Err(_) => return self.error(StatusCode::BAD_REQUEST, "Bad Request"),
            }
        };
        let path = parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
        let mut headers = parts.headers;
        if let Some(client) = upgrade {
            append_forwarded_for(&mut headers, remote);
            return self
                .tunnel(client, &parts.method, path.as_str(), &headers)
                .await;
        }
        strip_hop_by_hop(&mut headers);
        // The region is sent the path alone: it must see the host this edge placed the
        // request by (`causeway_gateway`'s rule): the target's authority (h2's
        // `:authority`, an absolute-form HTTP/1 target's) over the `Host` field.
        if let Some(Ok(host)) = parts
            .uri
            .authority()
            .map(|a| HeaderValue::from_str(a.as_str()))
        {
            headers.insert(header::HOST, host);
        }
        append_forwarded_for(&mut headers, remote);
        let (forwarder, method, path, headers) = (&self.client, &parts.method, &path, &headers);
        let sent = self
            .first_reachable("mid-request", |region| {
                let (method, body) = (method.clone(), body.clone());
                async move {
                    forwarder
                        .forward(
                            &region.origin,
                            method,
                            path,
                            headers,
                            body,
                            RESPONSE_TIMEOUT,
                        )
                        .await
                }
            })
            .await;
        match sent {
            Ok((mut response, region)) => {
                strip_hop_by_hop(response.headers_mut());
                region.stamp(response.headers_mut());
                response
            }
            Err(answer) => answer,
        }
    }

    /// Tries the regions, nearest up one first, until one is reached: an unreachable
    /// region is counted and the next one tried; any other failure is a 502 (the request
    /// may have been sent), none reached a 503. The region that answered is returned
    /// with the answer, its latency counted.
    async fn first_reachable<'s, T, A>(
        &'s self,
        what: &'static str,
        mut attempt: impl FnMut(&'s Region) -> A,
    ) -> Result<(T, &'s Region), Response<Body>>
    where
        A: Future<Output = Result<T, ForwardError>>,
    {
        for &i in self.order().iter() {
            let region = &self.regions[i];
            let started = Instant::now();
            match attempt(region).await {
                Ok(answer) => {
                    region
                        .metrics
                        .forwarded(started.elapsed().as_secs_f64() * 1000.0);
                    return Ok((answer, region));
                }
                Err(ForwardError::Unreachable(e)) => {
                    region.metrics.unreachable();
                    tracing::warn!(region = %region.node, error = %e, "region unreachable: trying the next");
                }
                Err(e) => {
                    tracing::warn!(region = %region.node, error = %e, "region failed {what}");
                    return Err(self.error(StatusCode::BAD_GATEWAY, "Bad Gateway"));
                }
            }
        }
        Err(self.error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"))
    }

    /// An answer of the edge's own (no region answered), counted.
    fn error(&self, status: StatusCode, message: &str) -> Response<Body> {
        self.gateway.metrics().edge_answered(status.as_u16());
        error(status, message)
    }

    /// An upgrade request (a WebSocket handshake): to the first region that takes the
    /// connection; a 101 starts the tunnel, anything else is passed on.
    async fn tunnel(
        &self,
        client: hyper::upgrade::OnUpgrade,
        method: &http::Method,
        path: &str,
        headers: &HeaderMap,
    ) -> Response<Body> {
        let forwarder = &self.client;
        let opened = self
            .first_reachable("an upgrade", |region| async move {
                let stream = forwarder.open(&region.origin).await?;
                tunnel::open(stream, RESPONSE_TIMEOUT, method, path, headers)
                    .await
                    .map_err(ForwardError::Failed)
            })
            .await;
        match opened {
            Ok((mut opened, region)) => {
                region.stamp(opened.response.headers_mut());
                if let Some(upgraded) = opened.upgraded {
                    tokio::spawn(tunnel::pipe(client, upgraded, region.node.clone()));
                }
                opened.response
            }
            Err(answer) => answer,
        }
    }
}

const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    for name in named {
        headers.remove(name);
    }
}

fn append_forwarded_for(headers: &mut HeaderMap, remote: SocketAddr) {
    let ip = remote.ip().to_string();
    let value = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(before) => format!("{before}, {ip}"),
        None => ip,
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert("x-forwarded-for", v);
    }
}

/// An answer of the edge's own, in API Gateway's shape, with a request id of its own.
fn error(status: StatusCode, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut response = Response::new(Body::Full(Some(Bytes::from(body))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        HeaderName::from_static("x-amzn-requestid"),
        RequestId::new().header_value(),
    );
    response
}
