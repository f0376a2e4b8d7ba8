//! The store: hits and misses, TTLs, size limits, invalidation, flush, stats, capacity.

use std::sync::Arc;

use bytes::Bytes;

use super::{Rng, key, response};
use crate::{Cache, CacheError, CachedResponse, MAX_ENTRY_BYTES, Stats, Ttl};

fn entry_size(n: u64, body_len: usize) -> usize {
    key(n).len() + response(body_len).size()
}

#[test]
fn hit_returns_the_shared_response_and_miss_returns_none() {
    let mut cache = Cache::new(1 << 20);
    assert_eq!(cache.get(0, &key(1)), None);
    cache
        .insert(0, key(1), response(10), Ttl::DEFAULT)
        .expect("fits");
    let first = cache.get(1, &key(1)).expect("hit");
    let second = cache.get(2, &key(1)).expect("hit");
    assert!(Arc::ptr_eq(&first, &second), "no copy per hit");
    assert_eq!(*first, response(10));
    assert_eq!(cache.get(2, &key(2)), None);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.entries), (2, 2, 1));
    assert_eq!(stats.bytes, entry_size(1, 10));
    assert_eq!(stats.hit_ratio(), 0.5);
}

#[test]
fn size_counts_key_header_names_values_and_body() {
    let r = CachedResponse {
        status: 200,
        headers: vec![
            ("a".to_owned(), Bytes::from_static(b"bc")),
            ("de".to_owned(), Bytes::new()),
        ],
        body: Bytes::from_static(b"12345"),
    };
    assert_eq!(r.size(), 1 + 2 + 2 + 5);
    let mut cache = Cache::new(1_000);
    cache.insert(0, key(1), r, Ttl::DEFAULT).expect("fits");
    assert_eq!(cache.bytes(), key(1).len() + 10);
}

#[test]
fn entries_expire_after_their_ttl_and_are_removed() {
    let mut cache = Cache::new(1 << 20);
    let ttl = Ttl::from_secs(60).expect("in range");
    cache.insert(1_000, key(1), response(1), ttl).expect("fits");
    cache
        .insert(1_000, key(2), response(1), Ttl::DEFAULT)
        .expect("fits");
    assert!(
        cache.get(60_999, &key(1)).is_some(),
        "last fresh millisecond"
    );
    assert_eq!(cache.get(61_000, &key(1)), None, "expired");
    assert_eq!(cache.len(), 1, "expired entry removed");
    assert_eq!(cache.bytes(), entry_size(2, 1));
    assert!(
        cache.get(300_999, &key(2)).is_some(),
        "default TTL is 300 s"
    );
    assert_eq!(cache.get(301_000, &key(2)), None);
    let stats = cache.stats();
    assert_eq!((stats.expirations, stats.misses, stats.hits), (2, 2, 2));
    assert_eq!((stats.entries, stats.bytes), (0, 0));
}

#[test]
fn ttl_range_is_0_to_3600_seconds() {
    assert_eq!(Ttl::default(), Ttl::DEFAULT);
    assert_eq!(Ttl::DEFAULT.secs(), 300);
    assert_eq!(Ttl::from_secs(3_600).expect("max").millis(), 3_600_000);
    assert_eq!(
        Ttl::from_secs(3_601),
        Err(CacheError::TtlOutOfRange { secs: 3_601 })
    );
    assert!(Ttl::from_secs(u64::MAX).is_err());
    let zero = Ttl::from_secs(0).expect("0 disables caching");
    let mut cache = Cache::new(1_000);
    assert_eq!(
        cache.insert(0, key(1), response(1), zero),
        Err(CacheError::ZeroTtl)
    );
    assert!(cache.is_empty());
}

