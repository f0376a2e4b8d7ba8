//! OpenAPI 3 → [`ApiSpec`]: the document's top level and its paths; API Gateway's
//! extensions are read in [`aws`].

use std::collections::{BTreeMap, BTreeSet};

use causeway_model::{ApiSpec, ApiType, AuthorizerSpec, IntegrationSpec, RouteSpec};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{ImportErrors, ImportOptions, Imported, Located, X_AWS_INTEGRATION, X_INTEGRATION};

mod aws;

/// Errors and warnings gathered over one document.
#[derive(Default)]
pub(crate) struct Reader {
    errors: Vec<Located>,
    warnings: Vec<Located>,
}

impl Reader {
    pub(crate) fn err(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Located {
            at: at.into(),
            message: message.into(),
        });
    }

    pub(crate) fn warn(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Located {
            at: at.into(),
            message: message.into(),
        });
    }

    /// `value` read as Causeway's own config form of `T` (the `x-causeway*` extensions).
    pub(crate) fn ours<T: DeserializeOwned>(&mut self, at: &str, value: &Value) -> Option<T> {
        match serde_json::from_value(value.clone()) {
            Ok(v) => Some(v),
            Err(e) => {
                self.err(at, format!("not Causeway's config form: {e}"));
                None
            }
        }
    }

    /// A string field, or an error naming it.
    pub(crate) fn string(
        &mut self,
        obj: &Map<String, Value>,
        at: &str,
        key: &str,
    ) -> Option<String> {
        match obj.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.err(format!("{at}.{key}"), "must be a string");
                None
            }
            None => {
                self.err(format!("{at}.{key}"), "missing");
                None
            }
        }
    }

    /// A map of strings to strings (`requestParameters`, `responseParameters`).
    pub(crate) fn string_map(
        &mut self,
        value: Option<&Value>,
        at: &str,
    ) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Some(value) = value else { return out };
        let Some(obj) = value.as_object() else {
            self.err(at, "must be a map of strings");
            return out;
        };
        for (k, v) in obj {
            match v.as_str() {
                Some(s) => {
                    out.insert(k.clone(), s.to_owned());
                }
                None => self.err(format!("{at}.{k}"), "must be a string"),
            }
        }
        out
    }
}

/// HTTP methods an operation may be keyed by.
const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];
const ANY_METHOD: &str = "x-amazon-apigateway-any-method";

