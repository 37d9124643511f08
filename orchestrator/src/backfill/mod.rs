//! Backfills as users ask for them (CLI, API): [`plan`] turns a request (a range or a list of
//! keys, a mode, an order, a limit) into the chunks to run — keys filtered by their status in
//! the index, grouped by the job's `max_partitions_per_run` (consecutive keys only) — without
//! writing anything (a dry run stops there); [`cancel`], [`resume`] and [`retry_failed`] move a
//! stored backfill. The daemon's loop that submits the runs is `daemon::backfills`.

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

use crate::definitions::{JobDef, PartitionsError};
use crate::domain::{
    AssetKey, Backfill, BackfillChunk, BackfillId, BackfillMode, BackfillStatus, NewBackfill,
    PartitionStatus,
};
use crate::partition_status::{key_statuses, keys_between};
use crate::storage::{RunStorage, StorageError};

/// Which keys a backfill covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySpan {
    /// `--from A --to B`, both inclusive.
    Range { from: String, to: String },
    /// `--partitions K1,K2,…`, run in the order given.
    List(Vec<String>),
}

/// A backfill as asked for.
#[derive(Debug, Clone)]
pub struct BackfillRequest {
    pub keys: KeySpan,
    pub mode: BackfillMode,
    /// Newest keys first.
    pub reverse: bool,
    /// 0: no limit of its own.
    pub max_concurrent: u32,
    pub step_selection: Option<Vec<AssetKey>>,
}

