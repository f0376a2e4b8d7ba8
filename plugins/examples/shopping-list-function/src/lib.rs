//! Shopping-list function: an API Gateway proxy integration (payload 1.0 or 2.0).
//!
//! Items come from the JSON body (`{"items":["milk","eggs"]}`, base64 or not) and from
//! `item` query parameters; the response counts them (and names the authorizer's principal
//! when there is one). `POST` with no item answers 400, a
//! path ending in `/fail` returns a function error (the gateway answers 502).
//!
//! The event is read into typed structs that name only the fields this function uses and
//! borrow strings from the input: serde skips everything else without allocating, which
//! costs a fraction of parsing the whole event into a `serde_json::Value` (the event of a
//! real request is 1–2 KB of headers and request context). Write handlers this way.

use std::borrow::Cow;
use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use causeway_plugin_sdk::function::{self, Function};
use serde::{Deserialize, Serialize};

/// The fields of a proxy event (payload 1.0 and 2.0) this function reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    #[serde(borrow)]
    version: Option<Cow<'a, str>>,
    // 1.0
    #[serde(borrow)]
    http_method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    path: Option<Cow<'a, str>>,
    multi_value_query_string_parameters: Option<MultiItems>,
    // 2.0
    #[serde(borrow)]
    raw_path: Option<Cow<'a, str>>,
    query_string_parameters: Option<Items>,
    // both
    #[serde(borrow, default)]
    request_context: RequestContext<'a>,
    #[serde(borrow)]
    body: Option<Cow<'a, str>>,
    #[serde(default)]
    is_base64_encoded: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RequestContext<'a> {
    #[serde(borrow)]
    request_id: Option<Cow<'a, str>>,
    /// 2.0 only.
    #[serde(borrow)]
    http: Option<Http<'a>>,
    /// What a Lambda-style authorizer allowed (REST 1.0 and WebSocket events).
    #[serde(borrow)]
    authorizer: Option<Authorizer<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Authorizer<'a> {
    #[serde(borrow)]
    principal_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Http<'a> {
    #[serde(borrow)]
    method: Option<Cow<'a, str>>,
}

/// `queryStringParameters` (2.0 joins repeated values with commas).
#[derive(Deserialize)]
struct Items {
    item: Option<String>,
}

/// `multiValueQueryStringParameters` (1.0).
#[derive(Deserialize)]
struct MultiItems {
    #[serde(default)]
    item: Vec<String>,
}

/// A JSON body: `{"items": [...]}`.
#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    items: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct List<'a> {
    payload_version: &'a str,
    method: &'a str,
    path: &'a str,
    items: &'a BTreeMap<String, u64>,
    total: usize,
    request_id: Option<&'a str>,
    /// The authorizer's principal, when the route has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<&'a str>,
    greeting: &'a str,
}

#[derive(Serialize)]
struct Message<'a> {
    message: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProxyResponse<'a> {
    status_code: u16,
    headers: BTreeMap<&'a str, &'a str>,
    multi_value_headers: BTreeMap<&'a str, Vec<&'a str>>,
    body: String,
    is_base64_encoded: bool,
}

struct ShoppingListFunction;

impl Function for ShoppingListFunction {
    fn handle(event: String) -> Result<String, String> {
        let event: Event<'_> =
            serde_json::from_str(&event).map_err(|e| format!("event is not JSON: {e}"))?;
        let v2 = event.version.as_deref() == Some("2.0");
        let (method, path) = if v2 {
            let method = event
                .request_context
                .http
                .as_ref()
                .and_then(|h| h.method.as_deref());
            (method, event.raw_path.as_deref())
        } else {
            (event.http_method.as_deref(), event.path.as_deref())
        };
        let (method, path) = (method.unwrap_or_default(), path.unwrap_or_default());
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
            let message = Message {
                message: "empty shopping list",
            };
            (400, serde_json::to_string(&message))
        } else {
            let greeting = function::config("greeting").unwrap_or_else(|| "hello".to_owned());
            let list = List {
                payload_version: if v2 { "2.0" } else { "1.0" },
                method,
                path,
                items: &counts,
                total: items.len(),
                request_id: event.request_context.request_id.as_deref(),
                principal: event
                    .request_context
                    .authorizer
                    .as_ref()
                    .and_then(|a| a.principal_id.as_deref()),
                greeting: &greeting,
            };
            (200, serde_json::to_string(&list))
        };
        let response = ProxyResponse {
            status_code: status,
            headers: BTreeMap::from([("content-type", "application/json")]),
            multi_value_headers: BTreeMap::from([(
                "x-item",
                counts.keys().map(String::as_str).collect(),
            )]),
            body: body.map_err(|e| e.to_string())?,
            is_base64_encoded: false,
        };
        serde_json::to_string(&response).map_err(|e| e.to_string())
    }
}

/// `items` of a JSON body, decoding base64 first when the event says so. A body that is
/// not JSON or has no `items` list holds no items.
fn body_items(event: &Event<'_>) -> Result<Vec<String>, String> {
    let Some(body) = event.body.as_deref().filter(|b| !b.is_empty()) else {
        return Ok(Vec::new());
    };
    let decoded;
    let bytes = if event.is_base64_encoded {
        decoded = STANDARD
            .decode(body)
            .map_err(|e| format!("body is not base64: {e}"))?;
        decoded.as_slice()
    } else {
        body.as_bytes()
    };
    Ok(serde_json::from_slice::<Body>(bytes)
        .map(|b| b.items)
        .unwrap_or_default())
}

/// `item` query parameters: payload 1.0 lists them in `multiValueQueryStringParameters`,
/// 2.0 joins repeated values with commas.
fn query_items(event: &Event<'_>, v2: bool) -> Vec<String> {
    if v2 {
        let joined = event
            .query_string_parameters
            .as_ref()
            .and_then(|q| q.item.as_deref())
            .unwrap_or_default();
        joined
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    } else {
        event
            .multi_value_query_string_parameters
            .as_ref()
            .map(|q| q.item.clone())
            .unwrap_or_default()
    }
}

causeway_plugin_sdk::export_function!(ShoppingListFunction);
