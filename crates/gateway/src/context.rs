//! The per-request context every phase shares (Pingora's `CTX`).

use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use causeway_router::RouteId;
use http::request::Parts;
use smallvec::SmallVec;

use crate::body::Body;
use crate::compile::{CompiledRoute, Loc};
use crate::table::StageRuntime;

/// State of one request as it moves through the pipeline.
#[derive(Debug)]
pub struct RequestCtx {
    /// API Gateway style request id (a UUID), also sent as `x-amzn-requestid`.
    pub request_id: String,
    /// When the request arrived.
    pub started: Instant,
    /// The client's address.
    pub client: SocketAddr,
    /// Method, URI, headers.
    pub parts: Parts,
    /// The body, until a phase takes it.
    pub body: Option<Body>,
    /// Host the client used (lowercase, without port).
    pub host: String,
    pub(crate) stage: Option<Arc<StageRuntime>>,
    /// Where the route path starts in `parts.uri.path()` (`None`: it is `/`).
    pub(crate) route_path_at: Option<usize>,
    pub(crate) route: Option<RouteId>,
    /// Path parameter values as byte ranges of `parts.uri.path()`, in route order.
    pub(crate) params: SmallVec<[Range<usize>; 4]>,
    /// Time spent waiting for the integration's response head.
    pub integration_latency: Option<Duration>,
    /// Status the integration answered with.
    pub integration_status: Option<u16>,
}

impl RequestCtx {
    pub(crate) fn new(parts: Parts, body: Body, client: SocketAddr, host: String) -> Self {
        RequestCtx {
            request_id: new_request_id(),
            started: Instant::now(),
            client,
            parts,
            body: Some(body),
            host,
            stage: None,
            route_path_at: None,
            route: None,
            params: SmallVec::new(),
            integration_latency: None,
            integration_status: None,
        }
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
        self.parts.uri.path().get(self.params.get(i)?.clone())
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
        use std::fmt::Write;
        let stage = self.stage.as_deref();
        match name {
            "requestId" | "extendedRequestId" => out.push_str(&self.request_id),
            "apiId" => out.push_str(stage.map_or("", |s| s.deployment.api_id())),
            "stage" => out.push_str(stage.map_or("", |s| s.stage.as_str())),
            "deploymentId" => out.push_str(stage.map_or("", |s| s.deployment.id().0.as_str())),
            "httpMethod" => out.push_str(self.parts.method.as_str()),
            "path" => out.push_str(self.parts.uri.path()),
            "resourcePath" => out.push_str(
                self.compiled_route()
                    .map_or("", |r| r.resource_path.as_str()),
            ),
            "routeKey" => out.push_str(self.compiled_route().map_or("", |r| r.key.as_str())),
            "domainName" => out.push_str(&self.host),
            "domainPrefix" => out.push_str(self.host.split('.').next().unwrap_or("")),
            "protocol" => {
                let _ = write!(out, "{:?}", self.parts.version);
            }
            "requestTime" | "requestTimeEpoch" => {
                let ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                let _ = write!(out, "{ms}");
            }
            "identity.sourceIp" => {
                let _ = write!(out, "{}", self.client.ip());
            }
            "identity.userAgent" => out.push_str(
                self.parts
                    .headers
                    .get(http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            ),
            _ => {}
        }
    }
}

/// A random (version 4) UUID.
fn new_request_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        const HEX: &[u8; 16] = b"0123456789abcdef";
        s.push(HEX[(byte >> 4) as usize] as char);
        s.push(HEX[(byte & 15) as usize] as char);
    }
    s
}
