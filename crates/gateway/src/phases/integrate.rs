//! The last phase: hand the request to the route's integration and answer with its
//! response.

mod forward;
mod function;
mod mapper;
mod mock;
mod param_map;
pub(crate) mod pool;
mod upstream;
mod wasi_http;

use causeway_model::ApiType;

use crate::compile::Integration;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, GatewayError};
use crate::pipeline::{Flow, Phase, Step};

pub(crate) use function::response as function_response;
pub(crate) use mapper::MAX_MAPPED_BODY_BYTES;
pub(crate) use mock::add_content_type as add_mock_content_type;
pub(crate) use param_map::HttpMapping;
pub(crate) use pool::{Config as PoolConfig, KnownOrigin, Pool, PoolError, UpstreamBody};
pub(crate) use pool::{Outgoing, RequestHead};
pub(crate) use upstream::{HttpClient, new_client};

/// Count a failed plugin call in `PluginErrorCount`, under the request's API and stage.
pub(crate) fn count_plugin_error(
    ctx: &RequestCtx,
    metrics: &crate::metrics::Metrics,
    plugin: &str,
    call: &str,
    kind: &str,
) {
    let (api, stage) = ctx
        .stage
        .as_deref()
        .map_or((String::new(), String::new()), |s| {
            (s.deployment.api_id().to_owned(), s.stage.clone())
        });
    metrics.plugin_error(&crate::metrics::PluginLabels {
        api,
        stage,
        plugin: plugin.to_owned(),
        call: call.to_owned(),
        kind: kind.to_owned(),
    });
}

/// Calls the route's integration, wrapped in the route's mapper if it has one (see
/// [`mapper`] for why mapping lives here and not in a phase of its own).
pub(crate) struct Integrate {
    pub(crate) client: HttpClient,
    /// Where mapper failures are counted.
    pub(crate) metrics: std::sync::Arc<crate::metrics::Metrics>,
}

impl Phase for Integrate {
    fn name(&self) -> &'static str {
        "integration"
    }

    fn request<'a>(&'a self, ctx: &'a mut RequestCtx) -> Step<'a> {
        // A MOCK without a mapper answers on the spot.
        if let Some(route) = ctx.compiled_route()
            && route.mapper.is_none()
            && let Integration::Mock(m) = &route.integration
        {
            return Step::Now(Flow::Respond(Box::new(mock::respond(ctx, m))));
        }
        Step::Later(Box::pin(self.integrate(ctx)))
    }
}

impl Integrate {
    async fn integrate(&self, ctx: &mut RequestCtx) -> Flow {
        // Hold the stage (and so the deployment) for the whole call, independent of `ctx`.
        let Some(stage) = ctx.stage.clone() else {
            return Flow::Fail(
                GatewayError::new(ErrorKind::Internal)
                    .with_message("request reached integration unrouted"),
            );
        };
        let Some(route) = ctx.route.and_then(|id| stage.deployment.routes.get(id)) else {
            return Flow::Fail(match stage.deployment.kind() {
                ApiType::Rest => GatewayError::new(ErrorKind::MissingAuthenticationToken),
                ApiType::Http => GatewayError::new(ErrorKind::NotFound),
                ApiType::WebSocket => GatewayError::new(ErrorKind::Forbidden),
            });
        };
        // The plugin calls' futures are boxed: they are large, and each moves with the
        // request's future (the integration phase's, boxed per request) whichever
        // integration runs; a plugin call costs microseconds, the allocation nanoseconds.
        if let Some(m) = &route.mapper {
            match Box::pin(mapper::map_request(ctx, m, &self.metrics)).await {
                Flow::Continue => {}
                answered => return answered,
            }
        }
        let result = match &route.integration {
            Integration::Mock(m) => Ok(mock::respond(ctx, m)),
            Integration::Http(u) => upstream::call(&self.client, ctx, u).await,
            Integration::Function(f) => Box::pin(function::call(ctx, f, &self.metrics)).await,
            Integration::WasiHttp(w) => Box::pin(wasi_http::call(ctx, w, &self.metrics)).await,
        };
        let result = match (result, &route.mapper) {
            (Ok(resp), Some(m)) => {
                Box::pin(mapper::map_response(ctx, m, &self.metrics, resp)).await
            }
            (result, _) => result,
        };
        drop(stage);
        match result {
            Ok(resp) => Flow::Respond(Box::new(resp)),
            Err(e) => Flow::Fail(e),
        }
    }
}

/// Render a template against the request.
pub(crate) fn render(ctx: &RequestCtx, t: &causeway_model::Template, out: &mut String) {
    use causeway_model::TemplatePart as P;
    t.render(out, |part, out| match part {
        P::StageVariable(n) => out.push_str(ctx.stage_variable(n).unwrap_or("")),
        P::Context(n) => ctx.context_value(n, out),
        P::PathParam(n) => out.push_str(ctx.path_param(n).unwrap_or("")),
        P::Literal(s) => out.push_str(s),
    });
}
