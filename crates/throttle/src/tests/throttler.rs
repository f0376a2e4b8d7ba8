//! The throttler: five levels, strictest wins, no partial charge, quotas and usage.

use std::collections::BTreeMap;

use super::{FEB_10_2024_NOON, keys, rate};
use crate::{
    Level, Limits, LimitsError, MS_PER_DAY, NEVER, NodeId, Quota, QuotaPeriod, Rate, StageLimits,
    Throttler, ThrottlerConfig, UsagePlan, Verdict,
};

const NOW: u64 = FEB_10_2024_NOON;

/// Stage `prod`: stage 100/s burst 8; routes 10/s burst 5 by default, `GET /hot` 1/s burst 2;
/// plan `basic`: 1/s burst 3, 5 per day; plan `free`: quota only, 2 per week.
fn limits() -> Limits {
    let stage = StageLimits {
        rate: Some(rate(100.0, 8)),
        route_default: Some(rate(10.0, 5)),
        routes: BTreeMap::from([("GET /hot".to_owned(), rate(1.0, 2))]),
    };
    let plans = BTreeMap::from([
        (
            "basic".to_owned(),
            UsagePlan {
                throttle: Some(rate(1.0, 3)),
                quota: Some(Quota::new(5, QuotaPeriod::Day)),
                routes: Default::default(),
            },
        ),
        (
            "free".to_owned(),
            UsagePlan {
                throttle: None,
                quota: Some(Quota::new(2, QuotaPeriod::Week)),
                routes: Default::default(),
            },
        ),
    ]);
    let api_keys = BTreeMap::from([
        ("k-basic".to_owned(), "basic".to_owned()),
        ("k-basic-2".to_owned(), "basic".to_owned()),
        ("k-free".to_owned(), "free".to_owned()),
    ]);
    Limits {
        node: Rate::ACCOUNT_DEFAULT,
        stages: BTreeMap::from([("prod".to_owned(), stage)]),
        plans,
        api_keys,
    }
}

fn throttler(limits: Limits) -> Throttler {
    Throttler::new(limits, ThrottlerConfig::default()).expect("valid limits")
}

fn throttled(level: Level, retry_after_ms: u64) -> Verdict {
    Verdict::Throttled {
        level,
        retry_after_ms,
    }
}

#[test]
fn node_default_is_api_gateways_account_limit() {
    assert_eq!(Limits::default().node, Rate::ACCOUNT_DEFAULT);
    assert_eq!(
        (
            Rate::ACCOUNT_DEFAULT.per_second(),
            Rate::ACCOUNT_DEFAULT.burst()
        ),
        (10_000.0, 5_000)
    );
    let mut t = throttler(Limits::default());
    let k = keys("any", "GET /", None);
    for _ in 0..5_000 {
        assert_eq!(t.check(NOW, &k), Verdict::Allowed);
    }
    // 10,000/s is 10 per millisecond.
    assert_eq!(t.check(NOW, &k), throttled(Level::Node, 1));
    let allowed = (0..20).filter(|_| t.check(NOW + 1, &k).is_allowed());
    assert_eq!(allowed.count(), 10);
}

#[test]
fn route_limit_applies_per_route_and_overrides_the_default() {
    let mut t = throttler(limits());
    for _ in 0..2 {
        assert!(t.check(NOW, &keys("prod", "GET /hot", None)).is_allowed());
    }
    assert_eq!(
        t.check(NOW, &keys("prod", "GET /hot", None)),
        throttled(Level::Route, 1_000)
    );
    // Other routes have their own default buckets (burst 5), still under the stage's 8.
    for _ in 0..5 {
        assert!(t.check(NOW, &keys("prod", "GET /a", None)).is_allowed());
    }
    assert_eq!(
        t.check(NOW, &keys("prod", "GET /a", None)),
        throttled(Level::Route, 100)
    );
    // Stages without limits only meet the node limit.
    for _ in 0..50 {
        assert!(t.check(NOW, &keys("dev", "GET /hot", None)).is_allowed());
    }
}

