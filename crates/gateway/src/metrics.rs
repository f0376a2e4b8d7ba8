//! Metrics with Amazon API Gateway's names (`Count`, `4XXError`, `5XXError`,
//! `CacheHitCount`, `CacheMissCount`, `Latency`, `IntegrationLatency`), labelled by api,
//! stage, method and resource, exposed in the Prometheus text format.
//!
//! Handles for every route are resolved when a table is published, so recording a request
//! is a handful of atomic increments, never a label lookup. Per-plugin metrics
//! (`PluginCallCount`, `PluginLatency`, ...) are read from the plugins' own counters at
//! scrape time ([`plugins`]).

mod edge;
mod plugins;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use edge::EdgeRegionMetrics;
pub use plugins::PluginInstanceLabels;

/// Labels of every API metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// API id.
    pub api: String,
    /// Stage name.
    pub stage: String,
    /// Route method (`ANY` kept as written).
    pub method: String,
    /// Resource path (`/pets/{petId}`), empty when no route matched.
    pub resource: String,
}

/// Labels of the WebSocket metrics ([`Metrics::websocket`]).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebSocketLabels {
    /// API id.
    pub api: String,
    /// Stage name.
    pub stage: String,
    /// Route key (`$connect`, `$default`, a message value).
    pub route: String,
}

/// What a WebSocket metric counts (API Gateway's WebSocket API metric names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebSocketEvent {
    /// A `$connect` (admitted or not): `ConnectCount`.
    Connect,
    /// A message routed (or not) to a route, or sent by `@connections`: `MessageCount`.
    Message,
    /// The integration answered 4xx or 5xx: `IntegrationError`.
    IntegrationError,
    /// No route took the message, or `$connect` refused: `ClientError`.
    ClientError,
    /// The integration failed or timed out: `ExecutionError`.
    ExecutionError,
}

/// Labels of [`Metrics::plugin_error`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginLabels {
    /// API id.
    pub api: String,
    /// Stage name.
    pub stage: String,
    /// The plugin's name in the API.
    pub plugin: String,
    /// The call that failed: `map_request`, `map_response`, ...
    pub call: String,
    /// What went wrong (`trap`, `timeout`, `memory_limit`, `bad_output`, ...).
    pub kind: String,
}

#[derive(Debug, Clone, Copy, Default)]
struct MillisBuckets;

impl MetricConstructor<Histogram> for MillisBuckets {
    fn new_metric(&self) -> Histogram {
        // 0.25 ms … ~30 s.
        Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
            0.25, 2.0, 18,
        ))
    }
}

type Hist = Family<RouteLabels, Histogram, MillisBuckets>;

/// All metric families of one node.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    count: Family<RouteLabels, Counter>,
    client_errors: Family<RouteLabels, Counter>,
    server_errors: Family<RouteLabels, Counter>,
    cache_hits: Family<RouteLabels, Counter>,
    cache_misses: Family<RouteLabels, Counter>,
    throttled: Family<RouteLabels, Counter>,
    plugin_errors: Family<PluginLabels, Counter>,
    websocket: [Family<WebSocketLabels, Counter>; 5],
    latency: Hist,
    integration_latency: Hist,
    plugins: Arc<plugins::PluginCollector>,
    mesh_up: Family<PeerLabels, Gauge>,
    mesh_rtt: Family<PeerLabels, Gauge<f64, AtomicU64>>,
    edge: edge::EdgeFamilies,
    tls_errors: Family<TlsErrorLabels, Counter>,
}

/// Why a TLS handshake on the HTTPS listener failed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct TlsErrorLabels {
    /// `client_certificate` (none, or not from the domain's truststore), `timeout`, or
    /// `handshake` (anything else: not TLS, no common version or cipher, …).
    pub reason: &'static str,
}

/// Labels of a mesh peer's gauges.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct PeerLabels {
    /// The peer's mesh id.
    pub peer: String,
}

