//! Semantic checks. Each function collects every problem it finds; none stops at the first.

use std::collections::{BTreeMap, BTreeSet};

use crate::api::{ApiSpec, ApiType, IntegrationSpec, route_key_params};
use crate::template::Template;
use crate::{ConfigError, ConfigErrors, SCHEMA_VERSION};

mod endpoint;
mod mapping;
mod mesh;
mod models;
mod node;
mod plugins;
mod websocket;

pub(crate) use node::{cross, node_alone};
use plugins::plugins_and_authorizers;
pub use websocket::selection_path;

struct Report<'a> {
    file: &'a str,
    errors: Vec<ConfigError>,
}

impl Report<'_> {
    fn err(&mut self, field: impl Into<String>, msg: impl Into<String>) {
        self.errors.push(ConfigError::new(self.file, field, msg));
    }
}

/// The largest `minimum_compression_size` (API Gateway's bound, 10 MiB).
pub const MAX_COMPRESSION_SIZE: u64 = 10 * 1024 * 1024;

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 63
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Checks of one API definition on its own.
pub(crate) fn api(file: &str, api: &ApiSpec) -> ConfigErrors {
    let mut r = Report {
        file,
        errors: Vec::new(),
    };
    if api.version != SCHEMA_VERSION {
        r.err(
            "version",
            format!(
                "schema version {} is not supported; this build reads version {SCHEMA_VERSION}",
                api.version
            ),
        );
    }
    if !valid_id(&api.id) {
        r.err("id", format!("`{}` is not a valid API id: use 1-63 lowercase letters, digits and `-` (it becomes the host `{{id}}.execute-api.localhost`)", api.id));
    }
    let mut stages = BTreeSet::new();
    for (i, s) in api.stages.iter().enumerate() {
        if s.name == "$default" && api.kind != ApiType::Http {
            r.err(
                format!("stages[{i}].name"),
                "the `$default` stage (served without a stage prefix) is for HTTP APIs; name the stage",
            );
        } else if !valid_name(&s.name) && s.name != "$default" {
            r.err(
                format!("stages[{i}].name"),
                format!(
                    "`{}` is not a valid stage name: use 1-128 letters, digits, `-` or `_`",
                    s.name
                ),
            );
        } else if !stages.insert(s.name.as_str()) {
            r.err(
                format!("stages[{i}].name"),
                format!("stage `{}` is declared twice", s.name),
            );
        }
        for name in s.variables.keys() {
            if !valid_name(name) || name.contains('-') {
                r.err(
                    format!("stages[{i}].variables.{name}"),
                    "stage variable names use letters, digits and `_` only",
                );
            }
        }
    }
    for (i, s) in api.stages.iter().enumerate() {
        settings(
            &mut r,
            &format!("stages[{i}]"),
            s.access_log.as_ref(),
            s.cache.as_ref(),
            s.throttle.as_ref(),
        );
    }
    endpoint::check(&mut r, api);
    plugins_and_authorizers(&mut r, api);
    models::check(&mut r, api);
    gateway_responses(&mut r, api);
    if let Some(size) = api.minimum_compression_size {
        if api.kind != ApiType::Rest {
            r.err(
                "minimum_compression_size",
                "only REST APIs compress responses (API Gateway's minimumCompressionSize); remove it",
            );
        } else if size > MAX_COMPRESSION_SIZE {
            r.err(
                "minimum_compression_size",
                format!("{size} is over the largest allowed, {MAX_COMPRESSION_SIZE} bytes (10 MiB); 0 compresses every response"),
            );
        }
    }
    if api.cors.is_some() && api.kind == ApiType::Rest {
        r.err("cors", "the `cors` block is for HTTP APIs; on a REST API add an `OPTIONS` route with a MOCK integration");
    }
    if api.cors.is_some() && api.kind == ApiType::WebSocket {
        r.err(
            "cors",
            "the `cors` block is for HTTP APIs; a WebSocket handshake is not a CORS request",
        );
    }
    websocket::check(&mut r, api);
    if let Some(cors) = &api.cors {
        if cors.allow_credentials && cors.allow_origins.iter().any(|o| o == "*") {
            r.err(
                "cors.allow_credentials",
                "credentials cannot be allowed with origin `*`; list the origins",
            );
        }
        if cors.max_age.is_some_and(|a| a > 86_400) {
            r.err("cors.max_age", "max_age is at most 86400 seconds");
        }
    }
    for (i, mt) in api.binary_media_types.iter().enumerate() {
        if mt
            .split_once('/')
            .is_none_or(|(a, b)| a.is_empty() || b.is_empty())
        {
            r.err(
                format!("binary_media_types[{i}]"),
                format!("`{mt}` is not a media type like `image/png` or `*/*`"),
            );
        }
    }
    if api.routes.is_empty() {
        r.err(
            "routes",
            "an API needs at least one route: add a `[[routes]]` table",
        );
    }
    let mut keys = BTreeMap::new();
    for (i, route) in api.routes.iter().enumerate() {
        if let Some(first) = keys.insert(route.key.as_str(), i) {
            r.err(
                format!("routes[{i}].key"),
                format!(
                    "route `{}` is already defined at routes[{first}]",
                    route.key
                ),
            );
        }
        if route.key == "$default" && api.kind == ApiType::Rest {
            r.err(
                format!("routes[{i}].key"),
                "`$default` is a route of HTTP APIs; on a REST API use `ANY /{proxy+}`",
            );
        }
        let params = route_key_params(&route.key);
        for name in route.request_parameters.keys() {
            if parse_param_ref(name, "method.request.").is_none() {
                r.err(
                    format!("routes[{i}].request_parameters.{name}"),
                    "write `method.request.{path|querystring|header}.NAME`",
                );
            }
        }
        integration(&mut r, i, route.method(), &params, &route.integration);
        if let IntegrationSpec::HttpProxy(h) = &route.integration {
            mapping::check(&mut r, i, api.kind, h);
        }
        if let Some(t) = &route.throttle {
            throttle(&mut r, &format!("routes[{i}].throttle"), t);
        }
        if let Some(c) = &route.cache {
            if c.ttl_seconds.is_some_and(|t| t > 3600) {
                r.err(
                    format!("routes[{i}].cache.ttl_seconds"),
                    "use 0..=3600 seconds",
                );
            }
            for (j, k) in c.key_parameters.iter().enumerate() {
                if parse_param_ref(k, "method.request.").is_none() {
                    r.err(
                        format!("routes[{i}].cache.key_parameters[{j}]"),
                        format!("`{k}` is not a parameter: write `method.request.{{path|querystring|header}}.NAME`"),
                    );
                }
            }
        }
    }
    ConfigErrors(r.errors)
}

