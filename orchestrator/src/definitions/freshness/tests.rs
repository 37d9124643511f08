//! Freshness verdicts at chosen instants: max lag with and without a warning, cron deadlines in
//! Europe/Paris across the spring-forward night and in America/New_York across the fall-back
//! night, and the instants at which each verdict next changes.

use super::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn h(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}

/// (last materialization, now) → (state, next change).
fn check(policy: &FreshnessPolicy, cases: &[(Option<&str>, &str, FreshnessState, Option<&str>)]) {
    for (last, now, state, next) in cases {
        let got = evaluate(policy, last.map(t), t(now));
        assert_eq!(
            (got.state, got.next_change),
            (*state, next.map(t)),
            "last {last:?}, now {now}: {}",
            got.reason
        );
    }
}

#[test]
fn max_lag_warns_then_fails_and_says_when() {
    use FreshnessState::*;
    let policy = FreshnessPolicy::max_lag(h(7), Some(h(6))).expect("policy");
    check(
        &policy,
        &[
            (None, "2026-03-01T00:00:00Z", Unknown, None),
            (
                Some("2026-03-01T00:00:00Z"),
                "2026-03-01T05:59:59Z",
                Fresh,
                Some("2026-03-01T06:00:00Z"),
            ),
            (
                Some("2026-03-01T00:00:00Z"),
                "2026-03-01T06:00:00Z",
                Warn,
                Some("2026-03-01T07:00:00Z"),
            ),
            (
                Some("2026-03-01T00:00:00Z"),
                "2026-03-01T07:00:00Z",
                Overdue,
                None,
            ),
            // Recovery: a new materialization makes it fresh again.
            (
                Some("2026-03-01T07:30:00Z"),
                "2026-03-01T07:31:00Z",
                Fresh,
                Some("2026-03-01T13:30:00Z"),
            ),
        ],
    );
    let without_warning = FreshnessPolicy::max_lag(h(7), None).expect("policy");
    check(
        &without_warning,
        &[(
            Some("2026-03-01T00:00:00Z"),
            "2026-03-01T06:30:00Z",
            Fresh,
            Some("2026-03-01T07:00:00Z"),
        )],
    );
    let reason = evaluate(
        &policy,
        Some(t("2026-03-01T00:00:00Z")),
        t("2026-03-01T07:30:00Z"),
    );
    assert_eq!(reason.reason, "last materialized 7h 30m ago; allowed 7h");
}

#[test]
fn bad_policies_are_refused() {
    assert_eq!(
        FreshnessPolicy::max_lag(h(6), Some(h(6)))
            .expect_err("warn = fail")
            .to_string(),
        "freshness: warn_lag (21600s) must be shorter than max_lag (21600s)"
    );
    assert!(FreshnessPolicy::max_lag(Duration::ZERO, None).is_err());
    let err = FreshnessPolicy::deadline("0 30 6 * * *", "Mars/Olympus", None).expect_err("tz");
    assert!(
        err.to_string().contains("unknown time zone 'Mars/Olympus'"),
        "{err}"
    );
}

#[test]
fn a_paris_morning_deadline_holds_across_the_spring_forward_night() {
    use FreshnessState::*;
    // By 06:30 Paris time each day, warned from 05:30. Summer time starts 2026-03-29 02:00 CET
    // (01:00Z): 06:30 is 05:30Z on the 28th and 04:30Z on the 29th.
    let policy =
        FreshnessPolicy::deadline("0 30 6 * * *", "Europe/Paris", Some(h(1))).expect("policy");
    check(
        &policy,
        &[
            // Materialized for the 28th's deadline: fresh until an hour before the 29th's.
            (
                Some("2026-03-28T05:00:00Z"),
                "2026-03-28T05:10:00Z",
                Fresh,
                Some("2026-03-29T03:30:00Z"),
            ),
            (
                Some("2026-03-28T05:00:00Z"),
                "2026-03-28T12:00:00Z",
                Fresh,
                Some("2026-03-29T03:30:00Z"),
            ),
            // The 29th's warning and deadline come an hour earlier in UTC.
            (
                Some("2026-03-28T05:00:00Z"),
                "2026-03-29T03:30:00Z",
                Warn,
                Some("2026-03-29T04:30:00Z"),
            ),
            (
                Some("2026-03-28T05:00:00Z"),
                "2026-03-29T04:30:00Z",
                Overdue,
                None,
            ),
            // Materialized late on the 29th: that counts for the 30th's deadline (within the
            // day before it), so nothing changes before an hour before the 31st's.
            (
                Some("2026-03-29T09:00:00Z"),
                "2026-03-29T09:01:00Z",
                Fresh,
                Some("2026-03-31T03:30:00Z"),
            ),
            (
                Some("2026-03-29T09:00:00Z"),
                "2026-03-30T04:31:00Z",
                Fresh,
                Some("2026-03-31T03:30:00Z"),
            ),
        ],
    );
}

#[test]
fn a_new_york_deadline_fires_once_on_the_fall_back_night() {
    use FreshnessState::*;
    // By 01:30 New York time; on 2026-11-01 01:30 happens twice (EDT 05:30Z, then EST 06:30Z):
    // the deadline is the first.
    let policy =
        FreshnessPolicy::deadline("0 30 1 * * *", "America/New_York", None).expect("policy");
    check(
        &policy,
        &[
            (
                Some("2026-10-31T05:00:00Z"),
                "2026-11-01T05:00:00Z",
                Fresh,
                Some("2026-11-01T05:30:00Z"),
            ),
            (
                Some("2026-10-31T05:00:00Z"),
                "2026-11-01T05:30:00Z",
                Overdue,
                None,
            ),
            (
                Some("2026-11-01T05:10:00Z"),
                "2026-11-01T06:45:00Z",
                Fresh,
                Some("2026-11-02T06:30:00Z"),
            ),
        ],
    );
}
