//! `GET /backfills`: the backfills newest first, with their status and runs per status (a page
//! at a time, keyset on the id). `GET /backfills/{id}`: one backfill — its counts, its latest
//! runs (and the link to all of them: the run list filtered by backfill), and the Cancel and
//! Retry failed buttons (`POST /backfills/{id}/cancel|retry`, operator role, CSRF-checked by the
//! guard). Both go through `orchestrator::backfill` like the API; a refusal (an ended backfill,
//! nothing failed) is the error page with the reason.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::Redirect;
use orchestrator::backfill::{self, BackfillError};
use orchestrator::domain::{
    Backfill, BackfillCounts, BackfillId, BackfillStatus, RunFilter, RunStatus,
};
use serde::Deserialize;

use super::{RunRow, rows};
use crate::error::ApiError;
use crate::state::AppState;
use crate::ui::format;
use crate::ui::guard::Viewer;
use crate::ui::page::{PageError, PageQuery};
use crate::ui::paths::encode;

/// Backfills per page.
const PAGE: u32 = 50;

/// A backfill as the list and the detail show it.
#[derive(Debug)]
pub struct BackfillRow {
    pub id: String,
    pub short_id: String,
    pub job: String,
    pub status: &'static str,
    pub status_class: String,
    pub mode: &'static str,
    pub partitions: u64,
    pub max_concurrent: u32,
    pub parent: Option<String>,
    pub created: String,
    /// (status, count, CSS class), only the statuses it has runs in; `PENDING` first.
    pub counts: Vec<(&'static str, u64, String)>,
    pub active: bool,
    pub failed_runs: u64,
}

impl BackfillRow {
    fn new(b: &Backfill, counts: &BackfillCounts) -> Self {
        let id = b.id.to_string();
        let short_id = id.rsplit('-').next().unwrap_or(&id).to_owned();
        let mut shown = Vec::new();
        if counts.pending > 0 {
            shown.push(("PENDING", counts.pending, "status-queued".to_owned()));
        }
        for (status, n) in &counts.runs {
            if *n > 0 {
                shown.push((status.as_str(), *n, format::status_class(*status)));
            }
        }
        let failed_runs = [RunStatus::Failure, RunStatus::Canceled]
            .iter()
            .filter_map(|s| counts.runs.get(s))
            .sum();
        Self {
            short_id,
            id,
            job: b.job.to_string(),
            status: b.status.as_str(),
            status_class: backfill_class(b.status),
            mode: b.mode.as_str(),
            partitions: b.partitions,
            max_concurrent: b.max_concurrent,
            parent: b.parent.map(|p| p.to_string()),
            created: format::instant(b.created_at),
            counts: shown,
            active: b.status.is_active(),
            failed_runs,
        }
    }
}

/// The CSS class of a backfill status, in the run statuses' palette.
fn backfill_class(status: BackfillStatus) -> String {
    let like = match status {
        BackfillStatus::Requested => RunStatus::Queued,
        BackfillStatus::Running => RunStatus::Started,
        BackfillStatus::Completed => RunStatus::Success,
        BackfillStatus::Failed => RunStatus::Failure,
        BackfillStatus::Canceling => RunStatus::Canceling,
        BackfillStatus::Canceled => RunStatus::Canceled,
    };
    format::status_class(like)
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "backfills.html")]
pub struct BackfillsPage {
    viewer: Viewer,
    backfills: Vec<BackfillRow>,
    next: Option<String>,
}

/// The list's query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    before: Option<String>,
}

fn parse_id(raw: &str) -> Result<BackfillId, PageError> {
    BackfillId::parse(raw).map_err(|e| PageError(ApiError::BadRequest(e.to_string())))
}

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(query): PageQuery<ListQuery>,
) -> Result<BackfillsPage, PageError> {
    let before = query
        .before
        .as_deref()
        .filter(|b| !b.is_empty())
        .map(parse_id)
        .transpose()?;
    let mut found = state.store.list_backfills(before, PAGE + 1).await?;
    let more = found.len() > PAGE as usize;
    found.truncate(PAGE as usize);
    let next = more
        .then(|| {
            found
                .last()
                .map(|b| format!("/backfills?before={}", encode(&b.id.to_string(), false)))
        })
        .flatten();
    let mut backfills = Vec::with_capacity(found.len());
    for b in &found {
        let counts = state.store.backfill_counts(b.id).await?;
        backfills.push(BackfillRow::new(b, &counts));
    }
    Ok(BackfillsPage {
        viewer,
        backfills,
        next,
    })
}

#[derive(Debug, Template, WebTemplate)]
#[template(path = "backfill.html")]
pub struct BackfillPage {
    viewer: Viewer,
    backfill: BackfillRow,
    runs: Vec<RunRow>,
}

async fn find(state: &AppState, raw: &str) -> Result<Backfill, PageError> {
    let id = parse_id(raw)?;
    state
        .store
        .get_backfill(id)
        .await?
        .ok_or_else(|| PageError::not_found(format!("There is no backfill {id}.")))
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<BackfillPage, PageError> {
    let b = find(&state, &id).await?;
    let counts = state.store.backfill_counts(b.id).await?;
    let runs = state
        .store
        .list_runs(&RunFilter {
            backfill: Some(b.id),
            limit: 20,
            ..RunFilter::default()
        })
        .await?;
    Ok(BackfillPage {
        viewer,
        backfill: BackfillRow::new(&b, &counts),
        runs: rows(&runs),
    })
}

fn refused(e: BackfillError) -> PageError {
    PageError(match e {
        BackfillError::Storage(e) => e.into(),
        BackfillError::NotFound(_) => ApiError::NotFound(e.to_string()),
        BackfillError::WrongStatus { .. } | BackfillError::NothingFailed(_) => {
            ApiError::Conflict(e.to_string())
        }
        other => ApiError::Unprocessable(other.to_string()),
    })
}

/// `POST /backfills/{id}/cancel` → 303 to the backfill.
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Redirect, PageError> {
    let b = find(&state, &id).await?;
    backfill::cancel(state.store.as_ref(), b.id)
        .await
        .map_err(refused)?;
    tracing::info!(backfill = %b.id, "backfill canceled from the web UI");
    Ok(Redirect::to(&format!("/backfills/{}", b.id)))
}

/// `POST /backfills/{id}/retry` → 303 to the child backfill of its failed partitions.
pub async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Redirect, PageError> {
    let b = find(&state, &id).await?;
    let child = backfill::retry_failed(state.store.as_ref(), b.id)
        .await
        .map_err(refused)?;
    tracing::info!(backfill = %child.id, parent = %b.id, "failed partitions retried from the web UI");
    Ok(Redirect::to(&format!("/backfills/{}", child.id)))
}
