//! MOCK, HTTP and HTTP_PROXY integrations against a real local upstream.

use crate::support::{self, get, send};

fn api(upstream: &str) -> String {
    format!(
        r#"
version = 1
id = "petstore"
name = "PetStore"
type = "REST"
[[stages]]
name = "prod"
variables = {{ backend = "{upstream}", tag = "blue" }}

[[routes]]
key = "GET /"
[routes.integration]
type = "MOCK"
status = 201
headers = {{ "x-stage" = "$context.stage", "content-type" = "text/plain" }}
body = "hello ${{stageVariables.tag}} from $context.apiId, request $context.requestId"

[[routes]]
key = "GET /pets"
request_parameters = {{ "method.request.querystring.page" = true }}
[routes.integration]
type = "HTTP"
uri = "${{stageVariables.backend}}/pets"
[routes.integration.request_parameters]
"integration.request.querystring.p" = "method.request.querystring.page"
"integration.request.header.x-static" = "'fixed'"
"integration.request.header.x-stage" = "context.stage"
"integration.request.header.x-tag" = "stageVariables.tag"
[routes.integration.response_parameters]
"method.response.header.x-powered-by" = "'causeway'"
"method.response.header.x-backend-version" = "integration.response.header.x-version"

[[routes]]
key = "GET /pets/{{petId}}"
integration = {{ type = "HTTP", uri = "${{stageVariables.backend}}/animals/{{petId}}" }}

[[routes]]
key = "GET /mapped"
[routes.integration]
type = "HTTP_PROXY"
uri = "${{stageVariables.backend}}/mapped"
[routes.integration.request_parameters]
"integration.request.header.x-static" = "'fixed'"
"integration.request.header.x-forwarded-proto" = "'https'"

[[routes]]
key = "GET /slow"
integration = {{ type = "HTTP_PROXY", uri = "${{stageVariables.backend}}/slow", timeout_ms = 200 }}

[[routes]]
key = "ANY /{{proxy+}}"
integration = {{ type = "HTTP_PROXY", uri = "${{stageVariables.backend}}/{{proxy}}" }}
"#
    )
}

const HOST: &str = "petstore.execute-api.localhost";

#[tokio::test]
async fn mock_substitutes_context_and_stage_variables() {
    let gw = support::gateway(&[&api("http://127.0.0.1:9")]).await;
    let r = get(&support::client(), gw.addr, HOST, "/prod").await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("x-stage"), Some("prod"));
    assert_eq!(r.header("content-type"), Some("text/plain"));
    let id = r
        .header("x-amzn-requestid")
        .expect("request id header")
        .to_owned();
    assert_eq!(id.len(), 36);
    assert_eq!(r.text(), format!("hello blue from petstore, request {id}"));
}

