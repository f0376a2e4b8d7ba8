//! Gateway responses (a REST API feature of API Gateway): how the gateway's own error
//! answers look, per response type — a status, added headers, a body template.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One customized gateway response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayResponseSpec {
    /// API Gateway's response type: one of [`RESPONSE_TYPES`], e.g. `UNAUTHORIZED`, or
    /// `DEFAULT_4XX` / `DEFAULT_5XX` for every error of that class without its own.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status to answer instead of the error's own (100..=599).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Headers added to the answer; values are templates (`$context.error.message`,
    /// `${stageVariables.name}`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The body instead of `{"message": ...}`, a template, e.g.
    /// `{"error": "$context.error.message", "id": "$context.requestId"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// The response types a gateway response may name (API Gateway's names for the errors
/// Causeway answers itself).
pub const RESPONSE_TYPES: &[&str] = &[
    "DEFAULT_4XX",
    "DEFAULT_5XX",
    "ACCESS_DENIED",
    "AUTHORIZER_FAILURE",
    "BAD_REQUEST_BODY",
    "BAD_REQUEST_PARAMETERS",
    "INTEGRATION_FAILURE",
    "INTEGRATION_TIMEOUT",
    "INVALID_API_KEY",
    "MISSING_AUTHENTICATION_TOKEN",
    "QUOTA_EXCEEDED",
    "REQUEST_TOO_LARGE",
    "RESOURCE_NOT_FOUND",
    "THROTTLED",
    "UNAUTHORIZED",
    "UNSUPPORTED_MEDIA_TYPE",
];
