//! An edge's allow, vouched for to the region it forwards to, so the region does not ask
//! the same authorizer again (Envoy's ext_authz headers, made unforgeable).
//!
//! An edge node that authorized a request (a WASM authorizer's allow or a valid JWT) adds
//! `x-causeway-edge-auth: v1.{payload}.{mac}`: the decision (principal, context, usage
//! key, JWT claims and scopes) bound to the request's method, host and path, the
//! deployment the edge decided on and a 30-second expiry, MessagePack in base64url,
//! signed with HMAC-SHA256 under a key only the edge and its mesh peers know (each edge
//! makes a random one at start and shares it over the mTLS mesh as `edge/{node}`).
//!
//! A region takes the assertion instead of calling the route's authorizer only when all
//! of it holds: a key it has from the named edge, a valid MAC, the same method, host,
//! path and deployment, not expired. Anything else (a client's forgery, a stale deploy,
//! skewed clocks, an edge it has no key from yet) is ignored and the region authorizes
//! as if the header were absent, so trusting the edge can make a request faster, never
//! let one through that the region's own authorizer would refuse for another request.
//! The header is taken off every request before any phase sees it, so it never reaches
//! an integration, a mapper or a log.

use std::sync::Arc;

use arc_swap::{ArcSwap, ArcSwapOption};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::context::RequestCtx;
use crate::jwt::JwtIdentity;

/// The header an edge's assertion travels in.
pub(crate) static HEADER: HeaderName = HeaderName::from_static("x-causeway-edge-auth");

/// How long an assertion is good for after the edge made it (nodes' clocks must agree to
/// within this, or regions authorize again).
const LIFETIME_MS: u64 = 30_000;

/// Assertions larger than this are not sent (the region authorizes itself): the header
/// must leave room in the region's 10,240-byte request head.
const MAX_HEADER_BYTES: usize = 4096;

const VERSION: &str = "v1";

type HmacSha256 = Hmac<Sha256>;

/// What a region learns from an edge.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Assertion {
    /// The signing edge's node id.
    edge: String,
    /// Expiry, Unix milliseconds.
    exp: u64,
    deployment: String,
    method: String,
    host: String,
    path: String,
    principal: Option<String>,
    context: Vec<(String, String)>,
    usage_key: Option<String>,
    claims: Option<serde_json::Map<String, serde_json::Value>>,
    scopes: Option<Vec<String>>,
}

/// This node's signing key (as an edge) and the edges' keys it trusts (as a region).
#[derive(Default)]
pub(crate) struct EdgeTrust {
    signer: ArcSwapOption<(String, Vec<u8>)>,
    keys: ArcSwap<hashbrown::HashMap<String, Arc<[u8]>>>,
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
            .store(Some(Arc::new((node.to_owned(), key.to_vec()))));
    }

    /// Trust edge `node`'s assertions made with `key` (replacing an older key).
    pub(crate) fn trust(&self, node: &str, key: &[u8]) {
        self.keys.rcu(|keys| {
            let mut keys = (**keys).clone();
            keys.insert(node.to_owned(), Arc::from(key));
            keys
        });
    }

    /// The assertion for a request this edge authorized (`None`: no signing key, no allow
    /// to vouch for, or too large to send).
    pub(crate) fn sign(&self, ctx: &RequestCtx, now_ms: u64) -> Option<HeaderValue> {
        let signer = self.signer.load_full()?;
        let stage = ctx.stage.as_deref()?;
        let context = ctx.authorizer_context.as_deref()?;
        let assertion = Assertion {
            edge: signer.0.clone(),
            exp: now_ms + LIFETIME_MS,
            deployment: stage.deployment.id().0.clone(),
            method: ctx.parts.method.as_str().to_owned(),
            host: ctx.host.to_string(),
            path: path_of(ctx).to_owned(),
            principal: ctx.principal_id.as_deref().map(str::to_owned),
            context: context.to_vec(),
            usage_key: ctx.usage_key.as_deref().map(str::to_owned),
            claims: ctx.jwt.as_ref().map(|j| j.claims.clone()),
            scopes: ctx.jwt.as_ref().and_then(|j| j.scopes.clone()),
        };
        let value = encode(&assertion, &signer.1)?;
        if value.len() > MAX_HEADER_BYTES {
            return None;
        }
        HeaderValue::from_str(&value).ok()
    }

    /// Hands the edge's decision to the request when `header` vouches for exactly this
    /// request (see the module documentation); `false`: authorize as without it.
    pub(crate) fn admit(&self, ctx: &mut RequestCtx, header: &HeaderValue, now_ms: u64) -> bool {
        let Some(a) = self.verify(header) else {
            return false;
        };
        let Some(stage) = ctx.stage.as_deref() else {
            return false;
        };
        let request = Request {
            deployment: &stage.deployment.id().0,
            method: ctx.parts.method.as_str(),
            host: &ctx.host,
            path: path_of(ctx),
        };
        if !a.binds(&request, now_ms) {
            return false;
        }
        ctx.principal_id = a.principal.map(Arc::from);
        ctx.authorizer_context = Some(a.context.into());
        ctx.usage_key = a.usage_key.map(Arc::from);
        ctx.jwt = a.claims.map(|claims| {
            Arc::new(JwtIdentity {
                claims,
                scopes: a.scopes,
            })
        });
        true
    }

    /// The assertion in `header` when its MAC checks out under its edge's key.
    fn verify(&self, header: &HeaderValue) -> Option<Assertion> {
        let text = header.to_str().ok()?;
        let (signed, mac) = text.rsplit_once('.')?;
        let payload = signed.strip_prefix(VERSION)?.strip_prefix('.')?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let assertion: Assertion = rmp_serde::from_slice(&bytes).ok()?;
        let keys = self.keys.load();
        let key = keys.get(&assertion.edge)?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        let mut check = HmacSha256::new_from_slice(key).ok()?;
        check.update(signed.as_bytes());
        check.verify_slice(&mac).ok()?;
        Some(assertion)
    }
}

/// What an assertion must name to be taken for a request.
struct Request<'a> {
    deployment: &'a str,
    method: &'a str,
    host: &'a str,
    path: &'a str,
}

impl Assertion {
    /// Made for exactly this request, and neither expired nor from too far ahead.
    fn binds(&self, r: &Request<'_>, now_ms: u64) -> bool {
        self.exp >= now_ms
            && self.exp <= now_ms + 2 * LIFETIME_MS
            && self.deployment == r.deployment
            && self.method == r.method
            && self.host == r.host
            && self.path == r.path
    }
}

/// The request target the assertion is bound to: path and query as received.
fn path_of(ctx: &RequestCtx) -> &str {
    ctx.parts
        .uri
        .path_and_query()
        .map_or_else(|| ctx.parts.uri.path(), |p| p.as_str())
}

fn encode(assertion: &Assertion, key: &[u8]) -> Option<String> {
    let bytes = rmp_serde::to_vec_named(assertion).ok()?;
    let mut signed = format!("{VERSION}.{}", URL_SAFE_NO_PAD.encode(bytes));
    let mut mac = HmacSha256::new_from_slice(key).ok()?;
    mac.update(signed.as_bytes());
    let tag = mac.finalize().into_bytes();
    signed.push('.');
    signed.push_str(&URL_SAFE_NO_PAD.encode(tag));
    Some(signed)
}

#[cfg(test)]
mod tests;
