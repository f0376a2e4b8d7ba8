//! Single-flight: one integration call per cache key at a time, the other requests wait.

use hashbrown::HashMap;

use crate::CacheKey;
use crate::key::KeyHasherBuilder;

/// Identifies one waiting request, so the I/O shell can wake it (e.g. a map from ticket to
/// a oneshot sender).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticket(pub u64);

/// What [`InFlight::begin`] tells a request that missed the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Nobody is fetching this key: call the integration, then [`InFlight::complete`].
    Leader,
    /// Someone is: wait to be woken with this ticket, then read the cache again.
    Follower(Ticket),
}

/// Keys being fetched and the requests waiting on each, sans-IO: stampede protection for
/// cache misses.
///
/// ```
/// use causeway_cache::{InFlight, KeySpec, Role, Target};
///
/// let target = Target { api: "a", stage: "prod", method: "GET", resource: "/pets" };
/// let key = KeySpec::default().key(&target, |_| None, None);
/// let mut flights = InFlight::new();
/// assert_eq!(flights.begin(&key), Role::Leader);
/// let Role::Follower(ticket) = flights.begin(&key) else { panic!("second is a follower") };
/// assert_eq!(flights.complete(&key), vec![ticket]);
/// assert_eq!(flights.begin(&key), Role::Leader);
/// ```
#[derive(Debug, Default)]
pub struct InFlight {
    waiting: HashMap<CacheKey, Vec<Ticket>, KeyHasherBuilder>,
    next: u64,
}

impl InFlight {
    /// No key in flight.
    pub fn new() -> InFlight {
        InFlight::default()
    }

    /// The first request for `key` leads; later ones follow until [`complete`](Self::complete).
    pub fn begin(&mut self, key: &CacheKey) -> Role {
        match self.waiting.get_mut(key) {
            None => {
                self.waiting.insert(key.clone(), Vec::new());
                Role::Leader
            }
            Some(followers) => {
                let ticket = Ticket(self.next);
                self.next += 1;
                followers.push(ticket);
                Role::Follower(ticket)
            }
        }
    }

    /// The leader for `key` is done (whether it cached a response or failed): returns the
    /// followers to wake, in arrival order. Woken followers read the cache and, on a miss,
    /// call [`begin`](Self::begin) again, so one of them leads the retry.
    pub fn complete(&mut self, key: &CacheKey) -> Vec<Ticket> {
        self.waiting.remove(key).unwrap_or_default()
    }

    /// A follower gave up (timed out or disconnected); returns whether it was waiting.
    pub fn cancel(&mut self, key: &CacheKey, ticket: Ticket) -> bool {
        let Some(followers) = self.waiting.get_mut(key) else {
            return false;
        };
        let before = followers.len();
        followers.retain(|&t| t != ticket);
        before != followers.len()
    }

    /// Whether a leader is fetching `key`.
    pub fn is_in_flight(&self, key: &CacheKey) -> bool {
        self.waiting.contains_key(key)
    }

    /// Followers waiting on `key`.
    pub fn followers(&self, key: &CacheKey) -> usize {
        self.waiting.get(key).map_or(0, Vec::len)
    }

    /// Keys in flight.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether no key is in flight.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}
