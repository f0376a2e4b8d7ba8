//! The per-request context every phase shares (Pingora's `CTX`).

use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use causeway_router::RouteId;
use http::request::Parts;
use smallvec::SmallVec;

use crate::body::Body;
use crate::compile::{CompiledRoute, Loc};
use crate::table::StageRuntime;

mod request_id;
mod vars;

pub use crate::peer::Peer;
pub use request_id::RequestId;
pub(crate) use vars::ContextVar;

/// State of one request as it moves through the pipeline.
#[derive(Debug)]
pub struct RequestCtx {
    /// API Gateway style request id (a UUID), also sent as `x-amzn-requestid`.
    pub request_id: RequestId,
    /// When the request arrived.
    pub started: Instant,
    /// When the request arrived, in milliseconds since the Unix epoch.
    pub received_at_ms: u64,
    /// The client's address.
    pub client: SocketAddr,
    /// The client's IP as text, made once per connection ([`Peer`]).
    pub client_ip: http::HeaderValue,
    /// Whether the request came in on the private listener.
    pub private: bool,
    /// Whether it came in over TLS (`X-Forwarded-Proto: https`).
    pub https: bool,
    /// The client certificate its connection proved to a mutual-TLS domain.
    pub tls_client: Option<Arc<crate::peer::TlsClient>>,
    /// Method, URI, headers.
    pub parts: Parts,
    /// The body, until a phase takes it.
    pub body: Option<Body>,
    /// Host the client used (lowercase, without port).
    pub host: Arc<str>,
    pub(crate) stage: Option<Arc<StageRuntime>>,
    /// Where the route path starts in `parts.uri.path()` (`None`: it is `/`).
    pub(crate) route_path_at: Option<usize>,
    pub(crate) route: Option<RouteId>,
    /// Path parameter values as byte ranges of `parts.uri.path()`, in route order.
    pub(crate) params: SmallVec<[Range<usize>; 4]>,
    /// The path the route matched, once a mapper rewrote `parts.uri` (`params` index it).
    pub(crate) matched_path: Option<String>,
    /// Time spent waiting for the integration's response head.
    pub integration_latency: Option<Duration>,
    /// Status the integration answered with.
    pub integration_status: Option<u16>,
    /// Status sent to the client (set when the response head is ready).
    pub status: Option<u16>,
    /// Bytes of the response body, when known up front.
    pub response_length: Option<u64>,
    /// API Gateway error type and message, when the request failed.
    pub error: Option<(&'static str, String)>,
    /// Why the body did not match the route's model (`$context.error.validationErrorString`).
    pub validation_error: Option<String>,
    /// Principal an authorizer established.
    pub principal_id: Option<Arc<str>>,
    /// The authorizer's context (`$context.authorizer.KEY`), shared with the decision
    /// cache (a cached allow hands it on without copying); see [`Self::authorizer_context`].
    pub authorizer_context: Option<Arc<[(String, String)]>>,
    /// The API key an authorizer named for usage plans (`usageIdentifierKey`).
    pub usage_key: Option<Arc<str>>,
    /// The claims and scopes a JWT authorizer verified (the proxy event's
    /// `requestContext.authorizer.jwt`).
    pub jwt: Option<Arc<crate::jwt::JwtIdentity>>,
    /// The API key the request presented and the usage plan it is charged to.
    pub api_key: Option<(Arc<crate::KeyBinding>, Arc<crate::PlanBinding>)>,
    /// The cache entry this request leads the fetch for.
    pub(crate) cache_fill: Option<crate::cache::Fill>,
    /// The response header the cache phase adds (`hit`, `miss`, or an ignored invalidation).
    pub(crate) cache_status: Option<&'static str>,
    /// `traceparent` for calls this request makes (the current phase's span), when traced.
    pub traceparent: Option<http::HeaderValue>,
    /// What the request's edge vouches for, taken off its headers (see `edge_trust`).
    pub(crate) edge_assertion: Option<http::HeaderValue>,
    /// The client's IP as the edge that forwarded the request saw it (`None`: the
    /// connection's peer is the client); see [`source_ip`](Self::source_ip).
    pub(crate) source_ip: Option<http::HeaderValue>,
    /// The edge's authorizer allow, for the authorizer phase.
    pub(crate) edge_decision: Option<Box<crate::edge_trust::Vouched>>,
    /// The API compresses responses of at least this many bytes, in the coding the client
    /// accepts (`None`: none); set by the compress phase.
    pub(crate) compress: Option<(Option<crate::compress::Coding>, u64)>,
}

impl RequestCtx {
    pub(crate) fn new(parts: Parts, body: Body, peer: &Peer, host: Arc<str>) -> Self {
        RequestCtx::with_fields(parts, body, peer, host, true)
    }