#[tokio::test]
async fn http_proxy_passes_everything_through() {
    let up = support::upstream().await;
    let gw = support::gateway(&[&api(&up.url())]).await;
    let c = support::client();
    let r = send(
        &c,
        gw.addr,
        "POST",
        HOST,
        "/prod/orders/7/items?color=red&size=L",
        &[
            ("x-custom", "1"),
            ("connection", "keep-alive, x-drop"),
            ("x-drop", "gone"),
            ("x-forwarded-for", "10.9.9.9"),
        ],
        "order body",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let echo = r.json();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/orders/7/items");
    assert_eq!(echo["query"]["color"], "red");
    assert_eq!(echo["query"]["size"], "L");
    assert_eq!(echo["body"], "order body");
    assert_eq!(echo["headers"]["x-custom"], "1");
    assert_eq!(echo["headers"]["host"], up.addr.to_string());
    assert_eq!(echo["headers"]["x-forwarded-for"], "10.9.9.9, 127.0.0.1");
    assert!(
        echo["headers"].get("x-drop").is_none(),
        "header named in Connection must not be forwarded"
    );
    // Upstream response headers come back on a proxy route.
    assert_eq!(r.header("x-upstream-only"), Some("secret"));
    // Status passes through.
    assert_eq!(get(&c, gw.addr, HOST, "/prod/teapot").await.status, 418);
}

#[tokio::test]
async fn http_integration_maps_parameters_both_ways() {
    let up = support::upstream().await;
    let gw = support::gateway(&[&api(&up.url())]).await;
    let c = support::client();
    let r = send(
        &c,
        gw.addr,
        "GET",
        HOST,
        "/prod/pets?page=3&other=x",
        &[("x-client", "no")],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let echo = r.json();
    assert_eq!(echo["path"], "/pets");
    assert_eq!(
        echo["query"],
        serde_json::json!({ "p": "3" }),
        "only mapped query parameters are sent"
    );
    assert_eq!(echo["headers"]["x-static"], "fixed");
    assert_eq!(echo["headers"]["x-stage"], "prod");
    assert_eq!(echo["headers"]["x-tag"], "blue");
    assert!(
        echo["headers"].get("x-client").is_none(),
        "unmapped headers are not sent"
    );
    assert_eq!(r.header("x-powered-by"), Some("causeway"));
    assert_eq!(r.header("x-backend-version"), Some("v7"));
    assert_eq!(
        r.header("x-upstream-only"),
        None,
        "unmapped upstream headers are dropped"
    );

    let r = get(&c, gw.addr, HOST, "/prod/pets/42").await;
    assert_eq!(r.json()["path"], "/animals/42");
}

#[tokio::test]
async fn hop_by_hop_response_fields_are_not_passed_on() {
    let up = support::upstream().await;
    let gw = support::gateway(&[&api(&up.url())]).await;
    let r = get(&support::client(), gw.addr, HOST, "/prod/hop").await;
    assert_eq!(r.status, 200, "{}", r.text());
    for name in ["keep-alive", "trailer", "proxy-authenticate", "x-private"] {
        assert_eq!(r.header(name), None, "{name} passed on");
    }
    assert_eq!(r.header("x-version"), Some("v7"));
}

#[tokio::test]
async fn mapped_headers_replace_the_clients_on_a_proxy_route() {
    let up = support::upstream().await;
    let gw = support::gateway(&[&api(&up.url())]).await;
    let r = send(
        &support::client(),
        gw.addr,
        "GET",
        HOST,
        "/prod/mapped",
        &[
            ("X-Static", "from-client"),
            ("x-forwarded-proto", "ftp"),
            ("x-kept", "yes"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let headers = &r.json()["headers"];
    assert_eq!(headers["x-static"], "fixed", "one field, the mapped value");
    assert_eq!(headers["x-forwarded-proto"], "https");
    assert_eq!(headers["x-kept"], "yes");
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(headers["host"], up.url().trim_start_matches("http://"));
}

#[tokio::test]
async fn required_parameter_missing_is_400() {
    let up = support::upstream().await;
    let gw = support::gateway(&[&api(&up.url())]).await;
    let r = get(&support::client(), gw.addr, HOST, "/prod/pets").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "Missing required request parameters: [page]"
    );
    assert_eq!(
        up.hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the upstream is not called"
    );
}

#[tokio::test]
async fn large_responses_stream_through() {
    let up = support::upstream().await;
    let gw = support::gateway(&[&api(&up.url())]).await;
    let r = get(&support::client(), gw.addr, HOST, "/prod/big?bytes=8388608").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 8 * 1024 * 1024);
}

/// h2 with prior knowledge: `:authority` names the API; a `Host` field beside it must
/// name the same host (RFC 9113 §8.3.1), else the request is refused rather than routed
/// by one of the two.
#[tokio::test]
async fn h2_prior_knowledge_is_served_by_its_authority() {
    use http_body_util::{BodyExt, Empty};
    let gw = support::gateway(&[&api("http://127.0.0.1:9")]).await;
    let tcp = tokio::net::TcpStream::connect(gw.addr)
        .await
        .expect("connect");
    let (mut send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .expect("h2 handshake");
    tokio::spawn(conn);
    let port = gw.addr.port();
    let cases: [(String, Option<String>, u16); 4] = [
        (format!("http://{HOST}:{port}/prod/"), None, 201),
        (
            format!("http://{HOST}:{port}/prod/"),
            Some(format!("{}:{port}", HOST.to_uppercase())),
            201,
        ),
        (
            format!("http://127.0.0.1:{port}/prod/"),
            Some(HOST.into()),
            400,
        ),
        (
            format!("http://{HOST}/prod/"),
            Some("other.example.com".into()),
            400,
        ),
    ];
    for (uri, host, status) in cases {
        let mut req = http::Request::get(&uri);
        if let Some(h) = &host {
            req = req.header(http::header::HOST, h);
        }
        let req = req.body(Empty::<bytes::Bytes>::new()).expect("request");
        let resp = send.send_request(req).await.expect("h2 answer");
        assert_eq!(resp.status(), status, "{uri} with Host {host:?}");
        assert_eq!(resp.version(), http::Version::HTTP_2);
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        let body = String::from_utf8_lossy(&body);
        if status == 400 {
            assert!(
                body.contains("Host header differs from :authority"),
                "{body}"
            );
        } else {
            assert!(body.starts_with("hello blue"), "{body}");
        }
    }
}

/// A client body of unknown length (chunked) goes upstream chunked and arrives whole.
#[tokio::test]
async fn chunked_request_bodies_pass_through() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let up = support::upstream().await;
    let gw = support::gateway(&[&api(&up.url())]).await;
    let mut s = tokio::net::TcpStream::connect(gw.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /prod/orders HTTP/1.1\r\nhost: {HOST}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.expect("head");
    for piece in ["6\r\norder \r\n", "4\r\nbody\r\n", "0\r\n\r\n"] {
        s.write_all(piece.as_bytes()).await.expect("chunk");
        s.flush().await.expect("flush");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains(r#""body":"order body""#), "{text}");
    assert!(text.contains(r#""transfer-encoding":"chunked""#), "{text}");
    // No X-Forwarded-For from the client: the gateway's is the client's address alone.
    assert!(text.contains(r#""x-forwarded-for":"127.0.0.1""#), "{text}");
}
