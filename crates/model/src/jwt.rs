//! The built-in JWT authorizer of HTTP APIs (API Gateway's `JWT` authorizer type): issuer,
//! audiences and where the signing keys (a JWKS) come from, its checks, and the loader step
//! that embeds a `jwks_file` into the definition (so the key set travels with, and is part
//! of the content address of, the deployment).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ConfigError;
use crate::api::{ApiSpec, ApiType};
use crate::plugin::{AuthorizerSpec, AuthorizerType};

/// The identity source of a JWT authorizer when none is given.
pub const DEFAULT_JWT_IDENTITY_SOURCE: &str = "$request.header.Authorization";
/// Largest key set read from a file or fetched from a URL.
pub const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// Signature algorithms a JWT authorizer can accept. Symmetric (`HS*`) algorithms are not
/// among them: a JWKS publishes public keys.
pub const JWT_ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// Settings of a `type = "JWT"` authorizer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtSpec {
    /// The token's `iss` must equal this.
    pub issuer: String,
    /// The token's `aud` must contain one of these; a token without `aud` must carry a
    /// `client_id` equal to one of them (API Gateway's rule).
    pub audiences: Vec<String>,
    /// A JWKS file, relative to the config directory, read when the config is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_file: Option<String>,
    /// A JWKS URL (`https://` or `http://`), fetched on first use and refreshed. With
    /// neither this nor `jwks_file`, an `http(s)://` issuer's keys are found by OIDC
    /// discovery: `{issuer}/.well-known/openid-configuration` names the `jwks_uri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    /// For an `https://` `jwks_url` served with a private CA: a PEM file of the CA
    /// certificates to trust besides the public web PKI's roots, relative to the config
    /// directory, read when the config is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_ca_file: Option<String>,
    /// The certificates read from `jwks_ca_file` (PEM text). Filled in when the config is
    /// loaded; leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_ca: Option<String>,
    /// The key set read from `jwks_file` (JSON text). Filled in when the config is loaded;
    /// leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<String>,
    /// How often a `jwks_url` is fetched again (1..=86400 s, default 600). An unknown `kid`
    /// also triggers a fetch, at most once every 5 seconds.
    #[serde(default = "default_refresh")]
    pub jwks_refresh_seconds: u32,
    /// Deadline of one JWKS fetch, connect to last byte (100..=10000 ms, default 5000).
    #[serde(default = "default_fetch_timeout")]
    pub jwks_timeout_ms: u32,
    /// Accepted `alg` values (default RS256, ES256, EdDSA); see [`JWT_ALGORITHMS`].
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf` (0..=300 s, default 60).
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u32,
}

impl JwtSpec {
    /// Whether the keys are found by OIDC discovery: neither `jwks_file` nor `jwks_url`
    /// is given and the issuer is an `http(s)://` URL (API Gateway's rule for JWT
    /// authorizers).
    pub fn discovers(&self) -> bool {
        self.jwks_file.is_none()
            && self.jwks_url.is_none()
            && self.issuer.parse::<http_like::Url>().is_ok()
    }

    /// The discovery document's URL: `{issuer}/.well-known/openid-configuration`, when the
    /// keys are found by discovery.
    pub fn discovery_url(&self) -> Option<String> {
        self.discovers().then(|| {
            format!(
                "{}/.well-known/openid-configuration",
                self.issuer.trim_end_matches('/')
            )
        })
    }

    /// The first URL fetched for the keys: the `jwks_url` or the discovery document.
    fn fetch_url(&self) -> Option<String> {
        self.jwks_url.clone().or_else(|| self.discovery_url())
    }
}

fn default_refresh() -> u32 {
    600
}
fn default_fetch_timeout() -> u32 {
    5_000
}
fn default_algorithms() -> Vec<String> {
    ["RS256", "ES256", "EdDSA"].map(str::to_owned).to_vec()
}
fn default_leeway() -> u32 {
    60
}

/// `$request.header.NAME` / `$request.querystring.NAME` → (`header`|`querystring`, NAME).
pub fn parse_jwt_identity_source(s: &str) -> Option<(&str, &str)> {
    let (loc, name) = s.strip_prefix("$request.")?.split_once('.')?;
    (matches!(loc, "header" | "querystring") && !name.is_empty()).then_some((loc, name))
}

/// Whether `text` is a JSON object with a `keys` array (the shape of a JWKS).
fn jwks_shape(text: &str) -> Result<(), String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("it is not JSON: {e}"))?;
    match v.get("keys") {
        Some(serde_json::Value::Array(_)) => Ok(()),
        _ => Err("it is not a JWKS: expected an object with a `keys` array".to_owned()),
    }
}

