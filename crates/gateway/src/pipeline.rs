//! The request pipeline: an ordered list of phases sharing one [`RequestCtx`]. Each phase
//! may continue, answer, or fail; phases that ran see the response on the way out, in
//! reverse order. Later features (authorizers, validation, throttling, caching, mapping)
//! are new phases, not rewiring.

use std::sync::Arc;

use std::future::Future;
use std::pin::Pin;

use http::Response;
use opentelemetry::KeyValue;

use crate::body::Body;
use crate::context::RequestCtx;
use crate::error::GatewayError;
use crate::trace::Tracing;

/// API Gateway's request id header. Every answer carries it; the listener adds it (the
/// HTTP/1.1 fast path writes it straight into the answer's head).
pub(crate) static REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-amzn-requestid");

/// What a phase decided.
#[derive(Debug)]
pub enum Flow {
    /// Go on to the next phase.
    Continue,
    /// Answer now with this response (boxed: a `Response<Body>` is 168 bytes and every
    /// phase's result is moved on the way back; `Flow` is 88, `GatewayError`'s size).
    Respond(Box<Response<Body>>),
    /// Answer now with this error.
    Fail(GatewayError),
}

/// What [`Phase::request`] hands back: a decision taken on the spot, or a future for a
/// phase that has to wait (an authorizer call, a cache fill, an integration). Most phases
/// on most requests decide on the spot, and those cost no allocation.
pub enum Step<'a> {
    /// Decided.
    Now(Flow),
    /// Decided when this future completes.
    Later(Pin<Box<dyn Future<Output = Flow> + Send + 'a>>),
}

impl From<Flow> for Step<'_> {
    fn from(flow: Flow) -> Self {
        Step::Now(flow)
    }
}

impl std::fmt::Debug for Step<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Now(flow) => f.debug_tuple("Now").field(flow).finish(),
            Step::Later(_) => f.write_str("Later(..)"),
        }
    }
}

/// One step of the request path.
pub trait Phase: Send + Sync + 'static {
    /// Name, for traces and logs.
    fn name(&self) -> &'static str;

    /// Inspect or change the request; the default continues.
    fn request<'a>(&'a self, _ctx: &'a mut RequestCtx) -> Step<'a> {
        Step::Now(Flow::Continue)
    }

    /// Inspect or change the response; the default leaves it alone.
    fn response(&self, _ctx: &mut RequestCtx, _resp: &mut Response<Body>) {}
}

/// The ordered phases.
pub struct Pipeline {
    phases: Vec<Box<dyn Phase>>,
    tracing: Option<Arc<Tracing>>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.phases.iter().map(|p| p.name()))
            .finish()
    }
}

impl Pipeline {
    /// A pipeline of `phases`, run in order.
    pub fn new(phases: Vec<Box<dyn Phase>>) -> Self {
        Pipeline {
            phases,
            tracing: None,
        }
    }

    /// Record a span per request and per phase with `tracing`.
    pub fn with_tracing(mut self, tracing: Option<Arc<Tracing>>) -> Self {
        self.tracing = tracing;
        self
    }

    /// Run the request through the phases as a gate: `None` when every phase continues
    /// (the caller carries the request on), else the answer (after the response hooks of
    /// the phases that ran). Not traced: the caller's own request span covers it.
    pub async fn gate(&self, ctx: &mut RequestCtx) -> Option<Response<Body>> {
        let mut ran = 0;
        let mut resp = None;
        for phase in &self.phases {
            ran += 1;
            let flow = match phase.request(ctx) {
                Step::Now(flow) => flow,
                Step::Later(future) => future.await,
            };
            if let Some(r) = answer(ctx, phase.name(), flow) {
                resp = Some(r);
                break;
            }
        }
        let mut resp = resp?;
        ctx.status = Some(resp.status().as_u16());
        for phase in self.phases[..ran].iter().rev() {
            phase.response(ctx, &mut resp);
        }
        Some(resp)
    }

    /// Run the request through the phases and produce the response.
    pub async fn run(&self, ctx: &mut RequestCtx) -> Response<Body> {
        let tracing = self.tracing.as_deref();
        let request_cx =
            tracing.map(|t| t.request_span(&ctx.parts.headers, "causeway.request".into()));
        let mut ran = 0;
        let mut resp = None;
        for phase in &self.phases {
            ran += 1;
            let phase_cx = match (tracing, &request_cx) {
                (Some(t), Some(rc)) => {
                    let pc = t.phase_span(rc, phase.name());
                    ctx.traceparent = t.traceparent(&pc);
                    Some(pc)
                }
                _ => None,
            };
            let flow = match phase.request(ctx) {
                Step::Now(flow) => flow,
                Step::Later(future) => future.await,
            };
            if let Some(pc) = &phase_cx {
                let failed = match &flow {
                    Flow::Fail(e) => Some(e.message.as_ref()),
                    _ => None,
                };
                crate::trace::end_phase(pc, failed);
            }
            if let Some(r) = answer(ctx, phase.name(), flow) {
                resp = Some(r);
                break;
            }
        }
        let mut resp = resp.unwrap_or_else(|| {
            let e = GatewayError::new(crate::ErrorKind::Internal).with_message("no phase answered");
            log_error(ctx, "pipeline", &e);
            e.to_response()
        });
        ctx.status = Some(resp.status().as_u16());
        ctx.response_length = http_body::Body::size_hint(resp.body()).exact();
        for phase in self.phases[..ran].iter().rev() {
            phase.response(ctx, &mut resp);
        }
        if let Some(rc) = &request_cx {
            let mut attrs = vec![
                KeyValue::new("http.request.method", ctx.parts.method.to_string()),
                KeyValue::new("causeway.request_id", ctx.request_id.to_string()),
            ];
            if let Some(stage) = &ctx.stage {
                attrs.push(KeyValue::new(
                    "causeway.api_id",
                    stage.deployment.api_id().to_owned(),
                ));
                attrs.push(KeyValue::new("causeway.stage", stage.stage.clone()));
            }
            if let Some(route) = ctx.compiled_route() {
                attrs.push(KeyValue::new("http.route", route.key.clone()));
            }
            crate::trace::end_request(rc, resp.status().as_u16(), attrs);
        }
        resp
    }
}

/// What `flow` means for the request: `None` to go on, else the answer (a failure rendered
/// in API Gateway's shape and recorded on `ctx`).
#[inline]
fn answer(ctx: &mut RequestCtx, phase: &str, flow: Flow) -> Option<Response<Body>> {
    match flow {
        Flow::Continue => None,
        Flow::Respond(r) => Some(*r),
        Flow::Fail(e) => {
            log_error(ctx, phase, &e);
            ctx.error = Some((e.response_type(), e.message.to_string()));
            Some(crate::gateway_responses::respond(ctx, &e))
        }
    }
}

fn log_error(ctx: &RequestCtx, phase: &str, e: &GatewayError) {
    if e.status().is_server_error() {
        tracing::warn!(request_id = %ctx.request_id, phase, error = %e, "request failed");
    } else {
        tracing::debug!(request_id = %ctx.request_id, phase, error = %e, "request refused");
    }
}
