//! FUNCTION integrations: the Lambda-proxy analogue. The request becomes an API Gateway
//! proxy event (payload 1.0 for REST APIs, 2.0 for HTTP APIs, with API Gateway's field
//! names), the `function` plugin answers with a proxy response (`statusCode`, `headers`,
//! `multiValueHeaders`, `body`, `isBase64Encoded`), and that becomes the HTTP response.

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Map, Value, json};

use crate::body::Body;
use crate::compile::FunctionTarget;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, ErrorSource, GatewayError};

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

fn object_or_null(m: Map<String, Value>) -> Value {
    if m.is_empty() {
        Value::Null
    } else {
        Value::Object(m)
    }
}

fn is_text(content_type: Option<&str>) -> bool {
    content_type.is_none_or(|ct| {
        let ct = ct.to_ascii_lowercase();
        ct.starts_with("text/")
            || ct.contains("json")
            || ct.contains("xml")
            || ct.contains("x-www-form-urlencoded")
            || ct.contains("javascript")
    })
}

/// Build the proxy event for this request.
fn event(ctx: &RequestCtx, v2: bool, body: &Bytes) -> Value {
    let stage = ctx.stage.as_deref();
    let route = ctx.compiled_route();
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (name, value) in &ctx.parts.headers {
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match multi.get_mut(name.as_str()) {
            Some(Value::Array(list)) => list.push(Value::String(v.clone())),
            _ => {
                multi.insert(name.as_str().to_owned(), json!([v.clone()]));
            }
        }
        let joined = match single.get(name.as_str()) {
            Some(Value::String(prev)) if v2 => format!("{prev},{v}"),
            _ => v,
        };
        single.insert(name.as_str().to_owned(), Value::String(joined));
    }
    let mut query = Map::new();
    let mut multi_query: Map<String, Value> = Map::new();
    for pair in ctx
        .parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k), decode(v));
        match multi_query.get_mut(&k) {
            Some(Value::Array(list)) => list.push(Value::String(v.clone())),
            _ => {
                multi_query.insert(k.clone(), json!([v.clone()]));
            }
        }
        let joined = match query.get(&k) {
            Some(Value::String(prev)) if v2 => format!("{prev},{v}"),
            _ => v,
        };
        query.insert(k, Value::String(joined));
    }
    let path_params: Map<String, Value> = route
        .map(|r| {
            r.param_names
                .iter()
                .filter_map(|n| Some((n.clone(), Value::String(decode(ctx.path_param(n)?)))))
                .collect()
        })
        .unwrap_or_default();
    let stage_vars: Map<String, Value> = stage
        .map(|s| {
            s.variables
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect()
        })
        .unwrap_or_default();
    let content_type = ctx
        .parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let text = is_text(content_type) && std::str::from_utf8(body).is_ok();
    let body_value = if body.is_empty() {
        Value::Null
    } else if text {
        Value::String(String::from_utf8_lossy(body).into_owned())
    } else {
        Value::String(base64::engine::general_purpose::STANDARD.encode(body))
    };
    let value = |name: &str| {
        let mut s = String::new();
        ctx.context_value(name, &mut s);
        Value::String(s)
    };
    let epoch = json!(ctx.received_at_ms);
    let authorizer: Map<String, Value> = ctx
        .authorizer_context
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    if v2 {
        let mut rc = json!({
            "accountId": "000000000000",
            "apiId": value("apiId"),
            "domainName": value("domainName"),
            "domainPrefix": value("domainPrefix"),
            "http": {
                "method": ctx.parts.method.as_str(),
                "path": ctx.parts.uri.path(),
                "protocol": value("protocol"),
                "sourceIp": value("identity.sourceIp"),
                "userAgent": value("identity.userAgent"),
            },
            "requestId": ctx.request_id,
            "routeKey": value("routeKey"),
            "stage": value("stage"),
            "time": value("requestTime"),
            "timeEpoch": epoch,
        });
        if let Some(jwt) = &ctx.jwt {
            rc["authorizer"] = json!({ "jwt": { "claims": jwt.claims, "scopes": jwt.scopes } });
        } else if let Some(p) = &ctx.principal_id {
            let mut lambda = authorizer;
            lambda.insert("principalId".into(), Value::String(p.clone()));
            rc["authorizer"] = json!({ "lambda": lambda });
        }
        let mut ev = json!({
            "version": "2.0",
            "routeKey": value("routeKey"),
            "rawPath": ctx.parts.uri.path(),
            "rawQueryString": ctx.parts.uri.query().unwrap_or(""),
            "headers": single,
            "requestContext": rc,
            "isBase64Encoded": !body.is_empty() && !text,
        });
        let cookies: Vec<Value> = ctx
            .parts
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split("; "))
            .map(|c| Value::String(c.to_owned()))
            .collect();
        for (key, v) in [
            (
                "cookies",
                if cookies.is_empty() {
                    Value::Null
                } else {
                    Value::Array(cookies)
                },
            ),
            ("queryStringParameters", object_or_null(query)),
            ("pathParameters", object_or_null(path_params)),
            ("stageVariables", object_or_null(stage_vars)),
            ("body", body_value),
        ] {
            if !v.is_null() {
                ev[key] = v;
            }
        }
        return ev;
    }
    let mut rc = json!({
        "accountId": "000000000000",
        "apiId": value("apiId"),
        "resourceId": value("resourcePath"),
        "resourcePath": value("resourcePath"),
        "httpMethod": ctx.parts.method.as_str(),
        "extendedRequestId": ctx.request_id,
        "requestTime": value("requestTime"),
        "path": ctx.parts.uri.path(),
        "protocol": value("protocol"),
        "stage": value("stage"),
        "domainPrefix": value("domainPrefix"),
        "requestTimeEpoch": epoch,
        "requestId": ctx.request_id,
        "identity": { "sourceIp": value("identity.sourceIp"), "userAgent": value("identity.userAgent") },
        "domainName": value("domainName"),
    });
    if let Some(jwt) = &ctx.jwt {
        // Payload 1.0 of an HTTP API with a JWT authorizer.
        rc["authorizer"] = json!({ "claims": jwt.claims, "scopes": jwt.scopes });
    } else if let Some(p) = &ctx.principal_id {
        let mut a = authorizer;
        a.insert("principalId".into(), Value::String(p.clone()));
        rc["authorizer"] = Value::Object(a);
    }
    json!({
        "resource": value("resourcePath"),
        "path": ctx.route_path(),
        "httpMethod": ctx.parts.method.as_str(),
        "headers": object_or_null(single),
        "multiValueHeaders": object_or_null(multi),
        "queryStringParameters": object_or_null(query),
        "multiValueQueryStringParameters": object_or_null(multi_query),
        "pathParameters": object_or_null(path_params),
        "stageVariables": object_or_null(stage_vars),
        "requestContext": rc,
        "body": body_value,
        "isBase64Encoded": !body.is_empty() && !text,
    })
}