/// Checks of one authorizer's JWT settings (and of JWT-only fields on other authorizers),
/// as (field, message) pairs relative to `at` (`authorizers[i]`).
pub(crate) fn check_authorizer(
    api_kind: ApiType,
    at: &str,
    a: &AuthorizerSpec,
) -> Vec<(String, String)> {
    let mut errs = Vec::new();
    let mut err = |f: &str, m: String| errs.push((format!("{at}{f}"), m));
    if a.kind != AuthorizerType::Jwt {
        if a.jwt.is_some() {
            err(
                ".jwt",
                "`jwt` settings belong to a `type = \"JWT\"` authorizer".into(),
            );
        }
        if a.identity_source.is_some() {
            err(
                ".identity_source",
                "a TOKEN or REQUEST authorizer lists `identity_sources`".into(),
            );
        }
        return errs;
    }
    if api_kind == ApiType::Rest {
        err(
            ".type",
            "JWT authorizers are for HTTP APIs; on a REST API use a TOKEN or REQUEST authorizer backed by a plugin".into(),
        );
    }
    if a.plugin.is_some() {
        err(
            ".plugin",
            "a JWT authorizer is built in and takes no plugin".into(),
        );
    }
    if !a.identity_sources.is_empty() {
        err(
            ".identity_sources",
            "a JWT authorizer has one `identity_source` (default `$request.header.Authorization`)"
                .into(),
        );
    }
    if let Some(src) = &a.identity_source
        && parse_jwt_identity_source(src).is_none()
    {
        err(
            ".identity_source",
            format!("`{src}`: use `$request.header.NAME` or `$request.querystring.NAME`"),
        );
    }
    let Some(j) = &a.jwt else {
        err(
            ".jwt",
            "a JWT authorizer needs `jwt = { issuer = \"…\", audiences = [\"…\"] }` (keys by OIDC discovery from an https issuer, or `jwks_file` / `jwks_url`)".into(),
        );
        return errs;
    };
    if j.issuer.is_empty() {
        err(
            ".jwt.issuer",
            "name the issuer the token's `iss` must equal".into(),
        );
    }
    if j.audiences.is_empty() || j.audiences.iter().any(String::is_empty) {
        err(
            ".jwt.audiences",
            "list at least one audience (matched against `aud`, or `client_id` when a token has no `aud`)".into(),
        );
    }
    match (&j.jwks_file, &j.jwks_url) {
        (Some(_), Some(_)) => err(
            ".jwt",
            "give one of `jwks_file` (read at load) and `jwks_url` (fetched and refreshed), not both"
                .into(),
        ),
        (None, None) if !j.discovers() => err(
            ".jwt",
            format!(
                "say where the signing keys are: `jwks_file` (read at load), `jwks_url` (fetched and refreshed), or an `issuer` URL serving `/.well-known/openid-configuration` (OIDC discovery; `{}` is not an http(s) URL)",
                j.issuer
            ),
        ),
        (Some(f), None) if f.is_empty() => {
            err(
                ".jwt.jwks_file",
                "name the JWKS file, e.g. `keys.json`".into(),
            );
        }
        (None, Some(u)) => {
            if u.parse::<http_like::Url>().is_err() {
                err(
                    ".jwt.jwks_url",
                    format!("`{u}` is not an absolute `https://host[:port]/path` URL"),
                );
            }
            if j.jwks.is_some() {
                err(
                    ".jwt.jwks",
                    "`jwks` is filled in from `jwks_file`; remove it".into(),
                );
            }
        }
        _ => {}
    }
    if j.jwks_ca_file.is_some() && !j.fetch_url().is_some_and(|u| u.starts_with("https://")) {
        err(
            ".jwt.jwks_ca_file",
            "a CA file is for an `https://` `jwks_url` (or discovery `issuer`); remove it or use an https URL".into(),
        );
    }
    if j.jwks_ca.is_some() && j.jwks_ca_file.is_none() {
        err(
            ".jwt.jwks_ca",
            "`jwks_ca` is filled in from `jwks_ca_file`; remove it".into(),
        );
    }
    if let Some(text) = &j.jwks {
        if text.len() > MAX_JWKS_BYTES {
            err(
                ".jwt.jwks",
                format!("the key set is over {MAX_JWKS_BYTES} bytes"),
            );
        } else if let Err(e) = jwks_shape(text) {
            err(".jwt.jwks", e);
        }
    }
    if !(1..=86_400).contains(&j.jwks_refresh_seconds) {
        err(".jwt.jwks_refresh_seconds", "use 1..=86400 seconds".into());
    }
    if !(100..=10_000).contains(&j.jwks_timeout_ms) {
        err(
            ".jwt.jwks_timeout_ms",
            "use 100..=10000 milliseconds".into(),
        );
    }
    if j.leeway_seconds > 300 {
        err(".jwt.leeway_seconds", "use 0..=300 seconds".into());
    }
    if j.algorithms.is_empty() {
        err(
            ".jwt.algorithms",
            format!("list at least one of {}", JWT_ALGORITHMS.join(", ")),
        );
    }
    for (k, alg) in j.algorithms.iter().enumerate() {
        if JWT_ALGORITHMS.contains(&alg.as_str()) {
            continue;
        }
        let why = if alg.starts_with("HS") {
            "symmetric algorithms are not accepted: a JWKS publishes public keys".to_owned()
        } else {
            format!(
                "`{alg}` is not supported; use {}",
                JWT_ALGORITHMS.join(", ")
            )
        };
        err(&format!(".jwt.algorithms[{k}]"), why);
    }
    errs
}

