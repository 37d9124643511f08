//! `/api/v1/backfills` and `POST /api/v1/jobs/{job}/backfills`: the same backfills as
//! `orch backfill` — create (or dry-run), list, show, cancel, resume, retry failed.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use orchestrator::backfill::{self, BackfillError, BackfillRequest, KeySpan};
use orchestrator::definitions::AssetSelection;
use orchestrator::domain::{BackfillId, BackfillMode};
use orchestrator::run_control::{SelectError, check_selection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{given, page_size};
use crate::backfill_json::{BackfillJson, BackfillPlanJson};
use crate::error::{ApiError, ErrorJson};
use crate::extract::{ApiQuery, OptionalJson};
use crate::state::AppState;

impl From<BackfillError> for ApiError {
    fn from(e: BackfillError) -> Self {
        match e {
            BackfillError::Storage(e) => e.into(),
            BackfillError::NotFound(_) => Self::NotFound(e.to_string()),
            BackfillError::WrongStatus { .. } | BackfillError::NothingFailed(_) => {
                Self::Conflict(e.to_string())
            }
            refused => Self::Unprocessable(refused.to_string()),
        }
    }
}

/// Body of `POST /jobs/{job}/backfills`: `from` and `to`, or `partitions`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackfillBody {
    pub from: Option<String>,
    pub to: Option<String>,
    pub partitions: Option<Vec<String>>,
    /// missing (default), failed or all.
    pub mode: Option<String>,
    /// At most this many of its runs in flight (0 or absent: no limit of its own).
    #[serde(default, deserialize_with = "crate::extract::integral_u32")]
    pub max_concurrent: Option<u32>,
    #[serde(default)]
    pub reverse: bool,
    /// Answer what it would run; create nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Only these assets, in Dagster's selection syntax.
    pub select: Option<String>,
}

/// Create a backfill of a partitioned job (or, with `dry_run`, say what it would run).
#[utoipa::path(post, path = "/jobs/{job}/backfills", operation_id = "create_backfill",
    tag = "backfills", params(("job" = String, Path, description = "The job's name")),
    request_body(content = BackfillBody, content_type = "application/json"),
    responses(
        (status = 201, description = "The backfill, REQUESTED", body = BackfillJson),
        (status = 200, description = "A dry run: what it would run", body = BackfillPlanJson),
        (status = 400, description = "A malformed body", body = ErrorJson),
        (status = 404, description = "No such job", body = ErrorJson),
        (status = 415, description = "A body not sent as application/json", body = ErrorJson),
        (status = 422, description = "Unpartitioned job, bad keys, mode or selection", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Path(name): Path<String>,
    OptionalJson(body): OptionalJson<BackfillBody>,
) -> Result<Response, ApiError> {
    let job = state
        .definitions()
        .job(&name)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("job '{name}' not found")))?;
    let unprocessable = |e: &dyn std::fmt::Display| ApiError::Unprocessable(e.to_string());
    let keys = match (&body.from, &body.to, &body.partitions) {
        (Some(from), Some(to), None) => KeySpan::Range {
            from: from.clone(),
            to: to.clone(),
        },
        (None, None, Some(list)) => KeySpan::List(list.clone()),
        _ => {
            return Err(ApiError::Unprocessable(
                "give either from and to, or partitions".to_owned(),
            ));
        }
    };
    let mode = match given(body.mode.as_deref()) {
        None => BackfillMode::default(),
        Some(raw) => raw.parse().map_err(|e| unprocessable(&e))?,
    };
    let step_selection = match given(body.select.as_deref()) {
        None => None,
        Some(select) => {
            let selection = AssetSelection::parse(select).map_err(|e| unprocessable(&e))?;
            check_selection(state.store.as_ref(), &job, &selection)
                .await
                .map_err(|e| match e {
                    SelectError::Storage(e) => ApiError::from(e),
                    refused => unprocessable(&refused),
                })?
        }
    };
    let request = BackfillRequest {
        keys,
        mode,
        reverse: body.reverse,
        max_concurrent: body.max_concurrent.unwrap_or(0),
        step_selection,
    };
    let plan = backfill::plan(state.store.as_ref(), &job, &request, chrono::Utc::now()).await?;
    if body.dry_run {
        return Ok((StatusCode::OK, Json(BackfillPlanJson::new(&plan))).into_response());
    }
    let created = state.store.create_backfill(&plan).await?;
    let counts = state.store.backfill_counts(created.id).await?;
    tracing::info!(backfill = %created.id, job = %created.job, "backfill created through the API");
    Ok((
        StatusCode::CREATED,
        Json(BackfillJson::new(&created, &counts)),
    )
        .into_response())
}

