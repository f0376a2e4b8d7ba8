//! The one error type of the request path. It carries what went wrong (`kind`), whose
//! fault it was (`source`) and whether a retry could succeed, and renders as Amazon API
//! Gateway renders it: a status, an `x-amzn-errortype` header and `{"message": ...}`.

use std::borrow::Cow;
use std::fmt;

use http::{HeaderValue, Response, StatusCode};

use crate::body::Body;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// REST API: no route for method + path (API Gateway's famous 403).
    MissingAuthenticationToken,
    /// HTTP API: no route.
    NotFound,
    /// The request could not be understood or a required parameter is missing.
    BadRequest,
    /// The request body does not match the route's model (400 `Invalid request body`).
    InvalidRequestBody,
    /// Request body over the limit.
    PayloadTooLarge,
    /// A request body in a content coding the API cannot decode, or not in the coding it
    /// names (415).
    UnsupportedMediaType,
    /// Request header block over the limit.
    HeadersTooLarge,
    /// The integration did not answer in time.
    IntegrationTimeout,
    /// The integration could not be reached or broke the exchange.
    IntegrationFailure,
    /// Access denied.
    Forbidden,
    /// No API key, or one that is disabled or not in a usage plan of this stage (403
    /// `Forbidden`, API Gateway's `INVALID_API_KEY` response).
    InvalidApiKey,
    /// Missing or invalid credentials (401).
    Unauthorized,
    /// An authorizer denied the request (403).
    AccessDenied,
    /// An authorizer failed (trap, timeout, bad output): 500 `{"message": null}`.
    AuthorizerFailure,
    /// A token bucket is empty (429).
    Throttled,
    /// A usage plan's quota is used up (429).
    QuotaExceeded,
    /// A request for a mutual-TLS domain on a connection not made to it (421): the
    /// client should open a new connection naming the domain in SNI.
    Misdirected,
    /// A bug or an impossible state in the gateway.
    Internal,
}

/// Whose fault it was, for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSource {
    /// The client sent something wrong.
    Client,
    /// The upstream (integration) misbehaved.
    Upstream,
    /// A plugin misbehaved.
    Plugin,
    /// The gateway itself.
    Internal,
}

/// An error on the request path.
#[derive(Debug)]
pub struct GatewayError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Whose fault.
    pub source: ErrorSource,
    /// Whether the same request may succeed if retried.
    pub retryable: bool,
    /// Message for the client (`{"message": ...}`); API Gateway's fixed text by default.
    pub message: Cow<'static, str>,
    /// Underlying cause, for logs only (never sent to the client).
    pub cause: Option<Box<dyn std::error::Error + Send + Sync>>,
    /// A `WWW-Authenticate` challenge (JWT authorizers' 401 / 403).
    pub www_authenticate: Option<HeaderValue>,
}

impl GatewayError {
    /// An error of `kind` with API Gateway's default message and source.
    pub fn new(kind: ErrorKind) -> Self {
        let (source, retryable, message) = match kind {
            ErrorKind::MissingAuthenticationToken => {
                (ErrorSource::Client, false, "Missing Authentication Token")
            }
            ErrorKind::NotFound => (ErrorSource::Client, false, "Not Found"),
            ErrorKind::BadRequest => (ErrorSource::Client, false, "Bad Request"),
            ErrorKind::InvalidRequestBody => (ErrorSource::Client, false, "Invalid request body"),
            ErrorKind::PayloadTooLarge => (ErrorSource::Client, false, "Request Too Long"),
            ErrorKind::HeadersTooLarge => (
                ErrorSource::Client,
                false,
                "Request Header Fields Too Large",
            ),
            ErrorKind::IntegrationTimeout => {
                (ErrorSource::Upstream, true, "Endpoint request timed out")
            }
            ErrorKind::IntegrationFailure => (ErrorSource::Upstream, true, "Internal server error"),
            ErrorKind::Forbidden | ErrorKind::InvalidApiKey => {
                (ErrorSource::Client, false, "Forbidden")
            }
            ErrorKind::Unauthorized => (ErrorSource::Client, false, "Unauthorized"),
            ErrorKind::AccessDenied => (
                ErrorSource::Client,
                false,
                "User is not authorized to access this resource",
            ),
            ErrorKind::AuthorizerFailure => (ErrorSource::Plugin, true, ""),
            ErrorKind::Throttled => (ErrorSource::Client, true, "Too Many Requests"),
            ErrorKind::QuotaExceeded => (ErrorSource::Client, false, "Limit Exceeded"),
            ErrorKind::Misdirected => (ErrorSource::Client, true, "Misdirected Request"),
            ErrorKind::UnsupportedMediaType => {
                (ErrorSource::Client, false, "Unsupported Media Type")
            }
            ErrorKind::Internal => (ErrorSource::Internal, false, "Internal server error"),
        };
        GatewayError {
            kind,
            source,
            retryable,
            message: Cow::Borrowed(message),
            cause: None,
            www_authenticate: None,
        }
    }