/// A backfill that cannot be created or moved.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("job '{0}' is not partitioned: a backfill needs partitions")]
    NotPartitioned(String),
    #[error("job '{job}': {source}")]
    Partitions {
        job: String,
        source: PartitionsError,
    },
    #[error("give the keys: --from and --to, or --partitions")]
    NoKeys,
    #[error("backfill {0} not found")]
    NotFound(BackfillId),
    #[error("backfill {id} is {status}; {what}")]
    WrongStatus {
        id: BackfillId,
        status: BackfillStatus,
        what: &'static str,
    },
    #[error("backfill {0} has no failed partition to retry")]
    NothingFailed(BackfillId),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The backfill `request` asks of `job` at `now`: its chunks in submission order (empty when
/// every key is already as the mode wants). Nothing is written.
pub async fn plan(
    store: &dyn RunStorage,
    job: &JobDef,
    request: &BackfillRequest,
    now: DateTime<Utc>,
) -> Result<NewBackfill, BackfillError> {
    let def = job
        .partitions()
        .ok_or_else(|| BackfillError::NotPartitioned(job.name.to_string()))?;
    let invalid = |source| BackfillError::Partitions {
        job: job.name.to_string(),
        source,
    };
    let dynamic = match def.dynamic_name() {
        Some(name) => store.list_dynamic_partitions(name, None, 0).await?,
        None => Vec::new(),
    };
    let (keys, consecutive) = match &request.keys {
        KeySpan::Range { from, to } => (
            keys_between(def, now, &dynamic, from, to).map_err(invalid)?,
            true,
        ),
        KeySpan::List(list) => {
            if list.is_empty() {
                return Err(BackfillError::NoKeys);
            }
            let defined = def.at(now, &dynamic);
            let mut seen = std::collections::HashSet::new();
            for key in list {
                defined.validate_key(key).map_err(invalid)?;
                seen.insert(key.as_str());
            }
            let mut unique = Vec::new();
            for key in list {
                if seen.remove(key.as_str()) {
                    unique.push(key.clone());
                }
            }
            (unique, false)
        }
    };
    let statuses = key_statuses(
        store,
        job,
        request.step_selection.as_deref().unwrap_or_default(),
    )
    .await?;
    let wanted = |key: &String| {
        let status = statuses
            .get(key)
            .copied()
            .unwrap_or(PartitionStatus::Missing);
        match request.mode {
            BackfillMode::All => true,
            BackfillMode::Missing => status == PartitionStatus::Missing,
            BackfillMode::Failed => status == PartitionStatus::Failed,
        }
    };
    let per_run = if consecutive {
        job.max_partitions_per_run.unwrap_or(1).max(1) as usize
    } else {
        1
    };
    let chosen: Vec<(usize, &String)> =
        keys.iter().enumerate().filter(|(_, k)| wanted(k)).collect();
    let mut chunks = chunk(&chosen, per_run);
    if request.reverse {
        chunks.reverse();
    }
    for (i, c) in chunks.iter_mut().enumerate() {
        c.position = u32::try_from(i).unwrap_or(u32::MAX);
    }
    Ok(NewBackfill {
        id: BackfillId::new(),
        job: job.name.clone(),
        mode: request.mode,
        step_selection: request.step_selection.clone(),
        max_concurrent: request.max_concurrent,
        parent: None,
        chunks,
    })
}

/// Groups keys (with their index in the full span) into chunks of at most `per_run` keys that
/// are consecutive in the span: a range run never covers a key the mode left out.
fn chunk(chosen: &[(usize, &String)], per_run: usize) -> Vec<BackfillChunk> {
    let mut chunks: Vec<BackfillChunk> = Vec::new();
    let mut last_index: Option<usize> = None;
    for (index, key) in chosen {
        let extend = last_index.is_some_and(|last| last + 1 == *index)
            && chunks.last().is_some_and(|c| (c.keys as usize) < per_run);
        match chunks.last_mut() {
            Some(c) if extend => {
                c.end.clone_from(key);
                c.keys += 1;
            }
            _ => chunks.push(BackfillChunk {
                position: 0,
                start: (*key).clone(),
                end: (*key).clone(),
                keys: 1,
            }),
        }
        last_index = Some(*index);
    }
    chunks
}

async fn find(store: &dyn RunStorage, id: BackfillId) -> Result<Backfill, BackfillError> {
    store
        .get_backfill(id)
        .await?
        .ok_or(BackfillError::NotFound(id))
}

/// Stops submitting `id`'s runs; the daemon cancels those in flight, then marks it CANCELED.
pub async fn cancel(store: &dyn RunStorage, id: BackfillId) -> Result<Backfill, BackfillError> {
    use BackfillStatus::*;
    let moved = store
        .set_backfill_status(id, &[Requested, Running], Canceling)
        .await?;
    let backfill = find(store, id).await?;
    if !moved && !matches!(backfill.status, Canceling | Canceled) {
        return Err(BackfillError::WrongStatus {
            id,
            status: backfill.status,
            what: "only a REQUESTED or RUNNING backfill can be canceled",
        });
    }
    Ok(backfill)
}

/// Submits a CANCELED backfill's remaining chunks again (its canceled runs stay canceled:
/// [`retry_failed`] re-runs them).
pub async fn resume(store: &dyn RunStorage, id: BackfillId) -> Result<Backfill, BackfillError> {
    use BackfillStatus::*;
    if !store
        .set_backfill_status(id, &[Canceled], Requested)
        .await?
    {
        let backfill = find(store, id).await?;
        return Err(BackfillError::WrongStatus {
            id,
            status: backfill.status,
            what: "only a CANCELED backfill can be resumed",
        });
    }
    find(store, id).await
}

/// A child backfill of `id`'s chunks whose runs ended FAILURE or CANCELED, run the same way.
pub async fn retry_failed(
    store: &dyn RunStorage,
    id: BackfillId,
) -> Result<Backfill, BackfillError> {
    let parent = find(store, id).await?;
    if parent.status.is_active() {
        return Err(BackfillError::WrongStatus {
            id,
            status: parent.status,
            what: "wait until it ends (or cancel it) before retrying its failures",
        });
    }
    let mut chunks = store.backfill_failed_chunks(id).await?;
    if chunks.is_empty() {
        return Err(BackfillError::NothingFailed(id));
    }
    for (i, c) in chunks.iter_mut().enumerate() {
        c.position = u32::try_from(i).unwrap_or(u32::MAX);
    }
    let child = NewBackfill {
        id: BackfillId::new(),
        job: parent.job.clone(),
        mode: BackfillMode::Failed,
        step_selection: parent.step_selection.clone(),
        max_concurrent: parent.max_concurrent,
        parent: Some(id),
        chunks,
    };
    Ok(store.create_backfill(&child).await?)
}
