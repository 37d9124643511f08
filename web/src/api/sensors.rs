//! `/api/v1/sensors` and `/api/v1/alerts`: the run-status sensors with their on/off state, the
//! persisted switch, each sensor's ticks, and the alert outbox (where a FAILED alert and its
//! reason are visible).

use axum::Json;
use axum::extract::{Path, State};
use orchestrator::definitions::SensorDef;
use orchestrator::domain::{AlertState, RunId, SensorSwitch};
use orchestrator::storage::AlertFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{given, page_size};
use crate::error::{ApiError, ErrorJson};
use crate::extract::{ApiQuery, run_id};
use crate::openapi::schemas;
use crate::sensor_json::{AlertJson, SensorJson, SensorTickJson};
use crate::state::AppState;

/// Every sensor defined.
#[derive(Debug, Serialize, ToSchema)]
pub struct SensorsList {
    pub sensors: Vec<SensorJson>,
}

/// The run-status sensors with their on/off state.
#[utoipa::path(get, path = "/sensors", operation_id = "list_sensors", tag = "sensors",
    responses(
        (status = 200, description = "Every sensor", body = SensorsList),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn list(State(state): State<AppState>) -> Result<Json<SensorsList>, ApiError> {
    let states = state.store.list_sensor_states().await?;
    let sensors: Vec<SensorJson> = state
        .definitions()
        .sensors()
        .iter()
        .map(|def| SensorJson::with_states(def, &states))
        .collect();
    Ok(Json(SensorsList { sensors }))
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

/// Switch a sensor on (persisted): the sensor as it is now.
#[utoipa::path(post, path = "/sensors/{name}/on", operation_id = "switch_sensor_on", tag = "sensors",
    params(("name" = String, Path, description = "The sensor's name")),
    responses(
        (status = 200, description = "The sensor, on", body = SensorJson),
        (status = 404, description = "No such sensor", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn on(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<SensorJson>, ApiError> {
    switch(&state, &name, SensorSwitch::On).await
}

/// Switch a sensor off (persisted): the sensor as it is now.
#[utoipa::path(post, path = "/sensors/{name}/off", operation_id = "switch_sensor_off", tag = "sensors",
    params(("name" = String, Path, description = "The sensor's name")),
    responses(
        (status = 200, description = "The sensor, off", body = SensorJson),
        (status = 404, description = "No such sensor", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn off(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<SensorJson>, ApiError> {
    switch(&state, &name, SensorSwitch::Off).await
}

/// Query of `GET /sensors/{name}/ticks`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TicksQuery {
    /// Ticks with ids below this (the `next` of the previous page).
    before: Option<i64>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// A page of a sensor's ticks, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicksPage {
    pub ticks: Vec<SensorTickJson>,
    /// Pass as `before` for the next page; `null` on the last one.
    pub next: Option<i64>,
}

/// A sensor's ticks, newest first, a page at a time.
#[utoipa::path(get, path = "/sensors/{name}/ticks", operation_id = "list_sensor_ticks", tag = "sensors",
    params(("name" = String, Path, description = "The sensor's name"), TicksQuery),
    responses(
        (status = 200, description = "A page of ticks", body = TicksPage),
        (status = 400, description = "A malformed query", body = ErrorJson),
        (status = 404, description = "No such sensor", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn ticks(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiQuery(query): ApiQuery<TicksQuery>,
) -> Result<Json<TicksPage>, ApiError> {
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
    Ok(Json(TicksPage { ticks, next }))
}

/// Query of `GET /alerts`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertsQuery {
    /// Only alerts in this delivery state.
    #[param(schema_with = schemas::alert_state_filter)]
    state: Option<String>,
    /// Only alerts of this sensor.
    sensor: Option<String>,
    /// Only alerts about this run.
    #[param(schema_with = schemas::run_id_filter)]
    run: Option<String>,
    /// Alerts with ids below this (the `next` of the previous page).
    before: Option<i64>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// A page of alerts, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertsPage {
    pub alerts: Vec<AlertJson>,
    /// Pass as `before` for the next page; `null` on the last one.
    pub next: Option<i64>,
}

/// The alert outbox, newest first, a page at a time: where a FAILED alert and its reason show.
#[utoipa::path(get, path = "/alerts", operation_id = "list_alerts", tag = "sensors", params(AlertsQuery),
    responses(
        (status = 200, description = "A page of alerts", body = AlertsPage),
        (status = 400, description = "A malformed filter or query", body = ErrorJson),
        (status = 404, description = "No such sensor", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn alerts(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AlertsQuery>,
) -> Result<Json<AlertsPage>, ApiError> {
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
    Ok(Json(AlertsPage { alerts, next }))
}
