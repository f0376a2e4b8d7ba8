//! WEBSOCKET APIs: route keys, the route selection expression, the callback networks, and
//! the REST/HTTP features a WebSocket route does not have (each refused where it is
//! written, rather than silently ignored).

use super::Report;
use crate::api::{ApiSpec, ApiType, IntegrationSpec, RouteSpec};
use crate::endpoint::Network;

/// The route keys API Gateway gives a meaning of their own.
const SPECIAL_KEYS: &[&str] = &["$connect", "$disconnect", "$default"];

pub(super) fn check(r: &mut Report<'_>, api: &ApiSpec) {
    if api.kind != ApiType::WebSocket {
        if api.route_selection_expression.is_some() {
            r.err(
                "route_selection_expression",
                "a route selection expression is for WEBSOCKET APIs (set `type = \"WEBSOCKET\"`)",
            );
        }
        if !api.callback_networks.is_empty() {
            r.err(
                "callback_networks",
                "callback networks (who may call `@connections`) are for WEBSOCKET APIs",
            );
        }
        for (i, route) in api.routes.iter().enumerate() {
            if route.route_response {
                r.err(
                    format!("routes[{i}].route_response"),
                    "route responses are for WEBSOCKET routes; a REST or HTTP route always answers",
                );
            }
        }
        return;
    }
    if let Some(e) = &api.route_selection_expression
        && selection_path(e).is_none()
    {
        r.err(
            "route_selection_expression",
            format!("`{e}` is not supported: write `$request.body.NAME` (or `$request.body.a.b` for a nested field) naming the JSON field of each message that holds its route key"),
        );
    }
    for (i, n) in api.callback_networks.iter().enumerate() {
        if let Err(why) = Network::parse(n) {
            r.err(format!("callback_networks[{i}]"), why);
        }
    }
    if !api.models.is_empty() {
        r.err(
            "models",
            "models validate REST request bodies; a WEBSOCKET API has none",
        );
    }
    for (i, a) in api.authorizers.iter().enumerate() {
        if a.kind == crate::AuthorizerType::Jwt {
            r.err(
                format!("authorizers[{i}].type"),
                "JWT authorizers are for HTTP APIs; a WEBSOCKET API's `$connect` takes a REQUEST or TOKEN plugin authorizer (as API Gateway's Lambda authorizers)",
            );
        }
    }
    if !api.binary_media_types.is_empty() {
        r.err(
            "binary_media_types",
            "WEBSOCKET APIs pass binary frames as they come (base64 in FUNCTION events); remove `binary_media_types`",
        );
    }
    for (i, route) in api.routes.iter().enumerate() {
        check_route(r, i, route);
    }
}

/// The JSON field path of `$request.body.a.b` (`["a", "b"]`), or `None` when the
/// expression is not of that form.
pub fn selection_path(expression: &str) -> Option<Vec<&str>> {
    let rest = expression.strip_prefix("$request.body.")?;
    let path: Vec<&str> = rest.split('.').collect();
    path.iter()
        .all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
        .then_some(path)
}

