//! Job definition snapshots: written with the run that needs them (`create_run`, when the
//! `NewRun` carries a definition), read back by version when a worker executes the run. The
//! SQL is shared by both backends (`shared_snapshot_storage!`).

use async_trait::async_trait;

use super::StorageError;

/// The snapshot side of the store.
#[async_trait]
pub trait SnapshotStorage: Send + Sync {
    /// The snapshot JSON of `version` (as hashed), if stored.
    async fn get_job_snapshot(&self, version: &str) -> Result<Option<String>, StorageError>;
}

/// Implements [`SnapshotStorage`] for `$store` (a struct with a `pool: sqlx::Pool<$db>` field).
macro_rules! shared_snapshot_storage {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::SnapshotStorage for $store {
            async fn get_job_snapshot(
                &self,
                version: &str,
            ) -> Result<Option<String>, $crate::storage::StorageError> {
                let row: Option<(String,)> =
                    sqlx::query_as("SELECT snapshot FROM job_snapshots WHERE version = $1")
                        .bind(version)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(row.map(|(json,)| json))
            }
        }
    };
}
pub(crate) use shared_snapshot_storage;