/// Checks of route `authorization_scopes` against the API's authorizers.
pub(crate) fn check_route_scopes(api: &ApiSpec, i: usize) -> Vec<(String, String)> {
    let route = &api.routes[i];
    let mut errs = Vec::new();
    if route.authorization_scopes.is_empty() {
        return errs;
    }
    let at = format!("routes[{i}].authorization_scopes");
    let jwt = route.authorizer.as_ref().is_some_and(|name| {
        api.authorizers
            .iter()
            .any(|a| &a.name == name && a.kind == AuthorizerType::Jwt)
    });
    if !jwt {
        errs.push((
            at.clone(),
            "authorization scopes need a JWT authorizer on the route (`authorizer = \"NAME\"` of a `type = \"JWT\"` authorizer)".to_owned(),
        ));
    }
    for (j, s) in route.authorization_scopes.iter().enumerate() {
        if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            errs.push((
                format!("{at}[{j}]"),
                format!("`{s}` is not a scope: a scope is one word such as `pets:read`"),
            ));
        }
    }
    errs
}

/// Read every JWT authorizer's `jwks_file` (relative to `dir`) into its `jwks`, and its
/// `jwks_ca_file` into its `jwks_ca`, so the key set and the CAs are part of the
/// deployment. A missing, oversized or malformed file is an error naming it.
pub fn resolve_jwks(dir: &Path, file: &str, api: &mut ApiSpec) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    for (i, a) in api.authorizers.iter_mut().enumerate() {
        let Some(j) = a.jwt.as_mut() else { continue };
        if let Some(name) = &j.jwks_ca_file {
            let path = dir.join(name);
            match crate::load::read_pem_certificates(&path) {
                Ok(text) => j.jwks_ca = Some(text),
                Err(message) => errors.push(ConfigError::new(
                    file,
                    format!("authorizers[{i}].jwt.jwks_ca_file"),
                    message,
                )),
            }
        }
        let Some(name) = &j.jwks_file else { continue };
        let path = dir.join(name);
        let field = format!("authorizers[{i}].jwt.jwks_file");
        let problem = match std::fs::metadata(&path) {
            Ok(m) if m.len() > MAX_JWKS_BYTES as u64 => {
                Some(format!("it is over {MAX_JWKS_BYTES} bytes"))
            }
            Ok(_) => match std::fs::read_to_string(&path) {
                Ok(text) => match jwks_shape(&text) {
                    Ok(()) => {
                        j.jwks = Some(text);
                        None
                    }
                    Err(e) => Some(e),
                },
                Err(e) => Some(e.to_string()),
            },
            Err(e) => Some(format!("{e}; paths are relative to the config directory")),
        };
        if let Some(p) = problem {
            errors.push(ConfigError::new(
                file,
                field,
                format!("cannot use `{}`: {p}", path.display()),
            ));
        }
    }
    errors
}

/// A minimal absolute-URL check (the model has no URL parser): `http://host[:port][/path]`.
mod http_like {
    pub(super) struct Url;

    impl std::str::FromStr for Url {
        type Err = ();
        fn from_str(s: &str) -> Result<Url, ()> {
            let rest = s
                .strip_prefix("https://")
                .or_else(|| s.strip_prefix("http://"))
                .ok_or(())?;
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            let (host, port) = match authority.rsplit_once(':') {
                Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, Some(p)),
                _ => (authority, None),
            };
            let host_ok = !host.is_empty()
                && !host.contains('@')
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b));
            let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
            if host_ok && port_ok { Ok(Url) } else { Err(()) }
        }
    }
}
