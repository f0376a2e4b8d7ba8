//! The mapper world with the shopping-list mapper: query string to JSON body, and JSON
//! responses wrapped.

use causeway_plugin::{HttpRequest, HttpResponse, PluginOptions, World};
use serde_json::{Value, json};

use crate::support;

fn plugin() -> std::sync::Arc<causeway_plugin::Plugin> {
    support::load(
        "query-to-json",
        env!("CAUSEWAY_FIXTURE_QUERY_TO_JSON_MAPPER"),
        World::Mapper,
        PluginOptions::new(World::Mapper),
    )
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn query_items_become_a_json_body() {
    let req = HttpRequest {
        method: "GET".to_owned(),
        path: "/lists/weekly".to_owned(),
        query: pairs(&[("item", "milk"), ("note", "asap"), ("item", "eggs")]),
        headers: pairs(&[("accept", "*/*")]),
        body: Vec::new(),
    };
    let mapped = plugin()
        .map_request(&req)
        .await
        .expect("call")
        .expect("mapped");
    assert_eq!(mapped.method, "POST");
    assert_eq!(mapped.path, "/lists/weekly");
    assert_eq!(mapped.query, pairs(&[("note", "asap")]));
    let body: Value = serde_json::from_slice(&mapped.body).expect("JSON body");
    assert_eq!(body, json!({"items": ["milk", "eggs"]}));
    assert!(
        mapped
            .headers
            .contains(&("content-type".to_owned(), "application/json".to_owned()))
    );
    assert!(
        mapped
            .headers
            .contains(&("accept".to_owned(), "*/*".to_owned()))
    );
}

#[tokio::test]
async fn no_items_is_refused_with_400() {
    let req = HttpRequest {
        method: "GET".to_owned(),
        path: "/lists/weekly".to_owned(),
        query: Vec::new(),
        headers: Vec::new(),
        body: Vec::new(),
    };
    let refusal = plugin()
        .map_request(&req)
        .await
        .expect("call")
        .expect_err("refused");
    assert_eq!(refusal.status, 400);
    assert_eq!(refusal.message, "no items in the query string");
}

#[tokio::test]
async fn json_responses_are_wrapped_and_others_refused() {
    let plugin = plugin();
    let resp = HttpResponse {
        status: 201,
        headers: pairs(&[("content-type", "application/json")]),
        body: br#"{"id":"l-1"}"#.to_vec(),
    };
    let mapped = plugin
        .map_response(&resp)
        .await
        .expect("call")
        .expect("mapped");
    assert_eq!(mapped.status, 201);
    let body: Value = serde_json::from_slice(&mapped.body).expect("JSON");
    assert_eq!(body, json!({"status": 201, "result": {"id": "l-1"}}));
    assert!(
        mapped
            .headers
            .contains(&("x-mapped-by".to_owned(), "query-to-json-mapper".to_owned()))
    );

    let resp = HttpResponse {
        status: 200,
        headers: Vec::new(),
        body: b"<html>".to_vec(),
    };
    let refusal = plugin
        .map_response(&resp)
        .await
        .expect("call")
        .expect_err("refused");
    assert_eq!(refusal.status, 502);
}
