//! `/api/v1/runs`: list (filters, keyset paging), one run, its events a page at a time, cancel
//! and re-execute.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use orchestrator::domain::{JobName, RunFilter, RunStatus, TagKey, Tags};
use orchestrator::run_control::{self, CancelOutcome, ReexecuteFrom, Reexecution};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{given, page_size};
use crate::error::{ApiError, ErrorJson};
use crate::extract::{ApiQuery, OptionalJson, run_id};
use crate::json::{EventJson, RunJson};
use crate::openapi::schemas;
use crate::state::AppState;

/// Query of `GET /runs`.
/// The runs page of the UI takes the same query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only runs in this status (any case).
    #[param(schema_with = schemas::run_status_filter)]
    pub(crate) status: Option<String>,
    /// Only runs of this job.
    #[param(schema_with = schemas::name_filter)]
    pub(crate) job: Option<String>,
    /// Only runs with this tag: `KEY=VALUE`.
    #[param(schema_with = schemas::tag_filter)]
    pub(crate) tag: Option<String>,
    /// The `next` cursor of the previous page (a run id).
    #[param(schema_with = schemas::run_id_filter)]
    pub(crate) before: Option<String>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub(crate) limit: Option<u32>,
    /// `true`: only runs with failed asset checks.
    pub(crate) checks_failed: Option<bool>,
    /// Only runs of this single partition key.
    pub(crate) partition: Option<String>,
    /// Only runs of this backfill (not with `tag`).
    #[param(schema_with = schemas::run_id_filter)]
    pub(crate) backfill: Option<String>,
    /// Only runs started by this (`launched_by`: a token's name, `schedule:nightly`, `cli`, …).
    pub(crate) launched_by: Option<String>,
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
        let tag = match (given(self.backfill.as_deref()), tag) {
            (None, tag) => tag,
            (Some(_), Some(_)) => {
                return Err(ApiError::BadRequest(
                    "give tag or backfill, not both".to_owned(),
                ));
            }
            (Some(raw), None) => {
                let id = orchestrator::domain::BackfillId::parse(raw).map_err(|e| bad(&e))?;
                let key = TagKey::parse(orchestrator::domain::BACKFILL_TAG).map_err(|e| bad(&e))?;
                Some((key, id.to_string()))
            }
        };
        let before = given(self.before.as_deref()).map(run_id).transpose()?;
        Ok(RunFilter {
            status,
            job,
            tag,
            partition: given(self.partition.as_deref()).map(str::to_owned),
            checks_failed: self.checks_failed.unwrap_or(false),
            launched_by: given(self.launched_by.as_deref()).map(str::to_owned),
            before,
            limit,
        })
    }
}

/// A page of runs, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunsPage {
    pub runs: Vec<RunJson>,
    /// Pass as `before` for the next page; `null` on the last one.
    #[schema(format = "uuid")]
    pub next: Option<String>,
}

