//! What the daemon needs of the store beyond runs and events: claiming queued runs under
//! concurrency limits, the launcher's handle on a worker, heartbeats, the runs in progress, and
//! change notifications. The SQL is shared by both backends (`shared_queue_storage!`).

use async_trait::async_trait;
use serde_json::Value;

use super::StorageError;
use super::changes::Changes;
use crate::domain::{DaemonId, QueueLimits, Run, RunId, RunStatus};

/// How many queued runs one claim looks at, oldest first. Runs a tag limit blocks are passed
/// over, so a long queue of blocked runs cannot hide startable ones behind it.
pub const CLAIM_SCAN: u32 = 1_000;

/// The daemon's side of the store.
#[async_trait]
pub trait QueueStorage: Send + Sync {
    /// Moves the oldest queued runs that the limits allow to STARTING (each with its
    /// `RUN_STARTING` event), in one transaction that claimers in every process take in turn:
    /// two daemon replicas never claim the same run, and never overrun a limit together. Each
    /// claimed run records `claimer`, whose lease covers it until it has a worker.
    async fn claim_queued_runs(
        &self,
        limits: &QueueLimits,
        claimer: DaemonId,
    ) -> Result<Vec<Run>, StorageError>;

    /// Records the launcher's handle on the run's worker.
    async fn set_worker(&self, run: RunId, worker: &Value) -> Result<(), StorageError>;

    /// Records a heartbeat of the run's worker and returns the run's status, so a worker learns
    /// of a cancellation even when no signal reaches it.
    async fn heartbeat(&self, run: RunId) -> Result<RunStatus, StorageError>;

    /// Runs STARTING, STARTED or CANCELING, oldest first.
    async fn list_active_runs(&self) -> Result<Vec<Run>, StorageError>;

    /// How many runs are in each status that is not terminal (QUEUED, STARTING, STARTED,
    /// CANCELING); statuses with none are left out.
    async fn count_unfinished(&self) -> Result<Vec<(RunStatus, u64)>, StorageError>;

    /// Change notifications from now on. On PostgreSQL the first call waits (up to 5 s) until
    /// the process's listener is connected, so no change made after the call is missed.
    async fn subscribe(&self) -> Changes;
}

/// The statuses of runs in progress (holding a slot of the queue), as SQL.
macro_rules! in_progress {
    () => {
        "('STARTING', 'STARTED', 'CANCELING')"
    };
}
pub(crate) use in_progress;

