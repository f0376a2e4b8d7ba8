//! Civil-date arithmetic and quota period boundaries (UTC; weeks from Monday).

use super::{FEB_10_2024_NOON, Rng};
use crate::quota::civil::{civil_from_days, days_from_civil, weekday_from_monday};
use crate::{LimitsError, MS_PER_DAY, Period, Quota, QuotaPeriod};

#[test]
fn known_dates_convert_both_ways() {
    // Day numbers from an independent calendar implementation.
    let known = [
        ((1970, 1, 1), 0),
        ((1969, 12, 29), -3),
        ((1900, 3, 1), -25_508),
        ((2000, 3, 1), 11_017),
        ((2024, 2, 5), 19_758),
        ((2024, 2, 29), 19_782),
        ((2024, 3, 1), 19_783),
        ((2025, 1, 1), 20_089),
        ((2100, 3, 1), 47_541),
    ];
    for ((y, m, d), days) in known {
        assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
    }
}

#[test]
fn every_day_round_trips_and_calendar_is_continuous() {
    let mut previous = civil_from_days(-800_000);
    for days in -799_999..800_000 {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), days);
        let next_day = (previous.0, previous.1, previous.2 + 1);
        let next_month = (previous.0, previous.1 + 1, 1);
        let next_year = (previous.0 + 1, 1, 1);
        assert!(
            [next_day, next_month, next_year].contains(&(y, m, d)),
            "{previous:?} -> {:?}",
            (y, m, d)
        );
        previous = (y, m, d);
    }
}

#[test]
fn leap_years_follow_the_gregorian_rules() {
    let feb_len = |y| days_from_civil(y, 3, 1) - days_from_civil(y, 2, 1);
    assert_eq!(feb_len(2024), 29);
    assert_eq!(feb_len(2023), 28);
    assert_eq!(feb_len(2000), 29);
    assert_eq!(feb_len(1900), 28);
    assert_eq!(feb_len(2100), 28);
}

#[test]
fn weeks_start_on_monday() {
    assert_eq!(weekday_from_monday(0), 3, "1970-01-01 was a Thursday");
    assert_eq!(weekday_from_monday(19_758), 0, "2024-02-05 was a Monday");
    assert_eq!(weekday_from_monday(-3), 0, "1969-12-29 was a Monday");
}

fn at(days: i64, ms_into_day: u64) -> u64 {
    u64::try_from(days).expect("after the epoch") * MS_PER_DAY + ms_into_day
}

#[test]
fn day_week_and_month_periods_have_utc_calendar_bounds() {
    let now = FEB_10_2024_NOON; // Saturday, day 19_763
    let day = Period::containing(QuotaPeriod::Day, now);
    assert_eq!((day.start_day, day.end_day()), (19_763, 19_764));
    let week = Period::containing(QuotaPeriod::Week, now);
    assert_eq!((week.start_day, week.end_day()), (19_758, 19_765));
    assert_eq!(week.start_date(), (2024, 2, 5));
    let month = Period::containing(QuotaPeriod::Month, now);
    assert_eq!(month.start_date(), (2024, 2, 1));
    assert_eq!(month.end_day() - month.start_day, 29, "leap February");
    assert_eq!(month.ms_until_end(now), 19 * MS_PER_DAY + MS_PER_DAY / 2);

    // Boundaries: the last millisecond is inside, the next is the next period.
    let last_ms_of_feb = at(19_783, 0) - 1;
    assert_eq!(
        Period::containing(QuotaPeriod::Month, last_ms_of_feb),
        month
    );
    let march = Period::containing(QuotaPeriod::Month, last_ms_of_feb + 1);
    assert_eq!(march.start_date(), (2024, 3, 1));
    let sunday_late = at(19_764, MS_PER_DAY - 1);
    assert_eq!(Period::containing(QuotaPeriod::Week, sunday_late), week);
    assert_eq!(
        Period::containing(QuotaPeriod::Week, sunday_late + 1).start_day,
        19_765
    );
    // The epoch's week started on the Monday before it.
    assert_eq!(Period::containing(QuotaPeriod::Week, 0).start_day, -3);
    assert_eq!(
        Period::containing(QuotaPeriod::Week, 0).start_ms(),
        -3 * 86_400_000
    );
}

#[test]
fn random_instants_fall_inside_their_periods() {
    let mut rng = Rng(42);
    for _ in 0..20_000 {
        let now = rng.below(10_000_000_000_000); // up to the year 2286
        for kind in [QuotaPeriod::Day, QuotaPeriod::Week, QuotaPeriod::Month] {
            let p = Period::containing(kind, now);
            assert!(p.contains(now), "{p:?} {now}");
            let next_start = u64::try_from(p.end_ms()).expect("positive");
            assert_ne!(Period::containing(kind, next_start), p);
            assert_eq!(Period::containing(kind, next_start - 1), p);
            match kind {
                QuotaPeriod::Day => assert_eq!(p.end_day() - p.start_day, 1),
                QuotaPeriod::Week => assert_eq!(weekday_from_monday(p.start_day), 0),
                QuotaPeriod::Month => {
                    assert_eq!(p.start_date().2, 1);
                    assert!((28..=31).contains(&(p.end_day() - p.start_day)));
                }
            }
        }
    }
}

#[test]
fn offset_reduces_only_the_initial_period() {
    let plan_start = FEB_10_2024_NOON;
    let quota = Quota::new(1_000, QuotaPeriod::Month)
        .with_offset(300, plan_start)
        .expect("offset below limit");
    let feb = quota.period_at(plan_start);
    assert_eq!(quota.allowance(feb), 700);
    let march = quota.period_at(plan_start + 30 * MS_PER_DAY);
    assert_eq!(quota.allowance(march), 1_000);
    let err = Quota::new(10, QuotaPeriod::Day)
        .with_offset(11, 0)
        .expect_err("offset above limit");
    assert_eq!(
        err,
        LimitsError::OffsetExceedsLimit {
            limit: 10,
            offset: 11
        }
    );
}

#[test]
fn quotas_serialize_like_api_gateway() {
    let q: Quota = serde_json::from_str(r#"{"limit": 5, "period": "WEEK", "offset": 2}"#)
        .expect("valid quota");
    assert_eq!(
        (q.limit(), q.period(), q.offset(), q.start_ms()),
        (5, QuotaPeriod::Week, 2, 0)
    );
    let back: Quota =
        serde_json::from_str(&serde_json::to_string(&q).expect("serialize")).expect("parse");
    assert_eq!(back, q);
    assert!(
        serde_json::from_str::<Quota>(r#"{"limit": 1, "period": "DAY", "offset": 2}"#).is_err()
    );
    assert!(serde_json::from_str::<Quota>(r#"{"limit": 1, "period": "YEAR"}"#).is_err());
}
