//! Daemon replicas and the leases on their claims (`daemons`, `runs.claimed_by`, migration
//! 0015): registration, heartbeats, and the take-over of a dead replica's claimed runs by one
//! conditional update per run, so two live replicas never both take the same run. The SQL is
//! shared by both backends (`shared_daemon_storage!`).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::FromRow;
use uuid::Uuid;

use super::StorageError;
use crate::domain::{DaemonId, DaemonInfo, Run, RunId};

/// Registrations whose heartbeat is older than this are deleted when a daemon registers: the
/// instance page shows recently dead replicas, not every one that ever ran.
pub const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The daemons' side of the store.
#[async_trait]
pub trait DaemonStorage: Send + Sync {
    /// Registers daemon `id` (heartbeat now), forgetting long-dead registrations.
    async fn register_daemon(&self, id: DaemonId, host: &str, pid: u32)
    -> Result<(), StorageError>;

    /// Beats `id`'s heartbeat; `false` when it is not registered (forgotten: register again).
    async fn beat_daemon(&self, id: DaemonId) -> Result<bool, StorageError>;

    /// Records what the daemon last did, for the instance page.
    async fn record_daemon_action(&self, id: DaemonId, action: &str) -> Result<(), StorageError>;

    /// Removes `id` (a clean shutdown).
    async fn deregister_daemon(&self, id: DaemonId) -> Result<(), StorageError>;

    /// Every registered daemon, oldest start first.
    async fn list_daemons(&self) -> Result<Vec<DaemonInfo>, StorageError>;

    /// Runs STARTING without a worker whose claimer's heartbeat is older than `lease` (or who is
    /// no longer registered), oldest first, with their claimer.
    async fn orphaned_claims(
        &self,
        lease: Duration,
    ) -> Result<Vec<(RunId, DaemonId)>, StorageError>;

    /// Moves the claim of `run` from `from` to `to` if it is still `from`'s, still STARTING and
    /// still without a worker (its start timeout restarts); the run if this call took it.
    async fn take_over_claim(
        &self,
        run: RunId,
        from: DaemonId,
        to: DaemonId,
    ) -> Result<Option<Run>, StorageError>;

    /// Records the worker handle only while `claimer` holds the run's claim; `false` when the
    /// claim moved to another replica meanwhile (which launches its own worker).
    async fn set_worker_as(
        &self,
        run: RunId,
        worker: &Value,
        claimer: DaemonId,
    ) -> Result<bool, StorageError>;
}

#[derive(Debug, FromRow)]
pub(crate) struct DaemonRow {
    id: Uuid,
    host: String,
    pid: i64,
    started_at: DateTime<Utc>,
    heartbeat_at: DateTime<Utc>,
    last_action: Option<String>,
    last_action_at: Option<DateTime<Utc>>,
}

impl From<DaemonRow> for DaemonInfo {
    fn from(row: DaemonRow) -> Self {
        Self {
            id: DaemonId::from_uuid(row.id),
            host: row.host,
            pid: u32::try_from(row.pid).unwrap_or_default(),
            started_at: row.started_at,
            heartbeat_at: row.heartbeat_at,
            last_action: row.last_action,
            last_action_at: row.last_action_at,
        }
    }
}

pub(crate) fn cutoff(age: Duration) -> DateTime<Utc> {
    super::rows::now() - chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX)
}

