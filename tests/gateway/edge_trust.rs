//! What an edge vouches for, between two real in-process gateways: one acting as the edge
//! (`check_at_edge` runs the route's WASM authorizer and signs the client's address and
//! the allow), one as the region that trusts it. The region answers from the edge's
//! decision without calling its own authorizer (the plugin's call metric), hands the
//! decision's principal and context and the client's address and scheme to the
//! integration, never lets the header reach the upstream, and ignores an assertion that is
//! replayed on another request, tampered with, from an edge whose key it does not have, or
//! (the decision only) made on another deployment.

use std::net::SocketAddr;

use causeway_gateway::Peer;

use crate::authorizers::signed;
use crate::support::{self, TestGateway};

const HOST: &str = "et.execute-api.localhost";
const HEADER: &str = "x-causeway-edge-auth";
const EDGE: &str = "edge-1";
const KEY: &[u8] = b"an edge key of thirty-two bytes!";

fn api(upstream: &str) -> String {
    format!(
        r#"
version = 1
id = "et"
name = "Edge trust"
type = "REST"
[[stages]]
name = "prod"
[[plugins]]
name = "hmac"
file = "hmac_authorizer.wasm"
world = "authorizer"
config = {{ secret = "s3cret" }}
[[authorizers]]
name = "tokens"
type = "TOKEN"
plugin = "hmac"
identity_sources = ["method.request.header.Authorization"]
result_ttl_seconds = 0
[[routes]]
key = "GET /who"
authorizer = "tokens"
integration = {{ type = "MOCK", body = "$context.authorizer.principalId|$context.authorizer.tier|$context.identity.sourceIp" }}
[[routes]]
key = "GET /open"
integration = {{ type = "MOCK", body = "$context.identity.sourceIp" }}
[[routes]]
key = "GET /other"
authorizer = "tokens"
integration = {{ type = "MOCK", body = "other" }}
[[routes]]
key = "GET /echo"
authorizer = "tokens"
integration = {{ type = "HTTP_PROXY", uri = "{upstream}/echo" }}
"#
    )
}

fn plugin_calls(gw: &TestGateway) -> f64 {
    support::sample(
        &gw.gateway.metrics().encode(),
        "causeway_PluginCallCount_total{api=\"et\",plugin=\"hmac\",",
    )
}

/// The client the edge serves (a documentation address: only the assertion can bring it
/// to the region, whose own peer is 127.0.0.1).
const CLIENT: &str = "203.0.113.9:40000";

/// The assertion the edge adds to `GET path` with `Authorization: auth` (it must let it
/// through), for a client that came over TLS when `tls`.
async fn vouched(edge: &TestGateway, path: &str, auth: &str) -> String {
    vouched_for(edge, path, auth, false).await
}

async fn vouched_for(edge: &TestGateway, path: &str, auth: &str, tls: bool) -> String {
    let req = http::Request::get(path)
        .header("host", HOST)
        .header("authorization", auth)
        // A client's own attempt is dropped by the edge, not passed on.
        .header(HEADER, "v2.forged.forged")
        .body(())
        .expect("request");
    let client: SocketAddr = CLIENT.parse().expect("addr");
    let peer = if tls {
        Peer::new(client).over_tls(None)
    } else {
        Peer::new(client)
    };
    let parts = match edge.gateway.check_at_edge(req.into_parts().0, &peer).await {
        Ok(parts) => parts,
        Err(resp) => panic!("the edge refused GET {path}: {}", resp.status()),
    };
    let values: Vec<_> = parts.headers.get_all(HEADER).iter().collect();
    assert_eq!(values.len(), 1, "one assertion, the edge's");
    let v = values[0].to_str().expect("text").to_owned();
    assert!(v.starts_with("v2.") && v != "v2.forged.forged", "{v}");
    v
}

async fn ask(region: &TestGateway, path: &str, headers: &[(&str, &str)]) -> support::Reply {
    let c = support::client();
    support::send(&c, region.addr, "GET", HOST, path, headers, "").await
}

