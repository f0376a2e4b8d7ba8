use causeway_model::{ApiSpec, parse_api};

use crate::{ExportOptions, Format, ImportOptions, export, import, render};

mod aws_export;
mod extensions;

fn manifest_file(rel: &str) -> String {
    let path = format!("{}/../../{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An HTTP API using what API Gateway has no word for, beside what it has.
const HTTP_API: &str = r#"
version = 1
id = "orders"
name = "Orders"
type = "HTTP"
binary_media_types = ["image/png"]
cors = { allow_origins = ["https://shop.example"], allow_methods = ["GET", "POST"], allow_headers = ["authorization"], expose_headers = ["x-request-id"], max_age = 600, allow_credentials = true }

[[stages]]
name = "live"
variables = { backend = "http://127.0.0.1:9" }
cache = { enabled = true, capacity_bytes = 1048576, ttl_seconds = 60 }
throttle = { rate = 100.0, burst = 50 }

[[plugins]]
name = "shop"
file = "shopping_list.wasm"
world = "function"
instance = "reuse"

[[plugins]]
name = "hello"
file = "hello.wasm"
world = "wasi-http"

[[plugins]]
name = "gate"
file = "gate.wasm"
world = "authorizer"

[[authorizers]]
name = "users"
type = "JWT"
identity_source = "$request.header.Authorization"
jwt = { issuer = "https://issuer.example", audiences = ["orders"], jwks_file = "jwks.json" }

[[authorizers]]
name = "gate"
type = "REQUEST"
plugin = "gate"
identity_sources = ["method.request.header.x-tenant", "method.request.querystring.tenant"]
result_ttl_seconds = 60

[[routes]]
key = "GET /orders/{id}"
authorizer = "users"
authorization_scopes = ["orders:read"]
request_parameters = { "method.request.querystring.expand" = false, "method.request.header.x-trace" = true }
cache = { ttl_seconds = 30, key_parameters = ["method.request.querystring.expand"] }
throttle = { rate = 10.0, burst = 5 }
[routes.integration]
type = "HTTP_PROXY"
uri = "${stageVariables.backend}/orders/{id}"
timeout_ms = 3000

[[routes]]
key = "POST /lists"
authorizer = "gate"
[routes.integration]
type = "FUNCTION"
plugin = "shop"
payload_format = "2.0"

[[routes]]
key = "GET /hello"
[routes.integration]
type = "WASI_HTTP"
plugin = "hello"
timeout_ms = 1000

[[routes]]
key = "$default"
[routes.integration]
type = "MOCK"
status = 404
headers = { "content-type" = "application/json" }
body = '{"message": "no such order route: $context.path"}'
"#;

/// Route and authorizer order carries no meaning (the router orders by precedence), and
/// the document keeps them by path and name; nor does declaring a path parameter the
/// route key already has.
fn normalized(mut api: ApiSpec) -> ApiSpec {
    api.routes.sort_by(|a, b| a.key.cmp(&b.key));
    api.authorizers.sort_by(|a, b| a.name.cmp(&b.name));
    api.gateway_responses.sort_by(|a, b| a.kind.cmp(&b.kind));
    for r in &mut api.routes {
        r.request_parameters
            .retain(|k, _| !k.starts_with("method.request.path."));
    }
    // A schema is the same JSON whatever its spacing and key order.
    for m in &mut api.models {
        let schema: serde_json::Value = serde_json::from_str(&m.schema).unwrap_or_default();
        m.schema = schema.to_string();
    }
    api
}

fn round_trip(file: &str, text: &str) {
    let api = parse_api(file, text).unwrap_or_else(|e| panic!("{e}"));
    let doc = export(&api, &ExportOptions::default());
    for format in [Format::Json, Format::Yaml] {
        let text = render(&doc, format);
        let back = import(&text, &ImportOptions::default())
            .unwrap_or_else(|e| panic!("{file} as {format:?}: {e}\n{text}"));
        assert_eq!(
            normalized(back.api),
            normalized(api.clone()),
            "{file} as {format:?}"
        );
        assert!(
            back.warnings.is_empty(),
            "{file}: our own export warns: {:?}",
            back.warnings
        );
    }
}

#[test]
fn every_shipped_api_survives_export_and_import() {
    for file in [
        "edge-config/apis/petstore.toml",
        "benches/config/apis/bench.toml",
        "benches/plugin-api.toml",
    ] {
        round_trip(file, &manifest_file(file));
    }
    round_trip("orders.toml", HTTP_API);
    round_trip("pets.toml", REST_WITH_MODEL);
    round_trip("private.toml", PRIVATE_REST);
    round_trip("fenced.toml", FENCED_REST);
}

/// A REST API with a resource policy (`x-amazon-apigateway-policy`) served only through
/// custom domains (`x-amazon-apigateway-endpoint-configuration`).
const FENCED_REST: &str = r#"
version = 1
id = "fenced"
name = "Fenced"
type = "REST"
[endpoint]
disable_execute_api_endpoint = true
[resource_policy]
allow_source_networks = ["10.0.0.0/8", "192.0.2.7"]
deny_source_networks = ["10.6.6.0/24"]
[[routes]]
key = "GET /"
integration = { type = "MOCK", body = "fenced" }
"#;

/// A PRIVATE REST API (its endpoint travels in `x-causeway.endpoint`) that compresses
/// responses (`x-amazon-apigateway-minimum-compression-size`).
const PRIVATE_REST: &str = r#"
version = 1
id = "inside"
name = "Inside"
type = "REST"
minimum_compression_size = 1024
[endpoint]
type = "PRIVATE"
source_networks = ["10.0.0.0/8", "fd00::/8"]
[[routes]]
key = "GET /"
integration = { type = "MOCK", body = "inside" }
"#;

/// A REST API validating a body against a model.
const REST_WITH_MODEL: &str = r#"
version = 1
id = "pets"
name = "Pets"
type = "REST"
[[stages]]
name = "prod"
[[models]]
name = "NewPet"
schema = '{"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}'
[[routes]]
key = "POST /pets"
request_model = "NewPet"
integration = { type = "HTTP_PROXY", uri = "http://127.0.0.1:9/pets" }
"#;

#[test]
fn the_export_reads_as_api_gateways() {
    let api = parse_api(
        "petstore.toml",
        &manifest_file("edge-config/apis/petstore.toml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let doc = export(
        &api,
        &ExportOptions {
            server_url: Some("http://petstore.execute-api.localhost:8080/prod".into()),
            version: Some("0123456789abcdef".into()),
        },
    );
    assert_eq!(doc["openapi"], "3.0.1");
    assert_eq!(doc["info"]["title"], "PetStore");
    assert_eq!(doc["info"]["version"], "0123456789abcdef");
    assert_eq!(
        doc["servers"][0]["url"],
        "http://petstore.execute-api.localhost:8080/prod"
    );
    let list = &doc["paths"]["/pets"]["get"];
    assert_eq!(list["x-amazon-apigateway-integration"]["type"], "http");
    assert_eq!(
        list["x-amazon-apigateway-integration"]["requestParameters"]["integration.request.querystring.page"],
        "method.request.querystring.page"
    );
    assert_eq!(
        list["x-amazon-apigateway-integration"]["responses"]["default"]["responseParameters"]["method.response.header.x-powered-by"],
        "'causeway'"
    );
    assert_eq!(list["parameters"][0]["in"], "query");
    let pet = &doc["paths"]["/pets/{petId}"]["get"];
    assert_eq!(pet["parameters"][0]["name"], "petId");
    assert_eq!(pet["parameters"][0]["in"], "path");
    assert_eq!(pet["parameters"][0]["required"], true);
    let proxy = &doc["paths"]["/{proxy+}"]["x-amazon-apigateway-any-method"];
    assert_eq!(
        proxy["x-amazon-apigateway-integration"]["type"],
        "http_proxy"
    );
    assert_eq!(
        proxy["x-amazon-apigateway-integration"]["httpMethod"],
        "ANY"
    );
    let root = &doc["paths"]["/"]["get"]["x-amazon-apigateway-integration"];
    assert_eq!(root["type"], "mock");
    assert_eq!(root["responses"]["default"]["statusCode"], "200");
    assert_eq!(
        doc["x-amazon-apigateway-gateway-responses"]["DEFAULT_4XX"]["responseParameters"]["gatewayresponse.header.access-control-allow-origin"],
        "'*'"
    );
    assert!(
        doc.get("x-amazon-apigateway-importexport-version")
            .is_none()
    );

    let http = parse_api("orders.toml", HTTP_API).unwrap_or_else(|e| panic!("{e}"));
    let doc = export(&http, &ExportOptions::default());
    assert_eq!(doc["x-amazon-apigateway-importexport-version"], "1.0");
    let users = &doc["components"]["securitySchemes"]["users"]["x-amazon-apigateway-authorizer"];
    assert_eq!(users["type"], "jwt");
    assert_eq!(
        users["jwtConfiguration"]["issuer"],
        "https://issuer.example"
    );
    assert_eq!(
        doc["paths"]["/orders/{id}"]["get"]["security"][0]["users"][0],
        "orders:read"
    );
    assert_eq!(doc["x-amazon-apigateway-cors"]["maxAge"], 600);
    assert_eq!(
        doc["paths"]["$default"]["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"]
            ["responses"]["default"]["statusCode"],
        "404"
    );
    assert_eq!(
        doc["paths"]["/lists"]["post"]["x-causeway-integration"]["type"],
        "FUNCTION"
    );
}

#[test]
fn what_cannot_be_imported_is_all_said_at_once_with_its_place() {
    let doc = r#"{
      "openapi": "3.0.1",
      "info": {"title": "Lambda shop"},
      "paths": {
        "/orders": {
          "get": {"x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST",
                  "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn/invocations"}},
          "post": {"security": [{"lambda": []}], "responses": {}},
          "put": {"x-amazon-apigateway-integration": {"type": "http", "uri": "http://x", "connectionType": "VPC_LINK"}}
        },
        "/orders/{id}": {
          "get": {"parameters": [{"name": "orderId", "in": "path", "required": true}],
                  "x-amazon-apigateway-integration": {"type": "mock"}}
        }
      },
      "components": {"securitySchemes": {"lambda": {"type": "apiKey", "name": "Authorization", "in": "header",
          "x-amazon-apigateway-authtype": "custom",
          "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": "arn:aws:lambda:auth"}}}}
    }"#;
    let errors = import(doc, &ImportOptions::default())
        .expect_err("nothing here runs on Causeway")
        .0;
    let at: Vec<&str> = errors.iter().map(|e| e.at.as_str()).collect();
    assert_eq!(
        at,
        [
            "components.securitySchemes.lambda.x-amazon-apigateway-authorizer",
            "paths./orders.get.x-amazon-apigateway-integration.type",
            "paths./orders.post.security[0].lambda",
            "paths./orders.post",
            "paths./orders.put.x-amazon-apigateway-integration.connectionType",
            "paths./orders/{id}.get.parameters[0].name",
        ],
        "{errors:?}"
    );
    assert!(
        errors[0].message.contains("x-causeway-authorizer"),
        "{}",
        errors[0]
    );
    assert!(errors[1].message.contains("FUNCTION"), "{}", errors[1]);
    assert!(
        errors[3]
            .message
            .contains("no `x-amazon-apigateway-integration`"),
        "{}",
        errors[3]
    );

    let swagger = import(
        r#"{"swagger": "2.0", "info": {"title": "old"}, "paths": {}}"#,
        &ImportOptions::default(),
    )
    .expect_err("Swagger 2.0");
    assert!(swagger.to_string().contains("swagger2openapi"), "{swagger}");
    let garbage = import("paths: [unclosed", &ImportOptions::default()).expect_err("not YAML");
    assert!(garbage.to_string().contains("not valid YAML"), "{garbage}");
}

