//! The node file, `edge-config/causeway.toml`: listeners, admin access, custom domains.

pub(crate) mod edge;
pub(crate) mod mesh;

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// Everything about one node that is not an API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Schema version; must be [`crate::SCHEMA_VERSION`].
    pub version: u32,
    /// Data-plane settings.
    #[serde(default)]
    pub node: NodeSection,
    /// Admin API settings.
    #[serde(default)]
    pub admin: AdminSection,
    /// Custom domain names with base-path mappings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<DomainSpec>,
    /// OpenTelemetry tracing.
    #[serde(default)]
    pub tracing: TracingSection,
    /// The QUIC mesh with other regional nodes (absent: this node runs alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mesh: Option<mesh::MeshSection>,
    /// Edge-node settings, read by `causeway edge` (a regional node ignores them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge: Option<edge::EdgeSection>,
}

/// OpenTelemetry traces: spans per request and per pipeline phase, exported over OTLP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracingSection {
    /// OTLP/HTTP base URL, e.g. `http://127.0.0.1:4318` (spans go to `/v1/traces`);
    /// absent = no export (an incoming `traceparent` is still passed on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otlp_endpoint: Option<String>,
    /// `service.name` of the spans.
    pub service_name: String,
    /// Fraction of new traces recorded, 0.0..=1.0 (a sampled parent is always followed).
    pub sample_ratio: f64,
}

impl Default for TracingSection {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: "causeway".into(),
            sample_ratio: 1.0,
        }
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            version: crate::SCHEMA_VERSION,
            node: NodeSection::default(),
            admin: AdminSection::default(),
            domains: Vec::new(),
            tracing: TracingSection::default(),
            mesh: None,
            edge: None,
        }
    }
}

/// Data-plane listener and limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSection {
    /// Public listener: REGIONAL and EDGE APIs.
    pub listen: SocketAddr,
    /// Private listener: PRIVATE APIs, to the clients in their source networks only
    /// (absent: no private listener, and PRIVATE APIs are not served).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_listen: Option<SocketAddr>,
    /// An HTTPS listener beside `listen`, serving the same APIs (absent: plain HTTP only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsListenSpec>,
    /// Where deployments and stage pointers are kept (relative to the config directory).
    pub data_dir: String,
    /// Largest accepted request body (API Gateway: 10 MB).
    pub max_body_bytes: u64,
    /// Largest accepted request head: the request line and the header fields together
    /// (API Gateway's "total combined size of request line and header values": 10,240
    /// bytes); larger is a 431.
    pub max_header_bytes: usize,
    /// How long a client has to send a request's complete header block (and how long an
    /// idle keep-alive connection stays open), in milliseconds (default 30,000; as nginx's
    /// `client_header_timeout`). Checked with up to a sixth (at most 5 s) of slack.
    pub header_read_timeout_ms: u64,
    /// The node-wide ("account") throttle: API Gateway's default is 10,000 rps, burst 5,000.
    pub throttle: crate::ThrottleSpec,
    /// Bound of the compiled-plugin cache (`<data_dir>/artifacts`) in MiB (default 2,048):
    /// least recently used artifacts are deleted past it, never those of the plugins
    /// being served.
    pub artifact_cache_mb: u64,
    /// A PEM file of certificate authorities trusted for `https://` upstreams besides the
    /// public web PKI's roots (relative to the config directory), e.g. a private CA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_ca_file: Option<String>,
    /// A client certificate chain (PEM, leaf first) this node presents to `https://`
    /// upstreams that ask for one: mutual TLS to backends, as API Gateway's client
    /// certificate for HTTP integrations. Needs `upstream_client_key_file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_client_cert_file: Option<String>,
    /// The private key of `upstream_client_cert_file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_client_key_file: Option<String>,
    /// Threads serving requests, 1..=1024; 0 (the default) = one per core, as nginx's
    /// `worker_processes auto` and Envoy's `--concurrency`. Fewer than the cores pays off
    /// when other busy processes (a load generator, a sidecar) share the machine.
    pub worker_threads: usize,
    /// `false` (the default): each connection stays on one worker thread, with its own
    /// event loop, timers, upstream connections, warm plugin instances and decision-cache
    /// front (nginx's and Envoy's workers, Pingora's no-steal runtime): no cross-thread
    /// wake-ups; plugin routes serve 3–15 % more requests/s. `true`: one work-stealing
    /// pool serves every connection (tokio's multi-thread runtime, Pingora's default):
    /// when other busy processes share the cores, a connection never waits for its own
    /// thread to be scheduled again, so tail latency holds up better (and the cheapest
    /// routes, MOCK, went ≈ 10 % faster on the 2-core benchmark machine).
    pub work_stealing: bool,
    /// `true`: a worker thread that runs out of ready connections yields its core once
    /// (`sched_yield`) before it sleeps in `epoll_wait`. When the node shares its cores
    /// with busy processes (a load generator, a sidecar, an upstream on the same host),
    /// the next request often arrives during that yield, so the worker finds it waiting:
    /// a shorter tail (proxied p99 ≈ 0.6× of nginx's instead of ≈ 0.7–1.0× on the 2-core
    /// benchmark machine), at ≈ 13–17 % more CPU per proxied request (the core given away
    /// is partly the proxy's own). `false` (the default): sleep at once, as nginx's workers
    /// do. On cores of its own a worker seldom has anyone to yield to (not measured: the
    /// benchmark machine has no spare core). No effect with `work_stealing`.
    pub yield_when_idle: bool,
    /// Plugin instances alive at once on this node, across plugins (warm pooled ones
    /// included), 1..=10000 (default 1,000). The engine reserves address space for each
    /// up front (linear memories with guard regions, tables, stacks), so a small value
    /// suits constrained hosts and tools such as valgrind; a call beyond it fails with a
    /// host error (500/502) instead of waiting.
    pub plugin_instances: u32,
}

