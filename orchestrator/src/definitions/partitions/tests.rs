//! Partition definitions checked against hand-computed windows: DST changes in Europe/Paris
//! (2026-03-29 02:00 CET → 03:00 CEST at 01:00 UTC; 2026-10-25 03:00 CEST → 02:00 CET at 01:00
//! UTC) and America/New_York (2026-03-08 02:00 EST → 03:00 EDT at 07:00 UTC; 2026-11-01 02:00
//! EDT → 01:00 EST at 06:00 UTC), month ends, leap days, key round trips, paging, refusals.

use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

fn def(cadence: Cadence, start: &str, timezone: &str) -> PartitionsDef {
    PartitionsDef::time_window(TimeWindowSpec {
        timezone: timezone.to_owned(),
        ..TimeWindowSpec::new(cadence, start)
    })
    .unwrap_or_else(|e| panic!("{start} in {timezone}: {e}"))
}

const LATER: &str = "2030-01-01T00:00:00Z";

/// Asserts the window of `key` (seen from 2030).
#[track_caller]
fn check_window(d: &PartitionsDef, key: &str, start: &str, end: &str) {
    let window = d
        .at(utc(LATER), &[])
        .time_window(key)
        .unwrap_or_else(|e| panic!("{key}: {e}"));
    assert_eq!(
        window,
        Some(TimeWindow {
            start: utc(start),
            end: utc(end)
        }),
        "window of {key}"
    );
}

#[track_caller]
fn check_unknown(d: &PartitionsDef, key: &str) {
    let got = d.at(utc(LATER), &[]).validate_key(key);
    assert!(
        matches!(got, Err(PartitionsError::UnknownKey { .. })),
        "{key}: {got:?}"
    );
}

/// All keys at `now`, through pages of `limit`.
fn all_keys(d: &PartitionsDef, now: &str, limit: usize) -> Vec<String> {
    let keys = d.at(utc(now), &[]);
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = keys.page(after.as_deref(), limit).expect("page");
        assert!(page.keys.len() <= limit);
        out.extend(page.keys);
        match page.next {
            Some(next) => after = Some(next),
            None => return out,
        }
    }
}

#[test]
fn daily_keys_are_the_complete_days_up_to_now() {
    let d = def(Cadence::Daily, "2026-01-01", "UTC");
    assert_eq!(
        all_keys(&d, "2026-01-04T05:00:00Z", 2),
        ["2026-01-01", "2026-01-02", "2026-01-03"]
    );
    // At exactly midnight the day before is complete.
    assert_eq!(
        all_keys(&d, "2026-01-03T00:00:00Z", 10),
        ["2026-01-01", "2026-01-02"]
    );
    assert!(all_keys(&d, "2025-12-31T12:00:00Z", 10).is_empty());
    assert!(all_keys(&d, "2026-01-01T12:00:00Z", 10).is_empty());
}

#[test]
fn end_offset_adds_or_removes_windows_at_the_end() {
    let with_offset = |end_offset| {
        PartitionsDef::time_window(TimeWindowSpec {
            end_offset,
            ..TimeWindowSpec::new(Cadence::Daily, "2026-01-01")
        })
        .expect("def")
    };
    let now = "2026-01-04T05:00:00Z";
    assert_eq!(
        all_keys(&with_offset(1), now, 10),
        ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]
    );
    assert_eq!(
        all_keys(&with_offset(-1), now, 10),
        ["2026-01-01", "2026-01-02"]
    );
    assert!(all_keys(&with_offset(-5), now, 10).is_empty());
}

#[test]
fn an_end_stops_the_windows_whatever_now_is() {
    let d = PartitionsDef::time_window(TimeWindowSpec {
        end: Some("2026-01-03".to_owned()),
        ..TimeWindowSpec::new(Cadence::Daily, "2026-01-01")
    })
    .expect("def");
    assert_eq!(all_keys(&d, LATER, 10), ["2026-01-01", "2026-01-02"]);
    check_unknown(&d, "2026-01-03");
    let reversed = PartitionsDef::time_window(TimeWindowSpec {
        end: Some("2025-01-03".to_owned()),
        ..TimeWindowSpec::new(Cadence::Daily, "2026-01-01")
    });
    assert!(matches!(reversed, Err(PartitionsError::Bound { .. })));
}

