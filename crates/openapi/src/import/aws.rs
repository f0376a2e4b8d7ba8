//! API Gateway's `x-amazon-apigateway-*` extensions: integrations, authorizers (security
//! schemes), gateway responses and CORS, read into Causeway's model.

use std::collections::{BTreeMap, BTreeSet};

use causeway_model::{AuthorizerSpec, CorsSpec, GatewayResponseSpec, IntegrationSpec};
use serde_json::{Map, Value, json};

use super::Reader;

/// The document's security schemes Causeway can act on.
#[derive(Default)]
pub(crate) struct Schemes {
    /// Authorizers by scheme name.
    pub(crate) authorizers: BTreeMap<String, AuthorizerSpec>,
    /// Schemes that are API keys (`x-api-key`).
    pub(crate) api_keys: BTreeSet<String>,
    /// Schemes that only document (OAuth flows, HTTP auth without an authorizer).
    pub(crate) documentation: BTreeSet<String>,
}

pub(crate) fn security_schemes(r: &mut Reader, doc: &Map<String, Value>) -> Schemes {
    let mut out = Schemes::default();
    let Some(schemes) = doc
        .get("components")
        .and_then(|c| c.get("securitySchemes"))
        .and_then(Value::as_object)
    else {
        return out;
    };
    for (name, scheme) in schemes {
        let at = format!("components.securitySchemes.{name}");
        let Some(scheme) = scheme.as_object() else {
            r.err(at, "must be a security scheme (a map)");
            continue;
        };
        if let Some(ours) = scheme.get("x-causeway-authorizer") {
            let mut ours = ours.clone();
            if let Value::Object(m) = &mut ours {
                m.insert("name".into(), json!(name));
            }
            if let Some(spec) = r.ours(&format!("{at}.x-causeway-authorizer"), &ours) {
                out.authorizers.insert(name.clone(), spec);
            }
            continue;
        }
        if let Some(aws) = scheme.get("x-amazon-apigateway-authorizer") {
            if let Some(spec) = authorizer(r, &at, name, aws) {
                out.authorizers.insert(name.clone(), spec);
            }
            continue;
        }
        let api_key = scheme.get("type").and_then(Value::as_str) == Some("apiKey")
            && scheme.get("in").and_then(Value::as_str) == Some("header")
            && scheme
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|h| h.eq_ignore_ascii_case("x-api-key"));
        if api_key {
            out.api_keys.insert(name.clone());
        } else {
            out.documentation.insert(name.clone());
        }
    }
    out
}

/// An authorizer from API Gateway's own description of it.
fn authorizer(r: &mut Reader, at: &str, name: &str, aws: &Value) -> Option<AuthorizerSpec> {
    let at = format!("{at}.x-amazon-apigateway-authorizer");
    let Some(aws) = aws.as_object() else {
        r.err(at, "must be a map");
        return None;
    };
    let kind = aws
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    match kind.as_str() {
        "jwt" => {
            let config = aws.get("jwtConfiguration").and_then(Value::as_object);
            let issuer = config.and_then(|c| c.get("issuer")).and_then(Value::as_str);
            let Some(issuer) = issuer else {
                r.err(
                    format!("{at}.jwtConfiguration.issuer"),
                    "missing: a JWT authorizer needs its issuer",
                );
                return None;
            };
            let audiences = config
                .and_then(|c| c.get("audience"))
                .cloned()
                .unwrap_or(json!([]));
            // No key source: the JWT authorizer finds the keys through the issuer's
            // discovery document, as API Gateway's does.
            let mut spec = json!({
                "name": name,
                "type": "JWT",
                "jwt": { "issuer": issuer, "audiences": audiences },
            });
            if let Some(source) = aws.get("identitySource") {
                // HTTP APIs write one or a list; Causeway's JWT authorizer reads one.
                let first = match source {
                    Value::Array(list) => list.first().cloned(),
                    Value::String(s) => s.split(',').next().map(|s| json!(s.trim())),
                    _ => None,
                };
                if let (Some(first), Value::Object(m)) = (first, &mut spec) {
                    m.insert("identity_source".into(), first);
                }
            }
            r.ours(&at, &spec)
        }
        "token" | "request" => {
            let uri = aws
                .get("authorizerUri")
                .and_then(Value::as_str)
                .unwrap_or("(none)");
            r.err(
                at,
                format!("a {} authorizer calling Lambda `{uri}`: Causeway's authorizers are WebAssembly plugins; add `x-causeway-authorizer: {{type: {}, plugin: NAME, identity_sources: [...]}}` to this scheme", kind.to_ascii_uppercase(), kind.to_ascii_uppercase()),
            );
            None
        }
        "cognito_user_pools" => {
            r.err(at, "a Cognito user pool authorizer: use a JWT authorizer with the pool as issuer (`x-causeway-authorizer: {type: JWT, jwt: {issuer: ..., audiences: [...], jwks_url: ...}}`)");
            None
        }
        other => {
            r.err(
                format!("{at}.type"),
                format!("`{other}`: an authorizer is of type jwt, token or request"),
            );
            None
        }
    }
}

