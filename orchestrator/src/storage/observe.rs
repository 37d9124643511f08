//! What observability needs of the store: the runs that ended since a moment (the daemon's
//! metrics follow them), a run's step events (step durations), the run's trace context, and the
//! connection pool's usage. The SQL is shared by both backends (`shared_observe_storage!`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StorageError;
use crate::domain::{Run, RunId};

/// The most runs one [`ObserveStorage::list_runs_ended_since`] call returns.
pub const MAX_ENDED_PAGE: u32 = 1_000;

/// How the process's database connections are used, at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open (idle or in use).
    pub size: u32,
    /// Open connections nobody uses.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

/// The store's side of metrics and traces.
#[async_trait]
pub trait ObserveStorage: Send + Sync {
    /// Runs whose `ended_at` is at or after `since`, by `ended_at` then id, at most `limit`
    /// (capped at [`MAX_ENDED_PAGE`]).
    async fn list_runs_ended_since(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Run>, StorageError>;

    /// Records the W3C `traceparent` of the run's trace.
    async fn set_trace_parent(&self, run: RunId, traceparent: &str) -> Result<(), StorageError>;

    /// The run's recorded `traceparent`, if any.
    async fn trace_parent(&self, run: RunId) -> Result<Option<String>, StorageError>;

    /// The connection pool's usage now.
    fn pool_stats(&self) -> PoolStats;
}

/// Implements [`ObserveStorage`] for `$store` (a struct with a `pool: sqlx::Pool<$db>` field).
/// `ended_at >= $1` compares timestamps on PostgreSQL and RFC 3339 UTC text on SQLite, which
/// sorts in time order (see `shared_retention_storage!`).
macro_rules! shared_observe_storage {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::ObserveStorage for $store {
            async fn list_runs_ended_since(
                &self,
                since: chrono::DateTime<chrono::Utc>,
                limit: u32,
            ) -> Result<Vec<$crate::domain::Run>, $crate::storage::StorageError> {
                use $crate::storage::rows::RunRow;
                let rows: Vec<RunRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    $crate::storage::rows::run_columns!(),
                    " FROM runs WHERE ended_at >= $1 ORDER BY ended_at, id LIMIT $2"
                ))
                .bind($crate::storage::rows::micros(since))
                .bind(i64::from(
                    limit.clamp(1, $crate::storage::observe::MAX_ENDED_PAGE),
                ))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn set_trace_parent(
                &self,
                run: $crate::domain::RunId,
                traceparent: &str,
            ) -> Result<(), $crate::storage::StorageError> {
                let done = sqlx::query("UPDATE runs SET trace_parent = $1 WHERE id = $2")
                    .bind(traceparent)
                    .bind(run.as_uuid())
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::storage::StorageError::RunNotFound(run));
                }
                Ok(())
            }

            async fn trace_parent(
                &self,
                run: $crate::domain::RunId,
            ) -> Result<Option<String>, $crate::storage::StorageError> {
                let row: Option<(Option<String>,)> =
                    sqlx::query_as("SELECT trace_parent FROM runs WHERE id = $1")
                        .bind(run.as_uuid())
                        .fetch_optional(&self.pool)
                        .await?;
                match row {
                    Some((traceparent,)) => Ok(traceparent),
                    None => Err($crate::storage::StorageError::RunNotFound(run)),
                }
            }

            fn pool_stats(&self) -> $crate::storage::PoolStats {
                $crate::storage::PoolStats {
                    size: self.pool.size(),
                    idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
                    max: self.pool.options().get_max_connections(),
                }
            }
        }
    };
}
pub(crate) use shared_observe_storage;