#[test]
fn the_models_own_refusals_point_into_the_document() {
    let doc = r#"{
      "openapi": "3.0.1",
      "info": {"title": "slow"},
      "paths": {"/slow": {"get": {"x-amazon-apigateway-integration":
          {"type": "http_proxy", "uri": "http://127.0.0.1:9/slow", "timeoutInMillis": 60000}}}}
    }"#;
    let errors = import(doc, &ImportOptions::default())
        .expect_err("60 s is over the limit")
        .0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].at.starts_with("paths./slow.get"), "{}", errors[0]);
    assert!(errors[0].message.contains("29000"), "{}", errors[0]);
}

#[test]
fn schemas_may_refer_to_each_other_and_other_references_are_warned_about() {
    let doc = r##"{
      "openapi": "3.0.1",
      "info": {"title": "shop"},
      "components": {"schemas": {
        "Order": {"type": "object", "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
            "extra": {"$ref": "#/definitions/local"}},
          "definitions": {"local": {"type": "string"}}},
        "Item": {"type": "object"},
        "Ghostly": {"$ref": "#/components/schemas/Ghost"},
        "Remote": {"$ref": "https://example.com/schemas/remote.json"}
      }},
      "paths": {"/": {"get": {"x-amazon-apigateway-integration": {"type": "mock"}}}}
    }"##;
    let imported = import(doc, &ImportOptions::default()).expect("imports");
    assert_eq!(imported.api.models.len(), 4);
    let warned: Vec<String> = imported.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warned.len(), 2, "{warned:?}");
    assert!(
        warned
            .iter()
            .any(|w| w.starts_with("components.schemas.Ghostly")
                && w.contains("`#/components/schemas/Ghost` names no schema")),
        "{warned:?}"
    );
    assert!(
        warned
            .iter()
            .any(|w| w.starts_with("components.schemas.Remote") && w.contains("is not fetched")),
        "{warned:?}"
    );
}

