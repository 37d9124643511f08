//! Tick arithmetic, checked against hand-computed instants: UTC, seconds-level expressions, a
//! non-UTC zone, and both DST transitions of Europe/Paris (2026-03-29 02:00 CET → 03:00 CEST at
//! 01:00 UTC; 2026-10-25 03:00 CEST → 02:00 CET at 01:00 UTC).

use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

fn cron(expression: &str, timezone: &str) -> Cron {
    Cron::parse(expression, timezone).unwrap_or_else(|e| panic!("{expression}: {e}"))
}

/// Asserts the ticks of `expression` in `timezone` over (`after`, `upto`].
#[track_caller]
fn check_ticks(expression: &str, timezone: &str, after: &str, upto: &str, expected: &[&str]) {
    let got: Vec<DateTime<Utc>> = cron(expression, timezone)
        .ticks_between(utc(after), utc(upto))
        .collect();
    let expected: Vec<DateTime<Utc>> = expected.iter().map(|s| utc(s)).collect();
    assert_eq!(
        got, expected,
        "'{expression}' in {timezone} over ({after}, {upto}]"
    );
}

/// Asserts the first tick after `after`.
#[track_caller]
fn check_next(expression: &str, timezone: &str, after: &str, expected: &str) {
    assert_eq!(
        cron(expression, timezone).next_after(utc(after)),
        Some(utc(expected)),
        "'{expression}' in {timezone} after {after}"
    );
}

#[test]
fn next_tick_is_strictly_after_the_given_instant() {
    check_next(
        "0 0 * * * *",
        "UTC",
        "2026-05-01T10:00:00Z",
        "2026-05-01T11:00:00Z",
    );
    check_next(
        "0 0 * * * *",
        "UTC",
        "2026-05-01T10:59:59.999Z",
        "2026-05-01T11:00:00Z",
    );
    check_next(
        "0 0 * * * *",
        "UTC",
        "2026-05-01T09:59:59Z",
        "2026-05-01T10:00:00Z",
    );
    check_next(
        "@daily",
        "UTC",
        "2026-05-01T00:00:00Z",
        "2026-05-02T00:00:00Z",
    );
}

#[test]
fn seconds_level_expressions_tick_every_few_seconds() {
    check_ticks(
        "*/5 * * * * *",
        "UTC",
        "2026-05-01T10:00:00Z",
        "2026-05-01T10:00:20Z",
        &[
            "2026-05-01T10:00:05Z",
            "2026-05-01T10:00:10Z",
            "2026-05-01T10:00:15Z",
            "2026-05-01T10:00:20Z",
        ],
    );
    check_ticks(
        "* * * * * *",
        "UTC",
        "2026-05-01T10:00:00.5Z",
        "2026-05-01T10:00:02Z",
        &["2026-05-01T10:00:01Z", "2026-05-01T10:00:02Z"],
    );
}

#[test]
fn a_non_utc_zone_moves_the_instant_with_summer_time() {
    // 09:00 on weekdays in New York: 13:00 UTC in summer (EDT), 14:00 UTC in winter (EST).
    check_next(
        "0 0 9 * * MON-FRI",
        "America/New_York",
        "2026-07-03T14:00:00Z",
        "2026-07-06T13:00:00Z",
    );
    check_next(
        "0 0 9 * * MON-FRI",
        "America/New_York",
        "2026-12-01T00:00:00Z",
        "2026-12-01T14:00:00Z",
    );
    check_next(
        "0 30 18 * * *",
        "Asia/Kolkata",
        "2026-01-01T00:00:00Z",
        "2026-01-01T13:00:00Z",
    );
}

#[test]
fn a_daily_time_inside_the_spring_gap_fires_when_the_gap_ends() {
    check_ticks(
        "0 30 2 * * *",
        "Europe/Paris",
        "2026-03-27T12:00:00Z",
        "2026-03-30T12:00:00Z",
        &[
            "2026-03-28T01:30:00Z", // 02:30 CET
            "2026-03-29T01:00:00Z", // 02:30 does not exist: 03:00 CEST
            "2026-03-30T00:30:00Z", // 02:30 CEST
        ],
    );
}

#[test]
fn hourly_and_quarter_hourly_schedules_run_on_through_the_spring_gap() {
    check_ticks(
        "0 0 * * * *",
        "Europe/Paris",
        "2026-03-28T23:30:00Z",
        "2026-03-29T02:30:00Z",
        &[
            "2026-03-29T00:00:00Z", // 01:00 CET
            "2026-03-29T01:00:00Z", // 03:00 CEST (02:00 does not exist and merges into it)
            "2026-03-29T02:00:00Z", // 04:00 CEST
        ],
    );
    check_ticks(
        "0 */15 * * * *",
        "Europe/Paris",
        "2026-03-29T00:40:00Z",
        "2026-03-29T01:20:00Z",
        &[
            "2026-03-29T00:45:00Z", // 01:45 CET
            "2026-03-29T01:00:00Z", // 02:00–02:45 do not exist; 03:00 CEST
            "2026-03-29T01:15:00Z", // 03:15 CEST
        ],
    );
}

