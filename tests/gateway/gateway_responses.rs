//! Gateway responses (REST APIs): the gateway's own errors take the status, headers and
//! body an API customizes for their response type, else for their status class
//! (`DEFAULT_4XX` / `DEFAULT_5XX`), else API Gateway's default answer.

use crate::support::{self, get};

const HOST: &str = "gr.execute-api.localhost";

fn api(upstream: &str) -> String {
    format!(
        r#"
version = 1
id = "gr"
name = "Gateway responses"
type = "REST"
[[stages]]
name = "prod"
variables = {{ origin = "https://shop.example" }}
[[routes]]
key = "GET /slow"
integration = {{ type = "HTTP_PROXY", uri = "{upstream}/slow", timeout_ms = 100 }}
[[routes]]
key = "GET /keyed"
api_key_required = true
integration = {{ type = "MOCK" }}
[[gateway_responses]]
type = "DEFAULT_4XX"
headers = {{ "access-control-allow-origin" = "${{stageVariables.origin}}" }}
[[gateway_responses]]
type = "MISSING_AUTHENTICATION_TOKEN"
status = 404
headers = {{ "access-control-allow-origin" = "*", "x-why" = "$context.error.responseType" }}
body = '{{"error":"$context.error.message","path":"$context.path","id":"$context.requestId"}}'
[[gateway_responses]]
type = "DEFAULT_5XX"
body = '{{"error":$context.error.messageString}}'
[[gateway_responses]]
type = "UNSUPPORTED_MEDIA_TYPE"
body = '{{"error":"send gzip or deflate","type":"$context.error.responseType"}}'
"#
    )
}

#[tokio::test]
async fn errors_take_the_api_s_customized_answers() {
    let up = support::upstream().await;
    let gw = support::gateway(&[&api(&up.url())]).await;
    let c = support::client();

    // Its own type's entry: status, headers and body replaced, templates rendered.
    let r = get(&c, gw.addr, HOST, "/prod/nowhere").await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("x-why"), Some("MISSING_AUTHENTICATION_TOKEN"));
    let body = r.json();
    assert_eq!(body["error"], "Missing Authentication Token");
    assert_eq!(body["path"], "/prod/nowhere");
    assert_eq!(
        Some(body["id"].as_str().expect("id")),
        r.header("x-amzn-requestid")
    );
    // The error type header stays API Gateway's.
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("MissingAuthenticationTokenException")
    );

    // No entry of its own (INVALID_API_KEY): its class's, here a header added to the
    // default answer.
    let r = get(&c, gw.addr, HOST, "/prod/keyed").await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["message"], "Forbidden");
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://shop.example")
    );

    // A 5XX takes DEFAULT_5XX: its body, the error's own status.
    let r = get(&c, gw.addr, HOST, "/prod/slow").await;
    assert_eq!(r.status, 504, "{}", r.text());
    assert_eq!(r.json()["error"], "Endpoint request timed out");
    assert_eq!(r.header("access-control-allow-origin"), None);

    // A request body in a coding the API cannot decode: 415, with its own entry.
    let r = support::send(
        &c,
        gw.addr,
        "GET",
        HOST,
        "/prod/slow",
        &[("content-encoding", "br")],
        "not brotli",
    )
    .await;
    assert_eq!(r.status, 415, "{}", r.text());
    assert_eq!(r.json()["type"], "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("UnsupportedMediaTypeException")
    );

    // An error for no known API (unknown host) has no API whose responses apply: API
    // Gateway's default answer, without the added header.
    let unknown = get(&c, gw.addr, "other.execute-api.localhost", "/prod/x").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.header("access-control-allow-origin"), None);
}
