//! The fixed `$context` variables, parsed from their names once (templates, access log
//! formats) so a request resolves them without string matching.

/// The fixed `$context` variables (the authorizer's context keys are looked up by name),
/// resolved from their names once, where a hot path (the access log) needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContextVar {
    /// `requestId` and `extendedRequestId`.
    RequestId,
    ApiId,
    Stage,
    DeploymentId,
    HttpMethod,
    Path,
    ResourcePath,
    RouteKey,
    DomainName,
    DomainPrefix,
    Protocol,
    RequestTimeEpoch,
    RequestTime,
    /// `identity.sourceIp`.
    SourceIp,
    /// `identity.userAgent`.
    UserAgent,
    /// `identity.clientCert.*` (empty without a client certificate).
    ClientCert(CertField),
    Status,
    ResponseLength,
    ResponseLatency,
    IntegrationLatency,
    IntegrationStatus,
    /// `authorizer.principalId`.
    PrincipalId,
    /// `error.message`.
    ErrorMessage,
    /// `error.messageString`: the message as a JSON string, quoted and escaped.
    ErrorMessageString,
    /// `error.responseType`.
    ErrorResponseType,
    /// `error.validationErrorString`: why the body did not match its model, escaped to sit
    /// inside a JSON string.
    ErrorValidation,
}

impl ContextVar {
    /// The variable called `name` (without `$context.`).
    pub(crate) fn parse(name: &str) -> Option<ContextVar> {
        use ContextVar as V;
        Some(match name {
            "requestId" | "extendedRequestId" => V::RequestId,
            "apiId" => V::ApiId,
            "stage" => V::Stage,
            "deploymentId" => V::DeploymentId,
            "httpMethod" => V::HttpMethod,
            "path" => V::Path,
            "resourcePath" => V::ResourcePath,
            "routeKey" => V::RouteKey,
            "domainName" => V::DomainName,
            "domainPrefix" => V::DomainPrefix,
            "protocol" => V::Protocol,
            "requestTimeEpoch" => V::RequestTimeEpoch,
            "requestTime" => V::RequestTime,
            "identity.sourceIp" => V::SourceIp,
            "identity.userAgent" => V::UserAgent,
            "identity.clientCert.clientCertPem" => V::ClientCert(CertField::Pem),
            "identity.clientCert.subjectDN" => V::ClientCert(CertField::SubjectDn),
            "identity.clientCert.issuerDN" => V::ClientCert(CertField::IssuerDn),
            "identity.clientCert.serialNumber" => V::ClientCert(CertField::SerialNumber),
            "identity.clientCert.validity.notBefore" => V::ClientCert(CertField::NotBefore),
            "identity.clientCert.validity.notAfter" => V::ClientCert(CertField::NotAfter),
            "status" => V::Status,
            "responseLength" => V::ResponseLength,
            "responseLatency" => V::ResponseLatency,
            "integrationLatency" => V::IntegrationLatency,
            "integrationStatus" => V::IntegrationStatus,
            "authorizer.principalId" => V::PrincipalId,
            "error.message" => V::ErrorMessage,
            "error.responseType" => V::ErrorResponseType,
            "error.messageString" => V::ErrorMessageString,
            "error.validationErrorString" => V::ErrorValidation,
            _ => return None,
        })
    }
}

/// One field of `$context.identity.clientCert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CertField {
    Pem,
    SubjectDn,
    IssuerDn,
    SerialNumber,
    NotBefore,
    NotAfter,
}

impl CertField {
    pub(crate) fn of(self, c: &crate::peer::ClientCert) -> &str {
        match self {
            CertField::Pem => &c.pem,
            CertField::SubjectDn => &c.subject_dn,
            CertField::IssuerDn => &c.issuer_dn,
            CertField::SerialNumber => &c.serial_number,
            CertField::NotBefore => &c.not_before,
            CertField::NotAfter => &c.not_after,
        }
    }
}
