//! Endpoint types: a PRIVATE API is served on the private listener only, and only to the
//! clients in its source networks; the private listener serves nothing else; REGIONAL
//! APIs stay on the public listener. Clients come from different loopback addresses.

use std::net::IpAddr;

use crate::harness::{ConfigDir, Node, get, get_from, text};

fn api(id: &str, endpoint: &str) -> String {
    format!(
        r#"version = 1
id = "{id}"
name = "{id}"
type = "REST"
{endpoint}
[[stages]]
name = "prod"
[[routes]]
key = "GET /hello"
integration = {{ type = "MOCK", body = "hello from {id}" }}
"#
    )
}

const INSIDE: &str =
    "[endpoint]\ntype = \"PRIVATE\"\nsource_networks = [\"127.0.0.2\", \"127.0.9.0/24\"]";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

#[test]
fn private_apis_answer_only_on_the_private_listener_and_to_their_networks() {
    let config = ConfigDir::new(&[
        ("open", &api("open", "")),
        ("inside", &api("inside", INSIDE)),
    ]);
    // The node file sets no private listener: `validate` says the PRIVATE API needs one.
    let out = config.validate();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("endpoint.type: PRIVATE API `inside` is served only on a private listener"),
        "{said}"
    );
    assert!(!said.contains("API `open`"), "{said}");
    let node = Node::start_with(config.path(), &["--private-listen", "127.0.0.1:0"]);
    let private = node.private.expect("the node printed its private listener");
    let (open, inside) = ("open.execute-api.localhost", "inside.execute-api.localhost");

    // The public listener: REGIONAL yes, PRIVATE no.
    let r = get(node.addr, open, "/prod/hello").expect("public, open");
    assert_eq!(r, (200, "hello from open".to_owned()));
    let (status, body) = get(node.addr, inside, "/prod/hello").expect("public, inside");
    assert_eq!((status, body.as_str()), (403, r#"{"message":"Forbidden"}"#));

    // The private listener, from the allowed networks (an address, and a /24).
    for source in ["127.0.0.2", "127.0.9.77"] {
        let r = get_from(ip(source), private, inside, "/prod/hello").expect("private, allowed");
        assert_eq!(r, (200, "hello from inside".to_owned()), "from {source}");
    }
    // ... from elsewhere: the refusal of a resource policy, naming the resource.
    let (status, body) = get_from(ip("127.0.0.3"), private, inside, "/prod/hello").expect("denied");
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("User: anonymous is not authorized to perform: execute-api:Invoke on resource: inside/prod/GET/hello"),
        "{body}"
    );
    // An export names the listener that serves the stage.
    for (id, port) in [("inside", private.port()), ("open", node.addr.port())] {
        let out = node.cli(&[
            "openapi",
            "export",
            "--api",
            id,
            "--stage",
            "prod",
            "--deployed",
        ]);
        let said = text(&out);
        assert!(out.status.success(), "{said}");
        let url = format!("http://{id}.execute-api.localhost:{port}/prod");
        assert!(said.contains(&url), "{url} not in {said}");
    }
    // A REGIONAL API is not served on the private listener, even to an allowed client.
    let (status, body) = get_from(ip("127.0.0.2"), private, open, "/prod/hello").expect("regional");
    assert_eq!((status, body.as_str()), (403, r#"{"message":"Forbidden"}"#));
}

#[test]
fn endpoint_mistakes_are_refused_with_their_place() {
    let config = ConfigDir::new(&[
        (
            "nets",
            &api(
                "nets",
                "[endpoint]\ntype = \"PRIVATE\"\nsource_networks = [\"10.0.0.0/33\", \"lan\"]",
            ),
        ),
        ("bare", &api("bare", "[endpoint]\ntype = \"PRIVATE\"")),
        (
            "wide",
            &api("wide", "[endpoint]\nsource_networks = [\"10.0.0.0/8\"]"),
        ),
        (
            "httpapi",
            &api("httpapi", "[endpoint]\ntype = \"EDGE\"").replace("\"REST\"", "\"HTTP\""),
        ),
    ]);
    let out = config.validate();
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    for expected in [
        "endpoint.source_networks[0]: `10.0.0.0/33`: the prefix length must be 0..=32",
        "endpoint.source_networks[1]: `lan` is not a network",
        "endpoint.source_networks: a PRIVATE API needs the client networks",
        "endpoint.source_networks: only PRIVATE APIs are limited to source networks",
        "endpoint.type: HTTP APIs are REGIONAL",
    ] {
        assert!(said.contains(expected), "missing `{expected}` in:\n{said}");
    }
}
