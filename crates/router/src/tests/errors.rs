use crate::{ApiKind, RouteError, Router};

fn errors(kind: ApiKind, keys: &[&str]) -> Vec<RouteError> {
    match Router::build(kind, keys.iter().copied()) {
        Ok(_) => panic!("keys should be rejected: {keys:?}"),
        Err(e) => e,
    }
}

#[test]
fn display_names_index_key_and_fix() {
    let e = errors(ApiKind::Http, &["GET /", "GET /b", "GET /c", "GET /a/{x"]);
    assert_eq!(e.len(), 1);
    assert_eq!(
        e[0].to_string(),
        "route #3 `GET /a/{x`: unbalanced `{` in segment `{x`; write path parameters as `{name}`"
    );
    assert_eq!(e[0].index, 3);
    assert_eq!(e[0].key, "GET /a/{x");
}

#[test]
fn every_build_error_is_reported_at_once() {
    let keys = [
        "GET /ok",              // 0
        "GET /a/{}",            // 1 empty name
        "GET /a/{x",            // 2 unbalanced {
        "GET /a/x}",            // 3 unbalanced }
        "GET /{p+}/more",       // 4 greedy not last
        "GET /a//b",            // 5 empty segment
        "GET pets",             // 6 no leading slash
        "FETCH /pets",          // 7 unknown method
        "GET/pets",             // 8 missing space
        "GET /ok",              // 9 duplicate of 0
        "GET /d/{id}/{id}",     // 10 duplicate param name
        "GET /pets/{id}",       // 11 fine
        "POST /pets/{petId}/x", // 12 sibling name conflict with 11
        "$default",             // 13 REST has no $default
        "ANY /",                // 14 fine
        "get /x",               // 15 lower-case method
    ];
    let e = errors(ApiKind::Rest, &keys);
    let indexes: Vec<usize> = e.iter().map(|e| e.index).collect();
    assert_eq!(indexes, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 15]);
    for err in &e {
        assert_eq!(err.key, keys[err.index]);
    }
    let reason = |i: usize| {
        e.iter()
            .find(|e| e.index == i)
            .map(|e| e.reason.clone())
            .expect("error for index")
    };
    assert!(reason(1).contains("empty parameter name"));
    assert!(reason(2).contains("unbalanced `{`"));
    assert!(reason(3).contains("unbalanced `}`"));
    assert!(reason(4).contains("last segment"));
    assert!(reason(5).contains("empty segment"));
    assert!(reason(6).contains("must start with `/`"));
    assert!(reason(7).contains("unknown method `FETCH`"));
    assert!(reason(8).contains("missing space"));
    assert!(reason(9).contains("duplicate of route #0 `GET /ok`"));
    assert!(reason(10).contains("appears more than once"));
    assert!(reason(12).contains("`petId` conflicts with `id`"));
    assert!(reason(12).contains("route #11 `GET /pets/{id}`"));
    assert!(reason(12).contains("rename it to `id`"));
    assert!(reason(13).contains("only supported by HTTP APIs"));
    assert!(reason(15).contains("write `GET`"));
}

#[test]
fn sibling_parameters_must_share_a_name() {
    let e = errors(
        ApiKind::Http,
        &[
            "GET /pets/{id}",
            "GET /pets/{petId}/x",
            "GET /pets/{id}/toys", // same name: fine
            "GET /f/{a+}",
            "PUT /f/{b+}",
            "GET /f/{a}", // a param beside a greedy may differ in kind: fine
        ],
    );
    let indexes: Vec<usize> = e.iter().map(|e| e.index).collect();
    assert_eq!(indexes, vec![1, 4]);
    assert!(e[1].reason.contains("`b` conflicts with `a`"));
}

#[test]
fn duplicates_are_per_method_and_resource() {
    let e = errors(
        ApiKind::Http,
        &[
            "GET /pets/{id}",
            "POST /pets/{id}",
            "ANY /pets/{id}",
            "GET /pets/{id}",
            "ANY /pets/{id}",
            "$default",
            "$default",
            "GET /{p+}",
            "GET /{p+}",
        ],
    );
    let indexes: Vec<usize> = e.iter().map(|e| e.index).collect();
    assert_eq!(indexes, vec![3, 4, 6, 8]);
    assert!(e[0].reason.contains("duplicate of route #0"));
    assert!(
        e[1].reason
            .contains("duplicate of route #2 `ANY /pets/{id}`")
    );
    assert!(e[2].reason.contains("duplicate of route #5 `$default`"));
    assert!(e[3].reason.contains("duplicate of route #7"));
}

#[test]
fn default_is_http_only() {
    let e = errors(ApiKind::Rest, &["$default"]);
    assert_eq!(e[0].index, 0);
    assert!(e[0].reason.contains("ANY /{proxy+}"));
    assert!(Router::build(ApiKind::Http, ["$default"]).is_ok());
}
