//! `GET /runs/{id}/live?after=<event id>`: what the run page's script polls while the run is
//! going — the status, times, action buttons, the timeline redrawn, and the events after the last one it has, as HTML
//! rendered (and escaped) here, so the script only swaps markup in and builds nothing from data.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use super::run::{EVENT_PAGE, EventView, RunView, find_run, timeline_of};
use crate::state::AppState;
use crate::ui::format;
use crate::ui::guard::Viewer;
use crate::ui::page::{PageError, PageQuery};
use crate::ui::timeline::Timeline;

#[derive(Debug, Deserialize)]
pub struct LiveQuery {
    after: Option<i64>,
}

/// The answer.
#[derive(Debug, Serialize)]
pub struct LiveJson {
    status: &'static str,
    status_class: String,
    /// The run has ended: the script stops polling.
    ended: bool,
    duration: String,
    started_at: String,
    ended_at: String,
    /// The Terminate / Re-execute buttons for the run's status now.
    actions: String,
    /// The `<svg id="timeline">` markup.
    timeline: String,
    /// `<tr>` rows of the new events.
    events: String,
    /// The id of the last event included (the next poll's `after`).
    after: i64,
    /// More events are waiting than one answer carries.
    more: bool,
}

#[derive(Template)]
#[template(path = "timeline.html")]
struct TimelinePart<'a> {
    timeline: &'a Timeline,
}

#[derive(Template)]
#[template(path = "run_actions.html")]
struct ActionsPart<'a> {
    run: &'a RunView,
    viewer: &'a Viewer,
}

#[derive(Template)]
#[template(path = "event_rows.html")]
struct EventRows<'a> {
    events: &'a [EventView],
}

pub async fn poll(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    PageQuery(query): PageQuery<LiveQuery>,
) -> Result<Json<LiveJson>, PageError> {
    let run = find_run(&state, &id).await?;
    let timeline = timeline_of(&state, &run).await?;
    let page = state
        .store
        .list_events(run.id, query.after, EVENT_PAGE)
        .await?;
    let events: Vec<EventView> = page.iter().map(EventView::from).collect();
    let view = RunView::from(&run);
    Ok(Json(LiveJson {
        status: run.status.as_str(),
        status_class: format::status_class(run.status),
        ended: run.status.is_terminal(),
        started_at: format::maybe_instant(run.started_at),
        ended_at: format::maybe_instant(run.ended_at),
        actions: ActionsPart {
            run: &view,
            viewer: &viewer,
        }
        .render()?,
        duration: view.duration,
        timeline: TimelinePart {
            timeline: &timeline,
        }
        .render()?,
        events: EventRows { events: &events }.render()?,
        after: page.last().map_or(query.after.unwrap_or(0), |e| e.id),
        more: page.len() == EVENT_PAGE as usize,
    }))
}
