//! The keys of dynamic partitions definitions (`dynamic_partitions`, migration 0014): added and
//! removed at run time, listed in the order they were added. The SQL is shared by both backends
//! (`shared_partition_storage!`). Keys are checked by the caller
//! (`definitions::partitions::check_key_text`) before they get here.

use async_trait::async_trait;

use super::StorageError;

/// The most keys one listing returns.
pub const MAX_DYNAMIC_PAGE: u32 = 100_000;

/// The dynamic-partitions side of the store.
#[async_trait]
pub trait PartitionStorage: Send + Sync {
    /// Adds `keys` to the dynamic definition `name`, in order; keys it already has are left as
    /// they are. Returns how many were new.
    async fn add_dynamic_partitions(
        &self,
        name: &str,
        keys: &[String],
    ) -> Result<u64, StorageError>;

    /// Removes `key` from `name`; `false` when it was not there.
    async fn remove_dynamic_partition(&self, name: &str, key: &str) -> Result<bool, StorageError>;

    /// Keys of `name` in the order they were added, after the key `after` (from the first when
    /// `None` or when `after` is not a key of `name`), at most `limit` (clamped to
    /// [`MAX_DYNAMIC_PAGE`]; 0 means that maximum).
    async fn list_dynamic_partitions(
        &self,
        name: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, StorageError>;
}

pub(crate) fn dynamic_page_size(limit: u32) -> i64 {
    i64::from(match limit {
        0 => MAX_DYNAMIC_PAGE,
        n => n.min(MAX_DYNAMIC_PAGE),
    })
}

/// Implements [`PartitionStorage`] for `$store` (a struct with a `pool: sqlx::Pool<$db>` field).
macro_rules! shared_partition_storage {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::PartitionStorage for $store {
            async fn add_dynamic_partitions(
                &self,
                name: &str,
                keys: &[String],
            ) -> Result<u64, $crate::storage::StorageError> {
                let now = $crate::storage::rows::now();
                let mut tx = self.pool.begin().await?;
                let mut added = 0;
                for key in keys {
                    added += sqlx::query(
                        "INSERT INTO dynamic_partitions (name, partition_key, added_at) \
                         VALUES ($1, $2, $3) ON CONFLICT (name, partition_key) DO NOTHING",
                    )
                    .bind(name)
                    .bind(key)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                tx.commit().await?;
                Ok(added)
            }

            async fn remove_dynamic_partition(
                &self,
                name: &str,
                key: &str,
            ) -> Result<bool, $crate::storage::StorageError> {
                let done = sqlx::query(
                    "DELETE FROM dynamic_partitions WHERE name = $1 AND partition_key = $2",
                )
                .bind(name)
                .bind(key)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_dynamic_partitions(
                &self,
                name: &str,
                after: Option<&str>,
                limit: u32,
            ) -> Result<Vec<String>, $crate::storage::StorageError> {
                let keys: Vec<(String,)> = sqlx::query_as(
                    "SELECT partition_key FROM dynamic_partitions WHERE name = $1 AND id > \
                     COALESCE((SELECT id FROM dynamic_partitions \
                               WHERE name = $1 AND partition_key = $2), 0) \
                     ORDER BY id LIMIT $3",
                )
                .bind(name)
                .bind(after)
                .bind($crate::storage::partitions::dynamic_page_size(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(keys.into_iter().map(|(k,)| k).collect())
            }
        }
    };
}

pub(crate) use shared_partition_storage;
