//! What the sensor evaluator needs of the store: sensors' on/off state, the evaluation of the
//! status-change inbox, and the ticks that record it.
//!
//! Exactly-once evaluation: every transition to SUCCESS, FAILURE or CANCELED inserts a row into
//! `run_status_changes` in the transaction that changes the run (`sql.rs`, `transition_in_tx`).
//! [`SensorStorage::evaluate_status_changes`] takes a batch of those rows, deletes them, and
//! records the sensors' ticks and the alerts they queue, all in one transaction: committed, the
//! changes are evaluated and their alerts exist; rolled back (a crash, a lost connection), the
//! changes are still there for the next evaluator. Replicas do not take the same rows
//! (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer at a time), and
//! `UNIQUE (sensor, run_id)` on the outbox makes a second alert for a run impossible anyway.
//! No event id serves as a cursor: PostgreSQL commits ids out of order, so "everything after id
//! N" could skip a change committed late.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StorageError;
use crate::domain::{
    FreshnessAlertChange, SensorEvaluation, SensorName, SensorState, SensorSwitch, SensorTick,
    StatusChange,
};

/// The sensors' verdict on a batch of changes, given the stored on/off states: pure, called by
/// the store inside its transaction.
pub type Evaluate<'a> =
    dyn Fn(&[StatusChange], &[SensorState]) -> SensorEvaluation + Send + Sync + 'a;

/// The freshness sensors' verdict on a batch of freshness changes: pure, like [`Evaluate`]. A
/// tick's `matched` lists the changes' alert ids ([`freshness_alert_id`]).
pub type EvaluateFreshness<'a> =
    dyn Fn(&[FreshnessAlertChange], &[SensorState]) -> SensorEvaluation + Send + Sync + 'a;

/// The id an alert on a freshness change takes in the outbox's `run_id` column (it is about no
/// run): derived from the change, so a second alert of one sensor for it is impossible.
pub fn freshness_alert_id(change_id: i64) -> crate::domain::RunId {
    // Version bits 0 (not a UUIDv7): never equal to a run's id.
    crate::domain::RunId::from_uuid(uuid::Uuid::from_u64_pair(
        0x0F1E_5400_0000_0000,
        change_id.unsigned_abs(),
    ))
}

/// What one evaluation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvaluatedBatch {
    /// Status changes taken from the inbox (and now evaluated).
    pub changes: usize,
    /// Alerts queued in the outbox.
    pub alerts: u64,
}

/// The page size of `list_sensor_ticks`: 0 means 50; at most 1 000.
pub fn sensor_tick_page_size(limit: u32) -> u32 {
    match limit {
        0 => 50,
        n => n.min(1_000),
    }
}

/// The sensor evaluator's side of the store.
#[async_trait]
pub trait SensorStorage: Send + Sync {
    /// Switches a sensor on or off; the choice outlives the definition's default. Evaluations
    /// read it in their own transaction, so a switch applies from the next batch on.
    async fn switch_sensor(
        &self,
        name: &SensorName,
        switch: SensorSwitch,
    ) -> Result<SensorState, StorageError>;

    /// The state of every sensor someone switched, by name.
    async fn list_sensor_states(&self) -> Result<Vec<SensorState>, StorageError>;

    /// Takes up to `limit` status changes (oldest first) that no other evaluator holds, asks
    /// `evaluate` what the sensors make of them, and in one transaction records the ticks,
    /// queues one PENDING alert per (sensor, matched run) — with the run's failing step and
    /// error — and deletes the changes. `changes` below `limit` means the inbox was drained (as
    /// far as this evaluator could see).
    async fn evaluate_status_changes(
        &self,
        limit: u32,
        evaluate: &Evaluate<'_>,
    ) -> Result<EvaluatedBatch, StorageError>;

    /// As [`SensorStorage::evaluate_status_changes`], for the freshness changes recorded by
    /// `record_freshness_change`: one FRESHNESS alert per (sensor, matched change).
    async fn evaluate_freshness_changes(
        &self,
        limit: u32,
        evaluate: &EvaluateFreshness<'_>,
    ) -> Result<EvaluatedBatch, StorageError>;

    /// How many status changes wait for evaluation.
    async fn count_status_changes(&self) -> Result<u64, StorageError>;

