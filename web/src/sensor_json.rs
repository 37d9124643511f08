//! The wire shapes of sensors, their ticks and the alert outbox, shared by the JSON API and the
//! CLI's `--json`. Kept apart from `json.rs` (runs, jobs, schedules) so each noun's shapes stay
//! small. The webhook URL is in none of them: it is a secret.

use orchestrator::definitions::{SensorDef, SensorWatch};
use orchestrator::domain::{Alert, AlertSubject, SensorState, SensorTick};
use serde::Serialize;
use utoipa::ToSchema;

use crate::json::timestamp;
use crate::openapi::schemas;

#[derive(Debug, Serialize, ToSchema)]
pub struct SensorJson {
    pub name: String,
    pub description: String,
    /// The terminal statuses it fires on.
    #[schema(schema_with = schemas::run_statuses)]
    pub statuses: Vec<String>,
    /// The jobs it watches; empty means every job.
    pub jobs: Vec<String>,
    /// On or off now: the stored switch, else the definition's default.
    pub enabled: bool,
    /// `switched` (someone ran `orch sensors on|off`) or `default`.
    #[schema(schema_with = schemas::switch_state)]
    pub state: &'static str,
    /// What it fires on: `run_status` (its statuses), `checks_failed:WARN|ERROR` (runs with a
    /// failed check of at least that severity) or `freshness:OVERDUE,…` (assets entering those
    /// freshness states).
    pub watch: String,
}

impl SensorJson {
    pub fn new(def: &SensorDef, stored: Option<bool>) -> Self {
        Self {
            name: def.name.to_string(),
            description: def.description.clone(),
            statuses: def.statuses.iter().map(ToString::to_string).collect(),
            jobs: def.jobs.iter().map(ToString::to_string).collect(),
            enabled: def.is_on(stored),
            state: if stored.is_some() {
                "switched"
            } else {
                "default"
            },
            watch: match &def.watch {
                SensorWatch::RunStatus => "run_status".to_owned(),
                SensorWatch::ChecksFailed { min } => format!("checks_failed:{min}"),
                SensorWatch::Freshness { states } => format!(
                    "freshness:{}",
                    states
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            },
        }
    }

    /// `def` as listed, with its stored switch from `states` if any.
    pub fn with_states(def: &SensorDef, states: &[SensorState]) -> Self {
        let stored = states
            .iter()
            .find(|s| s.name == def.name)
            .map(|s| s.enabled);
        Self::new(def, stored)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SensorTickJson {
    pub id: i64,
    #[schema(format = DateTime)]
    pub tick_time: String,
    /// SUCCESS (runs matched: an alert each) or SKIPPED (none matched).
    #[schema(schema_with = schemas::sensor_tick_status)]
    pub status: &'static str,
    /// Status changes evaluated.
    pub evaluated: u32,
    pub run_ids: Vec<String>,
}

impl From<&SensorTick> for SensorTickJson {
    fn from(tick: &SensorTick) -> Self {
        Self {
            id: tick.id,
            tick_time: timestamp(tick.tick_time),
            status: tick.status.as_str(),
            evaluated: tick.evaluated,
            run_ids: tick.run_ids.iter().map(ToString::to_string).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AlertJson {
    pub id: i64,
    pub sensor: String,
    #[schema(format = "uuid")]
    pub run_id: String,
    pub job: String,
    #[schema(schema_with = schemas::run_status)]
    pub run_status: String,
    #[schema(format = DateTime)]
    pub ended_at: String,
    pub step: Option<String>,
    pub error: Option<String>,
    /// PENDING, SENDING, DELIVERED, FAILED or UNCERTAIN.
    #[schema(schema_with = schemas::alert_state)]
    pub state: &'static str,
    pub attempts: u32,
    #[schema(format = DateTime)]
    pub next_attempt_at: String,
    /// Why the last attempt did not deliver it.
    pub last_error: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub delivered_at: Option<String>,
    /// What the alert is about: RUN_STATUS, CHECKS (the run's failed checks, in `error`) or
    /// FRESHNESS (an asset's freshness changed; `run_id` is then the alert's own id).
    pub subject: &'static str,
    /// The asset of a FRESHNESS alert.
    pub asset: Option<String>,
    /// The freshness state a FRESHNESS alert's asset entered (FRESH, WARN, OVERDUE, UNKNOWN).
    pub freshness: Option<&'static str>,
}

impl From<&Alert> for AlertJson {
    fn from(alert: &Alert) -> Self {
        Self {
            id: alert.id,
            sensor: alert.sensor.to_string(),
            run_id: alert.run_id.to_string(),
            job: alert.job.to_string(),
            run_status: alert.run_status.to_string(),
            ended_at: timestamp(alert.ended_at),
            step: alert.step.clone(),
            error: alert.error.clone(),
            state: alert.state.as_str(),
            attempts: alert.attempts,
            next_attempt_at: timestamp(alert.next_attempt_at),
            last_error: alert.last_error.clone(),
            created_at: timestamp(alert.created_at),
            delivered_at: alert.delivered_at.map(timestamp),
            subject: alert.subject.as_str().unwrap_or("RUN_STATUS"),
            asset: match &alert.subject {
                AlertSubject::Freshness { asset, .. } => Some(asset.to_string()),
                _ => None,
            },
            freshness: match &alert.subject {
                AlertSubject::Freshness { state, .. } => Some(state.as_str()),
                _ => None,
            },
        }
    }
}
