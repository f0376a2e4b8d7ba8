//! Causeway's data plane: the listener (HTTP/1.1 and h2 on hyper), the ordered request
//! pipeline and its built-in phases, the integrations (MOCK, HTTP, HTTP_PROXY), the
//! API-Gateway-shaped errors, and the routing table that control-plane changes swap in
//! atomically.
//!
//! It depends on the model (what to serve) and the router (how to match), never on the
//! store or the admin API: the control plane tells it what to serve through
//! [`Gateway::publish`].
#![forbid(unsafe_code)]

mod access_log;
mod authorizer;
mod body;
mod cache;
mod compile;
mod compress;
mod context;
mod edge_trust;
mod endpoint;
mod error;
mod forwarder;
mod gateway_responses;
mod host;
mod json;
pub mod jwt;
mod keys;
mod metrics;
mod model;
#[cfg(test)]
mod mutate;
mod path;
mod peer;
mod phases;
mod pipeline;
mod plugins;
mod server;
mod table;
mod throttle;
mod tls;
mod trace;
mod websocket;
mod wire;

use std::sync::Arc;

use arc_swap::ArcSwap;
use causeway_model::{DomainSpec, NodeConfig};
use http::{Request, Response};

pub use body::{Body, BoxError};
pub use compile::{CompiledDeployment, check_routes, compile};
pub use context::{Peer, RequestCtx, RequestId};
pub use error::{ErrorKind, ErrorSource, GatewayError};
pub use forwarder::{ForwardError, Forwarder, Origin};
pub use keys::{KeyBinding, PlanBinding};
pub use metrics::{
    EdgeRegionMetrics, Metrics, PluginInstanceLabels, PluginLabels, RouteLabels, RouteMetrics,
    WebSocketEvent, WebSocketLabels,
};
pub use peer::{ClientCert, TlsClient};
pub use pipeline::{Flow, Phase, Pipeline};
pub use plugins::{Plugins, load_plugins, options_of, prewarm, world_of};
pub use table::{CanaryBinding, EXECUTE_API_SUFFIX, StageBinding};
pub use tls::server::{HttpsConfig, handshake_error_reason, https_config};
pub use tls::upstream_tls;
pub use trace::Tracing;

pub(crate) use host::{host_of, host_problem};
use phases::route::Limits;
use table::Table;

/// A running data plane. Cheap to clone: clones share the table and the pipeline.
#[derive(Clone, Debug)]
pub struct Gateway {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    table: Arc<ArcSwap<Table>>,
    pipeline: Pipeline,
    /// What an edge node runs before forwarding ([`Gateway::check_at_edge`]).
    edge_gate: Pipeline,
    /// The edge's signing key and the edges' keys a region trusts.
    edge_trust: Arc<edge_trust::EdgeTrust>,
    metrics: Arc<Metrics>,
    log_sinks: access_log::Sinks,
    tracing: Option<Arc<Tracing>>,
    keys: Arc<ArcSwap<keys::KeyTable>>,
    throttle: Arc<throttle::Throttle>,
    caches: cache::Caches,
    /// Time a client has to send a request head (and an idle keep-alive limit).
    header_read_timeout: std::time::Duration,
    /// Connection workers (`node.worker_threads`, 0: one per core); none with
    /// `node.work_stealing` (connections are spawned on the caller's runtime).
    workers: usize,
    /// `node.yield_when_idle`.
    yield_when_idle: bool,
    /// Open WebSocket connections.
    hub: Arc<websocket::Hub>,
}