#[test]
fn entries_over_one_mib_or_the_capacity_are_refused() {
    let mut cache = Cache::new(4 << 20);
    let overhead = entry_size(1, 0);
    let exactly = response(MAX_ENTRY_BYTES - overhead);
    cache
        .insert(0, key(1), exactly, Ttl::DEFAULT)
        .expect("exactly 1 MiB fits");
    let err = cache
        .insert(
            0,
            key(2),
            response(MAX_ENTRY_BYTES - overhead + 1),
            Ttl::DEFAULT,
        )
        .expect_err("over 1 MiB");
    assert_eq!(
        err,
        CacheError::EntryTooLarge {
            size: MAX_ENTRY_BYTES + 1,
            max: MAX_ENTRY_BYTES
        }
    );
    assert_eq!(cache.len(), 1, "refusal leaves the cache unchanged");
    let mut small = Cache::new(100);
    assert!(matches!(
        small.insert(0, key(1), response(100), Ttl::DEFAULT),
        Err(CacheError::EntryTooLarge { max: 100, .. })
    ));
}

#[test]
fn replacing_a_key_keeps_one_entry_and_exact_bytes() {
    let mut cache = Cache::new(10_000);
    cache
        .insert(0, key(1), response(100), Ttl::DEFAULT)
        .expect("fits");
    cache
        .insert(5, key(1), response(7), Ttl::DEFAULT)
        .expect("fits");
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.bytes(), entry_size(1, 7));
    assert_eq!(cache.get(6, &key(1)).map(|r| r.body.len()), Some(7));
}

#[test]
fn invalidate_and_flush() {
    let mut cache = Cache::new(10_000);
    for n in 0..5 {
        cache
            .insert(0, key(n), response(10), Ttl::DEFAULT)
            .expect("fits");
    }
    assert!(cache.invalidate(&key(3)));
    assert!(!cache.invalidate(&key(3)), "already gone");
    assert_eq!(cache.get(1, &key(3)), None);
    assert_eq!(cache.len(), 4);
    cache.flush();
    assert_eq!((cache.len(), cache.bytes()), (0, 0));
    assert_eq!(cache.get(1, &key(0)), None);
    let stats = cache.stats();
    assert_eq!(stats.invalidations, 1);
    // Usable after a flush.
    cache
        .insert(2, key(0), response(10), Ttl::DEFAULT)
        .expect("fits");
    assert!(cache.get(3, &key(0)).is_some());
}

/// Sum of entry sizes the way a caller would count them, for cross-checking `bytes`.
fn check_invariants(cache: &Cache, live: &std::collections::HashMap<u64, usize>) {
    let stats: Stats = cache.stats();
    assert!(
        stats.bytes <= cache.capacity(),
        "{} > {}",
        stats.bytes,
        cache.capacity()
    );
    assert!(stats.entries <= live.len());
    let (small, main, ghost) = cache.queued_refs();
    // Stale queue references and ghost records stay proportional to the live entries.
    assert!(
        small + main <= 2 * stats.entries + 200,
        "{small} + {main} refs"
    );
    assert!(ghost <= 1_000, "{ghost} ghosts");
}

#[test]
fn random_operations_never_exceed_the_capacity() {
    let mut rng = Rng(2024);
    let mut cache = Cache::new(50_000);
    // What we inserted (an upper bound on what is held): key → size.
    let mut live = std::collections::HashMap::new();
    let mut now = 0;
    for _ in 0..50_000 {
        now += rng.below(50);
        let n = rng.below(500);
        match rng.below(10) {
            0..=4 => {
                let body = rng.below(2_000) as usize;
                let ttl = Ttl::from_secs(rng.below(20) + 1).expect("in range");
                cache
                    .insert(now, key(n), response(body), ttl)
                    .expect("fits");
                live.insert(n, entry_size(n, body));
            }
            5..=8 => {
                if let Some(r) = cache.get(now, &key(n)) {
                    assert_eq!(live.get(&n), Some(&(key(n).len() + r.size())));
                }
            }
            _ => {
                cache.invalidate(&key(n));
                live.remove(&n);
            }
        }
        check_invariants(&cache, &live);
    }
    let stats = cache.stats();
    assert!(
        stats.evictions > 0 && stats.expirations > 0 && stats.hits > 0,
        "{stats:?}"
    );
}
