//! Compiling a deployment into its runtime form: the route trie, parsed templates,
//! parameter mappings and typed header names, all done once when a deployment loads.

use std::sync::Arc;
use std::time::Duration;

use crate::authorizer::Authorizer;
use crate::jwt::{JwtAuthorizer, RouteJwt};
use crate::plugins::Plugins;

mod route;
use route::{cors, method, request_params, route};

use causeway_model::{
    ApiSpec, ApiType, ConfigError, ConfigErrors, Deployment, DeploymentId, Template,
};
use causeway_router::{ApiKind, Router};
use http::{HeaderName, HeaderValue, Method, StatusCode};

/// A deployment ready to serve.
#[derive(Debug)]
pub struct CompiledDeployment {
    id: DeploymentId,
    spec: ApiSpec,
    pub(crate) router: Router,
    pub(crate) routes: Vec<CompiledRoute>,
    pub(crate) cors: Option<CompiledCors>,
    /// Which listener serves it, to which clients.
    pub(crate) endpoint: crate::endpoint::Endpoint,
    /// Its customized gateway responses (REST APIs).
    pub(crate) gateway_responses: crate::gateway_responses::GatewayResponses,
    /// Its loaded plugins, by the name the API gives them.
    plugins: Vec<(String, Arc<causeway_plugin::Plugin>)>,
}

impl CompiledDeployment {
    /// The deployment's content address.
    pub fn id(&self) -> &DeploymentId {
        &self.id
    }
    /// The API id.
    pub fn api_id(&self) -> &str {
        &self.spec.id
    }
    /// The definition it was compiled from.
    pub fn spec(&self) -> &ApiSpec {
        &self.spec
    }
    /// REST or HTTP.
    pub fn kind(&self) -> ApiType {
        self.spec.kind
    }
    /// Its loaded plugins, with the name the API gives each.
    pub fn plugins(&self) -> impl Iterator<Item = (&str, &Arc<causeway_plugin::Plugin>)> {
        self.plugins.iter().map(|(n, p)| (n.as_str(), p))
    }
}

/// Where a request parameter lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loc {
    Path,
    Query,
    Header,
}

impl Loc {
    fn parse(s: &str) -> Option<Loc> {
        match s {
            "path" => Some(Loc::Path),
            "querystring" => Some(Loc::Query),
            "header" => Some(Loc::Header),
            _ => None,
        }
    }
}

/// The value side of a parameter mapping.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    Static(String),
    Method(Loc, String),
    StageVariable(String),
    Context(String),
}

/// One compiled route.
#[derive(Debug)]
pub(crate) struct CompiledRoute {
    pub(crate) key: String,
    pub(crate) resource_path: String,
    pub(crate) param_names: Vec<String>,
    pub(crate) required: Vec<(Loc, String)>,
    pub(crate) api_key_required: bool,
    pub(crate) authorizer: Option<Arc<Authorizer>>,
    /// A JWT authorizer and the route's scopes (instead of a plugin `authorizer`).
    pub(crate) jwt: Option<RouteJwt>,
    pub(crate) cache: RouteCache,
    /// The `mapper` plugin around the integration.
    pub(crate) mapper: Option<Arc<causeway_plugin::Plugin>>,
    /// The model the request body must match.
    pub(crate) body_model: Option<Arc<crate::model::BodyModel>>,
    /// WEBSOCKET routes: the integration's answer goes back to the client.
    pub(crate) route_response: bool,
    pub(crate) integration: Integration,
}

/// A route's cache settings.
#[derive(Debug, Default)]
pub(crate) struct RouteCache {
    /// Explicit on/off; `None`: GET requests only.
    pub(crate) enabled: Option<bool>,
    /// Override of the stage TTL.
    pub(crate) ttl_seconds: Option<u32>,
    /// Key parameters and principal sharing.
    pub(crate) key: causeway_cache::KeySpec,
}

/// A compiled integration.
#[derive(Debug)]
pub(crate) enum Integration {
    Mock(Mock),
    Http(Upstream),
    Function(FunctionTarget),
    WasiHttp(WasiHttpTarget),
}

/// A `wasi-http` plugin served the request as an HTTP backend.
#[derive(Debug)]
pub(crate) struct WasiHttpTarget {
    pub(crate) plugin: Arc<causeway_plugin::Plugin>,
    pub(crate) timeout: Duration,
}

