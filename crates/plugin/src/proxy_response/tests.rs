use super::{ProxyAnswer, ProxyResponse, parse};

fn response(json: &str) -> ProxyResponse {
    match parse(json) {
        Ok(ProxyAnswer::Response(r)) => r,
        other => panic!("{json}: {other:?}"),
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn status_codes_are_integers_in_range() {
    for (ok, status) in [
        (r#"{"statusCode":200}"#, 200),
        (r#"{"statusCode":599,"body":"x"}"#, 599),
        (r#" {"statusCode":100} "#, 100),
        (r#"{"statusCode":"200","statusCode":201}"#, 201),
    ] {
        assert_eq!(response(ok).status_code, status, "{ok}");
    }
    for bad in [
        r#"{"statusCode":"200"}"#,
        r#"{"statusCode":99}"#,
        r#"{"statusCode":600}"#,
        r#"{"statusCode":-1}"#,
        r#"{"statusCode":65736}"#,
        r#"{"statusCode":200.5}"#,
        r#"{"statusCode":200.0}"#,
        r#"{"statusCode":null}"#,
        r#"{"statusCode":[200]}"#,
    ] {
        let err = parse(bad).expect_err(bad);
        assert!(
            err.starts_with("malformed proxy response: statusCode "),
            "{bad}: {err}"
        );
    }
}

#[test]
fn anything_without_a_status_code_is_other_json() {
    for other in [
        "[1,2]",
        "\"hello\"",
        "42",
        "null",
        "true",
        r#"{"message":"hi"}"#,
        "  {\"body\": {}, \"headers\": 5, \"isBase64Encoded\": 1}  ",
        "{}",
    ] {
        assert_eq!(parse(other), Ok(ProxyAnswer::Other), "{other}");
    }
}

#[test]
fn what_is_not_json_is_refused() {
    for bad in [
        "",
        "{",
        "{\"statusCode\":200",
        "[1,]",
        "{} x",
        "nul",
        "{\"a\" 1}",
    ] {
        let err = parse(bad).expect_err(bad);
        assert!(
            err.starts_with("malformed proxy response: not JSON ("),
            "{bad:?}: {err}"
        );
    }
}

#[test]
fn fields_of_the_wrong_type_are_refused_by_name() {
    for (json, field) in [
        (r#"{"statusCode":200,"headers":[]}"#, "headers"),
        (r#"{"statusCode":200,"headers":"x"}"#, "headers"),
        (r#"{"statusCode":200,"headers":{"a":{"b":1}}}"#, "headers"),
        (r#"{"statusCode":200,"headers":{"a":[1]}}"#, "headers"),
        (
            r#"{"statusCode":200,"multiValueHeaders":{"a":"x"}}"#,
            "multiValueHeaders",
        ),
        (
            r#"{"statusCode":200,"multiValueHeaders":[]}"#,
            "multiValueHeaders",
        ),
        (r#"{"statusCode":200,"body":{"a":1}}"#, "body"),
        (r#"{"statusCode":200,"body":false}"#, "body"),
        (
            r#"{"statusCode":200,"isBase64Encoded":"true"}"#,
            "isBase64Encoded",
        ),
        (
            r#"{"statusCode":200,"isBase64Encoded":0}"#,
            "isBase64Encoded",
        ),
    ] {
        let err = parse(json).expect_err(json);
        assert_eq!(
            err,
            format!("malformed proxy response: `{field}` has the wrong type"),
            "{json}"
        );
    }
}

#[test]
fn fields_are_read_in_order_with_scalars_as_json_text() {
    let r = response(
        r#"{
            "ignored": {"deep": [1, {"x": "y"}]},
            "statusCode": 302,
            "headers": {"Location": "/a\"b", "x-num": 5, "x-float": 1.5, "x-bool": true, "x-null": null},
            "multiValueHeaders": {"x-m": ["m1", 2, {"a": [1]}, null], "x-empty": []},
            "body": "caf\u00e9",
            "isBase64Encoded": true,
            "cookies": ["s=1", 7]
        }"#,
    );
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert_eq!(
        r,
        ProxyResponse {
            status_code: 302,
            headers: pairs(&[
                ("Location", "/a\"b"),
                ("x-num", "5"),
                ("x-float", "1.5"),
                ("x-bool", "true"),
                ("x-null", "null"),
            ]),
            multi_value_headers: vec![
                (
                    "x-m".to_owned(),
                    strings(&["m1", "2", "{\"a\":[1]}", "null"])
                ),
                ("x-empty".to_owned(), Vec::new()),
            ],
            body: Some("café".to_owned()),
            is_base64_encoded: true,
            cookies: strings(&["s=1", "7"]),
        }
    );
}

#[test]
fn null_and_missing_fields_are_empty_and_odd_cookies_ignored() {
    let empty = ProxyResponse {
        status_code: 204,
        ..ProxyResponse::default()
    };
    assert_eq!(response(r#"{"statusCode":204}"#), empty);
    assert_eq!(
        response(
            r#"{"statusCode":204,"headers":null,"multiValueHeaders":null,"body":null,"isBase64Encoded":null,"cookies":null}"#
        ),
        empty
    );
    assert_eq!(response(r#"{"statusCode":204,"cookies":"a=b"}"#), empty);
    assert_eq!(response(r#"{"statusCode":204,"cookies":{"a":"b"}}"#), empty);
}

/// A function's answer is untrusted: every answer one byte away from a valid one (each byte
/// replaced by each of a few JSON-significant bytes, and every cut) is read or refused,
/// never a panic; whatever is read has a status in range, whatever is refused says why.
#[test]
fn answers_one_byte_off_are_read_or_refused_never_a_panic() {
    let seeds = [
        r#"{"statusCode":201,"headers":{"a":"1","n":2,"t":true},"multiValueHeaders":{"x":["p","q"]},"body":"{\"k\":\"v\\u00e9\"}","isBase64Encoded":false,"cookies":["c=1"]}"#,
        r#"{"statusCode":200,"body":"aGk=","isBase64Encoded":true}"#,
    ];
    let (mut read, mut refused) = (0, 0);
    let mut check = |json: &str| match parse(json) {
        Ok(ProxyAnswer::Response(r)) => {
            read += 1;
            assert!((100..=599).contains(&r.status_code), "{json}");
        }
        Ok(ProxyAnswer::Other) => read += 1,
        Err(e) => {
            refused += 1;
            assert!(e.starts_with("malformed proxy response: "), "{json}: {e}");
        }
    };
    for seed in seeds {
        for at in 0..seed.len() {
            check(&seed[..at]);
            for b in ['"', '\\', '{', '}', '[', ',', ':', '1', '-', 'e', ' ', 'é'] {
                let mut json = seed.as_bytes()[..at].to_vec();
                json.extend_from_slice(b.encode_utf8(&mut [0; 4]).as_bytes());
                json.extend_from_slice(&seed.as_bytes()[at + 1..]);
                if let Ok(json) = String::from_utf8(json) {
                    check(&json);
                }
            }
        }
    }
    assert!(
        read > 100 && refused > 1_000,
        "{read} read, {refused} refused"
    );
}
