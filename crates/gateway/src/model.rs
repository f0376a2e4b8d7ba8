//! REST API models: a route's request body checked against a JSON Schema before the
//! request goes on (API Gateway's request validator with `validateRequestBody`).

use causeway_model::ModelSpec;
use serde_json::Value;

mod refs;

/// A model compiled once per deployment.
#[derive(Debug)]
pub(crate) struct BodyModel {
    pub(crate) name: String,
    validator: jsonschema::Validator,
}

/// At most this many problems are named in `$context.error.validationErrorString`.
const MAX_REPORTED: usize = 10;

impl BodyModel {
    /// Compile `spec`'s schema: draft 4 (API Gateway's) unless it names its draft in
    /// `$schema`. References to the API's other models (`models`) are resolved (see
    /// [`refs`]); remote `$ref`s are not fetched.
    pub(crate) fn compile(spec: &ModelSpec, models: &[ModelSpec]) -> Result<BodyModel, String> {
        let schema: Value =
            serde_json::from_str(&spec.schema).map_err(|e| format!("not JSON: {e}"))?;
        let schema = refs::resolve(schema, models)?;
        let names_draft = schema.get("$schema").is_some();
        let validator = if names_draft {
            jsonschema::validator_for(&schema)
        } else {
            jsonschema::draft4::new(&schema)
        }
        .map_err(|e| format!("not a usable JSON Schema: {e}"))?;
        Ok(BodyModel {
            name: spec.name.clone(),
            validator,
        })
    }

    /// `Ok` when `body` is JSON matching the model, else what is wrong, as API Gateway's
    /// `validationErrorString` lists it: `[problem, problem, ...]`.
    pub(crate) fn check(&self, body: &[u8]) -> Result<(), String> {
        let instance: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) if body.is_empty() => {
                return Err(format!(
                    "[the body is empty; model {} expects JSON ({e})]",
                    self.name
                ));
            }
            Err(e) => return Err(format!("[the body is not JSON: {e}]")),
        };
        let problems: Vec<String> = self
            .validator
            .iter_errors(&instance)
            .take(MAX_REPORTED)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() {
                    e.to_string()
                } else {
                    format!("{at}: {e}")
                }
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("[{}]", problems.join(", ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, schema: &str) -> ModelSpec {
        ModelSpec {
            name: name.into(),
            content_type: "application/json".into(),
            schema: schema.into(),
        }
    }

    fn model(schema: &str) -> Result<BodyModel, String> {
        BodyModel::compile(&spec("Pet", schema), &[])
    }

    #[test]
    fn models_refer_to_each_other_as_api_gateway_and_openapi_write_it() {
        let models = [
            spec(
                "Order",
                r##"{"type": "object", "required": ["items"], "properties": {
                    "items": {"type": "array", "items": {"$ref": "https://apigateway.amazonaws.com/restapis/abc123/models/Item"}},
                    "ship_to": {"$ref": "#/components/schemas/Address"}}}"##,
            ),
            spec(
                "Item",
                r##"{"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}, "parts": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}}"##,
            ),
            spec("Address", r#"{"type": "object", "required": ["city"]}"#),
        ];
        let order = BodyModel::compile(&models[0], &models).expect("compiles");
        assert_eq!(order.check(br#"{"items": [{"sku": "a", "parts": [{"sku": "b"}]}], "ship_to": {"city": "Oslo"}}"#), Ok(()));
        let e = order
            .check(br#"{"items": [{"parts": [{}]}], "ship_to": {}}"#)
            .expect_err("nested problems");
        for problem in [
            "/items/0: \"sku\" is a required property",
            "/items/0/parts/0: \"sku\" is a required property",
            "/ship_to: \"city\" is a required property",
        ] {
            assert!(e.contains(problem), "{problem} not in {e}");
        }
        let e = BodyModel::compile(
            &spec("Lone", r##"{"$ref": "#/components/schemas/Ghost"}"##),
            &models,
        )
        .expect_err("unknown model");
        assert!(e.contains("`$ref` to model `Ghost`, which this API does not define (its models: Order, Item, Address)"), "{e}");
    }

    #[test]
    fn bodies_are_checked_and_problems_named() {
        let pet = model(
            r#"{"type": "object", "required": ["name"],
                "properties": {"name": {"type": "string"}, "price": {"type": "number", "minimum": 0}}}"#,
        )
        .expect("compiles");
        assert_eq!(pet.check(br#"{"name": "Rex", "price": 12.5}"#), Ok(()));
        let e = pet.check(br#"{"price": -1}"#).expect_err("two problems");
        assert!(e.contains("\"name\" is a required property"), "{e}");
        assert!(
            e.contains("/price: -1 is less than the minimum of 0"),
            "{e}"
        );
        assert!(pet.check(b"").expect_err("empty").contains("empty"));
        assert!(
            pet.check(b"{not json")
                .expect_err("garbage")
                .contains("not JSON")
        );
    }

    #[test]
    fn draft_4_unless_the_schema_says_otherwise() {
        // Draft 4's boolean `exclusiveMinimum` is an error in later drafts' terms.
        let d4 = model(r#"{"type": "number", "minimum": 0, "exclusiveMinimum": true}"#)
            .expect("draft 4");
        assert!(d4.check(b"0").is_err());
        assert!(d4.check(b"1").is_ok());
        let d7 = model(
            r#"{"$schema": "http://json-schema.org/draft-07/schema#", "type": "number", "exclusiveMinimum": 0}"#,
        )
        .expect("draft 7");
        assert!(d7.check(b"0").is_err());
        assert!(model(r#"{"type": "no-such-type"}"#).is_err());
    }
}
