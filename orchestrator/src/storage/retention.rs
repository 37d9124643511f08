//! Retention: deleting finished runs with their events and tags, a small batch at a time, so the
//! store does not grow forever (Dagster keeps `event_logs` for ever). The SQL is shared by both
//! backends (`shared_retention_storage!`).
//!
//! Every statement is short: a batch selects at most `batch_size` run ids, deletes their events
//! in chunks of [`EVENT_CHUNK`] rows, each chunk its own statement, then deletes the tags and run
//! rows of the batch in one small transaction. A run with millions of events therefore never
//! holds a lock for long, and other writers interleave between chunks. Only terminal runs are
//! touched: a terminal status never changes, so a run selected for deletion cannot come back to
//! life while its events go.
//!
//! The asset catalog (`assets`) keeps each asset's latest materialization even when the run
//! that produced it is pruned: it is a summary, not history.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StorageError;
use crate::domain::RunStatus;

/// The most events one delete statement removes.
pub const EVENT_CHUNK: u32 = 5_000;

/// The most runs one batch deletes, whatever is asked: the batch's ids are bound one by one, and
/// both databases cap the number of bound values of a statement.
pub const MAX_BATCH: u32 = 1_000;

/// The store's side of retention.
#[async_trait]
pub trait RetentionStorage: Send + Sync {
    /// Deletes one batch: at most `batch_size` (capped at [`MAX_BATCH`]) runs (oldest first) that ended in `status`
    /// before `ended_before`, with their events and tags. Returns how many runs were deleted;
    /// call again until it returns less than `batch_size`. A `status` that is not terminal is
    /// refused with [`StorageError::NotTerminal`].
    async fn prune_runs(
        &self,
        status: RunStatus,
        ended_before: DateTime<Utc>,
        batch_size: u32,
    ) -> Result<u64, StorageError>;

    /// How many runs [`RetentionStorage::prune_runs`] would delete, over all its batches.
    async fn count_prunable_runs(
        &self,
        status: RunStatus,
        ended_before: DateTime<Utc>,
    ) -> Result<u64, StorageError>;
}

/// Refuses a status whose runs may still change.
pub(crate) fn check_terminal(status: RunStatus) -> Result<(), StorageError> {
    if status.is_terminal() {
        Ok(())
    } else {
        Err(StorageError::NotTerminal(status))
    }
}

/// Implements [`RetentionStorage`] for `$store` (a struct with a `pool: sqlx::Pool<$db>` field).
///
/// `ended_at < $2` compares timestamps on PostgreSQL and RFC 3339 text on SQLite; the text
/// compares in time order because every stored value is UTC written as `+00:00`, and a shorter
/// fraction (`…:05+00:00`, `…:05.1+00:00`) sorts before a longer one with the same prefix.
macro_rules! shared_retention_storage {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::RetentionStorage for $store {
            async fn prune_runs(
                &self,
                status: $crate::domain::RunStatus,
                ended_before: chrono::DateTime<chrono::Utc>,
                batch_size: u32,
            ) -> Result<u64, $crate::storage::StorageError> {
                $crate::storage::retention::check_terminal(status)?;
                let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
                    "SELECT id FROM runs WHERE status = $1 AND ended_at < $2 ORDER BY id LIMIT $3",
                )
                .bind(status.as_str())
                .bind($crate::storage::rows::micros(ended_before))
                .bind(i64::from(batch_size.clamp(1, $crate::storage::retention::MAX_BATCH)))
                .fetch_all(&self.pool)
                .await?;
                if ids.is_empty() {
                    return Ok(0);
                }
                let chunk = i64::from($crate::storage::retention::EVENT_CHUNK);
                for id in &ids {
                    loop {
                        let deleted = sqlx::query(
                            "DELETE FROM events WHERE id IN \
                             (SELECT id FROM events WHERE run_id = $1 ORDER BY id LIMIT $2)",
                        )
                        .bind(id)
                        .bind(chunk)
                        .execute(&self.pool)
                        .await?
                        .rows_affected();
                        if deleted < chunk as u64 {
                            break;
                        }
                    }
                }
                // Tags first, explicitly: the foreign keys cascade too, but the rows go whether
                // or not a connection has SQLite's foreign_keys pragma on. The status check keeps
                // the statement safe on its own (a terminal status never changes anyway).
                let mut tx = self.pool.begin().await?;
                let mut tags = sqlx::QueryBuilder::<$db>::new(
                    "DELETE FROM run_tags WHERE run_id IN (SELECT id FROM runs WHERE status = ",
                );
                tags.push_bind(status.as_str()).push(" AND id IN (");
                let mut list = tags.separated(", ");
                for id in &ids {
                    list.push_bind(*id);
                }
                tags.push("))");
                tags.build().execute(&mut *tx).await?;
                let mut runs = sqlx::QueryBuilder::<$db>::new("DELETE FROM runs WHERE status = ");
                runs.push_bind(status.as_str()).push(" AND id IN (");
                let mut list = runs.separated(", ");
                for id in &ids {
                    list.push_bind(*id);
                }
                runs.push(")");
                let deleted = runs.build().execute(&mut *tx).await?.rows_affected();
                tx.commit().await?;
                Ok(deleted)
            }

            async fn count_prunable_runs(
                &self,
                status: $crate::domain::RunStatus,
                ended_before: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::storage::StorageError> {
                $crate::storage::retention::check_terminal(status)?;
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM runs WHERE status = $1 AND ended_at < $2",
                )
                .bind(status.as_str())
                .bind($crate::storage::rows::micros(ended_before))
                .fetch_one(&self.pool)
                .await?;
                Ok(n.max(0) as u64)
            }
        }
    };
}

pub(crate) use shared_retention_storage;