impl NodeSection {
    /// The listener that serves APIs of endpoint type `kind` (`None`: a PRIVATE API on a
    /// node without a private listener, which does not serve it).
    pub fn listener_for(&self, kind: crate::EndpointType) -> Option<SocketAddr> {
        match kind {
            crate::EndpointType::Private => self.private_listen,
            crate::EndpointType::Regional | crate::EndpointType::Edge => Some(self.listen),
        }
    }
}

impl Default for NodeSection {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            private_listen: None,
            tls: None,
            data_dir: ".causeway-data".into(),
            max_body_bytes: 10 * 1024 * 1024,
            max_header_bytes: 10_240,
            header_read_timeout_ms: 30_000,
            throttle: crate::ThrottleSpec {
                rate: 10_000.0,
                burst: 5_000,
            },
            artifact_cache_mb: 2048,
            upstream_ca_file: None,
            upstream_client_cert_file: None,
            upstream_client_key_file: None,
            worker_threads: 0,
            work_stealing: false,
            yield_when_idle: false,
            plugin_instances: 1000,
        }
    }
}

/// Admin API listener and access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSection {
    /// Admin listener.
    pub listen: SocketAddr,
    /// Bearer token; prefer `token_env` so the secret stays out of the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Environment variable holding the bearer token.
    pub token_env: String,
    /// Accept admin connections from non-loopback peers.
    pub allow_remote: bool,
}

impl Default for AdminSection {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
            token: None,
            token_env: "CAUSEWAY_ADMIN_TOKEN".into(),
            allow_remote: false,
        }
    }
}

/// `[node.tls]`: the HTTPS listener (TLS 1.2 and 1.3, HTTP/1.1 and h2 by ALPN).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsListenSpec {
    /// Where it listens, e.g. `0.0.0.0:443`.
    pub listen: SocketAddr,
    /// PEM certificate chain (leaf first) for clients whose SNI names no domain with a
    /// certificate of its own (relative to the config directory).
    pub cert_file: String,
    /// PEM private key of that certificate (PKCS#8, PKCS#1 or SEC1).
    pub key_file: String,
}

/// A custom domain name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainSpec {
    /// Host name clients use, e.g. `api.example.test`.
    pub name: String,
    /// Base-path mappings; an empty base path maps the whole domain.
    pub mappings: Vec<BasePathMapping>,
    /// The domain's own certificate chain (PEM), served on the HTTPS listener to clients
    /// whose SNI names the domain (API Gateway's custom domain certificate); absent: the
    /// listener's certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// The private key of `cert_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// Mutual TLS (API Gateway's `mutualTlsAuthentication.truststoreUri`): PEM
    /// certificates of the CAs a client's certificate must chain to. Clients whose SNI
    /// names the domain must present one; requests for the domain on any other
    /// connection (another SNI, the plain listener) are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truststore_file: Option<String>,
}

/// `https://{domain}/{base_path}/...` → `{api}` at `{stage}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasePathMapping {
    /// First path segment(s), without slashes at the ends; empty = the whole domain.
    #[serde(default)]
    pub base_path: String,
    /// API id.
    pub api: String,
    /// Stage name.
    pub stage: String,
}
