//! What an edge vouches for to the region it forwards to: who the client is, and the
//! route authorizer's allow, so the region does not ask the same authorizer again (Envoy's
//! ext_authz headers, made unforgeable).
//!
//! An edge node adds `x-causeway-edge-auth: v2.{payload}.{mac}` to every request it
//! forwards: the client's address and whether it came over TLS (so the region's
//! `$context.identity.sourceIp`, authorizer facts and access logs name the client, not the
//! edge, as API Gateway's edge-optimized endpoints do, and integrations get
//! `X-Forwarded-Proto: https`), the certificate a client proved to a mutual-TLS domain at
//! the edge (DER; the region reads `$context.identity.clientCert` from it) and, when the route's authorizer allowed the request (a WASM
//! authorizer or a valid JWT), that decision (principal, context, usage key, JWT claims and
//! scopes) with the deployment the edge decided on. All of it is bound to the request's
//! method, host, path and query and a 30-second expiry, MessagePack in base64url, signed
//! with HMAC-SHA256 under a key only the edge and its mesh peers know (each edge makes a
//! random one at start and shares it over the mTLS mesh as `edge/{node}`).
//!
//! A region takes the assertion only when all of it holds: a key it has from the named
//! edge, a valid MAC, the same method, host and path, not expired; and the decision only
//! for a route of the same deployment. Anything else (a client's forgery, a stale deploy,
//! skewed clocks, an edge it has no key from yet) is ignored and the region serves the
//! request as if the header were absent, so trusting the edge can make a request faster,
//! never let one through that the region's own authorizer would refuse for another
//! request. The header is taken off every request before any phase sees it, so it never
//! reaches an integration, a mapper or a log.

use std::sync::Arc;

use arc_swap::{ArcSwap, ArcSwapOption};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::context::{Peer, RequestCtx};
use crate::jwt::JwtIdentity;

/// The header an edge's assertion travels in.
pub(crate) static HEADER: HeaderName = HeaderName::from_static("x-causeway-edge-auth");

/// How long an assertion is good for after the edge made it (nodes' clocks must agree to
/// within this, or regions authorize again).
const LIFETIME_MS: u64 = 30_000;

/// Assertions larger than this are not sent (the region authorizes itself): the header
/// must leave room in the region's 10,240-byte request head.
const MAX_HEADER_BYTES: usize = 4096;

/// v1 (the first release) named every field; its assertions are ignored (the region
/// authorizes itself).
const VERSION: &str = "v2";

type HmacSha256 = Hmac<Sha256>;

/// What a region learns from an edge.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Assertion {
    /// The signing edge's node id.
    edge: String,
    /// Expiry, Unix milliseconds.
    exp: u64,
    method: String,
    host: String,
    path: String,
    /// The client's IP address, as text.
    client: String,
    /// Whether the client came over TLS.
    https: bool,
    /// The route authorizer's allow, when there was one.
    decision: Option<Vouched>,
    /// The client certificate the client proved to a mutual-TLS domain at the edge:
    /// (the domain, the certificate's DER). Absent from older edges' assertions.
    #[serde(default)]
    client_cert: Option<(String, serde_bytes::ByteBuf)>,
}

/// An authorizer's allow, made at the edge for a route of `deployment`.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Vouched {
    deployment: String,
    principal: Option<String>,
    context: Vec<(String, String)>,
    usage_key: Option<String>,
    claims: Option<serde_json::Map<String, serde_json::Value>>,
    scopes: Option<Vec<String>>,
}

/// This node's signing key (as an edge) and the edges' keys it trusts (as a region).
#[derive(Default)]
pub(crate) struct EdgeTrust {
    signer: ArcSwapOption<(String, HmacSha256)>,
    /// Each MAC already keyed (the key's two hash blocks done once, not per request).
    keys: ArcSwap<hashbrown::HashMap<String, HmacSha256>>,
}

