//! Proleptic Gregorian calendar arithmetic on days since 1970-01-01 (UTC), after Howard
//! Hinnant's `days_from_civil` / `civil_from_days`. Exact for every `i64` day we can produce
//! from a `u64` of milliseconds.

/// `(year, month 1..=12, day 1..=31)` of a day number.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365], from March 1st
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are in small ranges (see above), so the conversions are lossless.
    (year, month as u32, day as u32)
}

/// Day number of `(year, month 1..=12, day 1..=31)`.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400); // [0, 399]
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 }; // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// Day of the week, Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday).
pub(crate) fn weekday_from_monday(days: i64) -> i64 {
    (days + 3).rem_euclid(7)
}

/// Day number of the first day of the month containing `days`.
pub(crate) fn month_start(days: i64) -> i64 {
    let (year, month, _) = civil_from_days(days);
    days_from_civil(year, month, 1)
}

/// Day number of the first day of the month after the one containing `days`.
pub(crate) fn next_month_start(days: i64) -> i64 {
    let (year, month, _) = civil_from_days(days);
    if month == 12 {
        days_from_civil(year + 1, 1, 1)
    } else {
        days_from_civil(year, month + 1, 1)
    }
}
