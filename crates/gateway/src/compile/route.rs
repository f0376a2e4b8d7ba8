//! Compiling one route: its integration, parameter mappings, cache settings and
//! authorizers; and an API's CORS block.

use std::sync::Arc;
use std::time::Duration;

use causeway_model::{ApiType, CorsSpec, IntegrationSpec, Template, route_key_params};
use http::{HeaderName, HeaderValue, Method, StatusCode};

use super::{
    CompiledCors, CompiledRoute, FunctionTarget, Integration, Loc, Mock, RouteCache, Source,
    Upstream, WasiHttpTarget,
};
use crate::authorizer::Authorizer;
use crate::jwt::{JwtAuthorizer, RouteJwt};
use crate::plugins::Plugins;

pub(super) fn route(
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
        IntegrationSpec::HttpProxy(h) => Integration::Http(Upstream {
            mapping: crate::phases::integrate::HttpMapping::compile(h)?,
            ..Upstream::new(
                true,
                &h.uri,
                h.method.as_deref(),
                h.timeout_ms,
                &h.request_parameters,
            )?
        }),
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
        body_model: None,
        route_response: r.route_response,
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

pub(super) fn request_params(
    m: &std::collections::BTreeMap<String, String>,
) -> Result<RequestParams, String> {
    let all: Vec<(Loc, String, Source)> = m
        .iter()
        // HTTP APIs' `op:target` form is compiled apart (`param_map`).
        .filter(|(k, _)| !causeway_model::param_mapping::is_http_api_key(k))
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

pub(super) fn method(m: Option<&str>) -> Result<Option<Method>, String> {
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

pub(super) fn cors(c: &CorsSpec) -> CompiledCors {
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
