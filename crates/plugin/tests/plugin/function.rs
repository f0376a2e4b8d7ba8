//! The function world: API Gateway proxy events in, proxy responses out.

use causeway_plugin::{PluginErrorKind, PluginOptions, World};
use serde_json::{Value, json};

use crate::support;

fn plugin() -> std::sync::Arc<causeway_plugin::Plugin> {
    support::load(
        "shopping-list",
        env!("CAUSEWAY_FIXTURE_SHOPPING_LIST_FUNCTION"),
        World::Function,
        PluginOptions::new(World::Function).with_config("greeting", "hi"),
    )
}

fn response(raw: &str) -> (Value, Value) {
    let resp: Value = serde_json::from_str(raw).expect("response JSON");
    let body: Value =
        serde_json::from_str(resp["body"].as_str().expect("body string")).expect("body JSON");
    (resp, body)
}

#[tokio::test]
async fn payload_v2_event_is_aggregated() {
    let event = json!({
        "version": "2.0",
        "routeKey": "POST /lists/{name}",
        "rawPath": "/lists/weekly",
        "rawQueryString": "item=milk,bread",
        "queryStringParameters": {"item": "milk,bread"},
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": "POST", "path": "/lists/weekly"}, "requestId": "r-2"},
        "body": "{\"items\":[\"milk\",\"eggs\"]}",
        "isBase64Encoded": false
    });
    let raw = plugin()
        .invoke_function(event.to_string())
        .await
        .expect("call");
    let (resp, body) = response(&raw);
    assert_eq!(resp["statusCode"], 200);
    assert_eq!(resp["isBase64Encoded"], false);
    assert_eq!(resp["headers"]["content-type"], "application/json");
    assert_eq!(
        resp["multiValueHeaders"]["x-item"],
        json!(["bread", "eggs", "milk"])
    );
    assert_eq!(body["payloadVersion"], "2.0");
    assert_eq!(body["method"], "POST");
    assert_eq!(body["path"], "/lists/weekly");
    assert_eq!(body["items"], json!({"milk": 2, "eggs": 1, "bread": 1}));
    assert_eq!(body["total"], 4);
    assert_eq!(body["requestId"], "r-2");
    assert_eq!(body["greeting"], "hi", "config reaches the function");
}

#[tokio::test]
async fn payload_v1_event_with_base64_body() {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(r#"{"items":["tea"]}"#);
    let event = json!({
        "resource": "/lists/{name}",
        "path": "/lists/daily",
        "httpMethod": "PUT",
        "multiValueQueryStringParameters": {"item": ["tea", "jam"]},
        "requestContext": {"requestId": "r-1"},
        "body": body,
        "isBase64Encoded": true
    });
    let raw = plugin()
        .invoke_function(event.to_string())
        .await
        .expect("call");
    let (resp, body) = response(&raw);
    assert_eq!(resp["statusCode"], 200);
    assert_eq!(body["payloadVersion"], "1.0");
    assert_eq!(body["method"], "PUT");
    assert_eq!(body["items"], json!({"tea": 2, "jam": 1}));
}

#[tokio::test]
async fn empty_post_is_a_400_and_fail_is_a_function_error() {
    let plugin = plugin();
    let event = json!({"httpMethod": "POST", "path": "/lists/x", "body": null});
    let (resp, body) = response(
        &plugin
            .invoke_function(event.to_string())
            .await
            .expect("call"),
    );
    assert_eq!(resp["statusCode"], 400);
    assert_eq!(body["message"], "empty shopping list");

    let event = json!({"httpMethod": "GET", "path": "/lists/fail"});
    let err = plugin
        .invoke_function(event.to_string())
        .await
        .expect_err("function error");
    assert_eq!(err.kind, PluginErrorKind::FunctionError, "{err}");
    assert_eq!(err.message, "shopping list service failed on purpose");

    let err = plugin
        .invoke_function("not json")
        .await
        .expect_err("bad event");
    assert_eq!(err.kind, PluginErrorKind::FunctionError, "{err}");
    assert_eq!(
        plugin.metrics().discarded.other,
        0,
        "function errors keep the instance healthy"
    );
}
