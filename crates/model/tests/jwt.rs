//! JWT authorizer configuration: what is accepted, every located error, and the loader
//! embedding `jwks_file` into the definition.

use causeway_model::{AuthorizerType, load_dir, parse_api};

const JWKS: &str = r#"{"keys": []}"#;

fn fields(toml: &str) -> Vec<String> {
    match parse_api("api.toml", toml) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.into_iter().map(|e| e.field).collect(),
    }
}

fn http_api(authorizers: &str, routes: &str) -> String {
    format!(
        "version = 1\nid = \"pets\"\nname = \"Pets\"\ntype = \"HTTP\"\n{authorizers}\n{routes}\n"
    )
}

const GOOD_AUTH: &str = r#"
[[authorizers]]
name = "jwt"
type = "JWT"
jwt = { issuer = "https://idp.example", audiences = ["pets-api"], jwks_file = "keys.json" }
"#;

const SCOPED_ROUTE: &str = r#"
[[routes]]
key = "GET /pets"
authorizer = "jwt"
authorization_scopes = ["pets:read"]
integration = { type = "MOCK" }
"#;

#[test]
fn a_jwt_authorizer_with_defaults_parses() {
    let api = parse_api("api.toml", &http_api(GOOD_AUTH, SCOPED_ROUTE)).expect("valid");
    let a = &api.authorizers[0];
    assert_eq!(a.kind, AuthorizerType::Jwt);
    assert_eq!(a.plugin, None);
    let j = a.jwt.as_ref().expect("jwt settings");
    assert_eq!(j.algorithms, ["RS256", "ES256", "EdDSA"]);
    assert_eq!(
        (j.jwks_refresh_seconds, j.jwks_timeout_ms, j.leeway_seconds),
        (600, 5000, 60)
    );
    assert_eq!(api.routes[0].authorization_scopes, ["pets:read"]);
    // An https key set URL, with a private CA or without.
    for jwks in [
        "jwks_url = \"https://idp.example/.well-known/jwks.json\"",
        "jwks_url = \"https://idp.example:8443/keys\", jwks_ca_file = \"ca.pem\"",
    ] {
        let auth = GOOD_AUTH.replace("jwks_file = \"keys.json\"", jwks);
        parse_api("api.toml", &http_api(&auth, SCOPED_ROUTE)).expect(jwks);
    }
    assert_eq!(j.discovery_url(), None, "a jwks_file names the keys");
    // Neither: OIDC discovery from the issuer, as API Gateway does (a CA file allowed).
    for (issuer, rest) in [
        ("https://idp.example/", ""),
        (
            "https://idp.example:8443/tenant",
            ", jwks_ca_file = \"ca.pem\"",
        ),
    ] {
        let auth = GOOD_AUTH
            .replace(", jwks_file = \"keys.json\"", rest)
            .replace("\"https://idp.example\"", &format!("\"{issuer}\""));
        let api = parse_api("api.toml", &http_api(&auth, SCOPED_ROUTE)).expect(issuer);
        let j = api.authorizers[0].jwt.as_ref().expect("jwt");
        assert!(j.discovers());
        assert_eq!(
            j.discovery_url().as_deref(),
            Some(
                format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                )
                .as_str()
            )
        );
    }
}

#[test]
fn plugin_authorizers_keep_their_serialized_form() {
    // Existing definitions serialize as before, so their deployment ids do not change.
    let toml = r#"version = 1
id = "p"
name = "P"
type = "REST"
[[plugins]]
name = "auth"
file = "a.wasm"
world = "authorizer"
[[authorizers]]
name = "tokens"
type = "TOKEN"
plugin = "auth"
identity_sources = ["method.request.header.Authorization"]
[[routes]]
key = "GET /a"
authorizer = "tokens"
integration = { type = "MOCK" }
"#;
    let api = parse_api("api.toml", toml).expect("valid");
    let json = serde_json::to_value(&api.authorizers[0]).expect("json");
    assert_eq!(
        json,
        serde_json::json!({
            "name": "tokens", "type": "TOKEN", "plugin": "auth",
            "identity_sources": ["method.request.header.Authorization"],
            "result_ttl_seconds": 300
        })
    );
}

