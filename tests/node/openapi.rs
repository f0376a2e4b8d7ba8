//! OpenAPI import and export through the real binary: an API Gateway export imported as
//! an API file serves real traffic, and the stage's export imports back to the same file.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::harness::{BIN, ConfigDir, Node, get_raw as raw_get, text};

/// An upstream that answers every request with its request line as the body and an
/// `x-version: 7` header (the test double for the backend).
fn echo_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind upstream");
    let addr = listener.local_addr().expect("upstream addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head);
                let line = head.lines().next().unwrap_or_default().to_owned();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nx-version: 7\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{line}",
                    line.len()
                );
            });
        }
    });
    addr
}

fn causeway(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run causeway");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .expect("write stdin");
    drop(input);
    child.wait_with_output().expect("causeway output")
}

/// What API Gateway's console exports for a small REST API (stage `test`).
fn aws_export(upstream: SocketAddr) -> String {
    format!(
        r#"openapi: "3.0.1"
info:
  title: "Pet Store"
  version: "2026-11-27T18:00:00Z"
servers:
- url: "https://abc123.execute-api.eu-west-1.amazonaws.com/{{basePath}}"
  variables:
    basePath:
      default: "test"
paths:
  /:
    get:
      x-amazon-apigateway-integration:
        type: "mock"
        requestTemplates:
          application/json: "{{\"statusCode\": 200}}"
        responses:
          default:
            statusCode: "200"
            responseParameters:
              method.response.header.content-type: "'text/plain'"
            responseTemplates:
              application/json: "welcome to $context.stage"
  /pets:
    get:
      parameters:
      - name: "page"
        in: "query"
        schema:
          type: "string"
      x-amazon-apigateway-integration:
        type: "http"
        httpMethod: "GET"
        uri: "http://{upstream}/petstore/pets"
        requestParameters:
          integration.request.querystring.page: "method.request.querystring.page"
        responses:
          default:
            statusCode: "200"
            responseParameters:
              method.response.header.x-powered-by: "'causeway'"
              method.response.header.x-backend-version: "integration.response.header.x-version"
  /pets/{{petId}}:
    get:
      parameters:
      - name: "petId"
        in: "path"
        required: true
        schema:
          type: "string"
      x-amazon-apigateway-integration:
        type: "http_proxy"
        httpMethod: "GET"
        uri: "http://{upstream}/petstore/pets/{{petId}}"
        requestParameters:
          integration.request.path.petId: "method.request.path.petId"
        timeoutInMillis: 2000
"#
    )
}

