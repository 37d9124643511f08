//! `/api/v1/schedules`: the schedules in force with their on/off state and next tick, and the
//! persisted switch.

use axum::Json;
use axum::extract::{Path, State};
use chrono::Utc;
use orchestrator::definitions::ScheduleDef;
use orchestrator::domain::ScheduleSwitch;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorJson};
use crate::json::ScheduleJson;
use crate::state::AppState;

/// Every schedule in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchedulesList {
    pub schedules: Vec<ScheduleJson>,
}

/// The schedules in force, with their on/off state and next tick.
#[utoipa::path(get, path = "/schedules", operation_id = "list_schedules", tag = "schedules",
    responses(
        (status = 200, description = "Every schedule", body = SchedulesList),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn list(State(state): State<AppState>) -> Result<Json<SchedulesList>, ApiError> {
    let states = state.store.list_schedule_states().await?;
    let now = Utc::now();
    let schedules: Vec<ScheduleJson> = state
        .schedules()
        .iter()
        .map(|def| ScheduleJson::with_states(def, &states, now))
        .collect();
    Ok(Json(SchedulesList { schedules }))
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

/// Switch a schedule on (persisted): the schedule as it is now.
#[utoipa::path(post, path = "/schedules/{name}/on", operation_id = "switch_schedule_on", tag = "schedules",
    params(("name" = String, Path, description = "The schedule's name")),
    responses(
        (status = 200, description = "The schedule, on", body = ScheduleJson),
        (status = 404, description = "No such schedule", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn on(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<ScheduleJson>, ApiError> {
    switch(&state, &name, ScheduleSwitch::On).await
}

/// Switch a schedule off (persisted): the schedule as it is now.
#[utoipa::path(post, path = "/schedules/{name}/off", operation_id = "switch_schedule_off", tag = "schedules",
    params(("name" = String, Path, description = "The schedule's name")),
    responses(
        (status = 200, description = "The schedule, off", body = ScheduleJson),
        (status = 404, description = "No such schedule", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn off(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<ScheduleJson>, ApiError> {
    switch(&state, &name, ScheduleSwitch::Off).await
}