#[test]
fn stage_limit_binds_across_routes() {
    let mut t = throttler(limits());
    let routes = ["GET /a", "GET /b", "GET /c", "GET /d"];
    for i in 0..8 {
        assert!(
            t.check(NOW, &keys("prod", routes[i % 4], None))
                .is_allowed()
        );
    }
    // Route `GET /a` has 3 of 5 left, but the stage (100/s → 10 ms a token) is empty.
    assert_eq!(
        t.check(NOW, &keys("prod", "GET /a", None)),
        throttled(Level::Stage, 10)
    );
    assert!(
        t.check(NOW + 10, &keys("prod", "GET /a", None))
            .is_allowed()
    );
}

#[test]
fn client_plan_throttles_each_key_separately() {
    let mut t = throttler(limits());
    for _ in 0..3 {
        assert!(
            t.check(NOW, &keys("prod", "GET /a", Some("k-basic")))
                .is_allowed()
        );
    }
    assert_eq!(
        t.check(NOW, &keys("prod", "GET /a", Some("k-basic"))),
        throttled(Level::Client, 1_000)
    );
    // Another key on the same plan has its own bucket.
    assert!(
        t.check(NOW, &keys("prod", "GET /b", Some("k-basic-2")))
            .is_allowed()
    );
    // Unknown keys and keys without a throttle are not client-limited.
    for _ in 0..4 {
        assert!(
            t.check(NOW, &keys("dev", "GET /a", Some("nobody")))
                .is_allowed()
        );
    }
}

#[test]
fn nothing_is_charged_unless_every_level_allows() {
    let mut t = throttler(limits());
    // Drain the client bucket (burst 3) on one route.
    for _ in 0..3 {
        assert!(
            t.check(NOW, &keys("prod", "GET /a", Some("k-basic")))
                .is_allowed()
        );
    }
    // Ten refusals by the client level must not drain the stage, route or node.
    for _ in 0..10 {
        let v = t.check(NOW, &keys("prod", "GET /a", Some("k-basic")));
        assert_eq!(v, throttled(Level::Client, 1_000));
    }
    // Route `GET /a` still has 2 of 5, the stage 5 of 8.
    for _ in 0..2 {
        assert!(t.check(NOW, &keys("prod", "GET /a", None)).is_allowed());
    }
    assert_eq!(
        t.check(NOW, &keys("prod", "GET /a", None)),
        throttled(Level::Route, 100)
    );
    // The refused requests were not counted against the daily quota either.
    assert_eq!(t.usage("k-basic", NOW).map(|u| u.used), Some(3));
}

#[test]
fn the_level_with_the_longest_wait_is_reported() {
    let mut t = throttler(limits());
    // `GET /hot` (1/s) and client `k-basic` (1/s) both empty after 2 requests... the route's
    // burst is 2, the client's 3: at the third request only the route limits.
    for _ in 0..2 {
        assert!(
            t.check(NOW, &keys("prod", "GET /hot", Some("k-basic")))
                .is_allowed()
        );
    }
    assert_eq!(
        t.check(NOW, &keys("prod", "GET /hot", Some("k-basic"))),
        throttled(Level::Route, 1_000)
    );
    // Drain the client too: both wait 1,000 ms; the more specific (client) is named.
    assert!(
        t.check(NOW, &keys("prod", "GET /x", Some("k-basic")))
            .is_allowed()
    );
    assert_eq!(
        t.check(NOW, &keys("prod", "GET /hot", Some("k-basic"))),
        throttled(Level::Client, 1_000)
    );
}

