//! API keys: a route with `api_key_required` needs an `x-api-key` header naming an enabled
//! key in a usage plan that covers this API stage (API Gateway's rule); otherwise 403
//! `{"message":"Forbidden"}`. The key and its plan go on to the throttle phase.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::context::RequestCtx;
use crate::error::{ErrorKind, GatewayError};
use crate::keys::KeyTable;
use crate::pipeline::{Flow, Phase, Step};

pub(crate) struct ApiKey {
    pub(crate) keys: Arc<ArcSwap<KeyTable>>,
}

impl Phase for ApiKey {
    fn name(&self) -> &'static str {
        "api-key"
    }

    fn request<'a>(&'a self, ctx: &'a mut RequestCtx) -> Step<'a> {
        self.decide(ctx).into()
    }
}

impl ApiKey {
    fn decide(&self, ctx: &mut RequestCtx) -> Flow {
        let Some(route) = ctx.compiled_route() else {
            return Flow::Continue;
        };
        if !route.api_key_required {
            return Flow::Continue;
        }
        let Some(stage) = ctx.stage.as_ref() else {
            return Flow::Continue;
        };
        let value = ctx
            .parts
            .headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            // Else the usage identifier key an authorizer returned.
            .or(ctx.usage_key.as_deref());
        let table = self.keys.load();
        let found = value.and_then(|v| table.find(v)).filter(|k| k.enabled);
        let Some(key) = found else {
            return Flow::Fail(GatewayError::new(ErrorKind::InvalidApiKey));
        };
        let Some(plan) = key.plan_for(stage.deployment.api_id(), &stage.stage) else {
            return Flow::Fail(GatewayError::new(ErrorKind::InvalidApiKey));
        };
        ctx.api_key = Some((key.clone(), plan.clone()));
        Flow::Continue
    }
}