    /// Replace the client-facing message.
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.message = message.into();
        self
    }

    /// Attach the underlying cause (logged, not sent).
    pub fn with_cause(
        mut self,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.cause = Some(cause.into());
        self
    }

    /// HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self.kind {
            ErrorKind::MissingAuthenticationToken
            | ErrorKind::Forbidden
            | ErrorKind::InvalidApiKey
            | ErrorKind::AccessDenied => StatusCode::FORBIDDEN,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::AuthorizerFailure => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Throttled | ErrorKind::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::BadRequest | ErrorKind::InvalidRequestBody => StatusCode::BAD_REQUEST,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ErrorKind::IntegrationTimeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::IntegrationFailure => StatusCode::BAD_GATEWAY,
            ErrorKind::Misdirected => StatusCode::MISDIRECTED_REQUEST,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// API Gateway's `x-amzn-errortype` value.
    pub fn error_type(&self) -> &'static str {
        match self.kind {
            ErrorKind::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            ErrorKind::NotFound => "NotFoundException",
            ErrorKind::BadRequest | ErrorKind::InvalidRequestBody => "BadRequestException",
            ErrorKind::PayloadTooLarge => "RequestEntityTooLargeException",
            ErrorKind::HeadersTooLarge => "RequestHeaderFieldsTooLargeException",
            ErrorKind::IntegrationTimeout => "IntegrationTimeout",
            ErrorKind::IntegrationFailure => "IntegrationFailure",
            ErrorKind::Forbidden | ErrorKind::InvalidApiKey => "ForbiddenException",
            ErrorKind::Unauthorized => "UnauthorizedException",
            ErrorKind::AccessDenied => "AccessDeniedException",
            ErrorKind::AuthorizerFailure => "AuthorizerConfigurationException",
            ErrorKind::Throttled => "ThrottlingException",
            ErrorKind::QuotaExceeded => "LimitExceededException",
            ErrorKind::Misdirected => "MisdirectedRequestException",
            ErrorKind::UnsupportedMediaType => "UnsupportedMediaTypeException",
            ErrorKind::Internal => "InternalServerErrorException",
        }
    }

    /// API Gateway's gateway response type (`$context.error.responseType`, and the
    /// `type` a customized gateway response names); `DEFAULT_4XX` / `DEFAULT_5XX` where
    /// API Gateway has none more specific.
    pub fn response_type(&self) -> &'static str {
        match self.kind {
            ErrorKind::MissingAuthenticationToken => "MISSING_AUTHENTICATION_TOKEN",
            ErrorKind::NotFound => "RESOURCE_NOT_FOUND",
            ErrorKind::BadRequest => "BAD_REQUEST_PARAMETERS",
            ErrorKind::InvalidRequestBody => "BAD_REQUEST_BODY",
            ErrorKind::PayloadTooLarge | ErrorKind::HeadersTooLarge => "REQUEST_TOO_LARGE",
            ErrorKind::IntegrationTimeout => "INTEGRATION_TIMEOUT",
            ErrorKind::IntegrationFailure => "INTEGRATION_FAILURE",
            ErrorKind::Forbidden => "DEFAULT_4XX",
            ErrorKind::InvalidApiKey => "INVALID_API_KEY",
            ErrorKind::Unauthorized => "UNAUTHORIZED",
            ErrorKind::AccessDenied => "ACCESS_DENIED",
            ErrorKind::AuthorizerFailure => "AUTHORIZER_FAILURE",
            ErrorKind::Throttled => "THROTTLED",
            ErrorKind::QuotaExceeded => "QUOTA_EXCEEDED",
            ErrorKind::Misdirected => "DEFAULT_4XX",
            ErrorKind::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ErrorKind::Internal => "DEFAULT_5XX",
        }
    }

    /// Render as API Gateway does.
    pub fn to_response(&self) -> Response<Body> {
        // An authorizer failure answers `{"message": null}`, as API Gateway does.
        let message = match self.kind {
            ErrorKind::AuthorizerFailure => serde_json::Value::Null,
            _ => serde_json::Value::String(self.message.to_string()),
        };
        let body = serde_json::json!({ "message": message }).to_string();
        let mut resp = Response::new(Body::from(body));
        *resp.status_mut() = self.status();
        let h = resp.headers_mut();
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(
            "x-amzn-errortype",
            HeaderValue::from_static(self.error_type()),
        );
        if let Some(v) = &self.www_authenticate {
            h.insert(http::header::WWW_AUTHENTICATE, v.clone());
        }
        resp
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} ({:?}): {}", self.kind, self.source, self.message)?;
        if let Some(c) = &self.cause {
            write!(f, ": {c}")?;
        }
        Ok(())
    }
}

impl std::error::Error for GatewayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}