/// A route's `security`: its authorizer with scopes, and whether it needs an API key.
pub(crate) fn route_security(
    r: &mut Reader,
    at: &str,
    security: &Value,
    schemes: &Schemes,
) -> (Option<String>, Vec<String>, bool) {
    let mut authorizer: Option<(String, Vec<String>)> = None;
    let mut api_key = false;
    let Some(list) = security.as_array() else {
        r.err(at, "must be a list of security requirements");
        return (None, Vec::new(), false);
    };
    for (i, requirement) in list.iter().enumerate() {
        let Some(requirement) = requirement.as_object() else {
            r.err(
                format!("{at}[{i}]"),
                "must be a map of scheme names to scopes",
            );
            continue;
        };
        for (name, scopes) in requirement {
            let item_at = format!("{at}[{i}].{name}");
            if schemes.api_keys.contains(name) {
                api_key = true;
            } else if schemes.authorizers.contains_key(name) {
                let scopes: Vec<String> = scopes
                    .as_array()
                    .map(|s| {
                        s.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                match &authorizer {
                    Some((other, _)) if other != name => r.err(
                        item_at,
                        format!("a route has one authorizer; `{other}` is already named here"),
                    ),
                    _ => authorizer = Some((name.clone(), scopes)),
                }
            } else if schemes.documentation.contains(name) {
                r.warn(item_at, "a scheme without `x-amazon-apigateway-authorizer` is documentation only; not enforced");
            } else {
                r.err(item_at, "no such scheme in `components.securitySchemes`");
            }
        }
    }
    match authorizer {
        Some((name, scopes)) => (Some(name), scopes, api_key),
        None => (None, Vec::new(), api_key),
    }
}

/// An integration API Gateway describes (`mock`, `http`, `http_proxy`).
pub(crate) fn integration(
    r: &mut Reader,
    at: &str,
    route_key: &str,
    x: &Value,
) -> Option<IntegrationSpec> {
    let Some(x) = x.as_object() else {
        r.err(at, "must be a map");
        return None;
    };
    let kind = x
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if let Some(conn) = x.get("connectionType").and_then(Value::as_str)
        && conn.eq_ignore_ascii_case("VPC_LINK")
    {
        r.err(
            format!("{at}.connectionType"),
            "VPC links are not available: point `uri` at an address the node reaches directly",
        );
        return None;
    }
    let default = x
        .get("responses")
        .and_then(|v| v.get("default"))
        .and_then(Value::as_object);
    if let Some(responses) = x.get("responses").and_then(Value::as_object)
        && responses.keys().any(|k| k != "default")
        && kind != "mock"
    {
        r.warn(
            format!("{at}.responses"),
            "only `default` is read: Causeway passes the integration's status through",
        );
    }
    let spec = match kind.as_str() {
        "mock" => {
            let status = default.and_then(|d| d.get("statusCode")).map(|s| match s {
                Value::String(s) => s.parse::<u16>().ok(),
                Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
                _ => None,
            });
            let status = match status {
                Some(Some(s)) => s,
                Some(None) => {
                    r.err(
                        format!("{at}.responses.default.statusCode"),
                        "must be a status code such as 200",
                    );
                    return None;
                }
                None => 200,
            };
            let headers = static_values(
                r,
                &format!("{at}.responses.default.responseParameters"),
                default.and_then(|d| d.get("responseParameters")),
                "method.response.header.",
            );
            let body = template(default.and_then(|d| d.get("responseTemplates")));
            json!({ "type": "MOCK", "status": status, "headers": headers, "body": body.unwrap_or_default() })
        }
        "http" | "http_proxy" => {
            let uri = r.string(x, at, "uri")?;
            let mut spec = json!({
                "type": if kind == "http" { "HTTP" } else { "HTTP_PROXY" },
                "uri": uri,
                "request_parameters": r.string_map(x.get("requestParameters"), &format!("{at}.requestParameters")),
            });
            let Value::Object(m) = &mut spec else {
                return None;
            };
            if let Some(t) = x.get("timeoutInMillis") {
                m.insert("timeout_ms".into(), t.clone());
            }
            if let Some(method) = x.get("httpMethod").and_then(Value::as_str) {
                let method = method.to_ascii_uppercase();
                let route_method = if route_key == "$default" {
                    "ANY"
                } else {
                    route_key.split(' ').next().unwrap_or_default()
                };
                if method != route_method {
                    m.insert("method".into(), json!(method));
                }
            }
            if kind == "http_proxy"
                && let Some(Value::Object(by_status)) = x.get("responseParameters")
            {
                let mut all = serde_json::Map::new();
                for (status, params) in by_status {
                    let map =
                        r.string_map(Some(params), &format!("{at}.responseParameters.{status}"));
                    all.insert(status.clone(), json!(map));
                }
                m.insert("response_parameters".into(), Value::Object(all));
            }
            if kind == "http" {
                let params = r.string_map(
                    default.and_then(|d| d.get("responseParameters")),
                    &format!("{at}.responses.default.responseParameters"),
                );
                m.insert("response_parameters".into(), json!(params));
            }
            if x.contains_key("requestTemplates")
                || default.is_some_and(|d| d.contains_key("responseTemplates"))
            {
                r.warn(at, "mapping templates are not applied: give the route a `mapper` plugin (`x-causeway-route: {mapper: NAME}`) to transform bodies");
            }
            spec
        }
        "aws_proxy" | "aws" => {
            r.err(format!("{at}.type"), format!("`{kind}` calls an AWS service (e.g. Lambda); Causeway runs WebAssembly functions instead: replace it with `x-causeway-integration: {{type: FUNCTION, plugin: NAME}}`"));
            return None;
        }
        "" => {
            r.err(format!("{at}.type"), "missing: mock, http or http_proxy");
            return None;
        }
        other => {
            r.err(
                format!("{at}.type"),
                format!("`{other}`: Causeway serves mock, http and http_proxy integrations"),
            );
            return None;
        }
    };
    r.ours(at, &spec)
}

/// `{prefix}NAME: 'value'` entries as `NAME: value`; other values are an error (they
/// would map something Causeway does not map here).
fn static_values(
    r: &mut Reader,
    at: &str,
    params: Option<&Value>,
    prefix: &str,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in r.string_map(params, at) {
        let Some(name) = k.strip_prefix(prefix) else {
            r.err(
                format!("{at}.{k}"),
                format!("only `{prefix}NAME` is read here"),
            );
            continue;
        };
        match v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            Some(value) => {
                out.insert(name.to_owned(), value.to_owned());
            }
            None => r.err(
                format!("{at}.{k}"),
                format!("`{v}`: only static values (`'text'`) are read here"),
            ),
        }
    }
    out
}

/// The JSON template of `responseTemplates`, else its first.
fn template(templates: Option<&Value>) -> Option<String> {
    let t = templates?.as_object()?;
    t.get("application/json")
        .or_else(|| t.values().next())
        .and_then(Value::as_str)
        .map(str::to_owned)
}

pub(crate) fn gateway_responses(r: &mut Reader, v: &Value) -> Vec<GatewayResponseSpec> {
    let at = "x-amazon-apigateway-gateway-responses";
    let Some(map) = v.as_object() else {
        r.err(at, "must be a map of response types");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (kind, resp) in map {
        let resp_at = format!("{at}.{kind}");
        let status = match resp.get("statusCode") {
            None => None,
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Some(Value::String(s)) => s.parse().ok(),
            Some(_) => None,
        };
        if resp.get("statusCode").is_some() && status.is_none() {
            r.err(
                format!("{resp_at}.statusCode"),
                "must be a status code such as 401",
            );
        }
        let headers = static_values(
            r,
            &format!("{resp_at}.responseParameters"),
            resp.get("responseParameters"),
            "gatewayresponse.header.",
        );
        out.push(GatewayResponseSpec {
            kind: kind.clone(),
            status,
            headers,
            body: template(resp.get("responseTemplates")),
        });
    }
    out
}

pub(crate) fn cors(r: &mut Reader, v: &Value) -> Option<CorsSpec> {
    let at = "x-amazon-apigateway-cors";
    let Some(c) = v.as_object() else {
        r.err(at, "must be a map");
        return None;
    };
    let mut ours = Map::new();
    for (k, v) in c {
        let key = match k.as_str() {
            "allowOrigins" => "allow_origins",
            "allowMethods" => "allow_methods",
            "allowHeaders" => "allow_headers",
            "exposeHeaders" => "expose_headers",
            "maxAge" => "max_age",
            "allowCredentials" => "allow_credentials",
            other => {
                r.warn(format!("{at}.{other}"), "not a CORS setting; left out");
                continue;
            }
        };
        ours.insert(key.into(), v.clone());
    }
    r.ours(at, &Value::Object(ours))
}
