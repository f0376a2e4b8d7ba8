//! A parsed JSON Web Key Set: every usable signing key by `kid`, its [`DecodingKey`] built
//! once, and the algorithms it may verify (bound by key type and curve, and narrowed by the
//! key's own `alg`), so a token can never pick an algorithm its key was not made for.

use std::collections::HashMap;
use std::sync::Arc;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

/// One verification key.
#[derive(Clone)]
pub struct Key {
    pub(crate) decoding: DecodingKey,
    /// Algorithms this key verifies.
    pub(crate) algorithms: &'static [Algorithm],
    /// The key's `alg`, when the set names one.
    pub(crate) alg: Option<Algorithm>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("algorithms", &self.algorithms)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// Whether this key may verify a token signed with `alg`.
    pub(crate) fn accepts(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(&alg) && self.alg.is_none_or(|a| a == alg)
    }
}

/// Signing keys by `kid`.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, Arc<Key>>,
}

const RSA: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

impl KeySet {
    /// Parse a JWKS (`{"keys": [...]}`). Keys that cannot verify JWT signatures here
    /// (encryption keys, symmetric keys, unknown types or curves, no `kid`, bad numbers) are
    /// skipped, each with the reason in the second list. Only a document that is not a JWKS
    /// at all is an error.
    pub fn parse(json: &[u8]) -> Result<(KeySet, Vec<String>), String> {
        let doc: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| format!("the key set is not JSON: {e}"))?;
        let Some(list) = doc.get("keys").and_then(|k| k.as_array()) else {
            return Err("the key set has no `keys` array".to_owned());
        };
        let mut set = KeySet::default();
        let mut skipped = Vec::new();
        for (i, raw) in list.iter().enumerate() {
            match key(raw) {
                Ok((kid, k)) => {
                    if set.keys.insert(kid.clone(), Arc::new(k)).is_some() {
                        skipped.push(format!(
                            "keys[{i}]: `kid` {kid:?} appears twice; the last one is used"
                        ));
                    }
                }
                Err(why) => skipped.push(format!("keys[{i}]: {why}")),
            }
        }
        Ok((set, skipped))
    }

    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&Arc<Key>> {
        self.keys.get(kid)
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is usable.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn key(raw: &serde_json::Value) -> Result<(String, Key), String> {
    let jwk: Jwk = serde_json::from_value(raw.clone()).map_err(|e| format!("not a JWK: {e}"))?;
    let kid = jwk
        .common
        .key_id
        .clone()
        .filter(|k| !k.is_empty())
        .ok_or("no `kid` (tokens name their key by `kid`)")?;
    if let Some(u) = &jwk.common.public_key_use
        && *u != PublicKeyUse::Signature
    {
        return Err(format!("`{kid}` is not a signing key (`use` is not `sig`)"));
    }
    let algorithms: &'static [Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => RSA,
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => &[Algorithm::ES256],
            EllipticCurve::P384 => &[Algorithm::ES384],
            _ => {
                return Err(format!(
                    "`{kid}`: only P-256 and P-384 EC keys are supported"
                ));
            }
        },
        AlgorithmParameters::OctetKeyPair(p) => match p.curve {
            EllipticCurve::Ed25519 => &[Algorithm::EdDSA],
            _ => return Err(format!("`{kid}`: only Ed25519 OKP keys are supported")),
        },
        AlgorithmParameters::OctetKey(_) => {
            return Err(format!(
                "`{kid}` is a symmetric key; only public keys are accepted"
            ));
        }
        _ => return Err(format!("`{kid}` has an unsupported key type")),
    };
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(a) => Some(
            Algorithm::try_from(a)
                .ok()
                .filter(|a| algorithms.contains(a))
                .ok_or_else(|| format!("`{kid}`: `alg` {a} does not fit its key type"))?,
        ),
    };
    let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| format!("`{kid}`: {e}"))?;
    Ok((
        kid,
        Key {
            decoding,
            algorithms,
            alg,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_keys_are_skipped_with_reasons() {
        let json = br#"{"keys": [
            {"kty": "oct", "kid": "s", "k": "c2VjcmV0"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "kid": "p521", "crv": "P-521", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "wrong-alg", "alg": "ES256", "n": "AQAB", "e": "AQAB"},
            {"kty": "XYZ", "kid": "odd"},
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
        ]}"#;
        let (set, skipped) = KeySet::parse(json).expect("a JWKS");
        assert_eq!(set.len(), 1, "{skipped:?}");
        assert_eq!(skipped.len(), 6, "{skipped:?}");
        let ed = set.get("ed").expect("ed key");
        assert!(ed.accepts(Algorithm::EdDSA) && !ed.accepts(Algorithm::RS256));
        assert!(KeySet::parse(b"[]").is_err());
        assert!(KeySet::parse(b"{not json").is_err());
    }
}