fn throttle(r: &mut Report<'_>, at: &str, t: &crate::ThrottleSpec) {
    if !(t.rate.is_finite() && t.rate > 0.0) {
        r.err(
            format!("{at}.rate"),
            "the rate is requests per second and must be above 0",
        );
    }
    if t.burst == 0 {
        r.err(
            format!("{at}.burst"),
            "the burst must be at least 1 request",
        );
    }
}

fn settings(
    r: &mut Report<'_>,
    at: &str,
    log: Option<&crate::AccessLogSpec>,
    cache: Option<&crate::StageCacheSpec>,
    t: Option<&crate::ThrottleSpec>,
) {
    if let Some(log) = log {
        if log.destination.is_empty() {
            r.err(
                format!("{at}.access_log.destination"),
                "use `stdout`, `stderr` or a file path",
            );
        }
        if let Some(f) = &log.format
            && let Err(e) = Template::parse(f, false)
        {
            r.err(format!("{at}.access_log.format"), e);
        }
    }
    if let Some(c) = cache {
        if c.ttl_seconds > 3600 {
            r.err(format!("{at}.cache.ttl_seconds"), "use 0..=3600 seconds");
        }
        if c.capacity_bytes < 1024 * 1024 {
            r.err(
                format!("{at}.cache.capacity_bytes"),
                "give the cache at least 1 MiB (1048576 bytes)",
            );
        }
    }
    if let Some(t) = t {
        throttle(r, &format!("{at}.throttle"), t);
    }
}

