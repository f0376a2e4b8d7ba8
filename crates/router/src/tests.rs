//! Crate-level unit tests: matching semantics, build errors, and no-panic fuzzing.

mod errors;
mod fuzz;
mod matching;

use crate::{ApiKind, Lookup, RouteId, Router};

/// Builds a router, panicking with every error if the keys are invalid.
fn router(kind: ApiKind, keys: &[&str]) -> Router {
    match Router::build(kind, keys.iter().copied()) {
        Ok(r) => r,
        Err(errors) => panic!("keys should build: {errors:#?}"),
    }
}

/// The matched route id and `(name, value)` params, or `None` for a non-match.
fn hit<'p>(r: &Router, method: &str, path: &'p str) -> Option<(RouteId, Vec<(String, &'p str)>)> {
    match r.lookup(method, path) {
        Lookup::Matched(m) => Some((
            m.route,
            m.params.iter().map(|(n, v)| (n.to_owned(), v)).collect(),
        )),
        Lookup::MethodNotAllowed | Lookup::NotFound => None,
    }
}

/// The matched route id, panicking on a non-match.
fn route(r: &Router, method: &str, path: &str) -> RouteId {
    match r.lookup(method, path) {
        Lookup::Matched(m) => m.route,
        other => panic!("{method} {path} should match, got {other:?}"),
    }
}
