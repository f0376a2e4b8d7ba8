//! The decision cache of one authorizer: shared by the node's workers (a plugin is asked
//! once per identity and TTL, whichever worker asks), and read through a small front per
//! worker thread (Envoy's thread-local pattern), so that a hit takes no lock and writes no
//! memory another worker reads: no mutex, no reference count shared across cores.
//!
//! A front entry is a copy of a shared one, with its own reference-counted strings, kept
//! until the decision's expiry. Fronts are keyed by the cache's id as well as the
//! identity: a new deployment's authorizer has a new cache, and an old deployment's
//! entries are never answered from (they go when their front fills up).

use std::cell::RefCell;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use causeway_plugin::{AuthorizerDecision, Effect};
use hashbrown::{Equivalent, HashMap};

use super::RouteOf;

/// Decisions kept per authorizer at most; beyond that expired ones are dropped first.
const MAX_SHARED: usize = 10_000;
/// Decisions a worker thread keeps in its front, across all authorizers.
const MAX_FRONT: usize = 4_096;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What a request takes from a decision, ready to hand on: an allow's principal, context
/// and usage key, or a refusal's message.
#[derive(Debug, Clone)]
pub(crate) struct Granted {
    pub(crate) effect: Effect,
    pub(crate) message: Option<Arc<str>>,
    pub(crate) principal_id: Arc<str>,
    pub(crate) context: Arc<[(String, String)]>,
    pub(crate) usage_key: Option<Arc<str>>,
}

impl Granted {
    fn new(decision: &mut AuthorizerDecision) -> Granted {
        Granted {
            effect: decision.effect,
            message: decision.message.take().map(Into::into),
            principal_id: std::mem::take(&mut decision.principal_id).into(),
            context: std::mem::take(&mut decision.context).into(),
            usage_key: decision.usage_identifier_key.take().map(Into::into),
        }
    }

    /// The same values in new allocations, owned by the calling thread.
    fn own_copy(&self) -> Granted {
        Granted {
            effect: self.effect,
            message: self.message.as_deref().map(Into::into),
            principal_id: Arc::from(&*self.principal_id),
            context: self.context.iter().cloned().collect(),
            usage_key: self.usage_key.as_deref().map(Into::into),
        }
    }
}

/// A decision the plugin made: what requests take from it, and what the cache checks.
#[derive(Debug, Clone)]
pub(crate) struct Decision {
    pub(crate) granted: Granted,
    /// `routes` and `ttl_seconds` (the rest was moved into `granted`).
    rest: Arc<AuthorizerDecision>,
}

impl Decision {
    pub(crate) fn new(mut decision: AuthorizerDecision) -> Decision {
        Decision {
            granted: Granted::new(&mut decision),
            rest: Arc::new(decision),
        }
    }
}

#[derive(Debug)]
struct Cached {
    expires: Instant,
    /// The route id the decision was asked for.
    asked: Arc<str>,
    decision: Decision,
}

impl Cached {
    /// The decision, if it is fresh at `now` and covers `route`.
    fn answer(&self, route: &RouteOf<'_>, now: Instant) -> Option<Granted> {
        if self.expires <= now {
            return None;
        }
        // A decision naming no routes answers only for the route it was asked for: compared
        // without building the request's route id.
        let covered = if self.decision.rest.routes.is_empty() {
            route.is(&self.asked)
        } else {
            self.decision.rest.covers(&self.asked, &route.id())
        };
        covered.then(|| self.decision.granted.clone())
    }

    /// A copy for a thread's front: its own allocations but for the shared decision's
    /// `routes` (read, never written, per hit).
    fn own_copy(&self) -> Cached {
        Cached {
            expires: self.expires,
            asked: Arc::from(&*self.asked),
            decision: Decision {
                granted: self.decision.granted.own_copy(),
                rest: Arc::clone(&self.decision.rest),
            },
        }
    }
}

/// A front key: the cache's id and the identity values' bytes.
#[derive(Debug, PartialEq, Eq, Hash)]
struct FrontKey(u64, Box<[u8]>);

/// A front key borrowed from a request, looked up without copying the identity.
struct FrontKeyRef<'a>(u64, &'a [u8]);

impl Hash for FrontKeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // As `FrontKey` hashes: the derive hashes a `Box<[u8]>` as its slice.
        self.0.hash(state);
        self.1.hash(state);
    }
}

impl Equivalent<FrontKey> for FrontKeyRef<'_> {
    fn equivalent(&self, key: &FrontKey) -> bool {
        self.0 == key.0 && *self.1 == *key.1
    }
}

thread_local! {
    static FRONT: RefCell<HashMap<FrontKey, Cached, ahash::RandomState>> =
        RefCell::new(HashMap::default());
}

/// Insert into a map bounded at `max`: expired entries go first, then all.
fn bounded_insert<K: Eq + Hash>(
    map: &mut HashMap<K, Cached, ahash::RandomState>,
    max: usize,
    key: K,
    value: Cached,
    now: Instant,
) {
    if map.len() >= max {
        map.retain(|_, c| c.expires > now);
        if map.len() >= max {
            map.clear();
        }
    }
    map.insert(key, value);
}

/// One authorizer's decisions, keyed by the identity values' bytes (client-chosen: a
/// randomly keyed hasher).
#[derive(Debug)]
pub(crate) struct DecisionCache {
    id: u64,
    ttl: Duration,
    shared: Mutex<HashMap<Box<[u8]>, Cached, ahash::RandomState>>,
}

impl DecisionCache {
    /// A cache keeping decisions at most `ttl` (zero: caches nothing).
    pub(crate) fn new(ttl: Duration) -> DecisionCache {
        DecisionCache {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            ttl,
            shared: Mutex::new(HashMap::default()),
        }
    }

    /// Whether decisions are cached at all.
    pub(crate) fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// A decision cached for `identity` that covers `route` and is fresh at `now`: from
    /// this thread's front, else from the shared map (then copied into the front).
    pub(crate) fn get(
        &self,
        identity: &[u8],
        route: &RouteOf<'_>,
        now: Instant,
    ) -> Option<Granted> {
        if !self.enabled() {
            return None;
        }
        let key = FrontKeyRef(self.id, identity);
        if let Some(hit) = FRONT.with_borrow(|f| f.get(&key).and_then(|c| c.answer(route, now))) {
            return Some(hit);
        }
        // Missing, expired, or made for another route in the front: the shared entry may be
        // newer (another worker asked the plugin since).
        let copy = {
            let shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
            let entry = shared.get(identity).filter(|c| c.expires > now)?;
            entry.own_copy()
        };
        let answer = copy.answer(route, now);
        FRONT.with_borrow_mut(|f| {
            bounded_insert(f, MAX_FRONT, FrontKey(self.id, identity.into()), copy, now);
        });
        answer
    }

    /// Remember `decision`, made for `route_id`, for the shorter of the cache's TTL and the
    /// decision's own.
    pub(crate) fn put(&self, identity: Vec<u8>, route_id: &str, decision: Decision) {
        let ttl = self.ttl.min(Duration::from_secs(u64::from(
            decision.rest.ttl_seconds.min(3600),
        )));
        if ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let cached = Cached {
            expires: now + ttl,
            asked: route_id.into(),
            decision,
        };
        let front = cached.own_copy();
        let identity = identity.into_boxed_slice();
        {
            let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
            bounded_insert(&mut shared, MAX_SHARED, identity.clone(), cached, now);
        }
        FRONT.with_borrow_mut(|f| {
            bounded_insert(f, MAX_FRONT, FrontKey(self.id, identity), front, now);
        });
    }
}

#[cfg(test)]
mod tests;
