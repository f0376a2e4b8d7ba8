//! One API as written in `edge-config/apis/<id>.toml`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::plugin::{AuthorizerSpec, FunctionIntegration, PluginSpec, WasiHttpIntegration};
use crate::settings::{AccessLogSpec, RouteCacheSpec, StageCacheSpec, StageSettings, ThrottleSpec};

/// An API definition: its routes, integrations and the stages it is deployed to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSpec {
    /// Schema version; must be [`crate::SCHEMA_VERSION`].
    pub version: u32,
    /// API id: lowercase letters, digits and `-`; it is the first label of the invoke host
    /// `{id}.execute-api.localhost`.
    pub id: String,
    /// Human name.
    pub name: String,
    /// `REST`, `HTTP` or `WEBSOCKET`.
    #[serde(rename = "type")]
    pub kind: ApiType,
    /// Free text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Where the API is served (`REGIONAL` unless it says otherwise).
    #[serde(default, skip_serializing_if = "crate::EndpointSpec::is_default")]
    pub endpoint: crate::EndpointSpec,
    /// Who may invoke the API by source address (everyone unless it says otherwise).
    #[serde(default, skip_serializing_if = "crate::ResourcePolicySpec::is_default")]
    pub resource_policy: crate::ResourcePolicySpec,
    /// Media types passed through as binary (e.g. `image/png`, `*/*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binary_media_types: Vec<String>,
    /// REST APIs: compress responses of at least this many bytes (0..=10,485,760) for
    /// clients that accept `gzip` or `deflate` (API Gateway's `minimumCompressionSize`);
    /// unset: never compress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_compression_size: Option<u64>,
    /// HTTP-API style CORS block (HTTP APIs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors: Option<CorsSpec>,
    /// Stages this file deploys to, with their variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageSpec>,
    /// WebAssembly plugins the routes use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<PluginSpec>,
    /// Authorizers the routes use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorizers: Vec<AuthorizerSpec>,
    /// Routes (HTTP APIs) or resource methods (REST APIs), as route keys.
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
    /// Gateway responses (REST APIs): how the gateway's own errors are answered, per
    /// response type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateway_responses: Vec<crate::GatewayResponseSpec>,
    /// Models (REST APIs): JSON Schemas request bodies are validated against.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<ModelSpec>,
    /// WEBSOCKET APIs: where a message's route key is read, `$request.body.NAME`
    /// (default `$request.body.action`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_selection_expression: Option<String>,
    /// WEBSOCKET APIs: the networks (CIDR or address) whose clients may call the
    /// `@connections` callback API; loopback only when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callback_networks: Vec<String>,
}

/// The route selection expression of a WEBSOCKET API that does not name one.
pub const DEFAULT_ROUTE_SELECTION: &str = "$request.body.action";

/// A model: a JSON Schema (draft 4, as API Gateway's, unless it names another in
/// `$schema`) a route's request body must match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Name routes refer to (letters and digits, as API Gateway's).
    pub name: String,
    /// The media type the model describes.
    #[serde(default = "default_model_content_type")]
    pub content_type: String,
    /// The JSON Schema, as JSON text.
    pub schema: String,
}

fn default_model_content_type() -> String {
    "application/json".to_owned()
}

/// The API flavours: two request/response ones and WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ApiType {
    /// Resources and methods, mapping, validation, API keys, caching.
    #[serde(rename = "REST")]
    Rest,
    /// Lean routes, JWT authorizers, CORS.
    #[serde(rename = "HTTP")]
    Http,
    /// Long-lived WebSocket connections: `$connect`, `$disconnect`, `$default` and routes
    /// chosen by a field of each message.
    #[serde(rename = "WEBSOCKET")]
    WebSocket,
}

impl ApiType {
    /// The name used in config files and API Gateway documentation.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiType::Rest => "REST",
            ApiType::Http => "HTTP",
            ApiType::WebSocket => "WEBSOCKET",
        }
    }
}

/// A stage declared next to the API: its name and stage variables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// Stage name: the first path segment of the invoke URL.
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Stage variables, usable as `${stageVariables.name}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
    /// Access logging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_log: Option<AccessLogSpec>,
    /// Response cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<StageCacheSpec>,
    /// Stage-wide throttle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleSpec>,
}

impl StageSpec {
    /// The settings that travel with the stage (not with the deployment).
    pub fn settings(&self) -> StageSettings {
        StageSettings {
            access_log: self.access_log.clone(),
            cache: self.cache.clone(),
            throttle: self.throttle,
        }
    }
}

/// One route: a route key and what serves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// `METHOD /path` (`GET /pets/{petId}`, `ANY /{proxy+}`) or `$default` (HTTP APIs);
    /// `$connect`, `$disconnect`, `$default` or a route selection value (WEBSOCKET APIs).
    pub key: String,
    /// Declared method request parameters, e.g.
    /// `"method.request.querystring.page" = true` (true = required).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_parameters: BTreeMap<String, bool>,
    /// The authorizer guarding this route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer: Option<String>,
    /// With a JWT authorizer: the token's `scope` / `scp` must hold at least one of these
    /// (else 403), as API Gateway's route `authorizationScopes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_scopes: Vec<String>,
    /// Require a valid API key (`x-api-key`) on this route.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub api_key_required: bool,
    /// Cache overrides for this route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<RouteCacheSpec>,
    /// Route-level throttle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleSpec>,
    /// A `mapper` plugin: rewrites the request just before the integration and the
    /// integration's response just after it (API Gateway's mapping templates, in code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapper: Option<String>,
    /// REST APIs: the model the request body must match (API Gateway's request model
    /// with a body-validating request validator); a body that does not is a 400
    /// `Invalid request body` before authorization's downstream phases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_model: Option<String>,
    /// WEBSOCKET APIs: send the integration's answer back to the client (a two-way
    /// route, API Gateway's route response); otherwise the answer is dropped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub route_response: bool,
    /// The backend.
    pub integration: IntegrationSpec,
}

