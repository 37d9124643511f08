//! What the freshness evaluator needs of the store: each asset's current freshness state and the
//! history of its changes (FRESHNESS_CHANGED events). A change is a conditional write on the
//! state the evaluator saw, so replicas that reach the same verdict at once record it once. The
//! SQL is shared by both backends (`shared_freshness_storage!`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::StorageError;
use crate::domain::{AssetFreshness, AssetKey, FreshnessChange, FreshnessState, JobName};

/// The page size of `list_freshness_changes`: 0 means 50; at most 1 000.
pub fn freshness_page_size(limit: u32) -> u32 {
    match limit {
        0 => 50,
        n => n.min(1_000),
    }
}

/// A change of one asset's freshness, as the evaluator decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFreshnessChange<'a> {
    pub asset_key: &'a AssetKey,
    /// The job whose policy judged it (freshness sensors may watch some jobs only).
    pub job: &'a JobName,
    /// The state the evaluator read (`None`: no state recorded yet); the change is written only
    /// if the store still holds it.
    pub previous: Option<FreshnessState>,
    pub state: FreshnessState,
    pub reason: &'a str,
    pub at: DateTime<Utc>,
}

/// The freshness side of the store.
#[async_trait]
pub trait FreshnessStorage: Send + Sync {
    /// Every asset's recorded freshness, by key.
    async fn list_freshness(&self) -> Result<Vec<AssetFreshness>, StorageError>;

    /// Records `change` and its FRESHNESS_CHANGED event in one transaction, if the asset's state
    /// is still `change.previous`, with a row in the freshness sensors' inbox
    /// (`freshness_alert_changes`). Returns whether this call recorded it.
    async fn record_freshness_change(
        &self,
        change: &NewFreshnessChange<'_>,
    ) -> Result<bool, StorageError>;

    /// Freshness changes, newest first, of one asset or all, with ids below `before`, at most
    /// `limit` (see [`freshness_page_size`]).
    async fn list_freshness_changes(
        &self,
        asset: Option<&AssetKey>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<FreshnessChange>, StorageError>;
}

#[derive(Debug, FromRow)]
pub(crate) struct FreshnessRow {
    asset_key: String,
    state: String,
    reason: String,
    changed_at: DateTime<Utc>,
}

impl TryFrom<FreshnessRow> for AssetFreshness {
    type Error = StorageError;

    fn try_from(row: FreshnessRow) -> Result<Self, Self::Error> {
        Ok(Self {
            asset_key: key(&row.asset_key)?,
            state: state(&row.state)?,
            reason: row.reason,
            changed_at: row.changed_at,
        })
    }
}

#[derive(Debug, FromRow)]
pub(crate) struct FreshnessChangeRow {
    id: i64,
    asset_key: String,
    ts: DateTime<Utc>,
    previous: Option<String>,
    state: String,
    reason: String,
}

impl TryFrom<FreshnessChangeRow> for FreshnessChange {
    type Error = StorageError;

    fn try_from(row: FreshnessChangeRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: row.id,
            asset_key: key(&row.asset_key)?,
            ts: row.ts,
            previous: row.previous.as_deref().map(state).transpose()?,
            state: state(&row.state)?,
            reason: row.reason,
        })
    }
}

fn key(s: &str) -> Result<AssetKey, StorageError> {
    AssetKey::parse(s).map_err(|e| StorageError::Corrupt(format!("freshness asset key: {e}")))
}

fn state(s: &str) -> Result<FreshnessState, StorageError> {
    FreshnessState::parse(s).map_err(|e| StorageError::Corrupt(format!("freshness: {e}")))
}

/// Implements [`FreshnessStorage`] for `$store` (a struct with a `pool: sqlx::Pool<$db>` field).
macro_rules! shared_freshness_storage {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::FreshnessStorage for $store {
            async fn list_freshness(
                &self,
            ) -> Result<Vec<$crate::domain::AssetFreshness>, $crate::storage::StorageError> {
                let rows: Vec<$crate::storage::freshness::FreshnessRow> = sqlx::query_as(
                    "SELECT asset_key, state, reason, changed_at FROM asset_freshness",
                )
                .fetch_all(&self.pool)
                .await?;
                let mut all: Vec<$crate::domain::AssetFreshness> = rows
                    .into_iter()
                    .map(TryInto::try_into)
                    .collect::<Result<_, _>>()?;
                // Sorted here, not by the database's collation, so both backends agree.
                all.sort_by(|a, b| a.asset_key.cmp(&b.asset_key));
                Ok(all)
            }

            async fn record_freshness_change(
                &self,
                change: &$crate::storage::NewFreshnessChange<'_>,
            ) -> Result<bool, $crate::storage::StorageError> {
                let at = $crate::storage::rows::micros(change.at);
                let mut tx = self.pool.begin().await?;
                let written = match change.previous {
                    None => sqlx::query(
                        "INSERT INTO asset_freshness (asset_key, state, reason, changed_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (asset_key) DO NOTHING",
                    )
                    .bind(change.asset_key.as_str())
                    .bind(change.state.as_str())
                    .bind(change.reason)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
                    Some(previous) => sqlx::query(
                        "UPDATE asset_freshness SET state = $1, reason = $2, changed_at = $3 \
                         WHERE asset_key = $4 AND state = $5",
                    )
                    .bind(change.state.as_str())
                    .bind(change.reason)
                    .bind(at)
                    .bind(change.asset_key.as_str())
                    .bind(previous.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
                };
                if written != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO freshness_events (asset_key, ts, previous, state, reason) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(change.asset_key.as_str())
                .bind(at)
                .bind(change.previous.map(|p| p.as_str()))
                .bind(change.state.as_str())
                .bind(change.reason)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO freshness_alert_changes \
                     (asset_key, job, previous, state, reason, changed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(change.asset_key.as_str())
                .bind(change.job.as_str())
                .bind(change.previous.map(|p| p.as_str()))
                .bind(change.state.as_str())
                .bind(change.reason)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn list_freshness_changes(
                &self,
                asset: Option<&$crate::domain::AssetKey>,
                before: Option<i64>,
                limit: u32,
            ) -> Result<Vec<$crate::domain::FreshnessChange>, $crate::storage::StorageError> {
                let limit = i64::from($crate::storage::freshness::freshness_page_size(limit));
                let before = before.unwrap_or(i64::MAX);
                let rows: Vec<$crate::storage::freshness::FreshnessChangeRow> = match asset {
                    Some(asset) => {
                        sqlx::query_as(
                            "SELECT id, asset_key, ts, previous, state, reason \
                             FROM freshness_events WHERE asset_key = $1 AND id < $2 \
                             ORDER BY id DESC LIMIT $3",
                        )
                        .bind(asset.as_str())
                        .bind(before)
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?
                    }
                    None => {
                        sqlx::query_as(
                            "SELECT id, asset_key, ts, previous, state, reason \
                             FROM freshness_events WHERE id < $1 ORDER BY id DESC LIMIT $2",
                        )
                        .bind(before)
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?
                    }
                };
                rows.into_iter().map(TryInto::try_into).collect()
            }
        }
    };
}

pub(crate) use shared_freshness_storage;