/// Names the edges, never a key.
impl std::fmt::Debug for EdgeTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let signer = self.signer.load();
        let keys = self.keys.load();
        f.debug_struct("EdgeTrust")
            .field("signs_as", &signer.as_ref().map(|s| s.0.as_str()))
            .field("trusts", &keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl EdgeTrust {
    /// Sign this node's allows with `key`, as edge `node`.
    pub(crate) fn set_signer(&self, node: &str, key: &[u8]) {
        self.signer
            .store(Some(Arc::new((node.to_owned(), keyed(key)))));
    }

    /// Trust edge `node`'s assertions made with `key` (replacing an older key).
    pub(crate) fn trust(&self, node: &str, key: &[u8]) {
        let mac = keyed(key);
        self.keys.rcu(|keys| {
            let mut keys = (**keys).clone();
            keys.insert(node.to_owned(), mac.clone());
            keys
        });
    }

    /// What this edge vouches for about a request it forwards (`None`: no signing key, or
    /// too large to send, so the region decides alone): the client, and the route
    /// authorizer's allow when there was one.
    pub(crate) fn sign(&self, ctx: &RequestCtx, now_ms: u64) -> Option<HeaderValue> {
        let signer = self.signer.load_full()?;
        let decision = match (ctx.stage.as_deref(), ctx.authorizer_context.as_deref()) {
            (Some(stage), Some(context)) => Some(Vouched {
                deployment: stage.deployment.id().0.clone(),
                principal: ctx.principal_id.as_deref().map(str::to_owned),
                context: context.to_vec(),
                usage_key: ctx.usage_key.as_deref().map(str::to_owned),
                claims: ctx.jwt.as_ref().map(|j| j.claims.clone()),
                scopes: ctx.jwt.as_ref().and_then(|j| j.scopes.clone()),
            }),
            _ => None,
        };
        let assertion = Assertion {
            edge: signer.0.clone(),
            exp: now_ms + LIFETIME_MS,
            method: ctx.parts.method.as_str().to_owned(),
            host: ctx.host.to_string(),
            path: path_of(ctx).to_owned(),
            // The peer's address text, made once per connection.
            client: ctx.client_ip.to_str().unwrap_or_default().to_owned(),
            https: ctx.https,
            decision,
            client_cert: ctx.tls_client.as_ref().map(|c| {
                (
                    c.domain.to_string(),
                    serde_bytes::ByteBuf::from(c.cert.der.clone()),
                )
            }),
        };
        let value = encode(&assertion, signer.1.clone())?;
        if value.len() > MAX_HEADER_BYTES {
            return None;
        }
        HeaderValue::from_str(&value).ok()
    }

    /// Takes what the request's edge vouches for, when its assertion is for exactly this
    /// request (see the module documentation): the client's address and scheme now, the
    /// decision kept for the authorizer phase ([`take_decision`]).
    pub(crate) fn open(&self, ctx: &mut RequestCtx, now_ms: u64) {
        let Some(header) = ctx.edge_assertion.take() else {
            return;
        };
        let request = Request {
            method: ctx.parts.method.as_str(),
            host: &ctx.host,
            path: path_of(ctx),
        };
        let Some((a, _)) = self.checked(&header, &request, now_ms) else {
            return;
        };
        ctx.source_ip = HeaderValue::from_str(&a.client).ok();
        ctx.https = a.https;
        ctx.edge_decision = a.decision.map(Box::new);
        ctx.tls_client = a.client_cert.as_ref().and_then(vouched_client);
    }

    /// The client an edge forwarded a WebSocket handshake for, when `header` vouches for
    /// exactly this request (the handshake does not run the pipeline's phases).
    pub(crate) fn client_of(
        &self,
        header: &HeaderValue,
        parts: &http::request::Parts,
        host: &str,
        now_ms: u64,
        peer: &Peer,
    ) -> Option<Peer> {
        let path = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path(), |p| p.as_str());
        let request = Request {
            method: parts.method.as_str(),
            host,
            path,
        };
        let (a, ip) = self.checked(header, &request, now_ms)?;
        let client = Peer::new(std::net::SocketAddr::new(ip, peer.addr.port()));
        Some(if a.https {
            client.over_tls(a.client_cert.as_ref().and_then(vouched_client))
        } else {
            client
        })
    }

    /// The assertion in `header` and the client it names, when it checks out and was made
    /// for `request` (and is fresh).
    fn checked(
        &self,
        header: &HeaderValue,
        request: &Request<'_>,
        now_ms: u64,
    ) -> Option<(Assertion, std::net::IpAddr)> {
        let a = self.verify(header)?;
        let ip = a.client.parse().ok()?;
        a.binds(request, now_ms).then_some((a, ip))
    }

    /// The assertion in `header` when its MAC checks out under its edge's key.
    fn verify(&self, header: &HeaderValue) -> Option<Assertion> {
        let text = header.to_str().ok()?;
        let (signed, mac) = text.rsplit_once('.')?;
        let payload = signed.strip_prefix(VERSION)?.strip_prefix('.')?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let assertion: Assertion = rmp_serde::from_slice(&bytes).ok()?;
        let mut check = self.keys.load().get(&assertion.edge)?.clone();
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        check.update(signed.as_bytes());
        check.verify_slice(&mac).ok()?;
        Some(assertion)
    }
}

