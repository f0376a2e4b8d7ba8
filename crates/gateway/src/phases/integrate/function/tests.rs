use std::sync::Arc;

use http::Request;
use serde_json::{Value, json};

use crate::body::Body;
use crate::context::RequestCtx;

mod response;
mod v2;

use v2::http_full_request;

const REST_API: &str = r#"
version = 1
id = "shop"
name = "Shop"
type = "REST"

[[stages]]
name = "prod"
variables = { backend = "http://127.0.0.1:8081", greeting = "hello world" }

[[stages]]
name = "dev"

[[routes]]
key = "ANY /items/{itemId}/{name}"
integration = { type = "MOCK" }

[[routes]]
key = "GET /"
integration = { type = "MOCK" }
"#;

const HTTP_API: &str = r#"
version = 1
id = "carts"
name = "Carts"
type = "HTTP"

[[stages]]
name = "beta"
variables = { tier = "b" }

[[stages]]
name = "$default"

[[routes]]
key = "POST /carts/{cartId}"
integration = { type = "MOCK" }

[[routes]]
key = "GET /health"
integration = { type = "MOCK" }
"#;

/// Received at 2026-11-25T15:04:05.123Z.
const EPOCH_MS: u64 = 1_795_619_045_123;
const REQUEST_ID: &str = "c0ffee00-1234-4abc-8def-0123456789ab";

/// A request routed (as the route phase does) to `stage` of `api`.
fn routed(api: &str, stage: &str, req: Request<()>) -> RequestCtx {
    let spec = causeway_model::parse_api("test.toml", api).expect("api parses");
    let variables = spec
        .stages
        .iter()
        .find(|s| s.name == stage)
        .map(|s| s.variables.clone())
        .unwrap_or_default();
    let deployment = causeway_model::Deployment::snapshot(&spec, "", 0);
    let compiled = crate::compile(&deployment, &crate::Plugins::new()).expect("api compiles");
    let binding = crate::StageBinding {
        api_id: spec.id.clone(),
        stage: stage.to_owned(),
        deployment: Arc::new(compiled),
        variables,
        settings: causeway_model::StageSettings::default(),
        canary: None,
    };
    let table = crate::table::Table::build(
        vec![binding],
        &[],
        &crate::Metrics::new(),
        &crate::access_log::Sinks::default(),
        &crate::cache::Caches::default(),
    );
    let host = format!("{}{}", spec.id, crate::EXECUTE_API_SUFFIX);
    let (parts, ()) = req.into_parts();
    let client = std::net::SocketAddr::from(([203, 0, 113, 7], 40_000));
    let mut ctx = RequestCtx::new(
        parts,
        Body::from(""),
        &crate::context::Peer::new(client),
        host.into(),
    );
    ctx.request_id = crate::context::RequestId::parse(REQUEST_ID).expect("request id");
    ctx.received_at_ms = EPOCH_MS;
    let crate::table::Resolved::Stage(stage, at) = table.resolve(&ctx.host, ctx.parts.uri.path())
    else {
        panic!("no stage for {}", ctx.parts.uri);
    };
    let (route, params) = {
        let path = ctx.parts.uri.path();
        let route_path = at.and_then(|a| path.get(a..)).unwrap_or("/");
        let base = path.len() - route_path.len();
        let causeway_router::Lookup::Matched(m) = stage
            .deployment
            .router
            .lookup(ctx.parts.method.as_str(), route_path)
        else {
            panic!("no route for {}", ctx.parts.uri);
        };
        let params: Vec<_> = m
            .params
            .iter()
            .map(|(_, value)| {
                let start = value.as_ptr() as usize - route_path.as_ptr() as usize + base;
                start..start + value.len()
            })
            .collect();
        (m.route, params)
    };
    ctx.route_path_at = at;
    ctx.route = Some(route);
    ctx.params.extend(params);
    ctx.stage = Some(stage);
    ctx
}

/// The event, parsed (and checked for repeated keys, which parsing would hide).
fn event(ctx: &RequestCtx, v2: bool, body: &[u8]) -> Value {
    let json = super::event(ctx, v2, body);
    for keys in object_keys(&json) {
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), keys.len(), "repeated key in {keys:?}: {json}");
    }
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("event is not JSON ({e}): {json}"))
}

