//! Models (JSON Schemas for request bodies) and the routes that name them. Whether a
//! schema compiles is checked where it is compiled (the gateway); here: names, JSON,
//! references, and that the API is a REST API.

use std::collections::BTreeSet;

use super::Report;
use crate::api::{ApiSpec, ApiType};

pub(super) fn check(r: &mut Report<'_>, api: &ApiSpec) {
    let mut names = BTreeSet::new();
    for (i, m) in api.models.iter().enumerate() {
        let at = format!("models[{i}]");
        if api.kind == ApiType::Http {
            r.err(
                &at,
                "models (request body validation) are a REST API feature, as in API Gateway",
            );
        }
        if m.name.is_empty() || !m.name.chars().all(|c| c.is_ascii_alphanumeric()) {
            r.err(
                format!("{at}.name"),
                format!("`{}` is not a model name: use letters and digits", m.name),
            );
        } else if !names.insert(m.name.as_str()) {
            r.err(
                format!("{at}.name"),
                format!("model `{}` is declared twice", m.name),
            );
        }
        if m.content_type
            .split_once('/')
            .is_none_or(|(a, b)| a.is_empty() || b.is_empty())
        {
            r.err(
                format!("{at}.content_type"),
                format!(
                    "`{}` is not a media type like `application/json`",
                    m.content_type
                ),
            );
        }
        match serde_json::from_str::<serde_json::Value>(&m.schema) {
            Ok(serde_json::Value::Object(_) | serde_json::Value::Bool(_)) => {}
            Ok(_) => r.err(
                format!("{at}.schema"),
                "a JSON Schema is a JSON object, e.g. `{\"type\": \"object\", \"required\": [\"name\"]}`",
            ),
            Err(e) => r.err(
                format!("{at}.schema"),
                format!("not JSON: {e}; write the schema as JSON text"),
            ),
        }
    }
    for (i, route) in api.routes.iter().enumerate() {
        if let Some(model) = &route.request_model
            && !names.contains(model.as_str())
        {
            r.err(
                format!("routes[{i}].request_model"),
                format!("no model is named `{model}`; declare it in `[[models]]`"),
            );
        }
    }
}