/// Imported documents are input: mangled exports of every shipped API and of the HTTP
/// API above (JSON and YAML) are refused with located messages or import as valid APIs.
/// Never a panic.
#[test]
fn mangled_documents_are_refused_with_their_place_or_imported() {
    let mut docs = Vec::new();
    for (file, text) in [
        (
            "petstore.toml",
            manifest_file("edge-config/apis/petstore.toml"),
        ),
        (
            "bench.toml",
            manifest_file("benches/config/apis/bench.toml"),
        ),
        ("orders.toml", HTTP_API.to_owned()),
    ] {
        let api = parse_api(file, &text).unwrap_or_else(|e| panic!("{e}"));
        let doc = export(&api, &ExportOptions::default());
        docs.push(render(&doc, Format::Json));
        docs.push(render(&doc, Format::Yaml));
    }
    // xorshift64*: deterministic, so a failure names a reproducible round.
    let mut state: u64 = 0x0a91_5eed;
    let mut below = |n: usize| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    };
    const BITS: &[u8] = b"{}[]\":,-#'/\n {}$x0";
    let (mut refused, mut imported) = (0, 0);
    for round in 0..3_000 {
        let mut bytes = docs[round % docs.len()].clone().into_bytes();
        for _ in 0..=below(3) {
            let at = below(bytes.len());
            let bit = BITS[below(BITS.len())];
            match below(3) {
                0 => bytes[at] = bit,
                1 => bytes.insert(at, bit),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        match import(&text, &ImportOptions::default()) {
            Ok(back) => {
                imported += 1;
                causeway_model::validate_api("imported", &back.api)
                    .into_result()
                    .unwrap_or_else(|e| panic!("round {round}: imported an invalid API: {e}"));
            }
            Err(errors) => {
                refused += 1;
                assert!(
                    !errors.0.is_empty(),
                    "round {round}: refused without a reason"
                );
                assert!(
                    errors.0.iter().all(|e| !e.message.is_empty()),
                    "round {round}"
                );
            }
        }
    }
    assert!(
        refused > 300 && imported > 300,
        "refused {refused}, imported {imported}"
    );
}

#[test]
fn a_websocket_api_has_no_openapi_export_and_says_so() {
    let text = r#"
version = 1
id = "chat"
name = "Chat"
type = "WEBSOCKET"
[[routes]]
key = "$default"
integration = { type = "MOCK" }
[[stages]]
name = "prod"
"#;
    let api = parse_api("chat.toml", text).expect("valid");
    let refused = crate::exportable(&api).expect_err("refused");
    assert!(refused.contains("WEBSOCKET"), "{refused}");
    let rest = parse_api(
        "pets.toml",
        &text
            .replace("WEBSOCKET", "HTTP")
            .replace("$default\"", "GET /\""),
    )
    .expect("valid");
    assert_eq!(crate::exportable(&rest), Ok(()));
}