/// What an assertion must name to be taken for a request.
struct Request<'a> {
    method: &'a str,
    host: &'a str,
    path: &'a str,
}

/// The client certificate an edge vouches for (already verified there against the
/// domain's truststore; the assertion's MAC makes it the edge's word).
fn vouched_client(
    (domain, der): &(String, serde_bytes::ByteBuf),
) -> Option<Arc<crate::peer::TlsClient>> {
    let cert = crate::peer::ClientCert::from_der(der)?;
    Some(Arc::new(crate::peer::TlsClient {
        domain: domain.as_str().into(),
        cert,
    }))
}

impl Assertion {
    /// Made for exactly this request, and neither expired nor from too far ahead.
    fn binds(&self, r: &Request<'_>, now_ms: u64) -> bool {
        self.exp >= now_ms
            && self.exp <= now_ms + 2 * LIFETIME_MS
            && self.method == r.method
            && self.host == r.host
            && self.path == r.path
    }
}

/// Hands the edge's allow to the request in place of the route authorizer's call, when the
/// edge decided on the deployment this request is served by. `false`: authorize as usual.
pub(crate) fn take_decision(ctx: &mut RequestCtx) -> bool {
    let Some(d) = ctx.edge_decision.take().map(|d| *d) else {
        return false;
    };
    let same = ctx
        .stage
        .as_deref()
        .is_some_and(|s| s.deployment.id().0 == d.deployment);
    if !same {
        return false;
    }
    ctx.principal_id = d.principal.map(Arc::from);
    ctx.authorizer_context = Some(d.context.into());
    ctx.usage_key = d.usage_key.map(Arc::from);
    ctx.jwt = d.claims.map(|claims| {
        Arc::new(JwtIdentity {
            claims,
            scopes: d.scopes,
        })
    });
    true
}

/// The request target the assertion is bound to: path and query as received.
fn path_of(ctx: &RequestCtx) -> &str {
    ctx.parts
        .uri
        .path_and_query()
        .map_or_else(|| ctx.parts.uri.path(), |p| p.as_str())
}

/// A MAC keyed with `key` (HMAC takes a key of any length).
fn keyed(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as hmac::digest::KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"))
}

/// `v2.{payload}.{mac}`: the assertion as a MessagePack array (fields by position, no
/// names to hash, encode and send), signed with `mac`.
fn encode(assertion: &Assertion, mut mac: HmacSha256) -> Option<String> {
    let bytes = rmp_serde::to_vec(assertion).ok()?;
    let mut signed = format!("{VERSION}.{}", URL_SAFE_NO_PAD.encode(bytes));
    mac.update(signed.as_bytes());
    let tag = mac.finalize().into_bytes();
    signed.push('.');
    signed.push_str(&URL_SAFE_NO_PAD.encode(tag));
    Some(signed)
}

#[cfg(test)]
mod tests;