fn failure(message: impl Into<String>) -> GatewayError {
    let mut e = GatewayError::new(ErrorKind::IntegrationFailure).with_cause(message.into());
    e.source = ErrorSource::Plugin;
    e
}

/// Turn a proxy response into an HTTP response.
fn response(out: &str, v2: bool) -> Result<Response<Body>, GatewayError> {
    let parsed: Value = serde_json::from_str(out)
        .map_err(|e| failure(format!("function output is not JSON: {e}")))?;
    if v2 && parsed.get("statusCode").is_none() {
        // Payload 2.0: a bare value is a 200 JSON body.
        let mut resp = Response::new(Body::from(out.to_owned()));
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return Ok(resp);
    }
    let status = parsed["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| failure("function response has no valid statusCode"))?;
    let body = match &parsed["body"] {
        Value::Null => Bytes::new(),
        Value::String(s) if parsed["isBase64Encoded"] == Value::Bool(true) => {
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map(Bytes::from)
                .map_err(|e| failure(format!("body is not base64: {e}")))?
        }
        Value::String(s) => Bytes::from(s.clone()),
        other => Bytes::from(other.to_string()),
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    let mut put = |k: &str, v: &Value, append: bool| {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&text),
        ) {
            if append {
                h.append(n, v)
            } else {
                h.insert(n, v).is_some()
            };
        }
    };
    if let Some(m) = parsed["headers"].as_object() {
        for (k, v) in m {
            put(k, v, false);
        }
    }
    if let Some(m) = parsed["multiValueHeaders"].as_object() {
        for (k, list) in m {
            for v in list.as_array().into_iter().flatten() {
                put(k, v, true);
            }
        }
    }
    if v2 && let Some(cookies) = parsed["cookies"].as_array() {
        for c in cookies {
            put("set-cookie", c, true);
        }
    }
    Ok(resp)
}