pub(crate) fn document(doc: &Value, options: &ImportOptions) -> Result<Imported, ImportErrors> {
    let mut r = Reader::default();
    let Some(obj) = doc.as_object() else {
        r.err(
            "",
            "an OpenAPI document is a map (`openapi`, `info`, `paths`, ...)",
        );
        return Err(ImportErrors(r.errors));
    };
    match obj.get("openapi") {
        Some(Value::String(v)) if v.starts_with("3.") => {}
        Some(v) => r.err(
            "openapi",
            format!("{v}: only OpenAPI 3.x documents are read"),
        ),
        None if obj.contains_key("swagger") => r.err(
            "swagger",
            "a Swagger 2.0 document: convert it to OpenAPI 3 first (e.g. `npx swagger2openapi`)",
        ),
        None => r.err("openapi", "missing: is this an OpenAPI 3 document?"),
    }
    let empty = Map::new();
    let ours = obj
        .get("x-causeway")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let info = obj.get("info").and_then(Value::as_object).unwrap_or(&empty);
    let name = r.string(info, "info", "title").unwrap_or_default();
    let description = info
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let id = options
        .id
        .clone()
        .or_else(|| ours.get("id").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| slug(&name));
    let kind = options
        .kind
        .unwrap_or_else(|| match ours.get("type").and_then(Value::as_str) {
            Some("HTTP") => ApiType::Http,
            Some(_) => ApiType::Rest,
            None if obj.contains_key("x-amazon-apigateway-importexport-version") => ApiType::Http,
            None => ApiType::Rest,
        });
    let binary_media_types = match obj.get("x-amazon-apigateway-binary-media-types") {
        Some(v) => r
            .ours::<Vec<String>>("x-amazon-apigateway-binary-media-types", v)
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let minimum_compression_size = obj
        .get("x-amazon-apigateway-minimum-compression-size")
        .and_then(|v| r.ours::<u64>("x-amazon-apigateway-minimum-compression-size", v));
    let cors = obj
        .get("x-amazon-apigateway-cors")
        .and_then(|v| aws::cors(&mut r, v));
    let gateway_responses = obj
        .get("x-amazon-apigateway-gateway-responses")
        .map(|v| aws::gateway_responses(&mut r, v))
        .unwrap_or_default();
    let plugins = ours
        .get("plugins")
        .and_then(|v| r.ours("x-causeway.plugins", v))
        .unwrap_or_default();
    let resource_policy = obj
        .get("x-amazon-apigateway-policy")
        .map(|v| crate::policy::import(&mut r, v))
        .unwrap_or_default();
    let mut endpoint: causeway_model::EndpointSpec = ours
        .get("endpoint")
        .and_then(|v| r.ours("x-causeway.endpoint", v))
        .unwrap_or_default();
    if obj
        .get("x-amazon-apigateway-endpoint-configuration")
        .and_then(|c| c.get("disableExecuteApiEndpoint"))
        .and_then(Value::as_bool)
        == Some(true)
    {
        endpoint.disable_execute_api_endpoint = true;
    }
    let stages = match ours.get("stages") {
        Some(v) => r.ours("x-causeway.stages", v).unwrap_or_default(),
        None => server_stage(&mut r, obj).into_iter().collect(),
    };
    let schemes = aws::security_schemes(&mut r, obj);
    // HTTP APIs do not validate bodies: their schemas are documentation, as in API Gateway.
    let mut models = match kind {
        ApiType::Rest => crate::models::import_schemas(&mut r, obj),
        ApiType::Http | ApiType::WebSocket => Vec::new(),
    };
    let mut places = Vec::new();
    let validated = (kind == ApiType::Rest).then_some(&mut models[..]);
    let routes = routes(&mut r, obj, (&schemes, validated), &mut places);
    let mut authorizers: Vec<AuthorizerSpec> = Vec::new();
    let mut authorizer_places = Vec::new();
    for (name, scheme) in &schemes.authorizers {
        authorizers.push(scheme.clone());
        authorizer_places.push(format!("components.securitySchemes.{name}"));
    }
    let model_places: Vec<String> = models
        .iter()
        .map(|m| format!("components.schemas.{}", m.name))
        .collect();
    let response_places: Vec<String> = gateway_responses
        .iter()
        .map(|g| format!("x-amazon-apigateway-gateway-responses.{}", g.kind))
        .collect();
    let api = ApiSpec {
        version: causeway_model::SCHEMA_VERSION,
        id,
        name,
        kind,
        description,
        endpoint,
        resource_policy,
        binary_media_types,
        minimum_compression_size,
        cors,
        stages,
        plugins,
        authorizers,
        routes,
        gateway_responses,
        models,
        route_selection_expression: None,
        callback_networks: Vec::new(),
    };
    if r.errors.is_empty() {
        // What the model refuses, placed in the document where it can be.
        for e in causeway_model::validate_api("openapi", &api).0 {
            let at = relocate(&e.field, "routes", &places)
                .or_else(|| relocate(&e.field, "authorizers", &authorizer_places))
                .or_else(|| relocate(&e.field, "gateway_responses", &response_places))
                .or_else(|| relocate(&e.field, "models", &model_places))
                .unwrap_or_else(|| format!("(api) {}", e.field));
            r.err(at, e.message);
        }
    }
    if r.errors.is_empty() {
        Ok(Imported {
            api,
            warnings: r.warnings,
        })
    } else {
        Err(ImportErrors(r.errors))
    }
}

/// The stage an API Gateway export was made for, from its server URL
/// (`https://{id}.execute-api.{region}.amazonaws.com/{basePath}` with `basePath`'s
/// default, or the URL's one path segment).
fn server_stage(r: &mut Reader, doc: &Map<String, Value>) -> Option<causeway_model::StageSpec> {
    let server = doc.get("servers")?.as_array()?.first()?.as_object()?;
    let url = server.get("url")?.as_str()?;
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = path
        .split_once('/')
        .map_or("", |(_, p)| p)
        .trim_matches('/');
    let name = if path == "{basePath}" {
        server
            .get("variables")?
            .get("basePath")?
            .get("default")?
            .as_str()?
            .trim_matches('/')
            .to_owned()
    } else {
        path.to_owned()
    };
    if name.is_empty() || name.contains(['/', '{']) {
        return None;
    }
    r.warn(
        "servers[0]",
        format!(
            "stage `{name}` taken from the server URL (no variables: add them under `[[stages]]`)"
        ),
    );
    Some(causeway_model::StageSpec {
        name,
        description: String::new(),
        variables: Default::default(),
        access_log: None,
        cache: None,
        throttle: None,
    })
}

/// `routes[3].integration.uri` → `paths./pets.get` + `.integration.uri`.
fn relocate(field: &str, list: &str, places: &[String]) -> Option<String> {
    let rest = field.strip_prefix(list)?.strip_prefix('[')?;
    let (index, tail) = rest.split_once(']')?;
    let place = places.get(index.parse::<usize>().ok()?)?;
    Some(format!("{place}{tail}"))
}

/// An API id from a title: lowercase letters, digits and `-`.
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// Every operation of every path, as routes (`places[i]` is route `i`'s place).
fn routes(
    r: &mut Reader,
    doc: &Map<String, Value>,
    (schemes, mut models): (&aws::Schemes, Option<&mut [causeway_model::ModelSpec]>),
    places: &mut Vec<String>,
) -> Vec<RouteSpec> {
    let mut out = Vec::new();
    let Some(paths) = doc.get("paths") else {
        r.err("paths", "missing: the document has no routes");
        return out;
    };
    let Some(paths) = paths.as_object() else {
        r.err("paths", "must be a map of paths to path items");
        return out;
    };
    let default_security = doc.get("security");
    for (path, item) in paths {
        let at = format!("paths.{path}");
        let Some(item) = item.as_object() else {
            r.err(at, "must be a path item (a map of methods to operations)");
            continue;
        };
        if path != "$default" && !path.starts_with('/') {
            r.err(&at, "a path starts with `/` (or is HTTP APIs' `$default`)");
            continue;
        }
        let shared = item
            .get("parameters")
            .map(|v| (v, format!("{at}.parameters")));
        for (key, op) in item {
            let method = if key == ANY_METHOD {
                "ANY".to_owned()
            } else if METHODS.contains(&key.as_str()) {
                key.to_ascii_uppercase()
            } else {
                if key == "trace" {
                    r.warn(
                        format!("{at}.trace"),
                        "TRACE operations are not served; left out",
                    );
                }
                continue;
            };
            let op_at = format!("{at}.{key}");
            let Some(op) = op.as_object() else {
                r.err(op_at, "must be an operation (a map)");
                continue;
            };
            let route_key = if path == "$default" {
                if method != "ANY" {
                    r.err(
                        &op_at,
                        format!(
                            "the `$default` route takes every method: key it by `{ANY_METHOD}`"
                        ),
                    );
                    continue;
                }
                "$default".to_owned()
            } else {
                format!("{method} {path}")
            };
            if let Some(mut route) = route(
                r,
                &op_at,
                route_key,
                op,
                shared.clone(),
                default_security,
                schemes,
            ) {
                if let Some(models) = models.as_deref_mut() {
                    route.request_model = crate::models::import_body(r, &op_at, doc, op, models);
                }
                out.push(route);
                places.push(op_at);
            }
        }
    }
    out
}

fn route(
    r: &mut Reader,
    at: &str,
    key: String,
    op: &Map<String, Value>,
    shared: Option<(&Value, String)>,
    default_security: Option<&Value>,
    schemes: &aws::Schemes,
) -> Option<RouteSpec> {
    let mut request_parameters = BTreeMap::new();
    let path_params: BTreeSet<&str> = causeway_model::route_key_params(&key).into_iter().collect();
    let own = op
        .get("parameters")
        .map(|v| (v, format!("{at}.parameters")));
    for (list, list_at) in [shared, own].into_iter().flatten() {
        let Some(list) = list.as_array() else {
            r.err(list_at, "must be a list of parameters");
            continue;
        };
        for (i, p) in list.iter().enumerate() {
            let p_at = format!("{list_at}[{i}]");
            let Some(p) = p.as_object() else {
                r.err(p_at, "must be a parameter (`name`, `in`, `required`)");
                continue;
            };
            if p.contains_key("$ref") {
                r.warn(p_at, "parameter references (`$ref`) are not followed; declare the parameter inline to have it checked");
                continue;
            }
            let (Some(name), Some(place)) = (r.string(p, &p_at, "name"), r.string(p, &p_at, "in"))
            else {
                continue;
            };
            let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
            let source = match place.as_str() {
                "query" => "querystring",
                "header" => "header",
                "path" => {
                    if !path_params.contains(name.as_str()) {
                        r.err(
                            format!("{p_at}.name"),
                            format!("path parameter `{name}` is not in the path `{key}`"),
                        );
                    }
                    continue;
                }
                "cookie" => {
                    r.warn(p_at, "cookie parameters are not checked; left out");
                    continue;
                }
                other => {
                    r.err(
                        format!("{p_at}.in"),
                        format!("`{other}`: a parameter is `in` query, header, path or cookie"),
                    );
                    continue;
                }
            };
            request_parameters.insert(format!("method.request.{source}.{name}"), required);
        }
    }
    let (authorizer, authorization_scopes, mut api_key_required) =
        match op.get("security").or(default_security) {
            Some(security) => aws::route_security(r, &format!("{at}.security"), security, schemes),
            None => (None, Vec::new(), false),
        };
    if op
        .get("x-amazon-apigateway-api-key-required")
        .and_then(Value::as_bool)
        == Some(true)
    {
        api_key_required = true;
    }
    let integration = if let Some(x) = op.get(X_INTEGRATION) {
        r.ours::<IntegrationSpec>(&format!("{at}.{X_INTEGRATION}"), x)
    } else if let Some(x) = op.get(X_AWS_INTEGRATION) {
        aws::integration(r, &format!("{at}.{X_AWS_INTEGRATION}"), &key, x)
    } else {
        r.err(at, format!("no `{X_AWS_INTEGRATION}`: say what serves `{key}` (type mock, http or http_proxy), or give `{X_INTEGRATION}` (a FUNCTION or WASI_HTTP plugin)"));
        None
    };
    let mut route = RouteSpec {
        key,
        request_parameters,
        authorizer,
        authorization_scopes,
        api_key_required,
        cache: None,
        throttle: None,
        mapper: None,
        request_model: None,
        route_response: false,
        integration: integration?,
    };
    if let Some(extra) = op.get("x-causeway-route") {
        let extra_at = format!("{at}.x-causeway-route");
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Extra {
            cache: Option<causeway_model::RouteCacheSpec>,
            throttle: Option<causeway_model::ThrottleSpec>,
            mapper: Option<String>,
        }
        if let Some(extra) = r.ours::<Extra>(&extra_at, extra) {
            route.cache = extra.cache;
            route.throttle = extra.throttle;
            route.mapper = extra.mapper;
        }
    }
    Some(route)
}
