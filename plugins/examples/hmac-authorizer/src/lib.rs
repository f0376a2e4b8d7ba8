//! HMAC bearer-token authorizer.
//!
//! Token: `Authorization: Bearer <payload>.<signature>` where `payload` is the base64url
//! (unpadded) JSON claims and `signature` is base64url(HMAC-SHA256(secret, payload)), the
//! secret coming from `config("secret")`. Claims: `sub` (required, the principal), `exp`
//! (optional, Unix seconds), `scope` (optional), `routes` (optional route-id patterns the
//! decision covers) and `ctx` (optional string map copied into the context).
//!
//! No token or a malformed one → `Unauthorized` (401); a bad signature or an expired
//! token → `Deny` (403); otherwise `Allow`, cached for `config("ttl")` seconds (default 300).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use causeway_plugin_sdk::authorizer::{self, Authorizer, AuthorizerRequest, Decision, Level};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: Option<u64>,
    scope: Option<String>,
    #[serde(default)]
    routes: Vec<String>,
    #[serde(default)]
    ctx: BTreeMap<String, String>,
}

struct HmacAuthorizer;

impl Authorizer for HmacAuthorizer {
    fn authorize(req: AuthorizerRequest) -> Decision {
        let Some(token) = req.bearer_token() else {
            return Decision::unauthorized();
        };
        let Some((payload, signature)) = token.split_once('.') else {
            return Decision::unauthorized();
        };
        let Some(secret) = authorizer::config("secret") else {
            authorizer::error("no `secret` configured: denying everything");
            return Decision::deny("", "authorizer is not configured");
        };
        let Some(mac) = keyed_mac(&secret) else {
            return Decision::deny("", "authorizer is not configured");
        };
        if !signature_ok(mac, payload, signature) {
            authorizer::log(
                Level::Warn,
                "bad token signature",
                &[("request-id", &req.request_id())],
            );
            return Decision::deny("", "invalid token signature");
        }
        let Some(claims) = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|json| serde_json::from_slice::<Claims>(&json).ok())
        else {
            return Decision::unauthorized();
        };
        if claims
            .exp
            .is_some_and(|exp| exp.saturating_mul(1000) <= authorizer::now_ms())
        {
            return Decision::deny(claims.sub, "token expired");
        }
        let ttl = authorizer::config("ttl")
            .and_then(|t| t.parse().ok())
            .unwrap_or(300);
        let mut decision = Decision::allow(&claims.sub)
            .with_context("sub", &claims.sub)
            .with_context("authorizer", "hmac")
            .with_ttl(ttl)
            .with_routes(claims.routes);
        if let Some(scope) = claims.scope {
            decision = decision.with_context("scope", scope);
        }
        for (k, v) in claims.ctx {
            decision = decision.with_context(k, v);
        }
        decision
    }
}

/// The MAC keyed with `secret`: its padded-key state (two of the four SHA-256 blocks a
/// check hashes) is kept for the next call on a reused instance, and rebuilt when the
/// secret differs (`config` falls back to the calling stage's variables, which may differ
/// between stages sharing a deployment).
fn keyed_mac(secret: &str) -> Option<Hmac<Sha256>> {
    thread_local! {
        static KEYED: std::cell::RefCell<Option<(String, Hmac<Sha256>)>> =
            const { std::cell::RefCell::new(None) };
    }
    KEYED.with_borrow_mut(|keyed| {
        if let Some((kept, mac)) = keyed.as_ref()
            && kept == secret
        {
            return Some(mac.clone());
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
        *keyed = Some((secret.to_owned(), mac.clone()));
        Some(mac)
    })
}

fn signature_ok(mut mac: Hmac<Sha256>, payload: &str, signature: &str) -> bool {
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    mac.update(payload.as_bytes());
    mac.verify_slice(&signature).is_ok()
}

causeway_plugin_sdk::export_authorizer!(HmacAuthorizer);
