//! References between an API's models, as API Gateway resolves them: a schema names
//! another model of the same API with `"$ref": "https://apigateway.amazonaws.com/
//! restapis/{api}/models/{Name}"` (what API Gateway writes) or with an OpenAPI document's
//! `"$ref": "#/components/schemas/{Name}"` (what an import carries). Each such reference
//! is rewritten to `#/definitions/{Name}` and the named models (and the models they
//! name, once each, so cycles are fine) are copied under the schema's `definitions`:
//! the compiled schema is self-contained, nothing is fetched. Other references (local
//! JSON pointers such as `#/definitions/x`) are left as they are.

use std::collections::BTreeMap;

use causeway_model::ModelSpec;
use serde_json::{Map, Value};

const COMPONENTS: &str = "#/components/schemas/";
const AWS_MODELS: &str = "https://apigateway.amazonaws.com/restapis/";

/// The model a reference names, if it names one.
fn model_name(reference: &str) -> Option<&str> {
    if let Some(name) = reference.strip_prefix(COMPONENTS) {
        return Some(name);
    }
    let rest = reference.strip_prefix(AWS_MODELS)?;
    let (_api, name) = rest.split_once("/models/")?;
    Some(name)
}

/// `schema` with its references to `models` resolved.
pub(super) fn resolve(mut schema: Value, models: &[ModelSpec]) -> Result<Value, String> {
    let mut wanted = Vec::new();
    rewrite(&mut schema, &mut wanted);
    if wanted.is_empty() {
        return Ok(schema);
    }
    let mut definitions: BTreeMap<String, Value> = BTreeMap::new();
    while let Some(name) = wanted.pop() {
        if definitions.contains_key(&name) {
            continue;
        }
        let Some(model) = models.iter().find(|m| m.name == name) else {
            let known: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
            return Err(format!(
                "`$ref` to model `{name}`, which this API does not define (its models: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ));
        };
        let mut named: Value = serde_json::from_str(&model.schema)
            .map_err(|e| format!("`$ref` to model `{name}`, whose schema is not JSON: {e}"))?;
        rewrite(&mut named, &mut wanted);
        definitions.insert(name, named);
    }
    let Some(root) = schema.as_object_mut() else {
        return Err("a schema that refers to other models must be a JSON object".to_owned());
    };
    let defs = root
        .entry("definitions")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(defs) = defs.as_object_mut() else {
        return Err("`definitions` must be an object".to_owned());
    };
    for (name, named) in definitions {
        match defs.get(&name) {
            Some(existing) if *existing != named => {
                return Err(format!(
                    "`definitions.{name}` is already in the schema and differs from model `{name}`; rename one"
                ));
            }
            _ => {
                defs.insert(name, named);
            }
        }
    }
    Ok(schema)
}

/// Point every model reference in `value` at `#/definitions/{Name}`, noting the names.
fn rewrite(value: &mut Value, wanted: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("$ref")
                && let Some(name) = model_name(reference).map(str::to_owned)
            {
                *reference = format!("#/definitions/{name}");
                wanted.push(name);
            }
            for v in map.values_mut() {
                rewrite(v, wanted);
            }
        }
        Value::Array(items) => {
            for v in items {
                rewrite(v, wanted);
            }
        }
        _ => {}
    }
}
