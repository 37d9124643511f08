//! Partition-aware freshness of a time-partitioned asset: the asset is fresh when its latest
//! closed partition (the last complete time window at `now`) is materialized — within the lag
//! after the window closed, or by the first deadline tick after it closed. An overdue verdict
//! names the missing partition. Pure and clock-free like `evaluate`; not yet wired into the
//! freshness daemon (which still judges the latest materialization of any partition).

use chrono::{DateTime, Utc};

use super::{Freshness, FreshnessPolicy, FreshnessState, delta, human, latest_two};
use crate::definitions::PartitionsDef;

/// The latest closed partition at `now`: its key and the end of its window; `None` for a
/// definition without time windows, or before the first window closed.
pub fn latest_closed(
    partitions: &PartitionsDef,
    now: DateTime<Utc>,
) -> Option<(String, DateTime<Utc>)> {
    let keys = partitions.at(now, &[]);
    let key = keys.last_key()?;
    let window = keys.time_window(&key).ok()??;
    Some((key, window.end))
}

/// The freshness of a time-partitioned asset at `now`: `latest` is its latest closed partition
/// (key, window end) and `materialized` whether that partition is materialized.
pub fn evaluate_partitioned(
    policy: &FreshnessPolicy,
    latest: Option<(&str, DateTime<Utc>)>,
    materialized: bool,
    now: DateTime<Utc>,
) -> Freshness {
    let Some((key, closed_at)) = latest else {
        return Freshness {
            state: FreshnessState::Unknown,
            reason: "no partition has closed yet".to_owned(),
            next_change: None,
        };
    };
    if materialized {
        return Freshness {
            state: FreshnessState::Fresh,
            reason: format!("latest closed partition {key} is materialized"),
            next_change: None,
        };
    }
    let missing = format!(
        "partition {key} not materialized; its window closed {} ago",
        human(now - closed_at)
    );
    match policy {
        FreshnessPolicy::MaxLag { fail, warn } => {
            let fail_at = closed_at + delta(*fail);
            let allowed = format!("allowed {}", human(delta(*fail)));
            if now >= fail_at {
                return Freshness {
                    state: FreshnessState::Overdue,
                    reason: format!("{missing}; {allowed}"),
                    next_change: None,
                };
            }
            match warn.map(|w| closed_at + delta(w)) {
                Some(warn_at) if now >= warn_at => Freshness {
                    state: FreshnessState::Warn,
                    reason: format!("{missing}; {allowed}"),
                    next_change: Some(fail_at),
                },
                warn_at => Freshness {
                    state: FreshnessState::Fresh,
                    reason: format!("{missing}; {allowed}"),
                    next_change: Some(warn_at.unwrap_or(fail_at)),
                },
            }
        }
        FreshnessPolicy::Deadline { cron, .. } => {
            // Due by the first deadline tick after its window closed.
            let (_, tick) = latest_two(cron, now);
            match tick.filter(|t| *t >= closed_at) {
                Some(due) => Freshness {
                    state: FreshnessState::Overdue,
                    reason: format!("{missing}; due by {}", due.to_rfc3339()),
                    next_change: None,
                },
                None => Freshness {
                    state: FreshnessState::Fresh,
                    reason: missing,
                    next_change: None,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn the_latest_closed_daily_partition_across_a_dst_change() {
        let daily = PartitionsDef::daily("2026-03-01", "Europe/Paris").unwrap();
        // 2026-03-29 is 23 hours long in Paris (02:00 → 03:00).
        let (key, end) = latest_closed(&daily, at("2026-03-30T00:30:00+02:00")).unwrap();
        assert_eq!(key, "2026-03-29");
        assert_eq!(end, at("2026-03-30T00:00:00+02:00"));
        let (key, end) = latest_closed(&daily, at("2026-03-29T23:59:00+02:00")).unwrap();
        assert_eq!(key, "2026-03-28");
        assert_eq!(end, at("2026-03-29T00:00:00+01:00"));
        assert_eq!(latest_closed(&daily, at("2026-03-01T12:00:00+01:00")), None);
    }

    #[test]
    fn a_missing_latest_partition_warns_then_fails_naming_it() {
        let policy = FreshnessPolicy::max_lag(
            Duration::from_secs(7 * 3600),
            Some(Duration::from_secs(6 * 3600)),
        )
        .unwrap();
        let daily = PartitionsDef::daily("2026-03-01", "Europe/Paris").unwrap();
        let verdict = |now: &str, materialized: bool| {
            let now = at(now);
            let latest = latest_closed(&daily, now);
            evaluate_partitioned(
                &policy,
                latest.as_ref().map(|(k, e)| (k.as_str(), *e)),
                materialized,
                now,
            )
        };
        // The window of 2026-03-29 closed at midnight Paris, summer time (22:00 UTC).
        let fresh = verdict("2026-03-30T05:00:00+02:00", false);
        assert_eq!(fresh.state, FreshnessState::Fresh);
        assert_eq!(fresh.next_change, Some(at("2026-03-30T06:00:00+02:00")));
        let warn = verdict("2026-03-30T06:30:00+02:00", false);
        assert_eq!(warn.state, FreshnessState::Warn);
        let overdue = verdict("2026-03-30T07:00:00+02:00", false);
        assert_eq!(overdue.state, FreshnessState::Overdue);
        assert!(
            overdue
                .reason
                .contains("partition 2026-03-29 not materialized"),
            "{}",
            overdue.reason
        );
        assert_eq!(
            verdict("2026-03-30T07:00:00+02:00", true).state,
            FreshnessState::Fresh
        );
    }

    #[test]
    fn a_deadline_needs_the_partition_closed_before_it() {
        let policy = FreshnessPolicy::deadline("0 30 6 * * *", "Europe/Paris", None).unwrap();
        let daily = PartitionsDef::daily("2026-03-01", "Europe/Paris").unwrap();
        let verdict = |now: &str| {
            let now = at(now);
            let latest = latest_closed(&daily, now);
            evaluate_partitioned(
                &policy,
                latest.as_ref().map(|(k, e)| (k.as_str(), *e)),
                false,
                now,
            )
        };
        assert_eq!(
            verdict("2026-03-30T06:00:00+02:00").state,
            FreshnessState::Fresh
        );
        let overdue = verdict("2026-03-30T06:31:00+02:00");
        assert_eq!(overdue.state, FreshnessState::Overdue);
        assert!(
            overdue.reason.contains("partition 2026-03-29"),
            "{}",
            overdue.reason
        );
    }
}