/// Implements [`QueueStorage`] for `$store` (same requirements as `shared_storage!`, whose
/// helpers it calls, plus an inherent `async fn subscribe_changes(&self) -> Changes`).
macro_rules! shared_queue_storage {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::QueueStorage for $store {
            async fn claim_queued_runs(
                &self,
                limits: &$crate::domain::QueueLimits,
                claimer: $crate::domain::DaemonId,
            ) -> Result<Vec<$crate::domain::Run>, $crate::storage::StorageError> {
                use $crate::domain::{InProgress, RunStatus, TagKey};
                use $crate::storage::rows::RunRow;
                let mut tx = self.pool.begin().await?;
                // The lock row serializes claimers across processes (PostgreSQL: a row lock
                // held to commit; SQLite: the write lock). Counting and claiming under it keeps
                // the limits exact; FOR UPDATE SKIP LOCKED alone would let two claimers each
                // see a free slot.
                sqlx::query("UPDATE run_queue_lock SET claimed_at = $1 WHERE id = 1")
                    .bind($crate::storage::rows::now())
                    .execute(&mut *tx)
                    .await?;
                let queued: Vec<RunRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    $crate::storage::rows::run_columns!(),
                    " FROM runs WHERE status = 'QUEUED' ORDER BY id LIMIT $1"
                ))
                .bind(i64::from($crate::storage::queue::CLAIM_SCAN))
                .fetch_all(&mut *tx)
                .await?;
                if queued.is_empty() {
                    tx.rollback().await?;
                    return Ok(Vec::new());
                }
                let queued: Vec<$crate::domain::Run> = queued
                    .into_iter()
                    .map(TryInto::try_into)
                    .collect::<Result<_, _>>()?;
                let total: i64 = sqlx::query_scalar(concat!(
                    "SELECT count(*) FROM runs WHERE status IN ",
                    $crate::storage::queue::in_progress!()
                ))
                .fetch_one(&mut *tx)
                .await?;
                let mut in_progress = InProgress {
                    total: total.max(0) as u64,
                    ..InProgress::default()
                };
                let keys = limits.limited_keys();
                if !keys.is_empty() {
                    let mut q = sqlx::QueryBuilder::<$db>::new(concat!(
                        "SELECT t.key, t.value, count(*) FROM run_tags t JOIN runs r \
                         ON r.id = t.run_id WHERE r.status IN ",
                        $crate::storage::queue::in_progress!(),
                        " AND t.key IN ("
                    ));
                    let mut list = q.separated(", ");
                    for key in &keys {
                        list.push_bind(key.as_str().to_owned());
                    }
                    q.push(") GROUP BY t.key, t.value");
                    let rows: Vec<(String, String, i64)> =
                        q.build_query_as().fetch_all(&mut *tx).await?;
                    for (key, value, count) in rows {
                        let key = TagKey::parse(&key).map_err(|e| {
                            $crate::storage::StorageError::Corrupt(format!("run tag: {e}"))
                        })?;
                        in_progress.by_tag.insert((key, value), count.max(0) as u64);
                    }
                }
                let mut claimed = Vec::new();
                for id in limits.plan(&queued, &in_progress) {
                    let row = transition_in_tx(&mut tx, id, RunStatus::Starting, None, &[]).await?;
                    sqlx::query("UPDATE runs SET claimed_by = $1 WHERE id = $2")
                        .bind(claimer.as_uuid())
                        .bind(id.as_uuid())
                        .execute(&mut *tx)
                        .await?;
                    claimed.push($crate::domain::Run::try_from(row)?);
                }
                tx.commit().await?;
                for run in &claimed {
                    self.changed($crate::storage::Change::Run(run.id, run.status));
                }
                Ok(claimed)
            }

            async fn set_worker(
                &self,
                run: $crate::domain::RunId,
                worker: &serde_json::Value,
            ) -> Result<(), $crate::storage::StorageError> {
                let done = sqlx::query("UPDATE runs SET worker = $1 WHERE id = $2")
                    .bind($crate::storage::rows::payload(worker))
                    .bind(run.as_uuid())
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::storage::StorageError::RunNotFound(run));
                }
                Ok(())
            }

            async fn heartbeat(
                &self,
                run: $crate::domain::RunId,
            ) -> Result<$crate::domain::RunStatus, $crate::storage::StorageError> {
                let status: Option<String> = sqlx::query_scalar(
                    "UPDATE runs SET heartbeat_at = $1 WHERE id = $2 RETURNING status",
                )
                .bind($crate::storage::rows::now())
                .bind(run.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
                let status = status.ok_or($crate::storage::StorageError::RunNotFound(run))?;
                status.parse().map_err(|e| {
                    $crate::storage::StorageError::Corrupt(format!("run {run} status: {e}"))
                })
            }

            async fn list_active_runs(
                &self,
            ) -> Result<Vec<$crate::domain::Run>, $crate::storage::StorageError> {
                let rows: Vec<$crate::storage::rows::RunRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    $crate::storage::rows::run_columns!(),
                    " FROM runs WHERE status IN ",
                    $crate::storage::queue::in_progress!(),
                    " ORDER BY id"
                ))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn count_unfinished(
                &self,
            ) -> Result<Vec<($crate::domain::RunStatus, u64)>, $crate::storage::StorageError> {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT status, count(*) FROM runs \
                     WHERE status IN ('QUEUED', 'STARTING', 'STARTED', 'CANCELING') \
                     GROUP BY status ORDER BY status",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(status, n)| {
                        let status = status.parse().map_err(|e| {
                            $crate::storage::StorageError::Corrupt(format!("run status: {e}"))
                        })?;
                        Ok((status, n.max(0) as u64))
                    })
                    .collect()
            }

            async fn subscribe(&self) -> $crate::storage::Changes {
                self.subscribe_changes().await
            }
        }
    };
}

pub(crate) use shared_queue_storage;
