//! Cache keys: canonical, unambiguous, and per-principal unless shared.

use std::collections::HashMap;

use super::TARGET;
use crate::{CacheKey, KeyParam, KeySpec, Target};

fn params() -> [KeyParam; 3] {
    [
        KeyParam::Query("page".to_owned()),
        KeyParam::Header("Accept-Language".to_owned()),
        KeyParam::Path("id".to_owned()),
    ]
}

fn request<'a>(
    values: &'a HashMap<KeyParam, &'a str>,
) -> impl FnMut(&KeyParam) -> Option<&'a [u8]> {
    |p| values.get(p).map(|v| v.as_bytes())
}

fn values<'a>(page: Option<&'a str>, lang: &'a str, id: &'a str) -> HashMap<KeyParam, &'a str> {
    let mut v = HashMap::from([
        (KeyParam::Header("accept-language".to_owned()), lang),
        (KeyParam::Path("id".to_owned()), id),
    ]);
    if let Some(page) = page {
        v.insert(KeyParam::Query("page".to_owned()), page);
    }
    v
}

#[test]
fn configured_order_and_header_case_do_not_matter() {
    let a = KeySpec::new(params());
    let mut reversed = params();
    reversed.reverse();
    reversed[1] = KeyParam::Header("ACCEPT-language".to_owned());
    let b = KeySpec::new(reversed.into_iter().chain(params()));
    assert_eq!(a, b, "sorted, lowercased, deduplicated");
    assert_eq!(a.params().len(), 3);
    let v = values(Some("2"), "en", "42");
    let ka = a.key(&TARGET, request(&v), Some("alice"));
    let kb = b.key(&TARGET, request(&v), Some("alice"));
    assert_eq!(ka, kb);
    assert_eq!(ka.hash_value(), kb.hash_value());
    assert_eq!(ka.bytes(), kb.bytes());
}

#[test]
fn every_component_and_parameter_value_distinguishes_keys() {
    let spec = KeySpec::new(params());
    let base_values = values(Some("2"), "en", "42");
    let base = spec.key(&TARGET, request(&base_values), None);
    let targets = [
        Target {
            api: "api2",
            ..TARGET
        },
        Target {
            stage: "beta",
            ..TARGET
        },
        Target {
            method: "HEAD",
            ..TARGET
        },
        Target {
            resource: "/items",
            ..TARGET
        },
    ];
    for t in targets {
        assert_ne!(spec.key(&t, request(&base_values), None), base, "{t:?}");
    }
    for v in [
        values(Some("3"), "en", "42"),
        values(Some(""), "en", "42"),
        values(None, "en", "42"),
        values(Some("2"), "fr", "42"),
        values(Some("2"), "en", "43"),
    ] {
        assert_ne!(spec.key(&TARGET, request(&v), None), base, "{v:?}");
    }
    // Unconfigured request properties do not count.
    let fewer = KeySpec::new([KeyParam::Path("id".to_owned())]);
    assert_eq!(
        fewer.key(&TARGET, request(&values(Some("2"), "en", "42")), None),
        fewer.key(&TARGET, request(&values(Some("9"), "de", "42")), None)
    );
}

#[test]
fn field_boundaries_are_unambiguous() {
    let spec = KeySpec::default();
    let none = |_: &KeyParam| None;
    let a = spec.key(
        &Target {
            api: "ab",
            stage: "c",
            ..TARGET
        },
        none,
        None,
    );
    let b = spec.key(
        &Target {
            api: "a",
            stage: "bc",
            ..TARGET
        },
        none,
        None,
    );
    assert_ne!(a, b);
    // A value cannot impersonate the next parameter.
    let spec = KeySpec::new([
        KeyParam::Query("a".to_owned()),
        KeyParam::Query("b".to_owned()),
    ]);
    let k1 = spec.key(
        &TARGET,
        |p| (p == &KeyParam::Query("a".to_owned())).then_some(&b"1\x01b"[..]),
        None,
    );
    let k2 = spec.key(&TARGET, |_| Some(&b"1"[..]), None);
    assert_ne!(k1, k2);
    // A principal cannot impersonate "anonymous" or "shared".
    let k_anon = KeySpec::default().key(&TARGET, none, None);
    let k_dash = KeySpec::default().key(&TARGET, none, Some(""));
    assert_ne!(k_anon, k_dash);
}

#[test]
fn principal_is_in_the_key_unless_the_method_shares() {
    let v = values(Some("1"), "en", "7");
    let private = KeySpec::new(params());
    assert!(!private.is_shared());
    let alice = private.key(&TARGET, request(&v), Some("alice"));
    let bob = private.key(&TARGET, request(&v), Some("bob"));
    let anonymous = private.key(&TARGET, request(&v), None);
    assert_ne!(alice, bob);
    assert_ne!(alice, anonymous);
    let shared = KeySpec::new(params()).shared_across_principals();
    assert!(shared.is_shared());
    assert_eq!(
        shared.key(&TARGET, request(&v), Some("alice")),
        shared.key(&TARGET, request(&v), Some("bob"))
    );
    assert_eq!(
        shared.key(&TARGET, request(&v), Some("alice")),
        shared.key(&TARGET, request(&v), None)
    );
}

#[test]
fn keys_rebuilt_from_bytes_are_equal() {
    let k = KeySpec::new(params()).key(&TARGET, |_| Some(&b"v"[..]), Some("p"));
    let again = CacheKey::from_canonical(k.bytes().to_vec());
    assert_eq!(again, k);
    assert_eq!(again.hash_value(), k.hash_value());
    assert_eq!(k.len(), k.bytes().len());
    assert!(!k.is_empty());
}
