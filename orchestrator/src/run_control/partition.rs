//! The partition a launch asks for, checked against the job's definition before a run exists
//! (the CLI's `--partition` / `--from --to`, the API's `"partition"`), and the scope a worker
//! hands to the run's assets. Dynamic definitions read their keys from storage here.

use chrono::{DateTime, Utc};

use crate::definitions::{JobDef, PartitionsDef, PartitionsError};
use crate::domain::{PartitionRange, PartitionScope};
use crate::storage::{RunStorage, StorageError};

/// Which partitions a launch targets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PartitionRequest {
    /// No partition (refused for a partitioned job).
    #[default]
    None,
    Key(String),
    /// Both ends inclusive.
    Range {
        start: String,
        end: String,
    },
}

/// A partition request that cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum PartitionError {
    /// The key or range is not valid for the job: the launch's fault (exit 2, HTTP 422).
    #[error("job '{job}': {source}")]
    Invalid {
        job: String,
        source: PartitionsError,
    },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The keys of `def` that storage holds (dynamic definitions), empty for the others.
pub(crate) async fn dynamic_keys(
    store: &dyn RunStorage,
    def: &PartitionsDef,
) -> Result<Vec<String>, StorageError> {
    match def.dynamic_name() {
        Some(name) => store.list_dynamic_partitions(name, None, 0).await,
        None => Ok(Vec::new()),
    }
}

/// Validates `request` against `job`'s partitions at `now`; the range to store on the new run
/// (`None` for an unpartitioned job launched without a partition).
pub async fn check_partition_request(
    store: &dyn RunStorage,
    job: &JobDef,
    request: &PartitionRequest,
    now: DateTime<Utc>,
) -> Result<Option<PartitionRange>, PartitionError> {
    let invalid = |source| PartitionError::Invalid {
        job: job.name.to_string(),
        source,
    };
    let Some(def) = job.partitions() else {
        return match request {
            PartitionRequest::None => Ok(None),
            PartitionRequest::Key(key) | PartitionRequest::Range { start: key, .. } => {
                Err(invalid(PartitionsError::NotPartitioned(key.clone())))
            }
        };
    };
    let stored = dynamic_keys(store, def).await?;
    let keys = def.at(now, &stored);
    let scope = match request {
        PartitionRequest::None => {
            return Err(invalid(PartitionsError::KeyRequired { span: keys.span() }));
        }
        PartitionRequest::Key(key) => keys.validate_key(key),
        PartitionRequest::Range { start, end } => keys.validate_range(start, end),
    };
    Ok(scope.map_err(invalid)?.range)
}

/// The scope a run's assets see: its key or range and, for time windows, the window they
/// cover. A run whose keys its job no longer knows is refused with the reason.
pub async fn run_scope(
    store: &dyn RunStorage,
    job: &JobDef,
    range: Option<&PartitionRange>,
    now: DateTime<Utc>,
) -> Result<PartitionScope, PartitionError> {
    let Some(range) = range else {
        return Ok(PartitionScope::default());
    };
    let Some(def) = job.partitions() else {
        // Partitioned by whoever created the run, not by the job: the keys, without a window.
        return Ok(PartitionScope {
            key: range.single_key().map(str::to_owned),
            range: Some(range.clone()),
            time_window: None,
        });
    };
    let stored = dynamic_keys(store, def).await?;
    def.at(now, &stored)
        .validate_range(&range.start, &range.end)
        .map_err(|source| PartitionError::Invalid {
            job: job.name.to_string(),
            source,
        })
}
