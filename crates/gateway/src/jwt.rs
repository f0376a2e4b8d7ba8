//! The built-in JWT authorizer of HTTP APIs, as API Gateway's: the token comes from the
//! identity source (with or without `Bearer `); its header's `kid` picks a key from the
//! issuer's JWKS (from a file embedded in the deployment, or a URL fetched and refreshed);
//! the signature is checked with `jsonwebtoken` (RS256/384/512, PS256/384/512, ES256,
//! ES384 and EdDSA, beyond API Gateway's RSA only); then `iss`, `aud` / `client_id`, `exp`,
//! `nbf` and the route's scopes. A bad or missing token answers 401, a good one without a
//! required scope 403; the claims flow on as `$context.authorizer.claims.NAME`, `principalId`
//! (`sub`) and the proxy event's `requestContext.authorizer.jwt`.
//!
//! [`verify`] and the claim checks are sans-IO (they take `now`); only [`remote`] does I/O.

pub mod claims;
pub mod keys;
pub mod remote;

use std::sync::Arc;
use std::time::Duration;

use causeway_model::jwt::{DEFAULT_JWT_IDENTITY_SOURCE, parse_jwt_identity_source};
use causeway_model::{AuthorizerSpec, JwtSpec};
use http::HeaderValue;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

pub use claims::Policy;
pub use keys::{Key, KeySet};

use crate::context::RequestCtx;
use crate::error::{ErrorKind, GatewayError};
use crate::pipeline::Flow;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// No token in the identity source.
    #[error("no token was presented")]
    Missing,
    /// Not a well-formed JWT.
    #[error("the token is malformed")]
    Malformed,
    /// `alg` is not one the authorizer accepts.
    #[error("the token's signing algorithm is not accepted")]
    Algorithm,
    /// No `kid` in the header.
    #[error("the token has no kid")]
    NoKid,
    /// No key with the token's `kid` (or no key set yet).
    #[error("no signing key matches the token's kid")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    Signature,
    /// `iss` is not the issuer.
    #[error("the token does not have a valid issuer")]
    Issuer,
    /// Neither `aud` nor `client_id` names an audience.
    #[error("the token does not have a valid audience")]
    Audience,
    /// `exp` is past.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is ahead.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// A time claim is missing or not a number.
    #[error("the token's {0} claim is missing or invalid")]
    BadClaim(&'static str),
    /// None of the route's scopes.
    #[error("the token does not have a required scope")]
    Scope,
}

/// What a verified token establishes.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// Every claim of the token.
    pub claims: Map<String, Value>,
    /// Its scopes (`scope` or `scp`).
    pub scopes: Vec<String>,
}

/// Signature and claim checks for one authorizer: the accepted algorithms (each with its
/// prepared `jsonwebtoken` validation, which checks only the signature; claims are checked
/// by [`claims::check`]) and the [`Policy`].
#[derive(Debug, Clone)]
pub struct Verifier {
    policy: Policy,
    validations: Vec<(Algorithm, Validation)>,
}

impl Verifier {
    /// A verifier accepting `algorithms` (names as in [`causeway_model::jwt::JWT_ALGORITHMS`];
    /// others are ignored) under `policy`.
    pub fn new(policy: Policy, algorithms: &[String]) -> Verifier {
        let validations = algorithms
            .iter()
            .filter(|a| causeway_model::jwt::JWT_ALGORITHMS.contains(&a.as_str()))
            .filter_map(|a| a.parse::<Algorithm>().ok())
            .map(|alg| {
                let mut v = Validation::new(alg);
                v.required_spec_claims.clear();
                v.validate_exp = false;
                v.validate_nbf = false;
                v.validate_aud = false;
                (alg, v)
            })
            .collect();
        Verifier {
            policy,
            validations,
        }
    }

    /// The accepted algorithm and `kid` of `token`'s header.
    pub fn header(&self, token: &str) -> Result<(Algorithm, String), JwtError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Malformed)?;
        if !self.validations.iter().any(|(a, _)| *a == header.alg) {
            return Err(JwtError::Algorithm);
        }
        let kid = header
            .kid
            .filter(|k| !k.is_empty())
            .ok_or(JwtError::NoKid)?;
        Ok((header.alg, kid))
    }

    /// Verify `token` (signed with `alg`) with `key`, then its claims at `now` (seconds
    /// since the epoch).
    pub fn verify_with(
        &self,
        token: &str,
        alg: Algorithm,
        key: &Key,
        now: u64,
    ) -> Result<Verified, JwtError> {
        let validation = self
            .validations
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, v)| v)
            .ok_or(JwtError::Algorithm)?;
        if !key.accepts(alg) {
            return Err(JwtError::Algorithm);
        }
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                match e.kind() {
                    K::InvalidSignature => JwtError::Signature,
                    K::InvalidAlgorithm => JwtError::Algorithm,
                    _ => JwtError::Malformed,
                }
            })?;
        claims::check(&data.claims, &self.policy, now)?;
        let scopes = claims::scopes(&data.claims);
        Ok(Verified {
            claims: data.claims,
            scopes,
        })
    }
}

