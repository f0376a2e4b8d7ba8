//! What an edge node checks before it forwards a request to a region: the route is looked
//! up in the stages the regions replicated to it, so its authorizer (a WASM plugin or a
//! JWT authorizer) can run at the edge and a missing identity, a deny or a bad token is
//! answered there, without the round trip. Whatever the edge cannot place (an API it has
//! not received, an unknown route, a CORS preflight, a WebSocket API, a refused endpoint)
//! is forwarded as it is: the region has the last word and answers in API Gateway's shape.
//! A request whose host is in doubt (`host_problem`) is refused at the edge; a path is
//! normalized (dot segments, `//`) before it is placed (`path`).

use std::sync::Arc;

use arc_swap::ArcSwap;
use causeway_model::ApiType;

use crate::context::RequestCtx;
use crate::edge_trust::EdgeTrust;
use crate::pipeline::{Flow, Phase, Step};
use crate::table::{Resolved, Table};

/// A region's first phase: what the request's edge vouches for (the client, an
/// authorizer's allow) is taken when its assertion checks out (see `edge_trust`).
pub(crate) struct Vouched {
    pub(crate) trust: Arc<EdgeTrust>,
}

impl Phase for Vouched {
    fn name(&self) -> &'static str {
        "edge-vouched"
    }

    fn request<'a>(&'a self, ctx: &'a mut RequestCtx) -> Step<'a> {
        self.trust.open(ctx, ctx.received_at_ms);
        Step::Now(Flow::Continue)
    }
}

pub(crate) struct EdgeRoute {
    pub(crate) table: Arc<ArcSwap<Table>>,
}

impl Phase for EdgeRoute {
    fn name(&self) -> &'static str {
        "edge-route"
    }

    fn request<'a>(&'a self, ctx: &'a mut RequestCtx) -> Step<'a> {
        // A host in doubt is refused here (forwarded, the region would see only the host
        // this edge chose), and the path is placed and forwarded as it resolves, as the
        // region would route it.
        if let Err(e) = super::route::settle_target(ctx) {
            return Step::Now(Flow::Fail(e));
        }
        let table = self.table.load();
        if let Some(e) = table.client_cert_problem(&ctx.host, ctx.https, ctx.tls_client.as_deref())
        {
            return Step::Now(Flow::Fail(e));
        }
        let Resolved::Stage(stage, at) = table.resolve(&ctx.host, ctx.parts.uri.path()) else {
            return Step::Now(Flow::Continue);
        };
        let placeable = stage.deployment.kind() != ApiType::WebSocket
            && stage
                .deployment
                .endpoint
                .serves(&ctx.host, ctx.private, ctx.client.ip(), String::new)
                .is_ok()
            && !(stage.deployment.cors.is_some() && super::cors::is_preflight(ctx));
        if placeable {
            ctx.route_path_at = at;
            if super::route::locate(ctx, &stage) {
                ctx.stage = Some(stage);
            }
        }
        Step::Now(Flow::Continue)
    }
}