#[tokio::test]
async fn a_region_answers_from_an_edges_signed_allow_and_only_for_that_request() {
    let upstream = support::upstream().await;
    let api = api(&upstream.url());
    let edge = support::gateway_with_plugins(&[&api]).await;
    let region = support::gateway_with_plugins(&[&api]).await;
    edge.gateway.sign_as_edge(EDGE, KEY);
    region.gateway.trust_edge(EDGE, KEY);
    let claims = serde_json::json!({ "sub": "alice", "ctx": { "tier": "gold" } });
    let token = signed(b"s3cret", &claims);

    // The edge asked its authorizer once; the region takes its word: no call there, even
    // without the token, and the decision's principal and context reach the integration.
    let who = vouched(&edge, "/prod/who", &token).await;
    assert_eq!(plugin_calls(&edge), 1.0);
    let r = ask(&region, "/prod/who", &[(HEADER, &who)]).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "alice|gold|203.0.113.9")
    );
    let r = ask(
        &region,
        "/prod/who",
        &[(HEADER, &who), ("authorization", &token)],
    )
    .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "alice|gold|203.0.113.9")
    );
    assert_eq!(plugin_calls(&region), 0.0, "the region did not ask again");

    // Replayed on another route, or on the same one with another query: not this
    // request's, so the region authorizes itself (401 without a token, a call with one).
    for path in ["/prod/other", "/prod/who?x=1"] {
        let r = ask(&region, path, &[(HEADER, &who)]).await;
        assert_eq!(r.status, 401, "{path}: {}", r.text());
    }
    let r = ask(
        &region,
        "/prod/other",
        &[(HEADER, &who), ("authorization", &token)],
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (200, "other"));
    assert_eq!(plugin_calls(&region), 1.0);

    // Tampered with: the principal swapped inside the payload, or the MAC cut.
    let (signed_part, mac) = who.rsplit_once('.').expect("three parts");
    let cut = format!("{signed_part}.{}", &mac[..mac.len() - 2]);
    let mut forged = who.clone().into_bytes();
    forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("text");
    for bad in [cut.as_str(), forged.as_str(), "v2.e30.AAAA"] {
        let r = ask(&region, "/prod/who", &[(HEADER, bad)]).await;
        assert_eq!(r.status, 401, "{bad}: {}", r.text());
    }

    // A region that does not have this edge's key authorizes as before.
    let stranger = support::gateway_with_plugins(&[&api]).await;
    let r = ask(&stranger, "/prod/who", &[(HEADER, &who)]).await;
    assert_eq!(r.status, 401, "{}", r.text());
    // A new key from the same edge retires the old one's assertions.
    region
        .gateway
        .trust_edge(EDGE, b"the edge restarted with this key");
    let r = ask(&region, "/prod/who", &[(HEADER, &who)]).await;
    assert_eq!(r.status, 401, "{}", r.text());
    region.gateway.trust_edge(EDGE, KEY);

    // A route without an authorizer: the client's address still comes from the edge, and
    // only from a valid assertion.
    let open = vouched(&edge, "/prod/open", "").await;
    let r = ask(&region, "/prod/open", &[(HEADER, &open)]).await;
    assert_eq!((r.status, r.text().as_str()), (200, "203.0.113.9"));
    let r = ask(&region, "/prod/open", &[(HEADER, &cut)]).await;
    assert_eq!((r.status, r.text().as_str()), (200, "127.0.0.1"));

    // A region on another deployment of the API takes the client, not the decision.
    let other = support::gateway_with_plugins(&[
        &api.replace("name = \"Edge trust\"", "name = \"Edge trust 2\"")
    ])
    .await;
    other.gateway.trust_edge(EDGE, KEY);
    let r = ask(&other, "/prod/who", &[(HEADER, &who)]).await;
    assert_eq!(r.status, 401, "{}", r.text());
    let r = ask(
        &other,
        "/prod/who",
        &[(HEADER, &who), ("authorization", &token)],
    )
    .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "alice|gold|203.0.113.9")
    );

    // Through to an upstream: allowed on the edge's word, the client's scheme passed on
    // (it came over TLS to the edge), the header not.
    let echo = vouched_for(&edge, "/prod/echo", &token, true).await;
    let calls = plugin_calls(&region);
    let r = ask(&region, "/prod/echo", &[(HEADER, &echo)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = r.json();
    assert!(
        seen["headers"].get(HEADER).is_none(),
        "the upstream saw the assertion: {seen}"
    );
    assert_eq!(seen["headers"]["x-forwarded-proto"], "https", "{seen}");
    assert_eq!(plugin_calls(&region), calls);
}
