//! The latest verdict of each asset check, kept by the transaction that records the evaluation
//! (`asset_check_latest`, migration 0012; per partition since 0025), read for asset health
//! without touching the event log. The SQL is shared by both backends (`shared_check_storage!`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use super::StorageError;
use crate::domain::{AssetKey, CheckSeverity, LatestCheck, RunId};

/// The checks side of the store.
#[async_trait]
pub trait CheckStorage: Send + Sync {
    /// The latest verdict of every (asset, check) ever evaluated, by asset then check: for a
    /// partitioned asset, the newest verdict whatever its partition.
    async fn latest_checks(&self) -> Result<Vec<LatestCheck>, StorageError>;

    /// The latest verdict of each (check, partition) of `asset`, the latest partitions first
    /// (by key, descending; the unpartitioned verdict last), then by check; at most `limit`.
    async fn latest_checks_by_partition(
        &self,
        asset: &AssetKey,
        limit: i64,
    ) -> Result<Vec<LatestCheck>, StorageError>;
}

#[derive(Debug, FromRow)]
pub(crate) struct LatestCheckRow {
    asset_key: String,
    check_name: String,
    partition_key: String,
    run_id: Uuid,
    passed: bool,
    severity: String,
    evaluated_at: DateTime<Utc>,
}

impl TryFrom<LatestCheckRow> for LatestCheck {
    type Error = StorageError;

    fn try_from(row: LatestCheckRow) -> Result<Self, Self::Error> {
        Ok(Self {
            asset_key: AssetKey::parse(&row.asset_key)
                .map_err(|e| StorageError::Corrupt(format!("check asset key: {e}")))?,
            check: row.check_name,
            run_id: RunId::from_uuid(row.run_id),
            passed: row.passed,
            severity: CheckSeverity::parse(&row.severity).ok_or_else(|| {
                StorageError::Corrupt(format!("check severity '{}'", row.severity))
            })?,
            evaluated_at: row.evaluated_at,
            partition: (!row.partition_key.is_empty()).then_some(row.partition_key),
        })
    }
}

/// Implements [`CheckStorage`] for `$store` (a struct with a `pool: sqlx::Pool<$db>` field).
macro_rules! shared_check_storage {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::CheckStorage for $store {
            async fn latest_checks(
                &self,
            ) -> Result<Vec<$crate::domain::LatestCheck>, $crate::storage::StorageError> {
                // The newest row of each (asset, check): the primary key's prefix finds it.
                let rows: Vec<$crate::storage::checks::LatestCheckRow> = sqlx::query_as(
                    "SELECT asset_key, check_name, partition_key, run_id, passed, severity, \
                     evaluated_at FROM asset_check_latest l WHERE event_id = \
                     (SELECT MAX(n.event_id) FROM asset_check_latest n \
                      WHERE n.asset_key = l.asset_key AND n.check_name = l.check_name)",
                )
                .fetch_all(&self.pool)
                .await?;
                let mut all: Vec<$crate::domain::LatestCheck> = rows
                    .into_iter()
                    .map(TryInto::try_into)
                    .collect::<Result<_, _>>()?;
                // Sorted here, not by the database's collation, so both backends agree.
                all.sort_by(|a, b| (&a.asset_key, &a.check).cmp(&(&b.asset_key, &b.check)));
                Ok(all)
            }

            async fn latest_checks_by_partition(
                &self,
                asset: &$crate::domain::AssetKey,
                limit: i64,
            ) -> Result<Vec<$crate::domain::LatestCheck>, $crate::storage::StorageError> {
                let rows: Vec<$crate::storage::checks::LatestCheckRow> = sqlx::query_as(
                    "SELECT asset_key, check_name, partition_key, run_id, passed, severity, \
                     evaluated_at FROM asset_check_latest WHERE asset_key = $1 \
                     ORDER BY partition_key = '', partition_key DESC, check_name LIMIT $2",
                )
                .bind(asset.as_str())
                .bind(limit.max(0))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }
        }
    };
}

pub(crate) use shared_check_storage;
