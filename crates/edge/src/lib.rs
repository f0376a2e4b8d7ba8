#![forbid(unsafe_code)]
//! `causeway-edge` owns edge nodes: lean front doors at points of presence that take client
//! traffic and forward each request to the nearest regional node that is up, as API
//! Gateway's edge-optimized endpoints do through CloudFront. The edge is a member of the
//! regional nodes' mesh, which tells it which regions are up and how far each is (smoothed
//! round-trip times); [`select::order`] turns that into the order regions are tried in,
//! and [`proxy`] forwards, moving on to the next region when one cannot be reached.
//!
//! `select` is sans-IO (no clock, no sockets) and tested as such; `proxy` is the hyper shell.
//! This crate must not depend on the gateway, the admin crate or the CLI: an edge runs no
//! API pipeline of its own.

pub mod proxy;
pub mod select;

pub use proxy::{Edge, EdgeError};
