//! Row shapes of the sensor and alert tables (migration 0004) and their conversion into domain
//! types; the same Rust types decode from PostgreSQL and SQLite.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use super::StorageError;
use crate::domain::{
    Alert, AlertState, AlertSubject, AssetKey, FreshnessAlertChange, FreshnessState, JobName,
    RunId, RunStatus, SensorName, SensorState, SensorTick, SensorTickStatus, StatusChange,
};

fn corrupt(what: String, detail: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(format!("{what}: {detail}"))
}

fn count(what: impl Fn() -> String, n: i32) -> Result<u32, StorageError> {
    u32::try_from(n).map_err(|e| corrupt(what(), e))
}

/// A row of `sensor_states`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SensorStateRow {
    pub name: String,
    pub enabled: bool,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<SensorStateRow> for SensorState {
    type Error = StorageError;

    fn try_from(row: SensorStateRow) -> Result<Self, Self::Error> {
        Ok(SensorState {
            name: SensorName::parse(&row.name).map_err(|e| corrupt("sensor state".into(), e))?,
            enabled: row.enabled,
            updated_at: row.updated_at,
        })
    }
}

/// A row of `run_status_changes`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StatusChangeRow {
    pub id: i64,
    pub run_id: Uuid,
    pub job: String,
    pub status: String,
    pub message: Option<String>,
    pub changed_at: DateTime<Utc>,
}

impl TryFrom<StatusChangeRow> for StatusChange {
    type Error = StorageError;

    fn try_from(row: StatusChangeRow) -> Result<Self, Self::Error> {
        let what = || format!("status change {}", row.id);
        Ok(StatusChange {
            id: row.id,
            run_id: RunId::from_uuid(row.run_id),
            job: JobName::parse(&row.job).map_err(|e| corrupt(what(), e))?,
            status: row
                .status
                .parse::<RunStatus>()
                .map_err(|e| corrupt(what(), e))?,
            message: row.message,
            changed_at: row.changed_at,
            failed_checks: Vec::new(),
        })
    }
}

/// A row of `freshness_alert_changes`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct FreshnessAlertChangeRow {
    pub id: i64,
    pub asset_key: String,
    pub job: String,
    pub previous: Option<String>,
    pub state: String,
    pub reason: String,
    pub changed_at: DateTime<Utc>,
}

impl TryFrom<FreshnessAlertChangeRow> for FreshnessAlertChange {
    type Error = StorageError;

    fn try_from(row: FreshnessAlertChangeRow) -> Result<Self, Self::Error> {
        let what = || format!("freshness change {}", row.id);
        let state = |s: &str| FreshnessState::parse(s).map_err(|e| corrupt(what(), e));
        Ok(FreshnessAlertChange {
            id: row.id,
            asset_key: AssetKey::parse(&row.asset_key).map_err(|e| corrupt(what(), e))?,
            job: JobName::parse(&row.job).map_err(|e| corrupt(what(), e))?,
            previous: row.previous.as_deref().map(state).transpose()?,
            state: state(&row.state)?,
            reason: row.reason,
            changed_at: row.changed_at,
        })
    }
}

/// A row of `sensor_ticks`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SensorTickRow {
    pub id: i64,
    pub sensor: String,
    pub tick_time: DateTime<Utc>,
    pub status: String,
    pub evaluated: i32,
    pub run_ids: Json<Vec<String>>,
}

impl TryFrom<SensorTickRow> for SensorTick {
    type Error = StorageError;

    fn try_from(row: SensorTickRow) -> Result<Self, Self::Error> {
        let what = || format!("sensor tick {}", row.id);
        Ok(SensorTick {
            id: row.id,
            sensor: SensorName::parse(&row.sensor).map_err(|e| corrupt(what(), e))?,
            tick_time: row.tick_time,
            status: SensorTickStatus::parse(&row.status)
                .ok_or_else(|| corrupt(what(), format!("unknown status '{}'", row.status)))?,
            evaluated: count(what, row.evaluated)?,
            run_ids: row
                .run_ids
                .0
                .iter()
                .map(|id| RunId::parse(id))
                .collect::<Result<_, _>>()
                .map_err(|e| corrupt(what(), e))?,
        })
    }
}

/// The columns of `alert_deliveries` that [`AlertRow`] decodes.
macro_rules! alert_columns {
    () => {
        "id, sensor, run_id, job, run_status, ended_at, step_key, error, state, attempts, \
         next_attempt_at, last_error, created_at, delivered_at, subject, asset_key, \
         freshness_state"
    };
}
pub(crate) use alert_columns;

/// A row of `alert_deliveries`, as `alert_columns!` lists it.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AlertRow {
    pub id: i64,
    pub sensor: String,
    pub run_id: Uuid,
    pub job: String,
    pub run_status: String,
    pub ended_at: DateTime<Utc>,
    pub step_key: Option<String>,
    pub error: Option<String>,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub subject: Option<String>,
    pub asset_key: Option<String>,
    pub freshness_state: Option<String>,
}

impl TryFrom<AlertRow> for Alert {
    type Error = StorageError;

    fn try_from(row: AlertRow) -> Result<Self, Self::Error> {
        let what = || format!("alert {}", row.id);
        let subject = match row.subject.as_deref() {
            None => AlertSubject::RunStatus,
            Some("CHECKS") => AlertSubject::ChecksFailed,
            Some("FRESHNESS") => AlertSubject::Freshness {
                asset: AssetKey::parse(row.asset_key.as_deref().unwrap_or_default())
                    .map_err(|e| corrupt(what(), e))?,
                state: FreshnessState::parse(row.freshness_state.as_deref().unwrap_or_default())
                    .map_err(|e| corrupt(what(), e))?,
            },
            Some(other) => return Err(corrupt(what(), format!("unknown subject '{other}'"))),
        };
        Ok(Alert {
            subject,
            id: row.id,
            sensor: SensorName::parse(&row.sensor).map_err(|e| corrupt(what(), e))?,
            run_id: RunId::from_uuid(row.run_id),
            job: JobName::parse(&row.job).map_err(|e| corrupt(what(), e))?,
            run_status: row
                .run_status
                .parse::<RunStatus>()
                .map_err(|e| corrupt(what(), e))?,
            ended_at: row.ended_at,
            step: row.step_key,
            error: row.error,
            state: row
                .state
                .parse::<AlertState>()
                .map_err(|e| corrupt(what(), e))?,
            attempts: count(what, row.attempts)?,
            next_attempt_at: row.next_attempt_at,
            last_error: row.last_error,
            created_at: row.created_at,
            delivered_at: row.delivered_at,
        })
    }
}
