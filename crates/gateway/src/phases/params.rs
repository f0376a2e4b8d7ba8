//! Required method request parameters (API Gateway's basic request validator).

use crate::context::RequestCtx;
use crate::error::{ErrorKind, GatewayError};
use crate::pipeline::{Flow, Phase, Step};

pub(crate) struct RequiredParams;

impl Phase for RequiredParams {
    fn name(&self) -> &'static str {
        "validate"
    }

    fn request<'a>(&'a self, ctx: &'a mut RequestCtx) -> Step<'a> {
        self.decide(ctx).into()
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
