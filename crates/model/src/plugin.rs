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

/// The WIT worlds of `causeway:plugin@0.1.0`.
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
