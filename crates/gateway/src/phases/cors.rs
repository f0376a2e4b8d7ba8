//! HTTP-API CORS: answer preflights from the API's `cors` block, even without an `OPTIONS`
//! route, and add the allow headers to actual responses for allowed origins.

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use http::{HeaderValue, Method, Response, StatusCode};

use crate::body::Body;
use crate::compile::CompiledCors;
use crate::context::RequestCtx;
use crate::pipeline::{Flow, Phase, Step};

pub(crate) struct Cors;

/// Whether the request is a CORS preflight.
pub(crate) fn is_preflight(ctx: &RequestCtx) -> bool {
    ctx.parts.method == Method::OPTIONS
        && ctx.parts.headers.contains_key(ORIGIN)
        && ctx
            .parts
            .headers
            .contains_key(ACCESS_CONTROL_REQUEST_METHOD)
}

fn config(ctx: &RequestCtx) -> Option<&CompiledCors> {
    ctx.stage.as_ref()?.deployment.cors.as_ref()
}

/// The `Access-Control-Allow-Origin` value for this request, if its origin is allowed.
fn allowed_origin(cors: &CompiledCors, ctx: &RequestCtx) -> Option<HeaderValue> {
    let origin = ctx.parts.headers.get(ORIGIN)?;
    if cors.any_origin && !cors.credentials {
        return Some(HeaderValue::from_static("*"));
    }
    let o = origin.to_str().ok()?;
    (cors.any_origin || cors.origins.iter().any(|a| a.eq_ignore_ascii_case(o)))
        .then(|| origin.clone())
}

impl Phase for Cors {
    fn name(&self) -> &'static str {
        "cors"
    }

    fn request<'a>(&'a self, ctx: &'a mut RequestCtx) -> Step<'a> {
        self.decide(ctx).into()
    }

    fn response(&self, ctx: &mut RequestCtx, resp: &mut Response<Body>) {
        let Some(cors) = config(ctx) else { return };
        if is_preflight(ctx) {
            return;
        }
        let Some(origin) = allowed_origin(cors, ctx) else {
            return;
        };
        let h = resp.headers_mut();
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if let Some(v) = &cors.expose_headers {
            h.insert(ACCESS_CONTROL_EXPOSE_HEADERS, v.clone());
        }
        if cors.credentials {
            h.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        h.append(VARY, HeaderValue::from_static("origin"));
    }
}

impl Cors {
    fn decide(&self, ctx: &mut RequestCtx) -> Flow {
        let Some(cors) = config(ctx) else {
            return Flow::Continue;
        };
        if !is_preflight(ctx) {
            return Flow::Continue;
        }
        let mut resp = Response::new(Body::Empty);
        *resp.status_mut() = StatusCode::NO_CONTENT;
        if let Some(origin) = allowed_origin(cors, ctx) {
            let h = resp.headers_mut();
            h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(ACCESS_CONTROL_ALLOW_METHODS, cors.allow_methods.clone());
            let allow_headers = match &cors.allow_headers {
                Some(v) if v == "*" => ctx
                    .parts
                    .headers
                    .get(ACCESS_CONTROL_REQUEST_HEADERS)
                    .cloned(),
                other => other.clone(),
            };
            if let Some(v) = allow_headers {
                h.insert(ACCESS_CONTROL_ALLOW_HEADERS, v);
            }
            if let Some(v) = &cors.max_age {
                h.insert(ACCESS_CONTROL_MAX_AGE, v.clone());
            }
            if cors.credentials {
                h.insert(
                    ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
            }
            h.insert(VARY, HeaderValue::from_static("origin"));
        }
        Flow::Respond(Box::new(resp))
    }
}