/// The keys (still escaped) of each object in `json`, in order; objects in the order they
/// close, so the outermost comes last.
fn object_keys(json: &str) -> Vec<Vec<&str>> {
    let b = json.as_bytes();
    let mut done = Vec::new();
    // One entry per open object (`Some(keys)`) or array (`None`).
    let mut open: Vec<Option<Vec<&str>>> = Vec::new();
    let mut prev = b' ';
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if matches!(prev, b'{' | b',')
                    && let Some(Some(keys)) = open.last_mut()
                {
                    keys.push(&json[start..i]);
                }
                prev = b'"';
            }
            b'{' => open.push(Some(Vec::new())),
            b'[' => open.push(None),
            b'}' | b']' => done.extend(open.pop().flatten()),
            _ => {}
        }
        if !b[i].is_ascii_whitespace() && b[i] != b'"' {
            prev = b[i];
        }
        i += 1;
    }
    done
}

#[test]
fn fields_come_in_api_gateway_order() {
    let top = |json: String| {
        object_keys(&json)
            .pop()
            .unwrap_or_default()
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let ctx = routed(REST_API, "prod", rest_full_request());
    assert_eq!(
        top(super::event(&ctx, false, b"x")),
        [
            "resource",
            "path",
            "httpMethod",
            "headers",
            "multiValueHeaders",
            "queryStringParameters",
            "multiValueQueryStringParameters",
            "pathParameters",
            "stageVariables",
            "requestContext",
            "body",
            "isBase64Encoded",
        ]
    );
    let ctx = routed(HTTP_API, "beta", http_full_request());
    assert_eq!(
        top(super::event(&ctx, true, b"x")),
        [
            "version",
            "routeKey",
            "rawPath",
            "rawQueryString",
            "cookies",
            "headers",
            "queryStringParameters",
            "requestContext",
            "body",
            "pathParameters",
            "isBase64Encoded",
            "stageVariables",
        ]
    );
}

pub(super) fn rest_full_request() -> Request<()> {
    Request::post("/prod/items/a%20b+c/caf%C3%A9?x=1&x=2&q=caf%C3%A9&plus=a+b&flag&&empty=&x=3&%78=4&nl=%0A%22%5C%01")
        .header("accept", "*/*")
        .header("x-multi", "one")
        .header("x-multi", "two")
        .header("user-agent", "test-agent/1.0 \"quoted\"")
        .header("content-type", "application/octet-stream")
        .header("cookie", "a=1; b=2")
        .body(())
        .expect("request")
}

#[test]
fn rest_event_is_payload_1_0() {
    let mut ctx = routed(REST_API, "prod", rest_full_request());
    ctx.principal_id = Some("user-1".into());
    ctx.authorizer_context = Some(Arc::from(vec![
        ("tier".into(), "gold".into()),
        ("count".into(), "7".into()),
    ]));
    let expected = json!({
        "resource": "/items/{itemId}/{name}",
        "path": "/items/a%20b+c/caf%C3%A9",
        "httpMethod": "POST",
        "headers": {
            "accept": "*/*",
            "x-multi": "two",
            "user-agent": "test-agent/1.0 \"quoted\"",
            "content-type": "application/octet-stream",
            "cookie": "a=1; b=2",
        },
        "multiValueHeaders": {
            "accept": ["*/*"],
            "x-multi": ["one", "two"],
            "user-agent": ["test-agent/1.0 \"quoted\""],
            "content-type": ["application/octet-stream"],
            "cookie": ["a=1; b=2"],
        },
        "queryStringParameters": {
            "x": "4",
            "nl": "\n\"\\\u{1}",
            "q": "café",
            "plus": "a b",
            "flag": "",
            "empty": "",
        },
        "multiValueQueryStringParameters": {
            "x": ["1", "2", "3", "4"],
            "nl": ["\n\"\\\u{1}"],
            "q": ["café"],
            "plus": ["a b"],
            "flag": [""],
            "empty": [""],
        },
        "pathParameters": { "itemId": "a b+c", "name": "café" },
        "stageVariables": { "backend": "http://127.0.0.1:8081", "greeting": "hello world" },
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "shop",
            "authorizer": { "tier": "gold", "count": "7", "principalId": "user-1" },
            "domainName": "shop.execute-api.localhost",
            "domainPrefix": "shop",
            "extendedRequestId": REQUEST_ID,
            "httpMethod": "POST",
            "identity": { "sourceIp": "203.0.113.7", "userAgent": "test-agent/1.0 \"quoted\"" },
            "path": "/prod/items/a%20b+c/caf%C3%A9",
            "protocol": "HTTP/1.1",
            "requestId": REQUEST_ID,
            "requestTime": "25/Nov/2026:15:04:05 +0000",
            "requestTimeEpoch": EPOCH_MS,
            "resourceId": "/items/{itemId}/{name}",
            "resourcePath": "/items/{itemId}/{name}",
            "stage": "prod",
        },
        "body": "AAEC/w==",
        "isBase64Encoded": true,
    });
    assert_eq!(event(&ctx, false, &[0, 1, 2, 255]), expected);

    // A principal's context wins over nothing: `principalId` overrides a context key of
    // that name; without a principal there is no authorizer at all.
    ctx.authorizer_context = Some(Arc::from(vec![("principalId".into(), "spoofed".into())]));
    assert_eq!(
        event(&ctx, false, b"")["requestContext"]["authorizer"],
        json!({ "principalId": "user-1" })
    );
    ctx.principal_id = None;
    assert!(
        event(&ctx, false, b"")["requestContext"]
            .get("authorizer")
            .is_none()
    );
}

