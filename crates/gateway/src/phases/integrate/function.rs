//! FUNCTION integrations: the Lambda-proxy analogue. The request becomes an API Gateway
//! proxy event (payload 1.0 for REST APIs, 2.0 for HTTP APIs, with API Gateway's field
//! names), the `function` plugin answers with a proxy response (`statusCode`, `headers`,
//! `multiValueHeaders`, `body`, `isBase64Encoded`), and that becomes the HTTP response.

mod event;
mod json;

use base64::Engine as _;
use bytes::Bytes;
use causeway_plugin::FunctionOutput;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Map, Value};

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

/// Turn a proxy response into an HTTP response.
///
/// The plugin host parsed the output into a `serde_json::Value` when it checked it (this
/// crate does not depend on `serde` itself, so no typed struct); its parts are moved, not
/// copied, into the response.
fn response(out: FunctionOutput, v2: bool) -> Result<Response<Body>, GatewayError> {
    let FunctionOutput {
        json: out,
        value: parsed,
    } = out;
    if v2 && parsed.get("statusCode").is_none() {
        // Payload 2.0: a bare value (anything but an object with `statusCode`) is a 200
        // JSON body, sent as the function wrote it.
        let mut resp = Response::new(Body::from(out));
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return Ok(resp);
    }
    let no_status = || failure("function response has no valid statusCode");
    let Value::Object(mut fields) = parsed else {
        return Err(no_status());
    };
    let status = fields
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(no_status)?;
    let base64 = fields.get("isBase64Encoded") == Some(&Value::Bool(true));
    let body = match fields.remove("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) if base64 => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map(Bytes::from)
            .map_err(|e| failure(format!("body is not base64: {e}")))?,
        Some(Value::String(s)) => Bytes::from(s),
        Some(other) => Bytes::from(other.to_string()),
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    // Headers whose name or value is not valid HTTP are left out.
    if let Some(Value::Object(single)) = fields.remove("headers") {
        for (name, value) in single {
            if let Ok(name) = HeaderName::from_bytes(name.as_bytes())
                && let Some(value) = header_value(value)
            {
                h.insert(name, value);
            }
        }
    }
    if let Some(Value::Object(multi)) = fields.remove("multiValueHeaders") {
        append_all(h, multi);
    }
    if v2 && let Some(Value::Array(cookies)) = fields.remove("cookies") {
        for c in cookies {
            if let Some(value) = header_value(c) {
                h.append(http::header::SET_COOKIE, value);
            }
        }
    }
    Ok(resp)
}

/// `multiValueHeaders`: each name's list appended (a name without a list is ignored).
fn append_all(h: &mut http::HeaderMap, multi: Map<String, Value>) {
    for (name, list) in multi {
        let (Ok(name), Value::Array(list)) = (HeaderName::from_bytes(name.as_bytes()), list) else {
            continue;
        };
        for value in list {
            if let Some(value) = header_value(value) {
                h.append(&name, value);
            }
        }
    }
}

/// A header value: a string as it is, any other JSON value as its JSON text.
fn header_value(v: Value) -> Option<HeaderValue> {
    let text = match v {
        Value::String(s) => s,
        other => other.to_string(),
    };
    HeaderValue::try_from(text).ok()
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
    let result = tokio::time::timeout(f.timeout, f.plugin.invoke_function(ev)).await;
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
