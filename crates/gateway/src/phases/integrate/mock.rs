//! MOCK: answer from the gateway, with `$context` and stage variables substituted.

use http::{HeaderValue, Response};

use crate::body::Body;
use crate::compile::Mock;
use crate::context::RequestCtx;

pub(super) fn respond(ctx: &RequestCtx, m: &Mock) -> Response<Body> {
    if let Some(literal) = &m.literal {
        let mut resp = Response::new(Body::from(literal.body.clone()));
        *resp.status_mut() = m.status;
        *resp.headers_mut() = literal.headers.clone();
        return resp;
    }
    let mut body = String::new();
    super::render(ctx, &m.body, &mut body);
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = m.status;
    let mut value = String::new();
    for (name, t) in &m.headers {
        value.clear();
        super::render(ctx, t, &mut value);
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().insert(name.clone(), v);
        }
    }
    add_content_type(resp.headers_mut());
    resp
}

/// API Gateway's MOCK answers are JSON unless the integration says otherwise.
pub(crate) fn add_content_type(headers: &mut http::HeaderMap) {
    headers
        .entry(http::header::CONTENT_TYPE)
        .or_insert(HeaderValue::from_static("application/json"));
}