#[test]
fn a_daily_time_that_occurs_twice_in_autumn_fires_once() {
    check_ticks(
        "0 30 2 * * *",
        "Europe/Paris",
        "2026-10-23T12:00:00Z",
        "2026-10-26T12:00:00Z",
        &[
            "2026-10-24T00:30:00Z", // 02:30 CEST
            "2026-10-25T00:30:00Z", // first 02:30 (CEST); not again at 02:30 CET
            "2026-10-26T01:30:00Z", // 02:30 CET
        ],
    );
}

#[test]
fn an_hourly_schedule_fires_every_hour_through_the_autumn_fold() {
    check_ticks(
        "0 0 * * * *",
        "Europe/Paris",
        "2026-10-24T22:30:00Z",
        "2026-10-25T03:30:00Z",
        &[
            "2026-10-24T23:00:00Z", // 01:00 CEST
            "2026-10-25T00:00:00Z", // 02:00 CEST
            "2026-10-25T01:00:00Z", // 02:00 CET
            "2026-10-25T02:00:00Z", // 03:00 CET
            "2026-10-25T03:00:00Z", // 04:00 CET
        ],
    );
    // From inside the fold, the second 02:00 comes before any later wall-clock time.
    check_next(
        "0 0 * * * *",
        "Europe/Paris",
        "2026-10-25T00:30:00Z",
        "2026-10-25T01:00:00Z",
    );
    check_next(
        "0 0 * * * *",
        "Europe/Paris",
        "2026-10-25T01:10:00Z",
        "2026-10-25T02:00:00Z",
    );
    check_next(
        "0 30 2 * * *",
        "Europe/Paris",
        "2026-10-25T00:40:00Z",
        "2026-10-26T01:30:00Z",
    );
}

#[test]
fn latest_ticks_keep_the_newest_and_count_the_rest() {
    let every_second = cron("* * * * * *", "UTC");
    let latest =
        every_second.latest_ticks(utc("2026-05-01T10:00:00Z"), utc("2026-05-01T11:00:00Z"), 3);
    assert_eq!(
        latest.ticks,
        [
            utc("2026-05-01T10:59:58Z"),
            utc("2026-05-01T10:59:59Z"),
            utc("2026-05-01T11:00:00Z")
        ]
    );
    assert_eq!(latest.older, TickCount::Exact(3597));

    let few =
        every_second.latest_ticks(utc("2026-05-01T10:00:00Z"), utc("2026-05-01T10:00:02Z"), 5);
    assert_eq!(few.ticks.len(), 2);
    assert_eq!(few.older, TickCount::Exact(0));

    let none =
        every_second.latest_ticks(utc("2026-05-01T10:00:00Z"), utc("2026-05-01T10:00:00Z"), 5);
    assert_eq!((none.ticks.len(), none.older), (0, TickCount::Exact(0)));
}

#[test]
fn latest_ticks_after_a_very_long_downtime_stop_counting() {
    let every_second = cron("* * * * * *", "UTC");
    let latest = every_second.latest_ticks(
        utc("2025-05-01T00:00:00Z"),
        utc("2026-05-01T00:00:00Z"),
        1000,
    );
    assert_eq!(latest.ticks.len(), 1000);
    assert_eq!(latest.ticks.last(), Some(&utc("2026-05-01T00:00:00Z")));
    assert!(
        matches!(latest.older, TickCount::AtLeast(n) if n >= COUNT_BUDGET),
        "{:?}",
        latest.older
    );
}

#[test]
fn latest_ticks_across_the_spring_gap_match_the_full_list() {
    let quarter = cron("0 */15 * * * *", "Europe/Paris");
    let (after, upto) = (utc("2026-03-28T20:00:00Z"), utc("2026-03-29T03:00:00Z"));
    let all: Vec<_> = quarter.ticks_between(after, upto).collect();
    for keep in [1, 4, 10, all.len(), all.len() + 3] {
        let latest = quarter.latest_ticks(after, upto, keep);
        let cut = all.len().saturating_sub(keep);
        assert_eq!(latest.ticks, all[cut..], "keep {keep}");
        assert_eq!(latest.older, TickCount::Exact(cut as u64), "keep {keep}");
    }
}

#[test]
fn bad_expressions_and_zones_are_refused_with_the_reason() {
    let five = Cron::parse("0 * * * *", "UTC").unwrap_err().to_string();
    assert!(
        five.contains("invalid cron expression '0 * * * *'") && five.contains("start with seconds"),
        "{five}"
    );
    let junk = Cron::parse("every hour", "UTC").unwrap_err().to_string();
    assert!(
        junk.starts_with("invalid cron expression 'every hour': "),
        "{junk}"
    );
    let range = Cron::parse("0 0 25 * * *", "UTC").unwrap_err();
    assert!(matches!(range, CronError::Expression { .. }), "{range}");
    let zone = Cron::parse("0 0 * * * *", "Mars/Olympus")
        .unwrap_err()
        .to_string();
    assert_eq!(
        zone,
        "unknown time zone 'Mars/Olympus' (use an IANA name such as 'UTC' or 'Europe/Paris')"
    );
}

#[test]
fn an_expression_that_never_fires_again_has_no_next_tick() {
    let past = cron("0 0 0 1 1 * 2020", "UTC");
    assert_eq!(past.next_after(utc("2026-01-01T00:00:00Z")), None);
    assert_eq!(
        past.ticks_between(utc("2026-01-01T00:00:00Z"), utc("2027-01-01T00:00:00Z"))
            .count(),
        0
    );
}
