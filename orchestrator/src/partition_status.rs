//! A job's partition status as users read it (`orch partitions`, the JSON API, the UI): the
//! definition's keys in order, each with its status from storage's index (`partition_status`),
//! summarised as counts and run-length ranges, or listed by status with keyset paging (`after`
//! a key). Keys without a row are missing. For a job (no asset given) a key's status combines
//! its partitioned assets' ([`PartitionStatus::combine`]). Also what a new partitioned run
//! covers ([`targets`]), so launches fill the index.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::definitions::{JobDef, PartitionsDef, PartitionsError};
use crate::domain::{
    AssetKey, PartitionRange, PartitionStatus, PartitionStatusRow, PartitionTargets, RunId,
};
use crate::storage::{RunStorage, StorageError};

/// How many keys a definition is walked by at once.
const WALK_PAGE: usize = 10_000;
/// The largest page of keys a listing returns.
pub const MAX_LIST: usize = 10_000;

/// A status read that cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("job '{0}' is not partitioned")]
    NotPartitioned(String),
    #[error("job '{job}' has no partitioned asset '{asset}'")]
    UnknownAsset { job: String, asset: String },
    #[error("job '{job}': {source}")]
    Partitions {
        job: String,
        source: PartitionsError,
    },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Keys per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub materialized: u64,
    pub failed: u64,
    pub in_progress: u64,
    pub missing: u64,
}

impl StatusCounts {
    fn add(&mut self, status: PartitionStatus) {
        *match status {
            PartitionStatus::Materialized => &mut self.materialized,
            PartitionStatus::Failed => &mut self.failed,
            PartitionStatus::InProgress => &mut self.in_progress,
            PartitionStatus::Missing => &mut self.missing,
        } += 1;
    }

    pub fn total(&self) -> u64 {
        self.materialized + self.failed + self.in_progress + self.missing
    }
}

/// One key with its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    pub key: String,
    pub status: PartitionStatus,
    pub run_id: Option<RunId>,
}

/// Consecutive keys (in the definition's order) with one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRange {
    pub start: String,
    pub end: String,
    pub status: PartitionStatus,
    pub count: u64,
}

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct StatusQuery {
    /// One partitioned asset of the job; `None` for the job as a whole.
    pub asset: Option<AssetKey>,
    /// Only keys in this status.
    pub status: Option<PartitionStatus>,
    /// The keyset cursor: the last key of the previous page.
    pub after: Option<String>,
    /// Page size (0 means 1 000; at most [`MAX_LIST`]).
    pub limit: usize,
}

/// The answer: counts over every key, a page of keys, the cursor of the next page, and the
/// run-length ranges over every key.
#[derive(Debug, Clone, Default)]
pub struct StatusReport {
    pub summary: StatusCounts,
    pub partitions: Vec<KeyStatus>,
    pub next: Option<String>,
    pub ranges: Vec<StatusRange>,
}

