//! Row shapes shared by both backends and their conversion into domain types. The same Rust
//! types decode from PostgreSQL (UUID, JSONB, TIMESTAMPTZ) and SQLite (BLOB, TEXT, TEXT).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::StorageError;
use crate::domain::{
    AssetKey, AssetSummary, EventKind, EventRecord, JobName, Materialization, Metadata, Run, RunId,
    RunStatus, ScheduleName, ScheduleState, ScheduleTick, TagKey, TickStatus,
};

/// The columns of `runs`, as `run_columns!` lists them.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RunRow {
    pub id: Uuid,
    pub job: String,
    pub status: String,
    pub config: Json<Value>,
    pub tags: Json<BTreeMap<String, String>>,
    pub parent_run_id: Option<Uuid>,
    pub step_selection: Option<Json<Vec<String>>>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub worker: Option<Json<Value>>,
    pub checks_failed: i32,
    pub definition_version: Option<String>,
    pub partition_range_start: Option<String>,
    pub partition_range_end: Option<String>,
    pub launched_by: Option<String>,
}

/// The column list [`RunRow`] decodes, as a literal so statements stay `&'static str`.
macro_rules! run_columns {
    () => {
        "id, job, status, config, tags, parent_run_id, step_selection, \
         created_at, started_at, ended_at, updated_at, heartbeat_at, worker, checks_failed, \
         definition_version, partition_range_start, partition_range_end, launched_by"
    };
}
pub(crate) use run_columns;

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(format!("{what}: {detail}"))
}

impl TryFrom<RunRow> for Run {
    type Error = StorageError;

    fn try_from(row: RunRow) -> Result<Self, Self::Error> {
        let id = RunId::from_uuid(row.id);
        let tags = row
            .tags
            .0
            .into_iter()
            .map(|(k, v)| Ok((TagKey::parse(&k)?, v)))
            .collect::<Result<_, crate::domain::IdError>>()
            .map_err(|e| corrupt(&format!("run {id} tags"), e))?;
        let step_selection = row
            .step_selection
            .map(|Json(keys)| keys.iter().map(|k| AssetKey::parse(k)).collect())
            .transpose()
            .map_err(|e| corrupt(&format!("run {id} step selection"), e))?;
        Ok(Run {
            id,
            job: JobName::parse(&row.job).map_err(|e| corrupt(&format!("run {id} job"), e))?,
            status: row
                .status
                .parse::<RunStatus>()
                .map_err(|e| corrupt(&format!("run {id} status"), e))?,
            config: row.config.0,
            tags,
            parent_run_id: row.parent_run_id.map(RunId::from_uuid),
            step_selection,
            created_at: row.created_at,
            started_at: row.started_at,
            ended_at: row.ended_at,
            updated_at: row.updated_at,
            heartbeat_at: row.heartbeat_at,
            checks_failed: u32::try_from(row.checks_failed).unwrap_or(0),
            worker: row.worker.map(|Json(w)| w),
            definition_version: row.definition_version,
            launched_by: row.launched_by,
            partition: match (row.partition_range_start, row.partition_range_end) {
                (Some(start), Some(end)) => Some(crate::domain::PartitionRange { start, end }),
                _ => None,
            },
        })
    }
}

/// The columns of `events` that make an [`EventRecord`].
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EventRow {
    pub id: i64,
    pub run_id: Uuid,
    pub ts: DateTime<Utc>,
    pub step_key: Option<String>,
    pub payload: Json<Value>,
}

impl TryFrom<EventRow> for EventRecord {
    type Error = StorageError;

    fn try_from(row: EventRow) -> Result<Self, Self::Error> {
        let kind: EventKind = serde_json::from_value(row.payload.0)
            .map_err(|e| corrupt(&format!("event {}", row.id), e))?;
        let step = row
            .step_key
            .map(|k| AssetKey::parse(&k))
            .transpose()
            .map_err(|e| corrupt(&format!("event {} step", row.id), e))?;
        Ok(EventRecord {
            id: row.id,
            run_id: RunId::from_uuid(row.run_id),
            timestamp: row.ts,
            step,
            kind,
        })
    }
}

/// One materialization, from `assets` or from `events`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct MaterializationRow {
    pub asset_key: String,
    pub run_id: Uuid,
    pub event_id: i64,
    pub ts: DateTime<Utc>,
    pub metadata: Json<Value>,
}

impl TryFrom<MaterializationRow> for Materialization {
    type Error = StorageError;

    fn try_from(row: MaterializationRow) -> Result<Self, Self::Error> {
        let asset_key = AssetKey::parse(&row.asset_key)
            .map_err(|e| corrupt(&format!("event {} asset key", row.event_id), e))?;
        let metadata: Metadata = serde_json::from_value(row.metadata.0)
            .map_err(|e| corrupt(&format!("event {} metadata", row.event_id), e))?;
        Ok(Materialization {
            asset_key,
            run_id: RunId::from_uuid(row.run_id),
            event_id: row.event_id,
            timestamp: row.ts,
            metadata,
        })
    }
}

