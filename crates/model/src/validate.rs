//! Semantic checks. Each function collects every problem it finds; none stops at the first.

use std::collections::{BTreeMap, BTreeSet};

use crate::api::{ApiSpec, ApiType, IntegrationSpec, route_key_params};
use crate::template::Template;
use crate::{ConfigError, ConfigErrors, NodeConfig, SCHEMA_VERSION};

struct Report<'a> {
    file: &'a str,
    errors: Vec<ConfigError>,
}

impl Report<'_> {
    fn err(&mut self, field: impl Into<String>, msg: impl Into<String>) {
        self.errors.push(ConfigError::new(self.file, field, msg));
    }
}

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
        if s.name == "$default" && api.kind == ApiType::Rest {
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
    plugins_and_authorizers(&mut r, api);
    if api.cors.is_some() && api.kind == ApiType::Rest {
        r.err("cors", "the `cors` block is for HTTP APIs; on a REST API add an `OPTIONS` route with a MOCK integration");
    }
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

fn plugins_and_authorizers(r: &mut Report<'_>, api: &ApiSpec) {
    use crate::{AuthorizerType, PluginWorld};
    let mut plugins = BTreeMap::new();
    for (i, p) in api.plugins.iter().enumerate() {
        let at = format!("plugins[{i}]");
        if !valid_name(&p.name) {
            r.err(
                format!("{at}.name"),
                format!(
                    "`{}` is not a valid name: use letters, digits, `-` or `_`",
                    p.name
                ),
            );
        } else if plugins.insert(p.name.as_str(), p.world).is_some() {
            r.err(
                format!("{at}.name"),
                format!("plugin `{}` is declared twice", p.name),
            );
        }
        if p.file.is_empty() {
            r.err(
                format!("{at}.file"),
                "name the component, e.g. `plugins/authorizer.wasm`",
            );
        }
        if let Some(h) = &p.sha256
            && (h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            r.err(
                format!("{at}.sha256"),
                "a SHA-256 is 64 hex digits; leave it out and the loader fills it in",
            );
        }
        if p.memory_mb.is_some_and(|m| m == 0 || m > 4096) {
            r.err(format!("{at}.memory_mb"), "use 1..=4096 MiB");
        }
        wasi_http_plugin(r, &at, p);
        if let Some(pool) = &p.pool {
            if p.instance != crate::InstancePolicySpec::Reuse {
                r.err(
                    format!("{at}.pool"),
                    "`pool` sizes the warm instances of `instance = \"reuse\"`; add that or remove `pool`",
                );
            }
            for (field, problem) in pool.problems() {
                r.err(format!("{at}.pool.{field}"), problem);
            }
        }
        if p.timeout_ms
            .is_some_and(|t| t == 0 || t > crate::MAX_INTEGRATION_TIMEOUT_MS)
        {
            r.err(format!("{at}.timeout_ms"), "use 1..=29000 milliseconds");
        }
    }
    let plugin = |r: &mut Report<'_>, field: String, name: &str, world: PluginWorld| match plugins
        .get(name)
    {
        None => r.err(
            field,
            format!("no plugin is named `{name}`; declare it in a `[[plugins]]` table"),
        ),
        Some(w) if *w != world => r.err(
            field,
            format!("plugin `{name}` implements the {w:?} world, not {world:?}"),
        ),
        Some(_) => {}
    };
    let mut authorizers = BTreeSet::new();
    for (i, a) in api.authorizers.iter().enumerate() {
        let at = format!("authorizers[{i}]");
        if !valid_name(&a.name) || !authorizers.insert(a.name.as_str()) {
            r.err(
                format!("{at}.name"),
                format!("`{}` is not a valid, unique authorizer name", a.name),
            );
        }
        for (field, msg) in crate::jwt::check_authorizer(api.kind, &at, a) {
            r.err(field, msg);
        }
        if a.kind == AuthorizerType::Jwt {
            continue;
        }
        match &a.plugin {
            Some(name) => plugin(r, format!("{at}.plugin"), name, PluginWorld::Authorizer),
            None => r.err(
                format!("{at}.plugin"),
                "a TOKEN or REQUEST authorizer names its `authorizer` plugin",
            ),
        }
        if a.identity_sources.is_empty()
            || (a.kind == AuthorizerType::Token && a.identity_sources.len() != 1)
        {
            r.err(
                format!("{at}.identity_sources"),
                "a TOKEN authorizer has exactly one identity source, a REQUEST authorizer at least one",
            );
        }
        for (j, src) in a.identity_sources.iter().enumerate() {
            let ok = parse_param_ref(src, "method.request.").is_some_and(|(loc, _)| loc != "path")
                || src
                    .strip_prefix("stageVariables.")
                    .is_some_and(|n| !n.is_empty());
            if !ok {
                r.err(
                    format!("{at}.identity_sources[{j}]"),
                    format!("`{src}`: use `method.request.header.NAME`, `method.request.querystring.NAME` or `stageVariables.NAME`"),
                );
            }
        }
        if a.result_ttl_seconds > 3600 {
            r.err(format!("{at}.result_ttl_seconds"), "use 0..=3600 seconds");
        }
    }
    for (i, route) in api.routes.iter().enumerate() {
        for (field, msg) in crate::jwt::check_route_scopes(api, i) {
            r.err(field, msg);
        }
        if let Some(name) = &route.authorizer
            && !authorizers.contains(name.as_str())
        {
            r.err(
                format!("routes[{i}].authorizer"),
                format!("no authorizer is named `{name}`; declare it in `[[authorizers]]`"),
            );
        }
        if let Some(name) = &route.mapper {
            plugin(r, format!("routes[{i}].mapper"), name, PluginWorld::Mapper);
        }
        if let IntegrationSpec::Function(f) = &route.integration {
            let at = format!("routes[{i}].integration");
            plugin(r, format!("{at}.plugin"), &f.plugin, PluginWorld::Function);
            if f.payload_format
                .as_deref()
                .is_some_and(|v| v != "1.0" && v != "2.0")
            {
                r.err(format!("{at}.payload_format"), "use \"1.0\" or \"2.0\"");
            }
            if !(crate::MIN_INTEGRATION_TIMEOUT_MS..=crate::MAX_INTEGRATION_TIMEOUT_MS)
                .contains(&f.timeout_ms)
            {
                r.err(
                    format!("{at}.timeout_ms"),
                    format!(
                        "{} ms is out of range; use 50..=29000 milliseconds",
                        f.timeout_ms
                    ),
                );
            }
        }
        if let IntegrationSpec::WasiHttp(w) = &route.integration {
            let at = format!("routes[{i}].integration");
            plugin(r, format!("{at}.plugin"), &w.plugin, PluginWorld::WasiHttp);
            timeout(r, &format!("{at}.timeout_ms"), w.timeout_ms);
        }
    }
}

fn timeout(r: &mut Report<'_>, at: &str, ms: u64) {
    if !(crate::MIN_INTEGRATION_TIMEOUT_MS..=crate::MAX_INTEGRATION_TIMEOUT_MS).contains(&ms) {
        r.err(
            at,
            format!("{ms} ms is out of range; use 50..=29000 milliseconds"),
        );
    }
}

/// A `wasi-http` plugin's outbound hosts, and the settings only other worlds have.
fn wasi_http_plugin(r: &mut Report<'_>, at: &str, p: &crate::PluginSpec) {
    use crate::{InstancePolicySpec, PluginWorld};
    if p.world != PluginWorld::WasiHttp {
        if !p.allowed_outbound_hosts.is_empty() {
            r.err(
                format!("{at}.allowed_outbound_hosts"),
                "only `wasi-http` plugins send outbound HTTP requests",
            );
        }
        return;
    }
    if p.instance == InstancePolicySpec::Reuse {
        r.err(
            format!("{at}.instance"),
            "`wasi-http` plugins run on a fresh instance per request; remove `instance`",
        );
    }
    for (j, host) in p.allowed_outbound_hosts.iter().enumerate() {
        let (name, port) = match host.rsplit_once(':') {
            Some((n, p)) if !n.contains(':') || n.ends_with(']') => (n, Some(p)),
            _ => (host.as_str(), None),
        };
        let ok = !name.is_empty()
            && (name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
                || (name.starts_with('[') && name.ends_with(']')))
            && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
        if !ok {
            r.err(
                format!("{at}.allowed_outbound_hosts[{j}]"),
                format!("`{host}` is not a host: write `host` or `host:port` (no scheme, no path)"),
            );
        }
    }
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
        let field = at(&format!("request_parameters.{k}"));
        if parse_param_ref(k, "integration.request.").is_none() {
            r.err(
                field.clone(),
                "write the target as `integration.request.{path|querystring|header}.NAME`",
            );
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

fn http_token(s: &str) -> Result<(), ()> {
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if ok { Ok(()) } else { Err(()) }
}

/// Checks of the node file that need no APIs.
pub(crate) fn node_alone(file: &str, node: &NodeConfig) -> ConfigErrors {
    let mut r = Report {
        file,
        errors: Vec::new(),
    };
    if node.version != SCHEMA_VERSION {
        r.err(
            "version",
            format!(
                "schema version {} is not supported; this build reads version {SCHEMA_VERSION}",
                node.version
            ),
        );
    }
    if node.node.max_body_bytes == 0 || node.node.max_body_bytes > 10 * 1024 * 1024 {
        r.err(
            "node.max_body_bytes",
            "use 1..=10485760 (API Gateway's payload limit is 10 MB)",
        );
    }
    if !(1024..=65_536).contains(&node.node.max_header_bytes) {
        r.err("node.max_header_bytes", "use 1024..=65536 bytes");
    }
    if node.node.data_dir.is_empty() {
        r.err(
            "node.data_dir",
            "name a directory for deployments and stage pointers",
        );
    }
    if !node.admin.allow_remote && !node.admin.listen.ip().is_loopback() {
        r.err("admin.listen", format!("{} is not a loopback address; set `admin.allow_remote = true` to expose the admin API", node.admin.listen));
    }
    if let Some(url) = &node.tracing.otlp_endpoint
        && !url.starts_with("http://")
        && !url.starts_with("https://")
    {
        r.err(
            "tracing.otlp_endpoint",
            format!("`{url}` is not an http(s) URL like `http://127.0.0.1:4318`"),
        );
    }
    if !(0.0..=1.0).contains(&node.tracing.sample_ratio) {
        r.err("tracing.sample_ratio", "use a fraction between 0.0 and 1.0");
    }
    let mut names = BTreeSet::new();
    for (i, d) in node.domains.iter().enumerate() {
        let host_ok = !d.name.is_empty()
            && d.name.split('.').all(|l| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !host_ok {
            r.err(
                format!("domains[{i}].name"),
                format!("`{}` is not a host name", d.name),
            );
        } else if !names.insert(d.name.to_ascii_lowercase()) {
            r.err(
                format!("domains[{i}].name"),
                format!("domain `{}` is declared twice", d.name),
            );
        }
        let mut paths = BTreeSet::new();
        for (j, m) in d.mappings.iter().enumerate() {
            if m.base_path.starts_with('/') || m.base_path.ends_with('/') {
                r.err(
                    format!("domains[{i}].mappings[{j}].base_path"),
                    "write the base path without leading or trailing `/`",
                );
            }
            if !paths.insert(m.base_path.as_str()) {
                r.err(
                    format!("domains[{i}].mappings[{j}].base_path"),
                    format!("base path `{}` is mapped twice", m.base_path),
                );
            }
        }
    }
    ConfigErrors(r.errors)
}

/// Checks across files: unique API ids, domain mappings naming known APIs and stages.
pub(crate) fn cross(
    node_file: &str,
    node: &NodeConfig,
    apis: &[(String, crate::ApiSpec)],
    apis_complete: bool,
) -> ConfigErrors {
    let mut errors = Vec::new();
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (file, api) in apis {
        if let Some(first) = seen.insert(api.id.as_str(), file.as_str()) {
            errors.push(ConfigError::new(
                file,
                "id",
                format!(
                    "API id `{}` is also used by {first}; ids must be unique",
                    api.id
                ),
            ));
        }
    }
    // A mapping to an API whose file failed to parse would be a second, misleading error.
    let domains = if apis_complete {
        node.domains.as_slice()
    } else {
        &[]
    };
    for (i, d) in domains.iter().enumerate() {
        for (j, m) in d.mappings.iter().enumerate() {
            let field = format!("domains[{i}].mappings[{j}]");
            match apis.iter().find(|(_, a)| a.id == m.api) {
                None => errors.push(ConfigError::new(
                    node_file,
                    format!("{field}.api"),
                    format!("no API has id `{}`", m.api),
                )),
                Some((_, a)) if !a.stages.iter().any(|s| s.name == m.stage) => {
                    errors.push(ConfigError::new(
                        node_file,
                        format!("{field}.stage"),
                        format!("API `{}` declares no stage `{}`", m.api, m.stage),
                    ))
                }
                Some(_) => {}
            }
        }
    }
    ConfigErrors(errors)
}