#[test]
fn daily_windows_across_dst_are_23_and_25_hours_long() {
    let paris = def(Cadence::Daily, "2026-01-01", "Europe/Paris");
    check_window(
        &paris,
        "2026-03-28",
        "2026-03-27T23:00:00Z",
        "2026-03-28T23:00:00Z",
    );
    check_window(
        &paris,
        "2026-03-29",
        "2026-03-28T23:00:00Z",
        "2026-03-29T22:00:00Z",
    );
    check_window(
        &paris,
        "2026-10-25",
        "2026-10-24T22:00:00Z",
        "2026-10-25T23:00:00Z",
    );
    let new_york = def(Cadence::Daily, "2026-01-01", "America/New_York");
    check_window(
        &new_york,
        "2026-03-08",
        "2026-03-08T05:00:00Z",
        "2026-03-09T04:00:00Z",
    );
    check_window(
        &new_york,
        "2026-11-01",
        "2026-11-01T04:00:00Z",
        "2026-11-02T05:00:00Z",
    );
}

#[test]
fn hourly_windows_skip_the_missing_hour_and_merge_the_repeated_one() {
    let paris = def(Cadence::Hourly, "2026-01-01", "Europe/Paris");
    // Spring: 02:00 does not exist; 01:00 is followed by 03:00.
    check_window(
        &paris,
        "2026-03-29-01:00",
        "2026-03-29T00:00:00Z",
        "2026-03-29T01:00:00Z",
    );
    check_unknown(&paris, "2026-03-29-02:00");
    check_window(
        &paris,
        "2026-03-29-03:00",
        "2026-03-29T01:00:00Z",
        "2026-03-29T02:00:00Z",
    );
    // Autumn: 02:00 happens twice (CEST then CET): one two-hour window.
    check_window(
        &paris,
        "2026-10-25-02:00",
        "2026-10-25T00:00:00Z",
        "2026-10-25T02:00:00Z",
    );
    check_window(
        &paris,
        "2026-10-25-03:00",
        "2026-10-25T02:00:00Z",
        "2026-10-25T03:00:00Z",
    );
    let keys = paris.at(utc("2026-10-25T04:00:00Z"), &[]);
    let page = keys
        .page(Some("2026-10-25-00:00"), 10)
        .expect("page after midnight");
    assert_eq!(
        page.keys,
        [
            "2026-10-25-01:00",
            "2026-10-25-02:00",
            "2026-10-25-03:00",
            "2026-10-25-04:00"
        ]
    );
    assert_eq!(page.next, None);

    let new_york = def(Cadence::Hourly, "2026-01-01", "America/New_York");
    check_window(
        &new_york,
        "2026-03-08-01:00",
        "2026-03-08T06:00:00Z",
        "2026-03-08T07:00:00Z",
    );
    check_unknown(&new_york, "2026-03-08-02:00");
    check_window(
        &new_york,
        "2026-03-08-03:00",
        "2026-03-08T07:00:00Z",
        "2026-03-08T08:00:00Z",
    );
    check_window(
        &new_york,
        "2026-11-01-01:00",
        "2026-11-01T05:00:00Z",
        "2026-11-01T07:00:00Z",
    );
    check_window(
        &new_york,
        "2026-11-01-02:00",
        "2026-11-01T07:00:00Z",
        "2026-11-01T08:00:00Z",
    );
}

#[test]
fn monthly_and_weekly_windows_follow_the_calendar() {
    let monthly = def(Cadence::Monthly, "2026-01-01", "UTC");
    check_window(
        &monthly,
        "2026-01-01",
        "2026-01-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
    );
    check_window(
        &monthly,
        "2026-02-01",
        "2026-02-01T00:00:00Z",
        "2026-03-01T00:00:00Z",
    );
    check_window(
        &monthly,
        "2028-02-01",
        "2028-02-01T00:00:00Z",
        "2028-03-01T00:00:00Z",
    );
    check_window(
        &monthly,
        "2026-12-01",
        "2026-12-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
    );
    check_unknown(&monthly, "2026-01-31");
    check_unknown(&monthly, "2025-12-01");
    // 2026-01-01 is a Thursday: the first week starts on Sunday the 4th.
    let weekly = def(Cadence::Weekly, "2026-01-01", "UTC");
    assert_eq!(
        all_keys(&weekly, "2026-01-20T00:00:00Z", 10),
        ["2026-01-04", "2026-01-11"]
    );
    check_window(
        &weekly,
        "2026-01-04",
        "2026-01-04T00:00:00Z",
        "2026-01-11T00:00:00Z",
    );
    check_unknown(&weekly, "2026-01-05");
}

