//! FUNCTION integrations: the Lambda-proxy analogue. The request becomes an API Gateway
//! proxy event (payload 1.0 for REST APIs, 2.0 for HTTP APIs, with API Gateway's field
//! names), the `function` plugin answers with a proxy response (`statusCode`, `headers`,
//! `multiValueHeaders`, `body`, `isBase64Encoded`), and that becomes the HTTP response.

mod event;
mod json;

use base64::Engine as _;
use bytes::Bytes;
use causeway_plugin::{FunctionOutput, ProxyAnswer};
use http::{HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::BodyExt;

use crate::body::Body;
use crate::compile::FunctionTarget;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, ErrorSource, GatewayError};

use event::event;

fn failure(message: impl Into<String>) -> GatewayError {
    let mut e = GatewayError::new(ErrorKind::IntegrationFailure).with_cause(message.into());
    e.source = ErrorSource::Plugin;
    e
}

/// Turn a proxy response into an HTTP response. The plugin host read and checked it
/// ([`causeway_plugin::proxy_response`]); its parts are moved, not copied, into the
/// response. Headers whose name or value is not valid HTTP are left out.
pub(crate) fn response(out: FunctionOutput, v2: bool) -> Result<Response<Body>, GatewayError> {
    let r = match out.answer {
        ProxyAnswer::Response(r) => r,
        ProxyAnswer::Other if v2 => {
            // Payload 2.0: a bare value (anything but an object with `statusCode`) is a
            // 200 JSON body, sent as the function wrote it.
            let mut resp = Response::new(Body::from(out.json));
            resp.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            return Ok(resp);
        }
        ProxyAnswer::Other => return Err(failure("function response has no statusCode")),
    };
    let status = StatusCode::from_u16(r.status_code)
        .map_err(|_| failure("function response has no valid statusCode"))?;
    let body = match r.body {
        None => Bytes::new(),
        Some(s) if r.is_base64_encoded => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map(Bytes::from)
            .map_err(|e| failure(format!("body is not base64: {e}")))?,
        Some(s) => Bytes::from(s),
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    for (name, value) in r.headers {
        if let Some((name, value)) = header(&name, value) {
            h.insert(name, value);
        }
    }
    for (name, list) in r.multi_value_headers {
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
            continue;
        };
        for value in list {
            if let Ok(value) = HeaderValue::try_from(value) {
                h.append(&name, value);
            }
        }
    }
    if v2 {
        for c in r.cookies {
            if let Ok(value) = HeaderValue::try_from(c) {
                h.append(http::header::SET_COOKIE, value);
            }
        }
    }
    Ok(resp)
}

fn header(name: &str, value: String) -> Option<(HeaderName, HeaderValue)> {
    Some((
        HeaderName::from_bytes(name.as_bytes()).ok()?,
        HeaderValue::try_from(value).ok()?,
    ))
}

pub(super) async fn call(
    ctx: &mut RequestCtx,
    f: &FunctionTarget,
    metrics: &crate::metrics::Metrics,
) -> Result<Response<Body>, GatewayError> {
    let body = match ctx.body.take() {
        Some(b) => b
            .collect()
            .await
            .map(|c| c.to_bytes())
            .map_err(|_| GatewayError::new(ErrorKind::PayloadTooLarge))?,
        None => Bytes::new(),
    };
    let ev = event(ctx, f.v2, &body);
    let started = std::time::Instant::now();
    let result =
        tokio::time::timeout(f.timeout, f.plugin.invoke_function_for(ev, &ctx.request_id)).await;
    ctx.integration_latency = Some(started.elapsed());
    let count = |ctx: &RequestCtx, kind: &str| {
        super::count_plugin_error(ctx, metrics, f.plugin.name(), "handle", kind);
    };
    let out = match result {
        Err(_) => {
            count(ctx, causeway_plugin::PluginErrorKind::Timeout.as_str());
            return Err(GatewayError::new(ErrorKind::IntegrationTimeout));
        }
        Ok(Err(e)) => {
            count(ctx, e.kind.as_str());
            if e.kind == causeway_plugin::PluginErrorKind::Timeout {
                return Err(GatewayError::new(ErrorKind::IntegrationTimeout).with_cause(e));
            }
            return Err(failure(e.to_string()));
        }
        Ok(Ok(out)) => out,
    };
    let resp = response(out, f.v2).inspect_err(|_| {
        count(ctx, causeway_plugin::PluginErrorKind::BadOutput.as_str());
    })?;
    ctx.integration_status = Some(resp.status().as_u16());
    Ok(resp)
}

#[cfg(test)]
mod tests;