/// Pre-resolved handles for one (api, stage, route).
#[derive(Debug, Clone)]
pub struct RouteMetrics {
    count: Counter,
    client_errors: Counter,
    server_errors: Counter,
    /// Cache hits.
    pub cache_hits: Counter,
    /// Cache misses.
    pub cache_misses: Counter,
    /// Requests refused by a throttle.
    pub throttled: Counter,
    latency: Histogram,
    integration_latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Empty families, registered under the `causeway_` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("causeway");
        let m = Metrics {
            registry: Mutex::new(Registry::default()),
            count: Family::default(),
            client_errors: Family::default(),
            server_errors: Family::default(),
            cache_hits: Family::default(),
            cache_misses: Family::default(),
            throttled: Family::default(),
            plugin_errors: Family::default(),
            websocket: Default::default(),
            latency: Family::new_with_constructor(MillisBuckets),
            integration_latency: Family::new_with_constructor(MillisBuckets),
            plugins: Arc::default(),
            mesh_up: Family::default(),
            mesh_rtt: Family::default(),
            edge: edge::EdgeFamilies::default(),
            tls_errors: Family::default(),
        };
        registry.register(
            "Count",
            "Requests received (API Gateway: Count)",
            m.count.clone(),
        );
        registry.register(
            "4XXError",
            "Client-side errors (API Gateway: 4XXError)",
            m.client_errors.clone(),
        );
        registry.register(
            "5XXError",
            "Server-side errors (API Gateway: 5XXError)",
            m.server_errors.clone(),
        );
        registry.register(
            "CacheHitCount",
            "Requests served from the cache",
            m.cache_hits.clone(),
        );
        registry.register(
            "CacheMissCount",
            "Requests not served from the cache",
            m.cache_misses.clone(),
        );
        registry.register(
            "ThrottleCount",
            "Requests refused with 429",
            m.throttled.clone(),
        );
        registry.register(
            "PluginErrorCount",
            "Plugin calls that failed (trap, timeout, memory limit, bad output)",
            m.plugin_errors.clone(),
        );
        let ws = [
            (
                "ConnectCount",
                "WebSocket $connect requests (API Gateway: ConnectCount)",
            ),
            (
                "MessageCount",
                "WebSocket messages received or sent to clients (API Gateway: MessageCount)",
            ),
            (
                "IntegrationError",
                "WebSocket integrations that answered 4xx or 5xx (API Gateway: IntegrationError)",
            ),
            (
                "ClientError",
                "WebSocket requests refused: no route, $connect not 2xx (API Gateway: ClientError)",
            ),
            (
                "ExecutionError",
                "WebSocket integrations that failed or timed out (API Gateway: ExecutionError)",
            ),
        ];
        for ((name, help), family) in ws.into_iter().zip(&m.websocket) {
            registry.register(name, help, family.clone());
        }
        registry.register(
            "Latency",
            "Milliseconds from request received to response head sent (API Gateway: Latency)",
            m.latency.clone(),
        );
        registry.register(
            "IntegrationLatency",
            "Milliseconds waiting for the integration's response head",
            m.integration_latency.clone(),
        );
        registry.register_collector(Box::new(m.plugins.clone()));
        registry.register(
            "MeshPeerUp",
            "1 while the mesh peer answers pings, else 0",
            m.mesh_up.clone(),
        );
        registry.register(
            "MeshPeerRttSeconds",
            "Smoothed round-trip time to the mesh peer",
            m.mesh_rtt.clone(),
        );
        m.edge.register(&mut registry);
        registry.register(
            "TlsHandshakeErrorCount",
            "TLS handshakes on the HTTPS listener that failed, by reason (client_certificate: a mutual-TLS domain's client without a certificate from its truststore)",
            m.tls_errors.clone(),
        );
        *m.registry.lock().unwrap_or_else(|p| p.into_inner()) = registry;
        m
    }

    /// Counts a failed TLS handshake (`reason`: see [`TlsErrorLabels`]).
    pub fn tls_handshake_error(&self, reason: &'static str) {
        self.tls_errors
            .get_or_create(&TlsErrorLabels { reason })
            .inc();
    }

    /// Handles for one label set (resolved once, then cloned cheaply).
    pub fn route(&self, labels: &RouteLabels) -> RouteMetrics {
        RouteMetrics {
            count: self.count.get_or_create(labels).clone(),
            client_errors: self.client_errors.get_or_create(labels).clone(),
            server_errors: self.server_errors.get_or_create(labels).clone(),
            cache_hits: self.cache_hits.get_or_create(labels).clone(),
            cache_misses: self.cache_misses.get_or_create(labels).clone(),
            throttled: self.throttled.get_or_create(labels).clone(),
            latency: self.latency.get_or_create(labels).clone(),
            integration_latency: self.integration_latency.get_or_create(labels).clone(),
        }
    }

    /// Count one WebSocket event (the label lookup costs a lock and a hash: fine next to
    /// an integration call).
    pub fn websocket(&self, labels: &WebSocketLabels, event: WebSocketEvent) {
        let family = match event {
            WebSocketEvent::Connect => &self.websocket[0],
            WebSocketEvent::Message => &self.websocket[1],
            WebSocketEvent::IntegrationError => &self.websocket[2],
            WebSocketEvent::ClientError => &self.websocket[3],
            WebSocketEvent::ExecutionError => &self.websocket[4],
        };
        family.get_or_create(labels).inc();
    }

    /// Count one failed plugin call (rare: the label lookup is fine here).
    pub fn plugin_error(&self, labels: &PluginLabels) {
        self.plugin_errors.get_or_create(labels).inc();
    }

    /// A mesh peer's state: up or down, smoothed round-trip time once measured.
    pub fn set_mesh_peer(&self, peer: &str, up: bool, rtt: Option<Duration>) {
        let labels = PeerLabels {
            peer: peer.to_owned(),
        };
        self.mesh_up.get_or_create(&labels).set(i64::from(up));
        if let Some(rtt) = rtt {
            self.mesh_rtt.get_or_create(&labels).set(rtt.as_secs_f64());
        }
    }

    /// An edge node's handles for `region` (resolved once per region).
    pub fn edge_region(&self, region: &str) -> EdgeRegionMetrics {
        self.edge.region(region)
    }

    /// An edge answered a request itself with `status`.
    pub fn edge_answered(&self, status: u16) {
        self.edge.answered(status);
    }

    /// Export these plugins (those of the published deployments) from now on.
    pub fn set_plugins(&self, plugins: Vec<(PluginInstanceLabels, Arc<causeway_plugin::Plugin>)>) {
        self.plugins.set(plugins);
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
            tracing::warn!(error = %e, "encoding metrics failed");
        }
        out
    }
}

impl RouteMetrics {
    /// Record one finished request.
    pub fn record(&self, status: u16, latency: Duration, integration: Option<Duration>) {
        self.count.inc();
        match status {
            400..=499 => {
                self.client_errors.inc();
            }
            500..=599 => {
                self.server_errors.inc();
            }
            _ => {}
        }
        self.latency.observe(latency.as_secs_f64() * 1000.0);
        if let Some(d) = integration {
            self.integration_latency.observe(d.as_secs_f64() * 1000.0);
        }
    }
}
