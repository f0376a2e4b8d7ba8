//! HTTP APIs' parameter mapping on HTTP_PROXY integrations (API Gateway's
//! `append|overwrite|remove:header.NAME`, `…:querystring.NAME`, `overwrite:path` and,
//! per integration status, `overwrite:statuscode` and response headers), against a real
//! upstream; and the config refusals that name what to fix.

use crate::support::{self, send};

const HOST: &str = "pm.execute-api.localhost";

fn api(upstream: &str) -> String {
    format!(
        r#"
version = 1
id = "pm"
name = "Parameter mapping"
type = "HTTP"
[[stages]]
name = "$default"
variables = {{ env = "test" }}

[[routes]]
key = "GET /pets/{{id}}"
[routes.integration]
type = "HTTP_PROXY"
uri = "{upstream}/pets/{{id}}"
[routes.integration.request_parameters]
"append:header.x-trace" = "from-gw"
"overwrite:header.x-user" = "user-$request.header.x-client"
"remove:header.x-internal" = ""
"overwrite:header.x-req" = "${{context.requestId}}"
"overwrite:querystring.page" = "$request.querystring.p"
"remove:querystring.debug" = ""
"append:querystring.env" = "$stageVariables.env and more"
[routes.integration.response_parameters."200"]
"append:header.x-served-by" = "causeway"
"overwrite:header.x-upstream-type" = "$response.header.content-type"
"remove:header.content-type" = ""

[[routes]]
key = "GET /old/{{id}}"
[routes.integration]
type = "HTTP_PROXY"
uri = "{upstream}/ignored?from=uri"
request_parameters = {{ "overwrite:path" = "/v2/items/$request.path.id" }}

[[routes]]
key = "GET /brew"
[routes.integration]
type = "HTTP_PROXY"
uri = "{upstream}/teapot"
[routes.integration.response_parameters."418"]
"overwrite:statuscode" = "409"
"overwrite:header.x-why" = "no coffee"
"#
    )
}

#[tokio::test]
async fn requests_and_responses_are_mapped_as_configured() {
    let upstream = support::upstream().await;
    let gw = support::gateway(&[&api(&upstream.url())]).await;
    let c = support::client();
    let r = send(
        &c,
        gw.addr,
        "GET",
        HOST,
        "/pets/7?p=3&debug=1&keep=yes",
        &[
            ("x-client", "alice"),
            ("x-internal", "secret"),
            ("x-trace", "client"),
            ("x-user", "forged"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Response mappings for 200: added, overwritten from the upstream's field, removed.
    assert_eq!(r.header("x-served-by"), Some("causeway"));
    assert_eq!(r.header("x-upstream-type"), Some("application/json"));
    assert_eq!(r.header("content-type"), None);
    let echo = r.json();
    let h = &echo["headers"];
    assert_eq!(
        h["x-trace"], "client, from-gw",
        "appended after the client's"
    );
    assert_eq!(
        h["x-user"], "user-alice",
        "overwritten: the client's value is gone"
    );
    assert!(h.get("x-internal").is_none(), "removed: {h}");
    assert_eq!(
        h["x-req"].as_str().map(str::len),
        Some(36),
        "the request id: {h}"
    );
    let q = &echo["query"];
    assert_eq!(q["page"], "3");
    assert_eq!(q["keep"], "yes");
    assert_eq!(q["env"], "test%20and%20more", "encoded: {q}");
    assert!(q.get("debug").is_none() && q.get("p").is_some(), "{q}");
    assert_eq!(echo["path"], "/pets/7");

    // The path overwritten from a path parameter.
    let r = send(&c, gw.addr, "GET", HOST, "/old/42", &[], "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["path"], "/v2/items/42");
    assert_eq!(
        r.json()["query"]["from"],
        "uri",
        "the URI's own query stays"
    );

    // A status mapped per the integration's status.
    let r = send(&c, gw.addr, "GET", HOST, "/brew", &[], "").await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.header("x-why"), Some("no coffee"));
}

#[test]
fn bad_mappings_are_refused_with_their_place() {
    let bad = |params: &str, api_type: &str| {
        let text = format!(
            "version = 1\nid = \"b\"\nname = \"B\"\ntype = \"{api_type}\"\n[[routes]]\nkey = \"GET /x\"\n[routes.integration]\ntype = \"HTTP_PROXY\"\nuri = \"http://127.0.0.1:9/x\"\n{params}"
        );
        causeway_model::parse_api("b.toml", &text)
            .expect_err(params)
            .0
            .into_iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (params, api_type, want) in [
        (
            "request_parameters = { \"overwrite:header.host\" = \"x\" }",
            "HTTP",
            "routes[0].integration.request_parameters.overwrite:header.host: `host` is a header the gateway sets itself",
        ),
        (
            "request_parameters = { \"overwrite:header.x\" = \"$request.body.name\" }",
            "HTTP",
            "mapper",
        ),
        (
            "request_parameters = { \"append:path\" = \"/x\" }",
            "HTTP",
            "only be overwritten",
        ),
        (
            "request_parameters = { \"overwrite:header.x\" = \"y\" }",
            "REST",
            "on a REST API write `integration.request",
        ),
        (
            "[routes.integration.response_parameters.\"2xx\"]\n\"overwrite:statuscode\" = \"204\"",
            "HTTP",
            "routes[0].integration.response_parameters.2xx: `2xx` is not a status code",
        ),
        (
            "[routes.integration.response_parameters.\"200\"]\n\"overwrite:statuscode\" = \"20\"",
            "HTTP",
            "`20` is not a status code",
        ),
    ] {
        let errors = bad(params, api_type);
        assert!(errors.contains(want), "{params}: {errors}");
    }
}