#[test]
fn every_misconfiguration_is_located() {
    let cases: &[(&str, &str, &str)] = &[
        // JWT authorizers are an HTTP API feature.
        ("type = \"HTTP\"", "type = \"REST\"", "authorizers[0].type"),
        (
            "jwks_file = \"keys.json\"",
            "jwks_file = \"keys.json\", jwks_url = \"http://idp/keys\"",
            "authorizers[0].jwt",
        ),
        // No keys named, and an issuer that is no URL to discover them from.
        (
            "issuer = \"https://idp.example\", audiences = [\"pets-api\"], jwks_file = \"keys.json\"",
            "issuer = \"idp.example\", audiences = [\"pets-api\"], jwks_refresh_seconds = 60",
            "authorizers[0].jwt",
        ),
        // A CA file with an http issuer to discover from.
        (
            "issuer = \"https://idp.example\", audiences = [\"pets-api\"], jwks_file = \"keys.json\"",
            "issuer = \"http://idp.example\", audiences = [\"pets-api\"], jwks_ca_file = \"ca.pem\"",
            "authorizers[0].jwt.jwks_ca_file",
        ),
        (
            "jwks_file = \"keys.json\"",
            "jwks_url = \"ftp://idp.example/keys\"",
            "authorizers[0].jwt.jwks_url",
        ),
        // A CA file is for an https URL; `jwks_ca` only comes from it.
        (
            "jwks_file = \"keys.json\"",
            "jwks_url = \"http://idp/keys\", jwks_ca_file = \"ca.pem\"",
            "authorizers[0].jwt.jwks_ca_file",
        ),
        (
            "jwks_file = \"keys.json\"",
            "jwks_url = \"https://idp/keys\", jwks_ca = \"-----BEGIN CERTIFICATE-----\"",
            "authorizers[0].jwt.jwks_ca",
        ),
        (
            "jwks_file = \"keys.json\"",
            "jwks_url = \"http:///keys\"",
            "authorizers[0].jwt.jwks_url",
        ),
        (
            "jwks_file = \"keys.json\"",
            "jwks_url = \"http://idp/keys\", jwks_timeout_ms = 60000",
            "authorizers[0].jwt.jwks_timeout_ms",
        ),
        (
            "jwks_file = \"keys.json\"",
            "jwks_url = \"http://idp/keys\", jwks_refresh_seconds = 0",
            "authorizers[0].jwt.jwks_refresh_seconds",
        ),
        (
            "jwks_file = \"keys.json\"",
            "jwks_file = \"keys.json\", algorithms = [\"RS256\", \"HS256\"]",
            "authorizers[0].jwt.algorithms[1]",
        ),
        (
            "jwks_file = \"keys.json\"",
            "jwks_file = \"keys.json\", algorithms = []",
            "authorizers[0].jwt.algorithms",
        ),
        (
            "jwks_file = \"keys.json\"",
            "jwks_file = \"keys.json\", leeway_seconds = 3600",
            "authorizers[0].jwt.leeway_seconds",
        ),
        (
            "jwks_file = \"keys.json\"",
            "jwks_file = \"keys.json\", jwks = \"not json\"",
            "authorizers[0].jwt.jwks",
        ),
        (
            "audiences = [\"pets-api\"]",
            "audiences = []",
            "authorizers[0].jwt.audiences",
        ),
        (
            "issuer = \"https://idp.example\"",
            "issuer = \"\"",
            "authorizers[0].jwt.issuer",
        ),
        (
            "type = \"JWT\"",
            "type = \"JWT\"\nidentity_source = \"method.request.header.Authorization\"",
            "authorizers[0].identity_source",
        ),
        (
            "type = \"JWT\"",
            "type = \"JWT\"\nidentity_sources = [\"method.request.header.Authorization\"]",
            "authorizers[0].identity_sources",
        ),
        (
            "type = \"JWT\"",
            "type = \"JWT\"\nplugin = \"auth\"",
            "authorizers[0].plugin",
        ),
        (
            "jwt = { issuer = \"https://idp.example\", audiences = [\"pets-api\"], jwks_file = \"keys.json\" }",
            "",
            "authorizers[0].jwt",
        ),
        // A JWT setting on a plugin authorizer.
        ("type = \"JWT\"", "type = \"TOKEN\"", "authorizers[0].jwt"),
        (
            "type = \"JWT\"",
            "type = \"TOKEN\"",
            "authorizers[0].plugin",
        ),
        // Scopes need a JWT authorizer on the route.
        (
            "authorizer = \"jwt\"\n",
            "",
            "routes[0].authorization_scopes",
        ),
        (
            "[\"pets:read\"]",
            "[\"pets read\"]",
            "routes[0].authorization_scopes[0]",
        ),
    ];
    for (from, to, field) in cases {
        let text = http_api(GOOD_AUTH, SCOPED_ROUTE);
        assert!(
            text.contains(from),
            "case {field}: `{from}` not in the template"
        );
        let text = text.replacen(from, to, 1);
        let got = fields(&text);
        assert!(
            got.iter().any(|f| f == field),
            "expected an error at {field} after `{from}` → `{to}`, got {got:?}"
        );
    }
    // Unknown fields are refused, inside `jwt` too.
    let text = http_api(GOOD_AUTH, SCOPED_ROUTE).replacen("jwks_file", "jwks_fil", 1);
    let err = parse_api("api.toml", &text).expect_err("unknown field");
    assert!(err.to_string().contains("jwks_fil"), "{err}");
}