    /// A sensor's ticks, newest first, with ids below `before` (the id of the last tick of the
    /// previous page), at most `limit` (see [`sensor_tick_page_size`]).
    async fn list_sensor_ticks(
        &self,
        sensor: &SensorName,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<SensorTick>, StorageError>;

    /// Deletes up to `batch_size` sensor ticks recorded before `before` (one short statement;
    /// the caller repeats while a full batch went) and returns how many it deleted.
    async fn prune_sensor_ticks(
        &self,
        before: DateTime<Utc>,
        batch_size: u32,
    ) -> Result<u64, StorageError>;
}

/// Implements [`SensorStorage`] for `$store` (a struct with a `pool: sqlx::Pool<$db>`), given a
/// `TAKE_STATUS_CHANGES` statement in the backend's module: `DELETE … RETURNING` of the oldest
/// changes, skipping rows other transactions hold where the database can (PostgreSQL).
macro_rules! shared_sensor_storage {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::SensorStorage for $store {
            async fn switch_sensor(
                &self,
                name: &$crate::domain::SensorName,
                switch: $crate::domain::SensorSwitch,
            ) -> Result<$crate::domain::SensorState, $crate::storage::StorageError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO sensor_states (name, enabled, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, \
                     updated_at = excluded.updated_at \
                     WHERE sensor_states.enabled <> excluded.enabled",
                )
                .bind(name.as_str())
                .bind(switch.is_on())
                .bind($crate::storage::rows::now())
                .execute(&mut *tx)
                .await?;
                let row: $crate::storage::sensor_rows::SensorStateRow = sqlx::query_as(
                    "SELECT name, enabled, updated_at FROM sensor_states WHERE name = $1",
                )
                .bind(name.as_str())
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                row.try_into()
            }

            async fn list_sensor_states(
                &self,
            ) -> Result<Vec<$crate::domain::SensorState>, $crate::storage::StorageError> {
                let rows: Vec<$crate::storage::sensor_rows::SensorStateRow> = sqlx::query_as(
                    "SELECT name, enabled, updated_at FROM sensor_states ORDER BY name",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn evaluate_status_changes(
                &self,
                limit: u32,
                evaluate: &$crate::storage::sensors::Evaluate<'_>,
            ) -> Result<$crate::storage::sensors::EvaluatedBatch, $crate::storage::StorageError>
            {
                use $crate::storage::sensor_rows::StatusChangeRow;
                let mut tx = self.pool.begin().await?;
                // The delete comes first: it takes the rows (and SQLite's write lock).
                let rows: Vec<StatusChangeRow> = sqlx::query_as(TAKE_STATUS_CHANGES)
                    .bind(i64::from(limit.max(1)))
                    .fetch_all(&mut *tx)
                    .await?;
                if rows.is_empty() {
                    tx.rollback().await?;
                    return Ok(Default::default());
                }
                let mut changes: Vec<$crate::domain::StatusChange> =
                    rows.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?;
                changes.sort_by_key(|c| c.id);
                for change in &mut changes {
                    change.failed_checks = failed_checks(&mut tx, change.run_id).await?;
                }
                let states = sensor_states_in(&mut tx).await?;
                let evaluation = evaluate(&changes, &states);
                let now = $crate::storage::rows::now();
                let mut alerts = 0;
                for tick in &evaluation.ticks {
                    insert_sensor_tick(&mut tx, tick, now).await?;
                    for run in &tick.matched {
                        let Some(change) = changes.iter().find(|c| c.run_id == *run) else {
                            continue;
                        };
                        alerts += match tick.checks {
                            None => queue_alert(&mut tx, &tick.sensor, change, now).await?,
                            Some(min) => {
                                queue_check_alert(&mut tx, &tick.sensor, change, min, now).await?
                            }
                        };
                    }
                }
                tx.commit().await?;
                Ok($crate::storage::sensors::EvaluatedBatch {
                    changes: changes.len(),
                    alerts,
                })
            }

            async fn evaluate_freshness_changes(
                &self,
                limit: u32,
                evaluate: &$crate::storage::sensors::EvaluateFreshness<'_>,
            ) -> Result<$crate::storage::sensors::EvaluatedBatch, $crate::storage::StorageError>
            {
                use $crate::storage::sensor_rows::FreshnessAlertChangeRow;
                let mut tx = self.pool.begin().await?;
                let rows: Vec<FreshnessAlertChangeRow> = sqlx::query_as(TAKE_FRESHNESS_CHANGES)
                    .bind(i64::from(limit.max(1)))
                    .fetch_all(&mut *tx)
                    .await?;
                if rows.is_empty() {
                    tx.rollback().await?;
                    return Ok(Default::default());
                }
                let mut changes: Vec<$crate::domain::FreshnessAlertChange> =
                    rows.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?;
                changes.sort_by_key(|c| c.id);
                let states = sensor_states_in(&mut tx).await?;
                let evaluation = evaluate(&changes, &states);
                let now = $crate::storage::rows::now();
                let mut alerts = 0;
                for tick in &evaluation.ticks {
                    insert_sensor_tick(&mut tx, tick, now).await?;
                    for id in &tick.matched {
                        let Some(change) = changes
                            .iter()
                            .find(|c| $crate::storage::sensors::freshness_alert_id(c.id) == *id)
                        else {
                            continue;
                        };
                        let done = sqlx::query(
                            "INSERT INTO alert_deliveries (sensor, run_id, job, run_status, \
                             ended_at, error, state, attempts, next_attempt_at, created_at, \
                             updated_at, subject, asset_key, freshness_state) \
                             VALUES ($1, $2, $3, 'SUCCESS', $4, $5, 'PENDING', 0, $6, $6, $6, \
                             'FRESHNESS', $7, $8) ON CONFLICT (sensor, run_id) DO NOTHING",
                        )
                        .bind(tick.sensor.as_str())
                        .bind(id.as_uuid())
                        .bind(change.job.as_str())
                        .bind(change.changed_at)
                        .bind(change.reason.replace('\0', "\u{FFFD}"))
                        .bind(now)
                        .bind(change.asset_key.as_str())
                        .bind(change.state.as_str())
                        .execute(&mut *tx)
                        .await?;
                        alerts += done.rows_affected();
                    }
                }
                tx.commit().await?;
                Ok($crate::storage::sensors::EvaluatedBatch {
                    changes: changes.len(),
                    alerts,
                })
            }

            async fn count_status_changes(&self) -> Result<u64, $crate::storage::StorageError> {
                let n: i64 = sqlx::query_scalar("SELECT count(*) FROM run_status_changes")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn list_sensor_ticks(
                &self,
                sensor: &$crate::domain::SensorName,
                before: Option<i64>,
                limit: u32,
            ) -> Result<Vec<$crate::domain::SensorTick>, $crate::storage::StorageError> {
                let rows: Vec<$crate::storage::sensor_rows::SensorTickRow> = sqlx::query_as(
                    "SELECT id, sensor, tick_time, status, evaluated, run_ids FROM sensor_ticks \
                     WHERE sensor = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                )
                .bind(sensor.as_str())
                .bind(before.unwrap_or(i64::MAX))
                .bind(i64::from($crate::storage::sensors::sensor_tick_page_size(limit)))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn prune_sensor_ticks(
                &self,
                before: chrono::DateTime<chrono::Utc>,
                batch_size: u32,
            ) -> Result<u64, $crate::storage::StorageError> {
                let done = sqlx::query(
                    "DELETE FROM sensor_ticks WHERE id IN (\
                     SELECT id FROM sensor_ticks WHERE tick_time < $1 ORDER BY id LIMIT $2)",
                )
                .bind($crate::storage::rows::micros(before))
                .bind(i64::from(batch_size.max(1)))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            }
        }

        /// The failed asset checks of `run`, in the order evaluated (none read when the run's
        /// count of failed checks is 0).
        async fn failed_checks(
            tx: &mut sqlx::Transaction<'_, $db>,
            run: $crate::domain::RunId,
        ) -> Result<Vec<$crate::domain::FailedCheck>, $crate::storage::StorageError> {
            let payloads: Vec<sqlx::types::Json<$crate::domain::EventKind>> = sqlx::query_scalar(
                "SELECT e.payload FROM events e JOIN runs r ON r.id = e.run_id \
                 WHERE e.run_id = $1 AND r.checks_failed > 0 \
                 AND e.event_type = 'ASSET_CHECK_EVALUATION' ORDER BY e.id",
            )
            .bind(run.as_uuid())
            .fetch_all(&mut **tx)
            .await?;
            Ok(payloads
                .into_iter()
                .filter_map(|p| match p.0 {
                    $crate::domain::EventKind::AssetCheckEvaluation {
                        asset,
                        check,
                        passed: false,
                        severity,
                        ..
                    } => Some($crate::domain::FailedCheck {
                        asset,
                        check,
                        severity,
                    }),
                    _ => None,
                })
                .collect())
        }

        /// Queues the "Check failed" alert of `sensor` for `change`: its failed checks at or
        /// above `min`, unless that sensor already has one for the run. Returns 1 if queued.
        async fn queue_check_alert(
            tx: &mut sqlx::Transaction<'_, $db>,
            sensor: &$crate::domain::SensorName,
            change: &$crate::domain::StatusChange,
            min: $crate::domain::CheckSeverity,
            now: chrono::DateTime<chrono::Utc>,
        ) -> Result<u64, $crate::storage::StorageError> {
            let failed: Vec<String> = change
                .failed_checks
                .iter()
                .filter(|c| c.severity >= min)
                .map(ToString::to_string)
                .collect();
            let done = sqlx::query(
                "INSERT INTO alert_deliveries (sensor, run_id, job, run_status, ended_at, \
                 error, state, attempts, next_attempt_at, created_at, updated_at, subject) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', 0, $7, $7, $7, 'CHECKS') \
                 ON CONFLICT (sensor, run_id) DO NOTHING",
            )
            .bind(sensor.as_str())
            .bind(change.run_id.as_uuid())
            .bind(change.job.as_str())
            .bind(change.status.as_str())
            .bind(change.changed_at)
            .bind(failed.join("; ").replace('\0', "\u{FFFD}"))
            .bind(now)
            .execute(&mut **tx)
            .await?;
            Ok(done.rows_affected())
        }

        /// Every sensor's switch state, read inside an evaluation's transaction.
        async fn sensor_states_in(
            tx: &mut sqlx::Transaction<'_, $db>,
        ) -> Result<Vec<$crate::domain::SensorState>, $crate::storage::StorageError> {
            let rows: Vec<$crate::storage::sensor_rows::SensorStateRow> = sqlx::query_as(
                "SELECT name, enabled, updated_at FROM sensor_states ORDER BY name",
            )
            .fetch_all(&mut **tx)
            .await?;
            rows.into_iter().map(TryInto::try_into).collect()
        }

        /// Records one sensor's tick of an evaluation (the runs or changes it matched).
        async fn insert_sensor_tick(
            tx: &mut sqlx::Transaction<'_, $db>,
            tick: &$crate::domain::NewSensorTick,
            now: chrono::DateTime<chrono::Utc>,
        ) -> Result<(), $crate::storage::StorageError> {
            let ids: Vec<String> = tick.matched.iter().map(ToString::to_string).collect();
            sqlx::query(
                "INSERT INTO sensor_ticks (sensor, tick_time, status, evaluated, run_ids) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(tick.sensor.as_str())
            .bind(now)
            .bind(tick.status().as_str())
            .bind(i32::try_from(tick.evaluated).unwrap_or(i32::MAX))
            .bind(sqlx::types::Json(ids))
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        /// Queues the alert of `sensor` for `change` (PENDING, due now) with the run's failing
        /// step and error, unless that sensor already has one for the run. Returns 1 if queued.
        async fn queue_alert(
            tx: &mut sqlx::Transaction<'_, $db>,
            sensor: &$crate::domain::SensorName,
            change: &$crate::domain::StatusChange,
            now: chrono::DateTime<chrono::Utc>,
        ) -> Result<u64, $crate::storage::StorageError> {
            let failure: Option<(Option<String>, sqlx::types::Json<serde_json::Value>)> =
                if change.status == $crate::domain::RunStatus::Failure {
                    sqlx::query_as(
                        "SELECT step_key, payload FROM events \
                         WHERE run_id = $1 AND event_type = 'STEP_FAILURE' \
                         ORDER BY id DESC LIMIT 1",
                    )
                    .bind(change.run_id.as_uuid())
                    .fetch_optional(&mut **tx)
                    .await?
                } else {
                    None
                };
            let (step, error) = match failure {
                Some((step, payload)) => (
                    step,
                    payload
                        .0
                        .get("error")
                        .and_then(|e| e.as_str())
                        .map(str::to_owned)
                        .or_else(|| change.message.clone()),
                ),
                None => (None, change.message.clone()),
            };
            let done = sqlx::query(
                "INSERT INTO alert_deliveries (sensor, run_id, job, run_status, ended_at, \
                 step_key, error, state, attempts, next_attempt_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'PENDING', 0, $8, $8, $8) \
                 ON CONFLICT (sensor, run_id) DO NOTHING",
            )
            .bind(sensor.as_str())
            .bind(change.run_id.as_uuid())
            .bind(change.job.as_str())
            .bind(change.status.as_str())
            .bind(change.changed_at)
            .bind(step)
            .bind(error.map(|e| e.replace('\0', "\u{FFFD}")))
            .bind(now)
            .execute(&mut **tx)
            .await?;
            Ok(done.rows_affected())
        }
    };
}

pub(crate) use shared_sensor_storage;
