//! The plugins an API declares, its authorizers, and the routes that use them.

use std::collections::{BTreeMap, BTreeSet};

use super::{Report, parse_param_ref, valid_name};
use crate::api::{ApiSpec, IntegrationSpec};

pub(super) fn plugins_and_authorizers(r: &mut Report<'_>, api: &ApiSpec) {
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
        if let Some(expr) = &a.identity_validation_expression {
            let field = format!("{at}.identity_validation_expression");
            if a.kind != AuthorizerType::Token {
                r.err(
                    field,
                    "applies to TOKEN authorizers only (as API Gateway's identityValidationExpression); remove it",
                );
            } else if let Err(e) = crate::plugin::token_pattern(expr) {
                r.err(
                    field,
                    format!("`{expr}` is not a valid regular expression: {e}"),
                );
            }
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
            if let Some(("header", name)) = parse_param_ref(src, "method.request.")
                && !name.bytes().all(is_tchar)
            {
                r.err(
                    format!("{at}.identity_sources[{j}]"),
                    format!("`{src}`: `{name}` is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)"),
                );
                continue;
            }
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

/// A byte of an HTTP token (RFC 9110 `tchar`), what a header name is made of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
