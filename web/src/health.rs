//! Health checks for a load balancer or Kubernetes: `/healthz` says the process serves
//! requests; `/readyz` says the run store answers too.

use axum::Json;
use axum::extract::State;
use orchestrator::domain::RunFilter;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// `GET /healthz`: always 200 while the server runs.
pub async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 when the store answers a query (the newest run, an index lookup), 503
/// otherwise.
pub async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let probe = RunFilter {
        limit: 1,
        ..RunFilter::default()
    };
    match state.store.list_runs(&probe).await {
        Ok(_) => Ok(Json(json!({ "status": "ready" }))),
        Err(e) => Err(ApiError::Unavailable(e.to_string())),
    }
}
