//! Shopping-list mapper.
//!
//! Request: `GET /lists/weekly?item=milk&item=eggs&note=x` becomes
//! `POST /lists/weekly` with body `{"items":["milk","eggs"]}` (other query parameters
//! stay); no `item` at all is refused with 400. Response: a JSON body is wrapped as
//! `{"status":200,"result":<body>}` and tagged `x-mapped-by`; a non-JSON body is refused
//! with 502.

use causeway_plugin_sdk::mapper::{self, HttpRequest, HttpResponse, Mapper, MappingError};
use serde_json::{Value, json};

const NAME: &str = "query-to-json-mapper";

struct ShoppingList;

impl Mapper for ShoppingList {
    fn map_request(mut req: HttpRequest) -> Result<HttpRequest, MappingError> {
        let items: Vec<&str> = req.query_all("item").filter(|i| !i.is_empty()).collect();
        if items.is_empty() {
            return Err(MappingError::new(400, "no items in the query string"));
        }
        let body = json!({ "items": items }).to_string();
        mapper::debug(&format!("mapped {} items", items.len()));
        req.query.retain(|(k, _)| k != "item");
        req.method = "POST".to_owned();
        req.body = body.into_bytes();
        req.set_header("content-type", "application/json");
        req.set_header("x-mapped-by", NAME);
        Ok(req)
    }

    fn map_response(mut resp: HttpResponse) -> Result<HttpResponse, MappingError> {
        let body: Value = if resp.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&resp.body)
                .map_err(|_| MappingError::new(502, "integration response is not JSON"))?
        };
        resp.body = json!({ "status": resp.status, "result": body })
            .to_string()
            .into_bytes();
        resp.set_header("content-type", "application/json");
        resp.set_header("x-mapped-by", NAME);
        Ok(resp)
    }
}

causeway_plugin_sdk::export_mapper!(ShoppingList);
