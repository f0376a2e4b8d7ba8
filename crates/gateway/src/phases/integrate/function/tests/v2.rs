//! Payload format 2.0 (HTTP APIs): the event's fields, what is left out when empty, and
//! JWT claims and scopes.

use std::sync::Arc;

use http::Request;
use serde_json::json;

use super::{EPOCH_MS, HTTP_API, REQUEST_ID, REST_API, event, rest_full_request, routed};
use crate::body::Body;
use crate::context::RequestCtx;
use crate::jwt::JwtIdentity;

pub(super) fn http_full_request() -> Request<()> {
    Request::post("/beta/carts/c%2F1?item=milk&item=eg%67s&note=a+b&flag&%61=z&%69tem=bread")
        .header("x-multi", "one")
        .header("X-Multi", "two")
        .header("cookie", "a=1; b=2")
        .header("cookie", "c=3;d=4; ")
        .header("content-type", "application/json")
        .header("user-agent", "agent")
        .header(
            "x-bin",
            http::HeaderValue::from_bytes(b"caf\xe9").expect("obs-text"),
        )
        .body(())
        .expect("request")
}

#[test]
fn http_event_is_payload_2_0() {
    let mut ctx = routed(HTTP_API, "beta", http_full_request());
    let claims = json!({ "sub": "user-42", "scope": "carts:write" });
    let claims = claims.as_object().cloned().unwrap_or_default();
    ctx.principal_id = Some("user-42".into());
    ctx.jwt = Some(Arc::new(JwtIdentity {
        claims,
        scopes: Some(vec!["carts:write".into()]),
    }));
    let expected = json!({
        "version": "2.0",
        "routeKey": "POST /carts/{cartId}",
        "rawPath": "/beta/carts/c%2F1",
        "rawQueryString": "item=milk&item=eg%67s&note=a+b&flag&%61=z&%69tem=bread",
        "cookies": ["a=1", "b=2", "c=3", "d=4"],
        "headers": {
            "x-multi": "one,two",
            "cookie": "a=1; b=2,c=3;d=4; ",
            "content-type": "application/json",
            "user-agent": "agent",
            "x-bin": "caf\u{fffd}",
        },
        "queryStringParameters": {
            "item": "milk,eggs,bread",
            "note": "a b",
            "flag": "",
            "a": "z",
        },
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "carts",
            "authorizer": {
                "jwt": {
                    "claims": { "sub": "user-42", "scope": "carts:write" },
                    "scopes": ["carts:write"],
                },
            },
            "domainName": "carts.execute-api.localhost",
            "domainPrefix": "carts",
            "http": {
                "method": "POST",
                "path": "/beta/carts/c%2F1",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "agent",
            },
            "requestId": REQUEST_ID,
            "routeKey": "POST /carts/{cartId}",
            "stage": "beta",
            "time": "25/Nov/2026:15:04:05 +0000",
            "timeEpoch": EPOCH_MS,
        },
        "body": "{\"items\":[\"milk\"]}",
        "pathParameters": { "cartId": "c/1" },
        "isBase64Encoded": false,
        "stageVariables": { "tier": "b" },
    });
    assert_eq!(event(&ctx, true, b"{\"items\":[\"milk\"]}"), expected);

    // A Lambda authorizer's principal and context.
    ctx.jwt = None;
    ctx.authorizer_context = Some(Arc::from(vec![
        ("tier".into(), "gold".into()),
        ("tier".into(), "platinum".into()),
    ]));
    assert_eq!(
        event(&ctx, true, b"")["requestContext"]["authorizer"],
        json!({ "lambda": { "tier": "platinum", "principalId": "user-42" } })
    );
    ctx.principal_id = None;
    assert!(
        event(&ctx, true, b"")["requestContext"]
            .get("authorizer")
            .is_none()
    );

    // A binary body.
    let ev = event(&ctx, true, &[0, 159, 146, 150]);
    assert_eq!(
        (&ev["body"], &ev["isBase64Encoded"]),
        (&json!("AJ+Slg=="), &json!(true))
    );
}

