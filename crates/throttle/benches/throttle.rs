//! `causeway-throttle` decision latency: [`Throttler::check`] through all four levels (node,
//! stage, route, client) for 10,000 distinct API keys, round-robin, on a virtual clock.
//!
//! Run: `cargo bench -p causeway-throttle -- --warm-up-time 1 --measurement-time 3`.
//! Target: ≤ 100 ns median.

use std::collections::BTreeMap;
use std::hint::black_box;

use causeway_throttle::{
    Limits, Quota, QuotaPeriod, Rate, RequestKeys, StageLimits, Throttler, ThrottlerConfig,
    UsagePlan,
};
use criterion::{Criterion, criterion_group, criterion_main};

const CLIENTS: usize = 10_000;
/// 2024-02-10 12:00 UTC.
const START_MS: u64 = 1_707_566_400_000;

fn rate(per_second: f64, burst: u64) -> Rate {
    Rate::new(per_second, burst).expect("valid rate")
}

fn limits(quota: bool) -> Limits {
    let stage = StageLimits {
        rate: Some(rate(1e6, 100_000)),
        route_default: Some(rate(1e5, 10_000)),
        routes: BTreeMap::from([("GET /pets/{petId}".to_owned(), rate(5e4, 5_000))]),
    };
    let plan = UsagePlan {
        throttle: Some(rate(10.0, 20)),
        quota: quota.then(|| Quota::new(u64::MAX, QuotaPeriod::Month)),
        routes: Default::default(),
    };
    Limits {
        node: Rate::ACCOUNT_DEFAULT,
        stages: BTreeMap::from([("prod".to_owned(), stage)]),
        plans: BTreeMap::from([("gold".to_owned(), plan)]),
        api_keys: (0..CLIENTS)
            .map(|i| (format!("key-{i:016x}"), "gold".to_owned()))
            .collect(),
    }
}

fn bench_check(c: &mut Criterion) {
    let clients: Vec<String> = (0..CLIENTS).map(|i| format!("key-{i:016x}")).collect();
    let mut group = c.benchmark_group("throttle_check_4_levels_10k_clients");
    for (name, quota) in [("throttle_only", false), ("with_monthly_quota", true)] {
        let mut throttler =
            Throttler::new(limits(quota), ThrottlerConfig::default()).expect("valid limits");
        // One request per virtual millisecond: 1,000/s overall, 0.1/s per client, so every
        // check goes through all four buckets and is allowed.
        let mut i = 0usize;
        let mut check = |throttler: &mut Throttler| {
            i += 1;
            let keys = RequestKeys {
                stage: "prod",
                route: "GET /pets/{petId}",
                client: Some(&clients[i % CLIENTS]),
            };
            throttler.check(START_MS + i as u64, black_box(&keys))
        };
        for _ in 0..CLIENTS {
            assert!(check(&mut throttler).is_allowed(), "{name}: warm-up");
        }
        assert_eq!(throttler.bucket_count(), CLIENTS + 2);
        group.bench_function(name, |b| {
            b.iter(|| black_box(check(&mut throttler)));
        });
        assert!(check(&mut throttler).is_allowed(), "{name}: never limited");
    }
    group.finish();
}

criterion_group!(benches, bench_check);
criterion_main!(benches);