#[test]
fn leap_days_exist_only_in_leap_years() {
    let daily = def(Cadence::Daily, "2026-01-01", "UTC");
    check_window(
        &daily,
        "2028-02-29",
        "2028-02-29T00:00:00Z",
        "2028-03-01T00:00:00Z",
    );
    check_unknown(&daily, "2026-02-29");
    check_unknown(&daily, "2026-02-30");
    let feb: Vec<_> = daily
        .at(utc("2028-03-02T00:00:00Z"), &[])
        .page(Some("2028-02-27"), 3)
        .expect("page")
        .keys;
    assert_eq!(feb, ["2028-02-28", "2028-02-29", "2028-03-01"]);
}

#[test]
fn keys_in_other_spellings_are_refused() {
    let daily = def(Cadence::Daily, "2026-01-01", "UTC");
    for key in [
        "2026-1-05",
        "2026-01-05T00:00",
        " 2026-01-05",
        "2026-01-05-00:00",
        "",
    ] {
        check_unknown(&daily, key);
    }
    let hourly = def(Cadence::Hourly, "2026-01-01", "UTC");
    for key in ["2026-01-05", "2026-01-05-10:30", "2026-01-05-1:00"] {
        check_unknown(&hourly, key);
    }
}

#[test]
fn every_listed_key_round_trips_and_windows_tile() {
    for (cadence, start, timezone, now) in [
        (
            Cadence::Hourly,
            "2026-10-20",
            "Europe/Paris",
            "2026-11-02T00:00:00Z",
        ),
        (
            Cadence::Hourly,
            "2026-03-01",
            "America/New_York",
            "2026-03-15T00:00:00Z",
        ),
        (
            Cadence::Daily,
            "2025-12-01",
            "America/New_York",
            "2027-01-15T00:00:00Z",
        ),
        (
            Cadence::Weekly,
            "2026-01-01",
            "Europe/Paris",
            "2027-01-01T00:00:00Z",
        ),
        (
            Cadence::Monthly,
            "2024-01-01",
            "Europe/Paris",
            "2029-01-01T00:00:00Z",
        ),
    ] {
        let d = def(cadence.clone(), start, timezone);
        let keys = all_keys(&d, now, 97);
        assert!(keys.len() > 10, "{cadence:?}: {}", keys.len());
        let at = d.at(utc(now), &[]);
        let windows: Vec<TimeWindow> = keys
            .iter()
            .map(|k| {
                at.time_window(k)
                    .unwrap_or_else(|e| panic!("{k}: {e}"))
                    .unwrap_or_else(|| panic!("{k}: no window"))
            })
            .collect();
        for (pair, key) in windows.windows(2).zip(&keys) {
            assert_eq!(
                pair[0].end, pair[1].start,
                "{cadence:?}: {key} then the next"
            );
            assert!(pair[0].start < pair[0].end, "{cadence:?}: {key} is empty");
        }
        assert!(
            windows.last().is_some_and(|w| w.end <= utc(now)),
            "{cadence:?}: the last window is complete"
        );
    }
}

