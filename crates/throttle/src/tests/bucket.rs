//! Token bucket: burst, lazy refill, exact retry hints, monotonic safety.

use super::{Rng, rate};
use crate::{Decision, LimitsError, NEVER, Rate, TokenBucket};

fn limited(retry_after_ms: u64) -> Decision {
    Decision::Limited { retry_after_ms }
}

#[test]
fn starts_full_allows_the_burst_then_limits() {
    let mut b = TokenBucket::new(rate(10.0, 5));
    for _ in 0..5 {
        assert_eq!(b.try_acquire(1_000, 1), Decision::Allowed);
    }
    // 10/s: one token every 100 ms.
    assert_eq!(b.try_acquire(1_000, 1), limited(100));
    assert_eq!(b.try_acquire(1_099, 1), limited(1));
    assert_eq!(b.try_acquire(1_100, 1), Decision::Allowed);
    assert_eq!(b.try_acquire(1_100, 1), limited(100));
}

#[test]
fn refill_is_capped_at_the_burst() {
    let mut b = TokenBucket::new(rate(1_000.0, 3));
    assert_eq!(b.try_acquire(0, 3), Decision::Allowed);
    assert_eq!(b.available(0), 0);
    // An hour later: back to 3, not 3.6 million.
    assert_eq!(b.available(3_600_000), 3);
    assert!(b.is_full_at(3_600_000));
    assert_eq!(b.try_acquire(3_600_000, 4), limited(NEVER));
    assert_eq!(b.try_acquire(3_600_000, 3), Decision::Allowed);
}

#[test]
fn limited_requests_take_nothing() {
    let mut b = TokenBucket::new(rate(1.0, 4));
    assert_eq!(b.try_acquire(0, 3), Decision::Allowed);
    assert_eq!(b.try_acquire(0, 2), limited(1_000));
    assert_eq!(
        b.try_acquire(0, 1),
        Decision::Allowed,
        "the refused 2 were not taken"
    );
}

#[test]
fn clock_going_backwards_grants_nothing() {
    let mut b = TokenBucket::new(rate(1.0, 2));
    assert!(b.try_acquire(10_000, 2).is_allowed());
    // Back 5 s, then forward to the same instant: still empty.
    assert_eq!(b.try_acquire(5_000, 1), limited(6_000));
    assert_eq!(b.try_acquire(10_000, 1), limited(1_000));
    // Retry hints stay exact when asked from the past: due at 11_000.
    assert_eq!(b.try_acquire(9_999, 1), limited(1_001));
    assert!(b.try_acquire(11_000, 1).is_allowed());
    assert_eq!(b.available(0), 0);
}

#[test]
fn fractional_rates_refill_without_drift() {
    // 0.5/s: a token every 2 s, however finely the time is sliced.
    let mut b = TokenBucket::new(rate(0.5, 1));
    assert!(b.try_acquire(0, 1).is_allowed());
    for now in 0..2_000 {
        assert!(!b.try_acquire(now, 1).is_allowed(), "at {now}");
    }
    assert!(b.try_acquire(2_000, 1).is_allowed());
    // 3 per second sliced into 1 ms steps grants exactly 3 tokens per second.
    let mut b = TokenBucket::new(rate(3.0, 3));
    assert!(b.try_acquire(0, 3).is_allowed());
    let granted = (1..=10_000).filter(|&now| b.try_acquire(now, 1).is_allowed());
    assert_eq!(granted.count(), 30);
}

#[test]
fn zero_rate_or_zero_burst_never_refills() {
    let mut b = TokenBucket::new(rate(0.0, 2));
    assert!(b.try_acquire(0, 2).is_allowed());
    assert_eq!(b.try_acquire(u64::MAX, 1), limited(NEVER));
    let mut b = TokenBucket::new(rate(100.0, 0));
    assert_eq!(b.try_acquire(5, 1), limited(NEVER));
    // Zero tokens are always there.
    assert!(b.try_acquire(5, 0).is_allowed());
}

#[test]
fn huge_times_and_counts_saturate_instead_of_overflowing() {
    let mut b = TokenBucket::new(Rate::new(Rate::MAX_PER_SECOND, Rate::MAX_BURST).expect("max"));
    assert!(b.try_acquire(u64::MAX, Rate::MAX_BURST).is_allowed());
    assert_eq!(b.try_acquire(u64::MAX, u64::MAX), limited(NEVER));
    assert!(matches!(
        b.try_acquire(u64::MAX, 1),
        Decision::Limited { retry_after_ms } if retry_after_ms < 10
    ));
}

/// Random workloads: whenever a request is limited with `retry_after_ms = r`, the same
/// request succeeds at `now + r` and fails at `now + r - 1`.
#[test]
fn retry_after_is_exactly_when_the_tokens_are_back() {
    let mut rng = Rng(0x5EED);
    for _ in 0..200 {
        let per_second = rng.below(5_000) as f64 / 7.0 + 0.001;
        let burst = rng.below(50) + 1;
        let mut b = TokenBucket::new(rate(per_second, burst));
        let mut now = rng.below(1_000_000);
        for _ in 0..100 {
            now += rng.below(300);
            let n = rng.below(burst) + 1;
            if let Decision::Limited { retry_after_ms } = b.try_acquire(now, n) {
                assert_ne!(retry_after_ms, NEVER);
                let mut early = b.clone();
                if retry_after_ms > 0 {
                    assert!(!early.try_acquire(now + retry_after_ms - 1, n).is_allowed());
                }
                assert!(b.clone().try_acquire(now + retry_after_ms, n).is_allowed());
            }
        }
    }
}

#[test]
fn invalid_rates_are_rejected_with_a_reason() {
    for bad in [-1.0, f64::NAN, f64::INFINITY, 2e9] {
        let err = Rate::new(bad, 1).expect_err("invalid rate");
        assert!(matches!(err, LimitsError::InvalidRate { .. }));
        assert!(err.to_string().contains("use a finite number"), "{err}");
    }
    let err = Rate::new(1.0, Rate::MAX_BURST + 1).expect_err("burst too large");
    assert_eq!(
        err,
        LimitsError::BurstTooLarge {
            burst: Rate::MAX_BURST + 1
        }
    );
}

#[test]
fn rates_round_trip_through_serde() {
    let r: Rate = serde_json::from_str(r#"{"rate": 2.5, "burst": 7}"#).expect("valid");
    assert_eq!((r.per_second(), r.burst()), (2.5, 7));
    let json = serde_json::to_string(&r).expect("serialize");
    assert_eq!(serde_json::from_str::<Rate>(&json).expect("round trip"), r);
    let err = serde_json::from_str::<Rate>(r#"{"rate": -3, "burst": 7}"#).expect_err("negative");
    assert!(err.to_string().contains("-3"), "{err}");
}
