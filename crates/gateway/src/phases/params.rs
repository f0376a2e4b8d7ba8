//! API Gateway's request validator: required method request parameters, then the body
//! against the route's model.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;

use crate::body::Body;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, GatewayError};
use crate::model::BodyModel;
use crate::pipeline::{Flow, Phase, Step};

pub(crate) struct RequiredParams;

impl Phase for RequiredParams {
    fn name(&self) -> &'static str {
        "validate"
    }

    fn request<'a>(&'a self, ctx: &'a mut RequestCtx) -> Step<'a> {
        let flow = self.decide(ctx);
        if !matches!(flow, Flow::Continue) {
            return flow.into();
        }
        match ctx.compiled_route().and_then(|r| r.body_model.clone()) {
            Some(model) => Step::Later(Box::pin(check_body(ctx, model))),
            None => flow.into(),
        }
    }
}

impl RequiredParams {
    fn decide(&self, ctx: &mut RequestCtx) -> Flow {
        let Some(route) = ctx.compiled_route() else {
            return Flow::Continue;
        };
        if route.required.is_empty() {
            return Flow::Continue;
        }
        let missing: Vec<&str> = route
            .required
            .iter()
            .filter(|(loc, name)| ctx.method_param(*loc, name).is_none_or(str::is_empty))
            .map(|(_, name)| name.as_str())
            .collect();
        if missing.is_empty() {
            return Flow::Continue;
        }
        let msg = format!(
            "Missing required request parameters: [{}]",
            missing.join(", ")
        );
        Flow::Fail(GatewayError::new(ErrorKind::BadRequest).with_message(msg))
    }
}

/// Read the body whole (within the node's body limit, already applied) and check it
/// against the route's model; the integration then gets the same bytes.
async fn check_body(ctx: &mut RequestCtx, model: Arc<BodyModel>) -> Flow {
    let body = match ctx.body.take() {
        Some(b) => match b.collect().await {
            Ok(c) => c.to_bytes(),
            Err(_) => return Flow::Fail(GatewayError::new(ErrorKind::PayloadTooLarge)),
        },
        None => Bytes::new(),
    };
    let verdict = model.check(&body);
    ctx.body = Some(Body::from(body));
    match verdict {
        Ok(()) => Flow::Continue,
        Err(problems) => {
            tracing::debug!(model = %model.name, %problems, "request body refused");
            ctx.validation_error = Some(problems);
            Flow::Fail(GatewayError::new(ErrorKind::InvalidRequestBody))
        }
    }
}
