//! Sans-IO claim checks, as API Gateway's JWT authorizer makes them: `iss` equals the
//! issuer; `aud` holds one of the audiences or, without `aud`, `client_id` is one of them;
//! `exp` (required) and `nbf` (when present) against `now` with a leeway; scopes from
//! `scope` (space-separated) or `scp` (array) hold at least one of the route's.

use serde_json::{Map, Value};

use super::JwtError;

/// What a token's claims must satisfy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Required `iss`.
    pub issuer: String,
    /// Accepted `aud` (or `client_id`) values.
    pub audiences: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway: u64,
}

fn number(claims: &Map<String, Value>, name: &'static str) -> Result<Option<f64>, JwtError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|n| n.is_finite())
            .map(Some)
            .ok_or(JwtError::BadClaim(name)),
    }
}

/// Check `iss`, `aud` / `client_id`, `exp` and `nbf` at `now` (seconds since the epoch).
pub fn check(claims: &Map<String, Value>, policy: &Policy, now: u64) -> Result<(), JwtError> {
    if claims.get("iss").and_then(Value::as_str) != Some(policy.issuer.as_str()) {
        return Err(JwtError::Issuer);
    }
    let known = |v: &Value| {
        v.as_str()
            .is_some_and(|a| policy.audiences.iter().any(|x| x == a))
    };
    let audience_ok = match claims.get("aud") {
        Some(Value::Array(list)) => list.iter().any(known),
        Some(v) => known(v),
        None => claims.get("client_id").is_some_and(known),
    };
    if !audience_ok {
        return Err(JwtError::Audience);
    }
    // Whole seconds are what JWTs carry; f64 holds every realistic epoch second exactly.
    #[allow(clippy::cast_precision_loss)]
    let (now, leeway) = (now as f64, policy.leeway as f64);
    let exp = number(claims, "exp")?.ok_or(JwtError::BadClaim("exp"))?;
    if now >= exp + leeway {
        return Err(JwtError::Expired);
    }
    if let Some(nbf) = number(claims, "nbf")?
        && now + leeway < nbf
    {
        return Err(JwtError::NotYetValid);
    }
    Ok(())
}

/// The token's scopes: `scope` split on spaces, else `scp` (an array, or a string split on
/// spaces).
pub fn scopes(claims: &Map<String, Value>) -> Vec<String> {
    let split = |s: &str| s.split_whitespace().map(str::to_owned).collect();
    match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(s)), _) => split(s),
        (_, Some(Value::Array(list))) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        (_, Some(Value::String(s))) => split(s),
        _ => Vec::new(),
    }
}

/// Whether `granted` holds at least one of `required` (no requirement: always).
pub fn has_scope(granted: &[String], required: &[String]) -> bool {
    required.is_empty() || required.iter().any(|r| granted.contains(r))
}

/// A claim as the string API Gateway passes on: strings as they are, numbers and booleans
/// printed, arrays as `[a b c]`, objects as JSON.
pub fn claim_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(claim_string).collect();
            format!("[{}]", inner.join(" "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy() -> Policy {
        Policy {
            issuer: "https://idp".into(),
            audiences: vec!["api".into(), "other".into()],
            leeway: 60,
        }
    }

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn issuer_audience_and_client_id() {
        let ok = |v| check(&claims(v), &policy(), NOW);
        let exp = NOW + 300;
        assert_eq!(
            ok(json!({"iss": "https://idp", "aud": "api", "exp": exp})),
            Ok(())
        );
        assert_eq!(
            ok(json!({"iss": "https://idp", "aud": ["x", "other"], "exp": exp})),
            Ok(())
        );
        assert_eq!(
            ok(json!({"iss": "https://idp", "client_id": "api", "exp": exp})),
            Ok(())
        );
        // `aud` present and wrong: `client_id` does not rescue it.
        assert_eq!(
            ok(json!({"iss": "https://idp", "aud": "x", "client_id": "api", "exp": exp})),
            Err(JwtError::Audience)
        );
        assert_eq!(
            ok(json!({"iss": "https://idp", "exp": exp})),
            Err(JwtError::Audience)
        );
        assert_eq!(
            ok(json!({"iss": "https://evil", "aud": "api", "exp": exp})),
            Err(JwtError::Issuer)
        );
        assert_eq!(ok(json!({"aud": "api", "exp": exp})), Err(JwtError::Issuer));
    }

    #[test]
    fn exp_and_nbf_with_leeway() {
        let at = |exp: Value, nbf: Option<u64>| {
            let mut c = json!({"iss": "https://idp", "aud": "api", "exp": exp});
            if let Some(n) = nbf {
                c["nbf"] = json!(n);
            }
            check(&claims(c), &policy(), NOW)
        };
        assert_eq!(at(json!(NOW - 59), None), Ok(()), "within the 60 s leeway");
        assert_eq!(at(json!(NOW - 60), None), Err(JwtError::Expired));
        assert_eq!(at(json!(NOW + 10), Some(NOW + 60)), Ok(()));
        assert_eq!(
            at(json!(NOW + 999), Some(NOW + 61)),
            Err(JwtError::NotYetValid)
        );
        assert_eq!(at(json!("soon"), None), Err(JwtError::BadClaim("exp")));
        let no_exp = claims(json!({"iss": "https://idp", "aud": "api"}));
        assert_eq!(
            check(&no_exp, &policy(), NOW),
            Err(JwtError::BadClaim("exp"))
        );
    }

    #[test]
    fn scopes_from_scope_or_scp() {
        let s = scopes(&claims(json!({"scope": "pets:read  pets:write"})));
        assert_eq!(s, ["pets:read", "pets:write"]);
        let s = scopes(&claims(json!({"scp": ["a", 1, "b"]})));
        assert_eq!(s, ["a", "b"]);
        assert!(scopes(&claims(json!({}))).is_empty());
        assert!(has_scope(&s, &[]));
        assert!(has_scope(&s, &["z".into(), "b".into()]));
        assert!(!has_scope(&s, &["z".into()]));
    }

    #[test]
    fn claims_render_as_api_gateway_does() {
        assert_eq!(claim_string(&json!("x")), "x");
        assert_eq!(claim_string(&json!(12)), "12");
        assert_eq!(claim_string(&json!(true)), "true");
        assert_eq!(claim_string(&json!(["admin", "ops"])), "[admin ops]");
        assert_eq!(claim_string(&json!({"a": 1})), "{\"a\":1}");
    }
}
