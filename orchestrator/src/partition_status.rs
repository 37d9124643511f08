//! A job's partition status as users read it (`orch partitions`, the JSON API, the UI): the
//! definition's keys in order, each with its status from storage's index (`partition_status`),
//! summarised as counts and run-length ranges, or listed by status with keyset paging (`after`
//! a key). Keys without a row are missing. For a job (no asset given) a key's status combines
//! its partitioned assets' ([`PartitionStatus::combine`]). Also what a new partitioned run
//! covers ([`targets`]), so launches fill the index.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::definitions::{JobDef, KeyPositions, PartitionsDef, PartitionsError};
use crate::domain::{
    AssetKey, PartitionRange, PartitionStatus, PartitionStatusRow, PartitionTargets, RunId,
};
use crate::run_control::partition::dynamic_keys;
use crate::storage::{RunStorage, StorageError};

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
    let want_assets = if query.asset.is_some() {
        1
    } else {
        assets.len()
    };
    let dynamic = dynamic_keys(store, def).await?;
    let keys = def.at(now, &dynamic);
    let positions = keys.positions().map_err(|source| StatusError::Partitions {
        job: job.name.to_string(),
        source,
    })?;
    let limit = match query.limit {
        0 => 1_000,
        n => n.min(MAX_LIST),
    };
    // The stored keys that exist now, by position, with their combined status.
    let mut stored: Vec<Stored> = by_key(rows)
        .into_iter()
        .filter_map(|(key, (statuses, run_id))| {
            let position = positions.position(&key)?;
            let missing = want_assets.saturating_sub(statuses.len());
            let all = statuses
                .into_iter()
                .chain(std::iter::repeat_n(PartitionStatus::Missing, missing));
            Some(Stored {
                position,
                key,
                status: PartitionStatus::combine(all).unwrap_or(PartitionStatus::Missing),
                run_id,
            })
        })
        .collect();
    stored.sort_unstable_by_key(|s| s.position);
    let mut report = StatusReport::default();
    for s in &stored {
        report.summary.add(s.status);
    }
    report.summary.missing += positions.len() - stored.len() as u64;
    report.ranges = ranges(&positions, &stored);
    // The page: from the position after the cursor (nothing when the cursor is not a key).
    let from = match &query.after {
        None => Some(0),
        Some(after) => positions.position(after).map(|p| p + 1),
    };
    if let Some(from) = from {
        let mut page = page_from(&positions, &stored, from, query.status, limit + 1);
        if page.len() > limit {
            page.truncate(limit);
            report.next = page.last().map(|k| k.key.clone());
        }
        report.partitions = page;
    }
    Ok(report)
}

/// A stored key that exists: its position, combined status and newest run.
struct Stored {
    position: u64,
    key: String,
    status: PartitionStatus,
    run_id: Option<RunId>,
}

/// The run-length ranges over every position: the stored keys (sorted by position), the gaps
/// between them missing.
fn ranges(positions: &KeyPositions<'_>, stored: &[Stored]) -> Vec<StatusRange> {
    // (start, end, status, count) in positions, turned into keys at the end.
    let mut out: Vec<(u64, u64, PartitionStatus)> = Vec::new();
    let mut push = |start: u64, end: u64, status: PartitionStatus| match out.last_mut() {
        Some(last) if last.2 == status && last.1 + 1 == start => last.1 = end,
        _ => out.push((start, end, status)),
    };
    let mut next = 0;
    for s in stored {
        if s.position > next {
            push(next, s.position - 1, PartitionStatus::Missing);
        }
        push(s.position, s.position, s.status);
        next = s.position + 1;
    }
    if next < positions.len() {
        push(next, positions.len() - 1, PartitionStatus::Missing);
    }
    out.into_iter()
        .map(|(start, end, status)| StatusRange {
            start: positions.key_at(start).unwrap_or_default(),
            end: positions.key_at(end).unwrap_or_default(),
            status,
            count: end - start + 1,
        })
        .collect()
}

/// Up to `limit` keys from position `from` in `status` (any when `None`), in order.
fn page_from(
    positions: &KeyPositions<'_>,
    stored: &[Stored],
    from: u64,
    status: Option<PartitionStatus>,
    limit: usize,
) -> Vec<KeyStatus> {
    let mut out = Vec::new();
    let first = stored.partition_point(|s| s.position < from);
    let mut rest = stored[first..].iter().peekable();
    match status {
        Some(wanted) if wanted != PartitionStatus::Missing => {
            for s in rest.filter(|s| s.status == wanted).take(limit) {
                out.push(KeyStatus {
                    key: s.key.clone(),
                    status: s.status,
                    run_id: s.run_id,
                });
            }
        }
        _ => {
            let mut position = from;
            while position < positions.len() && out.len() < limit {
                let at = rest.next_if(|s| s.position == position);
                let (status_here, run_id) = match at {
                    Some(s) => (s.status, s.run_id),
                    None => (PartitionStatus::Missing, None),
                };
                if status.is_none_or(|s| s == status_here) {
                    let key = match at {
                        Some(s) => s.key.clone(),
                        None => positions.key_at(position).unwrap_or_default(),
                    };
                    out.push(KeyStatus {
                        key,
                        status: status_here,
                        run_id,
                    });
                }
                position += 1;
            }
        }
    }
    out
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
    let positions = keys.positions()?;
    let (Some(first), Some(last)) = (positions.position(start), positions.position(end)) else {
        return Ok(vec![start.to_owned()]);
    };
    Ok((first..=last).filter_map(|p| positions.key_at(p)).collect())
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
