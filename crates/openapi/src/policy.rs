//! `x-amazon-apigateway-policy`: an API's resource policy as the IAM policy document API
//! Gateway exports, for the part Causeway enforces, source addresses. An allow list is
//! written as AWS's own example writes one (allow everyone, deny who is `NotIpAddress`
//! in it), a deny list as a deny on `IpAddress`. On import, those forms and an allow on
//! `IpAddress` are read; a statement about anything else (principals, VPC endpoints,
//! other conditions or resources) is left out with a warning naming it.

use causeway_model::ResourcePolicySpec;
use serde_json::{Value, json};

use crate::import::Reader;

const AT: &str = "x-amazon-apigateway-policy";

/// The policy document for `policy` (`None`: the API has none).
pub(crate) fn export(policy: &ResourcePolicySpec) -> Option<Value> {
    if policy.is_default() {
        return None;
    }
    let statement = |effect: &str, condition: Option<(&str, &[String])>| {
        let mut s = json!({
            "Effect": effect,
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": "execute-api:/*",
        });
        if let Some((test, networks)) = condition {
            s["Condition"] = json!({ test: { "aws:SourceIp": networks } });
        }
        s
    };
    let mut statements = vec![statement("Allow", None)];
    if !policy.allow_source_networks.is_empty() {
        statements.push(statement(
            "Deny",
            Some(("NotIpAddress", &policy.allow_source_networks)),
        ));
    }
    if !policy.deny_source_networks.is_empty() {
        statements.push(statement(
            "Deny",
            Some(("IpAddress", &policy.deny_source_networks)),
        ));
    }
    Some(json!({ "Version": "2012-10-17", "Statement": statements }))
}

/// The source-address part of a policy document (an object, or the JSON text of one).
pub(crate) fn import(r: &mut Reader, doc: &Value) -> ResourcePolicySpec {
    let mut policy = ResourcePolicySpec::default();
    let parsed;
    let doc = match doc {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(v) => {
                parsed = v;
                &parsed
            }
            Err(e) => {
                r.err(AT, format!("not a JSON policy document: {e}"));
                return policy;
            }
        },
        other => other,
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => {
            r.err(AT, "a policy document needs a `Statement` list");
            return policy;
        }
    };
    for (i, s) in statements.iter().enumerate() {
        let at = format!("{AT}.Statement[{i}]");
        let effect = s.get("Effect").and_then(Value::as_str).unwrap_or("");
        let everyone = matches!(s.get("Principal"), Some(Value::String(p)) if p == "*")
            || s.pointer("/Principal/AWS").and_then(Value::as_str) == Some("*");
        let resource_ok = match s.get("Resource") {
            Some(Value::String(r)) => r.starts_with("execute-api:/"),
            Some(Value::Array(rs)) => rs
                .iter()
                .all(|r| r.as_str().is_some_and(|r| r.starts_with("execute-api:/"))),
            _ => false,
        };
        if !everyone || !resource_ok {
            r.warn(
                at,
                "not imported: only statements for every principal (`\"Principal\": \"*\"`) on `execute-api:/…` resources are, by source address",
            );
            continue;
        }
        let condition = s.get("Condition").and_then(Value::as_object);
        let Some(condition) = condition.filter(|c| !c.is_empty()) else {
            if effect == "Allow" {
                continue; // everyone allowed: the default
            }
            r.warn(
                at,
                "not imported: a Deny for everyone would refuse every request",
            );
            continue;
        };
        let (test, networks) = match (condition.len(), condition.iter().next()) {
            (1, Some((test, v))) => match v.get("aws:SourceIp").map(networks) {
                Some(Some(list)) if v.as_object().is_some_and(|o| o.len() == 1) => {
                    (test.as_str(), list)
                }
                _ => {
                    r.warn(
                        at,
                        "not imported: only `aws:SourceIp` conditions are enforced",
                    );
                    continue;
                }
            },
            _ => {
                r.warn(at, "not imported: one `IpAddress` or `NotIpAddress` condition per statement is read");
                continue;
            }
        };
        match (effect, test) {
            ("Allow", "IpAddress") | ("Deny", "NotIpAddress") => {
                policy.allow_source_networks.extend(networks)
            }
            ("Deny", "IpAddress") => policy.deny_source_networks.extend(networks),
            _ => r.warn(
                at,
                format!("not imported: `{effect}` with `{test}` is not a source-address rule Causeway enforces"),
            ),
        }
    }
    policy
}

/// `"10.0.0.0/8"` or `["10.0.0.0/8", …]`.
fn networks(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(list) => list.iter().map(|n| n.as_str().map(str::to_owned)).collect(),
        _ => None,
    }
}
