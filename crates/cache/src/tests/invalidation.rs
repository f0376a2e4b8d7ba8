//! Invalidation policy and `Cache-Control: max-age=0` detection.

use crate::{InvalidationOutcome as O, InvalidationPolicy as P, requests_invalidation};

#[test]
fn outcome_for_every_policy_and_input() {
    let cases = [
        (P::FailWith403, false, false, O::NotRequested),
        (P::FailWith403, false, true, O::NotRequested),
        (P::FailWith403, true, true, O::Invalidate),
        (P::FailWith403, true, false, O::Forbidden),
        (P::SucceedWithResponseHeader, true, true, O::Invalidate),
        (
            P::SucceedWithResponseHeader,
            true,
            false,
            O::IgnoreWithHeader,
        ),
        (P::SucceedWithResponseHeader, false, false, O::NotRequested),
        (P::SucceedWithoutResponseHeader, true, true, O::Invalidate),
        (P::SucceedWithoutResponseHeader, true, false, O::Ignore),
        (
            P::SucceedWithoutResponseHeader,
            false,
            true,
            O::NotRequested,
        ),
    ];
    for (policy, requested, authorized, expected) in cases {
        assert_eq!(
            policy.decide(requested, authorized),
            expected,
            "{policy:?} requested={requested} authorized={authorized}"
        );
    }
}

#[test]
fn max_age_zero_requests_invalidation() {
    for yes in [
        &b"max-age=0"[..],
        b"MAX-AGE=0",
        b"no-store, max-age=0",
        b" max-age = 00 ",
        b"max-age=\"0\"",
    ] {
        assert!(
            requests_invalidation(yes),
            "{}",
            String::from_utf8_lossy(yes)
        );
    }
    for no in [
        &b""[..],
        b"max-age=10",
        b"max-age=",
        b"no-cache",
        b"s-maxage=0",
        b"max-age=0x",
        b"xmax-age=0",
    ] {
        assert!(
            !requests_invalidation(no),
            "{}",
            String::from_utf8_lossy(no)
        );
    }
}
