//! The alert outbox: what senders need of the store. Every claim happens under the lock of the
//! single `alert_pace` row (PostgreSQL: a row lock held to commit; SQLite: the write lock), so
//! claimers in every replica take turns: two senders never lease the same alert, and together
//! they post no faster than the pace allows (Slack: about one message a second per webhook).
//!
//! An alert's attempt is committed (SENDING, `attempts + 1`, a lease) before its request
//! starts. A sender that dies during the request leaves it SENDING; once the lease has expired
//! the next claimer marks it UNCERTAIN and nobody sends it again: at most one delivery per
//! (sensor, run), at the price of an alert that may be lost when a sender dies mid-request.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StorageError;
use crate::domain::{Alert, AlertState, DeliveryOutcome, RunId, SensorName};

/// What a sender asks for.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    /// Identifies the sender (one per process); only it can finish what it leased.
    pub owner: String,
    pub now: DateTime<Utc>,
    /// How long the sender may hold the alerts: longer than a request can take.
    pub lease: Duration,
    /// Most alerts leased at once (one message: a single alert or a digest).
    pub max: u32,
    /// After a claim, no other claim succeeds for this long.
    pub min_interval: Duration,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Alerts leased to the claimer, oldest due first: send them now.
    Leased(Vec<Alert>),
    /// It is too early to post again (pace or a 429's Retry-After): try at this time.
    PacedUntil(DateTime<Utc>),
    /// Nothing is due; the earliest pending alert is due then (none pending: `None`).
    Idle(Option<DateTime<Utc>>),
}

/// A claim, and how many abandoned sends it found (now UNCERTAIN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub claim: Claim,
    pub expired: u64,
}

/// Which alerts to list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub state: Option<AlertState>,
    pub sensor: Option<SensorName>,
    pub run: Option<RunId>,
    /// Alerts with ids below this one (the id of the last alert of the previous page).
    pub before: Option<i64>,
    /// 0 means 50; at most 1 000.
    pub limit: u32,
}

impl AlertFilter {
    pub fn effective_limit(&self) -> u32 {
        match self.limit {
            0 => 50,
            n => n.min(1_000),
        }
    }
}

/// The error recorded on an alert whose sender died during the request.
pub const ABANDONED: &str = "the sender stopped during the request: the alert may or may not have reached Slack, and is not sent again";

/// The senders' side of the store.
#[async_trait]
pub trait AlertStorage: Send + Sync {
    /// Marks expired SENDING leases UNCERTAIN, then — if the pace allows — leases up to
    /// `max` due PENDING alerts to `owner` (each attempt counted) and moves the pace on by
    /// `min_interval`, in one transaction.
    async fn claim_alerts(&self, request: &ClaimRequest) -> Result<Claimed, StorageError>;

    /// Records the outcome of the attempt `owner` made on `ids`; alerts it no longer leases are
    /// left alone. Returns how many were updated.
    async fn finish_alerts(
        &self,
        ids: &[i64],
        owner: &str,
        outcome: &DeliveryOutcome,
    ) -> Result<u64, StorageError>;

    /// Lets no sender post before `until` (a 429's Retry-After), unless a later pause holds.
    async fn pause_alerts(&self, until: DateTime<Utc>) -> Result<(), StorageError>;

    /// Alerts newest first.
    async fn list_alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>, StorageError>;

    /// How many alerts are in each state; states with none are left out.
    async fn count_alerts(&self) -> Result<Vec<(AlertState, u64)>, StorageError>;

    /// Deletes up to `batch_size` finished alerts (DELIVERED, FAILED, UNCERTAIN) last changed
    /// before `before` (one statement) and returns how many it deleted. Pending and leased
    /// alerts are never deleted.
    async fn prune_alerts(
        &self,
        before: DateTime<Utc>,
        batch_size: u32,
    ) -> Result<u64, StorageError>;
}

/// The instant `after` past `now`, at stored precision (a duration too long to represent
/// counts as a year).
pub(crate) fn later(now: DateTime<Utc>, after: Duration) -> DateTime<Utc> {
    let after = chrono::TimeDelta::from_std(after).unwrap_or(chrono::TimeDelta::days(365));
    super::rows::micros(now.checked_add_signed(after).unwrap_or(now))
}

