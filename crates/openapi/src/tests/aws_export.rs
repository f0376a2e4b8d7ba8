//! Importing a document as API Gateway's console exports it.

use causeway_model::{ApiType, IntegrationSpec};

use crate::{ImportOptions, import};

/// A REST API as API Gateway's console exports one (OpenAPI 3, YAML, with integrations).
const AWS_EXPORT: &str = r##"
openapi: "3.0.1"
info:
  title: "Pet Store (imported)"
  description: "Your first API with Amazon API Gateway."
  version: "2024-05-01T10:00:00Z"
servers:
- url: "https://abc123.execute-api.us-east-1.amazonaws.com/{basePath}"
  variables:
    basePath:
      default: "test"
paths:
  /pets:
    get:
      parameters:
      - name: "type"
        in: "query"
        schema:
          type: "string"
      - name: "page"
        in: "query"
        required: true
        schema:
          type: "string"
      x-amazon-apigateway-request-validator: "params"
      x-amazon-apigateway-integration:
        httpMethod: "GET"
        uri: "http://petstore.example/petstore/pets"
        responses:
          default:
            statusCode: "200"
            responseParameters:
              method.response.header.Access-Control-Allow-Origin: "'*'"
        requestParameters:
          integration.request.querystring.page: "method.request.querystring.page"
          integration.request.querystring.type: "method.request.querystring.type"
        passthroughBehavior: "when_no_match"
        type: "http"
    post:
      security:
      - api_key: []
      requestBody:
        content:
          application/json:
            schema:
              $ref: "#/components/schemas/NewPet"
        required: true
      x-amazon-apigateway-request-validator: "all"
      x-amazon-apigateway-integration:
        httpMethod: "POST"
        uri: "http://petstore.example/petstore/pets"
        responses:
          default:
            statusCode: "200"
        passthroughBehavior: "when_no_match"
        timeoutInMillis: 5000
        type: "http_proxy"
  /pets/{petId}:
    get:
      parameters:
      - name: "petId"
        in: "path"
        required: true
        schema:
          type: "string"
      x-amazon-apigateway-integration:
        httpMethod: "GET"
        uri: "http://petstore.example/petstore/pets/{petId}"
        requestParameters:
          integration.request.path.petId: "method.request.path.petId"
        passthroughBehavior: "when_no_match"
        type: "http_proxy"
  /:
    get:
      x-amazon-apigateway-integration:
        responses:
          default:
            statusCode: "200"
            responseParameters:
              method.response.header.Content-Type: "'text/html'"
            responseTemplates:
              text/html: "<html><body>Welcome</body></html>"
        requestTemplates:
          application/json: "{\"statusCode\": 200}"
        passthroughBehavior: "when_no_match"
        type: "mock"
x-amazon-apigateway-request-validators:
  all:
    validateRequestParameters: true
    validateRequestBody: true
  params:
    validateRequestParameters: true
    validateRequestBody: false
components:
  schemas:
    NewPet:
      type: "object"
      required: ["type", "price"]
      properties:
        type:
          type: "string"
        price:
          type: "number"
          minimum: 25.0
          maximum: 500.0
    Empty-Thing:
      type: "object"
  securitySchemes:
    api_key:
      type: "apiKey"
      name: "x-api-key"
      in: "header"
x-amazon-apigateway-gateway-responses:
  UNAUTHORIZED:
    statusCode: 401
    responseParameters:
      gatewayresponse.header.WWW-Authenticate: "'Bearer'"
    responseTemplates:
      application/json: "{\"message\":$context.error.messageString}"
"##;

#[test]
fn an_api_gateway_export_imports() {
    let imported = import(AWS_EXPORT, &ImportOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let api = imported.api;
    assert_eq!(api.id, "pet-store-imported");
    assert_eq!(api.kind, ApiType::Rest);
    let keys: Vec<&str> = api.routes.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(
        keys,
        ["GET /", "GET /pets", "POST /pets", "GET /pets/{petId}"]
    );
    let list = &api.routes[1];
    assert_eq!(
        list.request_parameters
            .get("method.request.querystring.page"),
        Some(&true)
    );
    assert_eq!(
        list.request_parameters
            .get("method.request.querystring.type"),
        Some(&false)
    );
    let IntegrationSpec::Http(http) = &list.integration else {
        panic!("{:?}", list.integration)
    };
    assert_eq!(http.uri, "http://petstore.example/petstore/pets");
    assert_eq!(
        http.method, None,
        "GET on a GET route is the route's method"
    );
    assert_eq!(http.timeout_ms, 29_000);
    assert_eq!(
        http.response_parameters
            .get("method.response.header.Access-Control-Allow-Origin"),
        Some(&"'*'".to_owned())
    );
    assert!(api.routes[2].api_key_required);
    let IntegrationSpec::HttpProxy(proxy) = &api.routes[2].integration else {
        panic!("{:?}", api.routes[2].integration)
    };
    assert_eq!(proxy.timeout_ms, 5000);
    let IntegrationSpec::Mock(mock) = &api.routes[0].integration else {
        panic!("{:?}", api.routes[0].integration)
    };
    assert_eq!(
        mock.headers.get("Content-Type"),
        Some(&"text/html".to_owned())
    );
    assert_eq!(mock.body, "<html><body>Welcome</body></html>");
    assert_eq!(api.gateway_responses[0].kind, "UNAUTHORIZED");
    assert_eq!(api.gateway_responses[0].status, Some(401));
    assert_eq!(
        api.gateway_responses[0].headers.get("WWW-Authenticate"),
        Some(&"Bearer".to_owned())
    );
    // What is not acted on is said, with where.
    let at: Vec<&str> = imported.warnings.iter().map(|w| w.at.as_str()).collect();
    assert_eq!(at, ["servers[0]", "components.schemas.Empty-Thing"]);
    // The body model of the validated POST, and none for the parameters-only GET.
    assert_eq!(api.routes[2].request_model.as_deref(), Some("NewPet"));
    assert_eq!(api.routes[1].request_model, None);
    let model: serde_json::Value = serde_json::from_str(&api.models[0].schema).unwrap_or_default();
    assert_eq!(model["properties"]["price"]["minimum"], 25.0);
    // The stage the export was made for, from the server URL's `basePath`.
    let stages: Vec<&str> = api.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(stages, ["test"]);

    // Told it is an HTTP API, the gateway responses (a REST feature) are refused there.
    let as_http = import(
        AWS_EXPORT,
        &ImportOptions {
            id: Some("pets".into()),
            kind: Some(ApiType::Http),
        },
    )
    .expect_err("gateway responses on an HTTP API")
    .0;
    let at: Vec<&str> = as_http.iter().map(|e| e.at.as_str()).collect();
    assert_eq!(
        at,
        ["x-amazon-apigateway-gateway-responses.UNAUTHORIZED"],
        "{as_http:?}"
    );
    let trimmed = AWS_EXPORT
        .split("x-amazon-apigateway-gateway-responses")
        .next()
        .unwrap_or_default();
    let named = import(
        trimmed,
        &ImportOptions {
            id: Some("pets".into()),
            kind: Some(ApiType::Http),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (named.api.id.as_str(), named.api.kind),
        ("pets", ApiType::Http)
    );
}