impl TryFrom<MaterializationRow> for AssetSummary {
    type Error = StorageError;

    fn try_from(row: MaterializationRow) -> Result<Self, Self::Error> {
        let latest = Materialization::try_from(row)?;
        Ok(AssetSummary {
            key: latest.asset_key.clone(),
            latest,
        })
    }
}

/// A row of `schedule_ticks`, as `tick_columns!` lists them.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TickRow {
    pub id: i64,
    pub schedule: String,
    pub tick_time: DateTime<Utc>,
    pub status: String,
    pub run_id: Option<Uuid>,
    pub error: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// The column list [`TickRow`] decodes.
macro_rules! tick_columns {
    () => {
        "id, schedule, tick_time, status, run_id, error, recorded_at"
    };
}
pub(crate) use tick_columns;

impl TryFrom<TickRow> for ScheduleTick {
    type Error = StorageError;

    fn try_from(row: TickRow) -> Result<Self, Self::Error> {
        let what = || format!("schedule tick {}", row.id);
        Ok(ScheduleTick {
            id: row.id,
            schedule: ScheduleName::parse(&row.schedule).map_err(|e| corrupt(&what(), e))?,
            tick_time: row.tick_time,
            status: row
                .status
                .parse::<TickStatus>()
                .map_err(|e| corrupt(&what(), e))?,
            run_id: row.run_id.map(RunId::from_uuid),
            error: row.error,
            recorded_at: row.recorded_at,
        })
    }
}

/// A row of `schedule_states`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ScheduleStateRow {
    pub name: String,
    pub enabled: bool,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<ScheduleStateRow> for ScheduleState {
    type Error = StorageError;

    fn try_from(row: ScheduleStateRow) -> Result<Self, Self::Error> {
        Ok(ScheduleState {
            name: ScheduleName::parse(&row.name).map_err(|e| corrupt("schedule state", e))?,
            enabled: row.enabled,
            updated_at: row.updated_at,
        })
    }
}

/// The current time at the precision both backends keep (PostgreSQL stores microseconds).
pub(crate) fn now() -> DateTime<Utc> {
    micros(Utc::now())
}

pub(crate) fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    t.trunc_subsecs(6)
}

/// A JSON value as stored. PostgreSQL's JSONB refuses the NUL character, which SQLite keeps, so
/// NULs in strings and keys become U+FFFD on both backends: a stray NUL in a log line must not
/// lose the batch it is in.
pub(crate) fn payload<T: serde::Serialize + ?Sized>(value: &T) -> Json<Value> {
    fn clean(value: &mut Value) {
        match value {
            Value::String(s) if s.contains('\0') => *s = s.replace('\0', "\u{FFFD}"),
            Value::Array(items) => items.iter_mut().for_each(clean),
            Value::Object(map) => {
                if map.keys().any(|k| k.contains('\0')) {
                    *map = std::mem::take(map)
                        .into_iter()
                        .map(|(k, v)| (k.replace('\0', "\u{FFFD}"), v))
                        .collect();
                }
                map.values_mut().for_each(clean);
            }
            _ => {}
        }
    }
    let mut json = serde_json::to_value(value).unwrap_or(Value::Null);
    clean(&mut json);
    Json(json)
}

/// An event payload (or a materialization's metadata) as stored: [`payload`], with credentials
/// in its strings masked (`crate::redact`): URL passwords, `appid=`/`token=` query values, Slack
/// hook paths. Events are shown by the CLI, the API and the UI and kept for months, so this is
/// the one place every event passes through. Run configs are not redacted: the worker needs
/// them as given.
pub(crate) fn event_payload<T: serde::Serialize + ?Sized>(value: &T) -> Json<Value> {
    fn redact(value: &mut Value) {
        match value {
            Value::String(s) => {
                if let std::borrow::Cow::Owned(clean) = crate::redact::redact_text(s) {
                    *s = clean;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(redact),
            Value::Object(map) => map.values_mut().for_each(redact),
            _ => {}
        }
    }
    let Json(mut json) = payload(value);
    redact(&mut json);
    Json(json)
}

/// Tags as stored in the run row's JSON column.
pub(crate) fn tags_json(tags: &crate::domain::Tags) -> Json<BTreeMap<String, String>> {
    Json(
        tags.iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
            .collect(),
    )
}

/// The predecessors of a status padded to four, so one statement text serves every target.
pub(crate) fn predecessors4(to: RunStatus) -> [&'static str; 4] {
    let preds = RunStatus::predecessors(to);
    // An unreachable target (QUEUED) gets a value no row holds, so the update never applies.
    let fill = preds.first().map_or("-", |s| s.as_str());
    let mut out = [fill; 4];
    for (slot, status) in out.iter_mut().zip(preds) {
        *slot = status.as_str();
    }
    out
}