/// Verify `token` against a static key set at `now`.
pub fn verify(
    token: &str,
    keys: &KeySet,
    verifier: &Verifier,
    now: u64,
) -> Result<Verified, JwtError> {
    let (alg, kid) = verifier.header(token)?;
    let key = keys.get(&kid).ok_or(JwtError::UnknownKey)?;
    verifier.verify_with(token, alg, key, now)
}

/// Where an authorizer's keys come from.
#[derive(Debug)]
pub(crate) enum KeySource {
    /// Embedded in the deployment (`jwks_file`).
    Static(KeySet),
    /// Fetched (`jwks_url`).
    Remote(Arc<remote::RemoteKeys>),
}

/// One compiled JWT authorizer.
#[derive(Debug)]
pub(crate) struct JwtAuthorizer {
    pub(crate) name: String,
    /// Header name (lowercase) or query parameter holding the token.
    source: TokenSource,
    verifier: Verifier,
    keys: KeySource,
}

#[derive(Debug)]
enum TokenSource {
    Header(String),
    Query(String),
}

/// A route's JWT authorizer and scopes.
#[derive(Debug, Clone)]
pub(crate) struct RouteJwt {
    pub(crate) authorizer: Arc<JwtAuthorizer>,
    pub(crate) scopes: Vec<String>,
}

/// What the request context keeps of a verified token.
#[derive(Debug)]
pub struct JwtIdentity {
    /// Claims as API Gateway passes them on: every value a string.
    pub claims: Map<String, Value>,
    /// The token's scopes when the route requires scopes (API Gateway's `scopes`), else
    /// `None`.
    pub scopes: Option<Vec<String>>,
}

impl JwtAuthorizer {
    /// Compile `spec` (a validated `JWT` authorizer); the error says what is wrong with its
    /// keys and is located by the caller.
    pub(crate) fn new(
        api_id: &str,
        spec: &AuthorizerSpec,
    ) -> Result<JwtAuthorizer, (String, String)> {
        let Some(j) = &spec.jwt else {
            return Err(("jwt".into(), "the JWT settings are missing".into()));
        };
        let src = spec
            .identity_source
            .as_deref()
            .unwrap_or(DEFAULT_JWT_IDENTITY_SOURCE);
        let source = match parse_jwt_identity_source(src) {
            Some(("header", n)) => TokenSource::Header(n.to_ascii_lowercase()),
            Some((_, n)) => TokenSource::Query(n.to_owned()),
            None => {
                return Err((
                    "identity_source".into(),
                    format!("`{src}` is not an identity source"),
                ));
            }
        };
        let policy = Policy {
            issuer: j.issuer.clone(),
            audiences: j.audiences.clone(),
            leeway: u64::from(j.leeway_seconds),
        };
        Ok(JwtAuthorizer {
            name: spec.name.clone(),
            source,
            verifier: Verifier::new(policy, &j.algorithms),
            keys: key_source(api_id, &spec.name, j)?,
        })
    }

    async fn verify(&self, token: &str, now: u64) -> Result<Verified, JwtError> {
        let (alg, kid) = self.verifier.header(token)?;
        let key = match &self.keys {
            KeySource::Static(set) => set.get(&kid).cloned(),
            KeySource::Remote(r) => r.key(&kid).await,
        };
        let key = key.ok_or(JwtError::UnknownKey)?;
        self.verifier.verify_with(token, alg, &key, now)
    }
}

fn key_source(api_id: &str, name: &str, j: &JwtSpec) -> Result<KeySource, (String, String)> {
    let source = match (&j.jwks_url, j.discovery_url()) {
        (Some(url), _) => {
            Some(remote::Source::Jwks(url.parse().map_err(|e| {
                ("jwt.jwks_url".to_owned(), format!("`{url}`: {e}"))
            })?))
        }
        (None, Some(doc)) => Some(remote::Source::Discovery {
            document: doc
                .parse()
                .map_err(|e| ("jwt.issuer".to_owned(), format!("`{doc}`: {e}")))?,
            issuer: j.issuer.clone(),
        }),
        (None, None) => None,
    };
    if let Some(source) = source {
        let tls = crate::tls::client_config_pem(j.jwks_ca.as_deref().map(str::as_bytes))
            .map_err(|e| ("jwt.jwks_ca_file".to_owned(), e))?;
        return Ok(KeySource::Remote(Arc::new(remote::RemoteKeys::new(
            format!("{api_id}/{name}"),
            source,
            Duration::from_secs(u64::from(j.jwks_refresh_seconds)),
            Duration::from_millis(u64::from(j.jwks_timeout_ms)),
            tls,
        ))));
    }
    let at = "jwt.jwks_file".to_owned();
    let text = j.jwks.as_deref().ok_or_else(|| {
        (at.clone(), "the key set was not read from the file; deploy with `causeway deploy`, which embeds it".to_owned())
    })?;
    let (set, skipped) = KeySet::parse(text.as_bytes()).map_err(|e| (at.clone(), e))?;
    if set.is_empty() {
        let why = if skipped.is_empty() {
            "it holds no keys".to_owned()
        } else {
            skipped.join("; ")
        };
        return Err((at, format!("the key set has no usable signing key: {why}")));
    }
    for why in skipped {
        tracing::warn!(api = api_id, authorizer = name, "JWKS key skipped: {why}");
    }
    Ok(KeySource::Static(set))
}

