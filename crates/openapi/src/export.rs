//! [`ApiSpec`] → OpenAPI 3.0 with API Gateway's extensions.

use std::collections::BTreeMap;

use causeway_model::{
    ApiSpec, ApiType, AuthorizerSpec, AuthorizerType, GatewayResponseSpec, IntegrationSpec,
    RouteSpec, route_key_params,
};
use serde_json::{Map, Value, json};

use crate::{ExportOptions, X_AWS_INTEGRATION, X_INTEGRATION};

/// The security scheme a route requiring an API key names (as API Gateway exports it).
pub(crate) const API_KEY_SCHEME: &str = "api_key";

/// `api` as an OpenAPI 3.0.1 document, as API Gateway exports one with its integration
/// extensions, plus Causeway's own where API Gateway has none.
pub fn export(api: &ApiSpec, options: &ExportOptions) -> Value {
    let mut doc = Map::new();
    doc.insert("openapi".into(), json!("3.0.1"));
    let mut info = Map::new();
    info.insert("title".into(), json!(api.name));
    if !api.description.is_empty() {
        info.insert("description".into(), json!(api.description));
    }
    info.insert(
        "version".into(),
        json!(options.version.as_deref().unwrap_or("1.0")),
    );
    doc.insert("info".into(), Value::Object(info));
    if let Some(url) = &options.server_url {
        doc.insert("servers".into(), json!([{ "url": url }]));
    }
    doc.insert("paths".into(), paths(api));
    let schemes = security_schemes(api);
    let schemas = crate::models::export_schemas(api);
    let mut components = Map::new();
    if !schemas.is_empty() {
        components.insert("schemas".into(), Value::Object(schemas));
    }
    if !schemes.is_empty() {
        components.insert("securitySchemes".into(), Value::Object(schemes));
    }
    if !components.is_empty() {
        doc.insert("components".into(), Value::Object(components));
    }
    if let Some(validators) = crate::models::export_validators(api) {
        doc.insert("x-amazon-apigateway-request-validators".into(), validators);
    }
    if !api.binary_media_types.is_empty() {
        doc.insert(
            "x-amazon-apigateway-binary-media-types".into(),
            json!(api.binary_media_types),
        );
    }
    if let Some(size) = api.minimum_compression_size {
        doc.insert(
            "x-amazon-apigateway-minimum-compression-size".into(),
            json!(size),
        );
    }
    if let Some(cors) = &api.cors {
        let mut c = Map::new();
        c.insert("allowOrigins".into(), json!(cors.allow_origins));
        c.insert("allowMethods".into(), json!(cors.allow_methods));
        c.insert("allowHeaders".into(), json!(cors.allow_headers));
        c.insert("exposeHeaders".into(), json!(cors.expose_headers));
        if let Some(max_age) = cors.max_age {
            c.insert("maxAge".into(), json!(max_age));
        }
        c.insert("allowCredentials".into(), json!(cors.allow_credentials));
        doc.insert("x-amazon-apigateway-cors".into(), Value::Object(c));
    }
    if !api.gateway_responses.is_empty() {
        let responses: Map<String, Value> = api
            .gateway_responses
            .iter()
            .map(|r| (r.kind.clone(), gateway_response(r)))
            .collect();
        doc.insert(
            "x-amazon-apigateway-gateway-responses".into(),
            Value::Object(responses),
        );
    }
    if api.kind == ApiType::Http {
        // What API Gateway puts on HTTP APIs' exports (and looks for on import).
        doc.insert(
            "x-amazon-apigateway-importexport-version".into(),
            json!("1.0"),
        );
    }
    if api.endpoint.disable_execute_api_endpoint {
        doc.insert(
            "x-amazon-apigateway-endpoint-configuration".into(),
            json!({ "disableExecuteApiEndpoint": true }),
        );
    }
    if let Some(policy) = crate::policy::export(&api.resource_policy) {
        doc.insert("x-amazon-apigateway-policy".into(), policy);
    }
    let mut ours = Map::new();
    ours.insert("id".into(), json!(api.id));
    ours.insert("type".into(), json!(api.kind.as_str()));
    if !api.endpoint.is_default() {
        ours.insert("endpoint".into(), to_value(&api.endpoint));
    }
    if !api.plugins.is_empty() {
        ours.insert("plugins".into(), to_value(&api.plugins));
    }
    if !api.stages.is_empty() {
        ours.insert("stages".into(), to_value(&api.stages));
    }
    doc.insert("x-causeway".into(), Value::Object(ours));
    Value::Object(doc)
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// `paths`: one path item per route path, one operation per method (`ANY` as API
/// Gateway's `x-amazon-apigateway-any-method`, the `$default` route as path `$default`).
fn paths(api: &ApiSpec) -> Value {
    let mut paths: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for route in &api.routes {
        let (path, method) = if route.key == "$default" {
            ("$default", "ANY")
        } else {
            (route.path(), route.method())
        };
        let op_key = if method == "ANY" {
            "x-amazon-apigateway-any-method".to_owned()
        } else {
            method.to_ascii_lowercase()
        };
        paths
            .entry(path)
            .or_default()
            .insert(op_key, operation(api, route));
    }
    Value::Object(
        paths
            .into_iter()
            .map(|(p, ops)| (p.to_owned(), Value::Object(ops)))
            .collect(),
    )
}

fn operation(api: &ApiSpec, route: &RouteSpec) -> Value {
    let mut op = Map::new();
    let parameters = parameters(route);
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    crate::models::export_body(api, route, &mut op);
    let mut security = Vec::new();
    if let Some(name) = &route.authorizer {
        security.push(json!({ name.as_str(): route.authorization_scopes }));
    }
    if route.api_key_required {
        security.push(json!({ API_KEY_SCHEME: [] }));
    }
    if !security.is_empty() {
        op.insert("security".into(), Value::Array(security));
    }
    // OpenAPI requires `responses`: what the route answers, as far as the gateway knows.
    let responses = match &route.integration {
        IntegrationSpec::Mock(mock) => json!({
            mock.status.to_string(): { "description": format!("{} response", mock.status) }
        }),
        _ => json!({ "default": { "description": "the integration's response" } }),
    };
    op.insert("responses".into(), responses);
    if route.api_key_required && api.kind == ApiType::Rest {
        op.insert("x-amazon-apigateway-api-key-required".into(), json!(true));
    }
    match &route.integration {
        IntegrationSpec::Mock(_) | IntegrationSpec::Http(_) | IntegrationSpec::HttpProxy(_) => {
            op.insert(X_AWS_INTEGRATION.into(), aws_integration(route));
        }
        IntegrationSpec::Function(_) | IntegrationSpec::WasiHttp(_) => {
            op.insert(X_INTEGRATION.into(), to_value(&route.integration));
        }
    }
    let mut extra = Map::new();
    if let Some(cache) = &route.cache {
        extra.insert("cache".into(), to_value(cache));
    }
    if let Some(throttle) = &route.throttle {
        extra.insert("throttle".into(), to_value(throttle));
    }
    if let Some(mapper) = &route.mapper {
        extra.insert("mapper".into(), json!(mapper));
    }
    if !extra.is_empty() {
        op.insert("x-causeway-route".into(), Value::Object(extra));
    }
    Value::Object(op)
}

/// The route key's path parameters (always required), then the declared query string
/// and header parameters.
fn parameters(route: &RouteSpec) -> Vec<Value> {
    let mut out: Vec<Value> = route_key_params(&route.key)
        .into_iter()
        .map(|name| parameter(name, "path", true))
        .collect();
    for (name, required) in &route.request_parameters {
        let (place, rest) = match name.strip_prefix("method.request.") {
            Some(rest) => match rest.split_once('.') {
                Some(("querystring", n)) => ("query", n),
                Some(("header", n)) => ("header", n),
                // Path parameters come from the key, above.
                _ => continue,
            },
            None => continue,
        };
        out.push(parameter(rest, place, *required));
    }
    out
}

fn parameter(name: &str, place: &str, required: bool) -> Value {
    json!({ "name": name, "in": place, "required": required, "schema": { "type": "string" } })
}

/// `x-amazon-apigateway-integration` for the integration types API Gateway has.
fn aws_integration(route: &RouteSpec) -> Value {
    let mut x = Map::new();
    match &route.integration {
        IntegrationSpec::Mock(mock) => {
            x.insert("type".into(), json!("mock"));
            x.insert(
                "requestTemplates".into(),
                json!({ "application/json": format!("{{\"statusCode\": {}}}", mock.status) }),
            );
            let mut response = Map::new();
            response.insert("statusCode".into(), json!(mock.status.to_string()));
            if !mock.headers.is_empty() {
                response.insert(
                    "responseParameters".into(),
                    static_headers("method.response.header.", &mock.headers),
                );
            }
            response.insert(
                "responseTemplates".into(),
                json!({ "application/json": mock.body }),
            );
            x.insert("responses".into(), json!({ "default": response }));
            x.insert("passthroughBehavior".into(), json!("when_no_match"));
        }
        IntegrationSpec::Http(http) => {
            x.insert("type".into(), json!("http"));
            x.insert(
                "httpMethod".into(),
                json!(upstream_method(route, &http.method)),
            );
            x.insert("uri".into(), json!(http.uri));
            x.insert("timeoutInMillis".into(), json!(http.timeout_ms));
            if !http.request_parameters.is_empty() {
                x.insert("requestParameters".into(), json!(http.request_parameters));
            }
            let mut response = Map::new();
            response.insert("statusCode".into(), json!("200"));
            if !http.response_parameters.is_empty() {
                response.insert("responseParameters".into(), json!(http.response_parameters));
            }
            x.insert("responses".into(), json!({ "default": response }));
            x.insert("passthroughBehavior".into(), json!("when_no_match"));
        }
        IntegrationSpec::HttpProxy(proxy) => {
            x.insert("type".into(), json!("http_proxy"));
            x.insert(
                "httpMethod".into(),
                json!(upstream_method(route, &proxy.method)),
            );
            x.insert("uri".into(), json!(proxy.uri));
            x.insert("timeoutInMillis".into(), json!(proxy.timeout_ms));
            if !proxy.request_parameters.is_empty() {
                x.insert("requestParameters".into(), json!(proxy.request_parameters));
            }
            // HTTP APIs' response mappings, by integration status, as API Gateway writes them.
            if !proxy.response_parameters.is_empty() {
                x.insert(
                    "responseParameters".into(),
                    json!(proxy.response_parameters),
                );
            }
            x.insert("passthroughBehavior".into(), json!("when_no_match"));
        }
        IntegrationSpec::Function(_) | IntegrationSpec::WasiHttp(_) => {}
    }
    Value::Object(x)
}

/// The upstream method as API Gateway writes it: the integration's, else the route's
/// (`ANY` passes the client's).
fn upstream_method(route: &RouteSpec, method: &Option<String>) -> String {
    match method {
        Some(m) => m.clone(),
        None if route.key == "$default" => "ANY".to_owned(),
        None => route.method().to_owned(),
    }
}

/// `{prefix}name: 'value'` for static header values.
fn static_headers(prefix: &str, headers: &BTreeMap<String, String>) -> Value {
    Value::Object(
        headers
            .iter()
            .map(|(k, v)| (format!("{prefix}{k}"), json!(format!("'{v}'"))))
            .collect(),
    )
}

fn gateway_response(r: &GatewayResponseSpec) -> Value {
    let mut x = Map::new();
    if let Some(status) = r.status {
        x.insert("statusCode".into(), json!(status));
    }
    if !r.headers.is_empty() {
        x.insert(
            "responseParameters".into(),
            static_headers("gatewayresponse.header.", &r.headers),
        );
    }
    if let Some(body) = &r.body {
        x.insert(
            "responseTemplates".into(),
            json!({ "application/json": body }),
        );
    }
    Value::Object(x)
}

/// `components.securitySchemes`: one per authorizer, plus `api_key` when a route needs
/// a key.
fn security_schemes(api: &ApiSpec) -> Map<String, Value> {
    let mut schemes: Map<String, Value> = api
        .authorizers
        .iter()
        .map(|a| (a.name.clone(), authorizer_scheme(a)))
        .collect();
    if api.routes.iter().any(|r| r.api_key_required) {
        schemes.insert(
            API_KEY_SCHEME.into(),
            json!({ "type": "apiKey", "name": "x-api-key", "in": "header" }),
        );
    }
    schemes
}

fn authorizer_scheme(a: &AuthorizerSpec) -> Value {
    let sources = identity_sources(a);
    let mut aws = Map::new();
    let scheme = match a.kind {
        AuthorizerType::Jwt => {
            aws.insert("type".into(), json!("jwt"));
            if let Some(jwt) = &a.jwt {
                aws.insert(
                    "jwtConfiguration".into(),
                    json!({ "issuer": jwt.issuer, "audience": jwt.audiences }),
                );
            }
            aws.insert("identitySource".into(), json!(sources.join(",")));
            json!({ "type": "oauth2", "flows": {} })
        }
        AuthorizerType::Token | AuthorizerType::Request => {
            let token = a.kind == AuthorizerType::Token;
            aws.insert(
                "type".into(),
                json!(if token { "token" } else { "request" }),
            );
            aws.insert("identitySource".into(), json!(sources.join(", ")));
            aws.insert(
                "authorizerResultTtlInSeconds".into(),
                json!(a.result_ttl_seconds),
            );
            if let Some(expr) = &a.identity_validation_expression {
                aws.insert("identityValidationExpression".into(), json!(expr));
            }
            let header = sources
                .first()
                .and_then(|s| s.rsplit_once(".header."))
                .map_or("Authorization", |(_, h)| h);
            json!({
                "type": "apiKey",
                "name": header,
                "in": "header",
                "x-amazon-apigateway-authtype": "custom",
            })
        }
    };
    let mut scheme = match scheme {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    scheme.insert("x-amazon-apigateway-authorizer".into(), Value::Object(aws));
    // The whole authorizer as Causeway configures it (its plugin, JWKS source, ...),
    // which is what an import reads back.
    let mut ours = to_value(a);
    if let Value::Object(m) = &mut ours {
        m.remove("name");
    }
    scheme.insert("x-causeway-authorizer".into(), ours);
    Value::Object(scheme)
}

/// The authorizer's identity sources, in API Gateway's notation.
fn identity_sources(a: &AuthorizerSpec) -> Vec<String> {
    if !a.identity_sources.is_empty() {
        return a.identity_sources.clone();
    }
    match (&a.identity_source, a.kind) {
        (Some(s), _) => vec![s.clone()],
        (None, AuthorizerType::Jwt) => vec!["$request.header.Authorization".to_owned()],
        (None, _) => vec!["method.request.header.Authorization".to_owned()],
    }
}
