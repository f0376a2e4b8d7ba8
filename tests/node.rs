//! End-to-end tests of the real `causeway` binary: serve, the CLI verbs, deployments under
//! load, persistence across `kill -9`, refusal of invalid configuration.

#[path = "node/harness.rs"]
mod harness;

#[path = "node/canary.rs"]
mod canary;
#[path = "node/config.rs"]
mod config;
#[path = "node/control.rs"]
mod control;
#[path = "node/deploy.rs"]
mod deploy;
#[path = "node/edge.rs"]
mod edge;
#[path = "node/endpoints.rs"]
mod endpoints;
#[path = "node/hotswap.rs"]
mod hotswap;
#[path = "node/https.rs"]
mod https;
#[path = "node/keys.rs"]
mod keys;
#[path = "node/limits.rs"]
mod limits;
#[path = "node/mesh.rs"]
mod mesh;
#[path = "node/openapi.rs"]
mod openapi;
#[path = "node/plugins.rs"]
mod plugins;
#[path = "node/warmup.rs"]
mod warmup;
#[path = "node/wasi_http.rs"]
mod wasi_http;
#[path = "node/websocket.rs"]
mod websocket;