impl Gateway {
    /// A gateway with the node's limits and nothing published yet.
    pub fn new(node: &NodeConfig) -> Gateway {
        let table = Arc::new(ArcSwap::from_pointee(Table::default()));
        let limits = Limits {
            max_body_bytes: node.node.max_body_bytes,
            max_header_bytes: node.node.max_header_bytes,
        };
        let metrics = Arc::new(Metrics::new());
        let keys = Arc::new(ArcSwap::from_pointee(keys::KeyTable::default()));
        let node_id = node.mesh.as_ref().map_or(0, |m| throttle::node_id(&m.id));
        let throttle = Arc::new(throttle::Throttle::new(node.node.throttle, node_id));
        let unrouted = metrics.route(&RouteLabels {
            api: String::new(),
            stage: String::new(),
            method: String::new(),
            resource: String::new(),
        });
        let client = phases::integrate::new_client(node);
        let hub = Arc::new(websocket::Hub::new(client.clone(), metrics.clone()));
        let edge_trust = Arc::new(edge_trust::EdgeTrust::default());
        let edge_gate = Pipeline::new(vec![
            Box::new(phases::edge::EdgeRoute {
                table: table.clone(),
            }),
            // An edge decides for itself: it takes no other edge's word.
            Box::new(phases::authorize::Authorize {
                metrics: metrics.clone(),
            }),
        ]);
        let pipeline = Pipeline::new(vec![
            Box::new(phases::edge::Vouched {
                trust: edge_trust.clone(),
            }),
            Box::new(phases::observe::Observe { unrouted }),
            Box::new(phases::route::Route {
                table: table.clone(),
                limits,
                hub: hub.clone(),
            }),
            Box::new(phases::compress::Compress),
            Box::new(phases::cors::Cors),
            Box::new(phases::authorize::Authorize {
                metrics: metrics.clone(),
            }),
            Box::new(phases::inflate::Inflate {
                max_body_bytes: node.node.max_body_bytes,
            }),
            Box::new(phases::params::RequiredParams),
            Box::new(phases::api_key::ApiKey { keys: keys.clone() }),
            Box::new(phases::throttle::ThrottlePhase {
                throttle: throttle.clone(),
            }),
            Box::new(phases::cache::CachePhase),
            Box::new(phases::integrate::Integrate {
                client,
                metrics: metrics.clone(),
            }),
        ]);
        let tracing = match Tracing::new(&node.tracing) {
            Ok(t) => t.map(Arc::new),
            Err(e) => {
                tracing::error!(error = %e, "tracing disabled");
                None
            }
        };
        let pipeline = pipeline.with_tracing(tracing.clone());
        Gateway {
            inner: Arc::new(Inner {
                table,
                pipeline,
                edge_gate,
                edge_trust,
                metrics,
                log_sinks: access_log::Sinks::default(),
                tracing,
                keys,
                throttle,
                caches: cache::Caches::default(),
                header_read_timeout: std::time::Duration::from_millis(
                    node.node.header_read_timeout_ms,
                ),
                workers: match node.node.worker_threads {
                    _ if node.node.work_stealing => 0,
                    0 => std::thread::available_parallelism().map_or(1, usize::from),
                    n => n,
                },
                yield_when_idle: node.node.yield_when_idle,
                hub,
            }),
        }
    }

    /// Replace what is served: every stage binding and custom domain at once. Requests
    /// already in flight finish on the deployment they started on.
    pub fn publish(&self, stages: Vec<StageBinding>, domains: &[DomainSpec]) {
        self.inner.metrics.set_plugins(live_plugins(&stages));
        self.inner.caches.publishing();
        let table = Arc::new(Table::build(
            stages,
            domains,
            &self.inner.metrics,
            &self.inner.log_sinks,
            &self.inner.caches,
        ));
        self.inner.caches.published();
        self.inner
            .throttle
            .configure(&table, &self.inner.keys.load());
        self.inner.table.store(table);
    }

    /// This node's metrics (served by the admin listener at `/metrics`).
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Replace the published API keys and usage plans, atomically.
    pub fn publish_keys(&self, keys: Vec<KeyBinding>) {
        let keys = Arc::new(keys::KeyTable::build(keys));
        self.inner
            .throttle
            .configure(&self.inner.table.load(), &keys);
        self.inner.keys.store(keys);
    }

    /// Drop every cached response of one stage; false when the stage has no cache.
    pub fn flush_cache(&self, api: &str, stage: &str) -> bool {
        self.inner.caches.flush(api, stage)
    }

    /// (entries, bytes, capacity) of one stage's cache.
    pub fn cache_stats(&self, api: &str, stage: &str) -> Option<(usize, usize, usize)> {
        self.inner.caches.stats(api, stage)
    }

    /// Quota counters as JSON, for the control plane to persist.
    pub fn quota_usage_json(&self) -> serde_json::Value {
        self.inner.throttle.ledger_json()
    }

    /// Fold in quota counters persisted earlier (or received from a peer).
    pub fn merge_quota_usage_json(&self, value: &serde_json::Value) -> Result<(), String> {
        self.inner.throttle.merge_ledger_json(value)
    }