#[test]
fn an_api_gateway_export_serves_after_import_and_exports_back() {
    let upstream = echo_upstream();
    let cfg = ConfigDir::new(&[]);
    let doc = cfg.path().join("pets.yaml");
    std::fs::write(&doc, aws_export(upstream)).expect("write document");
    let api_file = cfg.path().join("apis/pets.toml");
    let imported = causeway(
        &[
            "openapi",
            "import",
            &doc.display().to_string(),
            "--id",
            "pets",
            "--out",
            &api_file.display().to_string(),
        ],
        None,
    );
    assert!(imported.status.success(), "{}", text(&imported));
    assert!(
        text(&imported).contains("warning: servers[0]: stage `test`"),
        "{}",
        text(&imported)
    );
    let again = causeway(
        &[
            "openapi",
            "import",
            &doc.display().to_string(),
            "--out",
            &api_file.display().to_string(),
        ],
        None,
    );
    assert!(
        !again.status.success(),
        "an existing file is not overwritten"
    );
    assert!(text(&again).contains("--force"), "{}", text(&again));

    let node = Node::start(cfg.path());
    let host = "pets.execute-api.localhost";
    let root = raw_get(node.addr, host, "/test/");
    assert!(root.starts_with("HTTP/1.1 200"), "{root}");
    assert!(root.ends_with("welcome to test"), "{root}");
    let list = raw_get(node.addr, host, "/test/pets?page=2&ignored=1");
    assert!(list.starts_with("HTTP/1.1 200"), "{list}");
    assert!(
        list.ends_with("GET /petstore/pets?page=2 HTTP/1.1"),
        "only the mapped parameter reaches the backend: {list}"
    );
    let lower = list.to_ascii_lowercase();
    assert!(lower.contains("\r\nx-powered-by: causeway\r\n"), "{list}");
    assert!(lower.contains("\r\nx-backend-version: 7\r\n"), "{list}");
    let pet = raw_get(node.addr, host, "/test/pets/42");
    assert!(pet.ends_with("GET /petstore/pets/42 HTTP/1.1"), "{pet}");

    // The stage's export names the node's invoke URL and the deployment, and imports back
    // to the file that was deployed.
    let exported = node.cli(&[
        "openapi",
        "export",
        "--api",
        "pets",
        "--stage",
        "test",
        "--deployed",
        "--format",
        "yaml",
    ]);
    assert!(exported.status.success(), "{}", text(&exported));
    let yaml = String::from_utf8_lossy(&exported.stdout).into_owned();
    assert!(yaml.starts_with("openapi: 3.0.1\n"), "{yaml}");
    let url = format!(
        "http://pets.execute-api.localhost:{}/test",
        node.addr.port()
    );
    assert!(yaml.contains(&url), "{yaml}");
    let back = causeway(&["openapi", "import", "-"], Some(&yaml));
    assert!(back.status.success(), "{}", text(&back));
    let body = |s: &str| -> String {
        s.lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let written = std::fs::read_to_string(&api_file).expect("read api file");
    assert_eq!(body(&String::from_utf8_lossy(&back.stdout)), body(&written));

    let unknown = node.cli(&[
        "openapi",
        "export",
        "--api",
        "pets",
        "--stage",
        "prod",
        "--deployed",
    ]);
    assert!(!unknown.status.success());
    assert!(text(&unknown).contains("prod"), "{}", text(&unknown));
}

#[test]
fn an_unimportable_document_names_every_place_and_writes_nothing() {
    let cfg = ConfigDir::new(&[]);
    let out = cfg.path().join("apis/orders.toml");
    let doc = r#"{"openapi": "3.0.1", "info": {"title": "Orders"}, "paths": {
        "/orders": {"get": {"x-amazon-apigateway-integration": {"type": "aws_proxy", "uri": "arn:aws:lambda"}},
                    "post": {}}}}"#;
    let result = causeway(
        &[
            "openapi",
            "import",
            "-",
            "--out",
            &out.display().to_string(),
        ],
        Some(doc),
    );
    assert_eq!(result.status.code(), Some(2), "{}", text(&result));
    let said = text(&result);
    assert!(
        said.contains("-: paths./orders.get.x-amazon-apigateway-integration.type: `aws_proxy`"),
        "{said}"
    );
    assert!(
        said.contains("-: paths./orders.post: no `x-amazon-apigateway-integration`"),
        "{said}"
    );
    assert!(!out.exists(), "nothing written");
}

#[test]
fn an_api_file_exports_without_a_node() {
    let cfg = ConfigDir::new(&[("svc", &crate::harness::versioned_api("v1"))]);
    let config = cfg.path().display().to_string();
    let out = causeway(
        &[
            "openapi", "export", "--config", &config, "--api", "svc", "--stage", "prod",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    // The node file's listener (the default 8080) and the id a deploy would give it.
    assert_eq!(
        doc["servers"][0]["url"],
        "http://svc.execute-api.localhost:8080/prod"
    );
    assert_eq!(doc["info"]["version"].as_str().map(str::len), Some(16));
    assert_eq!(
        doc["paths"]["/v"]["get"]["x-amazon-apigateway-integration"]["type"],
        "mock"
    );
    let missing = causeway(
        &[
            "openapi", "export", "--config", &config, "--api", "svc", "--stage", "qa",
        ],
        None,
    );
    assert!(!missing.status.success());
    assert!(
        text(&missing).contains("declares no stage `qa`"),
        "{}",
        text(&missing)
    );
}
