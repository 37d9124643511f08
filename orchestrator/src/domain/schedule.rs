//! Schedules as stored: a schedule's on/off state and its ticks (one row per cron instant the
//! scheduler handled: a run launched, a tick skipped, or a failure to launch).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::{JobName, NewRun, RunId, ScheduleName, TagKey, Tags};

/// The tag every scheduled run carries with its schedule's name.
pub const SCHEDULE_TAG: &str = "schedule";
/// The tag every scheduled run carries with its tick time (RFC 3339, UTC).
pub const TICK_TAG: &str = "tick";

/// Switching a schedule on or off (persisted: it outlives the default of its definition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleSwitch {
    On,
    Off,
}

impl ScheduleSwitch {
    pub fn is_on(self) -> bool {
        self == Self::On
    }
}

/// A schedule's stored state: someone switched it on or off at `updated_at`. A schedule without
/// one follows its definition's default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleState {
    pub name: ScheduleName,
    pub enabled: bool,
    pub updated_at: DateTime<Utc>,
}

/// What became of a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TickStatus {
    /// A run was created for it.
    Success,
    /// It was missed (the scheduler was down) and the catch-up policy passed over it.
    Skipped,
    /// No run could be created (unknown job, run config refused); the error says why.
    Failure,
}

impl TickStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Skipped => "SKIPPED",
            Self::Failure => "FAILURE",
        }
    }
}

impl fmt::Display for TickStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored tick status that is none of the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a tick status (SUCCESS, SKIPPED, FAILURE)")]
pub struct UnknownTickStatus(pub String);

impl FromStr for TickStatus {
    type Err = UnknownTickStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "SUCCESS" => Ok(Self::Success),
            "SKIPPED" => Ok(Self::Skipped),
            "FAILURE" => Ok(Self::Failure),
            other => Err(UnknownTickStatus(other.to_owned())),
        }
    }
}

/// One recorded tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleTick {
    pub id: i64,
    pub schedule: ScheduleName,
    /// The cron instant, in UTC.
    pub tick_time: DateTime<Utc>,
    pub status: TickStatus,
    /// The run it created (SUCCESS only).
    pub run_id: Option<RunId>,
    /// Why no run was created (FAILURE only).
    pub error: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// A tick time as the `tick` tag shows it: RFC 3339 in UTC, e.g. `2026-01-01T10:00:00Z`.
pub fn tick_tag_value(tick: DateTime<Utc>) -> String {
    tick.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

impl NewRun {
    /// The queued run of a schedule's tick: `tags` plus `schedule=<name>` and `tick=<time>`,
    /// which win over tags of the same keys.
    pub fn for_tick(
        job: JobName,
        config: Value,
        mut tags: Tags,
        schedule: &ScheduleName,
        tick: DateTime<Utc>,
    ) -> Self {
        // Both keys are valid tag keys, so the parses cannot fail; the fallback keeps this total.
        if let Ok(key) = TagKey::parse(SCHEDULE_TAG) {
            tags.insert(key, schedule.to_string());
        }
        if let Ok(key) = TagKey::parse(TICK_TAG) {
            tags.insert(key, tick_tag_value(tick));
        }
        Self::queued(job, config, tags)
            .launched_by(super::run::launched_by::schedule(schedule.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RunStatus;

    #[test]
    fn tick_statuses_round_trip() {
        for status in [
            TickStatus::Success,
            TickStatus::Skipped,
            TickStatus::Failure,
        ] {
            assert_eq!(status.as_str().parse::<TickStatus>(), Ok(status));
        }
        let err = "DONE".parse::<TickStatus>().unwrap_err().to_string();
        assert!(err.contains("'DONE' is not a tick status"), "{err}");
    }

    #[test]
    fn a_tick_run_is_queued_with_its_schedule_and_tick_tags() {
        let schedule = ScheduleName::parse("hourly").unwrap();
        let tick = DateTime::parse_from_rfc3339("2026-03-29T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut tags = Tags::new();
        tags.insert(TagKey::parse("team").unwrap(), "data".into());
        tags.insert(TagKey::parse("schedule").unwrap(), "forged".into());
        let run = NewRun::for_tick(
            JobName::parse("job").unwrap(),
            Value::Null,
            tags,
            &schedule,
            tick,
        );
        assert_eq!(run.status, RunStatus::Queued);
        let tags: Vec<(String, String)> = run
            .tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        assert_eq!(
            tags,
            [
                ("schedule".to_owned(), "hourly".to_owned()),
                ("team".to_owned(), "data".to_owned()),
                ("tick".to_owned(), "2026-03-29T01:00:00Z".to_owned()),
            ]
        );
    }
}
