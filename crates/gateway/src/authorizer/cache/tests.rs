use std::time::{Duration, Instant};

use causeway_plugin::{AuthorizerDecision, Effect};

use super::{DecisionCache, FRONT};
use crate::authorizer::{Decision, RouteOf};

fn allow(principal: &str, routes: &[&str]) -> Decision {
    Decision::new(AuthorizerDecision {
        effect: Effect::Allow,
        principal_id: principal.to_owned(),
        context: vec![("k".to_owned(), "v".to_owned())],
        usage_identifier_key: Some("key-1".to_owned()),
        ttl_seconds: 300,
        routes: routes.iter().map(|r| (*r).to_owned()).collect(),
        message: None,
    })
}

const A: RouteOf<'static> = RouteOf {
    api_id: "api",
    stage: "prod",
    method: "GET",
    path: "/a",
};
const B: RouteOf<'static> = RouteOf { path: "/b", ..A };

fn principal(cache: &DecisionCache, identity: &[u8], route: &RouteOf<'_>) -> Option<String> {
    let now = Instant::now();
    cache
        .get(identity, route, now)
        .map(|g| g.principal_id.to_string())
}

#[test]
fn a_decision_answers_its_identity_and_route_from_another_thread_too() {
    let cache = DecisionCache::new(Duration::from_secs(300));
    cache.put(b"tok-1".to_vec(), "api/prod/GET/a", allow("alice", &[]));
    assert_eq!(principal(&cache, b"tok-1", &A).as_deref(), Some("alice"));
    assert_eq!(principal(&cache, b"tok-1", &B), None, "made for /a only");
    assert_eq!(principal(&cache, b"tok-2", &A), None, "another identity");
    // Another worker thread has an empty front: it reads the shared entry, then its own.
    std::thread::scope(|s| {
        s.spawn(|| {
            assert_eq!(FRONT.with_borrow(|f| f.len()), 0);
            assert_eq!(principal(&cache, b"tok-1", &A).as_deref(), Some("alice"));
            assert_eq!(
                FRONT.with_borrow(|f| f.len()),
                1,
                "copied into this thread's front"
            );
            assert_eq!(principal(&cache, b"tok-1", &A).as_deref(), Some("alice"));
            assert_eq!(principal(&cache, b"tok-1", &B), None);
        });
    });
}

#[test]
fn a_front_never_answers_for_another_cache_or_after_expiry() {
    let old = DecisionCache::new(Duration::from_secs(300));
    let new = DecisionCache::new(Duration::from_secs(300));
    old.put(b"tok".to_vec(), "api/prod/GET/a", allow("alice", &[]));
    assert_eq!(principal(&old, b"tok", &A).as_deref(), Some("alice"));
    assert_eq!(
        principal(&new, b"tok", &A),
        None,
        "a new deployment's cache is empty"
    );

    let later = Instant::now() + Duration::from_secs(301);
    assert!(
        old.get(b"tok", &A, later).is_none(),
        "expired in the front and the shared map"
    );
    let off = DecisionCache::new(Duration::ZERO);
    off.put(b"tok".to_vec(), "api/prod/GET/a", allow("alice", &[]));
    assert_eq!(principal(&off, b"tok", &A), None, "TTL 0 caches nothing");
}

#[test]
fn a_newer_shared_decision_answers_when_the_front_one_does_not_cover_the_route() {
    let cache = DecisionCache::new(Duration::from_secs(300));
    cache.put(b"tok".to_vec(), "api/prod/GET/a", allow("alice", &[]));
    assert_eq!(principal(&cache, b"tok", &A).as_deref(), Some("alice"));
    // Another worker asks the plugin for /b: the shared entry now covers /a and /b.
    std::thread::scope(|s| {
        s.spawn(|| {
            cache.put(
                b"tok".to_vec(),
                "api/prod/GET/b",
                allow("alice-2", &["api/prod/GET/*"]),
            );
        });
    });
    assert_eq!(
        principal(&cache, b"tok", &B).as_deref(),
        Some("alice-2"),
        "this front's /a decision does not cover /b: the shared one does"
    );
    assert_eq!(principal(&cache, b"tok", &A).as_deref(), Some("alice-2"));
}

#[test]
fn hits_hand_on_copies_owned_by_the_thread() {
    let cache = DecisionCache::new(Duration::from_secs(300));
    let decision = allow("alice", &[]);
    let shared_principal = decision.granted.principal_id.clone();
    cache.put(b"tok".to_vec(), "api/prod/GET/a", decision);
    let hit = cache.get(b"tok", &A, Instant::now()).expect("hit");
    assert!(!std::sync::Arc::ptr_eq(
        &hit.principal_id,
        &shared_principal
    ));
    assert_eq!(&*hit.context, &[("k".to_owned(), "v".to_owned())]);
    assert_eq!(hit.usage_key.as_deref(), Some("key-1"));
}