/// Reads `job`'s partition status at `now` (see the module doc).
pub async fn read_status(
    store: &dyn RunStorage,
    job: &JobDef,
    query: &StatusQuery,
    now: DateTime<Utc>,
) -> Result<StatusReport, StatusError> {
    let def = job
        .partitions()
        .ok_or_else(|| StatusError::NotPartitioned(job.name.to_string()))?;
    let assets = partitioned_assets(job);
    if let Some(asset) = &query.asset
        && !assets.contains(asset)
    {
        return Err(StatusError::UnknownAsset {
            job: job.name.to_string(),
            asset: asset.to_string(),
        });
    }
    let rows = store
        .partition_statuses(&job.name, query.asset.as_ref())
        .await?;
    let per_key = by_key(rows);
    let want_assets = if query.asset.is_some() {
        1
    } else {
        assets.len()
    };
    let dynamic = dynamic_keys(store, def).await?;
    let keys = def.at(now, &dynamic);
    let limit = match query.limit {
        0 => 1_000,
        n => n.min(MAX_LIST),
    };
    let mut report = StatusReport::default();
    // Past the cursor once `after` is seen (or from the start without one).
    let mut past_cursor = query.after.is_none();
    let mut after: Option<String> = None;
    loop {
        let page =
            keys.page(after.as_deref(), WALK_PAGE)
                .map_err(|source| StatusError::Partitions {
                    job: job.name.to_string(),
                    source,
                })?;
        for key in page.keys {
            let (status, run_id) = match per_key.get(key.as_str()) {
                Some((statuses, run)) => {
                    let missing = want_assets.saturating_sub(statuses.len());
                    let all = statuses
                        .iter()
                        .copied()
                        .chain(std::iter::repeat_n(PartitionStatus::Missing, missing));
                    (
                        PartitionStatus::combine(all).unwrap_or(PartitionStatus::Missing),
                        *run,
                    )
                }
                None => (PartitionStatus::Missing, None),
            };
            report.summary.add(status);
            match report.ranges.last_mut() {
                Some(range) if range.status == status => {
                    range.end.clone_from(&key);
                    range.count += 1;
                }
                _ => report.ranges.push(StatusRange {
                    start: key.clone(),
                    end: key.clone(),
                    status,
                    count: 1,
                }),
            }
            if past_cursor && query.status.is_none_or(|s| s == status) {
                if report.partitions.len() < limit {
                    report.partitions.push(KeyStatus {
                        key: key.clone(),
                        status,
                        run_id,
                    });
                } else if report.next.is_none() {
                    report.next = report.partitions.last().map(|k| k.key.clone());
                }
            }
            if query.after.as_deref() == Some(key.as_str()) {
                past_cursor = true;
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(report)
}

/// The status of each key of `job` that has rows, over `assets` (the job's partitioned assets
/// when empty); keys not in the map are missing.
pub async fn key_statuses(
    store: &dyn RunStorage,
    job: &JobDef,
    assets: &[AssetKey],
) -> Result<HashMap<String, PartitionStatus>, StorageError> {
    let all = partitioned_assets(job);
    let assets = if assets.is_empty() { &all[..] } else { assets };
    let rows = store.partition_statuses(&job.name, None).await?;
    let rows = rows
        .into_iter()
        .filter(|r| assets.iter().any(|a| a.as_str() == r.asset_key))
        .collect();
    Ok(by_key(rows)
        .into_iter()
        .map(|(key, (statuses, _))| {
            let missing = assets.len().saturating_sub(statuses.len());
            let all = statuses
                .into_iter()
                .chain(std::iter::repeat_n(PartitionStatus::Missing, missing));
            (
                key,
                PartitionStatus::combine(all).unwrap_or(PartitionStatus::Missing),
            )
        })
        .collect())
}

/// Rows grouped by key: the statuses of its assets and the newest run among them.
fn by_key(rows: Vec<PartitionStatusRow>) -> HashMap<String, (Vec<PartitionStatus>, Option<RunId>)> {
    let mut map: HashMap<String, (Vec<PartitionStatus>, Option<RunId>)> = HashMap::new();
    for row in rows {
        let entry = map.entry(row.key).or_default();
        entry.0.push(row.status);
        // Run ids are time-ordered (UUIDv7), so the greatest is the newest.
        entry.1 = entry.1.max(row.run_id);
    }
    map
}

/// The job's partitioned assets.
pub fn partitioned_assets(job: &JobDef) -> Vec<AssetKey> {
    job.assets()
        .iter()
        .filter(|a| a.partitions.is_some())
        .map(|a| a.key.clone())
        .collect()
}

async fn dynamic_keys(
    store: &dyn RunStorage,
    def: &PartitionsDef,
) -> Result<Vec<String>, StorageError> {
    match def.dynamic_name() {
        Some(name) => store.list_dynamic_partitions(name, None, 0).await,
        None => Ok(Vec::new()),
    }
}

/// What a run of `job` over `range` (validated) with `selection` (`None`: every asset) covers
/// in the status index: its partitioned assets × the keys of the range.
pub async fn targets(
    store: &dyn RunStorage,
    job: &JobDef,
    selection: Option<&[AssetKey]>,
    range: &PartitionRange,
    now: DateTime<Utc>,
) -> Result<PartitionTargets, StatusError> {
    let Some(def) = job.partitions() else {
        return Ok(PartitionTargets::default());
    };
    let assets = partitioned_assets(job)
        .into_iter()
        .filter(|a| selection.is_none_or(|s| s.contains(a)))
        .collect();
    let keys = match range.single_key() {
        Some(key) => vec![key.to_owned()],
        None => {
            let dynamic = dynamic_keys(store, def).await?;
            keys_between(def, now, &dynamic, &range.start, &range.end).map_err(|source| {
                StatusError::Partitions {
                    job: job.name.to_string(),
                    source,
                }
            })?
        }
    };
    Ok(PartitionTargets { assets, keys })
}

/// The keys from `start` to `end`, both inclusive, in the definition's order (the range was
/// validated: `start` is a key and does not come after `end`).
pub fn keys_between(
    def: &PartitionsDef,
    now: DateTime<Utc>,
    dynamic: &[String],
    start: &str,
    end: &str,
) -> Result<Vec<String>, PartitionsError> {
    let keys = def.at(now, dynamic);
    keys.validate_range(start, end)?;
    let mut out = vec![start.to_owned()];
    let mut after = start.to_owned();
    while after != end {
        let page = keys.page(Some(&after), WALK_PAGE)?;
        let Some(last) = page.keys.last().cloned() else {
            break;
        };
        for key in page.keys {
            let done = key == end;
            out.push(key);
            if done {
                return Ok(out);
            }
        }
        after = last;
    }
    Ok(out)
}

/// Creates `run` of `job`, its asset partitions in progress in the status index when it
/// targets a partition (one transaction): how every launch of a partitioned job creates its run.
pub async fn create_run(
    store: &dyn RunStorage,
    job: &JobDef,
    run: &crate::domain::NewRun,
    now: DateTime<Utc>,
) -> Result<crate::domain::Run, StatusError> {
    let targets = match &run.partition {
        Some(range) => targets(store, job, run.step_selection.as_deref(), range, now).await?,
        None => PartitionTargets::default(),
    };
    Ok(store.create_targeted_run(run, &targets).await?)
}