    /// [`new`](Self::new) for a request whose fields the listener has seen:
    /// `edge_assertion` says whether one is an edge's assertion (else its lookup is
    /// skipped).
    pub(crate) fn with_fields(
        mut parts: Parts,
        body: Body,
        peer: &Peer,
        host: Arc<str>,
        edge_assertion: bool,
    ) -> Self {
        let started = Instant::now();
        let edge_assertion = if edge_assertion {
            parts.headers.remove(&crate::edge_trust::HEADER)
        } else {
            None
        };
        RequestCtx {
            request_id: RequestId::new(),
            started,
            received_at_ms: crate::throttle::epoch_ms_at(started),
            client: peer.addr,
            client_ip: peer.ip.clone(),
            private: peer.private,
            https: peer.https,
            tls_client: peer.tls_client.clone(),
            parts,
            body: Some(body),
            host,
            stage: None,
            route_path_at: None,
            route: None,
            params: SmallVec::new(),
            matched_path: None,
            integration_latency: None,
            integration_status: None,
            status: None,
            response_length: None,
            error: None,
            validation_error: None,
            principal_id: None,
            authorizer_context: None,
            usage_key: None,
            jwt: None,
            traceparent: None,
            edge_assertion,
            source_ip: None,
            edge_decision: None,
            compress: None,
            api_key: None,
            cache_fill: None,
            cache_status: None,
        }
    }

    /// The client's address: the connection's peer, or the client an edge forwarded the
    /// request for.
    pub(crate) fn source_addr(&self) -> std::net::IpAddr {
        self.source_ip
            .as_ref()
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .unwrap_or_else(|| self.client.ip())
    }

    /// The client's IP as text (`$context.identity.sourceIp`): the connection's peer, or
    /// the client an edge forwarded the request for.
    pub fn source_ip(&self) -> &http::HeaderValue {
        self.source_ip.as_ref().unwrap_or(&self.client_ip)
    }

    /// The authorizer's context entries (empty without an authorizer).
    pub fn authorizer_context(&self) -> &[(String, String)] {
        self.authorizer_context.as_deref().unwrap_or_default()
    }

    /// The path the route matched against (after stage or base path).
    pub fn route_path(&self) -> &str {
        let path = self.parts.uri.path();
        self.route_path_at
            .and_then(|at| path.get(at..))
            .unwrap_or("/")
    }

    pub(crate) fn compiled_route(&self) -> Option<&CompiledRoute> {
        let stage = self.stage.as_ref()?;
        stage.deployment.routes.get(self.route?)
    }

    /// Raw (percent-encoded) value of path parameter `name`.
    pub fn path_param(&self, name: &str) -> Option<&str> {
        let route = self.compiled_route()?;
        let i = route.param_names.iter().position(|n| n == name)?;
        let path = match &self.matched_path {
            Some(p) => p.as_str(),
            None => self.parts.uri.path(),
        };
        path.get(self.params.get(i)?.clone())
    }

