//! Customized gateway responses (REST APIs, as in API Gateway): an error the gateway
//! answers itself looks up its response type (`UNAUTHORIZED`, …), then `DEFAULT_4XX` or
//! `DEFAULT_5XX` by its status class, and takes that entry's status, headers and body.
//! Without an entry, API Gateway's default answer.

use causeway_model::{GatewayResponseSpec, Template};
use http::{HeaderName, HeaderValue, Response, StatusCode};

use crate::body::Body;
use crate::context::RequestCtx;
use crate::error::GatewayError;

/// One API's customized responses, compiled.
#[derive(Debug, Default)]
pub(crate) struct GatewayResponses {
    by_type: Vec<(String, Custom)>,
}

#[derive(Debug)]
struct Custom {
    status: Option<StatusCode>,
    headers: Vec<(HeaderName, Template)>,
    body: Option<Template>,
}

impl GatewayResponses {
    /// Compile the API's entries (the model has validated them; what would not compile is
    /// left out rather than refused twice).
    pub(crate) fn new(specs: &[GatewayResponseSpec]) -> GatewayResponses {
        let by_type = specs
            .iter()
            .map(|g| {
                let custom = Custom {
                    status: g.status.and_then(|s| StatusCode::from_u16(s).ok()),
                    headers: g
                        .headers
                        .iter()
                        .filter_map(|(name, value)| {
                            Some((
                                HeaderName::from_bytes(name.as_bytes()).ok()?,
                                Template::parse(value, false).ok()?,
                            ))
                        })
                        .collect(),
                    body: g
                        .body
                        .as_deref()
                        .and_then(|b| Template::parse(b, false).ok()),
                };
                (g.kind.clone(), custom)
            })
            .collect();
        GatewayResponses { by_type }
    }

    fn get(&self, kind: &str) -> Option<&Custom> {
        self.by_type
            .iter()
            .find_map(|(k, c)| (k == kind).then_some(c))
    }

    /// The entry for `e`: its own type's, else its status class's default.
    fn find(&self, e: &GatewayError) -> Option<&Custom> {
        if self.by_type.is_empty() {
            return None;
        }
        self.get(e.response_type()).or_else(|| {
            self.get(if e.status().is_server_error() {
                "DEFAULT_5XX"
            } else {
                "DEFAULT_4XX"
            })
        })
    }
}

/// `e` answered for `ctx`: API Gateway's default answer, customized by the API's gateway
/// response for it if there is one (`ctx.error` is set: `$context.error.message` and
/// `$context.error.responseType` render).
pub(crate) fn respond(ctx: &RequestCtx, e: &GatewayError) -> Response<Body> {
    let mut resp = e.to_response();
    let Some(custom) = ctx
        .stage
        .as_ref()
        .and_then(|s| s.deployment.gateway_responses.find(e))
    else {
        return resp;
    };
    if let Some(status) = custom.status {
        *resp.status_mut() = status;
    }
    let mut text = String::new();
    for (name, t) in &custom.headers {
        text.clear();
        crate::phases::integrate::render(ctx, t, &mut text);
        // A value a substitution made invalid (a line break) is left out.
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().insert(name.clone(), v);
        }
    }
    if let Some(body) = &custom.body {
        text.clear();
        crate::phases::integrate::render(ctx, body, &mut text);
        *resp.body_mut() = Body::from(text);
    }
    resp
}
