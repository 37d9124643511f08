//! Partition status, kept incrementally (`partition_status`, migration 0016): per (job, asset,
//! partition) the latest run, its outcome and the latest materialization. Rows are written in
//! the transaction of the change that moves them — a partitioned run's creation (in progress),
//! a materialization event of a partitioned run (materialized), a run's end (failed, or back to
//! what it was when the run never started) — by the helpers of `partition_status_sql!`, which
//! `shared_storage!` expands beside its own. Readers get the rows by key (a status page of a
//! 100 000-partition asset reads an index, never the event log); keys without a row are missing,
//! which only the partitions definition can enumerate (`crate::partition_status`).

use async_trait::async_trait;

use super::StorageError;
use crate::domain::{AssetKey, JobName, PartitionStatus, PartitionStatusRow};

/// The most rows one keyset page returns.
pub const MAX_STATUS_PAGE: u32 = 10_000;

/// The reading side of the partition status index.
#[async_trait]
pub trait PartitionStatusStorage: Send + Sync {
    /// Every row of `job` (of `asset` only, when given), in (partition key, asset) order.
    async fn partition_statuses(
        &self,
        job: &JobName,
        asset: Option<&AssetKey>,
    ) -> Result<Vec<PartitionStatusRow>, StorageError>;

    /// The rows of `job`'s `asset` in `status`, in key order (bytewise), after the key `after`,
    /// at most `limit` (0 and anything above it mean [`MAX_STATUS_PAGE`]). Keyset paging on the
    /// (job, asset, status, key) index.
    async fn list_partitions_by_status(
        &self,
        job: &JobName,
        asset: &AssetKey,
        status: PartitionStatus,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<PartitionStatusRow>, StorageError>;
}

pub(crate) fn status_page_size(limit: u32) -> i64 {
    i64::from(match limit {
        0 => MAX_STATUS_PAGE,
        n => n.min(MAX_STATUS_PAGE),
    })
}

/// A row as read: (asset, key, status, run).
pub(crate) type StatusTuple = (String, String, String, Option<uuid::Uuid>);

pub(crate) fn status_row(row: StatusTuple) -> Result<PartitionStatusRow, StorageError> {
    let (asset_key, key, status, run_id) = row;
    let status = status
        .parse()
        .map_err(|e| StorageError::Corrupt(format!("partition {key} of {asset_key}: {e}")))?;
    Ok(PartitionStatusRow {
        asset_key,
        key,
        status,
        run_id: run_id.map(crate::domain::RunId::from_uuid),
    })
}

/// Implements [`PartitionStatusStorage`] for `$store` (a struct with a `pool` field).
macro_rules! shared_partition_status_storage {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::PartitionStatusStorage for $store {
            async fn partition_statuses(
                &self,
                job: &$crate::domain::JobName,
                asset: Option<&$crate::domain::AssetKey>,
            ) -> Result<Vec<$crate::domain::PartitionStatusRow>, $crate::storage::StorageError>
            {
                use $crate::storage::partition_status::{StatusTuple, status_row};
                let rows: Vec<StatusTuple> = sqlx::query_as(
                    "SELECT asset_key, partition_key, status, run_id FROM partition_status \
                     WHERE job = $1 AND ($2 IS NULL OR asset_key = $2) \
                     ORDER BY partition_key, asset_key",
                )
                .bind(job.as_str())
                .bind(asset.map(|a| a.as_str().to_owned()))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(status_row).collect()
            }

            async fn list_partitions_by_status(
                &self,
                job: &$crate::domain::JobName,
                asset: &$crate::domain::AssetKey,
                status: $crate::domain::PartitionStatus,
                after: Option<&str>,
                limit: u32,
            ) -> Result<Vec<$crate::domain::PartitionStatusRow>, $crate::storage::StorageError>
            {
                use $crate::storage::partition_status::{StatusTuple, status_page_size, status_row};
                let rows: Vec<StatusTuple> = sqlx::query_as(
                    "SELECT asset_key, partition_key, status, run_id FROM partition_status \
                     WHERE job = $1 AND asset_key = $2 AND status = $3 AND partition_key > $4 \
                     ORDER BY partition_key LIMIT $5",
                )
                .bind(job.as_str())
                .bind(asset.as_str())
                .bind(status.as_str())
                .bind(after.unwrap_or(""))
                .bind(status_page_size(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(status_row).collect()
            }
        }
    };
}

/// The transaction helpers that keep `partition_status` up to date, for `shared_storage!`.
macro_rules! partition_status_sql {
    ($db:ty) => {
        /// Makes every (asset, key) of `targets` in progress for the new run `run` of `job`,
        /// remembering what each was (a row already in progress keeps its earlier memory).
        async fn begin_partition_status(
            tx: &mut sqlx::Transaction<'_, $db>,
            job: &str,
            run: $crate::domain::RunId,
            targets: &$crate::domain::PartitionTargets,
        ) -> Result<(), $crate::storage::StorageError> {
            let now = $crate::storage::rows::now();
            let pairs: Vec<(&str, &str)> = targets
                .assets
                .iter()
                .flat_map(|a| targets.keys.iter().map(move |k| (a.as_str(), k.as_str())))
                .collect();
            // 6 binds a row: 500 rows stay far below either database's limit of binds.
            for chunk in pairs.chunks(500) {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO partition_status (job, asset_key, partition_key, status, \
                     prior_status, run_id, updated_at) ",
                );
                q.push_values(chunk, |mut b, (asset, key)| {
                    b.push_bind(job.to_owned())
                        .push_bind((*asset).to_owned())
                        .push_bind((*key).to_owned())
                        .push("'in_progress'")
                        .push("'missing'")
                        .push_bind(run.as_uuid())
                        .push_bind(now);
                });
                q.push(
                    " ON CONFLICT (job, asset_key, partition_key) DO UPDATE SET \
                     prior_status = CASE WHEN partition_status.status = 'in_progress' \
                     THEN partition_status.prior_status ELSE partition_status.status END, \
                     status = 'in_progress', run_id = excluded.run_id, \
                     updated_at = excluded.updated_at",
                );
                q.build().execute(&mut **tx).await?;
            }
            Ok(())
        }

        /// Marks the asset partitions of `run`'s materializations materialized: the run's
        /// single key (a row is made if the run was created without targets), or every row the
        /// run targets for that asset (a range run).
        async fn materialize_partition_status(
            tx: &mut sqlx::Transaction<'_, $db>,
            run: $crate::domain::RunId,
            materialized: &[(&$crate::domain::NewEvent, i64)],
        ) -> Result<(), $crate::storage::StorageError> {
            if materialized.is_empty() {
                return Ok(());
            }
            let scope: Option<(String, Option<String>, Option<String>)> = sqlx::query_as(
                "SELECT job, partition_key, partition_range_start FROM runs WHERE id = $1",
            )
            .bind(run.as_uuid())
            .fetch_optional(&mut **tx)
            .await?;
            let Some((job, key, range_start)) = scope else {
                return Ok(());
            };
            if range_start.is_none() {
                return Ok(());
            }
            let now = $crate::storage::rows::now();
            for (event, id) in materialized {
                let $crate::domain::EventKind::AssetMaterialization { asset_key, .. } = &event.kind
                else {
                    continue;
                };
                let at = $crate::storage::rows::micros(event.timestamp);
                match &key {
                    Some(key) => {
                        sqlx::query(
                            "INSERT INTO partition_status (job, asset_key, partition_key, status, \
                             prior_status, run_id, materialized_run_id, materialized_event_id, \
                             materialized_at, updated_at) \
                             VALUES ($1, $2, $3, 'materialized', 'missing', $4, $4, $5, $6, $7) \
                             ON CONFLICT (job, asset_key, partition_key) DO UPDATE SET \
                             status = CASE WHEN partition_status.status = 'in_progress' \
                             AND partition_status.run_id <> excluded.run_id \
                             THEN partition_status.status ELSE 'materialized' END, \
                             prior_status = CASE WHEN partition_status.status = 'in_progress' \
                             AND partition_status.run_id <> excluded.run_id \
                             THEN 'materialized' ELSE partition_status.prior_status END, \
                             materialized_run_id = excluded.materialized_run_id, \
                             materialized_event_id = excluded.materialized_event_id, \
                             materialized_at = excluded.materialized_at, \
                             updated_at = excluded.updated_at \
                             WHERE partition_status.materialized_event_id IS NULL \
                             OR partition_status.materialized_event_id < excluded.materialized_event_id",
                        )
                        .bind(&job)
                        .bind(asset_key.as_str())
                        .bind(key)
                        .bind(run.as_uuid())
                        .bind(*id)
                        .bind(at)
                        .bind(now)
                        .execute(&mut **tx)
                        .await?;
                    }
                    None => {
                        sqlx::query(
                            "UPDATE partition_status SET status = 'materialized', \
                             materialized_run_id = $1, materialized_event_id = $2, \
                             materialized_at = $3, updated_at = $4 \
                             WHERE run_id = $1 AND job = $5 AND asset_key = $6",
                        )
                        .bind(run.as_uuid())
                        .bind(*id)
                        .bind(at)
                        .bind(now)
                        .bind(&job)
                        .bind(asset_key.as_str())
                        .execute(&mut **tx)
                        .await?;
                    }
                }
            }
            Ok(())
        }

        /// Settles the rows `run` left in progress when it ends as `to`: back to what they were
        /// if it never started; materialized or as they were on SUCCESS (an asset it did not
        /// materialize); failed otherwise.
        async fn end_partition_status(
            tx: &mut sqlx::Transaction<'_, $db>,
            run: $crate::domain::RunId,
            to: $crate::domain::RunStatus,
            never_started: bool,
        ) -> Result<(), $crate::storage::StorageError> {
            let outcome = if never_started {
                "prior"
            } else if to == $crate::domain::RunStatus::Success {
                "success"
            } else {
                "failed"
            };
            sqlx::query(
                "UPDATE partition_status SET status = CASE \
                 WHEN $1 = 'prior' THEN prior_status \
                 WHEN $1 = 'success' THEN CASE WHEN materialized_run_id = $2 \
                 THEN 'materialized' ELSE prior_status END \
                 ELSE 'failed' END, updated_at = $3 \
                 WHERE run_id = $2 AND status = 'in_progress'",
            )
            .bind(outcome)
            .bind(run.as_uuid())
            .bind($crate::storage::rows::now())
            .execute(&mut **tx)
            .await?;
            Ok(())
        }
    };
}

pub(crate) use partition_status_sql;
pub(crate) use shared_partition_status_storage;
