//! G-counter and ledger merges: commutative, associative, idempotent; serde persistence.

use super::{FEB_10_2024_NOON, Rng, keys};
use crate::{
    GCounter, LedgerEntry, Limits, MS_PER_DAY, NodeId, Period, Quota, QuotaLedger, QuotaPeriod,
    Throttler, ThrottlerConfig, UsagePlan,
};

/// Replicas of one counter: each node increments only its own slot, and every replica has
/// seen some random subset of the others' states.
fn random_counters(rng: &mut Rng, n: usize) -> Vec<GCounter> {
    let mut truth = GCounter::new();
    let mut replicas = Vec::new();
    for _ in 0..n {
        let node = NodeId(rng.below(5));
        truth.increment(node, rng.below(100) + 1);
        let mut replica = GCounter::new();
        for (node, count) in truth.contributions() {
            // A stale view: any count up to the true one.
            replica.increment(node, rng.below(count + 1));
        }
        replicas.push(replica);
    }
    replicas
}

fn merged(order: &[GCounter]) -> GCounter {
    let mut acc = GCounter::new();
    for c in order {
        acc.merge(c);
    }
    acc
}

#[test]
fn counter_merge_is_order_independent_and_idempotent() {
    let mut rng = Rng(7);
    for _ in 0..200 {
        let replicas = random_counters(&mut rng, 8);
        let expected = merged(&replicas);
        for _ in 0..20 {
            let mut order = replicas.clone();
            rng.shuffle(&mut order);
            // Some replicas twice: idempotent.
            let dup = order[rng.below(8) as usize].clone();
            order.push(dup);
            assert_eq!(merged(&order), expected);
        }
        // Associativity: (a ∪ b) ∪ c == a ∪ (b ∪ c).
        let (a, b, c) = (&replicas[0], &replicas[1], &replicas[2]);
        let mut left = a.clone();
        left.merge(b);
        left.merge(c);
        let mut bc = b.clone();
        bc.merge(c);
        let mut right = a.clone();
        right.merge(&bc);
        assert_eq!(left, right);
        // Commutativity and self-merge.
        let mut ab = a.clone();
        ab.merge(b);
        let mut ba = b.clone();
        ba.merge(a);
        assert_eq!(ab, ba);
        let mut aa = a.clone();
        aa.merge(a);
        assert_eq!(&aa, a);
    }
}

#[test]
fn total_sums_per_node_maxima_and_never_decreases() {
    let mut a = GCounter::new();
    a.increment(NodeId(1), 10);
    a.increment(NodeId(2), 3);
    let mut b = GCounter::new();
    b.increment(NodeId(1), 4);
    b.increment(NodeId(3), 5);
    let before = a.total();
    a.merge(&b);
    assert_eq!(
        (a.get(NodeId(1)), a.get(NodeId(2)), a.get(NodeId(3))),
        (10, 3, 5)
    );
    assert_eq!(a.total(), 18);
    assert!(a.total() >= before);
    a.increment(NodeId(9), u64::MAX);
    assert_eq!(a.total(), u64::MAX, "saturates");
}

fn period(day: i64) -> Period {
    Period {
        kind: QuotaPeriod::Day,
        start_day: day,
    }
}

fn random_ledger(rng: &mut Rng) -> QuotaLedger {
    let mut ledger = QuotaLedger::new();
    for _ in 0..rng.below(30) {
        let key = format!("k{}", rng.below(4));
        let node = NodeId(rng.below(3));
        ledger.record(&key, period(rng.below(3) as i64), node, rng.below(50) + 1);
    }
    ledger
}

#[test]
fn ledger_merge_is_order_independent_and_idempotent() {
    let mut rng = Rng(99);
    for _ in 0..100 {
        let ledgers: Vec<QuotaLedger> = (0..6).map(|_| random_ledger(&mut rng)).collect();
        let mut expected = QuotaLedger::new();
        for l in &ledgers {
            expected.merge(l);
        }
        for _ in 0..10 {
            let mut order: Vec<&QuotaLedger> = ledgers.iter().collect();
            rng.shuffle(&mut order);
            order.push(order[0]);
            // Merge as a random tree: fold pairs, then fold the results.
            let mut partials: Vec<QuotaLedger> = order
                .chunks(2)
                .map(|pair| {
                    let mut acc = pair[0].clone();
                    pair.iter().for_each(|l| acc.merge(l));
                    acc
                })
                .collect();
            rng.shuffle(&mut partials);
            let mut acc = QuotaLedger::new();
            partials.iter().for_each(|p| acc.merge(p));
            assert_eq!(acc, expected);
            assert_eq!(acc.entries(), expected.entries());
        }
    }
}

#[test]
fn ledger_persists_through_serde_and_merges_duplicates_on_load() {
    let mut ledger = QuotaLedger::new();
    ledger.record("b", period(1), NodeId(1), 4);
    ledger.record("a", period(2), NodeId(2), 1);
    ledger.record("a", period(1), NodeId(1), 2);
    let json = serde_json::to_string(&ledger).expect("serialize");
    assert_eq!(
        json,
        r#"[{"key":"a","period":{"kind":"DAY","start_day":1},"counts":{"1":2}},{"key":"a","period":{"kind":"DAY","start_day":2},"counts":{"2":1}},{"key":"b","period":{"kind":"DAY","start_day":1},"counts":{"1":4}}]"#
    );
    let back: QuotaLedger = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, ledger);
    // The same counter twice (e.g. two snapshots concatenated) merges instead of doubling.
    let mut entries: Vec<LedgerEntry> = ledger.entries();
    entries.extend(ledger.entries());
    assert_eq!(QuotaLedger::from(entries), ledger);
    assert_eq!(ledger.usage("a", period(1)), 2);
    assert_eq!(ledger.usage("a", period(9)), 0);
}

#[test]
fn two_nodes_share_a_quota_after_exchanging_ledgers() {
    let plan = UsagePlan {
        throttle: None,
        quota: Some(Quota::new(10, QuotaPeriod::Month)),
        routes: Default::default(),
    };
    let limits = Limits {
        plans: [("p".to_owned(), plan)].into(),
        api_keys: [("key".to_owned(), "p".to_owned())].into(),
        ..Limits::default()
    };
    let node = |id| {
        let config = ThrottlerConfig {
            node_id: NodeId(id),
            ..ThrottlerConfig::default()
        };
        Throttler::new(limits.clone(), config).expect("valid")
    };
    let (mut eu, mut us) = (node(1), node(2));
    let k = keys("s", "GET /", Some("key"));
    let now = FEB_10_2024_NOON;
    (0..4).for_each(|_| assert!(eu.check(now, &k).is_allowed()));
    (0..3).for_each(|_| assert!(us.check(now, &k).is_allowed()));
    // Exchange both ways, twice (idempotent), then persist and restore one of them.
    for _ in 0..2 {
        let snapshot = eu.ledger().clone();
        eu.merge_ledger(us.ledger());
        us.merge_ledger(&snapshot);
    }
    let json = serde_json::to_string(us.ledger()).expect("serialize");
    let mut restored = node(2);
    restored.merge_ledger(&serde_json::from_str(&json).expect("deserialize"));
    for t in [&eu, &us, &restored] {
        assert_eq!(t.usage("key", now).map(|u| u.used), Some(7));
    }
    (0..3).for_each(|_| assert!(restored.check(now, &k).is_allowed()));
    assert!(!restored.check(now, &k).is_allowed());
    // Next month starts from zero.
    assert!(restored.check(now + 30 * MS_PER_DAY, &k).is_allowed());
}
