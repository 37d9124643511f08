//! `/api/v1/schedules`: the schedules in force with their on/off state and next tick, and the
//! persisted switch.

use axum::Json;
use axum::extract::{Path, State};
use chrono::Utc;
use orchestrator::definitions::ScheduleDef;
use orchestrator::domain::ScheduleSwitch;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::json::ScheduleJson;
use crate::state::AppState;

/// `GET /schedules`: `{"schedules": [...]}`.
pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let states = state.store.list_schedule_states().await?;
    let now = Utc::now();
    let schedules: Vec<ScheduleJson> = state
        .schedules()
        .iter()
        .map(|def| ScheduleJson::with_states(def, &states, now))
        .collect();
    Ok(Json(json!({ "schedules": schedules })))
}

fn find(state: &AppState, name: &str) -> Result<ScheduleDef, ApiError> {
    state
        .schedules()
        .iter()
        .find(|s| s.name.as_str() == name)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("schedule '{name}' not found")))
}

async fn switch(
    state: &AppState,
    name: &str,
    to: ScheduleSwitch,
) -> Result<Json<ScheduleJson>, ApiError> {
    let def = &find(state, name)?;
    let stored = state.store.switch_schedule(&def.name, to).await?;
    Ok(Json(ScheduleJson::new(
        def,
        stored.enabled,
        true,
        Utc::now(),
    )))
}

/// `POST /schedules/{name}/on`: the schedule as it is now.
pub async fn on(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<ScheduleJson>, ApiError> {
    switch(&state, &name, ScheduleSwitch::On).await
}

/// `POST /schedules/{name}/off`.
pub async fn off(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<ScheduleJson>, ApiError> {
    switch(&state, &name, ScheduleSwitch::Off).await
}
