//! REST API models: a route's request body checked against a JSON Schema before the
//! request goes on (API Gateway's request validator with `validateRequestBody`).

use causeway_model::ModelSpec;
use serde_json::Value;

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
    /// `$schema`. Remote `$ref`s are not fetched.
    pub(crate) fn compile(spec: &ModelSpec) -> Result<BodyModel, String> {
        let schema: Value =
            serde_json::from_str(&spec.schema).map_err(|e| format!("not JSON: {e}"))?;
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

    fn model(schema: &str) -> Result<BodyModel, String> {
        BodyModel::compile(&ModelSpec {
            name: "Pet".into(),
            content_type: "application/json".into(),
            schema: schema.into(),
        })
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
