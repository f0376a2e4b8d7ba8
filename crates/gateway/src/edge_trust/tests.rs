use super::*;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
const NOW: u64 = 1_800_000_000_000;

fn assertion() -> Assertion {
    Assertion {
        edge: "edge-1".into(),
        exp: NOW + LIFETIME_MS,
        method: "GET".into(),
        host: "petstore.execute-api.localhost".into(),
        path: "/prod/pets?limit=2".into(),
        client: "203.0.113.9".into(),
        https: true,
        decision: Some(Vouched {
            deployment: "d-1".into(),
            principal: Some("user-7".into()),
            context: vec![("tier".into(), "gold".into())],
            usage_key: None,
            claims: None,
            scopes: None,
        }),
        client_cert: None,
    }
}

fn request() -> Request<'static> {
    Request {
        method: "GET",
        host: "petstore.execute-api.localhost",
        path: "/prod/pets?limit=2",
    }
}

fn trusting(node: &str, key: &[u8]) -> EdgeTrust {
    let t = EdgeTrust::default();
    t.trust(node, key);
    t
}

fn header(a: &Assertion, key: &[u8]) -> HeaderValue {
    HeaderValue::from_str(&encode(a, keyed(key)).expect("encodes")).expect("header text")
}

#[test]
fn a_signed_assertion_verifies_under_its_edges_key_only() {
    let signed = header(&assertion(), KEY);
    assert_eq!(trusting("edge-1", KEY).verify(&signed), Some(assertion()));
    // Another key, another edge's name, no key at all.
    assert_eq!(trusting("edge-1", b"another key").verify(&signed), None);
    assert_eq!(trusting("edge-2", KEY).verify(&signed), None);
    assert_eq!(EdgeTrust::default().verify(&signed), None);
    // A newer key replaces the old one.
    let t = trusting("edge-1", KEY);
    t.trust("edge-1", b"rotated");
    assert_eq!(t.verify(&signed), None);
}

#[test]
fn any_change_to_the_header_is_refused() {
    let t = trusting("edge-1", KEY);
    let text = encode(&assertion(), keyed(KEY)).expect("encodes");
    // Flip each character of the payload and of the MAC in turn.
    for i in VERSION.len() + 1..text.len() {
        let mut bytes = text.clone().into_bytes();
        if bytes[i] == b'.' {
            continue;
        }
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let forged = HeaderValue::from_bytes(&bytes).expect("header bytes");
        if forged.as_bytes() != text.as_bytes() {
            assert_eq!(t.verify(&forged), None, "byte {i} changed");
        }
    }
    // A payload the attacker wrote, signed with a guessed key.
    let mut mine = assertion();
    if let Some(d) = &mut mine.decision {
        d.principal = Some("admin".into());
    }
    assert_eq!(t.verify(&header(&mine, b"guess")), None);
    for junk in [
        "",
        "v2",
        "v2.",
        "v2..",
        "v2.abc.def",
        "v2.!!!.???",
        "v2.AAAA.AAAA",
    ] {
        let v = HeaderValue::from_static(junk);
        assert_eq!(t.verify(&v), None, "{junk:?}");
    }
}

#[test]
fn an_assertion_binds_only_its_own_request_while_fresh() {
    let a = assertion();
    assert!(a.binds(&request(), NOW));
    assert!(a.binds(&request(), NOW + LIFETIME_MS));
    assert!(!a.binds(&request(), NOW + LIFETIME_MS + 1), "expired");
    let mut far = assertion();
    far.exp = NOW + 3 * LIFETIME_MS;
    assert!(!far.binds(&request(), NOW), "from too far ahead");
    let others = [
        Request {
            method: "DELETE",
            ..request()
        },
        Request {
            host: "other.execute-api.localhost",
            ..request()
        },
        Request {
            path: "/prod/pets?limit=3",
            ..request()
        },
        Request {
            path: "/prod/pets/1",
            ..request()
        },
    ];
    for (i, r) in others.iter().enumerate() {
        assert!(!a.binds(r, NOW), "request {i}");
    }
}

#[test]
fn jwt_claims_travel_intact_and_a_client_without_a_decision_too() {
    let mut a = assertion();
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), serde_json::Value::String("user-7".into()));
    claims.insert("scope".into(), serde_json::Value::String("a b".into()));
    if let Some(d) = &mut a.decision {
        d.claims = Some(claims);
        d.scopes = Some(vec!["a".into()]);
        d.usage_key = Some("key-1".into());
    }
    let t = trusting("edge-1", KEY);
    assert_eq!(t.verify(&header(&a, KEY)), Some(a));
    let mut plain = assertion();
    plain.decision = None;
    plain.client = "2001:db8::7".into();
    assert_eq!(t.verify(&header(&plain, KEY)), Some(plain));
}

#[test]
fn a_first_release_assertion_is_ignored_even_when_signed_right() {
    let named = rmp_serde::to_vec_named(&assertion()).expect("encodes");
    let signed = format!("v1.{}", URL_SAFE_NO_PAD.encode(named));
    let mut mac = keyed(KEY);
    mac.update(signed.as_bytes());
    let text = format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    let old = HeaderValue::from_str(&text).expect("header text");
    assert_eq!(trusting("edge-1", KEY).verify(&old), None);
    // The same assertion as this release writes it verifies.
    assert!(
        trusting("edge-1", KEY)
            .verify(&header(&assertion(), KEY))
            .is_some()
    );
}

/// An edge older than the client-certificate field signed assertions without it: a
/// region takes them all the same (the field defaults to none).
#[test]
fn an_assertion_without_the_certificate_field_still_verifies() {
    #[derive(Serialize)]
    struct Older<'a> {
        edge: &'a str,
        exp: u64,
        method: &'a str,
        host: &'a str,
        path: &'a str,
        client: &'a str,
        https: bool,
        decision: Option<Vouched>,
    }
    let a = assertion();
    let older = Older {
        edge: &a.edge,
        exp: a.exp,
        method: &a.method,
        host: &a.host,
        path: &a.path,
        client: &a.client,
        https: a.https,
        decision: None,
    };
    let bytes = rmp_serde::to_vec(&older).expect("encode");
    let signed = format!("{VERSION}.{}", URL_SAFE_NO_PAD.encode(bytes));
    let mut mac = HmacSha256::new_from_slice(KEY).expect("key");
    mac.update(signed.as_bytes());
    let value = format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    let header = HeaderValue::from_str(&value).expect("header");
    let (got, _) = trusting("edge-1", KEY)
        .checked(&header, &request(), NOW)
        .expect("an older edge's assertion is taken");
    assert_eq!(got.client_cert, None);
    assert_eq!(got.client, "203.0.113.9");
}
