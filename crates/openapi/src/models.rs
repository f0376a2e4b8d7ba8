//! Models both ways: `components.schemas` ⇄ `[[models]]`, and a route's validated
//! request body (`requestBody` with a `$ref`, plus API Gateway's request validator that
//! validates bodies) ⇄ `request_model`.

use causeway_model::{ApiSpec, ModelSpec, RouteSpec};
use serde_json::{Map, Value, json};

use crate::import::Reader;

/// The request validator an export names on routes with a model (Causeway checks
/// required parameters on every route, and the body where a model is named).
pub(crate) const VALIDATOR: &str = "params-and-body";
const SCHEMA_REF: &str = "#/components/schemas/";

/// `components.schemas` of `api`'s models.
pub(crate) fn export_schemas(api: &ApiSpec) -> Map<String, Value> {
    api.models
        .iter()
        .map(|m| {
            let schema = serde_json::from_str(&m.schema).unwrap_or(Value::Null);
            (m.name.clone(), schema)
        })
        .collect()
}

/// `requestBody` and the validator of a route with a model.
pub(crate) fn export_body(api: &ApiSpec, route: &RouteSpec, op: &mut Map<String, Value>) {
    let Some(name) = &route.request_model else {
        return;
    };
    let content_type = api
        .models
        .iter()
        .find(|m| &m.name == name)
        .map_or("application/json", |m| m.content_type.as_str());
    op.insert(
        "requestBody".into(),
        json!({
            "required": true,
            "content": { content_type: { "schema": { "$ref": format!("{SCHEMA_REF}{name}") } } }
        }),
    );
    op.insert(
        "x-amazon-apigateway-request-validator".into(),
        json!(VALIDATOR),
    );
}

/// `x-amazon-apigateway-request-validators`, when a route validates its body.
pub(crate) fn export_validators(api: &ApiSpec) -> Option<Value> {
    api.routes.iter().any(|r| r.request_model.is_some()).then(
        || json!({ VALIDATOR: { "validateRequestBody": true, "validateRequestParameters": true } }),
    )
}

/// `components.schemas` as models (names of letters and digits; others are left out
/// with a warning unless a route needs them).
pub(crate) fn import_schemas(r: &mut Reader, doc: &Map<String, Value>) -> Vec<ModelSpec> {
    let Some(schemas) = doc
        .get("components")
        .and_then(|c| c.get("schemas"))
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, schema) in schemas {
        let at = format!("components.schemas.{name}");
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            r.warn(
                at,
                "a model name has letters and digits only (as in API Gateway); left out",
            );
            continue;
        }
        let text = schema.to_string();
        let mut refs = Vec::new();
        references(schema, &mut refs);
        for reference in refs {
            let known = reference
                .strip_prefix(SCHEMA_REF)
                .map(|n| schemas.contains_key(n));
            match known {
                Some(true) => {}
                Some(false) => r.warn(
                    &at,
                    format!("`$ref` `{reference}` names no schema of `components.schemas`: a deployment whose route validates against it is refused until it does"),
                ),
                None if reference.starts_with("#/") => {}
                None => r.warn(
                    &at,
                    format!("`$ref` `{reference}` is not fetched: a deployment whose route validates against it is refused until the schema refers only to `components.schemas` or within itself"),
                ),
            }
        }
        out.push(ModelSpec {
            name: name.clone(),
            content_type: "application/json".to_owned(),
            schema: text,
        });
    }
    out
}

/// Every `$ref` in `schema`.
fn references<'a>(schema: &'a Value, out: &mut Vec<&'a str>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| references(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// The model an operation's body is validated against: its `requestBody` schema's
/// `$ref`, when its request validator (or the document's default one) validates bodies.
pub(crate) fn import_body(
    r: &mut Reader,
    at: &str,
    doc: &Map<String, Value>,
    op: &Map<String, Value>,
    models: &mut [ModelSpec],
) -> Option<String> {
    let (validator, validator_at) = match op.get("x-amazon-apigateway-request-validator") {
        Some(v) => (v, format!("{at}.x-amazon-apigateway-request-validator")),
        None => (
            doc.get("x-amazon-apigateway-request-validator")?,
            "x-amazon-apigateway-request-validator".to_owned(),
        ),
    };
    let name = validator.as_str().unwrap_or_default();
    let Some(settings) = doc
        .get("x-amazon-apigateway-request-validators")
        .and_then(|v| v.get(name))
    else {
        r.err(
            validator_at,
            format!("no validator `{name}` in `x-amazon-apigateway-request-validators`"),
        );
        return None;
    };
    if settings.get("validateRequestBody").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    let content = op.get("requestBody")?.get("content")?.as_object()?;
    let (content_type, media) = content.iter().next()?;
    let body_at = format!("{at}.requestBody.content.{content_type}.schema");
    let Some(reference) = media
        .get("schema")
        .and_then(|s| s.get("$ref"))
        .and_then(Value::as_str)
    else {
        r.warn(
            body_at,
            "an inline schema is not validated: move it to `components.schemas` and `$ref` it",
        );
        return None;
    };
    let Some(model) = reference
        .strip_prefix(SCHEMA_REF)
        .and_then(|n| models.iter_mut().find(|m| m.name == n))
    else {
        r.err(
            body_at,
            format!("`{reference}` names no model in `components.schemas`"),
        );
        return None;
    };
    model.content_type = content_type.clone();
    Some(model.name.clone())
}
