//! Required method request parameters (API Gateway's basic request validator).

use async_trait::async_trait;

use crate::context::RequestCtx;
use crate::error::{ErrorKind, GatewayError};
use crate::pipeline::{Flow, Phase};

pub(crate) struct RequiredParams;

#[async_trait]
impl Phase for RequiredParams {
    fn name(&self) -> &'static str {
        "validate"
    }

    async fn request(&self, ctx: &mut RequestCtx) -> Flow {
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
