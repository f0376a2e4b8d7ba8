//! End-to-end tests of the data plane: a real in-process gateway on a loopback port, real
//! upstream HTTP servers started by the tests, real HTTP traffic.

mod support;

#[path = "gateway/access_log.rs"]
mod access_log;
#[path = "gateway/authorizers.rs"]
mod authorizers;
#[path = "gateway/caching.rs"]
mod caching;
#[path = "gateway/compression.rs"]
mod compression;
#[path = "gateway/edge_trust.rs"]
mod edge_trust;
#[path = "gateway/errors.rs"]
mod errors;
#[path = "gateway/garbage.rs"]
mod garbage;
#[path = "gateway/gateway_responses.rs"]
mod gateway_responses;
#[path = "gateway/http1.rs"]
mod http1;
#[path = "gateway/https.rs"]
mod https;
#[path = "gateway/https_listener.rs"]
mod https_listener;
#[path = "gateway/inflate.rs"]
mod inflate;
#[path = "gateway/integrations.rs"]
mod integrations;
#[path = "gateway/jwt.rs"]
mod jwt;
#[path = "gateway/mapping.rs"]
mod mapping;
#[path = "gateway/metrics.rs"]
mod metrics;
#[path = "gateway/mtls.rs"]
mod mtls;
#[path = "gateway/param_mapping.rs"]
mod param_mapping;
#[path = "gateway/resource_policy.rs"]
mod resource_policy;
#[path = "gateway/routing.rs"]
mod routing;
#[path = "gateway/seeded.rs"]
mod seeded;
#[path = "gateway/shutdown.rs"]
mod shutdown;
#[path = "gateway/throttling.rs"]
mod throttling;
#[path = "gateway/tracing.rs"]
mod tracing;
#[path = "gateway/upstream_garbage.rs"]
mod upstream_garbage;
#[path = "gateway/validation.rs"]
mod validation;
#[path = "gateway/wasi_http.rs"]
mod wasi_http;
#[path = "gateway/websocket.rs"]
mod websocket;
