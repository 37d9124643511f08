//! `GET /runs`: runs newest first, filtered by status, job, tag, partition key and backfill, a page at a time (keyset:
//! the `before` cursor is the last run id of the previous page). The filters are the API's
//! (`api::runs::ListQuery`), so both refuse the same input the same way.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use orchestrator::domain::RunStatus;

use super::{RunRow, rows};
use crate::api::runs::ListQuery;
use crate::state::AppState;
use crate::ui::guard::Viewer;
use crate::ui::page::PageError;
use crate::ui::paths::encode;

/// Runs per page.
const PAGE: u32 = 50;

#[derive(Debug, Template, WebTemplate)]
#[template(path = "runs.html")]
pub struct RunsPage {
    viewer: Viewer,
    /// (status, selected).
    statuses: Vec<(&'static str, bool)>,
    jobs: Vec<String>,
    job: String,
    tag: String,
    partition: String,
    backfill: String,
    checks_failed: bool,
    error: Option<String>,
    runs: Vec<RunRow>,
    next: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let query = match query {
        Ok(Query(q)) => q,
        Err(e) => {
            return Ok(
                page(&state, viewer, &ListQuery::default(), Some(e.body_text())).into_response(),
            );
        }
    };
    let filter = match query.filter(PAGE + 1) {
        Ok(filter) => filter,
        Err(e) => {
            let body = page(&state, viewer, &query, Some(e.to_string()));
            return Ok((StatusCode::BAD_REQUEST, body).into_response());
        }
    };
    let mut runs = state.store.list_runs(&filter).await?;
    let more = runs.len() > PAGE as usize;
    runs.truncate(PAGE as usize);
    let mut body = page(&state, viewer, &query, None);
    body.runs = rows(&runs);
    body.next = more
        .then(|| {
            runs.last()
                .map(|last| next_link(&query, &last.id.to_string()))
        })
        .flatten();
    Ok(body.into_response())
}

fn page(state: &AppState, viewer: Viewer, query: &ListQuery, error: Option<String>) -> RunsPage {
    let status = query
        .status
        .clone()
        .unwrap_or_default()
        .to_ascii_uppercase();
    RunsPage {
        viewer,
        statuses: RunStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.as_str() == status))
            .collect(),
        jobs: state
            .definitions()
            .jobs()
            .iter()
            .map(|j| j.name.to_string())
            .collect(),
        job: query.job.clone().unwrap_or_default(),
        tag: query.tag.clone().unwrap_or_default(),
        partition: query.partition.clone().unwrap_or_default(),
        backfill: query.backfill.clone().unwrap_or_default(),
        checks_failed: query.checks_failed.unwrap_or(false),
        error,
        runs: Vec::new(),
        next: None,
    }
}

/// The link to the next page: the same filters, `before` the last run shown.
fn next_link(query: &ListQuery, before: &str) -> String {
    let mut link = format!("/runs?before={}", encode(before, false));
    for (name, value) in [
        ("status", &query.status),
        ("job", &query.job),
        ("tag", &query.tag),
        ("partition", &query.partition),
        ("backfill", &query.backfill),
    ] {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            link.push_str(&format!("&{name}={}", encode(value, false)));
        }
    }
    if query.checks_failed == Some(true) {
        link.push_str("&checks_failed=true");
    }
    link
}
