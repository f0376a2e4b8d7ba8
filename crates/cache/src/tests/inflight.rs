//! Single-flight bookkeeping.

use super::{key, response};
use crate::{Cache, InFlight, Role, Ticket, Ttl};

#[test]
fn first_leads_the_rest_follow_and_are_woken_in_order() {
    let mut f = InFlight::new();
    assert_eq!(f.begin(&key(1)), Role::Leader);
    let tickets: Vec<Ticket> = (0..3)
        .map(|_| match f.begin(&key(1)) {
            Role::Follower(t) => t,
            Role::Leader => panic!("only one leader per key"),
        })
        .collect();
    assert!(f.is_in_flight(&key(1)));
    assert_eq!(f.followers(&key(1)), 3);
    assert_eq!(f.complete(&key(1)), tickets);
    assert!(f.is_empty());
    // The next miss leads a new fetch.
    assert_eq!(f.begin(&key(1)), Role::Leader);
}

#[test]
fn keys_are_independent() {
    let mut f = InFlight::new();
    assert_eq!(f.begin(&key(1)), Role::Leader);
    assert_eq!(f.begin(&key(2)), Role::Leader);
    let Role::Follower(t) = f.begin(&key(2)) else {
        panic!("second request for key 2 follows");
    };
    assert_eq!(f.len(), 2);
    assert_eq!(f.complete(&key(1)), Vec::<Ticket>::new(), "no followers");
    assert_eq!(f.complete(&key(2)), vec![t]);
    assert_eq!(f.complete(&key(3)), Vec::<Ticket>::new(), "never begun");
}

#[test]
fn cancelled_followers_are_not_woken() {
    let mut f = InFlight::new();
    assert_eq!(f.begin(&key(1)), Role::Leader);
    let (Role::Follower(a), Role::Follower(b)) = (f.begin(&key(1)), f.begin(&key(1))) else {
        panic!("followers");
    };
    assert_ne!(a, b, "tickets are unique");
    assert!(f.cancel(&key(1), a));
    assert!(!f.cancel(&key(1), a), "already cancelled");
    assert!(!f.cancel(&key(9), b), "wrong key");
    assert_eq!(f.complete(&key(1)), vec![b]);
}

/// Five concurrent misses on a virtual clock: one integration call, four cache hits.
#[test]
fn a_stampede_makes_one_integration_call() {
    let mut cache = Cache::new(1 << 20);
    let mut flights = InFlight::new();
    let mut integration_calls = 0;
    let mut waiting = Vec::new();
    for _ in 0..5 {
        assert!(cache.get(0, &key(1)).is_none());
        match flights.begin(&key(1)) {
            Role::Leader => integration_calls += 1,
            Role::Follower(ticket) => waiting.push(ticket),
        }
    }
    // The leader's response arrives at t = 40 ms.
    cache
        .insert(40, key(1), response(5), Ttl::DEFAULT)
        .expect("fits");
    let woken = flights.complete(&key(1));
    assert_eq!(woken, waiting);
    for _ in woken {
        assert!(cache.get(41, &key(1)).is_some());
    }
    assert_eq!(integration_calls, 1);
    assert_eq!(cache.stats().hits, 4);
}