#[test]
fn rest_event_without_parameters_uses_nulls() {
    let req = Request::get("/dev").body(()).expect("request");
    let ctx = routed(REST_API, "dev", req);
    let expected = json!({
        "resource": "/",
        "path": "/",
        "httpMethod": "GET",
        "headers": null,
        "multiValueHeaders": null,
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "shop",
            "domainName": "shop.execute-api.localhost",
            "domainPrefix": "shop",
            "extendedRequestId": REQUEST_ID,
            "httpMethod": "GET",
            "identity": { "sourceIp": "203.0.113.7", "userAgent": "" },
            "path": "/dev",
            "protocol": "HTTP/1.1",
            "requestId": REQUEST_ID,
            "requestTime": "25/Nov/2026:15:04:05 +0000",
            "requestTimeEpoch": EPOCH_MS,
            "resourceId": "/",
            "resourcePath": "/",
            "stage": "dev",
        },
        "body": null,
        "isBase64Encoded": false,
    });
    assert_eq!(event(&ctx, false, b""), expected);
}

/// Header values that are not UTF-8 (obs-text, e.g. Latin-1) reach the function with
/// U+FFFD in place of each bad byte, as `String::from_utf8_lossy` makes them.
#[test]
fn header_values_that_are_not_utf8_are_replaced_lossily() {
    let latin1 = http::HeaderValue::from_bytes(b"caf\xe9").expect("obs-text is a valid value");
    let req = Request::get("/dev")
        .header("x-name", latin1)
        .header("x-name", "caf\u{e9}")
        .body(())
        .expect("request");
    let ctx = routed(REST_API, "dev", req);
    let e = event(&ctx, false, b"");
    assert_eq!(e["headers"]["x-name"], json!("caf\u{e9}"));
    assert_eq!(
        e["multiValueHeaders"]["x-name"],
        json!(["caf\u{fffd}", "caf\u{e9}"])
    );
    let e = event(&ctx, true, b"");
    assert_eq!(e["headers"]["x-name"], json!("caf\u{fffd},caf\u{e9}"));
}

#[test]
fn rest_event_bodies_are_text_or_base64() {
    let with_type = |ct: Option<&str>| {
        let mut req = Request::post("/prod/items/1/2");
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        routed(REST_API, "prod", req.body(()).expect("request"))
    };
    let cases: [(Option<&str>, &[u8], Value, bool); 8] = [
        (None, b"plain \"text\"\n", json!("plain \"text\"\n"), false),
        (Some("Text/Plain; charset=utf-8"), b"hi", json!("hi"), false),
        (
            Some("application/JSON"),
            b"{\"a\":1}",
            json!("{\"a\":1}"),
            false,
        ),
        (Some("application/soap+xml"), b"<a/>", json!("<a/>"), false),
        (
            Some("application/x-www-form-urlencoded"),
            b"a=1",
            json!("a=1"),
            false,
        ),
        (Some("text/javascript"), b"f()", json!("f()"), false),
        (Some("image/png"), b"png", json!("cG5n"), true),
        // Text types whose bytes are not UTF-8 are sent as base64.
        (Some("text/plain"), &[0xff, 0xfe], json!("//4="), true),
    ];
    for (ct, body, expected, b64) in cases {
        let ev = event(&with_type(ct), false, body);
        assert_eq!(ev["body"], expected, "{ct:?}");
        assert_eq!(ev["isBase64Encoded"], json!(b64), "{ct:?}");
    }
}