#[test]
fn quota_exhaustion_answers_limit_exceeded_until_the_period_ends() {
    let mut t = throttler(limits());
    let k = keys("dev", "GET /a", Some("k-basic"));
    let mut now = NOW;
    for _ in 0..5 {
        now += 1_000; // stay under the 1/s client throttle
        assert_eq!(t.check(now, &k), Verdict::Allowed);
    }
    now += 1_000;
    let until_midnight = MS_PER_DAY - (now % MS_PER_DAY);
    let v = t.check(now, &k);
    assert_eq!(
        v,
        Verdict::QuotaExceeded {
            retry_after_ms: until_midnight
        }
    );
    assert_eq!(v.rejection(), Some((429, "Limit Exceeded")));
    assert_eq!(
        throttled(Level::Node, 1).rejection(),
        Some((429, "Too Many Requests"))
    );
    // Quota refusals take no tokens: the client bucket is full again later...
    let usage = t.usage("k-basic", now).expect("plan has a quota");
    assert_eq!((usage.used, usage.allowance, usage.remaining()), (5, 5, 0));
    // ...and at 00:00 UTC the next day's quota starts.
    now += until_midnight;
    assert_eq!(t.check(now, &k), Verdict::Allowed);
    let usage = t.usage("k-basic", now).expect("plan has a quota");
    assert_eq!((usage.used, usage.remaining()), (1, 4));
    // Yesterday's usage is still readable per period.
    let periods: Vec<_> = t.ledger().periods("k-basic").map(|(_, n)| n).collect();
    assert_eq!(periods, [5, 1]);
}

#[test]
fn quota_without_throttle_and_usage_of_keys_without_quota() {
    let mut t = throttler(limits());
    let k = keys("dev", "GET /a", Some("k-free"));
    assert!(t.check(NOW, &k).is_allowed());
    assert!(t.check(NOW, &k).is_allowed());
    assert!(matches!(t.check(NOW, &k), Verdict::QuotaExceeded { .. }));
    // Next Monday.
    assert!(t.check(NOW + 2 * MS_PER_DAY, &k).is_allowed());
    assert_eq!(t.usage("nobody", NOW), None);
    assert_eq!(
        t.usage("k-free", NOW + 2 * MS_PER_DAY).map(|u| u.used),
        Some(1)
    );
}

#[test]
fn offset_applies_in_the_initial_period_only() {
    let mut l = limits();
    l.plans.insert(
        "trial".to_owned(),
        UsagePlan {
            throttle: None,
            quota: Some(
                Quota::new(3, QuotaPeriod::Day)
                    .with_offset(2, NOW)
                    .expect("valid offset"),
            ),
            routes: Default::default(),
        },
    );
    l.api_keys.insert("k-trial".to_owned(), "trial".to_owned());
    let mut t = throttler(l);
    let k = keys("dev", "GET /", Some("k-trial"));
    assert!(t.check(NOW, &k).is_allowed());
    assert!(!t.check(NOW, &k).is_allowed());
    let tomorrow = NOW + MS_PER_DAY;
    assert_eq!(
        (0..5)
            .filter(|_| t.check(tomorrow, &k).is_allowed())
            .count(),
        3
    );
}

#[test]
fn unknown_plans_are_rejected() {
    let mut l = limits();
    l.api_keys.insert("k".to_owned(), "platinum".to_owned());
    let err = Throttler::new(l.clone(), ThrottlerConfig::default()).expect_err("unknown plan");
    assert_eq!(
        err,
        LimitsError::UnknownPlan {
            key: "k".to_owned(),
            plan: "platinum".to_owned()
        }
    );
    let mut t = throttler(limits());
    assert!(t.set_limits(l).is_err());
}

#[test]
fn new_limits_apply_and_quota_use_survives() {
    let mut t = throttler(limits());
    let k = keys("prod", "GET /hot", Some("k-free"));
    assert!(t.check(NOW, &k).is_allowed());
    let mut l = limits();
    if let Some(stage) = l.stages.get_mut("prod") {
        stage.routes.insert("GET /hot".to_owned(), rate(0.0, 0));
    }
    t.set_limits(l).expect("valid limits");
    assert_eq!(t.check(NOW, &k), throttled(Level::Route, NEVER));
    assert_eq!(t.usage("k-free", NOW).map(|u| u.used), Some(1));
}