/// What serves a route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum IntegrationSpec {
    /// Answer from the gateway itself.
    #[serde(rename = "MOCK")]
    Mock(MockIntegration),
    /// Non-proxy HTTP: parameters are mapped explicitly both ways.
    #[serde(rename = "HTTP")]
    Http(HttpIntegration),
    /// Pass-through HTTP proxy.
    #[serde(rename = "HTTP_PROXY")]
    HttpProxy(HttpProxyIntegration),
    /// A WebAssembly `function` plugin, called with an API Gateway proxy event.
    #[serde(rename = "FUNCTION")]
    Function(FunctionIntegration),
    /// A WebAssembly `wasi-http` plugin (a `wasi:http/incoming-handler` component, e.g.
    /// built with spin-sdk), served the request as an HTTP backend would be.
    #[serde(rename = "WASI_HTTP")]
    WasiHttp(WasiHttpIntegration),
}

/// A MOCK integration's answer. Body and header values may use `$context.*` and
/// `${stageVariables.*}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockIntegration {
    /// Status code, 100..=599.
    #[serde(default = "default_mock_status")]
    pub status: u16,
    /// Response headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Response body.
    #[serde(default)]
    pub body: String,
}

fn default_mock_status() -> u16 {
    200
}

fn default_timeout_ms() -> u64 {
    crate::MAX_INTEGRATION_TIMEOUT_MS
}

/// A non-proxy HTTP integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpIntegration {
    /// Upstream URL template: `http://host/pets/{petId}`, `${stageVariables.backend}/pets`.
    pub uri: String,
    /// Upstream method; defaults to the route's method (`ANY` passes the client's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Integration timeout, 50..=29000 ms.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// `"integration.request.{path|querystring|header}.NAME" = SOURCE` where SOURCE is
    /// `method.request.{path|querystring|header}.NAME`, `'static'`,
    /// `stageVariables.NAME` or `context.NAME`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_parameters: BTreeMap<String, String>,
    /// `"method.response.header.NAME" = SOURCE` where SOURCE is
    /// `integration.response.header.NAME` or `'static'`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_parameters: BTreeMap<String, String>,
}

/// A pass-through HTTP proxy integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpProxyIntegration {
    /// Upstream URL template; `{proxy}` / `{name}` take the route's path parameters.
    pub uri: String,
    /// Upstream method; defaults to the client's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Integration timeout, 50..=29000 ms.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Extra request parameters, as for [`HttpIntegration::request_parameters`]; on HTTP
    /// APIs also in their own form (`"append|overwrite|remove:header.NAME"`,
    /// `"…:querystring.NAME"`, `"overwrite:path"` = VALUE, see
    /// [`crate::param_mapping`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_parameters: BTreeMap<String, String>,
    /// HTTP APIs: per integration status code (`"404"`), changes to the response
    /// (`"overwrite:statuscode"`, `"append|overwrite|remove:header.NAME"` = VALUE).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_parameters: BTreeMap<String, BTreeMap<String, String>>,
}

/// HTTP-API style CORS configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSpec {
    /// Allowed origins (`*` or exact `scheme://host[:port]`).
    #[serde(default)]
    pub allow_origins: Vec<String>,
    /// Allowed methods (`*` or names).
    #[serde(default)]
    pub allow_methods: Vec<String>,
    /// Allowed request headers (`*` or names).
    #[serde(default)]
    pub allow_headers: Vec<String>,
    /// Response headers exposed to the browser.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// Preflight cache lifetime in seconds (0..=86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u32>,
    /// Whether credentials are allowed (not with origin `*`).
    #[serde(default)]
    pub allow_credentials: bool,
}

impl RouteSpec {
    /// The method part of the key (`$default` for the default route).
    pub fn method(&self) -> &str {
        self.key
            .split_once(' ')
            .map_or(self.key.as_str(), |(m, _)| m)
    }

    /// The path part of the key (empty for `$default`).
    pub fn path(&self) -> &str {
        self.key.split_once(' ').map_or("", |(_, p)| p)
    }
}

/// Names of the `{param}` / `{param+}` segments in a route key, in order.
pub fn route_key_params(key: &str) -> Vec<&str> {
    let path = key.split_once(' ').map_or("", |(_, p)| p);
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| name.strip_suffix('+').unwrap_or(name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_of_key() {
        assert_eq!(
            route_key_params("GET /pets/{petId}/toys/{toy+}"),
            ["petId", "toy"]
        );
        assert!(route_key_params("$default").is_empty());
    }
}
