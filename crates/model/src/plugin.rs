//! WebAssembly plugins declared by an API, and the authorizers built on them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A WebAssembly component the API uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSpec {
    /// Name routes and authorizers refer to.
    pub name: String,
    /// The `.wasm` component, relative to the config directory.
    pub file: String,
    /// SHA-256 of the component, hex. Filled in when the config is loaded; it makes a new
    /// plugin version a new deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The world it implements: `authorizer`, `mapper`, `function` or `wasi-http`.
    pub world: PluginWorld,
    /// `fresh` (new instance per call, the default) or `reuse` (warm pool).
    #[serde(default)]
    pub instance: InstancePolicySpec,
    /// Size and retirement of the warm pool of a `reuse` plugin (every field optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<PoolSpec>,
    /// Linear memory cap in MiB (default 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u32>,
    /// Deadline per call in milliseconds (default: 1,000 for authorizers and mappers, the
    /// integration timeout for functions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Values the plugin reads with `config(key)`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
    /// `wasi-http` plugins only: the hosts it may send outbound HTTP requests to (`host`
    /// or `host:port`, exact match); none by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_outbound_hosts: Vec<String>,
}

/// The WIT worlds of `causeway:plugin` (any published version: see `wit/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginWorld {
    /// Allow or deny a request.
    Authorizer,
    /// Transform the request and the response.
    Mapper,
    /// Lambda-proxy style integration.
    Function,
    /// `wasi:http/proxy`: any component exporting `wasi:http/incoming-handler` (spin-sdk
    /// HTTP components, `wasmtime serve` components), for `WASI_HTTP` integrations.
    WasiHttp,
}

/// How instances are used across calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstancePolicySpec {
    /// A new instance per call: no state survives a call.
    #[default]
    Fresh,
    /// A bounded pool of warm instances, one call at a time each; globals survive between
    /// calls on the same instance, and any failure discards it.
    Reuse,
}

/// The warm pool of a `reuse` plugin: `pool = { min_idle = 2, max_idle = 16 }`. Unset
/// fields keep their defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    /// Warm instances made when the deployment loads, before its first request
    /// (default 1; at most `max_idle`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_idle: Option<u32>,
    /// Idle instances kept for the next calls (default 8); concurrent calls beyond it
    /// instantiate extra instances that are dropped after their call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_idle: Option<u32>,
    /// Calls an instance serves before it is retired (default 10,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u64>,
    /// Seconds after which an instance is retired (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_seconds: Option<u32>,
}

impl PoolSpec {
    /// Defaults of the fields left out.
    pub const DEFAULT_MIN_IDLE: u32 = 1;
    /// See [`PoolSpec::max_idle`].
    pub const DEFAULT_MAX_IDLE: u32 = 8;
    /// See [`PoolSpec::max_uses`].
    pub const DEFAULT_MAX_USES: u64 = 10_000;
    /// See [`PoolSpec::max_age_seconds`].
    pub const DEFAULT_MAX_AGE_SECONDS: u32 = 300;
    /// Upper bound of `max_idle` (the node's instance pool is shared by every plugin).
    pub const MAX_IDLE_LIMIT: u32 = 256;

    /// `(field, problem)` for each out-of-range setting.
    pub(crate) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let max_idle = self.max_idle.unwrap_or(Self::DEFAULT_MAX_IDLE);
        if !(1..=Self::MAX_IDLE_LIMIT).contains(&max_idle) {
            out.push((
                "max_idle",
                format!(
                    "{max_idle} is out of range; use 1..={}",
                    Self::MAX_IDLE_LIMIT
                ),
            ));
        }
        let min_idle = self.min_idle.unwrap_or(Self::DEFAULT_MIN_IDLE);
        if min_idle > max_idle {
            out.push((
                "min_idle",
                format!("{min_idle} warm instances do not fit in max_idle = {max_idle}"),
            ));
        }
        if self.max_uses == Some(0) {
            out.push(("max_uses", "an instance serves at least 1 call".to_owned()));
        }
        if self.max_age_seconds.is_some_and(|s| s == 0 || s > 86_400) {
            out.push(("max_age_seconds", "use 1..=86400 seconds".to_owned()));
        }
        out
    }
}

/// An authorizer: Lambda-style (`TOKEN` / `REQUEST`) backed by an `authorizer` plugin, or
/// the built-in `JWT` authorizer of HTTP APIs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizerSpec {
    /// Name routes refer to.
    pub name: String,
    /// `TOKEN` (one identity source, e.g. a bearer token), `REQUEST` (several) or `JWT`.
    #[serde(rename = "type")]
    pub kind: AuthorizerType,
    /// The plugin (world `authorizer`); TOKEN and REQUEST authorizers only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// Where the identity comes from (TOKEN and REQUEST): `method.request.header.NAME`,
    /// `method.request.querystring.NAME` or `stageVariables.NAME`. A missing one answers
    /// 401 without calling the plugin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity_sources: Vec<String>,
    /// Where a JWT authorizer finds the token: `$request.header.NAME` or
    /// `$request.querystring.NAME` (default `$request.header.Authorization`), with or
    /// without a `Bearer ` prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_source: Option<String>,
    /// TOKEN authorizers: a regular expression the whole token must match (API Gateway's
    /// `identityValidationExpression`), e.g. `^Bearer [-0-9A-Za-z_.]+$`. A token that does
    /// not is a 401 without a plugin call or a cache lookup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_validation_expression: Option<String>,
    /// How long a plugin's decision is cached per identity (0..=3600 s, default 300). A
    /// JWT authorizer verifies every request (its keys are cached, not its decisions).
    #[serde(default = "default_ttl")]
    pub result_ttl_seconds: u32,
    /// Issuer, audiences and signing keys of a JWT authorizer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<crate::jwt::JwtSpec>,
}

fn default_ttl() -> u32 {
    300
}

/// Authorizer input styles, as API Gateway's Lambda authorizers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AuthorizerType {
    /// A single token.
    Token,
    /// Headers, query string, stage variables.
    Request,
    /// A JSON Web Token verified by the gateway against the issuer's keys (HTTP APIs).
    Jwt,
}

/// A function (Lambda-proxy analogue) integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionIntegration {
    /// The plugin (world `function`).
    pub plugin: String,
    /// `1.0` (REST default) or `2.0` (HTTP API default) proxy event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_format: Option<String>,
    /// Integration timeout, 50..=29000 ms.
    #[serde(default = "default_fn_timeout")]
    pub timeout_ms: u64,
}

fn default_fn_timeout() -> u64 {
    crate::MAX_INTEGRATION_TIMEOUT_MS
}

/// A `WASI_HTTP` integration: the request is served by a `wasi-http` plugin, as by an
/// HTTP backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasiHttpIntegration {
    /// The plugin (world `wasi-http`).
    pub plugin: String,
    /// Integration timeout, 50..=29000 ms.
    #[serde(default = "default_fn_timeout")]
    pub timeout_ms: u64,
}

/// A TOKEN authorizer's `identity_validation_expression`, compiled to match whole tokens
/// (as Java's `String.matches`, which API Gateway's expressions follow).
pub fn token_pattern(expr: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?:{expr})$"))
}
