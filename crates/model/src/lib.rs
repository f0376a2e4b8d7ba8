//! The API model: what an operator writes in `edge-config/` (a node file and one file per
//! API), its validation into a list of located errors, content-addressed deployments, and
//! the small template language used in integration URIs, headers and mock bodies.
//!
//! This crate is pure data and pure functions. It must not depend on any I/O runtime
//! (tokio, hyper, quinn), on the router or on the gateway; reading files is limited to
//! [`load`], which only turns a directory into typed values and located errors.
#![forbid(unsafe_code)]

pub mod api;
pub mod canary;
pub mod deployment;
pub mod endpoint;
pub mod error;
pub mod gateway_response;
pub mod jwt;
pub mod load;
pub mod node;
pub mod param_mapping;
pub mod plugin;
pub mod settings;
pub mod template;
mod validate;

pub use api::{
    ApiSpec, ApiType, CorsSpec, DEFAULT_ROUTE_SELECTION, HttpIntegration, HttpProxyIntegration,
    IntegrationSpec, MockIntegration, ModelSpec, RouteSpec, StageSpec, route_key_params,
};
pub use canary::CanarySpec;
pub use deployment::{Deployment, DeploymentId};
pub use endpoint::{EndpointSpec, EndpointType, Network, ResourcePolicySpec};
pub use error::{ConfigError, ConfigErrors};
pub use gateway_response::GatewayResponseSpec;
pub use jwt::{JwtSpec, resolve_jwks};
pub use load::{
    ConfigSet, ExtraChecks, load_dir, load_dir_with, parse_api, parse_api_with, parse_node,
    resolve_tls_files,
};
pub use node::TlsListenSpec;
pub use node::edge::{EdgeRegion, EdgeSection};
pub use node::mesh::{MeshPeer, MeshSection, valid_mesh_id};
pub use node::{
    AdminSection, BasePathMapping, DomainSpec, NodeConfig, NodeSection, TracingSection,
};
pub use plugin::{
    AuthorizerSpec, AuthorizerType, FunctionIntegration, InstancePolicySpec, PluginSpec,
    PluginWorld, PoolSpec, WasiHttpIntegration,
};
pub use settings::{
    AccessLogSpec, CacheInvalidation, QuotaPeriodSpec, QuotaSpec, RouteCacheSpec, StageCacheSpec,
    StageSettings, ThrottleSpec,
};
pub use template::{Template, TemplatePart};
pub use validate::selection_path;

/// Check one API definition on its own (what `parse_api` checks after parsing), for
/// definitions that arrive as data rather than files. `file` labels the errors.
pub fn validate_api(file: &str, api: &ApiSpec) -> ConfigErrors {
    validate::api(file, api)
}

/// The only config schema version this build understands.
pub const SCHEMA_VERSION: u32 = 1;
/// Integration timeout bounds, as in Amazon API Gateway (milliseconds).
pub const MIN_INTEGRATION_TIMEOUT_MS: u64 = 50;
/// Upper bound (and default) of an integration timeout.
pub const MAX_INTEGRATION_TIMEOUT_MS: u64 = 29_000;
