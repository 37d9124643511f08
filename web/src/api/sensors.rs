//! `/api/v1/sensors` and `/api/v1/alerts`: the run-status sensors with their on/off state, the
//! persisted switch, each sensor's ticks, and the alert outbox (where a FAILED alert and its
//! reason are visible).

use axum::Json;
use axum::extract::{Path, State};
use orchestrator::definitions::SensorDef;
use orchestrator::domain::{AlertState, RunId, SensorSwitch};
use orchestrator::storage::AlertFilter;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{given, page_size};
use crate::error::ApiError;
use crate::extract::{ApiQuery, run_id};
use crate::sensor_json::{AlertJson, SensorJson, SensorTickJson};
use crate::state::AppState;

/// `GET /sensors`: `{"sensors": [...]}`.
pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let states = state.store.list_sensor_states().await?;
    let sensors: Vec<SensorJson> = state
        .definitions()
        .sensors()
        .iter()
        .map(|def| SensorJson::with_states(def, &states))
        .collect();
    Ok(Json(json!({ "sensors": sensors })))
}

fn find(state: &AppState, name: &str) -> Result<SensorDef, ApiError> {
    state
        .definitions()
        .sensor(name)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("sensor '{name}' not found")))
}

async fn switch(
    state: &AppState,
    name: &str,
    to: SensorSwitch,
) -> Result<Json<SensorJson>, ApiError> {
    let def = &find(state, name)?;
    let stored = state.store.switch_sensor(&def.name, to).await?;
    Ok(Json(SensorJson::new(def, Some(stored.enabled))))
}

/// `POST /sensors/{name}/on`: the sensor as it is now.
pub async fn on(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<SensorJson>, ApiError> {
    switch(&state, &name, SensorSwitch::On).await
}

/// `POST /sensors/{name}/off`.
pub async fn off(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<SensorJson>, ApiError> {
    switch(&state, &name, SensorSwitch::Off).await
}

/// Query of the paged lists here: `before` is the `next` of the previous page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicksQuery {
    before: Option<i64>,
    limit: Option<u32>,
}

/// `GET /sensors/{name}/ticks`: `{"ticks": [...], "next": id|null}`, newest first.
pub async fn ticks(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiQuery(query): ApiQuery<TicksQuery>,
) -> Result<Json<Value>, ApiError> {
    let def = &find(&state, &name)?;
    let limit = page_size(query.limit)?;
    let mut ticks = state
        .store
        .list_sensor_ticks(&def.name, query.before, limit + 1)
        .await?;
    let more = ticks.len() > limit as usize;
    ticks.truncate(limit as usize);
    let next = more.then(|| ticks.last().map(|t| t.id)).flatten();
    let ticks: Vec<SensorTickJson> = ticks.iter().map(SensorTickJson::from).collect();
    Ok(Json(json!({ "ticks": ticks, "next": next })))
}

/// Query of `GET /alerts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    state: Option<String>,
    sensor: Option<String>,
    run: Option<String>,
    before: Option<i64>,
    limit: Option<u32>,
}

/// `GET /alerts`: `{"alerts": [...], "next": id|null}`, newest first.
pub async fn alerts(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AlertsQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = page_size(query.limit)?;
    let alert_state = given(query.state.as_deref())
        .map(str::parse::<AlertState>)
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let sensor = given(query.sensor.as_deref())
        .map(|name| find(&state, name).map(|def| def.name.clone()))
        .transpose()?;
    let run: Option<RunId> = given(query.run.as_deref()).map(run_id).transpose()?;
    let mut alerts = state
        .store
        .list_alerts(&AlertFilter {
            state: alert_state,
            sensor,
            run,
            before: query.before,
            limit: limit + 1,
        })
        .await?;
    let more = alerts.len() > limit as usize;
    alerts.truncate(limit as usize);
    let next = more.then(|| alerts.last().map(|a| a.id)).flatten();
    let alerts: Vec<AlertJson> = alerts.iter().map(AlertJson::from).collect();
    Ok(Json(json!({ "alerts": alerts, "next": next })))
}