#[test]
fn http_event_omits_what_is_empty() {
    let req = Request::get("/health").body(()).expect("request");
    let ctx = routed(HTTP_API, "$default", req);
    let expected = json!({
        "version": "2.0",
        "routeKey": "GET /health",
        "rawPath": "/health",
        "rawQueryString": "",
        "headers": {},
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "carts",
            "domainName": "carts.execute-api.localhost",
            "domainPrefix": "carts",
            "http": {
                "method": "GET",
                "path": "/health",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "",
            },
            "requestId": REQUEST_ID,
            "routeKey": "GET /health",
            "stage": "$default",
            "time": "25/Nov/2026:15:04:05 +0000",
            "timeEpoch": EPOCH_MS,
        },
        "isBase64Encoded": false,
    });
    assert_eq!(event(&ctx, true, b""), expected);
}

#[test]
fn jwt_claims_and_scopes_are_shaped_as_api_gateway_does() {
    let (parts, ()) = http::Request::get("/prod/pets")
        .body(())
        .unwrap_or_default()
        .into_parts();
    let client = std::net::SocketAddr::from(([127, 0, 0, 1], 1234));
    let mut ctx = RequestCtx::new(
        parts,
        Body::from(""),
        &crate::context::Peer::new(client),
        "h".into(),
    );
    let claims = json!({ "sub": "user-42", "cognito:groups": "[admin ops]" });
    let claims = claims.as_object().cloned().unwrap_or_default();
    ctx.principal_id = Some("user-42".into());
    ctx.jwt = Some(Arc::new(JwtIdentity {
        claims: claims.clone(),
        scopes: Some(vec!["pets:read".into()]),
    }));
    let v2 = event(&ctx, true, b"");
    assert_eq!(
        v2["requestContext"]["authorizer"],
        json!({ "jwt": { "claims": claims, "scopes": ["pets:read"] } })
    );
    let v1 = event(&ctx, false, b"");
    assert_eq!(
        v1["requestContext"]["authorizer"],
        json!({ "claims": claims, "scopes": ["pets:read"] })
    );
    // Without route scopes API Gateway sends `"scopes": null`.
    ctx.jwt = Some(Arc::new(JwtIdentity {
        claims,
        scopes: None,
    }));
    let v2 = event(&ctx, true, b"");
    assert_eq!(
        v2["requestContext"]["authorizer"]["jwt"]["scopes"],
        json!(null)
    );
}

/// A mutual-TLS client's certificate: `requestContext.identity.clientCert` in payload
/// 1.0, `requestContext.authentication.clientCert` in 2.0, with API Gateway's fields; no
/// such key without one.
#[test]
fn client_certificates_reach_both_payloads() {
    let cert = crate::peer::ClientCert {
        der: Vec::new(),
        pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
        subject_dn: "CN=alice.clients.test".into(),
        issuer_dn: "CN=clients CA".into(),
        serial_number: "1f:a0".into(),
        not_before: "Nov 29 14:00:00 2026 GMT".into(),
        not_after: "Jan  1 00:00:00 4096 GMT".into(),
    };
    let want = json!({
        "clientCertPem": cert.pem,
        "subjectDN": "CN=alice.clients.test",
        "issuerDN": "CN=clients CA",
        "serialNumber": "1f:a0",
        "validity": { "notBefore": "Nov 29 14:00:00 2026 GMT", "notAfter": "Jan  1 00:00:00 4096 GMT" },
    });
    let client = Arc::new(crate::peer::TlsClient {
        domain: "api.example.test".into(),
        cert,
    });
    let mut v1 = routed(REST_API, "prod", rest_full_request());
    assert!(
        event(&v1, false, b"")["requestContext"]["identity"]
            .get("clientCert")
            .is_none()
    );
    v1.tls_client = Some(client.clone());
    assert_eq!(
        event(&v1, false, b"")["requestContext"]["identity"]["clientCert"],
        want
    );
    let mut v2 = routed(HTTP_API, "beta", http_full_request());
    assert!(
        event(&v2, true, b"")["requestContext"]
            .get("authentication")
            .is_none()
    );
    v2.tls_client = Some(client);
    assert_eq!(
        event(&v2, true, b"")["requestContext"]["authentication"],
        json!({ "clientCert": want })
    );
}