    /// Quota use of API key `key_id` under plan `plan_id` in the current period:
    /// (period start as `YYYY-MM-DD`, used, allowance); `None` when the plan has no quota.
    pub fn quota_usage(&self, key_id: &str, plan_id: &str) -> Option<(String, u64, u64)> {
        let usage = self
            .inner
            .throttle
            .lock()
            .usage(&throttle::client_key(key_id, plan_id), throttle::now_ms())?;
        let (y, m, d) = usage.period.start_date();
        Some((format!("{y:04}-{m:02}-{d:02}"), usage.used, usage.allowance))
    }

    /// Export buffered spans now (called when the listener stops).
    pub fn flush_traces(&self) {
        if let Some(t) = &self.inner.tracing {
            t.shutdown();
        }
    }

    /// Serve one request.
    pub async fn handle(
        &self,
        req: Request<hyper::body::Incoming>,
        client: &Peer,
    ) -> Response<Body> {
        self.handle_upgradable(req, client, None).await
    }

    /// [`handle`](Self::handle) on a connection that may become a WebSocket: `upgraded`
    /// is set when it does (its header-read timer stops ticking).
    pub(crate) async fn handle_upgradable(
        &self,
        req: Request<hyper::body::Incoming>,
        client: &Peer,
        upgraded: Option<&std::sync::atomic::AtomicBool>,
    ) -> Response<Body> {
        let (mut parts, body) = req.into_parts();
        let host = host_of(&parts);
        // A handshake is placed by its normalized path as the pipeline routes (one that
        // cannot be normalized goes on to the pipeline, which refuses it).
        if websocket::is_upgrade(&parts.headers)
            && !client.private
            && path::normalize(&mut parts).is_ok()
            && let table::Resolved::Stage(stage, at) =
                self.inner.table.load().resolve(&host, parts.uri.path())
            && stage.deployment.kind() == causeway_model::ApiType::WebSocket
        {
            // The handshake does not run the pipeline: an edge's word on the client is
            // taken here (and never passed on to `$connect`).
            let vouched = parts.headers.remove(&edge_trust::HEADER).and_then(|h| {
                self.inner
                    .edge_trust
                    .client_of(&h, &parts, &host, throttle::now_ms(), client)
            });
            let client = vouched.as_ref().unwrap_or(client);
            // A mutual-TLS domain's handshake without its certificate (its own or the one
            // an edge vouches for), or one the endpoint does not serve.
            let refused = self
                .inner
                .table
                .load()
                .client_cert_problem(&host, client.https, client.tls_client.as_deref())
                .is_some()
                || stage
                    .deployment
                    .endpoint
                    .serves(&host, client.private, client.addr.ip(), String::new)
                    .is_err();
            if refused {
                // Refused by the pipeline, as any other request (counted, logged, and
                // answered with the API's gateway response).
                let (mut resp, id) = self
                    .handle_parts(parts, Body::Stream(body), client, host, false)
                    .await;
                resp.headers_mut()
                    .insert(&pipeline::REQUEST_ID, id.header_value());
                return resp;
            }
            let path = parts.uri.path();
            let route_path = at.and_then(|a| path.get(a..)).unwrap_or("").to_owned();
            let req = Request::from_parts(parts, body);
            let id = RequestId::new();
            let mut resp =
                websocket::upgrade(&self.inner.hub, stage, &route_path, req, client).await;
            if resp.status() == http::StatusCode::SWITCHING_PROTOCOLS
                && let Some(flag) = upgraded
            {
                flag.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            resp.headers_mut()
                .insert(&pipeline::REQUEST_ID, id.header_value());
            return resp;
        }
        let (mut resp, id) = self
            .handle_parts(parts, Body::Stream(body), client, host, true)
            .await;
        resp.headers_mut()
            .insert(&pipeline::REQUEST_ID, id.header_value());
        resp
    }

    /// Serve a request whose head was read elsewhere (an embedder's own listener, a
    /// benchmark): the pipeline as [`handle`](Self::handle) runs it, without the
    /// WebSocket handshake.
    pub async fn handle_head(
        &self,
        parts: http::request::Parts,
        body: Body,
        client: &Peer,
    ) -> Response<Body> {
        let host = host_of(&parts);
        let (mut resp, id) = self.handle_parts(parts, body, client, host, true).await;
        resp.headers_mut()
            .insert(&pipeline::REQUEST_ID, id.header_value());
        resp
    }

    /// Serve one request; `host` is [`host_of`] `parts`; `edge_assertion`: whether its
    /// fields may hold an edge's assertion ([`RequestCtx::with_fields`]). The answer's
    /// request id header is the caller's to add (the listener's HTTP/1.1 path writes it
    /// with the head).
    pub(crate) async fn handle_parts(
        &self,
        parts: http::request::Parts,
        body: Body,
        client: &Peer,
        host: Arc<str>,
        edge_assertion: bool,
    ) -> (Response<Body>, context::RequestId) {
        let mut ctx = RequestCtx::with_fields(parts, body, client, host, edge_assertion);
        let resp = self.inner.pipeline.run(&mut ctx).await;
        (resp, ctx.request_id)
    }

    /// As edge node `node`, sign what this node vouches for about the requests it
    /// forwards (the client, an authorizer's allow) with `key`, shared with the regions
    /// over the mesh.
    pub fn sign_as_edge(&self, node: &str, key: &[u8]) {
        self.inner.edge_trust.set_signer(node, key);
    }

    /// Take what edge `node` signs with `key` (see `edge_trust`): the client it names, and
    /// its allow in place of the route authorizer's call on the same deployment.
    pub fn trust_edge(&self, node: &str, key: &[u8]) {
        self.inner.edge_trust.trust(node, key);
    }

    /// What an edge node does before forwarding a request to a region: when the request
    /// falls on a route of a stage the regions replicated here and that route has an
    /// authorizer, the authorizer runs here (its decision cache too). `Err` is the answer
    /// to give at the edge (401, 403, the authorizer's failure, in API Gateway's shape,
    /// with its request id); `Ok` hands the request head back to forward, signed for the
    /// region when this node signs ([`sign_as_edge`](Self::sign_as_edge)). Requests the
    /// edge cannot place are forwarded unchecked: the region decides.
    pub async fn check_at_edge(
        &self,
        parts: http::request::Parts,
        client: &Peer,
    ) -> Result<http::request::Parts, Response<Body>> {
        let host = host_of(&parts);
        let mut ctx = RequestCtx::new(parts, Body::Empty, client, host);
        match self.inner.edge_gate.gate(&mut ctx).await {
            None => {
                // An allow is vouched for, so the region does not ask again.
                if let Some(v) = self.inner.edge_trust.sign(&ctx, ctx.received_at_ms) {
                    ctx.parts.headers.insert(&edge_trust::HEADER, v);
                }
                Ok(ctx.parts)
            }
            Some(mut resp) => {
                resp.headers_mut()
                    .insert(&pipeline::REQUEST_ID, ctx.request_id.header_value());
                Err(resp)
            }
        }
    }

    /// Accept connections on `listener` until `shutdown` resolves, then drain.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        server::serve(self, listener, false, shutdown).await
    }