/// Implements [`AlertStorage`] for `$store` (a struct with a `pool: sqlx::Pool<$db>`).
macro_rules! shared_alert_storage {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::AlertStorage for $store {
            async fn claim_alerts(
                &self,
                request: &$crate::storage::alerts::ClaimRequest,
            ) -> Result<$crate::storage::alerts::Claimed, $crate::storage::StorageError> {
                use $crate::storage::alerts::{Claim, Claimed, later, ABANDONED};
                use $crate::storage::sensor_rows::AlertRow;
                let now = $crate::storage::rows::micros(request.now);
                let mut tx = self.pool.begin().await?;
                // The pace row's lock first: claimers take turns from here to the commit.
                let next_send_at: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
                    "UPDATE alert_pace SET id = id WHERE id = 1 RETURNING next_send_at",
                )
                .fetch_one(&mut *tx)
                .await?;
                let expired = sqlx::query(
                    "UPDATE alert_deliveries SET state = 'UNCERTAIN', last_error = $1, \
                     updated_at = $2 WHERE state = 'SENDING' AND lease_until < $2",
                )
                .bind(ABANDONED)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if next_send_at > now {
                    tx.commit().await?;
                    return Ok(Claimed {
                        claim: Claim::PacedUntil(next_send_at),
                        expired,
                    });
                }
                let rows: Vec<AlertRow> = sqlx::query_as(concat!(
                    "UPDATE alert_deliveries SET state = 'SENDING', attempts = attempts + 1, \
                     lease_owner = $1, lease_until = $2, updated_at = $3 \
                     WHERE id IN (SELECT id FROM alert_deliveries \
                     WHERE state = 'PENDING' AND next_attempt_at <= $3 \
                     ORDER BY next_attempt_at, id LIMIT $4) RETURNING ",
                    $crate::storage::sensor_rows::alert_columns!()
                ))
                .bind(&request.owner)
                .bind(later(now, request.lease))
                .bind(now)
                .bind(i64::from(request.max.max(1)))
                .fetch_all(&mut *tx)
                .await?;
                if rows.is_empty() {
                    let next_due: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
                        "SELECT next_attempt_at FROM alert_deliveries WHERE state = 'PENDING' \
                         ORDER BY next_attempt_at LIMIT 1",
                    )
                    .fetch_optional(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    return Ok(Claimed {
                        claim: Claim::Idle(next_due),
                        expired,
                    });
                }
                sqlx::query("UPDATE alert_pace SET next_send_at = $1 WHERE id = 1")
                    .bind(later(now, request.min_interval))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                let mut alerts: Vec<$crate::domain::Alert> =
                    rows.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?;
                alerts.sort_by_key(|a| (a.next_attempt_at, a.id));
                Ok(Claimed {
                    claim: Claim::Leased(alerts),
                    expired,
                })
            }

            async fn finish_alerts(
                &self,
                ids: &[i64],
                owner: &str,
                outcome: &$crate::domain::DeliveryOutcome,
            ) -> Result<u64, $crate::storage::StorageError> {
                use $crate::domain::DeliveryOutcome;
                let now = $crate::storage::rows::now();
                let (state, next, error, delivered_at) = match outcome {
                    DeliveryOutcome::Delivered => ("DELIVERED", None, None, Some(now)),
                    DeliveryOutcome::Retry { at, error } => (
                        "PENDING",
                        Some($crate::storage::rows::micros(*at)),
                        Some(error.as_str()),
                        None,
                    ),
                    DeliveryOutcome::Failed { error } => {
                        ("FAILED", None, Some(error.as_str()), None)
                    }
                };
                let mut updated = 0;
                let mut tx = self.pool.begin().await?;
                for id in ids {
                    updated += sqlx::query(
                        "UPDATE alert_deliveries SET state = $1, \
                         next_attempt_at = COALESCE($2, next_attempt_at), last_error = $3, \
                         delivered_at = $4, lease_owner = NULL, lease_until = NULL, \
                         updated_at = $5 \
                         WHERE id = $6 AND lease_owner = $7 AND state IN ('SENDING', 'UNCERTAIN')",
                    )
                    .bind(state)
                    .bind(next)
                    .bind(error.map(|e| e.replace('\0', "\u{FFFD}")))
                    .bind(delivered_at)
                    .bind(now)
                    .bind(id)
                    .bind(owner)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                tx.commit().await?;
                Ok(updated)
            }

            async fn pause_alerts(
                &self,
                until: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::storage::StorageError> {
                sqlx::query(
                    "UPDATE alert_pace SET next_send_at = $1 WHERE id = 1 AND next_send_at < $1",
                )
                .bind($crate::storage::rows::micros(until))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn list_alerts(
                &self,
                filter: &$crate::storage::alerts::AlertFilter,
            ) -> Result<Vec<$crate::domain::Alert>, $crate::storage::StorageError> {
                use $crate::storage::sensor_rows::AlertRow;
                let mut q = sqlx::QueryBuilder::<$db>::new(concat!(
                    "SELECT ",
                    $crate::storage::sensor_rows::alert_columns!(),
                    " FROM alert_deliveries WHERE 1 = 1"
                ));
                if let Some(state) = filter.state {
                    q.push(" AND state = ").push_bind(state.as_str());
                }
                if let Some(sensor) = &filter.sensor {
                    q.push(" AND sensor = ").push_bind(sensor.as_str().to_owned());
                }
                if let Some(run) = filter.run {
                    q.push(" AND run_id = ").push_bind(run.as_uuid());
                }
                if let Some(before) = filter.before {
                    q.push(" AND id < ").push_bind(before);
                }
                q.push(" ORDER BY id DESC LIMIT ")
                    .push_bind(i64::from(filter.effective_limit()));
                let rows: Vec<AlertRow> = q.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn prune_alerts(
                &self,
                before: chrono::DateTime<chrono::Utc>,
                batch_size: u32,
            ) -> Result<u64, $crate::storage::StorageError> {
                let done = sqlx::query(
                    "DELETE FROM alert_deliveries WHERE id IN (\
                     SELECT id FROM alert_deliveries \
                     WHERE state IN ('DELIVERED', 'FAILED', 'UNCERTAIN') AND updated_at < $1 \
                     ORDER BY id LIMIT $2)",
                )
                .bind($crate::storage::rows::micros(before))
                .bind(i64::from(batch_size.max(1)))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            }

            async fn count_alerts(
                &self,
            ) -> Result<Vec<($crate::domain::AlertState, u64)>, $crate::storage::StorageError>
            {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT state, count(*) FROM alert_deliveries GROUP BY state ORDER BY state",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(state, n)| {
                        let state = state.parse().map_err(|e| {
                            $crate::storage::StorageError::Corrupt(format!("alert state: {e}"))
                        })?;
                        Ok((state, u64::try_from(n).unwrap_or(0)))
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use shared_alert_storage;
