//! Job, asset and schedule definitions (the pipelines SDK) and the registry of all of them.
//! Definitions are validated when they load: a bad graph is refused with an error naming the
//! asset, a bad schedule with one naming the schedule.

mod asset;
mod check;
mod command;
mod context;
pub mod cron;
mod freshness;
mod graph;
mod job;
mod live;
mod object_store;
pub mod partitions;
mod schedule;
mod selection;
mod sensor;

pub use asset::{
    AssetCompute, AssetDef, AssetDefBuilder, AssetError, AssetFn, AssetFuture, AssetOutput, Inputs,
    RetryPolicy,
};
pub use check::{AssetCheckDef, AssetCheckDefBuilder, CheckCompute, CheckFn, CheckFuture};
pub use command::CommandSpec;
pub use context::{AssetContext, EventSink};
pub use freshness::{
    Freshness, FreshnessError, FreshnessPolicy, FreshnessState, evaluate as evaluate_freshness,
    evaluate_partitioned as evaluate_partitioned_freshness,
    latest_closed as latest_closed_partition,
};
pub use graph::AssetGraph;
pub use job::JobDef;
pub use live::{LiveDefinitions, Loaded, Loader, ReloadFailure};
pub use object_store::{ObjectInfo, ObjectStore, ObjectStoreError, StoredObject};
pub use partitions::{
    Cadence, KeyPage, KeyPositions, PartitionKeys, PartitionsDef, PartitionsError,
    TimeWindowPartitions, TimeWindowSpec,
};
pub use schedule::{CatchUp, ScheduleDef, ScheduleDefBuilder};
pub use selection::{AssetSelection, Reach, SelectionClause, SelectionError};
pub use sensor::{SensorDef, SensorDefBuilder, SensorWatch};

use self::cron::CronError;
use crate::domain::{AssetKey, IdError, JobName, RunStatus, ScheduleName, SensorName};

/// A definition that cannot load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefinitionError {
    #[error(transparent)]
    Name(#[from] IdError),
    #[error("job '{job}': asset '{asset}' is defined twice")]
    DuplicateAsset { job: JobName, asset: AssetKey },
    #[error(
        "job '{job}': asset '{asset}' depends on '{upstream}', which is not an asset of this job"
    )]
    UnknownUpstream {
        job: JobName,
        asset: AssetKey,
        upstream: AssetKey,
    },
    #[error(
        "job '{job}': the assets form a cycle (each depends on the next): {}",
        join(cycle)
    )]
    Cycle { job: JobName, cycle: Vec<AssetKey> },
    #[error("job '{0}' is defined twice")]
    DuplicateJob(JobName),
    #[error("job '{job}': asset '{asset}' has two checks named '{check}'")]
    DuplicateCheck {
        job: JobName,
        asset: AssetKey,
        check: String,
    },
    #[error("schedule '{schedule}': {source}")]
    ScheduleCron {
        schedule: ScheduleName,
        source: CronError,
    },
    #[error("schedule '{schedule}': {source}")]
    ScheduleField {
        schedule: ScheduleName,
        source: IdError,
    },
    #[error("schedule '{schedule}': tag '{key}' is set by the scheduler on every run it launches")]
    ReservedTag { schedule: ScheduleName, key: String },
    #[error("schedule '{schedule}': job '{job}' is not defined (known jobs: {})", known.join(", "))]
    UnknownJob {
        schedule: ScheduleName,
        job: JobName,
        known: Vec<String>,
    },
    #[error("schedule '{0}' is defined twice")]
    DuplicateSchedule(ScheduleName),
    #[error("sensor '{0}' watches no status; give it FAILURE, SUCCESS or CANCELED")]
    SensorWithoutStatus(SensorName),
    #[error(
        "sensor '{sensor}': {status} is not a final status; sensors watch SUCCESS, FAILURE or CANCELED"
    )]
    SensorStatus {
        sensor: SensorName,
        status: RunStatus,
    },
    #[error("sensor '{sensor}': {source}")]
    SensorField { sensor: SensorName, source: IdError },
    #[error("sensor '{sensor}': job '{job}' is not defined (known jobs: {})", known.join(", "))]
    SensorUnknownJob {
        sensor: SensorName,
        job: JobName,
        known: Vec<String>,
    },
    #[error("sensor '{0}' is defined twice")]
    DuplicateSensor(SensorName),
    #[error(
        "job '{job}': asset '{asset}' is partitioned differently from the job's other assets; \
         a job's assets share one partitions definition"
    )]
    MixedPartitions { job: JobName, asset: AssetKey },
}