    /// [`serve`](Self::serve) over TLS: the HTTPS listener (`[node.tls]`, see
    /// [`https_config`]), serving the same APIs as the public listener.
    pub async fn serve_https(
        self,
        listener: tokio::net::TcpListener,
        config: HttpsConfig,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        server::https::serve(self, listener, config, shutdown).await
    }

    /// [`serve`](Self::serve) as the private listener: it serves PRIVATE APIs only, to
    /// the clients in their source networks.
    pub async fn serve_private(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        server::serve(self, listener, true, shutdown).await
    }
}

/// The plugins of the deployments `stages` serve, labelled for the metrics.
fn live_plugins(
    stages: &[StageBinding],
) -> Vec<(PluginInstanceLabels, Arc<causeway_plugin::Plugin>)> {
    let mut out: Vec<(PluginInstanceLabels, Arc<causeway_plugin::Plugin>)> = Vec::new();
    let deployments = stages.iter().flat_map(|b| {
        std::iter::once(&b.deployment).chain(b.canary.as_ref().map(|c| &c.deployment))
    });
    for deployment in deployments {
        let spec = deployment.spec();
        for (name, plugin) in deployment.plugins() {
            if out.iter().any(|(_, p)| Arc::ptr_eq(p, plugin)) {
                continue;
            }
            let sha = spec
                .plugins
                .iter()
                .find(|p| p.name == name)
                .and_then(|p| p.sha256.as_deref())
                .unwrap_or("");
            let labels = PluginInstanceLabels {
                api: spec.id.clone(),
                plugin: name.to_owned(),
                sha256: sha.chars().take(12).collect(),
            };
            out.push((labels, plugin.clone()));
        }
    }
    out
}
