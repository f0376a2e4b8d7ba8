//! Throttling: node, stage, route and client (usage plan) token buckets plus the plan's
//! quota, strictest first; 429 `Too Many Requests` or 429 `Limit Exceeded`.

use std::sync::Arc;

use causeway_throttle::{RequestKeys, Verdict};

use crate::context::RequestCtx;
use crate::error::{ErrorKind, GatewayError};
use crate::pipeline::{Flow, Phase, Step};
use crate::throttle::{Throttle, client_key};

pub(crate) struct ThrottlePhase {
    pub(crate) throttle: Arc<Throttle>,
}

impl Phase for ThrottlePhase {
    fn name(&self) -> &'static str {
        "throttle"
    }

    fn request<'a>(&'a self, ctx: &'a mut RequestCtx) -> Step<'a> {
        self.decide(ctx).into()
    }
}

impl ThrottlePhase {
    fn decide(&self, ctx: &mut RequestCtx) -> Flow {
        let (Some(stage), Some(route_id)) = (ctx.stage.as_ref(), ctx.route) else {
            return Flow::Continue;
        };
        let Some(route) = stage.deployment.routes.get(route_id) else {
            return Flow::Continue;
        };
        let client = ctx.api_key.as_ref().map(|(k, p)| client_key(&k.id, &p.id));
        let keys = RequestKeys {
            stage: &stage.throttle_key,
            route: &route.key,
            client: client.as_deref(),
        };
        // Buckets are charged at the request's arrival (one clock read per request).
        let verdict = self.throttle.lock().check(ctx.received_at_ms, &keys);
        let kind = match verdict {
            Verdict::Allowed => return Flow::Continue,
            Verdict::Throttled { .. } => ErrorKind::Throttled,
            Verdict::QuotaExceeded { .. } => ErrorKind::QuotaExceeded,
        };
        if let Some(m) = stage.route_metrics.get(route_id) {
            m.throttled.inc();
        }
        Flow::Fail(GatewayError::new(kind))
    }
}