/// `prefix{path|querystring|header}.NAME` → (location, name).
pub(crate) fn parse_param_ref<'a>(s: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let (loc, name) = s.strip_prefix(prefix)?.split_once('.')?;
    (matches!(loc, "path" | "querystring" | "header") && !name.is_empty()).then_some((loc, name))
}

fn integration(
    r: &mut Report<'_>,
    i: usize,
    route_method: &str,
    params: &[&str],
    spec: &IntegrationSpec,
) {
    let at = |f: &str| format!("routes[{i}].integration.{f}");
    let check_template =
        |r: &mut Report<'_>, field: String, src: &str, path: bool| match Template::parse(src, path)
        {
            Ok(t) => Some(t),
            Err(e) => {
                r.err(field, e);
                None
            }
        };
    match spec {
        IntegrationSpec::Mock(m) => {
            if !(100..=599).contains(&m.status) {
                r.err(
                    at("status"),
                    format!("{} is not an HTTP status; use 100..=599", m.status),
                );
            }
            check_template(r, at("body"), &m.body, false);
            for (k, v) in &m.headers {
                if http_token(k).is_err() {
                    r.err(at(&format!("headers.{k}")), "not a valid header name");
                }
                check_template(r, at(&format!("headers.{k}")), v, false);
            }
        }
        IntegrationSpec::Http(h) => {
            upstream(
                r,
                i,
                route_method,
                params,
                &h.uri,
                h.method.as_deref(),
                h.timeout_ms,
                &h.request_parameters,
            );
            for (k, v) in &h.response_parameters {
                let field = at(&format!("response_parameters.{k}"));
                match k.strip_prefix("method.response.header.") {
                    Some(name) if http_token(name).is_ok() => {}
                    _ => r.err(
                        field.clone(),
                        "write the target as `method.response.header.NAME`",
                    ),
                }
                let static_ok = v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'');
                if !static_ok
                    && v.strip_prefix("integration.response.header.")
                        .is_none_or(str::is_empty)
                {
                    r.err(field, format!("`{v}` is not a source: use `integration.response.header.NAME` or a quoted `'value'`"));
                }
            }
        }
        // Checked with the API's plugins in `plugins_and_authorizers`.
        IntegrationSpec::Function(_) | IntegrationSpec::WasiHttp(_) => {}
        IntegrationSpec::HttpProxy(h) => {
            upstream(
                r,
                i,
                route_method,
                params,
                &h.uri,
                h.method.as_deref(),
                h.timeout_ms,
                &h.request_parameters,
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn upstream(
    r: &mut Report<'_>,
    i: usize,
    route_method: &str,
    params: &[&str],
    uri: &str,
    method: Option<&str>,
    timeout_ms: u64,
    request_parameters: &BTreeMap<String, String>,
) {
    let at = |f: &str| format!("routes[{i}].integration.{f}");
    match Template::parse(uri, true) {
        Ok(t) => {
            let starts_with_var =
                matches!(t.parts.first(), Some(crate::TemplatePart::StageVariable(_)));
            if !starts_with_var && !uri.starts_with("http://") && !uri.starts_with("https://") {
                r.err(
                    at("uri"),
                    format!("`{uri}`: the uri must be an absolute `http(s)://host[:port]/path` URL or start with `${{stageVariables.NAME}}`"),
                );
            }
            let mapped: BTreeSet<&str> = request_parameters
                .keys()
                .filter_map(|k| parse_param_ref(k, "integration.request."))
                .filter(|(loc, _)| *loc == "path")
                .map(|(_, n)| n)
                .collect();
            for p in t.path_params() {
                if !params.contains(&p) && !mapped.contains(p) {
                    r.err(at("uri"), format!("`{{{p}}}` is not a path parameter of this route (it has: {}); map it with `request_parameters` or fix the name", params.join(", ")));
                }
            }
        }
        Err(e) => r.err(at("uri"), e),
    }
    if let Some(m) = method
        && !METHODS.contains(&m)
        && m != "ANY"
    {
        r.err(
            at("method"),
            format!(
                "`{m}` is not a method; use one of {} or ANY",
                METHODS.join(", ")
            ),
        );
    }
    let _ = route_method;
    if !(crate::MIN_INTEGRATION_TIMEOUT_MS..=crate::MAX_INTEGRATION_TIMEOUT_MS)
        .contains(&timeout_ms)
    {
        r.err(
            at("timeout_ms"),
            format!("{timeout_ms} ms is out of range; use 50..=29000 milliseconds"),
        );
    }
    for (k, v) in request_parameters {
        if crate::param_mapping::is_http_api_key(k) {
            continue; // HTTP APIs' own form: `mapping::check`
        }
        let field = at(&format!("request_parameters.{k}"));
        match parse_param_ref(k, "integration.request.") {
            None => r.err(
                field.clone(),
                "write the target as `integration.request.{path|querystring|header}.NAME`",
            ),
            Some(("header", name)) if http_token(name).is_err() => r.err(
                field.clone(),
                format!("`{name}` is not a valid header name (use letters, digits and `-`)"),
            ),
            Some(_) => {}
        }
        let ok = (v.len() >= 2 && v.starts_with('\'') && v.ends_with('\''))
            || parse_param_ref(v, "method.request.").is_some()
            || v.strip_prefix("stageVariables.")
                .is_some_and(|n| !n.is_empty())
            || v.strip_prefix("context.").is_some_and(|n| {
                crate::template::CONTEXT_VARIABLES.contains(&n)
                    || n.strip_prefix("authorizer.").is_some_and(|k| !k.is_empty())
            });
        if !ok {
            r.err(field, format!("`{v}` is not a source: use `method.request.{{path|querystring|header}}.NAME`, `stageVariables.NAME`, `context.NAME` (`context.authorizer.KEY` for the authorizer's context) or a quoted `'value'`"));
        }
    }
}

/// Known types, once each, on REST APIs; statuses in range; header names and templates
/// that parse.
fn gateway_responses(r: &mut Report<'_>, api: &ApiSpec) {
    let mut seen = std::collections::BTreeSet::new();
    for (i, g) in api.gateway_responses.iter().enumerate() {
        let at = format!("gateway_responses[{i}]");
        if api.kind != ApiType::Rest {
            r.err(
                &at,
                "gateway responses are a REST API feature (as in API Gateway)",
            );
            continue;
        }
        if !crate::gateway_response::RESPONSE_TYPES.contains(&g.kind.as_str()) {
            r.err(
                format!("{at}.type"),
                format!(
                    "`{}` is not a response type; use one of {}",
                    g.kind,
                    crate::gateway_response::RESPONSE_TYPES.join(", ")
                ),
            );
        } else if !seen.insert(g.kind.as_str()) {
            r.err(
                format!("{at}.type"),
                format!("`{}` is customized twice", g.kind),
            );
        }
        if g.status.is_some_and(|s| !(100..=599).contains(&s)) {
            r.err(format!("{at}.status"), "use 100..=599");
        }
        for (name, value) in &g.headers {
            if http_token(name).is_err() {
                r.err(
                    format!("{at}.headers.{name}"),
                    "not a header name (letters, digits and !#$%&'*+-.^_`|~ only)",
                );
            }
            if let Err(e) = Template::parse(value, false) {
                r.err(format!("{at}.headers.{name}"), e);
            }
        }
        if let Some(body) = &g.body
            && let Err(e) = Template::parse(body, false)
        {
            r.err(format!("{at}.body"), e);
        }
    }
}

fn http_token(s: &str) -> Result<(), ()> {
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if ok { Ok(()) } else { Err(()) }
}
