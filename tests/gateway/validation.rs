//! Request validation (REST APIs): required parameters and request bodies checked against
//! the route's model before the integration is called.

use std::sync::atomic::Ordering;

use crate::support::{self, send};

const HOST: &str = "pets.execute-api.localhost";

fn api(upstream: &str) -> String {
    format!(
        r#"
version = 1
id = "pets"
name = "Pets"
type = "REST"
[[stages]]
name = "prod"
[[models]]
name = "NewPet"
schema = '''
{{"type": "object", "required": ["name", "price"],
  "properties": {{"name": {{"type": "string", "minLength": 1}},
                 "price": {{"type": "number", "minimum": 0}}}}}}
'''
[[routes]]
key = "POST /pets"
request_model = "NewPet"
integration = {{ type = "HTTP_PROXY", uri = "{upstream}/pets" }}
[[routes]]
key = "PUT /loose"
integration = {{ type = "HTTP_PROXY", uri = "{upstream}/loose" }}
[[gateway_responses]]
type = "BAD_REQUEST_BODY"
body = '{{"message": $context.error.messageString, "problems": "$context.error.validationErrorString"}}'
"#
    )
}

#[tokio::test]
async fn a_body_must_match_its_model_before_the_integration_is_called() {
    let up = support::upstream().await;
    let gw = support::gateway(&[&api(&up.url())]).await;
    let c = support::client();
    let json = [("content-type", "application/json")];

    // A matching body reaches the upstream unchanged.
    let ok = r#"{"name": "Rex", "price": 12.5}"#;
    let r = send(&c, gw.addr, "POST", HOST, "/prod/pets", &json, ok).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["body"], ok);
    assert_eq!(up.hits.load(Ordering::SeqCst), 1);

    // Bodies that do not match are a 400 with API Gateway's message; the problems are
    // in `$context.error.validationErrorString`. The upstream never sees them.
    for (body, problem) in [
        (r#"{"name": "Rex"}"#, "\"price\" is a required property"),
        (
            r#"{"name": "", "price": -1}"#,
            "/price: -1 is less than the minimum of 0",
        ),
        (r#"["not", "an", "object"]"#, "is not of type"),
        ("{broken", "not JSON"),
        ("", "empty"),
    ] {
        let r = send(&c, gw.addr, "POST", HOST, "/prod/pets", &json, body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert_eq!(r.header("x-amzn-errortype"), Some("BadRequestException"));
        // The body template is JSON with the problems in a string: they are escaped.
        let answer = r.json();
        assert_eq!(answer["message"], "Invalid request body", "{}", r.text());
        let problems = answer["problems"].as_str().unwrap_or_default();
        assert!(problems.contains(problem), "{body}: {problems}");
    }
    assert_eq!(
        up.hits.load(Ordering::SeqCst),
        1,
        "refused bodies never reach the upstream"
    );

    // A route without a model takes any body.
    let r = send(&c, gw.addr, "PUT", HOST, "/prod/loose", &json, "{broken").await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn models_are_checked_when_the_api_is_loaded() {
    let bad = api("http://127.0.0.1:9")
        .replace("\"minLength\": 1", "\"minLength\": \"one\"")
        .replace("request_model = \"NewPet\"", "request_model = \"Pet\"");
    let errors = causeway_model::parse_api("pets.toml", &bad)
        .expect_err("an unknown model is refused")
        .to_string();
    assert!(
        errors.contains("routes[0].request_model: no model is named `Pet`"),
        "{errors}"
    );

    // A schema that is JSON but not a usable JSON Schema is refused when compiled.
    let bad = api("http://127.0.0.1:9").replace("\"minLength\": 1", "\"minLength\": \"one\"");
    let spec = causeway_model::parse_api("pets.toml", &bad).expect("parses");
    let deployment = causeway_model::Deployment::snapshot(&spec, "", 0);
    let errors = causeway_gateway::compile(&deployment, &Default::default())
        .expect_err("minLength must be a number")
        .to_string();
    assert!(
        errors.contains("models[0].schema: not a usable JSON Schema"),
        "{errors}"
    );

    let http = api("http://127.0.0.1:9").replace("type = \"REST\"", "type = \"HTTP\"");
    let errors = causeway_model::parse_api("pets.toml", &http)
        .expect_err("HTTP APIs have no models")
        .to_string();
    assert!(
        errors.contains("models[0]: models (request body validation) are a REST API feature"),
        "{errors}"
    );
}

/// A model that refers to another model of the API (API Gateway's model URL, or an
/// imported document's `#/components/schemas/...`) validates nested bodies against it.
#[tokio::test]
async fn a_model_may_refer_to_the_apis_other_models() {
    let up = support::upstream().await;
    let api = format!(
        r#"
version = 1
id = "orders"
name = "Orders"
type = "REST"
[[stages]]
name = "prod"
[[models]]
name = "Order"
schema = '''
{{"type": "object", "required": ["items"],
  "properties": {{"items": {{"type": "array", "minItems": 1,
    "items": {{"$ref": "https://apigateway.amazonaws.com/restapis/orders/models/Item"}}}}}}}}
'''
[[models]]
name = "Item"
schema = '{{"type": "object", "required": ["sku", "qty"], "properties": {{"qty": {{"type": "integer", "minimum": 1}}}}}}'
[[routes]]
key = "POST /orders"
request_model = "Order"
integration = {{ type = "HTTP_PROXY", uri = "{}/orders" }}
"#,
        up.url()
    );
    let gw = support::gateway(&[&api]).await;
    let c = support::client();
    let json = [("content-type", "application/json")];
    let host = "orders.execute-api.localhost";
    let ok = r#"{"items": [{"sku": "tea", "qty": 2}]}"#;
    let r = send(&c, gw.addr, "POST", host, "/prod/orders", &json, ok).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let bad = r#"{"items": [{"sku": "tea", "qty": 0}, {"qty": 1}]}"#;
    let r = send(&c, gw.addr, "POST", host, "/prod/orders", &json, bad).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        up.hits.load(Ordering::SeqCst),
        1,
        "the upstream saw only the good one"
    );
}
