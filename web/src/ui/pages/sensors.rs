//! The run-status sensors on the Schedules page: on/off toggle, what each watches, its latest
//! ticks and alerts (a FAILED or UNCERTAIN alert shows with its reason). `POST
//! /sensors/{name}/on|off` switch one (303 back to `/schedules`).

use axum::extract::{Path, State};
use axum::response::Redirect;
use orchestrator::definitions::SensorDef;
use orchestrator::domain::{Alert, SensorState, SensorSwitch, SensorTick};
use orchestrator::storage::AlertFilter;

use crate::sensor_json::SensorJson;
use crate::state::AppState;
use crate::ui::format;
use crate::ui::page::PageError;

/// Ticks and alerts shown per sensor.
const RECENT: u32 = 5;

/// A sensor tick as shown.
#[derive(Debug)]
pub struct SensorTickView {
    pub time: String,
    pub status: &'static str,
    pub class: String,
    pub runs: Vec<String>,
}

impl From<&SensorTick> for SensorTickView {
    fn from(t: &SensorTick) -> Self {
        let status = t.status.as_str();
        Self {
            time: format::instant(t.tick_time),
            class: format!("tick-{}", status.to_ascii_lowercase()),
            status,
            runs: t.run_ids.iter().map(ToString::to_string).collect(),
        }
    }
}

/// An alert as shown: its run, state and, when it did not go out, why.
#[derive(Debug)]
pub struct AlertView {
    pub run: String,
    pub state: &'static str,
    pub class: String,
    pub reason: String,
}

impl From<&Alert> for AlertView {
    fn from(a: &Alert) -> Self {
        let state = a.state.as_str();
        Self {
            run: a.run_id.to_string(),
            class: format!("alert-{}", state.to_ascii_lowercase()),
            state,
            reason: a.last_error.clone().unwrap_or_default(),
        }
    }
}

/// A sensor as shown.
#[derive(Debug)]
pub struct SensorView {
    pub name: String,
    pub description: String,
    pub statuses: String,
    pub jobs: String,
    pub enabled: bool,
    pub state: &'static str,
    pub ticks: Vec<SensorTickView>,
    pub alerts: Vec<AlertView>,
}

/// Every declared sensor with its switch, latest ticks and alerts.
pub async fn views(state: &AppState) -> Result<Vec<SensorView>, PageError> {
    let states: Vec<SensorState> = state.store.list_sensor_states().await?;
    let mut views = Vec::new();
    for def in state.definitions().sensors() {
        let json = SensorJson::with_states(def, &states);
        let ticks = state
            .store
            .list_sensor_ticks(&def.name, None, RECENT)
            .await?;
        let alerts = state
            .store
            .list_alerts(&AlertFilter {
                state: None,
                sensor: Some(def.name.clone()),
                run: None,
                before: None,
                limit: RECENT,
            })
            .await?;
        views.push(SensorView {
            jobs: if json.jobs.is_empty() {
                "every job".to_owned()
            } else {
                json.jobs.join(", ")
            },
            statuses: json.statuses.join(", "),
            name: json.name,
            description: json.description,
            enabled: json.enabled,
            state: json.state,
            ticks: ticks.iter().map(SensorTickView::from).collect(),
            alerts: alerts.iter().map(AlertView::from).collect(),
        });
    }
    Ok(views)
}

fn find(state: &AppState, name: &str) -> Result<SensorDef, PageError> {
    state
        .definitions()
        .sensor(name)
        .cloned()
        .ok_or_else(|| PageError::not_found(format!("There is no sensor {name}.")))
}

async fn switch(state: &AppState, name: &str, to: SensorSwitch) -> Result<Redirect, PageError> {
    let def = &find(state, name)?;
    state.store.switch_sensor(&def.name, to).await?;
    tracing::info!(sensor = %def.name, on = matches!(to, SensorSwitch::On), "sensor switched from the web UI");
    Ok(Redirect::to("/schedules"))
}

/// `POST /sensors/{name}/on`.
pub async fn on(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Redirect, PageError> {
    switch(&state, &name, SensorSwitch::On).await
}

/// `POST /sensors/{name}/off`.
pub async fn off(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Redirect, PageError> {
    switch(&state, &name, SensorSwitch::Off).await
}