/// A `function` plugin called with an API Gateway proxy event.
#[derive(Debug)]
pub(crate) struct FunctionTarget {
    pub(crate) plugin: Arc<causeway_plugin::Plugin>,
    /// Payload format 2.0 (HTTP APIs' default) rather than 1.0.
    pub(crate) v2: bool,
    pub(crate) timeout: Duration,
}

#[derive(Debug)]
pub(crate) struct Mock {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(HeaderName, Template)>,
    pub(crate) body: Template,
    /// The whole answer when nothing in it is substituted: rendered once here, cloned
    /// (reference-counted) per request.
    pub(crate) literal: Option<LiteralMock>,
}

/// A MOCK answer without substitutions, ready to send.
#[derive(Debug)]
pub(crate) struct LiteralMock {
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: bytes::Bytes,
}

impl Mock {
    fn new(status: StatusCode, headers: Vec<(HeaderName, Template)>, body: Template) -> Mock {
        let literal =
            (body.is_literal() && headers.iter().all(|(_, t)| t.is_literal())).then(|| {
                let mut map = http::HeaderMap::new();
                for (name, t) in &headers {
                    let mut value = String::new();
                    t.render(&mut value, |_, _| {});
                    if let Ok(v) = http::HeaderValue::from_str(&value) {
                        map.insert(name.clone(), v);
                    }
                }
                crate::phases::integrate::add_mock_content_type(&mut map);
                // The request id every response gets goes in place of this empty value,
                // without growing the per-request copy of the map.
                map.insert(
                    crate::pipeline::REQUEST_ID.clone(),
                    http::HeaderValue::from_static(""),
                );
                let mut text = String::new();
                body.render(&mut text, |_, _| {});
                LiteralMock {
                    headers: map,
                    body: bytes::Bytes::from(text),
                }
            });
        Mock {
            status,
            headers,
            body,
            literal,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Upstream {
    /// HTTP_PROXY (pass-through) rather than HTTP (mapped).
    pub(crate) proxy: bool,
    pub(crate) uri: Template,
    pub(crate) method: Option<Method>,
    pub(crate) timeout: Duration,
    /// Path and query string parameters (`integration.request.path|querystring.*`).
    pub(crate) request_params: Vec<(Loc, String, Source)>,
    /// Header parameters (`integration.request.header.*`), names parsed once.
    pub(crate) request_headers: Vec<(HeaderName, Source)>,
    pub(crate) response_params: Vec<(HeaderName, Source)>,
    /// HTTP APIs' parameter mapping (`append|overwrite|remove:…`), if any.
    pub(crate) mapping: Option<Box<crate::phases::integrate::HttpMapping>>,
    /// The upstream's pool entry, once resolved.
    pub(crate) origin: crate::phases::integrate::KnownOrigin,
}

impl Upstream {
    /// What HTTP and HTTP_PROXY integrations share; no response parameters (HTTP adds
    /// its own).
    fn new(
        proxy: bool,
        uri: &str,
        method_name: Option<&str>,
        timeout_ms: u64,
        params: &std::collections::BTreeMap<String, String>,
    ) -> Result<Upstream, String> {
        let (request_params, request_headers) = request_params(params)?;
        Ok(Upstream {
            proxy,
            origin: crate::phases::integrate::KnownOrigin::default(),
            uri: Template::parse(uri, true)?,
            method: method(method_name)?,
            timeout: Duration::from_millis(timeout_ms),
            request_params,
            request_headers,
            response_params: Vec::new(),
            mapping: None,
        })
    }
}

#[derive(Debug)]
pub(crate) struct CompiledCors {
    pub(crate) any_origin: bool,
    pub(crate) origins: Vec<String>,
    pub(crate) allow_methods: HeaderValue,
    pub(crate) allow_headers: Option<HeaderValue>,
    pub(crate) expose_headers: Option<HeaderValue>,
    pub(crate) max_age: Option<HeaderValue>,
    pub(crate) credentials: bool,
}

/// The route-key checks the model cannot make (they need the router): every error, with
/// `file` as its location. Pass to [`causeway_model::load_dir_with`].
pub fn check_routes(file: &str, api: &ApiSpec) -> Vec<ConfigError> {
    let kind = match api.kind {
        ApiType::Rest => ApiKind::Rest,
        ApiType::Http => ApiKind::Http,
        // Its route keys are message values, checked by the model.
        ApiType::WebSocket => return Vec::new(),
    };
    match Router::build(kind, api.routes.iter().map(|r| r.key.as_str())) {
        Ok(_) => Vec::new(),
        Err(errs) => errs
            .into_iter()
            .map(|e| ConfigError::new(file, format!("routes[{}].key", e.index), e.reason))
            .collect(),
    }
}

/// Validate and compile a deployment against its loaded `plugins` (see
/// [`crate::load_plugins`]; empty for an API without plugins). Reports every problem at once.
pub fn compile(
    deployment: &Deployment,
    plugins: &Plugins,
) -> Result<CompiledDeployment, ConfigErrors> {
    let api = &deployment.api;
    let file = format!("api `{}` (deployment {})", api.id, deployment.id);
    let mut errors = causeway_model::validate_api(&file, api).0;
    let (kind, keys) = match api.kind {
        ApiType::Rest => (ApiKind::Rest, &api.routes[..]),
        ApiType::Http => (ApiKind::Http, &api.routes[..]),
        // Messages are routed by `websocket`, not by method and path: an empty trie.
        ApiType::WebSocket => (ApiKind::Http, &[][..]),
    };
    let router = match Router::build(kind, keys.iter().map(|r| r.key.as_str())) {
        Ok(r) => Some(r),
        Err(errs) => {
            errors
                .extend(errs.into_iter().map(|e| {
                    ConfigError::new(&file, format!("routes[{}].key", e.index), e.reason)
                }));
            None
        }
    };
    let mut authorizers = Vec::new();
    let mut jwt_authorizers = Vec::new();
    for (i, a) in api.authorizers.iter().enumerate() {
        if a.kind == causeway_model::AuthorizerType::Jwt {
            match JwtAuthorizer::new(&api.id, a) {
                Ok(j) => jwt_authorizers.push(Arc::new(j)),
                Err((field, msg)) => errors.push(ConfigError::new(
                    &file,
                    format!("authorizers[{i}].{field}"),
                    msg,
                )),
            }
            continue;
        }
        let name = a.plugin.as_deref().unwrap_or_default();
        match plugins.get(name) {
            Some(p) => authorizers.push(Arc::new(Authorizer::new(a, p.clone()))),
            None => errors.push(ConfigError::new(
                &file,
                format!("authorizers[{i}].plugin"),
                format!("plugin `{name}` is not loaded"),
            )),
        }
    }
    let mut models = Vec::with_capacity(api.models.len());
    for (i, m) in api.models.iter().enumerate() {
        match crate::model::BodyModel::compile(m, &api.models) {
            Ok(model) => models.push(Arc::new(model)),
            Err(msg) => errors.push(ConfigError::new(&file, format!("models[{i}].schema"), msg)),
        }
    }
    let mut routes = Vec::with_capacity(api.routes.len());
    for (i, r) in api.routes.iter().enumerate() {
        match route(r, api.kind, plugins, (&authorizers, &jwt_authorizers)) {
            Ok(mut c) => {
                c.body_model = r
                    .request_model
                    .as_ref()
                    .and_then(|name| models.iter().find(|m| &m.name == name).cloned());
                routes.push(c);
            }
            Err(msg) => errors.push(ConfigError::new(&file, format!("routes[{i}]"), msg)),
        }
    }
    let cors = api.cors.as_ref().map(cors);
    match (router, errors.is_empty()) {
        (Some(router), true) => Ok(CompiledDeployment {
            id: deployment.id.clone(),
            spec: api.clone(),
            router,
            routes,
            cors,
            endpoint: crate::endpoint::Endpoint::new(&api.endpoint, &api.resource_policy),
            gateway_responses: crate::gateway_responses::GatewayResponses::new(
                &api.gateway_responses,
            ),
            plugins: api
                .plugins
                .iter()
                .filter_map(|p| Some((p.name.clone(), plugins.get(&p.name)?.clone())))
                .collect(),
        }),
        _ => Err(ConfigErrors(errors)),
    }
}