fn check_route(r: &mut Report<'_>, i: usize, route: &RouteSpec) {
    let key = route.key.as_str();
    let custom_ok = !key.is_empty()
        && key.len() <= 128
        && !key.starts_with('$')
        && key.bytes().all(|b| b.is_ascii_graphic());
    if !SPECIAL_KEYS.contains(&key) && !custom_ok {
        r.err(
            format!("routes[{i}].key"),
            format!("`{key}` is not a WebSocket route key: use `$connect`, `$disconnect`, `$default` or the value a message's selection field holds (1-128 visible ASCII characters, not starting with `$`)"),
        );
    }
    if route.route_response && key == "$disconnect" {
        r.err(
            format!("routes[{i}].route_response"),
            "`$disconnect` runs after the connection closed: there is no one to answer",
        );
    }
    match &route.integration {
        IntegrationSpec::Mock(_) | IntegrationSpec::Function(_) => {}
        IntegrationSpec::HttpProxy(h) if h.request_parameters.is_empty() => {}
        IntegrationSpec::HttpProxy(_) => r.err(
            format!("routes[{i}].integration.request_parameters"),
            "WebSocket routes pass each message as it is; remove `request_parameters`",
        ),
        IntegrationSpec::Http(_) | IntegrationSpec::WasiHttp(_) => r.err(
            format!("routes[{i}].integration.type"),
            "WebSocket routes take MOCK, HTTP_PROXY (the message is POSTed to the uri) or FUNCTION integrations",
        ),
    }
    if route.authorizer.is_some() && key != "$connect" {
        r.err(
            format!("routes[{i}].authorizer"),
            "a WebSocket connection is authorized once, at `$connect`: move the authorizer there (its decision's principal and context reach every later message)",
        );
    }
    let unsupported: [(&str, bool); 7] = [
        ("request_parameters", !route.request_parameters.is_empty()),
        (
            "authorization_scopes",
            !route.authorization_scopes.is_empty(),
        ),
        ("api_key_required", route.api_key_required),
        ("cache", route.cache.is_some()),
        ("throttle", route.throttle.is_some()),
        ("mapper", route.mapper.is_some()),
        ("request_model", route.request_model.is_some()),
    ];
    for (field, set) in unsupported {
        if set {
            r.err(
                format!("routes[{i}].{field}"),
                format!("`{field}` is not supported on WebSocket routes; remove it"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::parse_api;

    const BASE: &str = r#"
version = 1
id = "chat"
name = "Chat"
type = "WEBSOCKET"
"#;

    /// Every mistake, with its place.
    fn errors(extra: &str) -> Vec<(String, String)> {
        match parse_api(
            "chat.toml",
            &format!("{BASE}{extra}\n[[stages]]\nname = \"prod\"\n"),
        ) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.into_iter().map(|e| (e.field, e.message)).collect(),
        }
    }

    fn has(errors: &[(String, String)], field: &str, words: &str) -> bool {
        errors.iter().any(|(f, m)| f == field && m.contains(words))
    }

    #[test]
    fn a_valid_websocket_api_parses() {
        let extra = r#"
route_selection_expression = "$request.body.meta.type"
callback_networks = ["10.0.0.0/8", "127.0.0.1"]
[[routes]]
key = "$connect"
integration = { type = "HTTP_PROXY", uri = "http://127.0.0.1:9/connect" }
[[routes]]
key = "sendMessage"
route_response = true
integration = { type = "MOCK", body = "$context.connectionId" }
[[routes]]
key = "$default"
integration = { type = "MOCK" }
"#;
        assert_eq!(errors(extra), Vec::new());
    }

    #[test]
    fn every_websocket_mistake_is_reported_at_its_place() {
        let extra = r#"
route_selection_expression = "$request.header.action"
callback_networks = ["ten.0.0.0/8"]
cors = { allow_origins = ["*"] }
[[routes]]
key = "GET /pets"
integration = { type = "MOCK" }
[[routes]]
key = "$disconnect"
route_response = true
integration = { type = "MOCK" }
[[routes]]
key = "sendMessage"
api_key_required = true
authorizer = "who"
integration = { type = "HTTP", uri = "http://127.0.0.1:9/x" }
[[routes]]
key = "$custom"
integration = { type = "HTTP_PROXY", uri = "http://127.0.0.1:9/x", request_parameters = { "integration.request.header.x" = "'y'" } }
"#;
        let e = errors(extra);
        assert!(
            has(&e, "route_selection_expression", "$request.body.NAME"),
            "{e:?}"
        );
        assert!(has(&e, "callback_networks[0]", ""), "{e:?}");
        assert!(has(&e, "cors", "HTTP APIs"), "{e:?}");
        assert!(
            has(&e, "routes[0].key", "not a WebSocket route key"),
            "{e:?}"
        );
        assert!(has(&e, "routes[1].route_response", "$disconnect"), "{e:?}");
        assert!(
            has(&e, "routes[2].api_key_required", "not supported"),
            "{e:?}"
        );
        assert!(has(&e, "routes[2].integration.type", "HTTP_PROXY"), "{e:?}");
        assert!(has(&e, "routes[2].authorizer", "at `$connect`"), "{e:?}");
        assert!(has(&e, "routes[3].key", "not starting with `$`"), "{e:?}");
        assert!(
            has(&e, "routes[3].integration.request_parameters", "as it is"),
            "{e:?}"
        );
    }

    #[test]
    fn websocket_settings_on_other_apis_are_refused() {
        let text = r#"
version = 1
id = "pets"
name = "Pets"
type = "HTTP"
route_selection_expression = "$request.body.action"
callback_networks = ["10.0.0.0/8"]
[[stages]]
name = "prod"
[[routes]]
key = "GET /pets"
route_response = true
integration = { type = "MOCK" }
"#;
        let e = match parse_api("pets.toml", text) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.0,
        };
        for field in [
            "route_selection_expression",
            "callback_networks",
            "routes[0].route_response",
        ] {
            assert!(e.iter().any(|x| x.field == field), "{field}: {e:?}");
        }
    }

    #[test]
    fn selection_paths() {
        assert_eq!(
            super::selection_path("$request.body.action"),
            Some(vec!["action"])
        );
        assert_eq!(
            super::selection_path("$request.body.a.b"),
            Some(vec!["a", "b"])
        );
        for bad in [
            "$request.body.",
            "$request.body.a..b",
            "action",
            "$request.body.a b",
        ] {
            assert_eq!(super::selection_path(bad), None, "{bad}");
        }
    }
}
