#![forbid(unsafe_code)]
//! `causeway-edge` owns edge nodes: lean front doors at points of presence that take client
//! traffic and forward each request to the nearest regional node that is up, as API
//! Gateway's edge-optimized endpoints do through CloudFront. The edge is a member of the
//! regional nodes' mesh, which tells it which regions are up and how far each is (smoothed
//! round-trip times); [`select::order`] turns that into the order regions are tried in,
//! and [`proxy`] forwards, moving on to the next region when one cannot be reached.
//!
//! Before forwarding, the edge runs the authorizer of the route a request falls on, from
//! the stages the regions replicate to it ([`causeway_gateway::Gateway::check_at_edge`]):
//! a missing identity, a deny or a bad token is answered at the edge, without the round
//! trip to a region. WebSocket connections are tunnelled to a region ([`tunnel`]).
//!
//! `select` is sans-IO (no clock, no sockets) and tested as such; `proxy` is the hyper shell.
//! This crate uses the gateway's authorize phase only and must not depend on the admin
//! crate or the CLI: the node's control plane (which applies what the mesh replicates) is
//! wired in by the CLI.

pub mod proxy;
pub mod select;
mod tunnel;

pub use proxy::{Edge, EdgeError, PeerSource};
