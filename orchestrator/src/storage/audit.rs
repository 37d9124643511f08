//! The audit log (`audit_log`, migration 0021): one record per mutation — who, what, on what,
//! when and from where — appended by the web server and the CLI, listed newest first a page at
//! a time, pruned by age with the ticks (`daemon::retention`). The SQL is shared by both
//! backends (`shared_audit_storage!`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StorageError;

/// A mutation to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditRecord {
    /// Who: a token's name, `sso:<user>`, `cli`, `anonymous`.
    pub who: String,
    /// What: `launch`, `cancel`, `reexecute`, `schedule.on`, `sensor.off`, `reload`, `prune`, …
    pub action: String,
    /// On what: a job, a run id, a schedule's or a sensor's name (empty when none).
    pub target: String,
    /// From where: the client's address, or `cli`.
    pub client: String,
}

/// A recorded mutation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub who: String,
    pub action: String,
    pub target: String,
    pub client: String,
}

/// The most records one listing returns.
pub const MAX_AUDIT_PAGE: u32 = 1000;

/// The audit side of the store.
#[async_trait]
pub trait AuditStorage: Send + Sync {
    /// Appends `record`, stamped now.
    async fn record_audit(&self, record: &NewAuditRecord) -> Result<AuditRecord, StorageError>;

    /// Records newest first, older than the record `before` (from the newest when `None`), at
    /// most `limit` (clamped to 1..=[`MAX_AUDIT_PAGE`]).
    async fn list_audit(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StorageError>;

    /// Deletes up to `batch_size` records made before `before`; returns how many.
    async fn prune_audit(
        &self,
        before: DateTime<Utc>,
        batch_size: u32,
    ) -> Result<u64, StorageError>;
}

/// Implements [`AuditStorage`] for `$store` (a struct with a `pool: sqlx::Pool<$db>` field).
macro_rules! shared_audit_storage {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::AuditStorage for $store {
            async fn record_audit(
                &self,
                record: &$crate::storage::audit::NewAuditRecord,
            ) -> Result<$crate::storage::audit::AuditRecord, $crate::storage::StorageError> {
                Ok(sqlx::query_as(
                    "INSERT INTO audit_log (at, who, action, target, client) \
                     VALUES ($1, $2, $3, $4, $5) \
                     RETURNING id, at, who, action, target, client",
                )
                .bind($crate::storage::rows::now())
                .bind(&record.who)
                .bind(&record.action)
                .bind(&record.target)
                .bind(&record.client)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn list_audit(
                &self,
                before: Option<i64>,
                limit: u32,
            ) -> Result<Vec<$crate::storage::audit::AuditRecord>, $crate::storage::StorageError>
            {
                let limit = limit.clamp(1, $crate::storage::audit::MAX_AUDIT_PAGE);
                Ok(sqlx::query_as(
                    "SELECT id, at, who, action, target, client FROM audit_log \
                     WHERE id < $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(before.unwrap_or(i64::MAX))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn prune_audit(
                &self,
                before: chrono::DateTime<chrono::Utc>,
                batch_size: u32,
            ) -> Result<u64, $crate::storage::StorageError> {
                let done = sqlx::query(
                    "DELETE FROM audit_log WHERE id IN (\
                     SELECT id FROM audit_log WHERE at < $1 ORDER BY id LIMIT $2)",
                )
                .bind($crate::storage::rows::micros(before))
                .bind(i64::from(batch_size.max(1)))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            }
        }
    };
}
pub(crate) use shared_audit_storage;
