//! `x-amazon-apigateway-policy` read from API Gateway's own documents; HTTP APIs' parameter
//! mappings through `requestParameters` and `responseParameters`.

/// API Gateway's own form of an IP allow list and deny list is read; statements about
/// anything else are left out with a warning naming them.
#[test]
fn an_api_gateway_resource_policy_is_read_for_its_source_addresses() {
    let doc = serde_json::json!({
        "openapi": "3.0.1",
        "info": { "title": "Imported", "version": "1" },
        "x-amazon-apigateway-endpoint-configuration": { "disableExecuteApiEndpoint": true },
        "x-amazon-apigateway-policy": {
            "Version": "2012-10-17",
            "Statement": [
                { "Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*" },
                { "Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
                  "Condition": { "NotIpAddress": { "aws:SourceIp": ["203.0.113.0/24", "198.51.100.9"] } } },
                { "Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": ["execute-api:/*/GET/*"],
                  "Condition": { "IpAddress": { "aws:SourceIp": "203.0.113.66" } } },
                { "Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
                  "Condition": { "StringNotEquals": { "aws:SourceVpce": "vpce-1a2b3c4d" } } },
                { "Effect": "Allow", "Principal": { "AWS": "arn:aws:iam::123456789012:root" }, "Action": "execute-api:Invoke", "Resource": "execute-api:/*" }
            ]
        },
        "paths": { "/": { "get": { "x-amazon-apigateway-integration": { "type": "mock" } } } }
    });
    let imported = crate::import(&doc.to_string(), &crate::ImportOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let p = &imported.api.resource_policy;
    assert_eq!(p.allow_source_networks, ["203.0.113.0/24", "198.51.100.9"]);
    assert_eq!(p.deny_source_networks, ["203.0.113.66"]);
    assert!(imported.api.endpoint.disable_execute_api_endpoint);
    let warned: Vec<&str> = imported.warnings.iter().map(|w| w.at.as_str()).collect();
    assert_eq!(
        warned,
        [
            "x-amazon-apigateway-policy.Statement[3]",
            "x-amazon-apigateway-policy.Statement[4]"
        ],
        "{:?}",
        imported.warnings
    );

    // A bad network in the policy is the import's error, placed.
    let mut bad = doc.clone();
    bad["x-amazon-apigateway-policy"]["Statement"][2]["Condition"]["IpAddress"]["aws:SourceIp"] =
        serde_json::json!("not-a-network");
    let Err(err) = crate::import(&bad.to_string(), &crate::ImportOptions::default()) else {
        panic!("a bad network was imported");
    };
    let err = err.to_string();
    assert!(err.contains("not-a-network"), "{err}");
}

/// An HTTP API's parameter mapping travels as API Gateway's `requestParameters` and
/// per-status `responseParameters` of the `http_proxy` integration.
#[test]
fn http_api_parameter_mappings_survive_export_and_import() {
    super::round_trip(
        "mapped.toml",
        r#"
version = 1
id = "mapped"
name = "Mapped"
type = "HTTP"
[[routes]]
key = "GET /pets/{id}"
[routes.integration]
type = "HTTP_PROXY"
uri = "http://127.0.0.1:9/pets/{id}"
[routes.integration.request_parameters]
"append:header.x-trace" = "gw"
"overwrite:path" = "/v2/$request.path.id"
"remove:querystring.debug" = ""
[routes.integration.response_parameters."404"]
"overwrite:statuscode" = "204"
"append:header.x-from" = "$response.header.server"
"#,
    );
}
