//! Sensor definitions, like Dagster's `run_status_sensor` / `run_failure_sensor`: a
//! sensor watches runs reaching some terminal statuses (FAILURE by default), optionally only of
//! some jobs, and alerts Slack for each. A sensor can instead watch runs whose asset checks
//! failed (at or above a severity: [`SensorDef::check_failures`]) or changes of assets'
//! freshness ([`SensorDef::freshness`]). Built with [`SensorDef::builder`] (or
//! [`SensorDef::run_failure`]), which validates everything but the jobs (checked against the
//! jobs when definitions load).

use super::DefinitionError;
use crate::domain::{
    CheckSeverity, FreshnessAlertChange, FreshnessState, JobName, RunStatus, SensorName,
    SensorSwitch, StatusChange,
};

/// What a sensor fires on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SensorWatch {
    /// Runs that reach one of its `statuses`.
    RunStatus,
    /// Runs (of any terminal status) with a failed check of at least this severity.
    ChecksFailed { min: CheckSeverity },
    /// Assets whose freshness changes to one of these states.
    Freshness { states: Vec<FreshnessState> },
}

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
    pub watch: SensorWatch,
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
            watch: SensorWatch::RunStatus,
        }
    }

    /// A sensor of runs whose asset checks failed with at least `min` severity (whatever the
    /// run's status): "Check failed: …".
    pub fn check_failures(name: &str, min: CheckSeverity) -> SensorDefBuilder {
        let mut builder = Self::builder(name)
            .status(RunStatus::Success)
            .status(RunStatus::Failure)
            .status(RunStatus::Canceled);
        builder.watch = SensorWatch::ChecksFailed { min };
        builder
    }

    /// A sensor of assets that become overdue ("Asset overdue: …"); add
    /// [`SensorDefBuilder::freshness_state`] for warnings or recoveries. `job` limits it to the
    /// assets of some jobs.
    pub fn freshness(name: &str) -> SensorDefBuilder {
        let mut builder = Self::builder(name)
            .status(RunStatus::Success)
            .status(RunStatus::Failure)
            .status(RunStatus::Canceled);
        builder.watch = SensorWatch::Freshness {
            states: vec![FreshnessState::Overdue],
        };
        builder
    }

    /// Whether a run's end concerns this sensor (run-status and check-failure sensors).
    pub fn matches_change(&self, change: &StatusChange) -> bool {
        match &self.watch {
            SensorWatch::RunStatus => self.matches(&change.job, change.status),
            SensorWatch::ChecksFailed { min } => {
                self.watches_job(&change.job)
                    && change.failed_checks.iter().any(|c| c.severity >= *min)
            }
            SensorWatch::Freshness { .. } => false,
        }
    }

    /// Whether a freshness change concerns this sensor (freshness sensors only).
    pub fn matches_freshness(&self, change: &FreshnessAlertChange) -> bool {
        match &self.watch {
            SensorWatch::Freshness { states } => {
                // FRESH is a recovery: an asset judged for the first time is not alerted.
                let recovery = change.state != FreshnessState::Fresh
                    || matches!(
                        change.previous,
                        Some(FreshnessState::Warn | FreshnessState::Overdue)
                    );
                states.contains(&change.state) && recovery && self.watches_job(&change.job)
            }
            _ => false,
        }
    }

    fn watches_job(&self, job: &JobName) -> bool {
        self.jobs.is_empty() || self.jobs.contains(job)
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
    watch: SensorWatch,
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

    /// A freshness sensor also fires when an asset enters `state` (WARN; FRESH for recoveries:
    /// from WARN or OVERDUE only).
    pub fn freshness_state(mut self, state: FreshnessState) -> Self {
        if let SensorWatch::Freshness { states } = &mut self.watch
            && !states.contains(&state)
        {
            states.push(state);
        }
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
            watch: self.watch,
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
