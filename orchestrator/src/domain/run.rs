//! A run: one execution of a job with a run config and tags.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{AssetKey, JobName, PartitionRange, RunId, RunStatus, TagKey};

/// Run tags, e.g. `schedule=daily`, `team=data`.
pub type Tags = BTreeMap<TagKey, String>;

/// A run as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub id: RunId,
    pub job: JobName,
    pub status: RunStatus,
    /// The run config the assets see (the job's defaults overlaid with what the launcher gave).
    pub config: Value,
    pub tags: Tags,
    /// The run this one re-executes, if any.
    pub parent_run_id: Option<RunId>,
    /// Steps to execute; `None` means the whole job.
    pub step_selection: Option<Vec<AssetKey>>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// The worker's last heartbeat.
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// The launcher's handle on the worker (launcher-specific JSON), once launched.
    pub worker: Option<Value>,
    /// How many of its asset checks failed (a run can end SUCCESS with failed checks).
    pub checks_failed: u32,
    /// The version (SHA-256) of the job definition snapshot it was created with, if any.
    pub definition_version: Option<String>,
    /// The partition keys it targets (a single key has `start == end`); `None` when
    /// unpartitioned.
    pub partition: Option<PartitionRange>,
    /// Who started it (see [`launched_by`]); `None` for runs from before it was recorded.
    pub launched_by: Option<String>,
}

/// What a run records as who started it: a token's name, `sso:<user>`, or one of these.
pub mod launched_by {
    use super::RunId;

    /// `orch run`, `orch launch`, `orch assets materialize`, `orch dev --launch`: no server.
    pub const CLI: &str = "cli";

    /// A tick of the schedule `name`.
    pub fn schedule(name: &str) -> String {
        format!("schedule:{name}")
    }

    /// A run the sensor `name` requested.
    pub fn sensor(name: &str) -> String {
        format!("sensor:{name}")
    }

    /// A run of the backfill `id`.
    pub fn backfill(id: &str) -> String {
        format!("backfill:{id}")
    }

    /// The re-execution of run `parent` (who asked is in the audit log).
    pub fn reexecute(parent: RunId) -> String {
        format!("reexecute:{parent}")
    }

    /// A user signed in through the trusted proxy.
    pub fn sso(user: &str) -> String {
        format!("sso:{user}")
    }
}

impl Run {
    /// The single partition key the run targets (`None` for a range or no partition).
    pub fn partition_key(&self) -> Option<&str> {
        self.partition.as_ref().and_then(PartitionRange::single_key)
    }

    /// Wall time from start to end, when both are known.
    pub fn duration(&self) -> Option<chrono::Duration> {
        Some(self.ended_at? - self.started_at?)
    }
}

/// What it takes to create a run.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    pub id: RunId,
    pub job: JobName,
    pub status: RunStatus,
    pub config: Value,
    pub tags: Tags,
    pub parent_run_id: Option<RunId>,
    pub step_selection: Option<Vec<AssetKey>>,
    /// The job's definition as it is now, stored with the run (see `crate::snapshot`).
    pub definition: Option<StoredDefinition>,
    /// The partition keys it targets, already validated against the job's definition.
    pub partition: Option<PartitionRange>,
    /// Who starts it (see [`launched_by`]).
    pub launched_by: Option<String>,
}

/// A job definition snapshot as stored: its version (hex SHA-256 of `json`) and the JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDefinition {
    pub version: String,
    pub json: String,
}

/// The tag of a single-key run's partition (Dagster's `dagster/partition`).
pub const PARTITION_TAG: &str = "orch/partition";
/// The tags of a range run's first and last key.
pub const PARTITION_RANGE_START_TAG: &str = "orch/partition_range_start";
pub const PARTITION_RANGE_END_TAG: &str = "orch/partition_range_end";

impl NewRun {
    /// The same run targeting `range` (a single key when `start == end`), with the partition
    /// tags: `orch/partition` for a key, `orch/partition_range_start|end` for a range.
    pub fn with_partition(mut self, range: PartitionRange) -> Self {
        let tags: &[(&str, &str)] = match range.single_key() {
            Some(key) => &[(PARTITION_TAG, key)],
            None => &[
                (PARTITION_RANGE_START_TAG, &range.start),
                (PARTITION_RANGE_END_TAG, &range.end),
            ],
        };
        for (key, value) in tags {
            // The tag keys are constants that parse.
            if let Ok(key) = TagKey::parse(key) {
                self.tags.insert(key, (*value).to_owned());
            }
        }
        self.partition = Some(range);
        self
    }

    /// A run the daemon will pick up.
    pub fn queued(job: JobName, config: Value, tags: Tags) -> Self {
        Self {
            id: RunId::new(),
            job,
            status: RunStatus::Queued,
            config,
            tags,
            parent_run_id: None,
            step_selection: None,
            definition: None,
            partition: None,
            launched_by: None,
        }
    }

    /// The same run, recorded as started by `who` (see [`launched_by`]).
    pub fn launched_by(mut self, who: impl Into<String>) -> Self {
        self.launched_by = Some(who.into());
        self
    }

    /// The same run, created with the snapshot `definition` of its job.
    pub fn with_definition(mut self, definition: StoredDefinition) -> Self {
        self.definition = Some(definition);
        self
    }

    /// A run the creating process executes itself, so no daemon must ever claim it.
    pub fn in_process(job: JobName, config: Value, tags: Tags) -> Self {
        Self {
            status: RunStatus::Starting,
            ..Self::queued(job, config, tags)
        }
    }
}

/// Which runs to list. Results come newest first; `before` is the keyset cursor (the id of the
/// last run of the previous page).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFilter {
    pub status: Option<RunStatus>,
    pub job: Option<JobName>,
    pub tag: Option<(TagKey, String)>,
    /// Only runs of this single partition key.
    pub partition: Option<String>,
    /// Only runs with at least one failed asset check.
    pub checks_failed: bool,
    /// Only runs started by this (`launched_by`).
    pub launched_by: Option<String>,
    /// Only runs of this backfill (their `orch/backfill` tag); combines with `tag`.
    pub backfill: Option<super::BackfillId>,
    pub before: Option<RunId>,
    pub limit: u32,
}

impl RunFilter {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 1000;

    /// The page size, clamped to something a database answers quickly.
    pub fn effective_limit(&self) -> u32 {
        match self.limit {
            0 => Self::DEFAULT_LIMIT,
            n => n.min(Self::MAX_LIMIT),
        }
    }
}
