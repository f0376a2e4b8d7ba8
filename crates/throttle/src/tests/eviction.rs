//! Bounded memory: idle buckets are dropped without changing any decision.

use std::collections::BTreeMap;

use super::{keys, rate};
use crate::{
    Level, Limits, MS_PER_DAY, Quota, QuotaPeriod, Rate, Throttler, ThrottlerConfig, UsagePlan,
    Verdict,
};

/// Every key `c…` on a plan with 1 request/s, burst 1, and 100 per day.
fn per_client_limits(clients: usize) -> Limits {
    let plan = UsagePlan {
        throttle: Some(rate(1.0, 1)),
        quota: Some(Quota::new(100, QuotaPeriod::Day)),
        routes: Default::default(),
    };
    Limits {
        node: Rate::new(1e6, 1_000_000).expect("valid"),
        stages: BTreeMap::new(),
        plans: BTreeMap::from([("p".to_owned(), plan)]),
        api_keys: (0..clients)
            .map(|i| (format!("c{i}"), "p".to_owned()))
            .collect(),
    }
}

#[test]
fn idle_full_buckets_are_swept_and_recreated_identically() {
    let config = ThrottlerConfig {
        idle_ms: 5_000,
        ..ThrottlerConfig::default()
    };
    let mut t = Throttler::new(per_client_limits(10), config).expect("valid");
    let k = keys("s", "GET /", Some("c1"));
    assert!(t.check(0, &k).is_allowed());
    assert_eq!(
        t.check(0, &k),
        Verdict::Throttled {
            level: Level::Client,
            retry_after_ms: 1_000
        }
    );
    // stage + route + client slots.
    assert_eq!(t.bucket_count(), 3);
    // Not idle long enough yet: kept.
    assert_eq!(t.sweep(4_999), 0);
    assert_eq!(t.next_sweep_ms(), 4_999 + 5_000);
    // Idle and full: dropped, and the client behaves exactly as a full bucket would.
    assert_eq!(t.sweep(5_000), 3);
    assert_eq!(t.bucket_count(), 0);
    assert!(t.check(5_000, &k).is_allowed());
    assert!(!t.check(5_000, &k).is_allowed());
    // Quota counts are not buckets: they survived the sweep.
    assert_eq!(t.usage("c1", 5_000).map(|u| u.used), Some(2));
}

#[test]
fn a_bucket_that_is_still_refilling_is_not_swept() {
    let mut l = per_client_limits(1);
    l.plans.insert(
        "p".to_owned(),
        UsagePlan {
            throttle: Some(rate(0.001, 1)), // one token per 1,000 s
            quota: None,
            routes: Default::default(),
        },
    );
    let config = ThrottlerConfig {
        idle_ms: 10,
        ..ThrottlerConfig::default()
    };
    let mut t = Throttler::new(l, config).expect("valid");
    let k = keys("s", "GET /", Some("c0"));
    assert!(t.check(0, &k).is_allowed());
    // Stage and route slots (no bucket) go; the empty client bucket stays.
    assert_eq!(t.sweep(500_000), 2);
    assert!(!t.check(500_000, &k).is_allowed());
    assert_eq!(t.sweep(1_500_000), 3);
}

#[test]
fn many_distinct_clients_keep_the_table_bounded() {
    let config = ThrottlerConfig {
        idle_ms: 1_000,
        max_buckets: 5_000,
        ..ThrottlerConfig::default()
    };
    let mut t = Throttler::new(per_client_limits(100_000), config).expect("valid");
    let mut peak = 0;
    let names: Vec<String> = (0..100_000).map(|i| format!("c{i}")).collect();
    // 100 new clients per millisecond, each seen once: idle ones are swept as the table grows.
    for (i, name) in names.iter().enumerate() {
        let now = i as u64 / 100;
        assert!(t.check(now, &keys("s", "GET /", Some(name))).is_allowed());
        peak = peak.max(t.bucket_count());
    }
    assert!(peak <= 5_000, "peak {peak}");
    // Lossless sweeps sufficed: clients idle ≥ 1 s were full again.
    assert!(t.bucket_count() >= 1_000);
}

#[test]
fn the_hard_cap_holds_even_when_every_bucket_is_busy() {
    let config = ThrottlerConfig {
        idle_ms: 3_600_000,
        max_buckets: 2_000,
        ..ThrottlerConfig::default()
    };
    let mut t = Throttler::new(per_client_limits(20_000), config).expect("valid");
    for i in 0..20_000u64 {
        let name = format!("c{i}");
        assert!(t.check(i, &keys("s", "GET /", Some(&name))).is_allowed());
        assert!(t.bucket_count() <= 2_000);
    }
    // The most recent clients are still tracked (and still limited).
    assert!(
        !t.check(20_000, &keys("s", "GET /", Some("c19999")))
            .is_allowed()
    );
}

#[test]
fn sweep_prunes_quota_periods_past_retention() {
    let config = ThrottlerConfig {
        usage_retention_ms: 2 * MS_PER_DAY,
        ..ThrottlerConfig::default()
    };
    let mut t = Throttler::new(per_client_limits(1), config).expect("valid");
    let k = keys("s", "GET /", Some("c0"));
    for day in 0..5 {
        assert!(t.check(day * MS_PER_DAY, &k).is_allowed());
    }
    assert_eq!(t.ledger().len(), 5);
    t.sweep(5 * MS_PER_DAY);
    // Days 3 and 4 ended within the last two days.
    let days: Vec<_> = t.ledger().periods("c0").map(|(p, _)| p.start_day).collect();
    assert_eq!(days, [3, 4]);
}
