//! The first phase, so its response hook runs last: records the request's metrics once the
//! response head is ready, and writes its access-log line.

use http::Response;

use crate::body::Body;
use crate::context::RequestCtx;
use crate::metrics::RouteMetrics;
use crate::pipeline::Phase;

pub(crate) struct Observe {
    /// Handles for requests that reached no stage (unknown host).
    pub(crate) unrouted: RouteMetrics,
}

impl Phase for Observe {
    fn name(&self) -> &'static str {
        "observe"
    }

    fn response(&self, ctx: &mut RequestCtx, resp: &mut Response<Body>) {
        let metrics = match (&ctx.stage, ctx.route) {
            (Some(stage), Some(route)) => stage
                .route_metrics
                .get(route)
                .unwrap_or(&stage.unmatched_metrics),
            (Some(stage), None) => &stage.unmatched_metrics,
            (None, _) => &self.unrouted,
        };
        metrics.record(
            resp.status().as_u16(),
            ctx.started.elapsed(),
            ctx.integration_latency,
        );
        if let Some(log) = ctx.stage.as_ref().and_then(|s| s.access_log.as_ref()) {
            log.log(ctx);
        }
    }
}
