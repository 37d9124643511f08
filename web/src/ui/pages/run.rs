//! `GET /runs/{id}`: one run — status, times, config, tags, parent; the step timeline; the event
//! log a page at a time (`?after=<event id>`); links to each step's captured logs; Terminate and
//! Re-execute. `GET /runs/{id}/steps/{step}`: one step's log lines, paged. Nothing here reads a
//! run's whole event log: the timeline reads the step lifecycle events (an index of their own),
//! the log a page of 200.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use chrono::Utc;
use orchestrator::domain::{AssetKey, EventRecord, Run, RunStatus};
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::run_id;
use crate::state::AppState;
use crate::ui::format;
use crate::ui::guard::Viewer;
use crate::ui::page::{PageError, PageQuery};
use crate::ui::timeline::{self, Timeline};

/// Events per page of the log.
pub const EVENT_PAGE: u32 = 200;
/// Log lines per page of a step's logs.
const LOG_PAGE: u32 = 500;
/// The most step lifecycle events a timeline reads (a run with more is drawn truncated).
const TIMELINE_EVENTS: u32 = 10_000;

/// An event as the log shows it.
#[derive(Debug, Clone)]
pub struct EventView {
    pub id: i64,
    pub time: String,
    pub step: String,
    pub kind: &'static str,
    pub class: &'static str,
    pub summary: String,
}

impl From<&EventRecord> for EventView {
    fn from(e: &EventRecord) -> Self {
        Self {
            id: e.id,
            time: e.timestamp.format("%H:%M:%S%.3f").to_string(),
            step: e.step.as_ref().map(ToString::to_string).unwrap_or_default(),
            kind: e.kind.type_name(),
            class: format::event_class(&e.kind),
            summary: format::event_summary(&e.kind),
        }
    }
}

/// The run's header facts.
#[derive(Debug)]
pub struct RunView {
    pub id: String,
    pub job: String,
    pub status: &'static str,
    pub status_class: String,
    pub created: String,
    pub started: String,
    pub ended: String,
    pub duration: String,
    pub parent: Option<String>,
    pub launched_by: String,
    /// The version of the job snapshot the run executes (first 12 hex digits, and all of it).
    pub definition: Option<(String, String)>,
    pub selection: Option<String>,
    pub checks_failed: Option<String>,
    pub tags: Vec<(String, String)>,
    pub config: String,
    pub ended_flag: bool,
    pub can_terminate: bool,
    pub can_reexecute_failure: bool,
}

impl From<&Run> for RunView {
    fn from(run: &Run) -> Self {
        let row = super::RunRow::from(run);
        Self {
            id: row.id,
            job: row.job,
            status: row.status,
            status_class: row.status_class,
            created: format::instant(run.created_at),
            started: format::maybe_instant(run.started_at),
            ended: format::maybe_instant(run.ended_at),
            duration: row.duration,
            parent: run.parent_run_id.map(|p| p.to_string()),
            launched_by: row.launched_by.clone(),
            definition: run
                .definition_version
                .as_ref()
                .map(|v| (v.chars().take(12).collect(), v.clone())),
            selection: run.step_selection.as_ref().map(|keys| {
                keys.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
            checks_failed: row.checks_failed,
            tags: row.tags,
            config: format::pretty(&run.config),
            ended_flag: run.status.is_terminal(),
            can_terminate: !run.status.is_terminal() && run.status != RunStatus::Canceling,
            can_reexecute_failure: matches!(run.status, RunStatus::Failure | RunStatus::Canceled),
        }
    }
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "run.html")]
pub struct RunPage {
    viewer: Viewer,
    run: RunView,
    timeline: Timeline,
    steps: Vec<String>,
    events: Vec<EventView>,
    /// The id of the last event shown (where the live update continues).
    last_event: i64,
    /// The page shown ends the log so far: live updates append to it.
    at_tail: bool,
    /// The page's own `after`, for the "first page" link.
    paged: bool,
    next: Option<String>,
}

/// Query of the run page.
#[derive(Debug, Deserialize)]
pub struct RunQuery {
    after: Option<i64>,
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    PageQuery(query): PageQuery<RunQuery>,
) -> Result<RunPage, PageError> {
    let after = query.after;
    let run = find_run(&state, &id).await?;
    let timeline = timeline_of(&state, &run).await?;
    let page = state.store.list_events(run.id, after, EVENT_PAGE).await?;
    let full = page.len() == EVENT_PAGE as usize;
    let last_event = page.last().map_or(after.unwrap_or(0), |e| e.id);
    let steps = timeline.rows.iter().map(|r| r.step.clone()).collect();
    Ok(RunPage {
        viewer,
        next: full.then(|| format!("/runs/{}?after={last_event}", run.id)),
        run: RunView::from(&run),
        timeline,
        steps,
        events: page.iter().map(EventView::from).collect(),
        last_event,
        at_tail: !full,
        paged: after.is_some(),
    })
}

/// The run `raw` names, or a 404 page (a malformed id is a 404 too: no page lives there).
pub async fn find_run(state: &AppState, raw: &str) -> Result<Run, PageError> {
    let id = run_id(raw).map_err(|_| PageError::not_found(format!("There is no run {raw}.")))?;
    match state.store.get_run(id).await {
        Err(orchestrator::storage::StorageError::RunNotFound(_)) => {
            Err(PageError::not_found(format!("There is no run {id}.")))
        }
        other => Ok(other?),
    }
}

/// The run's step timeline, from its step lifecycle events only.
pub async fn timeline_of(state: &AppState, run: &Run) -> Result<Timeline, PageError> {
    let events = state
        .store
        .list_step_events(run.id, None, TIMELINE_EVENTS)
        .await?;
    let truncated = events.len() == TIMELINE_EVENTS as usize;
    let from = run.started_at.unwrap_or(run.created_at);
    let to = run.ended_at.unwrap_or_else(Utc::now);
    Ok(timeline::layout(
        &timeline::attempts(&events),
        from,
        to,
        truncated,
    ))
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "step_logs.html")]
pub struct StepLogsPage {
    viewer: Viewer,
    run: String,
    step: String,
    lines: Vec<EventView>,
    next: Option<String>,
}

/// `GET /runs/{id}/steps/{step}?after=<event id>`: the step's captured log lines.
pub async fn step_logs(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, step)): Path<(String, String)>,
    PageQuery(query): PageQuery<RunQuery>,
) -> Result<StepLogsPage, PageError> {
    let after = query.after;
    let run = find_run(&state, &id).await?;
    let key = AssetKey::parse(&step).map_err(|e| PageError(ApiError::NotFound(e.to_string())))?;
    let lines = state
        .store
        .list_step_logs(run.id, &key, after, LOG_PAGE)
        .await?;
    let next = (lines.len() == LOG_PAGE as usize)
        .then(|| lines.last().map(|l| l.id))
        .flatten()
        .map(|last| format!("/runs/{}/steps/{}?after={last}", run.id, key));
    Ok(StepLogsPage {
        viewer,
        run: run.id.to_string(),
        step: key.to_string(),
        lines: lines.iter().map(EventView::from).collect(),
        next,
    })
}
