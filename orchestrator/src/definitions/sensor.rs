//! Run-status sensor definitions, like Dagster's `run_status_sensor` / `run_failure_sensor`: a
//! sensor watches runs reaching some terminal statuses (FAILURE by default), optionally only of
//! some jobs, and alerts Slack for each. Built with [`SensorDef::builder`] (or
//! [`SensorDef::run_failure`]), which validates everything but the jobs (checked against the
//! jobs when definitions load).

use super::DefinitionError;
use crate::domain::{JobName, RunStatus, SensorName, SensorSwitch};

/// A run-status sensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorDef {
    pub name: SensorName,
    /// The terminal statuses it fires on (SUCCESS, FAILURE, CANCELED), sorted, never empty.
    pub statuses: Vec<RunStatus>,
    /// The jobs it watches; empty means every job.
    pub jobs: Vec<JobName>,
    /// On or off until someone switches it (`orch sensors on|off`).
    pub default_switch: SensorSwitch,
    pub description: String,
}

impl SensorDef {
    /// A sensor of runs that reach one of `statuses`, on by default, for every job.
    pub fn builder(name: &str) -> SensorDefBuilder {
        SensorDefBuilder {
            name: name.to_owned(),
            statuses: Vec::new(),
            jobs: Vec::new(),
            default_switch: SensorSwitch::On,
            description: String::new(),
        }
    }

    /// Dagster's `run_failure_sensor`: FAILURE only.
    pub fn run_failure(name: &str) -> SensorDefBuilder {
        Self::builder(name).status(RunStatus::Failure)
    }

    /// Whether a run of `job` that reached `status` concerns this sensor.
    pub fn matches(&self, job: &JobName, status: RunStatus) -> bool {
        self.statuses.contains(&status) && (self.jobs.is_empty() || self.jobs.contains(job))
    }

    /// Whether the sensor is on, given the stored switch (if someone switched it).
    pub fn is_on(&self, stored: Option<bool>) -> bool {
        stored.unwrap_or(self.default_switch.is_on())
    }
}

/// Builds a [`SensorDef`]; [`SensorDefBuilder::build`] validates it.
#[derive(Debug, Clone)]
pub struct SensorDefBuilder {
    name: String,
    statuses: Vec<RunStatus>,
    jobs: Vec<String>,
    default_switch: SensorSwitch,
    description: String,
}

impl SensorDefBuilder {
    /// Fires on runs that reach `status` (SUCCESS, FAILURE or CANCELED); call once per status.
    pub fn status(mut self, status: RunStatus) -> Self {
        self.statuses.push(status);
        self
    }

    /// Watches only runs of `job` (call once per job); without, every job.
    pub fn job(mut self, job: &str) -> Self {
        self.jobs.push(job.to_owned());
        self
    }

    pub fn default_switch(mut self, switch: SensorSwitch) -> Self {
        self.default_switch = switch;
        self
    }

    pub fn description(mut self, text: &str) -> Self {
        text.clone_into(&mut self.description);
        self
    }

    pub fn build(self) -> Result<SensorDef, DefinitionError> {
        let name = SensorName::parse(&self.name)?;
        let mut statuses = self.statuses;
        statuses.sort();
        statuses.dedup();
        if statuses.is_empty() {
            return Err(DefinitionError::SensorWithoutStatus(name));
        }
        if let Some(&status) = statuses.iter().find(|s| !s.is_terminal()) {
            return Err(DefinitionError::SensorStatus {
                sensor: name,
                status,
            });
        }
        let mut jobs = Vec::with_capacity(self.jobs.len());
        for job in &self.jobs {
            let job = JobName::parse(job).map_err(|source| DefinitionError::SensorField {
                sensor: name.clone(),
                source,
            })?;
            if !jobs.contains(&job) {
                jobs.push(job);
            }
        }
        Ok(SensorDef {
            name,
            statuses,
            jobs,
            default_switch: self.default_switch,
            description: self.description,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(name: &str) -> JobName {
        JobName::parse(name).unwrap()
    }

    #[test]
    fn a_failure_sensor_matches_failures_of_its_jobs_only() {
        let sensor = SensorDef::run_failure("on_failure")
            .job("a")
            .build()
            .unwrap();
        assert!(sensor.matches(&job("a"), RunStatus::Failure));
        assert!(!sensor.matches(&job("a"), RunStatus::Success));
        assert!(!sensor.matches(&job("b"), RunStatus::Failure));
        let every_job = SensorDef::builder("any")
            .status(RunStatus::Canceled)
            .status(RunStatus::Failure)
            .build()
            .unwrap();
        assert!(every_job.matches(&job("b"), RunStatus::Canceled));
        assert_eq!(
            every_job.statuses,
            [RunStatus::Failure, RunStatus::Canceled]
        );
    }

    #[test]
    fn bad_sensors_are_refused_naming_the_problem() {
        let none = SensorDef::builder("s").build().unwrap_err().to_string();
        assert!(none.contains("sensor 's' watches no status"), "{none}");
        let started = SensorDef::builder("s")
            .status(RunStatus::Started)
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            started.contains("STARTED is not a final status"),
            "{started}"
        );
        let job = SensorDef::run_failure("s")
            .job("bad job")
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            job.contains("sensor 's'") && job.contains("'bad job'"),
            "{job}"
        );
    }

    #[test]
    fn the_stored_switch_wins_over_the_default() {
        let sensor = SensorDef::run_failure("s")
            .default_switch(SensorSwitch::Off)
            .build()
            .unwrap();
        assert!(!sensor.is_on(None));
        assert!(sensor.is_on(Some(true)));
    }
}
