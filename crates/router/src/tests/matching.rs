use super::{hit, route, router};
use crate::{ApiKind, Lookup, Params, Router};

fn p<'a>(pairs: &[(&str, &'a str)]) -> Vec<(String, &'a str)> {
    pairs.iter().map(|(n, v)| ((*n).to_owned(), *v)).collect()
}

#[test]
fn path_params_in_declaration_order_raw_values() {
    let r = router(
        ApiKind::Http,
        &["GET /pets/{petId}", "GET /users/{user}/pets/{pet}/toys"],
    );
    assert_eq!(hit(&r, "GET", "/pets/42"), Some((0, p(&[("petId", "42")]))));
    assert_eq!(
        hit(&r, "GET", "/users/a%20b/pets/%E2%9C%93/toys"),
        Some((1, p(&[("user", "a%20b"), ("pet", "%E2%9C%93")])))
    );
    let Lookup::Matched(m) = r.lookup("GET", "/users/u/pets/7/toys") else {
        panic!("should match");
    };
    assert_eq!(m.params.get("pet"), Some("7"));
    assert_eq!(m.params.get("user"), Some("u"));
    assert_eq!(m.params.get("nope"), None);
    assert_eq!(m.params.len(), 2);
    assert!(!m.params.is_empty());
    assert_eq!(m.params.as_slice(), &[("user", "u"), ("pet", "7")]);
    assert_eq!(r.lookup("GET", "/pets"), Lookup::NotFound);
    assert_eq!(r.lookup("GET", "/pets/1/2"), Lookup::NotFound);
}

#[test]
fn root_is_its_own_resource() {
    let r = router(ApiKind::Rest, &["POST /", "GET /{id}"]);
    assert_eq!(hit(&r, "POST", "/"), Some((0, vec![])));
    assert_eq!(r.lookup("GET", "/"), Lookup::MethodNotAllowed);
    assert_eq!(route(&r, "GET", "/x"), 1);
    let r = router(ApiKind::Rest, &["GET /pets"]);
    assert_eq!(r.lookup("GET", "/"), Lookup::NotFound);
}

#[test]
fn greedy_matches_one_or_many_segments_but_not_root() {
    let r = router(ApiKind::Http, &["ANY /{proxy+}", "GET /files/{path+}"]);
    assert_eq!(hit(&r, "GET", "/a"), Some((0, p(&[("proxy", "a")]))));
    assert_eq!(
        hit(&r, "PUT", "/a/b/c"),
        Some((0, p(&[("proxy", "a/b/c")])))
    );
    assert_eq!(r.lookup("GET", "/"), Lookup::NotFound);
    assert_eq!(
        hit(&r, "GET", "/files/x%2Fy/z.txt"),
        Some((1, p(&[("path", "x%2Fy/z.txt")])))
    );
    // `/files` itself has no route, so the root greedy takes it.
    assert_eq!(
        hit(&r, "GET", "/files"),
        Some((0, p(&[("proxy", "files")])))
    );
    // One trailing slash is dropped from the greedy value too.
    assert_eq!(hit(&r, "GET", "/a/b/"), Some((0, p(&[("proxy", "a/b")]))));
}

#[test]
fn explicit_method_beats_any() {
    let r = router(ApiKind::Http, &["ANY /pets", "GET /pets", "DELETE /pets"]);
    assert_eq!(route(&r, "GET", "/pets"), 1);
    assert_eq!(route(&r, "DELETE", "/pets"), 2);
    assert_eq!(route(&r, "POST", "/pets"), 0);
    assert_eq!(route(&r, "HEAD", "/pets"), 0);
    // Methods a key cannot name (or lower-case ones) match only `ANY`.
    assert_eq!(route(&r, "TRACE", "/pets"), 0);
    assert_eq!(route(&r, "get", "/pets"), 0);
    let r = router(ApiKind::Http, &["GET /pets"]);
    assert_eq!(r.lookup("get", "/pets"), Lookup::NotFound);
    assert_eq!(r.lookup("HEAD", "/pets"), Lookup::NotFound);
}

#[test]
fn literal_beats_param_beats_greedy() {
    for kind in [ApiKind::Rest, ApiKind::Http] {
        let r = router(
            kind,
            &["GET /pets/{proxy+}", "GET /pets/{id}", "GET /pets/dog"],
        );
        assert_eq!(route(&r, "GET", "/pets/dog"), 2);
        assert_eq!(route(&r, "GET", "/pets/cat"), 1);
        assert_eq!(route(&r, "GET", "/pets/cat/1"), 0);
        assert_eq!(route(&r, "GET", "/pets/dog/1"), 0);
    }
}

#[test]
fn backtracks_from_literal_to_param_to_greedy() {
    for kind in [ApiKind::Rest, ApiKind::Http] {
        let r = router(
            kind,
            &[
                "GET /pets/{id}/toys",
                "GET /pets/dog",
                "GET /pets/dog/bowl/{n}",
                "GET /{proxy+}",
            ],
        );
        assert_eq!(
            hit(&r, "GET", "/pets/dog/toys"),
            Some((0, p(&[("id", "dog")])))
        );
        assert_eq!(route(&r, "GET", "/pets/dog"), 1);
        assert_eq!(route(&r, "GET", "/pets/dog/bowl/3"), 2);
        // Literal `dog` then param `id` both dead-end: the greedy at the root takes it, and
        // the params pushed while exploring are rolled back.
        assert_eq!(
            hit(&r, "GET", "/pets/dog/bowl"),
            Some((3, p(&[("proxy", "pets/dog/bowl")])))
        );
        assert_eq!(
            hit(&r, "GET", "/pets/cat/collar"),
            Some((3, p(&[("proxy", "pets/cat/collar")])))
        );
    }
}

