//! Compiling a deployment into its runtime form: the route trie, parsed templates,
//! parameter mappings and typed header names, all done once when a deployment loads.

use std::sync::Arc;
use std::time::Duration;

use crate::authorizer::Authorizer;
use crate::jwt::{JwtAuthorizer, RouteJwt};
use crate::plugins::Plugins;

use causeway_model::{
    ApiSpec, ApiType, ConfigError, ConfigErrors, CorsSpec, Deployment, DeploymentId,
    IntegrationSpec, Template, route_key_params,
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
    let kind = match api.kind {
        ApiType::Rest => ApiKind::Rest,
        ApiType::Http => ApiKind::Http,
    };
    let router = match Router::build(kind, api.routes.iter().map(|r| r.key.as_str())) {
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
    let mut routes = Vec::with_capacity(api.routes.len());
    for (i, r) in api.routes.iter().enumerate() {
        match route(r, api.kind, plugins, (&authorizers, &jwt_authorizers)) {
            Ok(c) => routes.push(c),
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
            plugins: api
                .plugins
                .iter()
                .filter_map(|p| Some((p.name.clone(), plugins.get(&p.name)?.clone())))
                .collect(),
        }),
        _ => Err(ConfigErrors(errors)),
    }
}

fn route(
    r: &causeway_model::RouteSpec,
    kind: ApiType,
    plugins: &Plugins,
    (authorizers, jwt_authorizers): (&[Arc<Authorizer>], &[Arc<JwtAuthorizer>]),
) -> Result<CompiledRoute, String> {
    let jwt = r.authorizer.as_ref().and_then(|name| {
        let authorizer = jwt_authorizers.iter().find(|a| &a.name == name)?.clone();
        Some(RouteJwt {
            authorizer,
            scopes: r.authorization_scopes.clone(),
        })
    });
    let authorizer = match &r.authorizer {
        Some(_) if jwt.is_some() => None,
        Some(name) => Some(
            authorizers
                .iter()
                .find(|a| &a.name == name)
                .cloned()
                .ok_or_else(|| format!("authorizer `{name}` is not available"))?,
        ),
        None => None,
    };
    let mapper = match &r.mapper {
        Some(name) => Some(
            plugins
                .get(name)
                .cloned()
                .ok_or_else(|| format!("mapper plugin `{name}` is not loaded"))?,
        ),
        None => None,
    };
    let required = r
        .request_parameters
        .iter()
        .filter(|(_, req)| **req)
        .filter_map(|(k, _)| param_ref(k, "method.request."))
        .collect();
    let integration = match &r.integration {
        IntegrationSpec::Mock(m) => Integration::Mock(Mock::new(
            StatusCode::from_u16(m.status).map_err(|e| e.to_string())?,
            m.headers
                .iter()
                .map(|(k, v)| Ok((header_name(k)?, Template::parse(v, false)?)))
                .collect::<Result<_, String>>()?,
            Template::parse(&m.body, false)?,
        )),
        IntegrationSpec::Http(h) => Integration::Http(Upstream {
            response_params: h
                .response_parameters
                .iter()
                .map(|(k, v)| {
                    let name = k
                        .strip_prefix("method.response.header.")
                        .ok_or("bad response parameter")?;
                    let src = match v.strip_prefix("integration.response.header.") {
                        Some(n) => Source::Method(Loc::Header, n.to_ascii_lowercase()),
                        None => Source::Static(
                            unquote(v)
                                .ok_or("bad response parameter source")?
                                .to_owned(),
                        ),
                    };
                    Ok((header_name(name)?, src))
                })
                .collect::<Result<_, String>>()?,
            ..Upstream::new(
                false,
                &h.uri,
                h.method.as_deref(),
                h.timeout_ms,
                &h.request_parameters,
            )?
        }),
        IntegrationSpec::Function(f) => Integration::Function(FunctionTarget {
            plugin: plugins
                .get(&f.plugin)
                .cloned()
                .ok_or_else(|| format!("plugin `{}` is not loaded", f.plugin))?,
            v2: match f.payload_format.as_deref() {
                Some(v) => v == "2.0",
                None => kind == ApiType::Http,
            },
            timeout: Duration::from_millis(f.timeout_ms),
        }),
        IntegrationSpec::WasiHttp(w) => Integration::WasiHttp(WasiHttpTarget {
            plugin: plugins
                .get(&w.plugin)
                .cloned()
                .ok_or_else(|| format!("plugin `{}` is not loaded", w.plugin))?,
            timeout: Duration::from_millis(w.timeout_ms),
        }),
        IntegrationSpec::HttpProxy(h) => Integration::Http(Upstream::new(
            true,
            &h.uri,
            h.method.as_deref(),
            h.timeout_ms,
            &h.request_parameters,
        )?),
    };
    let param_names: Vec<String> = route_key_params(&r.key)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let cache = route_cache(r.cache.as_ref(), &param_names);
    Ok(CompiledRoute {
        key: r.key.clone(),
        resource_path: r.path().to_owned(),
        param_names,
        required,
        api_key_required: r.api_key_required,
        authorizer,
        jwt,
        cache,
        mapper,
        integration,
    })
}