#[test]
fn limits_deserialize_with_defaults() {
    let l: Limits =
        serde_json::from_str(r#"{"stages": {"s": {"route_default": {"rate": 1, "burst": 1}}}}"#)
            .expect("valid");
    assert_eq!(l.node, Rate::ACCOUNT_DEFAULT);
    assert_eq!(l.route_rate("s", "GET /x"), Some(rate(1.0, 1)));
    assert_eq!(l.stage_rate("s"), None);
    assert!(serde_json::from_str::<Limits>(r#"{"stagez": {}}"#).is_err());
}

#[test]
fn node_id_is_used_for_local_counts() {
    let config = ThrottlerConfig {
        node_id: NodeId(7),
        ..ThrottlerConfig::default()
    };
    let mut t = Throttler::new(limits(), config).expect("valid");
    assert!(
        t.check(NOW, &keys("dev", "GET /", Some("k-free")))
            .is_allowed()
    );
    let period = Quota::new(2, QuotaPeriod::Week).period_at(NOW);
    let counter = t.ledger().counter("k-free", period).expect("recorded");
    assert_eq!(
        counter.contributions().collect::<Vec<_>>(),
        [(NodeId(7), 1)]
    );
}

/// A stage without stage or route limits, and no API key: only the node bucket decides,
/// and no slot is created or kept for it (the common case costs one bucket check).
#[test]
fn unlimited_stages_without_clients_use_only_the_node_bucket() {
    let mut limits = limits();
    limits.node = rate(1.0, 2);
    let mut t = throttler(limits);
    assert!(t.check(NOW, &keys("beta", "GET /a", None)).is_allowed());
    assert!(t.check(NOW, &keys("beta", "GET /b", None)).is_allowed());
    assert_eq!(t.bucket_count(), 0, "no slot for an unlimited stage");
    // The node's burst of 2 is spent: the next request is the node's to refuse.
    assert_eq!(
        t.check(NOW, &keys("beta", "GET /a", None)),
        throttled(Level::Node, 1_000)
    );
    // A limited stage still gets its slots.
    assert!(
        t.check(NOW + 1_000, &keys("prod", "GET /a", None))
            .is_allowed()
    );
    assert_eq!(t.bucket_count(), 2);
}

/// A plan's method throttle: a key's own bucket on that route, on top of its plan-wide
/// one; other routes and other keys are not touched by it; the quota still counts.
#[test]
fn a_plans_method_throttle_limits_each_key_on_that_route() {
    let mut limits = limits();
    if let Some(basic) = limits.plans.get_mut("basic") {
        basic.throttle = Some(rate(100.0, 50));
        basic.quota = Some(Quota::new(6, QuotaPeriod::Day));
        basic.routes = BTreeMap::from([("GET /a".to_owned(), rate(1.0, 2))]);
    }
    let mut t = throttler(limits);
    for _ in 0..2 {
        assert!(
            t.check(NOW, &keys("prod", "GET /a", Some("k-basic")))
                .is_allowed()
        );
    }
    assert_eq!(
        t.check(NOW, &keys("prod", "GET /a", Some("k-basic"))),
        throttled(Level::ClientRoute, 1_000)
    );
    // Another route of the same key, and the same route for another key, go on.
    assert!(
        t.check(NOW, &keys("prod", "GET /b", Some("k-basic")))
            .is_allowed()
    );
    assert!(
        t.check(NOW, &keys("prod", "GET /a", Some("k-basic-2")))
            .is_allowed()
    );
    // The refusal charged nothing: a second later the route has a token again, and the
    // quota (6 a day) counted only the 3 allowed requests of `k-basic` so far.
    assert!(
        t.check(NOW + 1_000, &keys("prod", "GET /a", Some("k-basic")))
            .is_allowed()
    );
    assert!(
        t.check(NOW + 1_000, &keys("prod", "GET /b", Some("k-basic")))
            .is_allowed()
    );
    assert!(
        t.check(NOW + 1_000, &keys("prod", "GET /b", Some("k-basic")))
            .is_allowed()
    );
    assert!(matches!(
        t.check(NOW + 1_000, &keys("prod", "GET /b", Some("k-basic"))),
        Verdict::QuotaExceeded { .. }
    ));
}
