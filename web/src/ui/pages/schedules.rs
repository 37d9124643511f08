//! `GET /schedules`: every schedule in force — on/off toggle, cron, time zone, next tick and its
//! latest ticks — and the run-status sensors (`sensors.rs`). `GET /schedules/{name}`: one schedule's ticks, a page at a time
//! (`?before=<tick time>`). `POST /schedules/{name}/on|off` switch it (303 back to the list).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::Redirect;
use chrono::{DateTime, Utc};
use orchestrator::definitions::ScheduleDef;
use orchestrator::domain::{ScheduleState, ScheduleSwitch, ScheduleTick};
use serde::Deserialize;

use crate::json::ScheduleJson;
use crate::state::AppState;
use crate::ui::format;
use crate::ui::guard::Viewer;
use crate::ui::page::{PageError, PageQuery};
use crate::ui::paths::encode;

/// Ticks shown per schedule on the list, and per page on a schedule's own page.
const RECENT_TICKS: u32 = 5;
const TICK_PAGE: u32 = 50;

/// A tick as shown.
#[derive(Debug)]
pub struct TickView {
    pub time: String,
    pub status: String,
    pub class: String,
    pub run: Option<String>,
    pub error: Option<String>,
}

impl From<&ScheduleTick> for TickView {
    fn from(t: &ScheduleTick) -> Self {
        let status = t.status.to_string();
        Self {
            time: format::instant(t.tick_time),
            class: format!("tick-{}", status.to_ascii_lowercase()),
            status,
            run: t.run_id.map(|r| r.to_string()),
            error: t.error.clone(),
        }
    }
}

/// A schedule as shown.
#[derive(Debug)]
pub struct ScheduleView {
    pub name: String,
    pub job: String,
    pub cron: String,
    pub timezone: String,
    pub enabled: bool,
    pub state: &'static str,
    pub next_tick: String,
    pub ticks: Vec<TickView>,
}

fn view(def: &ScheduleDef, states: &[ScheduleState], ticks: &[ScheduleTick]) -> ScheduleView {
    let now = Utc::now();
    let json = ScheduleJson::with_states(def, states, now);
    ScheduleView {
        next_tick: json
            .enabled
            .then(|| def.next_tick_after(now))
            .flatten()
            .map_or_else(|| "—".to_owned(), format::instant),
        name: json.name,
        job: json.job,
        cron: json.cron,
        timezone: json.timezone,
        enabled: json.enabled,
        state: json.state,
        ticks: ticks.iter().map(TickView::from).collect(),
    }
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "schedules.html")]
pub struct SchedulesPage {
    viewer: Viewer,
    schedules: Vec<ScheduleView>,
    sensors: Vec<super::sensors::SensorView>,
}

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<SchedulesPage, PageError> {
    let states = state.store.list_schedule_states().await?;
    let mut schedules = Vec::with_capacity(state.schedules().len());
    for def in state.schedules().iter() {
        let ticks = state
            .store
            .list_ticks(&def.name, None, RECENT_TICKS)
            .await?;
        schedules.push(view(def, &states, &ticks));
    }
    let sensors = super::sensors::views(&state).await?;
    Ok(SchedulesPage {
        viewer,
        schedules,
        sensors,
    })
}

fn find(state: &AppState, name: &str) -> Result<ScheduleDef, PageError> {
    state
        .schedules()
        .iter()
        .find(|s| s.name.as_str() == name)
        .cloned()
        .ok_or_else(|| PageError::not_found(format!("There is no schedule {name}.")))
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "schedule.html")]
pub struct SchedulePage {
    viewer: Viewer,
    schedule: ScheduleView,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TicksQuery {
    before: Option<DateTime<Utc>>,
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    PageQuery(query): PageQuery<TicksQuery>,
) -> Result<SchedulePage, PageError> {
    let before = query.before;
    let def = &find(&state, &name)?;
    let states = state.store.list_schedule_states().await?;
    let ticks = state.store.list_ticks(&def.name, before, TICK_PAGE).await?;
    let next = (ticks.len() == TICK_PAGE as usize)
        .then(|| ticks.last().map(|t| t.tick_time))
        .flatten()
        .map(|t| {
            format!(
                "/schedules/{}?before={}",
                def.name,
                encode(&crate::json::timestamp(t), false)
            )
        });
    Ok(SchedulePage {
        viewer,
        schedule: view(def, &states, &ticks),
        next,
    })
}

async fn switch(state: &AppState, name: &str, to: ScheduleSwitch) -> Result<Redirect, PageError> {
    let def = &find(state, name)?;
    state.store.switch_schedule(&def.name, to).await?;
    tracing::info!(schedule = %def.name, on = to.is_on(), "schedule switched from the web UI");
    Ok(Redirect::to("/schedules"))
}

/// `POST /schedules/{name}/on`.
pub async fn on(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Redirect, PageError> {
    switch(&state, &name, ScheduleSwitch::On).await
}

/// `POST /schedules/{name}/off`.
pub async fn off(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Redirect, PageError> {
    switch(&state, &name, ScheduleSwitch::Off).await
}
