//! `/api/v1/runs`: list (filters, keyset paging), one run, its events a page at a time, cancel
//! and re-execute.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use orchestrator::domain::{JobName, RunFilter, RunStatus, TagKey, Tags};
use orchestrator::run_control::{self, CancelOutcome, ReexecuteFrom, Reexecution};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{given, page_size};
use crate::error::ApiError;
use crate::extract::{ApiQuery, OptionalJson, run_id};
use crate::json::{EventJson, RunJson};
use crate::state::AppState;

/// Query of `GET /runs`.
/// The runs page of the UI takes the same query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub(crate) status: Option<String>,
    pub(crate) job: Option<String>,
    /// `KEY=VALUE`.
    pub(crate) tag: Option<String>,
    /// The `next` cursor of the previous page.
    pub(crate) before: Option<String>,
    pub(crate) limit: Option<u32>,
    /// `true`: only runs with failed asset checks.
    pub(crate) checks_failed: Option<bool>,
    /// Only runs of this single partition key.
    pub(crate) partition: Option<String>,
}

impl ListQuery {
    pub(crate) fn filter(&self, limit: u32) -> Result<RunFilter, ApiError> {
        let bad = |e: &dyn std::fmt::Display| ApiError::BadRequest(e.to_string());
        let status = given(self.status.as_deref())
            .map(|raw| raw.to_ascii_uppercase().parse::<RunStatus>())
            .transpose()
            .map_err(|e| bad(&e))?;
        let job = given(self.job.as_deref())
            .map(JobName::parse)
            .transpose()
            .map_err(|e| bad(&e))?;
        let tag = match given(self.tag.as_deref()) {
            None => None,
            Some(raw) => {
                let (k, v) = raw
                    .split_once('=')
                    .ok_or_else(|| ApiError::BadRequest(format!("tag '{raw}' is not KEY=VALUE")))?;
                Some((TagKey::parse(k).map_err(|e| bad(&e))?, v.to_owned()))
            }
        };
        let before = given(self.before.as_deref()).map(run_id).transpose()?;
        Ok(RunFilter {
            status,
            job,
            tag,
            partition: given(self.partition.as_deref()).map(str::to_owned),
            checks_failed: self.checks_failed.unwrap_or(false),
            before,
            limit,
        })
    }
}

/// `GET /runs`: `{"runs": [...], "next": cursor|null}`, newest first.
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = page_size(query.limit)?;
    // One more than asked tells whether another page exists, so `next` is never a dead end.
    let mut runs = state.store.list_runs(&query.filter(limit + 1)?).await?;
    let more = runs.len() > limit as usize;
    runs.truncate(limit as usize);
    let next = more
        .then(|| runs.last().map(|r| r.id.to_string()))
        .flatten();
    let runs: Vec<RunJson> = runs.iter().map(RunJson::from).collect();
    Ok(Json(json!({ "runs": runs, "next": next })))
}

/// `GET /runs/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RunJson>, ApiError> {
    let run = state.store.get_run(run_id(&id)?).await?;
    Ok(Json(RunJson::from(&run)))
}

/// Query of `GET /runs/{id}/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Events with ids greater than this (the `next` of the previous page).
    after: Option<i64>,
    limit: Option<u32>,
}

/// `GET /runs/{id}/events`: `{"events": [...], "next": last id|null}`, oldest first. `next` is
/// set when the page is full; a client following a live run passes its last event's id.
pub async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Json<Value>, ApiError> {
    let id = run_id(&id)?;
    let limit = page_size(query.limit)?;
    // An unknown run is a 404, not an empty page.
    state.store.get_run(id).await?;
    let page = state.store.list_events(id, query.after, limit).await?;
    let next = (page.len() == limit as usize)
        .then(|| page.last().map(|e| e.id))
        .flatten();
    let events: Vec<EventJson> = page.iter().map(EventJson::from).collect();
    Ok(Json(json!({ "events": events, "next": next })))
}

/// `POST /runs/{id}/cancel`: the run after the request (CANCELED, or CANCELING while its worker
/// stops); a finished run is a 409.
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RunJson>, ApiError> {
    let id = run_id(&id)?;
    let outcome =
        run_control::cancel_run(state.store.as_ref(), id, "canceled through the API").await?;
    let run = match outcome {
        CancelOutcome::Canceled(run)
        | CancelOutcome::Canceling(run)
        | CancelOutcome::AlreadyCanceling(run) => run,
    };
    Ok(Json(RunJson::from(&run)))
}

/// Body of `POST /runs/{id}/reexecute`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReexecuteBody {
    /// Only the steps that did not succeed (default: all the parent's steps).
    #[serde(default)]
    from_failure: bool,
    #[serde(default)]
    tags: std::collections::BTreeMap<String, String>,
}

/// `POST /runs/{id}/reexecute` → 201 `{"id": "<new run id>"}`.
pub async fn reexecute(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<ReexecuteBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let parent = run_id(&id)?;
    let request = Reexecution {
        from: if body.from_failure {
            ReexecuteFrom::Failure
        } else {
            ReexecuteFrom::AllSteps
        },
        tags: parse_tags(&body.tags)?,
    };
    let run = run_control::reexecute(state.store.as_ref(), &state.definitions(), parent, &request)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": run.id.to_string() })),
    ))
}

/// Tags as sent, checked key by key.
pub fn parse_tags(raw: &std::collections::BTreeMap<String, String>) -> Result<Tags, ApiError> {
    raw.iter()
        .map(|(k, v)| {
            TagKey::parse(k)
                .map(|key| (key, v.clone()))
                .map_err(|e| ApiError::BadRequest(format!("tags: {e}")))
        })
        .collect()
}