/// List runs, newest first, a page at a time.
#[utoipa::path(get, path = "/runs", operation_id = "list_runs", tag = "runs", params(ListQuery),
    responses(
        (status = 200, description = "A page of runs", body = RunsPage),
        (status = 400, description = "A malformed filter, cursor or limit", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<RunsPage>, ApiError> {
    let limit = page_size(query.limit)?;
    // One more than asked tells whether another page exists, so `next` is never a dead end.
    let mut runs = state.store.list_runs(&query.filter(limit + 1)?).await?;
    let more = runs.len() > limit as usize;
    runs.truncate(limit as usize);
    let next = more
        .then(|| runs.last().map(|r| r.id.to_string()))
        .flatten();
    let runs: Vec<RunJson> = runs.iter().map(RunJson::from).collect();
    Ok(Json(RunsPage { runs, next }))
}

/// One run.
#[utoipa::path(get, path = "/runs/{id}", operation_id = "get_run", tag = "runs",
    params(("id" = String, Path, format = "uuid", description = "The run's id")),
    responses(
        (status = 200, description = "The run", body = RunJson),
        (status = 400, description = "The id is not a run id", body = ErrorJson),
        (status = 404, description = "No such run", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RunJson>, ApiError> {
    let run = state.store.get_run(run_id(&id)?).await?;
    Ok(Json(RunJson::from(&run)))
}

/// Query of `GET /runs/{id}/events`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Events with ids greater than this (the `next` of the previous page).
    after: Option<i64>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// A page of a run's events, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsPage {
    pub events: Vec<EventJson>,
    /// The last event's id when the page is full (pass it as `after`); else `null`.
    pub next: Option<i64>,
}

/// A run's events, oldest first, a page at a time. `next` is set when the page is full; a client
/// following a live run passes its last event's id as `after`.
#[utoipa::path(get, path = "/runs/{id}/events", operation_id = "list_run_events", tag = "runs",
    params(("id" = String, Path, format = "uuid", description = "The run's id"), EventsQuery),
    responses(
        (status = 200, description = "A page of events", body = EventsPage),
        (status = 400, description = "The id is not a run id, or a malformed query", body = ErrorJson),
        (status = 404, description = "No such run", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Json<EventsPage>, ApiError> {
    let id = run_id(&id)?;
    let limit = page_size(query.limit)?;
    // An unknown run is a 404, not an empty page.
    state.store.get_run(id).await?;
    let page = state.store.list_events(id, query.after, limit).await?;
    let next = (page.len() == limit as usize)
        .then(|| page.last().map(|e| e.id))
        .flatten();
    let events: Vec<EventJson> = page.iter().map(EventJson::from).collect();
    Ok(Json(EventsPage { events, next }))
}

/// Cancel a run: the run after the request (CANCELED, or CANCELING while its worker stops).
#[utoipa::path(post, path = "/runs/{id}/cancel", operation_id = "cancel_run", tag = "runs",
    params(("id" = String, Path, format = "uuid", description = "The run's id")),
    responses(
        (status = 200, description = "The run, canceled or canceling", body = RunJson),
        (status = 400, description = "The id is not a run id", body = ErrorJson),
        (status = 404, description = "No such run", body = ErrorJson),
        (status = 409, description = "The run has already ended", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
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
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReexecuteBody {
    /// Only the steps that did not succeed (default: all the parent's steps).
    #[serde(default)]
    from_failure: bool,
    /// Tags of the new run, over the parent's.
    #[serde(default)]
    #[schema(schema_with = schemas::tags)]
    tags: std::collections::BTreeMap<String, String>,
}

/// The run a launch or re-execution created.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedRun {
    /// The new run's id.
    #[schema(format = "uuid")]
    pub id: String,
}

/// Re-execute a finished run, all its steps or only those that did not succeed: a new QUEUED run.
#[utoipa::path(post, path = "/runs/{id}/reexecute", operation_id = "reexecute_run", tag = "runs",
    params(("id" = String, Path, format = "uuid", description = "The parent run's id")),
    request_body(content = Option<ReexecuteBody>, content_type = "application/json",
        description = "Optional: an empty body re-executes all steps with the parent's tags"),
    responses(
        (status = 201, description = "The new run", body = CreatedRun),
        (status = 400, description = "The id is not a run id, or the body is malformed", body = ErrorJson),
        (status = 404, description = "No such run", body = ErrorJson),
        (status = 409, description = "The run has not finished", body = ErrorJson),
        (status = 413, description = "The body is over 1 MiB", body = ErrorJson),
        (status = 415, description = "A body not sent as application/json", body = ErrorJson),
        (status = 422, description = "Nothing to re-execute (no failure), or the job is gone", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn reexecute(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<ReexecuteBody>,
) -> Result<(StatusCode, Json<CreatedRun>), ApiError> {
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
        Json(CreatedRun {
            id: run.id.to_string(),
        }),
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
