//! `/api/v1/daemons`: the daemon replicas of this instance, with their heartbeat and what each
//! last did (Dagster's daemon status, as JSON).

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;

use crate::daemon_json::DaemonJson;
use crate::error::{ApiError, ErrorJson};
use crate::state::AppState;

/// The daemon replicas of this instance.
#[derive(Debug, Serialize, ToSchema)]
pub struct DaemonsList {
    pub daemons: Vec<DaemonJson>,
}

/// The daemon replicas, oldest start first, with their heartbeat and what each last did.
#[utoipa::path(get, path = "/daemons", operation_id = "list_daemons", tag = "instance",
    responses(
        (status = 200, description = "Every replica", body = DaemonsList),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn list(State(state): State<AppState>) -> Result<Json<DaemonsList>, ApiError> {
    let now = Utc::now();
    let daemons: Vec<DaemonJson> = state
        .store
        .list_daemons()
        .await?
        .iter()
        .map(|d| DaemonJson::new(d, now))
        .collect();
    Ok(Json(DaemonsList { daemons }))
}