#[test]
fn rest_method_not_allowed_vs_http_fallback() {
    let keys = [
        "GET /pets/dog",
        "POST /pets/{id}",
        "ANY /{proxy+}",
        "GET /a/b",
    ];
    let rest = router(ApiKind::Rest, &keys);
    let http = router(ApiKind::Http, &keys);
    // REST picks the most specific resource, then its method.
    assert_eq!(rest.lookup("POST", "/pets/dog"), Lookup::MethodNotAllowed);
    assert_eq!(rest.lookup("DELETE", "/pets/cat"), Lookup::MethodNotAllowed);
    // HTTP lets the method steer backtracking to less specific paths.
    assert_eq!(
        hit(&http, "POST", "/pets/dog"),
        Some((1, p(&[("id", "dog")])))
    );
    assert_eq!(
        hit(&http, "DELETE", "/pets/cat"),
        Some((2, p(&[("proxy", "pets/cat")])))
    );
    // Nodes that only exist as prefixes of other routes are not resources.
    assert_eq!(route(&rest, "GET", "/a"), 2);
    let rest = router(ApiKind::Rest, &["GET /a/b"]);
    assert_eq!(rest.lookup("GET", "/a"), Lookup::NotFound);
    assert_eq!(rest.lookup("GET", "/a/c"), Lookup::NotFound);
}

#[test]
fn http_default_catches_the_rest() {
    let r = router(ApiKind::Http, &["GET /pets", "$default", "GET /pets/{id}"]);
    assert_eq!(route(&r, "GET", "/pets"), 0);
    assert_eq!(route(&r, "POST", "/pets"), 1);
    assert_eq!(route(&r, "GET", "/nothing/here"), 1);
    assert_eq!(route(&r, "GET", "/"), 1);
    assert_eq!(route(&r, "GET", ""), 1);
    assert_eq!(route(&r, "GET", "*"), 1);
    assert_eq!(route(&r, "GET", "/pets//"), 1);
    let Lookup::Matched(m) = r.lookup("GET", "/x/y") else {
        panic!("$default should match");
    };
    assert_eq!(m.params, Params::default());
    let r = router(ApiKind::Http, &["GET /pets"]);
    assert_eq!(r.lookup("POST", "/pets"), Lookup::NotFound);
    assert_eq!(r.lookup("GET", "/dogs"), Lookup::NotFound);
}

#[test]
fn one_trailing_slash_is_ignored() {
    let r = router(ApiKind::Rest, &["GET /pets", "GET /pets/{id}", "GET /"]);
    assert_eq!(route(&r, "GET", "/pets/"), 0);
    assert_eq!(hit(&r, "GET", "/pets/7/"), Some((1, p(&[("id", "7")]))));
    assert_eq!(route(&r, "GET", "/"), 2);
    // Only one: a second slash is an empty segment.
    assert_eq!(r.lookup("GET", "/pets//"), Lookup::NotFound);
    assert_eq!(r.lookup("GET", "//"), Lookup::NotFound);
}

#[test]
fn empty_interior_segment_never_matches_a_parameter() {
    let r = router(
        ApiKind::Http,
        &["GET /pets/{id}", "GET /pets/{id}/toys", "GET /f/{rest+}"],
    );
    assert_eq!(r.lookup("GET", "/pets//toys"), Lookup::NotFound);
    assert_eq!(r.lookup("GET", "/pets//"), Lookup::NotFound);
    assert_eq!(r.lookup("GET", "//pets/1"), Lookup::NotFound);
    assert_eq!(r.lookup("GET", "/f/a//b"), Lookup::NotFound);
    assert_eq!(r.lookup("GET", "/f//a"), Lookup::NotFound);
    assert_eq!(r.lookup("GET", "/f/a//"), Lookup::NotFound);
    assert_eq!(route(&r, "GET", "/f/a/b"), 2);
}

#[test]
fn paths_without_leading_slash_do_not_match_routes() {
    let r = router(ApiKind::Rest, &["ANY /{proxy+}", "ANY /"]);
    assert_eq!(r.lookup("GET", "pets"), Lookup::NotFound);
    assert_eq!(r.lookup("GET", ""), Lookup::NotFound);
    assert_eq!(route(&r, "GET", "/"), 1);
}

#[test]
fn len_and_is_empty_count_keys() {
    let empty = Router::build(ApiKind::Http, []).expect("no keys is fine");
    assert!(empty.is_empty());
    assert_eq!(empty.len(), 0);
    assert_eq!(empty.lookup("GET", "/"), Lookup::NotFound);
    let r = router(ApiKind::Http, &["GET /", "$default"]);
    assert_eq!(r.len(), 2);
    assert!(!r.is_empty());
    assert_eq!(r.kind(), ApiKind::Http);
}

#[test]
fn params_borrow_only_router_and_path() {
    let r = router(ApiKind::Http, &["GET /a/{x}"]);
    let path = String::from("/a/value");
    let params = r.lookup("GET", &path).matched().expect("match").params;
    let collected: Vec<_> = params.into_iter().collect();
    assert_eq!(collected, vec![("x", "value")]);
}
