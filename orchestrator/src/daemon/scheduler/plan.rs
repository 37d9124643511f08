//! What to do with the ticks of one schedule that fell due since its cursor: pure, so the
//! catch-up rules are tested without a clock or a database.
//!
//! A tick found more than the grace period after its time is *missed* (the scheduler was down or
//! the schedule was just resumed). Ticks on time are launched. Missed ones follow the schedule's
//! [`CatchUp`] policy: `Skip` records them all as SKIPPED; `Latest` launches the latest one (only
//! when no tick on time follows it, which would make it redundant) and skips the others. After a
//! long downtime only the latest `max_skipped` skipped ticks are recorded; the rest are counted.

use chrono::{DateTime, TimeDelta, Utc};

use crate::definitions::CatchUp;
use crate::definitions::cron::{Cron, LatestTicks, TickCount};

/// The ticks of one pass over one schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickPlan {
    /// To record as SKIPPED, oldest first.
    pub skip: Vec<DateTime<Utc>>,
    /// To launch (or record as FAILURE), oldest first.
    pub launch: Vec<DateTime<Utc>>,
    /// Missed ticks older than those, recorded nowhere.
    pub unrecorded: TickCount,
    /// The latest tick handled: the schedule's next cursor.
    pub last: Option<DateTime<Utc>>,
}

/// The rules a plan follows.
#[derive(Debug, Clone, Copy)]
pub struct PlanRules {
    pub catch_up: CatchUp,
    pub grace: TimeDelta,
    pub max_skipped: usize,
}

/// Plans the ticks in (`cursor`, `now`].
pub fn plan(cron: &Cron, rules: PlanRules, cursor: DateTime<Utc>, now: DateTime<Utc>) -> TickPlan {
    let cutoff = now - rules.grace;
    let on_time: Vec<_> = cron.ticks_between(cursor.max(cutoff), now).collect();
    // One more than can be skipped, so `Latest` still has `max_skipped` to skip beside the one
    // it launches.
    let mut missed = if cursor < cutoff {
        cron.latest_ticks(cursor, cutoff, rules.max_skipped.saturating_add(1))
    } else {
        LatestTicks {
            ticks: Vec::new(),
            older: TickCount::Exact(0),
        }
    };
    let last = on_time.last().or(missed.ticks.last()).copied();
    let mut launch = on_time;
    if rules.catch_up == CatchUp::Latest
        && launch.is_empty()
        && let Some(latest) = missed.ticks.pop()
    {
        launch.push(latest);
    }
    let extra = missed.ticks.len().saturating_sub(rules.max_skipped);
    let skip = missed.ticks.split_off(extra);
    TickPlan {
        skip,
        launch,
        unrecorded: missed.older.plus(extra as u64),
        last,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn times(list: &[&str]) -> Vec<DateTime<Utc>> {
        list.iter().map(|s| utc(s)).collect()
    }

    const HOURLY: &str = "0 0 * * * *";

    /// Plans an hourly UTC schedule with a 60 s grace and at most 3 skipped ticks.
    #[track_caller]
    fn check(
        catch_up: CatchUp,
        cursor: &str,
        now: &str,
        skip: &[&str],
        launch: &[&str],
        rest: u64,
    ) {
        let cron = Cron::parse(HOURLY, "UTC").unwrap();
        let rules = PlanRules {
            catch_up,
            grace: TimeDelta::seconds(60),
            max_skipped: 3,
        };
        let got = plan(&cron, rules, utc(cursor), utc(now));
        assert_eq!(got.skip, times(skip), "skip");
        assert_eq!(got.launch, times(launch), "launch");
        assert_eq!(got.unrecorded, TickCount::Exact(rest), "unrecorded");
        let last = got.skip.iter().chain(&got.launch).max().copied();
        assert_eq!(got.last, last, "last");
    }

    #[test]
    fn a_tick_on_time_is_launched_whatever_the_policy() {
        for policy in [CatchUp::Skip, CatchUp::Latest] {
            check(
                policy,
                "2026-05-01T09:00:00Z",
                "2026-05-01T10:00:00.2Z",
                &[],
                &["2026-05-01T10:00:00Z"],
                0,
            );
            check(
                policy,
                "2026-05-01T09:00:00Z",
                "2026-05-01T10:00:59Z",
                &[],
                &["2026-05-01T10:00:00Z"],
                0,
            );
            check(
                policy,
                "2026-05-01T10:00:00Z",
                "2026-05-01T10:30:00Z",
                &[],
                &[],
                0,
            );
        }
    }

    #[test]
    fn skip_records_missed_ticks_and_launches_only_those_on_time() {
        check(
            CatchUp::Skip,
            "2026-05-01T07:00:00Z",
            "2026-05-01T10:00:10Z",
            &["2026-05-01T08:00:00Z", "2026-05-01T09:00:00Z"],
            &["2026-05-01T10:00:00Z"],
            0,
        );
        check(
            CatchUp::Skip,
            "2026-05-01T07:00:00Z",
            "2026-05-01T10:30:00Z",
            &[
                "2026-05-01T08:00:00Z",
                "2026-05-01T09:00:00Z",
                "2026-05-01T10:00:00Z",
            ],
            &[],
            0,
        );
    }

    #[test]
    fn latest_launches_the_newest_missed_tick_unless_one_is_on_time() {
        check(
            CatchUp::Latest,
            "2026-05-01T07:00:00Z",
            "2026-05-01T10:30:00Z",
            &["2026-05-01T08:00:00Z", "2026-05-01T09:00:00Z"],
            &["2026-05-01T10:00:00Z"],
            0,
        );
        check(
            CatchUp::Latest,
            "2026-05-01T07:00:00Z",
            "2026-05-01T10:00:10Z",
            &["2026-05-01T08:00:00Z", "2026-05-01T09:00:00Z"],
            &["2026-05-01T10:00:00Z"],
            0,
        );
    }

    #[test]
    fn after_a_long_downtime_only_the_latest_skipped_ticks_are_recorded() {
        // 00:00 … 10:00 missed: 11 ticks, 3 recorded.
        check(
            CatchUp::Skip,
            "2026-04-30T23:30:00Z",
            "2026-05-01T10:30:00Z",
            &[
                "2026-05-01T08:00:00Z",
                "2026-05-01T09:00:00Z",
                "2026-05-01T10:00:00Z",
            ],
            &[],
            8,
        );
        check(
            CatchUp::Latest,
            "2026-04-30T23:30:00Z",
            "2026-05-01T10:30:00Z",
            &[
                "2026-05-01T07:00:00Z",
                "2026-05-01T08:00:00Z",
                "2026-05-01T09:00:00Z",
            ],
            &["2026-05-01T10:00:00Z"],
            7,
        );
    }
}