    /// First raw value of query-string parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.parts.uri.query()?.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then_some(v)
        })
    }

    /// A method request parameter by location.
    pub(crate) fn method_param(&self, loc: Loc, name: &str) -> Option<&str> {
        match loc {
            Loc::Path => self.path_param(name),
            Loc::Query => self.query_param(name),
            Loc::Header => self.parts.headers.get(name).and_then(|v| v.to_str().ok()),
        }
    }

    /// A stage variable.
    pub fn stage_variable(&self, name: &str) -> Option<&str> {
        self.stage.as_ref()?.variables.get(name).map(String::as_str)
    }

    /// Append `$context.NAME` to `out`.
    pub fn context_value(&self, name: &str, out: &mut String) {
        match ContextVar::parse(name) {
            Some(var) => self.push_var(var, out),
            None => {
                if let Some(key) = name.strip_prefix("authorizer.")
                    && let Some((_, v)) = self.authorizer_context().iter().find(|(k, _)| k == key)
                {
                    out.push_str(v);
                }
            }
        }
    }

    /// Append the value of `var` to `out`.
    pub(crate) fn push_var(&self, var: ContextVar, out: &mut String) {
        use ContextVar as V;
        let stage = self.stage.as_deref();
        match var {
            V::RequestId => out.push_str(&self.request_id),
            V::ApiId => out.push_str(stage.map_or("", |s| s.deployment.api_id())),
            V::Stage => out.push_str(stage.map_or("", |s| s.stage.as_str())),
            V::DeploymentId => out.push_str(stage.map_or("", |s| s.deployment.id().0.as_str())),
            V::HttpMethod => out.push_str(self.parts.method.as_str()),
            V::Path => out.push_str(self.parts.uri.path()),
            V::ResourcePath => out.push_str(
                self.compiled_route()
                    .map_or("", |r| r.resource_path.as_str()),
            ),
            V::RouteKey => out.push_str(self.compiled_route().map_or("", |r| r.key.as_str())),
            V::DomainName => out.push_str(&self.host),
            V::DomainPrefix => out.push_str(self.host.split('.').next().unwrap_or("")),
            V::Protocol => out.push_str(protocol(self.parts.version)),
            V::RequestTimeEpoch => push_opt(out, Some(self.received_at_ms)),
            V::RequestTime => clf_time(out, self.received_at_ms / 1000),
            // The connection's IP text, made once per connection ([`Peer::new`]: ASCII).
            V::SourceIp => out.push_str(self.source_ip().to_str().unwrap_or_default()),
            V::ClientCert(field) => {
                if let Some(c) = &self.tls_client {
                    out.push_str(field.of(&c.cert));
                }
            }
            V::UserAgent => out.push_str(
                self.parts
                    .headers
                    .get(http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            ),
            V::Status => push_opt(out, self.status),
            V::ResponseLength => push_opt(out, self.response_length),
            V::ResponseLatency => push_opt(out, Some(self.started.elapsed().as_millis())),
            V::IntegrationLatency => {
                push_opt(out, self.integration_latency.map(|d| d.as_millis()));
            }
            V::IntegrationStatus => push_opt(out, self.integration_status),
            V::PrincipalId => out.push_str(self.principal_id.as_deref().unwrap_or("")),
            V::ErrorMessage => out.push_str(self.error.as_ref().map_or("", |e| e.1.as_str())),
            V::ErrorMessageString => {
                crate::json::quoted(out, self.error.as_ref().map_or("", |e| e.1.as_str()));
            }
            V::ErrorResponseType => out.push_str(self.error.as_ref().map_or("", |e| e.0)),
            // Escaped for a JSON string, as API Gateway's (its text quotes property names).
            V::ErrorValidation => {
                crate::json::escaped(out, self.validation_error.as_deref().unwrap_or(""));
            }
        }
    }
}

fn push_opt(out: &mut String, v: Option<impl itoa::Integer>) {
    if let Some(v) = v {
        out.push_str(itoa::Buffer::new().format(v));
    }
}

/// `HTTP/1.1`, as API Gateway's `$context.protocol`.
fn protocol(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// `ip` as text; IPv4 (the common case) without `fmt`.
pub(crate) fn push_ip(out: &mut String, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let mut digits = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(digits.format(octet));
            }
        }
        std::net::IpAddr::V6(v6) => {
            use std::fmt::Write;
            let _ = write!(out, "{v6}");
        }
    }
}

/// `25/Nov/2026:15:04:05 +0000`, API Gateway's `requestTime` (Common Log Format), in UTC;
/// formatted once per second per thread.
pub(crate) fn clf_time(out: &mut String, secs: u64) {
    thread_local! {
        static LAST: std::cell::RefCell<(u64, String)> = const { std::cell::RefCell::new((u64::MAX, String::new())) };
    }
    LAST.with(|last| match last.try_borrow_mut() {
        Ok(mut last) => {
            if last.0 != secs {
                last.1.clear();
                format_clf_time(&mut last.1, secs);
                last.0 = secs;
            }
            out.push_str(&last.1);
        }
        Err(_) => format_clf_time(out, secs),
    });
}

/// A UTC time's calendar parts: (year, month's English abbreviation, day, seconds into
/// the day).
pub(crate) fn calendar(secs: u64) -> (i64, &'static str, i64, u64) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (year, month, day) = civil(secs);
    let name = MONTHS[usize::try_from(month - 1).unwrap_or(0) % 12];
    (year, name, day, secs % 86_400)
}

fn format_clf_time(out: &mut String, secs: u64) {
    use std::fmt::Write;
    let (year, name, day, rem) = calendar(secs);
    let _ = write!(
        out,
        "{day:02}/{name}/{year}:{:02}:{:02}:{:02} +0000",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
}

/// `2026-11-25T15:04:05.123Z`: an instant in Unix milliseconds, as ISO 8601 in UTC (the
/// form API Gateway's management API answers times in).
pub(crate) fn iso_time(out: &mut String, millis: u64) {
    use std::fmt::Write;
    let secs = millis / 1000;
    let (year, month, day) = civil(secs);
    let rem = secs % 86_400;
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        millis % 1000
    );
}

/// Year, month (1-12) and day of the month of `secs` after the Unix epoch, in UTC
/// (Howard Hinnant's days-to-civil).
fn civil(secs: u64) -> (i64, i64, i64) {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests;