#[test]
fn the_loader_embeds_jwks_file_and_names_a_bad_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("apis")).expect("mkdir");
    let api_file = dir.path().join("apis/pets.toml");
    std::fs::write(&api_file, http_api(GOOD_AUTH, SCOPED_ROUTE)).expect("write");

    // Missing file: an error at the field, naming the path.
    let errs = load_dir(dir.path()).expect_err("missing file").0;
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].field, "authorizers[0].jwt.jwks_file");
    assert!(errs[0].message.contains("keys.json"), "{}", errs[0].message);

    // Not a key set.
    std::fs::write(dir.path().join("keys.json"), "{\"nokeys\": 1}").expect("write");
    let errs = load_dir(dir.path()).expect_err("bad file").0;
    assert!(
        errs[0].message.contains("`keys` array"),
        "{}",
        errs[0].message
    );

    // Over the size cap.
    std::fs::write(dir.path().join("keys.json"), vec![b' '; (1 << 20) + 1]).expect("write");
    let errs = load_dir(dir.path()).expect_err("big file").0;
    assert!(errs[0].message.contains("bytes"), "{}", errs[0].message);

    // A good file is embedded, so the deployment carries (and is addressed by) the keys.
    std::fs::write(dir.path().join("keys.json"), JWKS).expect("write");
    let set = load_dir(dir.path()).expect("valid");
    let api = set.api("pets").expect("api");
    let jwt = api.authorizers[0].jwt.as_ref().expect("jwt");
    assert_eq!(jwt.jwks.as_deref(), Some(JWKS));
    let before = causeway_model::Deployment::snapshot(api, "", 0).id;
    std::fs::write(dir.path().join("keys.json"), r#"{"keys": [{"kty": "EC"}]}"#).expect("write");
    let set = load_dir(dir.path()).expect("valid");
    let after = causeway_model::Deployment::snapshot(set.api("pets").expect("api"), "", 0).id;
    assert_ne!(before, after, "a new key file is a new deployment");
}