/// Implements [`DaemonStorage`] for `$store` (a struct with a `pool: sqlx::Pool<$db>` field and
/// a `changed(Change)` method).
macro_rules! shared_daemon_storage {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::DaemonStorage for $store {
            async fn register_daemon(
                &self,
                id: $crate::domain::DaemonId,
                host: &str,
                pid: u32,
            ) -> Result<(), $crate::storage::StorageError> {
                let now = $crate::storage::rows::now();
                sqlx::query("DELETE FROM daemons WHERE heartbeat_at < $1")
                    .bind($crate::storage::daemons::cutoff(
                        $crate::storage::daemons::FORGET_AFTER,
                    ))
                    .execute(&self.pool)
                    .await?;
                sqlx::query(
                    "INSERT INTO daemons (id, host, pid, started_at, heartbeat_at) \
                     VALUES ($1, $2, $3, $4, $4)",
                )
                .bind(id.as_uuid())
                .bind(host)
                .bind(i64::from(pid))
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn beat_daemon(
                &self,
                id: $crate::domain::DaemonId,
            ) -> Result<bool, $crate::storage::StorageError> {
                let done = sqlx::query("UPDATE daemons SET heartbeat_at = $1 WHERE id = $2")
                    .bind($crate::storage::rows::now())
                    .bind(id.as_uuid())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn record_daemon_action(
                &self,
                id: $crate::domain::DaemonId,
                action: &str,
            ) -> Result<(), $crate::storage::StorageError> {
                sqlx::query(
                    "UPDATE daemons SET last_action = $1, last_action_at = $2 WHERE id = $3",
                )
                .bind(action)
                .bind($crate::storage::rows::now())
                .bind(id.as_uuid())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn deregister_daemon(
                &self,
                id: $crate::domain::DaemonId,
            ) -> Result<(), $crate::storage::StorageError> {
                sqlx::query("DELETE FROM daemons WHERE id = $1")
                    .bind(id.as_uuid())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn list_daemons(
                &self,
            ) -> Result<Vec<$crate::domain::DaemonInfo>, $crate::storage::StorageError> {
                let rows: Vec<$crate::storage::daemons::DaemonRow> = sqlx::query_as(
                    "SELECT id, host, pid, started_at, heartbeat_at, last_action, last_action_at \
                     FROM daemons ORDER BY started_at, id",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn orphaned_claims(
                &self,
                lease: std::time::Duration,
            ) -> Result<
                Vec<($crate::domain::RunId, $crate::domain::DaemonId)>,
                $crate::storage::StorageError,
            > {
                let rows: Vec<(uuid::Uuid, uuid::Uuid)> = sqlx::query_as(
                    "SELECT r.id, r.claimed_by FROM runs r \
                     LEFT JOIN daemons d ON d.id = r.claimed_by \
                     WHERE r.status = 'STARTING' AND r.worker IS NULL \
                     AND r.claimed_by IS NOT NULL \
                     AND (d.id IS NULL OR d.heartbeat_at < $1) \
                     ORDER BY r.id",
                )
                .bind($crate::storage::daemons::cutoff(lease))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(run, daemon)| {
                        (
                            $crate::domain::RunId::from_uuid(run),
                            $crate::domain::DaemonId::from_uuid(daemon),
                        )
                    })
                    .collect())
            }

            async fn take_over_claim(
                &self,
                run: $crate::domain::RunId,
                from: $crate::domain::DaemonId,
                to: $crate::domain::DaemonId,
            ) -> Result<Option<$crate::domain::Run>, $crate::storage::StorageError> {
                let row: Option<$crate::storage::rows::RunRow> = sqlx::query_as(concat!(
                    "UPDATE runs SET claimed_by = $1, updated_at = $2 \
                     WHERE id = $3 AND claimed_by = $4 AND status = 'STARTING' \
                     AND worker IS NULL RETURNING ",
                    $crate::storage::rows::run_columns!()
                ))
                .bind(to.as_uuid())
                .bind($crate::storage::rows::now())
                .bind(run.as_uuid())
                .bind(from.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn set_worker_as(
                &self,
                run: $crate::domain::RunId,
                worker: &serde_json::Value,
                claimer: $crate::domain::DaemonId,
            ) -> Result<bool, $crate::storage::StorageError> {
                let done = sqlx::query(
                    "UPDATE runs SET worker = $1 WHERE id = $2 \
                     AND (claimed_by = $3 OR claimed_by IS NULL)",
                )
                .bind($crate::storage::rows::payload(worker))
                .bind(run.as_uuid())
                .bind(claimer.as_uuid())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use shared_daemon_storage;
