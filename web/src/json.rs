//! The JSON shapes orch speaks: serializable counterparts of the domain types, so the domain
//! stays free of wire formats. The API (`/api/v1`) and the CLI's `--json` output share them, so a
//! run or an event looks the same whichever way it is read. Each derives `ToSchema`: its schema in
//! the OpenAPI document (`openapi.rs`) is generated from the very type that is serialized.

use chrono::{DateTime, SecondsFormat, Utc};
use orchestrator::definitions::{JobDef, ScheduleDef};
use orchestrator::domain::{EventRecord, Materialization, Run, ScheduleState, ScheduleTick};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::openapi::schemas;

#[derive(Debug, Serialize, ToSchema)]
pub struct RunJson {
    #[schema(format = "uuid")]
    pub id: String,
    pub job: String,
    #[schema(schema_with = schemas::run_status)]
    pub status: String,
    /// The run config the worker gets (the job's defaults overlaid with the launch's).
    #[schema(value_type = Object)]
    pub config: Value,
    pub tags: std::collections::BTreeMap<String, String>,
    /// The run this one re-executes.
    #[schema(format = "uuid")]
    pub parent_run_id: Option<String>,
    pub step_selection: Option<Vec<String>>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub started_at: Option<String>,
    #[schema(format = DateTime)]
    pub ended_at: Option<String>,
    pub duration_ms: Option<i64>,
    #[schema(format = DateTime)]
    pub heartbeat_at: Option<String>,
    /// The launcher's handle on the worker (e.g. `{"kind": "local", "pid": …, "log": …}`).
    #[schema(value_type = Option<Object>)]
    pub worker: Option<Value>,
    /// How many of the run's asset checks failed.
    pub checks_failed: u32,
    /// The SHA-256 of the job definition snapshot the run was created with (`null` for runs
    /// created without one).
    pub definition_version: Option<String>,
    /// The single partition key the run targets; `null` when unpartitioned or a range.
    pub partition: Option<String>,
    /// The first and last key (both inclusive) of a partitioned run; `null` when unpartitioned.
    pub partition_range: Option<PartitionRangeJson>,
    /// The backfill that submitted it (its `orch/backfill` tag); `null` otherwise.
    pub backfill_id: Option<String>,
    /// Who started it: a token's name, `sso:<user>`, `schedule:<name>`, `sensor:<name>`,
    /// `backfill:<id>`, `reexecute:<parent run id>`, `cli` or `anonymous` (a server without
    /// authentication); `null` for runs from before it was recorded.
    pub launched_by: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartitionRangeJson {
    pub start: String,
    pub end: String,
}

impl From<&Run> for RunJson {
    fn from(run: &Run) -> Self {
        Self {
            id: run.id.to_string(),
            job: run.job.to_string(),
            status: run.status.to_string(),
            config: run.config.clone(),
            tags: run
                .tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            parent_run_id: run.parent_run_id.map(|p| p.to_string()),
            step_selection: run
                .step_selection
                .as_ref()
                .map(|keys| keys.iter().map(ToString::to_string).collect()),
            created_at: run.created_at.to_rfc3339(),
            started_at: run.started_at.map(|t| t.to_rfc3339()),
            ended_at: run.ended_at.map(|t| t.to_rfc3339()),
            duration_ms: run.duration().map(|d| d.num_milliseconds()),
            heartbeat_at: run.heartbeat_at.map(|t| t.to_rfc3339()),
            worker: run.worker.clone(),
            checks_failed: run.checks_failed,
            definition_version: run.definition_version.clone(),
            partition: run.partition_key().map(str::to_owned),
            partition_range: run.partition.as_ref().map(|r| PartitionRangeJson {
                start: r.start.clone(),
                end: r.end.clone(),
            }),
            backfill_id: run
                .tags
                .iter()
                .find(|(k, _)| k.as_str() == orchestrator::domain::BACKFILL_TAG)
                .map(|(_, v)| v.clone()),
            launched_by: run.launched_by.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventJson {
    pub id: i64,
    #[schema(format = DateTime)]
    pub timestamp: String,
    pub step: Option<String>,
    /// The event payload: its `type` (e.g. `RUN_START`, `STEP_SUCCESS`, `ASSET_MATERIALIZATION`)
    /// and the fields of that type.
    #[serde(flatten)]
    #[schema(schema_with = schemas::event_payload)]
    pub event: Value,
}

impl From<&EventRecord> for EventJson {
    fn from(e: &EventRecord) -> Self {
        Self {
            id: e.id,
            timestamp: e.timestamp.to_rfc3339(),
            step: e.step.as_ref().map(ToString::to_string),
            event: serde_json::to_value(&e.kind).unwrap_or(Value::Null),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunWithEventsJson {
    #[serde(flatten)]
    pub run: RunJson,
    pub events: Vec<EventJson>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobJson {
    pub name: String,
    pub description: String,
    pub assets: Vec<AssetJson>,
    #[schema(value_type = Object)]
    pub default_config: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssetJson {
    pub key: String,
    pub upstream: Vec<String>,
    pub description: String,
}

impl From<&JobDef> for JobJson {
    fn from(job: &JobDef) -> Self {
        Self {
            name: job.name.to_string(),
            description: job.description.clone(),
            assets: job
                .graph()
                .order()
                .iter()
                .filter_map(|k| job.asset(k))
                .map(|a| AssetJson {
                    key: a.key.to_string(),
                    upstream: a.upstream.iter().map(ToString::to_string).collect(),
                    description: a.description.clone(),
                })
                .collect(),
            default_config: Value::Object(job.default_config.clone()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleJson {
    pub name: String,
    pub job: String,
    pub cron: String,
    pub timezone: String,
    /// On or off now: the stored switch, else the definition's default.
    pub enabled: bool,
    /// `switched` (someone ran `orch schedules on|off`) or `default`.
    #[schema(schema_with = schemas::switch_state)]
    pub state: &'static str,
    pub catch_up: &'static str,
    /// The next tick if the schedule is on.
    #[schema(format = DateTime)]
    pub next_tick: Option<String>,
    #[schema(value_type = Object)]
    pub config: Value,
    pub tags: std::collections::BTreeMap<String, String>,
}

impl ScheduleJson {
    pub fn new(def: &ScheduleDef, enabled: bool, switched: bool, now: DateTime<Utc>) -> Self {
        Self {
            name: def.name.to_string(),
            job: def.job.to_string(),
            cron: def.cron.expression().to_owned(),
            timezone: def.cron.timezone().name().to_owned(),
            enabled,
            state: if switched { "switched" } else { "default" },
            catch_up: def.catch_up.as_str(),
            next_tick: enabled
                .then(|| def.next_tick_after(now))
                .flatten()
                .map(timestamp),
            config: Value::Object(def.run_config.clone()),
            tags: def
                .tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TickJson {
    pub tick_time: String,
    pub status: String,
    pub run_id: Option<String>,
    pub error: Option<String>,
    pub recorded_at: String,
}

impl From<&ScheduleTick> for TickJson {
    fn from(tick: &ScheduleTick) -> Self {
        Self {
            tick_time: timestamp(tick.tick_time),
            status: tick.status.to_string(),
            run_id: tick.run_id.map(|r| r.to_string()),
            error: tick.error.clone(),
            recorded_at: tick.recorded_at.to_rfc3339(),
        }
    }
}

/// An instant as RFC 3339 in UTC with a `Z`, as the `tick` tag shows it.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

impl ScheduleJson {
    /// `def` as listed: on or off per the stored switch in `states`, else its default.
    pub fn with_states(def: &ScheduleDef, states: &[ScheduleState], now: DateTime<Utc>) -> Self {
        let state = states.iter().find(|s| s.name == def.name);
        let enabled = state.map_or(def.default_switch.is_on(), |s| s.enabled);
        Self::new(def, enabled, state.is_some(), now)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MaterializationJson {
    pub asset_key: String,
    #[schema(format = "uuid")]
    pub run_id: String,
    pub event_id: i64,
    #[schema(format = DateTime)]
    pub timestamp: String,
    #[schema(value_type = Object)]
    pub metadata: Value,
}

impl From<&Materialization> for MaterializationJson {
    fn from(m: &Materialization) -> Self {
        Self {
            asset_key: m.asset_key.to_string(),
            run_id: m.run_id.to_string(),
            event_id: m.event_id,
            timestamp: m.timestamp.to_rfc3339(),
            metadata: Value::Object(m.metadata.clone().into_iter().collect()),
        }
    }
}

/// One asset's health, as `orch assets health --json` and `GET /api/v1/asset-health` list it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetHealthJson {
    pub job: String,
    pub key: String,
    /// `healthy`, `warning`, `degraded` or `unknown`.
    #[schema(schema_with = schemas::health)]
    pub health: &'static str,
    pub reasons: Vec<String>,
}

impl From<&orchestrator::assets::JobAssetHealth> for AssetHealthJson {
    fn from(a: &orchestrator::assets::JobAssetHealth) -> Self {
        Self {
            job: a.job.to_string(),
            key: a.key.to_string(),
            health: a.health.health.as_str(),
            reasons: a.health.reasons.clone(),
        }
    }
}
