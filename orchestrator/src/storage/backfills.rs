//! Backfills (`backfills`, `backfill_chunks`, migration 0017): created with all their chunks in
//! one transaction; a chunk is submitted by [`BackfillStorage::submit_backfill_chunk`], which
//! claims it (`run_id IS NULL` → the new run's id) and creates its run in one transaction, so
//! two daemons never submit one chunk twice and a daemon killed at any point leaves either both
//! or neither. Status changes are conditional on the status the caller saw.

use async_trait::async_trait;

use super::StorageError;
use crate::domain::{
    Backfill, BackfillChunk, BackfillCounts, BackfillId, BackfillStatus, NewBackfill, NewRun,
    PartitionTargets, Run, RunId,
};

/// The backfill side of the store.
#[async_trait]
pub trait BackfillStorage: Send + Sync {
    /// Creates the backfill, REQUESTED, with its chunks.
    async fn create_backfill(&self, backfill: &NewBackfill) -> Result<Backfill, StorageError>;

    async fn get_backfill(&self, id: BackfillId) -> Result<Option<Backfill>, StorageError>;

    /// Backfills newest first, older than `before`, at most `limit` (1 to 500).
    async fn list_backfills(
        &self,
        before: Option<BackfillId>,
        limit: u32,
    ) -> Result<Vec<Backfill>, StorageError>;

    /// Backfills the daemon has work on (REQUESTED, RUNNING, CANCELING), oldest first.
    async fn active_backfills(&self) -> Result<Vec<Backfill>, StorageError>;

    /// Chunks not submitted, and submitted ones by their run's status.
    async fn backfill_counts(&self, id: BackfillId) -> Result<BackfillCounts, StorageError>;

    /// The next `limit` chunks not submitted yet, in submission order.
    async fn next_backfill_chunks(
        &self,
        id: BackfillId,
        limit: u32,
    ) -> Result<Vec<BackfillChunk>, StorageError>;

    /// Claims chunk `position` of `id` for `run` and creates the run (with `targets` in the
    /// partition status index), in one transaction; `None` (and nothing written) when the chunk
    /// was submitted already.
    async fn submit_backfill_chunk(
        &self,
        id: BackfillId,
        position: u32,
        run: &NewRun,
        targets: &PartitionTargets,
    ) -> Result<Option<Run>, StorageError>;

    /// Claims and creates each of `chunks` (position, run, targets) as
    /// [`Self::submit_backfill_chunk`] does, all in one transaction: each claim stays
    /// conditional, so a chunk submitted already (by another daemon) is skipped. The ids of
    /// the runs created, in the order given.
    async fn submit_backfill_chunks(
        &self,
        id: BackfillId,
        chunks: &[(u32, NewRun, PartitionTargets)],
    ) -> Result<Vec<RunId>, StorageError>;

    /// Moves `id` to `to` if its status is one of `from`; whether it moved.
    async fn set_backfill_status(
        &self,
        id: BackfillId,
        from: &[BackfillStatus],
        to: BackfillStatus,
    ) -> Result<bool, StorageError>;

    /// Its runs that have not ended.
    async fn backfill_runs_in_flight(&self, id: BackfillId) -> Result<Vec<RunId>, StorageError>;

    /// Its chunks whose run ended FAILURE or CANCELED, in submission order.
    async fn backfill_failed_chunks(
        &self,
        id: BackfillId,
    ) -> Result<Vec<BackfillChunk>, StorageError>;
}

/// A `backfills` row as read.
pub(crate) type BackfillTuple = (
    uuid::Uuid,
    String,
    String,
    String,
    Option<sqlx::types::Json<Vec<String>>>,
    i32,
    Option<uuid::Uuid>,
    i64,
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::Utc>,
);

/// The columns of a `backfills` row, in [`BackfillTuple`]'s order.
macro_rules! backfill_columns {
    () => {
        "id, job, status, mode, step_selection, max_concurrent, parent_id, partitions, \
         created_at, updated_at"
    };
}
pub(crate) use backfill_columns;