#[test]
fn paging_starts_at_the_after_key_without_walking_from_the_start() {
    // About 265 000 hourly keys: a page deep inside must cost a page, not the whole list.
    let d = def(Cadence::Hourly, "2000-01-01", "Europe/Paris");
    let at = d.at(utc("2030-04-01T00:00:00+02:00"), &[]);
    let started = std::time::Instant::now();
    let page = at.page(Some("2029-06-01-23:00"), 2).expect("page");
    assert_eq!(page.keys, ["2029-06-02-00:00", "2029-06-02-01:00"]);
    assert_eq!(page.next.as_deref(), Some("2029-06-02-01:00"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(
        at.span().ends_with("2000-01-01-00:00 … 2030-03-31-23:00"),
        "{}",
        at.span()
    );
}

#[test]
fn cron_partitions_use_minute_keys_and_refuse_sub_minute_expressions() {
    let d = def(
        Cadence::Cron("0 30 6 * * *".to_owned()),
        "2026-03-27",
        "Europe/Paris",
    );
    check_window(
        &d,
        "2026-03-28-06:30",
        "2026-03-28T05:30:00Z",
        "2026-03-29T04:30:00Z",
    );
    check_unknown(&d, "2026-03-28-06:00");
    let fast = PartitionsDef::time_window(TimeWindowSpec::new(
        Cadence::Cron("*/10 * * * * *".to_owned()),
        "2026-01-01",
    ));
    assert!(matches!(fast, Err(PartitionsError::SubMinuteCron { .. })));
    let five = PartitionsDef::time_window(TimeWindowSpec::new(
        Cadence::Cron("0 6 * * *".to_owned()),
        "2026-01-01",
    ));
    assert!(matches!(five, Err(PartitionsError::Cron(_))), "{five:?}");
    let zone = PartitionsDef::daily("2026-01-01", "Mars/Olympus");
    assert!(matches!(
        zone,
        Err(PartitionsError::Cron(CronError::TimeZone(_)))
    ));
}

#[test]
fn ranges_are_validated_with_the_span_in_the_refusal() {
    let d = def(Cadence::Daily, "2026-01-01", "UTC");
    let at = d.at(utc("2026-01-04T05:00:00Z"), &[]);
    let scope = at
        .validate_range("2026-01-01", "2026-01-03")
        .expect("range");
    assert_eq!(scope.key, None);
    assert_eq!(
        scope.time_window,
        Some(TimeWindow {
            start: utc("2026-01-01T00:00:00Z"),
            end: utc("2026-01-04T00:00:00Z")
        })
    );
    let single = at
        .validate_range("2026-01-02", "2026-01-02")
        .expect("one key");
    assert_eq!(single.key.as_deref(), Some("2026-01-02"));

    let reversed = at.validate_range("2026-01-03", "2026-01-01").unwrap_err();
    assert!(matches!(reversed, PartitionsError::ReversedRange { .. }));
    let future = at.validate_range("2026-01-01", "2026-01-04").unwrap_err();
    assert_eq!(
        future.to_string(),
        "unknown partition key '2026-01-04'; valid keys: daily partitions in UTC: \
         2026-01-01 … 2026-01-03"
    );
    let empty = at.validate_range("", "2026-01-02").unwrap_err();
    assert!(matches!(empty, PartitionsError::EmptyRange { .. }));
    assert!(
        empty.to_string().contains("2026-01-01 … 2026-01-03"),
        "{empty}"
    );

    let none_yet = d.at(utc("2025-06-01T00:00:00Z"), &[]);
    let refused = none_yet.validate_key("2026-01-01").unwrap_err();
    assert!(refused.to_string().contains("none yet"), "{refused}");
}

#[test]
fn static_keys_keep_their_order_and_refuse_bad_keys() {
    let d = PartitionsDef::static_keys(&["eu", "us", "apac"]).expect("static");
    let at = d.at(utc(LATER), &[]);
    assert_eq!(all_keys(&d, LATER, 2), ["eu", "us", "apac"]);
    assert_eq!(at.validate_key("us").expect("us").time_window, None);
    assert!(at.validate_range("eu", "apac").is_ok());
    let reversed = at.validate_range("apac", "eu").unwrap_err();
    assert!(
        reversed
            .to_string()
            .contains("static partitions eu, us, apac")
    );
    let unknown = at.validate_key("mars").unwrap_err();
    assert!(matches!(unknown, PartitionsError::UnknownKey { .. }));
    assert!(at.page(Some("mars"), 1).is_err());

    for bad in [&["eu", "eu"][..], &["a,b"], &[""], &[" eu"]] {
        assert!(
            matches!(
                PartitionsDef::static_keys(bad),
                Err(PartitionsError::StaticKey { .. })
            ),
            "{bad:?}"
        );
    }
    let none: [&str; 0] = [];
    assert_eq!(
        PartitionsDef::static_keys(&none),
        Err(PartitionsError::NoStaticKeys)
    );
}

#[test]
fn dynamic_keys_come_from_the_caller() {
    let d = PartitionsDef::dynamic("customers").expect("dynamic");
    assert_eq!(d.dynamic_name(), Some("customers"));
    let stored: Vec<String> = ["acme", "globex", "initech"].map(String::from).to_vec();
    let at = d.at(utc(LATER), &stored);
    assert_eq!(
        at.page(Some("acme"), 5).expect("page").keys,
        ["globex", "initech"]
    );
    assert!(at.validate_range("acme", "initech").is_ok());
    assert!(at.validate_range("initech", "acme").is_err());
    let empty = d.at(utc(LATER), &[]).validate_key("acme").unwrap_err();
    assert!(empty.to_string().contains("none added yet"), "{empty}");
    assert!(PartitionsDef::dynamic("no spaces").is_err());
}