fn token<'a>(ctx: &'a RequestCtx, source: &TokenSource) -> Option<&'a str> {
    let raw = match source {
        TokenSource::Header(n) => ctx.parts.headers.get(n.as_str())?.to_str().ok()?,
        TokenSource::Query(n) => ctx.query_param(n)?,
    };
    let raw = raw.trim();
    if raw.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let t = match raw.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("bearer ") => raw[7..].trim_start(),
        _ => raw,
    };
    (!t.is_empty()).then_some(t)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `WWW-Authenticate` as API Gateway sends it with a JWT authorizer's 401 / 403.
fn challenge(e: &JwtError, scopes: &[String]) -> Option<HeaderValue> {
    let error = if *e == JwtError::Scope {
        "insufficient_scope"
    } else {
        "invalid_token"
    };
    let text = format!(
        "Bearer scope=\"{}\" error=\"{error}\" error_description=\"{e}\"",
        scopes.join(" ")
    );
    HeaderValue::from_str(&text).ok()
}

/// The authorizer phase for a route with a JWT authorizer.
pub(crate) async fn authorize(ctx: &mut RequestCtx, route: &RouteJwt) -> Flow {
    let auth = &route.authorizer;
    let verified = match token(ctx, &auth.source) {
        None => Err(JwtError::Missing),
        Some(t) => auth.verify(t, now_secs()).await,
    };
    let verified = verified.and_then(|v| {
        if claims::has_scope(&v.scopes, &route.scopes) {
            Ok(v)
        } else {
            Err(JwtError::Scope)
        }
    });
    match verified {
        Ok(v) => {
            let claims: Map<String, Value> = v
                .claims
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(claims::claim_string(v))))
                .collect();
            ctx.principal_id = v.claims.get("sub").map(|s| claims::claim_string(s).into());
            ctx.authorizer_context = Some(
                claims
                    .iter()
                    .map(|(k, v)| {
                        (
                            format!("claims.{k}"),
                            v.as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect(),
            );
            let scopes = (!route.scopes.is_empty()).then_some(v.scopes);
            ctx.jwt = Some(Arc::new(JwtIdentity { claims, scopes }));
            Flow::Continue
        }
        Err(e) => {
            tracing::debug!(authorizer = %auth.name, request_id = %ctx.request_id, "JWT refused: {e}");
            let kind = if e == JwtError::Scope {
                ErrorKind::Forbidden
            } else {
                ErrorKind::Unauthorized
            };
            let mut err = GatewayError::new(kind);
            err.www_authenticate = challenge(&e, &route.scopes);
            Flow::Fail(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn hostile_tokens_are_refused_without_panicking() {
        let jwks = include_str!("../../../tests/fixtures/jwt/jwks.json");
        let (keys, _) = KeySet::parse(jwks.as_bytes()).unwrap_or_default();
        assert_eq!(keys.len(), 3);
        let policy = Policy {
            issuer: "i".into(),
            audiences: vec!["a".into()],
            leeway: 0,
        };
        let all: Vec<String> = causeway_model::jwt::JWT_ALGORITHMS
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let v = Verifier::new(policy, &all);
        let payload = b64(r#"{"iss":"i","aud":"a","exp":99999999999}"#);
        let mut tokens: Vec<String> = ["", ".", "..", "a.b.c", "a.b", "é.é.é", "....."]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        for header in [
            r#"{"alg":"RS256","kid":"rsa-1"}"#,
            r#"{"alg":"ES256","kid":"rsa-1"}"#,
            r#"{"alg":"EdDSA","kid":"ec-1"}"#,
            r#"{"alg":"ES384","kid":"ec-1"}"#,
            r#"{"alg":"PS256","kid":"rsa-1"}"#,
            r#"{"alg":"RS256"}"#,
            r#"{"alg":"none","kid":"rsa-1"}"#,
            r#"{"alg":"HS256","kid":"rsa-1"}"#,
            r#"{"alg":"RS256","kid":7}"#,
            r#"{"alg":["RS256"],"kid":"rsa-1"}"#,
            "not json",
        ] {
            for sig in ["", "AAAA", "!!!!", &"A".repeat(5000)] {
                tokens.push(format!("{}.{payload}.{sig}", b64(header)));
                tokens.push(format!("{}.{}.{sig}", b64(header), b64("[1,2]")));
                tokens.push(format!("{}.{}.{sig}", b64(header), b64("null")));
            }
        }
        for t in &tokens {
            assert!(verify(t, &keys, &v, 1_800_000_000).is_err(), "{t}");
        }
    }
}