pub(crate) fn backfill_row(row: BackfillTuple) -> Result<Backfill, StorageError> {
    let (id, job, status, mode, selection, max_concurrent, parent, partitions, created, updated) =
        row;
    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
        StorageError::Corrupt(format!("backfill {id} {what}: {e}"))
    };
    let step_selection = selection
        .map(|sqlx::types::Json(keys)| {
            keys.iter()
                .map(|k| crate::domain::AssetKey::parse(k))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()
        .map_err(|e| corrupt("selection", &e))?;
    Ok(Backfill {
        id: BackfillId::from_uuid(id),
        job: crate::domain::JobName::parse(&job).map_err(|e| corrupt("job", &e))?,
        status: status.parse().map_err(|e| corrupt("status", &e))?,
        mode: mode.parse().map_err(|e| corrupt("mode", &e))?,
        step_selection,
        max_concurrent: u32::try_from(max_concurrent).unwrap_or(0),
        parent: parent.map(BackfillId::from_uuid),
        partitions: u64::try_from(partitions).unwrap_or(0),
        created_at: created,
        updated_at: updated,
    })
}

pub(crate) type ChunkTuple = (i32, String, String, i32);

pub(crate) fn chunk_row((position, start, end, keys): ChunkTuple) -> BackfillChunk {
    BackfillChunk {
        position: u32::try_from(position).unwrap_or(0),
        start,
        end,
        keys: u32::try_from(keys).unwrap_or(0),
    }
}

/// Implements [`BackfillStorage`] for `$store`; expanded beside `shared_storage!`, whose
/// `insert_run` and `begin_partition_status` it uses.
macro_rules! shared_backfill_storage {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::BackfillStorage for $store {
            async fn create_backfill(
                &self,
                backfill: &$crate::domain::NewBackfill,
            ) -> Result<$crate::domain::Backfill, $crate::storage::StorageError> {
                use $crate::storage::backfills::{BackfillTuple, backfill_row};
                let now = $crate::storage::rows::now();
                let partitions: i64 = backfill.chunks.iter().map(|c| i64::from(c.keys)).sum();
                let selection = backfill.step_selection.as_ref().map(|keys| {
                    sqlx::types::Json(
                        keys.iter()
                            .map(|k| k.as_str().to_owned())
                            .collect::<Vec<_>>(),
                    )
                });
                let mut tx = self.pool.begin().await?;
                let sql = concat!(
                    "INSERT INTO backfills (id, job, status, mode, step_selection, max_concurrent, \
                     parent_id, partitions, created_at, updated_at) \
                     VALUES ($1, $2, 'REQUESTED', $3, $4, $5, $6, $7, $8, $8) RETURNING ",
                    $crate::storage::backfills::backfill_columns!()
                );
                let row: BackfillTuple = sqlx::query_as(sql)
                    .bind(backfill.id.as_uuid())
                    .bind(backfill.job.as_str())
                    .bind(backfill.mode.as_str())
                    .bind(selection)
                    .bind(i32::try_from(backfill.max_concurrent).unwrap_or(i32::MAX))
                    .bind(backfill.parent.map(|p| p.as_uuid()))
                    .bind(partitions)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                // 5 binds a row: 1 000 rows a statement stay under either database's limit.
                for chunk in backfill.chunks.chunks(1_000) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO backfill_chunks (backfill_id, position, range_start, \
                         range_end, keys) ",
                    );
                    q.push_values(chunk, |mut b, c| {
                        b.push_bind(backfill.id.as_uuid())
                            .push_bind(i32::try_from(c.position).unwrap_or(i32::MAX))
                            .push_bind(c.start.clone())
                            .push_bind(c.end.clone())
                            .push_bind(i32::try_from(c.keys).unwrap_or(i32::MAX));
                    });
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                backfill_row(row)
            }

            async fn get_backfill(
                &self,
                id: $crate::domain::BackfillId,
            ) -> Result<Option<$crate::domain::Backfill>, $crate::storage::StorageError> {
                use $crate::storage::backfills::{BackfillTuple, backfill_row};
                let sql = concat!(
                    "SELECT ",
                    $crate::storage::backfills::backfill_columns!(),
                    " FROM backfills WHERE id = $1"
                );
                let row: Option<BackfillTuple> = sqlx::query_as(sql)
                    .bind(id.as_uuid())
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(backfill_row).transpose()
            }

            async fn list_backfills(
                &self,
                before: Option<$crate::domain::BackfillId>,
                limit: u32,
            ) -> Result<Vec<$crate::domain::Backfill>, $crate::storage::StorageError> {
                use $crate::storage::backfills::{BackfillTuple, backfill_row};
                let sql = concat!(
                    "SELECT ",
                    $crate::storage::backfills::backfill_columns!(),
                    " FROM backfills WHERE ($1 IS NULL OR id < $1) \
                     ORDER BY id DESC LIMIT $2"
                );
                let rows: Vec<BackfillTuple> = sqlx::query_as(sql)
                    .bind(before.map(|b| b.as_uuid()))
                    .bind(i64::from(limit.clamp(1, 500)))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(backfill_row).collect()
            }

            async fn active_backfills(
                &self,
            ) -> Result<Vec<$crate::domain::Backfill>, $crate::storage::StorageError> {
                use $crate::storage::backfills::{BackfillTuple, backfill_row};
                let sql = concat!(
                    "SELECT ",
                    $crate::storage::backfills::backfill_columns!(),
                    " FROM backfills \
                     WHERE status IN ('REQUESTED', 'RUNNING', 'CANCELING') ORDER BY id"
                );
                let rows: Vec<BackfillTuple> = sqlx::query_as(sql).fetch_all(&self.pool).await?;
                rows.into_iter().map(backfill_row).collect()
            }

            async fn backfill_counts(
                &self,
                id: $crate::domain::BackfillId,
            ) -> Result<$crate::domain::BackfillCounts, $crate::storage::StorageError> {
                let rows: Vec<(Option<String>, i64)> = sqlx::query_as(
                    "SELECT r.status, COUNT(*) FROM backfill_chunks c \
                     LEFT JOIN runs r ON r.id = c.run_id \
                     WHERE c.backfill_id = $1 GROUP BY r.status",
                )
                .bind(id.as_uuid())
                .fetch_all(&self.pool)
                .await?;
                let mut counts = $crate::domain::BackfillCounts::default();
                for (status, n) in rows {
                    let n = u64::try_from(n).unwrap_or(0);
                    match status {
                        None => counts.pending += n,
                        Some(s) => {
                            let s: $crate::domain::RunStatus = s.parse().map_err(|e| {
                                $crate::storage::StorageError::Corrupt(format!(
                                    "backfill {id}: {e}"
                                ))
                            })?;
                            *counts.runs.entry(s).or_default() += n;
                        }
                    }
                }
                Ok(counts)
            }

            async fn next_backfill_chunks(
                &self,
                id: $crate::domain::BackfillId,
                limit: u32,
            ) -> Result<Vec<$crate::domain::BackfillChunk>, $crate::storage::StorageError> {
                use $crate::storage::backfills::{ChunkTuple, chunk_row};
                let rows: Vec<ChunkTuple> = sqlx::query_as(
                    "SELECT position, range_start, range_end, keys FROM backfill_chunks \
                     WHERE backfill_id = $1 AND run_id IS NULL ORDER BY position LIMIT $2",
                )
                .bind(id.as_uuid())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(chunk_row).collect())
            }

            async fn submit_backfill_chunk(
                &self,
                id: $crate::domain::BackfillId,
                position: u32,
                run: &$crate::domain::NewRun,
                targets: &$crate::domain::PartitionTargets,
            ) -> Result<Option<$crate::domain::Run>, $crate::storage::StorageError> {
                let mut tx = self.pool.begin().await?;
                // The claim first: it takes the row lock (SQLite: the write lock), so a second
                // daemon waits here and then finds run_id set.
                let claimed = sqlx::query(
                    "UPDATE backfill_chunks SET run_id = $1 \
                     WHERE backfill_id = $2 AND position = $3 AND run_id IS NULL",
                )
                .bind(run.id.as_uuid())
                .bind(id.as_uuid())
                .bind(i32::try_from(position).unwrap_or(i32::MAX))
                .execute(&mut *tx)
                .await?;
                if claimed.rows_affected() == 0 {
                    return Ok(None);
                }
                let row = insert_run(&mut tx, run).await?;
                begin_partition_status(&mut tx, run.job.as_str(), run.id, targets).await?;
                tx.commit().await?;
                self.changed($crate::storage::Change::Run(run.id, run.status));
                row.try_into().map(Some)
            }

            async fn submit_backfill_chunks(
                &self,
                id: $crate::domain::BackfillId,
                chunks: &[(
                    u32,
                    $crate::domain::NewRun,
                    $crate::domain::PartitionTargets,
                )],
            ) -> Result<Vec<$crate::domain::RunId>, $crate::storage::StorageError> {
                let mut tx = self.pool.begin().await?;
                let mut created = Vec::new();
                for (position, run, targets) in chunks {
                    // Each claim takes its row lock (SQLite: the write lock) before the run is
                    // made, as in `submit_backfill_chunk`.
                    let claimed = sqlx::query(
                        "UPDATE backfill_chunks SET run_id = $1 \
                         WHERE backfill_id = $2 AND position = $3 AND run_id IS NULL",
                    )
                    .bind(run.id.as_uuid())
                    .bind(id.as_uuid())
                    .bind(i32::try_from(*position).unwrap_or(i32::MAX))
                    .execute(&mut *tx)
                    .await?;
                    if claimed.rows_affected() == 0 {
                        continue;
                    }
                    insert_run(&mut tx, run).await?;
                    begin_partition_status(&mut tx, run.job.as_str(), run.id, targets).await?;
                    created.push((run.id, run.status));
                }
                tx.commit().await?;
                for (run, status) in &created {
                    self.changed($crate::storage::Change::Run(*run, *status));
                }
                Ok(created.into_iter().map(|(run, _)| run).collect())
            }

            async fn set_backfill_status(
                &self,
                id: $crate::domain::BackfillId,
                from: &[$crate::domain::BackfillStatus],
                to: $crate::domain::BackfillStatus,
            ) -> Result<bool, $crate::storage::StorageError> {
                let Some(first) = from.first() else {
                    return Ok(false);
                };
                let pick = |i: usize| from.get(i).unwrap_or(first).as_str();
                let done = sqlx::query(
                    "UPDATE backfills SET status = $1, updated_at = $2 \
                     WHERE id = $3 AND status IN ($4, $5, $6)",
                )
                .bind(to.as_str())
                .bind($crate::storage::rows::now())
                .bind(id.as_uuid())
                .bind(pick(0))
                .bind(pick(1))
                .bind(pick(2))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn backfill_runs_in_flight(
                &self,
                id: $crate::domain::BackfillId,
            ) -> Result<Vec<$crate::domain::RunId>, $crate::storage::StorageError> {
                let ids: Vec<(uuid::Uuid,)> = sqlx::query_as(
                    "SELECT r.id FROM backfill_chunks c JOIN runs r ON r.id = c.run_id \
                     WHERE c.backfill_id = $1 \
                     AND r.status NOT IN ('SUCCESS', 'FAILURE', 'CANCELED') ORDER BY r.id",
                )
                .bind(id.as_uuid())
                .fetch_all(&self.pool)
                .await?;
                Ok(ids
                    .into_iter()
                    .map(|(u,)| $crate::domain::RunId::from_uuid(u))
                    .collect())
            }

            async fn backfill_failed_chunks(
                &self,
                id: $crate::domain::BackfillId,
            ) -> Result<Vec<$crate::domain::BackfillChunk>, $crate::storage::StorageError> {
                use $crate::storage::backfills::{ChunkTuple, chunk_row};
                let rows: Vec<ChunkTuple> = sqlx::query_as(
                    "SELECT c.position, c.range_start, c.range_end, c.keys FROM backfill_chunks c \
                     JOIN runs r ON r.id = c.run_id \
                     WHERE c.backfill_id = $1 AND r.status IN ('FAILURE', 'CANCELED') \
                     ORDER BY c.position",
                )
                .bind(id.as_uuid())
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(chunk_row).collect())
            }
        }
    };
}

pub(crate) use shared_backfill_storage;
