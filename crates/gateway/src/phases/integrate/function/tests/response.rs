//! Proxy responses (what a function answers) into HTTP responses.

use bytes::Bytes;

use crate::body::Body;

/// Status, headers (name → every value, in order) and body of a proxy response.
type Answer = (u16, Vec<(String, Vec<String>)>, Bytes);

/// `out` read and checked as the plugin host does (its refusals are errors here too),
/// then turned into a response.
fn respond(out: &str, v2: bool) -> Result<Answer, String> {
    let out = causeway_plugin::FunctionOutput {
        json: out.to_owned(),
        answer: causeway_plugin::proxy_response::parse(out)?,
    };
    let resp = super::super::response(out, v2)
        .map_err(|e| e.cause.map(|c| c.to_string()).unwrap_or_default())?;
    let headers = resp
        .headers()
        .keys()
        .map(|k| {
            let values = resp.headers().get_all(k).iter();
            let values = values.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            (k.as_str().to_owned(), values.collect())
        })
        .collect();
    let status = resp.status().as_u16();
    let body = match resp.into_body() {
        Body::Empty => Bytes::new(),
        Body::Full(Some(b)) => b,
        other => panic!("unexpected body {other:?}"),
    };
    Ok((status, headers, body))
}

fn hdrs(list: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    list.iter()
        .map(|(k, vs)| {
            (
                (*k).to_owned(),
                vs.iter().map(|v| (*v).to_owned()).collect(),
            )
        })
        .collect()
}

#[test]
fn payload_2_0_bare_values_are_json_bodies() {
    for out in [
        "[1,2]",
        "\"hello\"",
        "{\"message\":\"hi\"}",
        "  {\"body\": \"x\", \"headers\": {\"x-a\": \"1\"}}  ",
        "42",
        "null",
    ] {
        let json_type = hdrs(&[("content-type", &["application/json"])]);
        assert_eq!(
            respond(out, true),
            Ok((200, json_type, Bytes::copy_from_slice(out.as_bytes()))),
            "{out}"
        );
    }
}

#[test]
fn invalid_status_codes_fail() {
    let no_status = "function response has no statusCode";
    for out in ["{\"body\":\"x\"}", "[1,2]", "\"hello\"", "null"] {
        assert_eq!(respond(out, false), Err(no_status.to_owned()), "{out}");
    }
    for (out, v2) in [
        ("{\"statusCode\":null}", true),
        ("{\"statusCode\":\"200\"}", true),
        ("{\"statusCode\":200.0}", false),
        ("{\"statusCode\":-1}", false),
        ("{\"statusCode\":99}", true),
        ("{\"statusCode\":1000}", false),
        ("{\"statusCode\":65736}", false),
    ] {
        let err = respond(out, v2).expect_err(out);
        assert!(
            err.starts_with("malformed proxy response: statusCode"),
            "{out}: {err}"
        );
    }
}

#[test]
fn proxy_responses_become_http_responses() {
    for v2 in [false, true] {
        let ok = |body: &str| Ok((201, Vec::new(), Bytes::copy_from_slice(body.as_bytes())));
        let answer = |out: &str| respond(out, v2);
        assert_eq!(answer("{\"statusCode\":201}"), ok(""));
        assert_eq!(answer("{\"statusCode\":201,\"body\":null}"), ok(""));
        assert_eq!(
            answer("{\"statusCode\":201,\"body\":\"a\\\"b\"}"),
            ok("a\"b")
        );
        assert_eq!(
            answer("{\"statusCode\":201,\"body\":\"aGk=\",\"isBase64Encoded\":true}"),
            ok("hi")
        );
        assert_eq!(
            answer("{\"statusCode\":201,\"body\":\"aGk=\",\"isBase64Encoded\":false}"),
            ok("aGk=")
        );
        // A body that is not a string, and a base64 flag that is not a boolean, are
        // refused (API Gateway: "Malformed Lambda proxy response").
        for (out, field) in [
            ("{\"statusCode\":201,\"body\":{\"a\":null}}", "body"),
            ("{\"statusCode\":201,\"body\":false}", "body"),
            (
                "{\"statusCode\":201,\"body\":\"aGk=\",\"isBase64Encoded\":\"true\"}",
                "isBase64Encoded",
            ),
        ] {
            let wrong = format!("malformed proxy response: `{field}` has the wrong type");
            assert_eq!(answer(out), Err(wrong), "{out}");
        }
        let err = answer("{\"statusCode\":201,\"body\":\"***\",\"isBase64Encoded\":true}");
        assert_eq!(
            err,
            Err("body is not base64: Invalid symbol 42, offset 0.".to_owned())
        );
    }
}

#[test]
fn proxy_response_headers() {
    let out = r#"{
        "statusCode": 302,
        "headers": {
            "Location": "/elsewhere",
            "x-num": 5,
            "x-bool": true,
            "x-null": null,
            "x-multi": "h",
            "bad name": "skipped",
            "x-bad-value": "a\nb",
            "x-utf8": "café\tau lait",
            "X-Case": "upper",
            "x-case": "lower"
        },
        "multiValueHeaders": {
            "x-multi": ["m1", 2, "m\u0000"],
            "x-list": ["l1", "l2"],
            "bad name": ["skipped"]
        },
        "cookies": ["s=1; Path=/", "t=2"]
    }"#;
    let v1 = hdrs(&[
        ("location", &["/elsewhere"]),
        // Names are applied in the order written: `x-case` after `X-Case`.
        ("x-case", &["lower"]),
        ("x-bool", &["true"]),
        ("x-multi", &["h", "m1", "2"]),
        ("x-null", &["null"]),
        ("x-num", &["5"]),
        ("x-utf8", &["café\tau lait"]),
        ("x-list", &["l1", "l2"]),
    ]);
    let sorted = |mut h: Vec<(String, Vec<String>)>| {
        h.sort();
        h
    };
    let (status, headers, body) = respond(out, false).expect("v1");
    assert_eq!(
        (status, sorted(headers), body),
        (302, sorted(v1.clone()), Bytes::new())
    );
    // Payload 2.0 adds `cookies` as `set-cookie` headers.
    let mut v2 = v1;
    v2.push((
        "set-cookie".into(),
        vec!["s=1; Path=/".into(), "t=2".into()],
    ));
    let (status, headers, _) = respond(out, true).expect("v2");
    assert_eq!((status, sorted(headers)), (302, sorted(v2)));
    // Non-string cookies are stringified; a non-list `cookies` is ignored.
    let (_, headers, _) =
        respond("{\"statusCode\":200,\"cookies\":[7,\"a=b\"]}", true).expect("v2");
    assert_eq!(headers, hdrs(&[("set-cookie", &["7", "a=b"])]));
    let (_, headers, _) = respond("{\"statusCode\":200,\"cookies\":\"a=b\"}", true).expect("v2");
    assert_eq!(headers, Vec::new());
}