/// Path parameters are always part of the key (safer than API Gateway, where a greedy
/// `{proxy+}` route would otherwise share one entry across every path); query strings and
/// headers only when listed.
fn route_cache(
    spec: Option<&causeway_model::RouteCacheSpec>,
    path_params: &[String],
) -> RouteCache {
    use causeway_cache::{KeyParam, KeySpec};
    let default = causeway_model::RouteCacheSpec::default();
    let spec = spec.unwrap_or(&default);
    let implied = path_params.iter().map(|p| KeyParam::Path(p.clone()));
    let params = implied.chain(spec.key_parameters.iter().filter_map(|k| {
        let (loc, name) = param_ref(k, "method.request.")?;
        Some(match loc {
            Loc::Path => KeyParam::Path(name),
            Loc::Query => KeyParam::Query(name),
            Loc::Header => KeyParam::Header(name),
        })
    }));
    let mut key = KeySpec::new(params);
    if spec.share_across_principals {
        key = key.shared_across_principals();
    }
    RouteCache {
        enabled: spec.enabled,
        ttl_seconds: spec.ttl_seconds,
        key,
    }
}

fn param_ref(s: &str, prefix: &str) -> Option<(Loc, String)> {
    let (loc, name) = s.strip_prefix(prefix)?.split_once('.')?;
    let loc = Loc::parse(loc)?;
    // Header names are case-insensitive; keep them lowercase to match `http`'s.
    let name = if loc == Loc::Header {
        name.to_ascii_lowercase()
    } else {
        name.to_owned()
    };
    Some((loc, name))
}

fn unquote(v: &str) -> Option<&str> {
    v.strip_prefix('\'')?.strip_suffix('\'')
}

/// An integration's `request_parameters`: the path and query string ones, and the header
/// ones with their names parsed once. Validation refuses a header name that is not a
/// token, so the `filter_map` below only guards a config that skipped it.
type RequestParams = (Vec<(Loc, String, Source)>, Vec<(HeaderName, Source)>);

fn request_params(m: &std::collections::BTreeMap<String, String>) -> Result<RequestParams, String> {
    let all: Vec<(Loc, String, Source)> = m
        .iter()
        .map(|(k, v)| {
            let (loc, name) =
                param_ref(k, "integration.request.").ok_or_else(|| format!("bad target `{k}`"))?;
            let src = if let Some(s) = unquote(v) {
                Source::Static(s.to_owned())
            } else if let Some((l, n)) = param_ref(v, "method.request.") {
                Source::Method(l, n)
            } else if let Some(n) = v.strip_prefix("stageVariables.") {
                Source::StageVariable(n.to_owned())
            } else if let Some(n) = v.strip_prefix("context.") {
                Source::Context(n.to_owned())
            } else {
                return Err(format!("bad source `{v}`"));
            };
            Ok((loc, name, src))
        })
        .collect::<Result<_, String>>()?;
    let (headers, others): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|(loc, _, _)| *loc == Loc::Header);
    let headers = headers
        .into_iter()
        .filter_map(|(_, name, src)| Some((HeaderName::from_bytes(name.as_bytes()).ok()?, src)))
        .collect();
    Ok((others, headers))
}

fn method(m: Option<&str>) -> Result<Option<Method>, String> {
    match m {
        None | Some("ANY") => Ok(None),
        Some(m) => Method::from_bytes(m.as_bytes())
            .map(Some)
            .map_err(|e| e.to_string()),
    }
}

fn header_name(s: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(s.as_bytes()).map_err(|_| format!("`{s}` is not a valid header name"))
}

fn join(items: &[String]) -> Option<HeaderValue> {
    if items.is_empty() {
        return None;
    }
    HeaderValue::from_str(&items.join(",")).ok()
}

fn cors(c: &CorsSpec) -> CompiledCors {
    let methods = if c.allow_methods.is_empty() {
        vec!["*".to_owned()]
    } else {
        c.allow_methods.clone()
    };
    CompiledCors {
        any_origin: c.allow_origins.iter().any(|o| o == "*"),
        origins: c.allow_origins.clone(),
        allow_methods: join(&methods).unwrap_or(HeaderValue::from_static("*")),
        allow_headers: join(&c.allow_headers),
        expose_headers: join(&c.expose_headers),
        max_age: c.max_age.map(HeaderValue::from),
        credentials: c.allow_credentials,
    }
}
