//! The JSON shapes of `--json` output: serializable counterparts of the domain types, so the
//! domain stays free of wire formats.

use orchestrator::definitions::JobDef;
use orchestrator::domain::{EventRecord, Run};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize)]
pub struct RunJson {
    pub id: String,
    pub job: String,
    pub status: String,
    pub config: Value,
    pub tags: std::collections::BTreeMap<String, String>,
    pub parent_run_id: Option<String>,
    pub step_selection: Option<Vec<String>>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub duration_ms: Option<i64>,
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
        }
    }
}

#[derive(Debug, Serialize)]
pub struct EventJson {
    pub id: i64,
    pub timestamp: String,
    pub step: Option<String>,
    /// The event payload, `type` included.
    #[serde(flatten)]
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

#[derive(Debug, Serialize)]
pub struct RunWithEventsJson {
    #[serde(flatten)]
    pub run: RunJson,
    pub events: Vec<EventJson>,
}

#[derive(Debug, Serialize)]
pub struct JobJson {
    pub name: String,
    pub description: String,
    pub assets: Vec<AssetJson>,
    pub default_config: Value,
}

#[derive(Debug, Serialize)]
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

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &impl Serialize) -> Result<(), crate::error::CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| crate::error::CliError::failure(format!("cannot encode JSON: {e}")))?;
    println!("{text}");
    Ok(())
}
