//! Schedule definitions: a job launched on a cron expression in a time zone, with a default
//! on/off state, a catch-up policy for ticks missed while no scheduler ran, and extra run config
//! and tags. Built with [`ScheduleDef::builder`], which validates everything but the job (that is
//! checked against the jobs when definitions load).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::DefinitionError;
use super::cron::Cron;
use crate::domain::{JobName, SCHEDULE_TAG, ScheduleName, ScheduleSwitch, TICK_TAG, TagKey, Tags};

/// What happens to ticks that were missed (the scheduler was down, or late by more than its
/// grace period).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CatchUp {
    /// Record them as SKIPPED; launch nothing for them.
    #[default]
    Skip,
    /// Launch a run for the latest one only (unless a tick on time follows it); skip the others.
    Latest,
}

impl CatchUp {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Skip => "skip",
            Self::Latest => "latest",
        }
    }
}

/// A schedule: launch `job` at every tick of `cron`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleDef {
    pub name: ScheduleName,
    pub job: JobName,
    pub cron: Cron,
    /// On or off until someone switches it (`orch schedules on|off`).
    pub default_switch: ScheduleSwitch,
    pub catch_up: CatchUp,
    /// Run config overrides, resolved against the job's defaults at each tick.
    pub run_config: Map<String, Value>,
    /// Tags of every run it launches, besides `schedule` and `tick`.
    pub tags: Tags,
}

impl ScheduleDef {
    /// Starts a schedule of `job` on `cron` (seconds first: `0 0 * * * *` is every hour), in
    /// UTC, on by default, skipping missed ticks.
    pub fn builder(name: &str, job: &str, cron: &str) -> ScheduleDefBuilder {
        ScheduleDefBuilder {
            name: name.to_owned(),
            job: job.to_owned(),
            cron: cron.to_owned(),
            timezone: "UTC".to_owned(),
            default_switch: ScheduleSwitch::On,
            catch_up: CatchUp::Skip,
            run_config: Map::new(),
            tags: BTreeMap::new(),
        }
    }

    /// A builder holding this definition, to change some of it and validate it again.
    pub fn to_builder(&self) -> ScheduleDefBuilder {
        ScheduleDefBuilder {
            name: self.name.to_string(),
            job: self.job.to_string(),
            cron: self.cron.expression().to_owned(),
            timezone: self.cron.timezone().name().to_owned(),
            default_switch: self.default_switch,
            catch_up: self.catch_up,
            run_config: self.run_config.clone(),
            tags: self
                .tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }

    /// The first tick strictly after `t`.
    pub fn next_tick_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.next_after(t)
    }
}

/// Builds a [`ScheduleDef`]; everything is parsed in [`ScheduleDefBuilder::build`].
#[derive(Debug, Clone)]
pub struct ScheduleDefBuilder {
    name: String,
    job: String,
    cron: String,
    timezone: String,
    default_switch: ScheduleSwitch,
    catch_up: CatchUp,
    run_config: Map<String, Value>,
    tags: BTreeMap<String, String>,
}

impl ScheduleDefBuilder {
    pub fn job(mut self, job: &str) -> Self {
        self.job = job.to_owned();
        self
    }

    pub fn cron(mut self, expression: &str) -> Self {
        self.cron = expression.to_owned();
        self
    }

    /// An IANA time zone, e.g. `Europe/Paris` (default `UTC`).
    pub fn timezone(mut self, name: &str) -> Self {
        self.timezone = name.to_owned();
        self
    }

    /// Whether the schedule runs before anyone switches it (default on).
    pub fn default_switch(mut self, switch: ScheduleSwitch) -> Self {
        self.default_switch = switch;
        self
    }

    pub fn catch_up(mut self, policy: CatchUp) -> Self {
        self.catch_up = policy;
        self
    }

    /// Sets one run config key of the runs it launches.
    pub fn config(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.run_config.insert(key.to_owned(), value.into());
        self
    }

    /// Sets one tag of the runs it launches (`schedule` and `tick` are the scheduler's).
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        self.tags.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Validates the names, the cron expression, the time zone and the tags.
    pub fn build(self) -> Result<ScheduleDef, DefinitionError> {
        let name = ScheduleName::parse(&self.name)?;
        let in_schedule = |source| DefinitionError::ScheduleField {
            schedule: name.clone(),
            source,
        };
        let job = JobName::parse(&self.job).map_err(in_schedule)?;
        let cron = Cron::parse(&self.cron, &self.timezone).map_err(|source| {
            DefinitionError::ScheduleCron {
                schedule: name.clone(),
                source,
            }
        })?;
        let mut tags = Tags::new();
        for (key, value) in self.tags {
            if key == SCHEDULE_TAG || key == TICK_TAG {
                return Err(DefinitionError::ReservedTag {
                    schedule: name.clone(),
                    key,
                });
            }
            tags.insert(TagKey::parse(&key).map_err(in_schedule)?, value);
        }
        Ok(ScheduleDef {
            name,
            job,
            cron,
            default_switch: self.default_switch,
            catch_up: self.catch_up,
            run_config: self.run_config,
            tags,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_defaults_to_utc_on_and_skip() {
        let def = ScheduleDef::builder("hourly", "job", "0 0 * * * *")
            .build()
            .unwrap();
        assert_eq!(def.cron.timezone(), chrono_tz::Tz::UTC);
        assert_eq!(def.default_switch, ScheduleSwitch::On);
        assert_eq!(def.catch_up, CatchUp::Skip);
        assert_eq!(def.to_builder().build().unwrap(), def);
    }

    #[test]
    fn bad_parts_are_refused_naming_the_schedule() {
        let cases: [(ScheduleDefBuilder, &str); 5] = [
            (
                ScheduleDef::builder("s", "job", "0 0 * * *"),
                "schedule 's': invalid cron expression '0 0 * * *': it has 5 fields",
            ),
            (
                ScheduleDef::builder("s", "job", "0 0 * * * *").timezone("Europe/Pariss"),
                "schedule 's': unknown time zone 'Europe/Pariss'",
            ),
            (
                ScheduleDef::builder("s", "bad job", "0 0 * * * *"),
                "schedule 's': 'bad job' is not a valid job name",
            ),
            (
                ScheduleDef::builder("s", "job", "0 0 * * * *").tag("tick", "x"),
                "schedule 's': tag 'tick' is set by the scheduler",
            ),
            (
                ScheduleDef::builder("no spaces", "job", "0 0 * * * *"),
                "'no spaces' is not a valid schedule name",
            ),
        ];
        for (builder, expected) in cases {
            let err = builder.build().unwrap_err().to_string();
            assert!(
                err.starts_with(expected),
                "{err:?} should start with {expected:?}"
            );
        }
    }
}
