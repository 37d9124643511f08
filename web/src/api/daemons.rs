//! `/api/v1/daemons`: the daemon replicas of this instance, with their heartbeat and what each
//! last did (Dagster's daemon status, as JSON).

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde_json::{Value, json};

use crate::daemon_json::DaemonJson;
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /daemons`: `{"daemons": [...]}`, oldest start first.
pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let now = Utc::now();
    let daemons: Vec<DaemonJson> = state
        .store
        .list_daemons()
        .await?
        .iter()
        .map(|d| DaemonJson::new(d, now))
        .collect();
    Ok(Json(json!({ "daemons": daemons })))
}
