//! Job and asset definitions (the pipelines SDK) and the registry of all jobs. Definitions are
//! validated when they load: a bad graph is refused with an error naming the asset.

mod asset;
mod context;
mod graph;
mod job;
mod object_store;

pub use asset::{
    AssetDef, AssetDefBuilder, AssetError, AssetFn, AssetFuture, AssetOutput, Inputs, RetryPolicy,
};
pub use context::{AssetContext, EventSink};
pub use graph::AssetGraph;
pub use job::JobDef;
pub use object_store::{ObjectStore, ObjectStoreError, StoredObject};

use crate::domain::{AssetKey, IdError, JobName};

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

/// Every job orch knows, by name.
#[derive(Debug, Clone, Default)]
pub struct Definitions {
    jobs: Vec<JobDef>,
}

impl Definitions {
    pub fn new(jobs: Vec<JobDef>) -> Result<Self, DefinitionError> {
        for (i, job) in jobs.iter().enumerate() {
            if jobs[..i].iter().any(|other| other.name == job.name) {
                return Err(DefinitionError::DuplicateJob(job.name.clone()));
            }
        }
        Ok(Self { jobs })
    }

    pub fn jobs(&self) -> &[JobDef] {
        &self.jobs
    }

    pub fn job(&self, name: &str) -> Option<&JobDef> {
        self.jobs.iter().find(|j| j.name.as_str() == name)
    }
}