fn join(keys: &[AssetKey]) -> String {
    keys.iter()
        .map(AssetKey::as_str)
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// A run config a job refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("job '{job}' has no config key '{key}' (known keys: {})", known.join(", "))]
    UnknownKey {
        job: JobName,
        key: String,
        known: Vec<String>,
    },
    #[error("job '{job}': config key '{key}' must be a {expected}, not a {got}")]
    WrongType {
        job: JobName,
        key: String,
        expected: &'static str,
        got: &'static str,
    },
}

/// Every job and schedule orch knows, by name.
#[derive(Debug, Clone, Default)]
pub struct Definitions {
    jobs: Vec<JobDef>,
    schedules: Vec<ScheduleDef>,
    sensors: Vec<SensorDef>,
}

impl Definitions {
    pub fn new(jobs: Vec<JobDef>) -> Result<Self, DefinitionError> {
        for (i, job) in jobs.iter().enumerate() {
            if jobs[..i].iter().any(|other| other.name == job.name) {
                return Err(DefinitionError::DuplicateJob(job.name.clone()));
            }
        }
        Ok(Self {
            jobs,
            schedules: Vec::new(),
            sensors: Vec::new(),
        })
    }

    /// Adds the declared schedules, refusing one of an unknown job or a name used twice.
    pub fn with_schedules(mut self, schedules: Vec<ScheduleDef>) -> Result<Self, DefinitionError> {
        self.check_schedules(&schedules)?;
        self.schedules = schedules;
        Ok(self)
    }

    /// Checks schedules against these jobs: each names a known job, no name is used twice.
    pub fn check_schedules(&self, schedules: &[ScheduleDef]) -> Result<(), DefinitionError> {
        for (i, schedule) in schedules.iter().enumerate() {
            if schedules[..i]
                .iter()
                .any(|other| other.name == schedule.name)
            {
                return Err(DefinitionError::DuplicateSchedule(schedule.name.clone()));
            }
            if self.job(schedule.job.as_str()).is_none() {
                return Err(DefinitionError::UnknownJob {
                    schedule: schedule.name.clone(),
                    job: schedule.job.clone(),
                    known: self.jobs.iter().map(|j| j.name.to_string()).collect(),
                });
            }
        }
        Ok(())
    }

    pub fn jobs(&self) -> &[JobDef] {
        &self.jobs
    }

    pub fn job(&self, name: &str) -> Option<&JobDef> {
        self.jobs.iter().find(|j| j.name.as_str() == name)
    }

    /// The schedules declared with the jobs (`orch.toml` may override them: see
    /// `crate::config`).
    pub fn schedules(&self) -> &[ScheduleDef] {
        &self.schedules
    }

    /// Adds the declared run-status sensors, refusing one watching an unknown job or a name
    /// used twice.
    pub fn with_sensors(mut self, sensors: Vec<SensorDef>) -> Result<Self, DefinitionError> {
        for (i, sensor) in sensors.iter().enumerate() {
            if sensors[..i].iter().any(|other| other.name == sensor.name) {
                return Err(DefinitionError::DuplicateSensor(sensor.name.clone()));
            }
            if let Some(job) = sensor.jobs.iter().find(|j| self.job(j.as_str()).is_none()) {
                return Err(DefinitionError::SensorUnknownJob {
                    sensor: sensor.name.clone(),
                    job: job.clone(),
                    known: self.jobs.iter().map(|j| j.name.to_string()).collect(),
                });
            }
        }
        self.sensors = sensors;
        Ok(self)
    }

    /// The run-status sensors.
    pub fn sensors(&self) -> &[SensorDef] {
        &self.sensors
    }

    pub fn sensor(&self, name: &str) -> Option<&SensorDef> {
        self.sensors.iter().find(|s| s.name.as_str() == name)
    }
}