/// Query of `GET /backfills`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BackfillsQuery {
    /// The `next` of the previous page (a backfill id).
    #[param(schema_with = crate::openapi::schemas::run_id_filter)]
    pub before: Option<String>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// A page of backfills, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackfillsPage {
    pub backfills: Vec<BackfillJson>,
    /// Pass as `before` for the next page; `null` on the last.
    pub next: Option<String>,
}

fn backfill_id(raw: &str) -> Result<BackfillId, ApiError> {
    BackfillId::parse(raw).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// Backfills, newest first, with their runs per status.
#[utoipa::path(get, path = "/backfills", operation_id = "list_backfills", tag = "backfills",
    params(BackfillsQuery),
    responses(
        (status = 200, description = "A page of backfills", body = BackfillsPage),
        (status = 400, description = "A malformed cursor or limit", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<BackfillsQuery>,
) -> Result<Json<BackfillsPage>, ApiError> {
    let limit = page_size(query.limit)?;
    let before = given(query.before.as_deref())
        .map(backfill_id)
        .transpose()?;
    let mut backfills = state.store.list_backfills(before, limit + 1).await?;
    let more = backfills.len() > limit as usize;
    backfills.truncate(limit as usize);
    let next = more
        .then(|| backfills.last().map(|b| b.id.to_string()))
        .flatten();
    let mut shown = Vec::with_capacity(backfills.len());
    for b in &backfills {
        let counts = state.store.backfill_counts(b.id).await?;
        shown.push(BackfillJson::new(b, &counts));
    }
    Ok(Json(BackfillsPage {
        backfills: shown,
        next,
    }))
}

async fn answer(state: &AppState, id: BackfillId) -> Result<Json<BackfillJson>, ApiError> {
    let b = state
        .store
        .get_backfill(id)
        .await?
        .ok_or(BackfillError::NotFound(id))?;
    let counts = state.store.backfill_counts(id).await?;
    Ok(Json(BackfillJson::new(&b, &counts)))
}

/// One backfill with its runs per status.
#[utoipa::path(get, path = "/backfills/{id}", operation_id = "get_backfill", tag = "backfills",
    params(("id" = String, Path, format = "uuid", description = "The backfill's id")),
    responses(
        (status = 200, description = "The backfill", body = BackfillJson),
        (status = 400, description = "Not a backfill id", body = ErrorJson),
        (status = 404, description = "No such backfill", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<BackfillJson>, ApiError> {
    answer(&state, backfill_id(&id)?).await
}

/// Cancel a backfill: nothing more is submitted; the daemon cancels its runs in flight.
#[utoipa::path(post, path = "/backfills/{id}/cancel", operation_id = "cancel_backfill",
    tag = "backfills",
    params(("id" = String, Path, format = "uuid", description = "The backfill's id")),
    responses(
        (status = 200, description = "The backfill, CANCELING or CANCELED", body = BackfillJson),
        (status = 400, description = "Not a backfill id", body = ErrorJson),
        (status = 404, description = "No such backfill", body = ErrorJson),
        (status = 409, description = "It has ended", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<BackfillJson>, ApiError> {
    let id = backfill_id(&id)?;
    backfill::cancel(state.store.as_ref(), id).await?;
    answer(&state, id).await
}

/// Resume a CANCELED backfill: its remaining partitions are submitted again.
#[utoipa::path(post, path = "/backfills/{id}/resume", operation_id = "resume_backfill",
    tag = "backfills",
    params(("id" = String, Path, format = "uuid", description = "The backfill's id")),
    responses(
        (status = 200, description = "The backfill, REQUESTED", body = BackfillJson),
        (status = 400, description = "Not a backfill id", body = ErrorJson),
        (status = 404, description = "No such backfill", body = ErrorJson),
        (status = 409, description = "It is not CANCELED", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn resume(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<BackfillJson>, ApiError> {
    let id = backfill_id(&id)?;
    backfill::resume(state.store.as_ref(), id).await?;
    answer(&state, id).await
}

/// Retry a backfill's failed partitions: a child backfill of them.
#[utoipa::path(post, path = "/backfills/{id}/retry", operation_id = "retry_backfill",
    tag = "backfills",
    params(("id" = String, Path, format = "uuid", description = "The backfill's id")),
    responses(
        (status = 201, description = "The child backfill", body = BackfillJson),
        (status = 400, description = "Not a backfill id", body = ErrorJson),
        (status = 404, description = "No such backfill", body = ErrorJson),
        (status = 409, description = "Still active, or nothing failed", body = ErrorJson),
        (status = 500, description = "The run store failed", body = ErrorJson),
    ))]
pub async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<BackfillJson>), ApiError> {
    let child = backfill::retry_failed(state.store.as_ref(), backfill_id(&id)?).await?;
    Ok((StatusCode::CREATED, answer(&state, child.id).await?))
}
