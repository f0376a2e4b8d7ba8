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
        let keyed = keyed();
        let Some(mac) = &keyed.mac else {
            authorizer::error("no `secret` configured: denying everything");
            return Decision::deny("", "authorizer is not configured");
        };
        if !signature_ok(mac.clone(), payload, signature) {
            authorizer::log(
                Level::Warn,
                "bad token signature",
                &[("request-id", &req.request_id)],
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
        let ttl = keyed.ttl;
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

/// What the plugin's config says, read once per instance: the MAC keyed with the secret
/// (its padded-key state: two of the four SHA-256 blocks a check hashes) and the TTL. The
/// config is fixed for an instance's life (a new config is a new deployment, with new
/// instances), so an instance the node reuses pays for this once.
struct Keyed {
    mac: Option<Hmac<Sha256>>,
    ttl: u32,
}

fn keyed() -> &'static Keyed {
    static KEYED: std::sync::OnceLock<Keyed> = std::sync::OnceLock::new();
    KEYED.get_or_init(|| Keyed {
        mac: authorizer::config("secret")
            .and_then(|secret| Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()),
        ttl: authorizer::config("ttl")
            .and_then(|t| t.parse().ok())
            .unwrap_or(300),
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
