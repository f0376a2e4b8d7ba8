//! Shopping-list function: an API Gateway proxy integration (payload 1.0 or 2.0).
//!
//! Items come from the JSON body (`{"items":["milk","eggs"]}`, base64 or not) and from
//! `item` query parameters; the response counts them. `POST` with no item answers 400, a
//! path ending in `/fail` returns a function error (the gateway answers 502).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use causeway_plugin_sdk::function::{self, Function};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

struct ShoppingListFunction;

impl Function for ShoppingListFunction {
    fn handle(event: String) -> Result<String, String> {
        let event: Value =
            serde_json::from_str(&event).map_err(|e| format!("event is not JSON: {e}"))?;
        let v2 = event["version"] == "2.0";
        let (method, path) = if v2 {
            let http = &event["requestContext"]["http"];
            (str_of(&http["method"]), str_of(&event["rawPath"]))
        } else {
            (str_of(&event["httpMethod"]), str_of(&event["path"]))
        };
        if path.ends_with("/fail") {
            function::error("failing on purpose");
            return Err("shopping list service failed on purpose".to_owned());
        }
        let mut items = body_items(&event)?;
        items.extend(query_items(&event, v2));
        let mut counts = BTreeMap::<String, u64>::new();
        for item in &items {
            *counts.entry(item.clone()).or_default() += 1;
        }
        let (status, body) = if method == "POST" && items.is_empty() {
            (400, json!({ "message": "empty shopping list" }))
        } else {
            let greeting = function::config("greeting").unwrap_or_else(|| "hello".to_owned());
            (
                200,
                json!({
                    "payloadVersion": if v2 { "2.0" } else { "1.0" },
                    "method": method,
                    "path": path,
                    "items": counts,
                    "total": items.len(),
                    "requestId": event["requestContext"]["requestId"],
                    "greeting": greeting,
                }),
            )
        };
        let mut distinct: Vec<&String> = counts.keys().collect();
        distinct.dedup();
        Ok(json!({
            "statusCode": status,
            "headers": { "content-type": "application/json" },
            "multiValueHeaders": { "x-item": distinct },
            "body": body.to_string(),
            "isBase64Encoded": false,
        })
        .to_string())
    }
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// `items` of a JSON body, decoding base64 first when the event says so.
fn body_items(event: &Value) -> Result<Vec<String>, String> {
    let Some(body) = event["body"].as_str().filter(|b| !b.is_empty()) else {
        return Ok(Vec::new());
    };
    let bytes = if event["isBase64Encoded"] == true {
        STANDARD
            .decode(body)
            .map_err(|e| format!("body is not base64: {e}"))?
    } else {
        body.as_bytes().to_vec()
    };
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(strings(&body["items"]))
}

/// `item` query parameters: payload 1.0 lists them in `multiValueQueryStringParameters`,
/// 2.0 joins repeated values with commas.
fn query_items(event: &Value, v2: bool) -> Vec<String> {
    if v2 {
        let joined = str_of(&event["queryStringParameters"]["item"]);
        joined
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    } else {
        let empty = Map::new();
        let multi = event["multiValueQueryStringParameters"]
            .as_object()
            .unwrap_or(&empty);
        strings(multi.get("item").unwrap_or(&Value::Null))
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

causeway_plugin_sdk::export_function!(ShoppingListFunction);
