//! The definitions in force and their reload: `GET /api/v1/reload` says which version is in
//! force and why the last reload failed, if it did; `POST /api/v1/reload` re-reads them (the
//! job files) like SIGHUP. A reload that fails keeps the version in force: 422 with every fault.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, SecondsFormat, Utc};
use orchestrator::definitions::{LiveDefinitions, Loaded};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorJson};
use crate::state::AppState;

/// What `GET` and a successful `POST /reload` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct DefinitionsJson {
    /// 1 for the definitions the process started with, one more per successful reload.
    pub version: u64,
    #[schema(format = DateTime)]
    pub loaded_at: String,
    pub jobs: Vec<String>,
    pub schedules: Vec<String>,
    pub sensors: Vec<String>,
    /// Why the last reload failed (the version above stayed in force); `null` if it did not.
    pub reload_error: Option<ReloadErrorJson>,
}

/// Why the last reload failed, and when.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReloadErrorJson {
    pub error: String,
    #[schema(format = DateTime)]
    pub at: String,
}

impl DefinitionsJson {
    pub fn of(live: &LiveDefinitions) -> Self {
        let loaded: std::sync::Arc<Loaded> = live.current();
        Self {
            version: loaded.version,
            loaded_at: timestamp(loaded.loaded_at),
            jobs: loaded
                .definitions
                .jobs()
                .iter()
                .map(|j| j.name.to_string())
                .collect(),
            schedules: loaded
                .schedules
                .iter()
                .map(|s| s.name.to_string())
                .collect(),
            sensors: loaded
                .definitions
                .sensors()
                .iter()
                .map(|s| s.name.to_string())
                .collect(),
            reload_error: live.last_failure().map(|f| ReloadErrorJson {
                error: f.error,
                at: timestamp(f.at),
            }),
        }
    }
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The definitions in force: their version, when they were loaded, and why the last reload
/// failed, if it did.
#[utoipa::path(get, path = "/reload", operation_id = "get_definitions", tag = "instance",
    responses((status = 200, description = "The definitions in force", body = DefinitionsJson)))]
pub async fn status(State(state): State<AppState>) -> Json<DefinitionsJson> {
    Json(DefinitionsJson::of(&state.live))
}

/// Reload the definitions (the job files and orch.toml), like SIGHUP. A reload that fails keeps
/// the version in force.
#[utoipa::path(post, path = "/reload", operation_id = "reload_definitions", tag = "instance",
    responses(
        (status = 200, description = "The definitions now in force", body = DefinitionsJson),
        (status = 422, description = "The definitions did not reload; every fault is named", body = ErrorJson),
    ))]
pub async fn reload(State(state): State<AppState>) -> Result<Json<DefinitionsJson>, ApiError> {
    match state.live.reload().await {
        Ok(_) => Ok(Json(DefinitionsJson::of(&state.live))),
        Err(failed) => Err(ApiError::Unprocessable(format!(
            "the definitions did not reload; version {} stays in force: {}",
            state.live.current().version,
            failed.error
        ))),
    }
}