pub(super) async fn call(
    ctx: &mut RequestCtx,
    f: &FunctionTarget,
) -> Result<Response<Body>, GatewayError> {
    let body = match ctx.body.take() {
        Some(b) => b
            .collect()
            .await
            .map(|c| c.to_bytes())
            .map_err(|_| GatewayError::new(ErrorKind::PayloadTooLarge))?,
        None => Bytes::new(),
    };
    let ev = event(ctx, f.v2, &body).to_string();
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(f.timeout, f.plugin.invoke_function(&ev)).await;
    ctx.integration_latency = Some(started.elapsed());
    let out = match result {
        Err(_) => return Err(GatewayError::new(ErrorKind::IntegrationTimeout)),
        Ok(Err(e)) if e.kind == causeway_plugin::PluginErrorKind::Timeout => {
            return Err(GatewayError::new(ErrorKind::IntegrationTimeout).with_cause(e));
        }
        Ok(Err(e)) => return Err(failure(e.to_string())),
        Ok(Ok(out)) => out,
    };
    let resp = response(&out, f.v2)?;
    ctx.integration_status = Some(resp.status().as_u16());
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use crate::jwt::JwtIdentity;

    #[test]
    fn jwt_claims_and_scopes_are_shaped_as_api_gateway_does() {
        let (parts, ()) = http::Request::get("/prod/pets")
            .body(())
            .unwrap_or_default()
            .into_parts();
        let client = std::net::SocketAddr::from(([127, 0, 0, 1], 1234));
        let mut ctx =
            super::RequestCtx::new(parts, crate::body::Body::from(""), client, "h".into());
        let claims = json!({ "sub": "user-42", "cognito:groups": "[admin ops]" });
        let claims = claims.as_object().cloned().unwrap_or_default();
        ctx.principal_id = Some("user-42".into());
        ctx.jwt = Some(Arc::new(JwtIdentity {
            claims: claims.clone(),
            scopes: Some(vec!["pets:read".into()]),
        }));
        let v2 = super::event(&ctx, true, &bytes::Bytes::new());
        assert_eq!(
            v2["requestContext"]["authorizer"],
            json!({ "jwt": { "claims": claims, "scopes": ["pets:read"] } })
        );
        let v1 = super::event(&ctx, false, &bytes::Bytes::new());
        assert_eq!(
            v1["requestContext"]["authorizer"],
            json!({ "claims": claims, "scopes": ["pets:read"] })
        );
        // Without route scopes API Gateway sends `"scopes": null`.
        ctx.jwt = Some(Arc::new(JwtIdentity {
            claims,
            scopes: None,
        }));
        let v2 = super::event(&ctx, true, &bytes::Bytes::new());
        assert_eq!(
            v2["requestContext"]["authorizer"]["jwt"]["scopes"],
            json!(null)
        );
    }
}
